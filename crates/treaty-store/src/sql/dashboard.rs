//! The dashboard's pacts (`/dashboard`): the latest pact of each pair and
//! the latest of each pair with each tag, as the Pact Broker picks them.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Backend, sql};
use crate::{DashboardItem, DashboardStore, DashboardVerification, StoreResult};

/// A publication of the pair, with one of its consumer version's tags (or none).
struct Publication {
    consumer_id: i64,
    provider_id: i64,
    consumer: String,
    provider: String,
    version_id: i64,
    version: String,
    created_at: DateTime<Utc>,
    content_id: i64,
    tag: Option<String>,
}

impl Backend {
    async fn branch_heads(&self, version_id: i64) -> StoreResult<Vec<String>> {
        Ok(sqlx::query_scalar(sql(
            "SELECT name FROM branches WHERE head_version_id = ? ORDER BY name",
        ))
        .bind(version_id)
        .fetch_all(self.reader())
        .await?)
    }

    async fn latest_verification_of(
        &self,
        content_id: i64,
    ) -> StoreResult<Option<DashboardVerification>> {
        let row = sqlx::query(sql(
            "SELECT vr.success, vr.execution_date, pv.id AS version_id, pv.number, pv.pacticipant_id
             FROM verifications vr JOIN versions pv ON pv.id = vr.provider_version_id
             WHERE vr.pact_content_id = ? ORDER BY vr.id DESC LIMIT 1",
        ))
        .bind(content_id)
        .fetch_optional(self.reader())
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let version_id: i64 = row.try_get("version_id")?;
        let pacticipant_id: i64 = row.try_get("pacticipant_id")?;
        // A tag is "latest" on the version that is the newest carrying it.
        let latest_tags: Vec<String> = sqlx::query_scalar(sql(
            "SELECT t.name FROM tags t WHERE t.version_id = ? AND t.version_id =
               (SELECT max(t2.version_id) FROM tags t2 WHERE t2.pacticipant_id = ? AND t2.name = t.name)
             ORDER BY t.name",
        ))
        .bind(version_id)
        .bind(pacticipant_id)
        .fetch_all(self.reader())
        .await?;
        Ok(Some(DashboardVerification {
            success: row.try_get("success")?,
            verified_at: row.try_get("execution_date")?,
            provider_version: row.try_get("number")?,
            provider_version_heads: self.branch_heads(version_id).await?,
            provider_version_latest_tags: latest_tags,
        }))
    }
}

#[async_trait]
impl DashboardStore for Backend {
    async fn dashboard(
        &self,
        consumer: Option<&str>,
        provider: Option<&str>,
    ) -> StoreResult<Vec<DashboardItem>> {
        let rows = sqlx::query(sql(
            "SELECT pp.consumer_id, pp.provider_id, c.name AS consumer, pr.name AS provider,
               v.id AS version_id, v.number, pp.created_at, pp.pact_content_id, t.name AS tag
             FROM pact_publications pp
             JOIN pacticipants c ON c.id = pp.consumer_id
             JOIN pacticipants pr ON pr.id = pp.provider_id
             JOIN versions v ON v.id = pp.consumer_version_id
             LEFT JOIN tags t ON t.version_id = pp.consumer_version_id
             WHERE (? IS NULL OR c.name = ?) AND (? IS NULL OR pr.name = ?)
             ORDER BY pp.consumer_version_id, t.created_at, t.name",
        ))
        .bind(consumer)
        .bind(consumer)
        .bind(provider)
        .bind(provider)
        .fetch_all(self.reader())
        .await?;
        let publications = rows
            .iter()
            .map(|row| {
                Ok(Publication {
                    consumer_id: row.try_get("consumer_id")?,
                    provider_id: row.try_get("provider_id")?,
                    consumer: row.try_get("consumer")?,
                    provider: row.try_get("provider")?,
                    version_id: row.try_get("version_id")?,
                    version: row.try_get("number")?,
                    created_at: row.try_get("created_at")?,
                    content_id: row.try_get("pact_content_id")?,
                    tag: row.try_get("tag")?,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        // The head of each pair, and of each pair and tag (rows come oldest first).
        let mut latest: BTreeMap<(i64, i64), &Publication> = BTreeMap::new();
        let mut latest_tagged: BTreeMap<(i64, i64, String), &Publication> = BTreeMap::new();
        for publication in &publications {
            let pair = (publication.consumer_id, publication.provider_id);
            latest.insert(pair, publication);
            if let Some(tag) = &publication.tag {
                latest_tagged.insert((pair.0, pair.1, tag.clone()), publication);
            }
        }
        // Each head publication once, with the tags it heads.
        let mut heads: BTreeMap<(i64, i64), (&Publication, Vec<String>)> = BTreeMap::new();
        for publication in latest.values() {
            heads
                .entry((publication.version_id, publication.provider_id))
                .or_insert((publication, Vec::new()));
        }
        for ((_, _, tag), publication) in &latest_tagged {
            heads
                .entry((publication.version_id, publication.provider_id))
                .or_insert((publication, Vec::new()))
                .1
                .push(tag.clone());
        }
        let mut items = Vec::with_capacity(heads.len());
        for (publication, mut head_tags) in heads.into_values() {
            head_tags.sort();
            items.push(DashboardItem {
                consumer: publication.consumer.clone(),
                provider: publication.provider.clone(),
                consumer_version: publication.version.clone(),
                consumer_version_heads: self.branch_heads(publication.version_id).await?,
                pact_created_at: publication.created_at,
                head_tags,
                latest_verification: self.latest_verification_of(publication.content_id).await?,
            });
        }
        Ok(items)
    }
}
