use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use treaty_domain::model::{
    Integration, Pact, PactSummary, Page, PageInfo, PageRequest, VerificationSummary,
};
use treaty_domain::pact::{self, PactDocument};
use treaty_domain::publish::{
    self, ContractOutcome, ContractStatus, OnConflict, PublishOutcome, PublishRequest,
    TriggeredWebhook,
};
use treaty_domain::{BranchName, PacticipantName, VersionNumber};

use super::rows;
use super::versions::publishing_version;
use super::webhooks;
use super::{Backend, Conn, DbRow, now, sql};
use crate::{PactFilter, PactSelector, PactStore, PutPactOutcome, StoreError, StoreResult};

/// The joins every pact read starts from.
macro_rules! pact_from {
    () => {
        "
FROM pact_publications pp
JOIN pacticipants c ON c.id = pp.consumer_id
JOIN pacticipants pr ON pr.id = pp.provider_id
JOIN versions v ON v.id = pp.consumer_version_id AND v.pacticipant_id = pp.consumer_id
JOIN pact_contents pc ON pc.id = pp.pact_content_id"
    };
}

const PACT_SELECT: &str = concat!(
    "SELECT c.name AS consumer, pr.name AS provider, v.number AS consumer_version, v.id AS consumer_version_id,
  pc.sha, pc.content, pp.created_at, pp.revision",
    pact_from!()
);

/// Pacts without their documents: lists never read (or parse) a document,
/// which can be megabytes. `sha` comes before `content` in its row, so
/// SQLite reads it without the document's overflow pages.
pub(crate) const SUMMARY_SELECT: &str = concat!(
    "SELECT c.name AS consumer, pr.name AS provider, v.number AS consumer_version, v.id AS consumer_version_id,
  pc.sha, pp.created_at",
    pact_from!()
);

const HAS_TAG: &str = "EXISTS (SELECT 1 FROM tags t WHERE t.version_id = v.id AND t.name = ?)";
const ON_BRANCH: &str =
    "EXISTS (SELECT 1 FROM branch_versions bv JOIN branches b ON b.id = bv.branch_id
    WHERE bv.version_id = v.id AND b.name = ?)";
const ON_MAIN_BRANCH: &str =
    "EXISTS (SELECT 1 FROM branch_versions bv JOIN branches b ON b.id = bv.branch_id
    WHERE bv.version_id = v.id AND b.name = c.main_branch)";

fn pact_from_row(row: &DbRow) -> StoreResult<Pact> {
    let content: String = row.try_get("content")?;
    Ok(Pact {
        consumer: row.try_get("consumer")?,
        provider: row.try_get("provider")?,
        consumer_version: row.try_get("consumer_version")?,
        consumer_version_id: row.try_get("consumer_version_id")?,
        sha: row.try_get("sha")?,
        content: serde_json::from_str(&content)
            .map_err(|e| StoreError::Corrupt(format!("stored pact is not JSON: {e}")))?,
        created_at: row.try_get("created_at")?,
        revision: row.try_get("revision")?,
    })
}

pub(crate) fn summary_from_row(row: &DbRow) -> StoreResult<PactSummary> {
    Ok(PactSummary {
        consumer: row.try_get("consumer")?,
        provider: row.try_get("provider")?,
        consumer_version: row.try_get("consumer_version")?,
        consumer_version_id: row.try_get("consumer_version_id")?,
        sha: row.try_get("sha")?,
        created_at: row.try_get("created_at")?,
    })
}

/// A filter as a WHERE fragment, its argument, and whether it keeps only the newest per consumer.
fn filter_clause(filter: &PactFilter) -> (Option<&'static str>, Option<&str>, bool) {
    match filter {
        PactFilter::All => (None, None, false),
        PactFilter::WithTag(tag) => (Some(HAS_TAG), Some(tag), false),
        PactFilter::OnBranch(branch) => (Some(ON_BRANCH), Some(branch), false),
        PactFilter::OnMainBranch => (Some(ON_MAIN_BRANCH), None, false),
        PactFilter::Latest => (None, None, true),
        PactFilter::LatestWithTag(tag) => (Some(HAS_TAG), Some(tag), true),
        PactFilter::LatestOnBranch(branch) => (Some(ON_BRANCH), Some(branch), true),
        PactFilter::LatestOnMainBranch => (Some(ON_MAIN_BRANCH), None, true),
    }
}

