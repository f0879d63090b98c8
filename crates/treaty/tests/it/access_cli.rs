//! Authentication from the clients' side: the official `pact broker` and
//! `pact verifier` with a token and with basic auth, `treaty token`,
//! `treaty audit list`, and `treaty audit verify` finding a row altered in
//! the database.

use axum::Json;
use axum::routing::{get, post};
use secrecy::SecretString;
use serde_json::{Value, json};
use treaty_server::ServerConfig;
use treaty_server::access::AuthConfig;

use crate::support::{TestServer, pact, text, treaty, write_pact};

const ADMIN: &str = "bootstrap-admin-token";

async fn secured() -> TestServer {
    TestServer::start_with(ServerConfig {
        auth: AuthConfig {
            basic: Some(("writer".into(), SecretString::from("wpass"))),
            basic_read_only: Some(("reader".into(), SecretString::from("rpass"))),
            admin_token: Some(SecretString::from(ADMIN)),
            tokens: true,
        },
        ..ServerConfig::default()
    })
    .await
}

async fn provider() -> String {
    let app = axum::Router::new()
        .route("/orders/1", get(|| async { Json(json!({"id": 1})) }))
        .route("/_pact/provider_states", post(|| async { Json(json!({})) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    port.to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_official_clients_work_with_a_token_and_with_basic_auth() {
    let server = secured().await;
    let b = server.url.as_str();
    let created = treaty(&[
        "token",
        "create",
        "-b",
        b,
        "-k",
        ADMIN,
        "--name",
        "ci-foo",
        "--role",
        "write",
        "--pacticipant",
        "Foo",
        "--expires",
        "90d",
    ])
    .await;
    assert!(created.status.success(), "{}", text(&created));
    let token = String::from_utf8_lossy(&created.stdout).trim().to_owned();

    let dir = tempfile::tempdir().unwrap();
    write_pact(
        dir.path(),
        "Foo",
        "Bar",
        json!([{"description": "order 1", "request": {"method": "GET", "path": "/orders/1"},
        "response": {"status": 200, "headers": {"Content-Type": "application/json"}, "body": {"id": 1}}}]),
    );
    let publish = |auth: Vec<String>| {
        let dir = dir.path().to_str().unwrap().to_owned();
        async move {
            let mut args: Vec<String> = [
                "broker",
                "publish",
                &dir,
                "-b",
                b,
                "-a",
                "1",
                "--branch",
                "main",
                "--retries",
                "0",
            ]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
            args.extend(auth);
            pact(&args.iter().map(String::as_str).collect::<Vec<_>>()).await
        }
    };
    let anonymous = publish(vec![]).await;
    assert!(
        !anonymous.status.success(),
        "no credentials, no publication: {}",
        text(&anonymous)
    );
    let with_token = publish(vec!["-k".into(), token.clone()]).await;
    assert!(with_token.status.success(), "{}", text(&with_token));

    // The verifier fetches and publishes with basic auth.
    let port = provider().await;
    let verified = pact(&[
        "verifier",
        "--broker-url",
        b,
        "--user",
        "writer",
        "--password",
        "wpass",
        "--provider-name",
        "Bar",
        "-h",
        "127.0.0.1",
        "-p",
        &port,
        "--publish",
        "--provider-version",
        "7",
        "--provider-branch",
        "main",
    ])
    .await;
    assert!(verified.status.success(), "{}", text(&verified));
    let read = pact(&[
        "broker",
        "describe-version",
        "-b",
        b,
        "-u",
        "reader",
        "-p",
        "rpass",
        "-a",
        "Foo",
        "-e",
        "1",
        "-o",
        "json",
    ])
    .await;
    assert!(read.status.success(), "{}", text(&read));
    let read_only_write = pact(&[
        "broker",
        "create-version-tag",
        "-b",
        b,
        "-u",
        "reader",
        "-p",
        "rpass",
        "-a",
        "Foo",
        "-e",
        "1",
        "-t",
        "prod",
        "--retries",
        "0",
    ])
    .await;
    // (The official CLI exits 0 even when a tag is refused; its output says so.)
    assert!(
        String::from_utf8_lossy(&read_only_write.stdout).contains("403 Forbidden"),
        "the read-only user cannot tag: {}",
        text(&read_only_write)
    );

    let listed = treaty(&["token", "list", "-b", b, "-k", ADMIN]).await;
    assert!(
        String::from_utf8_lossy(&listed.stdout).contains("ci-foo"),
        "{}",
        text(&listed)
    );
    let audit = treaty(&["audit", "list", "-b", b, "-k", ADMIN, "-o", "json"]).await;
    assert!(audit.status.success(), "{}", text(&audit));
    let entries: Value = serde_json::from_slice(&audit.stdout).unwrap();
    let actors: Vec<&str> = entries["_embedded"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["actor"].as_str())
        .collect();
    assert!(
        actors.contains(&"ci-foo") && actors.contains(&"writer") && actors.contains(&"admin"),
        "{actors:?}"
    );

    let revoked = treaty(&["token", "revoke", "-b", b, "-k", ADMIN, "--name", "ci-foo"]).await;
    assert!(revoked.status.success(), "{}", text(&revoked));
    assert!(
        !publish(vec!["-k".into(), token]).await.status.success(),
        "a revoked token is refused"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn audit_verify_finds_a_row_altered_in_the_database() {
    let server = secured().await;
    let b = server.url.as_str();
    for name in ["a", "b", "c"] {
        let out = treaty(&[
            "create-or-update-pacticipant",
            "-b",
            b,
            "-k",
            ADMIN,
            "--name",
            name,
        ])
        .await;
        assert!(out.status.success(), "{}", text(&out));
    }
    let intact = treaty(&["audit", "verify", "--database-url", &server.database_url]).await;
    assert_eq!(intact.status.code(), Some(0), "{}", text(&intact));
    assert!(
        String::from_utf8_lossy(&intact.stdout).contains("3 entries"),
        "{}",
        text(&intact)
    );

    let tamper = "UPDATE audit_log SET actor = 'mallory' WHERE id = 2";
    if server.database_url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(&server.database_url).await.unwrap();
        sqlx::query(tamper).execute(&pool).await.unwrap();
    } else {
        let pool = sqlx::SqlitePool::connect(&server.database_url)
            .await
            .unwrap();
        sqlx::query(tamper).execute(&pool).await.unwrap();
    }
    let broken = treaty(&["audit", "verify", "--database-url", &server.database_url]).await;
    assert_eq!(broken.status.code(), Some(1), "{}", text(&broken));
    assert!(
        String::from_utf8_lossy(&broken.stdout).contains("entry 2 was altered"),
        "{}",
        text(&broken)
    );
}

/// Runs SQL on the test server's database, whichever backend it is.
async fn tamper(database_url: &str, statements: &[String]) {
    if database_url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(database_url).await.unwrap();
        for statement in statements {
            sqlx::query(sqlx::AssertSqlSafe(statement.clone()))
                .execute(&pool)
                .await
                .unwrap();
        }
    } else {
        let pool = sqlx::SqlitePool::connect(database_url).await.unwrap();
        for statement in statements {
            sqlx::query(sqlx::AssertSqlSafe(statement.clone()))
                .execute(&pool)
                .await
                .unwrap();
        }
    }
}

async fn verify(database_url: &str, extra: &[&str]) -> (Option<i32>, String) {
    let mut args = vec!["audit", "verify", "--database-url", database_url];
    args.extend_from_slice(extra);
    let out = treaty(&args).await;
    (out.status.code(), text(&out))
}

async fn server_with_entries(count: usize) -> TestServer {
    let server = secured().await;
    for n in 0..count {
        let out = treaty(&[
            "create-or-update-pacticipant",
            "-b",
            &server.url,
            "-k",
            ADMIN,
            "--name",
            &format!("app-{n}"),
        ])
        .await;
        assert!(out.status.success(), "{}", text(&out));
    }
    server
}

#[tokio::test(flavor = "multi_thread")]
async fn a_saved_head_proves_the_newest_entries_were_not_removed() {
    let server = server_with_entries(4).await;
    // The head, as a pipeline or log collector saves it (the read role may).
    let head = reqwest::Client::new()
        .get(format!("{}/audit/head", server.url))
        .basic_auth("reader", Some("rpass"))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(head["entries"], 4, "{head}");
    let hash = head["hash"].as_str().unwrap().to_owned();
    let (code, out) = verify(
        &server.database_url,
        &["--expect-head", &hash, "-o", "json"],
    )
    .await;
    assert_eq!(code, Some(0), "{out}");
    let stdout = out
        .split("stdout:\n")
        .nth(1)
        .unwrap()
        .lines()
        .next()
        .unwrap();
    let report: Value = serde_json::from_str(stdout).unwrap();
    assert_eq!(report["intact"], true);
    assert_eq!(report["verified"], 4);
    assert_eq!(report["head"]["hash"], hash.as_str());

    // From a head saved earlier on, only the newer links are read.
    let chain = treaty_store::open(&server.database_url, treaty_store::OpenOptions::default())
        .await
        .unwrap()
        .audit_chain(None)
        .await
        .unwrap();
    let (code, out) = verify(&server.database_url, &["--since", &chain[1].hash]).await;
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("3 entries"), "{out}");

    // The newest entry deleted: the rest is a whole chain, but the head is gone.
    tamper(
        &server.database_url,
        &["DELETE FROM audit_log WHERE id = 4".to_owned()],
    )
    .await;
    let (code, out) = verify(&server.database_url, &[]).await;
    assert_eq!(code, Some(0), "without a saved head it cannot tell: {out}");
    let (code, out) = verify(&server.database_url, &["--expect-head", &hash]).await;
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("is not in the log"), "{out}");

    // Every entry deleted: a database with records and no log is not intact.
    tamper(&server.database_url, &["DELETE FROM audit_log".to_owned()]).await;
    let (code, out) = verify(&server.database_url, &[]).await;
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("The audit log is empty, but the database holds records"),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn entries_rewritten_and_the_chain_recomputed_without_the_key_do_not_verify() {
    use treaty_domain::access::{AuditKey, audit_hash};
    for downgrade in [false, true] {
        let server = server_with_entries(3).await;
        let store = treaty_store::open(&server.database_url, treaty_store::OpenOptions::default())
            .await
            .unwrap();
        let mut chain = store.audit_chain(None).await.unwrap();
        assert_eq!(chain.len(), 3);
        // Rewrite the second entry and recompute every link after it, with a
        // guessed key, or as entries from before the chain was keyed.
        let guess = AuditKey::derive("a guess at the key");
        let mut previous = chain[0].hash.clone();
        let mut statements = Vec::new();
        for entry in &mut chain[1..] {
            entry.actor = "mallory".into();
            entry.keyed = !downgrade;
            entry.previous_hash.clone_from(&previous);
            entry.hash = audit_hash(&guess, &previous, entry);
            previous.clone_from(&entry.hash);
            statements.push(format!(
                "UPDATE audit_log SET actor = 'mallory', keyed = {}, previous_hash = '{}', hash = '{}' WHERE id = {}",
                if downgrade { "FALSE" } else { "TRUE" },
                entry.previous_hash,
                entry.hash,
                entry.id
            ));
        }
        tamper(&server.database_url, &statements).await;
        let (code, out) = verify(&server.database_url, &[]).await;
        assert_eq!(code, Some(1), "{out}");
        let expected = if downgrade {
            "entry 2 is sealed without the key"
        } else {
            "entry 2 was altered, or sealed with another key"
        };
        assert!(out.contains(expected), "{out}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_server_log_carries_the_audit_head_at_its_interval() {
    let database = treaty_store::testing::TestDatabase::fresh().await.unwrap();
    let (replica, mut log) = crate::replicas::start_replica_logging(
        &database.url,
        &["--audit-head-log-interval", "200ms"],
    )
    .await;
    let created = reqwest::Client::new()
        .post(format!("{}/pacticipants", replica.url))
        .json(&json!({"name": "Foo"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let head: Value = reqwest::get(format!("{}/audit/head", replica.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let hash = head["hash"].as_str().unwrap().to_owned();
    let logged = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while let Some(line) = log.recv().await {
            if line.contains("audit log head") && line.contains(&hash) {
                return line;
            }
        }
        panic!("the server stopped logging");
    })
    .await
    .expect("the head in the log within seconds");
    assert!(logged.contains("entry 1 of 1"), "{logged}");
}
