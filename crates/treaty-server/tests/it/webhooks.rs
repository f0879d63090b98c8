//! Webhooks end to end: a receiver on 127.0.0.1, the background worker,
//! rendered bodies, signatures, retries, a restart mid-retry, several
//! workers at once, and targets that are refused.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use treaty_domain::webhooks::TargetPolicy;
use treaty_server::ServerConfig;

use crate::support::{TestApp, pact};

/// An HTTP server on 127.0.0.1 that records what it receives and answers
/// 500 to the first `failures` requests.
pub(crate) struct Receiver {
    pub(crate) url: String,
    received: Arc<Mutex<Vec<(HeaderMap, String)>>>,
}

impl Receiver {
    pub(crate) async fn start(failures: usize) -> Self {
        let received: Arc<Mutex<Vec<(HeaderMap, String)>>> = Arc::default();
        let seen = received.clone();
        let remaining = Arc::new(Mutex::new(failures));
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: String| {
                let seen = seen.clone();
                let remaining = remaining.clone();
                async move {
                    seen.lock().unwrap().push((headers, body));
                    let mut left = remaining.lock().unwrap();
                    if *left > 0 {
                        *left -= 1;
                        StatusCode::INTERNAL_SERVER_ERROR
                    } else {
                        StatusCode::OK
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            url: format!("http://127.0.0.1:{port}/hook"),
            received,
        }
    }

    pub(crate) fn bodies(&self) -> Vec<String> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .map(|(_, b)| b.clone())
            .collect()
    }

    /// Waits (up to 20 s) until `count` requests arrived.
    pub(crate) async fn wait_for(&self, count: usize) -> Vec<(HeaderMap, String)> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let got = self.received.lock().unwrap().clone();
            if got.len() >= count || Instant::now() > deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

pub(crate) fn local_config(retries: &[u64]) -> ServerConfig {
    ServerConfig {
        webhook_policy: TargetPolicy {
            schemes: vec!["http".into()],
            methods: vec!["POST".into()],
            hosts: vec!["127.0.0.1".into()],
        },
        webhook_retry_schedule: retries.iter().map(|s| Duration::from_millis(*s)).collect(),
        webhook_poll_interval: Duration::from_millis(20),
        // A worker stopped mid-send hands its delivery on after a second, not a minute.
        webhook_delivery_lease: Duration::from_secs(1),
        // Deployment events here name versions nothing else created.
        create_unknown_versions: true,
        ..ServerConfig::default()
    }
}

async fn create_webhook(app: &TestApp, body: Value) -> String {
    let reply = app.post("/webhooks", &body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    reply.body["uuid"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_changed_contract_is_delivered_rendered_and_signed() {
    let config = local_config(&[]);
    let app = TestApp::with_config(config.clone()).await;
    let receiver = Receiver::start(0).await;
    app.post("/pacticipants", &json!({"name": "Bar"})).await;
    create_webhook(&app, json!({
        "description": "verify Bar",
        "provider": {"name": "Bar"},
        "events": [{"name": "contract_content_changed"}, {"name": "contract_published"}],
        "request": {"method": "POST", "url": receiver.url, "headers": {"Content-Type": "application/json"},
            "body": {"consumer": "${pactbroker.consumerName}", "version": "${pactbroker.consumerVersionNumber}",
                     "branch": "${pactbroker.consumerVersionBranch}", "pact": "${pactbroker.pactUrl}", "event": "${pactbroker.eventName}",
                     "status": "${pactbroker.githubVerificationStatus}"}},
        "secret": "s3cret"
    })).await;
    let _tasks = treaty_server::background::spawn(app.store(), &config, "http://broker.test");
    let published = app
        .publish(
            "Foo",
            "1",
            Some("main"),
            &[],
            &[("Bar", pact("Foo", "Bar", &["/a"]))],
        )
        .await;
    assert_eq!(published.status, StatusCode::OK, "{}", published.text);
    let got = receiver.wait_for(2).await;
    assert_eq!(
        got.len(),
        2,
        "contract_published and contract_content_changed"
    );
    let events: Vec<Value> = got
        .iter()
        .map(|(_, b)| serde_json::from_str(b).unwrap())
        .collect();
    let mut names: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["contract_content_changed", "contract_published"]);
    assert_eq!(events[0]["consumer"], "Foo");
    assert_eq!(events[0]["branch"], "main");
    assert_eq!(events[0]["status"], "pending");
    let pact_url = events[0]["pact"].as_str().unwrap().to_owned();
    assert!(
        pact_url.starts_with("http://broker.test/pacts/provider/Bar/consumer/Foo/pact-version/"),
        "{pact_url}"
    );
    // The permalink serves the pact.
    let fetched = app
        .get(pact_url.trim_start_matches(crate::support::BASE))
        .await;
    assert_eq!(fetched.status, StatusCode::OK, "{}", fetched.text);
    assert_eq!(fetched.body["consumer"]["name"], "Foo");
    for (headers, body) in &got {
        let signature = headers["x-treaty-signature-256"].to_str().unwrap();
        let mut mac = Hmac::<Sha256>::new_from_slice(b"s3cret").unwrap();
        mac.update(body.as_bytes());
        assert_eq!(
            signature,
            format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
        );
    }
    // Republishing the same content is published, not changed.
    app.publish(
        "Foo",
        "1",
        Some("main"),
        &[],
        &[("Bar", pact("Foo", "Bar", &["/a"]))],
    )
    .await;
    let got = receiver.wait_for(3).await;
    assert_eq!(got.len(), 3);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        receiver.bodies().len(),
        3,
        "no contract_content_changed for unchanged content"
    );

    let shown = app
        .get(&format!("/webhooks/{}", events_webhook(&app).await))
        .await;
    assert_eq!(shown.body["signed"], true);
    assert!(
        shown.body.get("secret").is_none() && !shown.text.contains("s3cret"),
        "the secret is never shown"
    );
}

async fn events_webhook(app: &TestApp) -> String {
    app.get("/webhooks").await.body["_embedded"]["webhooks"][0]["uuid"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn verification_and_deployment_events_reach_their_webhooks() {
    let config = local_config(&[]);
    let app = TestApp::with_config(config.clone()).await;
    app.post(
        "/environments",
        &json!({"name": "production", "production": true}),
    )
    .await;
    let receiver = Receiver::start(0).await;
    app.publish(
        "Foo",
        "1",
        Some("main"),
        &[],
        &[("Bar", pact("Foo", "Bar", &["/a"]))],
    )
    .await;
    create_webhook(&app, json!({
        "consumer": {"name": "Foo"}, "provider": {"name": "Bar"},
        "events": [{"name": "provider_verification_failed"}],
        "request": {"method": "POST", "url": receiver.url,
            "body": "${pactbroker.providerName} ${pactbroker.providerVersionNumber} failed ${pactbroker.consumerName} ${pactbroker.consumerVersionNumber}: ${pactbroker.verificationResultUrl}"}
    })).await;
    create_webhook(&app, json!({
        "consumer": {"name": "Foo"},
        "events": [{"name": "deployment_completed"}, {"name": "deployment_failed"}],
        "request": {"method": "POST", "url": receiver.url, "body": {"text": "${treaty.pacticipant} ${treaty.version} → ${treaty.environment}: deployment ${treaty.status}${treaty.deployedByText}"}}
    })).await;
    let _tasks = treaty_server::background::spawn(app.store(), &config, "http://broker.test");
    // Production's default policy would refuse Foo 1 (Bar is not there).
    app.put("/policies/production", &json!({"rules": []})).await;

    app.verify("Foo", "Bar", "7", true).await;
    app.verify("Foo", "Bar", "8", false).await;
    app.post(
        "/deployment-events",
        &json!({"product_name": "Foo", "version": "1", "environment_name": "production",
        "status": "completed", "deployed_by": "ci"}),
    )
    .await;
    let got = receiver.wait_for(2).await;
    let bodies: Vec<&str> = got.iter().map(|(_, b)| b.as_str()).collect();
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    assert!(
        bodies.iter().any(|b| b.starts_with(
            "Bar 8 failed Foo 1: http://broker.test/pacts/provider/Bar/consumer/Foo/pact-version/"
        )),
        "{bodies:?}"
    );
    assert!(
        bodies.contains(&r#"{"text":"Foo 1 → production: deployment completed by ci"}"#),
        "{bodies:?}"
    );
}

#[tokio::test]
async fn failed_deliveries_are_retried_and_survive_a_restart() {
    // Two retries, far enough apart that the worker is stopped in between.
    let config = local_config(&[300, 50]);
    let app = TestApp::with_config(config.clone()).await;
    let receiver = Receiver::start(2).await;
    let uuid = create_webhook(
        &app,
        json!({
            "events": [{"name": "contract_published"}],
            "request": {"method": "POST", "url": receiver.url, "body": "${pactbroker.consumerName}"}
        }),
    )
    .await;
    let first = treaty_server::background::spawn(app.store(), &config, "http://broker.test");
    app.publish(
        "Foo",
        "1",
        None,
        &["dev"],
        &[("Bar", pact("Foo", "Bar", &["/a"]))],
    )
    .await;
    receiver.wait_for(1).await;
    // The replica goes away once the first attempt failed and was recorded...
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.get(&format!("/webhooks/{uuid}/deliveries")).await.body["_embedded"]["triggeredWebhooks"]
        [0]["status"]
        != "retrying"
    {
        assert!(
            Instant::now() < deadline,
            "the first attempt was never recorded"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    for task in first {
        task.abort();
    }
    // ...and another picks the delivery up from the database.
    let _second = treaty_server::background::spawn(app.store(), &config, "http://broker.test");
    let got = receiver.wait_for(3).await;
    assert_eq!(got.len(), 3);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut delivery = Value::Null;
    while Instant::now() < deadline {
        delivery = app.get(&format!("/webhooks/{uuid}/deliveries")).await.body["_embedded"]["triggeredWebhooks"][0].clone();
        if delivery["status"] == "success" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(delivery["status"], "success");
    assert_eq!(delivery["attemptsMade"], 3);
    let logs_path = delivery["_links"]["pb:logs"]["href"]
        .as_str()
        .unwrap()
        .replace(crate::support::BASE, "");
    let logs = app.get(&logs_path).await;
    assert!(
        logs.text.contains("attempt 1 failed; retrying at")
            && logs.text.contains("Webhook execution succeeded"),
        "{}",
        logs.text
    );
    let status = app
        .get("/pacts/provider/Bar/consumer/Foo/webhooks/status")
        .await;
    assert_eq!(status.body["summary"]["successful"], 1);
}

#[tokio::test]
async fn several_workers_deliver_each_event_once() {
    let config = local_config(&[]);
    let app = TestApp::with_config(config.clone()).await;
    let receiver = Receiver::start(0).await;
    create_webhook(&app, json!({
        "events": [{"name": "contract_published"}],
        "request": {"method": "POST", "url": receiver.url, "body": "${pactbroker.consumerVersionNumber}"}
    })).await;
    let _workers: Vec<_> = (0..3)
        .flat_map(|_| treaty_server::background::spawn(app.store(), &config, "http://broker.test"))
        .collect();
    for version in 1..=12 {
        app.publish(
            "Foo",
            &version.to_string(),
            None,
            &[],
            &[("Bar", pact("Foo", "Bar", &["/a"]))],
        )
        .await;
    }
    receiver.wait_for(12).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut versions: Vec<u32> = receiver
        .bodies()
        .iter()
        .map(|b| b.parse().unwrap())
        .collect();
    versions.sort_unstable();
    assert_eq!(
        versions,
        (1..=12).collect::<Vec<_>>(),
        "each delivery sent exactly once"
    );
}

#[tokio::test]
async fn unsafe_targets_are_refused() {
    // The Pact Broker's defaults: https and POST only.
    let strict = TestApp::new().await;
    let http = strict
        .post(
            "/webhooks",
            &json!({"request": {"method": "POST", "url": "http://example.org/hook"}}),
        )
        .await;
    assert_eq!(http.status, StatusCode::BAD_REQUEST);
    assert!(
        http.body["errors"]["request.url"][0]
            .as_str()
            .unwrap()
            .contains("scheme must be https"),
        "{}",
        http.text
    );
    let get = strict
        .post(
            "/webhooks",
            &json!({"request": {"method": "GET", "url": "https://example.org/hook"}}),
        )
        .await;
    assert!(
        get.body["errors"]["request.method"].is_array(),
        "{}",
        get.text
    );
    let templated = strict.post("/webhooks", &json!({"request": {"method": "POST", "url": "https://${pactbroker.consumerName}.example.org/"}})).await;
    assert_eq!(templated.status, StatusCode::BAD_REQUEST);

    // http allowed, but no host listed: loopback and private addresses stay out of reach.
    let open = TestApp::with_config(ServerConfig {
        webhook_policy: TargetPolicy {
            schemes: vec!["http".into()],
            methods: vec!["POST".into()],
            hosts: vec![],
        },
        ..ServerConfig::default()
    })
    .await;
    let receiver = Receiver::start(0).await;
    for url in [
        receiver.url.clone(),
        receiver.url.replace("127.0.0.1", "localhost"),
        "http://169.254.169.254/latest/meta-data".to_owned(),
    ] {
        let executed = open
            .post(
                "/webhooks/execute",
                &json!({"request": {"method": "POST", "url": url, "body": "x"}}),
            )
            .await;
        assert_eq!(executed.status, StatusCode::OK, "{}", executed.text);
        assert_eq!(executed.body["success"], false, "{url}: {}", executed.text);
        assert!(
            executed.body["logs"]
                .as_str()
                .unwrap()
                .contains("internal address"),
            "{url}: {}",
            executed.text
        );
    }
    assert!(receiver.bodies().is_empty(), "nothing reached the receiver");
}

#[tokio::test]
async fn webhooks_are_managed_as_the_pact_broker_does() {
    let app = TestApp::new().await;
    app.publish(
        "Foo",
        "1",
        None,
        &[],
        &[("Bar", pact("Foo", "Bar", &["/a"]))],
    )
    .await;
    let created = app.post("/webhooks/provider/Bar/consumer/Foo", &json!({
        "request": {"method": "POST", "url": "https://ci.example/build", "username": "ci", "password": "hunter2", "headers": {"X-Token": "t"}}
    })).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(created.body["request"]["password"], "**********");
    assert_eq!(created.body["request"]["headers"]["x-token"], "**********");
    assert_eq!(
        created.body["events"][0]["name"],
        "contract_content_changed"
    );
    assert_eq!(created.body["consumer"]["name"], "Foo");
    let uuid = created.body["uuid"].as_str().unwrap().to_owned();
    assert_eq!(
        app.get("/webhooks/provider/Bar/consumer/Foo").await.body["_links"]["pb:webhooks"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // A provider's list holds the webhooks of that provider alone (no
    // consumer), as the Pact Broker's does: not the pair's.
    assert_eq!(
        app.get("/webhooks/provider/Bar").await.body["_links"]["pb:webhooks"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        app.get("/webhooks/provider/Bar/consumer/Foo").await.body["_links"]["pb:webhooks"][0]["title"],
        "A webhook for the pact between Foo and Bar"
    );
    assert_eq!(
        app.get("/webhooks/provider/Bar/consumer/Foo").await.body["_links"]["pb:webhooks"][0]["name"],
        "POST ci.example"
    );
    assert_eq!(
        app.get("/webhooks/consumer/Nobody").await.status,
        StatusCode::NOT_FOUND
    );

    let updated = app.put(&format!("/webhooks/{uuid}"), &json!({
        "description": "renamed", "enabled": false, "request": {"method": "POST", "url": "https://ci.example/other"}})).await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.text);
    assert_eq!(updated.body["enabled"], false);
    let unknown = app.post("/webhooks", &json!({"consumer": {"name": "Nobody"}, "request": {"method": "POST", "url": "https://x.example/"}})).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert!(
        unknown.body["errors"]["consumer.name"].is_array(),
        "{}",
        unknown.text
    );
    let short = app
        .put(
            "/webhooks/short",
            &json!({"request": {"method": "POST", "url": "https://x.example/"}}),
        )
        .await;
    assert_eq!(short.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        app.delete(&format!("/webhooks/{uuid}")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get(&format!("/webhooks/{uuid}")).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_contract_requiring_verification_is_delivered_once_per_provider_version_that_must_verify()
{
    let config = local_config(&[]);
    let app = TestApp::with_config(config.clone()).await;
    let receiver = Receiver::start(0).await;
    for name in ["production", "test"] {
        app.post(
            "/environments",
            &json!({"name": name, "production": name == "production"}),
        )
        .await;
    }
    // Bar 5 heads main and runs in production; Bar 3 runs in test.
    assert_eq!(
        app.put("/pacticipants/Bar/branches/main/versions/5", &json!({}))
            .await
            .status,
        StatusCode::CREATED
    );
    for (version, environment) in [("5", "production"), ("3", "test")] {
        let reply = app
            .post(
                "/deployment-events",
                &json!({"product_name": "Bar", "version": version,
            "environment_name": environment, "status": "completed"}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    }
    create_webhook(&app, json!({
        "provider": {"name": "Bar"},
        "events": [{"name": "contract_requiring_verification_published"}],
        "request": {"method": "POST", "url": receiver.url,
            "body": "${pactbroker.consumerVersionNumber} needs Bar ${pactbroker.providerVersionNumber} (${pactbroker.providerVersionBranch}): ${pactbroker.providerVersionDescriptions}"}
    })).await;
    let _tasks = treaty_server::background::spawn(app.store(), &config, "http://broker.test");
    app.publish(
        "Foo",
        "1",
        Some("main"),
        &[],
        &[("Bar", pact("Foo", "Bar", &["/a"]))],
    )
    .await;
    let mut first: Vec<String> = receiver
        .wait_for(2)
        .await
        .into_iter()
        .map(|(_, b)| b)
        .collect();
    first.sort();
    assert_eq!(
        first,
        [
            "1 needs Bar 3 (): deployed in test",
            "1 needs Bar 5 (main): latest from main branch, deployed in production"
        ]
    );
    // Bar 3 verifies the content; the same content published again needs only Bar 5.
    app.verify("Foo", "Bar", "3", true).await;
    app.publish(
        "Foo",
        "2",
        Some("main"),
        &[],
        &[("Bar", pact("Foo", "Bar", &["/a"]))],
    )
    .await;
    let all = receiver.wait_for(3).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(receiver.bodies().len(), 3);
    assert_eq!(
        all[2].1,
        "2 needs Bar 5 (main): latest from main branch, deployed in production"
    );
}

#[tokio::test]
async fn a_consumer_is_told_when_the_provider_it_waits_for_reaches_an_environment() {
    let config = local_config(&[]);
    let app = TestApp::with_config(config.clone()).await;
    let receiver = Receiver::start(0).await;
    app.post(
        "/environments",
        &json!({"name": "production", "production": true}),
    )
    .await;
    app.publish(
        "Foo",
        "2",
        Some("main"),
        &[],
        &[("Bar", pact("Foo", "Bar", &["/new"]))],
    )
    .await;
    app.verify("Foo", "Bar", "1", false).await;
    app.verify("Foo", "Bar", "2", true).await;
    let deploy = |version: &'static str| {
        let app = &app;
        async move {
            let reply = app
                .post(
                    "/deployment-events",
                    &json!({"product_name": "Bar", "version": version,
                "environment_name": "production", "status": "completed"}),
                )
                .await;
            assert!(reply.status.is_success(), "{}", reply.text);
        }
    };
    deploy("1").await;
    create_webhook(&app, json!({
        "consumer": {"name": "Foo"},
        "events": [{"name": "consumer_unblocked"}],
        "request": {"method": "POST", "url": receiver.url,
            "body": "${pactbroker.consumerName} ${pactbroker.consumerVersionNumber} unblocked by ${pactbroker.providerName} ${pactbroker.providerVersionNumber} in ${pactbroker.environmentName}"}
    })).await;
    let _tasks = treaty_server::background::spawn(app.store(), &config, "http://broker.test");
    deploy("2").await;
    let got = receiver.wait_for(1).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].1, "Foo 2 unblocked by Bar 2 in production");
    // Deploying an unverified version, then the verified one again, tells once more; nothing else does.
    deploy("3").await;
    deploy("2").await;
    receiver.wait_for(2).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(receiver.bodies().len(), 2);
}

/// An HTTP server on 127.0.0.1 that answers each request with every header
/// it got, as receivers that echo (or log back) their input do.
struct Echo {
    url: String,
    received: Arc<Mutex<Vec<(HeaderMap, String)>>>,
}

impl Echo {
    async fn start() -> Self {
        let received: Arc<Mutex<Vec<(HeaderMap, String)>>> = Arc::default();
        let seen = received.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: String| {
                let seen = seen.clone();
                async move {
                    let echoed: Vec<String> = headers
                        .iter()
                        .map(|(k, v)| format!("{k}: {}", v.to_str().unwrap_or_default()))
                        .collect();
                    seen.lock().unwrap().push((headers, body));
                    echoed.join("\n")
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            url: format!("http://127.0.0.1:{port}/hook"),
            received,
        }
    }

    async fn wait_for(&self, count: usize) -> Vec<(HeaderMap, String)> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let got = self.received.lock().unwrap().clone();
            if got.len() >= count || Instant::now() > deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

const SECRET_HEADERS: [(&str, &str); 3] = [
    ("Authorization", "Bearer tok-4f1b9e2c7d"),
    ("X-Api-Key", "key-8c3a1f9b2e"),
    ("Private-Token", "glpat-5e2d8b1c9a"),
];

fn assert_no_secret(what: &str, text: &str) {
    for (name, value) in SECRET_HEADERS {
        assert!(
            !text.contains(value),
            "{what} shows the {name} value: {text}"
        );
    }
    assert!(
        !text.contains("hunter22"),
        "{what} shows the password: {text}"
    );
}

#[tokio::test]
async fn secret_header_values_are_masked_in_every_answer_and_log() {
    let config = local_config(&[]);
    let app = TestApp::with_config(config.clone()).await;
    let echo = Echo::start().await;
    app.post("/pacticipants", &json!({"name": "Bar"})).await;
    let mut headers = serde_json::Map::new();
    for (name, value) in SECRET_HEADERS {
        headers.insert(name.into(), json!(value));
    }
    headers.insert("Content-Type".into(), json!("application/json"));
    let uuid = create_webhook(&app, json!({
        "provider": {"name": "Bar"}, "events": [{"name": "contract_published"}],
        "request": {"method": "POST", "url": echo.url, "headers": headers, "username": "ci", "password": "hunter22",
            "body": {"consumer": "${pactbroker.consumerName}"}}
    })).await;

    for path in [
        "/webhooks".to_owned(),
        format!("/webhooks/{uuid}"),
        "/webhooks/provider/Bar".to_owned(),
    ] {
        let read = app.get(&path).await;
        assert_eq!(read.status, StatusCode::OK, "{}", read.text);
        assert_no_secret(&path, &read.text);
        assert!(read.text.contains("**********"), "{}", read.text);
    }
    let shown = app.get(&format!("/webhooks/{uuid}")).await.body;
    assert_eq!(shown["request"]["headers"]["x-api-key"], "**********");
    assert_eq!(
        shown["request"]["headers"]["content-type"],
        "application/json"
    );

    // A test execution sends the real values; its answer, with the logs and
    // what the receiver echoed, shows none of them.
    let executed = app
        .post(&format!("/webhooks/{uuid}/execute"), &json!({}))
        .await;
    assert_eq!(executed.body["success"], true, "{}", executed.text);
    assert_no_secret("the execution", &executed.text);
    let (sent, _) = echo.wait_for(1).await.remove(0);
    for (name, value) in SECRET_HEADERS {
        assert_eq!(sent[name], value, "the receiver gets the real {name}");
    }

    // A delivery's logs, in the list and on their own.
    let _tasks = treaty_server::background::spawn(app.store(), &config, "http://broker.test");
    app.publish(
        "Foo",
        "1",
        None,
        &[],
        &[("Bar", pact("Foo", "Bar", &["/a"]))],
    )
    .await;
    echo.wait_for(2).await;
    let deliveries = wait_for_delivery(&app, &uuid).await;
    assert_no_secret("the deliveries", &deliveries.text);
    let logs_href =
        deliveries.body["_embedded"]["triggeredWebhooks"][0]["_links"]["pb:logs"]["href"]
            .as_str()
            .unwrap()
            .trim_start_matches("http://broker.test")
            .to_owned();
    let logs = app.get(&logs_href).await;
    assert!(logs.text.contains("x-api-key: **********"), "{}", logs.text);
    assert_no_secret("the delivery's logs", &logs.text);
}

/// The deliveries of a webhook once one has been attempted.
async fn wait_for_delivery(app: &TestApp, uuid: &str) -> crate::support::Reply {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let reply = app.get(&format!("/webhooks/{uuid}/deliveries")).await;
        let attempted = reply.body["_embedded"]["triggeredWebhooks"][0]["attemptsMade"]
            .as_u64()
            .is_some_and(|n| n > 0);
        if attempted || Instant::now() > deadline {
            return reply;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn a_webhook_read_and_put_back_keeps_the_secrets_it_hid() {
    let app = TestApp::with_config(local_config(&[])).await;
    let echo = Echo::start().await;
    let uuid = "3c9b6a3e-webhook-put-back";
    let created = app.put(&format!("/webhooks/{uuid}"), &json!({
        "request": {"method": "POST", "url": echo.url, "username": "ci", "password": "hunter22",
            "headers": {"X-Api-Key": "key-8c3a1f9b2e", "X-Env": "ci"}, "body": "signed"},
        "secret": "signing-secret"
    })).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);

    // What a client read, edited and sent back: the mask where the secrets were.
    let mut read = app.get(&format!("/webhooks/{uuid}")).await.body;
    assert_eq!(read["request"]["password"], "**********");
    read["description"] = json!("edited");
    let put = app.put(&format!("/webhooks/{uuid}"), &read).await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text);
    assert_eq!(put.body["signed"], true, "the signing secret is kept");

    app.post(&format!("/webhooks/{uuid}/execute"), &json!({}))
        .await;
    let (headers, body) = echo.wait_for(1).await.remove(0);
    assert_eq!(headers["x-api-key"], "key-8c3a1f9b2e");
    let basic = base64::engine::general_purpose::STANDARD.encode("ci:hunter22");
    assert_eq!(headers["authorization"], format!("Basic {basic}"));
    let mut mac = Hmac::<Sha256>::new_from_slice(b"signing-secret").unwrap();
    mac.update(body.as_bytes());
    assert_eq!(
        headers["x-treaty-signature-256"],
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    );

    // A mask with nothing stored behind it is refused, not stored as the value.
    let masked_new = app.put(&format!("/webhooks/{uuid}"), &json!({
        "request": {"method": "POST", "url": echo.url, "headers": {"X-New-Key": "**********"}}
    })).await;
    assert_eq!(masked_new.status, StatusCode::BAD_REQUEST);
    assert!(
        masked_new.body["errors"]["request.headers.x-new-key"][0]
            .as_str()
            .unwrap()
            .contains("send the value itself"),
        "{}",
        masked_new.text
    );
}

#[tokio::test]
async fn a_name_cannot_add_keys_to_a_json_body_given_as_text() {
    let config = local_config(&[]);
    let app = TestApp::with_config(config.clone()).await;
    let receiver = Receiver::start(0).await;
    let evil = r#"Evil","admin":true,"x":""#;
    app.post("/pacticipants", &json!({"name": "Bar"})).await;
    create_webhook(&app, json!({
        "provider": {"name": "Bar"}, "events": [{"name": "contract_published"}],
        "request": {"method": "POST", "url": receiver.url, "headers": {"Content-Type": "application/json"},
            "body": "{\"admin\": false, \"consumer\": \"${pactbroker.consumerName}\"}"}
    })).await;
    let _tasks = treaty_server::background::spawn(app.store(), &config, "http://broker.test");
    let published = app
        .publish(evil, "1", None, &[], &[("Bar", pact(evil, "Bar", &["/a"]))])
        .await;
    assert_eq!(published.status, StatusCode::OK, "{}", published.text);
    let got = receiver.wait_for(1).await;
    assert_eq!(got.len(), 1);
    let parsed: Value = serde_json::from_str(&got[0].1).expect("the receiver gets JSON");
    assert_eq!(parsed, json!({"consumer": evil, "admin": false}));
}
