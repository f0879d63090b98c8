//! Three `treaty serve` processes on one database (PostgreSQL when the suite
//! runs on it), concurrent writes of every kind through all three, one killed
//! with SIGKILL in the middle: every acknowledged write is there afterwards and
//! every invariant holds.

use std::process::Stdio;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use treaty_store::testing::TestDatabase;

pub(crate) struct Replica {
    pub(crate) url: String,
    pub(crate) child: Child,
}

/// Starts `treaty serve` on a free port and waits for the line that says where it listens.
async fn start_replica(database_url: &str) -> Replica {
    start_replica_with(database_url, &[]).await
}

pub(crate) async fn start_replica_with(database_url: &str, extra: &[&str]) -> Replica {
    start_replica_logging(database_url, extra).await.0
}

/// A replica, and the lines of its log after the one that says it listens.
pub(crate) async fn start_replica_logging(
    database_url: &str,
    extra: &[&str],
) -> (Replica, tokio::sync::mpsc::UnboundedReceiver<String>) {
    start_replica_in(database_url, extra, &[]).await
}

/// A replica with extra environment variables (an operator's proxy, say).
pub(crate) async fn start_replica_in(
    database_url: &str,
    extra: &[&str],
    env: &[(&str, &str)],
) -> (Replica, tokio::sync::mpsc::UnboundedReceiver<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_treaty"))
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--database-url",
            database_url,
            "--log-format",
            "text",
        ])
        .args(extra)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start treaty serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let url = loop {
        let line = lines
            .next_line()
            .await
            .expect("read log")
            .expect("treaty serve exited before listening");
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    // Keep draining the log so the process never blocks on a full pipe.
    let (log, logged) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            let _ = log.send(line);
        }
    });
    (Replica { url, child }, logged)
}

