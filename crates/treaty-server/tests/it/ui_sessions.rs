//! Signing in to the UI and acting from it, over HTTP: the session cookie,
//! CSRF tokens, roles, cross-site posts, and what lands in the store and
//! the audit log. (The same in Chromium: the `treaty` crate's tests/it/ui.rs.)

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use base64::Engine;
use http_body_util::BodyExt;
use secrecy::SecretString;
use serde_json::{Value, json};
use tower::ServiceExt;
use treaty_server::ServerConfig;
use treaty_server::access::AuthConfig;

use crate::support::TestApp;

pub(crate) const ADMIN_TOKEN: &str = "admin-token-for-tests";

pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) text: String,
}

impl Answer {
    fn cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_owned)
            .collect()
    }

    /// The value a `Set-Cookie` of this name gives.
    fn cookie(&self, name: &str) -> Option<String> {
        self.cookies().iter().find_map(|c| {
            c.strip_prefix(&format!("{name}="))
                .map(|rest| rest.split(';').next().unwrap_or_default().to_owned())
        })
    }

    /// The CSRF token of the page's forms.
    pub(crate) fn csrf(&self) -> String {
        let at = self
            .text
            .find("name=\"csrf\" value=\"")
            .unwrap_or_else(|| panic!("no form with a CSRF token:\n{}", self.text))
            + "name=\"csrf\" value=\"".len();
        self.text[at..]
            .split('"')
            .next()
            .unwrap_or_default()
            .to_owned()
    }
}

/// A browser: it sends its cookies (and optionally credentials) and asks for HTML.
#[derive(Default, Clone)]
pub(crate) struct Browser {
    cookies: Vec<(String, String)>,
    authorization: Option<String>,
    /// What `Sec-Fetch-Site` it says its posts come from.
    site: Option<&'static str>,
}

impl Browser {
    fn basic(user: &str, password: &str) -> Self {
        Self {
            authorization: Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
            )),
            ..Self::default()
        }
    }

    fn keep(&mut self, answer: &Answer) {
        for name in ["treaty_session", "treaty_sign_in"] {
            if let Some(value) = answer.cookie(name) {
                self.cookies.retain(|(n, _)| n != name);
                if !value.is_empty() {
                    self.cookies.push((name.to_owned(), value));
                }
            }
        }
    }

    fn request(&self, method: &str, path: &str) -> axum::http::request::Builder {
        let mut builder = Request::builder()
            .method(method)
            .uri(path)
            .header(header::ACCEPT, "text/html,application/xhtml+xml");
        if !self.cookies.is_empty() {
            let cookie = self
                .cookies
                .iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            builder = builder.header(header::COOKIE, cookie);
        }
        if let Some(authorization) = &self.authorization {
            builder = builder.header(header::AUTHORIZATION, authorization);
        }
        builder
    }

    pub(crate) async fn get(&mut self, app: &TestApp, path: &str) -> Answer {
        let request = self.request("GET", path).body(Body::empty()).unwrap();
        let answer = send(app, request).await;
        self.keep(&answer);
        answer
    }

    pub(crate) async fn post(
        &mut self,
        app: &TestApp,
        path: &str,
        fields: &[(&str, &str)],
    ) -> Answer {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let mut builder = self
            .request("POST", path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(site) = self.site {
            builder = builder.header("sec-fetch-site", site);
        }
        let answer = send(app, builder.body(Body::from(body)).unwrap()).await;
        self.keep(&answer);
        answer
    }

    /// Signs in through the form with a token, or a user and password.
    pub(crate) async fn sign_in(&mut self, app: &TestApp, fields: &[(&str, &str)]) -> Answer {
        let form = self.get(app, "/ui/sign-in").await;
        assert_eq!(form.status, StatusCode::OK, "{}", form.text);
        let csrf = form.csrf();
        let mut all = vec![("csrf", csrf.as_str()), ("next", "/ui/environments")];
        all.extend_from_slice(fields);
        self.post(app, "/ui/sign-in", &all).await
    }
}

