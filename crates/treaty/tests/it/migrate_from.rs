//! `treaty migrate-from`: a second Treaty seeded through the official `pact`
//! clients is the source; the migration copies it into a fresh database and
//! proves, by asking both the same questions, that nothing changed. Then
//! resuming after a SIGKILL, a rerun that copies only what is new, and bad
//! sources (not a broker, wrong credentials, a 500 on one pact).

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Json;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use futures_util::StreamExt;
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpListener;
use treaty_server::ServerConfig;
use treaty_server::access::AuthConfig;
use treaty_store::testing::TestDatabase;

use crate::support::{TestServer, pact, text, treaty, write_pact};

/// Serves order 1 and user 1, and knows nothing of order 2.
async fn provider_app() -> String {
    let app = axum::Router::new()
        .route("/orders/1", get(|| async { Json(json!({"id": 1})) }))
        .route("/users/1", get(|| async { Json(json!({"id": 1})) }))
        .route("/_pact/provider_states", post(|| async { Json(json!({})) }));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    port.to_string()
}

fn get_one(what: &str, id: u32) -> Value {
    json!([{
        "description": format!("a request for {what} {id}"),
        "request": {"method": "GET", "path": format!("/{what}/{id}")},
        "response": {"status": 200, "headers": {"Content-Type": "application/json"}, "body": {"id": id}}
    }])
}

async fn ok(args: &[&str]) {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--retries", "0"]);
    let out = pact(&all).await;
    assert!(out.status.success(), "pact {args:?}: {}", text(&out));
}

async fn publish(
    b: &str,
    consumer: &str,
    provider: &str,
    pact_of: Value,
    version: &str,
    branch: &str,
    tag: Option<&str>,
) {
    let dir = tempfile::tempdir().unwrap();
    write_pact(dir.path(), consumer, provider, pact_of);
    let path = dir.path().to_str().unwrap().to_owned();
    let mut args = vec![
        "broker", "publish", &path, "-b", b, "-a", version, "--branch", branch,
    ];
    if let Some(tag) = tag {
        args.extend(["-t", tag]);
    }
    ok(&args).await;
}

/// The provider verifies what its main branch should, pending and WIP
/// included, and publishes the results (order 2 fails).
async fn verify(b: &str, provider: &str, version: &str, port: &str) {
    let out = pact(&[
        "verifier",
        "--broker-url",
        b,
        "--provider-name",
        provider,
        "-h",
        "127.0.0.1",
        "-p",
        port,
        "--consumer-version-selectors",
        r#"{"mainBranch":true}"#,
        "--consumer-version-selectors",
        r#"{"deployedOrReleased":true}"#,
        "--consumer-version-selectors",
        r#"{"branch":"feat-x"}"#,
        "--enable-pending",
        "--include-wip-pacts-since",
        "2020-01-01",
        "--publish",
        "--provider-version",
        version,
        "--provider-branch",
        "main",
    ])
    .await;
    // Exit 1 when a non-pending pact fails: the results are published either way.
    assert!(out.status.code().is_some(), "{}", text(&out));
}

