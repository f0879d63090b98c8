//! Counts for `/metrics`: what the broker holds, as the Pact Broker counts
//! it, and the state of the background work, for monitoring.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{Backend, sql};
use crate::{BrokerCounts, MetricsStore, OperationalGauges, PoolUse, StoreResult};

impl Backend {
    async fn count(&self, statement: &str) -> StoreResult<i64> {
        Ok(sqlx::query_scalar::<_, i64>(sql(statement))
            .fetch_one(self.reader())
            .await?)
    }

    async fn count_with(&self, statement: &str, flag: bool) -> StoreResult<i64> {
        Ok(sqlx::query_scalar::<_, i64>(sql(statement))
            .bind(flag)
            .fetch_one(self.reader())
            .await?)
    }

    async fn moment(&self, statement: &str) -> StoreResult<Option<DateTime<Utc>>> {
        Ok(sqlx::query_scalar::<_, DateTime<Utc>>(sql(statement))
            .fetch_optional(self.reader())
            .await?)
    }

    async fn pairs(&self, statement: &str) -> StoreResult<Vec<(i64, i64)>> {
        Ok(sqlx::query_as::<_, (i64, i64)>(sql(statement))
            .fetch_all(self.reader())
            .await?)
    }

    async fn by_status(&self, statement: &str) -> StoreResult<Vec<(String, i64)>> {
        Ok(sqlx::query_as::<_, (String, i64)>(sql(statement))
            .fetch_all(self.reader())
            .await?)
    }
}

#[async_trait]
impl MetricsStore for Backend {
    async fn broker_counts(&self) -> StoreResult<BrokerCounts> {
        // The latest pact of each pair: the one of its newest consumer
        // version. The pairs' newest versions first, grouped in the order of
        // the pair index, then their publications: not a lookup per
        // publication of the whole history.
        const LATEST_CONTENTS: &str = "SELECT pp.pact_content_id
            FROM (SELECT provider_id, consumer_id, max(consumer_version_id) AS newest
                  FROM pact_publications GROUP BY provider_id, consumer_id) latest
            JOIN pact_publications pp ON pp.provider_id = latest.provider_id
              AND pp.consumer_id = latest.consumer_id AND pp.consumer_version_id = latest.newest";
        let latest = self
            .pairs(&format!(
                "SELECT CAST(COALESCE(sum(interactions_count), 0) AS BIGINT),
                   CAST(COALESCE(sum(messages_count), 0) AS BIGINT)
                 FROM pact_contents WHERE id IN ({LATEST_CONTENTS})"
            ))
            .await?;
        let (latest_interactions, latest_messages) = latest.first().copied().unwrap_or((0, 0));
        Ok(BrokerCounts {
            latest_interactions,
            latest_messages,
            pacticipants: self.count("SELECT count(*) FROM pacticipants").await?,
            pacticipants_with_main_branch: self
                .count("SELECT count(*) FROM pacticipants WHERE main_branch IS NOT NULL")
                .await?,
            integrations: self
                .count("SELECT count(*) FROM (SELECT DISTINCT consumer_id, provider_id FROM pact_publications) pairs")
                .await?,
            // The Pact Broker keeps a row per revision; Treaty counts them.
            pact_publications: self
                .count("SELECT CAST(COALESCE(sum(revision), 0) AS BIGINT) FROM pact_publications")
                .await?,
            first_pact_publication: self
                .moment("SELECT created_at FROM pact_publications ORDER BY id LIMIT 1")
                .await?,
            last_pact_publication: self
                .moment("SELECT created_at FROM pact_publications ORDER BY id DESC LIMIT 1")
                .await?,
            pact_versions: self.count("SELECT count(*) FROM pact_contents").await?,
            pact_revisions: self
                .pairs("SELECT CAST(revision AS BIGINT), count(*) FROM pact_publications GROUP BY revision ORDER BY 1")
                .await?,
            verifications: self.count("SELECT count(*) FROM verifications").await?,
            successful_verifications: self
                .count_with("SELECT count(*) FROM verifications WHERE success = ?", true)
                .await?,
            failed_verifications: self
                .count_with("SELECT count(*) FROM verifications WHERE success = ?", false)
                .await?,
            // In the order of an index that covers it (migration 32).
            distinct_verifications: self
                .count("SELECT count(*) FROM (SELECT DISTINCT pact_content_id, provider_version_id, success FROM verifications) distinct_results")
                .await?,
            first_verification: self
                .moment("SELECT execution_date FROM verifications ORDER BY id LIMIT 1")
                .await?,
            last_verification: self
                .moment("SELECT execution_date FROM verifications ORDER BY id DESC LIMIT 1")
                .await?,
            verifications_per_pact_version: self
                .pairs("SELECT per_content.n, count(*) FROM (SELECT count(*) AS n FROM verifications GROUP BY pact_content_id) per_content
                        GROUP BY per_content.n ORDER BY 1")
                .await?,
            versions: self.count("SELECT count(*) FROM versions").await?,
            versions_with_user_created_branch: self
                .count_with("SELECT count(DISTINCT version_id) FROM branch_versions WHERE auto_created = ?", false)
                .await?,
            versions_with_branch: self
                .count("SELECT count(DISTINCT version_id) FROM branch_versions")
                .await?,
            webhooks: self.count("SELECT count(*) FROM webhooks").await?,
            tags: self.count("SELECT count(*) FROM tags").await?,
            distinct_tag_names: self.count("SELECT count(DISTINCT name) FROM tags").await?,
            distinct_tags_per_pacticipant: self
                .count("SELECT count(*) FROM (SELECT DISTINCT name, pacticipant_id FROM tags) names")
                .await?,
            webhook_deliveries: self.count("SELECT count(*) FROM webhook_deliveries").await?,
            webhook_attempts: self
                .count("SELECT CAST(COALESCE(sum(attempts_made), 0) AS BIGINT) FROM webhook_deliveries")
                .await?,
            environments: self.count("SELECT count(*) FROM environments").await?,
            deployed_versions: self.count("SELECT count(*) FROM deployed_versions").await?,
            user_created_deployed_versions: self
                .count_with("SELECT count(*) FROM deployed_versions WHERE auto_created = ?", false)
                .await?,
            currently_deployed_versions: self
                .count("SELECT count(*) FROM deployed_versions WHERE undeployed_at IS NULL")
                .await?,
            released_versions: self.count("SELECT count(*) FROM released_versions").await?,
            currently_supported_released_versions: self
                .count("SELECT count(*) FROM released_versions WHERE support_ended_at IS NULL")
                .await?,
        })
    }

    async fn operational_gauges(&self) -> StoreResult<OperationalGauges> {
        Ok(OperationalGauges {
            webhook_deliveries: self
                .by_status("SELECT status, count(*) FROM webhook_deliveries GROUP BY status ORDER BY status")
                .await?,
            deployments: self
                .by_status("SELECT status, count(*) FROM deployments GROUP BY status ORDER BY status")
                .await?,
        })
    }

    fn pool_use(&self) -> Vec<PoolUse> {
        self.pools()
    }
}