/// The order of a list: as the Pact Broker orders each.
#[derive(Debug, Clone, Copy)]
enum ListOrder {
    NewestFirst,
    OldestFirst,
    /// By consumer name, then consumer version.
    ByConsumer,
    /// By provider name.
    ByProvider,
}

impl ListOrder {
    fn clause(self) -> &'static str {
        match self {
            Self::NewestFirst => "ORDER BY v.id DESC",
            Self::OldestFirst => "ORDER BY v.id",
            Self::ByConsumer => "ORDER BY lower(c.name), c.name, v.id",
            Self::ByProvider => "ORDER BY lower(pr.name), pr.name",
        }
    }
}

impl Backend {
    /// The newest pact meeting the conditions, with its document.
    async fn newest_pact(
        &self,
        conditions: &[&str],
        arguments: &[&str],
    ) -> StoreResult<Option<Pact>> {
        // Ordering by the publication index's own column lets the database
        // stop at the newest pact of the pair instead of reading its history.
        let statement = format!(
            "{PACT_SELECT} WHERE {} ORDER BY pp.consumer_version_id DESC LIMIT 1",
            conditions.join(" AND ")
        );
        let mut query = sqlx::query(sql(statement));
        for argument in arguments {
            query = query.bind(*argument);
        }
        let row = query.fetch_optional(self.reader()).await?;
        row.as_ref().map(pact_from_row).transpose()
    }

    async fn query_summaries(
        &self,
        conditions: &[&str],
        arguments: &[&str],
        latest_per_consumer: bool,
        order: ListOrder,
        // Only for the pacts of one consumer/provider pair.
        limit: Option<u32>,
    ) -> StoreResult<Vec<PactSummary>> {
        let where_clause = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let statement = if latest_per_consumer {
            format!(
                "SELECT * FROM (SELECT ranked.*, ROW_NUMBER() OVER (PARTITION BY consumer ORDER BY consumer_version_id DESC) AS row_rank
                 FROM ({SUMMARY_SELECT} {where_clause}) AS ranked) AS latest WHERE row_rank = 1
                 ORDER BY lower(consumer), consumer"
            )
        } else {
            match limit {
                Some(n) => format!(
                    "{SUMMARY_SELECT} {where_clause} ORDER BY pp.consumer_version_id DESC LIMIT {n}"
                ),
                None => format!("{SUMMARY_SELECT} {where_clause} {}", order.clause()),
            }
        };
        let mut query = sqlx::query(sql(statement));
        for argument in arguments {
            query = query.bind(*argument);
        }
        let rows = query.fetch_all(self.reader()).await?;
        rows.iter().map(summary_from_row).collect()
    }
}

/// The content hash of the newest pact of the pair published by a version
/// other than `version_id` that carries `tag` (or no tag at all for `None`).
async fn previous_sha(
    conn: &mut Conn,
    consumer_id: i64,
    provider_id: i64,
    version_id: i64,
    tag: Option<&str>,
) -> StoreResult<Option<String>> {
    let condition = match tag {
        Some(_) => {
            "EXISTS (SELECT 1 FROM tags t WHERE t.version_id = pp.consumer_version_id AND t.name = ?)"
        }
        None => "NOT EXISTS (SELECT 1 FROM tags t WHERE t.version_id = pp.consumer_version_id)",
    };
    let statement = format!(
        "SELECT pc.sha FROM pact_publications pp JOIN pact_contents pc ON pc.id = pp.pact_content_id
         WHERE pp.consumer_id = ? AND pp.provider_id = ? AND pp.consumer_version_id <> ? AND {condition}
         ORDER BY pp.consumer_version_id DESC LIMIT 1"
    );
    let mut query = sqlx::query_scalar(sql(statement))
        .bind(consumer_id)
        .bind(provider_id)
        .bind(version_id);
    if let Some(tag) = tag {
        query = query.bind(tag);
    }
    Ok(query.fetch_optional(conn).await?)
}

