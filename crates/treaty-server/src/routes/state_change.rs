//! `POST /_pact/provider_states`: only with `--test-provider-states`. Before
//! each interaction of the official clients' contracts, the verifier names a
//! state; this wipes the data and seeds that state.

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::routing::post;
use serde_json::{Value, json};

use crate::AppState;
use crate::body::RawBody;
use crate::error::{ApiError, ApiResult};
use crate::hal::Hal;

pub fn router() -> Router<AppState> {
    Router::new().route("/_pact/provider_states", post(change_state))
}

/// Accepts the Rust verifier's `{"action","state","params"}` and the Ruby
/// verifier's `{"consumer","state","states","params"}`.
#[derive(Debug, serde::Deserialize)]
struct StateQuery {
    /// Which client's contract is replayed (the Rust verifier does not say).
    consumer: Option<String>,
}

async fn change_state(
    State(state): State<AppState>,
    query: Result<Query<StateQuery>, QueryRejection>,
    raw: RawBody,
) -> ApiResult<Hal> {
    let Query(query) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let body = raw.json_value()?;
    let consumer = query
        .consumer
        .or_else(|| {
            body.get("consumer")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_default();
    let action = body
        .get("action")
        .and_then(Value::as_str)
        .unwrap_or("setup");
    if action == "teardown" {
        return Ok(Hal::ok(json!({})));
    }
    let name = body.get("state").and_then(Value::as_str).unwrap_or("");
    state.store.wipe().await?;
    crate::seed::seed(state.store.as_ref(), name, &consumer)
        .await
        .map_err(|e| ApiError::Internal(format!("seeding state '{name}' failed: {e}")))?;
    Ok(Hal::ok(json!({})))
}
