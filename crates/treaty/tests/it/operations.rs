//! `treaty serve`, `treaty migrate`: what an operator sees.

use crate::support::{text, treaty};

#[tokio::test]
async fn a_database_password_never_appears_in_output() {
    // Nothing listens on port 1: the connection fails, and the message must not carry the password.
    let out = treaty(&[
        "serve",
        "--bind",
        "127.0.0.1:0",
        "--database-url",
        "postgres://treaty:s3cret-Passw0rd@127.0.0.1:1/treaty",
    ])
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(!text(&out).contains("s3cret-Passw0rd"), "{}", text(&out));
    assert!(
        text(&out).contains("********"),
        "the URL is shown, masked: {}",
        text(&out)
    );
}

#[tokio::test]
async fn an_unknown_database_scheme_is_refused_with_the_schemes_that_work() {
    let out = treaty(&["migrate", "--database-url", "mysql://x@localhost/db"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("sqlite://PATH or postgres://"),
        "{}",
        text(&out)
    );
}

#[tokio::test]
async fn migrate_dry_run_lists_what_would_run_and_changes_nothing() {
    let database = treaty_store::testing::TestDatabase::fresh_with(treaty_store::OpenOptions {
        migrate: false,
        ..treaty_store::OpenOptions::default()
    })
    .await
    .unwrap();
    let out = treaty(&["migrate", "--dry-run", "--database-url", &database.url]).await;
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        stdout.contains("core") && stdout.contains("environments and deployments"),
        "{stdout}"
    );
    let again = treaty(&["migrate", "--dry-run", "--database-url", &database.url]).await;
    assert_eq!(
        String::from_utf8_lossy(&again.stdout),
        stdout,
        "a dry run changes nothing"
    );

    let out = treaty(&["migrate", "--database-url", &database.url]).await;
    assert!(out.status.success(), "{}", text(&out));
    let out = treaty(&["migrate", "--dry-run", "--database-url", &database.url]).await;
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("up to date"),
        "{}",
        text(&out)
    );
}

#[tokio::test]
async fn sigterm_stops_the_server_after_the_requests_in_flight_and_it_ran_without_huge_pages() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_treaty"))
        .args(["serve", "--bind", "127.0.0.1:0", "--database-url", &url])
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let address = loop {
        let line = lines.next_line().await.unwrap().expect("listening line");
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    let status = reqwest::get(format!("{address}/diagnostic/status/dependencies"))
        .await
        .unwrap()
        .status();
    assert_eq!(status.as_u16(), 200);
    let pid = child.id().unwrap().to_string();
    // The server runs without transparent huge pages (docs/performance.md,
    // "Memory"): the kernel says so for the process.
    let proc_status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    assert!(
        proc_status.contains("THP_enabled:\t0"),
        "transparent huge pages are still on: {proc_status}"
    );
    assert!(
        tokio::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .await
            .unwrap()
            .success()
    );
    let exit = child.wait().await.unwrap();
    assert_eq!(exit.code(), Some(0), "a clean stop");
    let mut rest = String::new();
    while let Ok(Some(line)) = lines.next_line().await {
        rest.push_str(&line);
    }
    assert!(rest.contains("stopped"), "{rest}");
}

#[tokio::test]
async fn serving_beyond_loopback_without_authentication_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/t.db", dir.path().display());
    let open = treaty(&["serve", "--bind", "0.0.0.0:0", "--database-url", &url]).await;
    assert_eq!(open.status.code(), Some(2), "{}", text(&open));
    assert!(
        text(&open).contains("--allow-unauthenticated"),
        "{}",
        text(&open)
    );
    let half = treaty(&["serve", "--auth", "basic", "--database-url", &url]).await;
    assert_eq!(half.status.code(), Some(2), "{}", text(&half));
    assert!(
        text(&half).contains("--auth basic needs --basic-auth-username"),
        "{}",
        text(&half)
    );
    let secret = treaty(&[
        "serve",
        "--auth",
        "token",
        "--admin-token",
        "t0ps3cret",
        "--basic-auth-password",
        "hunter2",
        "--database-url",
        &url,
    ])
    .await;
    assert_eq!(secret.status.code(), Some(2), "{}", text(&secret));
    assert!(
        !text(&secret).contains("hunter2") && !text(&secret).contains("t0ps3cret"),
        "{}",
        text(&secret)
    );
}

/// `treaty serve` with its badge settings, from flags and from the
/// environment: badges open to anyone only with `--public-badge-access`,
/// and drawn by Treaty when `--shields-io-base-url` is empty.
#[tokio::test]
async fn badge_settings_of_treaty_serve() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    const BADGE: &str = "/pacticipants/Foo/main-branch/can-i-merge/badge";
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for (flags, env, expected) in [
        (&[][..], None, 401),
        (&["--public-badge-access"][..], None, 307),
        (
            &["--public-badge-access", "--shields-io-base-url", ""][..],
            None,
            200,
        ),
        (&[][..], Some(("TREATY_PUBLIC_BADGE_ACCESS", "true")), 307),
    ] {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_treaty"));
        command
            .args(["serve", "--bind", "127.0.0.1:0", "--database-url", &url])
            .args(["--auth", "token", "--admin-token", "badge-admin-token"])
            .args(flags)
            .env("NO_COLOR", "1")
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true);
        if let Some((name, value)) = env {
            command.env(name, value);
        }
        let mut child = command.spawn().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let address = loop {
            let line = lines.next_line().await.unwrap().expect("listening line");
            if let Some(rest) = line.split("listening on ").nth(1) {
                break rest.split_whitespace().next().unwrap().to_owned();
            }
        };
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let reply = client
            .get(format!("{address}{BADGE}"))
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status().as_u16(), expected, "{flags:?} {env:?}");
        if expected == 200 {
            let body = reply.text().await.unwrap();
            assert!(
                body.contains("<title>pacticipant: not found</title>"),
                "{body}"
            );
        }
        child.kill().await.unwrap();
    }
}
