//! docs/api.md's table of the Pact Broker's routes is a promise: every route
//! it says Treaty serves is routed, for every method it lists. A request the
//! router does not know is answered "There is no resource at ..." (or 405
//! for a method the route lacks), whatever the database holds, so an empty
//! database and placeholder names are enough to tell.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};

use crate::support::TestApp;

fn documented_routes() -> Vec<(Vec<String>, String, String)> {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/api.md"))
        .expect("docs/api.md");
    let table = doc
        .split("## Every route of the Pact Broker, and Treaty's")
        .nth(1)
        .expect("the route table's section");
    table
        .lines()
        .skip_while(|line| !line.starts_with("| methods"))
        .skip(2)
        .take_while(|line| line.starts_with('|'))
        .map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let methods = cells[1].split(',').map(|m| m.trim().to_owned()).collect();
            (
                methods,
                cells[2].trim_matches('`').to_owned(),
                cells[3].to_owned(),
            )
        })
        .collect()
}

/// A concrete path for a template: each `{parameter}` becomes a plain name.
fn concrete(template: &str) -> String {
    let mut path = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        path.push_str(&rest[..start]);
        let end = rest[start..].find('}').expect("closed parameter") + start;
        path.push_str(match &rest[start + 1..end] {
            "sha" | "other-sha" => "0123456789abcdef0123456789abcdef01234567",
            "uuid" | "environment" => "00000000-0000-0000-0000-000000000000",
            "number" => "1",
            "metadata" => "Y3ZuPTE",
            _ => "Foo",
        });
        rest = &rest[end + 1..];
    }
    path.push_str(rest);
    path
}

#[tokio::test]
async fn every_route_the_api_page_says_treaty_serves_is_routed() {
    let routes = documented_routes();
    assert!(
        routes.len() >= 99,
        "the table lists the Pact Broker's 99 route patterns: {}",
        routes.len()
    );
    let app = TestApp::new().await;
    let mut unrouted = Vec::new();
    for (methods, template, served_by) in &routes {
        assert!(
            served_by == "both" || served_by.ends_with("; Treaty"),
            "{template} is not served by Treaty: {served_by}"
        );
        for method in methods {
            let method: Method = method.parse().expect("an HTTP method");
            let mut request = Request::builder()
                .method(method.clone())
                .uri(concrete(template));
            let body = if matches!(method, Method::GET | Method::DELETE) {
                Body::empty()
            } else {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from("{}")
            };
            let reply = app.send(request.body(body).unwrap()).await;
            if reply.status == StatusCode::METHOD_NOT_ALLOWED
                || reply.text.contains("There is no resource at")
            {
                unrouted.push(format!("{method} {template}: {}", reply.status));
            }
        }
    }
    assert!(unrouted.is_empty(), "not routed:\n{}", unrouted.join("\n"));
}