pub(crate) async fn send(app: &TestApp, request: Request<Body>) -> Answer {
    let response = app
        .router
        .clone()
        .oneshot(request)
        .await
        .expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        text: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

pub(crate) async fn api(
    app: &TestApp,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {ADMIN_TOKEN}"))
        .header(header::ACCEPT, "application/hal+json");
    let body = match body {
        Some(value) => {
            builder = builder.header(header::CONTENT_TYPE, "application/json");
            Body::from(value.to_string())
        }
        None => Body::empty(),
    };
    let answer = send(app, builder.body(body).unwrap()).await;
    (
        answer.status,
        serde_json::from_str(&answer.text).unwrap_or(Value::Null),
    )
}

pub(crate) async fn app_with_sign_in() -> TestApp {
    app_with_sign_in_and(ServerConfig::default()).await
}

/// Signing in on, with the rest of `config` (webhooks to loopback, ...).
pub(crate) async fn app_with_sign_in_and(config: ServerConfig) -> TestApp {
    let app = TestApp::with_config(ServerConfig {
        auth: AuthConfig {
            basic: Some(("writer".into(), SecretString::from("wpass"))),
            basic_read_only: Some(("reader".into(), SecretString::from("rpass"))),
            admin_token: Some(SecretString::from(ADMIN_TOKEN)),
            tokens: true,
        },
        ..config
    })
    .await;
    for (name, production) in [("test", false), ("production", true)] {
        let (status, body) = api(
            &app,
            "POST",
            "/environments",
            Some(json!({"name": name, "production": production})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    app
}

pub(crate) async fn create_token(app: &TestApp, name: &str, role: &str) -> String {
    let (status, body) = api(
        app,
        "POST",
        "/tokens",
        Some(json!({"name": name, "role": role})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["token"].as_str().expect("the token").to_owned()
}

#[tokio::test]
async fn a_browser_without_credentials_gets_the_challenge_and_the_sign_in_page() {
    let app = app_with_sign_in().await;
    let answer = Browser::default().get(&app, "/ui/environments").await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    let challenges: Vec<_> = answer
        .headers
        .get_all(header::WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    assert!(
        challenges.iter().any(|c| c.starts_with("Basic ")),
        "{challenges:?}"
    );
    assert!(answer.text.contains("<h1>Sign in</h1>"), "{}", answer.text);
    assert!(
        answer
            .text
            .contains("name=\"next\" value=\"/ui/environments\"")
    );
    // An API client still gets its problem document.
    let (status, body) = {
        let request = Request::get("/environments")
            .header(header::ACCEPT, "application/hal+json")
            .body(Body::empty())
            .unwrap();
        let answer = send(&app, request).await;
        (answer.status, answer.text)
    };
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(!body.contains("<h1>"), "{body}");
}

#[tokio::test]
async fn a_token_signs_in_to_a_strict_http_only_session_that_ends_when_the_token_is_revoked() {
    let app = app_with_sign_in().await;
    let token = create_token(&app, "ops-anna", "admin").await;
    let mut browser = Browser::default();
    let signed_in = browser.sign_in(&app, &[("token", &token)]).await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.text
    );
    assert_eq!(
        signed_in.headers.get(header::LOCATION).unwrap(),
        "http://broker.test/ui/environments"
    );
    let cookie = signed_in
        .cookies()
        .into_iter()
        .find(|c| c.starts_with("treaty_session="))
        .expect("a session cookie");
    for part in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=28800"] {
        assert!(cookie.contains(part), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain http: {cookie}");
    assert!(!cookie.contains(&token), "the token is not in the cookie");

    let page = browser.get(&app, "/ui/environments").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(
        page.text
            .contains("Signed in as <strong class=\"identity\">ops-anna</strong>")
    );
    assert!(page.text.contains("<span class=\"role\">admin</span>"));
    assert!(page.text.contains("Sign out"));
    // The cookie does not sign in API writes.
    let request = browser
        .request("POST", "/environments")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            json!({"name": "qa", "production": false}).to_string(),
        ))
        .unwrap();
    assert_eq!(send(&app, request).await.status, StatusCode::UNAUTHORIZED);

    let (status, _) = api(&app, "DELETE", "/tokens/ops-anna", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let after = browser.get(&app, "/ui/environments").await;
    assert_eq!(
        after.status,
        StatusCode::UNAUTHORIZED,
        "revoked: signed out"
    );
    assert!(after.text.contains("<h1>Sign in</h1>"));
}

#[tokio::test]
async fn wrong_credentials_and_a_form_from_elsewhere_do_not_sign_in() {
    let app = app_with_sign_in().await;
    let mut browser = Browser::default();
    let wrong = browser
        .sign_in(&app, &[("user", "writer"), ("password", "nope")])
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.cookie("treaty_session").is_none());
    assert!(wrong.text.contains("Those credentials are not known"));
    // Without the sign-in form's own token (login CSRF).
    let mut stranger = Browser::default();
    let forged = stranger
        .post(
            &app,
            "/ui/sign-in",
            &[("user", "writer"), ("password", "wpass"), ("csrf", "x")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(forged.cookie("treaty_session").is_none());
    // Signing out ends the session in this browser.
    let mut writer = Browser::default();
    let signed_in = writer
        .sign_in(&app, &[("user", "writer"), ("password", "wpass")])
        .await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.text
    );
    let page = writer.get(&app, "/ui/environments").await;
    assert!(
        page.text.contains("<span class=\"role\">write</span>"),
        "{}",
        page.text
    );
    let csrf = page.csrf();
    let out = writer.post(&app, "/ui/sign-out", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.cookie("treaty_session").as_deref(), Some(""));
    assert_eq!(
        writer.get(&app, "/ui/environments").await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn forms_act_through_the_store_with_their_csrf_token_and_are_audited_with_the_signed_in_name()
{
    let app = app_with_sign_in().await;
    let token = create_token(&app, "ops-anna", "admin").await;
    let mut browser = Browser::default();
    browser.sign_in(&app, &[("token", &token)]).await;
    let page = browser.get(&app, "/ui/environments").await;
    let csrf = page.csrf();

    let without = browser
        .post(&app, "/ui/environments", &[("name", "qa")])
        .await;
    assert_eq!(without.status, StatusCode::FORBIDDEN, "{}", without.text);
    // A token from another session is another session's.
    let mut other = Browser::default();
    other.sign_in(&app, &[("token", &token)]).await;
    let foreign = other.get(&app, "/ui/environments").await.csrf();
    assert_ne!(foreign, csrf);
    let forged = browser
        .post(
            &app,
            "/ui/environments",
            &[("name", "qa"), ("csrf", &foreign)],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let (_, listed) = api(&app, "GET", "/environments?name=qa", None).await;
    assert_eq!(listed["_embedded"]["environments"], json!([]), "{listed}");

    let created = browser
        .post(
            &app,
            "/ui/environments",
            &[("name", "qa"), ("display_name", "QA"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.text);
    let (_, listed) = api(&app, "GET", "/environments?name=qa", None).await;
    assert_eq!(
        listed["_embedded"]["environments"][0]["displayName"],
        json!("QA")
    );
    // The same validation as the API's.
    let refused = browser
        .post(
            &app,
            "/ui/environments",
            &[("name", " qa\u{200b}"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.text.contains("role=\"alert\""), "{}", refused.text);

    let (_, audit) = api(&app, "GET", "/audit", None).await;
    let entries = audit["_embedded"]["entries"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let entry = entries
        .iter()
        .find(|e| e["target"] == json!("/ui/environments") && e["outcome"] == json!("committed"))
        .unwrap_or_else(|| panic!("the creation's audit entry: {audit}"));
    assert_eq!(entry["actor"], json!("ops-anna"));
}

#[tokio::test]
async fn freeze_now_refuses_deployments_with_the_reason_typed_and_lift_freeze_lets_them_through() {
    let app = app_with_sign_in().await;
    let mut browser = Browser::default();
    browser.sign_in(&app, &[("token", ADMIN_TOKEN)]).await;
    let page = browser.get(&app, "/ui/environments/production").await;
    assert!(page.text.contains("Freeze now"), "{}", page.text);
    assert!(!page.text.contains("Lift freeze"));
    let until = (chrono::Utc::now() + chrono::Duration::hours(2))
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    let frozen = browser
        .post(
            &app,
            "/ui/environments/production/freeze",
            &[
                ("reason", "incident INC-7 in payments"),
                ("until", &until),
                ("csrf", &page.csrf()),
            ],
        )
        .await;
    assert_eq!(frozen.status, StatusCode::SEE_OTHER, "{}", frozen.text);
    let page = browser.get(&app, "/ui/environments/production").await;
    assert!(
        page.text.contains("Deployments are frozen"),
        "{}",
        page.text
    );
    assert!(page.text.contains("Lift freeze"));

    let (status, _) = api(
        &app,
        "PUT",
        "/pacticipants/payments/versions/1.0.0",
        Some(json!({})),
    )
    .await;
    assert!(status.is_success());
    let event = json!({"product_name": "payments", "version": "1.0.0",
                       "environment_name": "production", "status": "started"});
    let (status, body) = api(&app, "POST", "/deployment-events", Some(event.clone())).await;
    assert_eq!(status, StatusCode::LOCKED, "{body}");
    assert!(
        body.to_string().contains("incident INC-7 in payments"),
        "{body}"
    );

    let lifted = browser
        .post(
            &app,
            "/ui/environments/production/lift-freeze",
            &[("csrf", &page.csrf())],
        )
        .await;
    assert_eq!(lifted.status, StatusCode::SEE_OTHER, "{}", lifted.text);
    let (status, body) = api(&app, "POST", "/deployment-events", Some(event)).await;
    assert_ne!(status, StatusCode::LOCKED, "{body}");
}

#[tokio::test]
async fn a_read_only_user_sees_no_action_and_forced_posts_are_refused() {
    let app = app_with_sign_in().await;
    let (status, _) = api(
        &app,
        "PUT",
        "/pacticipants/payments/versions/1.0.0",
        Some(json!({})),
    )
    .await;
    assert!(status.is_success());
    let event = json!({"product_name": "payments", "version": "1.0.0",
                       "environment_name": "test", "status": "started"});
    let (status, started) = api(&app, "POST", "/deployment-events", Some(event)).await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    let deployment = format!("/ui/deployments/{}", started["id"]);

    // Signed in with its own browser prompt, and through the form.
    let mut prompted = Browser::basic("reader", "rpass");
    let mut reader = Browser::default();
    let signed_in = reader
        .sign_in(&app, &[("user", "reader"), ("password", "rpass")])
        .await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    for browser in [&mut prompted, &mut reader] {
        for path in [
            "/ui/environments",
            "/ui/environments/production",
            "/ui/webhooks",
            deployment.as_str(),
        ] {
            let page = browser.get(&app, path).await;
            assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.text);
            assert!(page.text.contains("<span class=\"role\">read</span>"));
            for action in [
                "Freeze now",
                "Create",
                "Save",
                "Delete",
                "Send a test",
                "Open incident",
                "Mark failed",
                "Tokens</a>",
            ] {
                assert!(
                    !page.text.contains(action),
                    "{path} shows '{action}' to a reader"
                );
            }
        }
        assert_eq!(
            browser.get(&app, "/ui/tokens").await.status,
            StatusCode::FORBIDDEN
        );
    }
    // Forced, with the reader's own valid CSRF token (from its sign-out form).
    let csrf = reader.get(&app, "/ui/environments").await.csrf();
    let id = started["id"].to_string();
    for (path, fields) in [
        ("/ui/environments".to_owned(), vec![("name", "sneaky")]),
        (
            "/ui/environments/production/freeze".to_owned(),
            vec![("reason", "x"), ("until", "2099-01-01T00:00")],
        ),
        (
            "/ui/tokens".to_owned(),
            vec![("name", "mine"), ("role", "admin")],
        ),
        (format!("/ui/deployments/{id}/fail"), vec![]),
    ] {
        let mut fields = fields;
        fields.push(("csrf", csrf.as_str()));
        let answer = reader.post(&app, &path, &fields).await;
        assert_eq!(
            answer.status,
            StatusCode::FORBIDDEN,
            "{path}: {}",
            answer.text
        );
    }
    let (_, listed) = api(&app, "GET", "/environments?name=sneaky", None).await;
    assert_eq!(listed["_embedded"]["environments"], json!([]));
    let (_, tokens) = api(&app, "GET", "/tokens", None).await;
    assert_eq!(tokens["_embedded"]["tokens"], json!([]));
    let (_, still) = api(&app, "GET", &format!("/deployments/{id}"), None).await;
    assert_eq!(still["status"], json!("started"), "{still}");
    // The write role acts on deployments, not on environments.
    let mut writer = Browser::basic("writer", "wpass");
    let page = writer.get(&app, &deployment).await;
    assert!(page.text.contains("Mark failed") && !page.text.contains("Tokens</a>"));
    let refused = writer
        .post(
            &app,
            "/ui/environments",
            &[("name", "sneaky"), ("csrf", &page.csrf())],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let failed = writer
        .post(
            &app,
            &format!("/ui/deployments/{id}/fail"),
            &[("csrf", &page.csrf())],
        )
        .await;
    assert_eq!(failed.status, StatusCode::SEE_OTHER, "{}", failed.text);
    let (_, now) = api(&app, "GET", &format!("/deployments/{id}"), None).await;
    assert_eq!(now["status"], json!("failed"), "{now}");
}

#[tokio::test]
async fn a_form_posted_from_another_site_is_refused() {
    let app = app_with_sign_in().await;
    let mut browser = Browser::default();
    browser.sign_in(&app, &[("token", ADMIN_TOKEN)]).await;
    let csrf = browser.get(&app, "/ui/environments").await.csrf();
    let mut attacked = Browser {
        site: Some("cross-site"),
        ..browser.clone()
    };
    let answer = attacked
        .post(
            &app,
            "/ui/environments",
            &[("name", "evil"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.text);
    let (_, listed) = api(&app, "GET", "/environments?name=evil", None).await;
    assert_eq!(listed["_embedded"]["environments"], json!([]));
}

#[tokio::test]
async fn tokens_are_shown_once_when_created_and_can_be_revoked() {
    let app = app_with_sign_in().await;
    let mut browser = Browser::default();
    browser.sign_in(&app, &[("token", ADMIN_TOKEN)]).await;
    let csrf = browser.get(&app, "/ui/tokens").await.csrf();
    let created = browser
        .post(
            &app,
            "/ui/tokens",
            &[
                ("name", "ci-payments"),
                ("role", "write"),
                ("pacticipants", "payments-*"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let at = created
        .text
        .find("id=\"new-token\" class=\"secret\" value=\"")
        .expect("the token shown")
        + "id=\"new-token\" class=\"secret\" value=\"".len();
    let secret = created.text[at..].split('"').next().unwrap().to_owned();
    assert!(secret.starts_with("treaty_"), "{secret}");
    let listed = browser.get(&app, "/ui/tokens").await;
    assert!(listed.text.contains("ci-payments") && !listed.text.contains(&secret));
    assert!(listed.text.contains("payments-*"));
    // The token works, until revoked from the page.
    let me = |secret: &str| {
        Request::get("/environments")
            .header(header::AUTHORIZATION, format!("Bearer {secret}"))
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(send(&app, me(&secret)).await.status, StatusCode::OK);
    let revoked = browser
        .post(&app, "/ui/tokens/ci-payments/revoke", &[("csrf", &csrf)])
        .await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER, "{}", revoked.text);
    assert_eq!(
        send(&app, me(&secret)).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn guessing_through_the_sign_in_form_is_throttled_like_the_api() {
    let app = TestApp::with_config(ServerConfig {
        auth: AuthConfig {
            basic: Some(("writer".into(), SecretString::from("wpass"))),
            ..AuthConfig::default()
        },
        sign_in_failures_per_minute: 2,
        ..ServerConfig::default()
    })
    .await;
    let mut browser = Browser::default();
    for _ in 0..2 {
        let wrong = browser
            .sign_in(&app, &[("user", "writer"), ("password", "guess")])
            .await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    }
    let throttled = browser
        .sign_in(&app, &[("user", "writer"), ("password", "wpass")])
        .await;
    assert_eq!(
        throttled.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        throttled.text
    );
    assert!(throttled.cookie("treaty_session").is_none());
}

/// What a freeze webhook received, as its JSON body.
fn freeze_news(got: &[(HeaderMap, String)], index: usize) -> Value {
    serde_json::from_str(&got[index].1).unwrap_or_else(|_| panic!("not JSON: {}", got[index].1))
}

#[tokio::test]
async fn freezing_and_lifting_from_the_ui_or_the_api_is_announced_by_webhook() {
    let config = crate::webhooks::local_config(&[]);
    let app = app_with_sign_in_and(config.clone()).await;
    let receiver = crate::webhooks::Receiver::start(0).await;
    let (status, body) = api(
        &app,
        "POST",
        "/webhooks",
        Some(json!({
            "events": [{"name": "environment_frozen"}, {"name": "environment_unfrozen"}],
            "request": {"method": "POST", "url": receiver.url,
                "headers": {"Content-Type": "application/json"},
                "body": {"event": "${pactbroker.eventName}", "environment": "${treaty.environment}",
                         "reason": "${treaty.reason}", "until": "${treaty.until}",
                         "by": "${treaty.changedBy}", "mode": "${treaty.mode}", "link": "${treaty.environmentUrl}", "text": "${treaty.environment} frozen${treaty.changedByText}"}}
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let deliveries = format!("/webhooks/{}/deliveries", body["uuid"].as_str().unwrap());
    let _tasks = treaty_server::background::spawn(app.store(), &config, "http://broker.test");

    let mut browser = Browser::default();
    browser.sign_in(&app, &[("token", ADMIN_TOKEN)]).await;
    let form = browser.get(&app, "/ui/webhooks").await;
    assert!(form.text.contains("environment_frozen"), "{}", form.text);
    let page = browser.get(&app, "/ui/environments/production").await;
    let until = (chrono::Utc::now() + chrono::Duration::hours(2))
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    let frozen = browser
        .post(
            &app,
            "/ui/environments/production/freeze",
            &[
                ("reason", "incident INC-9"),
                ("until", &until),
                ("csrf", &page.csrf()),
            ],
        )
        .await;
    assert_eq!(frozen.status, StatusCode::SEE_OTHER, "{}", frozen.text);
    let got = receiver.wait_for(1).await;
    assert_eq!(got.len(), 1, "the freeze is announced");
    let news = freeze_news(&got, 0);
    assert_eq!(news["event"], "environment_frozen", "{news}");
    assert_eq!(news["environment"], "production");
    assert_eq!(news["reason"], "incident INC-9");
    assert_eq!(news["until"], format!("{until}:00Z"));
    assert_eq!(news["by"], "admin");
    assert_eq!(news["text"], "production frozen by admin");
    assert_eq!(news["mode"], "enforce");
    assert_eq!(
        news["link"],
        "http://broker.test/ui/environments/production"
    );

    let lifted = browser
        .post(
            &app,
            "/ui/environments/production/lift-freeze",
            &[("csrf", &page.csrf())],
        )
        .await;
    assert_eq!(lifted.status, StatusCode::SEE_OTHER, "{}", lifted.text);
    let got = receiver.wait_for(2).await;
    assert_eq!(got.len(), 2, "lifting is announced");
    let news = freeze_news(&got, 1);
    assert_eq!(news["event"], "environment_unfrozen", "{news}");
    assert_eq!(news["reason"], "incident INC-9", "what was lifted");

    // The same through the API's policy writes.
    let until = chrono::Utc::now() + chrono::Duration::hours(1);
    let (status, body) = api(
        &app,
        "PUT",
        "/policies/production",
        Some(json!({"rules": [{"rule": "freeze", "windows": [{
            "start": "2020-01-01T00:00:00Z",
            "end": treaty_domain::time::format(until),
            "reason": "year-end"}]}]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let got = receiver.wait_for(3).await;
    assert_eq!(got.len(), 3, "a policy that freezes is announced");
    let news = freeze_news(&got, 2);
    assert_eq!(news["event"], "environment_frozen", "{news}");
    assert_eq!(news["reason"], "year-end");
    let (status, _) = api(&app, "DELETE", "/policies/production", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let got = receiver.wait_for(4).await;
    assert_eq!(got.len(), 4, "removing the freezing policy is announced");
    assert_eq!(freeze_news(&got, 3)["event"], "environment_unfrozen");
    // A policy write that leaves the freeze as it was enqueues nothing
    // (deliveries are written with the write, so the count is known now).
    let (status, _) = api(&app, "PUT", "/policies/test", Some(json!({"rules": []}))).await;
    assert_eq!(status, StatusCode::OK);
    let (_, listed) = api(&app, "GET", &deliveries, None).await;
    assert_eq!(
        listed["_embedded"]["triggeredWebhooks"]
            .as_array()
            .map(Vec::len),
        Some(4),
        "{listed}"
    );
}

/// Waits (up to 20 s) until the webhook's newest delivery has `status`.
async fn delivery_reaches(app: &TestApp, hook: &str, status: &str) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let (_, listed) = api(app, "GET", &format!("/webhooks/{hook}/deliveries"), None).await;
        let newest = listed["_embedded"]["triggeredWebhooks"][0].clone();
        if newest["status"] == status || std::time::Instant::now() > deadline {
            assert_eq!(newest["status"], status, "{listed}");
            return newest;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn a_failed_delivery_is_retried_from_the_webhook_page_by_an_admin_only() {
    // No automatic retries: the first failure is final.
    let config = crate::webhooks::local_config(&[]);
    let app = app_with_sign_in_and(config.clone()).await;
    // 500 to the first attempt and to the retry from the UI, then 200.
    let receiver = crate::webhooks::Receiver::start(2).await;
    let (status, body) = api(
        &app,
        "POST",
        "/webhooks",
        Some(json!({
            "events": [{"name": "environment_frozen"}],
            "request": {"method": "POST", "url": receiver.url, "body": "${treaty.reason}"}
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let hook = body["uuid"].as_str().unwrap().to_owned();
    let _tasks = treaty_server::background::spawn(app.store(), &config, "http://broker.test");
    let until = chrono::Utc::now() + chrono::Duration::hours(1);
    let (status, body) = api(
        &app,
        "PUT",
        "/policies/production",
        Some(json!({"rules": [{"rule": "freeze", "windows": [{
            "start": "2020-01-01T00:00:00Z",
            "end": treaty_domain::time::format(until),
            "reason": "INC-12"}]}]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let failed = delivery_reaches(&app, &hook, "failure").await;
    let delivery = failed["uuid"].as_str().unwrap().to_owned();
    let retry = format!("/ui/webhooks/{hook}/deliveries/{delivery}/retry");
    let page_path = format!("/ui/webhooks/{hook}");

    // A reader sees no Retry, and is refused when it posts one anyway.
    let mut reader = Browser::default();
    reader
        .sign_in(&app, &[("user", "reader"), ("password", "rpass")])
        .await;
    let seen = reader.get(&app, &page_path).await;
    assert_eq!(seen.status, StatusCode::OK, "{}", seen.text);
    assert!(seen.text.contains("failure"), "{}", seen.text);
    assert!(!seen.text.contains(&retry), "{}", seen.text);
    let forced = reader.post(&app, &retry, &[("csrf", &seen.csrf())]).await;
    assert_eq!(forced.status, StatusCode::FORBIDDEN, "{}", forced.text);

    // An admin retries from the page; without the page's CSRF token it is refused.
    let mut admin = Browser::default();
    admin.sign_in(&app, &[("token", ADMIN_TOKEN)]).await;
    let page = admin.get(&app, &page_path).await;
    assert!(page.text.contains(&retry), "{}", page.text);
    let no_token = admin.post(&app, &retry, &[]).await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN, "{}", no_token.text);
    let retried = admin.post(&app, &retry, &[("csrf", &page.csrf())]).await;
    assert_eq!(retried.status, StatusCode::SEE_OTHER, "{}", retried.text);
    assert_eq!(receiver.wait_for(2).await.len(), 2, "the retry is sent");
    let again = delivery_reaches(&app, &hook, "failure").await;
    assert_eq!(again["attemptsMade"], 2, "{again}");
    assert!(
        again["logs"]
            .as_str()
            .unwrap()
            .contains("retry asked by admin"),
        "{again}"
    );

    // Through the API the same: now the receiver answers 200.
    let (status, queued) = api(
        &app,
        "POST",
        &format!("/webhooks/{hook}/deliveries/{delivery}/retry"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{queued}");
    assert_eq!(queued["status"], "retrying");
    let done = delivery_reaches(&app, &hook, "success").await;
    assert_eq!(done["attemptsMade"], 3, "{done}");
    assert_eq!(receiver.bodies(), ["INC-12", "INC-12", "INC-12"]);
    let page = admin.get(&app, &page_path).await;
    assert!(page.text.contains("success"), "{}", page.text);
    assert!(
        !page.text.contains(&retry),
        "a delivered one offers no retry"
    );

    // Only a failed delivery is retried; an unknown one is not found.
    let (status, problem) = api(
        &app,
        "POST",
        &format!("/webhooks/{hook}/deliveries/{delivery}/retry"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert!(problem.to_string().contains("is success"), "{problem}");
    let refused = admin.post(&app, &retry, &[("csrf", &page.csrf())]).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.text);
    assert!(
        refused.text.contains("Only a delivery that failed"),
        "{}",
        refused.text
    );
    let (status, _) = api(
        &app,
        "POST",
        &format!("/webhooks/{hook}/deliveries/no-such-delivery/retry"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
