//! The deployment ledger: `POST /deployment-events` (Versioner's path and
//! field names), `GET /deployments`, `GET /deployments/{id}`, and what was
//! deployed at a moment in the past (`GET /deployments/deployed-at`).

use crate::path::Path;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use treaty_domain::access::Role;
use treaty_domain::gates::ContractAnswer;
use treaty_domain::ledger::{self, Status};
use treaty_domain::matrix_query::{CanIDeployQuery, CanIDeployTarget, MatrixQuery};
use treaty_domain::model::PageRequest;
use treaty_domain::model::{LedgerDeployment, LedgerKind};
use treaty_domain::{PacticipantName, VersionNumber, suggest, time};
use treaty_store::{EventTarget, LedgerFilter, VersionChanges};

use crate::AppState;
use crate::base_url::BaseUrl;
use crate::body::RawBody;
use crate::error::{ApiError, ApiResult};
use crate::hal::{self, Hal, link, put_opt};
use crate::pagination::{self, PageQuery};
use crate::views::Urls;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/deployment-events", post(record_event))
        .route("/deployments", get(list))
        .route("/deployments/deployed-at", get(deployed_at))
        .route("/deployments/{id}", get(show))
}

fn render(urls: &Urls, d: &LedgerDeployment) -> Value {
    let mut body = Map::new();
    body.insert("id".into(), json!(d.id));
    body.insert("product_name".into(), json!(d.pacticipant));
    body.insert("version".into(), json!(d.version));
    body.insert("environment_name".into(), json!(d.environment));
    body.insert("kind".into(), json!(d.kind.as_str()));
    body.insert("status".into(), json!(d.status));
    // Completed and not ended: it runs (or, a release, is supported) now.
    body.insert("running".into(), json!(d.running()));
    put_opt(
        &mut body,
        "application_instance",
        d.application_instance.clone(),
    );
    for (key, value) in [
        ("deployed_by", &d.deployed_by),
        ("scm_branch", &d.scm_branch),
        ("scm_sha", &d.scm_sha),
        ("scm_repository", &d.scm_repository),
        ("build_url", &d.build_url),
        ("build_number", &d.build_number),
        ("source_system", &d.source_system),
    ] {
        put_opt(&mut body, key, value.clone());
    }
    put_opt(&mut body, "extra_metadata", d.extra_metadata.clone());
    body.insert("rollback".into(), json!(d.rollback));
    body.insert("emergency".into(), json!(d.emergency));
    body.insert("bypassed_gates".into(), json!(d.bypassed_gates));
    body.insert("created_at".into(), json!(time::format(d.created_at)));
    put_opt(&mut body, "started_at", d.started_at.map(time::format));
    put_opt(&mut body, "finished_at", d.finished_at.map(time::format));
    put_opt(&mut body, "ended_at", d.ended_at.map(time::format));
    put_opt(&mut body, "end_reason", d.end_reason.map(|r| r.as_str()));
    put_opt(&mut body, "ended_by", d.ended_by.clone());
    put_opt(&mut body, "replaced_by", d.replaced_by);
    if let (Some(start), Some(end)) = (d.started_at.or(Some(d.created_at)), d.finished_at) {
        body.insert(
            "duration_seconds".into(),
            json!((end - start).num_milliseconds() as f64 / 1000.0),
        );
    }
    put_opt(
        &mut body,
        "scm_committed_at",
        d.scm_committed_at.map(time::format),
    );
    put_opt(&mut body, "evidence", d.evidence.clone());
    body.insert(
        "incidents".into(),
        json!(
            d.incidents
                .iter()
                .map(|i| super::incidents::render(urls, i))
                .collect::<Vec<_>>()
        ),
    );
    body.insert(
        "events".into(),
        json!(
            d.events
                .iter()
                .map(|e| {
                    let mut event = Map::new();
                    event.insert("status".into(), json!(e.status));
                    event.insert("at".into(), json!(time::format(e.created_at)));
                    put_opt(&mut event, "metadata", e.metadata.clone());
                    Value::Object(event)
                })
                .collect::<Vec<_>>()
        ),
    );
    let mut links = Map::new();
    links.insert(
        "self".into(),
        link(format!("{}/deployments/{}", urls.base, d.id)),
    );
    links.insert(
        "pb:version".into(),
        crate::views::version_link(urls, &d.pacticipant, &d.version),
    );
    if let Some(uuid) = &d.deployed_version {
        links.insert(
            "pb:deployed-version".into(),
            link(urls.deployed_version(uuid)),
        );
    }
    if let Some(uuid) = &d.released_version {
        links.insert(
            "pb:released-version".into(),
            link(urls.released_version(uuid)),
        );
    }
    if let Some(id) = d.replaced_by {
        links.insert(
            "treaty:replaced-by".into(),
            link(format!("{}/deployments/{id}", urls.base)),
        );
    }
    body.insert("_links".into(), Value::Object(links));
    Value::Object(body)
}

