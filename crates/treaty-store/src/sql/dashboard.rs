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

fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// A pact content's newest verification, before its provider version's
/// branches and tags are added.
struct NewestVerification {
    success: bool,
    verified_at: DateTime<Utc>,
    version_id: i64,
    version: String,
}

impl Backend {
    /// The branches each of `version_ids` is the head of.
    async fn branch_heads_of(
        &self,
        version_ids: &[i64],
    ) -> StoreResult<BTreeMap<i64, Vec<String>>> {
        let mut heads: BTreeMap<i64, Vec<String>> = BTreeMap::new();
        if version_ids.is_empty() {
            return Ok(heads);
        }
        let statement = format!(
            "SELECT head_version_id, name FROM branches WHERE head_version_id IN ({}) ORDER BY name",
            placeholders(version_ids.len())
        );
        let mut query = sqlx::query(sql(statement)).persistent(false);
        for id in version_ids {
            query = query.bind(id);
        }
        for row in query.fetch_all(self.reader()).await? {
            heads
                .entry(row.try_get("head_version_id")?)
                .or_default()
                .push(row.try_get("name")?);
        }
        Ok(heads)
    }

    /// The newest verification of each of `content_ids` that has one.
    async fn newest_verifications(
        &self,
        content_ids: &[i64],
    ) -> StoreResult<BTreeMap<i64, NewestVerification>> {
        let mut newest = BTreeMap::new();
        if content_ids.is_empty() {
            return Ok(newest);
        }
        let statement = format!(
            "SELECT vr.pact_content_id, vr.success, vr.execution_date, pv.id AS version_id, pv.number
             FROM verifications vr JOIN versions pv ON pv.id = vr.provider_version_id
             WHERE vr.id IN (SELECT max(id) FROM verifications WHERE pact_content_id IN ({})
                             GROUP BY pact_content_id)",
            placeholders(content_ids.len())
        );
        let mut query = sqlx::query(sql(statement)).persistent(false);
        for id in content_ids {
            query = query.bind(id);
        }
        for row in query.fetch_all(self.reader()).await? {
            newest.insert(
                row.try_get("pact_content_id")?,
                NewestVerification {
                    success: row.try_get("success")?,
                    verified_at: row.try_get("execution_date")?,
                    version_id: row.try_get("version_id")?,
                    version: row.try_get("number")?,
                },
            );
        }
        Ok(newest)
    }

    /// The tags each of `version_ids` is the newest version carrying ("latest" tags).
    async fn latest_tags_of(&self, version_ids: &[i64]) -> StoreResult<BTreeMap<i64, Vec<String>>> {
        let mut tags: BTreeMap<i64, Vec<String>> = BTreeMap::new();
        if version_ids.is_empty() {
            return Ok(tags);
        }
        let statement = format!(
            "SELECT t.version_id, t.name FROM tags t WHERE t.version_id IN ({}) AND t.version_id =
               (SELECT max(t2.version_id) FROM tags t2 WHERE t2.pacticipant_id = t.pacticipant_id AND t2.name = t.name)
             ORDER BY t.name",
            placeholders(version_ids.len())
        );
        let mut query = sqlx::query(sql(statement)).persistent(false);
        for id in version_ids {
            query = query.bind(id);
        }
        for row in query.fetch_all(self.reader()).await? {
            tags.entry(row.try_get("version_id")?)
                .or_default()
                .push(row.try_get("name")?);
        }
        Ok(tags)
    }
}

#[async_trait]
impl DashboardStore for Backend {
    async fn dashboard(
        &self,
        consumer: Option<&str>,
        provider: Option<&str>,
    ) -> StoreResult<Vec<DashboardItem>> {
        // Only the heads are read, each found without scanning the history
        // (materialised and CROSS JOINed, which SQLite takes as the order of
        // the loops, so the planner cannot turn them into a scan of every
        // publication: SQLite 3.51 did).
        let rows = sqlx::query(sql("WITH newest AS MATERIALIZED (
               SELECT i.provider_id,
                 (SELECT max(x.consumer_version_id) FROM pact_publications x
                  WHERE x.provider_id = i.provider_id AND x.consumer_id = i.consumer_id) AS newest
               FROM integrations i),
             newest_tagged AS MATERIALIZED (
               SELECT pt.provider_id, max(pt.consumer_version_id) AS newest
               FROM tags tt CROSS JOIN pact_publications pt
               WHERE pt.consumer_version_id = tt.version_id
               GROUP BY pt.provider_id, pt.consumer_id, tt.name),
             heads AS MATERIALIZED (
               SELECT p1.id FROM newest n1 CROSS JOIN pact_publications p1
               WHERE p1.provider_id = n1.provider_id AND p1.consumer_version_id = n1.newest
               UNION
               SELECT p2.id FROM newest_tagged n2 CROSS JOIN pact_publications p2
               WHERE p2.provider_id = n2.provider_id AND p2.consumer_version_id = n2.newest)
             SELECT pp.consumer_id, pp.provider_id, c.name AS consumer, pr.name AS provider,
               v.id AS version_id, v.number, pp.created_at, pp.pact_content_id, t.name AS tag
             FROM heads h
             CROSS JOIN pact_publications pp
             JOIN pacticipants c ON c.id = pp.consumer_id
             JOIN pacticipants pr ON pr.id = pp.provider_id
             JOIN versions v ON v.id = pp.consumer_version_id
             LEFT JOIN tags t ON t.version_id = pp.consumer_version_id
             WHERE pp.id = h.id AND (? IS NULL OR c.name = ?) AND (? IS NULL OR pr.name = ?)
             ORDER BY pp.consumer_version_id, t.created_at, t.name"))
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
        // The head of each pair, and of each pair and tag (rows come oldest
        // first): each pair's newest publication is one seek per integration
        // in the pair index; the newest with each tag is grouped from the
        // tagged publications only (from the tags: SQLite's CROSS JOIN keeps
        // that order).
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
        // What each head shows, read for all heads at once (a statement per
        // kind of fact, not per head: the cost follows the answer).
        let content_ids: Vec<i64> = heads.values().map(|(p, _)| p.content_id).collect();
        let verifications = self.newest_verifications(&content_ids).await?;
        let provider_versions: Vec<i64> = verifications.values().map(|v| v.version_id).collect();
        let mut version_ids: Vec<i64> = heads.values().map(|(p, _)| p.version_id).collect();
        version_ids.extend(&provider_versions);
        version_ids.sort_unstable();
        version_ids.dedup();
        let branch_heads = self.branch_heads_of(&version_ids).await?;
        let latest_tags = self.latest_tags_of(&provider_versions).await?;
        let mut items = Vec::with_capacity(heads.len());
        for (publication, mut head_tags) in heads.into_values() {
            head_tags.sort();
            let latest_verification =
                verifications
                    .get(&publication.content_id)
                    .map(|newest| DashboardVerification {
                        success: newest.success,
                        verified_at: newest.verified_at,
                        provider_version: newest.version.clone(),
                        provider_version_heads: branch_heads
                            .get(&newest.version_id)
                            .cloned()
                            .unwrap_or_default(),
                        provider_version_latest_tags: latest_tags
                            .get(&newest.version_id)
                            .cloned()
                            .unwrap_or_default(),
                    });
            items.push(DashboardItem {
                consumer: publication.consumer.clone(),
                provider: publication.provider.clone(),
                consumer_version: publication.version.clone(),
                consumer_version_heads: branch_heads
                    .get(&publication.version_id)
                    .cloned()
                    .unwrap_or_default(),
                pact_created_at: publication.created_at,
                head_tags,
                latest_verification,
            });
        }
        Ok(items)
    }
}
