//! Export and import of the whole store, as one portable JSON document, so a
//! team can move between SQLite and PostgreSQL, and back up.
//!
//! Rows keep their ids, so references between tables survive unchanged.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use sqlx::Row;

use super::{Backend, Conn, DbRow, sql};
use crate::{Dump, DumpStore, StoreError, StoreResult};

#[derive(Clone, Copy)]
enum Kind {
    Id,
    OptionalId,
    Text,
    OptionalText,
    Bool,
    Time,
    OptionalTime,
}

use Kind::{Bool, Id, OptionalId, OptionalText, OptionalTime, Text, Time};

/// Every table, parents before children, with its columns.
const TABLES: &[(&str, &[(&str, Kind)])] = &[
    ("settings", &[("name", Text), ("value", Text)]),
    (
        "pacticipants",
        &[
            ("id", Id),
            ("name", Text),
            ("display_name", OptionalText),
            ("repository_url", OptionalText),
            ("repository_name", OptionalText),
            ("repository_namespace", OptionalText),
            ("main_branch", OptionalText),
            ("created_at", Time),
            ("updated_at", Time),
        ],
    ),
    (
        "labels",
        &[("pacticipant_id", Id), ("name", Text), ("created_at", Time)],
    ),
    (
        "versions",
        &[
            ("id", Id),
            ("pacticipant_id", Id),
            ("number", Text),
            ("build_url", OptionalText),
            ("created_at", Time),
            ("updated_at", Time),
        ],
    ),
    (
        "branches",
        &[
            ("id", Id),
            ("pacticipant_id", Id),
            ("name", Text),
            ("head_version_id", OptionalId),
            ("created_at", Time),
            ("updated_at", Time),
        ],
    ),
    (
        "branch_versions",
        &[
            ("id", Id),
            ("branch_id", Id),
            ("version_id", Id),
            ("auto_created", Bool),
            ("created_at", Time),
            ("updated_at", Time),
        ],
    ),
    (
        "tags",
        &[
            ("version_id", Id),
            ("pacticipant_id", Id),
            ("name", Text),
            ("created_at", Time),
        ],
    ),
    (
        "pact_contents",
        &[
            ("id", Id),
            ("consumer_id", Id),
            ("provider_id", Id),
            ("sha", Text),
            ("content", Text),
            ("interactions_count", Id),
            ("messages_count", Id),
            ("created_at", Time),
        ],
    ),
    (
        "pact_publications",
        &[
            ("id", Id),
            ("consumer_id", Id),
            ("provider_id", Id),
            ("consumer_version_id", Id),
            ("pact_content_id", Id),
            ("revision", Id),
            ("created_at", Time),
            ("updated_at", Time),
        ],
    ),
    (
        "verifications",
        &[
            ("id", Id),
            ("pact_content_id", Id),
            ("provider_version_id", Id),
            ("consumer_id", Id),
            ("provider_id", Id),
            ("success", Bool),
            ("build_url", OptionalText),
            ("test_results", OptionalText),
            ("verified_by", OptionalText),
            ("provider_version_tags", Text),
            ("execution_date", Time),
        ],
    ),
    (
        "integrations",
        &[
            ("consumer_id", Id),
            ("provider_id", Id),
            ("created_at", Time),
            ("contract_data_updated_at", Time),
        ],
    ),
    (
        "environments",
        &[
            ("id", Id),
            ("uuid", Text),
            ("name", Text),
            ("display_name", OptionalText),
            ("production", Bool),
            ("contacts", OptionalText),
            ("created_at", Time),
            ("updated_at", Time),
        ],
    ),
    (
        "deployed_versions",
        &[
            ("id", Id),
            ("uuid", Text),
            ("version_id", Id),
            ("pacticipant_id", Id),
            ("environment_id", Id),
            ("application_instance", OptionalText),
            ("undeployed_at", OptionalTime),
            ("auto_created", Bool),
            ("created_at", Time),
            ("updated_at", Time),
        ],
    ),
    (
        "currently_deployed",
        &[
            ("pacticipant_id", Id),
            ("environment_id", Id),
            ("instance_key", Text),
            ("deployed_version_id", Id),
            ("version_id", Id),
        ],
    ),
    (
        "released_versions",
        &[
            ("id", Id),
            ("uuid", Text),
            ("version_id", Id),
            ("pacticipant_id", Id),
            ("environment_id", Id),
            ("support_ended_at", OptionalTime),
            ("created_at", Time),
            ("updated_at", Time),
        ],
    ),
    (
        "deployments",
        &[
            ("id", Id),
            ("pacticipant_id", OptionalId),
            ("version_id", OptionalId),
            ("environment_id", OptionalId),
            ("application_instance", OptionalText),
            ("status", Text),
            ("deployed_by", OptionalText),
            ("scm_branch", OptionalText),
            ("scm_sha", OptionalText),
            ("scm_repository", OptionalText),
            ("build_url", OptionalText),
            ("build_number", OptionalText),
            ("source_system", OptionalText),
            ("extra_metadata", OptionalText),
            ("evidence", OptionalText),
            ("rollback", Bool),
            ("deployed_version_id", OptionalId),
            ("created_at", Time),
            ("started_at", OptionalTime),
            ("finished_at", OptionalTime),
            ("updated_at", Time),
            ("scm_committed_at", OptionalTime),
            ("emergency", Bool),
            ("released", Bool),
            ("released_version_id", OptionalId),
            ("ended_at", OptionalTime),
            ("end_reason", OptionalText),
            ("ended_by", OptionalText),
            ("replaced_by_id", OptionalId),
            ("bypassed_gates", Bool),
            ("pacticipant_name", OptionalText),
            ("version_number", OptionalText),
            ("environment_name", OptionalText),
        ],
    ),
    (
        "deployment_events",
        &[
            ("id", Id),
            ("deployment_id", Id),
            ("status", Text),
            ("idempotency_key", OptionalText),
            ("metadata", OptionalText),
            ("created_at", Time),
        ],
    ),
    (
        "incidents",
        &[
            ("id", Id),
            ("deployment_id", Id),
            ("title", Text),
            ("severity", OptionalText),
            ("url", OptionalText),
            ("opened_by", OptionalText),
            ("opened_at", Time),
            ("resolved_at", OptionalTime),
            ("created_at", Time),
            ("updated_at", Time),
        ],
    ),
    (
        "environment_policies",
        &[
            ("environment_id", Id),
            ("rules", Text),
            ("updated_at", Time),
        ],
    ),
];

