//! The web UI in a real headless Chromium, against a Treaty filled with a
//! small but realistic history: five applications, contracts that changed,
//! a failing verification, deployments to test and production (one failed,
//! one with an open incident), a release, and a production policy.

use std::time::Instant;

use base64::Engine;
use fantoccini::Locator;
use serde_json::{Value, json};

use crate::browser::{Browser, screenshot_dir};
use crate::support::TestServer;

struct Api {
    url: String,
    http: reqwest::Client,
}

impl Api {
    async fn send(&self, method: reqwest::Method, path: &str, body: &Value) -> Value {
        let response = self
            .http
            .request(method.clone(), format!("{}{path}", self.url))
            .header("Accept", "application/hal+json")
            .json(body)
            .send()
            .await
            .expect("request to Treaty");
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        assert!(status.is_success(), "{method} {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    async fn publish(
        &self,
        consumer: &str,
        version: &str,
        branch: &str,
        pacts: &[(&str, &[&str])],
    ) {
        let contracts: Vec<Value> = pacts
            .iter()
            .map(|(provider, paths)| {
                let pact = json!({
                    "consumer": {"name": consumer},
                    "provider": {"name": provider},
                    "interactions": paths.iter().map(|p| json!({
                        "description": format!("a request for {p}"),
                        "providerState": format!("{p} exists"),
                        "request": {"method": "GET", "path": p, "headers": {"Accept": "application/json"}},
                        "response": {"status": 200, "body": {"path": p}}
                    })).collect::<Vec<_>>(),
                    "metadata": {"pactSpecification": {"version": "2.0.0"}}
                });
                json!({
                    "consumerName": consumer, "providerName": provider,
                    "specification": "pact", "contentType": "application/json",
                    "content": base64::engine::general_purpose::STANDARD.encode(pact.to_string()),
                })
            })
            .collect();
        self.send(
            reqwest::Method::POST,
            "/contracts/publish",
            &json!({"pacticipantName": consumer, "pacticipantVersionNumber": version,
                    "branch": branch, "contracts": contracts}),
        )
        .await;
    }

    async fn verify(
        &self,
        consumer: &str,
        consumer_version: &str,
        provider: &str,
        provider_version: &str,
        success: bool,
    ) {
        let pact = self
            .send(
                reqwest::Method::GET,
                &format!(
                    "/pacts/provider/{provider}/consumer/{consumer}/version/{consumer_version}"
                ),
                &Value::Null,
            )
            .await;
        let href = pact["_links"]["pb:publish-verification-results"]["href"]
            .as_str()
            .expect("publish link")
            .trim_start_matches(&self.url)
            .to_owned();
        self.send(
            reqwest::Method::POST,
            &href,
            &json!({"success": success, "providerApplicationVersion": provider_version}),
        )
        .await;
    }

    /// A deployment through the ledger: started, then completed or failed.
    async fn deploy(
        &self,
        application: &str,
        version: &str,
        environment: &str,
        outcome: &str,
    ) -> i64 {
        let event = |status: &str| {
            json!({"product_name": application, "version": version, "environment_name": environment,
                   "status": status, "deployed_by": "ci-bot", "scm_branch": "main",
                   "scm_sha": "4f2c9e1d", "build_url": "https://ci.example.com/runs/42",
                   "extra_metadata": {"strategy": "rolling"}})
        };
        self.send(
            reqwest::Method::POST,
            "/deployment-events",
            &event("started"),
        )
        .await;
        let done = self
            .send(reqwest::Method::POST, "/deployment-events", &event(outcome))
            .await;
        done["id"].as_i64().expect("a deployment id")
    }
}

/// Fills Treaty through its API and returns the id of the deployment with an incident.
pub(crate) async fn seed(server: &TestServer) -> i64 {
    let api = Api {
        url: server.url.clone(),
        http: reqwest::Client::new(),
    };
    for (name, display, production) in [("test", "Test", false), ("production", "Production", true)]
    {
        api.send(
            reqwest::Method::POST,
            "/environments",
            &json!({"name": name, "displayName": display, "production": production}),
        )
        .await;
    }
    api.publish(
        "web",
        "1.0.0",
        "main",
        &[("orders", &["/orders"]), ("accounts", &["/me"])],
    )
    .await;
    api.publish(
        "web",
        "1.1.0",
        "main",
        &[
            ("orders", &["/orders", "/orders/1"]),
            ("accounts", &["/me"]),
        ],
    )
    .await;
    api.publish(
        "web",
        "1.2.0",
        "checkout-v2",
        &[
            ("orders", &["/orders", "/orders/1", "/orders/1/cancel"]),
            ("accounts", &["/me"]),
        ],
    )
    .await;
    api.publish("mobile", "5.0.0", "main", &[("orders", &["/orders"])])
        .await;
    api.publish("orders", "2.0.0", "main", &[("payments", &["/payments"])])
        .await;
    api.publish(
        "orders",
        "2.1.0",
        "main",
        &[("payments", &["/payments", "/refunds"])],
    )
    .await;

    api.verify("web", "1.0.0", "orders", "2.0.0", true).await;
    api.verify("web", "1.1.0", "orders", "2.1.0", true).await;
    api.verify("web", "1.2.0", "orders", "2.1.0", false).await;
    api.verify("web", "1.0.0", "accounts", "4.0.0", true).await;
    api.verify("mobile", "5.0.0", "orders", "2.0.0", true).await;
    api.verify("mobile", "5.0.0", "orders", "2.1.0", true).await;
    api.verify("orders", "2.0.0", "payments", "3.0.0", true)
        .await;
    api.verify("orders", "2.1.0", "payments", "3.0.0", true)
        .await;

    for environment in ["test", "production"] {
        api.deploy("payments", "3.0.0", environment, "completed")
            .await;
        api.deploy("accounts", "4.0.0", environment, "completed")
            .await;
    }
    api.deploy("orders", "2.0.0", "production", "completed")
        .await;
    let with_incident = api.deploy("orders", "2.1.0", "test", "completed").await;
    api.deploy("web", "1.0.0", "production", "completed").await;
    api.deploy("web", "1.1.0", "test", "completed").await;
    api.deploy("web", "1.2.0", "test", "failed").await;
    api.send(
        reqwest::Method::POST,
        &format!("/deployments/{with_incident}/incidents"),
        &json!({"title": "refunds time out", "severity": "sev2"}),
    )
    .await;

    let environments = api
        .send(reqwest::Method::GET, "/environments", &Value::Null)
        .await;
    let production = environments["_embedded"]["environments"]
        .as_array()
        .and_then(|list| list.iter().find(|e| e["name"] == "production"))
        .and_then(|e| e["uuid"].as_str())
        .expect("production")
        .to_owned();
    api.send(
        reqwest::Method::POST,
        &format!("/pacticipants/mobile/versions/5.0.0/released-versions/environment/{production}"),
        &json!({}),
    )
    .await;
    api.send(
        reqwest::Method::PUT,
        "/policies/production",
        &json!({"rules": [{"rule": "contract-compatibility"}, {"rule": "promotion", "from": "test"},
            {"rule": "freeze", "allow_emergency": true, "windows": [{"reason": "year-end freeze",
                "start": (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339(),
                "end": (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339()}]}]}),
    )
    .await;
    with_incident
}

/// Checks what every page shows of a page loaded in the browser, then saves its screenshot.
pub(crate) async fn check_page(browser: &Browser, name: &str, expected: &[&str]) -> String {
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
    text
}

/// Every page of the UI on the seeded data, one of each kind.
fn every_page(deployment: i64) -> Vec<String> {
    let mut pages: Vec<String> = [
        "/",
        "/ui/applications/web",
        "/ui/applications/web/versions/1.2.0",
        "/ui/environments/production",
        "/ui/network",
        "/ui/contracts/orders/web?version=1.2.0&compare=1.0.0",
        "/ui/deployments",
    ]
    .map(str::to_owned)
    .to_vec();
    pages.push(format!("/ui/deployments/{deployment}"));
    pages
}

/// `/ui/applications/web/versions/1.2.0` -> `phone-ui-applications-web-versions-1-2-0`.
fn phone_screenshot_name(path: &str) -> String {
    let path = path.split('?').next().unwrap_or(path);
    let slug: String = path
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("phone{}", slug.trim_end_matches('-'))
}

pub(crate) async fn click_link(browser: &Browser, text: &str) {
    browser
        .client
        .find(Locator::LinkText(text))
        .await
        .unwrap_or_else(|e| panic!("no link '{text}': {e}"))
        .click()
        .await
        .expect("click");
}

#[tokio::test]
async fn every_page_in_chromium_from_home_to_a_versions_can_i_deploy_explanation() {
    let server = TestServer::start().await;
    let deployment_with_incident = seed(&server).await;
    let browser = Browser::start().await;
    let c = &browser.client;

    // Home: what runs where, coloured by compatibility, with drift.
    c.goto(&format!("{}/", server.url)).await.expect("home");
    assert_eq!(c.title().await.unwrap(), "What runs where · Treaty");
    let home = check_page(
        &browser,
        "home",
        &[
            "What runs where",
            "Recent deployments",
            "Failing verifications",
        ],
    )
    .await;
    assert!(home.contains("1.1.0") && home.contains("1.0.0"), "{home}");
    assert!(
        home.contains("drift: 2 versions across 2 environments"),
        "web and orders drift:\n{home}"
    );
    assert!(home.contains("✓ compatible"), "{home}");
    assert!(
        home.contains("released"),
        "mobile's release is shown:\n{home}"
    );
    // web 1.2.0's new pact (branch checkout-v2) fails, but it was pending
    // for orders' main branch: shown apart, not red.
    assert!(
        home.contains("web → orders: ○ main: failing (pending)"),
        "{home}"
    );
    let web_in_test = c
        .find(Locator::Css(
            "tr:has(a[href$='/ui/applications/web']) td:nth-child(2) .badge.good",
        ))
        .await
        .expect("web's test cell is marked compatible");
    assert_eq!(web_in_test.text().await.unwrap(), "✓ compatible");

    // Click through: application, then its feature-branch version.
    click_link(&browser, "web").await;
    let application = check_page(
        &browser,
        "application",
        &[
            "Where it runs now",
            "Versions",
            "Integrations",
            "Deployment history",
            "Lead time for changes",
        ],
    )
    .await;
    assert!(
        application.contains("checkout-v2"),
        "branches shown:\n{application}"
    );
    assert!(application.contains("web consumes orders"), "{application}");
    assert!(
        c.find(Locator::Css("svg.chart rect.bar-good"))
            .await
            .is_ok(),
        "a DORA chart is drawn"
    );

    click_link(&browser, "1.2.0").await;
    let version = check_page(
        &browser,
        "version",
        &[
            "Can I deploy web 1.2.0?",
            "What would fix it",
            "Pacts it published",
        ],
    )
    .await;
    // The whole preflight verdict per environment: test only reports the
    // contracts (its default policy), production's policy blocks 1.2.0.
    assert!(
        version.contains("To Test: ? Allowed, but contract-compatibility fails (report-only)"),
        "1.2.0 failed verification by orders 2.1.0, which runs in test:\n{version}"
    );
    assert!(
        version.contains("Contracts: can-i-deploy says ✗ No"),
        "{version}"
    );
    assert!(version.contains("orders"), "{version}");
    let answer = c
        .find(Locator::Css("section.verdict.bad .answer"))
        .await
        .expect("a refusal is marked bad");
    assert_eq!(answer.text().await.unwrap(), "Blocked (freeze)");

    // The contract, then a diff between two versions of it.
    click_link(&browser, "Network").await;
    let network = check_page(&browser, "network", &["Network", "Contracts"]).await;
    assert!(
        network.contains("main: failing (pending) by orders 2.1.0"),
        "{network}"
    );
    assert!(
        c.find(Locator::Css("svg a.edge path.edge-pending"))
            .await
            .is_ok(),
        "the contract failing as pending is a pending edge, not red"
    );
    assert!(
        c.find(Locator::Css("svg a.edge path.edge-good"))
            .await
            .is_ok()
    );

    c.goto(&format!(
        "{}/ui/contracts/orders/web?version=1.2.0&compare=1.0.0",
        server.url
    ))
    .await
    .expect("contract");
    let contract = check_page(
        &browser,
        "contract",
        &[
            "web → orders",
            "3 interactions",
            "a request for /orders/1/cancel",
            "Changes from 1.0.0 to 1.2.0",
        ],
    )
    .await;
    assert!(contract.contains("Given /orders exists"), "{contract}");
    let added = c
        .find_all(Locator::Css("pre.diff .added"))
        .await
        .expect("diff lines");
    assert!(!added.is_empty(), "the diff shows added lines");

    // An environment with its policy and timeline.
    c.goto(&format!("{}/ui/environments/production", server.url))
        .await
        .expect("environment");
    check_page(
        &browser,
        "environment",
        &[
            "What runs here now",
            "Contract compatibility: can-i-deploy must say yes for the version here (enforced)",
            "Promotion: the version completes a deployment to test first (enforced)",
            "Deployments are frozen (year-end freeze) until",
            "A marked emergency deployment may go ahead.",
            "Deployment timeline",
            "payments",
            "runs now",
        ],
    )
    .await;

    // The ledger, filtered, and one deployment with its events and evidence.
    c.goto(&format!("{}/ui/deployments", server.url))
        .await
        .expect("deployments");
    c.find(Locator::Css("#status"))
        .await
        .expect("status filter")
        .select_by_value("failed")
        .await
        .expect("select failed");
    c.find(Locator::Css("form.filters button"))
        .await
        .expect("filter button")
        .click()
        .await
        .expect("filter");
    c.wait()
        .for_element(Locator::XPath(
            "//p[@id='count'][starts-with(., '1 deployment,')]",
        ))
        .await
        .expect("the filtered list");
    let failed = check_page(&browser, "deployments", &["1 deployment, page 1."]).await;
    assert!(
        failed.contains("✗ failed") && !failed.contains("✓ completed"),
        "{failed}"
    );

    c.goto(&format!(
        "{}/ui/deployments/{deployment_with_incident}",
        server.url
    ))
    .await
    .expect("deployment");
    let deployment = check_page(
        &browser,
        "deployment",
        &[
            "Events",
            "refunds time out",
            "still open",
            "Evidence kept when it began",
            "ci-bot",
            "4f2c9e1d",
        ],
    )
    .await;
    assert!(
        deployment.contains("Can-i-deploy answered ✓ yes"),
        "the evidence is read as the API keeps it:\n{deployment}"
    );
    assert!(
        deployment.contains("The gates' verdict") && deployment.contains("✓ allowed"),
        "{deployment}"
    );

    // A phone-sized screen: every page fits its width (tables scroll inside).
    c.set_window_size(390, 844).await.expect("resize");
    for path in every_page(deployment_with_incident) {
        c.goto(&format!("{}{path}", server.url))
            .await
            .expect("page");
        if let Some(offenders) = browser.horizontal_overflow().await {
            panic!("{path} is wider than a phone:\n{offenders}");
        }
        // axe-core at this width too: what a phone shows is checked, and kept to be looked at.
        let violations = browser.accessibility_violations().await;
        assert!(
            violations.is_empty(),
            "{path} on a phone: serious accessibility findings: {}",
            serde_json::to_string_pretty(&violations).unwrap_or_default()
        );
        browser.screenshot(&phone_screenshot_name(&path)).await;
    }
    c.goto(&format!("{}/", server.url)).await.expect("home");
    browser.screenshot("home-phone").await;

    // The keyboard: the first Tab reaches the skip link, which moves focus to the content.
    c.find(Locator::Css("body"))
        .await
        .expect("body")
        .send_keys("\u{E004}")
        .await
        .expect("tab");
    let focused = c.active_element().await.expect("focus");
    assert_eq!(focused.text().await.unwrap(), "Skip to content");
    focused.send_keys("\u{E007}").await.expect("enter");
    let focused_id = c
        .execute("return document.activeElement.id;", vec![])
        .await
        .expect("focus after skip");
    assert_eq!(focused_id, json!("main"));

    println!("UI screenshots written to {}", screenshot_dir().display());
    c.clone().close().await.expect("close the browser");
}

/// What each page costs to render on this data set, printed (never asserted).
#[tokio::test]
async fn page_render_times_are_printed() {
    let server = TestServer::start().await;
    let deployment = seed(&server).await;
    let http = reqwest::Client::new();
    for path in every_page(deployment) {
        let mut times = Vec::new();
        for _ in 0..20 {
            let started = Instant::now();
            let response = http
                .get(format!("{}{path}", server.url))
                .header("Accept", "text/html")
                .send()
                .await
                .expect("page");
            assert_eq!(response.status(), 200, "{path}");
            let body = response.text().await.expect("body");
            assert!(body.starts_with("<!doctype html>"), "{path}");
            times.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        times.sort_by(f64::total_cmp);
        println!(
            "ui page {path}: median {:.1} ms, max {:.1} ms",
            times[10], times[19]
        );
    }
}

/// Under `--auth basic`, Chromium asks for (here: sends) the user's password
/// only when the challenge is one it can parse: one `WWW-Authenticate`
/// header per scheme, not `Basic realm="Treaty", Bearer` in one.
#[tokio::test]
async fn chromium_signs_in_with_basic_auth_when_challenged() {
    use secrecy::SecretString;
    let server = TestServer::start_with(treaty_server::ServerConfig {
        auth: treaty_server::access::AuthConfig {
            basic_read_only: Some(("reader".into(), SecretString::from("rpass"))),
            tokens: true,
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let browser = Browser::start().await;
    let with_credentials = server.url.replacen("http://", "http://reader:rpass@", 1);
    browser
        .client
        .goto(&format!("{with_credentials}/ui"))
        .await
        .expect("home");
    assert_eq!(
        browser.client.title().await.unwrap(),
        "What runs where · Treaty",
        "{}",
        browser.text().await
    );
}

/// Runs a script in the page and returns what it gives, as JSON.
async fn measure(browser: &Browser, script: &str) -> Value {
    browser
        .client
        .execute(script, vec![])
        .await
        .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
}

/// The headers of the home page's "Recent deployments" table that are not
/// wholly readable: cut inside their cell, or outside what their scrolling
/// box shows.
const CLIPPED_RECENT_HEADERS: &str = "\
    return [...document.querySelectorAll('section[aria-labelledby=recent] thead th')].filter(th => {\
      const box = (th.closest('.scroll') || th.closest('table')).getBoundingClientRect();\
      const own = th.getBoundingClientRect();\
      return th.scrollWidth > th.clientWidth + 1 || own.right > box.right + 1 || own.left < box.left - 1;\
    }).map(th => th.textContent.trim() + ' (' + th.clientWidth + ' of ' + th.scrollWidth + ')');";

/// The environments no link on the page leads to within the window's width
/// (without scrolling sideways inside a table).
const UNREACHABLE_ENVIRONMENTS: &str = "\
    const names = arguments[0];\
    const width = document.documentElement.clientWidth;\
    const visible = a => { const r = a.getBoundingClientRect(); \
      const box = a.closest('.scroll'); const b = box ? box.getBoundingClientRect() : {left: 0, right: width};\
      return r.width > 0 && r.left >= Math.max(0, b.left) - 1 && r.right <= Math.min(width, b.right) + 1; };\
    return names.filter(n => ![...document.querySelectorAll('main a')]\
      .some(a => a.getAttribute('href').endsWith('/ui/environments/' + n) && visible(a)));";

#[tokio::test]
async fn the_dora_chart_reads_as_text_recent_deployments_fit_and_a_phone_reaches_every_environment()
{
    let server = TestServer::start().await;
    seed(&server).await;
    // More environments than a phone's width holds as columns.
    let http = reqwest::Client::new();
    for name in ["development", "staging", "performance"] {
        let response = http
            .post(format!("{}/environments", server.url))
            .header("Accept", "application/hal+json")
            .json(&json!({"name": name, "production": false}))
            .send()
            .await
            .expect("create environment");
        assert!(response.status().is_success());
    }
    let environments = [
        "test",
        "production",
        "development",
        "staging",
        "performance",
    ];
    let browser = Browser::start().await;
    let c = &browser.client;
    let mut wrong = Vec::new();

    // The DORA chart: axes with dates and counts, a title per day, a table twin.
    c.goto(&format!("{}/ui/applications/web", server.url))
        .await
        .expect("application");
    let chart = measure(
        &browser,
        "const svg = document.querySelector('svg.chart');\
         return { dates: [...svg.querySelectorAll('.axis-x text')].map(t => t.textContent),\
                  counts: [...svg.querySelectorAll('.axis-y text')].map(t => t.textContent),\
                  titles: [...svg.querySelectorAll('g.day > title')].map(t => t.textContent),\
                  rows: [...document.querySelectorAll('details.chart-table tbody tr')].map(r => r.textContent.trim().replace(/\\s+/g, ' ')) };",
    )
    .await;
    let today = chrono::Utc::now().format("%m-%d").to_string();
    let dates = chart["dates"].as_array().cloned().unwrap_or_default();
    if dates.len() < 4 || !dates.iter().any(|d| d.as_str() == Some(today.as_str())) {
        wrong.push(format!(
            "the x axis names dates, today's ({today}) too: {dates:?}"
        ));
    }
    let counts = chart["counts"].as_array().cloned().unwrap_or_default();
    if counts.first().and_then(Value::as_str) != Some("0") || counts.len() < 2 {
        wrong.push(format!("the y axis counts from 0: {counts:?}"));
    }
    let titles = chart["titles"].as_array().cloned().unwrap_or_default();
    let today_full = chrono::Utc::now().format("%Y-%m-%d").to_string();
    if titles.len() != 30
        || !titles
            .iter()
            .any(|t| t.as_str() == Some(&format!("{today_full}: 1 completed, 0 failed")))
    {
        wrong.push(format!(
            "a title for each of 30 days, web deployed to production once today: {titles:?}"
        ));
    }
    let rows = chart["rows"].as_array().cloned().unwrap_or_default();
    if rows.len() != 30
        || !rows.iter().any(|r| {
            r.as_str()
                .is_some_and(|r| r.starts_with(&today_full) && r.contains('1'))
        })
    {
        wrong.push(format!("the same per day as a table: {rows:?}"));
    }
    if !browser.accessibility_violations().await.is_empty() {
        wrong.push("the application page passes axe".to_owned());
    }
    browser.screenshot("application-dora-chart").await;

    // Home's recent deployments: every header readable at desktop widths.
    for (width, height) in [(1280, 900), (1400, 900), (1600, 900), (390, 844)] {
        c.set_window_size(width, height).await.expect("resize");
        c.goto(&format!("{}/", server.url)).await.expect("home");
        let clipped = measure(&browser, CLIPPED_RECENT_HEADERS).await;
        if width > 390 && clipped.as_array().is_some_and(|c| !c.is_empty()) {
            wrong.push(format!(
                "at {width} px, recent deployments' headers are cut: {clipped}"
            ));
        }
        let unreachable = browser
            .client
            .execute(UNREACHABLE_ENVIRONMENTS, vec![json!(environments)])
            .await
            .expect("reachability");
        if unreachable.as_array().is_some_and(|u| !u.is_empty()) {
            wrong.push(format!(
                "at {width} px, home has no visible link to {unreachable}"
            ));
        }
        browser.screenshot(&format!("home-{width}")).await;
    }
    // A phone: the matrix scrolls inside itself, and says so.
    let cue = measure(
        &browser,
        "const box = document.querySelector('.scroll:has(table.where)');\
         return box && box.scrollWidth > box.clientWidth && getComputedStyle(box).backgroundImage !== 'none';",
    )
    .await;
    if cue != json!(true) {
        wrong.push("on a phone the matrix scrolls inside itself with a visible cue".to_owned());
    }
    // Everywhere else that lists environments, on a phone.
    for path in ["/ui/environments", "/ui/deployments"] {
        c.goto(&format!("{}{path}", server.url))
            .await
            .expect("page");
        let unreachable = browser
            .client
            .execute(UNREACHABLE_ENVIRONMENTS, vec![json!(environments)])
            .await
            .expect("reachability");
        if path == "/ui/environments" && unreachable.as_array().is_some_and(|u| !u.is_empty()) {
            wrong.push(format!(
                "on a phone, {path} has no visible link to {unreachable}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
