//! The deployment ledger driven from a pipeline with `treaty deployment ...`
//! and `treaty metrics`, and what the official `pact broker` then sees.

use std::process::Output;

use serde_json::Value;
use treaty_server::ServerConfig;

use crate::support::{TestServer, pact, text, treaty, treaty_with_env};

const GITHUB: &[(&str, &str)] = &[
    ("GITHUB_ACTIONS", "true"),
    ("GITHUB_ACTOR", "octocat"),
    ("GITHUB_SHA", "4f2c9e1"),
    ("GITHUB_REF_NAME", "main"),
    ("GITHUB_REPOSITORY", "acme/foo"),
    ("GITHUB_SERVER_URL", "https://github.com"),
    ("GITHUB_RUN_ID", "1234"),
    ("GITHUB_RUN_NUMBER", "56"),
];

async fn deployment(b: &str, step: &str, extra: &[&str]) -> Output {
    let mut args = vec!["deployment", step, "-b", b, "--retries", "0"];
    args.extend_from_slice(extra);
    treaty_with_env(&args, GITHUB).await
}

fn printed_id(out: &Output) -> i64 {
    assert!(out.status.success(), "{}", text(out));
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("an id on stdout: {}", text(out)))
}

fn json(out: &Output) -> Value {
    assert!(out.status.success(), "{}", text(out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(out)))
}

