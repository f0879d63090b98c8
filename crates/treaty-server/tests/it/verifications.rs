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
    // Numbered as on a new Pact Broker database: from 101.
    assert!(
        location.ends_with("/verification-results/101"),
        "{location}"
    );
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

#[tokio::test]
async fn the_latest_verification_of_the_latest_tagged_pact_honours_the_tag() {
    let app = TestApp::new().await;
    app.publish(
        "Foo",
        "1",
        None,
        &["prod"],
        &[("Bar", pact("Foo", "Bar", &["/a"]))],
    )
    .await;
    app.verify("Foo", "Bar", "10", true).await;
    app.publish(
        "Foo",
        "2",
        None,
        &["dev"],
        &[("Bar", pact("Foo", "Bar", &["/b"]))],
    )
    .await;
    app.verify("Foo", "Bar", "11", false).await;
    let pair = "/pacts/provider/Bar/consumer/Foo";
    let prod = app
        .get(&format!("{pair}/latest/prod/verification-results/latest"))
        .await;
    assert_eq!(prod.status, StatusCode::OK, "{}", prod.text);
    assert_eq!(prod.body["providerApplicationVersion"], "10");
    assert_eq!(
        prod.body["_links"]["pb:pact-version"]["name"],
        "Pact between Foo (1) and Bar"
    );
    let latest = app
        .get(&format!("{pair}/latest/verification-results/latest"))
        .await;
    assert_eq!(latest.body["providerApplicationVersion"], "11");
    assert_eq!(
        app.get(&format!("{pair}/latest/nope/verification-results/latest"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_consumer_version_s_latest_verifications_summarise_its_providers() {
    let app = TestApp::new().await;
    app.publish(
        "Foo",
        "1",
        None,
        &[],
        &[
            ("Bar", pact("Foo", "Bar", &["/a"])),
            ("Baz", pact("Foo", "Baz", &["/a"])),
            ("Qux", pact("Foo", "Qux", &["/a"])),
        ],
    )
    .await;
    app.verify("Foo", "Bar", "1", true).await;
    app.verify("Foo", "Baz", "1", false).await;
    let summary = app
        .get("/verification-results/consumer/Foo/version/1/latest")
        .await;
    assert_eq!(summary.status, StatusCode::OK, "{}", summary.text);
    assert_eq!(
        summary.body["providerSummary"],
        json!({"successful": ["Bar"], "failed": ["Baz"], "unknown": ["Qux"]})
    );
    assert_eq!(summary.body["success"], false);
    assert_eq!(
        summary.body["_links"]["self"]["title"],
        "Latest verification results for consumer Foo version 1"
    );
}

#[tokio::test]
async fn a_verification_s_triggered_webhooks_are_the_deliveries_it_caused() {
    let app = TestApp::new().await;
    app.publish(
        "Foo",
        "1",
        None,
        &[],
        &[("Bar", pact("Foo", "Bar", &["/a"]))],
    )
    .await;
    let webhook = app
        .post(
            "/webhooks",
            &json!({
                "consumer": {"name": "Foo"}, "provider": {"name": "Bar"},
                "events": [{"name": "provider_verification_published"}],
                "request": {"method": "POST", "url": "https://ci.example.org/hook"}
            }),
        )
        .await;
    assert_eq!(webhook.status, StatusCode::CREATED, "{}", webhook.text);
    let first = app.verify("Foo", "Bar", "1", true).await;
    let second = app.verify("Foo", "Bar", "2", true).await;
    let triggered = |reply: &crate::support::Reply| {
        format!(
            "{}/triggered-webhooks",
            reply.body["_links"]["self"]["href"]
                .as_str()
                .unwrap()
                .trim_start_matches(BASE)
        )
    };
    for verification in [&first, &second] {
        let path = triggered(verification);
        assert_eq!(
            verification.body["_links"]["pb:triggered-webhooks"]["href"],
            format!("{BASE}{path}")
        );
        let reply = app.get(&path).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        let deliveries = reply.body["_embedded"]["triggeredWebhooks"]
            .as_array()
            .unwrap();
        assert_eq!(deliveries.len(), 1, "{path}: {}", reply.text);
        assert_eq!(
            deliveries[0]["eventName"],
            "provider_verification_published"
        );
    }
    let title = app.get(&triggered(&first)).await.body["_links"]["self"]["title"].clone();
    assert_eq!(
        title,
        "Webhooks triggered by the publication of verification result 101"
    );
}

#[tokio::test]
async fn a_verification_is_read_by_number_or_latest_and_named_by_its_pact() {
    let app = TestApp::new().await;
    for version in ["1", "2"] {
        // Both versions publish the same content.
        app.publish(
            "Foo",
            version,
            None,
            &[],
            &[("Bar", pact("Foo", "Bar", &["/a"]))],
        )
        .await;
    }
    let published = app.verify("Foo", "Bar", "9", true).await;
    let href = published.body["_links"]["self"]["href"]
        .as_str()
        .unwrap()
        .trim_start_matches(BASE)
        .to_owned();
    let read = app.get(&href).await;
    // The newest consumer version that published the content.
    assert_eq!(
        read.body["_links"]["self"]["name"],
        "Verification result 101 for Pact between Foo (2) and Bar"
    );
    // Through the address of an older version's pact, that version's pact.
    let by_version = app
        .get("/pacts/provider/Bar/consumer/Foo/version/1/verification-results/latest")
        .await;
    assert_eq!(
        by_version.body["_links"]["pb:pact-version"]["name"],
        "Pact between Foo (1) and Bar"
    );
    let metadata = by_version.body["_links"]["pb:pact-version"]["href"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let (content, number) = href.rsplit_once("/verification-results/").unwrap();
    let through_metadata = app
        .get(&format!(
            "{content}/metadata/{metadata}/verification-results/{number}"
        ))
        .await;
    assert_eq!(
        through_metadata.body["_links"]["self"]["name"],
        "Verification result 101 for Pact between Foo (1) and Bar"
    );
    let all = app
        .get(&format!("{content}/verification-results/all"))
        .await;
    assert_eq!(all.status, StatusCode::NOT_FOUND);
    assert_eq!(
        all.body["error"],
        "To see all the verifications for a pact, use the Matrix page"
    );
}