pub(crate) async fn store_content(
    conn: &mut Conn,
    consumer_id: i64,
    provider_id: i64,
    document: PactDocument,
    at: DateTime<Utc>,
) -> StoreResult<i64> {
    let sha = document.sha();
    if let Some(id) = sqlx::query_scalar(sql(
        "SELECT id FROM pact_contents WHERE consumer_id = ? AND provider_id = ? AND sha = ?",
    ))
    .bind(consumer_id)
    .bind(provider_id)
    .bind(&sha)
    .fetch_optional(&mut *conn)
    .await?
    {
        return Ok(id);
    }
    let interactions = i64::try_from(document.interactions_count()).unwrap_or(i64::MAX);
    let messages = i64::try_from(document.messages_count()).unwrap_or(i64::MAX);
    let content = document.into_stored().to_string();
    Ok(sqlx::query_scalar(sql("INSERT INTO pact_contents (consumer_id, provider_id, sha, content, interactions_count, messages_count, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id"),
    )
    .bind(consumer_id)
    .bind(provider_id)
    .bind(sha)
    .bind(content)
    .bind(interactions)
    .bind(messages)
    .bind(at)
    .fetch_one(conn)
    .await?)
}

struct Published {
    status: ContractStatus,
    content_changed_because: Vec<String>,
    created: bool,
    /// Some provider version has yet to verify this content.
    requires_verification: bool,
    /// The deliveries the publication's events triggered.
    triggered: Vec<TriggeredWebhook>,
}

