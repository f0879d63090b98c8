//! A browser opening an API address gets a page to read with links to follow
//! (`ui::api_browser`); API clients get exactly the bytes they got before.

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use secrecy::SecretString;
use serde_json::json;
use tower::ServiceExt;
use treaty_server::ServerConfig;
use treaty_server::access::AuthConfig;

use crate::support::{BASE, TestApp, pact};

/// What Chromium sends when it opens an address.
const BROWSER: &str =
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";
/// The UI's policy: its stylesheet, inline SVG, no script.
const UI_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    text: String,
}

impl Answer {
    fn header(&self, name: header::HeaderName) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    fn is_page(&self) -> bool {
        self.header(header::CONTENT_TYPE).starts_with("text/html")
            && self.text.starts_with("<!doctype html>")
    }
}

async fn get(app: &TestApp, path: &str, accept: Option<&str>, cookie: Option<&str>) -> Answer {
    let mut request = Request::get(path);
    if let Some(accept) = accept {
        request = request.header(header::ACCEPT, accept);
    }
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    send(app, request.body(Body::empty()).unwrap()).await
}

async fn send(app: &TestApp, request: Request<Body>) -> Answer {
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

/// Two applications with a verified contract between them.
async fn seeded() -> TestApp {
    let app = TestApp::new().await;
    let published = app
        .publish(
            "Foo",
            "1.0.0",
            Some("main"),
            &[],
            &[("Bar", pact("Foo", "Bar", &["/a"]))],
        )
        .await;
    assert_eq!(published.status, StatusCode::OK, "{}", published.text);
    let verified = app.verify("Foo", "Bar", "2.0.0", true).await;
    assert!(verified.status.is_success(), "{}", verified.text);
    app
}

#[tokio::test]
async fn a_browser_gets_an_api_answer_as_a_page_whose_links_lead_on() {
    let app = seeded().await;
    let page = get(&app, "/pacticipants/Foo", Some(BROWSER), None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.is_page(), "{}", page.text);
    assert_eq!(page.header(header::CONTENT_SECURITY_POLICY), UI_POLICY);
    assert!(page.header(header::VARY).contains("Accept"));
    assert_eq!(page.header(header::CACHE_CONTROL), "no-store");
    // The layout's header, the status, the links as a table, the JSON laid out.
    assert!(
        page.text.contains("<header class=\"top\">"),
        "{}",
        page.text
    );
    assert!(page.text.contains("200 OK"));
    assert!(
        page.text.contains("<table class=\"api-links\">"),
        "{}",
        page.text
    );
    assert!(
        page.text.contains("<td><code>pb:versions</code></td>"),
        "{}",
        page.text
    );
    assert!(
        page.text
            .contains(&format!("<a href=\"{BASE}/pacticipants/Foo/versions\">")),
        "a link of this server is one to follow:\n{}",
        page.text
    );
    assert!(
        page.text
            .contains("&quot;mainBranch&quot;: &quot;main&quot;")
            || page.text.contains("&#34;mainBranch&#34;: &#34;main&#34;"),
        "the JSON itself, escaped:\n{}",
        page.text
    );
    assert!(!page.text.contains("<script"), "no script");

    // A list: its embedded resources, each a heading that links to it.
    let list = get(&app, "/pacticipants", Some(BROWSER), None).await;
    assert!(list.is_page(), "{}", list.text);
    assert!(list.text.contains("Embedded resources"), "{}", list.text);
    assert!(
        list.text.contains(&format!(
            "<h4><a href=\"{BASE}/pacticipants/Bar\">Bar</a></h4>"
        )),
        "{}",
        list.text
    );

    // The matrix and a version: other shapes, the same treatment.
    for path in [
        "/matrix?q[][pacticipant]=Foo&q[][version]=1.0.0&latestby=cvp",
        "/pacticipants/Bar/versions/2.0.0",
        "/pacts/provider/Bar/consumer/Foo/latest/verification-results",
    ] {
        let page = get(&app, path, Some(BROWSER), None).await;
        assert!(page.is_page(), "{path}: {} {}", page.status, page.text);
    }
}

#[tokio::test]
async fn an_error_is_a_page_with_the_same_status_and_its_problem() {
    let app = seeded().await;
    let missing = get(&app, "/pacticipants/Nope", Some(BROWSER), None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.is_page(), "{}", missing.text);
    assert!(missing.text.contains("404 Not Found"), "{}", missing.text);
    assert!(
        missing.text.contains("<section class=\"problem\""),
        "the problem document's title and detail are shown:\n{}",
        missing.text
    );
    let bad = get(&app, "/matrix?latestby=nonsense", Some(BROWSER), None).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);
    assert!(bad.is_page() && bad.text.contains("400 Bad Request"));
}

