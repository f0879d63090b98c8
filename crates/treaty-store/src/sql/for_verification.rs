//! Finds the consumer versions each selector names for a provider, then
//! merges them by content and works out pending and WIP status, from one
//! read snapshot.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use treaty_domain::for_verification::{
    self, Chosen, Request, Selector, SuccessfulVerification, VerifiablePact,
};

use super::Backend;
use crate::read::{self, Query, Reader, Value};
use crate::{ForVerificationStore, StoreResult};

struct Consumer {
    id: i64,
    name: String,
    main_branch: Option<String>,
}

/// A consumer version's pact with the provider: (version id, number, sha, pact created at).
type VersionPact = (i64, String, String, DateTime<Utc>);

/// What a selector found for one consumer: the version's pact, the
/// environment (deployed and released selectors) and whether it was the
/// fallback branch or tag.
type Found = (VersionPact, Option<String>, bool);

fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// The pacts with the provider of the versions `heads` names (a statement
/// giving one `version_id` column), by consumer, newest version first. The
/// heads are few (a branch head or a latest tag per consumer), so the
/// statement starts from them: materialised, and then CROSS JOIN, or
/// SQLite's planner flattens them and starts from every publication with
/// the provider (300 ms at L for a provider with 60 consumers).
async fn pacts_of_heads(
    reader: &mut dyn Reader,
    provider_id: i64,
    heads: &str,
    args: &[Value],
) -> StoreResult<BTreeMap<i64, Vec<VersionPact>>> {
    let mut query = Query::new(format!(
        "WITH heads AS MATERIALIZED ({heads})
         SELECT v.pacticipant_id AS consumer_id, v.id, v.number, pc.sha, pp.created_at
         FROM heads
         CROSS JOIN versions v
         JOIN pact_publications pp ON pp.consumer_version_id = v.id AND pp.provider_id = ?
         JOIN pact_contents pc ON pc.id = pp.pact_content_id
         WHERE v.id = heads.version_id ORDER BY v.id DESC"
    ));
    for arg in args {
        query = query.bind(arg.clone());
    }
    let rows = reader.fetch_all(query.bind(provider_id)).await?;
    let mut by_consumer: BTreeMap<i64, Vec<VersionPact>> = BTreeMap::new();
    for r in &rows {
        by_consumer
            .entry(r.try_get("consumer_id")?)
            .or_default()
            .push((
                r.try_get("id")?,
                r.try_get("number")?,
                r.try_get("sha")?,
                r.try_get("created_at")?,
            ));
    }
    Ok(by_consumer)
}

fn id_args(ids: &[i64]) -> Vec<Value> {
    ids.iter().map(|id| Value::Int(*id)).collect()
}

/// Where a branch or tag selector starts, for each consumer.
#[derive(Clone, Copy)]
enum Named {
    /// The head of the branch.
    BranchHead,
    /// The latest version with the tag.
    LatestTagged,
}

/// The version `named` picks with `name` for each consumer, with its pact
/// (a version without a pact selects nothing).
async fn named_heads(
    reader: &mut dyn Reader,
    provider_id: i64,
    consumers: &[i64],
    named: Named,
    name: &str,
) -> StoreResult<BTreeMap<i64, Vec<VersionPact>>> {
    let ids = placeholders(consumers.len());
    let heads = match named {
        Named::BranchHead => format!(
            "SELECT head_version_id AS version_id FROM branches WHERE pacticipant_id IN ({ids}) AND name = ?"
        ),
        Named::LatestTagged => format!(
            "SELECT max(version_id) AS version_id FROM tags WHERE pacticipant_id IN ({ids}) AND name = ? GROUP BY pacticipant_id"
        ),
    };
    let mut args = id_args(consumers);
    args.push(Value::from(name));
    pacts_of_heads(reader, provider_id, &heads, &args).await
}

