//! The deployment ledger over HTTP: whole pipelines, retries, events out of
//! order, rollbacks, history, and the evidence kept at the start.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::support::{TestApp, pact};

/// An app that creates what events name, as Versioner does: these tests
/// are about the ledger, not about names.
async fn app_with_production() -> TestApp {
    let app = TestApp::with_config(treaty_server::ServerConfig {
        create_unknown_versions: true,
        ..treaty_server::ServerConfig::default()
    })
    .await;
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
    // Production's default policy would refuse the start (Bar has verified
    // nothing): an empty policy of its own lets it through.
    app.put("/policies/production", &json!({"rules": []})).await;
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

#[tokio::test]
async fn a_deployment_left_open_times_out_and_takes_no_more_events() {
    let app = app_with_production().await;
    event(&app, "1", "completed", json!({})).await;
    let started = event(&app, "2", "started", json!({})).await;
    let id = started.body["id"].as_i64().unwrap();
    let finished = event(&app, "3", "completed", json!({})).await;
    // Everything open before a minute from now is stale: only deployment 2 is open.
    let cutoff = chrono::Utc::now() + chrono::Duration::minutes(1);
    let timed_out = app
        .store()
        .time_out_stale_deployments(cutoff)
        .await
        .unwrap();
    assert_eq!(timed_out, [id]);
    assert!(
        app.store()
            .time_out_stale_deployments(cutoff)
            .await
            .unwrap()
            .is_empty(),
        "a deployment times out once"
    );
    let shown = app.get(&format!("/deployments/{id}")).await;
    assert_eq!(shown.body["status"], "timed_out");
    assert_eq!(shown.body["events"][1]["status"], "timed_out");
    assert!(shown.body["finished_at"].is_string());
    let late = app
        .post(
            "/deployment-events",
            &json!({"product_name": "Foo", "version": "2", "environment_name": "production",
            "status": "completed", "deployment_id": id}),
        )
        .await;
    assert_eq!(late.status, StatusCode::CONFLICT, "{}", late.text);
    assert!(
        late.body["error"]
            .as_str()
            .unwrap()
            .contains("is timed_out"),
        "{}",
        late.text
    );
    assert_eq!(finished.body["status"], "completed");
    assert_eq!(
        current(&app).await,
        ["3"],
        "a timed-out deployment changes nothing deployed"
    );
}

#[tokio::test]
async fn the_background_sweep_times_out_stale_deployments_by_itself() {
    let app = app_with_production().await;
    let config = treaty_server::ServerConfig {
        stale_deployment_after: Some(std::time::Duration::ZERO),
        ..treaty_server::ServerConfig::default()
    };
    let tasks = treaty_server::background::spawn(app.store(), &config, "http://broker.test");
    let started = event(&app, "1", "started", json!({})).await;
    let id = started.body["id"].as_i64().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut status = String::new();
    while std::time::Instant::now() < deadline {
        status = app.get(&format!("/deployments/{id}")).await.body["status"]
            .as_str()
            .unwrap()
            .to_owned();
        if status == "timed_out" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    for task in tasks {
        task.abort();
    }
    assert_eq!(status, "timed_out");
}

#[tokio::test]
async fn incidents_are_opened_and_resolved_against_a_deployment() {
    let app = app_with_production().await;
    let done = event(&app, "1", "completed", json!({})).await;
    let id = done.body["id"].as_i64().unwrap();
    let opened = app
        .post(
            &format!("/deployments/{id}/incidents"),
            &json!({"title": "checkout errors", "severity": "sev2",
            "opened_at": "2026-01-01T10:00:00Z"}),
        )
        .await;
    assert_eq!(opened.status, StatusCode::CREATED, "{}", opened.text);
    assert_eq!(opened.body["resolved"], false);
    let location = opened.location.clone().unwrap();
    let path = location.strip_prefix(crate::support::BASE).unwrap();
    assert_eq!(app.get(path).await.body["title"], "checkout errors");

    let early = app
        .patch(path, &json!({"resolved_at": "2026-01-01T09:00:00Z"}))
        .await;
    assert_eq!(early.status, StatusCode::CONFLICT, "{}", early.text);
    let resolved = app
        .patch(path, &json!({"resolved_at": "2026-01-01T12:30:00Z"}))
        .await;
    assert_eq!(resolved.status, StatusCode::OK, "{}", resolved.text);
    assert_eq!(resolved.body["resolved_at"], "2026-01-01T12:30:00+00:00");

    let shown = app.get(&format!("/deployments/{id}")).await;
    assert_eq!(shown.body["incidents"][0]["resolved"], true);

    let missing = app
        .post("/deployments/999/incidents", &json!({"title": "x"}))
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let untitled = app
        .post(
            &format!("/deployments/{id}/incidents"),
            &json!({"severity": "sev1"}),
        )
        .await;
    assert_eq!(
        untitled.status,
        StatusCode::BAD_REQUEST,
        "{}",
        untitled.text
    );
    assert!(
        untitled.text.contains("title is missing"),
        "{}",
        untitled.text
    );
    let vague = app.patch(path, &json!({})).await;
    assert_eq!(vague.status, StatusCode::BAD_REQUEST, "{}", vague.text);
}

#[tokio::test]
async fn what_was_deployed_at_a_moment_in_the_past() {
    let app = app_with_production().await;
    let before = chrono::Utc::now();
    event(&app, "1", "completed", json!({})).await;
    app.post(
        "/deployment-events",
        &json!({"product_name": "Bar", "version": "7", "environment_name": "production",
        "status": "completed", "application_instance": "blue"}),
    )
    .await;
    let between = chrono::Utc::now();
    let second = event(&app, "2", "completed", json!({})).await;
    let at = |t: chrono::DateTime<chrono::Utc>| {
        t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
            .replace('+', "%2B")
    };
    let versions = |reply: &crate::support::Reply| -> Vec<String> {
        reply.body["deployed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                format!(
                    "{} {}",
                    d["pacticipant"].as_str().unwrap(),
                    d["version"].as_str().unwrap()
                )
            })
            .collect()
    };
    let then = app
        .get(&format!(
            "/deployments/deployed-at?environment=production&at={}",
            at(between)
        ))
        .await;
    assert_eq!(then.status, StatusCode::OK, "{}", then.text);
    assert_eq!(versions(&then), ["Bar 7", "Foo 1"]);
    assert_eq!(then.body["deployed"][0]["application_instance"], "blue");
    assert!(
        then.body["deployed"][1]["deployed_until"].is_string(),
        "1 was replaced since"
    );
    let now = app
        .get("/deployments/deployed-at?environment=production")
        .await;
    assert_eq!(versions(&now), ["Bar 7", "Foo 2"]);
    assert_eq!(now.body["deployed"][1]["deployment_id"], second.body["id"]);
    let earlier = app
        .get(&format!(
            "/deployments/deployed-at?environment=production&at={}",
            at(before)
        ))
        .await;
    assert!(versions(&earlier).is_empty());

    let unknown = app.get("/deployments/deployed-at?environment=moon").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let bad_time = app
        .get("/deployments/deployed-at?environment=production&at=tuesday")
        .await;
    assert_eq!(bad_time.status, StatusCode::BAD_REQUEST);
    assert!(
        bad_time.text.contains("must be a timestamp"),
        "{}",
        bad_time.text
    );
    let no_environment = app.get("/deployments/deployed-at").await;
    assert_eq!(no_environment.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn dora_metrics_count_what_the_ledger_recorded() {
    let app = app_with_production().await;
    // Staging is not production: left out unless asked for.
    app.post(
        "/environments",
        &json!({"name": "staging", "production": false}),
    )
    .await;
    app.post("/deployment-events", &json!({"product_name": "Foo", "version": "0", "environment_name": "staging", "status": "completed"})).await;

    event(
        &app,
        "1",
        "completed",
        json!({"scm_committed_at": "2020-01-01T00:00:00Z"}),
    )
    .await;
    event(&app, "2", "started", json!({})).await;
    event(&app, "2", "failed", json!({})).await;
    let fixed = event(&app, "3", "completed", json!({})).await;
    let id = fixed.body["id"].as_i64().unwrap();
    let incident = app
        .post(
            &format!("/deployments/{id}/incidents"),
            &json!({"title": "slow"}),
        )
        .await;
    let path = incident
        .location
        .clone()
        .unwrap()
        .replace(crate::support::BASE, "");
    app.patch(&path, &json!({"resolved": true})).await;
    event(&app, "4", "queued", json!({})).await;
    event(&app, "4", "cancelled", json!({})).await;

    let metrics = app.get("/dora-metrics?days=7").await;
    assert_eq!(metrics.status, StatusCode::OK, "{}", metrics.text);
    let overall = &metrics.body["overall"];
    assert_eq!(overall["deployment_frequency"]["deployments"], 2);
    // Changes: two completed and one failed; failures: the failed one and the one with an incident.
    assert_eq!(overall["change_failure_rate"]["changes"], 3);
    assert_eq!(overall["change_failure_rate"]["failures"], 2);
    // Restored: the failure (by version 3) and the incident.
    assert_eq!(overall["time_to_restore"]["restored"], 2);
    // Version 1's commit was made in 2020: its lead time is years.
    assert_eq!(overall["lead_time_for_changes"]["samples"], 2);
    assert!(
        overall["lead_time_for_changes"]["median_seconds"]
            .as_f64()
            .unwrap()
            > 86_400.0 * 365.0
    );
    assert_eq!(metrics.body["groups"].as_array().unwrap().len(), 1);
    assert_eq!(metrics.body["groups"][0]["environment"], "production");

    let staging = app
        .get("/dora-metrics?environment=staging&pacticipant=Foo")
        .await;
    assert_eq!(
        staging.body["overall"]["deployment_frequency"]["deployments"],
        1
    );
    for bad in [
        "/dora-metrics?days=0",
        "/dora-metrics?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z",
        "/dora-metrics?to=soon",
    ] {
        let reply = app.get(bad).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{bad}: {}",
            reply.text
        );
    }
}

#[tokio::test]
async fn unknown_names_are_refused_with_the_closest_names_unless_told_to_create_them() {
    let app = TestApp::new().await;
    app.post(
        "/environments",
        &json!({"name": "production", "production": true}),
    )
    .await;
    app.put("/pacticipants/web/versions/1.9.9", &json!({}))
        .await;
    app.put("/pacticipants/web/versions/9.9.8", &json!({}))
        .await;
    let typo = app
        .post(
            "/deployment-events",
            &json!({"product_name": "web", "version": "9.9.9",
            "environment_name": "production", "status": "completed"}),
        )
        .await;
    assert_eq!(typo.status, StatusCode::NOT_FOUND, "{}", typo.text);
    assert!(
        typo.text
            .contains("No version 9.9.9 of web found. Did you mean '9.9.8' or '1.9.9'?")
            && typo.text.contains("--create-unknown-versions"),
        "{}",
        typo.text
    );
    let name = app
        .post(
            "/deployment-events",
            &json!({"product_name": "wbe", "version": "1.9.9",
            "environment_name": "production", "status": "started"}),
        )
        .await;
    assert_eq!(name.status, StatusCode::NOT_FOUND, "{}", name.text);
    assert!(name.text.contains("Did you mean 'web'?"), "{}", name.text);
    let environment = app
        .post(
            "/deployment-events",
            &json!({"product_name": "web", "version": "1.9.9",
            "environment_name": "prodution", "status": "started"}),
        )
        .await;
    assert_eq!(environment.status, StatusCode::NOT_FOUND);
    assert!(
        environment.text.contains("Did you mean 'production'?"),
        "{}",
        environment.text
    );
    // Nothing was created: no version, no pacticipant, no deployment.
    assert_eq!(
        app.get("/pacticipants/web/versions/9.9.9").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/pacticipants/wbe").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/deployments").await.body["page"]["totalElements"],
        0
    );
    let latest = app.get("/pacticipants/web/latest-version").await;
    assert_eq!(latest.body["number"], "9.9.8");

    // Told to, Treaty creates what events name first, so the evidence is of
    // the version it created (not "not found").
    let open = TestApp::with_config(treaty_server::ServerConfig {
        create_unknown_versions: true,
        ..treaty_server::ServerConfig::default()
    })
    .await;
    open.post(
        "/environments",
        &json!({"name": "test", "production": false}),
    )
    .await;
    let created = open
        .post(
            "/deployment-events",
            &json!({"product_name": "A", "version": "1",
            "environment_name": "test", "status": "started"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(
        open.get("/pacticipants/A/versions/1").await.status,
        StatusCode::OK
    );
    let reason = created.body["evidence"]["reason"].as_str().unwrap();
    assert!(!reason.contains("not found"), "{reason}");
    assert_eq!(
        created.body["evidence"]["deployable"], true,
        "{}",
        created.text
    );
}
