//! The deployment ledger over HTTP: whole pipelines, retries, events out of
//! order, rollbacks, history, and the evidence kept at the start.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::support::{TestApp, pact};

async fn app_with_production() -> TestApp {
    let app = TestApp::new().await;
    let reply = app
        .post(
            "/environments",
            &json!({"name": "production", "production": true}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    app
}

async fn event(app: &TestApp, version: &str, status: &str, extra: Value) -> crate::support::Reply {
    let mut body = json!({"product_name": "Foo", "version": version, "environment_name": "production", "status": status});
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    app.post("/deployment-events", &body).await
}

async fn current(app: &TestApp) -> Vec<String> {
    let environments = app.get("/environments?name=production").await;
    let uuid = environments.body["_embedded"]["environments"][0]["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    let list = app
        .get(&format!(
            "/environments/{uuid}/deployed-versions/currently-deployed?pacticipant=Foo"
        ))
        .await;
    list.body["_embedded"]["deployedVersions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            d["_embedded"]["version"]["number"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn a_successful_pipeline_records_the_deployment_with_its_metadata() {
    let app = app_with_production().await;
    let started = event(&app, "1.0.0", "in_progress", json!({"deployed_by": "ci-bot", "scm_sha": "abc123", "build_url": "https://ci/7", "build_number": 7})).await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.text);
    assert_eq!(started.body["status"], "started");
    assert!(
        current(&app).await.is_empty(),
        "only completion changes what is deployed"
    );
    let id = started.body["id"].as_i64().unwrap();
    let progress = event(
        &app,
        "1.0.0",
        "started",
        json!({"extra_metadata": {"canary_percent": 50}}),
    )
    .await;
    assert_eq!(progress.status, StatusCode::OK);
    assert_eq!(progress.body["status"], "started");
    let done = event(&app, "1.0.0", "success", json!({})).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    assert_eq!(
        (done.body["id"].as_i64(), done.body["status"].as_str()),
        (Some(id), Some("completed"))
    );
    assert_eq!(done.body["deployed_by"], "ci-bot");
    assert_eq!(done.body["build_number"], "7");
    assert!(done.body["duration_seconds"].is_number());
    let statuses: Vec<&str> = done.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["started", "started", "completed"]);
    assert_eq!(
        done.body["events"][1]["metadata"]["extra_metadata"]["canary_percent"],
        50
    );
    assert_eq!(current(&app).await, ["1.0.0"]);
    assert!(done.body["_links"]["pb:deployed-version"]["href"].is_string());
}

#[tokio::test]
async fn failed_and_aborted_deployments_leave_what_was_deployed() {
    let app = app_with_production().await;
    event(&app, "1", "completed", json!({})).await;
    event(&app, "2", "started", json!({})).await;
    assert_eq!(
        event(&app, "2", "error", json!({})).await.body["status"],
        "failed"
    );
    event(&app, "3", "queued", json!({})).await;
    assert_eq!(
        event(&app, "3", "cancelled", json!({})).await.body["status"],
        "aborted"
    );
    assert_eq!(current(&app).await, ["1"]);
}

#[tokio::test]
async fn a_retried_event_with_the_same_idempotency_key_changes_nothing() {
    let app = app_with_production().await;
    let first = event(&app, "1", "started", json!({"invoke_id": "run-42"})).await;
    let again = event(&app, "1", "started", json!({"invoke_id": "run-42"})).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body["id"], first.body["id"]);
    assert_eq!(
        again.body["events"].as_array().unwrap().len(),
        1,
        "the retry was not recorded twice"
    );
}

#[tokio::test]
async fn events_out_of_order_are_409s_that_say_the_current_state() {
    let app = app_with_production().await;
    let started = event(&app, "1", "started", json!({})).await;
    let id = started.body["id"].as_i64().unwrap();
    let back = event(&app, "1", "pending", json!({})).await;
    assert_eq!(back.status, StatusCode::CONFLICT, "{}", back.text);
    assert!(
        back.body["error"].as_str().unwrap().contains(&format!(
            "Deployment {id} of Foo version 1 to production is started"
        )),
        "{}",
        back.text
    );
    event(&app, "1", "completed", json!({})).await;
    let late = app
        .post("/deployment-events", &json!({"product_name": "Foo", "version": "1", "environment_name": "production", "status": "failed", "deployment_id": id}))
        .await;
    assert_eq!(late.status, StatusCode::CONFLICT);
    assert!(
        late.body["error"]
            .as_str()
            .unwrap()
            .contains("is completed"),
        "{}",
        late.text
    );
}

#[tokio::test]
async fn a_rollback_is_flagged() {
    let app = app_with_production().await;
    event(&app, "1", "completed", json!({})).await;
    let upgrade = event(&app, "2", "completed", json!({})).await;
    assert_eq!(upgrade.body["rollback"], false);
    let rollback = event(&app, "1", "completed", json!({})).await;
    assert_eq!(rollback.body["rollback"], true);
    assert_eq!(current(&app).await, ["1"]);
}

#[tokio::test]
async fn history_is_newest_first_and_filtered() {
    let app = app_with_production().await;
    event(&app, "1", "completed", json!({})).await;
    event(&app, "2", "started", json!({})).await;
    event(&app, "2", "failed", json!({})).await;
    let all = app.get("/deployments?pacticipant=Foo").await;
    let versions: Vec<&str> = all.body["_embedded"]["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions, ["2", "1"]);
    let failed = app.get("/deployments?status=error").await;
    assert_eq!(
        failed.body["_embedded"]["deployments"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let future = app.get("/deployments?from=2999-01-01T00:00:00Z").await;
    assert!(
        future.body["_embedded"]["deployments"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let one = app
        .get(&format!(
            "/deployments/{}",
            all.body["_embedded"]["deployments"][1]["id"]
        ))
        .await;
    assert_eq!(one.body["status"], "completed");
    assert_eq!(
        app.get("/deployments/999").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/deployments?from=yesterday").await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        app.get("/deployments?status=exploded").await.status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn the_can_i_deploy_answer_at_the_start_is_kept_as_evidence() {
    let app = app_with_production().await;
    app.publish(
        "Foo",
        "1",
        None,
        &[],
        &[("Bar", pact("Foo", "Bar", &["/a"]))],
    )
    .await;
    let started = event(&app, "1", "started", json!({})).await;
    let evidence = &started.body["evidence"];
    assert_eq!(
        evidence["deployable"],
        Value::Null,
        "Bar is not in production yet: {evidence}"
    );
    assert!(
        evidence["reason"]
            .as_str()
            .unwrap()
            .contains("no version is currently recorded"),
        "{evidence}"
    );
    assert_eq!(evidence["rows"][0]["provider"], "Bar");
    let done = event(&app, "1", "completed", json!({})).await;
    assert_eq!(
        done.body["evidence"], started.body["evidence"],
        "the evidence is the answer at the start"
    );
}

#[tokio::test]
async fn bad_events_are_4xx_problems() {
    let app = app_with_production().await;
    let reply = app
        .post(
            "/deployment-events",
            &json!({"product_name": "Foo", "status": "exploded"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let errors = reply.body["errors"].to_string();
    assert!(
        errors.contains("version is missing") && errors.contains("status 'exploded'"),
        "{errors}"
    );
    let reply = app.post("/deployment-events", &json!({"product_name": "Foo", "version": "1", "environment_name": "mars", "status": "started"})).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert!(reply.body["error"].as_str().unwrap().contains("mars"));
}
