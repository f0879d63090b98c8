//! An API address opened in Chromium: the answer as a page whose links lead
//! on (`ui::api_browser`), at desktop and phone widths, with axe-core.

use fantoccini::Locator;

use crate::browser::Browser;
use crate::support::TestServer;
use crate::ui::{check_page, seed};

#[tokio::test]
async fn an_api_address_opens_as_a_page_whose_links_lead_to_other_resources() {
    let server = TestServer::start().await;
    seed(&server).await;
    let browser = Browser::start().await;
    let c = &browser.client;

    c.goto(&format!("{}/pacticipants/web", server.url))
        .await
        .expect("an API address");
    assert_eq!(c.title().await.unwrap(), "/pacticipants/web · Treaty");
    check_page(
        &browser,
        "api-pacticipant",
        &[
            "200 OK",
            "Links",
            "pb:versions",
            "The answer",
            "\"name\": \"web\"",
        ],
    )
    .await;

    // Follow the versions link from the links table to another resource.
    let versions = format!("{}/pacticipants/web/versions", server.url);
    c.find(Locator::Css(&format!(
        "table.api-links a[href='{versions}']"
    )))
    .await
    .expect("the versions link in the links table")
    .click()
    .await
    .expect("click");
    assert_eq!(c.current_url().await.unwrap().as_str(), versions);
    let list = check_page(
        &browser,
        "api-versions",
        &["/pacticipants/web/versions", "Embedded resources", "1.2.0"],
    )
    .await;
    assert!(list.contains("checkout-v2"), "{list}");

    // From the JSON itself: an address in a string is a link too.
    c.find(Locator::Css(&format!(
        "pre.api-json a[href='{}/pacticipants/web/versions/1.2.0']",
        server.url
    )))
    .await
    .expect("the version's address in the JSON")
    .click()
    .await
    .expect("click");
    check_page(
        &browser,
        "api-version",
        &["/pacticipants/web/versions/1.2.0", "200 OK"],
    )
    .await;

    // An error: the same status, its problem shown.
    c.goto(&format!("{}/pacticipants/nobody", server.url))
        .await
        .expect("a missing resource");
    check_page(&browser, "api-not-found", &["404 Not Found", "nobody"]).await;

    // A phone: nothing wider than the screen; the JSON scrolls inside itself.
    c.set_window_size(390, 844).await.expect("resize");
    for path in [
        "/pacticipants/web",
        "/pacticipants/web/versions",
        "/environments",
    ] {
        c.goto(&format!("{}{path}", server.url))
            .await
            .expect("page");
        if let Some(offenders) = browser.horizontal_overflow().await {
            panic!("{path} is wider than a phone:\n{offenders}");
        }
    }
    check_page(
        &browser,
        "api-environments-phone",
        &["Embedded resources", "production"],
    )
    .await;
    c.clone().close().await.expect("close the browser");
}
