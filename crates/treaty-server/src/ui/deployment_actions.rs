//! Acting on a deployment from its page (write role): open and resolve
//! incidents, mark it failed. Each checks, as the API does, that the
//! caller may act for the deployment's pacticipant, then calls the same
//! store operation as `/deployments/{id}/incidents` and `/deployment-events`.

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use chrono::Utc;
use serde_json::{Map, json};
use treaty_domain::ledger;
use treaty_domain::model::LedgerDeployment;
use treaty_store::EventTarget;

use super::PageResult;
use super::forms::Posted;
use super::manage::see_other;
use super::view::Links;
use crate::AppState;
use crate::access::Caller;
use crate::base_url::BaseUrl;
use crate::error::ApiError;
use crate::path::Path;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/ui/deployments/{id}/incidents", post(open_incident))
        .route(
            "/ui/deployments/{id}/incidents/{incident}/resolve",
            post(resolve_incident),
        )
        .route("/ui/deployments/{id}/fail", post(mark_failed))
}

/// The deployment, once the caller is known to be allowed to act for it.
async fn deployment_for(
    state: &AppState,
    caller: &Caller,
    raw: &str,
) -> Result<LedgerDeployment, ApiError> {
    let missing = || ApiError::NotFound(format!("No deployment {raw} found"));
    let id: i64 = raw.parse().map_err(|_| missing())?;
    let found = state
        .store
        .ledger_deployment(id)
        .await?
        .ok_or_else(missing)?;
    caller.may_act_for(&found.pacticipant)?;
    Ok(found)
}

/// `POST /ui/deployments/{id}/incidents`: as the API's.
async fn open_incident(
    State(state): State<AppState>,
    base: BaseUrl,
    caller: Caller,
    Path(id): Path<String>,
    form: Posted,
) -> PageResult {
    let deployment = deployment_for(&state, &caller, &id).await?;
    let incident = ledger::parse_incident(&json!({
        "title": form.get("title"),
        "severity": form.get("severity"),
        "url": form.get("url"),
        "opened_by": caller.name(),
    }))
    .map_err(ApiError::ValidationList)?;
    state.store.open_incident(deployment.id, &incident).await?;
    Ok(see_other(Links::new(&base).deployment(deployment.id)))
}

/// `POST /ui/deployments/{id}/incidents/{incident}/resolve`: resolved now.
async fn resolve_incident(
    State(state): State<AppState>,
    base: BaseUrl,
    caller: Caller,
    Path((id, incident)): Path<(String, String)>,
    _form: Posted,
) -> PageResult {
    let deployment = deployment_for(&state, &caller, &id).await?;
    let incident: i64 = incident
        .parse()
        .map_err(|_| ApiError::NotFound(format!("No incident {incident} found")))?;
    state
        .store
        .resolve_incident(deployment.id, incident, Utc::now())
        .await?;
    Ok(see_other(Links::new(&base).deployment(deployment.id)))
}

/// `POST /ui/deployments/{id}/fail`: a `failed` event for this deployment,
/// as a pipeline would send to `/deployment-events`.
async fn mark_failed(
    State(state): State<AppState>,
    base: BaseUrl,
    caller: Caller,
    Path(id): Path<String>,
    _form: Posted,
) -> PageResult {
    let deployment = deployment_for(&state, &caller, &id).await?;
    let event = ledger::parse_event(&json!({
        "product_name": deployment.pacticipant,
        "version": deployment.version,
        "environment_name": deployment.environment,
        "application_instance": deployment.application_instance,
        "status": "failed",
        "deployment_id": deployment.id,
        "deployed_by": caller.name(),
    }))
    .map_err(ApiError::ValidationList)?;
    if let EventTarget::Open { id, status } = state.store.deployment_event_target(&event).await?
        && let Err(error) = ledger::transition(status, ledger::Status::Failed)
    {
        return Err(ApiError::Conflict {
            message: ledger::refusal(id, &event, &error),
            extra: Map::new(),
        });
    }
    treaty_store::audit::describe(&format!(
        "{} {} in {}: marked failed in the UI",
        deployment.pacticipant, deployment.version, deployment.environment
    ));
    state.store.record_deployment_event(&event, None).await?;
    Ok(see_other(Links::new(&base).deployment(deployment.id)))
}
