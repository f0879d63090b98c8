//! `/integrations`: every consumer/provider pair, and deleting them.

use crate::path::Path;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use serde_json::{Map, Value, json};
use treaty_domain::time;

use crate::AppState;
use crate::base_url::BaseUrl;
use crate::error::{ApiError, ApiResult};
use crate::hal::{Hal, link, titled};
use crate::pagination::{self, PageQuery};
use crate::views::{self, Urls};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/integrations", get(list).delete(delete_everything))
        .route(
            "/integrations/provider/{provider}/consumer/{consumer}",
            delete(delete_one),
        )
}

async fn list(
    State(state): State<AppState>,
    base: BaseUrl,
    page: Result<Query<PageQuery>, QueryRejection>,
) -> ApiResult<Hal> {
    let Query(page) = page.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let page = page.request()?;
    let urls = Urls::new(base.0);
    let integrations = state.store.integrations(page).await?;
    let items: Vec<Value> = integrations
        .items
        .iter()
        .map(|i| {
            let mut item = Map::new();
            item.insert("consumer".into(), views::pacticipant_summary(&urls, &i.consumer));
            item.insert("provider".into(), views::pacticipant_summary(&urls, &i.provider));
            item.insert("createdAt".into(), json!(time::format(i.created_at)));
            let status = match &i.latest_verification {
                None => "unknown",
                Some(v) if v.success => "success",
                Some(_) => "failed",
            };
            item.insert("verificationStatus".into(), json!(status));
            if let Some(v) = &i.latest_verification {
                item.insert(
                    "latestVerificationResult".into(),
                    json!({
                        "success": v.success,
                        "verifiedAt": time::format(v.verified_at),
                        "providerVersionNumber": v.provider_version,
                    }),
                );
            }
            if let Some(at) = i.latest_pact_created_at {
                item.insert("latestPactCreatedAt".into(), json!(time::format(at)));
            }
            item.insert(
                "_links".into(),
                json!({
                    "pb:latest-pact-version": titled(format!("{}/latest", urls.pact_pair(&i.provider, &i.consumer)), "Latest pact version", None),
                    "pb:delete_integration": titled(format!("{}/integrations/provider/{}/consumer/{}", urls.base, crate::hal::seg(&i.provider), crate::hal::seg(&i.consumer)), "Delete the integration", None),
                }),
            );
            Value::Object(item)
        })
        .collect();
    let self_href = format!("{}/integrations", urls.base);
    let mut body = Map::new();
    body.insert("_embedded".into(), json!({ "integrations": items }));
    let mut links = Map::new();
    links.insert("self".into(), link(&self_href));
    pagination::decorate(&mut body, &mut links, integrations.page, &self_href);
    body.insert("_links".into(), Value::Object(links));
    Ok(Hal::ok(Value::Object(body)))
}

/// The Pact Broker's "delete everything": kept because its clients use it to
/// reset a broker between test runs.
async fn delete_everything(State(state): State<AppState>) -> ApiResult<StatusCode> {
    state.store.wipe().await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn delete_one(
    State(state): State<AppState>,
    Path((provider, consumer)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    if state.store.delete_integration(&consumer, &provider).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!(
            "No integration between {consumer} and {provider} found"
        )))
    }
}
