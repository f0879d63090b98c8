//! Reads written once for both backends and run as one unit of work.
//!
//! A read that asks several statements (a matrix answer asks six to nine)
//! is written against [`Reader`]: statements with their arguments, rows of
//! plain values. PostgreSQL runs it on a read-only transaction, statement by
//! statement. SQLite runs the whole unit on one reader thread with its own
//! connection (`sqlite_reads.rs`), because through sqlx every SQLite
//! statement is a hand-off to the connection's worker thread and back, and
//! those thread switches, more than the statements, were a can-i-deploy's
//! cost (see docs/performance.md).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDateTime, Utc};

use crate::{StoreError, StoreResult};

/// A value bound to a statement or read from a row.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Bool(bool),
    /// PostgreSQL's `timestamptz`; SQLite keeps timestamps as RFC 3339 text.
    Time(DateTime<Utc>),
}

impl From<i64> for Value {
    fn from(value: i64) -> Self {
        Self::Int(value)
    }
}

impl From<bool> for Value {
    fn from(value: bool) -> Self {
        Self::Bool(value)
    }
}

impl From<&str> for Value {
    fn from(value: &str) -> Self {
        Self::Text(value.to_owned())
    }
}

impl From<DateTime<Utc>> for Value {
    fn from(value: DateTime<Utc>) -> Self {
        Self::Time(value)
    }
}

impl From<Option<&str>> for Value {
    fn from(value: Option<&str>) -> Self {
        value.map_or(Self::Null, Self::from)
    }
}

/// A statement in the common dialect (`?` placeholders) and its arguments.
#[derive(Debug, Clone)]
pub(crate) struct Query {
    pub(crate) text: String,
    pub(crate) arguments: Vec<Value>,
    /// Whether the backend keeps it prepared for the next time.
    pub(crate) reused: bool,
}

impl Query {
    pub(crate) fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            arguments: Vec::new(),
            reused: true,
        }
    }

    /// Not kept prepared: for statements whose text changes with every
    /// answer, and where PostgreSQL's generic plan for a reused statement
    /// would be worse than planning it for its values.
    pub(crate) fn one_off(mut self) -> Self {
        self.reused = false;
        self
    }

    /// Kept prepared while its lists hold at most `most` items: the few
    /// texts most requests send (one version, a handful of partners) stay
    /// prepared, and the many texts of long lists do not crowd them out.
    pub(crate) fn one_off_beyond(self, items: usize, most: usize) -> Self {
        if items <= most { self } else { self.one_off() }
    }

    pub(crate) fn bind(mut self, value: impl Into<Value>) -> Self {
        self.arguments.push(value.into());
        self
    }
}

/// One row of a result, its values owned.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    columns: Arc<[String]>,
    values: Vec<Value>,
}

impl Row {
    pub(crate) fn new(columns: Arc<[String]>, values: Vec<Value>) -> Self {
        Self { columns, values }
    }

    /// The value of a named column, as `T`.
    pub(crate) fn try_get<T: FromValue>(&self, column: &str) -> StoreResult<T> {
        let value = self
            .columns
            .iter()
            .position(|c| c == column)
            .and_then(|i| self.values.get(i))
            .ok_or_else(|| StoreError::Corrupt(format!("no column {column} in the result")))?;
        T::from_value(value)
            .ok_or_else(|| StoreError::Corrupt(format!("column {column} holds {value:?}")))
    }
}

/// What reading a domain value from a row needs: implemented by [`Row`]
/// and by each backend's sqlx row, so one function reads a version or an
/// environment from either.
pub(crate) trait Columns {
    fn int(&self, column: &str) -> StoreResult<i64>;
    fn text(&self, column: &str) -> StoreResult<String>;
    fn optional_text(&self, column: &str) -> StoreResult<Option<String>>;
    fn boolean(&self, column: &str) -> StoreResult<bool>;
    fn time(&self, column: &str) -> StoreResult<DateTime<Utc>>;
    fn optional_time(&self, column: &str) -> StoreResult<Option<DateTime<Utc>>>;
}