/// Tables whose `id` column is generated, and must continue after imported ids.
#[allow(dead_code, reason = "only the PostgreSQL backend resets sequences")]
pub(crate) const TABLES_WITH_IDS: &[&str] = &[
    "pacticipants",
    "versions",
    "branches",
    "branch_versions",
    "pact_contents",
    "pact_publications",
    "verifications",
    "environments",
    "deployed_versions",
    "released_versions",
    "deployments",
    "deployment_events",
    "incidents",
    "webhooks",
    "webhook_deliveries",
    "api_tokens",
    "audit_log",
];

pub const FORMAT: &str = "treaty-export";
pub const FORMAT_VERSION: u64 = 1;

fn read(row: &DbRow, column: &str, kind: Kind) -> StoreResult<Value> {
    Ok(match kind {
        Id => json!(row.try_get::<i64, _>(column)?),
        OptionalId => json!(row.try_get::<Option<i64>, _>(column)?),
        Text => json!(row.try_get::<String, _>(column)?),
        OptionalText => json!(row.try_get::<Option<String>, _>(column)?),
        Bool => json!(row.try_get::<bool, _>(column)?),
        Time => json!(row.try_get::<DateTime<Utc>, _>(column)?.to_rfc3339()),
        OptionalTime => json!(
            row.try_get::<Option<DateTime<Utc>>, _>(column)?
                .map(|t| t.to_rfc3339())
        ),
    })
}

fn bad(table: &str, column: &str) -> StoreError {
    StoreError::Conflict(format!("the export's {table}.{column} has the wrong type"))
}

fn time(value: &Value, table: &str, column: &str) -> StoreResult<DateTime<Utc>> {
    value
        .as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| bad(table, column))
}

