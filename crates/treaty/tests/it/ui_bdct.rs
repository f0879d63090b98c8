//! Bi-directional contracts in a real headless Chromium: a provider
//! publishes its OpenAPI document with its own test result, two consumers
//! publish pacts (one fits, one does not), all through the HTTP API; once
//! the background worker has compared them, the application, version,
//! provider contract, comparison and matrix pages show the document, the
//! pairs and each mismatch with its code next to the interaction and the
//! part of the document. Every page passes axe-core and is saved at desktop
//! and phone widths.

use std::time::{Duration, Instant};

use base64::Engine;
use fantoccini::Locator;
use serde_json::{Value, json};

use crate::browser::Browser;
use crate::support::TestServer;

fn base64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

struct Api {
    url: String,
    http: reqwest::Client,
}

impl Api {
    async fn send(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> Value {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.url))
            .header("Accept", "application/hal+json");
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("request to Treaty");
        let status = response.status();
        let body: Value = response.json().await.unwrap_or_default();
        assert!(status.is_success(), "{path}: {status} {body}");
        body
    }

    async fn publish_pact(&self, consumer: &str, version: &str, interactions: Value) {
        let pact = json!({
            "consumer": {"name": consumer}, "provider": {"name": "pets"},
            "interactions": interactions,
            "metadata": {"pactSpecification": {"version": "2.0.0"}}
        });
        self.send(
            reqwest::Method::POST,
            "/contracts/publish",
            Some(&json!({
                "pacticipantName": consumer, "pacticipantVersionNumber": version, "branch": "main",
                "contracts": [{"consumerName": consumer, "providerName": "pets", "specification": "pact",
                  "contentType": "application/json", "content": base64(&pact.to_string())}]
            })),
        )
        .await;
    }

    /// Polls the comparison until the background worker has computed it.
    async fn compared(&self, consumer: &str, version: &str) -> Value {
        let path = format!(
            "/provider-contracts/provider/pets/version/p-1/consumer/{consumer}/version/{version}/comparison"
        );
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let answer = self.send(reqwest::Method::GET, &path, None).await;
            if answer["status"] != "unknown" {
                return answer;
            }
            assert!(
                Instant::now() < deadline,
                "{consumer} {version} was not compared within a minute: {answer}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

const DOCUMENT: &str = r##"openapi: 3.0.3
info: {title: Pets, version: "1.0"}
paths:
  /pets/{id}:
    get:
      parameters:
        - {name: id, in: path, required: true, schema: {type: integer}}
      responses:
        "200":
          description: a pet
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Pet"}
components:
  schemas:
    Pet:
      type: object
      required: [id]
      properties:
        id: {type: integer}
        name: {type: string}
"##;

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
    let violations = browser.accessibility_violations().await;
    assert!(
        violations.is_empty(),
        "{name} on a phone: serious accessibility findings: {}",
        serde_json::to_string_pretty(&violations).unwrap_or_default()
    );
    c.set_window_size(1280, 900).await.expect("desktop width");
    text
}

/// Clicks what `locator` finds and waits for the page it leads to.
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
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css("html:not([data-left])"))
        .await
        .expect("the next page");
}

