//! Deployment gates: each environment's policy (`/policies/{environment}`:
//! its own, or the default for its kind), the preflight check that changes
//! nothing (`GET /preflight`), and the verdict the ledger asks for when a
//! deployment starts or a Pact Broker deployment is recorded.

use crate::path::Path;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Value, json};
use treaty_domain::gates::{self, ContractAnswer, EnvironmentPolicy, Facts, Verdict};
use treaty_domain::matrix_query::{CanIDeployQuery, CanIDeployTarget, MatrixQuery};
use treaty_domain::model::Environment;

use crate::AppState;
use crate::base_url::BaseUrl;
use crate::body::RawBody;
use crate::error::{ApiError, ApiResult};
use crate::hal::{Hal, link};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/policies/{environment}",
            get(show).put(replace).delete(remove),
        )
        .route("/preflight", get(preflight))
        .route("/release-plans", axum::routing::post(release_plan))
}

/// The environment's policy in force: the one set for it, or the default
/// for its kind. `NotFound` for an unknown environment.
pub(crate) async fn policy(state: &AppState, environment: &str) -> ApiResult<EnvironmentPolicy> {
    match state.store.environment_policies(environment).await? {
        Some(stored) => stored_policy(environment, &stored),
        None => {
            let production = state
                .store
                .environment_by_name(environment)
                .await?
                .is_some_and(|e| e.production);
            Ok(EnvironmentPolicy::default_for(production))
        }
    }
}

/// The policy in force in an environment already read, with what it has
/// stored (`None`: the default for its kind).
pub(crate) fn policy_of(
    environment: &Environment,
    stored: Option<&Value>,
) -> ApiResult<EnvironmentPolicy> {
    match stored {
        Some(stored) => stored_policy(&environment.name, stored),
        None => Ok(EnvironmentPolicy::default_for(environment.production)),
    }
}

fn stored_policy(environment: &str, stored: &Value) -> ApiResult<EnvironmentPolicy> {
    gates::parse_environment_policy(stored).map_err(|errors| {
        ApiError::Internal(format!(
            "the stored policy of {environment} does not read back: {}",
            errors.join("; ")
        ))
    })
}

/// What can-i-deploy says about deploying the version to the environment.
pub(crate) async fn contract_answer(
    state: &AppState,
    pacticipant: &str,
    version: &str,
    environment: &str,
) -> ApiResult<ContractAnswer> {
    let query = MatrixQuery::from_can_i_deploy(&CanIDeployQuery {
        pacticipant: pacticipant.to_owned(),
        version: version.to_owned(),
        to: CanIDeployTarget::Environment(environment.to_owned()),
        ignore: Vec::new(),
    });
    match super::matrix::answer(state, &query).await {
        Ok(matrix) => Ok(ContractAnswer {
            deployable: matrix.summary.deployable,
            reason: matrix.summary.reason(),
        }),
        Err(ApiError::ValidationList(messages)) => Ok(ContractAnswer {
            deployable: None,
            reason: messages.join("; "),
        }),
        Err(other) => Err(other),
    }
}

/// The environment's verdict on deploying the version now, under the policy
/// in force (its own, or the default). `contracts` is the can-i-deploy
/// answer when the caller has it already.
pub(crate) async fn verdict(
    state: &AppState,
    pacticipant: &str,
    version: &str,
    environment: &str,
    emergency: bool,
    contracts: Option<ContractAnswer>,
) -> ApiResult<(EnvironmentPolicy, Verdict)> {
    let policy = policy(state, environment).await?;
    let verdict = verdict_under(
        state,
        &policy,
        pacticipant,
        version,
        environment,
        emergency,
        contracts,
    )
    .await?;
    Ok((policy, verdict))
}

/// The verdict on deploying the version to the environment now under
/// `policy`, whether it is in force or a draft (the UI's preview).
pub(crate) async fn verdict_under(
    state: &AppState,
    policy: &EnvironmentPolicy,
    pacticipant: &str,
    version: &str,
    environment: &str,
    emergency: bool,
    contracts: Option<ContractAnswer>,
) -> ApiResult<Verdict> {
    let needs_contracts = policy
        .rules
        .iter()
        .any(|p| p.rule == gates::Rule::ContractCompatibility && p.mode != gates::Mode::Off);
    let contracts = match contracts {
        Some(answer) => Some(answer),
        None if needs_contracts => {
            Some(contract_answer(state, pacticipant, version, environment).await?)
        }
        None => None,
    };
    // Where the version has been matters to promotion and soak alone.
    let needs_history = policy.rules.iter().any(|p| {
        p.mode != gates::Mode::Off
            && matches!(
                p.rule,
                gates::Rule::Promotion { .. } | gates::Rule::Soak { .. }
            )
    });
    let history = if needs_history {
        state.store.gate_history(pacticipant, version).await?
    } else {
        treaty_store::GateHistory::default()
    };
    let facts = Facts {
        version: version.to_owned(),
        environment: environment.to_owned(),
        now: Utc::now(),
        emergency,
        contracts,
        stays: history.stays,
        failures: history.failures,
        open_incidents: history.open_incidents,
    };
    Ok(gates::evaluate(policy, &facts))
}

