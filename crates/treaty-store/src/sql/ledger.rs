//! The deployment ledger: events move deployments through their lifecycle,
//! a completed one is recorded in its slot like any deployment.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::Row;
use treaty_domain::dora::{Fact, IncidentFact};
use treaty_domain::ledger::NewIncident;
use treaty_domain::ledger::{self, Event, Status, Transition};
use treaty_domain::model::{
    DeployedAt, Incident, LedgerDeployment, LedgerEvent, Page, PageInfo, PageRequest,
};

use super::deployments::record_deployment_in;
use super::rows;
use super::webhooks;
use super::{Backend, Conn, DbRow, now, sql};
use crate::{
    DoraFilter, EventTarget, LedgerFilter, LedgerOutcome, LedgerStore, StoreError, StoreResult,
};

const DEPLOYMENT_SELECT: &str = "
SELECT d.id, p.name AS pacticipant, v.number AS version, e.name AS environment, d.application_instance, d.status,
  d.deployed_by, d.scm_branch, d.scm_sha, d.scm_repository, d.build_url, d.build_number, d.source_system,
  d.extra_metadata, d.evidence, d.rollback, d.emergency, dv.uuid AS deployed_version, d.created_at, d.started_at, d.finished_at,
  d.scm_committed_at
FROM deployments d
JOIN pacticipants p ON p.id = d.pacticipant_id
JOIN versions v ON v.id = d.version_id
JOIN environments e ON e.id = d.environment_id
LEFT JOIN deployed_versions dv ON dv.id = d.deployed_version_id";

fn json_column(row: &DbRow, column: &str) -> StoreResult<Option<Value>> {
    let text: Option<String> = row.try_get(column)?;
    text.map(|t| {
        serde_json::from_str(&t)
            .map_err(|e| StoreError::Corrupt(format!("stored {column} is not JSON: {e}")))
    })
    .transpose()
}

fn deployment_from_row(row: &DbRow) -> StoreResult<LedgerDeployment> {
    Ok(LedgerDeployment {
        id: row.try_get("id")?,
        pacticipant: row.try_get("pacticipant")?,
        version: row.try_get("version")?,
        environment: row.try_get("environment")?,
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
        deployed_version: row.try_get("deployed_version")?,
        created_at: row.try_get("created_at")?,
        started_at: row.try_get("started_at")?,
        finished_at: row.try_get("finished_at")?,
        scm_committed_at: row.try_get("scm_committed_at")?,
        events: Vec::new(),
        incidents: Vec::new(),
    })
}

async fn load(conn: &mut Conn, id: i64) -> StoreResult<Option<LedgerDeployment>> {
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
    let mut index = std::collections::HashMap::new();
    for (position, deployment) in deployments.iter().enumerate() {
        index.insert(deployment.id, position);
    }
    let mut events = sqlx::query(sql(format!(
        "SELECT deployment_id, status, metadata, created_at FROM deployment_events WHERE deployment_id IN ({ids}) ORDER BY id"
    )));
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
    )));
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
    StoreError::Conflict(format!(
        "Deployment {id} of {} version {} to {} is {}: it cannot become {} ({error})",
        event.pacticipant, event.version, event.environment, error.current, error.next
    ))
}

#[async_trait]
impl LedgerStore for Backend {
    async fn record_deployment_event(
        &self,
        event: &Event,
        evidence: Option<Value>,
    ) -> StoreResult<LedgerOutcome> {
        let Some(status) = event.status else {
            return Err(StoreError::Conflict(
                "a deployment event needs a status".to_owned(),
            ));
        };
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
        let environment_id: i64 =
            sqlx::query_scalar(sql("SELECT id FROM environments WHERE name = ?"))
                .bind(&event.environment)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| {
                    StoreError::NotFound(format!(
                        "No environment named '{}' found: create it first",
                        event.environment
                    ))
                })?;
        // Pipelines report before anything else knows the version: create it, as Versioner does.
        let (pacticipant_id, _) = rows::ensure_pacticipant(&mut tx, &event.pacticipant, at).await?;
        let (version_id, _) =
            rows::ensure_version(&mut tx, pacticipant_id, &event.version, at).await?;
        let instance = event.application_instance.clone().filter(|i| !i.is_empty());

