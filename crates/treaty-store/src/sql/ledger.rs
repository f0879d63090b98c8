//! The deployment ledger: the one record of what was deployed and released
//! where. Deployment events move deployments through their lifecycle; the
//! Pact Broker's `record-deployment`, `record-release`, their ends and tags
//! named after environments record ledger deployments too (in
//! `deployments.rs`, through [`apply_event`], [`record_release_entry`] and
//! [`end_running`]). Whatever puts a version in a slot goes through
//! [`place`], which ends what ran there in the ledger and writes the Pact
//! Broker's records of the slot in the same transaction, so the two can
//! never say different things.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::Row;
use treaty_domain::dora::{Fact, IncidentFact};
use treaty_domain::ledger::NewIncident;
use treaty_domain::ledger::{self, Event, Status, Transition};
use treaty_domain::model::{
    DeployedAt, EndReason, Incident, LedgerDeployment, LedgerEvent, LedgerKind, Page, PageInfo,
    PageRequest,
};

use super::webhooks;
use super::{Backend, Conn, DbRow, now, sql};
use crate::{
    DoraFilter, EventTarget, KnownNames, LedgerFilter, LedgerOutcome, LedgerStore, StoreError,
    StoreResult,
};

/// A ledger deployment with the names it was recorded with, when the
/// pacticipant, version or environment it belonged to has been deleted.
const DEPLOYMENT_SELECT: &str = "
SELECT d.id, coalesce(p.name, d.pacticipant_name, 'unknown') AS pacticipant,
  coalesce(v.number, d.version_number, 'unknown') AS version, coalesce(e.name, d.environment_name, 'unknown') AS environment,
  d.released, d.application_instance, d.status, d.deployed_by, d.scm_branch, d.scm_sha, d.scm_repository, d.build_url,
  d.build_number, d.source_system, d.extra_metadata, d.evidence, d.rollback, d.emergency, d.bypassed_gates,
  dv.uuid AS deployed_version, rv.uuid AS released_version, d.created_at, d.started_at, d.finished_at,
  d.scm_committed_at, d.ended_at, d.end_reason, d.ended_by, d.replaced_by_id
FROM deployments d
LEFT JOIN pacticipants p ON p.id = d.pacticipant_id
LEFT JOIN versions v ON v.id = d.version_id
LEFT JOIN environments e ON e.id = d.environment_id
LEFT JOIN deployed_versions dv ON dv.id = d.deployed_version_id
LEFT JOIN released_versions rv ON rv.id = d.released_version_id";

/// Newest first: by when each deployment last moved (finished, else
/// started, else created), so the top of a timeline is the last change to
/// what runs. Written as the index `deployments_by_activity` is.
const NEWEST_FIRST: &str =
    "ORDER BY coalesce(d.finished_at, d.started_at, d.created_at) DESC, d.id DESC";

/// A completed entry that has not ended: it runs (or is supported) now.
const RUNNING: &str = "d.status = 'completed' AND d.ended_at IS NULL";

fn json_column(row: &DbRow, column: &str) -> StoreResult<Option<Value>> {
    let text: Option<String> = row.try_get(column)?;
    text.map(|t| {
        serde_json::from_str(&t)
            .map_err(|e| StoreError::Corrupt(format!("stored {column} is not JSON: {e}")))
    })
    .transpose()
}

fn deployment_from_row(row: &DbRow) -> StoreResult<LedgerDeployment> {
    let released: bool = row.try_get("released")?;
    let end_reason: Option<String> = row.try_get("end_reason")?;
    Ok(LedgerDeployment {
        id: row.try_get("id")?,
        pacticipant: row.try_get("pacticipant")?,
        version: row.try_get("version")?,
        environment: row.try_get("environment")?,
        kind: if released {
            LedgerKind::Release
        } else {
            LedgerKind::Deployment
        },
        application_instance: row.try_get("application_instance")?,
        status: row.try_get("status")?,
        deployed_by: row.try_get("deployed_by")?,
        scm_branch: row.try_get("scm_branch")?,
        scm_sha: row.try_get("scm_sha")?,
        scm_repository: row.try_get("scm_repository")?,
        build_url: row.try_get("build_url")?,
        build_number: row.try_get("build_number")?,
        source_system: row.try_get("source_system")?,
        extra_metadata: json_column(row, "extra_metadata")?,
        evidence: json_column(row, "evidence")?,
        rollback: row.try_get("rollback")?,
        emergency: row.try_get("emergency")?,
        bypassed_gates: row.try_get("bypassed_gates")?,
        deployed_version: row.try_get("deployed_version")?,
        released_version: row.try_get("released_version")?,
        created_at: row.try_get("created_at")?,
        started_at: row.try_get("started_at")?,
        finished_at: row.try_get("finished_at")?,
        scm_committed_at: row.try_get("scm_committed_at")?,
        ended_at: row.try_get("ended_at")?,
        end_reason: end_reason.as_deref().and_then(EndReason::parse),
        ended_by: row.try_get("ended_by")?,
        replaced_by: row.try_get("replaced_by_id")?,
        events: Vec::new(),
        incidents: Vec::new(),
    })
}

pub(crate) async fn load(conn: &mut Conn, id: i64) -> StoreResult<Option<LedgerDeployment>> {
    let row = sqlx::query(sql(format!("{DEPLOYMENT_SELECT} WHERE d.id = ?")))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(deployment) = row.as_ref().map(deployment_from_row).transpose()? else {
        return Ok(None);
    };
    let mut deployments = [deployment];
    attach_events_and_incidents(conn, &mut deployments).await?;
    let [deployment] = deployments;
    Ok(Some(deployment))
}

/// Fills in the events and incidents of several deployments with one query
/// each, however many deployments there are.
async fn attach_events_and_incidents(
    conn: &mut Conn,
    deployments: &mut [LedgerDeployment],
) -> StoreResult<()> {
    if deployments.is_empty() {
        return Ok(());
    }
    let ids = vec!["?"; deployments.len()].join(", ");
    // One deployment (each write's answer) is the same text every time,
    // worth keeping prepared; a list's text changes with its length.
    let reused = deployments.len() == 1;
    let mut index = std::collections::HashMap::new();
    for (position, deployment) in deployments.iter().enumerate() {
        index.insert(deployment.id, position);
    }
    let mut events = sqlx::query(sql(format!(
        "SELECT deployment_id, status, metadata, created_at FROM deployment_events WHERE deployment_id IN ({ids}) ORDER BY id"
    )))
    .persistent(reused);
    for deployment in deployments.iter() {
        events = events.bind(deployment.id);
    }
    for row in events.fetch_all(&mut *conn).await? {
        let owner: i64 = row.try_get("deployment_id")?;
        if let Some(position) = index.get(&owner) {
            deployments[*position].events.push(LedgerEvent {
                status: row.try_get("status")?,
                metadata: json_column(&row, "metadata")?,
                created_at: row.try_get("created_at")?,
            });
        }
    }
    let mut incidents = sqlx::query(sql(format!(
        "{INCIDENT_SELECT} WHERE deployment_id IN ({ids}) ORDER BY id"
    )))
    .persistent(reused);
    for deployment in deployments.iter() {
        incidents = incidents.bind(deployment.id);
    }
    for row in incidents.fetch_all(&mut *conn).await? {
        let incident = incident_from_row(&row)?;
        if let Some(position) = index.get(&incident.deployment_id) {
            deployments[*position].incidents.push(incident);
        }
    }
    Ok(())
}

