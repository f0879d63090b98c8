//! Export and import of the whole store, row by row, so a team can move
//! between SQLite and PostgreSQL, and back up (the file's shape is
//! `export_file.rs`).
//!
//! Rows keep their ids, so references between tables survive unchanged.
//! Rows are written in key order, and text keys are ordered here by their
//! bytes rather than by the database's collation, so SQLite and PostgreSQL
//! (whatever its locale) write the same bytes for the same data.

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use futures_util::TryStreamExt;
use serde_json::{Value, json};
use sqlx::Row;

use super::{Backend, Conn, DbRow, sql};
use crate::{
    DumpColumn, DumpKind, DumpRow, DumpSink, DumpSource, DumpStore, DumpTable, StoreError,
    StoreResult,
};

#[derive(Clone, Copy, PartialEq, Eq)]
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

impl Kind {
    fn described(self) -> (DumpKind, bool) {
        match self {
            Id => (DumpKind::Integer, false),
            OptionalId => (DumpKind::Integer, true),
            Text => (DumpKind::Text, false),
            OptionalText => (DumpKind::Text, true),
            Bool => (DumpKind::Boolean, false),
            Time => (DumpKind::Time, false),
            OptionalTime => (DumpKind::Time, true),
        }
    }
}

struct Table {
    name: &'static str,
    /// The primary key: the order rows are written in.
    key: &'static [&'static str],
    columns: &'static [(&'static str, Kind)],
}

impl Table {
    fn kind(&self, column: &str) -> Option<Kind> {
        self.columns
            .iter()
            .find(|(name, _)| *name == column)
            .map(|(_, kind)| *kind)
    }
}

