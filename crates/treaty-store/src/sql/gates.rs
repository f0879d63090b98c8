//! Deployment gates: environments' policies, and the history of a version
//! the rules look at.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::Row;
use treaty_domain::gates::{Failure, OpenIncident, Stay};

use super::{Backend, Conn, now, sql};
use crate::{GateHistory, GateStore, StoreError, StoreResult};

async fn environment_id(conn: &mut Conn, environment: &str) -> StoreResult<i64> {
    sqlx::query_scalar(sql("SELECT id FROM environments WHERE name = ?"))
        .bind(environment)
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("No environment named '{environment}' found")))
}

#[async_trait]
impl GateStore for Backend {
    async fn environment_policies(&self, environment: &str) -> StoreResult<Option<Value>> {
        let mut conn = self.reader().acquire().await?;
        let id = environment_id(&mut conn, environment).await?;
        let rules: Option<String> = sqlx::query_scalar(sql(
            "SELECT rules FROM environment_policies WHERE environment_id = ?",
        ))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
        rules
            .map(|text| {
                serde_json::from_str(&text)
                    .map_err(|e| StoreError::Corrupt(format!("stored policy is not JSON: {e}")))
            })
            .transpose()
    }

    async fn set_environment_policies(
        &self,
        environment: &str,
        rules: Option<&Value>,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let id = environment_id(&mut tx, environment).await?;
        match rules {
            Some(rules) => {
                sqlx::query(sql(
                    "INSERT INTO environment_policies (environment_id, rules, updated_at) VALUES (?, ?, ?)
                     ON CONFLICT (environment_id) DO UPDATE SET rules = excluded.rules, updated_at = excluded.updated_at",
                ))
                .bind(id)
                .bind(rules.to_string())
                .bind(now())
                .execute(&mut *tx)
                .await?;
            }
            None => {
                sqlx::query(sql(
                    "DELETE FROM environment_policies WHERE environment_id = ?",
                ))
                .bind(id)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn gate_history(&self, pacticipant: &str, version: &str) -> StoreResult<GateHistory> {
        let mut tx = self.snapshot().await?;
        let version_id: Option<i64> = sqlx::query_scalar(sql(
            "SELECT v.id FROM versions v JOIN pacticipants p ON p.id = v.pacticipant_id WHERE p.name = ? AND v.number = ?",
        ))
        .bind(pacticipant)
        .bind(version)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(version_id) = version_id else {
            return Ok(GateHistory::default());
        };
        let stays = sqlx::query(sql(
            "SELECT e.name AS environment, dv.created_at AS since, dv.undeployed_at AS until
             FROM deployed_versions dv JOIN environments e ON e.id = dv.environment_id
             WHERE dv.version_id = ? ORDER BY dv.id",
        ))
        .bind(version_id)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|row| {
            Ok(Stay {
                environment: row.try_get("environment")?,
                since: row.try_get("since")?,
                until: row.try_get("until")?,
            })
        })
        .collect::<StoreResult<_>>()?;
        let failures = sqlx::query(sql(
            "SELECT e.name AS environment, coalesce(d.finished_at, d.updated_at) AS at
             FROM deployments d JOIN environments e ON e.id = d.environment_id
             WHERE d.version_id = ? AND d.status = 'failed' ORDER BY d.id",
        ))
        .bind(version_id)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|row| {
            Ok(Failure {
                environment: row.try_get("environment")?,
                at: row.try_get::<DateTime<Utc>, _>("at")?,
            })
        })
        .collect::<StoreResult<_>>()?;
        let open_incidents = sqlx::query(sql(
            "SELECT e.name AS environment, i.title, i.opened_at
             FROM incidents i JOIN deployments d ON d.id = i.deployment_id JOIN environments e ON e.id = d.environment_id
             WHERE d.version_id = ? AND i.resolved_at IS NULL ORDER BY i.id",
        ))
        .bind(version_id)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|row| {
            Ok(OpenIncident {
                environment: row.try_get("environment")?,
                title: row.try_get("title")?,
                opened_at: row.try_get("opened_at")?,
            })
        })
        .collect::<StoreResult<_>>()?;
        tx.commit().await?;
        Ok(GateHistory {
            stays,
            failures,
            open_incidents,
        })
    }
}