/// (version pact, environment name) for deployed or released versions, by consumer.
async fn in_environments(
    reader: &mut dyn Reader,
    provider_id: i64,
    consumers: &[i64],
    released: bool,
    environment: Option<&str>,
) -> StoreResult<BTreeMap<i64, Vec<Found>>> {
    let ids = placeholders(consumers.len());
    let source = if released {
        format!(
            "SELECT rv.version_id, e.name FROM released_versions rv JOIN environments e ON e.id = rv.environment_id
             WHERE rv.support_ended_at IS NULL AND rv.pacticipant_id IN ({ids})"
        )
    } else {
        format!(
            "SELECT cd.version_id, e.name FROM currently_deployed cd JOIN environments e ON e.id = cd.environment_id
             WHERE cd.pacticipant_id IN ({ids})"
        )
    };
    let environment_condition = if environment.is_some() {
        " AND e.name = ?"
    } else {
        ""
    };
    let mut query = Query::new(format!(
        "WITH x AS MATERIALIZED ({source}{environment_condition})
         SELECT v.pacticipant_id AS consumer_id, v.id, v.number, pc.sha, pp.created_at, x.name AS environment
         FROM x
         CROSS JOIN versions v
         JOIN pact_publications pp ON pp.consumer_version_id = v.id AND pp.provider_id = ?
         JOIN pact_contents pc ON pc.id = pp.pact_content_id
         WHERE v.id = x.version_id ORDER BY v.id DESC"
    ));
    for id in consumers {
        query = query.bind(*id);
    }
    if let Some(environment) = environment {
        query = query.bind(environment);
    }
    let rows = reader.fetch_all(query.bind(provider_id)).await?;
    let mut by_consumer: BTreeMap<i64, Vec<Found>> = BTreeMap::new();
    for r in &rows {
        by_consumer
            .entry(r.try_get("consumer_id")?)
            .or_default()
            .push((
                (
                    r.try_get("id")?,
                    r.try_get("number")?,
                    r.try_get("sha")?,
                    r.try_get("created_at")?,
                ),
                Some(r.try_get("environment")?),
                false,
            ));
    }
    Ok(by_consumer)
}

fn chosen(selector: &Selector, consumer: &Consumer, found: Found) -> Chosen {
    let ((id, number, sha, _), environment, fallback) = found;
    Chosen {
        selector: selector.clone(),
        consumer: consumer.name.clone(),
        consumer_version_id: id,
        consumer_version: number,
        sha,
        environment,
        fallback,
    }
}

/// Found with a branch or tag, or with its fallback for the consumers the
/// first found nothing for.
fn with_fallback(
    first: BTreeMap<i64, Vec<VersionPact>>,
    fallback: BTreeMap<i64, Vec<VersionPact>>,
) -> BTreeMap<i64, Vec<Found>> {
    let mut out: BTreeMap<i64, Vec<Found>> = BTreeMap::new();
    for (consumer, found) in first {
        out.insert(
            consumer,
            found.into_iter().map(|f| (f, None, false)).collect(),
        );
    }
    for (consumer, found) in fallback {
        out.entry(consumer)
            .or_insert_with(|| found.into_iter().map(|f| (f, None, true)).collect());
    }
    out
}

fn without_fallback(found: BTreeMap<i64, Vec<VersionPact>>) -> BTreeMap<i64, Vec<Found>> {
    with_fallback(found, BTreeMap::new())
}

