//! Input that is valid JSON and valid UTF-8 but poisonous: names that look
//! like other names or hide characters, build URLs that would break the
//! headers of every webhook they reach. Refused when written, with the
//! character and where it is; names stored before the rules stay readable.

use axum::http::StatusCode;
use serde_json::{Value, json};
use treaty_domain::PacticipantName;
use treaty_domain::model::PacticipantFields;

use crate::support::{TestApp, pact};

fn first_error(body: &Value, field: &str) -> String {
    body["errors"][field][0]
        .as_str()
        .unwrap_or_else(|| panic!("no error for {field}: {body}"))
        .to_owned()
}

#[tokio::test]
async fn names_that_hide_or_fake_characters_are_refused_with_the_character_named() {
    let app = TestApp::new().await;
    let cases = [
        (
            "abc\u{202E}def",
            "U+202E RIGHT-TO-LEFT OVERRIDE at position 4",
        ),
        ("Ad\u{200B}min", "U+200B ZERO WIDTH SPACE at position 3"),
        ("\u{FEFF}Admin", "U+FEFF ZERO WIDTH NO-BREAK SPACE"),
        (" Admin", "cannot start or end with whitespace"),
        ("Admin ", "cannot start or end with whitespace"),
        ("cafe\u{301}", "U+0301 COMBINING ACUTE ACCENT at position 5"),
        ("\u{391}dmin", "mixes Latin and Greek letters"),
        ("..", "cannot be '.' or '..'"),
    ];
    for (name, expected) in cases {
        let created = app.post("/pacticipants", &json!({ "name": name })).await;
        assert_eq!(
            created.status,
            StatusCode::BAD_REQUEST,
            "{name:?}: {}",
            created.text
        );
        let message = first_error(&created.body, "name");
        assert!(message.contains(expected), "{name:?}: {message}");

        let published = app
            .publish(name, "1", None, &[], &[("Bar", pact(name, "Bar", &["/a"]))])
            .await;
        assert_eq!(
            published.status,
            StatusCode::BAD_REQUEST,
            "{name:?}: {}",
            published.text
        );
        assert!(
            published.text.contains(expected),
            "{name:?}: {}",
            published.text
        );
    }
    // Nothing was created under any of them.
    let listed = app.get("/pacticipants").await;
    assert_eq!(
        listed.body["_embedded"]["pacticipants"],
        json!([]),
        "{}",
        listed.text
    );

    // Versions, branches, tags, environments and labels follow the same rules.
    let refusals = [
        app.put("/pacticipants/Foo/versions/1%E2%80%AE0", &json!({}))
            .await,
        app.put("/pacticipants/Foo/branches/main%20/versions/1", &json!({}))
            .await,
        app.put("/pacticipants/Foo/versions/1/tags/%2E", &json!({}))
            .await,
        app.post(
            "/environments",
            &json!({"name": "pr\u{43e}duction", "production": true}),
        )
        .await,
    ];
    for refused in refusals {
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
    }
    app.post("/pacticipants", &json!({"name": "Foo"})).await;
    assert_eq!(
        app.put("/pacticipants/Foo/labels/te%D0%B0m", &json!({}))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn the_names_real_clients_send_still_work() {
    let app = TestApp::new().await;
    for (consumer, version, branch) in [
        ("pactflow-example-consumer", "1.0.0+abc", "feat/x"),
        ("Foo", "3e1f9a7c2b", "main"),
        ("Zürich Ørders", "2024.1.5-rc.1", "feature/исправление-API"),
        ("サービスAPI", "1", "release/1.x"),
    ] {
        let published = app
            .publish(
                consumer,
                version,
                Some(branch),
                &["prod"],
                &[("Bar", pact(consumer, "Bar", &["/a"]))],
            )
            .await;
        assert_eq!(
            published.status,
            StatusCode::OK,
            "{consumer}: {}",
            published.text
        );
    }
}

#[tokio::test]
async fn names_stored_before_the_rules_stay_readable() {
    let app = TestApp::new().await;
    // As an older Treaty (or an import) stored them.
    for legacy in [" Legacy", "Le\u{200B}gacy", "cafe\u{301}"] {
        app.store()
            .create_pacticipant(
                &PacticipantName::parse_lookup(legacy).unwrap(),
                PacticipantFields::default(),
            )
            .await
            .unwrap();
        let path = format!("/pacticipants/{}", treaty_domain::url_path::segment(legacy));
        let read = app.get(&path).await;
        assert_eq!(read.status, StatusCode::OK, "{legacy:?}: {}", read.text);
        assert_eq!(read.body["name"], legacy);
    }
    // The composed name is another pacticipant, never the decomposed one.
    let composed = app.get("/pacticipants/caf%C3%A9").await;
    assert_eq!(composed.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn build_urls_with_control_characters_are_refused_wherever_they_are_accepted() {
    let app = TestApp::new().await;
    let bad = "https://ci.example/build/1\r\nX-Injected: yes";
    let expected = "U+000D CARRIAGE RETURN at position 27";

    let version = app
        .put("/pacticipants/Foo/versions/1", &json!({ "buildUrl": bad }))
        .await;
    assert_eq!(version.status, StatusCode::BAD_REQUEST, "{}", version.text);
    assert!(first_error(&version.body, "buildUrl").contains(expected));

    let mut publish = json!({
        "pacticipantName": "Foo", "pacticipantVersionNumber": "1", "buildUrl": bad,
        "contracts": [{"consumerName": "Foo", "providerName": "Bar", "specification": "pact",
            "contentType": "application/json",
            "content": base64_of(&pact("Foo", "Bar", &["/a"]))}]
    });
    let published = app.post("/contracts/publish", &publish).await;
    assert_eq!(
        published.status,
        StatusCode::BAD_REQUEST,
        "{}",
        published.text
    );
    assert!(first_error(&published.body, "buildUrl").contains(expected));
    publish["buildUrl"] = json!("https://ci.example/build/1");
    let published = app.post("/contracts/publish", &publish).await;
    assert_eq!(published.status, StatusCode::OK, "{}", published.text);

    let pact = app.get("/pacts/provider/Bar/consumer/Foo/latest").await;
    let verify = pact.body["_links"]["pb:publish-verification-results"]["href"]
        .as_str()
        .unwrap()
        .trim_start_matches(crate::support::BASE)
        .to_owned();
    let verified = app
        .post(
            &verify,
            &json!({"success": true, "providerApplicationVersion": "2", "buildUrl": bad}),
        )
        .await;
    assert_eq!(
        verified.status,
        StatusCode::BAD_REQUEST,
        "{}",
        verified.text
    );
    assert!(first_error(&verified.body, "buildUrl").contains(expected));

    app.post(
        "/environments",
        &json!({"name": "production", "production": true}),
    )
    .await;
    let event = app
        .post(
            "/deployment-events",
            &json!({"product_name": "Foo", "version": "1", "environment_name": "production",
                "status": "started", "build_url": bad}),
        )
        .await;
    assert_eq!(event.status, StatusCode::BAD_REQUEST, "{}", event.text);
    assert!(event.text.contains(expected), "{}", event.text);
    let named = app
        .post(
            "/deployment-events",
            &json!({"product_name": "Ad\u{200B}min", "version": "1", "environment_name": "production",
                "status": "started"}),
        )
        .await;
    assert_eq!(named.status, StatusCode::BAD_REQUEST, "{}", named.text);
    assert!(
        named.text.contains("U+200B ZERO WIDTH SPACE"),
        "{}",
        named.text
    );
}

fn base64_of(value: &Value) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(value.to_string())
}
