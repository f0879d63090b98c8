//! Bi-directional contracts over HTTP: publishing a provider contract in
//! PactFlow's shapes, the comparisons the background worker computes, and
//! can-i-deploy deciding bi-directional pairs.
//!
//! Tests marked "(engine)" need the real comparison engine of
//! `treaty_comparator` (an incompatible pact must be found incompatible).

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use base64::Engine;
use serde_json::{Value, json};
use treaty_server::ServerConfig;

use crate::support::{BASE, TestApp, pact};

fn encode(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// An OpenAPI 3.0 document with `GET /things` answering 200 with a JSON array.
pub fn openapi() -> Value {
    json!({
        "openapi": "3.0.3",
        "info": {"title": "Bar", "version": "1.0.0"},
        "paths": {"/things": {"get": {"responses": {"200": {
            "description": "things",
            "content": {"application/json": {"schema": {"type": "array", "items": {"type": "string"}}}}
        }}}}}
    })
}

fn publication(version: &str, document: &Value, self_verified: bool) -> Value {
    json!({
        "pacticipantVersionNumber": version,
        "branch": "main",
        "tags": ["dev"],
        "buildUrl": "http://ci/build/1",
        "contract": {
            "content": encode(&document.to_string()),
            "contentType": "application/json",
            "specification": "oas",
            "selfVerificationResults": {
                "success": self_verified, "content": encode("12 tests, 0 failures"), "contentType": "text/plain",
                "format": "text", "verifier": "schemathesis", "verifierVersion": "3.0"
            }
        }
    })
}

fn config() -> ServerConfig {
    ServerConfig {
        webhook_poll_interval: Duration::from_millis(20),
        ..ServerConfig::default()
    }
}

/// Asks the matrix about two versions until the answer is no longer unknown
/// (the background worker computes the comparison meanwhile), at most 20 s.
async fn matrix_when_known(app: &TestApp, consumer_version: &str, provider_version: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let reply = app
            .get(&format!(
                "/matrix?q[][pacticipant]=Foo&q[][version]={consumer_version}&q[][pacticipant]=Bar&q[][version]={provider_version}&latestby=cvpv"
            ))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        if !reply.body["summary"]["deployable"].is_null() || Instant::now() > deadline {
            return reply.body;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn the_index_advertises_publishing_and_a_publication_answers_as_the_clients_read_it() {
    let app = TestApp::new().await;
    let index = app.get("/").await;
    let link = &index.body["_links"]["pf:publish-provider-contract"];
    assert_eq!(
        link["href"],
        "http://broker.test/provider-contracts/provider/{provider}/publish"
    );
    assert_eq!(link["templated"], true);

    let reply = app
        .post(
            "/provider-contracts/provider/Bar/publish",
            &publication("1.0.0", &openapi(), true),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["_embedded"]["version"]["number"], "1.0.0");
    assert_eq!(
        reply.body["_links"]["pb:pacticipant-version-tags"][0]["name"],
        "dev"
    );
    let notices = reply.body["notices"].as_array().unwrap();
    assert_eq!(notices[0]["type"], "success", "{notices:?}");
    assert!(
        notices[0]["text"]
            .as_str()
            .unwrap()
            .contains("Successfully published provider contract for Bar version 1.0.0")
    );
    assert!(
        reply.body["notices"]
            .to_string()
            .contains("/ui/applications/Bar/provider-contracts/1.0.0"),
        "{notices:?}"
    );

    // The version, its branch and tag are the provider's like any other.
    let branch = app
        .get("/pacticipants/Bar/branches/main/versions/1.0.0")
        .await;
    assert_eq!(branch.status, StatusCode::OK, "{}", branch.text);
    let tag = app.get("/pacticipants/Bar/versions/1.0.0/tags/dev").await;
    assert_eq!(tag.status, StatusCode::OK, "{}", tag.text);

    let stored = app
        .get("/provider-contracts/provider/Bar/version/1.0.0")
        .await;
    assert_eq!(stored.status, StatusCode::OK, "{}", stored.text);
    assert_eq!(
        serde_json::from_str::<Value>(stored.body["content"].as_str().unwrap()).unwrap(),
        openapi()
    );
    let results = &stored.body["selfVerificationResults"];
    assert_eq!(results["success"], true);
    assert_eq!(results["content"], "12 tests, 0 failures");
    assert_eq!(results["verifier"], "schemathesis");
    assert_eq!(stored.body["buildUrl"], "http://ci/build/1");

    // Publishing again for the version replaces its contract.
    let again = app
        .post(
            "/provider-contracts/provider/Bar/publish",
            &publication("1.0.0", &openapi(), false),
        )
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    let replaced = app
        .get("/provider-contracts/provider/Bar/version/1.0.0")
        .await;
    assert_eq!(replaced.body["selfVerificationResults"]["success"], false);

    // The older API, as older clients use it: 201 with a `pf:ui` link.
    let old = app
        .put(
            "/contracts/provider/Bar/version/1.0.1",
            &json!({"content": encode(&openapi().to_string()), "contentType": "application/json",
                    "contractType": "oas", "verificationResults": {"success": true, "verifier": "x"}}),
        )
        .await;
    assert_eq!(old.status, StatusCode::CREATED, "{}", old.text);
    // `pf:ui` and the notice lead to the contract's page in the UI.
    let page = old.body["_links"]["pf:ui"]["href"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        page.ends_with("/ui/applications/Bar/provider-contracts/1.0.1"),
        "{page}"
    );
    let notices = old.body["notices"].to_string();
    assert!(
        notices.contains(&format!("View the uploaded contract at {page}")),
        "{notices}"
    );
    let stored = app
        .get("/provider-contracts/provider/Bar/version/1.0.1")
        .await;
    assert_eq!(stored.status, StatusCode::OK, "{}", stored.text);
}

#[tokio::test]
async fn a_bad_document_is_a_400_that_names_the_field_and_the_problem() {
    let app = TestApp::new().await;
    let cases = [
        (json!("%%% not base64"), "contract.content", "Base64"),
        (
            json!(encode(r#"{"title": "not an API"}"#)),
            "contract.content",
            "OpenAPI",
        ),
        (
            json!(encode("openapi: [3.0\n  paths: {")),
            "contract.content",
            "OpenAPI",
        ),
        // A $ref that leads nowhere is named, with where it is.
        (
            json!(encode(
                r##"{"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {"/a": {"get": {"responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Missing"}}}}}}}}}"##
            )),
            "contract.content",
            "#/components/schemas/Missing",
        ),
    ];
    // Nesting deep enough to overflow a recursive parser's stack: refused, not a crash.
    let nested = format!(
        "{{\"openapi\": \"3.0.0\", \"paths\": {}}}",
        "[".repeat(500_000)
    );
    let cases = cases
        .into_iter()
        .chain([(json!(encode(&nested)), "contract.content", "OpenAPI")]);
    for (content, field, words) in cases {
        let mut body = publication("1", &openapi(), true);
        body["contract"]["content"] = content;
        let reply = app
            .post("/provider-contracts/provider/Bar/publish", &body)
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
        let messages = reply.body["errors"][field].to_string();
        assert!(messages.contains(words), "{field}: {}", reply.text);
    }
    let mut body = publication("1", &openapi(), true);
    body["contract"]["specification"] = json!("pact");
    let reply = app
        .post("/provider-contracts/provider/Bar/publish", &body)
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert!(reply.body["errors"]["contract.specification"].is_array());
    // Nothing of a refused publication is stored.
    let version = app.get("/pacticipants/Bar/versions/1").await;
    assert_eq!(version.status, StatusCode::NOT_FOUND, "{}", version.text);
}

#[tokio::test]
async fn a_compatible_pair_is_unknown_until_compared_then_a_bdct_row_that_may_deploy() {
    let config = config();
    let app = TestApp::with_config(config.clone()).await;
    let reply = app
        .post(
            "/provider-contracts/provider/Bar/publish",
            &publication("p1", &openapi(), true),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let published = app
        .publish(
            "Foo",
            "c1",
            None,
            &[],
            &[("Bar", pact("Foo", "Bar", &["/things"]))],
        )
        .await;
    assert_eq!(published.status, StatusCode::OK, "{}", published.text);

    // No worker yet: the pair is known to be compared, not how it came out.
    let unknown = matrix_when_known_now(&app, "c1", "p1").await;
    assert_eq!(unknown["summary"]["deployable"], Value::Null, "{unknown}");
    assert_eq!(unknown["matrix"][0]["verificationType"], "BDCT");
    assert_eq!(unknown["matrix"][0]["verificationResult"], Value::Null);

    let _tasks = treaty_server::background::spawn(app.store(), &config, "http://localhost");
    let known = matrix_when_known(&app, "c1", "p1").await;
    assert_eq!(known["summary"]["deployable"], true, "{known}");
    let row = &known["matrix"][0];
    assert_eq!(row["verificationType"], "BDCT");
    assert_eq!(row["verificationResult"]["success"], true);
    let href = row["verificationResult"]["_links"]["self"]["href"]
        .as_str()
        .unwrap();
    assert_eq!(
        href,
        "http://broker.test/provider-contracts/provider/Bar/version/p1/consumer/Foo/version/c1/comparison"
    );
    let result = app.get(href.trim_start_matches(BASE)).await;
    assert_eq!(result.status, StatusCode::OK, "{}", result.text);
    assert_eq!(result.body["status"], "success", "{}", result.text);
    assert_eq!(result.body["selfVerificationResults"]["success"], true);
    assert_eq!(result.body["comparison"]["errors"], json!([]));

    // A consumer-driven verification of the same pact is a CDCT row beside it.
    let verified = app.verify("Foo", "Bar", "p0", true).await;
    assert_eq!(verified.status, StatusCode::CREATED, "{}", verified.text);
    let both = app
        .get("/matrix?q[][pacticipant]=Foo&q[][version]=c1")
        .await;
    let types: Vec<&Value> = both.body["matrix"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["verificationType"])
        .collect();
    assert!(types.contains(&&json!("CDCT")), "{}", both.text);
    assert!(types.contains(&&json!("BDCT")), "{}", both.text);

    // The same content again is compared already: nothing is queued.
    let again = app
        .post(
            "/provider-contracts/provider/Bar/publish",
            &publication("p2", &openapi(), true),
        )
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    assert!(
        again
            .text
            .contains("0 comparison(s) with consumer pacts queued"),
        "{}",
        again.text
    );
}

/// One read of the matrix, without waiting.
async fn matrix_when_known_now(
    app: &TestApp,
    consumer_version: &str,
    provider_version: &str,
) -> Value {
    app.get(&format!(
        "/matrix?q[][pacticipant]=Foo&q[][version]={consumer_version}&q[][pacticipant]=Bar&q[][version]={provider_version}&latestby=cvpv"
    ))
    .await
    .body
}

#[tokio::test]
async fn a_failed_self_verification_makes_the_provider_version_undeployable() {
    let config = config();
    let app = TestApp::with_config(config.clone()).await;
    let reply = app
        .post(
            "/provider-contracts/provider/Bar/publish",
            &publication("p1", &openapi(), false),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert!(reply.text.contains("self-verification"), "{}", reply.text);
    // Alone, with no consumer to depend on.
    let matrix = app
        .get("/matrix?q[][pacticipant]=Bar&q[][version]=p1&latestby=cvpv")
        .await;
    assert_eq!(
        matrix.body["summary"]["deployable"], false,
        "{}",
        matrix.text
    );
    assert!(
        matrix.body["summary"]["reason"]
            .as_str()
            .unwrap()
            .contains("self-verification results of the provider contract of Bar version p1"),
        "{}",
        matrix.text
    );
    // And a pair with it fails whatever the comparison says.
    app.publish(
        "Foo",
        "c1",
        None,
        &[],
        &[("Bar", pact("Foo", "Bar", &["/things"]))],
    )
    .await;
    let _tasks = treaty_server::background::spawn(app.store(), &config, "http://localhost");
    let pair = matrix_when_known(&app, "c1", "p1").await;
    assert_eq!(pair["summary"]["deployable"], false, "{pair}");
    assert_eq!(pair["matrix"][0]["verificationType"], "BDCT");
    assert_eq!(pair["matrix"][0]["verificationResult"]["success"], false);
}

/// (engine) A pact asking for a path the document does not have.
#[tokio::test]
async fn an_incompatible_pact_makes_the_consumer_version_undeployable_naming_the_mismatch() {
    let config = config();
    let app = TestApp::with_config(config.clone()).await;
    app.post(
        "/provider-contracts/provider/Bar/publish",
        &publication("p1", &openapi(), true),
    )
    .await;
    app.publish(
        "Foo",
        "c2",
        None,
        &[],
        &[("Bar", pact("Foo", "Bar", &["/elsewhere"]))],
    )
    .await;
    let _tasks = treaty_server::background::spawn(app.store(), &config, "http://localhost");
    let known = matrix_when_known(&app, "c2", "p1").await;
    assert_eq!(known["summary"]["deployable"], false, "{known}");
    let reason = known["summary"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("request.path-or-method.unknown")
            && reason.contains("interaction 'a request for /elsewhere'"),
        "{reason}"
    );
    let href = known["matrix"][0]["verificationResult"]["_links"]["self"]["href"]
        .as_str()
        .unwrap();
    let result = app.get(href.trim_start_matches(BASE)).await;
    assert_eq!(result.body["status"], "failed", "{}", result.text);
    assert_eq!(
        result.body["comparison"]["errors"][0]["code"],
        "request.path-or-method.unknown"
    );
    assert!(result.body["comparison"]["errors"][0]["mockDetails"]["location"].is_string());
}

/// A consumer version deployed after the provider published its contract:
/// no publication queued that pair, the worker's sweep does.
#[tokio::test]
async fn a_pair_no_publication_queued_is_queued_by_the_sweep_once_deployed() {
    let config = config();
    let app = TestApp::with_config(config.clone()).await;
    // Foo's pact first, on no branch: nothing of Bar's to compare it with.
    app.publish(
        "Foo",
        "c1",
        None,
        &[],
        &[("Bar", pact("Foo", "Bar", &["/things"]))],
    )
    .await;
    let unchecked = app
        .get("/matrix?q[][pacticipant]=Foo&q[][version]=c1")
        .await;
    assert_eq!(unchecked.body["matrix"][0]["verificationType"], Value::Null);
    // Bar's contract on a feature branch: Foo c1 is neither a main branch head nor deployed.
    let mut body = publication("p1", &openapi(), true);
    body["branch"] = json!("feature");
    let reply = app
        .post("/provider-contracts/provider/Bar/publish", &body)
        .await;
    assert!(
        reply
            .text
            .contains("0 comparison(s) with consumer pacts queued"),
        "{}",
        reply.text
    );
    let production = app
        .post(
            "/environments",
            &json!({"name": "production", "production": true}),
        )
        .await;
    let uuid = production.body["uuid"].as_str().unwrap().to_owned();
    for (pacticipant, version) in [("Foo", "c1"), ("Bar", "p1")] {
        let deployed = app
            .post(
                &format!("/pacticipants/{pacticipant}/versions/{version}/deployed-versions/environment/{uuid}"),
                &json!({}),
            )
            .await;
        assert_eq!(deployed.status, StatusCode::CREATED, "{}", deployed.text);
    }
    let _tasks = treaty_server::background::spawn(app.store(), &config, BASE);
    let known = matrix_when_known(&app, "c1", "p1").await;
    assert_eq!(known["summary"]["deployable"], true, "{known}");
    assert_eq!(known["matrix"][0]["verificationType"], "BDCT");
}

async fn contract_webhook(app: &TestApp, receiver: &crate::webhooks::Receiver) {
    app.post("/pacticipants", &json!({"name": "Bar"})).await;
    let created = app
        .post(
            "/webhooks",
            &json!({
                "description": "tell the provider's team",
                "provider": {"name": "Bar"},
                "events": [{"name": "provider_contract_published"}, {"name": "provider_contract_comparison_failed"}],
                "request": {"method": "POST", "url": receiver.url, "headers": {"Content-Type": "application/json"},
                    "body": {"event": "${pactbroker.eventName}", "provider": "${pactbroker.providerName}",
                             "version": "${pactbroker.providerVersionNumber}", "branch": "${pactbroker.providerVersionBranch}",
                             "consumer": "${pactbroker.consumerName}"}}
            }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
}

#[tokio::test]
async fn a_published_provider_contract_is_announced_to_webhooks() {
    let config = crate::webhooks::local_config(&[]);
    let app = TestApp::with_config(config.clone()).await;
    let receiver = crate::webhooks::Receiver::start(0).await;
    contract_webhook(&app, &receiver).await;
    let _tasks = treaty_server::background::spawn(app.store(), &config, BASE);
    let reply = app
        .post(
            "/provider-contracts/provider/Bar/publish",
            &publication("p1", &openapi(), true),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let got = receiver.wait_for(1).await;
    let body: Value = serde_json::from_str(&got[0].1).unwrap();
    assert_eq!(
        body,
        json!({"event": "provider_contract_published", "provider": "Bar", "version": "p1", "branch": "main", "consumer": ""})
    );
}

/// (engine) A failed comparison is announced once per pair.
#[tokio::test]
async fn a_failed_comparison_is_announced_to_webhooks() {
    let config = crate::webhooks::local_config(&[]);
    let app = TestApp::with_config(config.clone()).await;
    let receiver = crate::webhooks::Receiver::start(0).await;
    app.post(
        "/provider-contracts/provider/Bar/publish",
        &publication("p1", &openapi(), true),
    )
    .await;
    contract_webhook(&app, &receiver).await;
    let _tasks = treaty_server::background::spawn(app.store(), &config, BASE);
    app.publish(
        "Foo",
        "c2",
        None,
        &[],
        &[("Bar", pact("Foo", "Bar", &["/elsewhere"]))],
    )
    .await;
    let got = receiver.wait_for(1).await;
    assert_eq!(got.len(), 1, "one failed comparison");
    let body: Value = serde_json::from_str(&got[0].1).unwrap();
    assert_eq!(body["event"], "provider_contract_comparison_failed");
    assert_eq!(body["consumer"], "Foo");
    assert_eq!(body["provider"], "Bar");
}
