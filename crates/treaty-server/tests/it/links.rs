//! Every link Treaty advertises leads somewhere: start at `/` on a database
//! holding every kind of record, follow every concrete link (and the `pb`
//! curies, filled with the relations that use them), and fail on a 404 or a
//! 5xx.

use std::collections::{BTreeSet, VecDeque};

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::support::{BASE, TestApp, pact};

/// Links whose routes are still being added (none left: every advertised
/// link is held to account).
const EXPECTED_MISSING: &[&str] = &[];

/// Relations that are not for reading: a PUT that makes what they name.
const WRITE_ONLY: &[&str] = &["pb:tag-prod-version"];

/// Relations whose resource exists only once something has happened, as in
/// the Pact Broker: a pact's latest verification result, before any; the
/// previous distinct version of a pact, before its content ever changed.
const MAY_NOT_EXIST_YET: &[&str] = &["pb:latest-verification-results", "pb:previous-distinct"];

/// Every `href` in a document, with whether it is templated.
fn hrefs(value: &Value, found: &mut Vec<(String, bool, Option<String>)>, relation: Option<&str>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(href)) = map.get("href") {
                let templated = map.get("templated") == Some(&Value::Bool(true));
                found.push((href.clone(), templated, relation.map(str::to_owned)));
            }
            for (key, inner) in map {
                hrefs(inner, found, Some(key));
            }
        }
        Value::Array(items) => {
            for item in items {
                hrefs(item, found, relation);
            }
        }
        _ => {}
    }
}

async fn seed(app: &TestApp) {
    app.publish(
        "Foo",
        "1",
        Some("main"),
        &["dev"],
        &[("Bar", pact("Foo", "Bar", &["/a"]))],
    )
    .await;
    app.publish(
        "Foo",
        "2",
        Some("main"),
        &["dev"],
        &[("Bar", pact("Foo", "Bar", &["/a", "/b"]))],
    )
    .await;
    assert_eq!(
        app.verify("Foo", "Bar", "10", true).await.status,
        StatusCode::CREATED
    );
    assert_eq!(
        app.put("/pacticipants/Bar/branches/main/versions/10", &json!({}))
            .await
            .status,
        StatusCode::CREATED
    );
    app.put("/pacticipants/Foo/labels/team-a", &json!({})).await;
    let environment = app
        .post(
            "/environments",
            &json!({"name": "production", "production": true}),
        )
        .await;
    let uuid = environment.body["uuid"]
        .as_str()
        .expect("an environment")
        .to_owned();
    let deployed = app
        .post(
            &format!("/pacticipants/Bar/versions/10/deployed-versions/environment/{uuid}"),
            &json!({}),
        )
        .await;
    assert_eq!(deployed.status, StatusCode::CREATED, "{}", deployed.text);
    let released = app
        .post(
            &format!("/pacticipants/Foo/versions/1/released-versions/environment/{uuid}"),
            &json!({}),
        )
        .await;
    assert_eq!(released.status, StatusCode::CREATED, "{}", released.text);
    let webhook = app
        .post(
            "/webhooks/provider/Bar/consumer/Foo",
            &json!({"events": [{"name": "contract_published"}],
                    "request": {"method": "POST", "url": "https://ci.example/build"}}),
        )
        .await;
    assert_eq!(webhook.status, StatusCode::CREATED, "{}", webhook.text);
    // A publication after the webhook: a delivery, with its logs.
    app.publish(
        "Foo",
        "3",
        Some("main"),
        &[],
        &[("Bar", pact("Foo", "Bar", &["/a", "/b", "/c"]))],
    )
    .await;
}

#[tokio::test]
async fn every_advertised_link_leads_somewhere() {
    let app = TestApp::new().await;
    seed(&app).await;
    let mut queue: VecDeque<(String, Option<String>)> = VecDeque::from([("/".to_owned(), None)]);
    let mut seen: BTreeSet<String> = BTreeSet::from(["/".to_owned()]);
    let mut broken = Vec::new();
    let mut visited = 0;
    while let Some((path, relation)) = queue.pop_front() {
        let reply = app.get(&path).await;
        visited += 1;
        let expected_missing = EXPECTED_MISSING.iter().any(|end| path.contains(end))
            || relation
                .as_deref()
                .is_some_and(|r| MAY_NOT_EXIST_YET.contains(&r));
        if (reply.status == StatusCode::NOT_FOUND && !expected_missing)
            || reply.status.is_server_error()
        {
            broken.push(format!("{} {path}", reply.status));
            continue;
        }
        let mut found = Vec::new();
        hrefs(&reply.body, &mut found, None);
        // The relations of this document, to fill the curies' `{rel}`.
        let relations: Vec<String> = found
            .iter()
            .filter_map(|(_, _, rel)| rel.as_deref()?.strip_prefix("pb:").map(str::to_owned))
            .collect();
        for (href, templated, relation) in found {
            let Some(local) = href.strip_prefix(BASE) else {
                continue;
            };
            let local = if local.is_empty() { "/" } else { local };
            if relation.as_deref().is_some_and(|r| WRITE_ONLY.contains(&r)) {
                continue;
            }
            // A template, whether or not it says so (the index, like the Pact
            // Broker's, marks one of its templates `templated: false`).
            let templated = templated || local.contains('{');
            let candidates: Vec<String> = if !templated {
                vec![local.to_owned()]
            } else if relation.as_deref() == Some("curies") {
                relations
                    .iter()
                    .map(|rel| local.replace("{rel}", rel))
                    .collect()
            } else {
                // Other templates need values the data does not give.
                Vec::new()
            };
            for candidate in candidates {
                if seen.insert(candidate.clone()) {
                    queue.push_back((candidate, relation.clone()));
                }
            }
        }
    }
    assert!(visited > 50, "only {visited} resources were reached");
    assert!(
        broken.is_empty(),
        "links that lead nowhere:\n{}",
        broken.join("\n")
    );
}

