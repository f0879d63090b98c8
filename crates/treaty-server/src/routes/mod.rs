//! The route table: each module owns the routes of one resource.

pub(crate) mod access;
mod badges;
mod branches;
mod dashboard;
mod deployments;
mod diagnostic;
mod doc;
mod dora;
pub(crate) mod environments;
mod for_verification;
pub(crate) mod gates;
pub(crate) mod incidents;
mod index;
mod integrations;
mod labels;
pub(crate) mod ledger;
pub(crate) mod matrix;
mod metrics;
mod openapi;
mod pact_diffs;
mod pact_lists;
mod pacticipants;
mod pacts;
mod provider_contracts;
mod provider_states;
mod publish;
mod state_change;
mod tags;
mod verifications;
mod versions;
pub(crate) mod webhooks;

use axum::Router;
use axum::extract::Request;
use axum::middleware::from_fn_with_state;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

use crate::AppState;
use crate::error::ApiError;
use crate::middleware;

pub fn router(state: AppState) -> Router<AppState> {
    let mut api = Router::new()
        .merge(index::router())
        .merge(diagnostic::router())
        .merge(pacticipants::router())
        .merge(labels::router())
        .merge(versions::router())
        .merge(tags::router())
        .merge(branches::router())
        .merge(publish::router())
        .merge(provider_contracts::router())
        .merge(pacts::router())
        .merge(pact_lists::router())
        .merge(pact_diffs::router())
        .merge(verifications::router())
        .merge(integrations::router())
        .merge(metrics::router())
        .merge(dashboard::router())
        .merge(doc::router())
        .merge(environments::router())
        .merge(deployments::router())
        .merge(matrix::router())
        .merge(badges::router())
        .merge(for_verification::router())
        .merge(provider_states::router())
        .merge(ledger::router())
        .merge(incidents::router())
        .merge(dora::router())
        .merge(gates::router())
        .merge(webhooks::router())
        .merge(access::router())
        .merge(openapi::router())
        .merge(crate::ui::router());
    if state.config.test_provider_states {
        api = api
            .merge(state_change::router())
            .route("/test/error", axum::routing::any(test_error));
    }
    api.fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(CatchPanicLayer::custom(middleware::panic_response))
        .layer(from_fn_with_state(
            state.clone(),
            crate::access::authenticate,
        ))
        .layer(from_fn_with_state(state.clone(), crate::metrics::record))
        .layer(TraceLayer::new_for_http())
        .layer(from_fn_with_state(state.clone(), middleware::time_limit))
        .layer(from_fn_with_state(state.clone(), middleware::render_errors))
        // Outermost: a browser's GET of an API address gets the answer as a
        // page, errors included; everything else passes untouched.
        .layer(from_fn_with_state(state, crate::ui::api_browser::layer))
}

/// A handler that panics, as the Pact Broker's `/test/error`: proves that a
/// panic is answered with a 500 problem document and the server keeps serving.
async fn test_error() -> &'static str {
    panic!("test error raised on purpose by /test/error")
}

async fn not_found(request: Request) -> ApiError {
    ApiError::missing(format!("There is no resource at {}", request.uri().path()))
}

async fn method_not_allowed(request: Request) -> ApiError {
    ApiError::MethodNotAllowed(format!(
        "{} is not allowed on {}",
        request.method(),
        request.uri().path()
    ))
}