/// What one selector finds for each of `consumers`, in one or two
/// statements for all of them (a provider with sixty consumers asks a
/// handful of questions, not hundreds).
async fn select(
    reader: &mut dyn Reader,
    provider: i64,
    consumers: &[i64],
    selector: &Selector,
) -> StoreResult<BTreeMap<i64, Vec<Found>>> {
    let ids = placeholders(consumers.len());
    let args = id_args(consumers);
    // Consumers the first query found nothing for, to try the fallback on.
    let missing = |found: &BTreeMap<i64, Vec<VersionPact>>| -> Vec<i64> {
        consumers
            .iter()
            .copied()
            .filter(|c| !found.contains_key(c))
            .collect()
    };
    if selector.main_branch {
        let heads = format!(
            "SELECT b.head_version_id AS version_id FROM branches b JOIN pacticipants c ON c.id = b.pacticipant_id
             WHERE b.pacticipant_id IN ({ids}) AND b.name = c.main_branch"
        );
        Ok(without_fallback(
            pacts_of_heads(reader, provider, &heads, &args).await?,
        ))
    } else if let Some(branch) = &selector.branch {
        let found = named_heads(reader, provider, consumers, Named::BranchHead, branch).await?;
        let fallback = match &selector.fallback_branch {
            Some(fallback) if found.len() < consumers.len() => {
                named_heads(
                    reader,
                    provider,
                    &missing(&found),
                    Named::BranchHead,
                    fallback,
                )
                .await?
            }
            _ => BTreeMap::new(),
        };
        Ok(with_fallback(found, fallback))
    } else if let Some(tag) = &selector.tag {
        if selector.latest {
            let found = named_heads(reader, provider, consumers, Named::LatestTagged, tag).await?;
            let fallback = match &selector.fallback_tag {
                Some(fallback) if found.len() < consumers.len() => {
                    named_heads(
                        reader,
                        provider,
                        &missing(&found),
                        Named::LatestTagged,
                        fallback,
                    )
                    .await?
                }
                _ => BTreeMap::new(),
            };
            Ok(with_fallback(found, fallback))
        } else {
            let heads =
                format!("SELECT version_id FROM tags WHERE pacticipant_id IN ({ids}) AND name = ?");
            let mut args = args;
            args.push(Value::from(tag.as_str()));
            Ok(without_fallback(
                pacts_of_heads(reader, provider, &heads, &args).await?,
            ))
        }
    } else if selector.deployed || selector.released {
        in_environments(
            reader,
            provider,
            consumers,
            selector.released,
            selector.environment.as_deref(),
        )
        .await
    } else if selector.latest {
        let heads = format!(
            "SELECT max(consumer_version_id) AS version_id FROM pact_publications
             WHERE consumer_id IN ({ids}) AND provider_id = ? GROUP BY consumer_id"
        );
        let mut args = args;
        args.push(Value::Int(provider));
        Ok(without_fallback(
            pacts_of_heads(reader, provider, &heads, &args).await?,
        ))
    } else {
        Ok(BTreeMap::new())
    }
}

/// What the default selectors need to know of each consumer: whether its
/// main branch has a head, and whether a version is tagged with its name.
async fn main_branch_facts(
    reader: &mut dyn Reader,
    consumers: &[Consumer],
) -> StoreResult<BTreeMap<i64, (bool, bool)>> {
    if consumers.is_empty() {
        return Ok(BTreeMap::new());
    }
    let mut query = Query::new(format!(
        "SELECT c.id,
           (SELECT b.head_version_id FROM branches b WHERE b.pacticipant_id = c.id AND b.name = c.main_branch) AS main_head,
           (SELECT max(t.version_id) FROM tags t WHERE t.pacticipant_id = c.id AND t.name = c.main_branch) AS tagged_main
         FROM pacticipants c WHERE c.id IN ({})",
        placeholders(consumers.len())
    ));
    for consumer in consumers {
        query = query.bind(consumer.id);
    }
    let rows = reader.fetch_all(query).await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("id")?,
                (
                    r.try_get::<Option<i64>>("main_head")?.is_some(),
                    r.try_get::<Option<i64>>("tagged_main")?.is_some(),
                ),
            ))
        })
        .collect()
}

