//! `/pacts/provider/{provider}/for-verification`: the pacts a provider's build
//! must verify, with why (selectors), pending and work-in-progress status.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use serde_json::{Map, Value, json};
use treaty_domain::for_verification::{self, Request};
use treaty_domain::matrix_query::{RackValue, parse_nested_query};

use crate::AppState;
use crate::base_url::BaseUrl;
use crate::body::RawBody;
use crate::error::{ApiError, ApiResult};
use crate::hal::{Hal, seg, titled};
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
/// (`consumer_version_selectors[][tag]=prod&provider_version_tags[]=main`).
/// Without a query it answers with the default selectors (the Rust verifier
/// GETs it first to find the address to POST to).
async fn from_query(
    State(state): State<AppState>,
    base: BaseUrl,
    Path(provider): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Hal> {
    let raw = raw.unwrap_or_default();
    let parsed = parse_nested_query(&raw).map_err(|e| ApiError::ValidationList(vec![e]))?;
    let body = rack_to_json(&parsed);
    let request = for_verification::parse_request(&body).map_err(ApiError::ValidationList)?;
    answer(&state, base, &provider, &request, !raw.is_empty()).await
}

async fn from_body(
    State(state): State<AppState>,
    base: BaseUrl,
    Path(provider): Path<String>,
    raw: RawBody,
) -> ApiResult<Hal> {
    raw.require_json(&["application/json"])?;
    let request =
        for_verification::parse_request(&raw.json_value()?).map_err(ApiError::ValidationList)?;
    answer(&state, base, &provider, &request, false).await
}

async fn answer(
    state: &AppState,
    base: BaseUrl,
    provider: &str,
    request: &Request,
    deprecated_get: bool,
) -> ApiResult<Hal> {
    let pacts = state
        .store
        .pacts_for_verification(provider, request)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("No provider with name '{provider}' found")))?;
    let urls = Urls::new(base.0);
    let items: Vec<Value> = pacts
        .iter()
        .map(|pact| {
            let href = format!(
                "{}/metadata/{}",
                urls.pact_version(provider, &pact.consumer, &pact.sha),
                for_verification::metadata(pact)
            );
            let mut notices: Vec<Value> = Vec::new();
            if deprecated_get {
                notices.push(json!({"when": "before_verification", "text": "WARNING - this version of the Pact library uses a beta version of the API which will be removed in the future. Please upgrade your Pact library. See https://docs.pact.io/pact_broker/advanced_topics/provider_verification_results for more information."}));
            }
            notices.extend(
                for_verification::notices(pact, &href, provider, request)
                    .into_iter()
                    .map(|(when, text)| json!({ "when": when, "text": text })),
            );
            let mut properties = Map::new();
            if let Some(pending) = pact.pending {
                properties.insert("pending".into(), json!(pending));
            }
            if pact.wip {
                properties.insert("wip".into(), json!(true));
            }
            properties.insert("notices".into(), Value::Array(notices));
            json!({
                "shortDescription": for_verification::short_description(pact),
                "verificationProperties": properties,
                "_links": {
                    "self": { "href": href, "name": format!("Pact between {} ({}) and {provider}", pact.consumer, pact.consumer_version) }
                }
            })
        })
        .collect();
    Ok(Hal::ok(json!({
        "_embedded": { "pacts": items },
        "_links": {
            "self": titled(format!("{}/pacts/provider/{}/for-verification", urls.base, seg(provider)), "Pacts to be verified", None)
        }
    })))
}
