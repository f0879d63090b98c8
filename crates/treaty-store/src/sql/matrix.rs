//! Gathers the evidence for a matrix question from one read snapshot:
//! resolves selectors to versions, infers the other side of each integration,
//! and loads the pact × verification rows between the selected versions
//! (without `latestby`, only the page the limit asks for).

use std::collections::{BTreeSet, HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use treaty_domain::matrix::{
    Criteria, Dependency, Evidence, KnownGoodVerifier, NewestRows, ResolvedIgnore,
    ResolvedSelector, Row as MatrixRow, RowRank, VerificationRef, VersionRef,
};
use treaty_domain::matrix_query::{MatrixQuery, Scope, VersionSelector};
use treaty_domain::model::{Environment, Version};

use super::Backend;
use super::environments::{environment_columns, environment_from_row};
use super::rows::{VERSION_SELECT, version_from_row};
use crate::read::{self, Query, Reader};
use crate::{MatrixAnswer, MatrixStore, StoreResult};

/// `?, ?, ?` for `n` values.
fn placeholders(n: usize) -> String {
    vec!["?"; n.max(1)].join(", ")
}

/// Rows of `v.id, v.number` as version references.
fn version_refs(rows: &[read::Row]) -> StoreResult<Vec<VersionRef>> {
    rows.iter()
        .map(|r| {
            Ok(VersionRef {
                id: r.try_get("id")?,
                number: r.try_get("number")?,
            })
        })
        .collect()
}

async fn versions_where(
    reader: &mut dyn Reader,
    condition: &str,
    arguments: &[&str],
    pacticipant_id: i64,
    latest_only: bool,
) -> StoreResult<Vec<VersionRef>> {
    let limit = if latest_only { " LIMIT 1" } else { "" };
    let mut query = Query::new(format!(
        "SELECT v.id, v.number FROM versions v WHERE v.pacticipant_id = ? AND {condition} ORDER BY v.id DESC{limit}"
    ))
    .bind(pacticipant_id);
    for argument in arguments {
        query = query.bind(*argument);
    }
    let rows = reader.fetch_all(query).await?;
    version_refs(&rows)
}

/// The versions of a pacticipant deployed or released in an environment,
/// found from the environment's slots: the cost does not grow with the
/// pacticipant's history.
async fn versions_in_environment(
    reader: &mut dyn Reader,
    environment: &str,
    pacticipant_id: i64,
) -> StoreResult<Vec<VersionRef>> {
    let query = Query::new(
        "SELECT v.id, v.number FROM versions v WHERE v.id IN (
           SELECT cd.version_id FROM currently_deployed cd JOIN environments e ON e.id = cd.environment_id
           WHERE e.name = ? AND cd.pacticipant_id = ?
           UNION
           SELECT rv.version_id FROM released_versions rv JOIN environments e ON e.id = rv.environment_id
           WHERE e.name = ? AND rv.pacticipant_id = ? AND rv.support_ended_at IS NULL)
         ORDER BY v.id DESC",
    )
    .bind(environment)
    .bind(pacticipant_id)
    .bind(environment)
    .bind(pacticipant_id);
    version_refs(&reader.fetch_all(query).await?)
}

const ON_BRANCH_HEAD: &str = "v.id = (SELECT b.head_version_id FROM branches b WHERE b.pacticipant_id = v.pacticipant_id AND b.name = ?)";
const ON_BRANCH: &str = "EXISTS (SELECT 1 FROM branch_versions bv JOIN branches b ON b.id = bv.branch_id WHERE bv.version_id = v.id AND b.name = ?)";
const ON_MAIN_BRANCH_HEAD: &str = "v.id = (SELECT b.head_version_id FROM branches b JOIN pacticipants p ON p.id = b.pacticipant_id
    WHERE b.pacticipant_id = v.pacticipant_id AND b.name = p.main_branch)";
const ON_MAIN_BRANCH: &str = "EXISTS (SELECT 1 FROM branch_versions bv JOIN branches b ON b.id = bv.branch_id JOIN pacticipants p ON p.id = b.pacticipant_id
    WHERE bv.version_id = v.id AND b.name = p.main_branch)";
const HAS_TAG: &str = "EXISTS (SELECT 1 FROM tags t WHERE t.version_id = v.id AND t.name = ?)";

