//! Verification results: published by a provider against a pact content.

use crate::path::Path;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};
use treaty_domain::model::NewVerification;
use treaty_store::PactSelector;

use crate::AppState;
use crate::base_url::BaseUrl;
use crate::body::RawBody;
use crate::error::{ApiError, ApiResult};
use crate::hal::{self, Hal, link};
use crate::views::{self, Urls};

const PAIR: &str = "/pacts/provider/{provider}/consumer/{consumer}";

pub fn router() -> Router<AppState> {
    let pair = |suffix: &str| format!("{PAIR}{suffix}");
    Router::new()
        .route(
            &pair("/pact-version/{sha}/verification-results"),
            post(publish),
        )
        .route(
            &pair("/pact-version/{sha}/metadata/{metadata}/verification-results"),
            post(publish_with_metadata),
        )
        .route(
            &pair("/pact-version/{sha}/verification-results/{number}"),
            get(show),
        )
        .route(
            &pair("/pact-version/{sha}/metadata/{metadata}/verification-results/{number}"),
            get(show_with_metadata),
        )
        .route(
            &pair("/version/{version}/verification-results/latest"),
            get(latest_for_version),
        )
        .route(
            &pair("/latest/verification-results/latest"),
            get(latest_for_latest_pact),
        )
        .route(
            "/verification-results/consumer/{consumer}/version/{version}/latest",
            get(latest_for_consumer_version),
        )
}

/// Parses a verification result, naming every field that is wrong.
fn parse(body: &Value) -> ApiResult<NewVerification> {
    let mut errors = serde_json::Map::new();
    let success = match body.get("success") {
        Some(Value::Bool(b)) => Some(*b),
        None | Some(Value::Null) => {
            errors.insert("success".into(), json!(["is missing"]));
            None
        }
        Some(_) => {
            errors.insert("success".into(), json!(["must be true or false"]));
            None
        }
    };
    let provider_version = match body.get("providerApplicationVersion") {
        Some(Value::String(s)) => match treaty_domain::VersionNumber::parse(s.as_str()) {
            Ok(v) => Some(v),
            Err(error) => {
                errors.insert(
                    "providerApplicationVersion".into(),
                    json!([error.to_string()]),
                );
                None
            }
        },
        None | Some(Value::Null) => {
            errors.insert("providerApplicationVersion".into(), json!(["is missing"]));
            None
        }
        Some(_) => {
            errors.insert(
                "providerApplicationVersion".into(),
                json!(["must be a string"]),
            );
            None
        }
    };
    let build_url = match body.get("buildUrl") {
        None | Some(Value::Null) => None,
        Some(Value::String(s))
            if let Some(found) = treaty_domain::names::forbidden_character(s) =>
        {
            errors.insert("buildUrl".into(), json!([format!("contains {found}")]));
            None
        }
        Some(Value::String(s)) if url_like(s) => Some(s.clone()),
        Some(_) => {
            errors.insert("buildUrl".into(), json!(["must be a valid URL"]));
            None
        }
    };
    match (success, provider_version) {
        (Some(success), Some(provider_version)) if errors.is_empty() => Ok(NewVerification {
            provider_version,
            success,
            build_url,
            test_results: body.get("testResults").cloned().filter(|v| !v.is_null()),
            verified_by: body.get("verifiedBy").cloned().filter(|v| !v.is_null()),
        }),
        _ => Err(ApiError::Validation(errors)),
    }
}

fn url_like(raw: &str) -> bool {
    raw.split_once("://").is_some_and(|(scheme, rest)| {
        !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
            && !rest.is_empty()
    })
}

async fn publish_to(
    state: AppState,
    base: BaseUrl,
    provider: String,
    consumer: String,
    sha: String,
    raw: RawBody,
    wip: bool,
) -> ApiResult<Response> {
    raw.require_json(&["application/json"])?;
    let verification = parse(&raw.json_value()?)?;
    let stored = state
        .store
        .publish_verification_of(&consumer, &provider, &sha, verification, wip)
        .await?
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "No pact between {consumer} and {provider} with content hash {sha} found"
            ))
        })?;
    let urls = Urls::new(base.0);
    let href = urls.verification(&provider, &consumer, &sha, stored.number);
    Ok(hal::created(&href, views::verification(&urls, &stored)))
}