const INCIDENT_SELECT: &str = "SELECT id, deployment_id, title, severity, url, opened_by, opened_at, resolved_at FROM incidents";

fn incident_from_row(row: &DbRow) -> StoreResult<Incident> {
    Ok(Incident {
        id: row.try_get("id")?,
        deployment_id: row.try_get("deployment_id")?,
        title: row.try_get("title")?,
        severity: row.try_get("severity")?,
        url: row.try_get("url")?,
        opened_by: row.try_get("opened_by")?,
        opened_at: row.try_get("opened_at")?,
        resolved_at: row.try_get("resolved_at")?,
    })
}

/// Times given by clients, stored at the precision Treaty's own have, so text timestamps sort.
fn stored_time(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(at.timestamp_micros()).unwrap_or(at)
}

/// The event's own metadata, as stored with it.
fn event_metadata(event: &Event) -> Value {
    let mut fields = serde_json::Map::new();
    for (key, value) in [
        ("deployed_by", &event.deployed_by),
        ("scm_branch", &event.scm_branch),
        ("scm_sha", &event.scm_sha),
        ("build_url", &event.build_url),
        ("build_number", &event.build_number),
        ("source_system", &event.source_system),
    ] {
        if let Some(value) = value {
            fields.insert(key.to_owned(), Value::String(value.clone()));
        }
    }
    if let Some(extra) = &event.extra_metadata {
        fields.insert("extra_metadata".to_owned(), extra.clone());
    }
    Value::Object(fields)
}

fn conflict(id: i64, event: &Event, error: &ledger::OutOfOrder) -> StoreError {
    StoreError::Conflict(ledger::refusal(id, event, error))
}

/// The name of whoever the current request acts as, for who ended a
/// deployment or recorded one by a tag (`None` outside a request, or anonymous).
pub(crate) fn acting() -> Option<String> {
    crate::audit::current()
        .map(|audit| audit.entry().actor)
        .filter(|actor| !actor.is_empty() && actor != "anonymous")
}

/// The ids and names of what a deployment is of.
#[derive(Debug, Clone)]
pub(crate) struct Subject {
    pub pacticipant_id: i64,
    pub version_id: i64,
    pub environment_id: i64,
    pub pacticipant: String,
    pub version: String,
    pub environment: String,
}

/// The pacticipant, version and environment an event names, or `NotFound`.
/// Deployment events never create them (see `--create-unknown-versions`,
/// which creates them before the event is recorded).
async fn subject(conn: &mut Conn, event: &Event) -> StoreResult<Subject> {
    // One round trip for the three.
    let (environment_id, pacticipant_id, version_id): (Option<i64>, Option<i64>, Option<i64>) =
        sqlx::query_as(sql(
            "SELECT (SELECT id FROM environments WHERE name = ?), (SELECT id FROM pacticipants WHERE name = ?),
               (SELECT v.id FROM versions v JOIN pacticipants p ON p.id = v.pacticipant_id WHERE p.name = ? AND v.number = ?)",
        ))
        .bind(&event.environment)
        .bind(&event.pacticipant)
        .bind(&event.pacticipant)
        .bind(&event.version)
        .fetch_one(&mut *conn)
        .await?;
    let environment_id = environment_id.ok_or_else(|| {
        StoreError::NotFound(format!(
            "No environment named '{}' found: create it first",
            event.environment
        ))
    })?;
    let pacticipant_id = pacticipant_id.ok_or_else(|| {
        StoreError::NotFound(format!(
            "No pacticipant named '{}' found",
            event.pacticipant
        ))
    })?;
    let version_id = version_id.ok_or_else(|| {
        StoreError::NotFound(format!(
            "No version '{}' of pacticipant '{}' found",
            event.version, event.pacticipant
        ))
    })?;
    Ok(Subject {
        pacticipant_id,
        version_id,
        environment_id,
        pacticipant: event.pacticipant.clone(),
        version: event.version.clone(),
        environment: event.environment.clone(),
    })
}

/// How an event came, besides what it says.
#[derive(Debug, Clone, Default)]
pub(crate) struct Recorded {
    pub evidence: Option<Value>,
    /// The gates would have refused it (a fact recorded after the event).
    pub bypassed_gates: bool,
    /// A fixed uuid for the deployed-version record it may make (test seeds).
    pub uuid: Option<String>,
    /// Recorded because the version was tagged with the environment's name.
    pub auto_created: bool,
    /// History copied from another broker (`treaty migrate-from`): it
    /// happened there, so it enqueues no webhook delivery here.
    pub quiet: bool,
}

/// What applying an event did.
pub(crate) struct Applied {
    pub created: bool,
    /// The uuid of the slot's record, when it completed.
    pub placed: Option<String>,
    /// The ledger deployment the event moved or created.
    pub deployment_id: i64,
}

/// The open (pending or started) deployment of the subject's slot, or the
/// one the event names.
async fn target(
    conn: &mut Conn,
    event: &Event,
    subject: &Subject,
    instance: &Option<String>,
) -> StoreResult<Option<(i64, Status)>> {
    let found: Option<(i64, String)> = match event.deployment_id {
        Some(id) => {
            let row = sqlx::query(sql(
                "SELECT id, status, pacticipant_id, version_id, environment_id, released FROM deployments WHERE id = ?",
            ))
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("No deployment {id} found")))?;
            let matches = row.try_get::<Option<i64>, _>("pacticipant_id")?
                == Some(subject.pacticipant_id)
                && row.try_get::<Option<i64>, _>("version_id")? == Some(subject.version_id)
                && row.try_get::<Option<i64>, _>("environment_id")? == Some(subject.environment_id)
                && !row.try_get::<bool, _>("released")?;
            if !matches {
                return Err(StoreError::Conflict(format!(
                    "Deployment {id} is not a deployment of {} version {} to {}",
                    event.pacticipant, event.version, event.environment
                )));
            }
            Some((id, row.try_get("status")?))
        }
        None => {
            let row = sqlx::query(sql(
                "SELECT id, status FROM deployments WHERE id = (SELECT max(id) FROM deployments
                 WHERE pacticipant_id = ? AND version_id = ? AND environment_id = ? AND coalesce(application_instance, '') = ?
                   AND status IN ('pending', 'started') AND ended_at IS NULL)",
            ))
            .bind(subject.pacticipant_id)
            .bind(subject.version_id)
            .bind(subject.environment_id)
            .bind(instance.clone().unwrap_or_default())
            .fetch_optional(&mut *conn)
            .await?;
            row.map(|r| Ok::<_, StoreError>((r.try_get("id")?, r.try_get("status")?)))
                .transpose()?
        }
    };
    found
        .map(|(id, status)| {
            Status::parse(&status)
                .map(|status| (id, status))
                .ok_or_else(|| StoreError::Corrupt(format!("unknown stored status {status}")))
        })
        .transpose()
}

