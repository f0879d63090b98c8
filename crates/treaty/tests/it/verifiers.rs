//! Provider verification driven by Treaty's pacts for verification: the
//! official `pact verifier` and pact-python's `Verifier`, with selectors,
//! pending and work-in-progress pacts, publishing results back.

use axum::Json;
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::support::{TestServer, pact, text, write_pact};

/// A provider that serves order 1 and knows nothing of order 2.
async fn start_provider() -> u16 {
    let app = axum::Router::new()
        .route("/orders/1", get(|| async { Json(json!({"id": 1})) }))
        .route("/_pact/provider_states", post(|| async { Json(json!({})) }));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    port
}

fn order(id: u32) -> Value {
    json!([{
        "description": format!("a request for order {id}"),
        "request": {"method": "GET", "path": format!("/orders/{id}")},
        "response": {"status": 200, "headers": {"Content-Type": "application/json"}, "body": {"id": id}}
    }])
}

/// Foo 1 on main (deployed to production) expects order 1, which Bar serves;
/// Foo 2 on feat-x expects order 2, which Bar does not serve yet.
async fn publish_world(treaty: &TestServer) {
    let b = treaty.url.as_str();
    for (version, branch, id) in [("1", "main", 1), ("2", "feat-x", 2)] {
        let dir = tempfile::tempdir().unwrap();
        write_pact(dir.path(), "Foo", "Bar", order(id));
        let out = pact(&[
            "broker",
            "publish",
            dir.path().to_str().unwrap(),
            "-b",
            b,
            "-a",
            version,
            "--branch",
            branch,
            "--retries",
            "0",
        ])
        .await;
        assert!(out.status.success(), "{}", text(&out));
    }
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
    let out = pact(&[
        "broker",
        "record-deployment",
        "-b",
        b,
        "-a",
        "Foo",
        "-e",
        "1",
        "--environment",
        "production",
        "--retries",
        "0",
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));
}

async fn latest_result(treaty: &TestServer, consumer_version: &str) -> Value {
    treaty
        .get_json(&format!("/pacts/provider/Bar/consumer/Foo/version/{consumer_version}/verification-results/latest"))
        .await
        .1
}

