//! Soak: a sustained CI-shaped load against a Treaty on loopback, printing
//! latency percentiles, errors, memory and file descriptors as it goes.
//!
//! ```sh
//! cargo run --release -p treaty --example soak -- --minutes 10 --concurrency 16
//! ```
//!
//! `--report-every SECONDS` (default 60) sets how often a line of figures is printed.
//!
//! The server runs in this process on a fresh SQLite file (PostgreSQL when
//! `TREATY_TEST_POSTGRES_URL` is set), so memory and descriptors are the
//! whole process's: server and clients.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

const PAIRS: usize = 20;

#[derive(Default)]
struct Stats {
    latencies: BTreeMap<&'static str, Vec<Duration>>,
    errors: BTreeMap<&'static str, usize>,
}

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

fn process_figures() -> (u64, usize) {
    let rss_kib = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0);
    let fds = std::fs::read_dir("/proc/self/fd").map_or(0, Iterator::count);
    (rss_kib, fds)
}

/// The SQLite file's size and its write-ahead log's, in MiB (zero on PostgreSQL).
fn database_figures(url: &str) -> (f64, f64) {
    let path = url.trim_start_matches("sqlite://");
    let size = |p: String| std::fs::metadata(p).map_or(0.0, |m| m.len() as f64 / 1_048_576.0);
    (size(path.to_owned()), size(format!("{path}-wal")))
}

fn pact(consumer: &str, provider: &str, version: u64) -> Value {
    json!({"consumer": {"name": consumer}, "provider": {"name": provider},
        "interactions": [{"description": format!("request {}", version % 7), "request": {"method": "GET", "path": format!("/items/{}", version % 7)},
            "response": {"status": 200, "body": {"id": version % 7}}}],
        "metadata": {"pactSpecification": {"version": "2.0.0"}}})
}