/// Resolves what a selector asks for to versions; several for a selector
/// that names several (tag, branch or environment without `latest`).
async fn resolve(
    reader: &mut dyn Reader,
    pacticipant: &str,
    pacticipant_id: i64,
    criteria: Criteria,
    specified: bool,
) -> StoreResult<Vec<ResolvedSelector>> {
    let versions = match &criteria {
        Criteria::Number(n) => {
            versions_where(reader, "v.number = ?", &[n], pacticipant_id, true).await?
        }
        Criteria::Latest { tag: None } => {
            versions_where(reader, "1 = 1", &[], pacticipant_id, true).await?
        }
        Criteria::Latest { tag: Some(t) } => {
            versions_where(reader, HAS_TAG, &[t], pacticipant_id, true).await?
        }
        Criteria::Tag(t) => versions_where(reader, HAS_TAG, &[t], pacticipant_id, false).await?,
        Criteria::Branch { name, latest: true } => {
            versions_where(reader, ON_BRANCH_HEAD, &[name], pacticipant_id, true).await?
        }
        Criteria::Branch {
            name,
            latest: false,
        } => versions_where(reader, ON_BRANCH, &[name], pacticipant_id, false).await?,
        Criteria::MainBranch { latest: true } => {
            versions_where(reader, ON_MAIN_BRANCH_HEAD, &[], pacticipant_id, true).await?
        }
        Criteria::MainBranch { latest: false } => {
            versions_where(reader, ON_MAIN_BRANCH, &[], pacticipant_id, false).await?
        }
        Criteria::Environment(e) => versions_in_environment(reader, e, pacticipant_id).await?,
        Criteria::Any => Vec::new(),
    };
    Ok(resolved(
        pacticipant,
        pacticipant_id,
        criteria,
        specified,
        versions,
    ))
}

/// The selectors for the versions a criteria resolved to: one per version,
/// or one without a version when none (or any) was found.
fn resolved(
    pacticipant: &str,
    pacticipant_id: i64,
    criteria: Criteria,
    specified: bool,
    versions: Vec<VersionRef>,
) -> Vec<ResolvedSelector> {
    if versions.is_empty() {
        return vec![ResolvedSelector {
            pacticipant: pacticipant.to_owned(),
            pacticipant_id,
            version: None,
            criteria,
            specified,
            one_of_many: false,
        }];
    }
    let many = versions.len() > 1;
    versions
        .into_iter()
        .map(|version| ResolvedSelector {
            pacticipant: pacticipant.to_owned(),
            pacticipant_id,
            version: Some(version),
            criteria: criteria.clone(),
            specified,
            one_of_many: many,
        })
        .collect()
}

/// The partners of a can-i-deploy to an environment, in one query: each
/// one's name and the versions of it deployed or released there, newest
/// first (thirty providers of a hub consumer would otherwise be sixty round
/// trips). Three plain parts joined by UNION ALL, each an index lookup: a
/// UNION or an ORDER BY would build temporary B-trees for a handful of rows.
async fn partners_in_environment(
    reader: &mut dyn Reader,
    environment: &str,
    pacticipant_ids: &[i64],
) -> StoreResult<(HashMap<i64, String>, HashMap<i64, Vec<VersionRef>>)> {
    let mut names = HashMap::new();
    let mut found: HashMap<i64, Vec<VersionRef>> = HashMap::new();
    if pacticipant_ids.is_empty() {
        return Ok((names, found));
    }
    let list = placeholders(pacticipant_ids.len());
    let mut query = Query::new(format!(
        "SELECT p.id AS pacticipant_id, p.name, CAST(NULL AS BIGINT) AS id, CAST(NULL AS TEXT) AS number
         FROM pacticipants p WHERE p.id IN ({list})
         UNION ALL
         SELECT cd.pacticipant_id, CAST(NULL AS TEXT), v.id, v.number
         FROM currently_deployed cd JOIN versions v ON v.id = cd.version_id
         WHERE cd.environment_id = (SELECT id FROM environments WHERE name = ?) AND cd.pacticipant_id IN ({list})
         UNION ALL
         SELECT rv.pacticipant_id, CAST(NULL AS TEXT), v.id, v.number
         FROM released_versions rv JOIN versions v ON v.id = rv.version_id
         WHERE rv.environment_id = (SELECT id FROM environments WHERE name = ?) AND rv.pacticipant_id IN ({list})
           AND rv.support_ended_at IS NULL"
    ));
    for id in pacticipant_ids {
        query = query.bind(*id);
    }
    for _ in 0..2 {
        query = query.bind(environment);
        for id in pacticipant_ids {
            query = query.bind(*id);
        }
    }
    for row in reader.fetch_all(query).await? {
        let pacticipant: i64 = row.try_get("pacticipant_id")?;
        match row.try_get::<Option<i64>>("id")? {
            None => {
                names.insert(pacticipant, row.try_get("name")?);
            }
            Some(id) => found.entry(pacticipant).or_default().push(VersionRef {
                id,
                number: row.try_get("number")?,
            }),
        }
    }
    // Newest first, and a version both deployed and released there once.
    for versions in found.values_mut() {
        versions.sort_by_key(|v| std::cmp::Reverse(v.id));
        versions.dedup_by_key(|v| v.id);
    }
    Ok((names, found))
}

