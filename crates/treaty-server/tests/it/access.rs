//! Who may do what: every route with no identity, a reader, a writer, an
//! admin and a token limited to some pacticipants; tokens; the audit log.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine;
use secrecy::SecretString;
use serde_json::{Value, json};
use treaty_server::ServerConfig;
use treaty_server::access::AuthConfig;

use tower::ServiceExt;

use crate::support::{Reply, TestApp, pact};

pub const ADMIN: &str = "admin-secret-token";

/// A writer and a reader (basic auth), an admin token, and tokens.
pub fn config() -> ServerConfig {
    ServerConfig {
        auth: AuthConfig {
            basic: Some(("writer".into(), SecretString::from("wpass"))),
            basic_read_only: Some(("reader".into(), SecretString::from("rpass"))),
            admin_token: Some(SecretString::from(ADMIN)),
            tokens: true,
        },
        // The tables below sign in wrongly on purpose, many times; the
        // throttle has a test of its own.
        sign_in_failures_per_minute: 0,
        ..ServerConfig::default()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Nobody,
    Reader,
    Writer,
    Admin,
    /// A write token limited to `payments-*`.
    Limited,
    WrongPassword,
}

async fn send(
    app: &TestApp,
    who: Who,
    limited_token: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> Reply {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::ACCEPT, "application/hal+json");
    let basic = |user: &str, password: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        )
    };
    let authorization = match who {
        Who::Nobody => None,
        Who::Reader => Some(basic("reader", "rpass")),
        Who::Writer => Some(basic("writer", "wpass")),
        Who::WrongPassword => Some(basic("writer", "nope")),
        Who::Admin => Some(format!("Bearer {ADMIN}")),
        Who::Limited => Some(format!("Bearer {limited_token}")),
    };
    if let Some(value) = authorization {
        request = request.header(header::AUTHORIZATION, value);
    }
    let request = match body {
        Some(body) => request
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap(),
        None => request.body(Body::empty()).unwrap(),
    };
    app.send(request).await
}