/// One simulated CI job after another: mostly questions (can-i-deploy,
/// pacts for verification), some publications, verifications and deployments.
async fn client_loop(id: usize, base: String, until: Instant, stats: Arc<Mutex<Stats>>) {
    let http = reqwest::Client::new();
    let mut seed = 0x9E37_79B9_7F4A_7C15_u64 ^ (id as u64).wrapping_mul(0x2545_F491_4F6C_DD1D);
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut version = 0u64;
    // The consumer version this client last published for each pair.
    let mut published: BTreeMap<usize, String> = BTreeMap::new();
    while Instant::now() < until {
        let pair = (next() % PAIRS as u64) as usize;
        let (consumer, provider) = (format!("consumer-{pair}"), format!("provider-{pair}"));
        version += 1;
        let mut roll = next() % 100;
        if (50..=79).contains(&roll) && !published.contains_key(&pair) {
            roll = 0;
        }
        let started = Instant::now();
        let (kind, outcome) = match roll {
            0..=14 => {
                let number = format!("{id}.{version}");
                let body = json!({"pacticipantName": consumer, "pacticipantVersionNumber": number, "branch": "main",
                    "contracts": [{"consumerName": consumer, "providerName": provider, "specification": "pact", "contentType": "application/json",
                        "content": base64::engine::general_purpose::STANDARD.encode(pact(&consumer, &provider, version).to_string())}]});
                published.insert(pair, number);
                ("publish", http.post(format!("{base}/contracts/publish")).json(&body).send().await)
            }
            15..=34 => (
                "for-verification",
                http.post(format!("{base}/pacts/provider/{provider}/for-verification"))
                    .json(&json!({"consumerVersionSelectors": [{"mainBranch": true}, {"deployedOrReleased": true}], "includePendingStatus": true}))
                    .send()
                    .await,
            ),
            35..=49 => {
                let latest = http.get(format!("{base}/pacts/provider/{provider}/consumer/{consumer}/latest")).send().await;
                match latest {
                    Ok(r) if r.status().is_success() => {
                        let body: Value = r.json().await.unwrap_or(Value::Null);
                        let href = body["_links"]["pb:publish-verification-results"]["href"].as_str().unwrap_or_default().to_owned();
                        ("verify", http.post(href).json(&json!({"success": next() % 10 != 0, "providerApplicationVersion": format!("{id}.{version}")})).send().await)
                    }
                    other => ("verify", other),
                }
            }
            50..=79 => (
                "can-i-deploy",
                http.get(format!(
                    "{base}/can-i-deploy?pacticipant={consumer}&version={}&environment=production",
                    published[&pair]
                ))
                .send()
                .await,
            ),
            80..=89 => (
                "deployment-event",
                http.post(format!("{base}/deployment-events"))
                    .json(&json!({"product_name": provider, "version": format!("{id}.{}", version.saturating_sub(1)),
                        "environment_name": "production", "status": "completed"}))
                    .send()
                    .await,
            ),
            _ => ("list", http.get(format!("{base}/deployments?size=20")).send().await),
        };
        let elapsed = started.elapsed();
        // A 404 for a pair with no pact yet is an answer, not an error.
        let failed = match &outcome {
            Ok(r) => {
                r.status().is_server_error()
                    || (r.status().is_client_error() && r.status().as_u16() != 404)
            }
            Err(_) => true,
        };
        let mut stats = stats.lock().unwrap();
        stats.latencies.entry(kind).or_default().push(elapsed);
        if failed {
            *stats.errors.entry(kind).or_default() += 1;
        }
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let minutes = arg("--minutes", 10);
    let concurrency = arg("--concurrency", 16) as usize;
    let report_every = arg("--report-every", 60);
    let database = treaty_store::testing::TestDatabase::fresh()
        .await
        .expect("a database");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    // Deployments of provider versions the clients never published, as before
    // unknown versions were refused by default.
    let app = treaty_server::router(
        database.store.clone(),
        treaty_server::ServerConfig {
            create_unknown_versions: true,
            ..treaty_server::ServerConfig::default()
        },
    );
    tokio::spawn(async move {
        let limits = treaty_server::ConnectionLimits::default();
        let _ = treaty_server::serve(listener, app, limits, std::future::pending()).await;
    });
    let http = reqwest::Client::new();
    for name in ["production", "staging"] {
        let _ = http
            .post(format!("{base}/environments"))
            .json(&json!({"name": name, "production": name == "production"}))
            .send()
            .await;
    }
    // The same workload as the figures in docs/reliability.md: production
    // ungated (its default policy would refuse unverified providers).
    let _ = http
        .put(format!("{base}/policies/production"))
        .json(&json!({"rules": []}))
        .send()
        .await;
    println!(
        "soak: {minutes} min, {concurrency} clients, {} backend ({}), {} cores",
        treaty_store::testing::TestDatabase::backend(),
        database.url,
        std::thread::available_parallelism().map_or(1, usize::from)
    );
    let stats = Arc::new(Mutex::new(Stats::default()));
    let start = Instant::now();
    let until = start + Duration::from_secs(minutes * 60);
    let clients: Vec<_> = (0..concurrency)
        .map(|id| tokio::spawn(client_loop(id, base.clone(), until, stats.clone())))
        .collect();
    let (first_rss, first_fds) = process_figures();
    let mut seen = 0;
    let mut reported: BTreeMap<&'static str, usize> = BTreeMap::new();
    while Instant::now() < until {
        tokio::time::sleep(
            Duration::from_secs(report_every).min(
                until
                    .saturating_duration_since(Instant::now())
                    .max(Duration::from_millis(10)),
            ),
        )
        .await;
        let (rss, fds) = process_figures();
        let (db_mib, wal_mib) = database_figures(&database.url);
        let stats = stats.lock().unwrap();
        let mut window: Vec<Duration> = Vec::new();
        let total: usize = stats.latencies.values().map(Vec::len).sum();
        for (kind, latencies) in &stats.latencies {
            let from = reported.insert(kind, latencies.len()).unwrap_or(0);
            window.extend(latencies[from..].iter().copied());
        }
        window.sort();
        let errors: usize = stats.errors.values().sum();
        println!(
            "t={:>4}s requests={total:>8} (+{:>6}) p50={:.1}ms p99={:.1}ms errors={errors} rss={} MiB fds={fds} db={db_mib:.1} MiB wal={wal_mib:.1} MiB",
            start.elapsed().as_secs(),
            total - seen,
            percentile(&window, 0.5),
            percentile(&window, 0.99),
            rss / 1024
        );
        seen = total;
    }
    for client in clients {
        let _ = client.await;
    }
    let (last_rss, last_fds) = process_figures();
    let stats = stats.lock().unwrap();
    let elapsed = start.elapsed().as_secs_f64();
    let total: usize = stats.latencies.values().map(Vec::len).sum();
    println!(
        "\n| operation | requests | p50 ms | p95 ms | p99 ms | max ms | errors |\n|---|---|---|---|---|---|---|"
    );
    for (kind, latencies) in &stats.latencies {
        let mut sorted = latencies.clone();
        sorted.sort();
        println!(
            "| {kind} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {} |",
            sorted.len(),
            percentile(&sorted, 0.5),
            percentile(&sorted, 0.95),
            percentile(&sorted, 0.99),
            percentile(&sorted, 1.0),
            stats.errors.get(kind).copied().unwrap_or(0)
        );
    }
    println!(
        "\n{total} requests in {elapsed:.0} s ({:.0}/s); memory {} MiB at the start, {} MiB at the end; file descriptors {first_fds} then {last_fds}",
        total as f64 / elapsed,
        first_rss / 1024,
        last_rss / 1024
    );
}
