//! The web UI over HTTP: who gets HTML, what the pages refuse to do with
//! hostile names and links, and how they answer what does not exist.
//! (The browser tests are in the `treaty` crate: tests/it/ui.rs.)

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::json;
use tower::ServiceExt;

use crate::support::{Reply, TestApp, pact};

async fn page(app: &TestApp, path: &str) -> Reply {
    app.send(
        Request::get(path)
            .header(header::ACCEPT, "text/html,application/xhtml+xml")
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn a_browser_gets_the_home_page_and_an_api_client_the_index() {
    let app = TestApp::new().await;
    let response = app
        .router
        .clone()
        .oneshot(
            Request::get("/")
                .header(header::ACCEPT, "text/html,application/xhtml+xml,*/*;q=0.8")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .expect("infallible");
    assert_eq!(response.status(), StatusCode::OK);
    let header_value = |name: header::HeaderName| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert!(header_value(header::CONTENT_TYPE).starts_with("text/html"));
    let policy = header_value(header::CONTENT_SECURITY_POLICY);
    assert!(
        policy.starts_with("default-src 'none'; style-src 'self'"),
        "{policy}"
    );
    assert!(!policy.contains("unsafe"), "{policy}");
    // Only the Tokens page runs a script (its Copy button); others allow none.
    assert!(!policy.contains("script-src"), "{policy}");
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert!(String::from_utf8_lossy(&body).contains("<title>What runs where · Treaty</title>"));

    let index = app.get("/").await;
    assert_eq!(index.status, StatusCode::OK);
    assert!(index.content_type.starts_with("application/hal+json"));
    assert_eq!(
        index.body["_links"]["treaty:ui"]["href"],
        json!("http://broker.test/ui")
    );
}

#[tokio::test]
async fn names_and_links_from_clients_are_shown_as_text_never_as_markup() {
    let app = TestApp::new().await;
    let hostile = "<img src=x onerror=alert(1)>";
    let created = app
        .post(
            "/pacticipants",
            &json!({"name": hostile, "repositoryUrl": "javascript:alert(2)"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    app.put(
        "/pacticipants/web/versions/1.0.0",
        &json!({"buildUrl": "javascript:alert(3)"}),
    )
    .await;

    let home = page(&app, "/ui").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(!home.text.contains(hostile), "{}", home.text);
    assert!(
        home.text.contains("&#60;img src=x onerror=alert(1)&#62;"),
        "{}",
        home.text
    );

    let encoded = "%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E";
    let application = page(&app, &format!("/ui/applications/{encoded}")).await;
    assert_eq!(application.status, StatusCode::OK, "{}", application.text);
    assert!(
        !application.text.contains("href=\"javascript:"),
        "{}",
        application.text
    );

    let version = page(&app, "/ui/applications/web/versions/1.0.0").await;
    assert_eq!(version.status, StatusCode::OK, "{}", version.text);
    assert!(
        !version.text.contains("href=\"javascript:"),
        "{}",
        version.text
    );
}

#[tokio::test]
async fn what_does_not_exist_is_a_404_page_that_says_where_to_look() {
    let app = TestApp::new().await;
    for (path, says) in [
        (
            "/ui/applications/nobody",
            "Treaty knows no application named 'nobody'",
        ),
        (
            "/ui/applications/nobody/versions/1",
            "Treaty knows no version '1' of 'nobody'",
        ),
        (
            "/ui/environments/moon",
            "Treaty knows no environment named 'moon'",
        ),
        ("/ui/contracts/a/b", "b has published no pact with a"),
        ("/ui/deployments/12345", "There is no deployment 12345"),
        (
            "/ui/deployments/not-a-number",
            "There is no deployment not-a-number",
        ),
    ] {
        let reply = page(&app, path).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
        assert!(reply.content_type.starts_with("text/html"), "{path}");
        let says = says.replace('\'', "&#39;");
        assert!(reply.text.contains(&says), "{path}: {}", reply.text);
    }
}

#[tokio::test]
async fn a_filter_the_ledger_cannot_apply_is_explained_on_the_page() {
    let app = TestApp::new().await;
    let reply = page(&app, "/ui/deployments?status=exploded").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(
        reply.text.contains("There is no status &#39;exploded&#39;"),
        "{}",
        reply.text
    );
    let reply = page(&app, "/ui/deployments?page=-3").await;
    assert!(
        reply
            .text
            .contains("The page must be a whole number from 1."),
        "{}",
        reply.text
    );
    let repeated = page(&app, "/ui/deployments?page=1&page=2").await;
    assert_eq!(repeated.status, StatusCode::BAD_REQUEST);
    assert!(
        repeated.text.contains("\"status\":400"),
        "{}",
        repeated.text
    );
}

#[tokio::test]
async fn a_name_with_a_slash_links_to_its_own_page() {
    let app = TestApp::new().await;
    let published = app
        .publish(
            "team/web",
            "1.0 rc",
            Some("main"),
            &[],
            &[("orders", pact("team/web", "orders", &["/o"]))],
        )
        .await;
    assert_eq!(published.status, StatusCode::OK, "{}", published.text);
    let home = page(&app, "/ui/network").await;
    assert!(
        home.text.contains("/ui/applications/team%2Fweb"),
        "{}",
        home.text
    );
    let version = page(&app, "/ui/applications/team%2Fweb/versions/1.0%20rc").await;
    assert_eq!(version.status, StatusCode::OK, "{}", version.text);
    assert!(
        version
            .text
            .contains("/ui/contracts/orders/team%2Fweb?version=1.0%20rc"),
        "{}",
        version.text
    );
    let contract = page(&app, "/ui/contracts/orders/team%2Fweb?version=1.0%20rc").await;
    assert_eq!(contract.status, StatusCode::OK, "{}", contract.text);
    assert!(contract.text.contains("a request for /o"));
}
