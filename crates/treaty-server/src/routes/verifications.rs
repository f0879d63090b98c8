//! Verification results: published by a provider against a pact content.

use crate::path::Path;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{MethodRouter, get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use treaty_domain::model::NewVerification;

use super::pacts::{OnePact, PactPath};

use crate::AppState;
use crate::base_url::BaseUrl;
use crate::body::RawBody;
use crate::error::{ApiError, ApiResult};
use crate::hal::{self, Hal, link};
use crate::views::{self, Urls};

const PAIR: &str = "/pacts/provider/{provider}/consumer/{consumer}";

/// The routes of this module as tables: a route is a line naming the
/// selector its one handler serves.
pub fn router() -> Router<AppState> {
    let pair = |suffix: &str| format!("{PAIR}{suffix}");
    let mut router = Router::new();
    for content in [
        "/pact-version/{sha}",
        "/pact-version/{sha}/metadata/{metadata}",
    ] {
        router = router
            .route(
                &pair(&format!("{content}/verification-results")),
                post(publish),
            )
            .route(
                &pair(&format!("{content}/verification-results/{{number}}")),
                get(show),
            );
    }
    for (pact, which) in LATEST_OF_PACT {
        router = router.route(
            &pair(&format!("{pact}/verification-results/latest")),
            latest_of_pact_route(*which),
        );
    }
    router.route(
        "/verification-results/consumer/{consumer}/version/{version}/latest",
        get(latest_for_consumer_version),
    )
}

/// The pacts whose latest verification a `.../verification-results/latest` route names.
const LATEST_OF_PACT: &[(&str, OnePact)] = &[
    ("/version/{version}", OnePact::ConsumerVersion),
    ("/latest", OnePact::Latest),
];

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

/// Publishes a result, at the pact content's address or at the address
/// pacts-for-verification gave, whose metadata says whether the pact was
/// verified as a work in progress.
async fn publish(
    State(state): State<AppState>,
    base: BaseUrl,
    Path(path): Path<PactPath>,
    raw: RawBody,
) -> ApiResult<Response> {
    let (consumer, provider) = (&path.consumer, &path.provider);
    let sha = path.sha.clone().unwrap_or_default();
    let wip = path
        .metadata
        .as_deref()
        .is_some_and(treaty_domain::for_verification::metadata_is_wip);
    raw.require_json(&["application/json"])?;
    let verification = parse(&raw.json_value()?)?;
    let stored = state
        .store
        .publish_verification_of(consumer, provider, &sha, verification, wip)
        .await?
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "No pact between {consumer} and {provider} with content hash {sha} found"
            ))
        })?;
    let urls = Urls::new(base.0);
    let href = urls.verification(provider, consumer, &sha, stored.number);
    Ok(hal::created(&href, views::verification(&urls, &stored)))
}

/// One verification result by number (or `latest`), with or without the metadata segment.
#[derive(Debug, Deserialize)]
struct VerificationPath {
    provider: String,
    consumer: String,
    sha: String,
    number: String,
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
    Path(path): Path<VerificationPath>,
) -> ApiResult<Hal> {
    find(
        &state,
        base,
        &path.provider,
        &path.consumer,
        &path.sha,
        &path.number,
    )
    .await
}

fn latest_of_pact_route(which: OnePact) -> MethodRouter<AppState> {
    get(
        move |State(state): State<AppState>, base: BaseUrl, Path(path): Path<PactPath>| async move {
            latest_of_pact(&state, base, &path, which).await
        },
    )
}

/// The latest verification of the pact a route names.
async fn latest_of_pact(
    state: &AppState,
    base: BaseUrl,
    path: &PactPath,
    which: OnePact,
) -> ApiResult<Hal> {
    let (consumer, provider) = (&path.consumer, &path.provider);
    let (selector, _) = which.select(path);
    let pact = state
        .store
        .pact(consumer, provider, selector)
        .await?
        .ok_or_else(|| {
            ApiError::NotFound(format!("No pact between {consumer} and {provider} found"))
        })?;
    find(state, base, provider, consumer, &pact.sha, "latest").await
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