async fn publish(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((provider, consumer, sha)): Path<(String, String, String)>,
    raw: RawBody,
) -> ApiResult<Response> {
    publish_to(state, base, provider, consumer, sha, raw, false).await
}

/// A result published at the address pacts-for-verification gave: its
/// metadata says whether the pact was verified as a work in progress.
async fn publish_with_metadata(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((provider, consumer, sha, metadata)): Path<(String, String, String, String)>,
    raw: RawBody,
) -> ApiResult<Response> {
    let wip = treaty_domain::for_verification::metadata_is_wip(&metadata);
    publish_to(state, base, provider, consumer, sha, raw, wip).await
}

async fn find(
    state: &AppState,
    base: BaseUrl,
    provider: &str,
    consumer: &str,
    sha: &str,
    number: &str,
) -> ApiResult<Hal> {
    let number = match number {
        "latest" => None,
        other => Some(other.parse::<i64>().map_err(|_| {
            ApiError::NotFound(format!("No verification result numbered '{other}'"))
        })?),
    };
    let verification = state
        .store
        .verification(consumer, provider, sha, number)
        .await?
        .ok_or_else(|| ApiError::NotFound("No verification result found".to_owned()))?;
    Ok(Hal::ok(views::verification(
        &Urls::new(base.0),
        &verification,
    )))
}

async fn show(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((provider, consumer, sha, number)): Path<(String, String, String, String)>,
) -> ApiResult<Hal> {
    find(&state, base, &provider, &consumer, &sha, &number).await
}

async fn show_with_metadata(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((provider, consumer, sha, _metadata, number)): Path<(
        String,
        String,
        String,
        String,
        String,
    )>,
) -> ApiResult<Hal> {
    find(&state, base, &provider, &consumer, &sha, &number).await
}

async fn latest_for_selector(
    state: &AppState,
    base: BaseUrl,
    provider: &str,
    consumer: &str,
    selector: PactSelector,
) -> ApiResult<Hal> {
    let pact = state
        .store
        .pact(consumer, provider, selector)
        .await?
        .ok_or_else(|| {
            ApiError::NotFound(format!("No pact between {consumer} and {provider} found"))
        })?;
    find(state, base, provider, consumer, &pact.sha, "latest").await
}

async fn latest_for_version(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((provider, consumer, version)): Path<(String, String, String)>,
) -> ApiResult<Hal> {
    latest_for_selector(
        &state,
        base,
        &provider,
        &consumer,
        PactSelector::ConsumerVersion(version),
    )
    .await
}

async fn latest_for_latest_pact(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((provider, consumer)): Path<(String, String)>,
) -> ApiResult<Hal> {
    latest_for_selector(&state, base, &provider, &consumer, PactSelector::Latest).await
}

/// The latest verification of each pact a consumer version published.
async fn latest_for_consumer_version(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((consumer, version)): Path<(String, String)>,
) -> ApiResult<Hal> {
    if state.store.version(&consumer, &version).await?.is_none() {
        return Err(super::versions::version_not_found(&consumer, &version));
    }
    let verifications = state
        .store
        .latest_verifications_for_consumer_version(&consumer, &version)
        .await?;
    let urls = Urls::new(base.0);
    let success = !verifications.is_empty() && verifications.iter().all(|v| v.success);
    Ok(Hal::ok(json!({
        "success": success,
        "_embedded": {
            "verificationResults": verifications.iter().map(|v| views::verification(&urls, v)).collect::<Vec<_>>()
        },
        "_links": {
            "self": link(format!("{}/verification-results/consumer/{}/version/{}/latest", urls.base, hal::seg(&consumer), hal::seg(&version)))
        }
    })))
}