/// Names of pacticipants by id, in one query.
async fn pacticipant_names(
    reader: &mut dyn Reader,
    ids: &[i64],
) -> StoreResult<HashMap<i64, String>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut query = Query::new(format!(
        "SELECT id, name FROM pacticipants WHERE id IN ({})",
        placeholders(ids.len())
    ));
    for id in ids {
        query = query.bind(*id);
    }
    reader
        .fetch_all(query)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("name")?)))
        .collect()
}

fn criteria_of(selector: &VersionSelector) -> Criteria {
    if let Some(number) = &selector.version {
        return Criteria::Number(number.clone());
    }
    if let Some(branch) = &selector.branch {
        return Criteria::Branch {
            name: branch.clone(),
            latest: selector.latest,
        };
    }
    if selector.main_branch {
        return Criteria::MainBranch {
            latest: selector.latest,
        };
    }
    if let Some(environment) = &selector.environment {
        return Criteria::Environment(environment.clone());
    }
    if selector.latest {
        return Criteria::Latest {
            tag: selector.tag.clone(),
        };
    }
    if let Some(tag) = &selector.tag {
        return Criteria::Tag(tag.clone());
    }
    Criteria::Any
}

/// What the scope asks of the versions of the other side of an integration.
fn inferred_criteria(scope: &Scope) -> Criteria {
    match scope {
        Scope::Latest { tag } => Criteria::Latest { tag: tag.clone() },
        Scope::Environment(e) => Criteria::Environment(e.clone()),
        Scope::MainBranch => Criteria::MainBranch { latest: true },
    }
}

/// The ids of the named pacticipants and environments, in one query;
/// names that do not exist are missing from the maps.
async fn named_ids(
    reader: &mut dyn Reader,
    pacticipants: &[&str],
    environments: &[&str],
) -> StoreResult<(HashMap<String, i64>, HashMap<String, i64>)> {
    let mut query = Query::new(format!(
        "SELECT CAST(1 AS BIGINT) AS is_pacticipant, name, id FROM pacticipants WHERE name IN ({})
         UNION ALL
         SELECT CAST(0 AS BIGINT) AS is_pacticipant, name, id FROM environments WHERE name IN ({})",
        placeholders(pacticipants.len()),
        placeholders(environments.len())
    ));
    // `placeholders` gives at least one `?`: an empty list binds NULL, which
    // matches no name.
    for names in [pacticipants, environments] {
        if names.is_empty() {
            query = query.bind(None::<&str>);
        }
        for name in names {
            query = query.bind(*name);
        }
    }
    let mut found = (HashMap::new(), HashMap::new());
    for row in reader.fetch_all(query).await? {
        let is_pacticipant: i64 = row.try_get("is_pacticipant")?;
        let map = if is_pacticipant == 1 {
            &mut found.0
        } else {
            &mut found.1
        };
        map.insert(row.try_get("name")?, row.try_get("id")?);
    }
    Ok(found)
}

async fn pacticipant_id(reader: &mut dyn Reader, name: &str) -> StoreResult<Option<i64>> {
    let query = Query::new("SELECT id FROM pacticipants WHERE name = ?").bind(name);
    read::first(reader, query, "id").await
}

/// The versions a set of selectors covers, per pacticipant (`None`: all versions).
fn coverage(selectors: &[ResolvedSelector]) -> HashMap<i64, Option<HashSet<i64>>> {
    let mut covered: HashMap<i64, Option<HashSet<i64>>> = HashMap::new();
    for selector in selectors {
        if selector.names_all_versions() {
            covered.insert(selector.pacticipant_id, None);
            continue;
        }
        let entry = covered
            .entry(selector.pacticipant_id)
            .or_insert_with(|| Some(HashSet::new()));
        if let (Some(ids), Some(version)) = (entry.as_mut(), &selector.version) {
            ids.insert(version.id);
        }
    }
    covered
}

fn covers(coverage: &HashMap<i64, Option<HashSet<i64>>>, pacticipant: i64, version: i64) -> bool {
    match coverage.get(&pacticipant) {
        None => false,
        Some(None) => true,
        Some(Some(ids)) => ids.contains(&version),
    }
}

