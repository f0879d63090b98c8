//! `GET /`: the index of every relation the official clients look up.

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::base_url::BaseUrl;
use crate::error::ApiError;
use crate::hal::Hal;

pub fn router() -> Router<AppState> {
    Router::new().route("/", get(index))
}

/// (relation, path after the base URL, title, templated)
const RELATIONS: &[(&str, &str, &str, bool)] = &[
    (
        "pb:publish-pact",
        "/pacts/provider/{provider}/consumer/{consumer}/version/{consumerApplicationVersion}",
        "Publish a pact",
        true,
    ),
    (
        "pb:publish-contracts",
        "/contracts/publish",
        "Publish contracts",
        false,
    ),
    (
        "pf:publish-provider-contract",
        "/provider-contracts/provider/{provider}/publish",
        "Publish a provider contract (bi-directional contracts)",
        true,
    ),
    (
        "pb:latest-pact-versions",
        "/pacts/latest",
        "Latest pact versions",
        false,
    ),
    (
        "pb:tagged-pact-versions",
        "/pacts/provider/{provider}/consumer/{consumer}/tag/{tag}",
        "All versions of a pact for a given consumer, provider and consumer version tag",
        false,
    ),
    (
        "pb:branch-pact-versions",
        "/pacts/provider/{provider}/consumer/{consumer}/branch/{branch}",
        "All versions of a pact for a given consumer, provider and consumer version branch",
        true,
    ),
    (
        "pb:latest-branch-pact-versions",
        "/pacts/provider/{provider}/consumer/{consumer}/branch/{branch}/latest/versions",
        "Latest version of a pact for a given consumer, provider and consumer version branch",
        true,
    ),
    (
        "pb:main-branch-pact-versions",
        "/pacts/provider/{provider}/consumer/{consumer}/branch/versions",
        "All versions of a pact for a given consumer, provider and consumer main branch",
        true,
    ),
    (
        "pb:latest-main-branch-pact-versions",
        "/pacts/provider/{provider}/consumer/{consumer}/branch/latest/versions",
        "Latest version of a pact for a given consumer, provider and consumer main branch",
        true,
    ),
    (
        "pb:provider-pacts-with-main-branch",
        "/pacts/provider/{provider}/branch",
        "All pact versions for the provider with the consumer main branch",
        true,
    ),
    (
        "pb:provider-pacts-with-branch",
        "/pacts/provider/{provider}/branch/{branch}",
        "All pact versions for the provider with the specified consumer branch",
        true,
    ),
    (
        "pb:latest-provider-pacts-with-main-branch",
        "/pacts/provider/{provider}/branch/latest",
        "Latest pacts for the provider with the consumer main branch",
        true,
    ),
    (
        "pb:latest-provider-pacts-with-branch",
        "/pacts/provider/{provider}/branch/{branch}/latest",
        "Latest pacts for the provider with the specified consumer branch",
        true,
    ),
    ("pb:pacticipants", "/pacticipants", "Pacticipants", false),
    (
        "pb:pacticipant",
        "/pacticipants/{pacticipant}",
        "Fetch pacticipant by name",
        true,
    ),
    (
        "pb:latest-provider-pacts",
        "/pacts/provider/{provider}/latest",
        "Latest pacts by provider",
        true,
    ),
    (
        "pb:latest-provider-pacts-with-tag",
        "/pacts/provider/{provider}/latest/{tag}",
        "Latest pacts for provider with the specified tag",
        true,
    ),
    (
        "pb:provider-pacts-with-tag",
        "/pacts/provider/{provider}/tag/{tag}",
        "All pact versions for the provider with the specified consumer version tag",
        true,
    ),
    (
        "pb:provider-pacts",
        "/pacts/provider/{provider}",
        "All pact versions for the specified provider",
        true,
    ),
    (
        "pb:latest-version",
        "/pacticipants/{pacticipant}/latest-version",
        "Latest pacticipant version",
        true,
    ),
    (
        "pb:latest-tagged-version",
        "/pacticipants/{pacticipant}/latest-version/{tag}",
        "Latest pacticipant version with the specified tag",
        true,
    ),
    ("pb:webhooks", "/webhooks", "Webhooks", false),
    ("pb:webhook", "/webhooks/{uuid}", "Webhook", true),
    ("pb:integrations", "/integrations", "Integrations", false),
    (
        "pb:pacticipant-version-tag",
        "/pacticipants/{pacticipant}/versions/{version}/tags/{tag}",
        "Get, create or delete a tag for a pacticipant version",
        true,
    ),
    (
        "pb:pacticipant-branch",
        "/pacticipants/{pacticipant}/branches/{branch}",
        "Get or delete a pacticipant branch",
        true,
    ),
    (
        "pb:pacticipant-branch-version",
        "/pacticipants/{pacticipant}/branches/{branch}/versions/{version}",
        "Get or add/create a pacticipant version for a branch",
        true,
    ),
    (
        "pb:pacticipant-version",
        "/pacticipants/{pacticipant}/versions/{version}",
        "Get, create or delete a pacticipant version",
        true,
    ),
    ("pb:metrics", "/metrics", "Get Pact Broker metrics", false),
    (
        "pb:can-i-deploy-pacticipant-version-to-tag",
        "/can-i-deploy?pacticipant={pacticipant}&version={version}&to={tag}",
        "Determine if an application version can be safely deployed to an environment identified by the given tag",
        true,
    ),
    (
        "pb:can-i-deploy-pacticipant-version-to-environment",
        "/can-i-deploy?pacticipant={pacticipant}&version={version}&environment={environment}",
        "Determine if an application version can be safely deployed to an environment",
        true,
    ),
    (
        "pb:provider-pacts-for-verification",
        "/pacts/provider/{provider}/for-verification",
        "Pact versions to be verified for the specified provider",
        true,
    ),
    ("pb:environments", "/environments", "Environments", false),
    (
        "treaty:deployment-events",
        "/deployment-events",
        "Record a deployment's progress: pending, started, completed, failed or aborted",
        false,
    ),
    (
        "treaty:deployments",
        "/deployments",
        "Every deployment, with its events and incidents, newest first",
        false,
    ),
    (
        "treaty:deployed-at",
        "/deployments/deployed-at?environment={environment}&at={at}",
        "What was deployed in an environment at a moment",
        true,
    ),
    (
        "treaty:policies",
        "/policies/{environment}",
        "An environment's deployment gates",
        true,
    ),
    (
        "treaty:preflight",
        "/preflight?pacticipant={pacticipant}&version={version}&environment={environment}",
        "Whether a deployment would pass the environment's gates now",
        true,
    ),
    (
        "treaty:release-plans",
        "/release-plans",
        "In which order new versions of several applications can be deployed",
        false,
    ),
    (
        "treaty:dora-metrics",
        "/dora-metrics",
        "Deployment frequency, lead time for changes, change failure rate and time to restore",
        false,
    ),
    (
        "treaty:ui",
        "/ui",
        "The web UI: what runs where, what is compatible with what, and what happened",
        false,
    ),
    (
        "pb:environment",
        "/environments/{uuid}",
        "Environment",
        true,
    ),
];

