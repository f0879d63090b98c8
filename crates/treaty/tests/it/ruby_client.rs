//! The classic Ruby `pact-broker` client (pact_broker-client 1.77, from
//! pact-python-cli 2.5.7.0) against Treaty: a second, independent client.

use serde_json::json;

use crate::support::{TestServer, pact, text, write_pact};

fn ruby_binary() -> String {
    std::env::var("PACT_BROKER_RUBY_BIN").unwrap_or_else(|_| {
        panic!("PACT_BROKER_RUBY_BIN is not set: run the test suite with scripts/test, which installs the Ruby client")
    })
}

async fn ruby(args: &[&str]) -> std::process::Output {
    tokio::process::Command::new(ruby_binary())
        .args(args)
        .env("PACT_DO_NOT_TRACK", "true")
        .env_remove("PACT_BROKER_BASE_URL")
        .output()
        .await
        .expect("run the Ruby pact-broker client")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_ruby_client_publishes_records_deployments_and_asks_can_i_deploy() {
    let treaty = TestServer::start().await;
    let b = treaty.url.as_str();
    let dir = tempfile::tempdir().unwrap();
    write_pact(
        dir.path(),
        "Foo",
        "Bar",
        json!([{
            "description": "a request", "request": {"method": "GET", "path": "/a"}, "response": {"status": 200}
        }]),
    );
    let out = ruby(&[
        "publish",
        dir.path().to_str().unwrap(),
        "-b",
        b,
        "-a",
        "1.1.0",
        "--branch",
        "main",
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let (status, pact_json) = treaty
        .get_json("/pacts/provider/Bar/consumer/Foo/version/1.1.0")
        .await;
    assert_eq!(status, 200, "{pact_json}");

    let out = ruby(&["create-environment", "-b", b, "--name", "staging"]).await;
    assert!(out.status.success(), "{}", text(&out));
    let out = ruby(&[
        "record-deployment",
        "-b",
        b,
        "-a",
        "Foo",
        "-e",
        "1.1.0",
        "--environment",
        "staging",
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let (_, environments) = treaty.get_json("/environments?name=staging").await;
    let uuid = environments["_embedded"]["environments"][0]["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, deployed) = treaty
        .get_json(&format!(
            "/environments/{uuid}/deployed-versions/currently-deployed?pacticipant=Foo"
        ))
        .await;
    assert_eq!(
        deployed["_embedded"]["deployedVersions"][0]["_embedded"]["version"]["number"],
        "1.1.0"
    );

    // Bar has not verified Foo's pact: both clients say no.
    let out = ruby(&[
        "can-i-deploy",
        "-b",
        b,
        "-a",
        "Foo",
        "-e",
        "1.1.0",
        "--to-environment",
        "staging",
    ])
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let out = pact(&[
        "broker",
        "can-i-deploy",
        "-b",
        b,
        "-a",
        "Foo",
        "-e",
        "1.1.0",
        "--to-environment",
        "staging",
        "--retries",
        "0",
    ])
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
}

/// The Ruby client asks `/matrix` with `latestby=cvp`, the Rust client with
/// `cvpv`. With two provider versions released to production, one failing,
/// `cvp` sees only the newest (passing) one and `cvpv` sees both: the two
/// answers differ, and each is the right answer to the question asked.
#[tokio::test(flavor = "multi_thread")]
async fn the_two_clients_ask_differently_and_both_answers_are_right() {
    let treaty = TestServer::start().await;
    let b = treaty.url.as_str();
    let dir = tempfile::tempdir().unwrap();
    write_pact(
        dir.path(),
        "Waffle",
        "Pancake",
        json!([{
            "description": "a request", "request": {"method": "GET", "path": "/a"}, "response": {"status": 200}
        }]),
    );
    let out = pact(&[
        "broker",
        "publish",
        dir.path().to_str().unwrap(),
        "-b",
        b,
        "-a",
        "1",
        "--retries",
        "0",
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let out = pact(&[
        "broker",
        "create-environment",
        "-b",
        b,
        "--name",
        "production",
        "--production",
        "--retries",
        "0",
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let (_, pact_json) = treaty
        .get_json("/pacts/provider/Pancake/consumer/Waffle/latest")
        .await;
    let publish = pact_json["_links"]["pb:publish-verification-results"]["href"]
        .as_str()
        .unwrap()
        .to_owned();
    let client = reqwest::Client::new();
    for (version, success) in [("10", false), ("11", true)] {
        let response = client
            .post(&publish)
            .json(&json!({"success": success, "providerApplicationVersion": version}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 201);
        let out = pact(&[
            "broker",
            "record-release",
            "-b",
            b,
            "-a",
            "Pancake",
            "-e",
            version,
            "--environment",
            "production",
            "--retries",
            "0",
        ])
        .await;
        assert!(out.status.success(), "{}", text(&out));
    }

    let rust = pact(&[
        "broker",
        "can-i-deploy",
        "-b",
        b,
        "-a",
        "Waffle",
        "-e",
        "1",
        "--to-environment",
        "production",
        "--retries",
        "0",
    ])
    .await;
    assert_eq!(
        rust.status.code(),
        Some(1),
        "cvpv sees the failing version 10: {}",
        text(&rust)
    );
    assert!(
        text(&rust).contains("one of the versions of Pancake currently in production (10)"),
        "{}",
        text(&rust)
    );

    let ruby_out = ruby(&[
        "can-i-deploy",
        "-b",
        b,
        "-a",
        "Waffle",
        "-e",
        "1",
        "--to-environment",
        "production",
    ])
    .await;
    assert_eq!(
        ruby_out.status.code(),
        Some(0),
        "cvp sees only the newest version 11: {}",
        text(&ruby_out)
    );
}
