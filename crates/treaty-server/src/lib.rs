//! Treaty's HTTP server: the Pact Broker API over a [`treaty_store::Store`].
//!
//! [`router`] builds the whole application; [`serve`] runs it on a bound
//! listener until the shutdown future completes. Handlers are thin: they parse
//! input into domain types, call one store operation, and render HAL.

pub mod access;
mod audit_log;
pub mod background;
mod base_url;
mod body;
pub mod comparisons;
mod config;
mod connections;
mod error;
mod hal;
mod heavy;
mod metrics;
mod middleware;
mod pagination;
mod path;
mod rate_limit;
mod routes;
pub mod secrets;
mod seed;
mod state;
mod ui;
mod views;
pub mod webhook_sender;

pub use config::{ConnectionLimits, PACT_BROKER_RETRY_SCHEDULE, SHIELDS_IO, ServerConfig};
pub use error::{ApiError, PROBLEM_TYPES, ProblemType};
pub use state::AppState;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;
use treaty_store::Store;

/// The version of the Pact Broker API Treaty serves, announced to clients.
pub const PACT_BROKER_API_VERSION: &str = "2.120.0";

/// Builds the application for a store and configuration.
pub fn router(store: Arc<dyn Store>, config: ServerConfig) -> Router {
    let state = AppState::new(store, config);
    routes::router(state.clone()).with_state(state)
}

/// Serves `app` on `listener` until `shutdown` completes, then finishes the
/// requests in flight; within `limits` (see [`ConnectionLimits`]).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    connections::serve(listener, app, limits, shutdown).await
}
