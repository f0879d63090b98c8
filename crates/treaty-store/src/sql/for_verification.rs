//! Finds the consumer versions each selector names for a provider, then
//! merges them by content and works out pending and WIP status, from one
//! read snapshot.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use treaty_domain::for_verification::{
    self, Chosen, Request, Selector, SuccessfulVerification, VerifiablePact,
};

use super::{Backend, Conn, sql};
use crate::{ForVerificationStore, StoreResult};

struct Consumer {
    id: i64,
    name: String,
    main_branch: Option<String>,
}

/// A consumer version's pact with the provider: (version id, number, sha, pact created at).
type VersionPact = (i64, String, String, DateTime<Utc>);

async fn version_pacts(
    conn: &mut Conn,
    provider_id: i64,
    consumer_id: i64,
    condition: &str,
    arguments: &[&str],
    latest_only: bool,
) -> StoreResult<Vec<VersionPact>> {
    let limit = if latest_only { " LIMIT 1" } else { "" };
    let mut query = sqlx::query(sql(format!(
        "SELECT v.id, v.number, pc.sha, pp.created_at FROM versions v
         JOIN pact_publications pp ON pp.consumer_version_id = v.id AND pp.provider_id = ?
         JOIN pact_contents pc ON pc.id = pp.pact_content_id
         WHERE v.pacticipant_id = ? AND {condition} ORDER BY v.id DESC{limit}"
    )))
    .bind(provider_id)
    .bind(consumer_id);
    for argument in arguments {
        query = query.bind(*argument);
    }
    let rows = query.fetch_all(conn).await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("id")?,
                r.try_get("number")?,
                r.try_get("sha")?,
                r.try_get("created_at")?,
            ))
        })
        .collect()
}

/// The head of a branch, and its pact if it has one (a head without a pact selects nothing).
async fn branch_head_pact(
    conn: &mut Conn,
    provider_id: i64,
    consumer_id: i64,
    branch: &str,
) -> StoreResult<Vec<VersionPact>> {
    version_pacts(
        conn,
        provider_id,
        consumer_id,
        "v.id = (SELECT b.head_version_id FROM branches b WHERE b.pacticipant_id = v.pacticipant_id AND b.name = ?)",
        &[branch],
        true,
    )
    .await
}

/// The latest version with a tag, and its pact if it has one.
async fn latest_tagged_pact(
    conn: &mut Conn,
    provider_id: i64,
    consumer_id: i64,
    tag: &str,
) -> StoreResult<Vec<VersionPact>> {
    version_pacts(
        conn,
        provider_id,
        consumer_id,
        "v.id = (SELECT max(t.version_id) FROM tags t WHERE t.pacticipant_id = v.pacticipant_id AND t.name = ?)",
        &[tag],
        true,
    )
    .await
}

/// (version pact, environment name) for deployed or released versions.
async fn in_environments(
    conn: &mut Conn,
    provider_id: i64,
    consumer_id: i64,
    released: bool,
    environment: Option<&str>,
) -> StoreResult<Vec<(VersionPact, String)>> {
    let source = if released {
        "SELECT rv.version_id, e.name FROM released_versions rv JOIN environments e ON e.id = rv.environment_id WHERE rv.support_ended_at IS NULL"
    } else {
        "SELECT cd.version_id, e.name FROM currently_deployed cd JOIN environments e ON e.id = cd.environment_id WHERE 1 = 1"
    };
    let environment_condition = if environment.is_some() {
        " AND e.name = ?"
    } else {
        ""
    };
    let mut query = sqlx::query(sql(format!(
        "SELECT v.id, v.number, pc.sha, pp.created_at, x.name AS environment FROM ({source}{environment_condition}) AS x
         JOIN versions v ON v.id = x.version_id
         JOIN pact_publications pp ON pp.consumer_version_id = v.id AND pp.provider_id = ?
         JOIN pact_contents pc ON pc.id = pp.pact_content_id
         WHERE v.pacticipant_id = ? ORDER BY v.id DESC"
    )));
    if let Some(environment) = environment {
        query = query.bind(environment);
    }
    let rows = query
        .bind(provider_id)
        .bind(consumer_id)
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|r| {
            Ok((
                (
                    r.try_get("id")?,
                    r.try_get("number")?,
                    r.try_get("sha")?,
                    r.try_get("created_at")?,
                ),
                r.try_get("environment")?,
            ))
        })
        .collect()
}

fn chosen(
    selector: &Selector,
    consumer: &Consumer,
    found: VersionPact,
    environment: Option<String>,
    fallback: bool,
) -> Chosen {
    Chosen {
        selector: selector.clone(),
        consumer: consumer.name.clone(),
        consumer_version_id: found.0,
        consumer_version: found.1,
        sha: found.2,
        environment,
        fallback,
    }
}

