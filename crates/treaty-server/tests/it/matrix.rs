//! The matrix as the Pact Broker answers it: which rows a limit keeps, what
//! `mainBranch` without `latest` selects, the words of its reasons, the
//! shape of a row, and the matrix of one pair.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::support::{BASE, TestApp, pact};

async fn put(app: &TestApp, path: &str, body: Value) {
    let reply = app.put(path, &body).await;
    assert!(reply.status.is_success(), "{path}: {}", reply.text);
}

async fn verify(app: &TestApp, consumer_version: &str, provider_version: &str, success: bool) {
    let pact = app
        .get(&format!(
            "/pacts/provider/Bar/consumer/Foo/version/{consumer_version}"
        ))
        .await;
    let href = pact.body["_links"]["pb:publish-verification-results"]["href"]
        .as_str()
        .unwrap()
        .trim_start_matches(BASE)
        .to_owned();
    let reply = app
        .post(
            &href,
            &json!({"success": success, "providerApplicationVersion": provider_version}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
}

async fn ask(app: &TestApp, path: &str) -> Value {
    let reply = app.get(path).await;
    assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.text);
    reply.body
}

/// `(consumer version, provider version)` of each row, in order.
fn rows(body: &Value) -> Vec<(String, Option<String>)> {
    body["matrix"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["consumer"]["version"]["number"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
                row["provider"]["version"]["number"]
                    .as_str()
                    .map(str::to_owned),
            )
        })
        .collect()
}

fn row(consumer: &str, provider: Option<&str>) -> (String, Option<String>) {
    (consumer.to_owned(), provider.map(str::to_owned))
}

/// Foo 1 and 2 publish (2 changes the pact); Bar 100 verifies 1, 101 fails 2,
/// then verifies 1 as well. Bar 100 and 101 are on main, Bar 102 (main's
/// head) verified nothing.
async fn seeded() -> TestApp {
    let app = TestApp::new().await;
    put(
        &app,
        "/pacts/provider/Bar/consumer/Foo/version/1",
        pact("Foo", "Bar", &["/a"]),
    )
    .await;
    put(
        &app,
        "/pacts/provider/Bar/consumer/Foo/version/2",
        pact("Foo", "Bar", &["/a", "/b"]),
    )
    .await;
    verify(&app, "1", "100", true).await;
    verify(&app, "2", "101", false).await;
    verify(&app, "1", "101", true).await;
    for version in ["100", "101", "102"] {
        put(
            &app,
            &format!("/pacticipants/Bar/branches/main/versions/{version}"),
            json!({}),
        )
        .await;
    }
    let reply = app
        .patch("/pacticipants/Bar", &json!({"mainBranch": "main"}))
        .await;
    assert!(reply.status.is_success(), "{}", reply.text);
    app
}

/// The Pact Broker keeps the most recently published pacts first, then the
/// most recent of their rows: with limit 1, Foo 2's failed row (the verdict
/// is "no"), although the most recent activity is Bar 101 verifying Foo 1.
#[tokio::test]
async fn a_limit_keeps_the_rows_of_the_most_recently_published_pacts() {
    let app = seeded().await;
    let limited = ask(
        &app,
        "/matrix?q[][pacticipant]=Foo&q[][pacticipant]=Bar&limit=1",
    )
    .await;
    assert_eq!(rows(&limited), [row("2", Some("101"))]);
    assert_eq!(limited["summary"]["deployable"], false);
    let all = ask(&app, "/matrix?q[][pacticipant]=Foo&q[][pacticipant]=Bar").await;
    assert_eq!(
        rows(&all),
        [
            row("2", Some("101")),
            row("1", Some("101")),
            row("1", Some("100"))
        ],
        "newest consumer version first, then newest provider version"
    );
}

/// `mainBranch=true` without `latest` checks every version on the
/// provider's main branch, as one of many, and says which one failed.
#[tokio::test]
async fn main_branch_without_latest_is_every_version_on_main() {
    let app = seeded().await;
    let every = ask(
        &app,
        "/matrix?q[][pacticipant]=Foo&q[][version]=2&latestby=cvp&mainBranch=true",
    )
    .await;
    assert_eq!(every["summary"]["deployable"], false);
    assert_eq!(
        every["summary"]["reason"],
        "The verification for the pact between version 2 of Foo and one of the versions of Bar from branch main (101) failed"
    );
    let latest = ask(
        &app,
        "/matrix?q[][pacticipant]=Foo&q[][version]=2&latestby=cvp&mainBranch=true&latest=true",
    )
    .await;
    assert_eq!(latest["summary"]["deployable"], Value::Null);
    assert_eq!(
        latest["summary"]["reason"],
        "There is no verified pact between version 2 of Foo and the latest version of Bar from branch main (102)"
    );
}

