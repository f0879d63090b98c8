//! Treaty's storage: narrow, domain-shaped traits, and their implementations.
//!
//! Handlers talk to a [`Store`] and never write SQL. Each method is one domain
//! operation and one transaction: a write either lands whole or not at all.

mod error;
pub mod sqlite;
mod traits;

pub use error::{StoreError, StoreResult};
pub use traits::*;

use std::sync::Arc;

/// Opens the store named by a database URL (`sqlite://path`), applying migrations.
pub async fn open(database_url: &str, options: OpenOptions) -> StoreResult<Arc<dyn Store>> {
    match database_url.split_once("://").map(|(scheme, _)| scheme) {
        Some("sqlite") => Ok(Arc::new(
            sqlite::SqliteStore::open(database_url, options).await?,
        )),
        Some("postgres" | "postgresql") => Err(StoreError::Unsupported(
            "PostgreSQL support is not built yet: use a sqlite:// database URL".to_owned(),
        )),
        _ => Err(StoreError::Unsupported(format!(
            "unknown database URL scheme in '{}': use sqlite://PATH",
            redact_url(database_url)
        ))),
    }
}

/// How to open a store.
#[derive(Debug, Clone, Copy)]
pub struct OpenOptions {
    /// Apply pending migrations on open.
    pub migrate: bool,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self { migrate: true }
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
