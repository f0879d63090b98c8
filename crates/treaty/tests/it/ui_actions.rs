//! Signing in and acting from the web UI in a real headless Chromium:
//! tokens and basic users sign in through the form, an admin creates an
//! environment, freezes production (and `treaty deployment start` is then
//! refused with the reason typed), lifts the freeze, creates and tests a
//! webhook against a receiver on loopback, creates and revokes a token; a
//! reader sees no action and a forced or cross-site post is refused. Every
//! new page passes axe-core, and is saved as a screenshot at desktop and
//! phone widths (`target/tmp/ui-screenshots/`).

use fantoccini::Locator;
use secrecy::SecretString;
use serde_json::json;
use treaty_domain::webhooks::TargetPolicy;
use treaty_server::ServerConfig;
use treaty_server::access::AuthConfig;

use crate::browser::Browser;
use crate::support::{TestServer, bodies, receiver, text, treaty};

pub(crate) const ADMIN: &str = "admin-token-for-the-ui";

pub(crate) async fn server() -> TestServer {
    TestServer::start_with(ServerConfig {
        auth: AuthConfig {
            basic: Some(("writer".into(), SecretString::from("wpass"))),
            basic_read_only: Some(("reader".into(), SecretString::from("rpass"))),
            admin_token: Some(SecretString::from(ADMIN)),
            tokens: true,
        },
        webhook_policy: TargetPolicy {
            schemes: vec!["http".into()],
            methods: vec!["POST".into()],
            hosts: vec!["127.0.0.1".into()],
        },
        // `treaty deployment start` names a version nothing else created.
        create_unknown_versions: true,
        ..ServerConfig::default()
    })
    .await
}

/// Checks the page shown: it says what it must, axe-core finds nothing
/// serious, and it is saved at desktop and phone widths (without scrolling
/// sideways on the phone).
pub(crate) async fn check(browser: &Browser, name: &str, expected: &[&str]) -> String {
    let text = browser.text().await;
    for needle in expected {
        assert!(
            text.contains(needle),
            "{name} should show '{needle}':\n{text}"
        );
    }
    let violations = browser.accessibility_violations().await;
    assert!(
        violations.is_empty(),
        "{name}: serious accessibility findings: {}",
        serde_json::to_string_pretty(&violations).unwrap_or_default()
    );
    browser.screenshot(name).await;
    let c = &browser.client;
    c.set_window_size(390, 844).await.expect("phone width");
    browser.screenshot(&format!("{name}-phone")).await;
    let wide = c
        .execute(
            "return [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1).slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right)).join('\\n');",
            vec![],
        )
        .await
        .expect("layout");
    if let Some(offenders) = browser.horizontal_overflow().await {
        panic!("{name} scrolls sideways on a phone:\n{offenders}\n{wide}");
    }
    c.set_window_size(1280, 900).await.expect("desktop width");
    text
}

pub(crate) async fn fill(browser: &Browser, css: &str, value: &str) {
    let field = browser
        .client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no field {css}: {e}"));
    field.clear().await.expect("clear");
    field.send_keys(value).await.expect("type");
}

pub(crate) async fn click(browser: &Browser, css: &str) {
    browser
        .client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("nothing to click at {css}: {e}"))
        .click()
        .await
        .expect("click");
}

/// Clicks a button that submits a form, and waits for the page it leads to
/// (the old document is marked, and the wait ends when an unmarked one is there).
pub(crate) async fn submit(browser: &Browser, css: &str) {
    let c = &browser.client;
    c.execute(
        "document.documentElement.setAttribute('data-left', '1');",
        vec![],
    )
    .await
    .expect("mark the page");
    click(browser, css).await;
    c.wait()
        .at_most(std::time::Duration::from_secs(30))
        .for_element(Locator::Css("html:not([data-left])"))
        .await
        .unwrap_or_else(|e| panic!("no page after submitting {css}: {e}"));
}

pub(crate) async fn sign_in_with_token(browser: &Browser, url: &str, token: &str) {
    browser
        .client
        .goto(&format!("{url}/ui/sign-in"))
        .await
        .expect("sign-in page");
    fill(browser, "#token", token).await;
    submit(browser, "form[aria-labelledby='with-token'] button").await;
}

async fn sign_out(browser: &Browser) {
    submit(browser, "header .who button").await;
}