/// Applies an event within the caller's transaction: a new deployment, or
/// the next step of the open (or named) one; `completed` places the version
/// in its slot. Webhooks are enqueued with it.
pub(crate) async fn apply_event(
    conn: &mut Conn,
    event: &Event,
    subject: &Subject,
    recorded: &Recorded,
    at: DateTime<Utc>,
) -> StoreResult<Applied> {
    let Some(status) = event.status else {
        return Err(StoreError::Conflict(
            "a deployment event needs a status".to_owned(),
        ));
    };
    let instance = event.application_instance.clone().filter(|i| !i.is_empty());
    let evidence = recorded.evidence.as_ref().map(ToString::to_string);
    let (id, created, moved) = match target(conn, event, subject, &instance).await? {
        Some((id, current)) => {
            let step = ledger::transition(current, status).map_err(|e| conflict(id, event, &e))?;
            if step == Transition::Move {
                sqlx::query(sql(
                    "UPDATE deployments SET status = ?, updated_at = ?,
                       started_at = CASE WHEN ? AND started_at IS NULL THEN ? ELSE started_at END,
                       finished_at = CASE WHEN ? THEN ? ELSE finished_at END,
                       evidence = CASE WHEN ? THEN coalesce(?, evidence) ELSE coalesce(evidence, ?) END,
                       emergency = (emergency OR ?), bypassed_gates = (bypassed_gates OR ?),
                       deployed_by = coalesce(?, deployed_by), scm_branch = coalesce(?, scm_branch), scm_sha = coalesce(?, scm_sha),
                       scm_repository = coalesce(?, scm_repository), build_url = coalesce(?, build_url),
                       build_number = coalesce(?, build_number), source_system = coalesce(source_system, ?),
                       scm_committed_at = coalesce(?, scm_committed_at)
                     WHERE id = ?",
                ))
                .bind(status.as_str())
                .bind(at)
                .bind(status == Status::Started)
                .bind(at)
                .bind(status.is_final())
                .bind(at)
                // The checks that held when it started are the ones kept.
                .bind(status == Status::Started)
                .bind(&evidence)
                .bind(&evidence)
                .bind(event.emergency)
                .bind(recorded.bypassed_gates)
                .bind(&event.deployed_by)
                .bind(&event.scm_branch)
                .bind(&event.scm_sha)
                .bind(&event.scm_repository)
                .bind(&event.build_url)
                .bind(&event.build_number)
                .bind(&event.source_system)
                .bind(event.scm_committed_at.map(stored_time))
                .bind(id)
                .execute(&mut *conn)
                .await?;
            }
            (id, false, step == Transition::Move)
        }
        None => {
            let id: i64 = sqlx::query_scalar(sql(
                "INSERT INTO deployments (pacticipant_id, version_id, environment_id, application_instance, status, deployed_by,
                   scm_branch, scm_sha, scm_repository, build_url, build_number, source_system, extra_metadata, evidence,
                   created_at, started_at, finished_at, updated_at, scm_committed_at, emergency, bypassed_gates,
                   pacticipant_name, version_number, environment_name)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            ))
            .bind(subject.pacticipant_id)
            .bind(subject.version_id)
            .bind(subject.environment_id)
            .bind(&instance)
            .bind(status.as_str())
            .bind(&event.deployed_by)
            .bind(&event.scm_branch)
            .bind(&event.scm_sha)
            .bind(&event.scm_repository)
            .bind(&event.build_url)
            .bind(&event.build_number)
            .bind(&event.source_system)
            .bind(event.extra_metadata.as_ref().map(ToString::to_string))
            .bind(&evidence)
            .bind(at)
            .bind((status == Status::Started).then_some(at))
            .bind(status.is_final().then_some(at))
            .bind(at)
            .bind(event.scm_committed_at.map(stored_time))
            .bind(event.emergency)
            .bind(recorded.bypassed_gates)
            .bind(&subject.pacticipant)
            .bind(&subject.version)
            .bind(&subject.environment)
            .fetch_one(&mut *conn)
            .await?;
            (id, true, true)
        }
    };
    sqlx::query(sql("INSERT INTO deployment_events (deployment_id, status, idempotency_key, metadata, created_at) VALUES (?, ?, ?, ?, ?)"))
        .bind(id)
        .bind(status.as_str())
        .bind(&event.idempotency_key)
        .bind(event_metadata(event).to_string())
        .bind(at)
        .execute(&mut *conn)
        .await?;
    let mut placed = None;
    if moved && status == Status::Completed {
        placed = Some(
            place(
                conn,
                &Placement {
                    deployment_id: id,
                    pacticipant_id: subject.pacticipant_id,
                    version_id: subject.version_id,
                    environment_id: subject.environment_id,
                    instance: instance.as_deref(),
                    uuid: recorded.uuid.as_deref(),
                    auto_created: recorded.auto_created,
                    quiet: recorded.quiet,
                },
                at,
            )
            .await?,
        );
    }
    if moved && status != Status::Pending && !recorded.quiet {
        announce(conn, id, subject.pacticipant_id, status, recorded, at).await?;
    }
    Ok(Applied {
        created,
        placed,
        deployment_id: id,
    })
}

/// The webhooks of a deployment that moved: `deployment_<status>`, and
/// `deployment_bypassed_gates` for a fact the gates would have refused.
async fn announce(
    conn: &mut Conn,
    deployment_id: i64,
    pacticipant_id: i64,
    status: Status,
    recorded: &Recorded,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let completed = format!("deployment_{}", status.as_str());
    let mut events = vec![completed.as_str()];
    if recorded.bypassed_gates {
        events.push("deployment_bypassed_gates");
    }
    // The deployment is read for its webhooks' context only when one listens:
    // most ledgers have none, and the read is three statements.
    if !webhooks::anyone_listens_to(conn, &events).await? {
        return Ok(());
    }
    let deployment = load(conn, deployment_id)
        .await?
        .ok_or_else(|| StoreError::Corrupt("deployment vanished".into()))?;
    let context = webhooks::deployment_context(&deployment);
    for event in events {
        webhooks::enqueue(
            conn,
            event,
            webhooks::Scope::Pacticipant(pacticipant_id),
            &context,
            at,
        )
        .await?;
    }
    Ok(())
}

/// A completed deployment to put in its slot.
pub(crate) struct Placement<'a> {
    pub deployment_id: i64,
    pub pacticipant_id: i64,
    pub version_id: i64,
    pub environment_id: i64,
    pub instance: Option<&'a str>,
    pub uuid: Option<&'a str>,
    pub auto_created: bool,
    /// Enqueue no webhook delivery (see [`Recorded::quiet`]).
    pub quiet: bool,
}