/// Two consumers and two providers with main branches, feature branches,
/// tags, pending and WIP pacts, failing verifications, deployments with
/// instances (one replaced, one undeployed), releases (one whose support
/// ended), and a webhook with a password and a secret header.
async fn seed(b: &str) {
    let port = provider_app().await;
    for name in ["Web", "Mobile", "Orders", "Users"] {
        ok(&[
            "broker",
            "create-or-update-pacticipant",
            "-b",
            b,
            "--name",
            name,
            "--main-branch",
            "main",
            "--repository-url",
            &format!("https://git.example/{name}"),
        ])
        .await;
    }
    publish(
        b,
        "Mobile",
        "Orders",
        get_one("orders", 1),
        "m0",
        "main",
        Some("v0"),
    )
    .await;
    publish(
        b,
        "Web",
        "Orders",
        get_one("orders", 1),
        "w1",
        "main",
        Some("prod"),
    )
    .await;
    publish(
        b,
        "Web",
        "Users",
        get_one("users", 1),
        "w1",
        "main",
        Some("prod"),
    )
    .await;
    verify(b, "Orders", "o1", &port).await;
    verify(b, "Users", "u1", &port).await;
    publish(
        b,
        "Mobile",
        "Orders",
        get_one("orders", 1),
        "m1",
        "main",
        None,
    )
    .await;
    publish(
        b,
        "Web",
        "Orders",
        get_one("orders", 2),
        "w2",
        "feat-x",
        None,
    )
    .await;
    verify(b, "Orders", "o2", &port).await;
    ok(&[
        "broker",
        "create-environment",
        "-b",
        b,
        "--name",
        "production",
        "--production",
    ])
    .await;
    ok(&[
        "broker",
        "create-environment",
        "-b",
        b,
        "--name",
        "staging",
        "--display-name",
        "Staging",
    ])
    .await;
    for (who, version, environment, instance) in [
        ("Orders", "o1", "production", Some("blue")),
        ("Orders", "o1", "production", Some("green")),
        ("Users", "u1", "production", None),
        ("Web", "w1", "production", None),
        ("Web", "w1", "staging", None),
        ("Web", "w2", "staging", None),
        ("Orders", "o2", "staging", None),
    ] {
        let mut args = vec![
            "broker",
            "record-deployment",
            "-b",
            b,
            "-a",
            who,
            "-e",
            version,
            "--environment",
            environment,
        ];
        if let Some(instance) = instance {
            args.extend(["--application-instance", instance]);
        }
        ok(&args).await;
    }
    ok(&[
        "broker",
        "record-undeployment",
        "-b",
        b,
        "-a",
        "Orders",
        "--environment",
        "production",
        "--application-instance",
        "green",
    ])
    .await;
    ok(&[
        "broker",
        "record-release",
        "-b",
        b,
        "-a",
        "Mobile",
        "-e",
        "m0",
        "--environment",
        "production",
    ])
    .await;
    ok(&[
        "broker",
        "record-release",
        "-b",
        b,
        "-a",
        "Mobile",
        "-e",
        "m1",
        "--environment",
        "production",
    ])
    .await;
    ok(&[
        "broker",
        "record-support-ended",
        "-b",
        b,
        "-a",
        "Mobile",
        "-e",
        "m0",
        "--environment",
        "production",
    ])
    .await;
    ok(&[
        "broker",
        "create-webhook",
        "https://ci.example/build",
        "-b",
        b,
        "-X",
        "POST",
        "--user",
        "ci:s3cret",
        "--header",
        "Authorization: Bearer ci-token",
        "--data",
        r#"{"pact":"${pactbroker.pactUrl}"}"#,
        "--description",
        "start the provider build",
        "--contract-content-changed",
        "--provider",
        "Orders",
    ])
    .await;
}

/// `treaty migrate-from SOURCE --database-url TARGET ARGS`.
async fn migrate(source: &str, target: &str, args: &[&str]) -> std::process::Output {
    let mut all = vec![
        "migrate-from",
        source,
        "--database-url",
        target,
        "--retries",
        "1",
    ];
    all.extend_from_slice(args);
    treaty(&all).await
}

fn json_of(output: &std::process::Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(output)))
}