/// The can-i-deploy answer as the deployment begins, kept as evidence.
pub(super) async fn evidence(
    state: &AppState,
    urls: &Urls,
    event: &ledger::Event,
) -> Option<Value> {
    let query = MatrixQuery::from_can_i_deploy(&CanIDeployQuery {
        pacticipant: event.pacticipant.clone(),
        version: event.version.clone(),
        to: CanIDeployTarget::Environment(event.environment.clone()),
        ignore: Vec::new(),
    });
    let checked_at = time::format(Utc::now());
    match super::matrix::answer(state, &query).await {
        Ok(matrix) => Some(json!({
            "checked_at": checked_at,
            "deployable": matrix.summary.deployable,
            "reason": matrix.summary.reason(),
            "fixes": matrix.summary.fixes,
            "rows": matrix.rows.iter().map(|row| json!({
                "consumer": row.consumer,
                "consumer_version": row.consumer_version.number,
                "provider": row.provider,
                "provider_version": row.provider_version.as_ref().map(|v| v.number.clone()),
                "success": row.success(),
                "pact": urls.pact(&row.provider, &row.consumer, &row.consumer_version.number),
                "verification": row.verification.as_ref().map(|v| urls.verification(&row.provider, &row.consumer, &row.pact_sha, v.number)),
            })).collect::<Vec<_>>(),
        })),
        // A pacticipant Treaty meets for the first time has no contracts to check.
        Err(ApiError::ValidationList(messages)) => Some(
            json!({ "checked_at": checked_at, "deployable": null, "reason": messages.join("; ") }),
        ),
        Err(_) => None,
    }
}

/// The pacticipant and version an event names, which do not exist, are
/// created when this Treaty is told to (`--create-unknown-versions`), before
/// anything is evaluated: so the evidence and the gates see the version.
/// Otherwise a 404 that names the closest existing names.
async fn ensure_known(state: &AppState, event: &ledger::Event) -> ApiResult<()> {
    if state.config.create_unknown_versions {
        let pacticipant = PacticipantName::parse(&event.pacticipant)
            .map_err(|e| ApiError::field("product_name", e.to_string()))?;
        let version = VersionNumber::parse(&event.version)
            .map_err(|e| ApiError::field("version", e.to_string()))?;
        treaty_store::audit::describe(&format!(
            "{} {}: created for a deployment event (--create-unknown-versions)",
            event.pacticipant, event.version
        ));
        state
            .store
            .put_version(&pacticipant, &version, VersionChanges::default())
            .await?;
        return Ok(());
    }
    const HOW: &str = "Deployment events record known versions only: publish the version (or create it with PUT /pacticipants/{pacticipant}/versions/{version}) first, or start treaty serve with --create-unknown-versions to create what events name";
    if state.store.pacticipant(&event.pacticipant).await?.is_none() {
        let known: Vec<String> = state
            .store
            .pacticipants(None, None)
            .await?
            .items
            .into_iter()
            .map(|p| p.name)
            .collect();
        let suggestions = suggest::closest(&event.pacticipant, known.iter().map(String::as_str));
        return Err(ApiError::NotFound(format!(
            "No pacticipant named '{}' found.{} {HOW}.",
            event.pacticipant,
            suggest::did_you_mean(&suggestions)
        )));
    }
    // The newest versions are the likely ones; a typo of an old one is rare.
    let recent: Vec<String> = state
        .store
        .versions(
            &event.pacticipant,
            Some(PageRequest {
                number: 1,
                size: 500,
            }),
        )
        .await?
        .items
        .into_iter()
        .map(|v| v.number)
        .collect();
    let suggestions = suggest::closest(&event.version, recent.iter().map(String::as_str));
    Err(ApiError::NotFound(format!(
        "No version {} of {} found.{} {HOW}.",
        event.version,
        event.pacticipant,
        suggest::did_you_mean(&suggestions)
    )))
}