/// The error a blocked deployment start answers with.
pub(super) fn blocked(
    pacticipant: &str,
    version: &str,
    environment: &str,
    verdict: &Verdict,
) -> ApiError {
    let cause = verdict.cause().unwrap_or(gates::Cause::Contracts);
    ApiError::Blocked {
        cause,
        message: format!(
            "{pacticipant} {version} may not be deployed to {environment} now. {}",
            verdict.summary()
        ),
        verdict: verdict.to_json(),
    }
}

/// The policy in force, with where it came from and its rules in words.
fn render(base: &BaseUrl, environment: &Environment, policy: &EnvironmentPolicy) -> Value {
    let mut body = policy.to_json();
    body["environment"] = json!(environment.name);
    body["source"] = json!(policy.source.as_str());
    body["source_reason"] = json!(policy.source_reason(&environment.name, environment.production));
    body["described"] = json!(policy.rules.iter().map(gates::describe).collect::<Vec<_>>());
    body["_links"] = json!({ "self": link(base.join(&format!("/policies/{}", percent_encoding::utf8_percent_encode(&environment.name, percent_encoding::NON_ALPHANUMERIC)))) });
    body
}

/// The environment by name, or a 404 that suggests the closest names.
pub(crate) async fn environment_named(state: &AppState, name: &str) -> ApiResult<Environment> {
    if let Some(environment) = state.store.environment_by_name(name).await? {
        return Ok(environment);
    }
    let known: Vec<String> = state
        .store
        .environments()
        .await?
        .into_iter()
        .map(|e| e.name)
        .collect();
    let suggestions = treaty_domain::suggest::closest(name, known.iter().map(String::as_str));
    Err(ApiError::NotFound(format!(
        "No environment named '{name}' found.{}",
        treaty_domain::suggest::did_you_mean(&suggestions)
    )))
}

async fn show(
    State(state): State<AppState>,
    base: BaseUrl,
    Path(environment): Path<String>,
) -> ApiResult<Hal> {
    let found = environment_named(&state, &environment).await?;
    let policy = policy(&state, &environment).await?;
    Ok(Hal::ok(render(&base, &found, &policy)))
}

async fn replace(
    State(state): State<AppState>,
    base: BaseUrl,
    caller: crate::access::Caller,
    Path(environment): Path<String>,
    raw: RawBody,
) -> ApiResult<Hal> {
    raw.require_json(&["application/json"])?;
    let (found, policy) =
        set_policy(&state, &environment, &raw.json_value()?, caller.name()).await?;
    Ok(Hal::ok(render(&base, &found, &policy)))
}

/// Reads a policy document for the environment as `PUT /policies/{environment}`
/// does: its rules, and the environments they name (which must exist, and
/// not be this one).
pub(crate) async fn parse_policy_for(
    state: &AppState,
    environment: &str,
    body: &Value,
) -> ApiResult<(Environment, EnvironmentPolicy)> {
    let policy = gates::parse_environment_policy(body).map_err(ApiError::ValidationList)?;
    let found = environment_named(state, environment).await?;
    let mut unknown = Vec::new();
    for name in policy.rules.iter().flat_map(|p| p.rule.environments()) {
        if name == environment {
            unknown.push(format!("a rule of {environment} cannot name {environment} itself: name the environment a version goes through first"));
        } else if state.store.environment_by_name(name).await?.is_none() {
            unknown.push(format!(
                "no environment named '{name}' exists: create it first, or fix the name"
            ));
        }
    }
    if !unknown.is_empty() {
        return Err(ApiError::ValidationList(unknown));
    }
    Ok((found, policy))
}

/// Replaces the environment's policy (`PUT /policies/{environment}` and the
/// UI's policy form), after [`parse_policy_for`].
pub(crate) async fn set_policy(
    state: &AppState,
    environment: &str,
    body: &Value,
    changed_by: Option<&str>,
) -> ApiResult<(Environment, EnvironmentPolicy)> {
    let (found, policy) = parse_policy_for(state, environment, body).await?;
    state
        .store
        .set_environment_policies(environment, Some(&policy.to_json()), changed_by)
        .await?;
    Ok((found, policy))
}

async fn remove(
    State(state): State<AppState>,
    caller: crate::access::Caller,
    Path(environment): Path<String>,
) -> ApiResult<Response> {
    state
        .store
        .set_environment_policies(&environment, None, caller.name())
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Debug, Deserialize)]
struct PreflightQuery {
    pacticipant: Option<String>,
    version: Option<String>,
    environment: Option<String>,
    emergency: Option<String>,
}

