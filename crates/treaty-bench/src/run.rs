//! The benchmark: black-box timings over HTTP on loopback with keep-alive,
//! against a Treaty serving a seeded data set.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use base64::Engine;
use serde::Serialize;
use serde_json::{Value, json};

use crate::database::{Counts, Database};
use crate::dataset::{
    HUB_CONSUMER, HUB_PROVIDER, STEADY_CONSUMER, STEADY_PROVIDER, TYPICAL_CONSUMER,
};
use crate::server::{cpu_time, memory_mib, reset_peak_memory};
use crate::sweep::{Sweep, sweep};

/// How long and how often to measure.
#[derive(Debug, Clone)]
pub struct Options {
    /// Timed requests per operation (after a tenth as many untimed ones).
    pub iterations: usize,
    /// Seconds of each throughput run.
    pub load_seconds: f64,
    pub concurrency: Vec<usize>,
    /// Time one section alone (the others stay empty).
    pub only: Option<Section>,
}

/// A section of the benchmark that can be timed alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Section {
    /// The small writes from 1, 16 and 64 writers (`--concurrency`).
    Writes,
    /// Every GET route of the OpenAPI description.
    Sweep,
    /// can-i-deploy and the CI mix from 1, 16 and 64 clients.
    Throughput,
}

#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    pub operation: String,
    pub samples: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Floor {
    pub operation: String,
    pub floor_p50_ms: f64,
    pub treaty_p50_ms: f64,
    /// Treaty's median over the floor's.
    pub ratio: f64,
    /// The median of an empty answer ([`EMPTY_ANSWER`]) from the same client:
    /// what any answer over HTTP costs before it reads the database.
    pub http_p50_ms: f64,
    /// What Treaty adds to an empty answer, over the floor: the part of the
    /// ratio a faster query could still remove.
    pub beyond_http_ratio: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Throughput {
    pub workload: &'static str,
    pub concurrency: usize,
    pub requests: u64,
    pub errors: u64,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Server CPU time per request (user and system), when its pid is known.
    pub cpu_ms_per_request: Option<f64>,
    /// The server's peak resident memory during this run alone, in MiB.
    pub peak_mib: Option<f64>,
}

/// Small writes sent by `writers` clients at once, each acknowledged only
/// once it is durable: how many a second, and how long each waited.
#[derive(Debug, Clone, Serialize)]
pub struct Writes {
    pub operation: &'static str,
    pub writers: usize,
    pub requests: u64,
    pub errors: u64,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    /// Server CPU time per write (user and system), when its pid is known.
    pub cpu_ms_per_request: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Memory {
    /// Resident memory after the first requests, after the latency runs, and at the end.
    pub rss_warm_mib: f64,
    pub rss_after_latencies_mib: f64,
    pub rss_end_mib: f64,
    pub peak_mib: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub data: Counts,
    pub bytes_per_version: f64,
    pub latencies: Vec<Latency>,
    pub floors: Vec<Floor>,
    pub throughput: Vec<Throughput>,
    pub writes: Vec<Writes>,
    /// Every GET operation of the OpenAPI description, timed on a URL its
    /// links lead to.
    pub sweep: Option<Sweep>,
    pub memory: Option<Memory>,
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

fn latency(operation: &str, mut timings: Vec<Duration>) -> Latency {
    timings.sort();
    Latency {
        operation: operation.to_owned(),
        samples: timings.len(),
        p50_ms: percentile(&timings, 0.50),
        p95_ms: percentile(&timings, 0.95),
        p99_ms: percentile(&timings, 0.99),
    }
}

/// One request the benchmark makes; `i` makes writes unique.
#[derive(Clone)]
enum Request {
    Get(String),
    Post(String, Arc<Value>),
    Put(String, Arc<Value>),
}

const BUSY_PAIR: &str = "matrix: all rows of a busy pair, first page (limit 100)";

/// The cheapest answer Treaty gives (the heartbeat reads no database): the
/// floor of any request over HTTP from this client, which the in-process
/// floor queries do not pay.
const EMPTY_ANSWER: &str = "an empty answer (the heartbeat: HTTP alone)";

/// Makes the request of one iteration (its number makes writes unique).
type MakeRequest = Box<dyn Fn(u64) -> Request>;

/// Sends a request and reads the whole answer; a non-2xx answer is an error
/// that stops the benchmark with what the server said.
async fn send(http: &reqwest::Client, request: &Request) -> Result<()> {
    let response = match request {
        Request::Get(url) => http.get(url).send().await?,
        Request::Post(url, body) => http.post(url).json(body.as_ref()).send().await?,
        Request::Put(url, body) => http.put(url).json(body.as_ref()).send().await?,
    };
    let status = response.status();
    let body = response.bytes().await?;
    if !status.is_success() {
        let (method, url) = match request {
            Request::Get(url) => ("GET", url),
            Request::Post(url, _) => ("POST", url),
            Request::Put(url, _) => ("PUT", url),
        };
        return Err(anyhow!(
            "{method} {url} answered {status}: {}",
            String::from_utf8_lossy(&body)
                .chars()
                .take(400)
                .collect::<String>()
        ));
    }
    Ok(())
}

/// The subjects the questions are asked about, read from the data set.
struct Subjects {
    base: String,
    typical: String,
    hub_consumer: String,
    hub_provider: String,
    /// Two recent main versions of the typical consumer, deployed in turn.
    typical_recent: [String; 2],
    test_environment: String,
    /// The latest pact of svc-000 with svc-001, to verify.
    verification_url: String,
}

impl Subjects {
    async fn read(http: &reqwest::Client, base: &str, database: &Database) -> Result<Self> {
        let typical = database.latest_main(TYPICAL_CONSUMER).await?;
        let environments: Value = http
            .get(format!("{base}/environments"))
            .send()
            .await?
            .json()
            .await?;
        let test_environment = environments["_embedded"]["environments"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| e["name"] == "test")
            .and_then(|e| e["uuid"].as_str())
            .context("the data set has no test environment")?
            .to_owned();
        let provider = provider_of_typical();
        let pact: Value = http
            .get(format!(
                "{base}/pacts/provider/{provider}/consumer/{TYPICAL_CONSUMER}/latest"
            ))
            .send()
            .await?
            .json()
            .await?;
        let verification_url = pact["_links"]["pb:publish-verification-results"]["href"]
            .as_str()
            .context("the latest pact has no pb:publish-verification-results link")?
            .to_owned();
        Ok(Self {
            base: base.to_owned(),
            typical_recent: [
                database.latest_main(TYPICAL_CONSUMER).await?,
                database.previous_main(TYPICAL_CONSUMER).await?,
            ],
            typical,
            hub_consumer: database.latest_main(HUB_CONSUMER).await?,
            hub_provider: database.latest_main(HUB_PROVIDER).await?,
            test_environment,
            verification_url,
        })
    }

    fn can_i_deploy(&self, application: &str, version: &str) -> Request {
        Request::Get(format!(
            "{}/can-i-deploy?pacticipant={application}&version={version}&environment=production",
            self.base
        ))
    }

    fn for_verification(&self, provider: &str, wip: bool) -> Request {
        let mut body = json!({
            "consumerVersionSelectors": [{"mainBranch": true}, {"deployedOrReleased": true}],
            "includePendingStatus": true,
            "providerVersionBranch": "main"
        });
        if wip {
            body["includeWipPactsSince"] = json!("2020-01-01");
        }
        Request::Post(
            format!("{}/pacts/provider/{provider}/for-verification", self.base),
            Arc::new(body),
        )
    }

    /// A consumer build publishing: `providers` contracts, the content
    /// changing on one build in five, as in the data set.
    fn publish(&self, consumer: &str, providers: &[String], build: u64, large: bool) -> Request {
        let contracts: Vec<Value> = providers
            .iter()
            .enumerate()
            .map(|(i, provider)| {
                let variant = 5_000_000 + (build / 5) as u32;
                let document = if large {
                    large_pact(consumer, provider, build % 2)
                } else {
                    pact(consumer, provider, variant, i)
                };
                json!({"consumerName": consumer, "providerName": provider, "specification": "pact",
                    "contentType": "application/json",
                    "content": base64::engine::general_purpose::STANDARD.encode(document.to_string())})
            })
            .collect();
        Request::Post(
            format!("{}/contracts/publish", self.base),
            Arc::new(json!({
                "pacticipantName": consumer,
                "pacticipantVersionNumber": format!("bench-{build}"),
                "branch": "main",
                "buildUrl": format!("https://ci.example.com/{consumer}/{build}"),
                "contracts": contracts
            })),
        )
    }

    fn verification(&self, build: u64) -> Request {
        Request::Post(
            self.verification_url.clone(),
            Arc::new(
                json!({"success": !build.is_multiple_of(20), "providerApplicationVersion": format!("bench-{build}"),
                "verifiedBy": {"implementation": "Pact-Rust", "version": "1.2.5"}}),
            ),
        )
    }

    fn deployment(&self, build: u64) -> Request {
        let version = &self.typical_recent[(build % 2) as usize];
        Request::Post(
            format!(
                "{}/pacticipants/{TYPICAL_CONSUMER}/versions/{version}/deployed-versions/environment/{}",
                self.base, self.test_environment
            ),
            Arc::new(json!({})),
        )
    }

    /// A new version of the typical consumer added to a branch of its own
    /// (`PUT .../branches/{b}/versions/{v}`, which creates the version).
    fn branch_version(&self, build: u64) -> Request {
        Request::Put(
            format!(
                "{}/pacticipants/{TYPICAL_CONSUMER}/branches/bench-writes/versions/bench-write-{build}",
                self.base
            ),
            Arc::new(json!({})),
        )
    }
}

/// svc-000's first provider in the data set's topology.
fn provider_of_typical() -> &'static str {
    "svc-001"
}

fn pact(consumer: &str, provider: &str, variant: u32, salt: usize) -> Value {
    let interactions: Vec<Value> = (0..5)
        .map(|i| json!({"description": format!("request {i} for {provider}"), "providerState": format!("state {i}"),
            "request": {"method": "GET", "path": format!("/things/{i}")},
            "response": {"status": 200, "body": {"id": i, "variant": variant, "salt": salt}}}))
        .collect();
    json!({"consumer": {"name": consumer}, "provider": {"name": provider}, "interactions": interactions,
        "metadata": {"pactSpecification": {"version": "2.0.0"}}})
}

/// A pact of about 1 MB (two variants, published in turn).
fn large_pact(consumer: &str, provider: &str, variant: u64) -> Value {
    let filler = "x".repeat(900);
    let interactions: Vec<Value> = (0..1000)
        .map(|i| {
            json!({"description": format!("large request {i}"),
            "request": {"method": "POST", "path": format!("/bulk/{i}"), "body": {"text": filler}},
            "response": {"status": 201, "body": {"id": i, "variant": variant}}})
        })
        .collect();
    json!({"consumer": {"name": consumer}, "provider": {"name": provider}, "interactions": interactions,
        "metadata": {"pactSpecification": {"version": "2.0.0"}}})
}

/// Times `iterations` requests made one after another (after untimed warm-up ones).
async fn time_requests(
    http: &reqwest::Client,
    iterations: usize,
    mut request: impl FnMut(u64) -> Request,
    counter: &AtomicU64,
) -> Result<Vec<Duration>> {
    for _ in 0..(iterations / 10).max(2) {
        send(http, &request(counter.fetch_add(1, Ordering::Relaxed))).await?;
    }
    let mut timings = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let request = request(counter.fetch_add(1, Ordering::Relaxed));
        let started = Instant::now();
        send(http, &request).await?;
        timings.push(started.elapsed());
    }
    Ok(timings)
}

/// Runs the whole benchmark against the Treaty at `base` (pid `server` when
/// it is a local process), reading the data set from `database`.
pub async fn run(
    base: &str,
    server: Option<u32>,
    database: &Database,
    options: &Options,
    mut say: impl FnMut(&str),
) -> Result<Report> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()?;
    let counts = database.counts().await?;
    let subjects = Arc::new(Subjects::read(&http, base, database).await?);
    let builds = Arc::new(AtomicU64::new(1));
    let mut latencies = Vec::new();
    let warm = server.and_then(memory_mib);
    if let Some(section) = options.only {
        let (mut writes, mut sweep, mut throughput) = (Vec::new(), None, Vec::new());
        match section {
            Section::Writes => {
                writes = time_writes(&http, &subjects, &builds, options, server, &mut say).await?;
            }
            Section::Sweep => {
                sweep = Some(sweep_routes(&subjects, server, options, &mut say).await?);
            }
            Section::Throughput => {
                throughput =
                    time_throughput(&http, &subjects, &builds, options, server, &mut say).await?;
            }
        }
        return Ok(Report {
            bytes_per_version: counts.bytes as f64 / counts.versions.max(1) as f64,
            data: counts,
            latencies,
            floors: Vec::new(),
            throughput,
            writes,
            sweep,
            memory: None,
        });
    }

    let s = subjects.clone();
    let reads: Vec<(&str, MakeRequest)> = vec![
        (
            EMPTY_ANSWER,
            Box::new({
                let s = s.clone();
                move |_| Request::Get(format!("{}/diagnostic/status/heartbeat", s.base))
            }),
        ),
        (
            "can-i-deploy: consumer → production",
            Box::new({
                let s = s.clone();
                move |_| s.can_i_deploy(TYPICAL_CONSUMER, &s.typical)
            }),
        ),
        (
            "can-i-deploy: hub consumer (30 providers at L)",
            Box::new({
                let s = s.clone();
                move |_| s.can_i_deploy(HUB_CONSUMER, &s.hub_consumer)
            }),
        ),
        (
            "can-i-deploy: provider with many consumers",
            Box::new({
                let s = s.clone();
                move |_| s.can_i_deploy(HUB_PROVIDER, &s.hub_provider)
            }),
        ),
        (
            "can-i-deploy: branch main → production",
            Box::new({
                let s = s.clone();
                move |_| {
                    Request::Get(format!(
                        "{}/matrix?q[][pacticipant]={TYPICAL_CONSUMER}&q[][branch]=main&q[][latest]=true&latestby=cvp&environment=production",
                        s.base
                    ))
                }
            }),
        ),
        (
            "matrix: version × provider's latest main",
            Box::new({
                let s = s.clone();
                move |_| {
                    Request::Get(format!(
                        "{}/matrix?q[][pacticipant]={TYPICAL_CONSUMER}&q[][version]={}&q[][pacticipant]={}&q[][branch]=main&q[][latest]=true&latestby=cvpv",
                        s.base,
                        s.typical,
                        provider_of_typical()
                    ))
                }
            }),
        ),
        (
            "matrix: all rows of a pair (limit 1000)",
            Box::new({
                let s = s.clone();
                move |_| {
                    Request::Get(format!(
                        "{}/matrix?q[][pacticipant]={TYPICAL_CONSUMER}&q[][pacticipant]={}&limit=1000",
                        s.base,
                        provider_of_typical()
                    ))
                }
            }),
        ),
        (
            BUSY_PAIR,
            Box::new({
                let s = s.clone();
                move |_| {
                    Request::Get(format!(
                        "{}/matrix?q[][pacticipant]={STEADY_CONSUMER}&q[][pacticipant]={STEADY_PROVIDER}&limit=100",
                        s.base
                    ))
                }
            }),
        ),
        (
            "latest pact of every integration (GET /pacts/latest)",
            Box::new({
                let s = s.clone();
                move |_| Request::Get(format!("{}/pacts/latest", s.base))
            }),
        ),
        (
            "pacts for verification: provider with many consumers",
            Box::new({
                let s = s.clone();
                move |_| s.for_verification(HUB_PROVIDER, false)
            }),
        ),
        (
            "pacts for verification: with WIP pacts",
            Box::new({
                let s = s.clone();
                move |_| s.for_verification(HUB_PROVIDER, true)
            }),
        ),
        (
            "pacts for verification: steady provider (15k results at L)",
            Box::new({
                let s = s.clone();
                move |_| s.for_verification(STEADY_PROVIDER, true)
            }),
        ),
    ];
    for (name, request) in &reads {
        say(&format!("timing {name}"));
        // The busy pair is where the matrix still grows with the history
        // (seconds a request at L): a few requests say enough.
        let iterations = if *name == BUSY_PAIR {
            (options.iterations / 20).max(3)
        } else {
            options.iterations
        };
        let timings = time_requests(&http, iterations, request, &builds).await?;
        latencies.push(latency(name, timings));
    }

    let two: Vec<String> = ["svc-002", "svc-004"].map(str::to_owned).to_vec();
    let fifty: Vec<String> = (0..50).map(|i| format!("bench-provider-{i:02}")).collect();
    let one: Vec<String> = vec![provider_of_typical().to_owned()];
    let writes: Vec<(&str, usize, MakeRequest)> = vec![
        (
            "publish 2 contracts",
            options.iterations,
            Box::new({
                let s = s.clone();
                move |b| s.publish("svc-001", &two, b, false)
            }),
        ),
        (
            "publish 50 contracts in one request",
            (options.iterations / 4).max(10),
            Box::new({
                let s = s.clone();
                move |b| s.publish("bench-wide-consumer", &fifty, b, false)
            }),
        ),
        (
            "publish a 1 MB pact",
            (options.iterations / 10).max(10),
            Box::new({
                let s = s.clone();
                move |b| s.publish("bench-large-consumer", &one, b, true)
            }),
        ),
        (
            "publish a verification result",
            options.iterations,
            Box::new({
                let s = s.clone();
                move |b| s.verification(b)
            }),
        ),
        (
            "record a deployment",
            options.iterations,
            Box::new({
                let s = s.clone();
                move |b| s.deployment(b)
            }),
        ),
    ];
    for (name, iterations, request) in &writes {
        say(&format!("timing {name}"));
        let timings = time_requests(&http, *iterations, request, &builds).await?;
        latencies.push(latency(name, timings));
    }
    let swept = sweep_routes(&subjects, server, options, &mut say).await?;
    let after_latencies = server.and_then(memory_mib);

    say("timing the floor (one hand-written indexed query, in process)");
    let mut floors = Vec::new();
    for (name, application, version) in [
        (
            "can-i-deploy: consumer → production",
            TYPICAL_CONSUMER,
            &s.typical,
        ),
        (
            "can-i-deploy: hub consumer (30 providers at L)",
            HUB_CONSUMER,
            &s.hub_consumer,
        ),
        (
            "can-i-deploy: provider with many consumers",
            HUB_PROVIDER,
            &s.hub_provider,
        ),
    ] {
        let timings = database
            .time(options.iterations, || {
                database.can_i_deploy_floor(application, version, "production")
            })
            .await?;
        floors.push(floor(name, timings, &latencies));
    }
    let timings = database
        .time(options.iterations, || {
            database.for_verification_floor(HUB_PROVIDER)
        })
        .await?;
    floors.push(floor(
        "pacts for verification: provider with many consumers",
        timings,
        &latencies,
    ));

    let throughput = time_throughput(&http, &subjects, &builds, options, server, &mut say).await?;
    let writes = time_writes(&http, &subjects, &builds, options, server, &mut say).await?;
    let end = server.and_then(memory_mib);
    Ok(Report {
        bytes_per_version: counts.bytes as f64 / counts.versions.max(1) as f64,
        data: counts,
        latencies,
        floors,
        throughput,
        writes,
        sweep: Some(swept),
        memory: match (warm, after_latencies, end) {
            (Some(warm), Some(after), Some(end)) => Some(Memory {
                rss_warm_mib: warm.0,
                rss_after_latencies_mib: after.0,
                rss_end_mib: end.0,
                peak_mib: end.1,
            }),
            _ => None,
        },
    })
}