/// The selectors used when a request names none: per consumer its main
/// branch (or the latest version tagged with its name, or its latest pact),
/// plus everything deployed or released.
fn default_selectors(consumer: &Consumer, (main_head, tagged_main): (bool, bool)) -> Vec<Selector> {
    let named = Some(consumer.name.clone());
    let first = if main_head {
        Selector {
            main_branch: true,
            consumer: named.clone(),
            ..Selector::default()
        }
    } else if tagged_main {
        Selector {
            tag: consumer.main_branch.clone(),
            latest: true,
            consumer: named.clone(),
            ..Selector::default()
        }
    } else {
        Selector {
            latest: true,
            consumer: named.clone(),
            ..Selector::default()
        }
    };
    vec![
        first,
        Selector {
            deployed: true,
            consumer: named.clone(),
            ..Selector::default()
        },
        Selector {
            released: true,
            consumer: named,
            ..Selector::default()
        },
    ]
}

/// Every consumer's selectors, asked once per distinct selector for all the
/// consumers it applies to, then put back in the order one consumer at a
/// time would have found them (consumers by name, selectors as given).
async fn choose(
    reader: &mut dyn Reader,
    provider_id: i64,
    consumers: &[Consumer],
    request: &Request,
) -> StoreResult<Vec<Chosen>> {
    let facts = if request.selectors.is_empty() {
        main_branch_facts(reader, consumers).await?
    } else {
        BTreeMap::new()
    };
    let plan: Vec<Vec<Selector>> = consumers
        .iter()
        .map(|consumer| {
            if request.selectors.is_empty() {
                default_selectors(
                    consumer,
                    facts.get(&consumer.id).copied().unwrap_or_default(),
                )
            } else {
                request
                    .selectors
                    .iter()
                    .filter(|s| s.consumer.as_deref().is_none_or(|c| c == consumer.name))
                    .cloned()
                    .collect()
            }
        })
        .collect();
    // A selector's question without its consumer, and who asks it.
    let question = |s: &Selector| Selector {
        consumer: None,
        ..s.clone()
    };
    // Found through a map, not by comparing with every question so far:
    // that was quadratic in the selectors (40,000 of them: 12 s).
    let mut questions: Vec<(Selector, Vec<i64>)> = Vec::new();
    let mut index_of: HashMap<Selector, usize> = HashMap::new();
    let mut asked_by: Vec<Vec<usize>> = Vec::with_capacity(plan.len());
    for (consumer, selectors) in consumers.iter().zip(&plan) {
        let mut indexes = Vec::with_capacity(selectors.len());
        for selector in selectors {
            let asked = question(selector);
            let index = *index_of.entry(asked).or_insert_with_key(|asked| {
                questions.push((asked.clone(), Vec::new()));
                questions.len() - 1
            });
            let ids = &mut questions[index].1;
            // Consumers come one at a time: a repeat is the last one.
            if ids.last() != Some(&consumer.id) {
                ids.push(consumer.id);
            }
            indexes.push(index);
        }
        asked_by.push(indexes);
    }
    let mut answers = Vec::with_capacity(questions.len());
    for (selector, ids) in &questions {
        answers.push(select(reader, provider_id, ids, selector).await?);
    }
    let mut all_chosen = Vec::new();
    for ((consumer, selectors), indexes) in consumers.iter().zip(&plan).zip(&asked_by) {
        for (selector, index) in selectors.iter().zip(indexes) {
            for found in answers[*index].get(&consumer.id).into_iter().flatten() {
                all_chosen.push(chosen(selector, consumer, found.clone()));
            }
        }
    }
    Ok(all_chosen)
}

