//! `GET /openapi.json`: the OpenAPI 3.1 description of Treaty's HTTP API.
//!
//! The document is `src/openapi.json`, compiled in; `tests/it/openapi.rs`
//! checks that every path it names is routed, and `scripts/fuzz-http` runs
//! schemathesis against it.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::AppState;

/// The OpenAPI document, as served.
pub const DOCUMENT: &str = include_str!("../openapi.json");

pub fn router() -> Router<AppState> {
    Router::new().route("/openapi.json", get(document))
}

async fn document() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json;charset=utf-8")],
        DOCUMENT,
    )
}