struct PactRow {
    consumer: String,
    consumer_id: i64,
    consumer_version: VersionRef,
    provider: String,
    provider_id: i64,
    content_id: i64,
    sha: String,
    revision: i64,
    created_at: DateTime<Utc>,
}

struct VerificationRow {
    content_id: i64,
    provider_id: i64,
    provider_version: VersionRef,
    verification: VerificationRef,
}

/// Splits a coverage into the pacticipants covered with all their versions
/// and the single versions covered, so a query can filter on both.
fn covered_ids(covered: &HashMap<i64, Option<HashSet<i64>>>) -> (Vec<i64>, Vec<i64>) {
    let mut everything = Vec::new();
    let mut versions = Vec::new();
    for (pacticipant, ids) in covered {
        match ids {
            None => everything.push(*pacticipant),
            Some(ids) => versions.extend(ids.iter().copied()),
        }
    }
    everything.sort_unstable();
    versions.sort_unstable();
    (everything, versions)
}

const PACT_COLUMNS: &str = "SELECT c.name AS consumer, pp.consumer_id, v.id AS version_id, v.number AS version_number,
                pr.name AS provider, pp.provider_id, pp.pact_content_id, pc.sha, pp.revision, pp.created_at
         FROM pact_publications pp
         JOIN pacticipants c ON c.id = pp.consumer_id
         JOIN pacticipants pr ON pr.id = pp.provider_id
         JOIN versions v ON v.id = pp.consumer_version_id
         JOIN pact_contents pc ON pc.id = pp.pact_content_id";

/// The pacts published by the covered consumer versions: with the covered
/// providers only, unless `any_provider`. Filtered in SQL, so the cost
/// follows the versions asked about, not the history.
async fn pacts_of(
    reader: &mut dyn Reader,
    covered: &HashMap<i64, Option<HashSet<i64>>>,
    any_provider: bool,
) -> StoreResult<Vec<PactRow>> {
    let (everything, versions) = covered_ids(covered);
    let providers: Vec<i64> = covered.keys().copied().collect();
    let provider_condition = if any_provider {
        String::new()
    } else {
        format!(" AND pp.provider_id IN ({})", placeholders(providers.len()))
    };
    // One SELECT per kind of coverage, joined by UNION ALL rather than OR:
    // each can then use its index. A consumer is covered either with all its
    // versions or with some, so no pact is found twice.
    let mut parts = Vec::new();
    let mut binds = Vec::new();
    for (column, ids) in [
        ("pp.consumer_id", &everything),
        ("pp.consumer_version_id", &versions),
    ] {
        if ids.is_empty() {
            continue;
        }
        parts.push(format!(
            "{PACT_COLUMNS} WHERE {column} IN ({}){provider_condition}",
            placeholders(ids.len())
        ));
        binds.extend(ids.iter().copied());
        if !any_provider {
            binds.extend(providers.iter().copied());
        }
    }
    if parts.is_empty() {
        return Ok(Vec::new());
    }
    let mut query = Query::new(parts.join(" UNION ALL "));
    for id in binds {
        query = query.bind(id);
    }
    pact_rows(reader.fetch_all(query).await?)
}

/// The pacts with `provider` whose content one of its covered versions
/// verified (all its consumers' pacts when it is covered with every version).
async fn pacts_verified_by(
    reader: &mut dyn Reader,
    provider: i64,
    versions: Option<&HashSet<i64>>,
) -> StoreResult<Vec<PactRow>> {
    let rows = match versions {
        None => {
            let query = Query::new(format!("{PACT_COLUMNS} WHERE pp.provider_id = ?"));
            reader.fetch_all(query.bind(provider)).await?
        }
        Some(versions) if versions.is_empty() => Vec::new(),
        Some(versions) => {
            let mut query = Query::new(format!(
                "{PACT_COLUMNS} WHERE pp.provider_id = ? AND pp.pact_content_id IN
                   (SELECT vr.pact_content_id FROM verifications vr WHERE vr.provider_version_id IN ({}))",
                placeholders(versions.len())
            ))
            .bind(provider);
            for id in versions {
                query = query.bind(*id);
            }
            reader.fetch_all(query).await?
        }
    };
    pact_rows(rows)
}