/// What a route needs: the role, and for writes the pacticipant it acts for.
#[derive(Debug, Clone, Copy)]
enum Needs {
    Anyone,
    Read,
    Write(&'static str),
    Admin,
}

fn routes() -> Vec<(&'static str, &'static str, Option<Value>, Needs)> {
    let publish = json!({"pacticipantName": "payments-api", "pacticipantVersionNumber": "2", "branch": "main",
        "contracts": [{"consumerName": "payments-api", "providerName": "ledger", "specification": "pact", "contentType": "application/json",
            "content": base64::engine::general_purpose::STANDARD.encode(pact("payments-api", "ledger", &["/b"]).to_string())}]});
    vec![
        ("GET", "/diagnostic/status/heartbeat", None, Needs::Anyone),
        ("GET", "/", None, Needs::Read),
        ("GET", "/pacticipants", None, Needs::Read),
        ("GET", "/pacticipants/payments-api", None, Needs::Read),
        (
            "GET",
            "/pacticipants/payments-api/versions/1",
            None,
            Needs::Read,
        ),
        (
            "GET",
            "/pacts/provider/ledger/consumer/payments-api/latest",
            None,
            Needs::Read,
        ),
        ("GET", "/pacts/provider/ledger/latest", None, Needs::Read),
        (
            "POST",
            "/pacts/provider/ledger/for-verification",
            Some(json!({})),
            Needs::Read,
        ),
        (
            "GET",
            "/matrix?q[][pacticipant]=payments-api&q[][version]=1&latestby=cvpv",
            None,
            Needs::Read,
        ),
        (
            "GET",
            "/can-i-deploy?pacticipant=payments-api&version=1&environment=production",
            None,
            Needs::Read,
        ),
        ("GET", "/environments", None, Needs::Read),
        ("GET", "/integrations", None, Needs::Read),
        ("GET", "/deployments", None, Needs::Read),
        ("GET", "/dora-metrics", None, Needs::Read),
        ("GET", "/ui", None, Needs::Read),
        ("GET", "/ui/applications/payments-api", None, Needs::Read),
        ("GET", "/ui/deployments", None, Needs::Read),
        ("GET", "/policies/production", None, Needs::Read),
        (
            "GET",
            "/preflight?pacticipant=payments-api&version=1&environment=production",
            None,
            Needs::Read,
        ),
        (
            "POST",
            "/release-plans",
            Some(
                json!({"environment": "production", "versions": [{"pacticipant": "payments-api", "version": "1"}]}),
            ),
            Needs::Read,
        ),
        ("GET", "/webhooks", None, Needs::Read),
        (
            "POST",
            "/contracts/publish",
            Some(publish),
            Needs::Write("payments-api"),
        ),
        (
            "PUT",
            "/pacticipants/payments-api/versions/3",
            Some(json!({})),
            Needs::Write("payments-api"),
        ),
        (
            "PUT",
            "/pacticipants/orders/versions/3",
            Some(json!({})),
            Needs::Write("orders"),
        ),
        (
            "PUT",
            "/pacticipants/payments-api/versions/1/tags/prod",
            Some(json!({})),
            Needs::Write("payments-api"),
        ),
        (
            "PUT",
            "/pacticipants/payments-api/branches/main/versions/1",
            Some(json!({})),
            Needs::Write("payments-api"),
        ),
        (
            "PATCH",
            "/pacticipants/payments-api",
            Some(json!({"displayName": "Payments"})),
            Needs::Write("payments-api"),
        ),
        (
            "POST",
            "/deployment-events",
            Some(
                json!({"product_name": "payments-api", "version": "1", "environment_name": "production", "status": "started"}),
            ),
            Needs::Write("payments-api"),
        ),
        (
            "POST",
            "/deployment-events",
            Some(
                json!({"product_name": "orders", "version": "1", "environment_name": "production", "status": "started"}),
            ),
            Needs::Write("orders"),
        ),
        (
            "POST",
            "/environments",
            Some(json!({"name": "staging"})),
            Needs::Admin,
        ),
        (
            "PUT",
            "/policies/production",
            Some(json!({"rules": []})),
            Needs::Admin,
        ),
        (
            "POST",
            "/webhooks",
            Some(json!({"request": {"method": "POST", "url": "https://example.org/hook"}})),
            Needs::Admin,
        ),
        ("GET", "/tokens", None, Needs::Admin),
        ("GET", "/audit", None, Needs::Admin),
        // Last: it deletes everything.
        ("DELETE", "/integrations", None, Needs::Admin),
    ]
}

fn allowed(needs: Needs, who: Who) -> bool {
    match (needs, who) {
        (Needs::Anyone, _) => true,
        (_, Who::Nobody | Who::WrongPassword) => false,
        (Needs::Read, _) => true,
        (Needs::Write(_), Who::Reader) => false,
        (Needs::Write(p), Who::Limited) => p.starts_with("payments-"),
        (Needs::Write(_), _) => true,
        (Needs::Admin, who) => who == Who::Admin,
    }
}

async fn seeded() -> (TestApp, String) {
    let app = TestApp::with_config(config()).await;
    let admin = |method: &'static str, path: &'static str, body: Value| {
        let app = &app;
        async move { send(app, Who::Admin, "", method, path, Some(&body)).await }
    };
    admin(
        "POST",
        "/environments",
        json!({"name": "production", "production": true}),
    )
    .await;
    let published = send(
        &app,
        Who::Admin,
        "",
        "PUT",
        "/pacts/provider/ledger/consumer/payments-api/version/1",
        Some(&pact("payments-api", "ledger", &["/a"])),
    )
    .await;
    assert!(published.status.is_success(), "{}", published.text);
    let token = admin("POST", "/tokens", json!({"name": "ci-payments", "role": "write", "pacticipants": ["payments-*"], "expires_in": "90d"})).await;
    assert_eq!(token.status, StatusCode::CREATED, "{}", token.text);
    (app, token.body["token"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn every_route_answers_each_identity_as_its_role_allows() {
    let mut failures = Vec::new();
    for who in [
        Who::Nobody,
        Who::WrongPassword,
        Who::Reader,
        Who::Writer,
        Who::Admin,
        Who::Limited,
    ] {
        let (app, limited) = seeded().await;
        for (method, path, body, needs) in routes() {
            let reply = send(&app, who, &limited, method, path, body.as_ref()).await;
            let expected = allowed(needs, who);
            let denied = matches!(
                reply.status,
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
            );
            let right_denial = match who {
                Who::Nobody | Who::WrongPassword => reply.status == StatusCode::UNAUTHORIZED,
                _ => reply.status == StatusCode::FORBIDDEN,
            };
            if expected == denied || (!expected && !right_denial) || reply.status.is_server_error()
            {
                failures.push(format!(
                    "{who:?} {method} {path}: {} {}",
                    reply.status, reply.text
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn tokens_are_shown_once_stored_hashed_and_revocable() {
    let (app, token) = seeded().await;
    assert!(token.starts_with("treaty_") && token.len() > 60);
    let listed = send(&app, Who::Admin, "", "GET", "/tokens", None).await;
    assert_eq!(listed.body["_embedded"]["tokens"][0]["name"], "ci-payments");
    assert!(
        !listed.text.contains(&token),
        "the token itself is never shown again"
    );
    let export = app.store().export().await.unwrap().0.to_string();
    assert!(!export.contains(&token), "only its hash is stored");
    let taken = send(
        &app,
        Who::Admin,
        "",
        "POST",
        "/tokens",
        Some(&json!({"name": "ci-payments", "role": "read"})),
    )
    .await;
    assert_eq!(taken.status, StatusCode::CONFLICT);
    let bad = send(
        &app,
        Who::Admin,
        "",
        "POST",
        "/tokens",
        Some(&json!({"role": "god", "expires_in": "soon"})),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        bad.text.contains("name is missing") && bad.text.contains("role 'god'"),
        "{}",
        bad.text
    );

    let path = "/pacticipants/payments-api/versions/9";
    assert!(
        send(&app, Who::Limited, &token, "PUT", path, Some(&json!({})))
            .await
            .status
            .is_success()
    );
    assert_eq!(
        send(&app, Who::Admin, "", "DELETE", "/tokens/ci-payments", None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let revoked = send(&app, Who::Limited, &token, "PUT", path, Some(&json!({}))).await;
    assert_eq!(revoked.status, StatusCode::UNAUTHORIZED);
    // Unknown users and wrong passwords get the same answer.
    let unknown = send(&app, Who::WrongPassword, "", "GET", "/", None).await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn every_write_is_audited_with_its_actor_and_the_chain_holds() {
    let (app, token) = seeded().await;
    // Pending: production's default policy would refuse a start (ledger has not verified the pact).
    send(&app, Who::Limited, &token, "POST", "/deployment-events",
        Some(&json!({"product_name": "payments-api", "version": "1", "environment_name": "production", "status": "pending"}))).await;
    send(
        &app,
        Who::Limited,
        &token,
        "PUT",
        "/pacticipants/orders/versions/1",
        Some(&json!({})),
    )
    .await;
    send(&app, Who::Reader, "", "GET", "/pacticipants", None).await;
    let audit = send(&app, Who::Admin, "", "GET", "/audit?size=10", None).await;
    assert_eq!(audit.status, StatusCode::OK, "{}", audit.text);
    let entries = audit.body["_embedded"]["entries"].as_array().unwrap();
    let latest: Vec<(String, String, String)> = entries
        .iter()
        .take(2)
        .map(|e| {
            (
                e["actor"].as_str().unwrap().to_owned(),
                e["target"].as_str().unwrap().to_owned(),
                e["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    // The refused write is audited too; reads are not. The write that
    // committed has its entry from inside its own transaction.
    assert_eq!(
        latest,
        [
            (
                "ci-payments".to_owned(),
                "/pacticipants/orders/versions/1".to_owned(),
                "refused".to_owned()
            ),
            (
                "ci-payments".to_owned(),
                "/deployment-events".to_owned(),
                "committed".to_owned()
            ),
        ]
    );
    assert_eq!(entries[0]["status"], 403);
    assert_eq!(entries[1]["status"], Value::Null);
    // It says which pacticipant and version the body named.
    assert!(
        entries[1]["summary"]
            .as_str()
            .unwrap()
            .contains("payments-api 1 in production"),
        "{}",
        entries[1]
    );
    let deployments = send(&app, Who::Admin, "", "GET", "/deployments", None).await;
    assert_eq!(
        deployments.body["_embedded"]["deployments"][0]["deployed_by"], "ci-payments",
        "{}",
        deployments.text
    );
    let chain = app.store().audit_chain(None).await.unwrap();
    let key = audit_key(&app).await;
    let report = treaty_domain::access::verify_chain(&key, &chain, None, None).unwrap();
    assert_eq!((report.verified, report.unkeyed), (chain.len(), 0));
}

/// The key the app seals its chain with: the database's own (no --secret-key).
async fn audit_key(app: &TestApp) -> treaty_domain::access::AuditKey {
    let secret = app
        .store()
        .setting(treaty_server::secrets::GENERATED_KEY_SETTING)
        .await
        .unwrap()
        .expect("the database generated its key");
    treaty_domain::access::AuditKey::derive(&secret)
}

#[tokio::test]
async fn one_caller_is_rate_limited_without_slowing_the_others() {
    let app = TestApp::with_config(ServerConfig {
        rate_limit_per_minute: Some(3),
        ..config()
    })
    .await;
    for _ in 0..3 {
        assert_eq!(
            send(&app, Who::Reader, "", "GET", "/", None).await.status,
            StatusCode::OK
        );
    }
    let limited = send(&app, Who::Reader, "", "GET", "/", None).await;
    assert_eq!(
        limited.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        limited.text
    );
    assert!(
        limited.text.contains("too many requests from reader"),
        "{}",
        limited.text
    );
    assert_eq!(
        send(&app, Who::Writer, "", "GET", "/", None).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn responses_carry_security_headers() {
    let app = TestApp::new().await;
    let response = app
        .router
        .clone()
        .oneshot(Request::builder().uri("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let headers = response.headers();
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
}