async fn insert(
    conn: &mut Conn,
    table: &str,
    columns: &[(&str, Kind)],
    row: &Map<String, Value>,
) -> StoreResult<()> {
    let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
    let statement = format!(
        "INSERT INTO {table} ({}) VALUES ({})",
        names.join(", "),
        vec!["?"; names.len()].join(", ")
    );
    let mut query = sqlx::query(sql(statement));
    for (column, kind) in columns {
        let value = row.get(*column).unwrap_or(&Value::Null);
        query = match kind {
            Id => query.bind(value.as_i64().ok_or_else(|| bad(table, column))?),
            OptionalId => query.bind(value.as_i64()),
            Text => query.bind(value.as_str().ok_or_else(|| bad(table, column))?.to_owned()),
            OptionalText => query.bind(value.as_str().map(str::to_owned)),
            // A column added after the export was written is absent: its default.
            Bool => query.bind(match value {
                Value::Null => false,
                other => other.as_bool().ok_or_else(|| bad(table, column))?,
            }),
            Time => query.bind(time(value, table, column)?),
            OptionalTime => query.bind(if value.is_null() {
                None
            } else {
                Some(time(value, table, column)?)
            }),
        };
    }
    query.execute(conn).await?;
    Ok(())
}

#[async_trait]
impl DumpStore for Backend {
    async fn export(&self) -> StoreResult<Dump> {
        let mut tx = self.snapshot().await?;
        let mut tables = Map::new();
        for (table, columns) in TABLES {
            let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
            let order = if columns.iter().any(|(n, _)| *n == "id") {
                "id".to_owned()
            } else {
                names.join(", ")
            };
            let rows = sqlx::query(sql(format!(
                "SELECT {} FROM {table} ORDER BY {order}",
                names.join(", ")
            )))
            .fetch_all(&mut *tx)
            .await?;
            let mut exported = Vec::with_capacity(rows.len());
            for row in &rows {
                let mut object = Map::new();
                for (column, kind) in *columns {
                    object.insert((*column).to_owned(), read(row, column, *kind)?);
                }
                exported.push(Value::Object(object));
            }
            tables.insert((*table).to_owned(), Value::Array(exported));
        }
        tx.commit().await?;
        Ok(Dump(
            json!({ "format": FORMAT, "formatVersion": FORMAT_VERSION, "tables": tables }),
        ))
    }

    async fn import(&self, dump: &Dump, replace: bool) -> StoreResult<u64> {
        let document = &dump.0;
        if document.get("format").and_then(Value::as_str) != Some(FORMAT) {
            return Err(StoreError::Conflict(
                "this file is not a Treaty export".to_owned(),
            ));
        }
        if document.get("formatVersion").and_then(Value::as_u64) != Some(FORMAT_VERSION) {
            return Err(StoreError::Conflict(format!(
                "this export has format version {}; this Treaty reads version {FORMAT_VERSION}",
                document.get("formatVersion").unwrap_or(&Value::Null)
            )));
        }
        let mut tx = self.begin().await?;
        let existing: i64 = sqlx::query_scalar(sql(
            "SELECT (SELECT count(*) FROM pacticipants) + (SELECT count(*) FROM environments)",
        ))
        .fetch_one(&mut *tx)
        .await?;
        if existing > 0 && !replace {
            return Err(StoreError::Conflict(
                "the database is not empty: import into an empty database, or pass --replace to delete its contents first".to_owned(),
            ));
        }
        for (table, _) in TABLES.iter().rev() {
            sqlx::query(sql(format!("DELETE FROM {table}")))
                .execute(&mut *tx)
                .await?;
        }
        let mut imported = 0;
        for (table, columns) in TABLES {
            let rows = document
                .pointer(&format!("/tables/{table}"))
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for row in &rows {
                let object = row.as_object().ok_or_else(|| bad(table, "*"))?;
                insert(&mut tx, table, columns, object).await?;
                imported += 1;
            }
        }
        Self::continue_ids_after_import(&mut tx).await?;
        // An export made before the ledger held the Pact Broker's records.
        super::ledger::take_in_pact_broker_records(&mut tx).await?;
        tx.commit().await?;
        // The rows have landed: a failed ANALYZE must not report the import
        // as failed (a retry would be refused as a non-empty database).
        if let Err(error) = self.analyze_after_import().await {
            tracing::warn!(
                "imported {imported} rows, but ANALYZE failed (run it by hand): {error}"
            );
        }
        Ok(imported)
    }
}