/// Puts a completed ledger deployment in its slot (application, environment,
/// instance), within the caller's transaction: what ran there ends in the
/// ledger (replaced by this one), and the Pact Broker's records of the slot
/// (`deployed_versions`, `currently_deployed`) say the same: the version
/// already current keeps its record, another gets a new one and the old one
/// is undeployed. This is the only code that writes those records of a slot.
pub(crate) async fn place(
    conn: &mut Conn,
    placement: &Placement<'_>,
    at: DateTime<Utc>,
) -> StoreResult<String> {
    let slot = placement.instance.unwrap_or("");
    let replaced_event = json!({ "replaced_by": placement.deployment_id }).to_string();
    let running_in_slot =
        "pacticipant_id = ? AND environment_id = ? AND coalesce(application_instance, '') = ?
         AND released = ? AND status = 'completed' AND ended_at IS NULL AND id <> ?";
    sqlx::query(sql(format!(
        "INSERT INTO deployment_events (deployment_id, status, metadata, created_at)
         SELECT id, 'replaced', ?, ? FROM deployments WHERE {running_in_slot} ORDER BY id"
    )))
    .bind(&replaced_event)
    .bind(at)
    .bind(placement.pacticipant_id)
    .bind(placement.environment_id)
    .bind(slot)
    .bind(false)
    .bind(placement.deployment_id)
    .execute(&mut *conn)
    .await?;
    sqlx::query(sql(format!(
        "UPDATE deployments SET ended_at = ?, end_reason = 'replaced', replaced_by_id = ?, updated_at = ?
         WHERE {running_in_slot}"
    )))
    .bind(at)
    .bind(placement.deployment_id)
    .bind(at)
    .bind(placement.pacticipant_id)
    .bind(placement.environment_id)
    .bind(slot)
    .bind(false)
    .bind(placement.deployment_id)
    .execute(&mut *conn)
    .await?;

    let current = sqlx::query(sql(
        "SELECT cd.version_id, cd.deployed_version_id, dv.uuid FROM currently_deployed cd
         JOIN deployed_versions dv ON dv.id = cd.deployed_version_id
         WHERE cd.pacticipant_id = ? AND cd.environment_id = ? AND cd.instance_key = ?",
    ))
    .bind(placement.pacticipant_id)
    .bind(placement.environment_id)
    .bind(slot)
    .fetch_optional(&mut *conn)
    .await?;
    let mut replaced = None;
    let mut record = None;
    if let Some(current) = current {
        let version: i64 = current.try_get("version_id")?;
        if version == placement.version_id {
            record = Some((
                current.try_get::<i64, _>("deployed_version_id")?,
                current.try_get::<String, _>("uuid")?,
            ));
        } else {
            replaced = Some(version);
        }
    }
    let (record_id, uuid) = match record {
        Some(kept) => kept,
        None => {
            sqlx::query(sql(
                "UPDATE deployed_versions SET undeployed_at = ?, updated_at = ?
                 WHERE pacticipant_id = ? AND environment_id = ? AND coalesce(application_instance, '') = ?
                   AND undeployed_at IS NULL",
            ))
            .bind(at)
            .bind(at)
            .bind(placement.pacticipant_id)
            .bind(placement.environment_id)
            .bind(slot)
            .execute(&mut *conn)
            .await?;
            sqlx::query(sql(
                "DELETE FROM currently_deployed WHERE pacticipant_id = ? AND environment_id = ? AND instance_key = ?",
            ))
            .bind(placement.pacticipant_id)
            .bind(placement.environment_id)
            .bind(slot)
            .execute(&mut *conn)
            .await?;
            let uuid = placement
                .uuid
                .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
            let id: i64 = sqlx::query_scalar(sql(
                "INSERT INTO deployed_versions (uuid, version_id, pacticipant_id, environment_id, application_instance,
                   auto_created, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            ))
            .bind(&uuid)
            .bind(placement.version_id)
            .bind(placement.pacticipant_id)
            .bind(placement.environment_id)
            .bind(placement.instance)
            .bind(placement.auto_created)
            .bind(at)
            .bind(at)
            .fetch_one(&mut *conn)
            .await?;
            sqlx::query(sql(
                "INSERT INTO currently_deployed (pacticipant_id, environment_id, instance_key, deployed_version_id, version_id)
                 VALUES (?, ?, ?, ?, ?)",
            ))
            .bind(placement.pacticipant_id)
            .bind(placement.environment_id)
            .bind(slot)
            .bind(id)
            .bind(placement.version_id)
            .execute(&mut *conn)
            .await?;
            if !placement.quiet {
                webhooks::notify_unblocked_consumers(
                    conn,
                    placement.pacticipant_id,
                    placement.version_id,
                    replaced,
                    placement.environment_id,
                    at,
                )
                .await?;
            }
            (id, uuid)
        }
    };
    // A newer version replaced by an older one is a rollback.
    sqlx::query(sql(
        "UPDATE deployments SET deployed_version_id = ?, rollback = ? WHERE id = ?",
    ))
    .bind(record_id)
    .bind(replaced.is_some_and(|previous| previous > placement.version_id))
    .bind(placement.deployment_id)
    .execute(&mut *conn)
    .await?;
    Ok(uuid)
}

/// Records a release in the ledger, within the caller's transaction: a
/// completed release entry tied to its release record, with its event and
/// webhooks. Returns its id.
pub(crate) async fn record_release_entry(
    conn: &mut Conn,
    subject: &Subject,
    released_version_id: i64,
    deployed_by: Option<&str>,
    recorded: &Recorded,
    at: DateTime<Utc>,
) -> StoreResult<i64> {
    let id: i64 = sqlx::query_scalar(sql(
        "INSERT INTO deployments (pacticipant_id, version_id, environment_id, status, deployed_by, source_system, evidence,
           created_at, finished_at, updated_at, released, released_version_id, bypassed_gates,
           pacticipant_name, version_number, environment_name)
         VALUES (?, ?, ?, 'completed', ?, 'pact-broker-api', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    ))
    .bind(subject.pacticipant_id)
    .bind(subject.version_id)
    .bind(subject.environment_id)
    .bind(deployed_by)
    .bind(recorded.evidence.as_ref().map(ToString::to_string))
    .bind(at)
    .bind(at)
    .bind(at)
    .bind(true)
    .bind(released_version_id)
    .bind(recorded.bypassed_gates)
    .bind(&subject.pacticipant)
    .bind(&subject.version)
    .bind(&subject.environment)
    .fetch_one(&mut *conn)
    .await?;
    let mut metadata = serde_json::Map::new();
    metadata.insert("source_system".into(), json!("pact-broker-api"));
    if let Some(by) = deployed_by {
        metadata.insert("deployed_by".into(), json!(by));
    }
    sqlx::query(sql("INSERT INTO deployment_events (deployment_id, status, metadata, created_at) VALUES (?, 'completed', ?, ?)"))
        .bind(id)
        .bind(Value::Object(metadata).to_string())
        .bind(at)
        .execute(&mut *conn)
        .await?;
    if recorded.quiet {
        return Ok(id);
    }
    announce(
        conn,
        id,
        subject.pacticipant_id,
        Status::Completed,
        recorded,
        at,
    )
    .await?;
    Ok(id)
}

/// Whose ledger entries: those of a record, or of a thing about to be deleted.
pub(crate) enum EntriesOf {
    /// The ones the deployed-version record made.
    DeployedVersion(i64),
    /// The ones the released-version record made.
    ReleasedVersion(i64),
    Version(i64),
    Pacticipant(i64),
    Environment(i64),
}