/// Would a deployment start now be allowed? Changes nothing.
async fn preflight(
    State(state): State<AppState>,
    base: BaseUrl,
    query: Result<Query<PreflightQuery>, QueryRejection>,
) -> ApiResult<Hal> {
    let Query(query) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let mut missing = Vec::new();
    for (name, value) in [
        ("pacticipant", &query.pacticipant),
        ("version", &query.version),
        ("environment", &query.environment),
    ] {
        if value.as_deref().is_none_or(str::is_empty) {
            missing.push(format!("{name} is missing"));
        }
    }
    let emergency = match query.emergency.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            missing.push(format!("emergency must be true or false (got '{other}')"));
            false
        }
    };
    let (Some(pacticipant), Some(version), Some(environment)) =
        (query.pacticipant, query.version, query.environment)
    else {
        return Err(ApiError::ValidationList(missing));
    };
    if !missing.is_empty() {
        return Err(ApiError::ValidationList(missing));
    }
    let found = environment_named(&state, &environment).await?;
    let (policy, verdict) = verdict(
        &state,
        &pacticipant,
        &version,
        &environment,
        emergency,
        None,
    )
    .await?;
    let mut body = verdict.to_json();
    body["policy_source_reason"] = json!(policy.source_reason(&found.name, found.production));
    body["pacticipant"] = json!(pacticipant);
    body["version"] = json!(version);
    body["environment"] = json!(environment);
    body["_links"] = json!({
        "self": link(base.join("/preflight")),
        "treaty:policies": link(base.join(&format!("/policies/{}", percent_encoding::utf8_percent_encode(&environment, percent_encoding::NON_ALPHANUMERIC)))),
    });
    Ok(Hal::ok(body))
}

/// A release plan's question: these versions, to that environment.
struct PlanRequest {
    environment: String,
    /// (pacticipant, version), one per pacticipant.
    planned: Vec<(String, String)>,
}

/// Reads `{"environment": "production", "versions": [{"pacticipant": "Foo", "version": "3"}, ...]}`.
fn parse_plan_request(body: &Value) -> Result<PlanRequest, Vec<String>> {
    let mut errors = Vec::new();
    let environment = body
        .get("environment")
        .and_then(Value::as_str)
        .filter(|e| !e.is_empty());
    if environment.is_none() {
        errors.push("environment is missing: where the versions are to be deployed".to_owned());
    }
    let mut planned: Vec<(String, String)> = Vec::new();
    match body.get("versions").and_then(Value::as_array) {
        Some(items) if !items.is_empty() => {
            for (i, item) in items.iter().enumerate() {
                let field = |key: &str| {
                    item.get(key)
                        .and_then(Value::as_str)
                        .filter(|s| !s.is_empty())
                };
                match (field("pacticipant"), field("version")) {
                    (Some(p), Some(v)) => {
                        if planned.iter().any(|(q, _)| q == p) {
                            errors.push(format!("versions[{i}]: {p} is planned twice: give one version per pacticipant"));
                        }
                        planned.push((p.to_owned(), v.to_owned()));
                    }
                    _ => errors.push(format!("versions[{i}] needs a pacticipant and a version")),
                }
            }
        }
        _ => {
            errors.push("versions must list at least one {\"pacticipant\", \"version\"}".to_owned())
        }
    }
    match environment {
        Some(environment) if errors.is_empty() => Ok(PlanRequest {
            environment: environment.to_owned(),
            planned,
        }),
        _ => Err(errors),
    }
}

/// In which order a set of new versions can go to an environment, if at all. Changes nothing.
async fn release_plan(
    State(state): State<AppState>,
    base: BaseUrl,
    raw: RawBody,
) -> ApiResult<Hal> {
    raw.require_json(&["application/json"])?;
    let PlanRequest {
        environment,
        planned,
    } = parse_plan_request(&raw.json_value()?).map_err(ApiError::ValidationList)?;
    let facts = state
        .store
        .release_plan_facts(&environment, &planned)
        .await?;
    let plan = treaty_domain::release::plan(&planned, &facts);
    let version = |p: &str, v: &str| json!({ "pacticipant": p, "version": v });
    Ok(Hal::ok(json!({
        "environment": environment,
        "possible": plan.possible,
        "summary": plan.summary(),
        "problems": plan.problems,
        "steps": plan.steps.iter().enumerate().map(|(i, step)| json!({
            "step": i + 1,
            "deploy": step.deploy.iter().map(|(p, v)| version(p, v)).collect::<Vec<_>>(),
            "together": step.together,
            "why": step.why,
            "checks": step.checks.iter().map(|c| json!({
                "consumer": version(&c.consumer, &c.consumer_version),
                "provider": version(&c.provider, &c.provider_version),
                "ok": c.ok,
                "reason": c.reason,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "_links": { "self": link(base.join("/release-plans")) },
    })))
}
