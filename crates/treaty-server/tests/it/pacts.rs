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
    // Then, as the Pact Broker shows it, what the refused content changes.
    assert_eq!(reply.body["notices"][1]["type"], "info");
    let diff = reply.body["notices"][1]["text"].as_str().unwrap();
    assert!(
        diff.contains("-        \"path\": \"/a\"")
            && diff.contains("+        \"path\": \"/changed\""),
        "{diff}"
    );
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
        created.location, None,
        "created at the address given: the Pact Broker sends no Location"
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

#[tokio::test]
async fn the_deprecated_singular_pact_addresses_serve_the_same_pacts() {
    let app = TestApp::new().await;
    let put = app
        .put(
            "/pact/provider/Bar/consumer/Foo/version/1",
            &pact("Foo", "Bar", &["/a"]),
        )
        .await;
    assert_eq!(put.status, StatusCode::CREATED, "{}", put.text);
    for path in [
        "/pact/provider/Bar/consumer/Foo/version/1",
        "/pact/provider/Bar/consumer/Foo/latest",
        "/pacts/provider/Bar/consumer/Foo/version/1",
    ] {
        let reply = app.get(path).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.text);
        assert_eq!(
            reply.body["_links"]["self"]["href"],
            "http://broker.test/pacts/provider/Bar/consumer/Foo/version/1"
        );
    }
    assert_eq!(
        app.delete("/pact/provider/Bar/consumer/Foo/version/1")
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn pact_lists_are_ordered_as_the_pact_broker_orders_them() {
    let app = TestApp::new().await;
    for (consumer, version) in [("Web", "1"), ("Foo", "1"), ("Foo", "2"), ("baz", "1")] {
        app.publish(
            consumer,
            version,
            Some("main"),
            &["dev"],
            &[(
                "Bar",
                pact(consumer, "Bar", &[&format!("/{consumer}{version}")]),
            )],
        )
        .await;
    }
    let names = |reply: &crate::support::Reply, rel: &str| -> Vec<String> {
        reply.body["_links"][rel]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["title"].as_str().unwrap().to_owned())
            .collect()
    };
    // A provider's pacts: by consumer name (case aside), then oldest version first.
    let expected = [
        "Pact between baz (1) and Bar",
        "Pact between Foo (1) and Bar",
        "Pact between Foo (2) and Bar",
        "Pact between Web (1) and Bar",
    ];
    for path in [
        "/pacts/provider/Bar",
        "/pacts/provider/Bar/tag/dev",
        "/pacts/provider/Bar/branch",
        "/pacts/provider/Bar/branch/main",
    ] {
        assert_eq!(names(&app.get(path).await, "pb:pacts"), expected, "{path}");
    }
    let deprecated = app.get("/pacts/provider/Bar").await;
    assert_eq!(
        deprecated.body["_links"]["pacts"][0]["title"],
        "DEPRECATED - please use the pb:pacts relation. Pact between baz (1) and Bar"
    );
    // A pair's versions: newest first, but oldest first by branch.
    assert_eq!(pair_versions(&app, "/versions").await, ["2", "1"]);
    assert_eq!(pair_versions(&app, "/tag/dev").await, ["2", "1"]);
    assert_eq!(pair_versions(&app, "/branch/main").await, ["1", "2"]);
    assert_eq!(pair_versions(&app, "/branch/versions").await, ["1", "2"]);
}

