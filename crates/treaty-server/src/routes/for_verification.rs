//! `/pacts/provider/{provider}/for-verification`: the pacts a provider's build
//! must verify, with why (selectors), pending and work-in-progress status.

use crate::path::Path;
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use serde::Serialize;
use std::collections::HashSet;

use serde_json::{Value, json};
use treaty_domain::for_verification::{self, FieldErrors, Request};
use treaty_domain::matrix_query::{RackValue, parse_nested_query};

use crate::AppState;
use crate::base_url::BaseUrl;
use crate::body::RawBody;
use crate::error::{ApiError, ApiResult};
use crate::hal::{self, seg, titled};
use crate::views::Urls;

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/pacts/provider/{provider}/for-verification",
        get(from_query).post(from_body),
    )
}

fn rack_to_json(value: &RackValue) -> Value {
    match value {
        RackValue::Str(s) => Value::String(s.clone()),
        RackValue::List(items) => Value::Array(items.iter().map(rack_to_json).collect()),
        RackValue::Map(entries) => Value::Object(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), rack_to_json(v)))
                .collect(),
        ),
    }
}

/// The older GET form: the same request as a Rack-style query string
/// (`consumer_version_selectors[][tag]=prod&provider_version_tags[]=main`),
/// where each selector is a tag. The Rust verifier GETs it with no query
/// first, to find the address to POST to.
async fn from_query(
    State(state): State<AppState>,
    base: BaseUrl,
    Path(provider): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let raw = raw.unwrap_or_default();
    let parsed = parse_nested_query(&raw).map_err(|e| ApiError::ValidationList(vec![e]))?;
    let request =
        for_verification::parse_query(&rack_to_json(&parsed)).map_err(validation_error)?;
    answer(&state, base, &provider, &request, true).await
}

async fn from_body(
    State(state): State<AppState>,
    base: BaseUrl,
    Path(provider): Path<String>,
    raw: RawBody,
) -> ApiResult<Response> {
    raw.require_json(&["application/json"])?;
    let body = raw.json_value()?;
    // Environments are few: known ones are read once, and only when a
    // selector names one.
    let known: HashSet<String> = if for_verification::names_an_environment(&body) {
        state
            .store
            .environments()
            .await?
            .into_iter()
            .map(|e| e.name)
            .collect()
    } else {
        HashSet::new()
    };
    let request = for_verification::parse_body(&body, &|name| known.contains(name))
        .map_err(validation_error)?;
    answer(&state, base, &provider, &request, false).await
}

/// The Pact Broker's validation answer: messages by field.
fn validation_error(errors: FieldErrors) -> ApiError {
    ApiError::Validation(
        errors
            .fields()
            .iter()
            .map(|(field, messages)| (field.clone(), json!(messages)))
            .collect(),
    )
}

async fn answer(
    state: &AppState,
    base: BaseUrl,
    provider: &str,
    request: &Request,
    deprecated_get: bool,
) -> ApiResult<Response> {
    let mut request = request.clone();
    request.bound_wip_window(
        chrono::Utc::now(),
        state
            .config
            .max_wip_lookback
            .and_then(|d| chrono::Duration::from_std(d).ok()),
    );
    let request = &request;
    let pacts = state
        .store
        .pacts_for_verification(provider, request)
        .await?
        .ok_or_else(|| {
            ApiError::NotFoundHal(format!("No provider with name '{provider}' found"))
        })?;
    let urls = Urls::new(base.0);
    let wip_metadata = for_verification::messages::wip_notice_metadata();
    let items: Vec<PactItem> = pacts
        .iter()
        .map(|pact| {
            let pact_url = urls.pact_version(provider, &pact.consumer, &pact.sha);
            let href = format!(
                "{pact_url}/metadata/{}",
                for_verification::metadata(pact, request.include_pending_status)
            );
            // The notice gives the plain address, a WIP pact's with its own metadata.
            let notice_url = if pact.wip {
                format!("{pact_url}/metadata/{wip_metadata}")
            } else {
                pact_url
            };
            let notices =
                for_verification::notices(pact, &notice_url, provider, request, deprecated_get)
                    .into_iter()
                    .map(|(when, text)| Notice { when, text })
                    .collect();
            PactItem {
                short_description: for_verification::short_description(pact),
                verification_properties: Properties {
                    pending: request.include_pending_status.then_some(pact.pending),
                    wip: pact.wip,
                    notices,
                },
                links: PactLinks {
                    this: PactLink {
                        name: format!(
                            "Pact between {} ({}) and {provider}",
                            pact.consumer, pact.consumer_version
                        ),
                        href,
                    },
                },
            }
        })
        .collect();
    let body = Answer {
        embedded: Embedded { pacts: items },
        links: json!({
            "self": titled(format!("{}/pacts/provider/{}/for-verification", urls.base, seg(provider)), "Pacts to be verified", None)
        }),
    };
    // About 2.3 KB a pact (its notices are most of it): sized once, so a
    // provider with a thousand WIP pacts is not copied as the body grows.
    hal::ok_serialized(&body, body.embedded.pacts.len() * 2400 + 256).map_err(|error| {
        ApiError::Internal(format!(
            "the pacts for verification could not be serialised: {error}"
        ))
    })
}

// The answer as typed structs, serialised straight to bytes: a large
// provider's answer (megabytes with WIP pacts) cost more to build as a
// `Value` and serialise than to query. Field order is the wire order.

#[derive(Serialize)]
struct Answer {
    #[serde(rename = "_embedded")]
    embedded: Embedded,
    #[serde(rename = "_links")]
    links: Value,
}

#[derive(Serialize)]
struct Embedded {
    pacts: Vec<PactItem>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PactItem {
    short_description: String,
    verification_properties: Properties,
    #[serde(rename = "_links")]
    links: PactLinks,
}

#[derive(Serialize)]
struct Properties {
    #[serde(skip_serializing_if = "Option::is_none")]
    pending: Option<bool>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    wip: bool,
    notices: Vec<Notice>,
}

#[derive(Serialize)]
struct Notice {
    when: &'static str,
    text: String,
}

#[derive(Serialize)]
struct PactLinks {
    #[serde(rename = "self")]
    this: PactLink,
}

#[derive(Serialize)]
struct PactLink {
    href: String,
    name: String,
}
