//! The official `pact broker` client and `pact verifier` against Treaty.

use axum::Json;
use axum::routing::{get, post};
use serde_json::json;
use tokio::net::TcpListener;

use crate::support::{TestServer, pact, text, write_pact};

fn orders_interaction() -> serde_json::Value {
    json!([{
        "description": "a request for order 1",
        "request": {"method": "GET", "path": "/orders/1"},
        "response": {"status": 200, "headers": {"Content-Type": "application/json"}, "body": {"id": 1, "total": 9.5}}
    }])
}

#[tokio::test(flavor = "multi_thread")]
async fn publish_with_branch_and_tags_then_describe_and_list() {
    let treaty = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    write_pact(dir.path(), "Foo", "Bar", orders_interaction());
    let dir_arg = dir.path().to_str().unwrap();
    let b = treaty.url.as_str();

    let out = pact(&[
        "broker",
        "publish",
        dir_arg,
        "-b",
        b,
        "--consumer-app-version",
        "1.0.0",
        "--branch",
        "main",
        "--tag",
        "dev,ci",
        "--retries",
        "0",
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("Created Foo version 1.0.0 with branch main and tags"),
        "{}",
        text(&out)
    );
    assert!(
        stdout.contains("Pact successfully published for Foo version 1.0.0 and provider Bar."),
        "{}",
        text(&out)
    );
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("Failed to process"),
        "{}",
        text(&out)
    );

    let (status, version) = treaty.get_json("/pacticipants/Foo/versions/1.0.0").await;
    assert_eq!(status, 200);
    assert_eq!(version["_embedded"]["branches"][0]["name"], "main");
    assert_eq!(version["_embedded"]["tags"].as_array().unwrap().len(), 2);

    let out = pact(&[
        "broker",
        "describe-version",
        "-b",
        b,
        "-a",
        "Foo",
        "-e",
        "1.0.0",
        "-o",
        "json",
        "--retries",
        "0",
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let described: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
    assert_eq!(described["number"], "1.0.0");

    let out = pact(&[
        "broker",
        "list-latest-pact-versions",
        "-b",
        b,
        "-o",
        "json",
        "--retries",
        "0",
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Foo"),
        "{}",
        text(&out)
    );

    let out = pact(&[
        "broker",
        "create-or-update-pacticipant",
        "-b",
        b,
        "--name",
        "Baz",
        "--main-branch",
        "trunk",
        "--repository-url",
        "https://git/baz",
        "--retries",
        "0",
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let (_, baz) = treaty.get_json("/pacticipants/Baz").await;
    assert_eq!(baz["mainBranch"], "trunk");
    assert_eq!(baz["repositoryUrl"], "https://git/baz");

    let out = pact(&[
        "broker",
        "create-version-tag",
        "-b",
        b,
        "-a",
        "Foo",
        "-e",
        "1.0.0",
        "-t",
        "prod",
        "--retries",
        "0",
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let (status, tag) = treaty
        .get_json("/pacticipants/Foo/versions/1.0.0/tags/prod")
        .await;
    assert_eq!((status, tag["name"].as_str()), (200, Some("prod")));

    let out = pact(&[
        "broker",
        "describe-pacticipant",
        "-b",
        b,
        "--name",
        "Foo",
        "--retries",
        "0",
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Main Branch: main"),
        "{}",
        text(&out)
    );

    let out = pact(&[
        "broker",
        "list-pacticipants",
        "-b",
        b,
        "-o",
        "json",
        "--retries",
        "0",
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(
        listed.contains("Bar") && listed.contains("Baz") && listed.contains("Foo"),
        "{}",
        text(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn publishing_changed_content_for_the_same_version_fails_with_the_reason() {
    let treaty = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    write_pact(dir.path(), "Foo", "Bar", orders_interaction());
    let dir_arg = dir.path().to_str().unwrap().to_owned();
    let b = treaty.url.as_str();
    let out = pact(&[
        "broker",
        "publish",
        &dir_arg,
        "-b",
        b,
        "-a",
        "1",
        "--retries",
        "0",
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));
    write_pact(
        dir.path(),
        "Foo",
        "Bar",
        json!([{"description": "changed", "request": {"method": "GET", "path": "/x"}, "response": {"status": 204}}]),
    );
    let out = pact(&[
        "broker",
        "publish",
        &dir_arg,
        "-b",
        b,
        "-a",
        "1",
        "--retries",
        "0",
    ])
    .await;
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out)
            .contains("Cannot change the content of the pact for Foo version 1 and provider Bar"),
        "{}",
        text(&out)
    );
}

/// A provider that honours the orders pact.
async fn start_provider() -> u16 {
    let app = axum::Router::new()
        .route(
            "/orders/1",
            get(|| async { Json(json!({"id": 1, "total": 9.5})) }),
        )
        .route("/_pact/provider_states", post(|| async { Json(json!({})) }));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    port
}

#[tokio::test(flavor = "multi_thread")]
async fn the_verifier_fetches_the_latest_pacts_verifies_and_publishes_results() {
    let treaty = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    write_pact(dir.path(), "Foo", "Bar", orders_interaction());
    let b = treaty.url.as_str();
    let out = pact(&[
        "broker",
        "publish",
        dir.path().to_str().unwrap(),
        "-b",
        b,
        "-a",
        "1.0.0",
        "--branch",
        "main",
        "--retries",
        "0",
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));

    let provider_port = start_provider().await.to_string();
    let out = pact(&[
        "verifier",
        "--broker-url",
        b,
        "--provider-name",
        "Bar",
        "-h",
        "127.0.0.1",
        "-p",
        &provider_port,
        "--publish",
        "--provider-version",
        "2.0.0",
        "--provider-branch",
        "main",
        "--provider-tags",
        "dev",
        "--build-url",
        "https://ci.example/builds/2",
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));

    // The verifier exits 0 even when publishing fails: read the result back.
    let (status, result) = treaty
        .get_json("/pacts/provider/Bar/consumer/Foo/latest/verification-results/latest")
        .await;
    assert_eq!(status, 200, "no verification result arrived: {result}");
    assert_eq!(result["success"], true);
    assert_eq!(result["providerApplicationVersion"], "2.0.0");
    assert_eq!(result["buildUrl"], "https://ci.example/builds/2");
    assert_eq!(result["verifiedBy"]["implementation"], "Pact-Rust");
    let (_, version) = treaty.get_json("/pacticipants/Bar/versions/2.0.0").await;
    assert_eq!(version["_embedded"]["branches"][0]["name"], "main");
    assert_eq!(version["_embedded"]["tags"][0]["name"], "dev");
}

#[tokio::test(flavor = "multi_thread")]
async fn provider_states_list_shows_what_the_consumers_pacts_ask_for() {
    let treaty = TestServer::start().await;
    let b = treaty.url.as_str();
    let publish = |consumer: &'static str,
                   version: &'static str,
                   branch: &'static str,
                   interactions: serde_json::Value| {
        let dir = tempfile::tempdir().unwrap();
        // A v3 pact: a v2 one keeps one state an interaction.
        let document = json!({
            "consumer": {"name": consumer},
            "provider": {"name": "Bar"},
            "interactions": interactions,
            "metadata": {"pactSpecification": {"version": "3.0.0"}}
        });
        std::fs::write(
            dir.path().join(format!("{consumer}-Bar.json")),
            document.to_string(),
        )
        .unwrap();
        async move {
            let out = pact(&[
                "broker",
                "publish",
                dir.path().to_str().unwrap(),
                "-b",
                b,
                "--consumer-app-version",
                version,
                "--branch",
                branch,
                "--retries",
                "0",
            ])
            .await;
            assert!(out.status.success(), "{}", text(&out));
        }
    };
    let interaction = |path: &str, state: serde_json::Value| {
        let mut interaction = json!({
            "description": format!("a request for {path}"),
            "request": {"method": "GET", "path": path},
            "response": {"status": 200}
        });
        interaction
            .as_object_mut()
            .unwrap()
            .extend(state.as_object().unwrap().clone());
        interaction
    };
    publish(
        "Foo",
        "1",
        "main",
        json!([
            interaction("/a", json!({"providerState": "an order exists"})),
            interaction("/b", json!({"providerState": "no orders"}))
        ]),
    )
    .await;
    publish(
        "Waffle",
        "1",
        "main",
        json!([interaction(
            "/c",
            json!({"providerStates": [{"name": "an order exists"}, {"name": "a user", "params": {"id": 7}}]})
        )]),
    )
    .await;
    publish(
        "Foo",
        "2",
        "feat",
        json!([interaction(
            "/d",
            json!({"providerState": "a feature flag is on"})
        )]),
    )
    .await;

    let list = |extra: &'static [&'static str]| async move {
        let mut args = vec![
            "broker",
            "provider-states",
            "list",
            "-b",
            b,
            "--provider",
            "Bar",
            "--json",
            "--retries",
            "0",
        ];
        args.extend_from_slice(extra);
        let out = pact(&args).await;
        assert!(out.status.success(), "{}", text(&out));
        serde_json::from_slice::<serde_json::Value>(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", text(&out)))
    };
    assert_eq!(
        list(&[]).await,
        json!({"providerStates": [
            {"name": "a user", "params": {"id": 7}, "consumers": ["Waffle"]},
            {"name": "an order exists", "consumers": ["Foo", "Waffle"]},
            {"name": "no orders", "consumers": ["Foo"]}
        ]})
    );
    assert_eq!(
        list(&["--branch", "feat"]).await,
        json!({"providerStates": [{"name": "a feature flag is on", "consumers": ["Foo"]}]})
    );
    // The table, as a person reads it.
    let out = pact(&[
        "broker",
        "provider-states",
        "list",
        "-b",
        b,
        "--provider",
        "Bar",
        "--retries",
        "0",
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("an order exists") && table.contains("Foo, Waffle"),
        "{table}"
    );
}
