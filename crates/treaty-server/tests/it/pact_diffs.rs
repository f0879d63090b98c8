//! A pact compared with other versions of it: the previous distinct version
//! and the Pact Broker's text diffs.

use axum::http::StatusCode;

use crate::support::{BASE, TestApp, pact};

const PAIR: &str = "/pacts/provider/Bar/consumer/Foo";

/// Foo 1 publishes `/a`; Foo 2 adds `/b`; Foo 3 publishes what Foo 2 did.
async fn three_versions() -> TestApp {
    let app = TestApp::new().await;
    for (version, paths) in [
        ("1", &["/a"][..]),
        ("2", &["/a", "/b"]),
        ("3", &["/a", "/b"]),
    ] {
        let reply = app
            .publish(
                "Foo",
                version,
                None,
                &[],
                &[("Bar", pact("Foo", "Bar", paths))],
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    }
    app
}

fn sha_of(reply: &crate::support::Reply) -> String {
    reply.body["_links"]["pb:pact-version"]["name"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn the_previous_distinct_version_is_the_newest_older_one_with_other_content() {
    let app = three_versions().await;
    let previous = app
        .get(&format!("{PAIR}/version/3/previous-distinct"))
        .await;
    assert_eq!(previous.status, StatusCode::OK, "{}", previous.text);
    assert_eq!(
        previous.body["_links"]["self"]["href"],
        format!("{BASE}{PAIR}/version/1")
    );
    assert_eq!(previous.body["interactions"].as_array().unwrap().len(), 1);
    let none = app
        .get(&format!("{PAIR}/version/1/previous-distinct"))
        .await;
    assert_eq!(none.status, StatusCode::NOT_FOUND, "{}", none.text);
    // Every pact links to it.
    let latest = app.get(&format!("{PAIR}/latest")).await;
    assert_eq!(
        latest.body["_links"]["pb:previous-distinct"]["href"],
        format!("{BASE}{PAIR}/version/3/previous-distinct")
    );
}

#[tokio::test]
async fn the_diff_with_the_previous_distinct_version_is_the_pact_broker_s_text() {
    let app = three_versions().await;
    let reply = app
        .get(&format!("{PAIR}/version/3/diff/previous-distinct"))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.content_type, "text/plain;charset=utf-8");
    let (heading, rest) = reply
        .text
        .split_once("\n\nThe following changes were made ")
        .unwrap();
    assert_eq!(
        heading,
        "# Diff between versions 1 and 3 of the pact between Foo and Bar"
    );
    let (when, rest) = rest.split_once("\n\n").unwrap();
    assert!(when.starts_with("less than a minute ago ("), "{when}");
    assert_eq!(
        rest,
        format!(
            r#" {{
   "interactions": [
     ... ,
+    {{
+      "description": "a request for /b",
+      "request": {{
+        "method": "GET",
+        "path": "/b"
+      }},
+      "response": {{
+        "status": 200
+      }}
+    }}
   ]
 }}

## Links

pact-version:
  title: Pact
  name: Pact between Foo (3) and Bar
  href: {BASE}{PAIR}/version/3
comparison-pact-version:
  title: Pact
  name: Pact between Foo (1) and Bar
  href: {BASE}{PAIR}/version/1
"#
        )
    );
    let first = app
        .get(&format!("{PAIR}/version/1/diff/previous-distinct"))
        .await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(
        first.text,
        "No previous distinct version was found for Pact between Foo (1) and Bar"
    );
}

#[tokio::test]
async fn a_diff_compares_with_the_version_or_content_asked_for() {
    let app = three_versions().await;
    let by_version = app.get(&format!("{PAIR}/version/2/diff/version/1")).await;
    assert_eq!(by_version.status, StatusCode::OK, "{}", by_version.text);
    assert!(
        by_version
            .text
            .starts_with("# Diff between versions 1 and 2 of the pact between Foo and Bar"),
        "{}",
        by_version.text
    );
    assert!(
        by_version
            .text
            .contains("+      \"description\": \"a request for /b\"")
    );
    // The other way round, the interaction is removed.
    let backwards = app.get(&format!("{PAIR}/version/1/diff/version/2")).await;
    assert!(
        backwards
            .text
            .contains("-      \"description\": \"a request for /b\""),
        "{}",
        backwards.text
    );

    let first = sha_of(&app.get(&format!("{PAIR}/version/1")).await);
    let third = sha_of(&app.get(&format!("{PAIR}/version/3")).await);
    let by_content = app
        .get(&format!(
            "{PAIR}/pact-version/{third}/diff/pact-version/{first}"
        ))
        .await;
    assert_eq!(by_content.status, StatusCode::OK, "{}", by_content.text);
    assert!(
        by_content
            .text
            .starts_with("# Diff between versions 1 and 3 of the pact between Foo and Bar"),
        "{}",
        by_content.text
    );
    assert_eq!(
        app.get(&format!("{PAIR}/version/9/diff/version/1"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // A pact named to compare with that is not there is a 404 naming it
    // (the Pact Broker says there is no previous distinct version).
    let unknown = app.get(&format!("{PAIR}/version/2/diff/version/9")).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.text);
    assert_eq!(
        unknown.body["detail"],
        "No pact between Foo and Bar for consumer version '9' to compare with"
    );
    let unknown = app
        .get(&format!(
            "{PAIR}/pact-version/{third}/diff/pact-version/abc"
        ))
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.text);
    assert_eq!(
        unknown.body["detail"],
        "No pact between Foo and Bar with content 'abc' to compare with"
    );
}

#[tokio::test]
async fn a_diff_with_a_version_compares_with_that_version_not_the_previous_distinct_one() {
    // The Pact Broker 2.120 compares `/diff/version/1` of version 4 with
    // version 3 (the previous distinct one); Treaty with version 1.
    let app = three_versions().await;
    let reply = app
        .publish(
            "Foo",
            "4",
            None,
            &[],
            &[("Bar", pact("Foo", "Bar", &["/a", "/b", "/c"]))],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let reply = app.get(&format!("{PAIR}/version/4/diff/version/1")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert!(
        reply
            .text
            .starts_with("# Diff between versions 1 and 4 of the pact between Foo and Bar"),
        "{}",
        reply.text
    );
}
