//! The integrations page and an integration's matrix in a real headless
//! Chromium, over pacts and verifications published through the API: a
//! failing verification of a pending pact on a feature branch does not turn
//! the integration red; the main branch's result is shown apart from the
//! other branches', and the pending result is marked. Every page passes
//! axe-core and is saved at desktop and phone widths.

use base64::Engine;
use fantoccini::Locator;
use serde_json::{Value, json};

use crate::browser::Browser;
use crate::support::TestServer;

struct Api {
    url: String,
    http: reqwest::Client,
}

impl Api {
    async fn send(&self, method: reqwest::Method, path: &str, body: &Value) -> Value {
        let response = self
            .http
            .request(method, format!("{}{path}", self.url))
            .header("Accept", "application/hal+json")
            .json(body)
            .send()
            .await
            .expect("request to Treaty");
        let status = response.status();
        let body: Value = response.json().await.unwrap_or_default();
        assert!(status.is_success(), "{path}: {status} {body}");
        body
    }

    async fn publish(&self, consumer: &str, version: &str, branch: &str, path: &str) {
        let pact = json!({
            "consumer": {"name": consumer}, "provider": {"name": "orders"},
            "interactions": [{"description": format!("a request for {path}"),
              "request": {"method": "GET", "path": path}, "response": {"status": 200}}],
            "metadata": {"pactSpecification": {"version": "2.0.0"}}
        });
        self.send(
            reqwest::Method::POST,
            "/contracts/publish",
            &json!({
                "pacticipantName": consumer, "pacticipantVersionNumber": version, "branch": branch,
                "contracts": [{"consumerName": consumer, "providerName": "orders", "specification": "pact",
                  "contentType": "application/json",
                  "content": base64::engine::general_purpose::STANDARD.encode(pact.to_string())}]
            }),
        )
        .await;
    }

    /// `orders` at `version` on `branch` verifies the consumer's latest pact.
    async fn verify(&self, consumer: &str, version: &str, branch: &str, success: bool) {
        self.send(
            reqwest::Method::PUT,
            &format!("/pacticipants/orders/branches/{branch}/versions/{version}"),
            &json!({}),
        )
        .await;
        let latest = self
            .send(
                reqwest::Method::GET,
                &format!("/pacts/provider/orders/consumer/{consumer}/latest"),
                &Value::Null,
            )
            .await;
        let href = latest["_links"]["pb:publish-verification-results"]["href"]
            .as_str()
            .expect("publish link")
            .trim_start_matches(&self.url)
            .to_owned();
        self.send(
            reqwest::Method::POST,
            &href,
            &json!({"success": success, "providerApplicationVersion": version}),
        )
        .await;
    }
}

/// The page shown says what it must, axe-core finds nothing serious, and
/// it is saved at desktop and phone widths without scrolling sideways.
async fn check(browser: &Browser, name: &str, expected: &[&str]) -> String {
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
    if let Some(offenders) = browser.horizontal_overflow().await {
        panic!("{name} scrolls sideways on a phone:\n{offenders}");
    }
    c.set_window_size(1280, 900).await.expect("desktop width");
    text
}

/// The CSS classes of the elements `css` finds, one string each.
async fn classes(browser: &Browser, css: &str) -> Vec<String> {
    let mut found = Vec::new();
    for element in browser
        .client
        .find_all(Locator::Css(css))
        .await
        .expect("find")
    {
        found.push(element.attr("class").await.unwrap().unwrap_or_default());
    }
    found
}

/// Clicks what `locator` finds and waits for the page it leads to (the old
/// document is marked; the wait ends when an unmarked one is there).
async fn follow(browser: &Browser, locator: Locator<'_>) {
    let c = &browser.client;
    c.execute(
        "document.documentElement.setAttribute('data-left', '1');",
        vec![],
    )
    .await
    .expect("mark the page");
    c.find(locator)
        .await
        .expect("something to click")
        .click()
        .await
        .expect("click");
    c.wait()
        .at_most(std::time::Duration::from_secs(30))
        .for_element(Locator::Css("html:not([data-left])"))
        .await
        .expect("the next page");
}