async fn record_event(
    State(state): State<AppState>,
    base: BaseUrl,
    headers: axum::http::HeaderMap,
    caller: crate::access::Caller,
    raw: RawBody,
) -> ApiResult<Response> {
    raw.require_json(&["application/json"])?;
    let mut event = ledger::parse_event(&raw.json_value()?).map_err(ApiError::ValidationList)?;
    // Whom this event is for, from the event it will record.
    caller.may_act_for(&event.pacticipant)?;
    // Who deployed is who called, unless the pipeline says otherwise.
    if event.deployed_by.is_none()
        && let Some(name) = caller.name()
    {
        event.deployed_by = Some(name.to_owned());
    }
    if event.idempotency_key.is_none() {
        event.idempotency_key = headers
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
    }
    let replay = event.idempotency_key.is_some()
        && state.store.deployment_event_target(&event).await? == EventTarget::Replay;
    if !replay {
        let known = state
            .store
            .known_names(&event.pacticipant, &event.version, &event.environment)
            .await?;
        if !known.environment {
            super::gates::environment_named(&state, &event.environment).await?;
        }
        if !known.version {
            ensure_known(&state, &event).await?;
        }
    }
    treaty_store::audit::describe(&format!(
        "{} {} in {}: deployment event",
        event.pacticipant, event.version, event.environment
    ));
    let target = state.store.deployment_event_target(&event).await?;
    // The lifecycle answers first: an event that cannot apply is a 409,
    // whatever the gates would say.
    if let (EventTarget::Open { id, status }, Some(next)) = (&target, event.status)
        && let Err(error) = ledger::transition(*status, next)
    {
        return Err(ApiError::Conflict {
            message: ledger::refusal(*id, &event, &error),
            extra: Map::new(),
        });
    }
    let urls = Urls::new(base.0);
    let mut evidence = match (&target, event.status) {
        (EventTarget::Replay, _) => None,
        (_, Some(Status::Pending | Status::Started | Status::Completed)) => {
            evidence(&state, &urls, &event).await
        }
        _ => None,
    };
    // The environment's gates decide when a deployment starts (or completes
    // without having started); progress of a started one and replays pass.
    let gated = matches!(event.status, Some(Status::Started | Status::Completed))
        && !matches!(
            target,
            EventTarget::Replay
                | EventTarget::Open {
                    status: Status::Started,
                    ..
                }
        );
    if gated {
        let contracts = evidence.as_ref().map(contracts_of);
        let (_, verdict) = super::gates::verdict(
            &state,
            &event.pacticipant,
            &event.version,
            &event.environment,
            event.emergency,
            contracts,
        )
        .await?;
        if !verdict.allowed {
            return Err(super::gates::blocked(
                &event.pacticipant,
                &event.version,
                &event.environment,
                &verdict,
            ));
        }
        if let Some(Value::Object(kept)) = evidence.as_mut() {
            kept.insert("gates".into(), verdict.to_json());
        }
    }
    let outcome = state
        .store
        .record_deployment_event(&event, evidence)
        .await?;
    let body = render(&urls, &outcome.deployment);
    Ok(if outcome.created {
        hal::created(
            &format!("{}/deployments/{}", urls.base, outcome.deployment.id),
            body,
        )
    } else {
        Hal::ok(body).into_response()
    })
}