        let open: Option<(i64, String)> = match event.deployment_id {
            Some(id) => {
                let row = sqlx::query(sql("SELECT id, status, pacticipant_id, version_id, environment_id FROM deployments WHERE id = ?"))
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or_else(|| StoreError::NotFound(format!("No deployment {id} found")))?;
                let matches = row.try_get::<i64, _>("pacticipant_id")? == pacticipant_id
                    && row.try_get::<i64, _>("version_id")? == version_id
                    && row.try_get::<i64, _>("environment_id")? == environment_id;
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
                    "SELECT id, status FROM deployments
                     WHERE pacticipant_id = ? AND version_id = ? AND environment_id = ? AND coalesce(application_instance, '') = ?
                       AND status IN ('pending', 'started') ORDER BY id DESC LIMIT 1",
                ))
                .bind(pacticipant_id)
                .bind(version_id)
                .bind(environment_id)
                .bind(instance.clone().unwrap_or_default())
                .fetch_optional(&mut *tx)
                .await?;
                row.map(|r| Ok::<_, StoreError>((r.try_get("id")?, r.try_get("status")?)))
                    .transpose()?
            }
        };

        let (id, created, moved) = match open {
            Some((id, current)) => {
                let current = Status::parse(&current).ok_or_else(|| {
                    StoreError::Corrupt(format!("unknown stored status {current}"))
                })?;
                let step =
                    ledger::transition(current, status).map_err(|e| conflict(id, event, &e))?;
                if step == Transition::Move {
                    sqlx::query(sql(
                        "UPDATE deployments SET status = ?, updated_at = ?,
                           started_at = CASE WHEN ? AND started_at IS NULL THEN ? ELSE started_at END,
                           finished_at = CASE WHEN ? THEN ? ELSE finished_at END,
                           evidence = CASE WHEN ? THEN coalesce(?, evidence) ELSE coalesce(evidence, ?) END,
                           emergency = (emergency OR ?),
                           deployed_by = coalesce(?, deployed_by), scm_branch = coalesce(?, scm_branch), scm_sha = coalesce(?, scm_sha),
                           scm_repository = coalesce(?, scm_repository), build_url = coalesce(?, build_url),
                           build_number = coalesce(?, build_number), source_system = coalesce(?, source_system),
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
                    .bind(evidence.as_ref().map(ToString::to_string))
                    .bind(evidence.as_ref().map(ToString::to_string))
                    .bind(event.emergency)
                    .bind(&event.deployed_by)
                    .bind(&event.scm_branch)
                    .bind(&event.scm_sha)
                    .bind(&event.scm_repository)
                    .bind(&event.build_url)
                    .bind(&event.build_number)
                    .bind(&event.source_system)
                    .bind(event.scm_committed_at.map(stored_time))
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                }
                (id, false, step == Transition::Move)
            }
            None => {
                let id: i64 = sqlx::query_scalar(sql(
                    "INSERT INTO deployments (pacticipant_id, version_id, environment_id, application_instance, status, deployed_by,
                       scm_branch, scm_sha, scm_repository, build_url, build_number, source_system, extra_metadata, evidence,
                       created_at, started_at, finished_at, updated_at, scm_committed_at, emergency)
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                ))
                .bind(pacticipant_id)
                .bind(version_id)
                .bind(environment_id)
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
                .bind(evidence.as_ref().map(ToString::to_string))
                .bind(at)
                .bind((status == Status::Started).then_some(at))
                .bind(status.is_final().then_some(at))
                .bind(at)
                .bind(event.scm_committed_at.map(stored_time))
                .bind(event.emergency)
                .fetch_one(&mut *tx)
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
            .execute(&mut *tx)
            .await?;

        if moved && status == Status::Completed {
            // What ran in the slot before: a newer version replaced by an older one is a rollback.
            let previous: Option<i64> = sqlx::query_scalar(sql(
                "SELECT version_id FROM currently_deployed WHERE pacticipant_id = ? AND environment_id = ? AND instance_key = ?",
            ))
            .bind(pacticipant_id)
            .bind(environment_id)
            .bind(instance.clone().unwrap_or_default())
            .fetch_optional(&mut *tx)
            .await?;
            let uuid = record_deployment_in(
                &mut tx,
                pacticipant_id,
                version_id,
                environment_id,
                instance.as_deref(),
                None,
                false,
            )
            .await?;
            sqlx::query(sql(
                "UPDATE deployments SET rollback = ?, deployed_version_id = (SELECT id FROM deployed_versions WHERE uuid = ?) WHERE id = ?",
            ))
            .bind(previous.is_some_and(|previous| previous > version_id))
            .bind(uuid)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        let deployment = load(&mut tx, id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("deployment vanished".into()))?;
        if moved && status != Status::Pending {
            webhooks::enqueue(
                &mut tx,
                &format!("deployment_{}", status.as_str()),
                webhooks::Scope::Pacticipant(pacticipant_id),
                &webhooks::deployment_context(&deployment),
                at,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(LedgerOutcome {
            deployment,
            created,
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
        let status: Option<String> = match event.deployment_id {
            Some(id) => {
                sqlx::query_scalar(sql("SELECT status FROM deployments WHERE id = ?"))
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await?
            }
            None => {
                sqlx::query_scalar(sql(
                    "SELECT d.status FROM deployments d
                     JOIN pacticipants p ON p.id = d.pacticipant_id
                     JOIN versions v ON v.id = d.version_id
                     JOIN environments e ON e.id = d.environment_id
                     WHERE p.name = ? AND v.number = ? AND e.name = ? AND coalesce(d.application_instance, '') = ?
                       AND d.status IN ('pending', 'started') ORDER BY d.id DESC LIMIT 1",
                ))
                .bind(&event.pacticipant)
                .bind(&event.version)
                .bind(&event.environment)
                .bind(event.application_instance.clone().unwrap_or_default())
                .fetch_optional(&mut *conn)
                .await?
            }
        };
        Ok(match status {
            None => EventTarget::New,
            Some(status) => {
                EventTarget::Open(Status::parse(&status).ok_or_else(|| {
                    StoreError::Corrupt(format!("unknown stored status {status}"))
                })?)
            }
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
        let mut conditions = vec!["1 = 1".to_owned()];
        let mut texts: Vec<String> = Vec::new();
        let mut times: Vec<DateTime<Utc>> = Vec::new();
        if let Some(p) = filter.pacticipant {
            conditions.push("p.name = ?".into());
            texts.push(p);
        }
        if let Some(e) = filter.environment {
            conditions.push("e.name = ?".into());
            texts.push(e);
        }
        if let Some(s) = filter.status {
            conditions.push("d.status = ?".into());
            texts.push(s);
        }
        // Times are bound after the texts, so their conditions come last.
        if let Some(from) = filter.from {
            conditions.push("d.created_at >= ?".into());
            times.push(from);
        }
        if let Some(to) = filter.to {
            conditions.push("d.created_at <= ?".into());
            times.push(to);
        }
        let where_clause = conditions.join(" AND ");
        let mut statement = format!("{DEPLOYMENT_SELECT} WHERE {where_clause} ORDER BY d.id DESC");
        if let Some(page) = page {
            statement.push_str(&format!(" LIMIT {} OFFSET {}", page.size, page.offset()));
        }
        let mut query = sqlx::query(sql(statement));
        for text in &texts {
            query = query.bind(text);
        }
        for time in &times {
            query = query.bind(time);
        }
        let mut conn = self.reader().acquire().await?;
        let rows = query.fetch_all(&mut *conn).await?;
        let mut items = rows
            .iter()
            .map(deployment_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        attach_events_and_incidents(&mut conn, &mut items).await?;
        let page = match page {
            None => None,
            Some(page) => {
                let mut count = sqlx::query_scalar::<_, i64>(sql(format!(
                    "SELECT count(*) FROM deployments d JOIN pacticipants p ON p.id = d.pacticipant_id
                     JOIN environments e ON e.id = d.environment_id WHERE {where_clause}"
                )));
                for text in &texts {
                    count = count.bind(text);
                }
                for time in &times {
                    count = count.bind(time);
                }
                let total = count.fetch_one(&mut *conn).await?;
                Some(PageInfo {
                    number: page.number,
                    size: page.size,
                    total_elements: u64::try_from(total).unwrap_or(0),
                })
            }
        };
        Ok(Page { items, page })
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
            if let Some(deployment) = load(&mut tx, *id).await? {
                let pacticipant_id: i64 =
                    sqlx::query_scalar(sql("SELECT pacticipant_id FROM deployments WHERE id = ?"))
                        .bind(id)
                        .fetch_one(&mut *tx)
                        .await?;
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
        let rows = sqlx::query(sql(
            "SELECT p.name AS pacticipant, v.number AS version, dv.application_instance, dv.created_at AS since,
               dv.undeployed_at AS until, (SELECT max(d.id) FROM deployments d WHERE d.deployed_version_id = dv.id) AS deployment_id
             FROM deployed_versions dv
             JOIN pacticipants p ON p.id = dv.pacticipant_id
             JOIN versions v ON v.id = dv.version_id
             WHERE dv.environment_id = ? AND dv.created_at <= ? AND (dv.undeployed_at IS NULL OR dv.undeployed_at > ?)
             ORDER BY p.name, coalesce(dv.application_instance, ''), dv.id",
        ))
        .bind(environment_id)
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
        let in_production = filter.environment.is_none();
        let mut conditions = vec!["d.status IN ('completed', 'failed')".to_owned()];
        let mut texts: Vec<String> = Vec::new();
        if let Some(p) = filter.pacticipant {
            conditions.push("p.name = ?".into());
            texts.push(p);
        }
        match filter.environment {
            Some(e) => {
                conditions.push("e.name = ?".into());
                texts.push(e);
            }
            None => conditions.push("e.production = ?".into()),
        }
        // Times last: they are bound after the texts.
        conditions.push(
            "(d.finished_at >= ? OR d.id IN (SELECT deployment_id FROM incidents WHERE opened_at >= ?))".into(),
        );
        let where_clause = conditions.join(" AND ");
        let from_deployments = "FROM deployments d
             JOIN pacticipants p ON p.id = d.pacticipant_id
             JOIN versions v ON v.id = d.version_id
             JOIN environments e ON e.id = d.environment_id";
        let deployments_sql = format!(
            "SELECT d.id, p.name AS pacticipant, e.name AS environment, d.status, d.finished_at, d.rollback,
               d.scm_committed_at, v.created_at AS version_created_at
             {from_deployments} WHERE {where_clause} ORDER BY d.id"
        );
        let incidents_sql = format!(
            "SELECT i.deployment_id, i.opened_at, i.resolved_at FROM incidents i
             WHERE i.deployment_id IN (SELECT d.id {from_deployments} WHERE {where_clause}) ORDER BY i.id"
        );
        let mut conn = self.reader().acquire().await?;
        let mut deployments = sqlx::query(sql(deployments_sql));
        let mut incidents = sqlx::query(sql(incidents_sql));
        for text in &texts {
            deployments = deployments.bind(text);
            incidents = incidents.bind(text);
        }
        if in_production {
            deployments = deployments.bind(true);
            incidents = incidents.bind(true);
        }
        let rows = deployments
            .bind(from)
            .bind(from)
            .fetch_all(&mut *conn)
            .await?;
        let incident_rows = incidents
            .bind(from)
            .bind(from)
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