#[tokio::test]
async fn an_admin_signs_in_with_a_token_creates_freezes_lifts_tests_a_webhook_and_manages_tokens() {
    let server = server().await;
    let url = server.url.clone();
    for (name, display, production) in [("test", "Test", false), ("production", "Production", true)]
    {
        let (status, body) = server
            .post_json_as(
                "/environments",
                ADMIN,
                &json!({"name": name, "displayName": display, "production": production}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let browser = Browser::start().await;
    let c = &browser.client;

    // Sign in with the admin token.
    c.goto(&format!("{url}/ui/sign-in"))
        .await
        .expect("sign-in page");
    check(
        &browser,
        "sign-in",
        &[
            "Sign in",
            "With a user name and password",
            "With an API token",
        ],
    )
    .await;
    sign_in_with_token(&browser, &url, ADMIN).await;
    let home = browser.text().await;
    assert!(home.contains("Signed in as admin · admin"), "{home}");

    // Create an environment.
    c.goto(&format!("{url}/ui/environments"))
        .await
        .expect("environments");
    check(
        &browser,
        "environments",
        &["Environments", "New environment", "production"],
    )
    .await;
    fill(&browser, "#new-name", "staging").await;
    fill(&browser, "#new-display", "Staging").await;
    submit(&browser, "form[action$='/ui/environments'] button").await;
    assert!(
        c.current_url()
            .await
            .unwrap()
            .as_str()
            .ends_with("/ui/environments/staging")
    );
    let (status, staging) = server
        .get_json_as("/environments?name=staging", ADMIN)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        staging["_embedded"]["environments"][0]["displayName"],
        json!("Staging")
    );

    // Freeze production with a reason; the end is filled in (four hours on).
    c.goto(&format!("{url}/ui/environments/production"))
        .await
        .expect("production");
    check(
        &browser,
        "environment-actions",
        &["Freeze Production now", "Reason", "Until (UTC)"],
    )
    .await;
    fill(&browser, "#freeze-reason", "INC-42: payments are down").await;
    submit(&browser, "form[action$='/freeze'] button").await;
    let frozen = browser.text().await;
    assert!(
        frozen.contains("Deployments are frozen (INC-42: payments are down)"),
        "{frozen}"
    );
    browser.screenshot("environment-frozen").await;

    let start = |b: &str| {
        let b = b.to_owned();
        async move {
            treaty(&[
                "deployment",
                "start",
                "-b",
                &b,
                "-k",
                ADMIN,
                "-a",
                "payments",
                "-e",
                "1.0.0",
                "--environment",
                "production",
            ])
            .await
        }
    };
    let refused = start(&url).await;
    assert_eq!(refused.status.code(), Some(4), "{}", text(&refused));
    let said = text(&refused);
    assert!(said.contains("INC-42: payments are down"), "{said}");
    assert!(said.contains("423") || said.contains("frozen"), "{said}");
    let (_, last) = server.get_json_as("/audit", ADMIN).await;
    let freeze_entry = last["_embedded"]["entries"]
        .as_array()
        .and_then(|e| {
            e.iter()
                .find(|e| e["target"] == json!("/ui/environments/production/freeze"))
        })
        .cloned()
        .unwrap_or_else(|| panic!("the freeze's audit entry: {last}"));
    assert_eq!(freeze_entry["actor"], json!("admin"));

    // Lift it: the same deployment starts.
    submit(&browser, "form[action$='/lift-freeze'] button").await;
    assert!(!browser.text().await.contains("Deployments are frozen"));
    let started = start(&url).await;
    assert!(started.status.success(), "{}", text(&started));

    // A webhook against a receiver on loopback, tested from its page.
    let (hook_url, received) = receiver().await;
    c.goto(&format!("{url}/ui/webhooks"))
        .await
        .expect("webhooks");
    check(
        &browser,
        "webhooks",
        &[
            "New webhook",
            "Events that send it",
            "${pactbroker.consumerName}",
        ],
    )
    .await;
    fill(&browser, "#hook-description", "Tell the team").await;
    click(&browser, "input[name='event_contract_published']").await;
    fill(&browser, "#hook-url", &hook_url).await;
    fill(
        &browser,
        "#hook-body",
        r#"{"text": "published by ${pactbroker.consumerName}"}"#,
    )
    .await;
    submit(&browser, "form[action$='/ui/webhooks'] button").await;
    assert!(
        c.current_url()
            .await
            .unwrap()
            .as_str()
            .contains("/ui/webhooks/")
    );
    submit(&browser, "form[action$='/test'] button").await;
    let tested = check(
        &browser,
        "webhook-tested",
        &["Test: ✓ succeeded", "Request sent", "Response"],
    )
    .await;
    assert!(tested.contains(&hook_url), "{tested}");
    assert_eq!(bodies(&received).len(), 1, "the receiver got the test");

    // A token: shown once, then revoked.
    c.goto(&format!("{url}/ui/tokens")).await.expect("tokens");
    check(&browser, "tokens", &["API tokens", "New token"]).await;
    fill(&browser, "#token-name", "ci-web").await;
    fill(&browser, "#token-pacticipants", "web, web-*").await;
    submit(&browser, "form[action$='/ui/tokens'] button").await;
    let secret = c
        .find(Locator::Css("#new-token"))
        .await
        .expect("the new token")
        .prop("value")
        .await
        .unwrap()
        .expect("the token in its field");
    check(
        &browser,
        "token-created",
        &["Token ci-web created", "will not show it again"],
    )
    .await;
    let (status, _) = server.get_json_as("/environments", &secret).await;
    assert_eq!(status, 200, "the new token works");
    submit(&browser, "form[action$='/ui/tokens/ci-web/revoke'] button").await;
    assert!(browser.text().await.contains("revoked"));
    let (status, _) = server.get_json_as("/environments", &secret).await;
    assert_eq!(status, 401, "revoked");

    // Another token signs in, with its own role shown.
    let (status, made) = server
        .post_json_as(
            "/tokens",
            ADMIN,
            &json!({"name": "dev-ola", "role": "write"}),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    sign_out(&browser).await;
    sign_in_with_token(&browser, &url, made["token"].as_str().unwrap()).await;
    assert!(
        browser
            .text()
            .await
            .contains("Signed in as dev-ola · write")
    );
}

#[tokio::test]
async fn a_reader_signs_in_with_a_password_sees_no_action_and_forced_or_cross_site_posts_are_refused()
 {
    let server = server().await;
    let url = server.url.clone();
    let browser = Browser::start().await;
    let c = &browser.client;
    c.goto(&format!(
        "{url}/ui/sign-in?next=/ui/environments/production"
    ))
    .await
    .expect("sign-in");
    fill(&browser, "#user", "reader").await;
    fill(&browser, "#password", "rpass").await;
    submit(&browser, "form[aria-labelledby='with-password'] button").await;
    assert!(
        c.current_url()
            .await
            .unwrap()
            .as_str()
            .ends_with("/ui/environments/production")
    );
    let page = check(
        &browser,
        "environment-as-reader",
        &["Signed in as reader · read"],
    )
    .await;
    for action in ["Freeze", "Lift freeze", "Tokens"] {
        assert!(!page.contains(action), "a reader sees '{action}':\n{page}");
    }
    for path in ["/ui/environments", "/ui/webhooks"] {
        c.goto(&format!("{url}{path}")).await.expect(path);
        let shown = browser.text().await;
        for action in ["New environment", "New webhook", "Edit or delete"] {
            assert!(!shown.contains(action), "{path} shows a reader '{action}'");
        }
    }
    // Forced: the reader's own credentials, posting the form anyway.
    let forced = reqwest::Client::new()
        .post(format!("{url}/ui/environments/production/freeze"))
        .basic_auth("reader", Some("rpass"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("reason=mine&until=2099-01-01T00%3A00&csrf=x")
        .send()
        .await
        .unwrap();
    assert_eq!(forced.status(), 403);

    // A page of another site (localhost is not 127.0.0.1) posts a form to Treaty.
    sign_out(&browser).await;
    sign_in_with_token(&browser, &url, ADMIN).await;
    let port = url.rsplit(':').next().unwrap().to_owned();
    let attacker = attacker_page(&format!(
        "<form method='post' action='http://127.0.0.1:{port}/ui/environments'>\
         <input type='hidden' name='name' value='evil'><button id='go'>win a prize</button></form>"
    ))
    .await;
    c.goto(&attacker).await.expect("the other site");
    submit(&browser, "#go").await;
    let answer = browser.text().await;
    assert!(
        answer.contains("Writes from another site's pages are refused"),
        "{answer}"
    );
    let (_, listed) = server.get_json_as("/environments?name=evil", ADMIN).await;
    assert_eq!(listed["_embedded"]["environments"], json!([]));
}

pub(crate) trait AsCaller {
    async fn get_json_as(&self, path: &str, token: &str) -> (u16, serde_json::Value);
    async fn post_json_as(
        &self,
        path: &str,
        token: &str,
        body: &serde_json::Value,
    ) -> (u16, serde_json::Value);
}

impl AsCaller for TestServer {
    async fn get_json_as(&self, path: &str, token: &str) -> (u16, serde_json::Value) {
        let response = reqwest::Client::new()
            .get(format!("{}{path}", self.url))
            .bearer_auth(token)
            .header("Accept", "application/hal+json")
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or_default())
    }

    async fn post_json_as(
        &self,
        path: &str,
        token: &str,
        body: &serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let response = reqwest::Client::new()
            .post(format!("{}{path}", self.url))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or_default())
    }
}

/// Serves one HTML page on `localhost` (another site than `127.0.0.1`).
async fn attacker_page(html: &str) -> String {
    let html = html.to_owned();
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(move || {
            let html = html.clone();
            async move { axum::response::Html(html) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://localhost:{port}/")
}