pub(crate) fn publish_body(version: &str) -> Value {
    use base64::Engine;
    let pact = json!({
        "consumer": {"name": "Foo"}, "provider": {"name": "Bar"},
        "interactions": [{"description": "d", "request": {"method": "GET", "path": format!("/{}", version.len() % 3)}, "response": {"status": 200}}]
    });
    json!({
        "pacticipantName": "Foo", "pacticipantVersionNumber": version, "branch": "main", "tags": ["ci"],
        "contracts": [{"consumerName": "Foo", "providerName": "Bar", "specification": "pact", "contentType": "application/json",
            "content": base64::engine::general_purpose::STANDARD.encode(pact.to_string())}]
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_replicas_one_killed_lose_no_acknowledged_write() {
    let database = TestDatabase::fresh().await.unwrap();
    let mut replicas = Vec::new();
    for _ in 0..3 {
        replicas.push(start_replica(&database.url).await);
    }
    let urls: Vec<String> = replicas.iter().map(|r| r.url.clone()).collect();
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .unwrap();
    let environment: Value = client
        .post(format!("{}/environments", urls[1]))
        .json(&json!({"name": "replicated", "production": true}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let env_uuid = environment["uuid"].as_str().unwrap().to_owned();

    // Publications, tags, verifications, deployments and releases, spread over the replicas.
    const VERSIONS: usize = 30;
    // Counts acknowledged publications, so the kill lands in the middle of the load.
    let (progress, mut watched) = tokio::sync::watch::channel(0usize);
    let progress = std::sync::Arc::new(progress);
    let mut tasks = Vec::new();
    for i in 0..VERSIONS {
        let progress = progress.clone();
        let client = client.clone();
        let url = urls[i % 3].clone();
        let env_uuid = env_uuid.clone();
        tasks.push(tokio::spawn(async move {
            let version = format!("1.{i}");
            let mut acknowledged = Vec::new();
            let ok = |r: &Result<reqwest::Response, reqwest::Error>| r.as_ref().is_ok_and(|r| r.status().is_success());
            let published = client.post(format!("{url}/contracts/publish")).json(&publish_body(&version)).send().await;
            if !ok(&published) {
                return acknowledged;
            }
            acknowledged.push(("publish", version.clone()));
            progress.send_modify(|count| *count += 1);
            let tagged = client.put(format!("{url}/pacticipants/Foo/versions/{version}/tags/t{i}")).json(&json!({})).send().await;
            if ok(&tagged) {
                acknowledged.push(("tag", version.clone()));
            }
            let pact: Result<Value, _> = match client.get(format!("{url}/pacts/provider/Bar/consumer/Foo/version/{version}")).send().await {
                Ok(response) => response.json().await,
                Err(e) => Err(e),
            };
            if let Ok(pact) = pact {
                let verify_url = format!(
                    "{url}/pacts/provider/Bar/consumer/Foo/pact-version/{}/verification-results",
                    pact["_links"]["pb:pact-version"]["name"].as_str().unwrap_or("")
                );
                let verified = client.post(verify_url).json(&json!({"success": true, "providerApplicationVersion": format!("9.{i}")})).send().await;
                if ok(&verified) {
                    acknowledged.push(("verify", format!("9.{i}")));
                }
            }
            let deployed = client
                .post(format!("{url}/pacticipants/Foo/versions/{version}/deployed-versions/environment/{env_uuid}"))
                .json(&json!({})).send().await;
            if ok(&deployed) {
                acknowledged.push(("deploy", version.clone()));
            }
            let released = client
                .post(format!("{url}/pacticipants/Foo/versions/{version}/released-versions/environment/{env_uuid}"))
                .json(&json!({})).send().await;
            if ok(&released) {
                acknowledged.push(("release", version.clone()));
            }
            acknowledged
        }));
    }
    // Kill a replica in the middle of the load, without warning.
    while *watched.borrow_and_update() < VERSIONS / 3 {
        if watched.changed().await.is_err() {
            break;
        }
    }
    replicas[0].child.start_kill().expect("kill replica");
    let mut acknowledged = Vec::new();
    for task in tasks {
        acknowledged.extend(task.await.unwrap());
    }
    let _ = replicas[0].child.wait().await;
    let published = acknowledged
        .iter()
        .filter(|(kind, _)| *kind == "publish")
        .count();
    assert!(
        published >= VERSIONS / 2,
        "most writes went through the two live replicas"
    );
    assert!(
        acknowledged.len() < 5 * VERSIONS,
        "the killed replica was killed while it still had work"
    );

    // Every acknowledged write is there, read through a surviving replica.
    let live = &urls[2];
    let get = |path: String| {
        let client = client.clone();
        async move {
            client
                .get(path)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    for (kind, version) in &acknowledged {
        match *kind {
            "publish" => {
                let pact = get(format!(
                    "{live}/pacts/provider/Bar/consumer/Foo/version/{version}"
                ))
                .await;
                assert!(
                    pact["interactions"].is_array(),
                    "publication of {version} lost: {pact}"
                );
            }
            "tag" => {
                let v = get(format!("{live}/pacticipants/Foo/versions/{version}")).await;
                assert!(
                    !v["_embedded"]["tags"].as_array().unwrap().is_empty(),
                    "tag of {version} lost"
                );
            }
            "verify" => {
                let v = get(format!("{live}/pacticipants/Bar/versions/{version}")).await;
                assert_eq!(
                    v["number"],
                    version.as_str(),
                    "verification by {version} lost"
                );
            }
            "deploy" => {
                let v = get(format!("{live}/pacticipants/Foo/versions/{version}")).await;
                assert!(
                    !v["_links"]["pb:deployed-environments"]
                        .as_array()
                        .unwrap()
                        .is_empty(),
                    "deployment of {version} lost"
                );
            }
            "release" => {
                let v = get(format!("{live}/pacticipants/Foo/versions/{version}")).await;
                assert!(
                    !v["_links"]["pb:released-environments"]
                        .as_array()
                        .unwrap()
                        .is_empty(),
                    "release of {version} lost"
                );
            }
            _ => unreachable!(),
        }
    }

    // Invariants: one current deployment in the slot; every other one undeployed;
    // each distinct pact content stored once; no publication without its version.
    let current = get(format!(
        "{live}/environments/{env_uuid}/deployed-versions/currently-deployed?pacticipant=Foo"
    ))
    .await;
    assert_eq!(
        current["_embedded"]["deployedVersions"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "{current}"
    );
    let dump = database.store.export().await.unwrap().0;
    let deployed = dump["tables"]["deployed_versions"].as_array().unwrap();
    assert_eq!(
        deployed
            .iter()
            .filter(|d| d["undeployed_at"].is_null())
            .count(),
        1
    );
    assert_eq!(
        deployed.len(),
        acknowledged.iter().filter(|(k, _)| *k == "deploy").count(),
        "no deployment half-recorded"
    );
    let contents = dump["tables"]["pact_contents"].as_array().unwrap();
    let mut shas: Vec<&str> = contents
        .iter()
        .map(|c| c["sha"].as_str().unwrap())
        .collect();
    shas.sort_unstable();
    shas.dedup();
    assert_eq!(shas.len(), contents.len(), "each pact content stored once");
    assert!(contents.len() <= 3);
    let versions: Vec<i64> = dump["tables"]["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_i64().unwrap())
        .collect();
    for publication in dump["tables"]["pact_publications"].as_array().unwrap() {
        assert!(versions.contains(&publication["consumer_version_id"].as_i64().unwrap()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_deliver_each_webhook_once() {
    let database = TestDatabase::fresh().await.unwrap();
    let (hook, received) = crate::support::receiver().await;
    let flags = [
        "--webhook-allowed-schemes",
        "http",
        "--webhook-allowed-hosts",
        "127.0.0.1",
        "--webhook-retry-schedule",
        "1",
    ];
    let replicas = [
        start_replica_with(&database.url, &flags).await,
        start_replica_with(&database.url, &flags).await,
    ];
    let client = reqwest::Client::new();
    let created = client
        .post(format!("{}/webhooks", replicas[0].url))
        .json(&json!({"events": [{"name": "contract_published"}],
            "request": {"method": "POST", "url": hook, "body": "${pactbroker.consumerVersionNumber}"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201, "{}", created.text().await.unwrap());
    const PUBLICATIONS: usize = 20;
    for i in 0..PUBLICATIONS {
        let published = client
            .post(format!("{}/contracts/publish", replicas[i % 2].url))
            .json(&publish_body(&format!("2.{i}")))
            .send()
            .await
            .unwrap();
        assert!(published.status().is_success());
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while received.lock().unwrap().len() < PUBLICATIONS && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // Both workers keep polling a while longer: nothing may be sent twice.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let mut versions = crate::support::bodies(&received);
    versions.sort();
    let mut expected: Vec<String> = (0..PUBLICATIONS).map(|i| format!("2.{i}")).collect();
    expected.sort();
    assert_eq!(
        versions, expected,
        "every publication delivered exactly once"
    );
}

/// Many clients race on one slot through three replicas: the outcome is one
/// that some serial order of the same requests gives.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_writes_through_replicas_end_as_some_serial_order_would() {
    let database = TestDatabase::fresh().await.unwrap();
    let replicas = [
        start_replica(&database.url).await,
        start_replica(&database.url).await,
        start_replica(&database.url).await,
    ];
    let urls: Vec<String> = replicas.iter().map(|r| r.url.clone()).collect();
    let client = reqwest::Client::new();
    let environment: Value = client
        .post(format!("{}/environments", urls[0]))
        .json(&json!({"name": "race", "production": true}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let env_uuid = environment["uuid"].as_str().unwrap().to_owned();
    for i in 0..12 {
        let put = client
            .put(format!("{}/pacticipants/Foo/versions/3.{i}", urls[0]))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert!(put.status().is_success());
    }

    // 1. Twelve deployments of different versions into one slot at once.
    let deploys = (0..12).map(|i| {
        let (client, url, env_uuid) = (client.clone(), urls[i % 3].clone(), env_uuid.clone());
        tokio::spawn(async move {
            client
                .post(format!(
                    "{url}/pacticipants/Foo/versions/3.{i}/deployed-versions/environment/{env_uuid}"
                ))
                .json(&json!({"applicationInstance": "blue"}))
                .send()
                .await
                .unwrap()
                .status()
        })
    });
    for status in futures_join(deploys).await {
        assert!(status.is_success(), "{status}");
    }
    let current: Value = client
        .get(format!(
            "{}/environments/{env_uuid}/deployed-versions/currently-deployed?pacticipant=Foo",
            urls[1]
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let current = current["_embedded"]["deployedVersions"].as_array().unwrap();
    assert_eq!(
        current.len(),
        1,
        "one current deployment per slot: {current:?}"
    );

    // 2. The same deployment event retried at once through every replica: recorded once.
    let starts = (0..9).map(|i| {
        let (client, url) = (client.clone(), urls[i % 3].clone());
        tokio::spawn(async move {
            let reply = client
                .post(format!("{url}/deployment-events"))
                .json(&json!({"product_name": "Foo", "version": "3.0", "environment_name": "race", "status": "started", "idempotency_key": "run-77"}))
                .send()
                .await
                .unwrap();
            let status = reply.status();
            let body: Value = reply.json().await.unwrap_or(Value::Null);
            (status, body["id"].as_i64())
        })
    });
    let outcomes = futures_join(starts).await;
    assert!(outcomes.iter().all(|(s, _)| s.is_success()), "{outcomes:?}");
    let ids: std::collections::BTreeSet<Option<i64>> = outcomes.iter().map(|(_, id)| *id).collect();
    assert_eq!(
        ids.len(),
        1,
        "one deployment for one idempotency key: {outcomes:?}"
    );
    let history: Value = client
        .get(format!("{}/deployments", urls[2]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        history["_embedded"]["deployments"][0]["events"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // 3. Different contents for one consumer version published at once: one wins, the rest are refused.
    let publishes = (0..6).map(|i| {
        let (client, url) = (client.clone(), urls[i % 3].clone());
        tokio::spawn(async move {
            let mut body = publish_body("4.0");
            let pact = json!({"consumer": {"name": "Foo"}, "provider": {"name": "Bar"},
                "interactions": [{"description": format!("d{i}"), "request": {"method": "GET", "path": format!("/{i}")}, "response": {"status": 200}}]});
            use base64::Engine;
            body["contracts"][0]["content"] = json!(base64::engine::general_purpose::STANDARD.encode(pact.to_string()));
            client.post(format!("{url}/contracts/publish")).json(&body).send().await.unwrap().status().as_u16()
        })
    });
    let statuses = futures_join(publishes).await;
    assert_eq!(
        statuses.iter().filter(|s| (200..300).contains(*s)).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        5,
        "{statuses:?}"
    );
}

async fn futures_join<T: Send + 'static>(
    tasks: impl Iterator<Item = tokio::task::JoinHandle<T>>,
) -> Vec<T> {
    let mut results = Vec::new();
    for task in tasks.collect::<Vec<_>>() {
        results.push(task.await.unwrap());
    }
    results
}
