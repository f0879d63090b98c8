use axum::http::StatusCode;
use serde_json::json;

use crate::support::{TestApp, pact, redact_times};

#[tokio::test]
async fn create_read_update_and_delete_a_pacticipant() {
    let app = TestApp::new().await;
    let reply = app
        .post(
            "/pacticipants",
            &json!({"name": "foo-service", "repositoryUrl": "https://git/foo"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(
        reply.location.as_deref(),
        Some("http://broker.test/pacticipants/foo-service")
    );
    assert_eq!(reply.body["displayName"], "Foo Service");

    // Creating again returns the existing one, with 201 as the Pact Broker.
    let again = app
        .post("/pacticipants", &json!({"name": "foo-service"}))
        .await;
    assert_eq!(again.status, StatusCode::CREATED);
    assert_eq!(again.body["repositoryUrl"], "https://git/foo");

    let patched = app
        .patch("/pacticipants/foo-service", &json!({"mainBranch": "trunk"}))
        .await;
    assert_eq!(patched.status, StatusCode::OK);
    assert_eq!(patched.body["mainBranch"], "trunk");
    assert_eq!(
        patched.body["repositoryUrl"], "https://git/foo",
        "PATCH keeps other fields"
    );

    let replaced = app
        .put("/pacticipants/foo-service", &json!({"displayName": "Foo"}))
        .await;
    assert_eq!(replaced.body["displayName"], "Foo");
    assert!(
        replaced.body.get("repositoryUrl").is_none(),
        "PUT clears fields not given"
    );

    assert_eq!(
        app.delete("/pacticipants/foo-service").await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get("/pacticipants/foo-service").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn patch_creates_a_missing_pacticipant() {
    let app = TestApp::new().await;
    let reply = app
        .patch("/pacticipants/Bar", &json!({"mainBranch": "main"}))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(reply.body["mainBranch"], "main");
    assert_eq!(
        app.put("/pacticipants/Nobody", &json!({})).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn pacticipant_shape() {
    let app = TestApp::new().await;
    app.publish(
        "Foo",
        "1.0.0",
        Some("main"),
        &["dev"],
        &[("Bar", pact("Foo", "Bar", &["/a"]))],
    )
    .await;
    app.put("/pacticipants/Foo/labels/team-a", &json!({})).await;
    let mut reply = app.get("/pacticipants/Foo").await;
    redact_times(&mut reply.body);
    insta::assert_json_snapshot!(reply.body);
}

#[tokio::test]
async fn list_filter_and_paginate_pacticipants() {
    let app = TestApp::new().await;
    for name in ["Alpha", "Beta", "Gamma"] {
        app.post("/pacticipants", &json!({"name": name})).await;
    }
    let all = app.get("/pacticipants").await;
    assert_eq!(
        all.body["_embedded"]["pacticipants"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert!(all.body.get("page").is_none());

    let filtered = app.get("/pacticipants?q=amm").await;
    let names: Vec<&str> = filtered.body["_embedded"]["pacticipants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Gamma"]);

    let page = app.get("/pacticipants?page=2&size=2").await;
    assert_eq!(page.body["_embedded"]["pacticipants"][0]["name"], "Gamma");
    assert_eq!(page.body["page"]["totalElements"], 3);
    assert_eq!(page.body["page"]["totalPages"], 2);
    assert!(
        page.body["_links"]["previous"]["href"]
            .as_str()
            .unwrap()
            .ends_with("size=2&page=1")
    );
    assert!(page.body["_links"].get("next").is_none());
}

#[tokio::test]
async fn labels_group_pacticipants() {
    let app = TestApp::new().await;
    app.post("/pacticipants", &json!({"name": "Foo"})).await;
    assert_eq!(
        app.put("/pacticipants/Foo/labels/ui", &json!({}))
            .await
            .status,
        StatusCode::CREATED
    );
    assert_eq!(
        app.put("/pacticipants/Foo/labels/ui", &json!({}))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.put("/pacticipants/Nobody/labels/ui", &json!({}))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let labelled = app.get("/pacticipants/label/ui").await;
    assert_eq!(labelled.body["_embedded"]["pacticipants"][0]["name"], "Foo");
    assert_eq!(
        app.get("/labels").await.body["_embedded"]["labels"][0]["name"],
        "ui"
    );
    assert_eq!(
        app.delete("/pacticipants/Foo/labels/ui").await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get("/pacticipants/Foo/labels/ui").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn names_with_spaces_slashes_dots_and_non_ascii_letters_work_when_encoded() {
    let app = TestApp::new().await;
    for (name, encoded) in [
        ("Foo Service", "Foo%20Service"),
        ("team/foo", "team%2Ffoo"),
        ("foo.api", "foo.api"),
        ("Zürich Ørders", "Z%C3%BCrich%20%C3%98rders"),
    ] {
        let reply = app
            .put(
                &format!("/pacticipants/{encoded}/versions/1.0%2Fbeta/tags/feat%2Fx"),
                &json!({}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{name}: {}", reply.text);
        let got = app.get(&format!("/pacticipants/{encoded}")).await;
        assert_eq!(got.body["name"], name);
        assert_eq!(
            got.body["_links"]["self"]["href"],
            format!("http://broker.test/pacticipants/{encoded}")
        );
        let version = app
            .get(&format!("/pacticipants/{encoded}/versions/1.0%2Fbeta"))
            .await;
        assert_eq!(version.body["number"], "1.0/beta");
        assert_eq!(version.body["_embedded"]["tags"][0]["name"], "feat/x");
    }
}