/// Every date-time in a JSON text as `[time]`: the rest must be byte-identical.
fn without_times(text: &str) -> String {
    let bytes = text.as_bytes();
    let shape = b"dddd-dd-ddTdd:dd:dd";
    let mut out = String::new();
    let mut i = 0;
    while i < bytes.len() {
        let fits = bytes.len() - i >= shape.len()
            && shape.iter().zip(&bytes[i..]).all(|(s, b)| match s {
                b'd' => b.is_ascii_digit(),
                other => other == b,
            });
        if !fits {
            out.push(char::from(bytes[i]));
            i += 1;
            continue;
        }
        i += shape.len();
        while i < bytes.len() && (bytes[i] == b'.' || bytes[i].is_ascii_digit()) {
            i += 1;
        }
        if i < bytes.len() && bytes[i] == b'Z' {
            i += 1;
        } else if i + 6 <= bytes.len() && matches!(bytes[i], b'+' | b'-') {
            i += 6;
        }
        out.push_str("[time]");
    }
    out
}

/// API clients (the Pact clients send HAL or JSON; curl `*/*`; some nothing)
/// get the bytes they got before the API browser existed: the snapshot was
/// recorded without it.
#[tokio::test]
async fn api_clients_get_the_same_bytes_as_before() {
    let app = seeded().await;
    let mut record = String::new();
    for path in [
        "/",
        "/pacticipants",
        "/pacticipants/Foo",
        "/pacticipants/Bar/versions/2.0.0",
        "/pacts/provider/Bar/consumer/Foo/latest",
        "/matrix?q[][pacticipant]=Foo&q[][version]=1.0.0&latestby=cvp",
        "/pacticipants/Nope",
        "/matrix?latestby=nonsense",
    ] {
        for accept in [
            Some("application/hal+json"),
            Some("application/json"),
            Some("*/*"),
            Some("application/hal+json, application/json, */*; q=0.01"),
            None,
        ] {
            let answer = get(&app, path, accept, None).await;
            assert!(!answer.is_page(), "{path} {accept:?}");
            record.push_str(&format!(
                "GET {path} Accept: {}\n{} {} csp={}\n{}\n\n",
                accept.unwrap_or("(none)"),
                answer.status.as_u16(),
                answer.header(header::CONTENT_TYPE),
                answer.header(header::CONTENT_SECURITY_POLICY),
                without_times(&answer.text)
            ));
        }
    }
    insta::assert_snapshot!(record);
}

