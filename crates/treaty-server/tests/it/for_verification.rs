//! Pacts for verification over HTTP: each selector alone and together,
//! pending transitions, WIP inclusion and exclusion, bad requests.

use axum::http::StatusCode;
use serde_json::{Value, json};
use treaty_server::ServerConfig;

use crate::support::{BASE, TestApp, pact};

async fn for_verification(app: &TestApp, body: Value) -> Vec<(String, String, Value)> {
    let reply = app
        .post("/pacts/provider/Bar/for-verification", &body)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.body["_embedded"]["pacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let name = p["_links"]["self"]["name"].as_str().unwrap().to_owned();
            (
                name,
                p["shortDescription"].as_str().unwrap().to_owned(),
                p["verificationProperties"].clone(),
            )
        })
        .collect()
}

fn names(pacts: &[(String, String, Value)]) -> Vec<&str> {
    pacts.iter().map(|(name, _, _)| name.as_str()).collect()
}

async fn environment(app: &TestApp, name: &str) -> String {
    let reply = app
        .post(
            "/environments",
            &json!({"name": name, "production": name == "production"}),
        )
        .await;
    reply.body["uuid"].as_str().unwrap().to_owned()
}

/// Foo: 1 (main), 2 (main, tagged prod, deployed to production), 3 (feat),
/// 4 (main, no pact for Bar); Baz: 7 (main).
async fn world() -> TestApp {
    world_with(ServerConfig::default()).await
}

