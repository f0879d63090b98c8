//! Incidents recorded against a deployment: opened, then resolved. They
//! count towards the change failure rate and the time to restore.

use crate::path::Path;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use chrono::Utc;
use serde_json::{Map, Value, json};
use treaty_domain::ledger;
use treaty_domain::model::Incident;
use treaty_domain::time;

use crate::AppState;
use crate::access::Caller;
use crate::base_url::BaseUrl;
use crate::body::RawBody;
use crate::error::{ApiError, ApiResult};
use crate::hal::{self, Hal, link, put_opt};
use crate::views::Urls;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/deployments/{id}/incidents", post(open))
        .route(
            "/deployments/{id}/incidents/{incident}",
            get(show).patch(resolve),
        )
}

fn href(urls: &Urls, incident: &Incident) -> String {
    format!(
        "{}/deployments/{}/incidents/{}",
        urls.base, incident.deployment_id, incident.id
    )
}

pub(super) fn render(urls: &Urls, incident: &Incident) -> Value {
    let mut body = Map::new();
    body.insert("id".into(), json!(incident.id));
    body.insert("title".into(), json!(incident.title));
    put_opt(&mut body, "severity", incident.severity.clone());
    put_opt(&mut body, "url", incident.url.clone());
    put_opt(&mut body, "opened_by", incident.opened_by.clone());
    body.insert("opened_at".into(), json!(time::format(incident.opened_at)));
    put_opt(
        &mut body,
        "resolved_at",
        incident.resolved_at.map(time::format),
    );
    body.insert("resolved".into(), json!(incident.resolved_at.is_some()));
    body.insert(
        "_links".into(),
        json!({
            "self": link(href(urls, incident)),
            "treaty:deployment": link(format!("{}/deployments/{}", urls.base, incident.deployment_id)),
        }),
    );
    Value::Object(body)
}

fn id(raw: &str, what: &str) -> ApiResult<i64> {
    raw.parse()
        .map_err(|_| ApiError::NotFound(format!("No {what} {raw} found")))
}

/// An incident is about the deployment's pacticipant: whom a write on it acts for.
async fn check_caller(state: &AppState, caller: &Caller, deployment: i64) -> ApiResult<()> {
    let found = state
        .store
        .ledger_deployment(deployment)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("No deployment {deployment} found")))?;
    caller.may_act_for(&found.pacticipant)
}

async fn open(
    State(state): State<AppState>,
    base: BaseUrl,
    caller: Caller,
    Path(deployment): Path<String>,
    raw: RawBody,
) -> ApiResult<Response> {
    let deployment = id(&deployment, "deployment")?;
    check_caller(&state, &caller, deployment).await?;
    raw.require_json(&["application/json"])?;
    let incident = ledger::parse_incident(&raw.json_value()?).map_err(ApiError::ValidationList)?;
    let stored = state.store.open_incident(deployment, &incident).await?;
    let urls = Urls::new(base.0);
    Ok(hal::created(&href(&urls, &stored), render(&urls, &stored)))
}

async fn show(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((deployment, incident)): Path<(String, String)>,
) -> ApiResult<Hal> {
    let deployment_id = id(&deployment, "deployment")?;
    let incident_id = id(&incident, "incident")?;
    let found = state
        .store
        .ledger_deployment(deployment_id)
        .await?
        .and_then(|d| d.incidents.into_iter().find(|i| i.id == incident_id))
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "No incident {incident} found on deployment {deployment}"
            ))
        })?;
    Ok(Hal::ok(render(&Urls::new(base.0), &found)))
}

/// `PATCH {"resolved_at": "..."}`, or `{"resolved": true}` for now.
async fn resolve(
    State(state): State<AppState>,
    base: BaseUrl,
    caller: Caller,
    Path((deployment, incident)): Path<(String, String)>,
    raw: RawBody,
) -> ApiResult<Hal> {
    let deployment_id = id(&deployment, "deployment")?;
    let incident_id = id(&incident, "incident")?;
    check_caller(&state, &caller, deployment_id).await?;
    raw.require_json(&["application/json", "application/merge-patch+json"])?;
    let body = raw.json_value()?;
    let at = match (body.get("resolved_at"), body.get("resolved")) {
        (Some(Value::String(raw)), _) => {
            super::ledger::timestamp("resolved_at", Some(raw.clone()))?.unwrap_or_else(Utc::now)
        }
        (None | Some(Value::Null), Some(Value::Bool(true))) => Utc::now(),
        _ => {
            return Err(ApiError::field(
                "resolved_at",
                "is missing: send {\"resolved_at\": \"2026-01-31T14:05:00Z\"}, or {\"resolved\": true} for now",
            ));
        }
    };
    let resolved = state
        .store
        .resolve_incident(deployment_id, incident_id, at)
        .await?;
    Ok(Hal::ok(render(&Urls::new(base.0), &resolved)))
}