impl Columns for Row {
    fn int(&self, column: &str) -> StoreResult<i64> {
        self.try_get(column)
    }
    fn text(&self, column: &str) -> StoreResult<String> {
        self.try_get(column)
    }
    fn optional_text(&self, column: &str) -> StoreResult<Option<String>> {
        self.try_get(column)
    }
    fn boolean(&self, column: &str) -> StoreResult<bool> {
        self.try_get(column)
    }
    fn time(&self, column: &str) -> StoreResult<DateTime<Utc>> {
        self.try_get(column)
    }
    fn optional_time(&self, column: &str) -> StoreResult<Option<DateTime<Utc>>> {
        self.try_get(column)
    }
}

/// A Rust value a row's value can be read as.
pub(crate) trait FromValue: Sized {
    fn from_value(value: &Value) -> Option<Self>;
}

impl FromValue for i64 {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }
}

impl FromValue for bool {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Bool(b) => Some(*b),
            // SQLite stores booleans as integers.
            Value::Int(i) => Some(*i != 0),
            _ => None,
        }
    }
}

impl FromValue for String {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Text(text) => Some(text.clone()),
            _ => None,
        }
    }
}

impl FromValue for DateTime<Utc> {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Time(time) => Some(*time),
            // What sqlx writes (RFC 3339), or SQLite's own `CURRENT_TIMESTAMP`.
            Value::Text(text) => DateTime::parse_from_rfc3339(text)
                .map(|t| t.with_timezone(&Utc))
                .or_else(|_| {
                    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").map(|t| t.and_utc())
                })
                .ok(),
            _ => None,
        }
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Null => Some(None),
            value => T::from_value(value).map(Some),
        }
    }
}

/// Runs statements of one read, all of them on one snapshot.
#[async_trait]
pub(crate) trait Reader: Send {
    async fn fetch_all(&mut self, query: Query) -> StoreResult<Vec<Row>>;
}

/// The named column of a query's first row; `None` when it has no row.
pub(crate) async fn first<T: FromValue>(
    reader: &mut dyn Reader,
    query: Query,
    column: &str,
) -> StoreResult<Option<T>> {
    reader
        .fetch_all(query)
        .await?
        .first()
        .map(|row| row.try_get(column))
        .transpose()
}

/// The future of a unit of read work borrowing its reader.
pub(crate) type ReadFuture<'r, T> = Pin<Box<dyn Future<Output = StoreResult<T>> + Send + 'r>>;

#[cfg(test)]
mod tests {
    use super::*;

    fn row(value: Value) -> Row {
        Row::new(Arc::from(vec!["c".to_owned()]), vec![value])
    }

    #[test]
    fn reads_sqlite_and_postgres_shapes_alike() {
        assert!(row(Value::Int(1)).try_get::<bool>("c").unwrap());
        assert!(!row(Value::Bool(false)).try_get::<bool>("c").unwrap());
        let written = row(Value::Text("2026-12-05T14:40:58.900543+00:00".to_owned()));
        let time: DateTime<Utc> = written.try_get("c").unwrap();
        assert_eq!(time.timestamp_micros() % 1_000_000, 900_543);
        let sqlite_default = row(Value::Text("2026-12-05 14:40:58".to_owned()));
        assert_eq!(
            sqlite_default.try_get::<DateTime<Utc>>("c").unwrap(),
            time - chrono::Duration::microseconds(900_543)
        );
        assert_eq!(row(Value::Null).try_get::<Option<i64>>("c").unwrap(), None);
    }

    #[test]
    fn a_missing_column_or_a_wrong_type_is_an_error_not_a_panic() {
        assert!(row(Value::Int(1)).try_get::<i64>("other").is_err());
        assert!(
            row(Value::Text("x".to_owned()))
                .try_get::<i64>("c")
                .is_err()
        );
        assert!(row(Value::Null).try_get::<String>("c").is_err());
    }
}