/// Every table, parents before children, with its key and columns. A new
/// table or column goes here too: `every_table_and_column_of_the_schema_is_exported`
/// (crates/treaty/tests/it/export_import.rs) compares this list with the
/// migrated schema of each backend.
const TABLES: &[Table] = &[
    Table {
        name: "settings",
        key: &["name"],
        columns: &[("name", Text), ("value", Text)],
    },
    Table {
        name: "pacticipants",
        key: &["id"],
        columns: &[
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
    },
    Table {
        name: "labels",
        key: &["pacticipant_id", "name"],
        columns: &[("pacticipant_id", Id), ("name", Text), ("created_at", Time)],
    },
    Table {
        name: "versions",
        key: &["id"],
        columns: &[
            ("id", Id),
            ("pacticipant_id", Id),
            ("number", Text),
            ("build_url", OptionalText),
            ("created_at", Time),
            ("updated_at", Time),
        ],
    },
    Table {
        name: "branches",
        key: &["id"],
        columns: &[
            ("id", Id),
            ("pacticipant_id", Id),
            ("name", Text),
            ("head_version_id", OptionalId),
            ("created_at", Time),
            ("updated_at", Time),
        ],
    },
    Table {
        name: "branch_versions",
        key: &["id"],
        columns: &[
            ("id", Id),
            ("branch_id", Id),
            ("version_id", Id),
            ("auto_created", Bool),
            ("created_at", Time),
            ("updated_at", Time),
        ],
    },
    Table {
        name: "tags",
        key: &["version_id", "name"],
        columns: &[
            ("version_id", Id),
            ("pacticipant_id", Id),
            ("name", Text),
            ("created_at", Time),
        ],
    },
    Table {
        name: "pact_contents",
        key: &["id"],
        columns: &[
            ("id", Id),
            ("consumer_id", Id),
            ("provider_id", Id),
            ("sha", Text),
            ("content", Text),
            ("interactions_count", Id),
            ("messages_count", Id),
            ("created_at", Time),
        ],
    },
    Table {
        name: "pact_publications",
        key: &["id"],
        columns: &[
            ("id", Id),
            ("consumer_id", Id),
            ("provider_id", Id),
            ("consumer_version_id", Id),
            ("pact_content_id", Id),
            ("revision", Id),
            ("created_at", Time),
            ("updated_at", Time),
        ],
    },
    Table {
        name: "verifications",
        key: &["id"],
        columns: &[
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
            ("wip", Bool),
        ],
    },
    Table {
        name: "integrations",
        key: &["consumer_id", "provider_id"],
        columns: &[
            ("consumer_id", Id),
            ("provider_id", Id),
            ("created_at", Time),
            ("contract_data_updated_at", Time),
        ],
    },
    Table {
        name: "environments",
        key: &["id"],
        columns: &[
            ("id", Id),
            ("uuid", Text),
            ("name", Text),
            ("display_name", OptionalText),
            ("production", Bool),
            ("contacts", OptionalText),
            ("created_at", Time),
            ("updated_at", Time),
            ("position", OptionalId),
        ],
    },
    Table {
        name: "deployed_versions",
        key: &["id"],
        columns: &[
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
    },
    Table {
        name: "currently_deployed",
        key: &["pacticipant_id", "environment_id", "instance_key"],
        columns: &[
            ("pacticipant_id", Id),
            ("environment_id", Id),
            ("instance_key", Text),
            ("deployed_version_id", Id),
            ("version_id", Id),
        ],
    },
    Table {
        name: "released_versions",
        key: &["id"],
        columns: &[
            ("id", Id),
            ("uuid", Text),
            ("version_id", Id),
            ("pacticipant_id", Id),
            ("environment_id", Id),
            ("support_ended_at", OptionalTime),
            ("created_at", Time),
            ("updated_at", Time),
        ],
    },
    Table {
        name: "deployments",
        key: &["id"],
        columns: &[
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
    },
    Table {
        name: "deployment_events",
        key: &["id"],
        columns: &[
            ("id", Id),
            ("deployment_id", Id),
            ("status", Text),
            ("idempotency_key", OptionalText),
            ("metadata", OptionalText),
            ("created_at", Time),
        ],
    },
    Table {
        name: "incidents",
        key: &["id"],
        columns: &[
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
    },
    Table {
        name: "environment_policies",
        key: &["environment_id"],
        columns: &[
            ("environment_id", Id),
            ("rules", Text),
            ("updated_at", Time),
        ],
    },
    Table {
        name: "webhooks",
        key: &["id"],
        columns: &[
            ("id", Id),
            ("uuid", Text),
            ("description", OptionalText),
            ("consumer_id", OptionalId),
            ("consumer_label", OptionalText),
            ("provider_id", OptionalId),
            ("provider_label", OptionalText),
            ("enabled", Bool),
            ("request", Text),
            ("events", Text),
            ("created_at", Time),
            ("updated_at", Time),
            ("secrets_to_reenter", OptionalText),
        ],
    },
    Table {
        name: "webhook_deliveries",
        key: &["id"],
        columns: &[
            ("id", Id),
            ("uuid", Text),
            ("webhook_id", Id),
            ("event_name", Text),
            ("consumer_id", OptionalId),
            ("provider_id", OptionalId),
            ("context", Text),
            ("status", Text),
            ("attempts_made", Id),
            ("next_attempt_at", Time),
            ("claimed_until", OptionalTime),
            ("logs", Text),
            ("created_at", Time),
            ("updated_at", Time),
        ],
    },
    Table {
        name: "api_tokens",
        key: &["id"],
        columns: &[
            ("id", Id),
            ("name", Text),
            ("token_hash", Text),
            ("role", Text),
            ("pacticipants", OptionalText),
            ("expires_at", OptionalTime),
            ("revoked_at", OptionalTime),
            ("created_by", OptionalText),
            ("created_at", Time),
        ],
    },
    Table {
        name: "audit_log",
        key: &["id"],
        columns: &[
            ("id", Id),
            ("at", Time),
            ("actor", Text),
            ("address", Text),
            ("method", Text),
            ("target", Text),
            ("status", Id),
            ("summary", Text),
            ("previous_hash", Text),
            ("hash", Text),
            ("keyed", Bool),
        ],
    },
    Table {
        name: "moved_in",
        key: &["id"],
        columns: &[
            ("id", Id),
            ("source", Text),
            ("kind", Text),
            ("source_key", Text),
            ("fingerprint", Text),
            ("moved_at", Time),
        ],
    },
    Table {
        name: "provider_contract_contents",
        key: &["id"],
        columns: &[
            ("id", Id),
            ("sha", Text),
            ("content", Text),
            ("content_type", Text),
            ("specification", Text),
            ("created_at", Time),
        ],
    },
    Table {
        name: "provider_contracts",
        key: &["id"],
        columns: &[
            ("id", Id),
            ("provider_id", Id),
            ("provider_version_id", Id),
            ("content_id", Id),
            ("self_verification_success", Bool),
            ("self_verification_content", OptionalText),
            ("self_verification_content_type", OptionalText),
            ("self_verification_format", OptionalText),
            ("verifier", OptionalText),
            ("verifier_version", OptionalText),
            ("build_url", OptionalText),
            ("created_at", Time),
            ("updated_at", Time),
        ],
    },
    Table {
        name: "contract_comparisons",
        key: &["id"],
        columns: &[
            ("id", Id),
            ("pact_sha", Text),
            ("contract_sha", Text),
            ("success", Bool),
            ("findings", Text),
            ("created_at", Time),
        ],
    },
    Table {
        name: "comparison_work",
        key: &["id"],
        columns: &[
            ("id", Id),
            ("pact_sha", Text),
            ("contract_sha", Text),
            ("claimed_until", OptionalTime),
            ("created_at", Time),
        ],
    },
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
    "moved_in",
    "provider_contract_contents",
    "provider_contracts",
    "contract_comparisons",
    "comparison_work",
];

fn read(row: &DbRow, column: &str, kind: Kind) -> StoreResult<Value> {
    // Microseconds, fixed width, in UTC: what both backends hold, written alike.
    let time = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Micros, true);
    Ok(match kind {
        Id => json!(row.try_get::<i64, _>(column)?),
        OptionalId => json!(row.try_get::<Option<i64>, _>(column)?),
        Text => json!(row.try_get::<String, _>(column)?),
        OptionalText => json!(row.try_get::<Option<String>, _>(column)?),
        Bool => json!(row.try_get::<bool, _>(column)?),
        Time => json!(time(row.try_get::<DateTime<Utc>, _>(column)?)),
        OptionalTime => json!(row.try_get::<Option<DateTime<Utc>>, _>(column)?.map(time)),
    })
}

fn refused(message: String) -> StoreError {
    StoreError::Conflict(message)
}

fn bad(table: &str, column: &str, kind: Kind) -> StoreError {
    let expected = match kind {
        Id => "an integer",
        OptionalId => "an integer or null",
        Text => "text",
        OptionalText => "text or null",
        Bool => "true or false",
        Time => "an RFC 3339 time",
        OptionalTime => "an RFC 3339 time or null",
    };
    refused(format!(
        "the export's {table}.{column} has the wrong type: expected {expected}"
    ))
}

fn time(value: &Value, table: &str, column: &str, kind: Kind) -> StoreResult<DateTime<Utc>> {
    value
        .as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| bad(table, column, kind))
}

fn newer_release(what: String) -> StoreError {
    refused(format!(
        "this export has {what}, which this Treaty does not know (a newer release wrote it): import it with that release or a newer one"
    ))
}

/// Inserts one row. A column the export does not have (it predates the
/// column) gets the column's default.
async fn insert(conn: &mut Conn, table: &Table, row: &DumpRow) -> StoreResult<()> {
    let mut columns = Vec::with_capacity(row.len());
    for name in row.keys() {
        let kind = table
            .kind(name)
            .ok_or_else(|| newer_release(format!("a column {}.{name}", table.name)))?;
        columns.push((name.as_str(), kind));
    }
    let statement = format!(
        "INSERT INTO {} ({}) VALUES ({})",
        table.name,
        columns
            .iter()
            .map(|(name, _)| *name)
            .collect::<Vec<_>>()
            .join(", "),
        vec!["?"; columns.len()].join(", ")
    );
    let mut query = sqlx::query(sql(statement));
    for ((column, kind), value) in columns.iter().zip(row.values()) {
        let (column, kind, name) = (*column, *kind, table.name);
        let wrong = || bad(name, column, kind);
        query = match kind {
            Id => query.bind(value.as_i64().ok_or_else(wrong)?),
            OptionalId if value.is_null() => query.bind(None::<i64>),
            OptionalId => query.bind(Some(value.as_i64().ok_or_else(wrong)?)),
            Text => query.bind(value.as_str().ok_or_else(wrong)?.to_owned()),
            OptionalText if value.is_null() => query.bind(None::<String>),
            OptionalText => query.bind(Some(value.as_str().ok_or_else(wrong)?.to_owned())),
            Bool => query.bind(value.as_bool().ok_or_else(wrong)?),
            Time => query.bind(time(value, name, column, kind)?),
            OptionalTime if value.is_null() => query.bind(None::<DateTime<Utc>>),
            OptionalTime => query.bind(Some(time(value, name, column, kind)?)),
        };
    }
    query.execute(conn).await?;
    Ok(())
}

/// Rows read by one statement. Each statement stays short however large
/// the table (PostgreSQL's statement timeout counts while the client
/// writes the rows out), and the snapshot makes the pages one table.
const PAGE_ROWS: u64 = 1000;

type Db = <Conn as sqlx::Connection>::Database;
type Query = sqlx::query::Query<'static, Db, <Db as sqlx::Database>::Arguments>;

/// One page of a table in key order: the rows after the last page's last
/// key (a row-value comparison, which SQLite and PostgreSQL share and
/// answer from the primary key's index).
fn page(table: &Table, after: Option<&[Value]>) -> Query {
    let names: Vec<&str> = table.columns.iter().map(|(name, _)| *name).collect();
    let key = table.key.join(", ");
    let condition = match after {
        None => String::new(),
        Some(_) => format!(
            " WHERE ({key}) > ({})",
            vec!["?"; table.key.len()].join(", ")
        ),
    };
    let mut query = sqlx::query(sql(format!(
        "SELECT {} FROM {}{condition} ORDER BY {key} LIMIT {PAGE_ROWS}",
        names.join(", "),
        table.name
    )));
    for (column, value) in table.key.iter().zip(after.into_iter().flatten()) {
        query = match table.kind(column) {
            Some(Id | OptionalId) => query.bind(value.as_i64()),
            _ => query.bind(value.as_str().map(str::to_owned)),
        };
    }
    query
}

/// Rows whose integer key columns are equal, until their text key columns
/// have ordered them by bytes: SQL's order of text is PostgreSQL's
/// collation (its locale's, say) or SQLite's bytes.
struct Ties<'a> {
    table: &'a Table,
    integer_key: Vec<&'static str>,
    text_key: Vec<&'static str>,
    rows: Vec<DumpRow>,
}

impl<'a> Ties<'a> {
    fn new(table: &'a Table) -> Self {
        let (integer_key, text_key) = table
            .key
            .iter()
            .copied()
            .partition(|column| matches!(table.kind(column), Some(Id | OptionalId)));
        Self {
            table,
            integer_key,
            text_key,
            rows: Vec::new(),
        }
    }

    fn ordered_in_sql(&self) -> bool {
        self.text_key.is_empty()
    }

    fn ties_with(&self, row: &DumpRow) -> bool {
        self.rows
            .first()
            .is_none_or(|first| self.integer_key.iter().all(|k| first[*k] == row[*k]))
    }

    /// Adds a row; writes the rows before it when it starts a new tie.
    fn push(&mut self, row: DumpRow, sink: &mut dyn DumpSink) -> StoreResult<()> {
        if !self.ties_with(&row) {
            self.flush(sink)?;
        }
        self.rows.push(row);
        Ok(())
    }

    fn flush(&mut self, sink: &mut dyn DumpSink) -> StoreResult<()> {
        let text_key = &self.text_key;
        self.rows.sort_by(|a, b| {
            text_key
                .iter()
                .map(|k| a[*k].as_str().cmp(&b[*k].as_str()))
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        for row in self.rows.drain(..) {
            sink.row(self.table.name, &row)?;
        }
        Ok(())
    }
}

#[async_trait]
impl DumpStore for Backend {
    fn dump_tables(&self) -> Vec<DumpTable> {
        TABLES
            .iter()
            .map(|table| DumpTable {
                name: table.name,
                key: table.key,
                columns: table
                    .columns
                    .iter()
                    .map(|(name, kind)| {
                        let (kind, nullable) = kind.described();
                        DumpColumn {
                            name,
                            kind,
                            nullable,
                        }
                    })
                    .collect(),
            })
            .collect()
    }

    async fn export_to(&self, sink: &mut dyn DumpSink) -> StoreResult<u64> {
        let mut tx = self.snapshot().await?;
        let mut exported = 0;
        for table in TABLES {
            sink.table(table.name)?;
            let mut ties = Ties::new(table);
            let mut after: Option<Vec<Value>> = None;
            loop {
                let mut rows = page(table, after.as_deref()).fetch(&mut *tx);
                let mut read_here = 0;
                while let Some(row) = rows.try_next().await? {
                    let mut object = DumpRow::with_capacity(table.columns.len());
                    for (column, kind) in table.columns {
                        object.insert((*column).to_owned(), read(&row, column, *kind)?);
                    }
                    read_here += 1;
                    if read_here == PAGE_ROWS {
                        after = Some(table.key.iter().map(|k| object[*k].clone()).collect());
                    }
                    if ties.ordered_in_sql() {
                        sink.row(table.name, &object)?;
                    } else {
                        ties.push(object, sink)?;
                    }
                }
                exported += read_here;
                if read_here < PAGE_ROWS {
                    break;
                }
            }
            ties.flush(sink)?;
        }
        tx.commit().await?;
        Ok(exported)
    }

    async fn import_from(&self, source: &mut dyn DumpSource, replace: bool) -> StoreResult<u64> {
        let mut tx = self.begin().await?;
        if !replace {
            // Settings alone are what any started server writes; every
            // other table holds somebody's data.
            for table in TABLES.iter().filter(|t| t.name != "settings") {
                let any: bool = sqlx::query_scalar(sql(format!(
                    "SELECT EXISTS (SELECT 1 FROM {})",
                    table.name
                )))
                .fetch_one(&mut *tx)
                .await?;
                if any {
                    return Err(refused(format!(
                        "the database is not empty (its {} has rows): import into an empty database, or pass --replace to delete its contents first",
                        table.name
                    )));
                }
            }
        }
        for table in TABLES.iter().rev() {
            sqlx::query(sql(format!("DELETE FROM {}", table.name)))
                .execute(&mut *tx)
                .await?;
        }
        let mut imported = 0;
        let mut position = 0;
        while let Some((name, row)) = source.next_row().await? {
            let (index, table) = TABLES
                .iter()
                .enumerate()
                .find(|(_, table)| table.name == name)
                .ok_or_else(|| newer_release(format!("a table {name}")))?;
            // Parents come before children, or their references fail.
            if index < position {
                return Err(refused(format!(
                    "the export's table {name} comes after {}: keep the tables in the order treaty export wrote them",
                    TABLES[position].name
                )));
            }
            position = index;
            insert(&mut tx, table, &row).await?;
            imported += 1;
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

#[cfg(test)]
mod tests {
    use super::{Id, OptionalId, TABLES, TABLES_WITH_IDS};

    #[test]
    fn every_table_with_a_generated_id_continues_after_an_import() {
        let with_ids: Vec<&str> = TABLES
            .iter()
            .filter(|table| table.key == ["id"])
            .map(|table| table.name)
            .collect();
        assert_eq!(with_ids, TABLES_WITH_IDS);
    }

    #[test]
    fn every_key_orders_its_table_in_groups_the_export_can_order_by_bytes() {
        for table in TABLES {
            for column in table.key {
                assert!(
                    table.kind(column).is_some(),
                    "{}.{column} is in the key but not a column",
                    table.name
                );
            }
            assert!(
                table
                    .key
                    .iter()
                    .any(|k| matches!(table.kind(k), Some(Id | OptionalId)))
                    || table.name == "settings",
                "{}: ordering a table by text alone holds it in memory while exporting",
                table.name
            );
            let first_text = table
                .key
                .iter()
                .position(|k| !matches!(table.kind(k), Some(Id | OptionalId)))
                .unwrap_or(table.key.len());
            assert!(
                table.key[first_text..]
                    .iter()
                    .all(|k| !matches!(table.kind(k), Some(Id | OptionalId))),
                "{}: the key's integer columns come first, so ties on them are next to each other",
                table.name
            );
        }
    }
}
