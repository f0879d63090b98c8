//! Fresh databases for tests: a SQLite file in a temporary folder, or, when
//! `TREATY_TEST_POSTGRES_URL` names a PostgreSQL server, a new database on it.
//! `scripts/test` runs the whole suite once each way.

use std::sync::Arc;

use crate::{OpenOptions, Store, StoreResult};

/// The variable that selects PostgreSQL for the test suite.
pub const POSTGRES_URL_VARIABLE: &str = "TREATY_TEST_POSTGRES_URL";

/// A database that exists for one test.
pub struct TestDatabase {
    pub url: String,
    pub store: Arc<dyn Store>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDatabase {
    /// A new, migrated, empty database.
    pub async fn fresh() -> StoreResult<Self> {
        Self::fresh_with(OpenOptions::default()).await
    }

    /// A new database opened with `options` (say, without migrations).
    pub async fn fresh_with(options: OpenOptions) -> StoreResult<Self> {
        match std::env::var(POSTGRES_URL_VARIABLE) {
            Ok(server) if !server.is_empty() => Self::fresh_postgres(&server, options).await,
            _ => Self::fresh_sqlite(options).await,
        }
    }

    async fn fresh_sqlite(options: OpenOptions) -> StoreResult<Self> {
        let dir = tempfile::tempdir().map_err(|e| crate::StoreError::Unsupported(e.to_string()))?;
        let url = format!("sqlite://{}", dir.path().join("treaty.db").display());
        let store = crate::open(&url, options).await?;
        Ok(Self {
            url,
            store,
            _dir: Some(dir),
        })
    }

    async fn fresh_postgres(server: &str, options: OpenOptions) -> StoreResult<Self> {
        use sqlx::Connection;
        let name = format!("treaty_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect(server).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await?;
        admin.close().await?;
        let mut url = url::Url::parse(server).map_err(|e| {
            crate::StoreError::Unsupported(format!("bad {POSTGRES_URL_VARIABLE}: {e}"))
        })?;
        url.set_path(&name);
        let url = url.to_string();
        let store = crate::open(
            &url,
            OpenOptions {
                max_connections: Some(4),
                ..options
            },
        )
        .await?;
        Ok(Self {
            url,
            store,
            _dir: None,
        })
    }

    /// Which backend the suite runs on, for test names and messages.
    pub fn backend() -> &'static str {
        match std::env::var(POSTGRES_URL_VARIABLE) {
            Ok(server) if !server.is_empty() => "postgres",
            _ => "sqlite",
        }
    }
}