async fn select(
    conn: &mut Conn,
    provider_id: i64,
    consumer: &Consumer,
    selector: &Selector,
) -> StoreResult<Vec<Chosen>> {
    let mut out = Vec::new();
    let (provider, id) = (provider_id, consumer.id);
    if selector.main_branch {
        if let Some(main) = &consumer.main_branch {
            for found in branch_head_pact(conn, provider, id, main).await? {
                out.push(chosen(selector, consumer, found, None, false));
            }
        }
    } else if let Some(branch) = &selector.branch {
        let found = branch_head_pact(conn, provider, id, branch).await?;
        if found.is_empty()
            && let Some(fallback) = &selector.fallback_branch
        {
            for found in branch_head_pact(conn, provider, id, fallback).await? {
                out.push(chosen(selector, consumer, found, None, true));
            }
        }
        out.extend(
            found
                .into_iter()
                .map(|f| chosen(selector, consumer, f, None, false)),
        );
    } else if let Some(tag) = &selector.tag {
        if selector.latest {
            let found = latest_tagged_pact(conn, provider, id, tag).await?;
            if found.is_empty()
                && let Some(fallback) = &selector.fallback_tag
            {
                for found in latest_tagged_pact(conn, provider, id, fallback).await? {
                    out.push(chosen(selector, consumer, found, None, true));
                }
            }
            out.extend(
                found
                    .into_iter()
                    .map(|f| chosen(selector, consumer, f, None, false)),
            );
        } else {
            let all = version_pacts(
                conn,
                provider,
                id,
                "EXISTS (SELECT 1 FROM tags t WHERE t.version_id = v.id AND t.name = ?)",
                &[tag],
                false,
            )
            .await?;
            out.extend(
                all.into_iter()
                    .map(|f| chosen(selector, consumer, f, None, false)),
            );
        }
    } else if selector.deployed || selector.released {
        for (found, environment) in in_environments(
            conn,
            provider,
            id,
            selector.released,
            selector.environment.as_deref(),
        )
        .await?
        {
            out.push(chosen(selector, consumer, found, Some(environment), false));
        }
    } else if selector.latest {
        for found in version_pacts(conn, provider, id, "1 = 1", &[], true).await? {
            out.push(chosen(selector, consumer, found, None, false));
        }
    }
    Ok(out)
}

/// The selectors used when a request names none: per consumer its main
/// branch (or the latest version tagged with its name, or its latest pact),
/// plus everything deployed or released.
async fn default_selectors(conn: &mut Conn, consumer: &Consumer) -> StoreResult<Vec<Selector>> {
    let mut selectors = Vec::new();
    let main_head: Option<i64> = match &consumer.main_branch {
        Some(main) => sqlx::query_scalar(sql(
            "SELECT head_version_id FROM branches WHERE pacticipant_id = ? AND name = ?",
        ))
        .bind(consumer.id)
        .bind(main)
        .fetch_optional(&mut *conn)
        .await?
        .flatten(),
        None => None,
    };
    let tagged_main: Option<i64> = match &consumer.main_branch {
        Some(main) => sqlx::query_scalar(sql(
            "SELECT max(version_id) FROM tags WHERE pacticipant_id = ? AND name = ?",
        ))
        .bind(consumer.id)
        .bind(main)
        .fetch_optional(&mut *conn)
        .await?
        .flatten(),
        None => None,
    };
    let named = Some(consumer.name.clone());
    if main_head.is_some() {
        selectors.push(Selector {
            main_branch: true,
            consumer: named.clone(),
            ..Selector::default()
        });
    } else if tagged_main.is_some() {
        selectors.push(Selector {
            tag: consumer.main_branch.clone(),
            latest: true,
            consumer: named.clone(),
            ..Selector::default()
        });
    } else {
        selectors.push(Selector {
            latest: true,
            consumer: named.clone(),
            ..Selector::default()
        });
    }
    selectors.push(Selector {
        deployed: true,
        consumer: named.clone(),
        ..Selector::default()
    });
    selectors.push(Selector {
        released: true,
        consumer: named,
        ..Selector::default()
    });
    Ok(selectors)
}

