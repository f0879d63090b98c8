//! Treaty's storage: narrow, domain-shaped traits, and their implementations.
//!
//! Handlers talk to a [`Store`] and never write SQL. Each method is one domain
//! operation and one transaction: a write either lands whole or not at all.

// `sql/` is included once per backend on purpose: one SQL text, two backends.
#![allow(
    clippy::duplicate_mod,
    reason = "sql/ is compiled once for each backend, with that backend's types"
)]

pub mod audit;
mod error;
pub mod export_file;
mod move_in;
pub mod postgres;
pub(crate) mod read;
pub mod sqlite;
mod sqlite_reads;
mod sqlite_writes;
#[cfg(feature = "testing")]
pub mod testing;
mod traits;

pub use error::{StoreError, StoreResult};
pub use move_in::*;
pub use traits::*;

use std::sync::Arc;

/// Opens the store named by a database URL (`sqlite://path`), applying migrations.
pub async fn open(database_url: &str, options: OpenOptions) -> StoreResult<Arc<dyn Store>> {
    match database_url.split_once("://").map(|(scheme, _)| scheme) {
        Some("sqlite") => Ok(Arc::new(
            sqlite::SqliteStore::open(database_url, options).await?,
        )),
        Some("postgres" | "postgresql") => Ok(Arc::new(
            postgres::PostgresStore::open(database_url, options).await?,
        )),
        _ => Err(StoreError::Unsupported(format!(
            "unknown database URL scheme in '{}': use sqlite://PATH or postgres://USER@HOST/DATABASE",
            redact_url(database_url)
        ))),
    }
}

/// How to open a store.
#[derive(Debug, Clone, Copy)]
pub struct OpenOptions {
    /// Apply pending migrations on open.
    pub migrate: bool,
    /// Connections in the (read) pool; the backend's default when `None`.
    pub max_connections: Option<u32>,
    /// The longest a statement may run before the database cancels it (PostgreSQL).
    pub statement_timeout: Option<std::time::Duration>,
    /// Loading a disposable data set (`treaty bench seed`): on SQLite, commits
    /// are not flushed to disk one by one (`synchronous = NORMAL`), so a power
    /// loss may lose the last ones. Never for a server.
    pub bulk_load: bool,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self {
            migrate: true,
            max_connections: None,
            statement_timeout: None,
            bulk_load: false,
        }
    }
}

/// The migrations a database would still get, for `treaty migrate --dry-run`.
pub async fn pending_migrations(database_url: &str) -> StoreResult<Vec<(i64, String)>> {
    match database_url.split_once("://").map(|(scheme, _)| scheme) {
        Some("postgres" | "postgresql") => {
            postgres::PostgresStore::pending_migrations(database_url).await
        }
        _ => sqlite::SqliteStore::pending_migrations(database_url).await,
    }
}

/// A database URL with any password replaced, for logs and error messages.
pub fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("********"));
            parsed.to_string()
        }
        Ok(_) => raw.to_owned(),
        Err(_) => "<unparseable database URL>".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_passwords_in_database_urls() {
        assert_eq!(
            super::redact_url("postgres://treaty:s3cret@db:5432/treaty"),
            "postgres://treaty:********@db:5432/treaty"
        );
        assert_eq!(super::redact_url("sqlite://x.db"), "sqlite://x.db");
    }
}