/// The successful verifications of each pact content (`items`: consumer id
/// and sha) that decide whether it is pending for `request` (see
/// `for_verification::is_pending`). Not every one: a long-lived content has
/// thousands. The answer only asks whether one exists on the provider's
/// branch, whether the oldest explicit one predates the branch, and whether
/// there is any, so the oldest explicit success, the newest success and the
/// newest on the branch give the same answer, each a scalar subquery on the
/// (content, success, id) index. The one on the branch walks that index
/// newest first and stops at the first on the branch, tested by a scalar
/// subquery: PostgreSQL turns `IN (the branch's versions)` and `EXISTS`
/// into a join that probes every version of the branch (2 ms a pact at L). With tags (and no branch) every success is
/// read. `explicit_only` leaves out WIP verifications.
///
/// Three statements for all the pacts, whatever their number: the contents,
/// the ids of the verifications that matter, then those verifications. Not
/// prepared for reuse: their lists change with every answer, and
/// PostgreSQL's generic plan for a reused one scanned every content (1 s at L).
async fn successes(
    reader: &mut dyn Reader,
    provider_id: i64,
    items: &[(i64, String)],
    request: &Request,
    explicit_only: bool,
) -> StoreResult<Vec<Vec<SuccessfulVerification>>> {
    let mut found = vec![Vec::new(); items.len()];
    if items.is_empty() {
        return Ok(found);
    }
    // Each pact by the unique index's full key (consumer, provider, sha),
    // from a list of (consumer, sha) pairs: one probe a pact. By provider and
    // sha alone PostgreSQL read all of a big provider's contents; by
    // `consumer_id IN (...) AND sha IN (...)` SQLite probed every
    // combination of the two lists (60 consumers × 1,199 shas at L: 16 ms).
    let pairs: BTreeSet<(i64, &str)> = items
        .iter()
        .map(|(consumer, sha)| (*consumer, sha.as_str()))
        .collect();
    let pairs: Vec<(i64, &str)> = pairs.into_iter().collect();
    let mut content_of: BTreeMap<(i64, String), i64> = BTreeMap::new();
    // Two arguments a pair: chunks stay far below either backend's limit.
    for chunk in pairs.chunks(5_000) {
        let values = vec!["(CAST(? AS BIGINT), ?)"; chunk.len()].join(", ");
        let mut query = Query::new(format!(
            "WITH item (consumer_id, sha) AS (VALUES {values})
             SELECT pc.id, pc.consumer_id, pc.sha FROM item CROSS JOIN pact_contents pc
             WHERE pc.consumer_id = item.consumer_id AND pc.provider_id = ? AND pc.sha = item.sha"
        ))
        .one_off();
        for (consumer, sha) in chunk {
            query = query.bind(*consumer).bind(*sha);
        }
        for r in &reader.fetch_all(query.bind(provider_id)).await? {
            content_of.insert(
                (r.try_get("consumer_id")?, r.try_get("sha")?),
                r.try_get("id")?,
            );
        }
    }
    let contents: BTreeSet<i64> = content_of.values().copied().collect();
    if contents.is_empty() {
        return Ok(found);
    }
    let ids = placeholders(contents.len());
    let explicit = if explicit_only { " AND NOT vr.wip" } else { "" };
    let every_one =
        request.provider_version_branch.is_none() && !request.provider_version_tags.is_empty();
    // (content, verification id) of the verifications that decide.
    let mut deciding: Vec<(i64, i64)> = Vec::new();
    if every_one {
        let mut query = Query::new(format!(
            "SELECT vr.pact_content_id, vr.id FROM verifications vr
             WHERE vr.pact_content_id IN ({ids}) AND vr.success = ?{explicit}"
        ))
        .one_off();
        for id in &contents {
            query = query.bind(*id);
        }
        for r in &reader.fetch_all(query.bind(true)).await? {
            deciding.push((r.try_get("pact_content_id")?, r.try_get("id")?));
        }
    } else {
        let on_branch = match &request.provider_version_branch {
            Some(_) => format!(
                ", (SELECT vr.id FROM verifications vr WHERE vr.pact_content_id = pc.id AND vr.success = ?{explicit}
                    AND (SELECT 1 FROM branch_versions bv JOIN branches b ON b.id = bv.branch_id
                      WHERE bv.version_id = vr.provider_version_id AND b.pacticipant_id = ? AND b.name = ? LIMIT 1) = 1
                    ORDER BY vr.id DESC LIMIT 1) AS on_branch"
            ),
            None => ", CAST(NULL AS BIGINT) AS on_branch".to_owned(),
        };
        let mut query = Query::new(format!(
            "SELECT pc.id,
               (SELECT vr.id FROM verifications vr WHERE vr.pact_content_id = pc.id AND vr.success = ? AND NOT vr.wip
                 ORDER BY vr.id LIMIT 1) AS oldest_explicit,
               (SELECT vr.id FROM verifications vr WHERE vr.pact_content_id = pc.id AND vr.success = ?{explicit}
                 ORDER BY vr.id DESC LIMIT 1) AS newest
               {on_branch}
             FROM pact_contents pc WHERE pc.id IN ({ids})"
        ))
        .one_off()
        .bind(true)
        .bind(true);
        if let Some(branch) = &request.provider_version_branch {
            query = query.bind(true).bind(provider_id).bind(branch.as_str());
        }
        for id in &contents {
            query = query.bind(*id);
        }
        for r in &reader.fetch_all(query).await? {
            let content: i64 = r.try_get("id")?;
            for column in ["oldest_explicit", "newest", "on_branch"] {
                if let Some(id) = r.try_get::<Option<i64>>(column)? {
                    deciding.push((content, id));
                }
            }
        }
    }
    if deciding.is_empty() {
        return Ok(found);
    }
    let verification_ids: BTreeSet<i64> = deciding.iter().map(|(_, id)| *id).collect();
    let mut query = Query::new(format!(
        "SELECT vr.id, vr.provider_version_tags, vr.execution_date, vr.wip,
           (SELECT string_agg(b.name, '\u{1f}') FROM branch_versions bv JOIN branches b ON b.id = bv.branch_id
             WHERE bv.version_id = vr.provider_version_id) AS branch_list
         FROM verifications vr WHERE vr.id IN ({})",
        placeholders(verification_ids.len())
    ))
    .one_off();
    for id in &verification_ids {
        query = query.bind(*id);
    }
    let mut by_id: BTreeMap<i64, SuccessfulVerification> = BTreeMap::new();
    for r in &reader.fetch_all(query).await? {
        let branches: Option<String> = r.try_get("branch_list")?;
        let tags: String = r.try_get("provider_version_tags")?;
        by_id.insert(
            r.try_get("id")?,
            SuccessfulVerification {
                provider_version_branches: branches
                    .map(|b| b.split('\u{1f}').map(str::to_owned).collect())
                    .unwrap_or_default(),
                provider_version_tags: serde_json::from_str(&tags).unwrap_or_default(),
                verified_at: r.try_get("execution_date")?,
                wip: r.try_get("wip")?,
            },
        );
    }
    let mut by_content: BTreeMap<i64, Vec<SuccessfulVerification>> = BTreeMap::new();
    for (content, id) in deciding {
        if let Some(verification) = by_id.get(&id) {
            by_content
                .entry(content)
                .or_default()
                .push(verification.clone());
        }
    }
    for (slot, (consumer_id, sha)) in found.iter_mut().zip(items) {
        if let Some(verifications) = content_of
            .get(&(*consumer_id, sha.clone()))
            .and_then(|content| by_content.get(content))
        {
            slot.clone_from(verifications);
        }
    }
    Ok(found)
}

