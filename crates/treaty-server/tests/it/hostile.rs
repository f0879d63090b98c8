//! Hostile input at the HTTP level: every kind of route, with bodies,
//! content types, path segments and query strings that no client should
//! send. Whatever arrives, the answer is never a 5xx.

use axum::body::Body;
use axum::http::{Request, header};
use serde_json::json;

use crate::support::{TestApp, pact};

const ROUTES: &[(&str, &str)] = &[
    ("POST", "/contracts/publish"),
    ("PUT", "/pacts/provider/Bar/consumer/Foo/version/1"),
    (
        "POST",
        "/pacts/provider/Bar/consumer/Foo/pact-version/SHA/verification-results",
    ),
    ("POST", "/pacts/provider/Bar/for-verification"),
    ("PUT", "/pacticipants/Foo"),
    ("PATCH", "/pacticipants/Foo"),
    ("POST", "/pacticipants"),
    ("PUT", "/pacticipants/Foo/versions/1"),
    ("PUT", "/pacticipants/Foo/versions/1/tags/prod"),
    ("PUT", "/pacticipants/Foo/branches/main/versions/1"),
    ("POST", "/environments"),
    ("PUT", "/environments/UUID"),
    (
        "POST",
        "/pacticipants/Foo/versions/1/deployed-versions/environment/UUID",
    ),
    ("PATCH", "/environments/UUID/deployed-versions/UUID"),
    (
        "POST",
        "/pacticipants/Foo/versions/1/released-versions/environment/UUID",
    ),
    ("POST", "/deployment-events"),
    ("POST", "/deployments/1/incidents"),
    ("PATCH", "/deployments/1/incidents/1"),
    ("PUT", "/policies/production"),
    ("POST", "/release-plans"),
    ("POST", "/webhooks"),
    ("PUT", "/webhooks/0123456789abcdef0123"),
    ("POST", "/webhooks/execute"),
    ("GET", "/matrix"),
    ("GET", "/can-i-deploy"),
    ("GET", "/dora-metrics"),
    ("GET", "/preflight"),
    ("GET", "/deployments/deployed-at"),
    ("GET", "/deployments"),
];

fn bodies() -> Vec<(&'static str, Vec<u8>)> {
    let deep = format!("{}1{}", "[".repeat(2000), "]".repeat(2000));
    vec![
        ("application/json", Vec::new()),
        ("application/json", b"null".to_vec()),
        ("application/json", b"[]".to_vec()),
        ("application/json", b"{}".to_vec()),
        ("application/json", b"\"text\"".to_vec()),
        ("application/json", b"{\"a\":".to_vec()),
        ("application/json", deep.into_bytes()),
        ("application/json", vec![0xff, 0xfe, 0x00, 0x7b]),
        ("application/json", json!({"pacticipantName": 1e308, "contracts": [{"content": "!!!", "specification": []}]}).to_string().into_bytes()),
        ("application/json", json!({"consumerVersionSelectors": [{"branch": {"x": 1}, "latest": "yes"}], "includeWipPactsSince": "yesterday"}).to_string().into_bytes()),
        ("application/json", json!({"status": "started", "product_name": "", "version": [], "environment_name": "x".repeat(5000)}).to_string().into_bytes()),
        ("application/json", json!({"rules": [{"rule": "freeze", "windows": [{"days": ["moonday"], "from": "99:99", "time_zone": "Nowhere/Land"}]}]}).to_string().into_bytes()),
        ("application/json", json!({"request": {"method": "POST", "url": "https://${x}/", "headers": [1]}, "events": "all"}).to_string().into_bytes()),
        ("application/json", json!({"environment": "production", "versions": [{"pacticipant": "Foo"}, 7]}).to_string().into_bytes()),
        ("application/json", json!({"success": "maybe", "providerApplicationVersion": {"x": 1}}).to_string().into_bytes()),
        ("application/merge-patch+json", b"{\"currentlyDeployed\": \"no\"}".to_vec()),
        ("text/plain", b"hello".to_vec()),
        ("application/x-www-form-urlencoded", b"a=1&b[]=2".to_vec()),
    ]
}

