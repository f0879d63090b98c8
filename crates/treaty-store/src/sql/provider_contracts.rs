//! Bi-directional contracts: provider contracts, the comparisons of pacts
//! with them (kept once per pair of contents), and the comparisons still to
//! compute, queued inside the transaction of the publication that needs
//! them and claimed by one worker of one replica at a time, as webhook
//! deliveries are.

use std::collections::BTreeSet;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use treaty_domain::provider_contracts::{
    ComparisonOutcome, ComparisonReport, ComparisonWork, ProviderContractOutcome,
    ProviderContractPublication, SelfVerification, StoredProviderContract,
};

use super::versions::publishing_version;
use super::webhooks;
use super::{Backend, Conn, DbRow, now, sql};
use crate::{ProviderContractStore, StoreError, StoreResult};
use treaty_domain::BranchName;

/// The versions of a pacticipant can-i-deploy asks about most: the head of
/// its main branch and the versions deployed or released (still supported)
/// anywhere. `?` is the pacticipant's id, three times.
const RELEVANT_VERSIONS: &str = "SELECT b.head_version_id FROM branches b JOIN pacticipants p ON p.id = b.pacticipant_id
       WHERE b.pacticipant_id = ? AND b.name = p.main_branch AND b.head_version_id IS NOT NULL
     UNION SELECT cd.version_id FROM currently_deployed cd WHERE cd.pacticipant_id = ?
     UNION SELECT rv.version_id FROM released_versions rv WHERE rv.pacticipant_id = ? AND rv.support_ended_at IS NULL";

const CONTRACT_SELECT: &str = "SELECT pr.name AS provider, v.number AS version, pcc.sha, pcc.content, pcc.content_type, pcc.specification,
       c.self_verification_success, c.self_verification_content, c.self_verification_content_type,
       c.self_verification_format, c.verifier, c.verifier_version, c.build_url, c.created_at
     FROM provider_contracts c
     JOIN provider_contract_contents pcc ON pcc.id = c.content_id
     JOIN pacticipants pr ON pr.id = c.provider_id
     JOIN versions v ON v.id = c.provider_version_id";

fn contract_from_row(row: &DbRow) -> StoreResult<StoredProviderContract> {
    Ok(StoredProviderContract {
        provider: row.try_get("provider")?,
        version: row.try_get("version")?,
        sha: row.try_get("sha")?,
        content: row.try_get("content")?,
        content_type: row.try_get("content_type")?,
        specification: row.try_get("specification")?,
        self_verification: SelfVerification {
            success: row.try_get("self_verification_success")?,
            content: row.try_get("self_verification_content")?,
            content_type: row.try_get("self_verification_content_type")?,
            format: row.try_get("self_verification_format")?,
            verifier: row.try_get("verifier")?,
            verifier_version: row.try_get("verifier_version")?,
        },
        build_url: row.try_get("build_url")?,
        created_at: row.try_get("created_at")?,
    })
}

