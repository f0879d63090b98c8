//! Deployed and released versions: recording them, ending them, listing the
//! current ones per environment. Each is a ledger deployment or release
//! (the store writes both in one transaction); the environment's gates see
//! each one recorded, and mark it `bypassed_gates` when they would have
//! refused it, or refuse it when the policy says `"record_deployment": "enforce"`.

use crate::path::Path;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};
use treaty_domain::gates::{EnvironmentPolicy, FactGate};
use treaty_domain::ledger;
use treaty_domain::model::Environment;
use treaty_store::{DeployedFilter, EventTarget, NewDeployment, Recording};

use super::environments::environment_not_found;
use super::versions::version_not_found;
use crate::AppState;
use crate::access::Caller;
use crate::base_url::BaseUrl;
use crate::body::RawBody;
use crate::error::{ApiError, ApiResult};
use crate::hal::{self, Hal, titled};
use crate::views::{self, Urls};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/pacticipants/{pacticipant}/versions/{version}/deployed-versions/environment/{uuid}",
            get(deployments_of_version).post(record_deployment),
        )
        .route(
            "/pacticipants/{pacticipant}/versions/{version}/released-versions/environment/{uuid}",
            get(releases_of_version).post(record_release),
        )
        .route(
            "/deployed-versions/{uuid}",
            get(show_deployed).patch(patch_deployed),
        )
        .route(
            "/released-versions/{uuid}",
            get(show_released).patch(patch_released),
        )
        .route(
            "/environments/{uuid}/deployed-versions/currently-deployed",
            get(currently_deployed),
        )
        .route(
            "/environments/{uuid}/released-versions/currently-supported",
            get(currently_supported),
        )
}

/// Fails with the right 404 when the version or the environment is unknown.
async fn require(
    state: &AppState,
    pacticipant: &str,
    version: &str,
    uuid: &str,
) -> ApiResult<Environment> {
    if state.store.version(pacticipant, version).await?.is_none() {
        return Err(version_not_found(pacticipant, version));
    }
    state
        .store
        .environment(uuid)
        .await?
        .ok_or_else(|| environment_not_found(uuid))
}

fn label(environment: &Environment) -> String {
    environment
        .display_name
        .clone()
        .unwrap_or_else(|| environment.name.clone())
}

/// The gates' say on a fact recorded after the event (`record-deployment`,
/// `record-release`): it is recorded (what runs is never denied), with the
/// verdict as its evidence, and marked `bypassed_gates` when the gates would
/// have refused it; refused like a gated start when the environment's policy
/// enforces its gates on such facts.
#[allow(clippy::too_many_arguments)]
async fn gate_fact(
    state: &AppState,
    urls: &Urls,
    caller: &Caller,
    pacticipant: &str,
    version: &str,
    environment: &Environment,
    policy: &EnvironmentPolicy,
    what: &str,
) -> ApiResult<Recording> {
    let event = ledger::Event {
        pacticipant: pacticipant.to_owned(),
        version: version.to_owned(),
        environment: environment.name.clone(),
        status: Some(ledger::Status::Completed),
        ..ledger::Event::default()
    };
    let mut evidence = super::ledger::evidence(state, urls, &event).await;
    let contracts = evidence.as_ref().map(super::ledger::contracts_of);
    let verdict = super::gates::verdict_under(
        state,
        policy,
        pacticipant,
        version,
        &environment.name,
        false,
        contracts,
    )
    .await?;
    if !verdict.allowed && policy.record_deployment == FactGate::Enforce {
        return Err(super::gates::blocked(
            pacticipant,
            version,
            &environment.name,
            &verdict,
        ));
    }
    if let Some(Value::Object(kept)) = evidence.as_mut() {
        kept.insert("gates".into(), verdict.to_json());
    }
    let mut summary = format!("{pacticipant} {version} {what} {}", environment.name);
    if !verdict.allowed {
        summary.push_str(&format!(
            ", BYPASSING THE GATES (recorded as a fact; they would have refused it: {})",
            verdict.summary()
        ));
    }
    treaty_store::audit::describe(&summary);
    Ok(Recording {
        deployed_by: caller.name().map(str::to_owned),
        evidence,
        bypassed_gates: !verdict.allowed,
    })
}

