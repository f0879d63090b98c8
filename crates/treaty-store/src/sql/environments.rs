use async_trait::async_trait;
use treaty_domain::EnvironmentName;
use treaty_domain::model::{DEFAULT_ENVIRONMENTS, Environment, EnvironmentFields};

use super::{Backend, Conn, now, sql};
use crate::read::Columns;
use crate::{EnvironmentStore, StoreError, StoreResult};

pub(crate) const ENVIRONMENT_COLUMNS: &str =
    "e.id, e.uuid, e.name, e.display_name, e.production, e.contacts, e.created_at, e.updated_at";

/// Environment columns with an `env_` prefix, for joins.
pub(crate) fn environment_columns() -> String {
    ENVIRONMENT_COLUMNS
        .split(", ")
        .map(|column| format!("{column} AS env_{}", column.trim_start_matches("e.")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reads an environment from a row whose environment columns carry `prefix`
/// (empty for `ENVIRONMENT_COLUMNS`, `env_` where joined with other tables).
pub(crate) fn environment_from_row(row: &impl Columns, prefix: &str) -> StoreResult<Environment> {
    let column = |name: &str| format!("{prefix}{name}");
    let contacts = row.optional_text(&column("contacts"))?;
    Ok(Environment {
        id: row.int(&column("id"))?,
        uuid: row.text(&column("uuid"))?,
        name: row.text(&column("name"))?,
        display_name: row.optional_text(&column("display_name"))?,
        production: row.boolean(&column("production"))?,
        contacts: contacts
            .map(|text| {
                serde_json::from_str(&text)
                    .map_err(|e| StoreError::Corrupt(format!("stored contacts are not JSON: {e}")))
            })
            .transpose()?,
        created_at: row.time(&column("created_at"))?,
        updated_at: row.time(&column("updated_at"))?,
    })
}

async fn load(conn: &mut Conn, condition: &str, value: &str) -> StoreResult<Option<Environment>> {
    let row = sqlx::query(sql(format!(
        "SELECT {ENVIRONMENT_COLUMNS} FROM environments e WHERE {condition}"
    )))
    .bind(value)
    .fetch_optional(conn)
    .await?;
    row.map(|row| environment_from_row(&row, "")).transpose()
}

/// The id of an environment by uuid, or `NotFound`.
pub(crate) async fn environment_id(conn: &mut Conn, uuid: &str) -> StoreResult<i64> {
    sqlx::query_scalar(sql("SELECT id FROM environments WHERE uuid = ?"))
        .bind(uuid)
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("No environment with uuid '{uuid}' found")))
}

async fn name_taken(conn: &mut Conn, name: &str, except_uuid: Option<&str>) -> StoreResult<bool> {
    let found: Option<String> =
        sqlx::query_scalar(sql("SELECT uuid FROM environments WHERE name = ?"))
            .bind(name)
            .fetch_optional(conn)
            .await?;
    Ok(found.is_some_and(|uuid| Some(uuid.as_str()) != except_uuid))
}

fn name_conflict(name: &str) -> StoreError {
    StoreError::Conflict(format!(
        "name '{name}' is already used by an existing environment."
    ))
}

async fn insert(
    conn: &mut Conn,
    uuid: Option<&str>,
    fields: &EnvironmentFields,
) -> StoreResult<()> {
    let at = now();
    let uuid = uuid.map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
    let display_name = fields
        .display_name
        .clone()
        .filter(|d| !d.trim().is_empty())
        .unwrap_or_else(|| treaty_domain::display_name::generate(fields.name.as_str()));
    let position = make_room(conn, fields.production).await?;
    sqlx::query(sql(
        "INSERT INTO environments (uuid, name, display_name, production, contacts, created_at, updated_at, position)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    ))
    .bind(uuid)
    .bind(fields.name.as_str())
    .bind(display_name)
    .bind(fields.production)
    .bind(fields.contacts.as_ref().map(ToString::to_string))
    .bind(at)
    .bind(at)
    .bind(position)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The pipeline order: the position an admin set, then (for rows an older
/// replica inserted without one) the ones that are not production first, by name.
const PIPELINE_ORDER: &str =
    "CASE WHEN e.position IS NULL THEN 1 ELSE 0 END, e.position, e.production, e.name";

/// The position a new environment takes, after moving the ones behind it
/// down: one that is not production goes just before the first production
/// environment (the end of its kind), a production one at the very end.
async fn make_room(conn: &mut Conn, production: bool) -> StoreResult<i64> {
    let first_production: Option<i64> = if production {
        None
    } else {
        sqlx::query_scalar(sql(
            "SELECT min(position) FROM environments WHERE production = ?",
        ))
        .bind(true)
        .fetch_one(&mut *conn)
        .await?
    };
    if let Some(position) = first_production {
        sqlx::query(sql(
            "UPDATE environments SET position = position + 1 WHERE position >= ?",
        ))
        .bind(position)
        .execute(&mut *conn)
        .await?;
        return Ok(position);
    }
    let last: Option<i64> = sqlx::query_scalar(sql("SELECT max(position) FROM environments"))
        .fetch_one(&mut *conn)
        .await?;
    Ok(last.map_or(0, |last| last + 1))
}

const DEFAULTS_CREATED: &str = "default_environments_created";

#[async_trait]
impl EnvironmentStore for Backend {
    async fn environments(&self) -> StoreResult<Vec<Environment>> {
        let rows = sqlx::query(sql(format!(
            "SELECT {ENVIRONMENT_COLUMNS} FROM environments e ORDER BY lower(coalesce(e.display_name, e.name)), e.name"
        )))
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|row| environment_from_row(row, ""))
            .collect()
    }

    async fn pipeline_environments(&self) -> StoreResult<Vec<Environment>> {
        let rows = sqlx::query(sql(format!(
            "SELECT {ENVIRONMENT_COLUMNS} FROM environments e ORDER BY {PIPELINE_ORDER}"
        )))
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|row| environment_from_row(row, ""))
            .collect()
    }

    async fn environment(&self, uuid: &str) -> StoreResult<Option<Environment>> {
        let mut conn = self.reader().acquire().await?;
        load(&mut conn, "e.uuid = ?", uuid).await
    }

    async fn environment_by_name(&self, name: &str) -> StoreResult<Option<Environment>> {
        let mut conn = self.reader().acquire().await?;
        load(&mut conn, "e.name = ?", name).await
    }

    async fn create_environment(
        &self,
        uuid: Option<&str>,
        fields: EnvironmentFields,
    ) -> StoreResult<Environment> {
        let mut tx = self.begin().await?;
        if name_taken(&mut tx, fields.name.as_str(), None).await? {
            return Err(name_conflict(fields.name.as_str()));
        }
        insert(&mut tx, uuid, &fields).await?;
        let created = load(&mut tx, "e.name = ?", fields.name.as_str())
            .await?
            .ok_or_else(|| StoreError::Corrupt("environment vanished".into()))?;
        tx.commit().await?;
        Ok(created)
    }

    async fn replace_environment(
        &self,
        uuid: &str,
        fields: EnvironmentFields,
    ) -> StoreResult<Option<Environment>> {
        let mut tx = self.begin().await?;
        if load(&mut tx, "e.uuid = ?", uuid).await?.is_none() {
            return Ok(None);
        }
        if name_taken(&mut tx, fields.name.as_str(), Some(uuid)).await? {
            return Err(name_conflict(fields.name.as_str()));
        }
        let display_name = fields
            .display_name
            .clone()
            .filter(|d| !d.trim().is_empty())
            .unwrap_or_else(|| treaty_domain::display_name::generate(fields.name.as_str()));
        sqlx::query(sql(
            "UPDATE environments SET name = ?, display_name = ?, production = ?, contacts = ?, updated_at = ?
             WHERE uuid = ?",
        ))
        .bind(fields.name.as_str())
        .bind(display_name)
        .bind(fields.production)
        .bind(fields.contacts.as_ref().map(ToString::to_string))
        .bind(now())
        .bind(uuid)
        .execute(&mut *tx)
        .await?;
        let updated = load(&mut tx, "e.uuid = ?", uuid).await?;
        tx.commit().await?;
        Ok(updated)
    }

    async fn delete_environment(&self, uuid: &str) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        // The ledger keeps its history of the environment, under the names it had.
        let id: Option<i64> = sqlx::query_scalar(sql("SELECT id FROM environments WHERE uuid = ?"))
            .bind(uuid)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(id) = id {
            super::ledger::keep_history(&mut tx, super::ledger::EntriesOf::Environment(id), now())
                .await?;
        }
        let deleted = sqlx::query(sql("DELETE FROM environments WHERE uuid = ?"))
            .bind(uuid)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            > 0;
        tx.commit().await?;
        Ok(deleted)
    }

    async fn set_environment_order(&self, names: &[String]) -> StoreResult<Vec<Environment>> {
        let mut tx = self.begin().await?;
        let stored: Vec<String> = sqlx::query_scalar(sql(format!(
            "SELECT e.name FROM environments e ORDER BY {PIPELINE_ORDER}"
        )))
        .fetch_all(&mut *tx)
        .await?;
        let problems = treaty_domain::pipeline::order_problems(&stored, names);
        if !problems.is_empty() {
            return Err(StoreError::Conflict(problems.join("; ")));
        }
        for (position, name) in names.iter().enumerate() {
            sqlx::query(sql(
                "UPDATE environments SET position = ?, updated_at = ? WHERE name = ?",
            ))
            .bind(i64::try_from(position).unwrap_or(i64::MAX))
            .bind(now())
            .bind(name)
            .execute(&mut *tx)
            .await?;
        }
        let rows = sqlx::query(sql(format!(
            "SELECT {ENVIRONMENT_COLUMNS} FROM environments e ORDER BY {PIPELINE_ORDER}"
        )))
        .fetch_all(&mut *tx)
        .await?;
        let ordered = rows
            .iter()
            .map(|row| environment_from_row(row, ""))
            .collect::<StoreResult<Vec<_>>>()?;
        tx.commit().await?;
        Ok(ordered)
    }

    async fn ensure_default_environments(&self) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let done: Option<String> =
            sqlx::query_scalar(sql("SELECT value FROM settings WHERE name = ?"))
                .bind(DEFAULTS_CREATED)
                .fetch_optional(&mut *tx)
                .await?;
        if done.is_some() {
            return Ok(false);
        }
        let existing: i64 = sqlx::query_scalar(sql("SELECT count(*) FROM environments"))
            .fetch_one(&mut *tx)
            .await?;
        let create = existing == 0;
        if create {
            for (name, display_name, production) in DEFAULT_ENVIRONMENTS {
                let fields = EnvironmentFields {
                    name: EnvironmentName::parse(name)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    display_name: Some(display_name.to_owned()),
                    production,
                    contacts: None,
                };
                insert(&mut tx, None, &fields).await?;
            }
        }
        sqlx::query(sql("INSERT INTO settings (name, value) VALUES (?, ?)"))
            .bind(DEFAULTS_CREATED)
            .bind(now().to_rfc3339())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(create)
    }
}