async fn world_with(config: ServerConfig) -> TestApp {
    let app = TestApp::with_config(config).await;
    app.publish(
        "Foo",
        "1",
        Some("main"),
        &[],
        &[("Bar", pact("Foo", "Bar", &["/1"]))],
    )
    .await;
    app.publish(
        "Foo",
        "2",
        Some("main"),
        &["prod"],
        &[("Bar", pact("Foo", "Bar", &["/2"]))],
    )
    .await;
    app.publish(
        "Foo",
        "3",
        Some("feat"),
        &[],
        &[("Bar", pact("Foo", "Bar", &["/3"]))],
    )
    .await;
    app.put("/pacticipants/Foo/branches/main/versions/4", &json!({}))
        .await;
    app.publish(
        "Baz",
        "7",
        Some("main"),
        &[],
        &[("Bar", pact("Baz", "Bar", &["/7"]))],
    )
    .await;
    let production = environment(&app, "production").await;
    let reply = app
        .post(
            &format!("/pacticipants/Foo/versions/2/deployed-versions/environment/{production}"),
            &json!({}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    app
}

#[tokio::test]
async fn each_selector_alone() {
    let app = world().await;
    let check = |selector: Value, expected: &'static [&'static str]| {
        let app = &app;
        async move {
            let pacts =
                for_verification(app, json!({"consumerVersionSelectors": [selector.clone()]}))
                    .await;
            assert_eq!(names(&pacts), expected, "{selector}");
        }
    };
    // Foo's main branch head (4) has no pact for Bar: nothing from Foo.
    check(
        json!({"mainBranch": true}),
        &["Pact between Baz (7) and Bar"],
    )
    .await;
    check(json!({"branch": "feat"}), &["Pact between Foo (3) and Bar"]).await;
    check(json!({"tag": "prod"}), &["Pact between Foo (2) and Bar"]).await;
    check(
        json!({"tag": "prod", "latest": true}),
        &["Pact between Foo (2) and Bar"],
    )
    .await;
    check(
        json!({"latest": true}),
        &[
            "Pact between Baz (7) and Bar",
            "Pact between Foo (3) and Bar",
        ],
    )
    .await;
    check(json!({"deployed": true}), &["Pact between Foo (2) and Bar"]).await;
    check(json!({"released": true}), &[]).await;
    check(
        json!({"environment": "production"}),
        &["Pact between Foo (2) and Bar"],
    )
    .await;
    check(
        json!({"latest": true, "consumer": "Foo"}),
        &["Pact between Foo (3) and Bar"],
    )
    .await;
    check(
        json!({"tag": "nope", "latest": true, "fallbackTag": "prod"}),
        &["Pact between Foo (2) and Bar"],
    )
    .await;
    // The Pact Broker reads fallbackBranch but never falls back to it.
    check(json!({"branch": "nope", "fallbackBranch": "feat"}), &[]).await;
    check(
        json!({"mainBranch": true, "latest": true}),
        &["Pact between Baz (7) and Bar"],
    )
    .await;
}

#[tokio::test]
async fn selectors_that_choose_the_same_content_are_merged_with_every_reason() {
    let app = world().await;
    let pacts = for_verification(&app, json!({"consumerVersionSelectors": [{"tag": "prod", "latest": true}, {"deployedOrReleased": true}]})).await;
    assert_eq!(names(&pacts), ["Pact between Foo (2) and Bar"]);
    assert_eq!(pacts[0].1, "latest with tag prod, deployed to production");
    let notice = pacts[0].2["notices"][0]["text"].as_str().unwrap();
    assert!(
        notice.contains("matching the following criteria:"),
        "{notice}"
    );
    assert!(
        notice.contains("consumer version(s) currently deployed to production (2)"),
        "{notice}"
    );
}

#[tokio::test]
async fn no_selectors_means_main_branches_and_what_is_deployed_or_released() {
    let app = world().await;
    let pacts = for_verification(&app, json!({})).await;
    assert_eq!(
        names(&pacts),
        [
            "Pact between Baz (7) and Bar",
            "Pact between Foo (2) and Bar"
        ]
    );
    // The Rust verifier GETs the resource first, with no query, to find where to POST.
    let get = app.get("/pacts/provider/Bar/for-verification").await;
    assert_eq!(get.status, StatusCode::OK);
    assert!(
        get.body["_links"]["self"]["href"]
            .as_str()
            .unwrap()
            .ends_with("/pacts/provider/Bar/for-verification")
    );
}

#[tokio::test]
async fn a_pact_is_pending_until_the_providers_branch_verifies_it() {
    let app = world().await;
    let ask =
        json!({"consumerVersionSelectors": [{"branch": "feat"}], "providerVersionBranch": "main"});
    let pacts = for_verification(&app, ask.clone()).await;
    assert_eq!(pacts[0].2["pending"], true);
    assert!(
        pacts[0].2["notices"][1]["text"]
            .as_str()
            .unwrap()
            .starts_with("This pact is in pending state for this version of Bar")
    );
    // A success from another branch does not end it (the main branch existed already).
    app.put("/pacticipants/Bar/branches/main/versions/100", &json!({}))
        .await;
    app.put("/pacticipants/Bar/branches/other/versions/101", &json!({}))
        .await;
    app.verify("Foo", "Bar", "101", true).await;
    assert_eq!(
        for_verification(&app, ask.clone()).await[0].2["pending"],
        true
    );
    app.verify("Foo", "Bar", "100", true).await;
    let pacts = for_verification(&app, ask).await;
    assert_eq!(pacts[0].2["pending"], false);
    assert!(pacts[0].2["notices"][1]["text"].as_str().unwrap().starts_with("This pact has previously been successfully verified by a version of Bar from branch 'main'"));
    // Without includePendingStatus the key is absent.
    let off = for_verification(
        &app,
        json!({"consumerVersionSelectors": [{"branch": "feat"}], "includePendingStatus": false}),
    )
    .await;
    assert!(off[0].2.get("pending").is_none());
}

#[tokio::test]
async fn work_in_progress_pacts_are_added_until_verified() {
    let app = world().await;
    let ask = json!({
        "consumerVersionSelectors": [{"mainBranch": true}],
        "providerVersionBranch": "main", "includeWipPactsSince": "2020-01-01"
    });
    let pacts = for_verification(&app, ask.clone()).await;
    let wip: Vec<&str> = pacts
        .iter()
        .filter(|p| p.2["wip"] == true)
        .map(|p| p.0.as_str())
        .collect();
    // Foo 3 heads branch feat, Foo 2 is the latest tagged prod; Baz 7 is selected already.
    assert_eq!(
        wip,
        [
            "Pact between Foo (2) and Bar",
            "Pact between Foo (3) and Bar"
        ]
    );
    assert!(
        pacts
            .iter()
            .filter(|p| p.2["wip"] == true)
            .all(|p| p.2["pending"] == true)
    );
    // Not since a future date.
    let later = for_verification(&app, json!({"consumerVersionSelectors": [{"mainBranch": true}], "providerVersionBranch": "main", "includeWipPactsSince": "2999-01-01"})).await;
    assert!(later.iter().all(|p| p.2.get("wip").is_none()));
    // A verification of a WIP pact (through its WIP address) does not end its WIP status...
    let href = app
        .post("/pacts/provider/Bar/for-verification", &ask)
        .await
        .body["_embedded"]["pacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["_links"]["self"]["name"] == "Pact between Foo (3) and Bar")
        .unwrap()["_links"]["self"]["href"]
        .as_str()
        .unwrap()
        .trim_start_matches(BASE)
        .to_owned();
    app.put("/pacticipants/Bar/branches/main/versions/200", &json!({}))
        .await;
    // The verifier fetches the pact at that address and publishes through its link.
    let fetched = app.get(&href).await;
    let publish = fetched.body["_links"]["pb:publish-verification-results"]["href"]
        .as_str()
        .unwrap()
        .trim_start_matches(BASE)
        .to_owned();
    assert!(
        publish.contains("/metadata/"),
        "the link keeps how the pact was selected: {publish}"
    );
    let reply = app
        .post(
            &publish,
            &json!({"success": true, "providerApplicationVersion": "200"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let still = for_verification(&app, ask.clone()).await;
    assert!(
        still
            .iter()
            .any(|p| p.0 == "Pact between Foo (3) and Bar" && p.2["wip"] == true)
    );
    // ...a verification when it was explicitly selected does.
    app.verify("Foo", "Bar", "200", true).await;
    let done = for_verification(&app, ask).await;
    assert!(
        !done.iter().any(|p| p.0 == "Pact between Foo (3) and Bar"),
        "{done:?}"
    );
}

#[tokio::test]
async fn the_work_in_progress_window_is_bounded_by_the_servers_lookback() {
    let ask = json!({
        "consumerVersionSelectors": [{"mainBranch": true}],
        "providerVersionBranch": "main", "includeWipPactsSince": "2020-01-01"
    });
    let wip =
        |pacts: &[(String, String, Value)]| pacts.iter().filter(|p| p.2["wip"] == true).count();
    // The default (90 days) keeps what was published just now.
    assert_eq!(wip(&for_verification(&world().await, ask.clone()).await), 2);
    // A window of nothing: the same request finds no WIP pact, and the
    // selected ones are unchanged.
    let bounded = world_with(ServerConfig {
        max_wip_lookback: Some(std::time::Duration::ZERO),
        ..ServerConfig::default()
    })
    .await;
    let pacts = for_verification(&bounded, ask).await;
    assert_eq!(wip(&pacts), 0);
    assert!(!pacts.is_empty());
}

#[tokio::test]
async fn bad_requests_are_4xx_problems() {
    let app = world().await;
    assert_eq!(
        app.post("/pacts/provider/Nobody/for-verification", &json!({}))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let reply = app
        .post(
            "/pacts/provider/Bar/for-verification",
            &json!({"consumerVersionSelectors": [{"colour": "blue"}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(
        reply.body["errors"]["consumerVersionSelectors"][0]
            .as_str()
            .unwrap()
            .starts_with("must specify a value for environment or tag or branch"),
        "{}",
        reply.text
    );
    let reply = app
        .post(
            "/pacts/provider/Bar/for-verification",
            &json!({"consumerVersionSelectors": [{"mainBranch": true, "branch": "x"}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let reply = app
        .get("/pacts/provider/Bar/for-verification?consumer_version_selectors=oops&a[]=1&a=2")
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
}

async fn refused(app: &TestApp, body: Value) -> Value {
    let reply = app
        .post("/pacts/provider/Bar/for-verification", &body)
        .await;
    assert_eq!(
        reply.status,
        StatusCode::BAD_REQUEST,
        "{body}: {}",
        reply.text
    );
    assert_eq!(
        reply.content_type, "application/hal+json;charset=utf-8",
        "{body}"
    );
    reply.body["errors"].clone()
}

#[tokio::test]
async fn refusals_are_the_pact_brokers_by_field_with_the_selectors_index() {
    let app = world().await;
    assert_eq!(
        refused(&app, json!({"consumerVersionSelectors": [{"matchingBranch": true, "branch": "x"}], "providerVersionBranch": "main"})).await,
        json!({"consumerVersionSelectors": ["cannot specify matchingBranch=true with any other criteria apart from consumer (at index 0)"]})
    );
    assert_eq!(
        refused(
            &app,
            json!({"consumerVersionSelectors": [{"mainBranch": true}, {"environment": "nope"}]})
        )
        .await,
        json!({"consumerVersionSelectors": ["environment with name 'nope' does not exist (at index 1)"]})
    );
    assert_eq!(
        refused(&app, json!({"consumerVersionSelectors": [{"tag": "dev", "fallbackTag": "x"}], "includeWipPactsSince": "notadate"})).await,
        json!({
            "includeWipPactsSince": ["must be a date"],
            "consumerVersionSelectors": ["fallbackTag can only be set if latest is true (at index 0)"]
        })
    );
    // The deprecated GET takes tag selectors only.
    let reply = app
        .get("/pacts/provider/Bar/for-verification?consumer_version_selectors[][mainBranch]=true")
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(
        reply.body["errors"],
        json!({"consumer_version_selectors": ["tag is missing (at index 0)"]})
    );
    // Validation comes before the provider is looked up, as in the Pact Broker.
    let reply = app
        .post(
            "/pacts/provider/Nobody/for-verification",
            &json!({"consumerVersionSelectors": [{}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let reply = app
        .post(
            "/pacts/provider/Nobody/for-verification",
            &json!({"consumerVersionSelectors": [{"mainBranch": true}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.body["error"], "No provider with name 'Nobody' found");
}

#[tokio::test]
async fn a_fallback_tag_is_used_only_when_no_consumer_has_the_tag() {
    let app = world().await;
    app.publish(
        "Baz",
        "8",
        Some("main"),
        &["feat"],
        &[("Bar", pact("Baz", "Bar", &["/8"]))],
    )
    .await;
    // Baz has a version tagged feat, so Foo gets no fallback.
    let pacts = for_verification(
        &app,
        json!({"consumerVersionSelectors": [{"tag": "feat", "latest": true, "fallbackTag": "prod"}]}),
    )
    .await;
    assert_eq!(names(&pacts), ["Pact between Baz (8) and Bar"]);
    let pacts = for_verification(
        &app,
        json!({"consumerVersionSelectors": [{"tag": "nope", "latest": true, "fallbackTag": "prod"}]}),
    )
    .await;
    assert_eq!(names(&pacts), ["Pact between Foo (2) and Bar"]);
    assert_eq!(pacts[0].1, "latest with tag prod");
    assert!(
        pacts[0].2["notices"][0]["text"]
            .as_str()
            .unwrap()
            .ends_with("latest version tagged 'prod' (fallback tag used as no pact was found with tag 'nope') (2)")
    );
}

#[tokio::test]
async fn descriptions_and_notices_are_the_pact_brokers_words() {
    let app = world().await;
    let pacts = for_verification(&app, json!({})).await;
    // The defaults: Baz's main branch, and Foo 2 deployed to production.
    assert_eq!(pacts[0].1, "latest from main branch");
    assert_eq!(
        pacts[0].2["notices"][0]["text"],
        format!(
            "The pact at {BASE}/pacts/provider/Bar/consumer/Baz/pact-version/{} is being verified because the pact content belongs to the consumer version matching the following criterion:\n    * latest version of Baz from the main branch 'main' (7)",
            sha_of(&pacts[0].0, &app).await
        )
    );
    assert_eq!(
        pacts[0].2["notices"][1]["text"],
        "This pact is in pending state for this version of Bar because a successful verification result for Bar has not yet been published. If this verification fails, it will not cause the overall build to fail. Read more at https://docs.pact.io/go/pending"
    );
    assert_eq!(
        pacts[0].2["notices"][3]["text"],
        "This pact is still in pending state for Bar as a successful verification result has not yet been published"
    );
    assert_eq!(pacts[1].1, "deployed to production");
    // An environment alone: deployed or released there.
    let pacts = for_verification(
        &app,
        json!({"consumerVersionSelectors": [{"environment": "production"}], "includePendingStatus": false}),
    )
    .await;
    assert_eq!(names(&pacts), ["Pact between Foo (2) and Bar"]);
    // Where the Pact Broker prints its internal objects.
    assert_eq!(pacts[0].1, "in environment production");
    assert!(pacts[0].2.get("pending").is_none());
    assert!(
        pacts[0].2["notices"][0]["text"]
            .as_str()
            .unwrap()
            .ends_with("\n    * a consumer version in environment production (2)")
    );
    // The deprecated GET says so first, also without a query.
    let reply = app.get("/pacts/provider/Bar/for-verification").await;
    assert!(
        reply.body["_embedded"]["pacts"][0]["verificationProperties"]["notices"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with(
                "WARNING - this version of the Pact library uses a beta version of the API"
            )
    );
}

/// The content sha in a pact's address (`Pact between Baz (7) and Bar`).
async fn sha_of(name: &str, app: &TestApp) -> String {
    let reply = app
        .post("/pacts/provider/Bar/for-verification", &json!({}))
        .await;
    let href = reply.body["_embedded"]["pacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["_links"]["self"]["name"] == name)
        .unwrap()["_links"]["self"]["href"]
        .as_str()
        .unwrap()
        .to_owned();
    href.split("/pact-version/")
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn work_in_progress_pacts_say_which_heads_they_are() {
    let app = world().await;
    let pacts = for_verification(
        &app,
        json!({"consumerVersionSelectors": [{"mainBranch": true}], "providerVersionTags": ["dev"], "includeWipPactsSince": "2020-01-01"}),
    )
    .await;
    let foo_3 = pacts
        .iter()
        .find(|p| p.0 == "Pact between Foo (3) and Bar")
        .unwrap();
    assert_eq!(foo_3.2["wip"], true);
    assert_eq!(foo_3.1, "latest from branch feat");
    let text = foo_3.2["notices"][0]["text"].as_str().unwrap();
    assert!(text.contains("/metadata/d2lwPXRydWU is being verified because it is a 'work in progress' pact (ie. it is the pact for the latest version of Foo from branch 'feat' and it has not yet been successfully verified by a version of Bar with tag 'dev' when"), "{text}");
    assert_eq!(
        foo_3.2["notices"][1]["text"],
        "This pact is in pending state for this version of Bar because it was included as a 'work in progress' pact. If this verification fails, it will not cause the overall build to fail. Read more at https://docs.pact.io/go/pending"
    );
}