/// The application instance from a record-deployment body: `applicationInstance`
/// or its older name `target`; numbers are taken as text, blank is none.
fn application_instance(body: &Value) -> ApiResult<Option<String>> {
    let raw = body
        .get("applicationInstance")
        .filter(|v| !v.is_null())
        .or_else(|| body.get("target").filter(|v| !v.is_null()));
    match raw {
        None => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(ApiError::field("applicationInstance", "must be a string")),
    }
}

/// What the gates said of a fact they would have refused, for its answer.
fn bypass_note(recording: &Recording) -> Option<String> {
    recording.bypassed_gates.then(|| {
        recording
            .evidence
            .as_ref()
            .and_then(|e| e["gates"]["summary"].as_str())
            .unwrap_or("the environment's gates would have refused it")
            .to_owned()
    })
}

/// Treaty's own members on the Pact Broker's answer (clients ignore them):
/// the deployment was recorded, though the gates would have refused it.
fn add_bypass_note(body: &mut Value, note: Option<String>) {
    if let (Some(note), Some(object)) = (note, body.as_object_mut()) {
        object.insert("bypassedGates".into(), json!(true));
        object.insert("gatesSummary".into(), json!(note));
    }
}

async fn record_deployment(
    State(state): State<AppState>,
    base: BaseUrl,
    caller: Caller,
    Path((pacticipant, version, uuid)): Path<(String, String, String)>,
    raw: RawBody,
) -> ApiResult<Response> {
    raw.require_json(&["application/json"])?;
    let body = raw.json_value()?;
    if !body.is_object() {
        return Err(ApiError::BadRequest(
            "Request body must be a JSON object".into(),
        ));
    }
    let instance = application_instance(&body)?;
    // What this fact would do to the ledger: complete an open deployment of
    // the version, change nothing (the version runs there already), or
    // record a new deployment, which the gates see. Read in one unit.
    let slot = state
        .store
        .deployment_slot(&pacticipant, &version, &uuid, instance.as_deref())
        .await?;
    if !slot.version_exists {
        return Err(version_not_found(&pacticipant, &version));
    }
    let environment = slot
        .environment
        .ok_or_else(|| environment_not_found(&uuid))?;
    let urls = Urls::new(base.0);
    let recording = match slot.open {
        // A started deployment completes unchecked, as its completed event would.
        EventTarget::Open {
            status: ledger::Status::Started,
            ..
        } => Recording {
            deployed_by: caller.name().map(str::to_owned),
            ..Recording::default()
        },
        EventTarget::New if slot.current => Recording::default(),
        _ => {
            let policy = super::gates::policy_of(&environment, slot.policy.as_ref())?;
            gate_fact(
                &state,
                &urls,
                &caller,
                &pacticipant,
                &version,
                &environment,
                &policy,
                "deployed to",
            )
            .await?
        }
    };
    let bypassed = bypass_note(&recording);
    let deployed = state
        .store
        .record_deployment_as(
            NewDeployment {
                pacticipant,
                version,
                environment_uuid: uuid,
                application_instance: instance,
                uuid: None,
            },
            recording,
        )
        .await?;
    let mut body = views::deployed_version(&urls, &deployed, true);
    add_bypass_note(&mut body, bypassed);
    // Always 201, even when the version was already the current one (as the Pact Broker does).
    Ok(hal::created(&urls.deployed_version(&deployed.uuid), body))
}

async fn deployments_of_version(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((pacticipant, version, uuid)): Path<(String, String, String)>,
) -> ApiResult<Hal> {
    let label = label(&require(&state, &pacticipant, &version, &uuid).await?);
    let urls = Urls::new(base.0);
    let deployed: Vec<Value> = state
        .store
        .deployments_of_version(&pacticipant, &version)
        .await?
        .iter()
        // The most recent first, as the Pact Broker lists them.
        .rev()
        .filter(|d| d.environment.uuid == uuid)
        .map(|d| views::deployed_version(&urls, d, false))
        .collect();
    Ok(Hal::ok(json!({
        "_embedded": { "deployedVersions": deployed },
        "_links": { "self": titled(urls.record_deployment(&pacticipant, &version, &uuid), format!("Deployments of {pacticipant} version {version} to {label}"), None) }
    })))
}

