//! Finds the consumer versions each selector names for a provider, then
//! merges them by content and works out pending and WIP status, from one
//! read snapshot.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use treaty_domain::for_verification::{
    self, Chosen, FoundEnvironment, Head, Lookup, Request, Selector, SuccessfulVerification,
    VerifiablePact, WipCandidate,
};
use treaty_domain::provider_states::ListedState;

use super::Backend;
use crate::read::{self, Query, Reader, Value};
use crate::{ForVerificationStore, StoreResult};

pub(super) struct Consumer {
    pub(super) id: i64,
    pub(super) name: String,
    main_branch: Option<String>,
}

/// A consumer version's pact with the provider: (version id, number, sha).
pub(super) type VersionPact = (i64, String, String);

/// What a lookup found for one consumer: the version's pact, and the
/// environment for deployed and released versions.
pub(super) type Found = (VersionPact, Option<FoundEnvironment>);

/// What a lookup found, by consumer id.
pub(super) type ByConsumer = BTreeMap<i64, Vec<Found>>;

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
) -> StoreResult<ByConsumer> {
    let mut query = Query::new(format!(
        "WITH heads AS MATERIALIZED ({heads})
         SELECT v.pacticipant_id AS consumer_id, v.id, v.number, pc.sha
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
    let mut by_consumer: ByConsumer = BTreeMap::new();
    for r in &rows {
        by_consumer
            .entry(r.try_get("consumer_id")?)
            .or_default()
            .push((
                (r.try_get("id")?, r.try_get("number")?, r.try_get("sha")?),
                None,
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
) -> StoreResult<ByConsumer> {
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

/// Deployed or released versions (`released`), in `environment` or any, by consumer.
async fn in_environments(
    reader: &mut dyn Reader,
    provider_id: i64,
    consumers: &[i64],
    released: bool,
    environment: Option<&str>,
) -> StoreResult<ByConsumer> {
    let ids = placeholders(consumers.len());
    let source = if released {
        format!(
            "SELECT rv.version_id, e.name, e.production FROM released_versions rv JOIN environments e ON e.id = rv.environment_id
             WHERE rv.support_ended_at IS NULL AND rv.pacticipant_id IN ({ids})"
        )
    } else {
        format!(
            "SELECT cd.version_id, e.name, e.production FROM currently_deployed cd JOIN environments e ON e.id = cd.environment_id
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
         SELECT v.pacticipant_id AS consumer_id, v.id, v.number, pc.sha, x.name AS environment, x.production
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
    let mut by_consumer: ByConsumer = BTreeMap::new();
    for r in &rows {
        by_consumer
            .entry(r.try_get("consumer_id")?)
            .or_default()
            .push((
                (r.try_get("id")?, r.try_get("number")?, r.try_get("sha")?),
                Some(FoundEnvironment {
                    name: r.try_get("environment")?,
                    production: r.try_get("production")?,
                }),
            ));
    }
    Ok(by_consumer)
}

fn chosen(selector: &Selector, consumer: &Consumer, found: &Found, fallback: bool) -> Chosen {
    let ((id, number, sha), environment) = found;
    Chosen {
        selector: selector.clone(),
        consumer: consumer.name.clone(),
        consumer_version_id: *id,
        consumer_version: number.clone(),
        sha: sha.clone(),
        environment: environment.clone(),
        fallback,
    }
}

/// What one lookup finds for each of `consumers`, in one or two statements
/// for all of them (a provider with sixty consumers asks a handful of
/// questions, not hundreds).
pub(super) async fn select(
    reader: &mut dyn Reader,
    provider: i64,
    consumers: &[i64],
    lookup: &Lookup,
) -> StoreResult<ByConsumer> {
    let ids = placeholders(consumers.len());
    let args = id_args(consumers);
    match lookup {
        Lookup::MainBranchHeads => {
            let heads = format!(
                "SELECT b.head_version_id AS version_id FROM branches b JOIN pacticipants c ON c.id = b.pacticipant_id
                 WHERE b.pacticipant_id IN ({ids}) AND b.name = c.main_branch"
            );
            pacts_of_heads(reader, provider, &heads, &args).await
        }
        Lookup::EachBranchHead => {
            let heads = format!(
                "SELECT head_version_id AS version_id FROM branches
                 WHERE pacticipant_id IN ({ids}) AND head_version_id IS NOT NULL"
            );
            pacts_of_heads(reader, provider, &heads, &args).await
        }
        Lookup::BranchHead(branch) => {
            named_heads(reader, provider, consumers, Named::BranchHead, branch).await
        }
        Lookup::LatestTagged(tag) => {
            named_heads(reader, provider, consumers, Named::LatestTagged, tag).await
        }
        Lookup::AllTagged(tag) => {
            let heads =
                format!("SELECT version_id FROM tags WHERE pacticipant_id IN ({ids}) AND name = ?");
            let mut args = args;
            args.push(Value::from(tag.as_str()));
            pacts_of_heads(reader, provider, &heads, &args).await
        }
        Lookup::Deployed(environment) => {
            in_environments(reader, provider, consumers, false, environment.as_deref()).await
        }
        Lookup::Released(environment) => {
            in_environments(reader, provider, consumers, true, environment.as_deref()).await
        }
        Lookup::InEnvironment(environment) => {
            let mut found =
                in_environments(reader, provider, consumers, false, Some(environment)).await?;
            let released =
                in_environments(reader, provider, consumers, true, Some(environment)).await?;
            for (consumer, mut versions) in released {
                found.entry(consumer).or_default().append(&mut versions);
            }
            Ok(found)
        }
        Lookup::Latest => {
            let heads = format!(
                "SELECT max(consumer_version_id) AS version_id FROM pact_publications
                 WHERE consumer_id IN ({ids}) AND provider_id = ? GROUP BY consumer_id"
            );
            let mut args = args;
            args.push(Value::Int(provider));
            pacts_of_heads(reader, provider, &heads, &args).await
        }
        Lookup::Nothing => Ok(BTreeMap::new()),
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
/// plus everything deployed or released (for every consumer at once, so
/// without a consumer, as the Pact Broker words them).
fn default_selectors(consumer: &Consumer, (main_head, tagged_main): (bool, bool)) -> Vec<Selector> {
    let named = Some(consumer.name.clone());
    let first = if main_head {
        Selector {
            main_branch: true,
            consumer: named,
            ..Selector::default()
        }
    } else if let (true, Some(main)) = (tagged_main, &consumer.main_branch) {
        Selector {
            consumer: named,
            ..Selector::latest_for_tag(main)
        }
    } else {
        Selector {
            latest: Some(true),
            consumer: named,
            ..Selector::default()
        }
    };
    vec![
        first,
        Selector {
            deployed: true,
            ..Selector::default()
        },
        Selector {
            released: true,
            ..Selector::default()
        },
    ]
}

/// Every consumer's selectors, each distinct lookup asked once for all the
/// consumers it applies to, then put back in the order one consumer at a
/// time would have found them (consumers by name, selectors as given).
/// Then the fallback tags, for the selectors whose tag found nothing.
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
    // Found through a map, not by comparing with every question so far:
    // that was quadratic in the selectors (40,000 of them: 12 s).
    let mut questions: Vec<(Lookup, Vec<i64>)> = Vec::new();
    let mut index_of: HashMap<Lookup, usize> = HashMap::new();
    let mut asked_by: Vec<Vec<usize>> = Vec::with_capacity(plan.len());
    for (consumer, selectors) in consumers.iter().zip(&plan) {
        let mut indexes = Vec::with_capacity(selectors.len());
        for selector in selectors {
            let index = *index_of
                .entry(selector.lookup())
                .or_insert_with_key(|lookup| {
                    questions.push((lookup.clone(), Vec::new()));
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
    for (lookup, ids) in &questions {
        answers.push(select(reader, provider_id, ids, lookup).await?);
    }
    let mut all_chosen = Vec::new();
    for ((consumer, selectors), indexes) in consumers.iter().zip(&plan).zip(&asked_by) {
        for (selector, index) in selectors.iter().zip(indexes) {
            for found in answers[*index].get(&consumer.id).into_iter().flatten() {
                all_chosen.push(chosen(selector, consumer, found, false));
            }
        }
    }

    // A fallback tag is looked up only when its selector's tag found
    // nothing for any consumer (the Pact Broker's rule), once per tag and consumer.
    let found_tags: HashSet<String> = for_verification::tags_found(&all_chosen)
        .into_iter()
        .map(str::to_owned)
        .collect();
    let mut fallbacks: HashMap<(&str, Option<&str>), ByConsumer> = HashMap::new();
    for selector in &request.selectors {
        let (Some(fallback), Some(tag)) = (&selector.fallback_tag, &selector.tag) else {
            continue;
        };
        if found_tags.contains(tag) {
            continue;
        }
        let applies = |c: &&Consumer| selector.consumer.as_deref().is_none_or(|n| n == c.name);
        let key = (fallback.as_str(), selector.consumer.as_deref());
        let found = match fallbacks.entry(key) {
            Entry::Occupied(known) => known.into_mut(),
            Entry::Vacant(slot) => {
                let ids: Vec<i64> = consumers.iter().filter(applies).map(|c| c.id).collect();
                let found = if ids.is_empty() {
                    BTreeMap::new()
                } else {
                    named_heads(reader, provider_id, &ids, Named::LatestTagged, fallback).await?
                };
                slot.insert(found)
            }
        };
        for consumer in consumers.iter().filter(applies) {
            for found in found.get(&consumer.id).into_iter().flatten() {
                all_chosen.push(chosen(selector, consumer, found, true));
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

    async fn provider_states(
        &self,
        provider: &str,
        of: &Lookup,
    ) -> StoreResult<Option<Vec<ListedState>>> {
        let provider = provider.to_owned();
        let of = of.clone();
        self.read_snapshot(move |reader| {
            Box::pin(async move {
                super::provider_states::provider_states(reader, &provider, &of).await
            })
        })
        .await
    }
}

/// The provider's consumers, by name.
pub(super) async fn consumers_of(
    reader: &mut dyn Reader,
    provider_id: i64,
) -> StoreResult<Vec<Consumer>> {
    let rows = reader
        .fetch_all(
            // The integrations, not the publications: one row per consumer
            // however many pacts it has published.
            Query::new(
                "SELECT c.id, c.name, c.main_branch FROM integrations i JOIN pacticipants c ON c.id = i.consumer_id
                 WHERE i.provider_id = ? ORDER BY c.name",
            )
            .bind(provider_id),
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Consumer {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                main_branch: r.try_get("main_branch")?,
            })
        })
        .collect()
}

/// When the provider's branch, and each of its tags, was first used.
struct ProviderHistory {
    branch_created_at: Option<DateTime<Utc>>,
    tag_first_used: BTreeMap<String, DateTime<Utc>>,
}

async fn provider_history(
    reader: &mut dyn Reader,
    provider_id: i64,
    request: &Request,
) -> StoreResult<ProviderHistory> {
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
    Ok(ProviderHistory {
        branch_created_at,
        tag_first_used,
    })
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
    let consumers = consumers_of(reader, provider_id).await?;
    let by_name: HashMap<&str, &Consumer> =
        consumers.iter().map(|c| (c.name.as_str(), c)).collect();
    let consumer_id = |name: &str| by_name.get(name).map_or(-1, |c| c.id);

    let all_chosen = choose(reader, provider_id, &consumers, request).await?;
    let mut pacts = for_verification::merge(all_chosen);
    for pact in &mut pacts {
        pact.consumer_main_branch = by_name
            .get(pact.consumer.as_str())
            .and_then(|c| c.main_branch.clone());
    }

    let wants_wip = request.include_wip_pacts_since.is_some()
        && (request.provider_version_branch.is_some() || !request.provider_version_tags.is_empty());
    if !request.include_pending_status && !wants_wip {
        return Ok(Some(pacts));
    }
    let history = provider_history(reader, provider_id, request).await?;

    // Pending status, from the provider's successful verifications of each content.
    if request.include_pending_status {
        let items: Vec<(i64, String)> = pacts
            .iter()
            .map(|pact| (consumer_id(&pact.consumer), pact.sha.clone()))
            .collect();
        let found = successes(reader, provider_id, &items, request, false).await?;
        for (pact, found) in pacts.iter_mut().zip(found) {
            for_verification::set_pending(
                pact,
                request,
                &found,
                history.branch_created_at,
                &history.tag_first_used,
            );
        }
    }

    if let (true, Some(since)) = (wants_wip, request.include_wip_pacts_since) {
        let mut wip =
            work_in_progress(reader, provider_id, request, &pacts, since, &history).await?;
        for pact in &mut wip {
            pact.consumer_main_branch = by_name
                .get(pact.consumer.as_str())
                .and_then(|c| c.main_branch.clone());
        }
        pacts.extend(wip);
    }
    Ok(Some(pacts))
}

/// Work in progress: the pacts of the consumers' branch and tag heads
/// published since `since`, not selected, and not yet verified explicitly
/// by the provider's branch (or tag).
async fn work_in_progress(
    reader: &mut dyn Reader,
    provider_id: i64,
    request: &Request,
    selected: &[VerifiablePact],
    since: DateTime<Utc>,
    history: &ProviderHistory,
) -> StoreResult<Vec<VerifiablePact>> {
    let selected: BTreeSet<(&str, &str)> = selected
        .iter()
        .map(|p| (p.consumer.as_str(), p.sha.as_str()))
        .collect();
    let query = Query::new(
            // From the heads of the consumers' branches and tags, not from
            // every publication with the provider: the heads are few. CROSS
            // JOIN makes SQLite start from the heads. Each row says which
            // head it is: a version can head several.
            "SELECT c.name AS consumer, c.id AS consumer_id, v.id, v.number, pc.sha, heads.kind, heads.name AS head
             FROM (SELECT head_version_id AS version_id, 'branch' AS kind, name FROM branches
                   WHERE pacticipant_id IN (SELECT consumer_id FROM integrations WHERE provider_id = ?)
                     AND head_version_id IS NOT NULL
                   UNION ALL
                   SELECT max(version_id) AS version_id, 'tag' AS kind, name FROM tags
                   WHERE pacticipant_id IN (SELECT consumer_id FROM integrations WHERE provider_id = ?)
                   GROUP BY pacticipant_id, name) AS heads
             CROSS JOIN pact_publications pp
             JOIN pacticipants c ON c.id = pp.consumer_id
             JOIN versions v ON v.id = pp.consumer_version_id
             JOIN pact_contents pc ON pc.id = pp.pact_content_id
             WHERE pp.consumer_version_id = heads.version_id AND pp.provider_id = ? AND pp.created_at > ?
             ORDER BY v.id, heads.name",
        )
        .bind(provider_id)
        .bind(provider_id)
        .bind(provider_id)
        .bind(since);
    let rows = reader.fetch_all(query).await?;
    let mut candidates: Vec<(i64, WipCandidate)> = Vec::new();
    for row in &rows {
        let consumer: String = row.try_get("consumer")?;
        let sha: String = row.try_get("sha")?;
        if selected.contains(&(consumer.as_str(), sha.as_str())) {
            continue;
        }
        let kind: String = row.try_get("kind")?;
        let head: String = row.try_get("head")?;
        candidates.push((
            row.try_get("consumer_id")?,
            WipCandidate {
                consumer,
                consumer_version_id: row.try_get("id")?,
                consumer_version: row.try_get("number")?,
                sha,
                head: if kind == "branch" {
                    Head::Branch(head)
                } else {
                    Head::Tag(head)
                },
            },
        ));
    }
    // The explicit verifications of each distinct content, asked once.
    let items: Vec<(i64, String)> = candidates
        .iter()
        .map(|(consumer_id, c)| (*consumer_id, c.sha.clone()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let explicit = successes(reader, provider_id, &items, request, true).await?;
    let by_content: HashMap<(&str, i64), &[SuccessfulVerification]> = items
        .iter()
        .zip(&explicit)
        .map(|((consumer_id, sha), found)| ((sha.as_str(), *consumer_id), found.as_slice()))
        .collect();
    let consumer_ids: HashMap<&str, i64> = candidates
        .iter()
        .map(|(id, c)| (c.consumer.as_str(), *id))
        .collect();
    let candidates: Vec<WipCandidate> = candidates.iter().map(|(_, c)| c.clone()).collect();
    Ok(for_verification::work_in_progress(
        request,
        &candidates,
        |candidate, tag| {
            let consumer_id = consumer_ids.get(candidate.consumer.as_str()).copied();
            let found = consumer_id
                .and_then(|id| by_content.get(&(candidate.sha.as_str(), id)).copied())
                .unwrap_or(&[]);
            match (tag, &request.provider_version_branch) {
                (Some(tag), _) => {
                    for_verification::pending_for_tag(tag, found, &history.tag_first_used)
                }
                (None, Some(branch)) => {
                    for_verification::pending_for_branch(branch, found, history.branch_created_at)
                }
                (None, None) => found.is_empty(),
            }
        },
    ))
}