const QUERIES: &[&str] = &[
    "",
    "?q[][pacticipant]=Foo&q[][version]=1&latestby=cvpv",
    "?q[=&q]]=1&latest[]=x&[]=",
    "?pacticipant=%00%ff&version=%&environment=",
    "?from=tuesday&to=2026-13-45T99:00:00Z&days=-1&size=-5&page=0",
    "?at=2026-01-01T00:00:00Z&environment=../../etc",
];

#[tokio::test]
async fn no_hostile_request_gets_a_server_error() {
    let app = TestApp::new().await;
    app.publish(
        "Foo",
        "1",
        Some("main"),
        &[],
        &[("Bar", pact("Foo", "Bar", &["/a"]))],
    )
    .await;
    app.post(
        "/environments",
        &json!({"name": "production", "production": true}),
    )
    .await;
    let mut failures = Vec::new();
    let mut sent = 0;
    for (method, path) in ROUTES {
        for segment_twist in [
            "",
            "%2F..%2F",
            "%00",
            "\u{1F600}",
            "x".repeat(3000).as_str(),
        ] {
            let path = if segment_twist.is_empty() {
                (*path).to_owned()
            } else {
                path.replace("Foo", &treaty_domain::url_path::segment(segment_twist))
            };
            let shapes: Vec<(&str, Vec<u8>)> = if *method == "GET" {
                vec![("application/json", Vec::new())]
            } else {
                bodies()
            };
            // Queries matter to the GET routes; the writes get one broken one.
            let queries: &[&str] = if *method == "GET" {
                QUERIES
            } else {
                &QUERIES[..3]
            };
            for query in queries {
                for (content_type, body) in &shapes {
                    let request = Request::builder()
                        .method(*method)
                        .uri(format!("{path}{query}"))
                        .header(header::CONTENT_TYPE, *content_type)
                        .body(Body::from(body.clone()))
                        .unwrap();
                    let reply = app.send(request).await;
                    sent += 1;
                    if reply.status.is_server_error() {
                        failures.push(format!(
                            "{method} {path}{query} [{content_type}] {:?}: {} {}",
                            String::from_utf8_lossy(&body[..body.len().min(60)]),
                            reply.status,
                            reply.text
                        ));
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {sent} requests got a 5xx:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn a_limit_that_is_hit_is_named() {
    let app = TestApp::with_config(treaty_server::ServerConfig {
        max_body_bytes: 64 * 1024,
        ..treaty_server::ServerConfig::default()
    })
    .await;
    let big = json!({"consumer": {"name": "Foo"}, "provider": {"name": "Bar"}, "interactions": [], "padding": "x".repeat(70 * 1024)});
    let too_big = app
        .put("/pacts/provider/Bar/consumer/Foo/version/1", &big)
        .await;
    assert_eq!(too_big.status.as_u16(), 413, "{}", too_big.text);
    assert!(
        too_big.text.contains("--max-body-bytes"),
        "{}",
        too_big.text
    );

    let app = TestApp::new().await;
    let interactions: Vec<serde_json::Value> = (0..=treaty_domain::pact::MAX_INTERACTIONS)
        .map(|i| json!({"description": format!("i{i}")}))
        .collect();
    let crowded = app
        .put("/pacts/provider/Bar/consumer/Foo/version/1", &json!({"consumer": {"name": "Foo"}, "provider": {"name": "Bar"}, "interactions": interactions}))
        .await;
    assert_eq!(crowded.status.as_u16(), 400, "{}", crowded.text);
    assert!(crowded.text.contains("at most 10000"), "{}", crowded.text);

    let pages = app.get("/deployments?size=5000").await;
    assert_eq!(
        pages.body["page"]["size"], 1000,
        "page sizes are capped: {}",
        pages.text
    );
}

/// A malformed query string (a repeated parameter, a number out of range) is
/// a client mistake like any other: a 400 problem document, not the
/// extractor's plain-text rejection. Found by schemathesis (scripts/fuzz-http).
#[tokio::test]
async fn a_malformed_query_string_gets_a_problem_document() {
    let app = TestApp::new().await;
    let targets = [
        "/pacticipants?size=1&size=2",
        "/pacticipants/label/x?page=1&page=1",
        "/pacticipants/Foo/versions?size=1&size=1",
        "/pacticipants/Foo/branches?size=1&size=1",
        "/pacticipants/Foo/branches/main/versions?page=1&page=2",
        "/integrations?size=1&size=1",
        "/environments?name=a&name=b",
        "/environments/UUID/deployed-versions/currently-deployed?pacticipant=a&pacticipant=b",
        "/environments/UUID/released-versions/currently-supported?version=1&version=2",
        "/deployments?to=null&to=null",
        "/deployments/deployed-at?environment=production&at=a&at=b",
        "/dora-metrics?days=1&days=2",
        "/preflight?pacticipant=Foo&version=1&environment=production&emergency=true&emergency=true",
        "/webhooks/0123456789abcdef0123/deliveries?limit=-1",
        "/webhooks/0123456789abcdef0123/deliveries?limit=4294967296",
        "/audit?page=1&page=2",
    ];
    for target in targets {
        assert_bad_request_problem(&app, target, "query string").await;
    }
}

/// A GET of `target` answers 400 with a problem document whose detail says `about`.
async fn assert_bad_request_problem(app: &TestApp, target: &str, about: &str) {
    let reply = app
        .send(
            Request::get(target)
                .header(header::ACCEPT, "application/problem+json")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status.as_u16(), 400, "{target}: {}", reply.text);
    assert!(
        reply.content_type.starts_with("application/problem+json"),
        "{target}: {} {}",
        reply.content_type,
        reply.text
    );
    assert_eq!(reply.body["status"], 400, "{target}: {}", reply.text);
    assert!(
        reply.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains(about)),
        "{target}: {}",
        reply.text
    );
}

#[tokio::test]
async fn a_path_segment_that_is_not_utf8_gets_a_problem_document() {
    let app = TestApp::new().await;
    let targets = [
        "/pacticipants/%FF",
        "/pacticipants/Foo/versions/%FF%FE",
        "/pacts/provider/%C3%28/consumer/Foo/latest",
        "/environments/%80",
        "/ui/applications/%FF",
    ];
    for target in targets {
        assert_bad_request_problem(&app, target, "UTF-8").await;
    }
}

/// The same hostile bodies and queries sent to every operation the OpenAPI
/// description lists, so a route added later is covered without being
/// named here: its parameters are filled with names of records that exist
/// and with ones that do not.
#[tokio::test]
async fn no_described_operation_gives_a_server_error_to_hostile_input() {
    let app = TestApp::new().await;
    app.publish(
        "Foo",
        "1",
        Some("main"),
        &[],
        &[("Bar", pact("Foo", "Bar", &["/a"]))],
    )
    .await;
    let document = app.get("/openapi.json").await.body;
    let paths = document["paths"].as_object().expect("paths");
    let mut failures = Vec::new();
    let mut sent = 0;
    for (template, operations) in paths {
        for method in operations.as_object().expect("operations").keys() {
            let method = method.to_uppercase();
            if !["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&method.as_str()) {
                continue;
            }
            let twisted = treaty_domain::url_path::segment("\u{1F600}/../\u{0}");
            for name in ["Foo", twisted.as_str(), "1"] {
                let path = fill(template, name);
                let shapes = if method == "GET" || method == "DELETE" {
                    vec![("application/json", Vec::new())]
                } else {
                    bodies()
                };
                for query in &QUERIES[..3] {
                    for (content_type, body) in &shapes {
                        let request = Request::builder()
                            .method(method.as_str())
                            .uri(format!("{path}{query}"))
                            .header(header::CONTENT_TYPE, *content_type)
                            .body(Body::from(body.clone()))
                            .unwrap();
                        let reply = app.send(request).await;
                        sent += 1;
                        if reply.status.is_server_error() {
                            failures.push(format!(
                                "{method} {path}{query} [{content_type}] {:?}: {} {}",
                                String::from_utf8_lossy(&body[..body.len().min(60)]),
                                reply.status,
                                reply.text
                            ));
                        }
                    }
                }
            }
        }
    }
    assert!(sent > 1000, "only {sent} requests sent");
    assert!(
        failures.is_empty(),
        "{} of {sent} requests got a 5xx:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A path template with every `{parameter}` replaced by `name`.
fn fill(template: &str, name: &str) -> String {
    let mut path = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        path.push_str(&rest[..start]);
        let end = rest[start..].find('}').map_or(rest.len(), |e| e + start);
        path.push_str(name);
        rest = &rest[(end + 1).min(rest.len())..];
    }
    path.push_str(rest);
    path
}
