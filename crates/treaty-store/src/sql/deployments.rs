//! The Pact Broker's records of deployments and releases: its view of the
//! ledger. Every write here is a ledger write too, in the same transaction
//! (the functions of `ledger.rs`): `record-deployment` and tags named after
//! environments are completed ledger deployments, `record-release` a ledger
//! release, undeploying and ending support end them.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use treaty_domain::ledger::{Event, Status};
use treaty_domain::model::{DeployedVersion, EndReason, ReleasedVersion};

use super::environments::{
    ENVIRONMENT_COLUMNS, environment_columns, environment_from_row, environment_id,
};
use super::ledger::{
    EntriesOf, Recorded, Subject, acting, apply_event, end_running, record_release_entry,
};
use super::{Backend, Conn, now, sql};
use crate::read::{Columns, Query, first};
use crate::{
    DeployedFilter, DeploymentStore, EventTarget, NewDeployment, Recording, SlotBefore, StoreError,
    StoreResult,
};

pub(crate) fn deployed_select() -> String {
    format!(
        "SELECT dv.id, dv.uuid, p.name AS pacticipant, v.number AS version, dv.application_instance,
           dv.undeployed_at, dv.auto_created, dv.created_at, dv.updated_at, {}
         FROM deployed_versions dv
         JOIN pacticipants p ON p.id = dv.pacticipant_id
         JOIN versions v ON v.id = dv.version_id AND v.pacticipant_id = p.id
         JOIN environments e ON e.id = dv.environment_id",
        environment_columns()
    )
}

/// A deployed version that is current in its slot. Tied to the slot's
/// pacticipant and environment as well as to the record, so that a planner
/// reaches it through the slot's key, not through every version the
/// pacticipant ever deployed there.
const CURRENT_SLOT: &str =
    "cd.deployed_version_id = dv.id AND cd.pacticipant_id = dv.pacticipant_id
           AND cd.environment_id = dv.environment_id";

pub(crate) fn released_select() -> String {
    format!(
        "SELECT rv.id, rv.uuid, p.name AS pacticipant, v.number AS version, rv.support_ended_at,
           rv.created_at, rv.updated_at, {}
         FROM released_versions rv
         JOIN pacticipants p ON p.id = rv.pacticipant_id
         JOIN versions v ON v.id = rv.version_id AND v.pacticipant_id = p.id
         JOIN environments e ON e.id = rv.environment_id",
        environment_columns()
    )
}

