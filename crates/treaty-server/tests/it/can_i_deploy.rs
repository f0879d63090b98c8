//! The ten can-i-deploy and deployment scenarios of the API reference (§9),
//! over HTTP, with the Pact Broker's verdicts, counts and reasons.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::support::{TestApp, pact};

struct World {
    app: TestApp,
}

impl World {
    async fn new() -> Self {
        Self {
            app: TestApp::new().await,
        }
    }

    async fn publish(&self, consumer: &str, version: &str, provider: &str, path: &str) {
        let reply = self
            .app
            .publish(
                consumer,
                version,
                None,
                &[],
                &[(provider, pact(consumer, provider, &[path]))],
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    }

    async fn verify(
        &self,
        consumer: &str,
        version: &str,
        provider: &str,
        provider_version: &str,
        success: bool,
    ) {
        let pact = self
            .app
            .get(&format!(
                "/pacts/provider/{provider}/consumer/{consumer}/version/{version}"
            ))
            .await;
        let sha = pact.body["_links"]["pb:pact-version"]["name"]
            .as_str()
            .unwrap()
            .to_owned();
        let reply = self
            .app
            .post(
                &format!("/pacts/provider/{provider}/consumer/{consumer}/pact-version/{sha}/verification-results"),
                &json!({"success": success, "providerApplicationVersion": provider_version}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    }

    async fn environment(&self, name: &str) -> String {
        let reply = self
            .app
            .post(
                "/environments",
                &json!({"name": name, "production": name == "production"}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        reply.body["uuid"].as_str().unwrap().to_owned()
    }

    async fn deploy(
        &self,
        pacticipant: &str,
        version: &str,
        environment: &str,
        instance: Option<&str>,
    ) -> Value {
        let body = instance.map_or_else(|| json!({}), |i| json!({"applicationInstance": i}));
        let reply = self
            .app
            .post(&format!("/pacticipants/{pacticipant}/versions/{version}/deployed-versions/environment/{environment}"), &body)
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        reply.body
    }

    async fn release(
        &self,
        pacticipant: &str,
        version: &str,
        environment: &str,
    ) -> (StatusCode, Value) {
        let reply = self
            .app
            .post(&format!("/pacticipants/{pacticipant}/versions/{version}/released-versions/environment/{environment}"), &json!({}))
            .await;
        (reply.status, reply.body)
    }

    async fn ask(&self, path: &str) -> Value {
        let reply = self.app.get(path).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.text);
        reply.body
    }
}

fn verdict(body: &Value) -> (Value, String, u64, u64, u64) {
    let s = &body["summary"];
    (
        s["deployable"].clone(),
        s["reason"].as_str().unwrap_or_default().to_owned(),
        s["success"].as_u64().unwrap(),
        s["failed"].as_u64().unwrap(),
        s["unknown"].as_u64().unwrap(),
    )
}

fn fixes(body: &Value) -> usize {
    body["explanation"]["fixes"].as_array().map_or(0, Vec::len)
}

/// Scenarios 1 and 2: the happy path, a required provider missing from the
/// environment, and ignoring it.
#[tokio::test]
async fn happy_path_missing_provider_and_ignore() {
    let w = World::new().await;
    w.publish("Foo", "1", "Bar", "/bar").await;
    w.app
        .put("/pacticipants/Foo/versions/1/tags/dev", &json!({}))
        .await;
    w.verify("Foo", "1", "Bar", "10", true).await;
    w.app
        .put("/pacticipants/Bar/versions/10/tags/prod", &json!({}))
        .await;
    let production = w.environment("production").await;
    w.deploy("Bar", "10", &production, None).await;

    let yes = w
        .ask("/can-i-deploy?pacticipant=Foo&version=1&environment=production")
        .await;
    assert_eq!(
        verdict(&yes),
        (
            json!(true),
            "All required verification results are published and successful".into(),
            1,
            0,
            0
        )
    );
    assert_eq!(fixes(&yes), 0);
    let by_tag = w
        .ask("/pacticipants/Foo/latest-version/dev/can-i-deploy/to/prod")
        .await;
    assert_eq!(by_tag["summary"]["deployable"], true);
    assert!(
        by_tag["summary"]["reason"]
            .as_str()
            .unwrap()
            .starts_with("WARN: It is recommended to specify the version number")
    );

    w.publish("Foo", "1", "Baz", "/baz").await;
    w.verify("Foo", "1", "Baz", "99", false).await;
    let unknown = w
        .ask("/can-i-deploy?pacticipant=Foo&version=1&environment=production")
        .await;
    assert_eq!(
        verdict(&unknown),
        (Value::Null, "There is no verified pact between version 1 of Foo and a version of Baz currently in production (no version is currently recorded as deployed/released in this environment)".into(), 1, 0, 1)
    );
    assert_eq!(fixes(&unknown), 1);

    let ignoring = w
        .ask("/can-i-deploy?pacticipant=Foo&version=1&environment=production&ignore[]=Baz")
        .await;
    assert_eq!(ignoring["summary"]["deployable"], true);
    assert_eq!(ignoring["summary"]["ignored"], 1);
    let ignored_rows: Vec<&Value> = ignoring["matrix"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["ignored"] == true)
        .collect();
    assert_eq!(ignored_rows.len(), 1);
    assert_eq!(ignored_rows[0]["provider"]["name"], "Baz");
}

/// Scenario 3: two released provider versions, one failing: every co-resident
/// version is checked (cvpv); asked with cvp (the Ruby client), only the newest.
#[tokio::test]
async fn several_released_provider_versions() {
    let w = World::new().await;
    w.publish("Waffle", "1", "Pancake", "/p").await;
    w.verify("Waffle", "1", "Pancake", "10", false).await;
    w.verify("Waffle", "1", "Pancake", "11", true).await;
    let production = w.environment("production").await;
    assert_eq!(
        w.release("Pancake", "10", &production).await.0,
        StatusCode::CREATED
    );
    assert_eq!(
        w.release("Pancake", "11", &production).await.0,
        StatusCode::CREATED
    );
    let strict = w
        .ask("/can-i-deploy?pacticipant=Waffle&version=1&environment=production")
        .await;
    assert_eq!(strict["matrix"].as_array().unwrap().len(), 2);
    assert_eq!(verdict(&strict).0, json!(false),);
    assert_eq!(
        strict["summary"]["reason"],
        "The verification for the pact between version 1 of Waffle and one of the versions of Pancake currently in production (10) failed"
    );
    let newest = w
        .ask("/matrix?q[][pacticipant]=Waffle&q[][version]=1&latestby=cvp&environment=production")
        .await;
    assert_eq!(newest["summary"]["deployable"], true);
    assert_eq!(newest["matrix"].as_array().unwrap().len(), 1);
}

/// Scenario 4: deployed versions on different application instances all count.
#[tokio::test]
async fn several_deployed_instances() {
    let w = World::new().await;
    w.publish("Waffle", "1", "Pancake", "/p").await;
    w.verify("Waffle", "1", "Pancake", "10", false).await;
    w.verify("Waffle", "1", "Pancake", "11", true).await;
    let production = w.environment("production").await;
    w.deploy("Pancake", "10", &production, Some("instance-1"))
        .await;
    w.deploy("Pancake", "11", &production, Some("instance-2"))
        .await;
    let answer = w
        .ask("/can-i-deploy?pacticipant=Waffle&version=1&environment=production")
        .await;
    assert_eq!(answer["matrix"].as_array().unwrap().len(), 2);
    assert_eq!(answer["summary"]["deployable"], false);
    w.verify("Waffle", "1", "Pancake", "10", true).await;
    let fixed = w
        .ask("/can-i-deploy?pacticipant=Waffle&version=1&environment=production")
        .await;
    assert_eq!(fixed["summary"]["deployable"], true);
}

/// A provider version both deployed and released to an environment is one
/// version there: one row, and the environment once in its version's list.
#[tokio::test]
async fn a_version_deployed_and_released_counts_once() {
    let w = World::new().await;
    w.publish("Waffle", "1", "Pancake", "/p").await;
    w.verify("Waffle", "1", "Pancake", "10", true).await;
    let production = w.environment("production").await;
    w.deploy("Pancake", "10", &production, None).await;
    assert_eq!(
        w.release("Pancake", "10", &production).await.0,
        StatusCode::CREATED
    );
    let answer = w
        .ask("/can-i-deploy?pacticipant=Waffle&version=1&environment=production")
        .await;
    let rows = answer["matrix"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{answer}");
    assert_eq!(verdict(&answer).2, 1);
    let environments = rows[0]["provider"]["version"]["environments"]
        .as_array()
        .unwrap();
    assert_eq!(environments.len(), 1, "{answer}");
    assert_eq!(environments[0]["name"], "production");
}

/// Scenario 5: a redeployment replaces the previous version in its slot.
#[tokio::test]
async fn redeployment_replaces_the_previous_version() {
    let w = World::new().await;
    w.publish("Waffle", "1", "Pancake", "/p").await;
    w.verify("Waffle", "1", "Pancake", "10", true).await;
    w.verify("Waffle", "1", "Pancake", "11", false).await;
    let production = w.environment("production").await;
    let first = w.deploy("Pancake", "10", &production, None).await;
    w.deploy("Pancake", "11", &production, None).await;
    let replaced = w
        .app
        .get(&format!(
            "/deployed-versions/{}",
            first["uuid"].as_str().unwrap()
        ))
        .await;
    assert_eq!(replaced.body["currentlyDeployed"], false);
    assert!(replaced.body["undeployedAt"].is_string());
    let answer = w
        .ask("/can-i-deploy?pacticipant=Waffle&version=1&environment=production")
        .await;
    assert_eq!(answer["matrix"].as_array().unwrap().len(), 1);
    assert_eq!(
        answer["summary"]["deployable"], false,
        "v11 failed, even though v10 passed"
    );
}

/// Scenario 6: the provider goes first; the consumer waits for it.
#[tokio::test]
async fn provider_first_then_consumer() {
    let w = World::new().await;
    w.publish("Foo", "1", "Bar", "/bar").await;
    w.verify("Foo", "1", "Bar", "2", true).await;
    let test = w.environment("test").await;
    let provider = w
        .ask("/can-i-deploy?pacticipant=Bar&version=2&environment=test")
        .await;
    assert_eq!(verdict(&provider).0, json!(true));
    assert_eq!(verdict(&provider).1, "There are no missing dependencies");
    let consumer = w
        .ask("/can-i-deploy?pacticipant=Foo&version=1&environment=test")
        .await;
    assert_eq!(verdict(&consumer).0, Value::Null);
    assert!(
        verdict(&consumer)
            .1
            .contains("a version of Bar currently in test (no version is currently recorded")
    );
    w.deploy("Bar", "2", &test, None).await;
    assert_eq!(
        w.ask("/can-i-deploy?pacticipant=Foo&version=1&environment=test")
            .await["summary"]["deployable"],
        true
    );

    // A provider version that has not verified what is deployed cannot follow it.
    w.deploy("Foo", "1", &test, None).await;
    w.app.put("/pacticipants/Bar/versions/3", &json!({})).await;
    let unverified = w
        .ask("/can-i-deploy?pacticipant=Bar&version=3&environment=test")
        .await;
    assert_eq!(unverified["summary"]["deployable"], Value::Null);
    assert!(fixes(&unverified) > 0);
}

/// Scenario 7: an unknown version is a "no"; bad inputs are 400s.
#[tokio::test]
async fn unknown_versions_and_bad_inputs() {
    let w = World::new().await;
    w.publish("Foo", "1", "Bar", "/bar").await;
    w.environment("test").await;
    let answer = w
        .ask("/can-i-deploy?pacticipant=Foo&version=nope&environment=test")
        .await;
    assert_eq!(
        verdict(&answer),
        (
            json!(false),
            "No pacts or verifications have been published for version nope of Foo".into(),
            0,
            0,
            0
        )
    );
    let unknown = w
        .app
        .get("/can-i-deploy?pacticipant=Nobody&version=1&environment=test")
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        unknown.body["errors"],
        json!({"pacticipant": ["does not match an existing pacticipant"]})
    );
    let no_environment = w
        .app
        .get("/can-i-deploy?pacticipant=Foo&version=1&environment=mars")
        .await;
    assert_eq!(no_environment.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        no_environment.body["errors"]["environment"][0],
        "with name 'mars' does not exist"
    );
    let neither = w.app.get("/can-i-deploy?pacticipant=Foo&version=1").await;
    assert_eq!(neither.status, StatusCode::BAD_REQUEST);
    for (query, message) in [
        (
            "q[][pacticipant]=Foo&latest=true&environment=test",
            "Cannot specify both latest=true and an environment.",
        ),
        (
            "latestby=cvpv",
            "Please provide 1 or more version selectors.",
        ),
        ("q[][pacticipant]=Nobody", "Pacticipant Nobody not found"),
        (
            "q[][pacticipant]=Foo&q=bar",
            "Please provide the version selectors as",
        ),
        (
            "a=1&a[]=2&q[][pacticipant]=Foo",
            "is used both as a single value and as a list",
        ),
        (
            "q[][pacticipant]=Foo&limit=-1",
            "The limit must be 1 or greater.",
        ),
    ] {
        let reply = w.app.get(&format!("/matrix?{query}")).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{query}");
        assert!(
            reply.body["errors"].to_string().contains(message),
            "{query}: {}",
            reply.text
        );
    }
}

/// Scenario 8: identical content is pre-verified; changed content is not.
#[tokio::test]
async fn identical_content_is_pre_verified() {
    let w = World::new().await;
    w.publish("Foo", "1", "Bar", "/x").await;
    w.verify("Foo", "1", "Bar", "10", true).await;
    let production = w.environment("production").await;
    w.deploy("Bar", "10", &production, None).await;
    w.publish("Foo", "2", "Bar", "/x").await;
    let same = w
        .ask("/can-i-deploy?pacticipant=Foo&version=2&environment=production")
        .await;
    assert_eq!(same["summary"]["deployable"], true);
    assert_eq!(same["matrix"][0]["provider"]["version"]["number"], "10");
    w.publish("Foo", "3", "Bar", "/changed").await;
    assert_eq!(
        w.ask("/can-i-deploy?pacticipant=Foo&version=3&environment=production")
            .await["summary"]["deployable"],
        Value::Null
    );
}

/// Scenario 9: unknown beats failure; success filter; limit; a lone selector warns.
#[tokio::test]
async fn unknown_beats_failure() {
    let w = World::new().await;
    w.publish("Foo", "1", "Bar", "/1").await;
    w.verify("Foo", "1", "Bar", "10", true).await;
    w.publish("Foo", "2", "Bar", "/2").await;
    w.verify("Foo", "2", "Bar", "20", false).await;
    w.publish("Foo", "3", "Bar", "/3").await;
    let all = w
        .ask("/matrix?q[][pacticipant]=Foo&q[][pacticipant]=Bar&latestby=cvpv")
        .await;
    assert_eq!(all["matrix"].as_array().unwrap().len(), 3);
    assert_eq!(
        verdict(&all),
        (Value::Null, "The verification for the pact between any version of Foo and any version of Bar failed\nThere is no verified pact between any version of Foo and any version of Bar".into(), 1, 1, 1)
    );
    let types: Vec<&str> = all["notices"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["type"] != "info")
        .map(|n| n["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["error", "error"]);
    let successful = w
        .ask("/matrix?q[][pacticipant]=Foo&q[][pacticipant]=Bar&latestby=cvpv&success[]=true")
        .await;
    assert_eq!(
        (
            successful["matrix"].as_array().unwrap().len(),
            successful["summary"]["deployable"].clone()
        ),
        (1, json!(true))
    );
    let limited = w
        .ask("/matrix?q[][pacticipant]=Foo&q[][pacticipant]=Bar&latestby=cvpv&limit=1")
        .await;
    assert_eq!(limited["matrix"].as_array().unwrap().len(), 1);
    let lone = w
        .ask("/matrix?q[][pacticipant]=Foo&q[][version]=1&latestby=cvpv&latest=true")
        .await;
    assert_eq!(
        verdict(&lone),
        (Value::Null, "WARN: It is recommended to specify the environment into which you are deploying. Without the environment, this result will not be reliable.\nThere is no verified pact between version 1 of Foo and the latest version of Bar (20)".into(), 0, 0, 1)
    );
}

/// Scenario 10: the deployment ledger's lifecycle, then pacts for verification of what runs.
#[tokio::test]
async fn deployment_and_release_lifecycle() {
    let w = World::new().await;
    for version in ["1", "2", "3", "4"] {
        w.publish("Foo", version, "Bar", &format!("/{version}"))
            .await;
    }
    let test = w.environment("test").await;
    let first = w.deploy("Foo", "1", &test, None).await;
    let second = w.deploy("Foo", "2", &test, None).await;
    assert_eq!(
        w.app
            .get(&format!(
                "/deployed-versions/{}",
                first["uuid"].as_str().unwrap()
            ))
            .await
            .body["currentlyDeployed"],
        false
    );
    let again = w.deploy("Foo", "2", &test, None).await;
    assert_eq!(
        again["uuid"], second["uuid"],
        "the current version recorded again is the same record"
    );
    w.deploy("Foo", "3", &test, Some("blue")).await;
    let current = |query: &'static str| {
        let app = &w.app;
        let test = test.clone();
        async move {
            let body = app
                .get(&format!(
                    "/environments/{test}/deployed-versions/currently-deployed?{query}"
                ))
                .await
                .body;
            body["_embedded"]["deployedVersions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| {
                    d["_embedded"]["version"]["number"]
                        .as_str()
                        .unwrap()
                        .to_owned()
                })
                .collect::<Vec<_>>()
        }
    };
    // The most recent deployment first, as the Pact Broker lists them.
    assert_eq!(current("pacticipant=Foo").await, ["3", "2"]);
    assert_eq!(current("pacticipant=Foo&applicationInstance=").await, ["2"]);
    assert_eq!(
        current("pacticipant=Foo&applicationInstance=blue").await,
        ["3"]
    );
    let uuid = second["uuid"].as_str().unwrap();
    let undeploy = w
        .app
        .send_json(
            "PATCH",
            &format!("/deployed-versions/{uuid}"),
            "application/merge-patch+json",
            &json!({"currentlyDeployed": false}),
        )
        .await;
    assert_eq!(undeploy.status, StatusCode::OK);
    let back = w
        .app
        .send_json(
            "PATCH",
            &format!("/deployed-versions/{uuid}"),
            "application/merge-patch+json",
            &json!({"currentlyDeployed": true}),
        )
        .await;
    assert_eq!(back.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        back.body["errors"]["currentlyDeployed"][0],
        "The currentlyDeployed property cannot be set back to true. Please record a new deployment."
    );

    let (created, release) = w.release("Foo", "1", &test).await;
    assert_eq!(created, StatusCode::CREATED);
    let (again, same) = w.release("Foo", "1", &test).await;
    assert_eq!(
        (again, same["uuid"].clone()),
        (StatusCode::OK, release["uuid"].clone())
    );
    let ended = w
        .app
        .send_json(
            "PATCH",
            &format!("/released-versions/{}", release["uuid"].as_str().unwrap()),
            "application/merge-patch+json",
            &json!({"currentlySupported": false}),
        )
        .await;
    assert!(ended.body["supportEndedAt"].is_string());
    let (reactivated, body) = w.release("Foo", "1", &test).await;
    assert_eq!(
        (reactivated, body["currentlySupported"].clone()),
        (StatusCode::OK, json!(true))
    );

    let pacts = w
        .app
        .post(
            "/pacts/provider/Bar/for-verification",
            &json!({"consumerVersionSelectors": [{"deployedOrReleased": true}]}),
        )
        .await;
    let mut names: Vec<&str> = pacts.body["_embedded"]["pacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["_links"]["self"]["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "Pact between Foo (1) and Bar",
            "Pact between Foo (3) and Bar"
        ]
    );

    // Tagging a version with an environment's name records a deployment.
    w.app
        .put("/pacticipants/Foo/versions/4/tags/test", &json!({}))
        .await;
    assert!(
        current("pacticipant=Foo&applicationInstance=")
            .await
            .contains(&"4".to_owned())
    );
}

/// Concurrent record-deployment of two versions to the same slot: exactly one stays current.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_deployments_to_one_slot_leave_one_current() {
    let w = World::new().await;
    for version in 0..12 {
        w.app
            .put(&format!("/pacticipants/Foo/versions/{version}"), &json!({}))
            .await;
    }
    let test = w.environment("test").await;
    let mut tasks = Vec::new();
    for version in 0..12 {
        let router = w.app.router.clone();
        let test = test.clone();
        tasks.push(tokio::spawn(async move {
            use tower::ServiceExt;
            let request = axum::http::Request::post(format!(
                "/pacticipants/Foo/versions/{version}/deployed-versions/environment/{test}"
            ))
            .header("content-type", "application/json")
            .body(axum::body::Body::from("{}"))
            .unwrap();
            router.oneshot(request).await.unwrap().status()
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), StatusCode::CREATED);
    }
    let current = w
        .app
        .get(&format!(
            "/environments/{test}/deployed-versions/currently-deployed?pacticipant=Foo"
        ))
        .await;
    assert_eq!(
        current.body["_embedded"]["deployedVersions"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let mut undeployed = 0;
    for version in 0..12 {
        let v = w
            .app
            .get(&format!("/pacticipants/Foo/versions/{version}"))
            .await;
        for d in v.body["_links"]["pb:deployed-environments"]
            .as_array()
            .unwrap()
        {
            if d["currently_deployed"] == false {
                undeployed += 1;
            }
        }
    }
    assert_eq!(undeployed, 11);
}

/// A rollback is recording an older version again: it becomes current, in a new record.
#[tokio::test]
async fn rollback_records_the_older_version_again() {
    let w = World::new().await;
    for version in ["1", "2"] {
        w.app
            .put(&format!("/pacticipants/Foo/versions/{version}"), &json!({}))
            .await;
    }
    let production = w.environment("production").await;
    let first = w.deploy("Foo", "1", &production, None).await;
    w.deploy("Foo", "2", &production, None).await;
    let rollback = w.deploy("Foo", "1", &production, None).await;
    assert_ne!(rollback["uuid"], first["uuid"], "a new deployment record");
    let current = w
        .app
        .get(&format!(
            "/environments/{production}/deployed-versions/currently-deployed?pacticipant=Foo"
        ))
        .await;
    let versions: Vec<&str> = current.body["_embedded"]["deployedVersions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["_embedded"]["version"]["number"].as_str().unwrap())
        .collect();
    assert_eq!(versions, ["1"]);
}

/// The branch-to-environment variant, and a 404 where the branch has no
/// version or the environment does not exist, as in the Pact Broker.
#[tokio::test]
async fn branch_to_environment() {
    let w = World::new().await;
    w.app
        .publish(
            "Foo",
            "1",
            Some("main"),
            &[],
            &[("Bar", pact("Foo", "Bar", &["/bar"]))],
        )
        .await;
    w.verify("Foo", "1", "Bar", "10", true).await;
    let production = w.environment("production").await;
    w.deploy("Bar", "10", &production, None).await;
    let answer = w
        .ask(
            "/pacticipants/Foo/branches/main/latest-version/can-i-deploy/to-environment/production",
        )
        .await;
    assert_eq!(answer["summary"]["deployable"], true);
    for missing in [
        "/pacticipants/Foo/branches/nope/latest-version/can-i-deploy/to-environment/production",
        "/pacticipants/Foo/branches/main/latest-version/can-i-deploy/to-environment/nope",
        "/pacticipants/Nobody/branches/main/latest-version/can-i-deploy/to-environment/production",
        "/pacticipants/Foo/latest-version/nope/can-i-deploy/to/prod",
    ] {
        let reply = w.app.get(missing).await;
        assert_eq!(
            reply.status,
            StatusCode::NOT_FOUND,
            "{missing}: {}",
            reply.text
        );
        assert_eq!(
            reply.body["error"], "The requested document was not found on this server.",
            "{missing}"
        );
    }
    let text = w
        .app
        .send(
            axum::http::Request::get(
                "/can-i-deploy?pacticipant=Foo&version=1&environment=production",
            )
            .header("accept", "text/plain")
            .body(axum::body::Body::empty())
            .unwrap(),
        )
        .await;
    assert!(
        text.text.contains("CONSUMER | C_VERSION") && text.text.contains("Deployable: true"),
        "{}",
        text.text
    );
}

/// The whole shape of a can-i-deploy answer, row by row, as the Pact
/// clients read it: versions with their branches, tags and environments,
/// the pact, the verification, and a row that is ignored.
#[tokio::test]
async fn answer_shape() {
    let world = World::new().await;
    let app = &world.app;
    let reply = app
        .publish(
            "Foo",
            "1.0.0",
            Some("main"),
            &["dev"],
            &[
                ("Bar", pact("Foo", "Bar", &["/a"])),
                ("Baz", pact("Foo", "Baz", &["/b"])),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let uuid = world.environment("production").await;
    for (provider, version, success) in [("Bar", "2.0.0", true), ("Baz", "3.0.0", false)] {
        let reply = app.verify("Foo", provider, version, success).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        world.deploy(provider, version, &uuid, None).await;
    }
    let reply = app
        .put("/pacticipants/Bar/versions/2.0.0/tags/prod", &json!({}))
        .await;
    assert!(reply.status.is_success(), "{}", reply.text);

    let mut body = world
        .ask("/can-i-deploy?pacticipant=Foo&version=1.0.0&environment=production&ignore[]=Baz")
        .await;
    redact(&mut body, &uuid);
    insta::assert_json_snapshot!(body);
}

/// Replaces what changes from run to run: times and the environment's uuid.
fn redact(value: &mut Value, uuid: &str) {
    match value {
        Value::Object(fields) => {
            for (key, field) in fields.iter_mut() {
                if matches!(key.as_str(), "createdAt" | "verifiedAt") {
                    *field = json!("[timestamp]");
                } else {
                    redact(field, uuid);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| redact(item, uuid)),
        Value::String(text) => *text = text.replace(uuid, "[uuid]"),
        _ => {}
    }
}
