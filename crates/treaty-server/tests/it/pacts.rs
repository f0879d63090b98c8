use axum::http::StatusCode;
use serde_json::json;

use crate::support::{TestApp, pact, redact_times};

#[tokio::test]
async fn publish_contracts_answers_with_notices_and_links() {
    let app = TestApp::new().await;
    let mut reply = app
        .publish(
            "Foo",
            "1.0.0",
            Some("main"),
            &["dev", "ci"],
            &[
                ("Bar", pact("Foo", "Bar", &["/a"])),
                ("Baz", pact("Foo", "Baz", &["/b"])),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    redact_times(&mut reply.body);
    insta::assert_json_snapshot!(reply.body);
}

#[tokio::test]
async fn identical_content_is_stored_once_and_shared() {
    let app = TestApp::new().await;
    app.publish(
        "Foo",
        "1",
        None,
        &[],
        &[("Bar", pact("Foo", "Bar", &["/a", "/b"]))],
    )
    .await;
    // Same interactions, other order, other whitespace: same content.
    let mut reordered = pact("Foo", "Bar", &["/b", "/a"]);
    reordered["metadata"]["client"] = json!({"name": "other"});
    app.publish("Foo", "2", None, &[], &[("Bar", reordered)])
        .await;
    let first = app.get("/pacts/provider/Bar/consumer/Foo/version/1").await;
    let second = app.get("/pacts/provider/Bar/consumer/Foo/version/2").await;
    assert_eq!(
        first.body["_links"]["pb:pact-version"]["href"],
        second.body["_links"]["pb:pact-version"]["href"]
    );
    // A verification of the content covers both consumer versions.
    assert_eq!(
        app.verify("Foo", "Bar", "10", true).await.status,
        StatusCode::CREATED
    );
    let for_first = app
        .get("/pacts/provider/Bar/consumer/Foo/version/1/verification-results/latest")
        .await;
    assert_eq!(for_first.body["providerApplicationVersion"], "10");
}

#[tokio::test]
async fn changing_published_content_is_a_409_and_nothing_lands() {
    let app = TestApp::new().await;
    app.publish(
        "Foo",
        "1",
        None,
        &[],
        &[("Bar", pact("Foo", "Bar", &["/a"]))],
    )
    .await;
    // Two contracts: the first is new, the second changes what Foo 1 published for Bar.
    let reply = app
        .publish(
            "Foo",
            "1",
            Some("feat"),
            &["t"],
            &[
                ("Qux", pact("Foo", "Qux", &["/q"])),
                ("Bar", pact("Foo", "Bar", &["/changed"])),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.text);
    assert_eq!(reply.content_type, "application/json;charset=utf-8");
    let text = reply.body["notices"][0]["text"].as_str().unwrap();
    assert!(
        text.starts_with(
            "Cannot change the content of the pact for Foo version 1 and provider Bar"
        ),
        "{text}"
    );
    assert_eq!(reply.body["notices"][0]["type"], "error");
    assert!(reply.body["errors"]["contracts"][0].as_str().is_some());
    assert_eq!(
        app.get("/pacticipants/Qux").await.status,
        StatusCode::NOT_FOUND,
        "the whole request rolled back"
    );
    assert!(
        app.get("/pacticipants/Foo/versions/1").await.body["_embedded"]["tags"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    let republished = app
        .publish(
            "Foo",
            "1",
            None,
            &[],
            &[("Bar", pact("Foo", "Bar", &["/a"]))],
        )
        .await;
    assert_eq!(republished.status, StatusCode::OK);
    assert!(
        republished.body["notices"]
            .to_string()
            .contains("republished")
    );
}

#[tokio::test]
async fn on_conflict_merge_adds_interactions() {
    let app = TestApp::new().await;
    app.publish(
        "Foo",
        "1",
        None,
        &[],
        &[("Bar", pact("Foo", "Bar", &["/a"]))],
    )
    .await;
    let body = json!({
        "pacticipantName": "Foo", "pacticipantVersionNumber": "1",
        "contracts": [{"consumerName": "Foo", "providerName": "Bar", "specification": "pact",
            "contentType": "application/json", "onConflict": "merge",
            "content": base64_of(&pact("Foo", "Bar", &["/b"]))}]
    });
    let reply = app.post("/contracts/publish", &body).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let merged = app.get("/pacts/provider/Bar/consumer/Foo/version/1").await;
    assert_eq!(merged.body["interactions"].as_array().unwrap().len(), 2);
}

fn base64_of(value: &serde_json::Value) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(value.to_string())
}

#[tokio::test]
async fn the_older_put_publishes_one_pact() {
    let app = TestApp::new().await;
    let path = "/pacts/provider/Bar/consumer/Foo/version/1.0.0";
    let created = app.put(path, &pact("Foo", "Bar", &["/a"])).await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(
        created.location.as_deref(),
        Some("http://broker.test/pacts/provider/Bar/consumer/Foo/version/1.0.0")
    );
    assert_eq!(
        app.put(path, &pact("Foo", "Bar", &["/a"])).await.status,
        StatusCode::OK
    );
    let conflict = app.put(path, &pact("Foo", "Bar", &["/b"])).await;
    assert_eq!(conflict.status, StatusCode::CONFLICT);
    assert!(
        conflict.body["error"]
            .as_str()
            .unwrap()
            .contains("Cannot change the content")
    );
}

#[tokio::test]
async fn pacts_are_found_by_version_latest_tag_branch_and_hash() {
    let app = TestApp::new().await;
    app.publish(
        "Foo",
        "1",
        Some("main"),
        &["prod"],
        &[("Bar", pact("Foo", "Bar", &["/1"]))],
    )
    .await;
    app.publish(
        "Foo",
        "2",
        Some("feat"),
        &[],
        &[("Bar", pact("Foo", "Bar", &["/2"]))],
    )
    .await;
    app.publish(
        "Foo",
        "3",
        Some("main"),
        &["dev"],
        &[("Bar", pact("Foo", "Bar", &["/3"]))],
    )
    .await;
    let base = "/pacts/provider/Bar/consumer/Foo";
    let version_of = |body: &serde_json::Value| {
        body["_links"]["pb:consumer-version"]["name"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        version_of(&app.get(&format!("{base}/latest")).await.body),
        "3"
    );
    assert_eq!(
        version_of(&app.get(&format!("{base}/latest/prod")).await.body),
        "1"
    );
    assert_eq!(
        version_of(&app.get(&format!("{base}/latest-untagged")).await.body),
        "2"
    );
    assert_eq!(
        version_of(&app.get(&format!("{base}/branch/feat/latest")).await.body),
        "2"
    );
    assert_eq!(
        app.get(&format!("{base}/latest/nope")).await.status,
        StatusCode::NOT_FOUND
    );

    let second = app.get(&format!("{base}/version/2")).await;
    let sha_href = second.body["_links"]["pb:pact-version"]["href"]
        .as_str()
        .unwrap()
        .trim_start_matches(crate::support::BASE)
        .to_owned();
    assert_eq!(version_of(&app.get(&sha_href).await.body), "2");

    let all = app.get(&format!("{base}/versions")).await;
    assert_eq!(all.body["_embedded"]["pacts"].as_array().unwrap().len(), 3);
    let main = app.get(&format!("{base}/branch/main")).await;
    assert_eq!(main.body["_embedded"]["pacts"].as_array().unwrap().len(), 2);
    let main_latest = app.get(&format!("{base}/branch/latest/versions")).await;
    assert_eq!(
        main_latest.body["_embedded"]["pacts"][0]["consumerVersionNumber"],
        "3"
    );
}

#[tokio::test]
async fn provider_pacts_list_the_latest_per_consumer() {
    let app = TestApp::new().await;
    app.publish(
        "Foo",
        "1",
        None,
        &["prod"],
        &[("Bar", pact("Foo", "Bar", &["/1"]))],
    )
    .await;
    app.publish(
        "Foo",
        "2",
        None,
        &[],
        &[("Bar", pact("Foo", "Bar", &["/2"]))],
    )
    .await;
    app.publish(
        "Qux",
        "7",
        None,
        &[],
        &[("Bar", pact("Qux", "Bar", &["/q"]))],
    )
    .await;
    let latest = app.get("/pacts/provider/Bar/latest").await;
    let links = latest.body["_links"]["pb:pacts"].as_array().unwrap();
    assert_eq!(links.len(), 2);
    assert_eq!(links[0]["name"], "Foo");
    assert!(
        links[0]["href"]
            .as_str()
            .unwrap()
            .ends_with("/consumer/Foo/version/2")
    );
    let tagged = app.get("/pacts/provider/Bar/latest/prod").await;
    assert!(
        tagged.body["_links"]["pb:pacts"][0]["href"]
            .as_str()
            .unwrap()
            .ends_with("/version/1")
    );
    let everything = app.get("/pacts/latest").await;
    assert_eq!(everything.body["pacts"].as_array().unwrap().len(), 2);
    assert_eq!(
        app.get("/pacts/provider/Nobody/latest").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn pact_shape() {
    let app = TestApp::new().await;
    app.publish(
        "Foo",
        "1.0.0",
        Some("main"),
        &[],
        &[("Bar", pact("Foo", "Bar", &["/a"]))],
    )
    .await;
    let mut reply = app
        .get("/pacts/provider/Bar/consumer/Foo/version/1.0.0")
        .await;
    redact_times(&mut reply.body);
    insta::assert_json_snapshot!(reply.body);
}

#[tokio::test]
async fn deleting_a_pact_and_an_integration() {
    let app = TestApp::new().await;
    app.publish(
        "Foo",
        "1",
        None,
        &[],
        &[("Bar", pact("Foo", "Bar", &["/1"]))],
    )
    .await;
    app.publish(
        "Foo",
        "2",
        None,
        &[],
        &[("Bar", pact("Foo", "Bar", &["/2"]))],
    )
    .await;
    assert_eq!(
        app.delete("/pacts/provider/Bar/consumer/Foo/version/2")
            .await
            .status,
        StatusCode::OK
    );
    assert!(
        app.get("/pacts/provider/Bar/consumer/Foo/latest")
            .await
            .body["_links"]["self"]["href"]
            .as_str()
            .unwrap()
            .ends_with("/version/1")
    );
    assert_eq!(
        app.get("/integrations").await.body["_embedded"]["integrations"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        app.delete("/integrations/provider/Bar/consumer/Foo")
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get("/pacts/provider/Bar/consumer/Foo/latest")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert!(
        app.get("/integrations").await.body["_embedded"]["integrations"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}