#[tokio::test]
async fn hostile_strings_are_escaped_and_only_this_servers_addresses_are_links() {
    let app = TestApp::new().await;
    let created = app
        .post(
            "/pacticipants",
            &json!({"name": "Foo", "displayName": "<script>alert('x')</script>",
                    "repositoryUrl": "javascript:alert(1)", "mainBranch": "\"><img src=x onerror=alert(1)>"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let hook = app
        .post(
            "/webhooks",
            &json!({"description": "</pre><b>bold</b>", "events": [{"name": "contract_published"}],
                    "request": {"method": "POST", "url": "https://elsewhere.example/hook?a=<b>"}}),
        )
        .await;
    assert_eq!(hook.status, StatusCode::CREATED, "{}", hook.text);
    let uuid = hook.body["uuid"].as_str().unwrap().to_owned();
    for path in [
        "/pacticipants/Foo".to_owned(),
        "/pacticipants".to_owned(),
        format!("/webhooks/{uuid}"),
    ] {
        let page = get(&app, &path, Some(BROWSER), None).await;
        assert!(page.is_page(), "{path}: {}", page.text);
        for raw in ["<script", "<img", "<b>", "</pre><b>", "onerror=alert(1)>"] {
            assert!(
                !page.text.contains(raw),
                "{path}: {raw} is not escaped:\n{}",
                page.text
            );
        }
        // Every link on the page leads to this server (or within the page).
        for (at, _) in page.text.match_indices("href=\"") {
            let href = &page.text[at + 6..];
            assert!(
                href.starts_with(BASE) || href.starts_with('#'),
                "{path}: a link away from this server: {}",
                &href[..href.len().min(80)]
            );
        }
    }
    let hook_page = get(&app, &format!("/webhooks/{uuid}"), Some(BROWSER), None).await;
    assert!(
        hook_page
            .text
            .contains("https://elsewhere.example/hook?a=&#60;b&#62;"),
        "another site's address is shown as text:\n{}",
        hook_page.text
    );
}

#[tokio::test]
async fn a_multi_megabyte_answer_is_cut_with_a_sentence_saying_so() {
    let app = TestApp::new().await;
    let big = "x".repeat(3 * 1024 * 1024);
    let hook = app
        .post(
            "/webhooks",
            &json!({"description": "big", "events": [{"name": "contract_published"}],
                    "request": {"method": "POST", "url": "https://elsewhere.example/hook", "body": {"big": big}}}),
        )
        .await;
    assert_eq!(hook.status, StatusCode::CREATED, "{}", hook.text);
    let uuid = hook.body["uuid"].as_str().unwrap().to_owned();
    let page = get(&app, &format!("/webhooks/{uuid}"), Some(BROWSER), None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.is_page());
    assert!(
        page.text.len() < 1024 * 1024,
        "the page is bounded: {} bytes",
        page.text.len()
    );
    assert!(
        page.text.contains("the page shows only its first"),
        "a sentence says it is cut"
    );
    // The links table is still whole: it comes before the cut.
    assert!(page.text.contains("<table class=\"api-links\">"));
    // An API client still gets all of it.
    let whole = get(
        &app,
        &format!("/webhooks/{uuid}"),
        Some("application/hal+json"),
        None,
    )
    .await;
    assert!(whole.text.len() > 3 * 1024 * 1024);
}

/// Signs in through the UI's form and returns the session cookie (`name=value`).
async fn session_cookie(app: &TestApp, user: &str, password: &str) -> String {
    let form = get(app, "/ui/sign-in", Some(BROWSER), None).await;
    let nonce = form
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("treaty_sign_in="))
        .and_then(|c| c.split(';').next())
        .expect("the sign-in form's cookie")
        .to_owned();
    let marker = "name=\"csrf\" value=\"";
    let at = form.text.find(marker).expect("a csrf field") + marker.len();
    let csrf = form.text[at..].split('"').next().unwrap().to_owned();
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("csrf", csrf.as_str()),
            ("next", "/ui"),
            ("user", user),
            ("password", password),
        ])
        .finish();
    let signed_in = send(
        app,
        Request::post("/ui/sign-in")
            .header(header::ACCEPT, BROWSER)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, format!("treaty_sign_in={nonce}"))
            .header("sec-fetch-site", "same-origin")
            .body(Body::from(body))
            .unwrap(),
    )
    .await;
    let cookie = signed_in
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("treaty_session=") && !c.starts_with("treaty_session=;"))
        .unwrap_or_else(|| panic!("signed in: {} {}", signed_in.status, signed_in.text));
    cookie.split(';').next().unwrap().to_owned()
}

#[tokio::test]
async fn a_signed_in_browser_reads_api_addresses_with_its_cookie_but_cannot_write_with_it() {
    let app = TestApp::with_config(ServerConfig {
        auth: AuthConfig {
            basic: Some(("writer".into(), SecretString::from("wpass"))),
            basic_read_only: Some(("reader".into(), SecretString::from("rpass"))),
            ..AuthConfig::default()
        },
        ..ServerConfig::default()
    })
    .await;
    // Without a session: the sign-in page, as for any page.
    let anonymous = get(&app, "/pacticipants", Some(BROWSER), None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert!(
        anonymous.text.contains("<h1>Sign in</h1>"),
        "{}",
        anonymous.text
    );

    let cookie = session_cookie(&app, "writer", "wpass").await;
    let page = get(&app, "/pacticipants", Some(BROWSER), Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.is_page());
    assert!(
        page.text
            .contains("Signed in as <strong class=\"identity\">writer</strong>"),
        "{}",
        page.text
    );
    // A write with the cookie alone is an API write without credentials.
    let write = send(
        &app,
        Request::post("/pacticipants")
            .header(header::ACCEPT, "application/hal+json")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::COOKIE, &cookie)
            .header("sec-fetch-site", "same-origin")
            .body(Body::from(json!({"name": "Made"}).to_string()))
            .unwrap(),
    )
    .await;
    assert_eq!(write.status, StatusCode::UNAUTHORIZED, "{}", write.text);
    let after = get(
        &app,
        "/pacticipants/Made",
        Some("application/hal+json"),
        Some(&cookie),
    )
    .await;
    assert_eq!(after.status, StatusCode::NOT_FOUND);

    // The read-only user's session reads, and is refused what needs admin,
    // as a page with the API's status.
    let reader = session_cookie(&app, "reader", "rpass").await;
    let tokens = get(&app, "/tokens", Some(BROWSER), Some(&reader)).await;
    assert_eq!(tokens.status, StatusCode::FORBIDDEN, "{}", tokens.text);
    assert!(
        tokens.is_page() && tokens.text.contains("403 Forbidden"),
        "{}",
        tokens.text
    );
    assert!(
        tokens.text.contains("reader"),
        "who is signed in is shown:\n{}",
        tokens.text
    );
}
