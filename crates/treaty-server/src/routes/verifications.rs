//! Verification results: published by a provider against a pact content.

use crate::path::Path;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use treaty_domain::model::{NewVerification, Verification};
use treaty_store::PactSelector;

use super::pacts::{OnePact, PAIR, PactPath};

use crate::AppState;
use crate::base_url::BaseUrl;
use crate::body::RawBody;
use crate::error::{ApiError, ApiResult};
use crate::hal::{self, Hal};
use crate::views::{self, Urls};

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
    router
        .route(
            &pair("/pact-version/{sha}/verification-results/{number}/triggered-webhooks"),
            get(triggered_webhooks),
        )
        .route(
            "/verification-results/consumer/{consumer}/version/{version}/latest",
            get(latest_for_consumer_version),
        )
}

/// The pacts whose latest verification a `.../verification-results/latest` route names.
const LATEST_OF_PACT: &[(&str, OnePact)] = &[
    ("/version/{version}", OnePact::ConsumerVersion),
    ("/latest", OnePact::Latest),
    ("/latest/{tag}", OnePact::LatestTagged),
];

/// The media types a verification result is offered in, the Pact Broker's first.
const VERIFICATION_MEDIA_TYPES: &[&str] = &["application/hal+json", "application/json"];

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
    metadata: Option<String>,
}

/// The verification a path names by number (or `latest`).
async fn find(
    state: &AppState,
    provider: &str,
    consumer: &str,
    sha: &str,
    number: &str,
) -> ApiResult<Verification> {
    let number = match number {
        "latest" => None,
        "all" => {
            return Err(ApiError::NotFound(
                "To see all the verifications for a pact, use the Matrix page".to_owned(),
            ));
        }
        other => Some(other.parse::<i64>().map_err(|_| {
            ApiError::NotFound(format!("No verification result numbered '{other}'"))
        })?),
    };
    state
        .store
        .verification(consumer, provider, sha, number)
        .await?
        .ok_or_else(|| ApiError::NotFound("No verification result found".to_owned()))
}

/// A verification result, as HAL or, when asked for, plain JSON.
fn answer(base: BaseUrl, headers: &HeaderMap, verification: &Verification) -> Response {
    let mut response =
        Hal::ok(views::verification(&Urls::new(base.0), verification)).into_response();
    if hal::negotiate(headers, VERIFICATION_MEDIA_TYPES) == "application/json" {
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json;charset=utf-8"),
        );
    }
    response
}

async fn show(
    State(state): State<AppState>,
    base: BaseUrl,
    headers: HeaderMap,
    Path(path): Path<VerificationPath>,
) -> ApiResult<Response> {
    let (consumer, provider) = (&path.consumer, &path.provider);
    let mut verification = find(&state, provider, consumer, &path.sha, &path.number).await?;
    // A metadata segment that names a consumer version which published
    // this content makes the result name that version's pact.
    if let Some(version) = path.metadata.as_deref().and_then(metadata_consumer_version) {
        let named = state
            .store
            .pact(consumer, provider, PactSelector::ConsumerVersion(version))
            .await?;
        if let Some(pact) = named.filter(|pact| pact.sha == path.sha) {
            verification.pact_consumer_version = pact.consumer_version;
        }
    }
    Ok(answer(base, &headers, &verification))
}

/// The consumer version (`cvn`) a metadata segment names, if it is one
/// the Pact Broker writes (base64url of a query string).
fn metadata_consumer_version(metadata: &str) -> Option<String> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(metadata.trim_end_matches('='))
        .ok()?;
    form_urlencoded::parse(&bytes)
        .find(|(key, _)| key == "cvn")
        .map(|(_, value)| value.into_owned())
}

fn latest_of_pact_route(which: OnePact) -> MethodRouter<AppState> {
    get(
        move |State(state): State<AppState>,
              base: BaseUrl,
              headers: HeaderMap,
              Path(path): Path<PactPath>| async move {
            latest_of_pact(&state, base, &headers, &path, which).await
        },
    )
}

