//! Access decided from what a request is, never from substrings of it: names
//! equal to the words of routes, bodies with numbers, arrays and duplicate
//! keys where names belong; sign-in throttling, cross-site writes, and the
//! challenges a browser can read.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use secrecy::SecretString;
use serde_json::{Value, json};
use treaty_server::ServerConfig;
use treaty_server::access::AuthConfig;

use crate::access::{ADMIN, config};
use crate::support::{Reply, TestApp, pact};

fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

async fn send_raw(
    app: &TestApp,
    authorization: &str,
    method: &str,
    path: &str,
    body: Option<String>,
) -> Reply {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::ACCEPT, "application/hal+json")
        .header(header::AUTHORIZATION, authorization);
    let content_type = if method == "PATCH" {
        "application/merge-patch+json"
    } else {
        "application/json"
    };
    let request = match body {
        Some(body) => request
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap(),
        None => request.body(Body::empty()).unwrap(),
    };
    app.send(request).await
}

/// An app with a production environment, pacts between payments-app and
/// Victim, and a write token limited to `payments-*`.
async fn seeded() -> (TestApp, String) {
    let app = TestApp::with_config(config()).await;
    let admin = format!("Bearer {ADMIN}");
    for (method, path, body) in [
        (
            "POST",
            "/environments",
            json!({"name": "production", "production": true}),
        ),
        (
            "POST",
            "/environments",
            json!({"name": "released-versions", "production": false}),
        ),
        (
            "PUT",
            "/pacts/provider/Victim/consumer/payments-app/version/1",
            pact("payments-app", "Victim", &["/a"]),
        ),
        (
            "PUT",
            "/pacts/provider/payments-api/consumer/Victim/version/1",
            pact("Victim", "payments-api", &["/a"]),
        ),
        (
            "PUT",
            "/policies/released-versions",
            json!({"rules": [{"rule": "freeze", "windows": [{"start": "2020-01-01T00:00:00Z", "end": "2020-01-02T00:00:00Z", "reason": "audit"}]}]}),
        ),
    ] {
        let reply = send_raw(&app, &admin, method, path, Some(body.to_string())).await;
        assert!(reply.status.is_success(), "{method} {path}: {}", reply.text);
    }
    let token = send_raw(
        &app,
        &admin,
        "POST",
        "/tokens",
        Some(
            json!({"name": "ci-payments", "role": "write", "pacticipants": ["payments-*"]})
                .to_string(),
        ),
    )
    .await;
    assert_eq!(token.status, StatusCode::CREATED, "{}", token.text);
    (
        app,
        format!("Bearer {}", token.body["token"].as_str().unwrap()),
    )
}

async fn versions_of(app: &TestApp, pacticipant: &str) -> usize {
    let reply = send_raw(
        app,
        &format!("Bearer {ADMIN}"),
        "GET",
        &format!("/pacticipants/{pacticipant}/versions"),
        None,
    )
    .await;
    reply.body["_embedded"]["versions"]
        .as_array()
        .map_or(0, Vec::len)
}

