//! The pages of bi-directional contracts over HTTP: what a provider's own
//! test output and a pact may hold is shown as text, a pair not compared yet
//! says so, a large document is cut with a way to get all of it, and what
//! does not exist is a 404 page. (The browser test is in the `treaty` crate:
//! tests/it/ui_bdct.rs.)

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine;
use serde_json::{Value, json};

use crate::support::{Reply, TestApp};

async fn page(app: &TestApp, path: &str) -> Reply {
    app.send(
        Request::get(path)
            .header(header::ACCEPT, "text/html,application/xhtml+xml")
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

fn base64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

const HOSTILE: &str = "<img src=x onerror=alert(1)>";

async fn publish_contract(app: &TestApp, version: &str, document: &str, build_url: &str) {
    let reply = app
        .post(
            "/provider-contracts/provider/pets/publish",
            &json!({
                "pacticipantVersionNumber": version, "branch": "main",
                "buildUrl": build_url,
                "contract": {
                    "content": base64(document), "contentType": "application/json", "specification": "oas",
                    "selfVerificationResults": {
                        "success": false, "content": base64(&format!("1 failure: {HOSTILE}")),
                        "contentType": "text/plain", "verifier": HOSTILE
                    }
                }
            }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
}

fn document(paths: usize) -> String {
    let mut all = serde_json::Map::new();
    for n in 0..paths {
        all.insert(
            format!("/pets/{n}"),
            json!({"get": {"responses": {"200": {"description": "a pet, described at some length"}}}}),
        );
    }
    json!({"openapi": "3.0.3", "info": {"title": "Pets", "version": "1"}, "paths": Value::Object(all)})
        .to_string()
}

#[tokio::test]
async fn a_provider_contract_and_a_pair_not_compared_yet_are_shown_as_text() {
    let app = TestApp::new().await;
    publish_contract(&app, "p-1", &document(1), "javascript:alert(2)").await;
    // No background worker here: the pair stays not compared.
    let pact = json!({
        "consumer": {"name": "web"}, "provider": {"name": "pets"},
        "interactions": [{"description": HOSTILE, "request": {"method": "GET", "path": "/pets/0"},
          "response": {"status": 200}}],
        "metadata": {"pactSpecification": {"version": "2.0.0"}}
    });
    let published = app
        .publish("web", "w-1", Some("main"), &[], &[("pets", pact)])
        .await;
    assert!(published.status.is_success(), "{}", published.text);

    let contract = page(&app, "/ui/applications/pets/provider-contracts/p-1").await;
    assert_eq!(contract.status, StatusCode::OK, "{}", contract.text);
    for says in [
        "✗ failed: not deployable",
        "1 failure: &#60;img src=x onerror=alert(1)&#62;",
        "by &#60;img src=x onerror=alert(1)&#62;",
        "? not compared yet",
        "/ui/applications/pets/provider-contracts/p-1/comparisons/web/w-1",
        "&#34;openapi&#34;: &#34;3.0.3&#34;",
    ] {
        assert!(contract.text.contains(says), "{says}: {}", contract.text);
    }
    assert!(!contract.text.contains(HOSTILE), "{}", contract.text);
    assert!(!contract.text.contains("href=\"javascript:"));

    let comparison = page(
        &app,
        "/ui/applications/pets/provider-contracts/p-1/comparisons/web/w-1",
    )
    .await;
    assert_eq!(comparison.status, StatusCode::OK, "{}", comparison.text);
    assert!(
        comparison.text.contains("? not compared yet")
            && comparison.text.contains("--retry-while-unknown"),
        "{}",
        comparison.text
    );
    assert!(!comparison.text.contains(HOSTILE));

    // The application and version pages link to the contract.
    for path in [
        "/ui/applications/pets",
        "/ui/applications/pets/versions/p-1",
    ] {
        let reply = page(&app, path).await;
        assert!(
            reply
                .text
                .contains("/ui/applications/pets/provider-contracts/p-1\""),
            "{path}: {}",
            reply.text
        );
    }
}

#[tokio::test]
async fn a_large_document_is_cut_and_the_page_says_where_all_of_it_is() {
    let app = TestApp::new().await;
    let large = document(4_000);
    assert!(large.len() > 256 * 1024);
    publish_contract(&app, "p-1", &large, "https://ci.example/builds/7").await;
    let contract = page(&app, "/ui/applications/pets/provider-contracts/p-1").await;
    assert_eq!(contract.status, StatusCode::OK);
    assert!(
        contract.text.contains("its first 256 KiB are shown"),
        "{}",
        &contract.text[..2_000.min(contract.text.len())]
    );
    assert!(
        contract
            .text
            .contains("/provider-contracts/provider/pets/version/p-1\"")
    );
    assert!(contract.text.len() < 400 * 1024, "{}", contract.text.len());
    // A build given over http(s) is a link.
    assert!(
        contract
            .text
            .contains("<a href=\"https://ci.example/builds/7\">")
    );
}

#[tokio::test]
async fn a_provider_contract_or_comparison_that_does_not_exist_is_a_404_page() {
    let app = TestApp::new().await;
    publish_contract(&app, "p-1", &document(1), "https://ci.example/builds/7").await;
    for (path, says) in [
        (
            "/ui/applications/pets/provider-contracts/p-9",
            "pets version p-9 published no provider contract",
        ),
        (
            "/ui/applications/pets/provider-contracts/p-9/comparisons/web/w-1",
            "pets version p-9 published no provider contract",
        ),
        (
            "/ui/applications/pets/provider-contracts/p-1/comparisons/web/w-1",
            "web version w-1 published no pact with pets",
        ),
    ] {
        let reply = page(&app, path).await;
        assert_eq!(
            reply.status,
            StatusCode::NOT_FOUND,
            "{path}: {}",
            reply.text
        );
        assert!(reply.text.contains(says), "{path}: {}", reply.text);
    }
}
