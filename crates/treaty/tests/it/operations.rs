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
