use axum::http::StatusCode;
use serde_json::json;

use crate::support::{BASE, TestApp, pact, redact_times};

#[tokio::test]
async fn a_verification_is_published_and_read_back() {
    let app = TestApp::new().await;
    app.publish(
        "Foo",
        "1",
        Some("main"),
        &[],
        &[("Bar", pact("Foo", "Bar", &["/a"]))],
    )
    .await;
    app.put("/pacticipants/Bar/branches/main/versions/2.0.0", &json!({}))
        .await;
    app.put("/pacticipants/Bar/versions/2.0.0/tags/dev", &json!({}))
        .await;
    let pact = app.get("/pacts/provider/Bar/consumer/Foo/latest").await;
    let href = pact.body["_links"]["pb:publish-verification-results"]["href"]
        .as_str()
        .unwrap()
        .trim_start_matches(BASE)
        .to_owned();
    let mut reply = app
        .post(&href, &json!({
            "success": true,
            "providerApplicationVersion": "2.0.0",
            "buildUrl": "https://ci/builds/9",
            "testResults": [{"interactionId": "x", "success": true}],
            "verifiedBy": {"implementation": "Pact-Rust", "version": "1.4.7", "clientLanguage": {"name": "pact_verifier_cli", "testFramework": "pact_verifier_cli", "version": "1.3.5"}}
        }))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let location = reply.location.clone().unwrap();
    assert!(location.ends_with("/verification-results/1"), "{location}");
    redact_times(&mut reply.body);
    insta::assert_json_snapshot!(reply.body);

    let read = app.get(location.trim_start_matches(BASE)).await;
    assert_eq!(read.body["providerApplicationVersion"], "2.0.0");
    let latest = app
        .get("/pacts/provider/Bar/consumer/Foo/latest/verification-results/latest")
        .await;
    assert_eq!(latest.body["success"], true);
    let summary = app
        .get("/verification-results/consumer/Foo/version/1/latest")
        .await;
    assert_eq!(summary.body["success"], true);
    assert_eq!(
        summary.body["_embedded"]["verificationResults"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let integrations = app.get("/integrations").await;
    assert_eq!(
        integrations.body["_embedded"]["integrations"][0]["verificationStatus"],
        "success"
    );
}

#[tokio::test]
async fn verifying_an_unknown_pact_content_is_a_404() {
    let app = TestApp::new().await;
    app.publish(
        "Foo",
        "1",
        None,
        &[],
        &[("Bar", pact("Foo", "Bar", &["/a"]))],
    )
    .await;
    let reply = app
        .post(
            "/pacts/provider/Bar/consumer/Foo/pact-version/0000000000000000000000000000000000000000/verification-results",
            &json!({"success": true, "providerApplicationVersion": "1"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.get("/pacticipants/Bar/versions/1").await.status,
        StatusCode::NOT_FOUND,
        "no provider version left behind"
    );
}

#[tokio::test]
async fn the_metadata_path_from_pacts_for_verification_takes_results_too() {
    let app = TestApp::new().await;
    app.publish(
        "Foo",
        "1",
        None,
        &[],
        &[("Bar", pact("Foo", "Bar", &["/a"]))],
    )
    .await;
    let pact = app.get("/pacts/provider/Bar/consumer/Foo/latest").await;
    let sha = pact.body["_links"]["pb:pact-version"]["name"]
        .as_str()
        .unwrap()
        .to_owned();
    let reply = app
        .post(
            &format!("/pacts/provider/Bar/consumer/Foo/pact-version/{sha}/metadata/c1tdW2xdPXRydWU/verification-results"),
            &json!({"success": false, "providerApplicationVersion": "3"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(reply.body["success"], false);
}