#[async_trait]
impl ForVerificationStore for Backend {
    async fn pacts_for_verification(
        &self,
        provider: &str,
        request: &Request,
    ) -> StoreResult<Option<Vec<VerifiablePact>>> {
        // One read transaction: every query sees the same snapshot.
        let provider = provider.to_owned();
        let request = request.clone();
        self.read_snapshot(move |reader| {
            Box::pin(async move { pacts_for_verification(reader, &provider, &request).await })
        })
        .await
    }
}

async fn pacts_for_verification(
    reader: &mut dyn Reader,
    provider: &str,
    request: &Request,
) -> StoreResult<Option<Vec<VerifiablePact>>> {
    let query = Query::new("SELECT id FROM pacticipants WHERE name = ?").bind(provider);
    let Some(provider_id) = read::first::<i64>(reader, query, "id").await? else {
        return Ok(None);
    };
    let consumer_rows = reader.fetch_all(Query::new(
            // The integrations, not the publications: one row per consumer
            // however many pacts it has published.
            "SELECT c.id, c.name, c.main_branch FROM integrations i JOIN pacticipants c ON c.id = i.consumer_id
             WHERE i.provider_id = ? ORDER BY c.name",
        )
        .bind(provider_id))
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

    let all_chosen = choose(reader, provider_id, &consumers, request).await?;
    let mut pacts = for_verification::merge(all_chosen);

    // Pending status, from the provider's successful verifications of each content.
    let branch_created_at: Option<DateTime<Utc>> = match &request.provider_version_branch {
        Some(branch) => {
            let query =
                Query::new("SELECT created_at FROM branches WHERE pacticipant_id = ? AND name = ?")
                    .bind(provider_id)
                    .bind(branch.as_str());
            read::first(reader, query, "created_at").await?
        }
        None => None,
    };
    let mut tag_first_used = BTreeMap::new();
    for tag in &request.provider_version_tags {
        let query = Query::new(
            "SELECT min(created_at) AS first_used FROM tags WHERE pacticipant_id = ? AND name = ?",
        )
        .bind(provider_id)
        .bind(tag.as_str());
        // An aggregate: one row, NULL when the tag was never used.
        let first: Option<DateTime<Utc>> = read::first::<Option<_>>(reader, query, "first_used")
            .await?
            .flatten();
        if let Some(first) = first {
            tag_first_used.insert(tag.clone(), first);
        }
    }
    let ids_by_name: HashMap<&str, i64> =
        consumers.iter().map(|c| (c.name.as_str(), c.id)).collect();
    let consumer_id = |name: &str| ids_by_name.get(name).copied().unwrap_or(-1);
    if request.include_pending_status {
        let items: Vec<(i64, String)> = pacts
            .iter()
            .map(|pact| (consumer_id(&pact.consumer), pact.sha.clone()))
            .collect();
        let found = successes(reader, provider_id, &items, request, false).await?;
        for (pact, found) in pacts.iter_mut().zip(found) {
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
        let query = Query::new(
                // From the heads of the consumers' branches and tags, not from
                // every publication with the provider: the heads are few. CROSS
                // JOIN makes SQLite start from the heads. (No comments inside the
                // SQL: the placeholder rewriting for PostgreSQL reads quotes.)
                // Unordered: the WIP pacts are sorted below, once they are few.
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
                 WHERE pp.consumer_version_id = heads.version_id AND pp.provider_id = ? AND pp.created_at > ?",
            )
            .bind(provider_id)
            .bind(provider_id)
            .bind(provider_id)
            .bind(since);
        let rows = reader.fetch_all(query).await?;
        let candidates: Vec<&read::Row> = rows
            .iter()
            .map(|row| {
                let consumer: String = row.try_get("consumer")?;
                let sha: String = row.try_get("sha")?;
                Ok((!selected.contains(&(consumer, sha))).then_some(row))
            })
            .filter_map(Result::transpose)
            .collect::<StoreResult<_>>()?;
        let items: Vec<(i64, String)> = candidates
            .iter()
            .map(|row| Ok((row.try_get("consumer_id")?, row.try_get("sha")?)))
            .collect::<StoreResult<_>>()?;
        let explicit = successes(reader, provider_id, &items, request, true).await?;
        let mut wip: BTreeMap<(String, String), VerifiablePact> = BTreeMap::new();
        for (row, explicit) in candidates.into_iter().zip(explicit) {
            let consumer: String = row.try_get("consumer")?;
            let sha: String = row.try_get("sha")?;
            if !for_verification::is_pending(request, &explicit, branch_created_at, &tag_first_used)
            {
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
    Ok(Some(pacts))
}
