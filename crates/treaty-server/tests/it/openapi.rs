//! The OpenAPI description at `/openapi.json`: served, valid JSON, and in
//! step with the router both ways (every path it names is routed; the
//! important routes are named).

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::Value;

use crate::support::TestApp;

/// What the router's fallback says for a path no route matches.
const UNROUTED: &str = "There is no resource at";

const METHODS: &[&str] = &["get", "put", "post", "patch", "delete"];

async fn description(app: &TestApp) -> Value {
    let reply = app.get("/openapi.json").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert!(
        reply.content_type.starts_with("application/json"),
        "{}",
        reply.content_type
    );
    assert!(
        reply.body.is_object(),
        "not JSON: {}",
        &reply.text[..reply.text.len().min(200)]
    );
    reply.body
}

/// A path with each `{parameter}` filled by a sample value that routes.
fn filled(template: &str) -> String {
    let mut path = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        path.push_str(&rest[..start]);
        let end = rest[start..].find('}').expect("a closed parameter") + start;
        path.push_str(match &rest[start + 1..end] {
            "id" | "incident" => "1",
            "uuid" => "0123456789abcdef0123",
            _ => "x",
        });
        rest = &rest[end + 1..];
    }
    path.push_str(rest);
    path
}

#[tokio::test]
async fn the_description_is_served_as_openapi_3_1_json() {
    let app = TestApp::new().await;
    let document = description(&app).await;
    assert!(
        document["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "{}",
        document["openapi"]
    );
    assert_eq!(document["info"]["title"], "Treaty");
    let problem = &document["components"]["schemas"]["Problem"];
    for member in ["type", "title", "status", "detail", "errors"] {
        assert!(
            problem["properties"].get(member).is_some(),
            "the problem schema lacks {member}"
        );
    }
}

#[tokio::test]
async fn every_described_operation_is_routed() {
    let app = TestApp::new().await;
    let document = description(&app).await;
    let paths = document["paths"].as_object().expect("paths");
    let mut unrouted = Vec::new();
    let mut sent = 0;
    for (template, operations) in paths {
        let path = filled(template);
        for method in METHODS {
            let Some(operation) = operations.get(*method) else {
                continue;
            };
            // A body of a media type the operation takes, so the request
            // reaches the handler rather than a 415.
            let content_type = operation["requestBody"]["content"]
                .as_object()
                .and_then(|content| content.keys().next().cloned())
                .unwrap_or_else(|| "application/json".to_owned());
            let body = if *method == "get" || *method == "delete" {
                Body::empty()
            } else {
                Body::from("{}")
            };
            let request = Request::builder()
                .method(method.to_ascii_uppercase().as_str())
                .uri(&path)
                .header(header::ACCEPT, "application/hal+json")
                .header(header::CONTENT_TYPE, content_type)
                .body(body)
                .unwrap();
            let reply = app.send(request).await;
            sent += 1;
            if reply.text.contains(UNROUTED)
                || reply.status == StatusCode::METHOD_NOT_ALLOWED
                || reply.status.is_server_error()
            {
                unrouted.push(format!(
                    "{} {path}: {} {}",
                    method.to_ascii_uppercase(),
                    reply.status,
                    reply.text
                ));
            }
        }
    }
    assert!(sent > 100, "only {sent} operations are described");
    assert!(
        unrouted.is_empty(),
        "described but not routed:\n{}",
        unrouted.join("\n")
    );
}

#[tokio::test]
async fn the_important_routes_are_described() {
    const PAIR: &str = "/pacts/provider/{provider}/consumer/{consumer}";
    let important: Vec<(&str, String)> =
        vec![
        ("get", "/".into()),
        ("get", "/openapi.json".into()),
        ("get", "/diagnostic/status/heartbeat".into()),
        ("get", "/pacticipants".into()),
        ("post", "/pacticipants".into()),
        ("patch", "/pacticipants/{pacticipant}".into()),
        ("put", "/pacticipants/{pacticipant}/versions/{version}".into()),
        (
            "put",
            "/pacticipants/{pacticipant}/versions/{version}/tags/{tag}".into(),
        ),
        (
            "put",
            "/pacticipants/{pacticipant}/branches/{branch}/versions/{version}".into(),
        ),
        ("post", "/contracts/publish".into()),
        ("put", format!("{PAIR}/version/{{version}}")),
        ("get", format!("{PAIR}/latest")),
        ("get", format!("{PAIR}/pact-version/{{sha}}")),
        (
            "post",
            format!("{PAIR}/pact-version/{{sha}}/verification-results"),
        ),
        (
            "post",
            format!("{PAIR}/pact-version/{{sha}}/metadata/{{metadata}}/verification-results"),
        ),
        ("post", "/pacts/provider/{provider}/for-verification".into()),
        ("get", "/matrix".into()),
        ("get", "/matrix/provider/{provider}/consumer/{consumer}".into()),
        ("get", "/can-i-deploy".into()),
        ("get", "/integrations".into()),
        ("post", "/environments".into()),
        (
            "post",
            "/pacticipants/{pacticipant}/versions/{version}/deployed-versions/environment/{uuid}"
                .into(),
        ),
        (
            "post",
            "/pacticipants/{pacticipant}/versions/{version}/released-versions/environment/{uuid}"
                .into(),
        ),
        ("patch", "/deployed-versions/{uuid}".into()),
        (
            "get",
            "/environments/{uuid}/deployed-versions/currently-deployed".into(),
        ),
        ("post", "/deployment-events".into()),
        ("get", "/deployments".into()),
        ("post", "/deployments/{id}/incidents".into()),
        ("get", "/dora-metrics".into()),
        ("put", "/policies/{environment}".into()),
        ("get", "/preflight".into()),
        ("post", "/release-plans".into()),
        ("post", "/webhooks".into()),
        ("put", "/webhooks/{uuid}".into()),
        ("post", "/webhooks/{uuid}/execute".into()),
        ("post", "/tokens".into()),
        ("get", "/audit".into()),
    ];
    let badges = treaty_domain::access::badge_routes::ALL
        .iter()
        .map(|route| ("get", (*route).to_owned()));
    let important: Vec<(&str, String)> = important.into_iter().chain(badges).collect();
    let app = TestApp::new().await;
    let document = description(&app).await;
    let missing: Vec<String> = important
        .iter()
        .filter(|(method, path)| document["paths"][path.as_str()].get(*method).is_none())
        .map(|(method, path)| format!("{} {path}", method.to_ascii_uppercase()))
        .collect();
    assert!(missing.is_empty(), "not described: {}", missing.join(", "));
}