/// The successful verifications of a pact content that decide whether it is
/// pending for `request` (see `for_verification::is_pending`). Not every one:
/// a long-lived content has thousands. The answer only asks whether one exists
/// on the provider's branch, whether the oldest explicit one predates the
/// branch, and whether there is any, so the oldest explicit success, the
/// newest success and the newest on the branch give the same answer, each
/// read from the (content, success, id) index. With tags (and no branch)
/// every success is read. `explicit_only` leaves out WIP verifications.
async fn successes(
    conn: &mut Conn,
    provider_id: i64,
    consumer_id: i64,
    sha: &str,
    request: &Request,
    explicit_only: bool,
) -> StoreResult<Vec<SuccessfulVerification>> {
    const COLUMNS: &str = "SELECT vr.provider_version_tags, vr.execution_date, vr.wip,
           (SELECT string_agg(b.name, '\u{1f}') FROM branch_versions bv JOIN branches b ON b.id = bv.branch_id
             WHERE bv.version_id = vr.provider_version_id) AS branch_list
         FROM verifications vr";
    const CONTENT: &str = "vr.pact_content_id = (SELECT id FROM pact_contents WHERE provider_id = ? AND consumer_id = ? AND sha = ?)
           AND vr.success = ?";
    let explicit = if explicit_only { " AND NOT vr.wip" } else { "" };
    let every_one =
        request.provider_version_branch.is_none() && !request.provider_version_tags.is_empty();
    let mut parts = vec![
        format!(
            "SELECT * FROM ({COLUMNS} WHERE {CONTENT} AND NOT vr.wip ORDER BY vr.id LIMIT 1) AS oldest_explicit"
        ),
        format!(
            "SELECT * FROM ({COLUMNS} WHERE {CONTENT}{explicit} ORDER BY vr.id DESC LIMIT 1) AS newest"
        ),
    ];
    if every_one {
        parts = vec![format!("{COLUMNS} WHERE {CONTENT}{explicit}")];
    } else if request.provider_version_branch.is_some() {
        parts.push(format!(
            "SELECT * FROM ({COLUMNS} WHERE {CONTENT}{explicit} AND vr.provider_version_id IN (
               SELECT bv.version_id FROM branch_versions bv JOIN branches b ON b.id = bv.branch_id
               WHERE b.pacticipant_id = ? AND b.name = ?) ORDER BY vr.id DESC LIMIT 1) AS on_branch"
        ));
    }
    let mut query = sqlx::query(sql(parts.join(" UNION ALL ")));
    for _ in 0..parts.len() {
        query = query
            .bind(provider_id)
            .bind(consumer_id)
            .bind(sha)
            .bind(true);
    }
    if let (false, Some(branch)) = (every_one, &request.provider_version_branch) {
        query = query.bind(provider_id).bind(branch);
    }
    let rows = query.fetch_all(conn).await?;
    rows.iter()
        .map(|r| {
            let branches: Option<String> = r.try_get("branch_list")?;
            let tags: String = r.try_get("provider_version_tags")?;
            Ok(SuccessfulVerification {
                provider_version_branches: branches
                    .map(|b| b.split('\u{1f}').map(str::to_owned).collect())
                    .unwrap_or_default(),
                provider_version_tags: serde_json::from_str(&tags).unwrap_or_default(),
                verified_at: r.try_get("execution_date")?,
                wip: r.try_get("wip")?,
            })
        })
        .collect()
}

