//! The UI's management forms added for issue 26 (environment order, webhook
//! edit, policy rules with a preview, the token's copy button) and the API
//! route behind the order, over HTTP.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};

use crate::support::TestApp;
use crate::ui_sessions::{ADMIN_TOKEN, Browser, api, app_with_sign_in, create_token, send};

async fn names(app: &TestApp) -> Vec<String> {
    let (status, listed) = api(app, "GET", "/environments/order", None).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    listed["environments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|name| name.as_str().unwrap().to_owned())
        .collect()
}

async fn put_order(app: &TestApp, token: &str, body: &str) -> (StatusCode, String, Value) {
    let request = Request::put("/environments/order")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::ACCEPT, "application/problem+json")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap();
    let answer = send(app, request).await;
    let content_type = answer
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (
        answer.status,
        content_type,
        serde_json::from_str(&answer.text).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn an_admin_sets_the_pipeline_order_through_the_api_and_others_may_not() {
    let app = app_with_sign_in().await;
    let (status, body) = api(
        &app,
        "POST",
        "/environments",
        Some(json!({"name": "staging", "production": false})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // A new environment goes before the production ones.
    assert_eq!(names(&app).await, ["test", "staging", "production"]);

    for role in ["read", "write"] {
        let token = create_token(&app, &format!("{role}-bot"), role).await;
        let (status, _, body) = put_order(
            &app,
            &token,
            r#"{"environments": ["staging", "test", "production"]}"#,
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role}: {body}");
    }
    assert_eq!(names(&app).await, ["test", "staging", "production"]);

    for (bad, says) in [
        ("{}", "must be an array"),
        (r#"{"environments": "test"}"#, "must be an array"),
        (r#"{"environments": [1, 2]}"#, "must be an array"),
        (
            r#"{"environments": ["test", "production"]}"#,
            "left out: 'staging'",
        ),
        (
            r#"{"environments": ["test", "test", "staging", "production"]}"#,
            "more than once: 'test'",
        ),
        (
            r#"{"environments": ["qa", "test", "staging", "production"]}"#,
            "no environment is named 'qa'",
        ),
    ] {
        let (status, content_type, body) = put_order(&app, ADMIN_TOKEN, bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert!(
            content_type.starts_with("application/problem+json"),
            "{bad}: {content_type}"
        );
        assert!(
            body["errors"]["environments"][0]
                .as_str()
                .unwrap_or_default()
                .contains(says),
            "{bad}: {body}"
        );
    }
    let (status, _, body) = put_order(&app, ADMIN_TOKEN, "not json").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(names(&app).await, ["test", "staging", "production"]);

    let (status, _, body) = put_order(
        &app,
        ADMIN_TOKEN,
        r#"{"environments": ["staging", "test", "production"]}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["environments"],
        json!(["staging", "test", "production"])
    );
    assert_eq!(names(&app).await, ["staging", "test", "production"]);
    // The Pact Broker's list keeps its order, by display name.
    let (_, listed) = api(&app, "GET", "/environments", None).await;
    let listed: Vec<&str> = listed["_embedded"]["environments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["production", "staging", "test"]);
}

#[tokio::test]
async fn the_arrows_move_an_environment_for_an_admin_with_the_csrf_token_only() {
    let app = app_with_sign_in().await;
    let mut admin = Browser::default();
    admin.sign_in(&app, &[("token", ADMIN_TOKEN)]).await;
    let page = admin.get(&app, "/ui/environments").await;
    assert!(
        page.text.contains("Move production earlier"),
        "{}",
        page.text
    );
    let csrf = page.csrf();

    let forged = admin
        .post(
            &app,
            "/ui/environments/production/move",
            &[("direction", "up")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let mut reader = Browser::default();
    reader
        .sign_in(&app, &[("user", "reader"), ("password", "rpass")])
        .await;
    let read_page = reader.get(&app, "/ui/environments").await;
    assert!(!read_page.text.contains("Move production earlier"));
    let refused = reader
        .post(
            &app,
            "/ui/environments/production/move",
            &[("direction", "up"), ("csrf", &read_page.csrf())],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let wrong = admin
        .post(
            &app,
            "/ui/environments/production/move",
            &[("direction", "sideways"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST, "{}", wrong.text);
    assert!(wrong.text.contains("up or down"), "{}", wrong.text);
    assert_eq!(names(&app).await, ["test", "production"]);

    let moved = admin
        .post(
            &app,
            "/ui/environments/production/move",
            &[("direction", "up"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(moved.status, StatusCode::SEE_OTHER, "{}", moved.text);
    assert_eq!(names(&app).await, ["production", "test"]);
    let (status, _) = api(
        &app,
        "PUT",
        "/pacticipants/payments/versions/1.0.0",
        Some(json!({})),
    )
    .await;
    assert!(status.is_success());
    let home = admin.get(&app, "/ui").await;
    let column = |name: &str| {
        home.text
            .find(&format!("/ui/environments/{name}\""))
            .unwrap_or_else(|| panic!("a {name} column: {}", home.text))
    };
    let (production, test) = (column("production"), column("test"));
    assert!(production < test, "home's columns follow the order");

    let (_, audit) = api(&app, "GET", "/audit", None).await;
    assert!(
        audit["_embedded"]["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["target"] == json!("/ui/environments/production/move")
                && e["outcome"] == json!("committed")
                && e["actor"] == json!("admin")),
        "{audit}"
    );
}

#[tokio::test]
async fn an_admin_edits_a_webhook_in_its_form_and_its_secrets_stay_unseen_and_kept() {
    let config = crate::webhooks::local_config(&[]);
    let app = crate::ui_sessions::app_with_sign_in_and(config).await;
    let receiver = crate::webhooks::Receiver::start(0).await;
    let (status, created) = api(
        &app,
        "POST",
        "/webhooks",
        Some(json!({
            "description": "old words",
            "events": [{"name": "contract_published"}],
            "request": {"method": "POST", "url": receiver.url,
                "headers": {"Content-Type": "application/json", "Authorization": "Bearer very-secret-value"},
                "body": {"was": "old"}}
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let uuid = created["uuid"].as_str().unwrap().to_owned();
    let page_path = format!("/ui/webhooks/{uuid}");

    let mut admin = Browser::default();
    admin.sign_in(&app, &[("token", ADMIN_TOKEN)]).await;
    let page = admin.get(&app, &page_path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.text.contains("value=\"old words\""), "{}", page.text);
    assert!(
        page.text.contains("authorization: **********"),
        "{}",
        page.text
    );
    assert!(!page.text.contains("very-secret-value"));
    assert!(
        page.text.contains("<code>deploymentUrl</code>"),
        "variables explained"
    );
    assert!(
        page.text.contains("the freeze in force is lifted"),
        "events explained"
    );
    let csrf = page.csrf();
    let headers = "Content-Type: application/json\nauthorization: **********";
    let mut fields = vec![
        ("description", "new words"),
        ("url", receiver.url.as_str()),
        ("method", "POST"),
        ("event_contract_published", "on"),
        ("event_deployment_completed", "on"),
        ("headers", headers),
        ("body", "{\"now\": \"${pactbroker.eventName}\"}"),
    ];

    let forged = admin.post(&app, &page_path, &fields).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let mut reader = Browser::default();
    reader
        .sign_in(&app, &[("user", "reader"), ("password", "rpass")])
        .await;
    let read_page = reader.get(&app, &page_path).await;
    assert!(!read_page.text.contains("Save webhook"));
    let mut read_fields = fields.clone();
    let read_csrf = read_page.csrf();
    read_fields.push(("csrf", &read_csrf));
    assert_eq!(
        reader.post(&app, &page_path, &read_fields).await.status,
        StatusCode::FORBIDDEN
    );
    // The same validation as PUT /webhooks/{uuid}; the form comes back as typed.
    let mut wrong = fields.clone();
    wrong[1] = ("url", "ftp://nowhere.example");
    wrong.push(("csrf", &csrf));
    let refused = admin.post(&app, &page_path, &wrong).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
    assert!(refused.text.contains("role=\"alert\""));
    assert!(refused.text.contains("value=\"new words\""));
    let (_, unchanged) = api(&app, "GET", &format!("/webhooks/{uuid}"), None).await;
    assert_eq!(unchanged["description"], "old words");

    fields.push(("csrf", &csrf));
    let saved = admin.post(&app, &page_path, &fields).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text);
    let (_, hook) = api(&app, "GET", &format!("/webhooks/{uuid}"), None).await;
    assert_eq!(hook["description"], "new words", "{hook}");
    assert_eq!(hook["enabled"], false, "the Enabled box was not ticked");
    assert_eq!(
        hook["events"],
        json!([{"name": "contract_published"}, {"name": "deployment_completed"}])
    );
    assert_eq!(
        hook["request"]["body"],
        json!({"now": "${pactbroker.eventName}"})
    );
    // The masked value kept the stored one: a test sends it.
    let (status, executed) = api(&app, "POST", &format!("/webhooks/{uuid}/execute"), None).await;
    assert!(status.is_success(), "{executed}");
    let got = receiver.wait_for(1).await;
    assert_eq!(
        got[0].0.get(header::AUTHORIZATION).unwrap(),
        "Bearer very-secret-value"
    );
    let (_, audit) = api(&app, "GET", "/audit", None).await;
    assert!(
        audit["_embedded"]["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["target"] == json!(page_path) && e["outcome"] == json!("committed")),
        "{audit}"
    );
}

#[tokio::test]
async fn a_policy_preview_shows_the_verdicts_it_would_give_without_saving_and_save_puts_it() {
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
                       "environment_name": "test", "status": "completed"});
    let (status, body) = api(&app, "POST", "/deployment-events", Some(event)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let mut admin = Browser::default();
    admin.sign_in(&app, &[("token", ADMIN_TOKEN)]).await;
    let page = admin.get(&app, "/ui/environments/production").await;
    assert!(page.text.contains("Save rules"), "{}", page.text);
    assert!(
        page.text.contains("formaction="),
        "Preview is a button of the same form"
    );
    let csrf = page.csrf();
    let windows = json!([{
        "start": (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339(),
        "end": (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339(),
        "reason": "release party"
    }])
    .to_string();
    let mut fields = vec![
        ("contracts", "enforce"),
        ("promotion_from", "test"),
        ("promotion_mode", "enforce"),
        ("freeze_windows", windows.as_str()),
        ("freeze_mode", "enforce"),
        ("record_deployment", "report-only"),
        ("rollback_window", "30days"),
    ];

    // Admins only, with the CSRF token.
    let mut reader = Browser::default();
    reader
        .sign_in(&app, &[("user", "reader"), ("password", "rpass")])
        .await;
    let read_page = reader.get(&app, "/ui/environments/production").await;
    assert!(!read_page.text.contains("Save rules"));
    let read_csrf = read_page.csrf();
    let mut read_fields = fields.clone();
    read_fields.push(("csrf", &read_csrf));
    for path in [
        "/ui/environments/production/policy",
        "/ui/environments/production/policy/preview",
    ] {
        assert_eq!(
            reader.post(&app, path, &read_fields).await.status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            admin.post(&app, path, &fields).await.status,
            StatusCode::FORBIDDEN
        );
    }
    fields.push(("csrf", &csrf));

    let preview = admin
        .post(&app, "/ui/environments/production/policy/preview", &fields)
        .await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.text);
    let table = &preview.text[preview.text.find("id=\"preview\"").expect("a preview")..];
    assert!(table.contains("payments"), "{table}");
    assert!(table.contains("Allowed"), "in force: {table}");
    assert!(
        table.contains("Blocked") && table.contains("release party"),
        "{table}"
    );
    assert!(
        preview.text.contains("release party"),
        "the draft stays in the form"
    );
    let (_, policy) = api(&app, "GET", "/policies/production", None).await;
    assert_eq!(
        policy["source"], "default",
        "a preview saves nothing: {policy}"
    );

    // The same validation as PUT /policies/{environment}.
    let mut wrong = fields.clone();
    wrong[3] = ("freeze_windows", "[{\"start\": \"soon\"}");
    let refused = admin
        .post(&app, "/ui/environments/production/policy", &wrong)
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
    assert!(refused.text.contains("role=\"alert\""));
    let mut wrong = fields.clone();
    wrong[3] = (
        "freeze_windows",
        "[{\"start\": \"soon\", \"end\": \"later\"}]",
    );
    let refused = admin
        .post(&app, "/ui/environments/production/policy", &wrong)
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
    let (_, policy) = api(&app, "GET", "/policies/production", None).await;
    assert_eq!(policy["source"], "default");

    let saved = admin
        .post(&app, "/ui/environments/production/policy", &fields)
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text);
    let (_, policy) = api(&app, "GET", "/policies/production", None).await;
    assert_eq!(policy["source"], "environment", "{policy}");
    let rules: Vec<&str> = policy["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["contract-compatibility", "promotion", "freeze"]);
    assert_eq!(policy["rules"][1]["from"], "test");
    // The form shows what was saved.
    let page = admin.get(&app, "/ui/environments/production").await;
    assert!(
        page.text.contains("<option selected>test</option>"),
        "{}",
        page.text
    );
}

#[tokio::test]
async fn a_new_token_sits_in_a_read_only_field_with_a_copy_button_whose_script_treaty_serves() {
    let app = app_with_sign_in().await;
    let mut admin = Browser::default();
    admin.sign_in(&app, &[("token", ADMIN_TOKEN)]).await;
    let page = admin.get(&app, "/ui/tokens").await;
    assert!(
        !page.text.contains("copy.js"),
        "no script where nothing is copied"
    );
    let created = admin
        .post(
            &app,
            "/ui/tokens",
            &[
                ("name", "ci-copy"),
                ("role", "read"),
                ("csrf", &page.csrf()),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert!(created.text.contains("readonly"), "{}", created.text);
    assert!(created.text.contains("data-copy=\"new-token\""));
    assert!(
        created
            .text
            .contains("/ui/assets/copy.js\" defer></script>")
    );
    assert!(!created.text.contains("<script>"), "no inline script");
    let policy = created
        .headers
        .get(header::CONTENT_SECURITY_POLICY)
        .unwrap()
        .to_str()
        .unwrap();
    assert!(policy.contains("script-src 'self';"), "{policy}");
    assert!(policy.starts_with("default-src 'none';") && !policy.contains("unsafe"));

    // Served to anyone, as the stylesheet is (the sign-in page needs no script, but a cache may).
    let script = send(
        &app,
        Request::get("/ui/assets/copy.js")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(script.status, StatusCode::OK);
    assert!(
        script.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(script.text.contains("Copied"));
}
