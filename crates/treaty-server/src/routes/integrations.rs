//! `/integrations`: every consumer/provider pair, and deleting them.

use crate::path::Path;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use treaty_domain::time;

use crate::AppState;
use crate::base_url::BaseUrl;
use crate::error::{ApiError, ApiResult};
use crate::hal::{Hal, seg, titled};
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

#[derive(Debug, Deserialize)]
struct ListQuery {
    q: Option<String>,
    #[serde(flatten)]
    page: PageQuery,
}

/// Every consumer/provider pair, the most recently active first (as the
/// Pact Broker lists them); `q` keeps pairs where either name contains it.
async fn list(
    State(state): State<AppState>,
    base: BaseUrl,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult<Hal> {
    let Query(query) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let page = query.page.request()?;
    let urls = Urls::new(base.0);
    let integrations = state
        .store
        .integrations_by_activity(query.q.as_deref(), page)
        .await?;
    let items: Vec<Value> = integrations
        .items
        .iter()
        .map(|i| {
            let mut item = Map::new();
            item.insert(
                "consumer".into(),
                views::pacticipant_summary(&urls, &i.consumer),
            );
            item.insert(
                "provider".into(),
                views::pacticipant_summary(&urls, &i.provider),
            );
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
            item.insert("_links".into(), links(&urls, &i.consumer, &i.provider));
            Value::Object(item)
        })
        .collect();
    let self_href = format!("{}/integrations", urls.base);
    let mut body = Map::new();
    body.insert("_embedded".into(), json!({ "integrations": items }));
    let mut links = Map::new();
    links.insert(
        "self".into(),
        json!({ "href": self_href, "title": "All integrations" }),
    );
    pagination::decorate(&mut body, &mut links, integrations.page, &self_href);
    body.insert("_links".into(), Value::Object(links));
    Ok(Hal::ok(Value::Object(body)))
}

/// An integration's links, as the Pact Broker gives them (and its latest pact).
fn links(urls: &Urls, consumer: &str, provider: &str) -> Value {
    let pair = format!("provider/{}/consumer/{}", seg(provider), seg(consumer));
    json!({
        "pb:dashboard": {
            "title": "BETA: Pacts to show on the dashboard",
            "href": format!("{}/dashboard/{pair}", urls.base),
        },
        // The Pact Broker gives this one without its base URL; Treaty's
        // links are all absolute (docs/api.md).
        "pb:matrix": {
            "title": format!("Matrix of pacts/verification results for {consumer} and {provider}"),
            "href": format!("{}/matrix/{pair}", urls.base),
        },
        "pb:group": { "href": urls.pacticipant(consumer) },
        "pb:delete_integration": {
            "title": format!("Delete the integration between {consumer} and {provider}"),
            "href": format!("{}/integrations/{pair}", urls.base),
        },
        "pb:latest-pact-version": titled(format!("{}/latest", urls.pact_pair(provider, consumer)), "Latest pact version", None),
    })
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