/// The latest verification of the pact a route names, naming that pact.
///
/// Unlike the Pact Broker, `.../latest/{tag}/verification-results/latest`
/// honours the tag: the Pact Broker drops it and answers with the latest
/// pact's verification (`LatestVerificationForLatestPact` looks the pact up
/// with `PactParams`, which has no tag).
async fn latest_of_pact(
    state: &AppState,
    base: BaseUrl,
    headers: &HeaderMap,
    path: &PactPath,
    which: OnePact,
) -> ApiResult<Response> {
    let (consumer, provider) = (&path.consumer, &path.provider);
    let (selector, _) = which.select(path);
    let pact = state
        .store
        .pact(consumer, provider, selector)
        .await?
        .ok_or_else(|| {
            ApiError::NotFound(format!("No pact between {consumer} and {provider} found"))
        })?;
    let mut verification = find(state, provider, consumer, &pact.sha, "latest").await?;
    verification.pact_consumer_version = pact.consumer_version;
    Ok(answer(base, headers, &verification))
}

/// The webhooks a verification result's publication triggered.
async fn triggered_webhooks(
    State(state): State<AppState>,
    base: BaseUrl,
    Path(path): Path<VerificationPath>,
) -> ApiResult<Hal> {
    let (consumer, provider) = (&path.consumer, &path.provider);
    let verification = find(&state, provider, consumer, &path.sha, &path.number).await?;
    let deliveries = state
        .store
        .webhook_deliveries(None, Some(consumer), Some(provider), 1000)
        .await?;
    let urls = Urls::new(base.0.clone());
    let href = urls.verification(provider, consumer, &path.sha, verification.number);
    // A delivery's context holds the address of the result that caused it.
    let own_address = href.strip_prefix(&urls.base).unwrap_or(&href).to_owned();
    let retries = state.config.webhook_retry_schedule.len();
    let triggered: Vec<Value> = deliveries
        .iter()
        .filter(|d| d.event_name.starts_with("provider_verification_"))
        .filter(|d| {
            d.context
                .get("verificationResultUrl")
                .is_some_and(|url| url.ends_with(&own_address))
        })
        .map(|d| super::webhooks::render_delivery(&base, d, retries))
        .collect();
    Ok(Hal::ok(json!({
        "_embedded": { "triggeredWebhooks": triggered },
        "_links": {
            "self": {
                "title": format!("Webhooks triggered by the publication of verification result {}", verification.number),
                "href": format!("{href}/triggered-webhooks"),
            }
        }
    })))
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
    let pacts = state
        .store
        .pacts_of_consumer_version(&consumer, &version)
        .await?;
    let names = |success: bool| -> Vec<&str> {
        verifications
            .iter()
            .filter(|v| v.success == success)
            .map(|v| v.provider.as_str())
            .collect()
    };
    let (successful, failed) = (names(true), names(false));
    let unknown: Vec<&str> = pacts
        .iter()
        .map(|p| p.provider.as_str())
        .filter(|provider| !verifications.iter().any(|v| v.provider == *provider))
        .collect();
    let urls = Urls::new(base.0);
    Ok(Hal::ok(json!({
        // As the Pact Broker counts: every pact of the version verified successfully.
        "success": successful.len() == pacts.len(),
        "providerSummary": { "successful": successful, "failed": failed, "unknown": unknown },
        "_embedded": {
            "verificationResults": verifications.iter().map(|v| views::verification(&urls, v)).collect::<Vec<_>>()
        },
        "_links": {
            "self": {
                "href": format!("{}/verification-results/consumer/{}/version/{}/latest", urls.base, hal::seg(&consumer), hal::seg(&version)),
                "title": format!("Latest verification results for consumer {consumer} version {version}"),
            }
        }
    })))
}