fn pact_rows(rows: Vec<read::Row>) -> StoreResult<Vec<PactRow>> {
    rows.iter()
        .map(|r| {
            Ok(PactRow {
                consumer: r.try_get("consumer")?,
                consumer_id: r.try_get("consumer_id")?,
                consumer_version: VersionRef {
                    id: r.try_get("version_id")?,
                    number: r.try_get("version_number")?,
                },
                provider: r.try_get("provider")?,
                provider_id: r.try_get("provider_id")?,
                content_id: r.try_get("pact_content_id")?,
                sha: r.try_get("sha")?,
                revision: r.try_get("revision")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
}

/// The verifications of these pact contents; by the covered provider
/// versions only when `providers` is given.
async fn verifications_of(
    reader: &mut dyn Reader,
    content_ids: &[i64],
    providers: Option<&HashMap<i64, Option<HashSet<i64>>>>,
) -> StoreResult<Vec<VerificationRow>> {
    if content_ids.is_empty() {
        return Ok(Vec::new());
    }
    const COLUMNS: &str = "SELECT vr.id, vr.pact_content_id, vr.provider_id, vr.success, vr.execution_date, pv.id AS version_id, pv.number AS version_number
         FROM verifications vr JOIN versions pv ON pv.id = vr.provider_version_id";
    let contents = placeholders(content_ids.len());
    // As in `pacts_of`: UNION ALL, not OR, so that the versions covered one by
    // one are found through the (content, provider version) index.
    let mut parts = Vec::new();
    let mut binds: Vec<i64> = Vec::new();
    match providers.map(covered_ids) {
        None => {
            parts.push(format!(
                "{COLUMNS} WHERE vr.pact_content_id IN ({contents})"
            ));
            binds.extend(content_ids);
        }
        Some((everything, versions)) => {
            for (column, ids) in [
                ("vr.provider_id", everything),
                ("vr.provider_version_id", versions),
            ] {
                if ids.is_empty() {
                    continue;
                }
                parts.push(format!(
                    "{COLUMNS} WHERE vr.pact_content_id IN ({contents}) AND {column} IN ({})",
                    placeholders(ids.len())
                ));
                binds.extend(content_ids);
                binds.extend(ids);
            }
        }
    }
    if parts.is_empty() {
        return Ok(Vec::new());
    }
    let mut query = Query::new(parts.join(" UNION ALL "));
    for id in binds {
        query = query.bind(id);
    }
    let rows = reader.fetch_all(query).await?;
    rows.iter()
        .map(|r| {
            Ok(VerificationRow {
                content_id: r.try_get("pact_content_id")?,
                provider_id: r.try_get("provider_id")?,
                provider_version: VersionRef {
                    id: r.try_get("version_id")?,
                    number: r.try_get("version_number")?,
                },
                verification: VerificationRef {
                    number: r.try_get("id")?,
                    success: r.try_get("success")?,
                    verified_at: r.try_get("execution_date")?,
                },
            })
        })
        .collect()
}

/// How many successful verifiers per pact content and provider a fix may
/// name: the newest, and one more in case the newest is the row's own.
const KNOWN_GOOD_PER_PACT: i64 = 2;

/// The newest provider versions that verified each pact content successfully.
async fn known_good_of(
    reader: &mut dyn Reader,
    pacts: &[PactRow],
) -> StoreResult<Vec<KnownGoodVerifier>> {
    let shas: HashMap<i64, &str> = pacts
        .iter()
        .map(|p| (p.content_id, p.sha.as_str()))
        .collect();
    if shas.is_empty() {
        return Ok(Vec::new());
    }
    // Per content, the newest successful verifications straight from the
    // (content, success, id) index: one scalar subquery per content and rank
    // (a content belongs to one provider). A correlated `IN (... LIMIT n)` in
    // a join made PostgreSQL filter every verification instead.
    let contents = placeholders(shas.len());
    let ranks: Vec<String> = (0..KNOWN_GOOD_PER_PACT)
        .map(|rank| {
            format!(
                "SELECT (SELECT newest.id FROM verifications newest
                         WHERE newest.pact_content_id = pc.id AND newest.success = ?
                         ORDER BY newest.id DESC LIMIT 1 OFFSET {rank})
                 FROM pact_contents pc WHERE pc.id IN ({contents})"
            )
        })
        .collect();
    let mut query = Query::new(format!(
        "SELECT vr.pact_content_id, vr.provider_id, pv.number
         FROM verifications vr JOIN versions pv ON pv.id = vr.provider_version_id
         WHERE vr.id IN ({})
         ORDER BY vr.pact_content_id, vr.id DESC",
        ranks.join(" UNION ALL ")
    ));
    for _ in 0..KNOWN_GOOD_PER_PACT {
        query = query.bind(true);
        for id in shas.keys() {
            query = query.bind(*id);
        }
    }
    let rows = reader.fetch_all(query).await?;
    rows.iter()
        .map(|r| {
            let content: i64 = r.try_get("pact_content_id")?;
            Ok(KnownGoodVerifier {
                pact_sha: shas.get(&content).copied().unwrap_or_default().to_owned(),
                provider_id: r.try_get("provider_id")?,
                provider_version: r.try_get("number")?,
            })
        })
        .collect()
}

/// The partners of a selected pacticipant, in one query: the providers of
/// the pacts its selected version (or any of its versions) published, and
/// its consumers; each with whether the selected pacticipant is the consumer.
async fn partners_of(
    reader: &mut dyn Reader,
    selector: &ResolvedSelector,
) -> StoreResult<Vec<(i64, bool)>> {
    const CONSUMERS: &str = "SELECT consumer_id AS partner, CAST(0 AS BIGINT) AS as_consumer FROM integrations WHERE provider_id = ?";
    let providers = match &selector.version {
        Some(version) => Some((
            "SELECT provider_id AS partner, CAST(1 AS BIGINT) AS as_consumer FROM pact_publications WHERE consumer_version_id = ?",
            version.id,
        )),
        None if selector.names_all_versions() => Some((
            "SELECT provider_id AS partner, CAST(1 AS BIGINT) AS as_consumer FROM integrations WHERE consumer_id = ?",
            selector.pacticipant_id,
        )),
        None => None,
    };
    let query = match providers {
        Some((providers, id)) => Query::new(format!("{providers} UNION {CONSUMERS}")).bind(id),
        None => Query::new(CONSUMERS),
    };
    let rows = reader
        .fetch_all(query.bind(selector.pacticipant_id))
        .await?;
    rows.iter()
        .map(|r| {
            let as_consumer: i64 = r.try_get("as_consumer")?;
            Ok((r.try_get("partner")?, as_consumer == 1))
        })
        .collect()
}

/// Gathers the evidence for a matrix question on one snapshot.
async fn evidence(
    reader: &mut dyn Reader,
    query: &MatrixQuery,
) -> StoreResult<Result<Evidence, Vec<String>>> {
    let mut errors = Vec::new();
    let mut selectors = Vec::new();
    let mut environments: Vec<&str> = query
        .selectors
        .iter()
        .filter_map(|s| s.environment.as_deref())
        .collect();
    if let Some(Scope::Environment(e)) = &query.scope {
        environments.push(e);
    }
    let pacticipants: Vec<&str> = query
        .selectors
        .iter()
        .map(|s| s.pacticipant.as_str())
        .collect();
    let (pacticipant_ids, environment_ids) =
        named_ids(reader, &pacticipants, &environments).await?;
    let mut specified_ids = Vec::new();
    for selector in &query.selectors {
        match pacticipant_ids.get(&selector.pacticipant) {
            Some(id) => specified_ids.push((selector, *id)),
            None => errors.push(format!("Pacticipant {} not found", selector.pacticipant)),
        }
    }
    for environment in environments {
        if !environment_ids.contains_key(environment) {
            errors.push(format!(
                "Environment with name '{environment}' does not exist"
            ));
        }
    }
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    for (selector, id) in &specified_ids {
        selectors.extend(
            resolve(
                reader,
                &selector.pacticipant,
                *id,
                criteria_of(selector),
                true,
            )
            .await?,
        );
    }

    // Infer the other side of each integration from the scope.
    let specified_pacticipants: BTreeSet<i64> = specified_ids.iter().map(|(_, id)| *id).collect();
    let mut dependencies = Vec::new();
    let single = specified_pacticipants.len() == 1;
    if let Some(scope) = &query.scope {
        let mut partners: BTreeSet<i64> = BTreeSet::new();
        for selector in selectors.clone() {
            if selector.is_missing() {
                continue;
            }
            for (partner, as_consumer) in partners_of(reader, &selector).await? {
                dependencies.push(if as_consumer {
                    Dependency {
                        consumer_id: selector.pacticipant_id,
                        provider_id: partner,
                        required: true,
                    }
                } else {
                    Dependency {
                        consumer_id: partner,
                        provider_id: selector.pacticipant_id,
                        required: false,
                    }
                });
                partners.insert(partner);
            }
        }
        let partners: Vec<i64> = partners
            .difference(&specified_pacticipants)
            .copied()
            .collect();
        let (names, mut in_environment) = match scope {
            Scope::Environment(e) => {
                let (names, found) = partners_in_environment(reader, e, &partners).await?;
                (names, Some(found))
            }
            _ => (pacticipant_names(reader, &partners).await?, None),
        };
        for partner in partners {
            let name = names.get(&partner).map_or("", String::as_str);
            let criteria = inferred_criteria(scope);
            selectors.extend(match in_environment.as_mut() {
                Some(found) => resolved(
                    name,
                    partner,
                    criteria,
                    false,
                    found.remove(&partner).unwrap_or_default(),
                ),
                None => resolve(reader, name, partner, criteria, false).await?,
            });
        }
    } else if !single {
        for selector in &selectors {
            if selector.is_missing() {
                continue;
            }
            for (provider, as_consumer) in partners_of(reader, selector).await? {
                if as_consumer && specified_pacticipants.contains(&provider) {
                    dependencies.push(Dependency {
                        consumer_id: selector.pacticipant_id,
                        provider_id: provider,
                        required: true,
                    });
                }
            }
        }
    }
    dependencies.sort_by_key(|d| (d.consumer_id, d.provider_id, !d.required));
    dependencies.dedup_by_key(|d| (d.consumer_id, d.provider_id));

    // Rows: pacts of the selected consumer versions with the selected
    // providers, each with every verification by a selected provider version.
    let covered = coverage(&selectors);
    let any_partner = single && query.scope.is_none();
    let mut pacts = pacts_of(reader, &covered, any_partner).await?;
    if any_partner {
        // One pacticipant on its own: its pacts as a consumer, and the pacts it verified as a provider.
        if let Some((provider, versions)) = covered.iter().next() {
            pacts.extend(pacts_verified_by(reader, *provider, versions.as_ref()).await?);
        }
    }
    let content_ids: Vec<i64> = pacts
        .iter()
        .map(|p| p.content_id)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    // A lone pacticipant's own pacts keep every verification; otherwise
    // only those by the covered provider versions can make a row.
    let verifications =
        verifications_of(reader, &content_ids, (!any_partner).then_some(&covered)).await?;
    let mut by_pact: HashMap<(i64, i64), Vec<&VerificationRow>> = HashMap::new();
    for verification in &verifications {
        by_pact
            .entry((verification.content_id, verification.provider_id))
            .or_default()
            .push(verification);
    }
    // Without `latestby` only the page is kept, most recent first: each
    // pact's verifications newest first, so that once one is too old for
    // the page, the rest of that pact's are as well.
    let mut newest = NewestRows::for_query(query);
    if newest.is_some() {
        for group in by_pact.values_mut() {
            group.sort_by_key(|v| std::cmp::Reverse(v.verification.verified_at));
        }
    }
    let mut rows = Vec::new();
    for pact in &pacts {
        if !specified_pacticipants.contains(&pact.consumer_id)
            && !specified_pacticipants.contains(&pact.provider_id)
        {
            continue;
        }
        let consumer_selected = covers(&covered, pact.consumer_id, pact.consumer_version.id);
        let mut matching = by_pact
            .get(&(pact.content_id, pact.provider_id))
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .copied()
            .filter(|v| {
                // Rows where the lone pacticipant is the provider: only its own
                // verifications; its own pacts as a consumer: every one.
                (any_partner && consumer_selected)
                    || covers(&covered, v.provider_id, v.provider_version.id)
            })
            .peekable();
        let row = |verification: Option<&VerificationRow>| MatrixRow {
            consumer: pact.consumer.clone(),
            consumer_id: pact.consumer_id,
            consumer_version: pact.consumer_version.clone(),
            provider: pact.provider.clone(),
            provider_id: pact.provider_id,
            provider_version: verification.map(|v| v.provider_version.clone()),
            pact_sha: pact.sha.clone(),
            pact_revision: pact.revision,
            pact_created_at: pact.created_at,
            verification: verification.map(|v| v.verification.clone()),
            ignored: false,
        };
        if matching.peek().is_none() {
            if any_partner && !consumer_selected {
                continue;
            }
            match newest.as_mut() {
                Some(newest) => newest.offer(row(None)),
                None => rows.push(row(None)),
            }
            continue;
        }
        match newest.as_mut() {
            Some(newest) => {
                for v in matching {
                    let at = v.verification.verified_at.max(pact.created_at);
                    if newest.full_before(at) {
                        break;
                    }
                    let rank = RowRank::of(
                        pact.created_at,
                        pact.consumer_version.id,
                        Some((at, v.provider_version.id, v.verification.number)),
                    );
                    if newest.admits(rank) {
                        newest.offer(row(Some(v)));
                    }
                }
            }
            None => rows.extend(matching.map(|v| row(Some(v)))),
        }
    }
    if let Some(newest) = newest {
        rows = newest.into_rows();
    }

    // Known-good verifiers only name a fix for a failed or unverified row.
    let known_good = if rows
        .iter()
        .all(|r| r.verification.as_ref().is_some_and(|v| v.success))
    {
        Vec::new()
    } else {
        known_good_of(reader, &pacts).await?
    };

    let mut ignores = Vec::new();
    for ignore in &query.ignore {
        let pacticipant_id = pacticipant_id(reader, &ignore.pacticipant).await?;
        let version_id = match (&ignore.version, pacticipant_id) {
            (Some(number), Some(pid)) => {
                versions_where(reader, "v.number = ?", &[number], pid, true)
                    .await?
                    .first()
                    .map(|v| v.id)
            }
            _ => None,
        };
        let found = pacticipant_id.is_some() && (ignore.version.is_none() || version_id.is_some());
        ignores.push(ResolvedIgnore {
            selector: ignore.clone(),
            pacticipant_id,
            version_id,
            found,
        });
    }
    Ok(Ok(Evidence {
        selectors,
        ignores,
        dependencies,
        rows,
        known_good,
    }))
}

#[async_trait]
impl MatrixStore for Backend {
    async fn matrix_evidence(
        &self,
        query: &MatrixQuery,
    ) -> StoreResult<Result<Evidence, Vec<String>>> {
        // One read transaction: every query sees the same snapshot.
        let query = query.clone();
        self.read_snapshot(move |reader| Box::pin(async move { evidence(reader, &query).await }))
            .await
    }

    async fn matrix_answer(
        &self,
        query: &MatrixQuery,
    ) -> StoreResult<Result<MatrixAnswer, Vec<String>>> {
        let query = query.clone();
        self.read_snapshot(move |reader| {
            Box::pin(async move {
                let evidence = match evidence(reader, &query).await? {
                    Ok(evidence) => evidence,
                    Err(errors) => return Ok(Err(errors)),
                };
                let matrix = treaty_domain::matrix::evaluate(&query, evidence);
                let ids: BTreeSet<i64> = matrix
                    .rows
                    .iter()
                    .flat_map(|r| {
                        std::iter::once(r.consumer_version.id)
                            .chain(r.provider_version.as_ref().map(|v| v.id))
                    })
                    .collect();
                let versions = versions_with_environments(reader, &ids).await?;
                Ok(Ok(MatrixAnswer { matrix, versions }))
            })
        })
        .await
    }
}

/// Versions by id, each with the environments it is deployed or released to.
async fn versions_with_environments(
    reader: &mut dyn Reader,
    ids: &BTreeSet<i64>,
) -> StoreResult<HashMap<i64, (Version, Vec<Environment>)>> {
    let mut found = HashMap::new();
    if ids.is_empty() {
        return Ok(found);
    }
    // The versions and the environments each is in, in one query (a
    // version in no environment has one row with no environment). The
    // deployments and releases are those of these versions only, found by
    // version: the cost follows the answer, not the ledger's history.
    let list = placeholders(ids.len());
    let env_columns = environment_columns();
    let mut query = Query::new(format!(
        "SELECT ver.*, {env_columns} FROM ({VERSION_SELECT} WHERE v.id IN ({list})) AS ver
         LEFT JOIN (
            SELECT version_id, environment_id FROM currently_deployed WHERE version_id IN ({list})
            UNION ALL SELECT version_id, environment_id FROM released_versions
              WHERE version_id IN ({list}) AND support_ended_at IS NULL) AS x
           ON x.version_id = ver.id
         LEFT JOIN environments e ON e.id = x.environment_id"
    ));
    for _ in 0..3 {
        for id in ids {
            query = query.bind(*id);
        }
    }
    for row in reader.fetch_all(query).await? {
        let version_id: i64 = row.try_get("id")?;
        let (_, environments) = match found.entry(version_id) {
            std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
            std::collections::hash_map::Entry::Vacant(entry) => {
                entry.insert((version_from_row(&row)?, Vec::new()))
            }
        };
        let environment_id: Option<i64> = row.try_get("env_id")?;
        if environment_id.is_some_and(|id| environments.iter().all(|e| e.id != id)) {
            environments.push(environment_from_row(&row, "env_")?);
        }
    }
    // Sorted and deduplicated here rather than by the statement, whose
    // UNION and ORDER BY each built a temporary B-tree for a few rows (a
    // version deployed and released to one environment is there once).
    for (_, environments) in found.values_mut() {
        environments.sort_by(|a, b| a.name.cmp(&b.name));
    }
    Ok(found)
}
