//! Badges as the Pact Broker serves them: a redirect to shields.io in its
//! words and colours (or drawn here without shields.io), an error badge for
//! what does not exist, and open to anyone only with `--public-badge-access`.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use secrecy::SecretString;
use serde_json::json;
use treaty_server::ServerConfig;
use treaty_server::access::AuthConfig;

use crate::support::{Reply, TestApp, pact};

const SHIELDS: &str = "https://img.shields.io/badge";

/// Foo publishes to Bar: 1 (tagged prod, on main) verified by Bar 100 (prod,
/// main); 2 (tagged dev, on main) failed by Bar 101 (dev, main). Bar 100 is
/// in production. Baz publishes an untagged pact nobody verified, and has
/// no main branch.
async fn seeded(config: ServerConfig) -> TestApp {
    let app = TestApp::with_config(config).await;
    let admin = |method: &'static str, path: String, body: serde_json::Value| {
        let app = &app;
        async move {
            let request = Request::builder()
                .method(method)
                .uri(path)
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::ACCEPT, "application/hal+json")
                // Ignored where sign-in is off.
                .header(header::AUTHORIZATION, format!("Bearer {ADMIN}"));
            let reply = app
                .send(request.body(Body::from(body.to_string())).unwrap())
                .await;
            assert!(reply.status.is_success(), "{method}: {}", reply.text);
            reply
        }
    };
    for (version, tag, paths) in [("1", "prod", &["/a"][..]), ("2", "dev", &["/a", "/b"][..])] {
        admin(
            "PUT",
            format!("/pacts/provider/Bar/consumer/Foo/version/{version}"),
            pact("Foo", "Bar", paths),
        )
        .await;
        admin(
            "PUT",
            format!("/pacticipants/Foo/versions/{version}/tags/{tag}"),
            json!({}),
        )
        .await;
        admin(
            "PUT",
            format!("/pacticipants/Foo/branches/main/versions/{version}"),
            json!({}),
        )
        .await;
    }
    admin(
        "PUT",
        "/pacts/provider/Bar/consumer/Baz/version/7".to_owned(),
        pact("Baz", "Bar", &["/c"]),
    )
    .await;
    for pacticipant in ["Foo", "Bar"] {
        admin(
            "PATCH",
            format!("/pacticipants/{pacticipant}"),
            json!({"mainBranch": "main"}),
        )
        .await;
    }
    for (consumer_version, provider_version, tag, success) in
        [("1", "100", "prod", true), ("2", "101", "dev", false)]
    {
        let pact = admin(
            "GET",
            format!("/pacts/provider/Bar/consumer/Foo/version/{consumer_version}"),
            json!(null),
        )
        .await;
        let publish = pact.body["_links"]["pb:publish-verification-results"]["href"]
            .as_str()
            .unwrap()
            .trim_start_matches(crate::support::BASE)
            .to_owned();
        admin(
            "POST",
            publish,
            json!({"success": success, "providerApplicationVersion": provider_version}),
        )
        .await;
        admin(
            "PUT",
            format!("/pacticipants/Bar/versions/{provider_version}/tags/{tag}"),
            json!({}),
        )
        .await;
        admin(
            "PUT",
            format!("/pacticipants/Bar/branches/main/versions/{provider_version}"),
            json!({}),
        )
        .await;
    }
    let production = admin(
        "POST",
        "/environments".to_owned(),
        json!({"name": "production", "production": true}),
    )
    .await;
    let uuid = production.body["uuid"].as_str().unwrap().to_owned();
    admin(
        "POST",
        format!("/pacticipants/Bar/versions/100/deployed-versions/environment/{uuid}"),
        json!({}),
    )
    .await;
    app
}

const ADMIN: &str = "badge-admin-token";