fn foo(version: &str) -> [&str; 6] {
    ["-a", "Foo", "-e", version, "--environment", "production"]
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pipeline_records_success_failure_abort_rollback_and_an_incident() {
    // Versioner-style: the pipeline reports versions Treaty has not seen.
    let server = TestServer::start_with(ServerConfig {
        create_unknown_versions: true,
        ..ServerConfig::default()
    })
    .await;
    let b = server.url.as_str();
    let out = treaty(&[
        "create-environment",
        "-b",
        b,
        "--name",
        "production",
        "--production",
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));

    // Success, with the start retried under the same idempotency key.
    let start = [&foo("1.0.0")[..], &["--idempotency-key", "run-1234-start"]].concat();
    let first = printed_id(&deployment(b, "start", &start).await);
    let retried = printed_id(&deployment(b, "start", &start).await);
    assert_eq!(first, retried, "a retried start is the same deployment");
    let id = first.to_string();
    assert_eq!(
        printed_id(&deployment(b, "complete", &["--deployment", &id]).await),
        first
    );
    let (_, shown) = server.get_json(&format!("/deployments/{first}")).await;
    assert_eq!(shown["status"], "completed");
    assert_eq!(
        shown["events"].as_array().unwrap().len(),
        2,
        "the retry was recorded once"
    );
    assert_eq!(shown["deployed_by"], "octocat");
    assert_eq!(shown["scm_sha"], "4f2c9e1");
    assert_eq!(
        shown["build_url"],
        "https://github.com/acme/foo/actions/runs/1234"
    );
    assert_eq!(shown["source_system"], "github-actions");

    // Failure, found by pacticipant, version and environment instead of an id.
    printed_id(&deployment(b, "start", &foo("2.0.0")).await);
    let failed = printed_id(&deployment(b, "fail", &foo("2.0.0")).await);

    // Abort, then an event out of order: a non-zero exit that says why.
    let aborted = printed_id(&deployment(b, "start", &foo("3.0.0")).await).to_string();
    printed_id(&deployment(b, "abort", &["--deployment", &aborted]).await);
    let late = deployment(b, "complete", &["--deployment", &aborted]).await;
    assert_eq!(late.status.code(), Some(1), "{}", text(&late));
    assert!(
        String::from_utf8_lossy(&late.stderr).contains("is aborted"),
        "{}",
        text(&late)
    );

    // 4.0.0 goes out and causes an incident; 1.0.0 comes back: a rollback.
    let four = printed_id(&deployment(b, "complete", &foo("4.0.0")).await).to_string();
    let incident = printed_id(
        &treaty(&[
            "deployment",
            "incident",
            "-b",
            b,
            "--deployment",
            &four,
            "--title",
            "checkout errors",
            "--severity",
            "sev2",
        ])
        .await,
    )
    .to_string();
    let resolved = treaty(&[
        "deployment",
        "resolve",
        "-b",
        b,
        "--deployment",
        &four,
        "--incident",
        &incident,
        "-o",
        "json",
    ])
    .await;
    assert_eq!(json(&resolved)["resolved"], true);
    printed_id(&deployment(b, "complete", &foo("1.0.0")).await);

    let history = json(&treaty(&["deployment", "list", "-b", b, "-a", "Foo", "-o", "json"]).await);
    let rows: Vec<(String, bool)> = history["_embedded"]["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                format!(
                    "{} {}",
                    d["version"].as_str().unwrap(),
                    d["status"].as_str().unwrap()
                ),
                d["rollback"] == true,
            )
        })
        .collect();
    let expected: Vec<(String, bool)> = [
        ("1.0.0 completed", true),
        ("4.0.0 completed", false),
        ("3.0.0 aborted", false),
        ("2.0.0 failed", false),
        ("1.0.0 completed", false),
    ]
    .iter()
    .map(|(row, rollback)| ((*row).to_owned(), *rollback))
    .collect();
    assert_eq!(rows, expected);
    assert_eq!(history["_embedded"]["deployments"][3]["id"], failed);
    let table = treaty(&["deployment", "list", "-b", b]).await;
    assert!(
        String::from_utf8_lossy(&table.stdout).contains("completed (runs now, rollback)"),
        "{}",
        text(&table)
    );

    // The ledger and the currently-deployed lists agree.
    let now = json(
        &treaty(&[
            "deployment",
            "deployed-at",
            "-b",
            b,
            "--environment",
            "production",
            "-o",
            "json",
        ])
        .await,
    );
    assert_eq!(now["deployed"][0]["version"], "1.0.0");
    assert_eq!(now["deployed"].as_array().unwrap().len(), 1);

    let metrics = json(&treaty(&["metrics", "-b", b, "-a", "Foo", "-o", "json"]).await);
    let overall = &metrics["overall"];
    assert_eq!(overall["deployment_frequency"]["deployments"], 3);
    // Changes: three completed and one failed; failures: the failure, the rollback, the incident's deployment.
    assert_eq!(
        (
            overall["change_failure_rate"]["failures"].as_u64(),
            overall["change_failure_rate"]["changes"].as_u64()
        ),
        (Some(3), Some(4))
    );
    let table = treaty(&["metrics", "-b", b]).await;
    assert!(
        String::from_utf8_lossy(&table.stdout).contains("75% (3/4)"),
        "{}",
        text(&table)
    );

    // The official client sees the version the ledger completed as the one deployed, and undeploys it.
    let (_, environments) = server.get_json("/environments?name=production").await;
    let uuid = environments["_embedded"]["environments"][0]["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, current) = server
        .get_json(&format!(
            "/environments/{uuid}/deployed-versions/currently-deployed?pacticipant=Foo"
        ))
        .await;
    assert_eq!(
        current["_embedded"]["deployedVersions"][0]["_embedded"]["version"]["number"],
        "1.0.0"
    );
    let out = pact(&[
        "broker",
        "record-undeployment",
        "-b",
        b,
        "-a",
        "Foo",
        "--environment",
        "production",
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Undeployed Foo from production"),
        "{}",
        text(&out)
    );
    let again = pact(&[
        "broker",
        "record-undeployment",
        "-b",
        b,
        "-a",
        "Foo",
        "--environment",
        "production",
    ])
    .await;
    assert!(
        !again.status.success(),
        "nothing is left deployed: {}",
        text(&again)
    );
    let after = json(
        &treaty(&[
            "deployment",
            "deployed-at",
            "-b",
            b,
            "--environment",
            "production",
            "-o",
            "json",
        ])
        .await,
    );
    assert!(after["deployed"].as_array().unwrap().is_empty());
    // The ledger says so too: the rollback's deployment ended, undeployed.
    let table = treaty(&["deployment", "list", "-b", b, "-a", "Foo"]).await;
    assert!(
        String::from_utf8_lossy(&table.stdout).contains("completed (undeployed, rollback)"),
        "{}",
        text(&table)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_typo_is_refused_with_the_name_meant_unless_serve_creates_unknown_versions() {
    let server = TestServer::start().await;
    let b = server.url.as_str();
    assert!(
        treaty(&["create-environment", "-b", b, "--name", "test"])
            .await
            .status
            .success()
    );
    for version in ["1.9.9", "2.0.0"] {
        let made = treaty(&[
            "create-version-tag",
            "-b",
            b,
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
    let typo = deployment(
        b,
        "complete",
        &["-a", "web", "-e", "9.9.9", "--environment", "test"],
    )
    .await;
    assert_eq!(typo.status.code(), Some(1), "{}", text(&typo));
    assert!(
        String::from_utf8_lossy(&typo.stderr)
            .contains("No version 9.9.9 of web found. Did you mean '1.9.9'?"),
        "{}",
        text(&typo)
    );
    let name = deployment(
        b,
        "start",
        &["-a", "wbe", "-e", "1.9.9", "--environment", "test"],
    )
    .await;
    assert!(
        String::from_utf8_lossy(&name.stderr).contains("Did you mean 'web'?"),
        "{}",
        text(&name)
    );
    // Nothing was made of the typos: 2.0.0 is still web's latest version, wbe does not exist.
    let (_, latest) = server.get_json("/pacticipants/web/latest-version").await;
    assert_eq!(latest["number"], "2.0.0");
    assert_eq!(server.get_json("/pacticipants/wbe").await.0, 404);

    // treaty serve --create-unknown-versions records what a Versioner-style pipeline names.
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let replica = crate::replicas::start_replica_with(&url, &["--create-unknown-versions"]).await;
    let made = deployment(
        &replica.url,
        "complete",
        &["-a", "web", "-e", "9.9.9", "--environment", "test"],
    )
    .await;
    assert!(made.status.success(), "{}", text(&made));
    let listed = json(
        &treaty(&[
            "deployment",
            "list",
            "-b",
            &replica.url,
            "-a",
            "web",
            "-o",
            "json",
        ])
        .await,
    );
    assert_eq!(listed["_embedded"]["deployments"][0]["version"], "9.9.9");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_start_whose_pipeline_died_times_out() {
    let server = TestServer::start_with(ServerConfig {
        stale_deployment_after: Some(std::time::Duration::ZERO),
        create_unknown_versions: true,
        ..ServerConfig::default()
    })
    .await;
    let b = server.url.as_str();
    assert!(
        treaty(&["create-environment", "-b", b, "--name", "production"])
            .await
            .status
            .success()
    );
    let id = printed_id(&deployment(b, "start", &foo("1.0.0")).await);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let listed = json(
            &treaty(&[
                "deployment",
                "list",
                "-b",
                b,
                "--status",
                "timed_out",
                "-o",
                "json",
            ])
            .await,
        );
        if listed["_embedded"]["deployments"][0]["id"] == id {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "deployment {id} never timed out: {listed}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let late = deployment(b, "complete", &["--deployment", &id.to_string()]).await;
    assert_eq!(late.status.code(), Some(1), "{}", text(&late));
}