/// A browser asking for `/` gets the UI's home page; API clients get the index.
async fn index(
    State(state): State<AppState>,
    base: BaseUrl,
    viewer: crate::ui::Viewer,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if crate::ui::wants_html(&headers) {
        return crate::ui::home(State(state), base, viewer).await;
    }
    Ok(api_index(base).into_response())
}

fn api_index(base: BaseUrl) -> Hal {
    let mut links = Map::new();
    links.insert(
        "self".into(),
        json!({ "href": base.0, "title": "Index", "templated": false }),
    );
    for (relation, path, title, templated) in RELATIONS {
        links.insert(
            (*relation).into(),
            json!({ "href": base.join(path), "title": title, "templated": templated }),
        );
    }
    links.insert(
        "beta:provider-pacts-for-verification".into(),
        json!({
            "name": "beta",
            "href": base.join("/pacts/provider/{provider}/for-verification"),
            "title": "DEPRECATED - please use pb:provider-pacts-for-verification",
            "templated": true
        }),
    );
    links.insert(
        "curies".into(),
        json!([
            { "name": "pb", "href": base.join("/doc/{rel}?context=index"), "templated": true },
            { "name": "beta", "href": base.join("/doc/{rel}?context=index"), "templated": true }
        ]),
    );
    Hal::ok(Value::Object(
        [("_links".to_owned(), Value::Object(links))]
            .into_iter()
            .collect(),
    ))
}