fn copied(report: &Value, kind: &str) -> (u64, u64) {
    let count = &report["migration"]["counts"][kind];
    (
        count["copied"].as_u64().unwrap_or(0),
        count["unchanged"].as_u64().unwrap_or(0),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_realistic_history_moves_in_and_answers_the_same() {
    let source = TestServer::start().await;
    seed(&source.url).await;
    let target = TestDatabase::fresh().await.unwrap();

    let dry = migrate(&source.url, &target.url, &["--dry-run", "-o", "json"]).await;
    assert_eq!(dry.status.code(), Some(0), "{}", text(&dry));
    let dry = json_of(&dry);
    assert_eq!(copied(&dry, "pacts").0, 5, "{dry:#}");
    assert!(dry.get("parity").is_none(), "a dry run compares nothing");
    assert!(
        treaty_store::MoveInStore::moved_in(
            target.store.as_ref(),
            &source.url,
            treaty_store::MovedKind::Pact
        )
        .await
        .unwrap()
        .is_empty(),
        "a dry run writes nothing"
    );

    let out = migrate(&source.url, &target.url, &["-o", "json"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let report = json_of(&out);
    assert_eq!(report["migration"]["gaps"], json!([]), "{report:#}");
    assert_eq!(copied(&report, "pacticipants").0, 4);
    assert_eq!(copied(&report, "pacts").0, 5);
    assert!(copied(&report, "verification results").0 >= 5, "{report:#}");
    assert_eq!(copied(&report, "deployments").0, 7);
    assert_eq!(copied(&report, "releases").0, 2);
    assert_eq!(copied(&report, "webhooks").0, 1);
    let parity = &report["parity"];
    assert_eq!(parity["differences"], json!([]), "{parity:#}");
    assert!(parity["questions"].as_u64().unwrap() >= 20, "{parity:#}");
    assert_eq!(parity["identical"], parity["questions"]);

    // --verify alone asks again, in words for a person.
    let verified = migrate(&source.url, &target.url, &["--verify"]).await;
    assert_eq!(verified.status.code(), Some(0), "{}", text(&verified));
    assert!(
        String::from_utf8_lossy(&verified.stdout).contains(" identical, 0 different"),
        "{}",
        text(&verified)
    );

    let moved = TestServer::start_on(target, ServerConfig::default()).await;
    // Environments keep their uuids; pacticipants their main branch and repository.
    let (_, there) = source.get_json("/environments").await;
    let (_, here) = moved.get_json("/environments").await;
    let uuids = |list: &Value| -> Vec<(String, String)> {
        let mut found: Vec<_> = list["_embedded"]["environments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["name"].as_str().unwrap().to_owned(),
                    e["uuid"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        found.sort();
        found
    };
    assert_eq!(uuids(&there), uuids(&here));
    let (_, web) = moved.get_json("/pacticipants/Web").await;
    assert_eq!(web["mainBranch"], "main");
    assert_eq!(web["repositoryUrl"], "https://git.example/Web");
    // Every publication, in order, with its time.
    for path in [
        "/pacts/provider/Orders/consumer/Web/versions",
        "/pacticipants/Web/versions",
        "/pacticipants/Orders/versions/o1",
    ] {
        let (_, there) = source.get_json(path).await;
        let (_, here) = moved.get_json(path).await;
        let strip = |v: &Value| {
            v.to_string()
                .replace(&source.url, "")
                .replace(&moved.url, "")
        };
        assert_eq!(strip(&there), strip(&here), "{path}");
    }
    // Past deployments are in the ledger: the one undeployed, the one replaced.
    let (_, ledger) = moved.get_json("/deployments?pacticipant=Orders").await;
    let ledger_text = ledger.to_string();
    assert!(
        ledger_text.contains("green") && ledger_text.contains("blue"),
        "{ledger:#}"
    );
    // The webhook came disabled, with the secrets the source masked named.
    let listed = treaty(&["webhook", "list", "-b", &moved.url]).await;
    assert!(listed.status.success(), "{}", text(&listed));
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.contains("start the provider build"), "{listed}");
    assert!(listed.contains("false"), "{listed}");
    assert!(
        listed.contains("request.password, request.headers.authorization"),
        "{listed}"
    );
    // Given again (the official client's create-or-update), it needs nothing more.
    let (_, hooks) = moved.get_json("/webhooks").await;
    let href = hooks["_links"]["pb:webhooks"][0]["href"]
        .as_str()
        .unwrap()
        .to_owned();
    let uuid = href.rsplit('/').next().unwrap();
    ok(&[
        "broker",
        "create-or-update-webhook",
        "https://ci.example/build",
        "-b",
        &moved.url,
        "--uuid",
        uuid,
        "-X",
        "POST",
        "--user",
        "ci:s3cret",
        "--header",
        "Authorization: Bearer ci-token",
        "--data",
        r#"{"pact":"${pactbroker.pactUrl}"}"#,
        "--description",
        "start the provider build",
        "--contract-content-changed",
        "--provider",
        "Orders",
    ])
    .await;
    let (_, hook) = moved.get_json(&format!("/webhooks/{uuid}")).await;
    assert!(hook.get("secretsToReenter").is_none(), "{hook:#}");
    let listed = treaty(&["webhook", "list", "-b", &moved.url]).await;
    assert!(
        !String::from_utf8_lossy(&listed.stdout).contains("request.password"),
        "{}",
        text(&listed)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rerun_copies_only_what_is_new() {
    let source = TestServer::start().await;
    let b = source.url.as_str();
    publish(b, "Web", "Orders", get_one("orders", 1), "w1", "main", None).await;
    publish(b, "Web", "Orders", get_one("orders", 2), "w2", "main", None).await;
    // Orders o1 verifies the pact of main's latest (w2) twice: the source
    // shows only the latest result of a provider version for a content, and
    // that one is copied.
    let port = provider_app().await;
    verify(b, "Orders", "o1", &port).await;
    verify(b, "Orders", "o1", &port).await;
    let target = TestDatabase::fresh().await.unwrap();
    let first = migrate(b, &target.url, &["-o", "json"]).await;
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    assert_eq!(
        copied(&json_of(&first), "verification results"),
        (1, 0),
        "{}",
        text(&first)
    );
    let again = migrate(b, &target.url, &["-o", "json", "--no-verify"]).await;
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    let again = json_of(&again);
    assert_eq!(copied(&again, "pacts"), (0, 2), "{again:#}");
    assert_eq!(copied(&again, "versions"), (0, 3), "{again:#}");
    assert!(again.get("parity").is_none(), "--no-verify");

    publish(b, "Web", "Orders", get_one("orders", 3), "w3", "main", None).await;
    let later = migrate(b, &target.url, &["-o", "json"]).await;
    assert_eq!(later.status.code(), Some(0), "{}", text(&later));
    let later = json_of(&later);
    assert_eq!(
        copied(&later, "pacts"),
        (1, 2),
        "only the new pact is fetched: {later:#}"
    );
    assert_eq!(copied(&later, "versions"), (1, 3), "{later:#}");
    assert_eq!(later["parity"]["differences"], json!([]));
}

/// More provider versions verified one content than a Treaty's matrix shows
/// in one page (1000): the copy reads the rest one provider version at a
/// time, and every result arrives. While those reads fail, the content is
/// named as not copied, never left short in silence.
#[tokio::test(flavor = "multi_thread")]
async fn a_content_with_more_results_than_a_matrix_page_is_copied_whole() {
    const PROVIDER_VERSIONS: usize = 1010;
    let (listener, url, source) = source_behind_a_proxy().await;
    // Only a matrix query for one provider version names one after Orders.
    let fail = Arc::new(AtomicBool::new(true));
    flaky_proxy(
        listener,
        source.url.clone(),
        "Orders&q%5B%5D%5Bversion%5D=",
        fail.clone(),
    );
    let client = reqwest::Client::new();
    let pact_of = json!({
        "consumer": {"name": "Web"},
        "provider": {"name": "Orders"},
        "interactions": get_one("orders", 1),
        "metadata": {"pactSpecification": {"version": "2.0.0"}}
    });
    let published = client
        .put(format!(
            "{}/pacts/provider/Orders/consumer/Web/version/w1",
            source.url
        ))
        .json(&pact_of)
        .send()
        .await
        .unwrap();
    assert!(published.status().is_success(), "{published:?}");
    let published: Value = published.json().await.unwrap();
    let results_href = published["_links"]["pb:publish-verification-results"]["href"]
        .as_str()
        .unwrap_or_else(|| panic!("{published:#}"))
        .to_owned();
    let statuses: Vec<reqwest::StatusCode> = futures_util::stream::iter(0..PROVIDER_VERSIONS)
        .map(|n| {
            let request = client.post(&results_href).json(&json!({
                "success": n % 7 != 0,
                "providerApplicationVersion": format!("o{n}"),
            }));
            async move { request.send().await.unwrap().status() }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    assert!(
        statuses.iter().all(|status| status.is_success()),
        "{statuses:?}"
    );
    let target = TestDatabase::fresh().await.unwrap();

    let short = migrate(&url, &target.url, &["--no-verify"]).await;
    assert_eq!(short.status.code(), Some(5), "{}", text(&short));
    assert!(
        String::from_utf8_lossy(&short.stdout)
            .contains("the verification results of the pact of Web version w1 with Orders"),
        "{}",
        text(&short)
    );

    fail.store(false, Ordering::SeqCst);
    let out = migrate(&url, &target.url, &["-o", "json"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let report = json_of(&out);
    assert_eq!(report["migration"]["gaps"], json!([]), "{report:#}");
    assert_eq!(
        copied(&report, "verification results"),
        (PROVIDER_VERSIONS as u64, 0),
        "every result at the source arrives"
    );
    assert_eq!(report["parity"]["differences"], json!([]), "{report:#}");

    let again = migrate(&url, &target.url, &["-o", "json", "--no-verify"]).await;
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert_eq!(
        copied(&json_of(&again), "verification results"),
        (0, PROVIDER_VERSIONS as u64),
        "the target holds every result the source shows"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_migration_killed_half_way_finishes_on_the_next_run() {
    let source = TestServer::start().await;
    let b = source.url.as_str();
    for n in 1..=12 {
        publish(
            b,
            "Web",
            "Orders",
            get_one("orders", n),
            &format!("w{n}"),
            "main",
            None,
        )
        .await;
    }
    let target = TestDatabase::fresh().await.unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_treaty"))
        .args([
            "migrate-from",
            b,
            "--database-url",
            &target.url,
            "--concurrency",
            "1",
        ])
        .env("PACT_DO_NOT_TRACK", "true")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Killed once the versions are in and the pacts are being copied.
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    while let Some(line) = lines.next_line().await.unwrap() {
        if line.starts_with("pacts: 0/") {
            break;
        }
    }
    child.kill().await.unwrap();
    let status = child.wait().await.unwrap();
    assert!(!status.success(), "it was killed before it finished");

    let rerun = migrate(b, &target.url, &["-o", "json"]).await;
    assert_eq!(rerun.status.code(), Some(0), "{}", text(&rerun));
    let rerun = json_of(&rerun);
    assert_eq!(
        copied(&rerun, "pacticipants"),
        (0, 2),
        "what the killed run copied stays: {rerun:#}"
    );
    let (new, here) = copied(&rerun, "pacts");
    assert_eq!(new + here, 12, "{rerun:#}");
    assert_eq!(rerun["parity"]["differences"], json!([]), "{rerun:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_url_that_is_not_a_broker_is_refused_by_name() {
    let app = axum::Router::new().route("/", get(|| async { "<html>hello</html>" }));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let target = TestDatabase::fresh().await.unwrap();
    let out = migrate(&url, &target.url, &[]).await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is not a Pact Broker"),
        "{}",
        text(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_credentials_are_refused_with_how_to_give_them() {
    let source = TestServer::start_with(ServerConfig {
        auth: AuthConfig {
            basic: Some(("writer".into(), SecretString::from("wpass"))),
            basic_read_only: Some(("reader".into(), SecretString::from("rpass"))),
            admin_token: None,
            tokens: false,
        },
        ..ServerConfig::default()
    })
    .await;
    let target = TestDatabase::fresh().await.unwrap();
    let out = migrate(
        &source.url,
        &target.url,
        &["--broker-username", "reader", "--broker-password", "wrong"],
    )
    .await;
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("refused the credentials"),
        "{}",
        text(&out)
    );
    let out = crate::support::treaty_with_env(
        &[
            "migrate-from",
            &source.url,
            "--database-url",
            &target.url,
            "--retries",
            "0",
        ],
        &[
            ("PACT_BROKER_USERNAME", "reader"),
            ("PACT_BROKER_PASSWORD", "rpass"),
        ],
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "a read-only user is enough: {}",
        text(&out)
    );
}

/// A proxy on `listener` in front of `upstream` that answers 500 for paths
/// containing `failing` while `fail` is set.
fn flaky_proxy(
    listener: TcpListener,
    upstream: String,
    failing: &'static str,
    fail: Arc<AtomicBool>,
) {
    proxy(listener, upstream, move |path| {
        if fail.load(Ordering::SeqCst) && path.contains(failing) {
            Err(axum::http::StatusCode::INTERNAL_SERVER_ERROR)
        } else {
            Ok(path.to_owned())
        }
    });
}

/// A proxy on `listener` in front of `upstream`: `route` gives the path and
/// query to forward a request to, or the status to answer instead.
fn proxy(
    listener: TcpListener,
    upstream: String,
    route: impl Fn(&str) -> Result<String, axum::http::StatusCode> + Clone + Send + Sync + 'static,
) {
    let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
        let upstream = upstream.clone();
        let route = route.clone();
        async move {
            let path = request
                .uri()
                .path_and_query()
                .map(ToString::to_string)
                .unwrap_or_default();
            let path = match route(&path) {
                Ok(path) => path,
                Err(status) => return (status, "boom").into_response(),
            };
            let method = request.method().clone();
            let headers = request.headers().clone();
            let body = axum::body::to_bytes(request.into_body(), usize::MAX)
                .await
                .unwrap();
            let mut forwarded = reqwest::Client::new()
                .request(method, format!("{upstream}{path}"))
                .body(body);
            for (name, value) in &headers {
                if name != "host" {
                    forwarded = forwarded.header(name, value);
                }
            }
            let answer = forwarded.send().await.unwrap();
            let status = answer.status();
            let content_type = answer.headers().get("content-type").cloned();
            let bytes = answer.bytes().await.unwrap();
            let mut response = (status, bytes).into_response();
            if let Some(content_type) = content_type {
                response.headers_mut().insert("content-type", content_type);
            }
            response
        }
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
}

/// A Treaty source, and the listener of the proxy in front of it: the
/// proxy's address is the source's base URL, so every link leads through it.
async fn source_behind_a_proxy() -> (TcpListener, String, TestServer) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let source = TestServer::start_with(ServerConfig {
        base_url: Some(url.clone()),
        ..ServerConfig::default()
    })
    .await;
    (listener, url, source)
}

/// A source whose pages are smaller than the migration asks for (a broker
/// that caps `size`): its pages say how many there are, and every one is
/// read, not only the first "short" one.
#[tokio::test(flavor = "multi_thread")]
async fn a_source_that_serves_smaller_pages_than_asked_is_copied_whole() {
    let (listener, url, source) = source_behind_a_proxy().await;
    proxy(listener, source.url.clone(), |path| {
        Ok(path.replace("size=100", "size=3"))
    });
    for (consumer, version) in [("Web", "w1"), ("Web", "w2"), ("Web", "w3"), ("Web", "w4")] {
        publish(
            &source.url,
            consumer,
            "Orders",
            get_one("orders", 1),
            version,
            "main",
            None,
        )
        .await;
    }
    for name in ["Audit", "Billing", "Catalog", "Delivery", "Email"] {
        let out = treaty(&[
            "create-or-update-pacticipant",
            "-b",
            &source.url,
            "--name",
            name,
        ])
        .await;
        assert!(out.status.success(), "{}", text(&out));
    }
    let target = TestDatabase::fresh().await.unwrap();

    let out = migrate(&url, &target.url, &["-o", "json"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let report = json_of(&out);
    assert_eq!(copied(&report, "pacticipants"), (7, 0), "{report:#}");
    assert_eq!(copied(&report, "versions"), (4, 0), "{report:#}");
    assert_eq!(copied(&report, "pacts"), (4, 0), "{report:#}");
    assert_eq!(report["parity"]["identical"], 1, "{report:#}");
    assert_eq!(report["parity"]["differences"], json!([]), "{report:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pact_the_source_cannot_serve_is_named_skipped_and_copied_by_a_rerun() {
    let (listener, url, source) = source_behind_a_proxy().await;
    let fail = Arc::new(AtomicBool::new(true));
    flaky_proxy(
        listener,
        source.url.clone(),
        "/consumer/Web/version/w2",
        fail.clone(),
    );
    publish(
        &source.url,
        "Web",
        "Orders",
        get_one("orders", 1),
        "w1",
        "main",
        None,
    )
    .await;
    publish(
        &source.url,
        "Web",
        "Orders",
        get_one("orders", 2),
        "w2",
        "main",
        None,
    )
    .await;
    let target = TestDatabase::fresh().await.unwrap();

    let out = migrate(&url, &target.url, &["--no-verify"]).await;
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("1 could not be copied"), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("retrying in 0.5s (attempt 2 of 2)"),
        "a 500 is retried with back-off: {}",
        text(&out)
    );
    assert!(
        stdout.contains("the pact of Web version w2 with Orders"),
        "{}",
        text(&out)
    );

    fail.store(false, Ordering::SeqCst);
    let rerun = migrate(&url, &target.url, &["-o", "json"]).await;
    assert_eq!(rerun.status.code(), Some(0), "{}", text(&rerun));
    let rerun = json_of(&rerun);
    assert_eq!(copied(&rerun, "pacts"), (1, 1), "{rerun:#}");
    assert_eq!(rerun["parity"]["differences"], json!([]), "{rerun:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn history_moved_in_starts_no_webhook_here() {
    let source = TestServer::start().await;
    let b = source.url.as_str();
    let port = provider_app().await;
    publish(b, "Web", "Orders", get_one("orders", 1), "w1", "main", None).await;
    verify(b, "Orders", "o1", &port).await;
    ok(&[
        "broker",
        "create-environment",
        "-b",
        b,
        "--name",
        "production",
        "--production",
    ])
    .await;
    ok(&[
        "broker",
        "record-deployment",
        "-b",
        b,
        "-a",
        "Orders",
        "-e",
        "o1",
        "--environment",
        "production",
    ])
    .await;
    ok(&[
        "broker",
        "record-deployment",
        "-b",
        b,
        "-a",
        "Web",
        "-e",
        "w1",
        "--environment",
        "production",
    ])
    .await;
    ok(&[
        "broker",
        "record-release",
        "-b",
        b,
        "-a",
        "Web",
        "-e",
        "w1",
        "--environment",
        "production",
    ])
    .await;

    // The target already has a webhook for every event, enabled.
    let target = TestServer::start_with(ServerConfig {
        webhook_policy: treaty_domain::webhooks::TargetPolicy {
            schemes: vec!["http".into()],
            methods: vec!["POST".into()],
            hosts: vec!["127.0.0.1".into()],
        },
        ..ServerConfig::default()
    })
    .await;
    let (hook_url, _received) = crate::support::receiver().await;
    let created = reqwest::Client::new()
        .post(format!("{}/webhooks", target.url))
        .json(&json!({
            "description": "everything",
            "events": treaty_domain::webhooks::EVENTS.iter().map(|e| json!({"name": e})).collect::<Vec<_>>(),
            "request": {"method": "POST", "url": hook_url}
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        created.status().as_u16(),
        201,
        "{}",
        created.text().await.unwrap()
    );
    let webhook: Value = created.json().await.unwrap();
    let deliveries = webhook["_links"]["self"]["href"]
        .as_str()
        .unwrap()
        .to_owned()
        + "/deliveries";

    let out = migrate(b, &target.database_url, &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let (_, listed) = target
        .get_json(deliveries.trim_start_matches(&target.url))
        .await;
    assert_eq!(
        listed["_embedded"]["triggeredWebhooks"],
        json!([]),
        "{listed:#}"
    );
    // What happens here afterwards does start it.
    ok(&[
        "broker",
        "record-deployment",
        "-b",
        &target.url,
        "-a",
        "Web",
        "-e",
        "w1",
        "--environment",
        "production",
        "--application-instance",
        "b",
    ])
    .await;
    let (_, listed) = target
        .get_json(deliveries.trim_start_matches(&target.url))
        .await;
    assert_ne!(
        listed["_embedded"]["triggeredWebhooks"],
        json!([]),
        "{listed:#}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_target_database_that_cannot_be_opened_stops_it_before_anything() {
    let source = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    // Its folder would be inside a file.
    std::fs::write(dir.path().join("file"), "").unwrap();
    let missing = format!("sqlite://{}/file/treaty.db", dir.path().display());
    let out = migrate(&source.url, &missing, &[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot open"),
        "{}",
        text(&out)
    );
}

/// On a terminal (a pseudo-terminal from `script`), progress is a bar with
/// counts and time left; elsewhere plain lines (the other tests read those).
#[tokio::test(flavor = "multi_thread")]
async fn on_a_terminal_progress_is_a_bar() {
    let source = TestServer::start().await;
    publish(
        &source.url,
        "Web",
        "Orders",
        get_one("orders", 1),
        "w1",
        "main",
        None,
    )
    .await;
    let target = TestDatabase::fresh().await.unwrap();
    let command = format!(
        "{} migrate-from {} --database-url {} --no-verify",
        env!("CARGO_BIN_EXE_treaty"),
        source.url,
        target.url
    );
    let out = tokio::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("PACT_DO_NOT_TRACK", "true")
        // A terminal that draws (CI may run with TERM=dumb or none at all).
        .env("TERM", "xterm-256color")
        .output()
        .await
        .expect("script(1) from util-linux");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(
        screen.contains("left)") && screen.contains("pacts ["),
        "{screen}"
    );
}
