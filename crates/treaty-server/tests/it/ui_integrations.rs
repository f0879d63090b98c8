//! The integrations page, the matrix page of one integration, and branch
//! awareness: a pending or WIP failure, or one on a feature branch, does not
//! turn an integration red on home, application, network or integrations.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::json;

use crate::support::{Reply, TestApp, pact};

async fn page(app: &TestApp, path: &str) -> Reply {
    app.send(
        Request::get(path)
            .header(header::ACCEPT, "text/html")
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

/// Puts a provider version on a branch (before it verifies).
async fn on_branch(app: &TestApp, pacticipant: &str, branch: &str, version: &str) {
    let reply = app
        .put(
            &format!("/pacticipants/{pacticipant}/branches/{branch}/versions/{version}"),
            &json!({}),
        )
        .await;
    assert!(reply.status.is_success(), "{}", reply.text);
}

async fn publish(app: &TestApp, consumer: &str, version: &str, branch: &str, path: &str) {
    let reply = app
        .publish(
            consumer,
            version,
            Some(branch),
            &[],
            &[("orders", pact(consumer, "orders", &[path]))],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
}

async fn verify(app: &TestApp, consumer: &str, version: &str, branch: &str, success: bool) {
    on_branch(app, "orders", branch, version).await;
    let reply = app.verify(consumer, "orders", version, success).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
}

/// web → orders: verified on main, then a new pact from a feature branch
/// of web fails on a feature branch of orders (pending there).
/// billing → orders: verified on main, then failed on main: red.
/// mobile → orders: its main-line failure was a work in progress.
async fn scenario() -> TestApp {
    let app = TestApp::new().await;
    publish(&app, "web", "1.0.0", "main", "/a").await;
    verify(&app, "web", "o1", "main", true).await;
    publish(&app, "web", "2.0.0", "feat-x", "/b").await;
    verify(&app, "web", "o2", "feat-y", false).await;

    publish(&app, "billing", "1", "main", "/bill").await;
    verify(&app, "billing", "o1", "main", true).await;
    verify(&app, "billing", "o3", "main", false).await;

    publish(&app, "mobile", "1", "main", "/m").await;
    let store = app.store();
    let sha = store
        .pact("mobile", "orders", treaty_store::PactSelector::Latest)
        .await
        .unwrap()
        .unwrap()
        .sha;
    store
        .publish_verification_of(
            "mobile",
            "orders",
            &sha,
            treaty_domain::model::NewVerification {
                provider_version: treaty_domain::VersionNumber::parse("o1").unwrap(),
                success: false,
                build_url: None,
                test_results: None,
                verified_by: None,
            },
            true,
        )
        .await
        .unwrap()
        .unwrap();
    app
}

/// The `<tr>` of the integrations table that names `consumer`.
fn row_of<'a>(html: &'a str, consumer: &str) -> &'a str {
    let marker = format!("/ui/applications/{consumer}\">{consumer}</a></td>");
    let at = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no row for {consumer}: {html}"));
    let start = html[..at].rfind("<tr>").unwrap();
    let end = at + html[at..].find("</tr>").unwrap();
    &html[start..end]
}

#[tokio::test]
async fn a_pending_failure_on_a_feature_branch_is_not_red_anywhere() {
    let app = scenario().await;

    let home = page(&app, "/ui").await;
    assert_eq!(home.status, StatusCode::OK);
    let failing = &home.text[home.text.find("id=\"failing\"").unwrap()..];
    let (red, apart) = failing.split_at(failing.find("id=\"not-yet\"").unwrap());
    assert!(red.contains("billing → orders"), "{red}");
    assert!(!red.contains("web → orders"), "web is not red: {red}");
    assert!(
        !red.contains("mobile → orders"),
        "a WIP failure is not red: {red}"
    );
    assert!(apart.contains("web → orders"), "{apart}");
    assert!(apart.contains("main: verified"), "{apart}");
    assert!(
        apart.contains("other branch: 1 failing (pending)"),
        "{apart}"
    );
    assert!(apart.contains("failing (WIP)"), "{apart}");

    let application = page(&app, "/ui/applications/web").await;
    let line = &application.text[application.text.find("web consumes").unwrap()..];
    let line = &line[..line.find("</li>").unwrap()];
    assert!(line.contains("badge good"), "{line}");
    assert!(line.contains("✓ main: verified"), "{line}");
    assert!(line.contains("other branch: 1 failing (pending)"), "{line}");
    assert!(line.contains("/ui/integrations/orders/web"), "{line}");

    let contract = page(&app, "/ui/contracts/orders/web").await;
    assert!(
        contract
            .text
            .contains("badge unknown\">? Failing (pending) by orders o2"),
        "the contract page marks it too: {}",
        contract.text
    );
    assert!(contract.text.contains("/ui/integrations/orders/web\""));

    // A version's page marks it in what it published and what it verified;
    // a failure on the main line stays a failure.
    for path in [
        "/ui/applications/orders/versions/o2",
        "/ui/applications/web/versions/2.0.0",
    ] {
        let version = page(&app, path).await;
        assert!(
            version
                .text
                .contains("badge pending\">○ failing (pending)</span>"),
            "{path}: {}",
            version.text
        );
        assert!(
            !version.text.contains("✗ failed"),
            "{path}: {}",
            version.text
        );
    }
    let failed = page(&app, "/ui/applications/orders/versions/o3").await;
    assert!(
        failed.text.contains("badge bad\">✗ failed</span>"),
        "{}",
        failed.text
    );

    let network = page(&app, "/ui/network").await;
    let edge = |consumer: &str| {
        let at = network
            .text
            .find(&format!("aria-label=\"Contract {consumer} → orders"))
            .unwrap();
        let end = at + network.text[at..].find("</a>").unwrap();
        network.text[at..end].to_owned()
    };
    assert!(
        edge("web").contains("class=\"edge-good\""),
        "{}",
        edge("web")
    );
    assert!(
        edge("web").contains("1 failing (pending)"),
        "{}",
        edge("web")
    );
    assert!(
        edge("billing").contains("class=\"edge-bad\""),
        "{}",
        edge("billing")
    );
    assert!(
        edge("mobile").contains("class=\"edge-pending\""),
        "{}",
        edge("mobile")
    );

    let integrations = page(&app, "/ui/integrations").await;
    assert_eq!(integrations.status, StatusCode::OK);
    let web = row_of(&integrations.text, "web");
    assert!(web.contains("badge good\">✓ main: verified"), "{web}");
    assert!(web.contains("other branch: 1 failing (pending)"), "{web}");
    assert!(
        web.contains("○ failing (pending)</span> <a"),
        "latest shown, marked: {web}"
    );
    assert!(web.contains("feat-y"), "{web}");
    assert!(
        web.contains(">2.0.0</a> <span class=\"badge info\">feat-x</span>"),
        "{web}"
    );
    assert!(web.contains("<time datetime=\""), "{web}");
    assert!(web.contains("just now"), "{web}");
    let billing = row_of(&integrations.text, "billing");
    assert!(billing.contains("badge bad\">✗ main: failed"), "{billing}");
}

#[tokio::test]
async fn integrations_sort_and_filter_by_get_parameters() {
    let app = scenario().await;
    let order = |html: &str| {
        ["billing", "mobile", "web"]
            .into_iter()
            .filter_map(|c| html.find(&format!("\">{c}</a></td>")).map(|at| (at, c)))
            .collect::<std::collections::BTreeMap<_, _>>()
            .into_values()
            .collect::<Vec<_>>()
    };
    let by_name = page(&app, "/ui/integrations").await;
    assert_eq!(order(&by_name.text), ["billing", "mobile", "web"]);
    assert!(by_name.text.contains("aria-sort=\"ascending\"><a href=\"http://broker.test/ui/integrations?sort=consumer&#38;dir=desc\""), "{}", by_name.text);

    let reversed = page(&app, "/ui/integrations?sort=consumer&dir=desc").await;
    assert_eq!(order(&reversed.text), ["web", "mobile", "billing"]);
    assert!(reversed.text.contains("aria-sort=\"descending\""));

    // Worst first: failed, then pending or WIP, then verified.
    let by_status = page(&app, "/ui/integrations?sort=verified").await;
    assert_eq!(order(&by_status.text), ["billing", "mobile", "web"]);
    let by_status = page(&app, "/ui/integrations?sort=verified&dir=desc").await;
    assert_eq!(order(&by_status.text), ["web", "mobile", "billing"]);

    let failed = page(&app, "/ui/integrations?status=failed").await;
    assert_eq!(order(&failed.text), ["billing"]);
    let pending = page(&app, "/ui/integrations?status=pending").await;
    assert_eq!(order(&pending.text), ["mobile", "web"]);
    let searched = page(&app, "/ui/integrations?q=MOB&sort=provider").await;
    assert_eq!(order(&searched.text), ["mobile"]);
    assert!(
        searched
            .text
            .contains("?sort=consumer&#38;dir=asc&#38;q=MOB\""),
        "the sort links keep the filter: {}",
        searched.text
    );

    for bad in ["sort=colour", "dir=sideways", "status=purple"] {
        let reply = page(&app, &format!("/ui/integrations?{bad}")).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[tokio::test]
async fn the_matrix_of_an_integration_has_versions_results_filters_and_pages() {
    let app = scenario().await;
    // Without a branch, "latest" keeps each consumer version's newest verification.
    let newest = page(&app, "/ui/integrations/orders/billing?latest=on").await;
    assert!(newest.text.contains(">o3</a>"), "{}", newest.text);
    assert!(!newest.text.contains(">o1</a>"), "{}", newest.text);
    let every = page(&app, "/ui/integrations/orders/billing").await;
    assert!(every.text.contains(">o1</a>") && every.text.contains(">o3</a>"));

    let matrix = page(&app, "/ui/integrations/orders/web").await;
    assert_eq!(matrix.status, StatusCode::OK, "{}", matrix.text);
    let text = &matrix.text;
    assert!(text.contains("✓ main: verified"), "{text}");
    assert!(
        text.contains(">2.0.0</a> <span class=\"badge info\">feat-x</span>"),
        "{text}"
    );
    assert!(
        text.contains(">o2</a> <span class=\"badge info\">feat-y</span>"),
        "{text}"
    );
    assert!(text.contains("○ failing (pending)"), "{text}");
    assert!(text.contains("✓ verified"), "{text}");
    assert!(
        text.contains("/matrix/provider/orders/consumer/web"),
        "{text}"
    );

    let main_only = page(&app, "/ui/integrations/orders/web?consumer_branch=main").await;
    assert!(main_only.text.contains(">1.0.0</a>"), "{}", main_only.text);
    assert!(!main_only.text.contains(">2.0.0</a>"), "{}", main_only.text);
    let failed = page(&app, "/ui/integrations/orders/web?result=failed").await;
    assert!(!failed.text.contains(">1.0.0</a>"), "{}", failed.text);
    assert!(failed.text.contains(">2.0.0</a>"), "{}", failed.text);
    let latest = page(
        &app,
        "/ui/integrations/orders/web?provider_branch=feat-y&latest=on",
    )
    .await;
    assert!(latest.text.contains(">o2</a>"), "{}", latest.text);
    assert!(!latest.text.contains(">o1</a>"), "{}", latest.text);

    for bad in ["page=0", "page=abc", "page=21", "result=maybe"] {
        let reply = page(&app, &format!("/ui/integrations/orders/web?{bad}")).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{bad}: {}",
            reply.text
        );
    }

    // Pages of 50, newest first.
    for n in 0..55 {
        publish(&app, "many", &format!("v{n}"), "main", &format!("/p{n}")).await;
    }
    let first = page(&app, "/ui/integrations/orders/many").await;
    assert!(first.text.contains(">v54</a>"), "{}", first.text);
    assert!(!first.text.contains(">v4</a>"));
    assert!(first.text.contains("Page 1: 50 rows"), "{}", first.text);
    assert!(
        first.text.contains("?page=2\" rel=\"next\""),
        "{}",
        first.text
    );
    assert!(!first.text.contains("rel=\"prev\""));
    let second = page(&app, "/ui/integrations/orders/many?page=2").await;
    assert!(second.text.contains("Page 2: 5 rows"), "{}", second.text);
    assert!(second.text.contains(">v4</a>") && second.text.contains(">v0</a>"));
    assert!(second.text.contains("?page=1\" rel=\"prev\""));
    assert!(!second.text.contains("rel=\"next\""));
}

#[tokio::test]
async fn an_unknown_integration_is_a_404_that_names_the_closest() {
    let app = scenario().await;
    let reply = page(&app, "/ui/integrations/orders/webb").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert!(reply.content_type.starts_with("text/html"));
    assert!(
        reply.text.contains(
            "webb has published no pact with orders. Did you mean &#39;web → orders&#39;?"
        ),
        "{}",
        reply.text
    );
}

#[tokio::test]
async fn hostile_names_are_text_on_both_pages() {
    let app = TestApp::new().await;
    let hostile = "<script>alert(1)</script>";
    let reply = app
        .publish(
            hostile,
            "1",
            Some("<b>branch</b>"),
            &[],
            &[("orders", pact(hostile, "orders", &["/x"]))],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let list = page(&app, "/ui/integrations?q=%3Cscript").await;
    assert!(!list.text.contains(hostile), "{}", list.text);
    assert!(
        list.text
            .contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
        "{}",
        list.text
    );
    assert!(
        list.text.contains("&#60;b&#62;branch&#60;/b&#62;"),
        "{}",
        list.text
    );
    let encoded = "%3Cscript%3Ealert(1)%3C%2Fscript%3E";
    let linked = "%3Cscript%3Ealert%281%29%3C%2Fscript%3E";
    assert!(
        list.text
            .contains(&format!("/ui/integrations/orders/{linked}")),
        "{}",
        list.text
    );
    let matrix = page(&app, &format!("/ui/integrations/orders/{encoded}")).await;
    assert_eq!(matrix.status, StatusCode::OK, "{}", matrix.text);
    assert!(!matrix.text.contains(hostile));
    assert!(!matrix.text.contains("<b>branch"));
}

#[tokio::test]
async fn the_webhook_column_shows_the_latest_delivery_for_the_pair() {
    let app = TestApp::with_config(crate::webhooks::local_config(&[])).await;
    publish(&app, "web", "1", "main", "/a").await;
    publish(&app, "billing", "1", "main", "/b").await;
    let none = page(&app, "/ui/integrations").await;
    assert!(row_of(&none.text, "web").contains("<span class=\"muted\">none</span>"));
    let created = app
        .post(
            "/webhooks",
            &json!({"consumer": {"name": "web"}, "provider": {"name": "orders"},
                "events": [{"name": "contract_published"}],
                "request": {"method": "POST", "url": "http://127.0.0.1:9/hook"}}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    publish(&app, "web", "2", "main", "/a2").await;
    let queued = page(&app, "/ui/integrations").await;
    assert!(
        row_of(&queued.text, "web").contains("badge pending\">queued"),
        "{}",
        queued.text
    );
    assert!(row_of(&queued.text, "billing").contains("<span class=\"muted\">none</span>"));

    let store = app.store();
    let attempt = |retry_at| {
        let store = store.clone();
        async move {
            let claimed = store
                .claim_webhook_delivery(std::time::Duration::from_secs(60))
                .await
                .unwrap()
                .unwrap();
            store
                .record_webhook_attempt(
                    claimed.id,
                    &treaty_store::AttemptOutcome {
                        success: false,
                        logs: "HTTP 500\n".into(),
                        retry_at,
                    },
                )
                .await
                .unwrap();
        }
    };
    attempt(Some(chrono::Utc::now())).await;
    let retrying = page(&app, "/ui/integrations").await;
    assert!(
        row_of(&retrying.text, "web").contains("badge pending\">retrying"),
        "{}",
        retrying.text
    );
    attempt(None).await;
    let failed = page(&app, "/ui/integrations?sort=webhook").await;
    assert!(
        row_of(&failed.text, "web").contains("badge bad\">failed"),
        "{}",
        failed.text
    );
    let first = failed.text.find("\">web</a></td>").unwrap();
    assert!(
        first < failed.text.find("\">billing</a></td>").unwrap(),
        "failures sort first"
    );
}
