//! Every kind of bad input gets a 4xx problem document; nothing gets a 500
//! except a real fault, and a fault does not stop the server.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::json;
use treaty_server::ServerConfig;

use crate::support::{TestApp, pact};

#[tokio::test]
async fn malformed_json_is_a_400_that_says_so() {
    let app = TestApp::new().await;
    let reply = app
        .send(
            Request::post("/contracts/publish")
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::ACCEPT, "application/problem+json")
                .body(Body::from("{\"pacticipantName\": "))
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.content_type, "application/problem+json;charset=utf-8");
    assert_eq!(reply.body["title"], "Bad request");
    assert_eq!(reply.body["status"], 400);
    assert!(
        reply.body["detail"]
            .as_str()
            .unwrap()
            .contains("not valid JSON"),
        "{}",
        reply.text
    );
}

#[tokio::test]
async fn a_document_that_is_not_a_pact_is_refused() {
    let app = TestApp::new().await;
    let reply = app
        .put("/pacts/provider/Bar/consumer/Foo/version/1", &json!([1, 2]))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(
        reply.body["detail"]
            .as_str()
            .unwrap()
            .contains("must be a JSON object")
    );

    let reply = app
        .put(
            "/pacts/provider/Bar/consumer/Foo/version/1",
            &json!({"consumer": {"name": "Other"}, "provider": {"name": "Bar"}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.body["errors"]["consumer.name"][0],
        "name in pact 'Other' does not match name in URL path 'Foo'."
    );
    assert_eq!(
        app.get("/pacticipants/Foo").await.status,
        StatusCode::NOT_FOUND,
        "nothing was written"
    );
}

#[tokio::test]
async fn missing_and_wrongly_typed_fields_are_named() {
    let app = TestApp::new().await;
    let reply = app
        .post(
            "/contracts/publish",
            &json!({"pacticipantName": "Foo", "contracts": []}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.content_type, "application/hal+json;charset=utf-8");
    assert_eq!(
        reply.body["errors"]["pacticipantVersionNumber"][0],
        "is missing"
    );

    app.publish(
        "Foo",
        "1",
        None,
        &[],
        &[("Bar", pact("Foo", "Bar", &["/a"]))],
    )
    .await;
    let pact = app.get("/pacts/provider/Bar/consumer/Foo/latest").await;
    let href = pact.body["_links"]["pb:publish-verification-results"]["href"]
        .as_str()
        .unwrap()
        .trim_start_matches(crate::support::BASE)
        .to_owned();
    let reply = app
        .post(
            &href,
            &json!({"success": "yes", "providerApplicationVersion": 2}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.body["errors"]["success"][0], "must be true or false");
    assert_eq!(
        reply.body["errors"]["providerApplicationVersion"][0],
        "must be a string"
    );

    let reply = app.post("/pacticipants", &json!({"name": 42})).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(
        reply.body["detail"]
            .as_str()
            .unwrap()
            .contains("invalid type"),
        "{}",
        reply.text
    );
}

#[tokio::test]
async fn unknown_pacticipants_and_versions_are_404s_in_the_pact_brokers_format() {
    let app = TestApp::new().await;
    let reply = app.get("/pacticipants/Nobody").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    // In HAL, as the Pact Broker answers for a pacticipant named in the path.
    assert_eq!(reply.content_type, "application/hal+json;charset=utf-8");
    assert_eq!(
        reply.body["error"],
        "No pacticipant with name 'Nobody' found"
    );
    assert_eq!(reply.body["status"], 404);

    app.post("/pacticipants", &json!({"name": "Foo"})).await;
    let reply = app.get("/pacticipants/Foo/versions/9.9.9").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    // `error` says what the Pact Broker says (its clients' contracts check it);
    // `detail` says exactly what is missing.
    assert_eq!(
        reply.body["error"],
        "The requested document was not found on this server."
    );
    assert_eq!(
        reply.body["detail"],
        "No version with number '9.9.9' found for pacticipant 'Foo'"
    );

    let reply = app.get("/no/such/route").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.body["title"], "Not found");
}

#[tokio::test]
async fn a_body_over_the_limit_is_a_413() {
    let app = TestApp::with_config(ServerConfig {
        max_body_bytes: 1024,
        ..ServerConfig::default()
    })
    .await;
    let big = json!({"name": "x".repeat(4096)});
    let reply = app.post("/pacticipants", &big).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        reply.body["detail"]
            .as_str()
            .unwrap()
            .contains("1024 bytes")
    );
}

#[tokio::test]
async fn a_body_that_is_not_json_is_a_415() {
    let app = TestApp::new().await;
    let reply = app
        .send(
            Request::post("/contracts/publish")
                .header(header::CONTENT_TYPE, "text/plain")
                .body(Body::from("hello"))
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(reply.body["title"], "Unsupported media type");
}

#[tokio::test]
async fn a_wrong_method_is_a_405_problem() {
    let app = TestApp::new().await;
    let reply = app
        .send_json("POST", "/pacticipants/Foo", "application/json", &json!({}))
        .await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.body["title"], "Method not allowed");
}

#[tokio::test]
async fn a_panicking_handler_is_a_500_and_the_server_keeps_serving() {
    let app = TestApp::with_config(ServerConfig {
        test_provider_states: true,
        ..ServerConfig::default()
    })
    .await;
    let reply = app.get("/test/error").await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(reply.body["title"], "Server error");
    assert!(reply.body["error"]["reference"].as_str().is_some());
    assert!(
        !reply.text.contains("on purpose"),
        "the panic message is not leaked"
    );
    assert_eq!(app.get("/").await.status, StatusCode::OK);
}

#[tokio::test]
async fn clients_that_ask_for_problem_json_get_it() {
    let app = TestApp::new().await;
    for (accept, expected) in [
        (
            "application/problem+json",
            "application/problem+json;charset=utf-8",
        ),
        ("*/*", "application/json;charset=utf-8"),
        (
            "application/hal+json, application/json",
            "application/json;charset=utf-8",
        ),
    ] {
        let reply = app
            .send(
                Request::get("/no/such/route")
                    .header(header::ACCEPT, accept)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(reply.content_type, expected, "Accept: {accept}");
        assert_eq!(reply.body["type"], "http://broker.test/problems/not-found");
    }
}

#[tokio::test]
async fn blank_and_control_character_names_are_refused() {
    let app = TestApp::new().await;
    let reply = app
        .put("/pacticipants/Foo/versions/a%0Ab/tags/prod", &json!({}))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(
        reply.body["errors"]["version"][0]
            .as_str()
            .unwrap()
            .contains("control character")
    );
    let reply = app
        .put("/pacticipants/Foo/versions/1/tags/%20", &json!({}))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.body["errors"]["tag"][0], "cannot be blank");
}

#[tokio::test]
async fn bad_pagination_is_a_400() {
    let app = TestApp::new().await;
    let reply = app.get("/pacticipants?page=0").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.body["errors"]["page"][0],
        "must be greater than or equal to 1"
    );
    let reply = app.get("/pacticipants?pageSize=abc").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.body["errors"]["pageSize"][0], "must be an integer");
}

