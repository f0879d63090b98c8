//! The official clients' `record-deployment`, `record-undeployment`,
//! `record-release` and `record-support-ended` (the `pact` CLI and the Ruby
//! `pact-broker` client) write Treaty's one deployment history: `treaty
//! deployment list`, `GET /deployments`, `deployed-at`, `GET /dora-metrics`
//! and the environment page show what they recorded.

use std::future::Future;
use std::process::Output;

use serde_json::Value;

use crate::support::{TestServer, pact, text, treaty};

async fn ruby(args: &[&str]) -> Output {
    let binary = std::env::var("PACT_BROKER_RUBY_BIN").unwrap_or_else(|_| {
        panic!("PACT_BROKER_RUBY_BIN is not set: run the test suite with scripts/test, which installs the Ruby client")
    });
    tokio::process::Command::new(binary)
        .args(args)
        .env("PACT_DO_NOT_TRACK", "true")
        .env_remove("PACT_BROKER_BASE_URL")
        .output()
        .await
        .expect("run the Ruby pact-broker client")
}

async fn pact_cli(args: &[&str]) -> Output {
    let mut all = vec!["broker"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--retries", "0"]);
    pact(&all).await
}

fn json(out: &Output) -> Value {
    assert!(out.status.success(), "{}", text(out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(out)))
}

async fn page(server: &TestServer, path: &str) -> String {
    reqwest::Client::new()
        .get(format!("{}{path}", server.url))
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Drives a client through a deployment's life and checks every reader.
async fn one_history<F, Fut>(client: F)
where
    F: Fn(Vec<String>) -> Fut,
    Fut: Future<Output = Output>,
{
    let server = TestServer::start().await;
    let b = server.url.clone();
    let run = |args: &[&str]| {
        let mut all: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        all.extend(["-b".to_owned(), b.clone()]);
        client(all)
    };
    let made = treaty(&[
        "create-environment",
        "-b",
        &b,
        "--name",
        "production",
        "--production",
    ])
    .await;
    assert!(made.status.success(), "{}", text(&made));
    for version in ["1.0.0", "1.1.0"] {
        let made = treaty(&[
            "create-version-tag",
            "-b",
            &b,
            "-a",
            "web",
            "-e",
            version,
            "-t",
            "ci",
            "--auto-create-version",
        ])
        .await;
        assert!(made.status.success(), "{}", text(&made));
    }

    for version in ["1.0.0", "1.1.0"] {
        let out = run(&[
            "record-deployment",
            "-a",
            "web",
            "-e",
            version,
            "--environment",
            "production",
        ])
        .await;
        assert!(out.status.success(), "{}", text(&out));
    }
    let listed = json(&treaty(&["deployment", "list", "-b", &b, "-a", "web", "-o", "json"]).await);
    let deployments = listed["_embedded"]["deployments"].as_array().unwrap();
    assert_eq!(deployments.len(), 2, "{listed}");
    assert_eq!(deployments[0]["version"], "1.1.0");
    assert_eq!(deployments[0]["source_system"], "pact-broker-api");
    assert_eq!(deployments[0]["running"], true);
    assert_eq!(deployments[1]["end_reason"], "replaced");
    let table = treaty(&["deployment", "list", "-b", &b, "-a", "web"]).await;
    assert!(
        String::from_utf8_lossy(&table.stdout).contains("completed (runs now)"),
        "{}",
        text(&table)
    );
    let (_, api) = server.get_json("/deployments?pacticipant=web").await;
    assert_eq!(api["page"]["totalElements"], 2, "{api}");
    let (_, now) = server
        .get_json("/deployments/deployed-at?environment=production")
        .await;
    assert_eq!(now["deployed"][0]["version"], "1.1.0", "{now}");
    let (_, metrics) = server.get_json("/dora-metrics?pacticipant=web").await;
    assert_eq!(
        metrics["overall"]["deployment_frequency"]["deployments"], 2,
        "{metrics}"
    );
    let counted = json(&treaty(&["metrics", "-b", &b, "-a", "web", "-o", "json"]).await);
    assert_eq!(
        counted["overall"]["deployment_frequency"]["deployments"], 2,
        "{counted}"
    );
    let environment = page(&server, "/ui/environments/production").await;
    assert!(
        environment.contains(">1.1.0</a>") && environment.contains("runs now"),
        "{environment}"
    );

    let out = run(&[
        "record-undeployment",
        "-a",
        "web",
        "--environment",
        "production",
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let (_, now) = server
        .get_json("/deployments/deployed-at?environment=production")
        .await;
    assert_eq!(now["deployed"], serde_json::json!([]), "{now}");
    let (_, ended) = server.get_json("/deployments?pacticipant=web&size=1").await;
    assert_eq!(
        ended["_embedded"]["deployments"][0]["end_reason"], "undeployed",
        "{ended}"
    );

    let out = run(&[
        "record-release",
        "-a",
        "web",
        "-e",
        "1.0.0",
        "--environment",
        "production",
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let (_, released) = server
        .get_json("/deployments?pacticipant=web&kind=release")
        .await;
    assert_eq!(
        released["_embedded"]["deployments"][0]["running"], true,
        "{released}"
    );
    let environment = page(&server, "/ui/environments/production").await;
    assert!(
        environment.contains(">1.0.0</a> <span class=\"badge info\">released</span>"),
        "{environment}"
    );
    let out = run(&[
        "record-support-ended",
        "-a",
        "web",
        "-e",
        "1.0.0",
        "--environment",
        "production",
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let (_, released) = server
        .get_json("/deployments?pacticipant=web&kind=release")
        .await;
    assert_eq!(
        released["_embedded"]["deployments"][0]["end_reason"], "support_ended",
        "{released}"
    );
    let (_, metrics) = server.get_json("/dora-metrics?pacticipant=web").await;
    assert_eq!(
        metrics["overall"]["deployment_frequency"]["deployments"], 3,
        "two deployments and a release: {metrics}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pact_cli_records_one_history() {
    one_history(|args| async move {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        pact_cli(&args).await
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_ruby_client_records_one_history() {
    one_history(|args| async move {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        ruby(&args).await
    })
    .await;
}