impl EntriesOf {
    fn condition(&self) -> (&'static str, i64) {
        match self {
            Self::DeployedVersion(id) => ("deployed_version_id = ?", *id),
            Self::ReleasedVersion(id) => ("released_version_id = ?", *id),
            Self::Version(id) => ("version_id = ?", *id),
            Self::Pacticipant(id) => ("pacticipant_id = ?", *id),
            Self::Environment(id) => ("environment_id = ?", *id),
        }
    }
}

/// Ends the running ledger entries `which` names, within the caller's
/// transaction, with an event saying why and who ended them.
pub(crate) async fn end_running(
    conn: &mut Conn,
    which: EntriesOf,
    reason: EndReason,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let (condition, id) = which.condition();
    let by = acting();
    let mut metadata = serde_json::Map::new();
    if let Some(by) = &by {
        metadata.insert("by".into(), json!(by));
    }
    sqlx::query(sql(format!(
        "INSERT INTO deployment_events (deployment_id, status, metadata, created_at)
         SELECT id, ?, ?, ? FROM deployments WHERE {condition} AND status = 'completed' AND ended_at IS NULL ORDER BY id"
    )))
    .bind(reason.as_str())
    .bind(Value::Object(metadata).to_string())
    .bind(at)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    sqlx::query(sql(format!(
        "UPDATE deployments SET ended_at = ?, end_reason = ?, ended_by = ?, updated_at = ?
         WHERE {condition} AND status = 'completed' AND ended_at IS NULL"
    )))
    .bind(at)
    .bind(reason.as_str())
    .bind(&by)
    .bind(at)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Before a version, pacticipant or environment is deleted (within the
/// delete's transaction): its running ledger entries end, and every entry
/// keeps the names it was recorded with, since the links to what is deleted
/// become empty.
pub(crate) async fn keep_history(
    conn: &mut Conn,
    which: EntriesOf,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let (condition, id) = which.condition();
    sqlx::query(sql(format!(
        "UPDATE deployments SET
           pacticipant_name = coalesce(pacticipant_name, (SELECT name FROM pacticipants WHERE id = deployments.pacticipant_id)),
           version_number = coalesce(version_number, (SELECT number FROM versions WHERE id = deployments.version_id)),
           environment_name = coalesce(environment_name, (SELECT name FROM environments WHERE id = deployments.environment_id))
         WHERE {condition}"
    )))
    .bind(id)
    .execute(&mut *conn)
    .await?;
    end_running(conn, which, EndReason::Deleted, at).await
}

/// Takes into the ledger the Pact Broker records that have no ledger entry
/// (an import of an export made before the ledger held them), within the
/// caller's transaction, as migration `20261206000014` did for the database:
/// each becomes a completed deployment or release at the time it was
/// recorded, ended when it was undeployed, replaced or its support ended.
/// Changes nothing when every record has its entry.
pub(crate) async fn take_in_pact_broker_records(conn: &mut Conn) -> StoreResult<()> {
    const STATEMENTS: [&str; 7] = [
        "INSERT INTO deployments (pacticipant_id, version_id, environment_id, application_instance, status, source_system,
            rollback, deployed_version_id, created_at, finished_at, updated_at, pacticipant_name, version_number, environment_name)
         SELECT dv.pacticipant_id, dv.version_id, dv.environment_id, dv.application_instance, 'completed',
            CASE WHEN dv.auto_created THEN 'pact-broker-tag' ELSE 'pact-broker-api' END,
            CASE WHEN EXISTS (SELECT 1 FROM deployed_versions previous WHERE previous.pacticipant_id = dv.pacticipant_id
                AND previous.environment_id = dv.environment_id
                AND coalesce(previous.application_instance, '') = coalesce(dv.application_instance, '')
                AND previous.id < dv.id AND previous.undeployed_at = dv.created_at AND previous.version_id > dv.version_id)
              THEN TRUE ELSE FALSE END,
            dv.id, dv.created_at, dv.created_at, dv.created_at, p.name, v.number, e.name
         FROM deployed_versions dv
         JOIN pacticipants p ON p.id = dv.pacticipant_id
         JOIN versions v ON v.id = dv.version_id
         JOIN environments e ON e.id = dv.environment_id
         WHERE NOT EXISTS (SELECT 1 FROM deployments d WHERE d.deployed_version_id = dv.id)
         ORDER BY dv.id",
        "INSERT INTO deployments (pacticipant_id, version_id, environment_id, status, source_system, rollback, released,
            released_version_id, created_at, finished_at, updated_at, ended_at, end_reason, pacticipant_name, version_number, environment_name)
         SELECT rv.pacticipant_id, rv.version_id, rv.environment_id, 'completed', 'pact-broker-api', FALSE, TRUE,
            rv.id, rv.created_at, rv.created_at, rv.updated_at, rv.support_ended_at,
            CASE WHEN rv.support_ended_at IS NULL THEN NULL ELSE 'support_ended' END, p.name, v.number, e.name
         FROM released_versions rv
         JOIN pacticipants p ON p.id = rv.pacticipant_id
         JOIN versions v ON v.id = rv.version_id
         JOIN environments e ON e.id = rv.environment_id
         WHERE NOT EXISTS (SELECT 1 FROM deployments d WHERE d.released_version_id = rv.id)
         ORDER BY rv.id",
        "INSERT INTO deployment_events (deployment_id, status, metadata, created_at)
         SELECT d.id, 'completed', '{\"source_system\":\"' || coalesce(d.source_system, 'unknown') || '\",\"recorded\":\"before the ledger held Pact Broker records\"}', d.finished_at
         FROM deployments d
         WHERE NOT EXISTS (SELECT 1 FROM deployment_events ev WHERE ev.deployment_id = d.id)
         ORDER BY d.id",
        "UPDATE deployments SET ended_at = coalesce(
            (SELECT min(later.finished_at) FROM deployments later
             WHERE later.deployed_version_id = deployments.deployed_version_id AND later.id > deployments.id AND later.status = 'completed'),
            (SELECT dv.undeployed_at FROM deployed_versions dv WHERE dv.id = deployments.deployed_version_id))
         WHERE released = FALSE AND status = 'completed' AND deployed_version_id IS NOT NULL AND ended_at IS NULL",
        "UPDATE deployments SET replaced_by_id = coalesce(
            (SELECT min(later.id) FROM deployments later
             WHERE later.deployed_version_id = deployments.deployed_version_id AND later.id > deployments.id AND later.status = 'completed'),
            (SELECT min(successor.id) FROM deployed_versions dv
             JOIN deployed_versions next_dv ON next_dv.pacticipant_id = dv.pacticipant_id
               AND next_dv.environment_id = dv.environment_id
               AND coalesce(next_dv.application_instance, '') = coalesce(dv.application_instance, '')
               AND next_dv.id > dv.id AND next_dv.created_at = dv.undeployed_at
             JOIN deployments successor ON successor.deployed_version_id = next_dv.id AND successor.status = 'completed'
             WHERE dv.id = deployments.deployed_version_id))
         WHERE released = FALSE AND status = 'completed' AND ended_at IS NOT NULL AND end_reason IS NULL",
        "UPDATE deployments SET end_reason = CASE WHEN replaced_by_id IS NULL THEN 'undeployed' ELSE 'replaced' END
         WHERE released = FALSE AND status = 'completed' AND ended_at IS NOT NULL AND end_reason IS NULL",
        "UPDATE deployments SET
           pacticipant_name = coalesce(pacticipant_name, (SELECT name FROM pacticipants WHERE id = deployments.pacticipant_id)),
           version_number = coalesce(version_number, (SELECT number FROM versions WHERE id = deployments.version_id)),
           environment_name = coalesce(environment_name, (SELECT name FROM environments WHERE id = deployments.environment_id))
         WHERE pacticipant_name IS NULL OR version_number IS NULL OR environment_name IS NULL",
    ];
    for statement in STATEMENTS {
        sqlx::query(sql(statement))
            .persistent(false)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// One bound value of a list's conditions, in order.
enum Arg {
    Int(i64),
    Text(String),
    Flag(bool),
    Time(DateTime<Utc>),
}

/// The condition naming a pacticipant (or environment) in the ledger: by id
/// while it exists, else by the name its deleted history kept.
async fn name_condition(
    conn: &mut Conn,
    table: &str,
    column: &str,
    kept: &str,
    name: &str,
    conditions: &mut Vec<String>,
    args: &mut Vec<Arg>,
) -> StoreResult<()> {
    let id: Option<i64> = sqlx::query_scalar(sql(format!("SELECT id FROM {table} WHERE name = ?")))
        .bind(name)
        .fetch_optional(&mut *conn)
        .await?;
    match id {
        Some(id) => {
            conditions.push(format!("d.{column} = ?"));
            args.push(Arg::Int(id));
        }
        None => {
            conditions.push(format!("d.{column} IS NULL AND d.{kept} = ?"));
            args.push(Arg::Text(name.to_owned()));
        }
    }
    Ok(())
}

/// The WHERE clause of a ledger list, and its arguments in order.
async fn list_conditions(
    conn: &mut Conn,
    filter: &LedgerFilter,
) -> StoreResult<(String, Vec<Arg>)> {
    let mut conditions = vec!["1 = 1".to_owned()];
    let mut args = Vec::new();
    if let Some(p) = &filter.pacticipant {
        name_condition(
            conn,
            "pacticipants",
            "pacticipant_id",
            "pacticipant_name",
            p,
            &mut conditions,
            &mut args,
        )
        .await?;
        if let Some(version) = &filter.version {
            conditions.push("coalesce((SELECT number FROM versions WHERE id = d.version_id), d.version_number) = ?".into());
            args.push(Arg::Text(version.clone()));
        }
    }
    if let Some(e) = &filter.environment {
        name_condition(
            conn,
            "environments",
            "environment_id",
            "environment_name",
            e,
            &mut conditions,
            &mut args,
        )
        .await?;
    }
    if let Some(s) = &filter.status {
        conditions.push("d.status = ?".into());
        args.push(Arg::Text(s.clone()));
    }
    if filter.running {
        conditions.push(RUNNING.into());
    }
    if let Some(kind) = filter.kind {
        conditions.push("d.released = ?".into());
        args.push(Arg::Flag(kind == LedgerKind::Release));
    }
    if let Some(from) = filter.from {
        conditions.push("d.created_at >= ?".into());
        args.push(Arg::Time(from));
    }
    if let Some(to) = filter.to {
        conditions.push("d.created_at <= ?".into());
        args.push(Arg::Time(to));
    }
    Ok((conditions.join(" AND "), args))
}

/// Binds a list's arguments, in order, to a query of either kind.
macro_rules! bind_args {
    ($query:expr, $args:expr) => {{
        let mut query = $query;
        for arg in $args {
            query = match arg {
                Arg::Int(v) => query.bind(*v),
                Arg::Text(v) => query.bind(v.clone()),
                Arg::Flag(v) => query.bind(*v),
                Arg::Time(v) => query.bind(*v),
            };
        }
        query
    }};
}

/// Merges stays in one environment that touch (a redeploy of the version
/// that runs continues its stay): the gates ask for one stretch.
fn merged(mut stays: Vec<treaty_domain::gates::Stay>) -> Vec<treaty_domain::gates::Stay> {
    stays.sort_by(|a, b| (a.environment.as_str(), a.since).cmp(&(b.environment.as_str(), b.since)));
    let mut out: Vec<treaty_domain::gates::Stay> = Vec::new();
    for stay in stays {
        if let Some(last) = out.last_mut()
            && last.environment == stay.environment
            && last.until.is_none_or(|until| stay.since <= until)
        {
            last.until = match (last.until, stay.until) {
                (Some(a), Some(b)) => Some(a.max(b)),
                _ => None,
            };
            continue;
        }
        out.push(stay);
    }
    out
}

/// Every period the version ran in an environment, from the ledger.
pub(crate) async fn stays_of_version(
    conn: &mut Conn,
    version_id: i64,
) -> StoreResult<Vec<treaty_domain::gates::Stay>> {
    let stays = sqlx::query(sql(
        "SELECT coalesce(e.name, d.environment_name, 'unknown') AS environment, d.finished_at AS since, d.ended_at AS until
         FROM deployments d LEFT JOIN environments e ON e.id = d.environment_id
         WHERE d.version_id = ? AND d.status = 'completed' ORDER BY d.id",
    ))
    .bind(version_id)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|row| {
        Ok(treaty_domain::gates::Stay {
            environment: row.try_get("environment")?,
            since: row.try_get("since")?,
            until: row.try_get("until")?,
        })
    })
    .collect::<StoreResult<Vec<_>>>()?;
    Ok(merged(stays))
}

