//! Deployment gates over HTTP: policies, the preflight check, and starts that
//! are blocked with a status per cause, or let through and kept as evidence.

use axum::http::StatusCode;
use chrono::{Duration, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::support::{Reply, TestApp, pact};

/// An app that creates the versions events name: these tests are about gates.
async fn app() -> TestApp {
    let app = TestApp::with_config(treaty_server::ServerConfig {
        create_unknown_versions: true,
        ..treaty_server::ServerConfig::default()
    })
    .await;
    for (name, production) in [("staging", false), ("production", true)] {
        let reply = app
            .post(
                "/environments",
                &json!({"name": name, "production": production}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED);
    }
    app
}

async fn event(
    app: &TestApp,
    version: &str,
    environment: &str,
    status: &str,
    extra: Value,
) -> Reply {
    let mut body = json!({"product_name": "Foo", "version": version, "environment_name": environment, "status": status});
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    app.post("/deployment-events", &body).await
}

async fn set_rules(app: &TestApp, environment: &str, rules: Value) {
    let reply = app
        .put(
            &format!("/policies/{environment}"),
            &json!({ "rules": rules }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
}

fn iso(at: chrono::DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[tokio::test]
async fn policies_are_set_read_and_removed_and_bad_ones_are_refused() {
    let app = app().await;
    set_rules(
        &app,
        "production",
        json!([
        {"rule": "promotion", "from": "staging"},
        {"rule": "soak", "environment": "staging", "minimum": "90m", "mode": "report-only"}]),
    )
    .await;
    let shown = app.get("/policies/production").await;
    assert_eq!(shown.body["rules"][1]["minimum"], "1h 30m");
    assert_eq!(shown.body["rules"][0]["mode"], "enforce");

    let bad = app.put("/policies/production", &json!({"rules": [
        {"rule": "promotion", "from": "qa"}, {"rule": "soak", "environment": "production", "minimum": "1h"}]})).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);
    assert!(
        bad.text.contains("no environment named 'qa'"),
        "{}",
        bad.text
    );
    assert!(
        bad.text.contains("cannot name production itself"),
        "{}",
        bad.text
    );
    let nonsense = app
        .put(
            "/policies/production",
            &json!({"rules": [{"rule": "teleport"}]}),
        )
        .await;
    assert_eq!(nonsense.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        app.get("/policies/production").await.body["rules"]
            .as_array()
            .unwrap()
            .len(),
        2,
        "a refused policy changes nothing"
    );
    assert_eq!(
        app.put("/policies/moon", &json!({"rules": []}))
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    assert_eq!(shown.body["source"], "environment");
    assert_eq!(
        app.delete("/policies/production").await.status,
        StatusCode::NO_CONTENT
    );
    // Without a policy of its own, production has the default one, and says so.
    let default = app.get("/policies/production").await;
    assert_eq!(default.body["source"], "default", "{}", default.text);
    assert_eq!(
        default.body["rules"],
        json!([{"rule": "contract-compatibility", "mode": "enforce"}])
    );
    assert!(
        default.body["source_reason"]
            .as_str()
            .unwrap()
            .contains("production has no policy of its own"),
        "{}",
        default.text
    );
}

#[tokio::test]
async fn promotion_and_soak_block_a_start_with_428_until_they_pass() {
    let app = app().await;
    set_rules(
        &app,
        "production",
        json!([
        {"rule": "promotion", "from": "staging"},
        {"rule": "soak", "environment": "staging", "minimum": "1h"}]),
    )
    .await;

    let preflight = app
        .get("/preflight?pacticipant=Foo&version=1&environment=production")
        .await;
    assert_eq!(preflight.status, StatusCode::OK, "{}", preflight.text);
    assert_eq!(preflight.body["allowed"], false);
    assert_eq!(preflight.body["blocked_by"], "promotion");

    let refused = event(&app, "1", "production", "started", json!({})).await;
    assert_eq!(
        refused.status,
        StatusCode::PRECONDITION_REQUIRED,
        "{}",
        refused.text
    );
    assert_eq!(refused.body["blocked_by"], "promotion");
    assert!(
        refused.body["error"]
            .as_str()
            .unwrap()
            .contains("has not completed a deployment to staging"),
        "{}",
        refused.text
    );
    assert_eq!(
        app.get("/deployments").await.body["_embedded"]["deployments"]
            .as_array()
            .unwrap()
            .len(),
        0,
        "a blocked start records nothing"
    );

    // A failed deployment to staging is no promotion.
    event(&app, "1", "staging", "started", json!({})).await;
    event(&app, "1", "staging", "failed", json!({})).await;
    let still = event(&app, "1", "production", "started", json!({})).await;
    assert!(
        still.text.contains("its deployment there failed"),
        "{}",
        still.text
    );

    event(&app, "1", "staging", "completed", json!({})).await;
    let soaking = event(&app, "1", "production", "started", json!({})).await;
    assert_eq!(
        soaking.status,
        StatusCode::PRECONDITION_REQUIRED,
        "{}",
        soaking.text
    );
    assert_eq!(soaking.body["blocked_by"], "soak");
    let retry_after =
        chrono::DateTime::parse_from_rfc3339(soaking.body["retry_after"].as_str().unwrap())
            .unwrap();
    assert!(
        retry_after > Utc::now() + Duration::minutes(59),
        "{retry_after}"
    );

    // The same soak reported only: the start goes ahead, and the verdict is kept.
    set_rules(
        &app,
        "production",
        json!([
        {"rule": "promotion", "from": "staging"},
        {"rule": "soak", "environment": "staging", "minimum": "1h", "mode": "report-only"}]),
    )
    .await;
    let started = event(&app, "1", "production", "started", json!({})).await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.text);
    let gates = &started.body["evidence"]["gates"];
    assert_eq!(gates["allowed"], true);
    assert_eq!(gates["checks"][1]["passed"], false);
    assert_eq!(gates["checks"][1]["mode"], "report-only");
}

#[tokio::test]
async fn a_freeze_answers_423_and_lets_a_marked_emergency_through_flagged() {
    let app = app().await;
    let now = Utc::now();
    set_rules(&app, "production", json!([{"rule": "freeze", "allow_emergency": true, "windows": [
        {"start": iso(now - Duration::minutes(1)), "end": iso(now + Duration::hours(1)), "reason": "year-end freeze"}]}])).await;
    let frozen = event(&app, "1", "production", "started", json!({})).await;
    assert_eq!(frozen.status, StatusCode::LOCKED, "{}", frozen.text);
    assert_eq!(frozen.body["blocked_by"], "freeze");
    assert!(frozen.text.contains("year-end freeze"), "{}", frozen.text);
    assert!(frozen.body["retry_after"].is_string());
    // Completing without a start is gated the same way.
    assert_eq!(
        event(&app, "1", "production", "completed", json!({}))
            .await
            .status,
        StatusCode::LOCKED
    );

    let emergency = event(
        &app,
        "1",
        "production",
        "started",
        json!({"emergency": true}),
    )
    .await;
    assert_eq!(emergency.status, StatusCode::CREATED, "{}", emergency.text);
    assert_eq!(emergency.body["emergency"], true);
    assert_eq!(
        emergency.body["evidence"]["gates"]["emergency_exemption"],
        true
    );
    // Progress and completion of a deployment that started are not gated again.
    assert_eq!(
        event(
            &app,
            "1",
            "production",
            "started",
            json!({"extra_metadata": {"canary": 50}})
        )
        .await
        .status,
        StatusCode::OK
    );
    assert_eq!(
        event(&app, "1", "production", "completed", json!({}))
            .await
            .body["status"],
        "completed"
    );
}

#[tokio::test]
async fn contract_compatibility_blocks_with_409_and_every_failing_rule_is_listed() {
    let app = app().await;
    app.publish(
        "Foo",
        "1",
        Some("main"),
        &[],
        &[("Bar", pact("Foo", "Bar", &["/orders"]))],
    )
    .await;
    set_rules(
        &app,
        "production",
        json!([
        {"rule": "contract-compatibility"},
        {"rule": "promotion", "from": "staging", "mode": "off"}]),
    )
    .await;
    let refused = event(&app, "1", "production", "started", json!({})).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.text);
    assert_eq!(refused.body["blocked_by"], "contract-compatibility");
    assert_eq!(
        refused.body["verdict"]["checks"].as_array().unwrap().len(),
        1,
        "an off rule is not evaluated"
    );

    set_rules(&app, "production", json!([
        {"rule": "contract-compatibility"},
        {"rule": "promotion", "from": "staging"},
        {"rule": "freeze", "windows": [{"start": iso(Utc::now() - Duration::hours(1)), "end": iso(Utc::now() + Duration::hours(1))}]}])).await;
    let preflight = app
        .get("/preflight?pacticipant=Foo&version=1&environment=production&emergency=true")
        .await;
    assert_eq!(
        preflight.body["blocked_by"], "freeze",
        "the freeze comes first"
    );
    let failing: Vec<&str> = preflight.body["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["passed"] == false)
        .map(|c| c["rule"].as_str().unwrap())
        .collect();
    assert_eq!(failing, ["contract-compatibility", "promotion", "freeze"]);
    assert_eq!(
        preflight.body["retry_after"],
        Value::Null,
        "waiting alone will not do"
    );

    let bad = app
        .get("/preflight?pacticipant=Foo&environment=production&emergency=maybe")
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        bad.text.contains("version is missing")
            && bad.text.contains("emergency must be true or false"),
        "{}",
        bad.text
    );
    assert_eq!(
        app.get("/preflight?pacticipant=Foo&version=1&environment=moon")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn an_environment_without_a_policy_still_checks_contracts() {
    let app = app().await;
    app.publish(
        "Foo",
        "1",
        Some("main"),
        &[],
        &[("Bar", pact("Foo", "Bar", &["/orders"]))],
    )
    .await;
    // can-i-deploy does not know (Bar has verified nothing), so neither does preflight.
    let can_i_deploy = app
        .get("/can-i-deploy?pacticipant=Foo&version=1&environment=production")
        .await;
    assert_eq!(can_i_deploy.body["summary"]["deployable"], Value::Null);
    let preflight = app
        .get("/preflight?pacticipant=Foo&version=1&environment=production")
        .await;
    assert_eq!(preflight.body["allowed"], false, "{}", preflight.text);
    assert_eq!(preflight.body["blocked_by"], "contract-compatibility");
    assert_eq!(preflight.body["policy_source"], "default");
    let refused = event(&app, "1", "production", "started", json!({})).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.text);
    // Outside production the default only reports.
    let staging = app
        .get("/preflight?pacticipant=Foo&version=1&environment=staging")
        .await;
    assert_eq!(staging.body["allowed"], true, "{}", staging.text);
    assert_eq!(staging.body["checks"][0]["mode"], "report-only");
    assert_eq!(staging.body["checks"][0]["passed"], false);
    assert_eq!(
        event(&app, "1", "staging", "started", json!({}))
            .await
            .status,
        StatusCode::CREATED
    );
    // An empty policy of its own allows everything, as before.
    set_rules(&app, "production", json!([])).await;
    assert_eq!(
        event(&app, "1", "production", "started", json!({}))
            .await
            .status,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn a_release_plan_orders_the_set_from_the_contracts_and_changes_nothing() {
    let app = app().await;
    app.publish(
        "Foo",
        "1",
        Some("main"),
        &[],
        &[("Bar", pact("Foo", "Bar", &["/a"]))],
    )
    .await;
    app.verify("Foo", "Bar", "1", true).await;
    app.verify("Foo", "Bar", "2", true).await;
    app.publish(
        "Foo",
        "2",
        Some("main"),
        &[],
        &[("Bar", pact("Foo", "Bar", &["/a", "/b"]))],
    )
    .await;
    app.verify("Foo", "Bar", "1", false).await;
    app.verify("Foo", "Bar", "2", true).await;
    // The provider first: production's default policy checks the contracts.
    for (pacticipant, version) in [("Bar", "1"), ("Foo", "1")] {
        let reply = app
            .post(
                "/deployment-events",
                &json!({"product_name": pacticipant, "version": version,
            "environment_name": "production", "status": "completed"}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    }

    let plan = app.post("/release-plans", &json!({"environment": "production",
        "versions": [{"pacticipant": "Foo", "version": "2"}, {"pacticipant": "Bar", "version": "2"}]})).await;
    assert_eq!(plan.status, StatusCode::OK, "{}", plan.text);
    assert_eq!(plan.body["possible"], true, "{}", plan.text);
    assert_eq!(
        plan.body["summary"],
        "Deploy in 2 step(s): Bar 2, then Foo 2"
    );
    assert_eq!(
        plan.body["steps"][1]["why"][0],
        "Foo 2 needs Bar 2 first: Bar 1 failed verification of the pact of Foo 2"
    );
    assert!(plan.body["steps"].as_array().unwrap().iter().all(|s| {
        s["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["ok"] == true)
    }));

    let alone = app
        .post(
            "/release-plans",
            &json!({"environment": "production",
        "versions": [{"pacticipant": "Foo", "version": "2"}]}),
        )
        .await;
    assert_eq!(alone.body["possible"], false);
    assert_eq!(
        alone.body["problems"][0],
        "Bar 1 failed verification of the pact of Foo 2 (Bar is not in the plan)"
    );

    let twice = app.post("/release-plans", &json!({"versions": [{"pacticipant": "Foo", "version": "2"}, {"pacticipant": "Foo", "version": "1"}]})).await;
    assert_eq!(twice.status, StatusCode::BAD_REQUEST);
    assert!(
        twice.text.contains("environment is missing")
            && twice.text.contains("Foo is planned twice"),
        "{}",
        twice.text
    );
    let unknown = app.post("/release-plans", &json!({"environment": "production", "versions": [{"pacticipant": "Foo", "version": "9"}]})).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.text);
    assert_eq!(
        app.get("/deployments").await.body["_embedded"]["deployments"]
            .as_array()
            .unwrap()
            .len(),
        2,
        "planning records nothing"
    );
}
