//! Managing Treaty from the web UI in a real headless Chromium (issue 26):
//! an admin reorders the environments and home's columns follow, edits a
//! webhook and the API shows the change, previews a policy change (the
//! verdict changes, nothing is saved) and saves it, creates a token and
//! copies it with the Copy button (Treaty's own script, under its CSP).
//! Every page passes axe-core and is saved at desktop and phone widths, as
//! in `ui_actions.rs`, whose helpers these are.

use fantoccini::Locator;
use serde_json::json;

use crate::browser::Browser;
use crate::support::receiver;
use crate::ui_actions::{ADMIN, AsCaller, check, fill, server, sign_in_with_token, submit};

/// Home's environment columns, left to right.
async fn home_columns(browser: &Browser, url: &str) -> Vec<String> {
    browser
        .client
        .goto(&format!("{url}/ui"))
        .await
        .expect("home");
    let columns = browser
        .client
        .execute(
            "return [...document.querySelectorAll('thead th a')].map(a => a.textContent.trim());",
            vec![],
        )
        .await
        .expect("columns");
    serde_json::from_value(columns).expect("names")
}

async fn put_json(url: &str, path: &str, body: &serde_json::Value) -> u16 {
    reqwest::Client::new()
        .put(format!("{url}{path}"))
        .bearer_auth(ADMIN)
        .json(body)
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}

#[tokio::test]
async fn an_admin_reorders_environments_edits_a_webhook_previews_and_saves_rules_and_copies_a_token()
 {
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
    assert!(put_json(&url, "/pacticipants/web/versions/1.0.0", &json!({})).await < 300);
    let (status, body) = server
        .post_json_as(
            "/deployment-events",
            ADMIN,
            &json!({"product_name": "web", "version": "1.0.0", "environment_name": "test", "status": "completed"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");

    let browser = Browser::start().await;
    let c = &browser.client;
    sign_in_with_token(&browser, &url, ADMIN).await;

    // Reorder: production first, and home's columns follow.
    assert_eq!(home_columns(&browser, &url).await, ["Test", "Production"]);
    c.goto(&format!("{url}/ui/environments"))
        .await
        .expect("environments");
    check(
        &browser,
        "environments-order",
        &["In pipeline order", "Move production earlier"],
    )
    .await;
    submit(
        &browser,
        "form[action$='/ui/environments/production/move'] button[value='up']",
    )
    .await;
    assert_eq!(home_columns(&browser, &url).await, ["Production", "Test"]);
    let (_, order) = server.get_json_as("/environments/order", ADMIN).await;
    assert_eq!(order["environments"], json!(["production", "test"]));

    // Edit a webhook; the API shows the change.
    let (hook_url, _received) = receiver().await;
    let (status, hook) = server
        .post_json_as(
            "/webhooks",
            ADMIN,
            &json!({"description": "Tell the team",
                    "events": [{"name": "contract_published"}],
                    "request": {"method": "POST", "url": hook_url,
                                "headers": {"Content-Type": "application/json", "X-Api-Key": "k-123456789"}}}),
        )
        .await;
    assert_eq!(status, 201, "{hook}");
    let uuid = hook["uuid"].as_str().unwrap().to_owned();
    c.goto(&format!("{url}/ui/webhooks/{uuid}"))
        .await
        .expect("webhook");
    let page = check(
        &browser,
        "webhook-edit",
        &["Edit", "Events that send it", "Template variables"],
    )
    .await;
    assert!(!page.contains("k-123456789"), "the key is never shown");
    fill(&browser, "#hook-description", "Tell the whole team").await;
    submit(
        &browser,
        &format!("form[action$='/ui/webhooks/{uuid}'] button[type='submit']"),
    )
    .await;
    let (_, edited) = server
        .get_json_as(&format!("/webhooks/{uuid}"), ADMIN)
        .await;
    assert_eq!(edited["description"], "Tell the whole team", "{edited}");
    assert_eq!(edited["request"]["headers"]["x-api-key"], "**********");

    // Preview a freeze on production: the verdict changes, nothing is saved.
    c.goto(&format!("{url}/ui/environments/production"))
        .await
        .expect("production");
    check(
        &browser,
        "policy-form",
        &["Edit the rules", "Preview", "Save rules"],
    )
    .await;
    let windows = json!([{
        "start": (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339(),
        "end": (chrono::Utc::now() + chrono::Duration::hours(2)).to_rfc3339(),
        "reason": "release party"
    }])
    .to_string();
    fill(&browser, "#policy-freeze-windows", &windows).await;
    submit(&browser, "form.policy-form button[formaction]").await;
    let preview = check(
        &browser,
        "policy-preview",
        &["Preview: could each version", "web", "Allowed", "Blocked"],
    )
    .await;
    assert!(preview.contains("release party"), "{preview}");
    let (_, policy) = server.get_json_as("/policies/production", ADMIN).await;
    assert_eq!(policy["source"], "default", "a preview saves nothing");
    submit(&browser, "form.policy-form button:not([formaction])").await;
    let (_, policy) = server.get_json_as("/policies/production", ADMIN).await;
    assert_eq!(policy["source"], "environment", "{policy}");
    assert!(
        policy["rules"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["rule"] == "freeze"),
        "{policy}"
    );
    assert!(browser.text().await.contains("Deployments are frozen"));

    // A token, copied with the Copy button.
    c.goto(&format!("{url}/ui/tokens")).await.expect("tokens");
    fill(&browser, "#token-name", "ci-copy").await;
    submit(&browser, "form[action$='/ui/tokens'] button").await;
    check(&browser, "token-copy", &["Token ci-copy created", "Copy"]).await;
    let copy = c
        .find(Locator::Css("button[data-copy]"))
        .await
        .expect("the Copy button");
    assert!(copy.is_displayed().await.unwrap(), "the script shows it");
    copy.click().await.expect("click Copy");
    c.wait()
        .at_most(std::time::Duration::from_secs(10))
        .for_element(Locator::XPath("//button[@data-copy][text()='Copied']"))
        .await
        .expect("the button says Copied");
    let token = c
        .find(Locator::Css("#new-token"))
        .await
        .expect("the token field")
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default();
    let (status, _) = server.get_json_as("/environments", &token).await;
    assert_eq!(status, 200, "the token in the field works");
}
