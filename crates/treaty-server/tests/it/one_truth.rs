//! One deployment truth: whichever API records a deployment or a release
//! (the Pact Broker's record-deployment, record-release and their ends, a
//! tag named after an environment, a deployment event), it is one ledger
//! deployment, and everything that says what runs or what ran reads it.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::{Duration, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::support::{Reply, TestApp, pact};

pub(crate) async fn app_with(config: treaty_server::ServerConfig) -> TestApp {
    let app = TestApp::with_config(config).await;
    for (name, production) in [("staging", false), ("production", true)] {
        let reply = app
            .post(
                "/environments",
                &json!({"name": name, "production": production}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    }
    app
}

async fn app() -> TestApp {
    app_with(treaty_server::ServerConfig::default()).await
}

pub(crate) async fn environment_uuid(app: &TestApp, name: &str) -> String {
    let list = app.get(&format!("/environments?name={name}")).await;
    list.body["_embedded"]["environments"][0]["uuid"]
        .as_str()
        .unwrap_or_else(|| panic!("no environment {name}: {}", list.text))
        .to_owned()
}

/// `pact-broker record-deployment`.
pub(crate) async fn record_deployment(
    app: &TestApp,
    pacticipant: &str,
    version: &str,
    environment: &str,
    instance: Option<&str>,
) -> Reply {
    let uuid = environment_uuid(app, environment).await;
    let body = match instance {
        Some(instance) => json!({ "applicationInstance": instance }),
        None => json!({}),
    };
    app.post(
        &format!(
            "/pacticipants/{pacticipant}/versions/{version}/deployed-versions/environment/{uuid}"
        ),
        &body,
    )
    .await
}

/// `pact-broker record-release`.
pub(crate) async fn record_release(
    app: &TestApp,
    pacticipant: &str,
    version: &str,
    environment: &str,
) -> Reply {
    let uuid = environment_uuid(app, environment).await;
    app.post(
        &format!(
            "/pacticipants/{pacticipant}/versions/{version}/released-versions/environment/{uuid}"
        ),
        &json!({}),
    )
    .await
}

/// A merge-patch of a Pact Broker record (`record-undeployment`, `record-support-ended`).
pub(crate) async fn end_record(app: &TestApp, href: &str, field: &str) -> Reply {
    let path = href.trim_start_matches(crate::support::BASE);
    app.send_json(
        "PATCH",
        path,
        "application/merge-patch+json",
        &json!({ field: false }),
    )
    .await
}

fn self_href(reply: &Reply) -> String {
    reply.body["_links"]["self"]["href"]
        .as_str()
        .unwrap_or_else(|| panic!("no self link: {}", reply.text))
        .to_owned()
}

async fn ledger(app: &TestApp, query: &str) -> Vec<Value> {
    let list = app.get(&format!("/deployments?{query}")).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    list.body["_embedded"]["deployments"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn statuses(deployment: &Value) -> Vec<String> {
    deployment["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].as_str().unwrap().to_owned())
        .collect()
}

fn iso(at: chrono::DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

async fn set_policy(app: &TestApp, environment: &str, policy: Value) {
    let reply = app.put(&format!("/policies/{environment}"), &policy).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
}

async fn version(app: &TestApp, pacticipant: &str, number: &str) {
    let reply = app
        .put(
            &format!("/pacticipants/{pacticipant}/versions/{number}"),
            &json!({}),
        )
        .await;
    assert!(reply.status.is_success(), "{}", reply.text);
}

pub(crate) async fn html(app: &TestApp, path: &str) -> String {
    let reply = app
        .send(
            Request::get(path)
                .header(header::ACCEPT, "text/html")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.text);
    reply.text
}

/// What an environment page says runs there: (application, version) per row.
pub(crate) async fn runs_now_on_the_page(
    app: &TestApp,
    environment: &str,
) -> Vec<(String, String)> {
    let page = html(app, &format!("/ui/environments/{environment}")).await;
    let start = page
        .find(r#"<section aria-labelledby="now">"#)
        .expect("the page has its runs-now section");
    let section = &page[start..];
    let section = &section[..section.find("</section>").unwrap()];
    let texts_of_links = |row: &str| -> Vec<String> {
        row.split("<a href=")
            .skip(1)
            .map(|part| {
                let text = &part[part.find('>').unwrap() + 1..];
                text[..text.find("</a>").unwrap()].to_owned()
            })
            .collect()
    };
    let mut rows: Vec<(String, String)> = section
        .split("<tr><td>")
        .skip(1)
        .map(|row| {
            let links = texts_of_links(row);
            (links[0].clone(), links[1].clone())
        })
        .collect();
    rows.sort();
    rows
}

#[tokio::test]
async fn record_deployment_and_its_kin_are_ledger_deployments_that_everything_reads() {
    let app = app().await;
    let hook = app.post("/webhooks", &json!({
        "events": [{"name": "deployment_completed"}],
        "request": {"method": "POST", "url": "https://hooks.example/treaty", "body": "${treaty.version}"}
    })).await;
    let hook = hook.body["uuid"].as_str().unwrap().to_owned();
    for number in ["1", "2", "3"] {
        version(&app, "Foo", number).await;
    }
    let first = record_deployment(&app, "Foo", "1", "production", None).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    let second = record_deployment(&app, "Foo", "2", "production", None).await;
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.text);
    // A retried record-deployment of what runs already changes nothing.
    let retried = record_deployment(&app, "Foo", "2", "production", None).await;
    assert_eq!(self_href(&retried), self_href(&second));

    let list = app.get("/deployments?pacticipant=Foo").await;
    assert_eq!(list.body["page"]["totalElements"], 2, "{}", list.text);
    let deployments = list.body["_embedded"]["deployments"].as_array().unwrap();
    let (newest, oldest) = (&deployments[0], &deployments[1]);
    assert_eq!(newest["version"], "2");
    assert_eq!(newest["status"], "completed");
    assert_eq!(newest["running"], true);
    assert_eq!(newest["source_system"], "pact-broker-api");
    assert_eq!(newest["bypassed_gates"], false);
    assert_eq!(
        newest["_links"]["pb:deployed-version"]["href"],
        json!(self_href(&second))
    );
    assert_eq!(oldest["running"], false);
    assert_eq!(oldest["end_reason"], "replaced");
    assert_eq!(oldest["replaced_by"], newest["id"]);
    assert_eq!(statuses(oldest), ["completed", "replaced"]);

    let now = app
        .get("/deployments/deployed-at?environment=production")
        .await;
    assert_eq!(now.body["deployed"][0]["version"], "2", "{}", now.text);
    assert_eq!(now.body["deployed"][0]["deployment_id"], newest["id"]);
    let metrics = app.get("/dora-metrics?pacticipant=Foo").await;
    assert_eq!(
        metrics.body["overall"]["deployment_frequency"]["deployments"], 2,
        "{}",
        metrics.text
    );
    assert_eq!(
        runs_now_on_the_page(&app, "production").await,
        [("Foo".to_owned(), "2".to_owned())]
    );

    // record-undeployment ends it, visibly.
    let undeployed = end_record(&app, &self_href(&second), "currentlyDeployed").await;
    assert_eq!(undeployed.status, StatusCode::OK, "{}", undeployed.text);
    let ended = &ledger(&app, "pacticipant=Foo").await[0];
    assert_eq!(ended["running"], false);
    assert_eq!(ended["end_reason"], "undeployed");
    assert_eq!(statuses(ended), ["completed", "undeployed"]);
    let now = app
        .get("/deployments/deployed-at?environment=production")
        .await;
    assert_eq!(now.body["deployed"], json!([]), "{}", now.text);
    assert!(runs_now_on_the_page(&app, "production").await.is_empty());

    // A release is a ledger release, and support ending ends it.
    let released = record_release(&app, "Foo", "1", "production").await;
    assert_eq!(released.status, StatusCode::CREATED, "{}", released.text);
    let release = &ledger(&app, "pacticipant=Foo&kind=release").await[0];
    assert_eq!(
        (release["kind"].as_str(), release["running"].as_bool()),
        (Some("release"), Some(true))
    );
    assert_eq!(
        runs_now_on_the_page(&app, "production").await,
        [("Foo".to_owned(), "1".to_owned())]
    );
    assert_eq!(
        record_release(&app, "Foo", "1", "production").await.status,
        StatusCode::OK,
        "recording a supported release again"
    );
    assert_eq!(
        ledger(&app, "pacticipant=Foo&kind=release").await.len(),
        1,
        "changes nothing"
    );
    let ended = end_record(&app, &self_href(&released), "currentlySupported").await;
    assert_eq!(ended.status, StatusCode::OK, "{}", ended.text);
    let release = &ledger(&app, "pacticipant=Foo&kind=release").await[0];
    assert_eq!(release["end_reason"], "support_ended");
    // Supported again: a new release in the ledger.
    record_release(&app, "Foo", "1", "production").await;
    assert_eq!(
        ledger(&app, "pacticipant=Foo&kind=release&running=true")
            .await
            .len(),
        1
    );
    assert_eq!(ledger(&app, "pacticipant=Foo&kind=release").await.len(), 2);

    // record-deployment completes a deployment of the version that a pipeline started.
    let started = app
        .post(
            "/deployment-events",
            &json!({"product_name": "Foo", "version": "3",
            "environment_name": "production", "status": "started"}),
        )
        .await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.text);
    let recorded = record_deployment(&app, "Foo", "3", "production", None).await;
    assert_eq!(recorded.status, StatusCode::CREATED, "{}", recorded.text);
    let of_three = ledger(&app, "pacticipant=Foo&version=3").await;
    assert_eq!(of_three.len(), 1, "{of_three:?}");
    assert_eq!(of_three[0]["id"], started.body["id"]);
    assert_eq!(statuses(&of_three[0]), ["started", "completed"]);

    for bad in [
        "/deployments?running=maybe",
        "/deployments?kind=tool",
        "/deployments?version=3",
    ] {
        let reply = app.get(bad).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{bad}: {}",
            reply.text
        );
    }

    // A tag named after an environment deploys, into the ledger too.
    let tagged = app
        .put("/pacticipants/Foo/versions/3/tags/staging", &json!({}))
        .await;
    assert_eq!(tagged.status, StatusCode::CREATED, "{}", tagged.text);
    let by_tag = &ledger(&app, "environment=staging").await[0];
    assert_eq!(
        (
            by_tag["version"].as_str(),
            by_tag["source_system"].as_str(),
            by_tag["running"].as_bool()
        ),
        (Some("3"), Some("pact-broker-tag"), Some(true))
    );

    // Webhooks hear of each: two record-deployments, two releases, the
    // completed start and the tag (not the retry, nor the supported release again).
    let deliveries = app
        .store()
        .webhook_deliveries(Some(&hook), None, None, 50)
        .await
        .unwrap();
    let kinds: Vec<&str> = deliveries
        .iter()
        .map(|d| d.context["kind"].as_str())
        .collect();
    assert_eq!(deliveries.len(), 6, "{kinds:?}");
    assert_eq!(kinds.iter().filter(|k| **k == "release").count(), 2);
}

#[tokio::test]
async fn what_runs_now_and_the_top_of_the_timeline_never_disagree() {
    let app = app_with(treaty_server::ServerConfig {
        create_unknown_versions: true,
        ..treaty_server::ServerConfig::default()
    })
    .await;
    let event = |version: &'static str, status: &'static str| {
        let app = &app;
        async move {
            let reply = app
                .post(
                    "/deployment-events",
                    &json!({"product_name": "web", "version": version, "environment_name": "production", "status": status}),
                )
                .await;
            assert!(
                reply.status.is_success(),
                "{version} {status}: {}",
                reply.text
            );
            reply
        }
    };
    let agree = |why: &'static str| {
        let app = &app;
        async move {
            let top = &ledger(app, "environment=production&size=1").await[0];
            let runs = runs_now_on_the_page(app, "production").await;
            assert_eq!(runs.len(), 1, "{why}: {runs:?}");
            assert_eq!(
                top["version"].as_str(),
                Some(runs[0].1.as_str()),
                "{why}: the timeline's newest entry is {top}"
            );
        }
    };
    event("1.0.0", "completed").await;
    event("1.1.0", "completed").await;
    let rollback = event("1.0.0", "completed").await;
    assert_eq!(rollback.body["rollback"], true);
    agree("after a rollback").await;
    // The pipeline goes forward again with the Pact Broker's command.
    let forward = record_deployment(&app, "web", "1.1.0", "production", None).await;
    assert_eq!(forward.status, StatusCode::CREATED, "{}", forward.text);
    agree("after record-deployment").await;
    // A deployment that started before a rollback and completed after it
    // is the newest change to what runs.
    event("1.2.0", "started").await;
    event("1.0.0", "completed").await;
    event("1.2.0", "completed").await;
    agree("after a deployment that outlasted a rollback").await;
    let top = &ledger(&app, "environment=production&size=1").await[0];
    assert_eq!(
        top["running"], true,
        "the newest change is what runs: {top}"
    );
}

#[tokio::test]
async fn record_deployment_during_a_freeze_is_recorded_marked_audited_and_announced() {
    let app = app().await;
    version(&app, "Foo", "1").await;
    version(&app, "Foo", "2").await;
    let now = Utc::now();
    set_policy(&app, "production", json!({"rules": [{"rule": "freeze", "windows": [
        {"start": iso(now - Duration::minutes(1)), "end": iso(now + Duration::hours(1)), "reason": "year-end"}]}]})).await;
    let hook = app.post("/webhooks", &json!({
        "events": [{"name": "deployment_bypassed_gates"}],
        "request": {"method": "POST", "url": "https://hooks.example/treaty", "body": "${treaty.pacticipant} ${treaty.version} bypassed gates"}
    })).await;
    assert_eq!(hook.status, StatusCode::CREATED, "{}", hook.text);
    let hook = hook.body["uuid"].as_str().unwrap().to_owned();

    let recorded = record_deployment(&app, "Foo", "1", "production", None).await;
    assert_eq!(
        recorded.status,
        StatusCode::CREATED,
        "the fact is recorded: {}",
        recorded.text
    );
    assert_eq!(recorded.body["bypassedGates"], true);
    assert!(
        recorded.body["gatesSummary"]
            .as_str()
            .unwrap()
            .contains("year-end"),
        "{}",
        recorded.text
    );
    let entry = &ledger(&app, "pacticipant=Foo").await[0];
    assert_eq!(entry["bypassed_gates"], true);
    assert_eq!(entry["running"], true, "what runs is never denied");
    assert_eq!(entry["evidence"]["gates"]["allowed"], false);
    assert_eq!(entry["evidence"]["gates"]["blocked_by"], "freeze");
    let audit = app.get("/audit?size=5").await;
    assert!(
        audit.body["_embedded"]["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["summary"]
                .as_str()
                .unwrap_or_default()
                .contains("BYPASSING THE GATES")),
        "{}",
        audit.text
    );
    let deliveries = app
        .store()
        .webhook_deliveries(Some(&hook), None, None, 10)
        .await
        .unwrap();
    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    assert_eq!(deliveries[0].event_name, "deployment_bypassed_gates");
    assert_eq!(deliveries[0].context["pacticipant"], "Foo");
    assert_eq!(deliveries[0].context["bypassedGates"], "true");
    let page = html(&app, &format!("/ui/deployments/{}", entry["id"])).await;
    assert!(
        page.contains("bypassed gates") && page.contains("✗ refused"),
        "{page}"
    );

    // Teams that want it refuse record-deployment like a gated start.
    set_policy(&app, "production", json!({"record_deployment": "enforce", "rules": [{"rule": "freeze", "windows": [
        {"start": iso(now - Duration::minutes(1)), "end": iso(now + Duration::hours(1)), "reason": "year-end"}]}]})).await;
    let refused = record_deployment(&app, "Foo", "2", "production", None).await;
    assert_eq!(refused.status, StatusCode::LOCKED, "{}", refused.text);
    assert_eq!(refused.body["blocked_by"], "freeze");
    assert_eq!(
        ledger(&app, "pacticipant=Foo").await.len(),
        1,
        "nothing recorded"
    );
    // Recording again what runs already is no new deployment: nothing to refuse.
    let again = record_deployment(&app, "Foo", "1", "production", None).await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.text);
    let released = record_release(&app, "Foo", "2", "production").await;
    assert_eq!(released.status, StatusCode::LOCKED, "{}", released.text);
}

#[tokio::test]
async fn history_outlives_deletes_and_only_an_admin_may_delete_it() {
    use base64::Engine;
    const ADMIN: &str = "admin-secret-token";
    let app = TestApp::with_config(treaty_server::ServerConfig {
        auth: treaty_server::access::AuthConfig {
            basic: Some(("writer".into(), secrecy::SecretString::from("wpass"))),
            admin_token: Some(secrecy::SecretString::from(ADMIN)),
            ..treaty_server::access::AuthConfig::default()
        },
        ..treaty_server::ServerConfig::default()
    })
    .await;
    let writer = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("writer:wpass")
    );
    let admin = format!("Bearer {ADMIN}");
    let as_who = |who: &str, method: &str, path: &str, body: Option<Value>| {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::ACCEPT, "application/hal+json")
            .header(header::AUTHORIZATION, who);
        let request = match body {
            Some(body) => request
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string())),
            None => request.body(Body::empty()),
        }
        .unwrap();
        app.send(request)
    };
    as_who(
        &admin,
        "POST",
        "/environments",
        Some(json!({"name": "production", "production": true})),
    )
    .await;
    for number in ["1", "2"] {
        as_who(
            &writer,
            "PUT",
            &format!("/pacticipants/Foo/versions/{number}"),
            Some(json!({})),
        )
        .await;
    }
    let uuid = {
        let list = as_who(&writer, "GET", "/environments?name=production", None).await;
        list.body["_embedded"]["environments"][0]["uuid"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let recorded = as_who(
        &writer,
        "POST",
        "/deployment-events",
        Some(json!({"product_name": "Foo", "version": "1", "environment_name": "production", "status": "completed"})),
    )
    .await;
    assert_eq!(recorded.status, StatusCode::CREATED, "{}", recorded.text);
    let listed = as_who(&writer, "GET", "/deployments?pacticipant=Foo", None).await;
    let id = listed.body["_embedded"]["deployments"][0]["id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        listed.body["_embedded"]["deployments"][0]["deployed_by"],
        "writer"
    );

    // A pipeline's token cannot take history away.
    let refused = as_who(&writer, "DELETE", "/pacticipants/Foo/versions/1", None).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.text);
    assert!(
        refused.text.contains(&format!("/deployments/{id}")),
        "{}",
        refused.text
    );
    assert_eq!(refused.body["deployments"], json!([id]));
    let refused = as_who(&writer, "DELETE", "/pacticipants/Foo", None).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.text);
    // A version without history goes as before.
    assert_eq!(
        as_who(&writer, "DELETE", "/pacticipants/Foo/versions/2", None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );

    // An admin may delete it; the ledger keeps the deployment, under the names it had.
    assert_eq!(
        as_who(&admin, "DELETE", "/pacticipants/Foo/versions/1", None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let kept = as_who(&admin, "GET", &format!("/deployments/{id}"), None).await;
    assert_eq!(kept.status, StatusCode::OK, "{}", kept.text);
    assert_eq!(
        (
            kept.body["product_name"].as_str(),
            kept.body["version"].as_str()
        ),
        (Some("Foo"), Some("1"))
    );
    assert_eq!(kept.body["running"], false);
    assert_eq!(kept.body["end_reason"], "deleted");
    assert_eq!(kept.body["ended_by"], "admin");
    let currently = as_who(
        &admin,
        "GET",
        &format!("/environments/{uuid}/deployed-versions/currently-deployed"),
        None,
    )
    .await;
    assert_eq!(currently.body["_embedded"]["deployedVersions"], json!([]));
    let now = as_who(
        &admin,
        "GET",
        "/deployments/deployed-at?environment=production",
        None,
    )
    .await;
    assert_eq!(
        now.body["deployed"],
        json!([]),
        "it no longer runs: {}",
        now.text
    );

    assert_eq!(
        as_who(&admin, "DELETE", "/pacticipants/Foo", None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let by_name = as_who(&admin, "GET", "/deployments?pacticipant=Foo", None).await;
    assert_eq!(by_name.body["page"]["totalElements"], 1, "{}", by_name.text);
    assert_eq!(by_name.body["_embedded"]["deployments"][0]["id"], id);
    // Deleting the environment keeps it too.
    assert_eq!(
        as_who(&admin, "DELETE", &format!("/environments/{uuid}"), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let kept = as_who(&admin, "GET", &format!("/deployments/{id}"), None).await;
    assert_eq!(kept.body["environment_name"], "production", "{}", kept.text);
}

#[tokio::test]
async fn the_lifecycle_answers_before_the_gates() {
    let app = app_with(treaty_server::ServerConfig {
        create_unknown_versions: true,
        ..treaty_server::ServerConfig::default()
    })
    .await;
    set_policy(&app, "production", json!({"rules": []})).await;
    for environment in ["staging", "production"] {
        let started = app
            .post(
                "/deployment-events",
                &json!({"product_name": "Foo", "version": "1",
            "environment_name": environment, "status": "started"}),
            )
            .await;
        assert_eq!(started.status, StatusCode::CREATED, "{}", started.text);
        let id = started.body["id"].as_i64().unwrap();
        app.post(
            "/deployment-events",
            &json!({"product_name": "Foo", "version": "1",
            "environment_name": environment, "status": "failed", "deployment_id": id}),
        )
        .await;
        if environment == "production" {
            let now = Utc::now();
            set_policy(&app, "production", json!({"rules": [{"rule": "freeze", "windows": [
                {"start": iso(now - Duration::minutes(1)), "end": iso(now + Duration::hours(1))}]}]})).await;
        }
        let late = app
            .post(
                "/deployment-events",
                &json!({"product_name": "Foo", "version": "1",
            "environment_name": environment, "status": "completed", "deployment_id": id}),
            )
            .await;
        assert_eq!(
            late.status,
            StatusCode::CONFLICT,
            "{environment}: {}",
            late.text
        );
        assert!(
            late.text.contains(&format!("Deployment {id} of Foo version 1 to {environment} is failed: it cannot become completed")),
            "{}",
            late.text
        );
    }
}

#[tokio::test]
async fn a_rollback_skips_promotion_and_soak_and_an_emergency_steps_over_what_rules_allow() {
    let app = app_with(treaty_server::ServerConfig {
        create_unknown_versions: true,
        ..treaty_server::ServerConfig::default()
    })
    .await;
    set_policy(&app, "production", json!({"rules": []})).await;
    let complete = |version: &'static str| {
        let app = &app;
        async move {
            app.post(
                "/deployment-events",
                &json!({"product_name": "Foo", "version": version,
                "environment_name": "production", "status": "completed"}),
            )
            .await
        }
    };
    complete("1").await;
    complete("2").await;
    let rules = json!([
        {"rule": "promotion", "from": "staging", "allow_emergency": true},
        {"rule": "soak", "environment": "staging", "minimum": "4h", "allow_emergency": true}]);
    set_policy(&app, "production", json!({ "rules": rules })).await;

    // 1 ran in production until 2 replaced it: going back to it is a rollback.
    let preflight = app
        .get("/preflight?pacticipant=Foo&version=1&environment=production")
        .await;
    assert_eq!(preflight.body["allowed"], true, "{}", preflight.text);
    assert_eq!(preflight.body["rollback"], true);
    let back = complete("1").await;
    assert_eq!(back.status, StatusCode::CREATED, "{}", back.text);
    assert_eq!(back.body["rollback"], true);
    assert_eq!(back.body["evidence"]["gates"]["rollback"], true);
    // With no rollback window, it is a promotion like any other.
    set_policy(
        &app,
        "production",
        json!({ "rules": rules, "rollback_window": "0s" }),
    )
    .await;
    let preflight = app
        .get("/preflight?pacticipant=Foo&version=2&environment=production")
        .await;
    assert_eq!(
        preflight.body["blocked_by"], "promotion",
        "{}",
        preflight.text
    );

    // 3 has been nowhere: only a marked emergency goes, and the verdict says what it stepped over.
    let plain = app
        .get("/preflight?pacticipant=Foo&version=3&environment=production")
        .await;
    assert_eq!(plain.body["allowed"], false);
    let emergency = app
        .get("/preflight?pacticipant=Foo&version=3&environment=production&emergency=true")
        .await;
    assert_eq!(emergency.body["allowed"], true, "{}", emergency.text);
    assert_eq!(
        emergency.body["emergency_stepped_over"],
        json!(["promotion", "soak"])
    );
    let started = app
        .post(
            "/deployment-events",
            &json!({"product_name": "Foo", "version": "3",
        "environment_name": "production", "status": "started", "emergency": true}),
        )
        .await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.text);
    assert_eq!(
        started.body["evidence"]["gates"]["emergency_stepped_over"],
        json!(["promotion", "soak"])
    );
}

#[tokio::test]
async fn the_pages_tell_the_same_story_as_the_api() {
    let app = app().await;
    app.publish(
        "Foo",
        "1",
        Some("main"),
        &[],
        &[("Bar", pact("Foo", "Bar", &["/a"]))],
    )
    .await;
    app.verify("Foo", "Bar", "7", true).await;
    version(&app, "Bar", "7").await;
    set_policy(&app, "production", json!({"rules": []})).await;
    record_deployment(&app, "Bar", "7", "production", None).await;
    let started = app
        .post(
            "/deployment-events",
            &json!({"product_name": "Foo", "version": "1",
        "environment_name": "production", "status": "started"}),
        )
        .await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.text);
    assert_eq!(
        started.body["evidence"]["deployable"], true,
        "{}",
        started.text
    );
    // The deployment page reads the evidence the API keeps, and shows the gates' verdict.
    let page = html(&app, &format!("/ui/deployments/{}", started.body["id"])).await;
    assert!(
        page.contains("Can-i-deploy answered <span class=\"badge good\">✓ yes</span>"),
        "{page}"
    );
    assert!(
        page.contains("The gates' verdict") && page.contains("✓ allowed"),
        "{page}"
    );

    // During a freeze, the version page says production is blocked, whatever can-i-deploy says.
    let now = Utc::now();
    set_policy(&app, "production", json!({"rules": [
        {"rule": "contract-compatibility"},
        {"rule": "soak", "environment": "staging", "minimum": "1h", "mode": "report-only"},
        {"rule": "freeze", "allow_emergency": true, "windows": [
            {"start": iso(now - Duration::minutes(1)), "end": iso(now + Duration::hours(2)), "reason": "Christmas"}]}]})).await;
    let page = html(&app, "/ui/applications/Foo/versions/1").await;
    assert!(page.contains("✗ Blocked (freeze)"), "{page}");
    assert!(
        page.contains("can-i-deploy says <span class=\"badge good\">✓ Yes</span>"),
        "{page}"
    );
    // The environment page shows its rules in words and that a freeze is open, until when.
    let page = html(&app, "/ui/environments/production").await;
    assert!(
        page.contains("<strong>Deployments are frozen</strong> (Christmas) until"),
        "{page}"
    );
    assert!(
        page.contains("A marked emergency deployment may go ahead."),
        "{page}"
    );
    assert!(
        page.contains("Soak: the version stays deployed in staging for 1h"),
        "{page}"
    );
    assert!(!page.contains("&quot;rules&quot;"), "no raw JSON: {page}");
    // It sits under Environments: the header marks that section, the crumbs lead back to it.
    assert!(
        page.contains("/ui/environments\" aria-current=\"page\">Environments</a>"),
        "{page}"
    );
    assert!(
        page.contains("Environments</a> › Environment</p>"),
        "{page}"
    );
    // Without a policy of its own, the page says the default applies.
    let page = html(&app, "/ui/environments/staging").await;
    assert!(
        page.contains("has no policy of its own, so the default applies"),
        "{page}"
    );
}
