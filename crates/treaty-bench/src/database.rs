//! The benchmark's own view of the database: what the data set holds, its
//! size, and the floor — the answers to can-i-deploy and
//! pacts-for-verification computed by one hand-written indexed query each,
//! which is as fast as the data allows. Treaty's timings are compared to it.
//!
//! This is deliberately not the store: it is the yardstick the store is
//! measured against, so it must not share its code.

use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{PgPool, SqlitePool};

pub enum Database {
    Sqlite { pool: SqlitePool, path: String },
    Postgres(PgPool),
}

/// Counts that say how big a data set is.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Counts {
    pub pacticipants: i64,
    pub versions: i64,
    pub pact_publications: i64,
    pub pact_contents: i64,
    pub verifications: i64,
    pub deployments: i64,
    pub bytes: u64,
}

/// Numbered placeholders for PostgreSQL from SQLite's `?`.
fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push_str(&format!("${n}"));
        } else {
            out.push(c);
        }
    }
    out
}

/// Runs one query with text parameters that returns rows of 64-bit integers
/// (NULL as -1), on either backend.
macro_rules! int_rows {
    ($db:expr, $sql:expr, $($param:expr),*) => {{
        let sql: &str = $sql;
        match $db {
            Database::Sqlite { pool, .. } => {
                let q = sqlx::query(sql)$(.bind($param))*;
                let rows = q.fetch_all(pool).await?;
                rows_to_ints(rows)
            }
            Database::Postgres(pool) => {
                // Safe: the statement is a constant; only placeholders are renumbered.
                let q = sqlx::query(sqlx::AssertSqlSafe(numbered(sql)))$(.bind($param))*;
                let rows = q.fetch_all(pool).await?;
                rows_to_ints(rows)
            }
        }
    }};
}

fn rows_to_ints<R: sqlx::Row>(rows: Vec<R>) -> Result<Vec<Vec<i64>>>
where
    usize: sqlx::ColumnIndex<R>,
    for<'r> Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    rows.iter()
        .map(|row| {
            (0..row.len())
                .map(|i| Ok(row.try_get::<Option<i64>, _>(i)?.unwrap_or(-1)))
                .collect()
        })
        .collect()
}

/// Can-i-deploy's facts for one version and environment: as a consumer, its
/// pacts and the latest result of each by the provider version deployed
/// there; as a provider, the pacts of the consumers deployed there and its
/// latest result for each. One row per pact; -1 where nothing is deployed or
/// nothing was verified.
const CAN_I_DEPLOY: &str = "
SELECT pp.provider_id, cd.version_id,
       CAST((SELECT CASE WHEN v.success THEN 1 ELSE 0 END FROM verifications v
             WHERE v.pact_content_id = pp.pact_content_id AND v.provider_version_id = cd.version_id
             ORDER BY v.id DESC LIMIT 1) AS BIGINT)
FROM pacticipants c
JOIN versions cv ON cv.pacticipant_id = c.id AND cv.number = ?
JOIN pact_publications pp ON pp.consumer_version_id = cv.id
LEFT JOIN currently_deployed cd ON cd.pacticipant_id = pp.provider_id
     AND cd.environment_id = (SELECT id FROM environments WHERE name = ?)
WHERE c.name = ?
UNION ALL
SELECT cd.pacticipant_id, cd.version_id,
       CAST((SELECT CASE WHEN v.success THEN 1 ELSE 0 END FROM verifications v
             WHERE v.pact_content_id = pp.pact_content_id AND v.provider_version_id = pv.id
             ORDER BY v.id DESC LIMIT 1) AS BIGINT)
FROM pacticipants p
JOIN versions pv ON pv.pacticipant_id = p.id AND pv.number = ?
JOIN currently_deployed cd ON cd.environment_id = (SELECT id FROM environments WHERE name = ?)
JOIN pact_publications pp ON pp.consumer_version_id = cd.version_id AND pp.provider_id = p.id
WHERE p.name = ?";

/// Pacts-for-verification's answer for `{mainBranch: true}` and
/// `{deployedOrReleased: true}`: the pact contents of each consumer's latest
/// main version with a pact with the provider, and of the versions deployed
/// or released anywhere.
const FOR_VERIFICATION: &str = "
SELECT DISTINCT pp.pact_content_id
FROM pact_publications pp
WHERE pp.provider_id = (SELECT id FROM pacticipants WHERE name = ?)
  AND (pp.consumer_version_id IN (
         SELECT MAX(pp2.consumer_version_id) FROM pact_publications pp2
         JOIN branch_versions bv ON bv.version_id = pp2.consumer_version_id
         JOIN branches b ON b.id = bv.branch_id
         JOIN pacticipants c ON c.id = b.pacticipant_id AND b.name = c.main_branch
         WHERE pp2.provider_id = (SELECT id FROM pacticipants WHERE name = ?)
         GROUP BY pp2.consumer_id)
    OR pp.consumer_version_id IN (SELECT version_id FROM currently_deployed)
    OR pp.consumer_version_id IN (SELECT version_id FROM released_versions WHERE support_ended_at IS NULL))";