pub(crate) fn deployed_from_row(row: &impl Columns) -> StoreResult<DeployedVersion> {
    let undeployed_at = row.optional_time("undeployed_at")?;
    Ok(DeployedVersion {
        uuid: row.text("uuid")?,
        pacticipant: row.text("pacticipant")?,
        version: row.text("version")?,
        environment: environment_from_row(row, "env_")?,
        application_instance: row.optional_text("application_instance")?,
        currently_deployed: undeployed_at.is_none(),
        undeployed_at,
        auto_created: row.boolean("auto_created")?,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}

pub(crate) fn released_from_row(row: &impl Columns) -> StoreResult<ReleasedVersion> {
    let support_ended_at = row.optional_time("support_ended_at")?;
    Ok(ReleasedVersion {
        uuid: row.text("uuid")?,
        pacticipant: row.text("pacticipant")?,
        version: row.text("version")?,
        environment: environment_from_row(row, "env_")?,
        currently_supported: support_ended_at.is_none(),
        support_ended_at,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}

async fn load_deployed(
    conn: &mut Conn,
    condition: &str,
    value: &str,
) -> StoreResult<Option<DeployedVersion>> {
    let row = sqlx::query(sql(format!("{} WHERE {condition}", deployed_select())))
        .bind(value)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(deployed_from_row).transpose()
}

async fn load_released(
    conn: &mut Conn,
    condition: &str,
    value: &str,
) -> StoreResult<Option<ReleasedVersion>> {
    let row = sqlx::query(sql(format!("{} WHERE {condition}", released_select())))
        .bind(value)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(released_from_row).transpose()
}

/// The version's id and its pacticipant's id, or `NotFound`.
async fn version_ids(conn: &mut Conn, pacticipant: &str, version: &str) -> StoreResult<(i64, i64)> {
    let row = sqlx::query(sql(
        "SELECT v.id, v.pacticipant_id FROM versions v JOIN pacticipants p ON p.id = v.pacticipant_id
         WHERE p.name = ? AND v.number = ?",
    ))
    .bind(pacticipant)
    .bind(version)
    .fetch_optional(conn)
    .await?
    .ok_or_else(|| {
        StoreError::NotFound(format!(
            "No version '{version}' of pacticipant '{pacticipant}' found"
        ))
    })?;
    Ok((row.try_get("id")?, row.try_get("pacticipant_id")?))
}

/// The version of a pacticipant in the environment of that uuid, for a
/// ledger entry, in one statement; `NotFound` naming what does not exist.
async fn subject_named(
    conn: &mut Conn,
    pacticipant: &str,
    version: &str,
    environment_uuid: &str,
) -> StoreResult<Subject> {
    let row = sqlx::query(sql(
        "SELECT p.id AS pacticipant_id, v.id AS version_id, e.id AS environment_id,
                p.name AS pacticipant, v.number AS version, e.name AS environment
         FROM pacticipants p JOIN versions v ON v.pacticipant_id = p.id, environments e
         WHERE p.name = ? AND v.number = ? AND e.uuid = ?",
    ))
    .bind(pacticipant)
    .bind(version)
    .bind(environment_uuid)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        // One of them is missing: the lookups that say which.
        version_ids(conn, pacticipant, version).await?;
        environment_id(conn, environment_uuid).await?;
        return Err(StoreError::Corrupt(format!(
            "{pacticipant} {version} and environment {environment_uuid} exist but were not found together"
        )));
    };
    Ok(Subject {
        pacticipant_id: row.try_get("pacticipant_id")?,
        version_id: row.try_get("version_id")?,
        environment_id: row.try_get("environment_id")?,
        pacticipant: row.try_get("pacticipant")?,
        version: row.try_get("version")?,
        environment: row.try_get("environment")?,
    })
}

/// The ids and names of a version in an environment, for a ledger entry.
async fn subject_of(
    conn: &mut Conn,
    pacticipant_id: i64,
    version_id: i64,
    environment_id: i64,
) -> StoreResult<Subject> {
    let row = sqlx::query(sql(
        "SELECT p.name AS pacticipant, v.number AS version, e.name AS environment
         FROM versions v JOIN pacticipants p ON p.id = v.pacticipant_id, environments e
         WHERE v.id = ? AND p.id = ? AND e.id = ?",
    ))
    .bind(version_id)
    .bind(pacticipant_id)
    .bind(environment_id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(Subject {
        pacticipant_id,
        version_id,
        environment_id,
        pacticipant: row.try_get("pacticipant")?,
        version: row.try_get("version")?,
        environment: row.try_get("environment")?,
    })
}

/// A fact recorded after the event (`record-deployment`, or a tag named
/// after an environment), within the caller's transaction: a completed
/// ledger deployment placed in its slot. The version already current in the
/// slot, with no deployment of it open, changes nothing (the Pact Broker
/// answers with its record as it is: retries are harmless). Returns the
/// uuid of the slot's record.
async fn record_fact(
    conn: &mut Conn,
    subject: &Subject,
    instance: Option<&str>,
    event: Event,
    recorded: &Recorded,
    at: chrono::DateTime<Utc>,
) -> StoreResult<String> {
    let slot = instance.unwrap_or("");
    // What the slot holds of this version, in one statement: its current
    // record, an open deployment of it, and its completed ledger entry (a
    // record an older release wrote alone is taken in now, as a new ledger
    // deployment of what runs).
    let found = sqlx::query(sql(
        "SELECT (SELECT dv.uuid FROM currently_deployed cd JOIN deployed_versions dv ON dv.id = cd.deployed_version_id
                 WHERE cd.pacticipant_id = ?1 AND cd.environment_id = ?2 AND cd.instance_key = ?3 AND cd.version_id = ?4) AS current_uuid,
                EXISTS (SELECT 1 FROM deployments
                 WHERE pacticipant_id = ?1 AND version_id = ?4 AND environment_id = ?2 AND coalesce(application_instance, '') = ?3
                   AND status IN ('pending', 'started') AND ended_at IS NULL) AS open,
                EXISTS (SELECT 1 FROM deployments
                 WHERE pacticipant_id = ?1 AND version_id = ?4 AND environment_id = ?2 AND coalesce(application_instance, '') = ?3
                   AND released = ?5 AND status = 'completed' AND ended_at IS NULL) AS in_the_ledger",
    ))
    .bind(subject.pacticipant_id)
    .bind(subject.environment_id)
    .bind(slot)
    .bind(subject.version_id)
    .bind(false)
    .fetch_one(&mut *conn)
    .await?;
    let current: Option<String> = found.try_get("current_uuid")?;
    let open: bool = found.try_get("open")?;
    let in_the_ledger: bool = found.try_get("in_the_ledger")?;
    if let (Some(uuid), false, true) = (current, open, in_the_ledger) {
        return Ok(uuid);
    }
    let applied = apply_event(conn, &event, subject, recorded, at).await?;
    applied
        .placed
        .ok_or_else(|| StoreError::Corrupt("a completed deployment was not placed".into()))
}

/// Records a deployment when a version is tagged with an environment's name
/// (the Pact Broker's `create_deployed_versions_for_tags`), in the ledger
/// like any other (source `pact-broker-tag`).
pub(crate) async fn deploy_for_tag(
    conn: &mut Conn,
    pacticipant_id: i64,
    version_id: i64,
    tag: &str,
) -> StoreResult<()> {
    let environment: Option<i64> =
        sqlx::query_scalar(sql("SELECT id FROM environments WHERE name = ?"))
            .bind(tag)
            .fetch_optional(&mut *conn)
            .await?;
    if let Some(environment_id) = environment {
        let subject = subject_of(conn, pacticipant_id, version_id, environment_id).await?;
        let event = Event {
            pacticipant: subject.pacticipant.clone(),
            version: subject.version.clone(),
            environment: subject.environment.clone(),
            status: Some(Status::Completed),
            deployed_by: acting(),
            source_system: Some("pact-broker-tag".to_owned()),
            ..Event::default()
        };
        let recorded = Recorded {
            auto_created: true,
            ..Recorded::default()
        };
        record_fact(conn, &subject, None, event, &recorded, now()).await?;
    }
    Ok(())
}

#[async_trait]
impl DeploymentStore for Backend {
    async fn deployment_slot(
        &self,
        pacticipant: &str,
        version: &str,
        environment_uuid: &str,
        application_instance: Option<&str>,
    ) -> StoreResult<SlotBefore> {
        let environment = Query::new(format!(
            "SELECT {ENVIRONMENT_COLUMNS}, ep.rules AS policy_rules
             FROM environments e LEFT JOIN environment_policies ep ON ep.environment_id = e.id
             WHERE e.uuid = ?"
        ))
        .bind(environment_uuid);
        let version = Query::new(
            "SELECT v.id, v.pacticipant_id FROM versions v JOIN pacticipants p ON p.id = v.pacticipant_id
             WHERE p.name = ? AND v.number = ?",
        )
        .bind(pacticipant)
        .bind(version);
        let slot = application_instance.unwrap_or("").to_owned();
        self.read_snapshot(move |reader| {
            Box::pin(async move {
                let environment = reader.fetch_all(environment).await?.into_iter().next();
                let version = reader.fetch_all(version).await?.into_iter().next();
                let mut before = SlotBefore {
                    version_exists: version.is_some(),
                    environment: None,
                    current: false,
                    open: EventTarget::New,
                    policy: None,
                };
                let Some(environment) = environment else {
                    return Ok(before);
                };
                before.policy = environment
                    .try_get::<Option<String>>("policy_rules")?
                    .map(|text| {
                        serde_json::from_str(&text).map_err(|e| {
                            StoreError::Corrupt(format!("stored policy is not JSON: {e}"))
                        })
                    })
                    .transpose()?;
                let environment = environment_from_row(&environment, "")?;
                let environment_id = environment.id;
                before.environment = Some(environment);
                let Some(version) = version else {
                    return Ok(before);
                };
                let version_id: i64 = version.try_get("id")?;
                let pacticipant_id: i64 = version.try_get("pacticipant_id")?;
                let current = Query::new(
                    "SELECT EXISTS (SELECT 1 FROM currently_deployed
                       WHERE pacticipant_id = ? AND environment_id = ? AND instance_key = ? AND version_id = ?) AS current",
                )
                .bind(pacticipant_id)
                .bind(environment_id)
                .bind(slot.as_str())
                .bind(version_id);
                before.current = first(reader, current, "current").await?.unwrap_or(false);
                let open = Query::new(
                    // The newest as max(id), not ORDER BY id: ordered, SQLite
                    // walked every deployment of the version by id.
                    "SELECT id, status FROM deployments WHERE id = (SELECT max(id) FROM deployments
                     WHERE pacticipant_id = ? AND version_id = ? AND environment_id = ? AND coalesce(application_instance, '') = ?
                       AND status IN ('pending', 'started') AND ended_at IS NULL)",
                )
                .bind(pacticipant_id)
                .bind(version_id)
                .bind(environment_id)
                .bind(slot.as_str());
                if let Some(open) = reader.fetch_all(open).await?.into_iter().next() {
                    let status: String = open.try_get("status")?;
                    before.open = EventTarget::Open {
                        id: open.try_get("id")?,
                        status: Status::parse(&status).ok_or_else(|| {
                            StoreError::Corrupt(format!("unknown stored status {status}"))
                        })?,
                    };
                }
                Ok(before)
            })
        })
        .await
    }

    async fn record_deployment_as(
        &self,
        deployment: NewDeployment,
        recording: Recording,
    ) -> StoreResult<DeployedVersion> {
        let at = now();
        let mut tx = self.begin().await?;
        let subject = subject_named(
            &mut tx,
            &deployment.pacticipant,
            &deployment.version,
            &deployment.environment_uuid,
        )
        .await?;
        // An empty instance is no instance: one slot, not two.
        let instance = deployment.application_instance.filter(|i| !i.is_empty());
        let event = Event {
            pacticipant: subject.pacticipant.clone(),
            version: subject.version.clone(),
            environment: subject.environment.clone(),
            status: Some(Status::Completed),
            application_instance: instance.clone(),
            deployed_by: recording.deployed_by,
            source_system: Some("pact-broker-api".to_owned()),
            ..Event::default()
        };
        let recorded = Recorded {
            evidence: recording.evidence,
            bypassed_gates: recording.bypassed_gates,
            uuid: deployment.uuid,
            ..Recorded::default()
        };
        let uuid =
            record_fact(&mut tx, &subject, instance.as_deref(), event, &recorded, at).await?;
        let recorded = load_deployed(&mut tx, "dv.uuid = ?", &uuid)
            .await?
            .ok_or_else(|| StoreError::Corrupt("deployment vanished".into()))?;
        tx.commit().await?;
        Ok(recorded)
    }

    async fn deployed_version(&self, uuid: &str) -> StoreResult<Option<DeployedVersion>> {
        let mut conn = self.reader().acquire().await?;
        load_deployed(&mut conn, "dv.uuid = ?", uuid).await
    }

    async fn undeploy(&self, uuid: &str) -> StoreResult<Option<DeployedVersion>> {
        let mut tx = self.begin().await?;
        let at = now();
        let undeployed: Option<i64> = sqlx::query_scalar(sql(
            "UPDATE deployed_versions SET undeployed_at = ?, updated_at = ? WHERE uuid = ? AND undeployed_at IS NULL RETURNING id",
        ))
        .bind(at)
        .bind(at)
        .bind(uuid)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(id) = undeployed {
            end_running(
                &mut tx,
                EntriesOf::DeployedVersion(id),
                EndReason::Undeployed,
                at,
            )
            .await?;
        }
        sqlx::query(sql(
            "DELETE FROM currently_deployed WHERE deployed_version_id = (SELECT id FROM deployed_versions WHERE uuid = ?)",
        ))
        .bind(uuid)
        .execute(&mut *tx)
        .await?;
        let undeployed = load_deployed(&mut tx, "dv.uuid = ?", uuid).await?;
        tx.commit().await?;
        Ok(undeployed)
    }

    async fn currently_deployed(
        &self,
        environment_uuid: &str,
        filter: DeployedFilter,
    ) -> StoreResult<Vec<DeployedVersion>> {
        let mut statement = format!(
            "{} JOIN currently_deployed cd ON {CURRENT_SLOT} WHERE e.uuid = ?",
            deployed_select()
        );
        let mut arguments = vec![environment_uuid.to_owned()];
        if let Some(pacticipant) = filter.pacticipant {
            statement.push_str(" AND p.name = ?");
            arguments.push(pacticipant);
        }
        if let Some(instance) = filter.application_instance {
            statement.push_str(" AND cd.instance_key = ?");
            arguments.push(instance.unwrap_or_default());
        }
        // The Pact Broker's order: the most recent deployment first.
        statement.push_str(" ORDER BY dv.created_at DESC, dv.id DESC");
        let mut query = sqlx::query(sql(statement));
        for argument in &arguments {
            query = query.bind(argument);
        }
        let rows = query.fetch_all(self.reader()).await?;
        rows.iter().map(deployed_from_row).collect()
    }

    async fn deployments_of_version(
        &self,
        pacticipant: &str,
        version: &str,
    ) -> StoreResult<Vec<DeployedVersion>> {
        let rows = sqlx::query(sql(format!(
            "{} WHERE p.name = ? AND v.number = ? ORDER BY dv.id",
            deployed_select()
        )))
        .bind(pacticipant)
        .bind(version)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(deployed_from_row).collect()
    }

    async fn current_deployments_of(&self, pacticipant: &str) -> StoreResult<Vec<DeployedVersion>> {
        let rows = sqlx::query(sql(format!(
            "{} JOIN currently_deployed cd ON {CURRENT_SLOT} WHERE p.name = ? ORDER BY dv.id",
            deployed_select()
        )))
        .bind(pacticipant)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(deployed_from_row).collect()
    }

    async fn record_release_as(
        &self,
        pacticipant: &str,
        version: &str,
        environment_uuid: &str,
        uuid: Option<&str>,
        recording: Recording,
    ) -> StoreResult<(ReleasedVersion, bool)> {
        let at = now();
        let mut tx = self.begin().await?;
        let subject = subject_named(&mut tx, pacticipant, version, environment_uuid).await?;
        let (pacticipant_id, version_id, environment_id) = (
            subject.pacticipant_id,
            subject.version_id,
            subject.environment_id,
        );
        let existing = sqlx::query(sql(
            "SELECT id, uuid, support_ended_at FROM released_versions WHERE version_id = ? AND environment_id = ?",
        ))
        .bind(version_id)
        .bind(environment_id)
        .fetch_optional(&mut *tx)
        .await?;
        let recorded = Recorded {
            evidence: recording.evidence,
            bypassed_gates: recording.bypassed_gates,
            ..Recorded::default()
        };
        let (uuid, created) = match existing {
            Some(row) => {
                let id: i64 = row.try_get("id")?;
                let uuid: String = row.try_get("uuid")?;
                let ended: Option<DateTime<Utc>> = row.try_get("support_ended_at")?;
                // Recording a release again re-activates it.
                sqlx::query(sql(
                    "UPDATE released_versions SET support_ended_at = NULL, updated_at = ? WHERE id = ?",
                ))
                .bind(at)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                // Supported again after its support ended: a new release in the ledger.
                if ended.is_some() {
                    record_release_entry(
                        &mut tx,
                        &subject,
                        id,
                        recording.deployed_by.as_deref(),
                        &recorded,
                        at,
                    )
                    .await?;
                }
                (uuid, false)
            }
            None => {
                let uuid = uuid.map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
                let id: i64 = sqlx::query_scalar(sql(
                    "INSERT INTO released_versions (uuid, version_id, pacticipant_id, environment_id, created_at, updated_at)
                     VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                ))
                .bind(&uuid)
                .bind(version_id)
                .bind(pacticipant_id)
                .bind(environment_id)
                .bind(at)
                .bind(at)
                .fetch_one(&mut *tx)
                .await?;
                record_release_entry(
                    &mut tx,
                    &subject,
                    id,
                    recording.deployed_by.as_deref(),
                    &recorded,
                    at,
                )
                .await?;
                (uuid, true)
            }
        };
        let released = load_released(&mut tx, "rv.uuid = ?", &uuid)
            .await?
            .ok_or_else(|| StoreError::Corrupt("release vanished".into()))?;
        tx.commit().await?;
        Ok((released, created))
    }

    async fn released_version(&self, uuid: &str) -> StoreResult<Option<ReleasedVersion>> {
        let mut conn = self.reader().acquire().await?;
        load_released(&mut conn, "rv.uuid = ?", uuid).await
    }

    async fn end_support(&self, uuid: &str) -> StoreResult<Option<ReleasedVersion>> {
        let at = now();
        let mut tx = self.begin().await?;
        let ended: Option<i64> = sqlx::query_scalar(sql(
            "UPDATE released_versions SET support_ended_at = ?, updated_at = ? WHERE uuid = ? AND support_ended_at IS NULL RETURNING id",
        ))
        .bind(at)
        .bind(at)
        .bind(uuid)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(id) = ended {
            end_running(
                &mut tx,
                EntriesOf::ReleasedVersion(id),
                EndReason::SupportEnded,
                at,
            )
            .await?;
        }
        let released = load_released(&mut tx, "rv.uuid = ?", uuid).await?;
        tx.commit().await?;
        Ok(released)
    }

    async fn currently_supported(
        &self,
        environment_uuid: &str,
        pacticipant: Option<&str>,
        version: Option<&str>,
    ) -> StoreResult<Vec<ReleasedVersion>> {
        let mut statement = format!(
            "{} WHERE e.uuid = ? AND rv.support_ended_at IS NULL",
            released_select()
        );
        let mut arguments = vec![environment_uuid];
        if let Some(pacticipant) = pacticipant {
            statement.push_str(" AND p.name = ?");
            arguments.push(pacticipant);
        }
        if let Some(version) = version {
            statement.push_str(" AND v.number = ?");
            arguments.push(version);
        }
        statement.push_str(" ORDER BY lower(p.name), rv.id");
        let mut query = sqlx::query(sql(statement));
        for argument in arguments {
            query = query.bind(argument);
        }
        let rows = query.fetch_all(self.reader()).await?;
        rows.iter().map(released_from_row).collect()
    }

    async fn releases_of_version(
        &self,
        pacticipant: &str,
        version: &str,
    ) -> StoreResult<Vec<ReleasedVersion>> {
        let rows = sqlx::query(sql(format!(
            "{} WHERE p.name = ? AND v.number = ? ORDER BY rv.id",
            released_select()
        )))
        .bind(pacticipant)
        .bind(version)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(released_from_row).collect()
    }
}
