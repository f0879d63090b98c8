//! Bi-directional contracts with the official clients: `pact pactflow
//! publish-provider-contract` (pact-broker-cli) and the Ruby `pactflow
//! publish-provider-contract` publish a provider's OpenAPI document to
//! Treaty, and `can-i-deploy` of both clients decides the pairs compared
//! with it, waiting with `--retry-while-unknown` while the background
//! worker computes a comparison.
//!
//! The server starts with its workers polling once an hour, so a comparison
//! stays unknown until the test starts a second worker (another replica's,
//! on the same database): what is unknown is then certain, not a race.
//!
//! `incompatible_pacts_and_yaml_documents_with_both_clients` needs the real
//! comparison engine of `treaty_comparator`.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::task::JoinHandle;
use treaty_server::ServerConfig;

use crate::support::{TestServer, pact, text, write_pact};

fn ruby_bin(name: &str) -> String {
    let broker = std::env::var("PACT_BROKER_RUBY_BIN").unwrap_or_else(|_| {
        panic!("PACT_BROKER_RUBY_BIN is not set: run the test suite with scripts/test, which installs the Ruby client")
    });
    Path::new(&broker)
        .with_file_name(name)
        .to_string_lossy()
        .into_owned()
}

async fn ruby(name: &str, args: &[&str]) -> std::process::Output {
    tokio::process::Command::new(ruby_bin(name))
        .args(args)
        .env("PACT_DO_NOT_TRACK", "true")
        .env_remove("PACT_BROKER_BASE_URL")
        .output()
        .await
        .expect("run the Ruby client")
}

fn openapi() -> Value {
    json!({
        "openapi": "3.0.3",
        "info": {"title": "Bar", "version": "1.0.0"},
        "paths": {"/things": {"get": {"responses": {"200": {
            "description": "things",
            "content": {"application/json": {"schema": {"type": "array", "items": {"type": "string"}}}}
        }}}}}
    })
}

const OPENAPI_YAML: &str = "openapi: 3.0.3
info:
  title: Bar
  version: 1.0.0
paths:
  /things:
    get:
      responses:
        '200':
          description: things
          content:
            application/json:
              schema:
                type: array
                items:
                  type: string
";

fn interactions(path: &str) -> Value {
    json!([{
        "description": format!("a request for {path}"),
        "request": {"method": "GET", "path": path},
        "response": {"status": 200, "headers": {"Content-Type": "application/json"}, "body": ["a"]}
    }])
}

/// A server whose own workers look for work once an hour.
async fn idle_server() -> TestServer {
    TestServer::start_with(ServerConfig {
        webhook_poll_interval: Duration::from_secs(3600),
        ..ServerConfig::default()
    })
    .await
}

/// Another replica's background work on the same database, polling often.
async fn start_worker(server: &TestServer) -> Vec<JoinHandle<()>> {
    let store = treaty_store::open(
        &server.database_url,
        treaty_store::OpenOptions {
            migrate: false,
            ..treaty_store::OpenOptions::default()
        },
    )
    .await
    .expect("open the server's database");
    treaty_server::background::spawn(
        store,
        &ServerConfig {
            webhook_poll_interval: Duration::from_millis(50),
            ..ServerConfig::default()
        },
        &server.url,
    )
}

struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    fn write(&self, name: &str, content: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        path.to_string_lossy().into_owned()
    }
    /// A folder holding one pact of Foo with Bar asking for `path`.
    fn pact_dir(&self, name: &str, path: &str) -> String {
        let dir = self.dir.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        write_pact(&dir, "Foo", "Bar", interactions(path));
        dir.to_string_lossy().into_owned()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pact_cli_publishes_a_provider_contract_and_can_i_deploy_waits_and_decides() {
    let treaty = idle_server().await;
    let b = treaty.url.as_str();
    let files = Files::new();
    let document = files.write("openapi.json", &openapi().to_string());
    let report = files.write("report.txt", "12 passed");
    let publish = |version: &'static str, verified: &'static str| {
        let (document, report) = (document.clone(), report.clone());
        async move {
            pact(&[
                "pactflow",
                "publish-provider-contract",
                &document,
                "--provider",
                "Bar",
                "-a",
                version,
                "--branch",
                "main",
                "--content-type",
                "application/json",
                verified,
                "--verification-results",
                &report,
                "--verification-results-content-type",
                "text/plain",
                "--verifier",
                "schemathesis",
                "-b",
                b,
                "--retries",
                "0",
            ])
            .await
        }
    };
    let out = publish("p1", "--verification-success").await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("Successfully published provider contract for Bar version p1"),
        "{}",
        text(&out)
    );
    let (status, stored) = treaty
        .get_json("/provider-contracts/provider/Bar/version/p1")
        .await;
    assert_eq!(status, 200, "{stored}");
    assert_eq!(stored["selfVerificationResults"]["success"], true);
    assert_eq!(stored["selfVerificationResults"]["content"], "12 passed");

    let pacts = files.pact_dir("compatible", "/things");
    let out = pact(&[
        "broker",
        "publish",
        &pacts,
        "-b",
        b,
        "-a",
        "c1",
        "--branch",
        "main",
        "--retries",
        "0",
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));
    for args in [
        vec!["broker", "create-environment", "--name", "production"],
        vec![
            "broker",
            "record-deployment",
            "-a",
            "Bar",
            "-e",
            "p1",
            "--environment",
            "production",
        ],
    ] {
        let mut args = args;
        args.extend(["-b", b, "--retries", "0"]);
        let out = pact(&args).await;
        assert!(out.status.success(), "{}", text(&out));
    }
    let can_i_deploy = |extra: &'static [&'static str]| async move {
        let mut args = vec![
            "broker",
            "can-i-deploy",
            "-a",
            "Foo",
            "-e",
            "c1",
            "--to-environment",
            "production",
            "-b",
            b,
            "--retries",
            "0",
        ];
        args.extend(extra);
        pact(&args).await
    };

    // Not compared yet: unknown, which is a "no" without waiting.
    let out = can_i_deploy(&[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("BDCT"), "{}", text(&out));
    assert!(
        text(&out).contains("has not been compared yet"),
        "{}",
        text(&out)
    );
    // Waiting while unknown: a worker computes it meanwhile.
    let (out, _worker) = tokio::join!(
        can_i_deploy(&["--retry-while-unknown", "30", "--retry-interval", "1"]),
        start_worker(&treaty)
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("BDCT"), "{}", text(&out));

    // A provider version whose own tests failed may not be deployed.
    let out = publish("p2", "--no-verification-success").await;
    assert!(out.status.success(), "{}", text(&out));
    let out = pact(&[
        "broker",
        "can-i-deploy",
        "-a",
        "Bar",
        "-e",
        "p2",
        "--to-environment",
        "production",
        "-b",
        b,
        "--retries",
        "0",
    ])
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("self-verification"), "{}", text(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_ruby_clients_publish_a_provider_contract_and_can_i_deploy_waits_and_decides() {
    let treaty = idle_server().await;
    let b = treaty.url.as_str();
    let files = Files::new();
    let document = files.write("openapi.json", &openapi().to_string());
    let report = files.write("report.txt", "12 passed");
    let publish = |version: &'static str, verified: &'static str| {
        let (document, report) = (document.clone(), report.clone());
        async move {
            ruby(
                "pactflow",
                &[
                    "publish-provider-contract",
                    &document,
                    "--provider",
                    "Bar",
                    "-a",
                    version,
                    "--branch",
                    "main",
                    "--content-type",
                    "application/json",
                    verified,
                    "--verification-results",
                    &report,
                    "--verification-results-content-type",
                    "text/plain",
                    "--verifier",
                    "schemathesis",
                    "-b",
                    b,
                ],
            )
            .await
        }
    };
    let out = publish("p1", "--verification-success").await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("Successfully published provider contract for Bar version p1"),
        "{}",
        text(&out)
    );

    let pacts = files.pact_dir("compatible", "/things");
    let out = ruby(
        "pact-broker",
        &["publish", &pacts, "-b", b, "-a", "c1", "--branch", "main"],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let out = ruby(
        "pact-broker",
        &["create-environment", "-b", b, "--name", "production"],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let out = ruby(
        "pact-broker",
        &[
            "record-deployment",
            "-b",
            b,
            "-a",
            "Bar",
            "-e",
            "p1",
            "--environment",
            "production",
        ],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out));

    let can_i_deploy = |extra: &'static [&'static str]| async move {
        let mut args = vec![
            "can-i-deploy",
            "-b",
            b,
            "-a",
            "Foo",
            "-e",
            "c1",
            "--to-environment",
            "production",
        ];
        args.extend(extra);
        ruby("pact-broker", &args).await
    };
    let out = can_i_deploy(&[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("has not been compared yet"),
        "{}",
        text(&out)
    );
    let (out, _worker) = tokio::join!(
        can_i_deploy(&["--retry-while-unknown", "30", "--retry-interval", "1"]),
        start_worker(&treaty)
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let out = publish("p2", "--no-verification-success").await;
    assert!(out.status.success(), "{}", text(&out));
    let out = ruby(
        "pact-broker",
        &[
            "can-i-deploy",
            "-b",
            b,
            "-a",
            "Bar",
            "-e",
            "p2",
            "--to-environment",
            "production",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("self-verification"), "{}", text(&out));
}

/// (engine) A pact the document does not satisfy, and a YAML document.
#[tokio::test(flavor = "multi_thread")]
async fn incompatible_pacts_and_yaml_documents_with_both_clients() {
    let treaty = TestServer::start().await;
    let b = treaty.url.as_str();
    let files = Files::new();
    let document = files.write("openapi.yaml", OPENAPI_YAML);
    let out = ruby(
        "pactflow",
        &[
            "publish-provider-contract",
            &document,
            "--provider",
            "Bar",
            "-a",
            "p1",
            "--branch",
            "main",
            "--content-type",
            "application/yaml",
            "--verification-success",
            "--verifier",
            "schemathesis",
            "-b",
            b,
        ],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let out = pact(&[
        "pactflow",
        "publish-provider-contract",
        &document,
        "--provider",
        "Bar",
        "-a",
        "p2",
        "--branch",
        "main",
        "--verification-success",
        "--verifier",
        "schemathesis",
        "-b",
        b,
        "--retries",
        "0",
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));

    let pacts = files.pact_dir("incompatible", "/elsewhere");
    let out = pact(&[
        "broker",
        "publish",
        &pacts,
        "-b",
        b,
        "-a",
        "c2",
        "--branch",
        "main",
        "--retries",
        "0",
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));
    for args in [
        vec!["broker", "create-environment", "--name", "production"],
        vec![
            "broker",
            "record-deployment",
            "-a",
            "Bar",
            "-e",
            "p2",
            "--environment",
            "production",
        ],
    ] {
        let mut args = args;
        args.extend(["-b", b, "--retries", "0"]);
        let out = pact(&args).await;
        assert!(out.status.success(), "{}", text(&out));
    }
    let out = pact(&[
        "broker",
        "can-i-deploy",
        "-a",
        "Foo",
        "-e",
        "c2",
        "--to-environment",
        "production",
        "--retry-while-unknown",
        "30",
        "--retry-interval",
        "1",
        "-b",
        b,
        "--retries",
        "0",
    ])
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("request.path-or-method.unknown"),
        "{}",
        text(&out)
    );
    let out = ruby(
        "pact-broker",
        &[
            "can-i-deploy",
            "-b",
            b,
            "-a",
            "Foo",
            "-e",
            "c2",
            "--to-environment",
            "production",
            "--retry-while-unknown",
            "30",
            "--retry-interval",
            "1",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("request.path-or-method.unknown"),
        "{}",
        text(&out)
    );

    // A document that is not YAML at all is refused with the reason.
    let broken = files.write("broken.yaml", "openapi: [3.0\n  paths: {\n");
    let out = pact(&[
        "pactflow",
        "publish-provider-contract",
        &broken,
        "--provider",
        "Bar",
        "-a",
        "p3",
        "--verification-success",
        "--verifier",
        "x",
        "-b",
        b,
        "--retries",
        "0",
    ])
    .await;
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("contract.content"), "{}", text(&out));
}
