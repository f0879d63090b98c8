//! Crash test: a mixed write load against `treaty serve`, killed with SIGKILL
//! at pseudo-random moments and restarted, many times. Afterwards every
//! acknowledged write is there, none is half there, every invariant holds,
//! the database is intact, and the queued webhooks went out.
//!
//! `TREATY_CRASH_KILLS` sets the number of kills (default 50, on each backend).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use treaty_store::testing::TestDatabase;

use crate::replicas::{publish_body, start_replica_with};
use crate::support::receiver;

/// What the server acknowledged: (kind, key).
type Acknowledged = Arc<Mutex<Vec<(&'static str, String)>>>;

fn kills() -> usize {
    std::env::var("TREATY_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50)
}

/// One writer: publications, deployment events, releases, one after the
/// other, until the server stops answering.
async fn write_until_killed(
    client: reqwest::Client,
    url: String,
    round: usize,
    writer: usize,
    acknowledged: Acknowledged,
) {
    for n in 0.. {
        let version = format!("{round}.{writer}.{n}");
        let ok = |r: &Result<reqwest::Response, reqwest::Error>| {
            r.as_ref().is_ok_and(|r| r.status().is_success())
        };
        let published = client
            .post(format!("{url}/contracts/publish"))
            .json(&publish_body(&version))
            .send()
            .await;
        if !ok(&published) {
            return;
        }
        acknowledged
            .lock()
            .unwrap()
            .push(("publish", version.clone()));
        let event = json!({"product_name": "Foo", "version": version, "environment_name": "crash",
            "status": "completed", "application_instance": format!("i{writer}")});
        let deployed = client
            .post(format!("{url}/deployment-events"))
            .json(&event)
            .send()
            .await;
        if !ok(&deployed) {
            return;
        }
        acknowledged
            .lock()
            .unwrap()
            .push(("deploy", version.clone()));
        let tagged = client
            .put(format!(
                "{url}/pacticipants/Foo/versions/{version}/tags/crash"
            ))
            .json(&json!({}))
            .send()
            .await;
        if !ok(&tagged) {
            return;
        }
        acknowledged.lock().unwrap().push(("tag", version));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_writes_survive_sigkill_and_invariants_hold() {
    let database = TestDatabase::fresh().await.unwrap();
    let (hook, received) = receiver().await;
    let flags = [
        "--webhook-allowed-schemes",
        "http",
        "--webhook-allowed-hosts",
        "127.0.0.1",
        "--webhook-retry-schedule",
        "1,1,1",
        "--webhook-delivery-lease",
        "2",
    ];
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    {
        let first = start_replica_with(&database.url, &flags).await;
        let created = client
            .post(format!("{}/environments", first.url))
            .json(&json!({"name": "crash", "production": true}))
            .send()
            .await
            .unwrap();
        assert!(created.status().is_success());
        let hooked = client
            .post(format!("{}/webhooks", first.url))
            .json(&json!({"events": [{"name": "contract_published"}],
                "request": {"method": "POST", "url": hook, "body": "${pactbroker.consumerVersionNumber}"}}))
            .send()
            .await
            .unwrap();
        assert_eq!(hooked.status(), 201);
    }
    let acknowledged: Acknowledged = Arc::default();
    let kills = kills();
    let started = Instant::now();
    for round in 0..kills {
        let mut replica = start_replica_with(&database.url, &flags).await;
        let writers: Vec<_> = (0..4)
            .map(|writer| {
                tokio::spawn(write_until_killed(
                    client.clone(),
                    replica.url.clone(),
                    round,
                    writer,
                    acknowledged.clone(),
                ))
            })
            .collect();
        // Once this round's load is under way (its first write acknowledged,
        // however busy the machine), kill at a different moment each round:
        // 0 to 125 ms later.
        let before = acknowledged.lock().unwrap().len();
        let under_way = Instant::now();
        while acknowledged.lock().unwrap().len() == before
            && under_way.elapsed() < Duration::from_secs(10)
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_millis((round as u64 * 37) % 125)).await;
        replica.child.start_kill().unwrap();
        let _ = replica.child.wait().await;
        for writer in writers {
            writer.await.unwrap();
        }
    }
    let elapsed = started.elapsed();

    let last = start_replica_with(&database.url, &flags).await;
    let acknowledged = acknowledged.lock().unwrap().clone();
    let versions: Vec<&String> = acknowledged
        .iter()
        .filter(|(k, _)| *k == "publish")
        .map(|(_, v)| v)
        .collect();
    assert!(!versions.is_empty(), "the load made progress");
    for (kind, version) in &acknowledged {
        let path = match *kind {
            "publish" => format!("/pacts/provider/Bar/consumer/Foo/version/{version}"),
            "tag" => format!("/pacticipants/Foo/versions/{version}/tags/crash"),
            _ => format!("/pacticipants/Foo/versions/{version}"),
        };
        let reply = client
            .get(format!("{}{path}", last.url))
            .send()
            .await
            .unwrap();
        assert_eq!(
            reply.status(),
            200,
            "acknowledged {kind} of {version} is lost"
        );
    }
    let history: Value = client
        .get(format!(
            "{}/deployments?size=10000&status=completed",
            last.url
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let completed: Vec<String> = history["_embedded"]["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["version"].as_str().unwrap().to_owned())
        .collect();
    for (_, version) in acknowledged.iter().filter(|(k, _)| *k == "deploy") {
        assert!(
            completed.contains(version),
            "acknowledged deployment of {version} is lost"
        );
    }
    check_invariants(&database.url).await;
    let audited = check_audit_log(&database.url, &acknowledged).await;

    // Every publication's webhook goes out once the server is back (at least once;
    // a repeat carries the same delivery id, and only a kill mid-send makes one).
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let got: Vec<String> = received
            .lock()
            .unwrap()
            .iter()
            .map(|(_, b)| b.clone())
            .collect();
        if versions.iter().all(|v| got.contains(v)) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "webhooks still missing after the restart"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let deliveries = received.lock().unwrap().clone();
    let mut per_delivery: BTreeMap<String, usize> = BTreeMap::new();
    for (id, _) in &deliveries {
        *per_delivery.entry(id.clone()).or_default() += 1;
    }
    let repeats: usize = per_delivery.values().map(|n| n - 1).sum();
    assert!(
        repeats <= kills,
        "{repeats} repeated deliveries for {kills} kills"
    );
    println!(
        "crash test on {}: {kills} SIGKILLs in {:.1} s, {} acknowledged writes kept, {audited} publications landed, each with its audit entry, {} webhook deliveries, {repeats} repeated",
        TestDatabase::backend(),
        elapsed.as_secs_f64(),
        acknowledged.len(),
        deliveries.len()
    );
    drop(last);
}

/// Every write that landed has its audit entry, and no entry claims a write
/// that did not land: the entry is written in the write's own transaction.
/// Publications are counted both ways (those acknowledged, and those the
/// kill cut off after their commit); every acknowledged write has its entry;
/// the chain verifies. Returns the number of publications that landed.
async fn check_audit_log(url: &str, acknowledged: &[(&'static str, String)]) -> usize {
    use std::collections::BTreeSet;
    let store = treaty_store::open(url, treaty_store::OpenOptions::default())
        .await
        .unwrap();
    let chain = store.audit_chain(None).await.unwrap();
    let secret = store
        .setting(treaty_server::secrets::GENERATED_KEY_SETTING)
        .await
        .unwrap()
        .unwrap();
    let key = treaty_domain::access::AuditKey::derive(&secret);
    let report = treaty_domain::access::verify_chain(&key, &chain, None, None)
        .expect("the audit chain holds after the kills");
    assert_eq!(report.verified, chain.len());
    let committed: Vec<&treaty_domain::access::AuditEntry> = chain
        .iter()
        .filter(|e| e.status == treaty_domain::access::COMMITTED)
        .collect();
    let audited_publications: BTreeSet<String> = committed
        .iter()
        .filter_map(|e| {
            e.summary
                .strip_prefix("Foo ")?
                .strip_suffix(": publish contracts with Bar")
                .map(str::to_owned)
        })
        .collect();
    let landed = published_versions(url).await;
    assert_eq!(
        audited_publications, landed,
        "publications that landed and publications audited differ"
    );
    for (kind, version) in acknowledged {
        let found = committed.iter().any(|e| match *kind {
            "publish" => e.summary == format!("Foo {version}: publish contracts with Bar"),
            "deploy" => e.summary == format!("Foo {version} in crash: deployment event"),
            _ => e.target == format!("/pacticipants/Foo/versions/{version}/tags/crash"),
        });
        assert!(found, "acknowledged {kind} of {version} has no audit entry");
    }
    landed.len()
}

/// The consumer versions of Foo with a publication.
async fn published_versions(url: &str) -> std::collections::BTreeSet<String> {
    let query = "SELECT v.number FROM pact_publications pp JOIN versions v ON v.id = pp.consumer_version_id";
    if url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        sqlx::query_scalar(query).fetch_all(&pool).await.unwrap()
    } else {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        sqlx::query_scalar(query).fetch_all(&pool).await.unwrap()
    }
    .into_iter()
    .collect()
}

/// No write is half there, whatever the backend.
async fn check_invariants(url: &str) {
    let checks = [
        // One current deployment per application, environment and instance.
        "SELECT count(*) FROM (SELECT pacticipant_id, environment_id, coalesce(application_instance, '') AS i FROM deployed_versions
           WHERE undeployed_at IS NULL GROUP BY pacticipant_id, environment_id, coalesce(application_instance, '') HAVING count(*) > 1) x",
        // The current slot points at a deployment that is not undeployed.
        "SELECT count(*) FROM currently_deployed cd JOIN deployed_versions dv ON dv.id = cd.deployed_version_id WHERE dv.undeployed_at IS NOT NULL",
        // A completed ledger deployment recorded its deployed version.
        "SELECT count(*) FROM deployments WHERE status = 'completed' AND released = FALSE AND deployed_version_id IS NULL",
        // One deployment truth: each current slot is exactly one running ledger deployment of its version ...
        "SELECT count(*) FROM currently_deployed cd WHERE (SELECT count(*) FROM deployments d
           WHERE d.pacticipant_id = cd.pacticipant_id AND d.environment_id = cd.environment_id
             AND coalesce(d.application_instance, '') = cd.instance_key AND d.version_id = cd.version_id
             AND d.released = FALSE AND d.status = 'completed' AND d.ended_at IS NULL) <> 1",
        // ... and each running ledger deployment is a current slot.
        "SELECT count(*) FROM deployments d WHERE d.released = FALSE AND d.status = 'completed' AND d.ended_at IS NULL
           AND NOT EXISTS (SELECT 1 FROM currently_deployed cd WHERE cd.pacticipant_id = d.pacticipant_id
             AND cd.environment_id = d.environment_id AND cd.instance_key = coalesce(d.application_instance, '')
             AND cd.version_id = d.version_id)",
        // Each pact content stored once per pair.
        "SELECT count(*) FROM (SELECT consumer_id, provider_id, sha FROM pact_contents GROUP BY consumer_id, provider_id, sha HAVING count(*) > 1) x",
        // A publication has its version and content.
        "SELECT count(*) FROM pact_publications pp LEFT JOIN versions v ON v.id = pp.consumer_version_id
           LEFT JOIN pact_contents pc ON pc.id = pp.pact_content_id WHERE v.id IS NULL OR pc.id IS NULL",
    ];
    if url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        for check in checks {
            let broken: i64 = sqlx::query_scalar(check).fetch_one(&pool).await.unwrap();
            assert_eq!(broken, 0, "{check}");
        }
    } else {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        for check in checks {
            let broken: i64 = sqlx::query_scalar(check).fetch_one(&pool).await.unwrap();
            assert_eq!(broken, 0, "{check}");
        }
        let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(integrity, "ok");
    }
}
