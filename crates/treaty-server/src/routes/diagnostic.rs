//! Health: the process answers (heartbeat) and the database answers (dependencies).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::json;

use crate::AppState;
use crate::base_url::BaseUrl;
use crate::hal::{Hal, link};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/diagnostic/status/heartbeat", get(heartbeat))
        .route("/diagnostic/status/dependencies", get(dependencies))
}

async fn heartbeat(base: BaseUrl) -> Hal {
    Hal::ok(json!({
        "ok": true,
        "_links": { "self": link(base.join("/diagnostic/status/heartbeat")) }
    }))
}

async fn dependencies(State(state): State<AppState>, base: BaseUrl) -> Hal {
    let database = state.store.check_connection().await;
    if let Err(error) = &database {
        tracing::warn!("database check failed: {error}");
    }
    let ok = database.is_ok();
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    Hal(
        status,
        json!({
            "database": { "ok": ok },
            "_links": { "self": link(base.join("/diagnostic/status/dependencies")) }
        }),
    )
}
