//! Deployment gates: environments' policies, and the history of a version
//! the rules look at.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::Row;
use treaty_domain::gates::{self, EnvironmentPolicy, Failure, FreezeChange, OpenIncident};
use treaty_domain::release::{self, PactFact, VerificationFact};

use super::{Backend, Conn, now, sql, webhooks};
use crate::{GateHistory, GateStore, StoreError, StoreResult};

async fn environment_id(conn: &mut Conn, environment: &str) -> StoreResult<i64> {
    sqlx::query_scalar(sql("SELECT id FROM environments WHERE name = ?"))
        .bind(environment)
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("No environment named '{environment}' found")))
}

/// A stored policy as the rules it holds; one that no longer reads (written
/// by another version) counts as no policy, so a write is never refused for it.
fn stored_policy(rules: Option<&Value>) -> Option<EnvironmentPolicy> {
    rules.and_then(|rules| gates::parse_environment_policy(rules).ok())
}

/// Enqueues `environment_frozen` or `environment_unfrozen` when the write
/// started or ended the freeze in force, within the write's transaction.
async fn announce_freeze_change(
    conn: &mut Conn,
    environment: &str,
    before: Option<&str>,
    after: Option<&Value>,
    by: Option<&str>,
) -> StoreResult<()> {
    let at = now();
    let before = before.and_then(|text| serde_json::from_str::<Value>(text).ok());
    let change = gates::freeze_change(
        stored_policy(before.as_ref()).as_ref(),
        stored_policy(after).as_ref(),
        at,
    );
    let (event, freeze) = match change {
        None => return Ok(()),
        Some(FreezeChange::Frozen(freeze)) => ("environment_frozen", freeze),
        Some(FreezeChange::Unfrozen(freeze)) => ("environment_unfrozen", freeze),
    };
    let mut context = std::collections::BTreeMap::new();
    let mut put = |key: &str, value: String| {
        context.insert(key.to_owned(), value);
    };
    put("environment", environment.to_owned());
    put("reason", freeze.reason);
    put(
        "until",
        freeze
            .until
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    );
    put("mode", freeze.mode.as_str().to_owned());
    put("changedBy", by.unwrap_or_default().to_owned());
    put(
        "changedByText",
        by.map(|by| format!(" by {by}")).unwrap_or_default(),
    );
    put(
        "environmentUrl",
        format!(
            "{}/ui/environments/{}",
            treaty_domain::webhooks::BASE_MARKER,
            treaty_domain::url_path::segment(environment)
        ),
    );
    webhooks::enqueue(conn, event, webhooks::Scope::Everyone, &context, at).await?;
    Ok(())
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
        by: Option<&str>,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let id = environment_id(&mut tx, environment).await?;
        let before: Option<String> = sqlx::query_scalar(sql(
            "SELECT rules FROM environment_policies WHERE environment_id = ?",
        ))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
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
        announce_freeze_change(&mut tx, environment, before.as_deref(), rules, by).await?;
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
        // Where it ran, from the ledger (whichever API recorded it).
        let stays = super::ledger::stays_of_version(&mut tx, version_id).await?;
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

    async fn release_plan_facts(
        &self,
        environment: &str,
        planned: &[(String, String)],
    ) -> StoreResult<release::Facts> {
        let mut tx = self.snapshot().await?;
        let environment_id = environment_id(&mut tx, environment).await?;
        let current: Vec<(String, String, i64)> = sqlx::query_as(sql(
            "SELECT p.name, v.number, v.id FROM currently_deployed cd
             JOIN pacticipants p ON p.id = cd.pacticipant_id JOIN versions v ON v.id = cd.version_id
             WHERE cd.environment_id = ? ORDER BY p.name, v.id",
        ))
        .bind(environment_id)
        .fetch_all(&mut *tx)
        .await?;
        let mut version_ids: Vec<i64> = current.iter().map(|(_, _, id)| *id).collect();
        for (pacticipant, number) in planned {
            let id: Option<i64> = sqlx::query_scalar(sql(
                "SELECT v.id FROM versions v JOIN pacticipants p ON p.id = v.pacticipant_id WHERE p.name = ? AND v.number = ?",
            ))
            .bind(pacticipant)
            .bind(number)
            .fetch_optional(&mut *tx)
            .await?;
            version_ids.push(id.ok_or_else(|| {
                StoreError::NotFound(format!(
                    "No version {number} of {pacticipant} found: publish its pacts (or create the version) first"
                ))
            })?);
        }
        version_ids.sort_unstable();
        version_ids.dedup();
        let mut pacts = Vec::new();
        let mut contents = Vec::new();
        for version_id in version_ids {
            let rows = sqlx::query(sql(
                "SELECT c.name AS consumer, cv.number AS consumer_version, pr.name AS provider, pc.sha, pc.id AS content_id
                 FROM pact_publications pp
                 JOIN pact_contents pc ON pc.id = pp.pact_content_id
                 JOIN pacticipants c ON c.id = pp.consumer_id
                 JOIN pacticipants pr ON pr.id = pp.provider_id
                 JOIN versions cv ON cv.id = pp.consumer_version_id
                 WHERE pp.consumer_version_id = ? ORDER BY pr.name",
            ))
            .bind(version_id)
            .fetch_all(&mut *tx)
            .await?;
            for row in &rows {
                pacts.push(PactFact {
                    consumer: row.try_get("consumer")?,
                    consumer_version: row.try_get("consumer_version")?,
                    provider: row.try_get("provider")?,
                    sha: row.try_get("sha")?,
                });
                contents.push(row.try_get::<i64, _>("content_id")?);
            }
        }
        contents.sort_unstable();
        contents.dedup();
        let mut verifications = Vec::new();
        for content_id in contents {
            let rows = sqlx::query(sql(
                "SELECT pc.sha, pr.name AS provider, pv.number AS provider_version, vf.success
                 FROM verifications vf
                 JOIN pact_contents pc ON pc.id = vf.pact_content_id
                 JOIN pacticipants pr ON pr.id = vf.provider_id
                 JOIN versions pv ON pv.id = vf.provider_version_id
                 WHERE vf.pact_content_id = ? ORDER BY vf.id",
            ))
            .bind(content_id)
            .fetch_all(&mut *tx)
            .await?;
            for row in &rows {
                verifications.push(VerificationFact {
                    sha: row.try_get("sha")?,
                    provider: row.try_get("provider")?,
                    provider_version: row.try_get("provider_version")?,
                    success: row.try_get("success")?,
                });
            }
        }
        tx.commit().await?;
        Ok(release::Facts {
            current: current.into_iter().map(|(p, v, _)| (p, v)).collect(),
            pacts,
            verifications,
        })
    }
}