#[async_trait]
impl LedgerStore for Backend {
    async fn record_deployment_event(
        &self,
        event: &Event,
        evidence: Option<Value>,
    ) -> StoreResult<LedgerOutcome> {
        let at = now();
        let mut tx = self.begin().await?;
        if let Some(key) = &event.idempotency_key {
            let seen: Option<i64> = sqlx::query_scalar(sql(
                "SELECT deployment_id FROM deployment_events WHERE idempotency_key = ?",
            ))
            .bind(key)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(id) = seen {
                let deployment = load(&mut tx, id)
                    .await?
                    .ok_or_else(|| StoreError::Corrupt("deployment vanished".into()))?;
                return Ok(LedgerOutcome {
                    deployment,
                    created: false,
                    replayed: true,
                });
            }
        }
        let subject = subject(&mut tx, event).await?;
        let applied = apply_event(
            &mut tx,
            event,
            &subject,
            &Recorded {
                evidence,
                ..Recorded::default()
            },
            at,
        )
        .await?;
        let deployment = load(&mut tx, applied.deployment_id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("deployment vanished".into()))?;
        tx.commit().await?;
        Ok(LedgerOutcome {
            deployment,
            created: applied.created,
            replayed: false,
        })
    }

    async fn deployment_event_target(&self, event: &Event) -> StoreResult<EventTarget> {
        let mut conn = self.reader().acquire().await?;
        if let Some(key) = &event.idempotency_key {
            let seen: Option<i64> = sqlx::query_scalar(sql(
                "SELECT deployment_id FROM deployment_events WHERE idempotency_key = ?",
            ))
            .bind(key)
            .fetch_optional(&mut *conn)
            .await?;
            if seen.is_some() {
                return Ok(EventTarget::Replay);
            }
        }
        let row = match event.deployment_id {
            Some(id) => {
                sqlx::query(sql("SELECT id, status FROM deployments WHERE id = ?"))
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await?
            }
            None => {
                sqlx::query(sql(
                    "SELECT id, status FROM deployments WHERE id = (SELECT max(d.id) FROM deployments d
                     JOIN pacticipants p ON p.id = d.pacticipant_id
                     JOIN versions v ON v.id = d.version_id AND v.pacticipant_id = p.id
                     JOIN environments e ON e.id = d.environment_id
                     WHERE p.name = ? AND v.number = ? AND e.name = ? AND coalesce(d.application_instance, '') = ?
                       AND d.status IN ('pending', 'started') AND d.ended_at IS NULL)",
                ))
                .bind(&event.pacticipant)
                .bind(&event.version)
                .bind(&event.environment)
                .bind(event.application_instance.clone().unwrap_or_default())
                .fetch_optional(&mut *conn)
                .await?
            }
        };
        let Some(row) = row else {
            return Ok(EventTarget::New);
        };
        let status: String = row.try_get("status")?;
        Ok(EventTarget::Open {
            id: row.try_get("id")?,
            status: Status::parse(&status)
                .ok_or_else(|| StoreError::Corrupt(format!("unknown stored status {status}")))?,
        })
    }

    async fn known_names(
        &self,
        pacticipant: &str,
        version: &str,
        environment: &str,
    ) -> StoreResult<KnownNames> {
        let (environment, pacticipant, version): (Option<i64>, Option<i64>, Option<i64>) =
            sqlx::query_as(sql(
                "SELECT (SELECT id FROM environments WHERE name = ?), (SELECT id FROM pacticipants WHERE name = ?),
                   (SELECT v.id FROM versions v JOIN pacticipants p ON p.id = v.pacticipant_id WHERE p.name = ? AND v.number = ?)",
            ))
            .bind(environment)
            .bind(pacticipant)
            .bind(pacticipant)
            .bind(version)
            .fetch_one(self.reader())
            .await?;
        Ok(KnownNames {
            pacticipant: pacticipant.is_some(),
            version: version.is_some(),
            environment: environment.is_some(),
        })
    }

    async fn ledger_deployment(&self, id: i64) -> StoreResult<Option<LedgerDeployment>> {
        let mut conn = self.reader().acquire().await?;
        load(&mut conn, id).await
    }

    async fn ledger_deployments(
        &self,
        filter: LedgerFilter,
        page: Option<PageRequest>,
    ) -> StoreResult<Page<LedgerDeployment>> {
        let mut conn = self.reader().acquire().await?;
        let (where_clause, args) = list_conditions(&mut conn, &filter).await?;
        let mut statement = format!("{DEPLOYMENT_SELECT} WHERE {where_clause} {NEWEST_FIRST}");
        if let Some(page) = page {
            statement.push_str(&format!(" LIMIT {} OFFSET {}", page.size, page.offset()));
        }
        let rows = bind_args!(sqlx::query(sql(statement)).persistent(false), &args)
            .fetch_all(&mut *conn)
            .await?;
        let mut items = rows
            .iter()
            .map(deployment_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        attach_events_and_incidents(&mut conn, &mut items).await?;
        let page = match page {
            None => None,
            Some(page) => {
                let count = sqlx::query_as::<_, (i64,)>(sql(format!(
                    "SELECT count(*) FROM deployments d WHERE {where_clause}"
                )))
                .persistent(false);
                let (total,) = bind_args!(count, &args).fetch_one(&mut *conn).await?;
                Some(PageInfo {
                    number: page.number,
                    size: page.size,
                    total_elements: u64::try_from(total).unwrap_or(0),
                })
            }
        };
        Ok(Page { items, page })
    }

    async fn deployment_history_of(
        &self,
        pacticipant: &str,
        version: Option<&str>,
    ) -> StoreResult<Vec<i64>> {
        let mut conn = self.reader().acquire().await?;
        let Some(pacticipant_id) = super::rows::pacticipant_id(&mut conn, pacticipant).await?
        else {
            return Ok(Vec::new());
        };
        let ids = match version {
            None => {
                sqlx::query_scalar(sql(
                    "SELECT id FROM deployments WHERE pacticipant_id = ? ORDER BY id",
                ))
                .bind(pacticipant_id)
                .fetch_all(&mut *conn)
                .await?
            }
            Some(number) => {
                let Some(version_id) =
                    super::rows::version_id(&mut conn, pacticipant_id, number).await?
                else {
                    return Ok(Vec::new());
                };
                sqlx::query_scalar(sql(
                    "SELECT id FROM deployments WHERE version_id = ? ORDER BY id",
                ))
                .bind(version_id)
                .fetch_all(&mut *conn)
                .await?
            }
        };
        Ok(ids)
    }

    async fn time_out_stale_deployments(&self, cutoff: DateTime<Utc>) -> StoreResult<Vec<i64>> {
        let at = now();
        let cutoff = stored_time(cutoff);
        let mut tx = self.begin().await?;
        let stale: Vec<(i64, String)> = sqlx::query_as(sql(
            "SELECT id, status FROM deployments
             WHERE (status = 'started' AND started_at < ?) OR (status = 'pending' AND created_at < ?)
             ORDER BY id",
        ))
        .bind(cutoff)
        .bind(cutoff)
        .fetch_all(&mut *tx)
        .await?;
        for (id, status) in &stale {
            sqlx::query(sql(
                "UPDATE deployments SET status = 'timed_out', finished_at = ?, updated_at = ? WHERE id = ?",
            ))
            .bind(at)
            .bind(at)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            let reason = serde_json::json!({
                "reason": format!("no final event came while it was {status}: it is taken to have died with its pipeline")
            });
            sqlx::query(sql("INSERT INTO deployment_events (deployment_id, status, metadata, created_at) VALUES (?, 'timed_out', ?, ?)"))
                .bind(id)
                .bind(reason.to_string())
                .bind(at)
                .execute(&mut *tx)
                .await?;
            let pacticipant_id: Option<i64> =
                sqlx::query_scalar(sql("SELECT pacticipant_id FROM deployments WHERE id = ?"))
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?;
            if let (Some(deployment), Some(pacticipant_id)) =
                (load(&mut tx, *id).await?, pacticipant_id)
            {
                webhooks::enqueue(
                    &mut tx,
                    "deployment_timed_out",
                    webhooks::Scope::Pacticipant(pacticipant_id),
                    &webhooks::deployment_context(&deployment),
                    at,
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok(stale.into_iter().map(|(id, _)| id).collect())
    }

    async fn open_incident(
        &self,
        deployment_id: i64,
        incident: &NewIncident,
    ) -> StoreResult<Incident> {
        let at = now();
        let mut tx = self.begin().await?;
        let known: Option<i64> = sqlx::query_scalar(sql("SELECT id FROM deployments WHERE id = ?"))
            .bind(deployment_id)
            .fetch_optional(&mut *tx)
            .await?;
        if known.is_none() {
            return Err(StoreError::NotFound(format!(
                "No deployment {deployment_id} found"
            )));
        }
        let id: i64 = sqlx::query_scalar(sql(
            "INSERT INTO incidents (deployment_id, title, severity, url, opened_by, opened_at, resolved_at, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        ))
        .bind(deployment_id)
        .bind(&incident.title)
        .bind(&incident.severity)
        .bind(&incident.url)
        .bind(&incident.opened_by)
        .bind(incident.opened_at.map_or(at, stored_time))
        .bind(incident.resolved_at.map(stored_time))
        .bind(at)
        .bind(at)
        .fetch_one(&mut *tx)
        .await?;
        let row = sqlx::query(sql(format!("{INCIDENT_SELECT} WHERE id = ?")))
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        let incident = incident_from_row(&row)?;
        tx.commit().await?;
        Ok(incident)
    }

    async fn resolve_incident(
        &self,
        deployment_id: i64,
        incident_id: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<Incident> {
        let at = stored_time(at);
        let mut tx = self.begin().await?;
        let row = sqlx::query(sql(format!(
            "{INCIDENT_SELECT} WHERE id = ? AND deployment_id = ?"
        )))
        .bind(incident_id)
        .bind(deployment_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| {
            StoreError::NotFound(format!(
                "No incident {incident_id} found on deployment {deployment_id}"
            ))
        })?;
        let mut incident = incident_from_row(&row)?;
        if at < incident.opened_at {
            return Err(StoreError::Conflict(format!(
                "Incident {incident_id} opened at {}: it cannot be resolved before that",
                treaty_domain::time::format(incident.opened_at)
            )));
        }
        sqlx::query(sql(
            "UPDATE incidents SET resolved_at = ?, updated_at = ? WHERE id = ?",
        ))
        .bind(at)
        .bind(now())
        .bind(incident_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        incident.resolved_at = Some(at);
        Ok(incident)
    }

    async fn deployed_at(
        &self,
        environment: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<Vec<DeployedAt>> {
        let at = stored_time(at);
        let mut conn = self.reader().acquire().await?;
        let known: Option<i64> =
            sqlx::query_scalar(sql("SELECT id FROM environments WHERE name = ?"))
                .bind(environment)
                .fetch_optional(&mut *conn)
                .await?;
        let Some(environment_id) = known else {
            return Err(StoreError::NotFound(format!(
                "No environment named '{environment}' found"
            )));
        };
        // The ledger's completed deployments (not releases) that had
        // finished by then and not yet ended.
        let rows = sqlx::query(sql(
            "SELECT coalesce(p.name, d.pacticipant_name, 'unknown') AS pacticipant, coalesce(v.number, d.version_number, 'unknown') AS version,
               d.application_instance, d.finished_at AS since, d.ended_at AS until, d.id AS deployment_id
             FROM deployments d
             LEFT JOIN pacticipants p ON p.id = d.pacticipant_id
             LEFT JOIN versions v ON v.id = d.version_id
             WHERE d.environment_id = ? AND d.status = 'completed' AND d.released = ?
               AND d.finished_at <= ? AND (d.ended_at IS NULL OR d.ended_at > ?)
             ORDER BY 1, coalesce(d.application_instance, ''), d.id",
        ))
        .bind(environment_id)
        .bind(false)
        .bind(at)
        .bind(at)
        .fetch_all(&mut *conn)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(DeployedAt {
                    pacticipant: row.try_get("pacticipant")?,
                    version: row.try_get("version")?,
                    application_instance: row.try_get("application_instance")?,
                    since: row.try_get("since")?,
                    until: row.try_get("until")?,
                    deployment_id: row.try_get("deployment_id")?,
                })
            })
            .collect()
    }

    async fn dora_facts(&self, filter: DoraFilter) -> StoreResult<Vec<Fact>> {
        let from = stored_time(filter.from);
        let mut conn = self.reader().acquire().await?;
        let mut conditions = vec!["d.status IN ('completed', 'failed')".to_owned()];
        let mut args = Vec::new();
        if let Some(p) = &filter.pacticipant {
            name_condition(
                &mut conn,
                "pacticipants",
                "pacticipant_id",
                "pacticipant_name",
                p,
                &mut conditions,
                &mut args,
            )
            .await?;
        }
        match &filter.environment {
            Some(e) => {
                name_condition(
                    &mut conn,
                    "environments",
                    "environment_id",
                    "environment_name",
                    e,
                    &mut conditions,
                    &mut args,
                )
                .await?;
            }
            None => {
                conditions.push(
                    "d.environment_id IN (SELECT id FROM environments WHERE production = ?)".into(),
                );
                args.push(Arg::Flag(true));
            }
        }
        conditions.push(
            "(d.finished_at >= ? OR d.id IN (SELECT deployment_id FROM incidents WHERE opened_at >= ?))".into(),
        );
        args.push(Arg::Time(from));
        args.push(Arg::Time(from));
        let where_clause = conditions.join(" AND ");
        let from_deployments = "FROM deployments d
             LEFT JOIN pacticipants p ON p.id = d.pacticipant_id
             LEFT JOIN versions v ON v.id = d.version_id
             LEFT JOIN environments e ON e.id = d.environment_id";
        let deployments_sql = format!(
            "SELECT d.id, coalesce(p.name, d.pacticipant_name, 'unknown') AS pacticipant,
               coalesce(e.name, d.environment_name, 'unknown') AS environment, d.status, d.finished_at, d.rollback,
               d.scm_committed_at, coalesce(v.created_at, d.created_at) AS version_created_at
             {from_deployments} WHERE {where_clause} ORDER BY d.id"
        );
        let incidents_sql = format!(
            "SELECT i.deployment_id, i.opened_at, i.resolved_at FROM incidents i
             WHERE i.deployment_id IN (SELECT d.id FROM deployments d WHERE {where_clause}) ORDER BY i.id"
        );
        let rows = bind_args!(sqlx::query(sql(deployments_sql)).persistent(false), &args)
            .fetch_all(&mut *conn)
            .await?;
        let incident_rows = bind_args!(sqlx::query(sql(incidents_sql)).persistent(false), &args)
            .fetch_all(&mut *conn)
            .await?;
        let mut by_deployment: std::collections::HashMap<i64, Vec<IncidentFact>> =
            std::collections::HashMap::new();
        for row in &incident_rows {
            by_deployment
                .entry(row.try_get("deployment_id")?)
                .or_default()
                .push(IncidentFact {
                    opened_at: row.try_get("opened_at")?,
                    resolved_at: row.try_get("resolved_at")?,
                });
        }
        rows.iter()
            .map(|row| {
                let id: i64 = row.try_get("id")?;
                let status: String = row.try_get("status")?;
                let committed: Option<DateTime<Utc>> = row.try_get("scm_committed_at")?;
                Ok(Fact {
                    pacticipant: row.try_get("pacticipant")?,
                    environment: row.try_get("environment")?,
                    status: Status::parse(&status).ok_or_else(|| {
                        StoreError::Corrupt(format!("unknown stored status {status}"))
                    })?,
                    finished_at: row.try_get("finished_at")?,
                    change_at: match committed {
                        Some(at) => at,
                        None => row.try_get("version_created_at")?,
                    },
                    rollback: row.try_get("rollback")?,
                    incidents: by_deployment.remove(&id).unwrap_or_default(),
                })
            })
            .collect()
    }
}