/// A version or pacticipant with deployment history is deleted only by an
/// admin (its ledger deployments stay, with the names they had): the write
/// role, which pipelines hold, gets a 409 naming the deployments.
pub(super) async fn keep_history_from_writers(
    state: &AppState,
    caller: &crate::access::Caller,
    pacticipant: &str,
    version: Option<&str>,
) -> ApiResult<()> {
    if caller.identity.role >= Role::Admin {
        return Ok(());
    }
    let history = state
        .store
        .deployment_history_of(pacticipant, version)
        .await?;
    if history.is_empty() {
        return Ok(());
    }
    let what = match version {
        Some(version) => format!("{pacticipant} version {version}"),
        None => pacticipant.to_owned(),
    };
    const SHOWN: usize = 10;
    let mut named: Vec<String> = history
        .iter()
        .take(SHOWN)
        .map(|id| format!("/deployments/{id}"))
        .collect();
    if history.len() > SHOWN {
        named.push(format!("and {} more", history.len() - SHOWN));
    }
    let mut extra = Map::new();
    extra.insert("deployments".into(), json!(history));
    Err(ApiError::Conflict {
        message: format!(
            "{what} has deployment history ({} deployment{}: {}): the write role cannot delete it. An admin may; its deployments then stay in the ledger, under the names they had.",
            history.len(),
            if history.len() == 1 { "" } else { "s" },
            named.join(", ")
        ),
        extra,
    })
}

/// The can-i-deploy answer kept as evidence, as the gates read it.
pub(super) fn contracts_of(evidence: &Value) -> ContractAnswer {
    ContractAnswer {
        deployable: evidence["deployable"].as_bool(),
        reason: evidence["reason"].as_str().unwrap_or_default().to_owned(),
    }
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    pacticipant: Option<String>,
    version: Option<String>,
    environment: Option<String>,
    status: Option<String>,
    running: Option<String>,
    kind: Option<String>,
    from: Option<String>,
    to: Option<String>,
    #[serde(flatten)]
    page: PageQuery,
}

pub(super) fn timestamp(field: &str, raw: Option<String>) -> ApiResult<Option<DateTime<Utc>>> {
    raw.map(|raw| {
        DateTime::parse_from_rfc3339(&raw)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| {
                ApiError::field(
                    field,
                    format!("must be a timestamp like 2026-01-31T14:05:00Z (got '{raw}')"),
                )
            })
    })
    .transpose()
}