#[async_trait]
impl ForVerificationStore for Backend {
    async fn pacts_for_verification(
        &self,
        provider: &str,
        request: &Request,
    ) -> StoreResult<Option<Vec<VerifiablePact>>> {
        let mut tx = self.snapshot().await?;
        let Some(provider_id): Option<i64> =
            sqlx::query_scalar(sql("SELECT id FROM pacticipants WHERE name = ?"))
                .bind(provider)
                .fetch_optional(&mut *tx)
                .await?
        else {
            return Ok(None);
        };
        let consumer_rows = sqlx::query(sql(
            // The integrations, not the publications: one row per consumer
            // however many pacts it has published.
            "SELECT c.id, c.name, c.main_branch FROM integrations i JOIN pacticipants c ON c.id = i.consumer_id
             WHERE i.provider_id = ? ORDER BY c.name",
        ))
        .bind(provider_id)
        .fetch_all(&mut *tx)
        .await?;
        let consumers: Vec<Consumer> = consumer_rows
            .iter()
            .map(|r| {
                Ok(Consumer {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    main_branch: r.try_get("main_branch")?,
                })
            })
            .collect::<StoreResult<_>>()?;

        let mut all_chosen = Vec::new();
        for consumer in &consumers {
            let selectors = if request.selectors.is_empty() {
                default_selectors(&mut tx, consumer).await?
            } else {
                request.selectors.clone()
            };
            for selector in selectors
                .iter()
                .filter(|s| s.consumer.as_deref().is_none_or(|c| c == consumer.name))
            {
                all_chosen.extend(select(&mut tx, provider_id, consumer, selector).await?);
            }
        }
        let mut pacts = for_verification::merge(all_chosen);

        // Pending status, from the provider's successful verifications of each content.
        let branch_created_at: Option<DateTime<Utc>> = match &request.provider_version_branch {
            Some(branch) => {
                sqlx::query_scalar(sql(
                    "SELECT created_at FROM branches WHERE pacticipant_id = ? AND name = ?",
                ))
                .bind(provider_id)
                .bind(branch)
                .fetch_optional(&mut *tx)
                .await?
            }
            None => None,
        };
        let mut tag_first_used = BTreeMap::new();
        for tag in &request.provider_version_tags {
            let first: Option<DateTime<Utc>> = sqlx::query_scalar(sql(
                "SELECT min(created_at) FROM tags WHERE pacticipant_id = ? AND name = ?",
            ))
            .bind(provider_id)
            .bind(tag)
            .fetch_one(&mut *tx)
            .await?;
            if let Some(first) = first {
                tag_first_used.insert(tag.clone(), first);
            }
        }
        let consumer_id = |name: &str| {
            consumers
                .iter()
                .find(|c| c.name == name)
                .map_or(-1, |c| c.id)
        };
        for pact in &mut pacts {
            if request.include_pending_status {
                let found = successes(
                    &mut tx,
                    provider_id,
                    consumer_id(&pact.consumer),
                    &pact.sha,
                    request,
                    false,
                )
                .await?;
                pact.pending = Some(for_verification::is_pending(
                    request,
                    &found,
                    branch_created_at,
                    &tag_first_used,
                ));
            }
        }

        // Work in progress: recent pacts of branch heads and latest tagged versions not selected and not yet verified.
        if let (Some(since), true) = (
            request.include_wip_pacts_since,
            request.provider_version_branch.is_some() || !request.provider_version_tags.is_empty(),
        ) {
            let selected: BTreeSet<(String, String)> = pacts
                .iter()
                .map(|p| (p.consumer.clone(), p.sha.clone()))
                .collect();
            let rows = sqlx::query(sql(
                // From the heads of the consumers' branches and tags, not from
                // every publication with the provider: the heads are few. CROSS
                // JOIN makes SQLite start from the heads. (No comments inside the
                // SQL: the placeholder rewriting for PostgreSQL reads quotes.)
                "SELECT c.name AS consumer, c.id AS consumer_id, v.id, v.number, pc.sha
                 FROM (SELECT head_version_id AS version_id FROM branches
                       WHERE pacticipant_id IN (SELECT consumer_id FROM integrations WHERE provider_id = ?)
                         AND head_version_id IS NOT NULL
                       UNION
                       SELECT max(version_id) FROM tags
                       WHERE pacticipant_id IN (SELECT consumer_id FROM integrations WHERE provider_id = ?)
                       GROUP BY pacticipant_id, name) AS heads
                 CROSS JOIN pact_publications pp
                 JOIN pacticipants c ON c.id = pp.consumer_id
                 JOIN versions v ON v.id = pp.consumer_version_id
                 JOIN pact_contents pc ON pc.id = pp.pact_content_id
                 WHERE pp.consumer_version_id = heads.version_id AND pp.provider_id = ? AND pp.created_at > ?
                 ORDER BY v.id",
            ))
            .bind(provider_id)
            .bind(provider_id)
            .bind(provider_id)
            .bind(since)
            .fetch_all(&mut *tx)
            .await?;
            let mut wip: BTreeMap<(String, String), VerifiablePact> = BTreeMap::new();
            for row in &rows {
                let consumer: String = row.try_get("consumer")?;
                let sha: String = row.try_get("sha")?;
                if selected.contains(&(consumer.clone(), sha.clone())) {
                    continue;
                }
                let explicit = successes(
                    &mut tx,
                    provider_id,
                    row.try_get("consumer_id")?,
                    &sha,
                    request,
                    true,
                )
                .await?;
                if !for_verification::is_pending(
                    request,
                    &explicit,
                    branch_created_at,
                    &tag_first_used,
                ) {
                    continue;
                }
                let id: i64 = row.try_get("id")?;
                let number: String = row.try_get("number")?;
                let entry = wip
                    .entry((consumer.clone(), sha.clone()))
                    .or_insert_with(|| VerifiablePact {
                        consumer: consumer.clone(),
                        sha: sha.clone(),
                        consumer_version: number.clone(),
                        consumer_version_id: id,
                        chosen: Vec::new(),
                        pending: Some(true),
                        wip: true,
                    });
                if id > entry.consumer_version_id {
                    entry.consumer_version_id = id;
                    entry.consumer_version = number;
                }
            }
            let mut wip: Vec<VerifiablePact> = wip.into_values().collect();
            wip.sort_by(|a, b| {
                a.consumer
                    .to_lowercase()
                    .cmp(&b.consumer.to_lowercase())
                    .then(a.consumer_version_id.cmp(&b.consumer_version_id))
            });
            pacts.extend(wip);
        }
        tx.commit().await?;
        Ok(Some(pacts))
    }
}
