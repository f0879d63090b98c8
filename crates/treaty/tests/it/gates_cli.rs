//! Deployment gates from the command line: `treaty policy`, `treaty
//! preflight`, and `treaty deployment start` refused with the cause's exit code.

use chrono::{Duration, SecondsFormat, Utc};
use serde_json::{Value, json};

use treaty_server::ServerConfig;

use crate::support::{TestServer, text, treaty};

/// A server that creates the versions events name: these tests are about gates.
async fn server() -> TestServer {
    TestServer::start_with(ServerConfig {
        create_unknown_versions: true,
        ..ServerConfig::default()
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn gates_are_applied_checked_and_enforced_with_their_exit_codes() {
    let server = server().await;
    let b = server.url.as_str();
    for name in ["staging", "production"] {
        assert!(
            treaty(&["create-environment", "-b", b, "--name", name])
                .await
                .status
                .success()
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("production.json");
    let iso = |d: Duration| (Utc::now() + d).to_rfc3339_opts(SecondsFormat::Secs, true);
    std::fs::write(
        &rules,
        json!({"rules": [
            {"rule": "promotion", "from": "staging"},
            {"rule": "freeze", "allow_emergency": true, "windows": [{"start": iso(-Duration::minutes(5)), "end": iso(Duration::hours(2)), "reason": "release freeze"}]}
        ]})
        .to_string(),
    )
    .unwrap();
    let applied = treaty(&[
        "policy",
        "apply",
        "-b",
        b,
        "--environment",
        "production",
        "-f",
        rules.to_str().unwrap(),
    ])
    .await;
    assert!(applied.status.success(), "{}", text(&applied));
    let shown = treaty(&["policy", "show", "-b", b, "--environment", "production"]).await;
    let table = String::from_utf8_lossy(&shown.stdout);
    assert!(
        table.contains("The policy set for production:")
            && table.contains(
                "Promotion: the version completes a deployment to staging first (enforced)"
            )
            && table.contains("(release freeze) (enforced; a marked emergency may step over it)"),
        "{}",
        text(&shown)
    );

    // The freeze is reported first: exit code 4.
    let check = treaty(&[
        "preflight",
        "-b",
        b,
        "-a",
        "Foo",
        "-e",
        "1",
        "--environment",
        "production",
    ])
    .await;
    assert_eq!(check.status.code(), Some(4), "{}", text(&check));
    let printed = String::from_utf8_lossy(&check.stdout);
    assert!(
        printed.contains("release freeze")
            && printed.contains("has not completed a deployment to staging"),
        "{}",
        text(&check)
    );
    let start = treaty(&[
        "deployment",
        "start",
        "-b",
        b,
        "-a",
        "Foo",
        "-e",
        "1",
        "--environment",
        "production",
    ])
    .await;
    assert_eq!(start.status.code(), Some(4), "{}", text(&start));
    assert!(
        String::from_utf8_lossy(&start.stderr).contains("frozen"),
        "{}",
        text(&start)
    );

    // An emergency passes the freeze, not the promotion: exit code 5.
    let emergency = [
        "deployment",
        "start",
        "-b",
        b,
        "-a",
        "Foo",
        "-e",
        "1",
        "--environment",
        "production",
        "--emergency",
    ];
    assert_eq!(treaty(&emergency).await.status.code(), Some(5));
    let staged = treaty(&[
        "deployment",
        "complete",
        "-b",
        b,
        "-a",
        "Foo",
        "-e",
        "1",
        "--environment",
        "staging",
    ])
    .await;
    assert!(staged.status.success(), "{}", text(&staged));
    let check = treaty(&[
        "preflight",
        "-b",
        b,
        "-a",
        "Foo",
        "-e",
        "1",
        "--environment",
        "production",
        "--emergency",
        "-o",
        "json",
    ])
    .await;
    assert_eq!(check.status.code(), Some(0), "{}", text(&check));
    let verdict: Value = serde_json::from_slice(&check.stdout).unwrap();
    assert_eq!(verdict["emergency_exemption"], true);
    assert_eq!(verdict["emergency_stepped_over"], json!(["freeze"]));
    let said = treaty(&[
        "preflight",
        "-b",
        b,
        "-a",
        "Foo",
        "-e",
        "1",
        "--environment",
        "production",
        "--emergency",
    ])
    .await;
    assert!(
        String::from_utf8_lossy(&said.stdout)
            .contains("As a marked emergency it steps over: freeze."),
        "{}",
        text(&said)
    );
    // A deployment recorded after the event during the freeze is recorded, and marked.
    let staged = treaty(&[
        "deployment",
        "complete",
        "-b",
        b,
        "-a",
        "Foo",
        "-e",
        "3",
        "--environment",
        "staging",
    ])
    .await;
    assert!(staged.status.success(), "{}", text(&staged));
    let recorded = treaty(&[
        "record-deployment",
        "-b",
        b,
        "-a",
        "Foo",
        "-e",
        "3",
        "--environment",
        "production",
    ])
    .await;
    assert!(recorded.status.success(), "{}", text(&recorded));
    assert!(
        String::from_utf8_lossy(&recorded.stderr).contains("it bypassed the environment's gates")
            && String::from_utf8_lossy(&recorded.stderr).contains("release freeze"),
        "{}",
        text(&recorded)
    );
    let started = treaty(&emergency).await;
    assert!(started.status.success(), "{}", text(&started));
    let id = String::from_utf8_lossy(&started.stdout).trim().to_owned();
    let (_, deployment) = server.get_json(&format!("/deployments/{id}")).await;
    assert_eq!(deployment["emergency"], true);

    let cleared = treaty(&["policy", "clear", "-b", b, "--environment", "production"]).await;
    assert!(cleared.status.success(), "{}", text(&cleared));
    // Without a policy of its own, production still checks the contracts.
    let shown = treaty(&["policy", "show", "-b", b, "--environment", "production"]).await;
    assert!(
        String::from_utf8_lossy(&shown.stdout).contains("production has no policy of its own")
            && String::from_utf8_lossy(&shown.stdout).contains("Contract compatibility"),
        "{}",
        text(&shown)
    );
    let check = treaty(&[
        "preflight",
        "-b",
        b,
        "-a",
        "Foo",
        "-e",
        "9",
        "--environment",
        "production",
    ])
    .await;
    // This production was not created as a production environment: the
    // default reports the contracts there, it does not enforce them.
    assert_eq!(check.status.code(), Some(0), "{}", text(&check));
    assert!(
        String::from_utf8_lossy(&check.stdout).contains("fail (report only)")
            && String::from_utf8_lossy(&check.stdout)
                .contains("production has no policy of its own"),
        "{}",
        text(&check)
    );
    let bad = treaty(&[
        "policy",
        "apply",
        "-b",
        b,
        "--environment",
        "production",
        "-f",
        "/nonexistent.json",
    ])
    .await;
    assert_eq!(bad.status.code(), Some(1), "{}", text(&bad));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_release_plan_prints_its_steps_and_exits_3_when_the_set_cannot_go() {
    let server = server().await;
    let b = server.url.as_str();
    for name in ["staging", "production"] {
        assert!(
            treaty(&["create-environment", "-b", b, "--name", name])
                .await
                .status
                .success()
        );
    }
    let dir = tempfile::tempdir().unwrap();
    crate::support::write_pact(
        dir.path(),
        "Foo",
        "Bar",
        json!([{"description": "a request", "request": {"method": "GET", "path": "/"}, "response": {"status": 200}}]),
    );
    let published = treaty(&[
        "publish",
        dir.path().to_str().unwrap(),
        "-b",
        b,
        "-a",
        "2",
        "--branch",
        "main",
        "--retries",
        "0",
    ])
    .await;
    assert!(published.status.success(), "{}", text(&published));
    let blocked = treaty(&[
        "plan",
        "-b",
        b,
        "--environment",
        "production",
        "-a",
        "Foo",
        "-e",
        "2",
    ])
    .await;
    assert_eq!(blocked.status.code(), Some(3), "{}", text(&blocked));
    assert!(
        String::from_utf8_lossy(&blocked.stdout)
            .contains("Foo 2 needs Bar, which is not deployed there and not in the plan"),
        "{}",
        text(&blocked)
    );

    for app in ["Baz", "Qux"] {
        let made = treaty(&[
            "deployment",
            "complete",
            "-b",
            b,
            "-a",
            app,
            "-e",
            "1",
            "--environment",
            "staging",
        ])
        .await;
        assert!(made.status.success(), "{}", text(&made));
    }
    let plan = treaty(&[
        "plan",
        "-b",
        b,
        "--environment",
        "production",
        "-a",
        "Qux",
        "-e",
        "1",
        "-a",
        "Baz",
        "-e",
        "1",
    ])
    .await;
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
    let printed = String::from_utf8_lossy(&plan.stdout);
    assert!(
        printed.contains("1. deploy Baz 1") && printed.contains("2. deploy Qux 1"),
        "{}",
        text(&plan)
    );
    let json_plan = treaty(&[
        "plan",
        "-b",
        b,
        "--environment",
        "production",
        "-a",
        "Baz",
        "-e",
        "1",
        "-o",
        "json",
    ])
    .await;
    let body: Value = serde_json::from_slice(&json_plan.stdout).unwrap();
    assert_eq!(body["possible"], true);
    let uneven = treaty(&[
        "plan",
        "-b",
        b,
        "--environment",
        "production",
        "-a",
        "Baz",
        "-a",
        "Qux",
        "-e",
        "1",
    ])
    .await;
    assert_eq!(uneven.status.code(), Some(1), "{}", text(&uneven));
}