async fn list(
    State(state): State<AppState>,
    base: BaseUrl,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult<Hal> {
    let Query(query) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let page = Some(
        query
            .page
            .request()?
            .unwrap_or(treaty_domain::model::PageRequest {
                number: 1,
                size: 100,
            }),
    );
    if let Some(status) = &query.status
        && Status::parse(status).is_none()
    {
        return Err(ApiError::field(
            "status",
            "must be one of pending, started, completed, failed, aborted, timed_out",
        ));
    }
    let running = match query.running.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(ApiError::field(
                "running",
                format!("must be true or false (got '{other}')"),
            ));
        }
    };
    let kind = match query.kind.as_deref() {
        None => None,
        Some("deployment") => Some(LedgerKind::Deployment),
        Some("release") => Some(LedgerKind::Release),
        Some(other) => {
            return Err(ApiError::field(
                "kind",
                format!("must be deployment or release (got '{other}')"),
            ));
        }
    };
    if query.version.is_some() && query.pacticipant.is_none() {
        return Err(ApiError::field(
            "version",
            "needs a pacticipant: ?pacticipant=Foo&version=1.2.3",
        ));
    }
    let filter = LedgerFilter {
        pacticipant: query.pacticipant,
        version: query.version,
        running,
        kind,
        environment: query.environment,
        status: query
            .status
            .as_deref()
            .and_then(Status::parse)
            .map(|s| s.as_str().to_owned()),
        from: timestamp("from", query.from)?,
        to: timestamp("to", query.to)?,
    };
    let deployments = state.store.ledger_deployments(filter, page).await?;
    let urls = Urls::new(base.0);
    let self_href = format!("{}/deployments", urls.base);
    let mut body = Map::new();
    body.insert(
        "_embedded".into(),
        json!({ "deployments": deployments.items.iter().map(|d| render(&urls, d)).collect::<Vec<_>>() }),
    );
    let mut links = Map::new();
    links.insert("self".into(), link(&self_href));
    pagination::decorate(&mut body, &mut links, deployments.page, &self_href);
    body.insert("_links".into(), Value::Object(links));
    Ok(Hal::ok(Value::Object(body)))
}

async fn show(
    State(state): State<AppState>,
    base: BaseUrl,
    Path(id): Path<String>,
) -> ApiResult<Hal> {
    let not_found = || ApiError::NotFound(format!("No deployment {id} found"));
    let number: i64 = id.parse().map_err(|_| not_found())?;
    let deployment = state
        .store
        .ledger_deployment(number)
        .await?
        .ok_or_else(not_found)?;
    Ok(Hal::ok(render(&Urls::new(base.0), &deployment)))
}

#[derive(Debug, Deserialize)]
struct DeployedAtQuery {
    environment: Option<String>,
    at: Option<String>,
}

/// "What was deployed in production at 14:05 last Tuesday": every slot's
/// version at that moment, from the record of deployments and undeployments.
async fn deployed_at(
    State(state): State<AppState>,
    base: BaseUrl,
    query: Result<Query<DeployedAtQuery>, QueryRejection>,
) -> ApiResult<Hal> {
    let Query(query) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let Some(environment) = query.environment.filter(|e| !e.is_empty()) else {
        return Err(ApiError::field(
            "environment",
            "is missing: name the environment, for example ?environment=production",
        ));
    };
    let at = timestamp("at", query.at)?.unwrap_or_else(Utc::now);
    let slots = state.store.deployed_at(&environment, at).await?;
    let urls = Urls::new(base.0);
    let deployed: Vec<Value> = slots
        .iter()
        .map(|slot| {
            let mut item = Map::new();
            item.insert("pacticipant".into(), json!(slot.pacticipant));
            item.insert("version".into(), json!(slot.version));
            put_opt(
                &mut item,
                "application_instance",
                slot.application_instance.clone(),
            );
            item.insert("deployed_since".into(), json!(time::format(slot.since)));
            put_opt(&mut item, "deployed_until", slot.until.map(time::format));
            item.insert("deployment_id".into(), json!(slot.deployment_id));
            let mut links = Map::new();
            links.insert(
                "pb:version".into(),
                crate::views::version_link(&urls, &slot.pacticipant, &slot.version),
            );
            links.insert(
                "treaty:deployment".into(),
                link(format!("{}/deployments/{}", urls.base, slot.deployment_id)),
            );
            item.insert("_links".into(), Value::Object(links));
            Value::Object(item)
        })
        .collect();
    Ok(Hal::ok(json!({
        "environment": environment,
        "at": time::format(at),
        "deployed": deployed,
        "_links": { "self": link(format!("{}/deployments/deployed-at?environment={}&at={}", urls.base,
            percent_encoding::utf8_percent_encode(&environment, percent_encoding::NON_ALPHANUMERIC),
            percent_encoding::utf8_percent_encode(&time::format(at), percent_encoding::NON_ALPHANUMERIC))) },
    })))
}