async fn record_release(
    State(state): State<AppState>,
    base: BaseUrl,
    caller: Caller,
    Path((pacticipant, version, uuid)): Path<(String, String, String)>,
    raw: RawBody,
) -> ApiResult<Response> {
    raw.json_value()?;
    let environment = require(&state, &pacticipant, &version, &uuid).await?;
    let urls = Urls::new(base.0);
    let supported_already = !state
        .store
        .currently_supported(&uuid, Some(&pacticipant), Some(&version))
        .await?
        .is_empty();
    let recording = if supported_already {
        Recording::default()
    } else {
        let policy = super::gates::policy(&state, &environment.name).await?;
        gate_fact(
            &state,
            &urls,
            &caller,
            &pacticipant,
            &version,
            &environment,
            &policy,
            "released to",
        )
        .await?
    };
    let bypassed = bypass_note(&recording);
    let (released, created) = state
        .store
        .record_release_as(&pacticipant, &version, &uuid, None, recording)
        .await?;
    let href = urls.released_version(&released.uuid);
    let mut body = views::released_version(&urls, &released, true);
    add_bypass_note(&mut body, bypassed);
    if created {
        return Ok(hal::created(&href, body));
    }
    // An existing release answers 200, re-activated, at the same address.
    let mut response = Hal::ok(body).into_response();
    if let Ok(location) = axum::http::HeaderValue::from_str(&href) {
        response
            .headers_mut()
            .insert(axum::http::header::LOCATION, location);
    }
    Ok(response)
}

async fn releases_of_version(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((pacticipant, version, uuid)): Path<(String, String, String)>,
) -> ApiResult<Hal> {
    let label = label(&require(&state, &pacticipant, &version, &uuid).await?);
    let urls = Urls::new(base.0);
    let released: Vec<Value> = state
        .store
        .releases_of_version(&pacticipant, &version)
        .await?
        .iter()
        .filter(|r| r.environment.uuid == uuid)
        .map(|r| views::released_version(&urls, r, false))
        .collect();
    Ok(Hal::ok(json!({
        "_embedded": { "releasedVersions": released },
        "_links": { "self": titled(urls.record_release(&pacticipant, &version, &uuid), format!("Releases of {pacticipant} version {version} to {label}"), None) }
    })))
}

fn deployed_not_found(uuid: &str) -> ApiError {
    ApiError::missing(format!("No deployed version with uuid '{uuid}' found"))
}

fn released_not_found(uuid: &str) -> ApiError {
    ApiError::missing(format!("No released version with uuid '{uuid}' found"))
}

async fn show_deployed(
    State(state): State<AppState>,
    base: BaseUrl,
    Path(uuid): Path<String>,
) -> ApiResult<Hal> {
    let deployed = state
        .store
        .deployed_version(&uuid)
        .await?
        .ok_or_else(|| deployed_not_found(&uuid))?;
    Ok(Hal::ok(views::deployed_version(
        &Urls::new(base.0),
        &deployed,
        true,
    )))
}

/// Reads a merge-patch body: `{"<field>": false}` ends the record, `true` is
/// refused (a new record must be made), absent changes nothing.
fn patch_flag(raw: &RawBody, field: &str, refusal: &str) -> ApiResult<bool> {
    raw.require_json(&["application/merge-patch+json"])
        .map_err(|_| {
            ApiError::UnsupportedMediaType(
                "Send this change as Content-Type: application/merge-patch+json".to_owned(),
            )
        })?;
    let body = raw.json_value()?;
    match body.get(field) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(false)) => Ok(true),
        Some(Value::Bool(true)) => {
            let mut errors = serde_json::Map::new();
            errors.insert(field.to_owned(), json!([refusal]));
            Err(ApiError::Unprocessable(errors))
        }
        Some(_) => Err(ApiError::field(field, "must be true or false")),
    }
}

async fn patch_deployed(
    State(state): State<AppState>,
    base: BaseUrl,
    caller: Caller,
    Path(uuid): Path<String>,
    raw: RawBody,
) -> ApiResult<Hal> {
    let end = patch_flag(
        &raw,
        "currentlyDeployed",
        "The currentlyDeployed property cannot be set back to true. Please record a new deployment.",
    )?;
    // Whom this acts for is the pacticipant of the deployment it ends.
    let recorded = state
        .store
        .deployed_version(&uuid)
        .await?
        .ok_or_else(|| deployed_not_found(&uuid))?;
    caller.may_act_for(&recorded.pacticipant)?;
    let deployed = if end {
        state.store.undeploy(&uuid).await?
    } else {
        state.store.deployed_version(&uuid).await?
    }
    .ok_or_else(|| deployed_not_found(&uuid))?;
    Ok(Hal::ok(views::deployed_version(
        &Urls::new(base.0),
        &deployed,
        true,
    )))
}

