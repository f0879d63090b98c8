//! `/metrics`: the Pact Broker's counts of what the broker holds (JSON), or,
//! for a scraper that asks for it, Prometheus exposition (OpenMetrics, or the
//! text format 0.0.4).

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};
use treaty_domain::time;
use treaty_store::BrokerCounts;

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::hal::Hal;

pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What the client asked for: Prometheus scrapers send OpenMetrics or
/// `text/plain` first; the Pact Broker's clients ask for (HAL) JSON.
enum Wanted {
    Counts,
    OpenMetrics,
    TextFormat,
}

fn wanted(headers: &HeaderMap) -> Wanted {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if accept.contains("application/openmetrics-text") {
        Wanted::OpenMetrics
    } else if accept.contains("text/plain") && !accept.contains("json") {
        Wanted::TextFormat
    } else {
        Wanted::Counts
    }
}

async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    let openmetrics = match wanted(&headers) {
        Wanted::Counts => {
            let counts = state.store.broker_counts().await?;
            return Ok(Hal::ok(counts_body(&counts)).into_response());
        }
        Wanted::OpenMetrics => true,
        Wanted::TextFormat => false,
    };
    let gauges = state.store.operational_gauges().await?;
    let pools = state.store.pool_use();
    let text = crate::metrics::exposition(&state.metrics, &pools, &gauges, openmetrics)
        .map_err(|e| ApiError::Internal(format!("encoding metrics: {e}")))?;
    let content_type = if openmetrics {
        OPENMETRICS
    } else {
        TEXT_FORMAT
    };
    let mut response = text.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    Ok(response)
}

fn distribution(pairs: &[(i64, i64)]) -> Value {
    Value::Object(
        pairs
            .iter()
            .map(|(n, count)| (n.to_string(), json!(count)))
            .collect::<Map<_, _>>(),
    )
}

/// The Pact Broker's `/metrics` body, key for key.
fn counts_body(c: &BrokerCounts) -> Value {
    let moment = |at: Option<chrono::DateTime<chrono::Utc>>| at.map(time::format);
    json!({
        "interactions": {
            "latestInteractionsCount": c.latest_interactions,
            "latestMessagesCount": c.latest_messages,
            "latestInteractionsAndMessagesCount": c.latest_interactions + c.latest_messages,
        },
        "pacticipants": { "count": c.pacticipants, "withMainBranchSetCount": c.pacticipants_with_main_branch },
        "integrations": { "count": c.integrations },
        "pactPublications": {
            "count": c.pact_publications,
            "first": moment(c.first_pact_publication),
            "last": moment(c.last_pact_publication),
        },
        "pactVersions": { "count": c.pact_versions },
        "pactRevisionsPerConsumerVersion": { "distribution": distribution(&c.pact_revisions) },
        "verificationResults": {
            "count": c.verifications,
            "successCount": c.successful_verifications,
            "failureCount": c.failed_verifications,
            "distinctCount": c.distinct_verifications,
            "first": moment(c.first_verification),
            "last": moment(c.last_verification),
        },
        "verificationResultsPerPactVersion": { "distribution": distribution(&c.verifications_per_pact_version) },
        "pacticipantVersions": {
            "count": c.versions,
            "withUserCreatedBranchCount": c.versions_with_user_created_branch,
            "withBranchCount": c.versions_with_branch,
            "withBranchSetCount": c.versions_with_branch,
        },
        "webhooks": { "count": c.webhooks },
        "tags": {
            "count": c.tags,
            "distinctCount": c.distinct_tag_names,
            "distinctWithPacticipantCount": c.distinct_tags_per_pacticipant,
        },
        "triggeredWebhooks": { "count": c.webhook_deliveries },
        "webhookExecutions": { "count": c.webhook_attempts },
        // The Pact Broker does not count the matrix (too slow): always -1.
        "matrix": { "count": -1 },
        "environments": { "count": c.environments },
        "deployedVersions": {
            "count": c.deployed_versions,
            "userCreatedCount": c.user_created_deployed_versions,
            "currentlyDeployedCount": c.currently_deployed_versions,
        },
        "releasedVersions": {
            "count": c.released_versions,
            "currentlySupportedCount": c.currently_supported_released_versions,
        },
    })
}
