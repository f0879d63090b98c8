//! `/pacts/provider/{provider}/provider-states`: the provider states a
//! provider's builds must set up, from its consumers' pacts on their main
//! branches, on a branch, or in an environment (`pact-broker provider-states list`).

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde_json::json;
use treaty_domain::for_verification::Lookup;

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::hal::Hal;
use crate::path::Path;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/pacts/provider/{provider}/provider-states",
            get(of_main_branches),
        )
        .route(
            "/pacts/provider/{provider}/provider-states/branch/{branch}",
            get(of_branch),
        )
        .route(
            "/pacts/provider/{provider}/provider-states/environment/{environment}",
            get(of_environment),
        )
}

async fn of_main_branches(
    State(state): State<AppState>,
    Path(provider): Path<String>,
) -> ApiResult<Hal> {
    answer(&state, &provider, &Lookup::MainBranchHeads).await
}

async fn of_branch(
    State(state): State<AppState>,
    Path((provider, branch)): Path<(String, String)>,
) -> ApiResult<Hal> {
    answer(&state, &provider, &Lookup::BranchHead(branch)).await
}

/// The route names an environment's uuid, but the Pact Broker reads the
/// segment as its name, and `pact-broker provider-states list
/// --environment` sends the name: either is taken.
async fn of_environment(
    State(state): State<AppState>,
    Path((provider, environment)): Path<(String, String)>,
) -> ApiResult<Hal> {
    let name = match state.store.environment(&environment).await? {
        Some(found) => found.name,
        None => environment,
    };
    answer(&state, &provider, &Lookup::InEnvironment(name)).await
}

async fn answer(state: &AppState, provider: &str, of: &Lookup) -> ApiResult<Hal> {
    let states = state
        .store
        .provider_states(provider, of)
        .await?
        .ok_or_else(|| {
            ApiError::NotFoundHal(format!("No provider with name '{provider}' found"))
        })?;
    Ok(Hal::ok(json!({ "providerStates": states })))
}
