//! The provider states a provider must set up, from its consumers' pacts on
//! their main branches, on a branch, or in an environment.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::support::TestApp;

fn pact_asking(consumer: &str, states: Value) -> Value {
    json!({
        "consumer": {"name": consumer},
        "provider": {"name": "Bar"},
        "interactions": states.as_array().unwrap().iter().enumerate().map(|(i, state)| {
            let mut interaction = json!({
                "description": format!("request {i}"),
                "request": {"method": "GET", "path": format!("/{i}")},
                "response": {"status": 200}
            });
            interaction.as_object_mut().unwrap().extend(state.as_object().unwrap().clone());
            interaction
        }).collect::<Vec<_>>(),
        "metadata": {"pactSpecification": {"version": "3.0.0"}}
    })
}

async fn states(app: &TestApp, path: &str) -> Value {
    let reply = app.get(path).await;
    assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.text);
    assert_eq!(reply.content_type, "application/hal+json;charset=utf-8");
    reply.body
}

#[tokio::test]
async fn states_of_main_branches_of_a_branch_and_of_an_environment() {
    let app = TestApp::new().await;
    app.publish(
        "Foo",
        "1",
        Some("main"),
        &[],
        &[(
            "Bar",
            pact_asking(
                "Foo",
                json!([{"providerState": "state 2"}, {"providerState": "state 1"}]),
            ),
        )],
    )
    .await;
    app.publish(
        "Waffle",
        "1",
        Some("main"),
        &[],
        &[(
            "Bar",
            pact_asking(
                "Waffle",
                json!([
                    {"providerStates": [{"name": "product", "params": {"id": 1, "kind": "x"}}, {"name": "state 1"}]},
                    {"providerStates": [{"name": "product", "params": {"kind": "x", "id": 1}}]}
                ]),
            ),
        )],
    )
    .await;
    app.publish(
        "Foo",
        "2",
        Some("feat"),
        &[],
        &[(
            "Bar",
            pact_asking("Foo", json!([{"providerState": "a feature"}])),
        )],
    )
    .await;
    assert_eq!(
        states(&app, "/pacts/provider/Bar/provider-states").await,
        json!({"providerStates": [
            {"name": "product", "params": {"id": 1, "kind": "x"}, "consumers": ["Waffle"]},
            {"name": "state 1", "consumers": ["Foo", "Waffle"]},
            {"name": "state 2", "consumers": ["Foo"]}
        ]})
    );
    assert_eq!(
        states(&app, "/pacts/provider/Bar/provider-states/branch/feat").await,
        json!({"providerStates": [{"name": "a feature", "consumers": ["Foo"]}]})
    );

    // An environment by its uuid, or by its name as the Pact Broker reads it.
    let production = app
        .post(
            "/environments",
            &json!({"name": "production", "production": true}),
        )
        .await
        .body["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    let reply = app
        .post(
            &format!("/pacticipants/Foo/versions/2/deployed-versions/environment/{production}"),
            &json!({}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let in_production = json!({"providerStates": [{"name": "a feature", "consumers": ["Foo"]}]});
    for environment in [production.as_str(), "production"] {
        assert_eq!(
            states(
                &app,
                &format!("/pacts/provider/Bar/provider-states/environment/{environment}")
            )
            .await,
            in_production
        );
    }
    assert_eq!(
        states(
            &app,
            "/pacts/provider/Bar/provider-states/environment/nowhere"
        )
        .await,
        json!({"providerStates": []})
    );
    // A pacticipant that no consumer's pact names as provider has none.
    assert_eq!(
        states(&app, "/pacts/provider/Foo/provider-states").await,
        json!({"providerStates": []})
    );
    let reply = app.get("/pacts/provider/Nope/provider-states").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.body["detail"], "No provider with name 'Nope' found");
    assert_eq!(reply.body["error"], "No provider with name 'Nope' found");
    assert_eq!(reply.content_type, "application/hal+json;charset=utf-8");
}