/// A row's versions say which of their tags are the newest of their name,
/// and an environment says when it last changed, once it has; a
/// verification's URL names the consumer version in its metadata.
#[tokio::test]
async fn a_row_shows_tags_latest_environments_updated_and_verification_metadata() {
    let app = seeded().await;
    for version in ["1", "2"] {
        put(
            &app,
            &format!("/pacticipants/Foo/versions/{version}/tags/dev"),
            json!({}),
        )
        .await;
    }
    let environment = app
        .post(
            "/environments",
            &json!({"name": "test", "production": false}),
        )
        .await;
    let uuid = environment.body["uuid"].as_str().unwrap().to_owned();
    let deployed = app
        .post(
            &format!("/pacticipants/Foo/versions/1/deployed-versions/environment/{uuid}"),
            &json!({}),
        )
        .await;
    assert_eq!(deployed.status, StatusCode::CREATED, "{}", deployed.text);
    let body = ask(
        &app,
        "/matrix?q[][pacticipant]=Foo&q[][version]=1&q[][pacticipant]=Bar&q[][version]=100",
    )
    .await;
    let consumer = &body["matrix"][0]["consumer"]["version"];
    assert_eq!(consumer["tags"][0]["name"], "dev");
    assert_eq!(
        consumer["tags"][0]["latest"], false,
        "Foo 2 is tagged dev later"
    );
    assert!(consumer["environments"][0].get("updatedAt").is_none());
    let href = body["matrix"][0]["verificationResult"]["_links"]["self"]["href"]
        .as_str()
        .unwrap();
    assert!(
        href.contains("/metadata/Y3ZuPTE/verification-results/"),
        "{href}"
    );
    let renamed = app
        .put(
            &format!("/environments/{uuid}"),
            &json!({"name": "test", "displayName": "Test", "production": false}),
        )
        .await;
    assert!(renamed.status.is_success(), "{}", renamed.text);
    let body = ask(
        &app,
        "/matrix?q[][pacticipant]=Foo&q[][version]=2&q[][pacticipant]=Bar&q[][version]=101",
    )
    .await;
    assert_eq!(
        body["matrix"][0]["consumer"]["version"]["tags"][0]["latest"],
        true
    );
    let body = ask(
        &app,
        "/matrix?q[][pacticipant]=Foo&q[][version]=1&q[][pacticipant]=Bar&q[][version]=100",
    )
    .await;
    assert!(
        body["matrix"][0]["consumer"]["version"]["environments"][0]["updatedAt"].is_string(),
        "{}",
        body["matrix"][0]["consumer"]["version"]
    );
}

/// The Pact Broker's matrix of one pair: both pacticipants with every
/// version, the options of `/matrix`, and a 404 that names which side does
/// not exist (after bad options, which are a 400).
#[tokio::test]
async fn the_matrix_of_one_pair() {
    let app = seeded().await;
    let pair = ask(&app, "/matrix/provider/Bar/consumer/Foo").await;
    let same = ask(&app, "/matrix?q[][pacticipant]=Foo&q[][pacticipant]=Bar").await;
    assert_eq!(pair["summary"], same["summary"]);
    assert_eq!(pair["matrix"], same["matrix"]);
    let latest = ask(
        &app,
        "/matrix/provider/Bar/consumer/Foo?latestby=cvp&limit=1",
    )
    .await;
    assert_eq!(rows(&latest), [row("2", Some("101"))]);
    for (path, message) in [
        (
            "/matrix/provider/Bar/consumer/Nope",
            "No consumer with name 'Nope' found",
        ),
        (
            "/matrix/provider/Nope/consumer/Foo",
            "No provider with name 'Nope' found",
        ),
    ] {
        let reply = app.get(path).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(reply.content_type, "application/hal+json;charset=utf-8");
        assert_eq!(reply.body["error"], message);
    }
    let bad = app.get("/matrix/provider/Bar/consumer/Nope?limit=0").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);
    assert_eq!(bad.body["errors"][0], "The limit must be 1 or greater.");
}