#[tokio::test]
async fn a_provider_contract_its_pairs_and_each_mismatch_are_shown() {
    let server = TestServer::start().await;
    let api = Api {
        url: server.url.clone(),
        http: reqwest::Client::new(),
    };
    api.send(
        reqwest::Method::POST,
        "/provider-contracts/provider/pets/publish",
        Some(&json!({
            "pacticipantVersionNumber": "p-1", "branch": "main", "tags": [],
            "contract": {
                "content": base64(DOCUMENT), "contentType": "application/yaml", "specification": "oas",
                "selfVerificationResults": {
                    "success": true, "content": base64("12 examples, 0 failures"),
                    "contentType": "text/plain", "verifier": "schemathesis", "verifierVersion": "3.19"
                }
            }
        })),
    )
    .await;
    // web fits the document (an undocumented request header is a warning);
    // mobile expects a field the document does not have and a path it
    // does not know.
    api.publish_pact(
        "web",
        "w-1",
        json!([{"description": "a request for a pet", "providerState": "a pet exists",
          "request": {"method": "GET", "path": "/pets/1", "headers": {"X-Trace": "1"}},
          "response": {"status": 200, "headers": {"Content-Type": "application/json"},
            "body": {"id": 1, "name": "Rex"}}}]),
    )
    .await;
    api.publish_pact(
        "mobile",
        "m-1",
        json!([
          {"description": "a request for a pet's colour", "providerState": "a red pet exists",
           "request": {"method": "GET", "path": "/pets/2"},
           "response": {"status": 200, "headers": {"Content-Type": "application/json"},
             "body": {"id": 2, "colour": "red"}}},
          {"description": "a request for owners",
           "request": {"method": "GET", "path": "/owners"},
           "response": {"status": 200}}]),
    )
    .await;
    let web = api.compared("web", "w-1").await;
    assert_eq!(web["comparison"]["success"], true, "{web}");
    let mobile = api.compared("mobile", "m-1").await;
    assert_eq!(mobile["comparison"]["success"], false, "{mobile}");

    let browser = Browser::start().await;
    let c = &browser.client;
    let url = &server.url;

    // The provider's application page lists its contract.
    c.goto(&format!("{url}/ui/applications/pets"))
        .await
        .expect("application");
    check(
        &browser,
        "bdct-application",
        &["Provider contracts", "p-1", "✓ passed"],
    )
    .await;
    follow(
        &browser,
        Locator::Css("a[href$='/ui/applications/pets/provider-contracts/p-1']"),
    )
    .await;

    // The contract: facts, the pairs, the document; the provider's own test
    // output once opened, in a block the keyboard reaches.
    c.find(Locator::Css("details.self-verification summary"))
        .await
        .expect("the test output's summary")
        .click()
        .await
        .expect("open the test output");
    let report = c
        .find(Locator::Css("pre.report"))
        .await
        .expect("the test output");
    assert_eq!(report.attr("tabindex").await.unwrap().as_deref(), Some("0"));
    let document = c
        .find(Locator::Css("pre.document"))
        .await
        .expect("the document");
    assert_eq!(
        document.attr("tabindex").await.unwrap().as_deref(),
        Some("0")
    );
    check(
        &browser,
        "bdct-provider-contract",
        &[
            "pets p-1: provider contract",
            "main",
            "✓ passed",
            "schemathesis 3.19",
            "12 examples, 0 failures",
            "Pacts compared with it",
            "✓ compatible",
            "✗ incompatible (2 mismatches)",
            "openapi: 3.0.3",
            "$ref: \"#/components/schemas/Pet\"",
        ],
    )
    .await;

    // The incompatible pair: errors (each with its code, the interaction and
    // the document's part) before warnings, and what would fix each.
    follow(&browser, Locator::Css("a[href$='/comparisons/mobile/m-1']")).await;
    let text = check(
        &browser,
        "bdct-comparison-incompatible",
        &[
            "mobile m-1 against pets p-1",
            "✗ incompatible (2 mismatches)",
            "response.body.incompatible",
            "request.path-or-method.unknown",
            "a request for a pet's colour",
            "a red pet exists",
            "GET /pets/2 → 200",
            "[root].interactions[0].response.body",
            "[root].paths./pets/{id}.get.responses.200",
            "a request for owners",
            "GET /owners → 200",
            "What would fix it",
            "add the operation to pets's document",
        ],
    )
    .await;
    assert!(
        text.find("Errors").unwrap() < text.find("Warnings").unwrap(),
        "{text}"
    );
    let blocks = c
        .find_all(Locator::Css("article.finding pre.code"))
        .await
        .expect("the values");
    assert!(!blocks.is_empty());
    for block in blocks {
        assert_eq!(block.attr("tabindex").await.unwrap().as_deref(), Some("0"));
    }

    // The compatible pair: no error, its warning listed apart.
    c.goto(&format!(
        "{url}/ui/applications/pets/provider-contracts/p-1/comparisons/web/w-1"
    ))
    .await
    .expect("comparison");
    let text = check(
        &browser,
        "bdct-comparison-compatible",
        &[
            "✓ compatible",
            "None: every interaction fits the document.",
            "request.header.unknown",
            "x-trace",
        ],
    )
    .await;
    assert!(
        text.find("request.header.unknown").unwrap() > text.find("Warnings").unwrap(),
        "{text}"
    );

    // The matrix of the pair leads to the comparison instead of a verification.
    c.goto(&format!("{url}/ui/integrations/pets/mobile"))
        .await
        .expect("matrix");
    check(
        &browser,
        "bdct-matrix",
        &["✗ incompatible", "(bi-directional)"],
    )
    .await;
    follow(&browser, Locator::Css("a[href$='/comparisons/mobile/m-1']")).await;
    check(
        &browser,
        "bdct-comparison-from-matrix",
        &["response.body.incompatible"],
    )
    .await;

    // The versions: the provider's links its contract, the consumer's its comparison.
    c.goto(&format!("{url}/ui/applications/pets/versions/p-1"))
        .await
        .expect("provider version");
    check(
        &browser,
        "bdct-provider-version",
        &["Provider contract", "✓ self-verification passed"],
    )
    .await;
    c.find(Locator::Css(
        "a[href$='/ui/applications/pets/provider-contracts/p-1']",
    ))
    .await
    .expect("a link to the provider contract");
    c.goto(&format!("{url}/ui/applications/mobile/versions/m-1"))
        .await
        .expect("consumer version");
    check(&browser, "bdct-consumer-version", &["incompatible"]).await;
    c.find(Locator::Css("a[href$='/comparisons/mobile/m-1']"))
        .await
        .expect("a link to the comparison");

    // A contract or comparison that does not exist is a 404 page.
    c.goto(&format!(
        "{url}/ui/applications/pets/provider-contracts/p-9"
    ))
    .await
    .unwrap();
    check(&browser, "bdct-missing", &["No such provider contract"]).await;
}