/// Every badge route, the Location it redirects to, and what a drawn badge says.
fn badges() -> Vec<(&'static str, String, &'static str)> {
    vec![
        (
            "/pacts/provider/Bar/consumer/Foo/latest/badge",
            format!("{SHIELDS}/foo%2Fbar%20pact-failed-red.svg"),
            "foo/bar pact: failed",
        ),
        (
            "/pacts/provider/Bar/consumer/Foo/latest/prod/badge",
            format!("{SHIELDS}/foo%2Fbar%20pact-verified-brightgreen.svg"),
            "foo/bar pact: verified",
        ),
        (
            "/pacts/provider/Bar/consumer/Foo/latest/prod/badge?label=consumer",
            format!("{SHIELDS}/foo%20pact-verified-brightgreen.svg"),
            "foo pact: verified",
        ),
        (
            "/pacts/provider/Bar/consumer/Baz/latest-untagged/badge",
            format!("{SHIELDS}/baz%2Fbar%20pact-unknown-lightgrey.svg"),
            "baz/bar pact: unknown",
        ),
        (
            "/pacts/provider/Bar/consumer/Foo/latest-untagged/badge",
            format!("{SHIELDS}/pact%20not%20found-unknown-lightgrey.svg"),
            "pact not found: unknown",
        ),
        (
            "/matrix/provider/Bar/latest/prod/consumer/Foo/latest/prod/badge",
            format!(
                "{SHIELDS}/foo%20%28prod%29%2Fbar%20%28prod%29%20pact-verified-brightgreen.svg"
            ),
            "foo (prod)/bar (prod) pact: verified",
        ),
        (
            "/pacticipants/Foo/latest-version/prod/can-i-deploy/to/prod/badge",
            format!("{SHIELDS}/can--i--deploy-prod%20to%20prod-brightgreen.svg"),
            "can-i-deploy: prod to prod",
        ),
        (
            // A "no" says so: red, not an unknown grey.
            "/pacticipants/Foo/latest-version/dev/can-i-deploy/to/prod/badge?label=ship%20it",
            format!("{SHIELDS}/ship%20it-dev%20to%20prod-red.svg"),
            "ship it: dev to prod",
        ),
        (
            "/pacticipants/Foo/latest-version/nope/can-i-deploy/to/prod/badge",
            format!("{SHIELDS}/version-not%20found-lightgrey.svg"),
            "version: not found",
        ),
        (
            "/pacticipants/Nobody/latest-version/dev/can-i-deploy/to/prod/badge",
            format!("{SHIELDS}/pacticipant-not%20found-lightgrey.svg"),
            "pacticipant: not found",
        ),
        (
            "/pacticipants/Foo/branches/main/latest-version/can-i-deploy/to-environment/production/badge",
            format!("{SHIELDS}/can--i--deploy-main%20to%20production-red.svg"),
            "can-i-deploy: main to production",
        ),
        (
            "/pacticipants/Foo/branches/nope/latest-version/can-i-deploy/to-environment/production/badge",
            format!("{SHIELDS}/branch-not%20found-lightgrey.svg"),
            "branch: not found",
        ),
        (
            "/pacticipants/Foo/branches/main/latest-version/can-i-deploy/to-environment/nope/badge",
            format!("{SHIELDS}/environment-not%20found-lightgrey.svg"),
            "environment: not found",
        ),
        (
            "/pacticipants/Foo/main-branch/can-i-merge/badge",
            format!("{SHIELDS}/can--i--merge-failed-red.svg"),
            "can-i-merge: failed",
        ),
        (
            "/pacticipants/Baz/main-branch/can-i-merge/badge",
            format!("{SHIELDS}/main%20branch%20version-not%20found-lightgrey.svg"),
            "main branch version: not found",
        ),
    ]
}

async fn get(app: &TestApp, path: &str, authorization: Option<String>) -> Reply {
    let mut request = Request::get(path);
    if let Some(value) = authorization {
        request = request.header(header::AUTHORIZATION, value);
    }
    app.send(request.body(Body::empty()).unwrap()).await
}

#[tokio::test]
async fn badges_redirect_to_shields_io_in_the_pact_brokers_words() {
    let app = seeded(ServerConfig::default()).await;
    for (path, location, _) in badges() {
        let reply = get(&app, path, None).await;
        assert_eq!(
            reply.status,
            StatusCode::TEMPORARY_REDIRECT,
            "{path}: {}",
            reply.text
        );
        assert_eq!(reply.location.as_deref(), Some(location.as_str()), "{path}");
        assert_eq!(reply.content_type, "image/svg+xml;charset=utf-8", "{path}");
    }
}

#[tokio::test]
async fn without_shields_io_treaty_draws_the_same_badges() {
    let app = seeded(ServerConfig {
        shields_io_base_url: None,
        ..ServerConfig::default()
    })
    .await;
    for (path, _, says) in badges() {
        let reply = get(&app, path, None).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.text);
        assert_eq!(reply.content_type, "image/svg+xml;charset=utf-8", "{path}");
        assert!(reply.location.is_none(), "{path}");
        assert!(
            reply.text.starts_with("<svg")
                && reply.text.contains(&format!("<title>{says}</title>")),
            "{path}: {}",
            reply.text
        );
    }
}

fn with_auth(public_badge_access: bool) -> ServerConfig {
    ServerConfig {
        auth: AuthConfig {
            basic: Some(("writer".into(), SecretString::from("wpass"))),
            basic_read_only: None,
            admin_token: Some(SecretString::from(ADMIN)),
            tokens: false,
        },
        public_badge_access,
        ..ServerConfig::default()
    }
}

/// With sign-in required, a badge needs it too, unless badges are public;
/// then only the badge routes open (chosen by the route, so a pacticipant
/// or tag named `badge` opens nothing), and only for reading.
#[tokio::test]
async fn badges_need_a_sign_in_unless_public_badge_access_is_on() {
    let closed = seeded(with_auth(false)).await;
    let open = seeded(with_auth(true)).await;
    for (path, _, _) in badges() {
        assert_eq!(
            get(&closed, path, None).await.status,
            StatusCode::UNAUTHORIZED,
            "{path}"
        );
        assert_eq!(
            get(&closed, path, Some(format!("Bearer {ADMIN}")))
                .await
                .status,
            StatusCode::TEMPORARY_REDIRECT,
            "{path}"
        );
        assert_eq!(
            get(&open, path, None).await.status,
            StatusCode::TEMPORARY_REDIRECT,
            "{path}"
        );
        // Wrong credentials do not matter where none are needed.
        assert_eq!(
            get(&open, path, Some("Bearer wrong".to_owned()))
                .await
                .status,
            StatusCode::TEMPORARY_REDIRECT,
            "{path}"
        );
    }
    for path in [
        "/pacts/provider/Bar/consumer/Foo/latest/prod",
        "/pacticipants/badge",
        "/pacts/provider/badge/consumer/badge/latest",
        "/matrix/provider/Bar/consumer/Foo",
    ] {
        assert_eq!(
            get(&open, path, None).await.status,
            StatusCode::UNAUTHORIZED,
            "{path}"
        );
    }
    let delete = open
        .send(
            Request::delete("/pacts/provider/Bar/consumer/Foo/latest/badge")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(delete.status, StatusCode::UNAUTHORIZED, "{}", delete.text);
}