#[tokio::test]
async fn a_limited_token_cannot_write_outside_its_limit_through_an_odd_path() {
    let (app, limited) = seeded().await;
    let victim_versions = versions_of(&app, "Victim").await;

    // A pact published as Victim, at a version called `verification-results`.
    let pact_as_victim = send_raw(
        &app,
        &limited,
        "PUT",
        "/pacts/provider/payments-api/consumer/Victim/version/verification-results",
        Some(pact("Victim", "payments-api", &["/evil"]).to_string()),
    )
    .await;
    assert_eq!(
        pact_as_victim.status,
        StatusCode::FORBIDDEN,
        "{}",
        pact_as_victim.text
    );
    assert!(
        pact_as_victim.text.contains("may not act for Victim"),
        "{}",
        pact_as_victim.text
    );
    assert_eq!(versions_of(&app, "Victim").await, victim_versions);

    // A deployment whose name is a number, next to an allowed name.
    let event = |name: Value| {
        json!({"product_name": name, "pacticipant": "payments-app", "version": "1",
            "environment_name": "production", "status": "completed"})
        .to_string()
    };
    let mixed = send_raw(
        &app,
        &limited,
        "POST",
        "/deployment-events",
        Some(event(json!(2048))),
    )
    .await;
    assert_eq!(mixed.status, StatusCode::BAD_REQUEST, "{}", mixed.text);
    let number = send_raw(
        &app,
        &limited,
        "POST",
        "/deployment-events",
        Some(json!({"product_name": 2048, "version": "1", "environment_name": "production", "status": "completed"}).to_string()),
    )
    .await;
    assert_eq!(number.status, StatusCode::FORBIDDEN, "{}", number.text);
    // Duplicate keys: the last one is what the handler reads, and what is checked.
    let duplicate = send_raw(
        &app,
        &limited,
        "POST",
        "/deployment-events",
        Some(r#"{"product_name": "payments-app", "product_name": "Victim", "version": "1", "environment_name": "production", "status": "completed"}"#.to_owned()),
    )
    .await;
    assert_eq!(
        duplicate.status,
        StatusCode::FORBIDDEN,
        "{}",
        duplicate.text
    );
    let deployments = send_raw(&app, &limited, "GET", "/deployments", None).await;
    assert_eq!(
        deployments.body["_embedded"]["deployments"]
            .as_array()
            .map_or(0, Vec::len),
        0,
        "{}",
        deployments.text
    );

    // An environment named like a route word: its policy is still administration.
    let writer = basic("writer", "wpass");
    let delete = send_raw(&app, &writer, "DELETE", "/policies/released-versions", None).await;
    assert_eq!(delete.status, StatusCode::FORBIDDEN, "{}", delete.text);
    let still = send_raw(&app, &writer, "GET", "/policies/released-versions", None).await;
    assert!(still.text.contains("audit"), "{}", still.text);
}

#[tokio::test]
async fn ending_a_deployment_acts_for_the_pacticipant_deployed() {
    let (app, limited) = seeded().await;
    let admin = format!("Bearer {ADMIN}");
    let environments = send_raw(&app, &admin, "GET", "/environments", None).await;
    let production = environments.body["_embedded"]["environments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "production")
        .unwrap()["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut uuids = Vec::new();
    for pacticipant in ["Victim", "payments-app"] {
        let recorded = send_raw(
            &app,
            &admin,
            "POST",
            &format!(
                "/pacticipants/{pacticipant}/versions/1/deployed-versions/environment/{production}"
            ),
            Some("{}".to_owned()),
        )
        .await;
        assert_eq!(recorded.status, StatusCode::CREATED, "{}", recorded.text);
        uuids.push(recorded.body["uuid"].as_str().unwrap().to_owned());
    }
    let end = |uuid: &str| {
        let path = format!("/deployed-versions/{uuid}");
        let (app, limited) = (&app, &limited);
        async move {
            send_raw(
                app,
                limited,
                "PATCH",
                &path,
                Some(json!({"currentlyDeployed": false}).to_string()),
            )
            .await
        }
    };
    let victims = end(&uuids[0]).await;
    assert_eq!(victims.status, StatusCode::FORBIDDEN, "{}", victims.text);
    let own = end(&uuids[1]).await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.text);
    let current = send_raw(
        &app,
        &admin,
        "GET",
        &format!("/environments/{production}/deployed-versions/currently-deployed"),
        None,
    )
    .await;
    let still: Vec<&str> = current.body["_embedded"]["deployedVersions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["_embedded"]["pacticipant"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(still, ["Victim"], "{}", current.text);
}

/// Every word of Treaty's routes, and names around them.
const ROUTE_WORDS: &[&str] = &[
    "pacts",
    "provider",
    "consumer",
    "version",
    "versions",
    "verification-results",
    "pact-version",
    "metadata",
    "latest",
    "latest-untagged",
    "tag",
    "tags",
    "branch",
    "branches",
    "pacticipants",
    "labels",
    "label",
    "environments",
    "environment",
    "deployed-versions",
    "released-versions",
    "currently-deployed",
    "webhooks",
    "policies",
    "tokens",
    "audit",
    "integrations",
    "deployments",
    "incidents",
    "for-verification",
    "contracts",
    "publish",
    "deployment-events",
    "can-i-deploy",
    "matrix",
    "ui",
    "payments-app",
    "payments-released-versions",
    "Victim",
];

/// The writes whose pacticipant is in the path: (method, path with `{p}` for
/// the pacticipant acted for and `{w}` for any other parameter), and the body.
fn path_writes() -> Vec<(&'static str, &'static str, Value)> {
    vec![
        ("PUT", "/pacticipants/{p}", json!({})),
        ("PATCH", "/pacticipants/{p}", json!({"displayName": "X"})),
        ("PUT", "/pacticipants/{p}/versions/{w}", json!({})),
        ("PUT", "/pacticipants/{p}/versions/{w}/tags/{w}", json!({})),
        (
            "PUT",
            "/pacticipants/{p}/branches/{w}/versions/{w}",
            json!({}),
        ),
        ("PUT", "/pacticipants/{p}/labels/{w}", json!({})),
        (
            "DELETE",
            "/pacticipants/{p}/versions/{w}/tags/{w}",
            Value::Null,
        ),
        (
            "PUT",
            "/pacts/provider/{w}/consumer/{p}/version/{w}",
            Value::Null,
        ),
        (
            "DELETE",
            "/pacts/provider/{w}/consumer/{p}/version/{w}",
            Value::Null,
        ),
        (
            "POST",
            "/pacts/provider/{p}/consumer/{w}/pact-version/{w}/verification-results",
            json!({"success": true, "providerApplicationVersion": "1"}),
        ),
        (
            "DELETE",
            "/pacts/provider/{p}/consumer/{w}/pact-version/{w}/verification-results/{w}",
            Value::Null,
        ),
        (
            "DELETE",
            "/pacts/provider/{p}/consumer/{w}/pact-version/{w}/metadata/{w}/verification-results/{w}",
            Value::Null,
        ),
        (
            "PUT",
            "/pacts/provider/{w}/consumer/{p}/versions/{w}",
            Value::Null,
        ),
        (
            "DELETE",
            "/pacts/provider/{w}/consumer/{p}/versions/{w}",
            Value::Null,
        ),
        (
            "DELETE",
            "/pacts/provider/{w}/consumer/{p}/versions",
            Value::Null,
        ),
        (
            "DELETE",
            "/pacts/provider/{w}/consumer/{p}/tag/{w}",
            Value::Null,
        ),
        (
            "DELETE",
            "/pacts/provider/{w}/consumer/{p}/branch/{w}",
            Value::Null,
        ),
        (
            "DELETE",
            "/pacts/provider/{w}/consumer/{p}/branch/versions",
            Value::Null,
        ),
        (
            "DELETE",
            "/pacts/provider/{w}/consumer/{p}/branch/{w}/latest/versions",
            Value::Null,
        ),
        ("DELETE", "/pacticipants/{p}/branches", Value::Null),
    ]
}

#[test]
fn the_table_of_who_may_write_holds_for_names_that_are_route_words() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (app, limited) = runtime.block_on(seeded());
    let word = proptest::sample::select(ROUTE_WORDS);
    let strategy = (
        0..path_writes().len(),
        word.clone(),
        proptest::collection::vec(word, 3),
    );
    let mut runner = TestRunner::new(Config {
        cases: 300,
        ..Config::default()
    });
    let outcome = runner.run(&strategy, |(route, acting, others)| {
        let (method, template, body) = path_writes()[route].clone();
        let mut path = template.replace("{p}", acting);
        for other in &others {
            path = path.replacen("{w}", other, 1);
        }
        let body = if template.starts_with("/pacts/") && method == "PUT" {
            Some(pact(acting, others[0], &["/x"]).to_string())
        } else {
            (!body.is_null()).then(|| body.to_string())
        };
        let limited_reply = runtime.block_on(send_raw(&app, &limited, method, &path, body.clone()));
        let reader = runtime.block_on(send_raw(
            &app,
            &basic("reader", "rpass"),
            method,
            &path,
            body,
        ));
        let may = acting.starts_with("payments-");
        prop_assert!(
            !limited_reply.status.is_server_error() && !reader.status.is_server_error(),
            "{method} {path}: {} / {}",
            limited_reply.text,
            reader.text
        );
        prop_assert_eq!(
            limited_reply.status == StatusCode::FORBIDDEN,
            !may,
            "limited token, {} {}: {}",
            method,
            path,
            limited_reply.text
        );
        prop_assert_eq!(
            reader.status,
            StatusCode::FORBIDDEN,
            "reader, {} {}",
            method,
            path
        );
        Ok(())
    });
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
}

#[test]
fn bodies_with_numbers_arrays_and_duplicates_where_names_belong_never_write_outside_the_limit() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (app, limited) = runtime.block_on(seeded());
    let name = prop_oneof![
        proptest::sample::select(ROUTE_WORDS).prop_map(|w| json!(w)),
        any::<i32>().prop_map(|n| json!(n)),
        proptest::sample::select(ROUTE_WORDS).prop_map(|w| json!([w, "payments-app"])),
        Just(json!({"name": "payments-app"})),
    ];
    let strategy = (0..3usize, name, proptest::bool::ANY);
    let mut runner = TestRunner::new(Config {
        cases: 200,
        ..Config::default()
    });
    let outcome = runner.run(&strategy, |(route, name, duplicate)| {
        let encoded = |object: Value| {
            let text = object.to_string();
            if duplicate {
                // An allowed name first, then the generated one under the same key.
                let key = if route == 0 { "pacticipantName" } else if route == 1 { "product_name" } else { "name" };
                text.replacen('{', &format!("{{\"{key}\": \"payments-app\", "), 1)
            } else {
                text
            }
        };
        let (path, body) = match route {
            0 => ("/contracts/publish", encoded(json!({
                "pacticipantName": name, "pacticipantVersionNumber": "7",
                "contracts": [{"consumerName": name, "providerName": "ledger", "specification": "pact",
                    "contentType": "application/json",
                    "content": base64::engine::general_purpose::STANDARD.encode(pact("payments-app", "ledger", &["/b"]).to_string())}]}))),
            1 => ("/deployment-events", encoded(json!({
                "product_name": name, "version": "1", "environment_name": "production", "status": "completed"}))),
            _ => ("/pacticipants", encoded(json!({"name": name}))),
        };
        let reply = runtime.block_on(send_raw(&app, &limited, "POST", path, Some(body)));
        prop_assert!(!reply.status.is_server_error(), "{path}: {}", reply.text);
        if reply.status.is_success() {
            // What was written is for a pacticipant within the limit.
            let written = reply.text.contains("payments-");
            prop_assert!(written, "{path}: {}", reply.text);
        }
        Ok(())
    });
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
    // Nothing outside the limit was created or deployed.
    let admin = format!("Bearer {ADMIN}");
    let pacticipants = runtime.block_on(send_raw(
        &app,
        &admin,
        "GET",
        "/pacticipants?size=1000",
        None,
    ));
    let names: Vec<&str> = pacticipants.body["_embedded"]["pacticipants"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["name"].as_str())
        // Victim was seeded; ledger is the provider of payments-app's pacts
        // (publishing a pact names its provider, as on the Pact Broker).
        .filter(|n| !n.starts_with("payments-") && !["ledger", "Victim"].contains(n))
        .collect();
    assert_eq!(names, Vec::<&str>::new());
    let deployments = runtime.block_on(send_raw(
        &app,
        &admin,
        "GET",
        "/deployments?size=1000",
        None,
    ));
    for deployment in deployments.body["_embedded"]["deployments"]
        .as_array()
        .unwrap()
    {
        assert!(
            deployment["product_name"]
                .as_str()
                .unwrap()
                .starts_with("payments-"),
            "{deployment}"
        );
    }
}

#[tokio::test]
async fn failed_sign_ins_are_throttled_then_let_through_soon() {
    // 60 failures a minute: a burst of 60, then one a second.
    let app = TestApp::with_config(ServerConfig {
        sign_in_failures_per_minute: 60,
        ..config()
    })
    .await;
    let wrong = basic("writer", "guess");
    let mut answers = Vec::new();
    for _ in 0..100 {
        answers.push(send_raw(&app, &wrong, "GET", "/", None).await.status);
    }
    let unauthorized = answers
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let throttled = answers
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert!((60..=62).contains(&unauthorized), "{answers:?}");
    assert_eq!(unauthorized + throttled, 100);
    let response = tower::ServiceExt::oneshot(
        app.router.clone(),
        Request::get("/")
            .header(header::AUTHORIZATION, basic("writer", "wpass"))
            .body(Body::empty())
            .unwrap(),
    )
    .await
    .unwrap();
    // Right credentials from the guessing address wait too, but briefly.
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = response.headers()[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&wait), "Retry-After {wait}");
    tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
    let reply = send_raw(&app, &basic("writer", "wpass"), "GET", "/", None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
}

#[tokio::test]
async fn each_scheme_is_challenged_in_its_own_header_and_read_in_any_case() {
    let app = TestApp::with_config(config()).await;
    let response = tower::ServiceExt::oneshot(
        app.router.clone(),
        Request::get("/").body(Body::empty()).unwrap(),
    )
    .await
    .unwrap();
    let challenges: Vec<&str> = response
        .headers()
        .get_all(header::WWW_AUTHENTICATE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(
        challenges,
        [
            "Basic realm=\"Treaty\", charset=\"UTF-8\"",
            "Bearer realm=\"Treaty\""
        ]
    );
    let basic_only = TestApp::with_config(ServerConfig {
        auth: AuthConfig {
            basic: Some(("writer".into(), SecretString::from("wpass"))),
            ..AuthConfig::default()
        },
        ..config()
    })
    .await;
    let response = tower::ServiceExt::oneshot(
        basic_only.router.clone(),
        Request::get("/").body(Body::empty()).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(
        response
            .headers()
            .get_all(header::WWW_AUTHENTICATE)
            .iter()
            .count(),
        1
    );
    let lower = format!("bearer {ADMIN}");
    assert_eq!(
        send_raw(&app, &lower, "GET", "/tokens", None).await.status,
        StatusCode::OK
    );
    let upper = basic("reader", "rpass").replacen("Basic", "BASIC", 1);
    assert_eq!(
        send_raw(&app, &upper, "GET", "/", None).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn writes_from_another_site_or_without_a_json_type_are_refused() {
    let app = TestApp::new().await;
    let publish = |headers: &[(&str, &str)], body: &str| {
        let mut request = Request::post("/pacticipants");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        app.send(request.body(Body::from(body.to_owned())).unwrap())
    };
    let body = json!({"name": "Foo"}).to_string();
    let no_type = publish(&[], &body).await;
    assert_eq!(
        no_type.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "{}",
        no_type.text
    );
    assert!(no_type.text.contains("no Content-Type"), "{}", no_type.text);
    let text = publish(&[("content-type", "text/plain")], &body).await;
    assert_eq!(text.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let cross_site = publish(
        &[
            ("content-type", "application/json"),
            ("sec-fetch-site", "cross-site"),
        ],
        &body,
    )
    .await;
    assert_eq!(
        cross_site.status,
        StatusCode::FORBIDDEN,
        "{}",
        cross_site.text
    );
    let other_origin = publish(
        &[
            ("content-type", "application/json"),
            ("origin", "https://evil.example"),
        ],
        &body,
    )
    .await;
    assert_eq!(
        other_origin.status,
        StatusCode::FORBIDDEN,
        "{}",
        other_origin.text
    );
    // A body-less write from another site is refused too (no preflight for a simple POST).
    let empty_cross_site = publish(&[("sec-fetch-site", "cross-site")], "").await;
    assert_eq!(empty_cross_site.status, StatusCode::FORBIDDEN);
    // Nothing was created.
    assert_eq!(
        app.get("/pacticipants/Foo").await.status,
        StatusCode::NOT_FOUND
    );
    // Its own origin, and clients that send neither header, are welcome.
    let same = publish(
        &[
            ("content-type", "application/json"),
            ("origin", crate::support::BASE),
            ("sec-fetch-site", "same-origin"),
        ],
        &body,
    )
    .await;
    assert_eq!(same.status, StatusCode::CREATED, "{}", same.text);
    let merge_patch = app
        .send_json(
            "PATCH",
            "/pacticipants/Foo",
            "application/merge-patch+json",
            &json!({"displayName": "F"}),
        )
        .await;
    assert_eq!(merge_patch.status, StatusCode::OK, "{}", merge_patch.text);
}

#[tokio::test]
async fn a_flood_of_refused_writes_costs_a_bounded_audit_log() {
    let app = TestApp::with_config(config()).await;
    let long_query = "x".repeat(60 * 1024);
    for n in 0..300 {
        let reply = app
            .send(
                Request::post(format!("/contracts/publish?{n}{long_query}"))
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from("{}"))
                    .unwrap(),
            )
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    let audit = send_raw(
        &app,
        &format!("Bearer {ADMIN}"),
        "GET",
        "/audit?size=1000",
        None,
    )
    .await;
    let entries = audit.body["_embedded"]["entries"].as_array().unwrap();
    // Ten from this address in this minute, one by one; the rest are
    // counted in one entry when the minute is over.
    assert_eq!(entries.len(), 10, "{}", audit.text.len());
    for entry in entries {
        let target = entry["target"].as_str().unwrap();
        assert!(target.len() <= 2048 + 32, "{} bytes", target.len());
        assert!(
            target.ends_with("bytes)"),
            "{}",
            &target[target.len() - 40..]
        );
        assert_eq!(entry["outcome"], "refused");
    }
}

/// Deleting pacts acts for their consumer, a verification result for its
/// provider: a limited token deletes its own and is refused the others',
/// which stay.
#[tokio::test]
async fn a_limited_token_deletes_only_its_own_pacts_and_results() {
    let (app, limited) = seeded().await;
    let admin = format!("Bearer {ADMIN}");
    let pacts_of = |provider: &'static str, consumer: &'static str| {
        let (app, admin) = (&app, admin.clone());
        async move {
            let path = format!("/pacts/provider/{provider}/consumer/{consumer}/versions");
            let reply = send_raw(app, &admin, "GET", &path, None).await;
            reply.body["_embedded"]["pacts"]
                .as_array()
                .map_or(0, Vec::len)
        }
    };
    // Victim verifies payments-app's pact: the result is Victim's.
    let pact = send_raw(
        &app,
        &admin,
        "GET",
        "/pacts/provider/Victim/consumer/payments-app/latest",
        None,
    )
    .await;
    let publish = pact.body["_links"]["pb:publish-verification-results"]["href"]
        .as_str()
        .unwrap()
        .trim_start_matches("http://broker.test")
        .to_owned();
    let result = send_raw(
        &app,
        &admin,
        "POST",
        &publish,
        Some(json!({"success": true, "providerApplicationVersion": "1"}).to_string()),
    )
    .await;
    assert_eq!(result.status, StatusCode::CREATED, "{}", result.text);
    let result = result
        .location
        .unwrap()
        .trim_start_matches("http://broker.test")
        .to_owned();

    for path in [
        "/pacts/provider/payments-api/consumer/Victim/versions",
        "/pacts/provider/payments-api/consumer/Victim/versions/1",
        "/pacts/provider/payments-api/consumer/Victim/branch/versions",
        result.as_str(),
        "/pacticipants/Victim/branches",
    ] {
        let reply = send_raw(&app, &limited, "DELETE", path, None).await;
        assert_eq!(
            reply.status,
            StatusCode::FORBIDDEN,
            "{path}: {}",
            reply.text
        );
    }
    assert_eq!(pacts_of("payments-api", "Victim").await, 1);
    let still = send_raw(&app, &admin, "GET", &result, None).await;
    assert_eq!(still.status, StatusCode::OK, "{}", still.text);

    let own = send_raw(
        &app,
        &limited,
        "DELETE",
        "/pacts/provider/Victim/consumer/payments-app/versions",
        None,
    )
    .await;
    assert_eq!(own.status, StatusCode::NO_CONTENT, "{}", own.text);
    assert_eq!(pacts_of("Victim", "payments-app").await, 0);
}