impl Database {
    pub async fn open(url: &str) -> Result<Self> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            let options: SqliteConnectOptions = url.parse()?;
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(options.read_only(true))
                .await?;
            Ok(Self::Sqlite {
                pool,
                path: path.split('?').next().unwrap_or(path).to_owned(),
            })
        } else if url.starts_with("postgres") {
            Ok(Self::Postgres(
                PgPoolOptions::new().max_connections(1).connect(url).await?,
            ))
        } else {
            Err(anyhow!(
                "a database URL starts with sqlite:// or postgres://"
            ))
        }
    }

    pub async fn counts(&self) -> Result<Counts> {
        let rows = int_rows!(
            self,
            "SELECT (SELECT COUNT(*) FROM pacticipants), (SELECT COUNT(*) FROM versions),
                    (SELECT COUNT(*) FROM pact_publications), (SELECT COUNT(*) FROM pact_contents),
                    (SELECT COUNT(*) FROM verifications), (SELECT COUNT(*) FROM deployed_versions)",
        )?;
        let row = rows.first().ok_or_else(|| anyhow!("no counts"))?;
        Ok(Counts {
            pacticipants: row[0],
            versions: row[1],
            pact_publications: row[2],
            pact_contents: row[3],
            verifications: row[4],
            deployments: row[5],
            bytes: self.bytes().await?,
        })
    }

    /// The database's size on disk: the SQLite file and its write-ahead log,
    /// or PostgreSQL's own figure for the database.
    async fn bytes(&self) -> Result<u64> {
        match self {
            Database::Sqlite { path, .. } => {
                let size = |p: &str| std::fs::metadata(p).map_or(0, |m| m.len());
                Ok(size(path) + size(&format!("{path}-wal")))
            }
            Database::Postgres(pool) => {
                let bytes: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
                    .fetch_one(pool)
                    .await?;
                Ok(bytes.max(0) as u64)
            }
        }
    }

    /// The latest version on `main` of an application.
    pub async fn latest_main(&self, application: &str) -> Result<String> {
        self.main_version(application, 0).await
    }

    /// The version before the latest on `main`.
    pub async fn previous_main(&self, application: &str) -> Result<String> {
        self.main_version(application, 1).await
    }

    /// The version `back` places before the newest added to `main`.
    async fn main_version(&self, application: &str, back: u32) -> Result<String> {
        let sql = format!(
            "SELECT v.number FROM branch_versions bv JOIN branches b ON b.id = bv.branch_id
             JOIN pacticipants p ON p.id = b.pacticipant_id JOIN versions v ON v.id = bv.version_id
             WHERE p.name = ? AND b.name = 'main' ORDER BY bv.id DESC LIMIT 1 OFFSET {back}"
        );
        // Safe: a constant statement with a number in it; only placeholders are renumbered.
        let number: Option<String> = match self {
            Database::Sqlite { pool, .. } => {
                sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                    .bind(application)
                    .fetch_optional(pool)
                    .await?
            }
            Database::Postgres(pool) => {
                sqlx::query_scalar(sqlx::AssertSqlSafe(numbered(&sql)))
                    .bind(application)
                    .fetch_optional(pool)
                    .await?
            }
        };
        number.ok_or_else(|| {
            let wanted = if back == 0 { "a version" } else { "enough versions" };
            anyhow!("{application} has not {wanted} on main: seed the database with `treaty bench seed` first")
        })
    }

    /// Can-i-deploy's facts (see [`CAN_I_DEPLOY`]).
    pub async fn can_i_deploy_floor(
        &self,
        application: &str,
        version: &str,
        environment: &str,
    ) -> Result<Vec<Vec<i64>>> {
        int_rows!(
            self,
            CAN_I_DEPLOY,
            version,
            environment,
            application,
            version,
            environment,
            application
        )
    }

    /// Pacts-for-verification's pact contents (see [`FOR_VERIFICATION`]).
    pub async fn for_verification_floor(&self, provider: &str) -> Result<Vec<Vec<i64>>> {
        int_rows!(self, FOR_VERIFICATION, provider, provider)
    }

    /// Times `iterations` runs of a floor query.
    pub async fn time<F, Fut>(&self, iterations: usize, mut query: F) -> Result<Vec<Duration>>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<Vec<Vec<i64>>>>,
    {
        let mut timings = Vec::with_capacity(iterations);
        for _ in 0..iterations {
            let started = Instant::now();
            let rows = query().await?;
            timings.push(started.elapsed());
            std::hint::black_box(rows);
        }
        Ok(timings)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_are_numbered_for_postgres() {
        assert_eq!(
            super::numbered("a = ? AND b = ?"),
            "a = $1 AND b = $2".to_owned()
        );
    }
}