#[tokio::test(flavor = "multi_thread")]
async fn the_verifier_verifies_selected_pending_and_wip_pacts_and_publishes() {
    let treaty = TestServer::start().await;
    publish_world(&treaty).await;
    let provider = start_provider().await.to_string();
    let out = pact(&[
        "verifier",
        "--broker-url",
        &treaty.url,
        "--provider-name",
        "Bar",
        "-h",
        "127.0.0.1",
        "-p",
        &provider,
        "--consumer-version-selectors",
        r#"{"mainBranch":true}"#,
        "--consumer-version-selectors",
        r#"{"deployedOrReleased":true}"#,
        "--consumer-version-selectors",
        r#"{"matchingBranch":true}"#,
        "--enable-pending",
        "--include-wip-pacts-since",
        "2020-01-01",
        "--publish",
        "--provider-version",
        "2.0.0",
        "--provider-branch",
        "main",
    ])
    .await;
    // Foo 2's pact fails, but it is a pending (work in progress) pact: the build passes.
    assert!(out.status.success(), "{}", text(&out));
    let output = text(&out);
    assert!(
        output.contains("WIP") || output.contains("work in progress") || output.contains("pending"),
        "{output}"
    );

    let main = latest_result(&treaty, "1").await;
    assert_eq!(
        (
            main["success"].as_bool(),
            main["providerApplicationVersion"].as_str()
        ),
        (Some(true), Some("2.0.0")),
        "{main}"
    );
    let wip = latest_result(&treaty, "2").await;
    assert_eq!(
        wip["success"], false,
        "the WIP pact was verified and its failure published: {wip}"
    );

    // Foo 1's pact is no longer pending for main; Foo 2's still is, and still WIP.
    let reply = reqwest::Client::new()
        .post(format!("{}/pacts/provider/Bar/for-verification", treaty.url))
        .json(&json!({"consumerVersionSelectors": [{"mainBranch": true}], "providerVersionBranch": "main", "includeWipPactsSince": "2020-01-01"}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let pacts = reply["_embedded"]["pacts"].as_array().unwrap();
    let by_name = |name: &str| {
        pacts
            .iter()
            .find(|p| p["_links"]["self"]["name"] == name)
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(
        by_name("Pact between Foo (1) and Bar")["verificationProperties"]["pending"],
        false
    );
    assert_eq!(
        by_name("Pact between Foo (2) and Bar")["verificationProperties"]["wip"],
        true
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_feature_branch_build_verifies_the_matching_consumer_branch() {
    let treaty = TestServer::start().await;
    publish_world(&treaty).await;
    let provider = start_provider().await.to_string();
    let out = pact(&[
        "verifier",
        "--broker-url",
        &treaty.url,
        "--provider-name",
        "Bar",
        "-h",
        "127.0.0.1",
        "-p",
        &provider,
        "--consumer-version-selectors",
        r#"{"branch":"feat-x"}"#,
        "--enable-pending",
        "--publish",
        "--provider-version",
        "2.1.0-feat-x",
        "--provider-branch",
        "feat-x",
    ])
    .await;
    assert!(
        out.status.success(),
        "a pending failure does not fail the build: {}",
        text(&out)
    );
    let result = latest_result(&treaty, "2").await;
    assert_eq!(
        result["providerApplicationVersion"], "2.1.0-feat-x",
        "{result}"
    );
    assert_eq!(result["success"], false);
}

#[tokio::test(flavor = "multi_thread")]
async fn pact_python_verifies_from_treaty_and_publishes() {
    let treaty = TestServer::start().await;
    publish_world(&treaty).await;
    let provider = start_provider().await;
    let python = std::env::var("TREATY_TEST_PYTHON").unwrap_or_else(|_| {
        panic!("TREATY_TEST_PYTHON is not set: run the suite with scripts/test, which installs pact-python")
    });
    let script = format!(
        r#"
from pact import Verifier
verifier = (
    Verifier("Bar", host="127.0.0.1")
    .add_transport(url="http://127.0.0.1:{provider}")
    .broker_source("{broker}", selector=True)
    .consumer_version(main_branch=True)
    .consumer_version(deployed_or_released=True)
    .include_pending()
    .include_wip_since("2020-01-01")
    .provider_branch("main")
    .build()
    .set_publish_options(version="3.0.0", branch="main")
)
verifier.verify()
print("verified")
"#,
        broker = treaty.url
    );
    let out = tokio::process::Command::new(python)
        .args(["-c", &script])
        .env("PACT_DO_NOT_TRACK", "true")
        .output()
        .await
        .expect("run python");
    assert!(out.status.success(), "{}", text(&out));
    let result = latest_result(&treaty, "1").await;
    assert_eq!(
        (
            result["success"].as_bool(),
            result["providerApplicationVersion"].as_str()
        ),
        (Some(true), Some("3.0.0")),
        "{result}"
    );
    assert_eq!(
        result["verifiedBy"]["clientLanguage"]["name"], "pact-python",
        "{result}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_plan_and_get_pacts_show_what_a_provider_would_verify() {
    let treaty = TestServer::start().await;
    publish_world(&treaty).await;
    let b = treaty.url.as_str();
    let out = crate::support::treaty(&[
        "verify-plan",
        "-b",
        b,
        "--provider",
        "Bar",
        "--consumer-version-selectors",
        r#"{"mainBranch":true}"#,
        "--provider-branch",
        "main",
        "--include-wip-pacts-since",
        "2020-01-01",
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        printed.contains("Pact between Foo (1) and Bar")
            && printed.contains("latest from main branch"),
        "{printed}"
    );
    assert!(printed.contains("no (pending)"), "{printed}");
    assert!(printed.contains("no (work in progress)"), "{printed}");
    let out = crate::support::treaty(&[
        "verify-plan",
        "-b",
        b,
        "--provider",
        "Bar",
        "--consumer-version-selectors",
        r#"{"colour":"blue"}"#,
    ])
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("must specify a value for environment or tag or branch"),
        "{}",
        text(&out)
    );

    let dir = tempfile::tempdir().unwrap();
    let out = crate::support::treaty(&[
        "get-pacts",
        "-b",
        b,
        "--provider",
        "Bar",
        "--download",
        "--download-dir",
        dir.path().to_str().unwrap(),
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("Foo-Bar.json")).unwrap())
            .unwrap();
    assert_eq!(
        written["interactions"][0]["request"]["path"], "/orders/2",
        "the latest pact of Foo"
    );
    let out = crate::support::treaty(&[
        "get-pacts",
        "-b",
        b,
        "--provider",
        "Bar",
        "--branch",
        "main",
        "-o",
        "json",
    ])
    .await;
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Pact between Foo (1) and Bar"),
        "{}",
        text(&out)
    );
}