#[tokio::test]
async fn publish_problems_are_worded_as_the_pact_brokers() {
    use base64::Engine;
    let app = TestApp::new().await;
    let content = base64::engine::general_purpose::STANDARD
        .encode(crate::support::pact("Foo", "Bar", &["/a"]).to_string());
    let reply = app
        .post(
            "/contracts/publish",
            &json!({"pacticipantName": "Foo", "pacticipantVersionNumber": "1", "contracts": [
                {"consumerName": "Other", "providerName": "Bar", "specification": "pact",
                 "contentType": "application/json", "content": content},
                {"consumerName": "Foo", "providerName": "Bar", "specification": "pact",
                 "contentType": "application/json", "content": "!!!"}
            ]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.body["errors"]["contracts"],
        json!([
            "consumer name in contract content ('Foo') must match consumerName in contract params ('Other') (at index 0)",
            "consumerName ('Other') must match pacticipantName ('Foo') (at index 0)",
            "is not valid Base64 (at index 1)",
            "content could not be parsed as application/json (at index 1)",
        ])
    );
}

/// Without `Accept: application/problem+json`, a refusal has the content type
/// the Pact Broker gives it: HAL for what its resources refuse, plain JSON
/// for what does not exist and for the publication conflict.
#[tokio::test]
async fn refusals_have_the_pact_brokers_content_types() {
    let app = TestApp::new().await;
    let hal = "application/hal+json;charset=utf-8";
    let plain = "application/json;charset=utf-8";
    let unreadable = app
        .send(
            Request::post("/contracts/publish")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from("{bad"))
                .unwrap(),
        )
        .await;
    assert_eq!(
        (unreadable.status, unreadable.content_type.as_str()),
        (StatusCode::BAD_REQUEST, hal)
    );

    let path = "/pacts/provider/Bar/consumer/Foo/version/1.0.0";
    assert!(
        app.put(path, &pact("Foo", "Bar", &["/a"]))
            .await
            .status
            .is_success()
    );
    let changed = app.put(path, &pact("Foo", "Bar", &["/b"])).await;
    assert_eq!(
        (changed.status, changed.content_type.as_str()),
        (StatusCode::CONFLICT, hal),
        "{}",
        changed.text
    );

    let missing = app.get("/pacticipants/Foo/versions/9.9.9").await;
    assert_eq!(
        (missing.status, missing.content_type.as_str()),
        (StatusCode::NOT_FOUND, plain)
    );
}

/// The `type` of an error answer is a page that says what the problem means
/// and what to do, readable without credentials (a 401's type among them);
/// every problem type has one, and a name no answer uses is a 404.
#[tokio::test]
async fn the_type_of_an_error_answer_leads_to_its_page() {
    let app = TestApp::with_config(crate::access::config()).await;
    let refused = app.get("/pacticipants").await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    let problem_type = refused.body["type"].as_str().expect("a type").to_owned();
    let path = problem_type
        .split_once("/problems/")
        .map(|(_, slug)| format!("/problems/{slug}"))
        .expect("a problem type URL");
    let page = app.get(&path).await;
    assert_eq!(page.status, StatusCode::OK, "{path}");
    assert!(
        page.content_type.starts_with("text/html"),
        "{}",
        page.content_type
    );
    assert!(page.text.contains("<h1>Unauthorized</h1>"), "{}", page.text);
    assert!(page.text.contains("bearer token"), "{}", page.text);

    for problem in treaty_server::PROBLEM_TYPES {
        let page = app.get(&format!("/problems/{}", problem.slug)).await;
        assert_eq!(page.status, StatusCode::OK, "{}", problem.slug);
        let shown = problem.title.replace('\'', "&#39;");
        assert!(page.text.contains(&shown), "{}", page.text);
    }
    let unknown = app.get("/problems/%3Cscript%3E").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    // A name no page has comes back in a JSON problem, never in a page.
    assert!(
        !unknown.content_type.starts_with("text/html"),
        "{}",
        unknown.content_type
    );
}
