use axum::http::StatusCode;
use serde_json::json;

use crate::support::{TestApp, redact_times};

#[tokio::test]
async fn versions_are_listed_newest_first_and_paginated() {
    let app = TestApp::new().await;
    for number in ["1", "3", "2"] {
        app.put(&format!("/pacticipants/Foo/versions/{number}"), &json!({}))
            .await;
    }
    let list = app.get("/pacticipants/Foo/versions").await;
    let numbers: Vec<&str> = list.body["_embedded"]["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["number"].as_str().unwrap())
        .collect();
    assert_eq!(
        numbers,
        ["2", "3", "1"],
        "ordered by creation, not by number"
    );
    let page = app.get("/pacticipants/Foo/versions?size=1&page=2").await;
    assert_eq!(page.body["_embedded"]["versions"][0]["number"], "3");
    assert_eq!(page.body["page"]["totalPages"], 3);
    assert_eq!(
        app.get("/pacticipants/Foo/latest-version").await.body["number"],
        "2"
    );
    assert_eq!(
        app.get("/pacticipants/Nobody/versions").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn put_creates_or_replaces_and_patch_merges() {
    let app = TestApp::new().await;
    let created = app
        .put(
            "/pacticipants/Foo/versions/1",
            &json!({"buildUrl": "https://ci/1", "tags": [{"name": "dev"}]}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(created.body["buildUrl"], "https://ci/1");
    assert_eq!(created.body["_embedded"]["tags"][0]["name"], "dev");

    let replaced = app
        .put(
            "/pacticipants/Foo/versions/1",
            &json!({"tags": [{"name": "prod"}]}),
        )
        .await;
    assert_eq!(replaced.status, StatusCode::OK);
    assert!(replaced.body.get("buildUrl").is_none());
    let tags: Vec<&str> = replaced.body["_embedded"]["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(tags, ["prod"]);

    // PATCH needs merge-patch+json; plain JSON is a 415 as in the Pact Broker.
    assert_eq!(
        app.patch("/pacticipants/Foo/versions/1", &json!({"buildUrl": "x"}))
            .await
            .status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    let merged = app
        .send_json(
            "PATCH",
            "/pacticipants/Foo/versions/1",
            "application/merge-patch+json",
            &json!({"buildUrl": "https://ci/2"}),
        )
        .await;
    assert_eq!(merged.status, StatusCode::OK);
    assert_eq!(merged.body["buildUrl"], "https://ci/2");
    assert_eq!(merged.body["_embedded"]["tags"][0]["name"], "prod");

    assert_eq!(
        app.delete("/pacticipants/Foo/versions/1").await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get("/pacticipants/Foo/versions/1").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn tags_are_created_once_and_find_the_latest_tagged_version() {
    let app = TestApp::new().await;
    let first = app
        .put("/pacticipants/Foo/versions/1/tags/prod", &json!({}))
        .await;
    assert_eq!(
        first.status,
        StatusCode::CREATED,
        "creates pacticipant, version and tag"
    );
    assert_eq!(
        first.location.as_deref(),
        Some("http://broker.test/pacticipants/Foo/versions/1/tags/prod")
    );
    assert_eq!(
        app.put("/pacticipants/Foo/versions/1/tags/prod", &json!({}))
            .await
            .status,
        StatusCode::OK
    );
    app.put("/pacticipants/Foo/versions/2/tags/prod", &json!({}))
        .await;
    app.put("/pacticipants/Foo/versions/3/tags/dev", &json!({}))
        .await;
    assert_eq!(
        app.get("/pacticipants/Foo/latest-version/prod").await.body["number"],
        "2"
    );
    assert_eq!(
        app.get("/pacticipants/Foo/latest-version/nope")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let tag = app.get("/pacticipants/Foo/versions/1/tags/prod").await;
    assert_eq!(tag.body["name"], "prod");
    assert_eq!(
        app.delete("/pacticipants/Foo/versions/2/tags/prod")
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get("/pacticipants/Foo/latest-version/prod").await.body["number"],
        "1"
    );
    assert_eq!(
        app.delete("/pacticipants/Foo/versions/2/tags/prod")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_branch_head_is_the_version_most_recently_added() {
    let app = TestApp::new().await;
    let added = app
        .put("/pacticipants/Foo/branches/feat/versions/1", &json!({}))
        .await;
    assert_eq!(added.status, StatusCode::CREATED);
    app.put("/pacticipants/Foo/branches/feat/versions/2", &json!({}))
        .await;
    assert_eq!(
        app.get("/pacticipants/Foo/branches/feat/latest-version")
            .await
            .body["number"],
        "2"
    );
    // Re-adding an older version makes it the head again.
    assert_eq!(
        app.put("/pacticipants/Foo/branches/feat/versions/1", &json!({}))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.get("/pacticipants/Foo/branches/feat/latest-version")
            .await
            .body["number"],
        "1"
    );

    let version = app.get("/pacticipants/Foo/versions/1").await;
    assert_eq!(
        version.body["_embedded"]["branches"][0],
        json!({
            "name": "feat", "latest": true,
            "_links": {"self": {"href": "http://broker.test/pacticipants/Foo/branches/feat/versions/1", "title": "Branch version", "name": "feat"}}
        })
    );
    let on_branch = app.get("/pacticipants/Foo/branches/feat/versions").await;
    assert_eq!(
        on_branch.body["_embedded"]["versions"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    assert_eq!(
        app.delete("/pacticipants/Foo/branches/feat/versions/1")
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get("/pacticipants/Foo/branches/feat/latest-version")
            .await
            .body["number"],
        "2"
    );
    assert_eq!(
        app.get("/pacticipants/Foo/branches").await.body["_embedded"]["branches"][0]["name"],
        "feat"
    );
    assert_eq!(
        app.delete("/pacticipants/Foo/branches/feat").await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get("/pacticipants/Foo/branches/feat").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/pacticipants/Foo/versions/2").await.status,
        StatusCode::OK,
        "versions stay"
    );
}

#[tokio::test]
async fn main_branch_is_detected_from_a_branch_or_a_tag() {
    let app = TestApp::new().await;
    app.put("/pacticipants/Foo/branches/feat/versions/1", &json!({}))
        .await;
    assert!(
        app.get("/pacticipants/Foo")
            .await
            .body
            .get("mainBranch")
            .is_none()
    );
    app.put("/pacticipants/Foo/branches/main/versions/2", &json!({}))
        .await;
    assert_eq!(
        app.get("/pacticipants/Foo").await.body["mainBranch"],
        "main"
    );
    app.put("/pacticipants/Foo/branches/master/versions/3", &json!({}))
        .await;
    assert_eq!(
        app.get("/pacticipants/Foo").await.body["mainBranch"],
        "main",
        "set once"
    );

    app.post("/pacticipants", &json!({"name": "Bar"})).await;
    app.put("/pacticipants/Bar/versions/1", &json!({})).await;
    app.put("/pacticipants/Bar/versions/1/tags/develop", &json!({}))
        .await;
    assert_eq!(
        app.get("/pacticipants/Bar").await.body["mainBranch"],
        "develop"
    );
}

#[tokio::test]
async fn a_first_tag_soon_after_creation_also_names_the_branch() {
    let app = TestApp::new().await;
    app.put("/pacticipants/Foo/versions/1/tags/feat-x", &json!({}))
        .await;
    let version = app.get("/pacticipants/Foo/versions/1").await;
    assert_eq!(version.body["_embedded"]["branches"][0]["name"], "feat-x");
    // A version already on a branch keeps only that branch.
    app.put("/pacticipants/Foo/branches/main/versions/2", &json!({}))
        .await;
    app.put("/pacticipants/Foo/versions/2/tags/prod", &json!({}))
        .await;
    let branches =
        app.get("/pacticipants/Foo/versions/2").await.body["_embedded"]["branches"].clone();
    assert_eq!(branches.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn version_shape() {
    let app = TestApp::new().await;
    app.publish(
        "Foo",
        "1.0.0",
        Some("main"),
        &["dev"],
        &[("Bar", crate::support::pact("Foo", "Bar", &["/a"]))],
    )
    .await;
    let mut reply = app.get("/pacticipants/Foo/versions/1.0.0").await;
    redact_times(&mut reply.body);
    insta::assert_json_snapshot!(reply.body);
}

#[tokio::test]
async fn the_versions_of_a_pacticipant_in_an_environment_are_those_ever_deployed_or_released_there()
{
    use crate::one_truth::{environment_uuid, record_deployment, record_release};
    let app = TestApp::new().await;
    for (name, production) in [("test", false), ("production", true)] {
        let reply = app
            .post(
                "/environments",
                &json!({"name": name, "production": production}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    }
    for number in ["1", "2", "3", "4"] {
        app.put(&format!("/pacticipants/Foo/versions/{number}"), &json!({}))
            .await;
    }
    for version in ["1", "2"] {
        let reply = record_deployment(&app, "Foo", version, "production", None).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    }
    let reply = record_release(&app, "Foo", "3", "test").await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let production = environment_uuid(&app, "production").await;
    let test = environment_uuid(&app, "test").await;
    let numbers = |reply: &crate::support::Reply| -> Vec<String> {
        reply.body["_embedded"]["versions"]
            .as_array()
            .unwrap_or_else(|| panic!("{}", reply.text))
            .iter()
            .map(|v| v["number"].as_str().unwrap().to_owned())
            .collect()
    };
    // Version 1 was replaced by 2, and still counts: ever deployed there.
    let in_production = app
        .get(&format!(
            "/pacticipants/Foo/environments/{production}/versions"
        ))
        .await;
    assert_eq!(
        in_production.status,
        StatusCode::OK,
        "{}",
        in_production.text
    );
    assert_eq!(numbers(&in_production), ["2", "1"]);
    assert_eq!(
        in_production.body["_links"]["self"]["href"],
        format!("http://broker.test/pacticipants/Foo/environments/{production}/versions")
    );
    let in_test = app
        .get(&format!("/pacticipants/Foo/environments/{test}/versions"))
        .await;
    assert_eq!(numbers(&in_test), ["3"]);
    for unknown in [
        "/pacticipants/Foo/environments/nope/versions".to_owned(),
        format!("/pacticipants/Nope/environments/{test}/versions"),
    ] {
        assert_eq!(
            app.get(&unknown).await.status,
            StatusCode::NOT_FOUND,
            "{unknown}"
        );
    }
}