async fn show_released(
    State(state): State<AppState>,
    base: BaseUrl,
    Path(uuid): Path<String>,
) -> ApiResult<Hal> {
    let released = state
        .store
        .released_version(&uuid)
        .await?
        .ok_or_else(|| released_not_found(&uuid))?;
    Ok(Hal::ok(views::released_version(
        &Urls::new(base.0),
        &released,
        true,
    )))
}

async fn patch_released(
    State(state): State<AppState>,
    base: BaseUrl,
    caller: Caller,
    Path(uuid): Path<String>,
    raw: RawBody,
) -> ApiResult<Hal> {
    let end = patch_flag(
        &raw,
        "currentlySupported",
        "The currentlySupported property cannot be set back to true. Please record a new deployment.",
    )?;
    // Whom this acts for is the pacticipant of the release it ends.
    let recorded = state
        .store
        .released_version(&uuid)
        .await?
        .ok_or_else(|| released_not_found(&uuid))?;
    caller.may_act_for(&recorded.pacticipant)?;
    let released = if end {
        state.store.end_support(&uuid).await?
    } else {
        state.store.released_version(&uuid).await?
    }
    .ok_or_else(|| released_not_found(&uuid))?;
    Ok(Hal::ok(views::released_version(
        &Urls::new(base.0),
        &released,
        true,
    )))
}

#[derive(Debug, Deserialize)]
struct DeployedQuery {
    pacticipant: Option<String>,
    #[serde(rename = "applicationInstance")]
    application_instance: Option<String>,
    /// The older name of `applicationInstance`.
    target: Option<String>,
}

async fn currently_deployed(
    State(state): State<AppState>,
    base: BaseUrl,
    Path(uuid): Path<String>,
    query: Result<Query<DeployedQuery>, QueryRejection>,
) -> ApiResult<Hal> {
    let Query(query) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let environment = state
        .store
        .environment(&uuid)
        .await?
        .ok_or_else(|| environment_not_found(&uuid))?;
    // A blank instance asks for the deployments without one.
    let instance = query
        .application_instance
        .or(query.target)
        .map(|i| Some(i).filter(|i| !i.is_empty()));
    let deployed = state
        .store
        .currently_deployed(
            &uuid,
            DeployedFilter {
                pacticipant: query.pacticipant,
                application_instance: instance,
            },
        )
        .await?;
    let urls = Urls::new(base.0);
    let label = environment.display_name.unwrap_or(environment.name);
    Ok(Hal::ok(json!({
        "_embedded": {
            "deployedVersions": deployed.iter().map(|d| views::deployed_version(&urls, d, false)).collect::<Vec<_>>()
        },
        "_links": {
            "self": titled(format!("{}/deployed-versions/currently-deployed", urls.environment(&uuid)), format!("Currently deployed versions for {label}"), None),
        }
    })))
}

#[derive(Debug, Deserialize)]
struct SupportedQuery {
    pacticipant: Option<String>,
    version: Option<String>,
}

async fn currently_supported(
    State(state): State<AppState>,
    base: BaseUrl,
    Path(uuid): Path<String>,
    query: Result<Query<SupportedQuery>, QueryRejection>,
) -> ApiResult<Hal> {
    let Query(query) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let environment = state
        .store
        .environment(&uuid)
        .await?
        .ok_or_else(|| environment_not_found(&uuid))?;
    let released = state
        .store
        .currently_supported(
            &uuid,
            query.pacticipant.as_deref(),
            query.version.as_deref(),
        )
        .await?;
    let urls = Urls::new(base.0);
    let label = environment.display_name.unwrap_or(environment.name);
    Ok(Hal::ok(json!({
        "_embedded": {
            "releasedVersions": released.iter().map(|r| views::released_version(&urls, r, false)).collect::<Vec<_>>()
        },
        "_links": {
            "self": titled(format!("{}/released-versions/currently-supported", urls.environment(&uuid)), format!("Currently supported released versions for {label}"), None),
        }
    })))
}