fn floor(name: &str, mut timings: Vec<Duration>, latencies: &[Latency]) -> Floor {
    timings.sort();
    let floor_p50_ms = percentile(&timings, 0.5);
    let p50_of = |operation: &str| {
        latencies
            .iter()
            .find(|l| l.operation == operation)
            .map_or(0.0, |l| l.p50_ms)
    };
    let treaty_p50_ms = p50_of(name);
    let http_p50_ms = p50_of(EMPTY_ANSWER);
    Floor {
        operation: name.to_owned(),
        floor_p50_ms,
        treaty_p50_ms,
        ratio: treaty_p50_ms / floor_p50_ms.max(1e-6),
        http_p50_ms,
        beyond_http_ratio: (treaty_p50_ms - http_p50_ms).max(0.0) / floor_p50_ms.max(1e-6),
    }
}

/// The sweep of every GET route, from starting points in the data set: a
/// quarter of the iterations each (a hundred routes).
async fn sweep_routes(
    s: &Subjects,
    server: Option<u32>,
    options: &Options,
    say: &mut impl FnMut(&str),
) -> Result<Sweep> {
    let provider = provider_of_typical();
    let base = &s.base;
    let relative = |url: String| url.strip_prefix(base.as_str()).unwrap_or(&url).to_owned();
    let starts = vec![
        "/".to_owned(),
        format!("/pacticipants/{TYPICAL_CONSUMER}"),
        format!("/pacticipants/{TYPICAL_CONSUMER}/versions/{}", s.typical),
        format!("/pacts/provider/{provider}/consumer/{TYPICAL_CONSUMER}/latest"),
        format!("/environments/{}", s.test_environment),
        relative(match s.can_i_deploy(TYPICAL_CONSUMER, &s.typical) {
            Request::Get(url) | Request::Post(url, _) | Request::Put(url, _) => url,
        }),
        format!(
            "/preflight?pacticipant={TYPICAL_CONSUMER}&version={}&environment=production",
            s.typical
        ),
        "/deployments".to_owned(),
        "/deployments/deployed-at?environment=production".to_owned(),
        "/dora-metrics".to_owned(),
        "/integrations".to_owned(),
        "/dashboard".to_owned(),
        "/relationships".to_owned(),
        "/audit".to_owned(),
        "/metrics".to_owned(),
        "/tokens".to_owned(),
        "/webhooks".to_owned(),
    ];
    // For the routes no link leads to (the index's links are templates).
    let values = std::collections::BTreeMap::from([
        ("pacticipant", TYPICAL_CONSUMER.to_owned()),
        ("consumer", TYPICAL_CONSUMER.to_owned()),
        ("provider", provider.to_owned()),
        ("version", s.typical.clone()),
        ("compared", s.typical_recent[1].clone()),
        ("branch", "main".to_owned()),
        ("tag", "prod".to_owned()),
        ("provider_tag", "prod".to_owned()),
        ("to", "prod".to_owned()),
        ("environment", "production".to_owned()),
        ("uuid", s.test_environment.clone()),
        ("rel", "pb:latest-version".to_owned()),
    ]);
    sweep(
        base,
        server,
        starts,
        values,
        (options.iterations / 4).max(5),
        |step| say(step),
    )
    .await
}

