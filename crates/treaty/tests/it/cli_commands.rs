//! The `treaty` client commands end to end against a Treaty on loopback, and
//! a `pact broker` script run with `treaty` in its place.

use serde_json::{Value, json};

use crate::support::{TestServer, pact, text, treaty, write_pact};

fn orders() -> Value {
    json!([{"description": "a request for order 1", "request": {"method": "GET", "path": "/orders/1"}, "response": {"status": 200}}])
}

#[tokio::test(flavor = "multi_thread")]
async fn publish_describe_tag_and_list() {
    let server = TestServer::start().await;
    let b = server.url.as_str();
    let dir = tempfile::tempdir().unwrap();
    write_pact(dir.path(), "Foo", "Bar", orders());
    let out = treaty(&[
        "publish",
        dir.path().to_str().unwrap(),
        "-b",
        b,
        "-a",
        "1.0.0",
        "--branch",
        "main",
        "-t",
        "dev",
        "--retries",
        "0",
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("Pact successfully published for Foo version 1.0.0 and provider Bar."),
        "{}",
        text(&out)
    );

    let out = treaty(&[
        "describe-version",
        "-b",
        b,
        "-a",
        "Foo",
        "-e",
        "1.0.0",
        "-o",
        "json",
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let described: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
    assert_eq!(described["number"], "1.0.0");
    let out = treaty(&["describe-version", "-b", b, "-a", "Foo", "-e", "1.0.0"]).await;
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("dev"),
        "{}",
        text(&out)
    );

    let out = treaty(&[
        "create-or-update-pacticipant",
        "-b",
        b,
        "--name",
        "Bar",
        "--main-branch",
        "trunk",
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let out = treaty(&["describe-pacticipant", "-b", b, "--name", "Bar"]).await;
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("trunk"),
        "{}",
        text(&out)
    );

    let out = treaty(&[
        "create-version-tag",
        "-b",
        b,
        "-a",
        "Foo",
        "-e",
        "1.0.0",
        "-t",
        "prod",
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        server
            .get_json("/pacticipants/Foo/versions/1.0.0/tags/prod")
            .await
            .0,
        200
    );

    let out = treaty(&["list-latest-pact-versions", "-b", b, "-o", "json"]).await;
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Bar"),
        "{}",
        text(&out)
    );

    // A changed pact for the same version: refused, with the reason, exit 1.
    write_pact(
        dir.path(),
        "Foo",
        "Bar",
        json!([{"description": "x", "request": {"method": "GET", "path": "/x"}, "response": {"status": 201}}]),
    );
    let out = treaty(&[
        "publish",
        dir.path().to_str().unwrap(),
        "-b",
        b,
        "-a",
        "1.0.0",
        "--retries",
        "0",
    ])
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Cannot change the content of the pact"),
        "{}",
        text(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_broker_fails_quickly_with_exit_1() {
    let out = treaty(&[
        "list-pacticipants",
        "-b",
        "http://127.0.0.1:1",
        "--retries",
        "0",
    ])
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(!String::from_utf8_lossy(&out.stderr).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn environments_deployments_releases_and_can_i_deploy() {
    let server = TestServer::start().await;
    let b = server.url.as_str();
    let dir = tempfile::tempdir().unwrap();
    write_pact(dir.path(), "Foo", "Bar", orders());
    assert!(
        treaty(&[
            "publish",
            dir.path().to_str().unwrap(),
            "-b",
            b,
            "-a",
            "1",
            "--branch",
            "main"
        ])
        .await
        .status
        .success()
    );

    let out = treaty(&[
        "create-environment",
        "-b",
        b,
        "--name",
        "staging",
        "--display-name",
        "Staging",
        "--contact-name",
        "Ops",
        "-o",
        "json",
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let staging: Value = serde_json::from_slice(&out.stdout).unwrap();
    let uuid = staging["uuid"].as_str().unwrap().to_owned();
    let out = treaty(&[
        "update-environment",
        "-b",
        b,
        "--uuid",
        &uuid,
        "--production",
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        server.get_json(&format!("/environments/{uuid}")).await.1["production"],
        true
    );
    let out = treaty(&["describe-environment", "-b", b, "--uuid", &uuid]).await;
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Display Name: Staging"),
        "{}",
        text(&out)
    );
    let out = treaty(&["list-environments", "-b", b]).await;
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("staging"),
        "{}",
        text(&out)
    );

    // Bar has not verified Foo's pact: no (exit 1), unless a dry run (exit 0).
    let out = treaty(&[
        "can-i-deploy",
        "-b",
        b,
        "-a",
        "Foo",
        "-e",
        "1",
        "--to-environment",
        "staging",
    ])
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("To fix:"),
        "{}",
        text(&out)
    );
    let out = treaty(&[
        "can-i-deploy",
        "-b",
        b,
        "-a",
        "Foo",
        "-e",
        "1",
        "--to-environment",
        "staging",
        "--dry-run",
    ])
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // Bar verifies and is deployed: yes.
    let (_, pact_json) = server
        .get_json("/pacts/provider/Bar/consumer/Foo/latest")
        .await;
    let publish = pact_json["_links"]["pb:publish-verification-results"]["href"]
        .as_str()
        .unwrap()
        .to_owned();
    reqwest::Client::new()
        .post(&publish)
        .json(&json!({"success": true, "providerApplicationVersion": "7"}))
        .send()
        .await
        .unwrap();
    let out = treaty(&[
        "record-deployment",
        "-b",
        b,
        "-a",
        "Bar",
        "-e",
        "7",
        "--environment",
        "staging",
        "--application-instance",
        "blue",
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let out = treaty(&[
        "can-i-deploy",
        "-b",
        b,
        "-a",
        "Foo",
        "-e",
        "1",
        "--to-environment",
        "staging",
        "-o",
        "json",
    ])
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["summary"]["deployable"], true);
    // One call, several environments: staging yes, test no.
    assert!(
        treaty(&["create-environment", "-b", b, "--name", "test"])
            .await
            .status
            .success()
    );
    let out = treaty(&[
        "can-i-deploy",
        "-b",
        b,
        "-a",
        "Foo",
        "-e",
        "1",
        "--to-environment",
        "staging",
        "--to-environment",
        "test",
    ])
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        printed.contains("== staging") && printed.contains("== test"),
        "{printed}"
    );

    let out = treaty(&[
        "record-undeployment",
        "-b",
        b,
        "-a",
        "Bar",
        "--environment",
        "staging",
        "--application-instance",
        "blue",
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let current = server
        .get_json(&format!(
            "/environments/{uuid}/deployed-versions/currently-deployed"
        ))
        .await
        .1;
    assert!(
        current["_embedded"]["deployedVersions"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let out = treaty(&[
        "record-undeployment",
        "-b",
        b,
        "-a",
        "Bar",
        "--environment",
        "staging",
    ])
    .await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "nothing left to undeploy: {}",
        text(&out)
    );

    let out = treaty(&[
        "record-release",
        "-b",
        b,
        "-a",
        "Bar",
        "-e",
        "7",
        "--environment",
        "staging",
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let out = treaty(&[
        "record-support-ended",
        "-b",
        b,
        "-a",
        "Bar",
        "-e",
        "7",
        "--environment",
        "staging",
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let supported = server
        .get_json(&format!(
            "/environments/{uuid}/released-versions/currently-supported"
        ))
        .await
        .1;
    assert!(
        supported["_embedded"]["releasedVersions"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    let out = treaty(&[
        "record-deployment",
        "-b",
        b,
        "-a",
        "Bar",
        "-e",
        "7",
        "--environment",
        "mars",
    ])
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Environments that exist"),
        "{}",
        text(&out)
    );
    let out = treaty(&["delete-environment", "-b", b, "--uuid", &uuid]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        server.get_json(&format!("/environments/{uuid}")).await.0,
        404
    );
}

/// A script written for `pact broker` gives the same result with `treaty` in its place.
#[tokio::test(flavor = "multi_thread")]
async fn a_pact_broker_script_runs_with_treaty_in_its_place() {
    async fn run_script(use_treaty: bool) -> Value {
        let server = TestServer::start().await;
        let dir = tempfile::tempdir().unwrap();
        write_pact(dir.path(), "Foo", "Bar", orders());
        let b = server.url.clone();
        let dir_arg = dir.path().to_str().unwrap().to_owned();
        let script: Vec<Vec<&str>> = vec![
            vec!["publish", &dir_arg, "-a", "1.0.0", "--branch", "main"],
            vec!["create-environment", "--name", "staging"],
            vec![
                "create-version-tag",
                "-a",
                "Foo",
                "-e",
                "1.0.0",
                "-t",
                "prod",
            ],
            vec![
                "record-deployment",
                "-a",
                "Foo",
                "-e",
                "1.0.0",
                "--environment",
                "staging",
            ],
            vec![
                "record-release",
                "-a",
                "Foo",
                "-e",
                "1.0.0",
                "--environment",
                "staging",
            ],
            vec![
                "create-or-update-pacticipant",
                "--name",
                "Bar",
                "--main-branch",
                "main",
            ],
        ];
        for line in &script {
            let mut args: Vec<&str> = line.clone();
            args.extend(["-b", b.as_str(), "--retries", "0"]);
            let out = if use_treaty {
                treaty(&args).await
            } else {
                let mut with_broker = vec!["broker"];
                with_broker.extend(args);
                pact(&with_broker).await
            };
            assert!(out.status.success(), "{line:?}: {}", text(&out));
        }
        let version = server.get_json("/pacticipants/Foo/versions/1.0.0").await.1;
        let bar = server.get_json("/pacticipants/Bar").await.1;
        json!({
            "branches": version["_embedded"]["branches"].as_array().unwrap().iter().map(|b| b["name"].clone()).collect::<Vec<_>>(),
            "tags": version["_embedded"]["tags"].as_array().unwrap().iter().map(|t| t["name"].clone()).collect::<Vec<_>>(),
            "deployed": version["_links"]["pb:deployed-environments"].as_array().unwrap().iter().map(|d| d["currently_deployed"].clone()).collect::<Vec<_>>(),
            "released": version["_links"]["pb:released-environments"].as_array().unwrap().len(),
            "bar_main_branch": bar["mainBranch"].clone(),
        })
    }
    let official = run_script(false).await;
    let ours = run_script(true).await;
    assert_eq!(official, ours);
    assert_eq!(ours["deployed"], json!([true]));
}