/// Queues the comparisons between a provider's contracts and its consumers'
/// pacts that can-i-deploy will ask about: the provider's relevant versions
/// (and `provider_version`) against the pacts of its consumers' relevant
/// versions (and `consumer_version`). Pairs already compared or queued are
/// skipped, so this costs nothing for content seen before. Within the
/// caller's transaction: the publication and its work land together.
pub(crate) async fn queue_comparisons(
    conn: &mut Conn,
    provider_id: i64,
    provider_version: Option<i64>,
    consumer_version: Option<i64>,
    at: DateTime<Utc>,
) -> StoreResult<usize> {
    let contract_shas: Vec<String> = sqlx::query_scalar(sql(format!(
        "SELECT DISTINCT pcc.sha FROM provider_contracts c JOIN provider_contract_contents pcc ON pcc.id = c.content_id
         WHERE c.provider_id = ? AND (c.provider_version_id = ? OR c.provider_version_id IN ({RELEVANT_VERSIONS}))"
    )))
    .bind(provider_id)
    .bind(provider_version.unwrap_or(-1))
    .bind(provider_id)
    .bind(provider_id)
    .bind(provider_id)
    .fetch_all(&mut *conn)
    .await?;
    if contract_shas.is_empty() {
        return Ok(0);
    }
    // Each consumer's relevant versions: the statement runs per consumer,
    // as few as a provider has.
    let consumers: Vec<i64> = sqlx::query_scalar(sql(
        "SELECT consumer_id FROM integrations WHERE provider_id = ?",
    ))
    .bind(provider_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut pact_shas = BTreeSet::new();
    for consumer_id in consumers {
        let shas: Vec<String> = sqlx::query_scalar(sql(format!(
            "SELECT DISTINCT pc.sha FROM pact_publications pp JOIN pact_contents pc ON pc.id = pp.pact_content_id
             WHERE pp.provider_id = ? AND pp.consumer_id = ?
               AND (pp.consumer_version_id = ? OR pp.consumer_version_id IN ({RELEVANT_VERSIONS}))"
        )))
        .bind(provider_id)
        .bind(consumer_id)
        .bind(consumer_version.unwrap_or(-1))
        .bind(consumer_id)
        .bind(consumer_id)
        .bind(consumer_id)
        .fetch_all(&mut *conn)
        .await?;
        pact_shas.extend(shas);
    }
    let mut queued = 0;
    for pact_sha in &pact_shas {
        for contract_sha in &contract_shas {
            queued += sqlx::query(sql(
                "INSERT INTO comparison_work (pact_sha, contract_sha, created_at)
                 SELECT ?, ?, ? WHERE NOT EXISTS
                   (SELECT 1 FROM contract_comparisons WHERE pact_sha = ? AND contract_sha = ?)
                 ON CONFLICT (pact_sha, contract_sha) DO NOTHING",
            ))
            .bind(pact_sha)
            .bind(contract_sha)
            .bind(at)
            .bind(pact_sha)
            .bind(contract_sha)
            .execute(&mut *conn)
            .await?
            .rows_affected() as usize;
        }
    }
    Ok(queued)
}

async fn store_content(
    conn: &mut Conn,
    publication: &ProviderContractPublication,
    at: DateTime<Utc>,
) -> StoreResult<i64> {
    let sha = publication.sha();
    if let Some(id) = sqlx::query_scalar(sql(
        "SELECT id FROM provider_contract_contents WHERE sha = ?",
    ))
    .bind(&sha)
    .fetch_optional(&mut *conn)
    .await?
    {
        return Ok(id);
    }
    Ok(sqlx::query_scalar(sql(
        "INSERT INTO provider_contract_contents (sha, content, content_type, specification, created_at)
         VALUES (?, ?, ?, ?, ?) RETURNING id",
    ))
    .bind(sha)
    .bind(&publication.content)
    .bind(&publication.content_type)
    .bind(&publication.specification)
    .bind(at)
    .fetch_one(conn)
    .await?)
}

#[async_trait]
impl ProviderContractStore for Backend {
    async fn publish_provider_contract(
        &self,
        publication: &ProviderContractPublication,
    ) -> StoreResult<ProviderContractOutcome> {
        let at = now();
        let mut tx = self.begin().await?;
        let provider = publication.provider.as_str();
        let (provider_id, version_id, version_created) = publishing_version(
            &mut tx,
            provider,
            publication.version.as_str(),
            publication.build_url.as_deref(),
            publication.branch.as_ref().map(BranchName::as_str),
            &publication.tags,
            at,
        )
        .await?;
        let content_id = store_content(&mut tx, publication, at).await?;
        let verification = &publication.self_verification;
        sqlx::query(sql(
            "INSERT INTO provider_contracts (provider_id, provider_version_id, content_id, self_verification_success,
               self_verification_content, self_verification_content_type, self_verification_format, verifier,
               verifier_version, build_url, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (provider_version_id) DO UPDATE SET content_id = excluded.content_id,
               self_verification_success = excluded.self_verification_success,
               self_verification_content = excluded.self_verification_content,
               self_verification_content_type = excluded.self_verification_content_type,
               self_verification_format = excluded.self_verification_format,
               verifier = excluded.verifier, verifier_version = excluded.verifier_version,
               build_url = excluded.build_url, updated_at = excluded.updated_at",
        ))
        .bind(provider_id)
        .bind(version_id)
        .bind(content_id)
        .bind(verification.success)
        .bind(&verification.content)
        .bind(&verification.content_type)
        .bind(&verification.format)
        .bind(&verification.verifier)
        .bind(&verification.verifier_version)
        .bind(&publication.build_url)
        .bind(at)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        let comparisons_queued =
            queue_comparisons(&mut tx, provider_id, Some(version_id), None, at).await?;
        const PUBLISHED: &str = "provider_contract_published";
        if webhooks::anyone_listens(&mut tx, PUBLISHED).await? {
            let mut context = std::collections::BTreeMap::new();
            context.insert("providerName".to_owned(), provider.to_owned());
            context.insert(
                "providerVersionNumber".to_owned(),
                publication.version.as_str().to_owned(),
            );
            context.insert(
                "providerVersionBranch".to_owned(),
                publication
                    .branch
                    .as_ref()
                    .map(|b| b.as_str().to_owned())
                    .unwrap_or_default(),
            );
            context.insert(
                "buildUrl".to_owned(),
                publication.build_url.clone().unwrap_or_default(),
            );
            webhooks::enqueue(
                &mut tx,
                PUBLISHED,
                webhooks::Scope::Pacticipant(provider_id),
                &context,
                at,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(ProviderContractOutcome {
            version_created,
            comparisons_queued,
        })
    }

    async fn provider_contract(
        &self,
        provider: &str,
        version: &str,
    ) -> StoreResult<Option<StoredProviderContract>> {
        let row = sqlx::query(sql(format!(
            "{CONTRACT_SELECT} WHERE pr.name = ? AND v.number = ?"
        )))
        .bind(provider)
        .bind(version)
        .fetch_optional(self.reader())
        .await?;
        row.as_ref().map(contract_from_row).transpose()
    }

    async fn comparison_report(
        &self,
        provider: &str,
        provider_version: &str,
        consumer: &str,
        consumer_version: &str,
    ) -> StoreResult<Option<ComparisonReport>> {
        let Some(contract) = self.provider_contract(provider, provider_version).await? else {
            return Ok(None);
        };
        let pact_sha: Option<String> =
            sqlx::query_scalar(sql("SELECT pc.sha FROM pact_publications pp
             JOIN pact_contents pc ON pc.id = pp.pact_content_id
             JOIN pacticipants c ON c.id = pp.consumer_id
             JOIN pacticipants pr ON pr.id = pp.provider_id
             JOIN versions v ON v.id = pp.consumer_version_id AND v.pacticipant_id = c.id
             WHERE pr.name = ? AND c.name = ? AND v.number = ?"))
            .bind(provider)
            .bind(consumer)
            .bind(consumer_version)
            .fetch_optional(self.reader())
            .await?;
        let Some(pact_sha) = pact_sha else {
            return Ok(None);
        };
        let outcome = sqlx::query(sql(
            "SELECT success, findings, created_at FROM contract_comparisons WHERE pact_sha = ? AND contract_sha = ?",
        ))
        .bind(&pact_sha)
        .bind(&contract.sha)
        .fetch_optional(self.reader())
        .await?
        .map(|row| -> StoreResult<ComparisonOutcome> {
            let findings: String = row.try_get("findings")?;
            Ok(ComparisonOutcome {
                success: row.try_get("success")?,
                findings: serde_json::from_str(&findings)
                    .map_err(|e| StoreError::Corrupt(format!("stored findings are not JSON: {e}")))?,
                compared_at: row.try_get("created_at")?,
            })
        })
        .transpose()?;
        Ok(Some(ComparisonReport {
            consumer: consumer.to_owned(),
            consumer_version: consumer_version.to_owned(),
            provider: provider.to_owned(),
            provider_version: provider_version.to_owned(),
            pact_sha,
            contract,
            outcome,
        }))
    }

    async fn claim_comparison(
        &self,
        lease: std::time::Duration,
    ) -> StoreResult<Option<ComparisonWork>> {
        let at = now();
        let until = at + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::minutes(5));
        // Idle workers poll often: look first without the write lock.
        let due: Option<i64> = sqlx::query_scalar(sql(
            "SELECT id FROM comparison_work WHERE claimed_until IS NULL OR claimed_until < ? LIMIT 1",
        ))
        .bind(at)
        .fetch_optional(self.reader())
        .await?;
        if due.is_none() {
            return Ok(None);
        }
        let mut tx = self.begin_unaudited().await?;
        let row = sqlx::query(sql("SELECT id, pact_sha, contract_sha FROM comparison_work
             WHERE claimed_until IS NULL OR claimed_until < ? ORDER BY id LIMIT 1"))
        .bind(at)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            tx.commit().await?;
            return Ok(None);
        };
        let id: i64 = row.try_get("id")?;
        let pact_sha: String = row.try_get("pact_sha")?;
        let contract_sha: String = row.try_get("contract_sha")?;
        sqlx::query(sql(
            "UPDATE comparison_work SET claimed_until = ? WHERE id = ?",
        ))
        .bind(until)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        // The contents are read outside the claim: they never change.
        let pact: Option<String> = sqlx::query_scalar(sql(
            "SELECT content FROM pact_contents WHERE sha = ? LIMIT 1",
        ))
        .bind(&pact_sha)
        .fetch_optional(self.reader())
        .await?;
        let contract = sqlx::query(sql(
            "SELECT content, content_type FROM provider_contract_contents WHERE sha = ?",
        ))
        .bind(&contract_sha)
        .fetch_optional(self.reader())
        .await?
        .map(|row| -> StoreResult<(String, String)> {
            Ok((row.try_get("content")?, row.try_get("content_type")?))
        })
        .transpose()?;
        Ok(Some(ComparisonWork {
            id,
            pact_sha,
            contract_sha,
            pact,
            contract,
        }))
    }

    async fn record_comparison(
        &self,
        work: &ComparisonWork,
        outcome: Option<(bool, &serde_json::Value)>,
    ) -> StoreResult<()> {
        let at = now();
        let mut tx = self.begin_unaudited().await?;
        if let Some((success, findings)) = outcome {
            sqlx::query(sql(
                "INSERT INTO contract_comparisons (pact_sha, contract_sha, success, findings, created_at)
                 VALUES (?, ?, ?, ?, ?) ON CONFLICT (pact_sha, contract_sha) DO NOTHING",
            ))
            .bind(&work.pact_sha)
            .bind(&work.contract_sha)
            .bind(success)
            .bind(findings.to_string())
            .bind(at)
            .execute(&mut *tx)
            .await?;
            const FAILED: &str = "provider_contract_comparison_failed";
            if !success && webhooks::anyone_listens(&mut tx, FAILED).await? {
                // One delivery per pair whose pact has this content.
                let pairs = sqlx::query(sql(
                    "SELECT DISTINCT pc.consumer_id, pc.provider_id, c.name AS consumer, p.name AS provider
                     FROM pact_contents pc JOIN pacticipants c ON c.id = pc.consumer_id
                     JOIN pacticipants p ON p.id = pc.provider_id WHERE pc.sha = ?",
                ))
                .bind(&work.pact_sha)
                .fetch_all(&mut *tx)
                .await?;
                for pair in pairs {
                    let mut context = std::collections::BTreeMap::new();
                    context.insert("consumerName".to_owned(), pair.try_get("consumer")?);
                    context.insert("providerName".to_owned(), pair.try_get("provider")?);
                    webhooks::enqueue(
                        &mut tx,
                        FAILED,
                        webhooks::Scope::Pair {
                            consumer_id: pair.try_get("consumer_id")?,
                            provider_id: pair.try_get("provider_id")?,
                        },
                        &context,
                        at,
                    )
                    .await?;
                }
            }
        }
        sqlx::query(sql("DELETE FROM comparison_work WHERE id = ?"))
            .bind(work.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn queue_missing_comparisons(&self) -> StoreResult<usize> {
        let providers: Vec<i64> =
            sqlx::query_scalar(sql("SELECT DISTINCT provider_id FROM provider_contracts"))
                .fetch_all(self.reader())
                .await?;
        let mut queued = 0;
        for provider_id in providers {
            let at = now();
            let mut tx = self.begin_unaudited().await?;
            queued += queue_comparisons(&mut tx, provider_id, None, None, at).await?;
            tx.commit().await?;
        }
        Ok(queued)
    }
}