/// Publishes one pact for a consumer version within the caller's transaction.
#[allow(clippy::too_many_arguments)]
async fn publish_one(
    conn: &mut Conn,
    consumer: &str,
    consumer_id: i64,
    provider: &str,
    provider_id: i64,
    version: &str,
    version_id: i64,
    document: PactDocument,
    on_conflict: OnConflict,
    at: DateTime<Utc>,
) -> StoreResult<Published> {
    let sha = document.sha();
    let existing = sqlx::query(sql("SELECT pp.id, pc.sha, pc.content FROM pact_publications pp JOIN pact_contents pc ON pc.id = pp.pact_content_id
         WHERE pp.consumer_version_id = ? AND pp.provider_id = ?"),
    )
    .bind(version_id)
    .bind(provider_id)
    .fetch_optional(&mut *conn)
    .await?;
    let published = if let Some(existing) = existing {
        let publication_id: i64 = existing.try_get("id")?;
        let existing_sha: String = existing.try_get("sha")?;
        if existing_sha == sha {
            sqlx::query(sql(
                "UPDATE pact_publications SET updated_at = ? WHERE id = ?",
            ))
            .bind(at)
            .bind(publication_id)
            .execute(&mut *conn)
            .await?;
            Published {
                status: ContractStatus::RepublishedUnchanged,
                content_changed_because: Vec::new(),
                created: false,
                requires_verification: false,
                triggered: Vec::new(),
            }
        } else if on_conflict == OnConflict::Merge {
            let existing_content: String = existing.try_get("content")?;
            let existing_value: serde_json::Value = serde_json::from_str(&existing_content)
                .map_err(|e| StoreError::Corrupt(format!("stored pact is not JSON: {e}")))?;
            let merged = pact::merge(&existing_value, &document).map_err(|conflict| {
                StoreError::Conflict(format!(
                    "Cannot merge the pact for {consumer} version {version} and provider {provider}: {conflict}"
                ))
            })?;
            let unchanged = merged.sha() == existing_sha;
            if !unchanged {
                let content_id = store_content(conn, consumer_id, provider_id, merged, at).await?;
                sqlx::query(sql("UPDATE pact_publications SET pact_content_id = ?, revision = revision + 1, updated_at = ? WHERE id = ?"),
                )
                .bind(content_id)
                .bind(at)
                .bind(publication_id)
                .execute(&mut *conn)
                .await?;
            }
            Published {
                status: ContractStatus::Merged,
                content_changed_because: if unchanged {
                    Vec::new()
                } else {
                    vec![format!(
                        "pact content modified since previous publication for {consumer} version {version}"
                    )]
                },
                created: false,
                requires_verification: false,
                triggered: Vec::new(),
            }
        } else {
            return Err(StoreError::PactContentConflict {
                consumer: consumer.to_owned(),
                version: version.to_owned(),
                provider: provider.to_owned(),
            });
        }
    } else {
        let tags: Vec<String> = sqlx::query_scalar(sql(
            "SELECT name FROM tags WHERE version_id = ? ORDER BY created_at, name",
        ))
        .bind(version_id)
        .fetch_all(&mut *conn)
        .await?;
        let mut previous: HashMap<Option<String>, Option<String>> = HashMap::new();
        if tags.is_empty() {
            let sha = previous_sha(conn, consumer_id, provider_id, version_id, None).await?;
            previous.insert(None, sha);
        }
        for tag in &tags {
            let sha = previous_sha(conn, consumer_id, provider_id, version_id, Some(tag)).await?;
            previous.insert(Some(tag.clone()), sha);
        }
        let reasons = publish::content_changed_reasons(&tags, &sha, |tag| {
            previous.get(&tag.map(str::to_owned)).cloned().flatten()
        });
        let content_id = store_content(conn, consumer_id, provider_id, document, at).await?;
        sqlx::query(sql("INSERT INTO pact_publications (consumer_id, provider_id, consumer_version_id, pact_content_id, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?)"),
        )
        .bind(consumer_id)
        .bind(provider_id)
        .bind(version_id)
        .bind(content_id)
        .bind(at)
        .bind(at)
        .execute(&mut *conn)
        .await?;
        Published {
            status: ContractStatus::Published,
            content_changed_because: reasons,
            created: true,
            requires_verification: false,
            triggered: Vec::new(),
        }
    };
    touch_integration(conn, consumer_id, provider_id, at).await?;
    // Against the provider's contracts, when it publishes any (bi-directional).
    super::provider_contracts::queue_comparisons(conn, provider_id, None, Some(version_id), at)
        .await?;
    const REQUIRING: &str = "contract_requiring_verification_published";
    let content_id: i64 = sqlx::query_scalar(sql(
        "SELECT pact_content_id FROM pact_publications WHERE consumer_version_id = ? AND provider_id = ?",
    ))
    .bind(version_id)
    .bind(provider_id)
    .fetch_one(&mut *conn)
    .await?;
    // Detected whether or not a webhook listens: the publish notices name it.
    let required = webhooks::required_verifications(conn, provider_id, content_id).await?;
    let mut published = Published {
        requires_verification: !required.is_empty(),
        ..published
    };
    let events = ["contract_published", "contract_content_changed", REQUIRING];
    if !webhooks::anyone_listens_to(conn, &events).await? {
        return Ok(published);
    }
    // Webhooks hear of it in this same transaction: the event and its
    // deliveries land together. The events in the Pact Broker's order.
    let context = webhooks::contract_context(conn, consumer_id, provider_id, version_id).await?;
    let scope = || webhooks::Scope::Pair {
        consumer_id,
        provider_id,
    };
    let mut triggered =
        webhooks::enqueue(conn, "contract_published", scope(), &context, at).await?;
    // One delivery per provider version that must verify it.
    for required in required {
        let mut context = context.clone();
        context.insert("providerVersionNumber".to_owned(), required.number);
        context.insert("providerVersionBranch".to_owned(), required.branch);
        context.insert(
            "providerVersionDescriptions".to_owned(),
            required.descriptions.join(", "),
        );
        triggered.extend(webhooks::enqueue(conn, REQUIRING, scope(), &context, at).await?);
    }
    if !published.content_changed_because.is_empty() {
        triggered.extend(
            webhooks::enqueue(conn, "contract_content_changed", scope(), &context, at).await?,
        );
    }
    published.triggered = triggered;
    Ok(published)
}

pub(crate) async fn touch_integration(
    conn: &mut Conn,
    consumer_id: i64,
    provider_id: i64,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(sql("INSERT INTO integrations (consumer_id, provider_id, created_at, contract_data_updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (consumer_id, provider_id) DO UPDATE SET contract_data_updated_at = excluded.contract_data_updated_at"),
    )
    .bind(consumer_id)
    .bind(provider_id)
    .bind(at)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

impl Backend {
    /// A page of integrations; `pattern` (a LIKE pattern) keeps those where
    /// the consumer's or the provider's name matches.
    async fn integration_page(
        &self,
        pattern: Option<String>,
        order: &str,
        page: Option<PageRequest>,
    ) -> StoreResult<Page<Integration>> {
        const MATCHING: &str =
            "WHERE (? IS NULL OR c.name LIKE ? ESCAPE '\\' OR pr.name LIKE ? ESCAPE '\\')";
        let mut statement = format!(
            "SELECT c.name AS consumer, pr.name AS provider, i.created_at,
               (SELECT pp.created_at FROM pact_publications pp
                 WHERE pp.provider_id = i.provider_id AND pp.consumer_id = i.consumer_id
                 ORDER BY pp.consumer_version_id DESC LIMIT 1) AS latest_pact_created_at,
               lv.success AS verification_success, lv.execution_date AS verified_at, pv.number AS verification_provider_version
             FROM integrations i
             JOIN pacticipants c ON c.id = i.consumer_id
             JOIN pacticipants pr ON pr.id = i.provider_id
             LEFT JOIN verifications lv ON lv.id = (SELECT max(id) FROM verifications
               WHERE consumer_id = i.consumer_id AND provider_id = i.provider_id)
             LEFT JOIN versions pv ON pv.id = lv.provider_version_id
             {MATCHING} {order}"
        );
        if let Some(page) = page {
            statement.push_str(&format!(" LIMIT {} OFFSET {}", page.size, page.offset()));
        }
        let rows = sqlx::query(sql(statement))
            .bind(&pattern)
            .bind(&pattern)
            .bind(&pattern)
            .fetch_all(self.reader())
            .await?;
        let items = rows
            .iter()
            .map(|row| {
                let success: Option<bool> = row.try_get("verification_success")?;
                let verified_at: Option<DateTime<Utc>> = row.try_get("verified_at")?;
                let provider_version: Option<String> =
                    row.try_get("verification_provider_version")?;
                Ok(Integration {
                    consumer: row.try_get("consumer")?,
                    provider: row.try_get("provider")?,
                    created_at: row.try_get("created_at")?,
                    latest_pact_created_at: row.try_get("latest_pact_created_at")?,
                    latest_verification: match (success, verified_at, provider_version) {
                        (Some(success), Some(verified_at), Some(provider_version)) => {
                            Some(VerificationSummary {
                                success,
                                verified_at,
                                provider_version,
                            })
                        }
                        _ => None,
                    },
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        let page = match page {
            None => None,
            Some(page) => {
                let total: i64 = sqlx::query_scalar(sql(format!(
                    "SELECT count(*) FROM integrations i
                     JOIN pacticipants c ON c.id = i.consumer_id
                     JOIN pacticipants pr ON pr.id = i.provider_id {MATCHING}"
                )))
                .bind(&pattern)
                .bind(&pattern)
                .bind(&pattern)
                .fetch_one(self.reader())
                .await?;
                Some(PageInfo {
                    number: page.number,
                    size: page.size,
                    total_elements: u64::try_from(total).unwrap_or(0),
                })
            }
        };
        Ok(Page { items, page })
    }
}

#[async_trait]
impl PactStore for Backend {
    async fn publish_contracts(&self, request: &PublishRequest) -> StoreResult<PublishOutcome> {
        let at = now();
        let mut tx = self.begin().await?;
        let consumer = request.pacticipant.as_str();
        let version = request.version.as_str();
        let (consumer_id, version_id, version_created) = publishing_version(
            &mut tx,
            consumer,
            version,
            request.build_url.as_deref(),
            request.branch.as_ref().map(BranchName::as_str),
            &request.tags,
            at,
        )
        .await?;
        let mut contracts = Vec::with_capacity(request.contracts.len());
        for contract in &request.contracts {
            let provider = contract.provider.as_str();
            let (provider_id, _) = rows::ensure_pacticipant(&mut tx, provider, at).await?;
            let published = publish_one(
                &mut tx,
                consumer,
                consumer_id,
                provider,
                provider_id,
                version,
                version_id,
                contract.pact.clone(),
                contract.on_conflict,
                at,
            )
            .await?;
            let verified: bool = sqlx::query_scalar(sql("SELECT EXISTS (SELECT 1 FROM verifications WHERE consumer_id = ? AND provider_id = ?)"),
            )
            .bind(consumer_id)
            .bind(provider_id)
            .fetch_one(&mut *tx)
            .await?;
            let webhooks_configured =
                webhooks::any_webhook_for_pair(&mut tx, consumer_id, provider_id).await?;
            contracts.push(ContractOutcome {
                provider: provider.to_owned(),
                status: published.status,
                content_changed_because: published.content_changed_because,
                integration_verified: verified,
                requires_verification: published.requires_verification,
                webhooks_configured,
                triggered: published.triggered,
            });
        }
        tx.commit().await?;
        Ok(PublishOutcome {
            version_created,
            contracts,
        })
    }

    async fn put_pact(
        &self,
        consumer: &PacticipantName,
        provider: &PacticipantName,
        version: &VersionNumber,
        document: PactDocument,
        on_conflict: OnConflict,
    ) -> StoreResult<PutPactOutcome> {
        let at = now();
        let mut tx = self.begin().await?;
        let (consumer_id, _) = rows::ensure_pacticipant(&mut tx, consumer.as_str(), at).await?;
        let (provider_id, _) = rows::ensure_pacticipant(&mut tx, provider.as_str(), at).await?;
        let (version_id, _) =
            rows::ensure_version_on_the_way(&mut tx, consumer_id, version.as_str(), at).await?;
        let published = publish_one(
            &mut tx,
            consumer.as_str(),
            consumer_id,
            provider.as_str(),
            provider_id,
            version.as_str(),
            version_id,
            document,
            on_conflict,
            at,
        )
        .await?;
        tx.commit().await?;
        Ok(PutPactOutcome {
            created: published.created,
        })
    }

    async fn pact(
        &self,
        consumer: &str,
        provider: &str,
        selector: PactSelector,
    ) -> StoreResult<Option<Pact>> {
        let mut conditions = vec!["c.name = ?", "pr.name = ?"];
        let mut arguments = vec![consumer, provider];
        match &selector {
            PactSelector::ConsumerVersion(number) => {
                conditions.push("v.number = ?");
                arguments.push(number);
            }
            PactSelector::Latest => {}
            PactSelector::LatestWithTag(tag) => {
                conditions.push(HAS_TAG);
                arguments.push(tag);
            }
            PactSelector::LatestUntagged => {
                conditions.push("NOT EXISTS (SELECT 1 FROM tags t WHERE t.version_id = v.id)");
            }
            PactSelector::LatestOnBranch(branch) => {
                conditions.push(ON_BRANCH);
                arguments.push(branch);
            }
            PactSelector::Sha(sha) => {
                conditions.push("pc.sha = ?");
                arguments.push(sha);
            }
        }
        self.newest_pact(&conditions, &arguments).await
    }

    async fn pacts_between(
        &self,
        consumer: &str,
        provider: &str,
        filter: PactFilter,
    ) -> StoreResult<Vec<PactSummary>> {
        let (condition, argument, latest) = filter_clause(&filter);
        let mut conditions = vec!["c.name = ?", "pr.name = ?"];
        let mut arguments = vec![consumer, provider];
        conditions.extend(condition);
        arguments.extend(argument);
        let order = match filter {
            PactFilter::OnBranch(_) | PactFilter::OnMainBranch => ListOrder::OldestFirst,
            _ => ListOrder::NewestFirst,
        };
        self.query_summaries(&conditions, &arguments, false, order, latest.then_some(1))
            .await
    }

    async fn pacts_for_provider(
        &self,
        provider: &str,
        filter: PactFilter,
    ) -> StoreResult<Vec<PactSummary>> {
        let (condition, argument, latest) = filter_clause(&filter);
        let mut conditions = vec!["pr.name = ?"];
        let mut arguments = vec![provider];
        conditions.extend(condition);
        arguments.extend(argument);
        self.query_summaries(&conditions, &arguments, latest, ListOrder::ByConsumer, None)
            .await
    }

    async fn pacts_of_consumer_version(
        &self,
        consumer: &str,
        version: &str,
    ) -> StoreResult<Vec<PactSummary>> {
        self.query_summaries(
            &["c.name = ?", "v.number = ?"],
            &[consumer, version],
            false,
            ListOrder::ByProvider,
            None,
        )
        .await
    }

    async fn latest_pacts(&self) -> StoreResult<Vec<PactSummary>> {
        // Each pair's newest publication is one seek in the pair index per
        // integration (every publication's pair has its `integrations` row,
        // written with it; a consumer version has at most one pact per
        // provider), and only those rows are joined: the cost follows the
        // answer, not the history (grouping the index instead reads all of
        // it: 87 ms at L against 3). Materialised and then CROSS JOINed
        // (which SQLite takes as the order of the loops), so that the planner
        // cannot turn it into a scan of every publication: SQLite 3.51 did,
        // 1 s at L.
        let statement = "WITH newest AS MATERIALIZED (
  SELECT i.provider_id, i.consumer_id,
    (SELECT max(p.consumer_version_id) FROM pact_publications p
     WHERE p.provider_id = i.provider_id AND p.consumer_id = i.consumer_id) AS newest_version_id
  FROM integrations i)
SELECT c.name AS consumer, pr.name AS provider, v.number AS consumer_version,
  v.id AS consumer_version_id, pc.sha, pp.created_at
FROM newest
CROSS JOIN pact_publications pp
JOIN pacticipants c ON c.id = pp.consumer_id
JOIN pacticipants pr ON pr.id = pp.provider_id
JOIN versions v ON v.id = pp.consumer_version_id
JOIN pact_contents pc ON pc.id = pp.pact_content_id
WHERE pp.provider_id = newest.provider_id AND pp.consumer_version_id = newest.newest_version_id
ORDER BY lower(c.name), c.name, lower(pr.name), pr.name";
        let rows = sqlx::query(sql(statement)).fetch_all(self.reader()).await?;
        rows.iter().map(summary_from_row).collect()
    }

    async fn previous_distinct_pact(
        &self,
        consumer: &str,
        provider: &str,
        before_version_id: i64,
        sha: &str,
    ) -> StoreResult<Option<Pact>> {
        let row = sqlx::query(sql(format!(
            "{PACT_SELECT} WHERE c.name = ? AND pr.name = ? AND pp.consumer_version_id < ? AND pc.sha <> ?
             ORDER BY pp.consumer_version_id DESC LIMIT 1"
        )))
        .bind(consumer)
        .bind(provider)
        .bind(before_version_id)
        .bind(sha)
        .fetch_optional(self.reader())
        .await?;
        row.as_ref().map(pact_from_row).transpose()
    }

    async fn pact_published_after(
        &self,
        consumer: &str,
        provider: &str,
        version_id: i64,
    ) -> StoreResult<Option<PactSummary>> {
        let row = sqlx::query(sql(format!(
            "{SUMMARY_SELECT} WHERE c.name = ? AND pr.name = ? AND pp.consumer_version_id > ?
             ORDER BY pp.consumer_version_id LIMIT 1"
        )))
        .bind(consumer)
        .bind(provider)
        .bind(version_id)
        .fetch_optional(self.reader())
        .await?;
        row.as_ref().map(summary_from_row).transpose()
    }

    async fn delete_pact(
        &self,
        consumer: &str,
        provider: &str,
        version: &str,
    ) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let deleted = sqlx::query(sql("DELETE FROM pact_publications WHERE id IN (
               SELECT pp.id FROM pact_publications pp
               JOIN pacticipants c ON c.id = pp.consumer_id JOIN pacticipants pr ON pr.id = pp.provider_id
               JOIN versions v ON v.id = pp.consumer_version_id AND v.pacticipant_id = c.id
               WHERE c.name = ? AND pr.name = ? AND v.number = ?)"),
        )
        .bind(consumer)
        .bind(provider)
        .bind(version)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        tx.commit().await?;
        Ok(deleted)
    }

    async fn delete_pacts_between(
        &self,
        consumer: &str,
        provider: &str,
        filter: PactFilter,
    ) -> StoreResult<u64> {
        let (condition, argument, latest) = filter_clause(&filter);
        if latest {
            return Err(StoreError::Unsupported(format!(
                "a delete takes every pact its filter names, not the latest ({filter:?})"
            )));
        }
        let statement = format!(
            "DELETE FROM pact_publications WHERE id IN (
               SELECT pp.id FROM pact_publications pp
               JOIN pacticipants c ON c.id = pp.consumer_id JOIN pacticipants pr ON pr.id = pp.provider_id
               JOIN versions v ON v.id = pp.consumer_version_id AND v.pacticipant_id = c.id
               WHERE c.name = ? AND pr.name = ?{})",
            condition
                .map(|condition| format!(" AND {condition}"))
                .unwrap_or_default()
        );
        let mut tx = self.begin().await?;
        let mut query = sqlx::query(sql(statement)).bind(consumer).bind(provider);
        if let Some(argument) = argument {
            query = query.bind(argument);
        }
        let deleted = query.execute(&mut *tx).await?.rows_affected();
        tx.commit().await?;
        Ok(deleted)
    }

    async fn integrations(&self, page: Option<PageRequest>) -> StoreResult<Page<Integration>> {
        self.integration_page(
            None,
            "ORDER BY lower(c.name), c.name, lower(pr.name), pr.name",
            page,
        )
        .await
    }

    async fn integrations_by_activity(
        &self,
        filter: Option<&str>,
        page: Option<PageRequest>,
    ) -> StoreResult<Page<Integration>> {
        let pattern = filter
            .filter(|f| !f.is_empty())
            .map(super::pacticipants::like_pattern);
        self.integration_page(
            pattern,
            "ORDER BY i.contract_data_updated_at DESC, lower(c.name), c.name, lower(pr.name), pr.name",
            page,
        )
        .await
    }

    async fn delete_integration(&self, consumer: &str, provider: &str) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let (Some(consumer_id), Some(provider_id)) = (
            rows::pacticipant_id(&mut tx, consumer).await?,
            rows::pacticipant_id(&mut tx, provider).await?,
        ) else {
            return Ok(false);
        };
        let mut affected = 0;
        // pact_contents cascades to the publications and verifications of the pair.
        for table in ["pact_contents", "integrations"] {
            affected += sqlx::query(sql(format!(
                "DELETE FROM {table} WHERE consumer_id = ? AND provider_id = ?"
            )))
            .bind(consumer_id)
            .bind(provider_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        tx.commit().await?;
        Ok(affected > 0)
    }
}