/// What closed-loop clients measured: each sends a request, waits for its
/// answer, then sends the next, until the time is up.
struct Measured {
    /// Each answered request's latency, sorted.
    timings: Vec<Duration>,
    errors: u64,
    per_second: f64,
    /// The server's CPU time per answered request, when its pid is known.
    cpu_ms_per_request: Option<f64>,
    /// The server's peak resident memory during the run, in MiB.
    peak_mib: Option<f64>,
}

/// Runs `clients` closed-loop clients for `seconds`. `client(i)` makes
/// client `i`'s source of requests: called with a build number (counting up
/// across clients), it gives the request to send next.
async fn closed_loop<Next>(
    http: &reqwest::Client,
    builds: &Arc<AtomicU64>,
    clients: usize,
    seconds: f64,
    server: Option<u32>,
    client: impl Fn(u64) -> Next,
) -> Result<Measured>
where
    Next: FnMut(u64) -> Request + Send + 'static,
{
    let cpu_before = server.and_then(cpu_time);
    let peak_reset = server.is_some_and(reset_peak_memory);
    let started = Instant::now();
    let until = started + Duration::from_secs_f64(seconds);
    let mut running = tokio::task::JoinSet::new();
    for index in 0..clients {
        let (http, builds, mut next) = (http.clone(), builds.clone(), client(index as u64));
        running.spawn(async move {
            let mut timings = Vec::new();
            let mut errors = 0u64;
            while Instant::now() < until {
                let request = next(builds.fetch_add(1, Ordering::Relaxed));
                let sent = Instant::now();
                match send(&http, &request).await {
                    Ok(()) => timings.push(sent.elapsed()),
                    Err(_) => errors += 1,
                }
            }
            (timings, errors)
        });
    }
    let mut timings = Vec::new();
    let mut errors = 0;
    while let Some(done) = running.join_next().await {
        let (t, e) = done.context("a benchmark client failed")?;
        timings.extend(t);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = match (cpu_before, server.and_then(cpu_time)) {
        (Some(before), Some(after)) => Some(after.saturating_sub(before)),
        _ => None,
    };
    timings.sort();
    let requests = timings.len().max(1) as f64;
    Ok(Measured {
        per_second: timings.len() as f64 / elapsed,
        cpu_ms_per_request: cpu.map(|c| c.as_secs_f64() * 1000.0 / requests),
        peak_mib: server
            .filter(|_| peak_reset)
            .and_then(memory_mib)
            .map(|(_, peak)| peak),
        timings,
        errors,
    })
}

/// `concurrency` clients sending one workload for `seconds`.
async fn load(
    http: &reqwest::Client,
    subjects: &Arc<Subjects>,
    builds: &Arc<AtomicU64>,
    workload: &'static str,
    concurrency: usize,
    seconds: f64,
    server: Option<u32>,
) -> Result<Throughput> {
    let measured = closed_loop(http, builds, concurrency, seconds, server, |client| {
        let subjects = subjects.clone();
        // Each client rolls its own dice from its own seed, so every run
        // sends the same mix.
        let mut roll = client;
        move |build| {
            roll = roll
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            mix(&subjects, workload, (roll >> 33) % 100, build)
        }
    })
    .await?;
    Ok(Throughput {
        workload,
        concurrency,
        requests: measured.timings.len() as u64,
        errors: measured.errors,
        per_second: measured.per_second,
        p50_ms: percentile(&measured.timings, 0.5),
        p99_ms: percentile(&measured.timings, 0.99),
        cpu_ms_per_request: measured.cpu_ms_per_request,
        peak_mib: measured.peak_mib,
    })
}

/// can-i-deploy alone and the CI mix, each from every `options.concurrency`.
async fn time_throughput(
    http: &reqwest::Client,
    subjects: &Arc<Subjects>,
    builds: &Arc<AtomicU64>,
    options: &Options,
    server: Option<u32>,
    say: &mut impl FnMut(&str),
) -> Result<Vec<Throughput>> {
    let mut throughput = Vec::new();
    for &concurrency in &options.concurrency {
        for workload in ["can-i-deploy", "CI mix"] {
            say(&format!(
                "throughput: {workload} with {concurrency} clients"
            ));
            throughput.push(
                load(
                    http,
                    subjects,
                    builds,
                    workload,
                    concurrency,
                    options.load_seconds,
                    server,
                )
                .await?,
            );
        }
    }
    Ok(throughput)
}

/// The two small writes of the Pact Broker API CI makes most (record a
/// deployment, add a version to a branch), each from 1, 16 and 64 writers
/// (`options.concurrency`) for `options.load_seconds`.
async fn time_writes(
    http: &reqwest::Client,
    subjects: &Arc<Subjects>,
    builds: &Arc<AtomicU64>,
    options: &Options,
    server: Option<u32>,
    say: &mut impl FnMut(&str),
) -> Result<Vec<Writes>> {
    let mut measured = Vec::new();
    for &writers in &options.concurrency {
        for operation in ["record a deployment", "add a version to a branch"] {
            say(&format!("writes: {operation} from {writers} writers"));
            measured.push(
                write_load(
                    http,
                    subjects,
                    builds,
                    operation,
                    writers,
                    options.load_seconds,
                    server,
                )
                .await?,
            );
        }
    }
    Ok(measured)
}

/// `writers` clients sending one kind of write, each waiting for its answer
/// before the next, for `seconds`.
async fn write_load(
    http: &reqwest::Client,
    subjects: &Arc<Subjects>,
    builds: &Arc<AtomicU64>,
    operation: &'static str,
    writers: usize,
    seconds: f64,
    server: Option<u32>,
) -> Result<Writes> {
    let measured = closed_loop(http, builds, writers, seconds, server, |_| {
        let subjects = subjects.clone();
        move |build| {
            if operation == "record a deployment" {
                subjects.deployment(build)
            } else {
                subjects.branch_version(build)
            }
        }
    })
    .await?;
    Ok(Writes {
        operation,
        writers,
        requests: measured.timings.len() as u64,
        errors: measured.errors,
        per_second: measured.per_second,
        p50_ms: percentile(&measured.timings, 0.5),
        p95_ms: percentile(&measured.timings, 0.95),
        cpu_ms_per_request: measured.cpu_ms_per_request,
    })
}

/// The request a client sends next: can-i-deploy only, or a CI-shaped mix
/// (mostly questions, some publications, results and deployments).
fn mix(s: &Subjects, workload: &str, roll: u64, build: u64) -> Request {
    if workload == "can-i-deploy" {
        return s.can_i_deploy(TYPICAL_CONSUMER, &s.typical);
    }
    match roll {
        0..=29 => s.can_i_deploy(TYPICAL_CONSUMER, &s.typical),
        30..=39 => s.can_i_deploy(HUB_CONSUMER, &s.hub_consumer),
        40..=49 => s.can_i_deploy(HUB_PROVIDER, &s.hub_provider),
        50..=69 => s.for_verification(HUB_PROVIDER, true),
        70..=79 => s.publish(
            "svc-001",
            &["svc-002".to_owned(), "svc-004".to_owned()],
            build,
            false,
        ),
        80..=94 => s.verification(build),
        _ => s.deployment(build),
    }
}