#[tokio::test]
async fn a_pending_failure_on_a_feature_branch_leaves_the_integration_green_and_marked() {
    let server = TestServer::start().await;
    let api = Api {
        url: server.url.clone(),
        http: reqwest::Client::new(),
    };
    // web's main pact is verified by orders' main branch; then web's feature
    // branch publishes a new pact, which orders' feature branch fails: the
    // pact is pending there.
    api.publish("web", "1.0.0", "main", "/orders").await;
    api.verify("web", "o-1", "main", true).await;
    api.publish("web", "2.0.0", "feat-cancel", "/orders/1/cancel")
        .await;
    api.verify("web", "o-2", "feat-retry", false).await;
    // billing really fails on orders' main branch, after passing there.
    api.publish("billing", "1", "main", "/invoices").await;
    api.verify("billing", "o-1", "main", true).await;
    api.verify("billing", "o-3", "main", false).await;

    let browser = Browser::start().await;
    let c = &browser.client;
    let url = &server.url;

    c.goto(&format!("{url}/ui/integrations"))
        .await
        .expect("integrations");
    let text = check(
        &browser,
        "integrations",
        &[
            "Integrations",
            "main: verified",
            "other branch: 1 failing (pending)",
            "main: failed",
            "feat-cancel",
        ],
    )
    .await;
    assert!(!text.contains("web main: failed"), "{text}");
    let web_row = "tr:has(a[href$='/ui/applications/web'])";
    let badges = classes(&browser, &format!("{web_row} td:nth-child(4) .badge")).await;
    assert_eq!(badges[0], "badge good", "main decides: {badges:?}");
    assert!(badges.contains(&"badge pending".to_owned()), "{badges:?}");
    assert!(
        !badges
            .iter()
            .any(|b| b.split_whitespace().any(|c| c == "bad")),
        "{badges:?}"
    );
    let time = c
        .find(Locator::Css(&format!("{web_row} time")))
        .await
        .expect("a time");
    assert!(time.attr("datetime").await.unwrap().is_some());
    assert!(time.attr("title").await.unwrap().unwrap().ends_with("UTC"));

    // Sorting by the last verification puts the red one first; a filter
    // keeps only it.
    follow(&browser, Locator::LinkText("Last verified")).await;
    let sorted = c
        .find(Locator::Css("th[aria-sort='ascending']"))
        .await
        .expect("the sorted column says so");
    assert_eq!(sorted.text().await.unwrap().trim(), "Last verified ▲");
    let first = c
        .find(Locator::Css("table.integrations tbody tr td"))
        .await
        .unwrap();
    assert_eq!(first.text().await.unwrap(), "billing");
    c.goto(&format!("{url}/ui/integrations?status=failed"))
        .await
        .unwrap();
    check(&browser, "integrations-failed", &["1 integration."]).await;

    // Home: billing is red; web is shown apart, not red.
    c.goto(&format!("{url}/")).await.expect("home");
    let home = check(
        &browser,
        "home-branch-aware",
        &["Failing verifications", "Not failing on main"],
    )
    .await;
    let red = &home
        [home.find("Failing verifications").unwrap()..home.find("Not failing on main").unwrap()];
    assert!(
        red.contains("billing → orders") && !red.contains("web → orders"),
        "{red}"
    );

    // The network draws web's contract green.
    c.goto(&format!("{url}/ui/network")).await.expect("network");
    check(
        &browser,
        "network-branch-aware",
        &["other branch: 1 failing (pending)"],
    )
    .await;
    let edge = classes(&browser, "a.edge[aria-label^='Contract web'] path").await;
    assert_eq!(edge, ["edge-good"]);

    // web's application page: main apart from the feature branch.
    c.goto(&format!("{url}/ui/applications/web"))
        .await
        .expect("application");
    check(
        &browser,
        "application-branch-aware",
        &["main: verified", "other branch: 1 failing (pending)"],
    )
    .await;

    // The matrix of web → orders, reached from its row.
    c.goto(&format!("{url}/ui/integrations")).await.unwrap();
    follow(
        &browser,
        Locator::Css(&format!("{web_row} a[href$='/ui/integrations/orders/web']")),
    )
    .await;
    let matrix = check(
        &browser,
        "integration-matrix",
        &[
            "web → orders",
            "2.0.0",
            "feat-cancel",
            "o-2",
            "feat-retry",
            "failing (pending)",
            "verified",
        ],
    )
    .await;
    assert!(!matrix.contains("✗ failed"), "{matrix}");
    c.find(Locator::Css("#consumer_branch"))
        .await
        .unwrap()
        .send_keys("main")
        .await
        .unwrap();
    follow(&browser, Locator::Css("form.filters button")).await;
    let filtered = check(&browser, "integration-matrix-filtered", &["1.0.0"]).await;
    assert!(!filtered.contains("2.0.0"), "{filtered}");
}
