use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use treaty_domain::model::{DeployedVersion, ReleasedVersion};

use super::environments::{environment_columns, environment_from_row, environment_id};
use super::{Backend, Conn, DbRow, now, sql};
use crate::{DeployedFilter, DeploymentStore, NewDeployment, StoreError, StoreResult};

pub(crate) fn deployed_select() -> String {
    format!(
        "SELECT dv.id, dv.uuid, p.name AS pacticipant, v.number AS version, dv.application_instance,
           dv.undeployed_at, dv.auto_created, dv.created_at, dv.updated_at, {}
         FROM deployed_versions dv
         JOIN pacticipants p ON p.id = dv.pacticipant_id
         JOIN versions v ON v.id = dv.version_id
         JOIN environments e ON e.id = dv.environment_id",
        environment_columns()
    )
}

fn released_select() -> String {
    format!(
        "SELECT rv.id, rv.uuid, p.name AS pacticipant, v.number AS version, rv.support_ended_at,
           rv.created_at, rv.updated_at, {}
         FROM released_versions rv
         JOIN pacticipants p ON p.id = rv.pacticipant_id
         JOIN versions v ON v.id = rv.version_id
         JOIN environments e ON e.id = rv.environment_id",
        environment_columns()
    )
}

pub(crate) fn deployed_from_row(row: &DbRow) -> StoreResult<DeployedVersion> {
    let undeployed_at: Option<DateTime<Utc>> = row.try_get("undeployed_at")?;
    Ok(DeployedVersion {
        uuid: row.try_get("uuid")?,
        pacticipant: row.try_get("pacticipant")?,
        version: row.try_get("version")?,
        environment: environment_from_row(row, "env_")?,
        application_instance: row.try_get("application_instance")?,
        currently_deployed: undeployed_at.is_none(),
        undeployed_at,
        auto_created: row.try_get("auto_created")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn released_from_row(row: &DbRow) -> StoreResult<ReleasedVersion> {
    let support_ended_at: Option<DateTime<Utc>> = row.try_get("support_ended_at")?;
    Ok(ReleasedVersion {
        uuid: row.try_get("uuid")?,
        pacticipant: row.try_get("pacticipant")?,
        version: row.try_get("version")?,
        environment: environment_from_row(row, "env_")?,
        currently_supported: support_ended_at.is_none(),
        support_ended_at,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
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

/// Records a deployment within the caller's transaction; returns the uuid of
/// the current record for the slot.
pub(crate) async fn record_deployment_in(
    conn: &mut Conn,
    pacticipant_id: i64,
    version_id: i64,
    environment_id: i64,
    application_instance: Option<&str>,
    uuid: Option<&str>,
    auto_created: bool,
) -> StoreResult<String> {
    let at = now();
    // An empty instance is no instance: one slot, not two.
    let instance = application_instance.filter(|i| !i.is_empty());
    let slot = instance.unwrap_or("");
    let current = sqlx::query(sql(
        "SELECT cd.version_id, dv.uuid FROM currently_deployed cd JOIN deployed_versions dv ON dv.id = cd.deployed_version_id
         WHERE cd.pacticipant_id = ? AND cd.environment_id = ? AND cd.instance_key = ?",
    ))
    .bind(pacticipant_id)
    .bind(environment_id)
    .bind(slot)
    .fetch_optional(&mut *conn)
    .await?;
    let mut replaced = None;
    if let Some(current) = current {
        let current_version: i64 = current.try_get("version_id")?;
        if current_version == version_id {
            return Ok(current.try_get("uuid")?);
        }
        replaced = Some(current_version);
    }
    sqlx::query(sql(
        "UPDATE deployed_versions SET undeployed_at = ?, updated_at = ?
         WHERE pacticipant_id = ? AND environment_id = ? AND coalesce(application_instance, '') = ?
           AND undeployed_at IS NULL",
    ))
    .bind(at)
    .bind(at)
    .bind(pacticipant_id)
    .bind(environment_id)
    .bind(slot)
    .execute(&mut *conn)
    .await?;
    sqlx::query(sql(
        "DELETE FROM currently_deployed WHERE pacticipant_id = ? AND environment_id = ? AND instance_key = ?",
    ))
    .bind(pacticipant_id)
    .bind(environment_id)
    .bind(slot)
    .execute(&mut *conn)
    .await?;
    let uuid = uuid.map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
    let id: i64 = sqlx::query_scalar(sql(
        "INSERT INTO deployed_versions (uuid, version_id, pacticipant_id, environment_id, application_instance,
           auto_created, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    ))
    .bind(&uuid)
    .bind(version_id)
    .bind(pacticipant_id)
    .bind(environment_id)
    .bind(instance)
    .bind(auto_created)
    .bind(at)
    .bind(at)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query(sql(
        "INSERT INTO currently_deployed (pacticipant_id, environment_id, instance_key, deployed_version_id, version_id)
         VALUES (?, ?, ?, ?, ?)",
    ))
    .bind(pacticipant_id)
    .bind(environment_id)
    .bind(slot)
    .bind(id)
    .bind(version_id)
    .execute(&mut *conn)
    .await?;
    super::webhooks::notify_unblocked_consumers(
        conn,
        pacticipant_id,
        version_id,
        replaced,
        environment_id,
        at,
    )
    .await?;
    Ok(uuid)
}

/// Records a deployment when a version is tagged with an environment's name
/// (the Pact Broker's `create_deployed_versions_for_tags`).
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
        record_deployment_in(
            conn,
            pacticipant_id,
            version_id,
            environment_id,
            None,
            None,
            true,
        )
        .await?;
    }
    Ok(())
}

#[async_trait]
impl DeploymentStore for Backend {
    async fn record_deployment(&self, deployment: NewDeployment) -> StoreResult<DeployedVersion> {
        let mut tx = self.begin().await?;
        let (version_id, pacticipant_id) =
            version_ids(&mut tx, &deployment.pacticipant, &deployment.version).await?;
        let environment_id = environment_id(&mut tx, &deployment.environment_uuid).await?;
        let uuid = record_deployment_in(
            &mut tx,
            pacticipant_id,
            version_id,
            environment_id,
            deployment.application_instance.as_deref(),
            deployment.uuid.as_deref(),
            false,
        )
        .await?;
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
        sqlx::query(sql(
            "UPDATE deployed_versions SET undeployed_at = ?, updated_at = ? WHERE uuid = ? AND undeployed_at IS NULL",
        ))
        .bind(at)
        .bind(at)
        .bind(uuid)
        .execute(&mut *tx)
        .await?;
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
            "{} JOIN currently_deployed cd ON cd.deployed_version_id = dv.id WHERE e.uuid = ?",
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
        statement.push_str(" ORDER BY lower(p.name), dv.created_at, dv.id");
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
            "{} JOIN currently_deployed cd ON cd.deployed_version_id = dv.id WHERE p.name = ? ORDER BY dv.id",
            deployed_select()
        )))
        .bind(pacticipant)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(deployed_from_row).collect()
    }

    async fn record_release(
        &self,
        pacticipant: &str,
        version: &str,
        environment_uuid: &str,
        uuid: Option<&str>,
    ) -> StoreResult<(ReleasedVersion, bool)> {
        let at = now();
        let mut tx = self.begin().await?;
        let (version_id, pacticipant_id) = version_ids(&mut tx, pacticipant, version).await?;
        let environment_id = environment_id(&mut tx, environment_uuid).await?;
        let existing: Option<String> = sqlx::query_scalar(sql(
            "SELECT uuid FROM released_versions WHERE version_id = ? AND environment_id = ?",
        ))
        .bind(version_id)
        .bind(environment_id)
        .fetch_optional(&mut *tx)
        .await?;
        let (uuid, created) = match existing {
            Some(uuid) => {
                // Recording a release again re-activates it.
                sqlx::query(sql(
                    "UPDATE released_versions SET support_ended_at = NULL, updated_at = ? WHERE uuid = ?",
                ))
                .bind(at)
                .bind(&uuid)
                .execute(&mut *tx)
                .await?;
                (uuid, false)
            }
            None => {
                let uuid = uuid.map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
                sqlx::query(sql(
                    "INSERT INTO released_versions (uuid, version_id, pacticipant_id, environment_id, created_at, updated_at)
                     VALUES (?, ?, ?, ?, ?, ?)",
                ))
                .bind(&uuid)
                .bind(version_id)
                .bind(pacticipant_id)
                .bind(environment_id)
                .bind(at)
                .bind(at)
                .execute(&mut *tx)
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
        sqlx::query(sql(
            "UPDATE released_versions SET support_ended_at = ?, updated_at = ? WHERE uuid = ? AND support_ended_at IS NULL",
        ))
        .bind(at)
        .bind(at)
        .bind(uuid)
        .execute(&mut *tx)
        .await?;
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
