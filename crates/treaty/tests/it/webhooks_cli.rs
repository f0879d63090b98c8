//! Webhooks from the command line: the official `pact broker create-webhook`
//! and `test-webhook` against Treaty, and Treaty's ready-made deployment
//! notifications delivered to a receiver on 127.0.0.1.

use std::time::{Duration, Instant};

use serde_json::Value;
use treaty_domain::webhooks::TargetPolicy;
use treaty_server::ServerConfig;

use crate::support::{TestServer, bodies, pact, receiver, text, treaty};

async fn local_server() -> TestServer {
    TestServer::start_with(ServerConfig {
        webhook_policy: TargetPolicy {
            schemes: vec!["http".into()],
            methods: vec!["POST".into()],
            hosts: vec!["127.0.0.1".into()],
        },
        webhook_poll_interval: Duration::from_millis(20),
        // The deployment events here name versions nothing else created.
        create_unknown_versions: true,
        ..ServerConfig::default()
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_official_client_creates_and_tests_webhooks() {
    let server = local_server().await;
    let b = server.url.as_str();
    let (hook, received) = receiver().await;
    assert!(
        treaty(&["create-or-update-pacticipant", "-b", b, "--name", "Bar"])
            .await
            .status
            .success()
    );
    let out = pact(&[
        "broker",
        "create-webhook",
        &hook,
        "-b",
        b,
        "--retries",
        "0",
        "-X",
        "POST",
        "-H",
        "Content-Type: application/json",
        "-d",
        r#"{"provider": "${pactbroker.providerName}"}"#,
        "--provider",
        "Bar",
        "--description",
        "verify Bar",
        "--contract-content-changed",
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let (_, list) = server.get_json("/webhooks").await;
    let uuid = list["_embedded"]["webhooks"][0]["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        list["_embedded"]["webhooks"][0]["description"],
        "verify Bar"
    );

    let out = pact(&[
        "broker",
        "test-webhook",
        "--uuid",
        &uuid,
        "-b",
        b,
        "--retries",
        "0",
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(bodies(&received), [r#"{"provider":"Bar"}"#]);

    let out = treaty(&["test-webhook", "--uuid", &uuid, "-b", b]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Webhook execution succeeded"),
        "{}",
        text(&out)
    );

    let out = pact(&[
        "broker",
        "delete-webhook",
        "--uuid",
        &uuid,
        "-b",
        b,
        "--retries",
        "0",
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(server.get_json(&format!("/webhooks/{uuid}")).await.0, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_chat_notification_for_deployments_takes_one_command() {
    let server = local_server().await;
    let b = server.url.as_str();
    let (hook, received) = receiver().await;
    assert!(
        treaty(&["create-environment", "-b", b, "--name", "production"])
            .await
            .status
            .success()
    );
    let uuid = "6f1c7d2e-deploys-to-chat";
    let out = treaty(&[
        "create-or-update-webhook",
        "--uuid",
        uuid,
        &hook,
        "-b",
        b,
        "--template",
        "slack",
        "--description",
        "tell #deploys",
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("created"),
        "{}",
        text(&out)
    );

    let out = treaty(&[
        "deployment",
        "complete",
        "-b",
        b,
        "-a",
        "Foo",
        "-e",
        "1.2.3",
        "--environment",
        "production",
        "--deployed-by",
        "octocat",
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let deadline = Instant::now() + Duration::from_secs(20);
    while received.lock().unwrap().is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let sent: Vec<Value> = bodies(&received)
        .iter()
        .map(|b| serde_json::from_str(b).unwrap())
        .collect();
    assert_eq!(
        sent,
        [serde_json::json!({"text": "Foo 1.2.3 → production: deployment completed by octocat"})]
    );

    let out = treaty(&[
        "webhook",
        "deliveries",
        "-b",
        b,
        "--uuid",
        uuid,
        "-o",
        "json",
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let deliveries: Value = serde_json::from_slice(&out.stdout).unwrap();
    let delivery = &deliveries["_embedded"]["triggeredWebhooks"][0];
    assert_eq!(
        (delivery["eventName"].as_str(), delivery["status"].as_str()),
        (Some("deployment_completed"), Some("success"))
    );
    let table = treaty(&["webhook", "deliveries", "-b", b, "--uuid", uuid]).await;
    assert!(
        String::from_utf8_lossy(&table.stdout).contains("deployment_completed"),
        "{}",
        text(&table)
    );

    let refused = treaty(&[
        "create-webhook",
        "http://10.0.0.1/hook",
        "-b",
        b,
        "--deployment-completed",
    ])
    .await;
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("must be in the whitelist"),
        "{}",
        text(&refused)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_webhook_for_freezes_takes_the_freeze_event_flags() {
    let server = local_server().await;
    let b = server.url.as_str();
    let (hook, _received) = receiver().await;
    let uuid = "freeze-news-webhook";
    let out = treaty(&[
        "create-or-update-webhook",
        "--uuid",
        uuid,
        &hook,
        "-b",
        b,
        "--environment-frozen",
        "--environment-unfrozen",
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let stored: Value = reqwest::get(format!("{b}/webhooks/{uuid}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        stored["events"],
        serde_json::json!([{"name": "environment_frozen"}, {"name": "environment_unfrozen"}]),
        "{stored}"
    );
}

/// A stand-in for an HTTP proxy on 127.0.0.1: it records the request line of
/// every request it is handed and answers 200, as a forwarding proxy would.
async fn recording_proxy() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let recorded = seen.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let recorded = recorded.clone();
            tokio::spawn(async move {
                let mut stream = BufReader::new(stream);
                let mut line = String::new();
                if stream.read_line(&mut line).await.is_ok() {
                    recorded.lock().unwrap().push(line.trim_end().to_owned());
                    let _ = stream
                        .get_mut()
                        .write_all(
                            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                        )
                        .await;
                }
            });
        }
    });
    (url, seen)
}

/// `POST /webhooks/execute` of a webhook to `target`: what Treaty says came of it.
async fn execute_webhook_to(treaty: &str, target: &str) -> Value {
    reqwest::Client::new()
        .post(format!("{treaty}/webhooks/execute"))
        .json(&serde_json::json!({"request": {"method": "POST", "url": target, "body": "x"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// An operator's `HTTP_PROXY` (or `ALL_PROXY`) must not carry a webhook past
/// the target check: through a proxy, the proxy resolves the target's name,
/// so Treaty would never see that `localhost` is internal. Webhooks ignore
/// the proxy variables; `--webhook-proxy` names one explicitly.
#[tokio::test(flavor = "multi_thread")]
async fn a_proxy_in_the_environment_does_not_carry_webhooks_past_the_target_check() {
    let database = treaty_store::testing::TestDatabase::fresh().await.unwrap();
    let (proxy, proxied) = recording_proxy().await;
    let (hook, received) = receiver().await;
    let (replica, _log) = crate::replicas::start_replica_in(
        &database.url,
        &["--webhook-allowed-schemes", "http"],
        &[
            ("HTTP_PROXY", proxy.as_str()),
            ("http_proxy", proxy.as_str()),
            ("ALL_PROXY", proxy.as_str()),
            ("all_proxy", proxy.as_str()),
            ("NO_PROXY", ""),
            ("no_proxy", ""),
        ],
    )
    .await;
    let executed = execute_webhook_to(&replica.url, &hook.replace("127.0.0.1", "localhost")).await;
    assert_eq!(executed["success"], false, "{executed:#}");
    assert!(
        executed["logs"]
            .as_str()
            .unwrap()
            .contains("internal address"),
        "{executed:#}"
    );
    assert!(
        proxied.lock().unwrap().is_empty(),
        "the webhook went through the environment's proxy"
    );
    assert!(bodies(&received).is_empty());
}

/// `--webhook-proxy`: webhooks go through the named proxy (reached even on
/// loopback, by its name), and a target whose name resolves to an internal
/// address is refused before the proxy is asked, unless its host is listed,
/// even when it is the proxy's own name.
#[tokio::test(flavor = "multi_thread")]
async fn webhooks_go_through_the_named_proxy_and_internal_names_are_refused_before_it() {
    let (proxy, proxied) = recording_proxy().await;
    let proxy = treaty_server::webhook_sender::WebhookProxy::parse(
        &proxy.replace("127.0.0.1", "localhost"),
    )
    .unwrap();
    let (hook, received) = receiver().await;
    let server_listing = |hosts: Vec<String>| {
        TestServer::start_with(ServerConfig {
            webhook_policy: TargetPolicy {
                schemes: vec!["http".into()],
                methods: vec!["POST".into()],
                hosts,
            },
            webhook_proxy: Some(proxy.clone()),
            ..ServerConfig::default()
        })
    };

    let unlisted = server_listing(vec![]).await;
    let refused = execute_webhook_to(&unlisted.url, &hook.replace("127.0.0.1", "localhost")).await;
    assert_eq!(refused["success"], false, "{refused:#}");
    assert!(
        refused["logs"]
            .as_str()
            .unwrap()
            .contains("an internal address, which webhooks may not call"),
        "{refused:#}"
    );
    assert!(proxied.lock().unwrap().is_empty(), "the proxy was asked");

    let listed = server_listing(vec!["127.0.0.1".into()]).await;
    let sent = execute_webhook_to(&listed.url, &hook).await;
    assert_eq!(sent["success"], true, "{sent:#}");
    assert_eq!(
        *proxied.lock().unwrap(),
        [format!("POST {hook} HTTP/1.1")],
        "sent through the proxy, in absolute form"
    );
    // The stand-in proxy forwards nothing.
    assert!(bodies(&received).is_empty());
}