/// The consumer versions a list of Foo and Bar's pacts names, in its order.
async fn pair_versions(app: &TestApp, list: &str) -> Vec<String> {
    app.get(&format!("/pacts/provider/Bar/consumer/Foo{list}"))
        .await
        .body["_embedded"]["pacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["consumerVersionNumber"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_latest_pacts_link_every_integration() {
    let app = TestApp::new().await;
    app.publish(
        "Foo",
        "1",
        None,
        &[],
        &[
            ("Bar", pact("Foo", "Bar", &["/a"])),
            ("Baz", pact("Foo", "Baz", &["/a"])),
        ],
    )
    .await;
    let reply = app.get("/pacts/latest").await;
    assert_eq!(reply.status, StatusCode::OK);
    let links = &reply.body["_links"];
    assert_eq!(
        links["pb:pacts"][1],
        json!({"href": "http://broker.test/pacts/provider/Baz/consumer/Foo/latest", "title": "Latest pact between Foo and Baz"})
    );
    assert_eq!(
        links["pacts"][0]["name"],
        "DEPRECATED - please use the pb:pacts relation"
    );
    assert_eq!(
        links["curies"][0]["href"],
        "http://broker.test/doc/{rel}?context=pacts"
    );
    assert_eq!(
        reply.body["pacts"][0]["_embedded"]["consumer"]["_embedded"]["version"]["_links"]["self"]["href"],
        "http://broker.test/pacticipants/Foo/versions/1"
    );
}

#[tokio::test]
async fn an_unknown_consumer_or_provider_is_named_by_its_role() {
    let app = TestApp::new().await;
    app.publish(
        "Foo",
        "1",
        None,
        &[],
        &[("Bar", pact("Foo", "Bar", &["/a"]))],
    )
    .await;
    for (path, error) in [
        ("/pacts/provider/Nope", "No provider with name 'Nope' found"),
        (
            "/pacts/provider/Nope/latest",
            "No provider with name 'Nope' found",
        ),
        (
            "/pacts/provider/Bar/consumer/Nope/versions",
            "No consumer with name 'Nope' found",
        ),
        (
            "/pacts/provider/Nope/consumer/Foo/tag/dev",
            "No provider with name 'Nope' found",
        ),
    ] {
        let reply = app.get(path).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(reply.body["error"], error, "{path}");
        assert_eq!(reply.content_type, "application/hal+json;charset=utf-8");
    }
}

#[tokio::test]
async fn a_pact_is_json_or_a_page_as_the_client_asks() {
    use axum::body::Body;
    use axum::http::{Request, header};
    let app = TestApp::new().await;
    app.publish(
        "Foo",
        "1",
        None,
        &[],
        &[("Bar", pact("Foo", "Bar", &["/a"]))],
    )
    .await;
    let ask = |accept: &'static str| {
        Request::get("/pacts/provider/Bar/consumer/Foo/version/1")
            .header(header::ACCEPT, accept)
            .body(Body::empty())
            .unwrap()
    };
    let json = app.send(ask("application/json")).await;
    assert_eq!(json.content_type, "application/json;charset=utf-8");
    assert_eq!(json.body["consumer"]["name"], "Foo");
    let hal = app
        .send(ask("application/hal+json, application/json, */*;q=0.1"))
        .await;
    assert_eq!(hal.content_type, "application/hal+json;charset=utf-8");
    let page = app
        .send(ask("text/html,application/xhtml+xml,*/*;q=0.8"))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.content_type.starts_with("text/html"),
        "{}",
        page.content_type
    );
    assert!(page.text.contains("a request for /a"), "{}", page.text);
}

#[tokio::test]
async fn a_latest_pact_ties_its_verification_link_to_its_consumer_version() {
    let app = TestApp::new().await;
    app.publish(
        "Foo",
        "1",
        Some("main"),
        &["dev"],
        &[("Bar", pact("Foo", "Bar", &["/a"]))],
    )
    .await;
    let version_id = 1;
    let pair = "/pacts/provider/Bar/consumer/Foo";
    assert_eq!(
        verification_metadata(&app, &format!("{pair}/latest"))
            .await
            .as_deref(),
        Some(format!("cv={version_id}").as_str())
    );
    assert_eq!(
        verification_metadata(&app, &format!("{pair}/branch/main/latest"))
            .await
            .as_deref(),
        Some(format!("cv={version_id}").as_str())
    );
    assert_eq!(
        verification_metadata(&app, &format!("{pair}/latest/dev"))
            .await
            .as_deref(),
        Some(format!("cvt%5B%5D=dev&cv={version_id}").as_str())
    );
    assert_eq!(
        verification_metadata(&app, &format!("{pair}/version/1")).await,
        None
    );
    // The link works: a verification published there is the pact's.
    assert_eq!(
        app.verify("Foo", "Bar", "7", true).await.status,
        StatusCode::CREATED
    );
}

/// The metadata segment of a pact's verification link, decoded.
async fn verification_metadata(app: &TestApp, path: &str) -> Option<String> {
    use base64::Engine;
    let reply = app.get(path).await;
    let href = reply.body["_links"]["pb:publish-verification-results"]["href"]
        .as_str()
        .unwrap()
        .to_owned();
    let encoded = href
        .split("/metadata/")
        .nth(1)?
        .trim_end_matches("/verification-results");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(encoded)
        .unwrap();
    Some(String::from_utf8(bytes).unwrap())
}