#[tokio::test]
async fn metrics_count_as_the_pact_broker_and_expose_routes_by_template() {
    let app = TestApp::new().await;
    seed(&app).await;
    let counts = app.get("/metrics").await;
    assert_eq!(counts.status, StatusCode::OK);
    assert_eq!(counts.body["pacticipants"]["count"], 2);
    assert_eq!(counts.body["pactPublications"]["count"], 3);
    assert_eq!(counts.body["verificationResults"]["successCount"], 1);
    assert_eq!(counts.body["webhooks"]["count"], 1);
    assert_eq!(counts.body["matrix"]["count"], -1);
    assert_eq!(counts.body["deployedVersions"]["currentlyDeployedCount"], 1);
    // Only the pair's latest pact counts: the last one seeded, with three
    // interactions (the earlier ones have one and two).
    assert_eq!(counts.body["interactions"]["latestInteractionsCount"], 3);
    assert_eq!(counts.body["verificationResults"]["distinctCount"], 1);
    // Two results of the latest pact by the same provider version: one new
    // distinct result (the seeded one was of an earlier pact); another
    // outcome is one more.
    app.verify("Foo", "Bar", "10", true).await;
    app.verify("Foo", "Bar", "10", true).await;
    let again = app.get("/metrics").await;
    assert_eq!(again.body["verificationResults"]["count"], 3);
    assert_eq!(again.body["verificationResults"]["distinctCount"], 2);
    app.verify("Foo", "Bar", "10", false).await;
    let again = app.get("/metrics").await;
    assert_eq!(again.body["verificationResults"]["distinctCount"], 3);

    use axum::body::Body;
    use axum::http::{Request, header};
    for (accept, content_type) in [
        (
            "text/plain; version=0.0.4",
            "text/plain; version=0.0.4; charset=utf-8",
        ),
        (
            "application/openmetrics-text; version=1.0.0",
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        ),
    ] {
        let reply = app
            .send(
                Request::get("/metrics")
                    .header(header::ACCEPT, accept)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.content_type, content_type);
        let text = &reply.text;
        // Labelled by the route template, never by the path asked for.
        assert!(
            text.contains("route=\"/pacticipants/{pacticipant}/labels/{label}\""),
            "{text}"
        );
        assert!(!text.contains("team-a"), "{text}");
        for family in [
            "treaty_http_request_duration_seconds_bucket",
            "treaty_db_pool_connections",
            "treaty_webhook_queue_depth",
            "treaty_webhook_deliveries_failed",
            "treaty_deployments_stale",
            "treaty_build_info",
        ] {
            assert!(text.contains(family), "{family} in {text}");
        }
        assert_eq!(text.contains("# EOF"), accept.contains("openmetrics"));
        if !accept.contains("openmetrics") {
            assert!(
                text.contains("# TYPE treaty_http_requests_total counter"),
                "{text}"
            );
        }
    }
}

#[tokio::test]
async fn dashboard_groups_and_relationships() {
    let app = TestApp::new().await;
    seed(&app).await;
    let dashboard = app.get("/dashboard").await;
    assert_eq!(dashboard.status, StatusCode::OK);
    let items = dashboard.body["items"].as_array().unwrap();
    // The latest pact (3) and the latest tagged dev (2).
    let versions: Vec<&str> = items
        .iter()
        .map(|i| i["consumer"]["version"]["number"].as_str().unwrap())
        .collect();
    assert_eq!(versions, ["3", "2"], "{}", dashboard.text);
    assert_eq!(items[1]["pactTags"][0]["name"], "dev");
    assert_eq!(
        items[0]["consumer"]["version"]["headBranchNames"][0],
        "main"
    );
    let pair = app.get("/dashboard/provider/Bar/consumer/Foo").await;
    assert_eq!(pair.body["items"].as_array().unwrap().len(), 2);
    assert_eq!(
        app.get("/dashboard/provider/Nope/consumer/Foo").await.body["error"],
        "No provider with name 'Nope' found"
    );

    let group = app.get("/groups/Foo").await;
    assert_eq!(group.status, StatusCode::OK);
    assert_eq!(group.content_type, "text/csv;charset=utf-8");
    let rows: Vec<&str> = group.text.lines().collect();
    assert_eq!(rows.len(), 2, "{}", group.text);
    assert!(rows[0].contains(",Foo,1,1,0,1,"), "{}", group.text);
    assert!(rows[1].contains(",Bar,1,1,0,2,0"), "{}", group.text);
    assert_eq!(app.get("/relationships").await.text, group.text);
    assert_eq!(app.get("/groups/Nope").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn every_pb_relation_has_a_page() {
    let app = TestApp::new().await;
    let page = app.get("/doc/webhooks?context=index").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.content_type.starts_with("text/html"));
    assert!(page.text.contains("id=\"whitelist\""), "{}", page.text);
    assert!(page.text.contains("--webhook-allowed-methods"));
    // A relation's name is escaped where the page shows it.
    let odd = app.get("/doc/%3Cscript%3E").await;
    assert_eq!(odd.status, StatusCode::OK);
    assert!(!odd.text.contains("<script>"), "{}", odd.text);
}
