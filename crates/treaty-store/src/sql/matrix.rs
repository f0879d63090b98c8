//! Gathers the evidence for a matrix question from one read snapshot, as
//! the Pact Broker's matrix repository does: resolves the ignore and the
//! specified selectors to versions, finds the integrations they take part
//! in, infers the other side of each from the scope, and loads the pact ×
//! verification rows between the selected versions (the `limit` most recent
//! pacts, and of their rows the `limit` most recent).

use std::collections::{BTreeSet, HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use treaty_domain::matrix::{
    ContractCheck, Evidence, Found, FoundVersion, Integration, KnownGoodVerifier, Mismatch,
    NewestRows, ResolvedSelector, Row as MatrixRow, RowRank, VerificationRef, VersionRef,
};
use treaty_domain::matrix_query::{MatrixQuery, NO_LIMIT, VersionSelector};
use treaty_domain::model::Environment;

use super::Backend;
use super::environments::{environment_columns, environment_from_row};
use super::rows::{ITEM_SEP, VERSION_SELECT, split_list, version_from_row};
use crate::read::{self, Query, Reader};
use crate::{BadgeVersions, MatrixAnswer, MatrixStore, MatrixVersion, PactBadgeFacts, StoreResult};

/// `?, ?, ?` for `n` values.
fn placeholders(n: usize) -> String {
    vec!["?"; n.max(1)].join(", ")
}

const ON_BRANCH_HEAD: &str = "v.id = (SELECT b.head_version_id FROM branches b WHERE b.pacticipant_id = v.pacticipant_id AND b.name = ?)";
const ON_BRANCH: &str = "EXISTS (SELECT 1 FROM branch_versions bv JOIN branches b ON b.id = bv.branch_id WHERE bv.version_id = v.id AND b.name = ?)";
const ON_MAIN_BRANCH_HEAD: &str = "v.id = (SELECT b.head_version_id FROM branches b JOIN pacticipants p ON p.id = b.pacticipant_id
    WHERE b.pacticipant_id = v.pacticipant_id AND b.name = p.main_branch)";
const ON_MAIN_BRANCH: &str = "EXISTS (SELECT 1 FROM branch_versions bv JOIN branches b ON b.id = bv.branch_id JOIN pacticipants p ON p.id = b.pacticipant_id
    WHERE bv.version_id = v.id AND b.name = p.main_branch)";
const HAS_TAG: &str = "EXISTS (SELECT 1 FROM tags t WHERE t.version_id = v.id AND t.name = ?)";
const IN_ENVIRONMENT: &str = "v.id IN (
    SELECT cd.version_id FROM currently_deployed cd JOIN environments e ON e.id = cd.environment_id
    WHERE e.name = ? AND cd.pacticipant_id = ?
    UNION
    SELECT rv.version_id FROM released_versions rv JOIN environments e ON e.id = rv.environment_id
    WHERE e.name = ? AND rv.pacticipant_id = ? AND rv.support_ended_at IS NULL)";

/// The versions of a pacticipant a selector asks for, newest first, as the
/// Pact Broker's `Version.for_selector` finds them: every criterion the
/// selector gives must hold, and `latest` (unless a branch head already
/// chose) keeps the newest. A main-branch selector also learns the branch's
/// name, which its description gives.
async fn versions_for(
    reader: &mut dyn Reader,
    pacticipant_id: i64,
    asked: &VersionSelector,
) -> StoreResult<Vec<FoundVersion>> {
    let mut conditions = vec!["v.pacticipant_id = ?"];
    let mut arguments: Vec<read::Value> = vec![pacticipant_id.into()];
    if let Some(environment) = &asked.environment {
        conditions.push(IN_ENVIRONMENT);
        for _ in 0..2 {
            arguments.push(environment.as_str().into());
            arguments.push(pacticipant_id.into());
        }
    }
    if let Some(tag) = &asked.tag {
        conditions.push(HAS_TAG);
        arguments.push(tag.as_str().into());
    }
    if let Some(number) = &asked.version {
        conditions.push("v.number = ?");
        arguments.push(number.as_str().into());
    }
    if asked.main_branch {
        conditions.push(if asked.latest {
            ON_MAIN_BRANCH_HEAD
        } else {
            ON_MAIN_BRANCH
        });
    }
    if let Some(branch) = &asked.branch {
        conditions.push(if asked.latest {
            ON_BRANCH_HEAD
        } else {
            ON_BRANCH
        });
        arguments.push(branch.as_str().into());
    }
    let newest_only = asked.latest && !asked.main_branch && asked.branch.is_none();
    let main_branch = if asked.main_branch {
        "(SELECT p.main_branch FROM pacticipants p WHERE p.id = v.pacticipant_id)"
    } else {
        "CAST(NULL AS TEXT)"
    };
    let mut query = Query::new(format!(
        "SELECT v.id, v.number, {main_branch} AS main_branch FROM versions v WHERE {} ORDER BY v.id DESC{}",
        conditions.join(" AND "),
        if newest_only { " LIMIT 1" } else { "" }
    ));
    for argument in arguments {
        query = query.bind(argument);
    }
    reader
        .fetch_all(query)
        .await?
        .iter()
        .map(|r| {
            Ok(FoundVersion {
                version: VersionRef {
                    id: r.try_get("id")?,
                    number: r.try_get("number")?,
                },
                main_branch: r.try_get("main_branch")?,
            })
        })
        .collect()
}

/// What a selector's lookup found: `None` when it names only the
/// pacticipant (no lookup: every version).
async fn lookup(
    reader: &mut dyn Reader,
    pacticipant_id: i64,
    asked: &VersionSelector,
) -> StoreResult<Option<Vec<FoundVersion>>> {
    if asked.only_pacticipant_name() {
        return Ok(None);
    }
    versions_for(reader, pacticipant_id, asked).await.map(Some)
}

/// The versions of several pacticipants deployed or released in an
/// environment, in one query, newest first (thirty providers of a hub
/// consumer would otherwise be thirty round trips). Two plain parts joined
/// by UNION ALL, each an index lookup: a UNION or an ORDER BY would build
/// temporary B-trees for a handful of rows.
async fn versions_in_environment(
    reader: &mut dyn Reader,
    environment: &str,
    pacticipant_ids: &[i64],
) -> StoreResult<HashMap<i64, Vec<FoundVersion>>> {
    let mut found: HashMap<i64, Vec<FoundVersion>> = HashMap::new();
    if pacticipant_ids.is_empty() {
        return Ok(found);
    }
    let list = placeholders(pacticipant_ids.len());
    let mut query = Query::new(format!(
        "SELECT cd.pacticipant_id, v.id, v.number
         FROM currently_deployed cd JOIN versions v ON v.id = cd.version_id
         WHERE cd.environment_id = (SELECT id FROM environments WHERE name = ?) AND cd.pacticipant_id IN ({list})
         UNION ALL
         SELECT rv.pacticipant_id, v.id, v.number
         FROM released_versions rv JOIN versions v ON v.id = rv.version_id
         WHERE rv.environment_id = (SELECT id FROM environments WHERE name = ?) AND rv.pacticipant_id IN ({list})
           AND rv.support_ended_at IS NULL"
    ));
    for _ in 0..2 {
        query = query.bind(environment);
        for id in pacticipant_ids {
            query = query.bind(*id);
        }
    }
    for row in reader.fetch_all(query).await? {
        found
            .entry(row.try_get("pacticipant_id")?)
            .or_default()
            .push(FoundVersion {
                version: VersionRef {
                    id: row.try_get("id")?,
                    number: row.try_get("number")?,
                },
                main_branch: None,
            });
    }
    // Newest first, and a version both deployed and released there once.
    for versions in found.values_mut() {
        versions.sort_by_key(|v| std::cmp::Reverse(v.version.id));
        versions.dedup_by_key(|v| v.version.id);
    }
    Ok(found)
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

/// The versions a set of selectors covers, per pacticipant (`None`: all
/// versions; an empty set: none, but the pacticipant is still one of the
/// query's).
fn coverage(selectors: &[ResolvedSelector]) -> HashMap<i64, Option<HashSet<i64>>> {
    let mut covered: HashMap<i64, Option<HashSet<i64>>> = HashMap::new();
    for selector in selectors {
        let Some(pacticipant) = selector.pacticipant_id else {
            continue;
        };
        if selector.names_all_versions() {
            covered.insert(pacticipant, None);
            continue;
        }
        let entry = covered
            .entry(pacticipant)
            .or_insert_with(|| Some(HashSet::new()));
        if let (Some(ids), Some(version)) = (entry.as_mut(), selector.version()) {
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
    publication_id: i64,
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
    /// For a bi-directional row not compared yet: number -1, when the
    /// contract was published, and `compared` false.
    verification: VerificationRef,
    /// Set on a bi-directional row (a provider contract compared with the pact).
    contract: Option<ContractCheck>,
    compared: bool,
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

const PACT_COLUMNS: &str = "SELECT pp.id AS publication_id, c.name AS consumer, pp.consumer_id, v.id AS version_id, v.number AS version_number,
                pr.name AS provider, pp.provider_id, pp.pact_content_id, pc.sha, pp.revision, pp.created_at
         FROM pact_publications pp
         JOIN pacticipants c ON c.id = pp.consumer_id
         JOIN pacticipants pr ON pr.id = pp.provider_id
         JOIN versions v ON v.id = pp.consumer_version_id
         JOIN pact_contents pc ON pc.id = pp.pact_content_id";

/// A part of a pacts query, cut to the `limit` most recently published
/// pacts when there is a limit (the Pact Broker limits the pacts before it
/// joins their verifications): the limit is its last argument.
fn most_recent(part: String, limit: u32, alias: &str) -> String {
    if limit == NO_LIMIT {
        part
    } else {
        format!("SELECT * FROM ({part} ORDER BY pp.created_at DESC, pp.id DESC LIMIT ?) AS {alias}")
    }
}

/// The limit's argument, when [`most_recent`] asks for one.
fn limit_argument(limit: u32) -> Option<i64> {
    (limit != NO_LIMIT).then_some(i64::from(limit))
}

/// The pacts published by the covered consumer versions: with the covered
/// providers only, unless `any_provider`. Filtered in SQL, so the cost
/// follows the versions asked about, not the history.
async fn pacts_of(
    reader: &mut dyn Reader,
    covered: &HashMap<i64, Option<HashSet<i64>>>,
    any_provider: bool,
    limit: u32,
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
    let by_pairs = newest_pacts_of_pairs(&everything, (!any_provider).then_some(&providers), limit);
    let consumers_by_pair = by_pairs.is_some();
    if let Some((part, pair_binds)) = by_pairs {
        parts.push(part);
        binds.extend(pair_binds);
    }
    for (column, ids, alias) in [
        ("pp.consumer_id", &everything, "by_consumer"),
        ("pp.consumer_version_id", &versions, "by_version"),
    ] {
        if ids.is_empty() || (consumers_by_pair && column == "pp.consumer_id") {
            continue;
        }
        parts.push(most_recent(
            format!(
                "{PACT_COLUMNS} WHERE {column} IN ({}){provider_condition}",
                placeholders(ids.len())
            ),
            limit,
            alias,
        ));
        binds.extend(ids.iter().copied());
        if !any_provider {
            binds.extend(providers.iter().copied());
        }
        binds.extend(limit_argument(limit));
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

/// The most pairs a page's pacts are looked up pair by pair for (each
/// pair's newest from the index); beyond it one statement sorts them all.
const MOST_PAIRS_ONE_BY_ONE: usize = 16;

/// The `limit` most recently published pacts of the consumers covered with
/// all their versions, with the covered providers: the newest of each pair
/// straight from the (consumer, provider, created_at, id) index, then the
/// newest of those. A page then reads what it shows, not the pair's whole
/// history. `None` when there is no limit, no such consumer, no provider
/// list (a lone selector's pacts are with any provider) or too many pairs.
fn newest_pacts_of_pairs(
    consumers: &[i64],
    providers: Option<&Vec<i64>>,
    limit: u32,
) -> Option<(String, Vec<i64>)> {
    let limit = limit_argument(limit)?;
    let providers = providers?;
    let pairs = consumers.len() * providers.len();
    if pairs == 0 || pairs > MOST_PAIRS_ONE_BY_ONE {
        return None;
    }
    let mut newest_of_pairs = Vec::new();
    let mut binds = Vec::new();
    for consumer in consumers {
        for provider in providers {
            newest_of_pairs.push(format!(
                "SELECT * FROM (SELECT pair.id FROM pact_publications pair
                   WHERE pair.consumer_id = ? AND pair.provider_id = ?
                   ORDER BY pair.created_at DESC, pair.id DESC LIMIT ?) AS pair_{}",
                newest_of_pairs.len()
            ));
            binds.extend([*consumer, *provider, limit]);
        }
    }
    binds.push(limit);
    Some((
        format!(
            "SELECT * FROM ({PACT_COLUMNS} WHERE pp.id IN ({})
               ORDER BY pp.created_at DESC, pp.id DESC LIMIT ?) AS by_pair",
            newest_of_pairs.join(" UNION ALL ")
        ),
        binds,
    ))
}

/// The pacts with `provider` whose content one of its covered versions
/// verified (all its consumers' pacts when it is covered with every version).
async fn pacts_verified_by(
    reader: &mut dyn Reader,
    provider: i64,
    versions: Option<&HashSet<i64>>,
    limit: u32,
) -> StoreResult<Vec<PactRow>> {
    let rows = match versions {
        None => {
            let mut query = Query::new(most_recent(
                format!("{PACT_COLUMNS} WHERE pp.provider_id = ?"),
                limit,
                "verified",
            ))
            .bind(provider);
            if let Some(limit) = limit_argument(limit) {
                query = query.bind(limit);
            }
            reader.fetch_all(query).await?
        }
        Some(versions) if versions.is_empty() => Vec::new(),
        Some(versions) => {
            let mut query = Query::new(most_recent(
                format!(
                    "{PACT_COLUMNS} WHERE pp.provider_id = ? AND pp.pact_content_id IN
                       (SELECT vr.pact_content_id FROM verifications vr WHERE vr.provider_version_id IN ({}))",
                    placeholders(versions.len())
                ),
                limit,
                "verified",
            ))
            .bind(provider);
            for id in versions {
                query = query.bind(*id);
            }
            if let Some(limit) = limit_argument(limit) {
                query = query.bind(limit);
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
                publication_id: r.try_get("publication_id")?,
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

async fn verifications_of(
    reader: &mut dyn Reader,
    content_ids: &[i64],
    providers: Option<&HashMap<i64, Option<HashSet<i64>>>>,
) -> StoreResult<Vec<VerificationRow>> {
    if content_ids.is_empty() {
        return Ok(Vec::new());
    }
    let contents = placeholders(content_ids.len());
    // As in `pacts_of`: UNION ALL, not OR, so that the versions covered one by
    // one are found through the (content, provider version) index.
    let mut parts = Vec::new();
    let mut binds: Vec<i64> = Vec::new();
    match providers.map(covered_ids) {
        None => {
            parts.push(format!(
                "{VERIFICATION_COLUMNS} WHERE vr.pact_content_id IN ({contents})"
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
                    "{VERIFICATION_COLUMNS} WHERE vr.pact_content_id IN ({contents}) AND {column} IN ({})",
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
    verification_rows(reader.fetch_all(query).await?)
}

/// The longest id list whose statement text is kept prepared: a
/// can-i-deploy's partners in an environment, a version or two.
const SHORT_LIST: usize = 16;

const VERIFICATION_COLUMNS: &str = "SELECT vr.id, vr.pact_content_id, vr.provider_id, vr.success, vr.execution_date, pv.id AS version_id, pv.number AS version_number
         FROM verifications vr JOIN versions pv ON pv.id = vr.provider_version_id";

/// Whether the contents have fewer than `cap` verifications, counted on
/// an index alone and no further than `cap`.
async fn fewer_verifications_than(
    reader: &mut dyn Reader,
    content_ids: &[i64],
    cap: i64,
) -> StoreResult<bool> {
    if content_ids.is_empty() {
        return Ok(true);
    }
    let mut query = Query::new(format!(
        "SELECT COUNT(*) AS n FROM (SELECT vr.id FROM verifications vr WHERE vr.pact_content_id IN ({}) LIMIT ?) AS few",
        placeholders(content_ids.len())
    ));
    for id in content_ids {
        query = query.bind(*id);
    }
    let mut counted: i64 = 0;
    for row in reader.fetch_all(query.bind(cap)).await? {
        counted = row.try_get("n")?;
    }
    Ok(counted < cap)
}

fn verification_rows(rows: Vec<read::Row>) -> StoreResult<Vec<VerificationRow>> {
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
                contract: None,
                compared: true,
            })
        })
        .collect()
}

/// The errors of a comparison's findings (PactFlow's `Result` shape), as
/// the verdict names them.
fn mismatches(findings: &str) -> Vec<Mismatch> {
    let Ok(serde_json::Value::Array(findings)) = serde_json::from_str(findings) else {
        return Vec::new();
    };
    let text = |value: &serde_json::Value, pointer: &str| {
        value
            .pointer(pointer)
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
    };
    findings
        .iter()
        .filter(|f| f.get("type").and_then(serde_json::Value::as_str) == Some("error"))
        .map(|f| Mismatch {
            code: text(f, "/code").unwrap_or_default(),
            message: text(f, "/message").unwrap_or_default(),
            interaction: text(f, "/mockDetails/interactionDescription"),
            pact_location: text(f, "/mockDetails/location"),
            spec_location: text(f, "/specDetails/location"),
        })
        .collect()
}

/// The bi-directional rows' evidence: the provider contracts of the covered
/// provider versions (of the pacts' providers, every version when a lone
/// selector asks) with their comparisons to each pact. A lone selector's
/// pacts get only the contracts already compared with them, as they get
/// only the verifications that exist.
async fn contracts_of(
    reader: &mut dyn Reader,
    pacts: &[PactRow],
    providers: Option<&HashMap<i64, Option<HashSet<i64>>>>,
) -> StoreResult<Vec<VerificationRow>> {
    let pact_providers: BTreeSet<i64> = pacts.iter().map(|p| p.provider_id).collect();
    if pact_providers.is_empty() {
        return Ok(Vec::new());
    }
    const COLUMNS: &str =
        "SELECT c.id, c.provider_id, pv.id AS version_id, pv.number AS version_number, pcc.sha,
           c.self_verification_success, c.created_at
         FROM provider_contracts c
         JOIN provider_contract_contents pcc ON pcc.id = c.content_id
         JOIN versions pv ON pv.id = c.provider_version_id";
    let mut parts = Vec::new();
    let mut binds: Vec<i64> = Vec::new();
    match providers.map(covered_ids) {
        None => {
            let ids: Vec<i64> = pact_providers.iter().copied().collect();
            parts.push(format!(
                "{COLUMNS} WHERE c.provider_id IN ({})",
                placeholders(ids.len())
            ));
            binds.extend(ids);
        }
        Some((everything, versions)) => {
            let everything: Vec<i64> = everything
                .into_iter()
                .filter(|id| pact_providers.contains(id))
                .collect();
            for (column, ids) in [
                ("c.provider_id", everything),
                ("c.provider_version_id", versions),
            ] {
                if ids.is_empty() {
                    continue;
                }
                parts.push(format!(
                    "{COLUMNS} WHERE {column} IN ({})",
                    placeholders(ids.len())
                ));
                binds.extend(ids);
            }
        }
    }
    if parts.is_empty() {
        return Ok(Vec::new());
    }
    let mut query = Query::new(parts.join(" UNION ALL ")).one_off_beyond(binds.len(), SHORT_LIST);
    for id in binds {
        query = query.bind(id);
    }
    struct Contract {
        id: i64,
        provider_id: i64,
        version: VersionRef,
        sha: String,
        self_verified: bool,
        created_at: DateTime<Utc>,
    }
    let mut contracts = Vec::new();
    for r in reader.fetch_all(query).await? {
        contracts.push(Contract {
            id: r.try_get("id")?,
            provider_id: r.try_get("provider_id")?,
            version: VersionRef {
                id: r.try_get("version_id")?,
                number: r.try_get("version_number")?,
            },
            sha: r.try_get("sha")?,
            self_verified: r.try_get("self_verification_success")?,
            created_at: r.try_get("created_at")?,
        });
    }
    if contracts.is_empty() {
        return Ok(Vec::new());
    }
    // The comparisons of the pairs, each found by its full key.
    let mut pairs: BTreeSet<(&str, &str)> = BTreeSet::new();
    for pact in pacts {
        for contract in contracts
            .iter()
            .filter(|c| c.provider_id == pact.provider_id)
        {
            pairs.insert((pact.sha.as_str(), contract.sha.as_str()));
        }
    }
    /// A computed comparison, by (pact sha, contract sha).
    struct Compared {
        id: i64,
        success: bool,
        at: DateTime<Utc>,
        mismatches: Vec<Mismatch>,
    }
    let mut comparisons: HashMap<(String, String), Compared> = HashMap::new();
    let pairs: Vec<(&str, &str)> = pairs.into_iter().collect();
    for chunk in pairs.chunks(200) {
        let text = vec![
            "SELECT id, pact_sha, contract_sha, success, findings, created_at FROM contract_comparisons WHERE pact_sha = ? AND contract_sha = ?";
            chunk.len()
        ]
        .join(" UNION ALL ");
        let mut query = Query::new(text).one_off();
        for (pact_sha, contract_sha) in chunk {
            query = query.bind(*pact_sha).bind(*contract_sha);
        }
        for r in reader.fetch_all(query).await? {
            let findings: String = r.try_get("findings")?;
            comparisons.insert(
                (r.try_get("pact_sha")?, r.try_get("contract_sha")?),
                Compared {
                    id: r.try_get("id")?,
                    success: r.try_get("success")?,
                    at: r.try_get("created_at")?,
                    mismatches: mismatches(&findings),
                },
            );
        }
    }
    let lone = providers.is_none();
    let mut rows = Vec::new();
    let mut seen: HashSet<(i64, i64, i64)> = HashSet::new();
    for pact in pacts {
        for contract in contracts
            .iter()
            .filter(|c| c.provider_id == pact.provider_id)
        {
            if !seen.insert((pact.content_id, pact.provider_id, contract.id)) {
                continue;
            }
            let compared = comparisons.get(&(pact.sha.clone(), contract.sha.clone()));
            if lone && compared.is_none() {
                continue;
            }
            let (verification, mismatches) = match compared {
                Some(compared) => (
                    VerificationRef {
                        number: compared.id,
                        success: compared.success && contract.self_verified,
                        verified_at: compared.at,
                    },
                    compared.mismatches.clone(),
                ),
                None => (
                    VerificationRef {
                        number: -1,
                        success: false,
                        verified_at: contract.created_at,
                    },
                    Vec::new(),
                ),
            };
            rows.push(VerificationRow {
                content_id: pact.content_id,
                provider_id: pact.provider_id,
                provider_version: contract.version.clone(),
                verification,
                contract: Some(ContractCheck {
                    self_verified: contract.self_verified,
                    mismatches,
                }),
                compared: compared.is_some(),
            });
        }
    }
    Ok(rows)
}

/// The specified versions whose provider contract failed its own tests.
async fn failed_self_verifications(
    reader: &mut dyn Reader,
    selectors: &[ResolvedSelector],
) -> StoreResult<Vec<(String, String)>> {
    let versions: Vec<(&str, i64)> = selectors
        .iter()
        .filter(|s| s.specified)
        .filter_map(|s| s.version().map(|v| (s.pacticipant.as_str(), v.id)))
        .collect();
    if versions.is_empty() {
        return Ok(Vec::new());
    }
    let mut query = Query::new(format!(
        "SELECT c.provider_version_id, v.number FROM provider_contracts c JOIN versions v ON v.id = c.provider_version_id
         WHERE c.self_verification_success = ? AND c.provider_version_id IN ({})",
        placeholders(versions.len())
    ))
    .one_off_beyond(versions.len(), SHORT_LIST)
    .bind(false);
    for (_, id) in &versions {
        query = query.bind(*id);
    }
    let mut failed = Vec::new();
    for r in reader.fetch_all(query).await? {
        let id: i64 = r.try_get("provider_version_id")?;
        let number: String = r.try_get("number")?;
        if let Some((name, _)) = versions.iter().find(|(_, v)| *v == id) {
            failed.push(((*name).to_owned(), number));
        }
    }
    Ok(failed)
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

/// The integrations a specified selector takes part in, in one query: as
/// consumer, with the providers of the pacts its version (or any of its
/// versions) published, which it requires; as provider, with every consumer
/// of its (which it does not require: they may not be deployed yet).
async fn integrations_of(
    reader: &mut dyn Reader,
    selector: &ResolvedSelector,
) -> StoreResult<Vec<Integration>> {
    let Some(pacticipant_id) = selector.pacticipant_id else {
        return Ok(Vec::new());
    };
    const CONSUMERS: &str =
        "SELECT i.consumer_id AS partner, p.name, CAST(0 AS BIGINT) AS as_consumer
        FROM integrations i JOIN pacticipants p ON p.id = i.consumer_id WHERE i.provider_id = ?";
    let providers = match &selector.found {
        Found::Version(version) => Some((
            "SELECT pp.provider_id AS partner, p.name, CAST(1 AS BIGINT) AS as_consumer
             FROM pact_publications pp JOIN pacticipants p ON p.id = pp.provider_id WHERE pp.consumer_version_id = ?",
            version.id,
        )),
        Found::AllVersions => Some((
            "SELECT i.provider_id AS partner, p.name, CAST(1 AS BIGINT) AS as_consumer
             FROM integrations i JOIN pacticipants p ON p.id = i.provider_id WHERE i.consumer_id = ?",
            pacticipant_id,
        )),
        Found::NoVersion | Found::NoPacticipant => None,
    };
    let query = match providers {
        Some((providers, id)) => Query::new(format!("{providers} UNION {CONSUMERS}")).bind(id),
        None => Query::new(CONSUMERS),
    };
    let rows = reader.fetch_all(query.bind(pacticipant_id)).await?;
    rows.iter()
        .map(|r| {
            let as_consumer: i64 = r.try_get("as_consumer")?;
            let partner: i64 = r.try_get("partner")?;
            let name: String = r.try_get("name")?;
            let me = (selector.pacticipant.clone(), pacticipant_id);
            let other = (name, partner);
            let ((consumer, consumer_id), (provider, provider_id)) = if as_consumer == 1 {
                (me, other)
            } else {
                (other, me)
            };
            Ok(Integration {
                consumer,
                consumer_id,
                provider,
                provider_id,
                required: as_consumer == 1,
            })
        })
        .collect()
}

/// The integrations of a matrix question, as the Pact Broker finds them:
/// with a scope (or one specified selector), every integration a specified
/// selector takes part in; otherwise only those between the specified
/// pacticipants, each required. Sorted by consumer, then provider.
async fn integrations(
    reader: &mut dyn Reader,
    specified: &[ResolvedSelector],
    involving_any: bool,
) -> StoreResult<Vec<Integration>> {
    let specified_ids: HashSet<i64> = specified.iter().filter_map(|s| s.pacticipant_id).collect();
    let mut found: Vec<Integration> = Vec::new();
    for selector in specified {
        for integration in integrations_of(reader, selector).await? {
            if involving_any
                || (integration.required && specified_ids.contains(&integration.provider_id))
            {
                found.push(integration);
            }
        }
    }
    // One per pair, required when any of its sources requires it.
    found.sort_by(|a, b| {
        (&a.consumer, &a.provider, !a.required).cmp(&(&b.consumer, &b.provider, !b.required))
    });
    found.dedup_by(|later, kept| {
        (later.consumer_id, later.provider_id) == (kept.consumer_id, kept.provider_id)
    });
    Ok(found)
}

/// Gathers the evidence for a matrix question on one snapshot.
async fn evidence(
    reader: &mut dyn Reader,
    query: &MatrixQuery,
) -> StoreResult<Result<Evidence, Vec<String>>> {
    let scope_environment = query.scope.as_ref().and_then(|s| s.environment.as_deref());
    let names: Vec<&str> = query
        .selectors
        .iter()
        .map(|s| s.pacticipant.as_str())
        .chain(query.ignore.iter().map(|i| i.pacticipant.as_str()))
        .collect();
    let (pacticipant_ids, environment_ids) =
        named_ids(reader, &names, scope_environment.as_slice()).await?;
    let mut errors: Vec<String> = query
        .selectors
        .iter()
        .filter(|s| !pacticipant_ids.contains_key(&s.pacticipant))
        .map(|s| format!("Pacticipant {} not found", s.pacticipant))
        .collect();
    if let Some(environment) = scope_environment
        && !environment_ids.contains_key(environment)
    {
        errors.push(format!(
            "Environment with name '{environment}' does not exist"
        ));
    }
    if !errors.is_empty() {
        return Ok(Err(errors));
    }

    // The ignore selectors first: they mark the others.
    let mut ignores = Vec::new();
    for ignore in &query.ignore {
        let asked = VersionSelector {
            pacticipant: ignore.pacticipant.clone(),
            version: ignore.version.clone(),
            ..VersionSelector::default()
        };
        let id = pacticipant_ids.get(&ignore.pacticipant).copied();
        let versions = match id {
            Some(id) => lookup(reader, id, &asked).await?,
            None => None,
        };
        ignores.push(ResolvedSelector::ignore(&asked, id, versions));
    }

    let mut specified = Vec::new();
    for selector in &query.selectors {
        let id = pacticipant_ids[&selector.pacticipant];
        let versions = lookup(reader, id, selector).await?;
        specified.extend(ResolvedSelector::resolve(
            &selector.pacticipant,
            id,
            selector,
            versions,
            true,
            &ignores,
        ));
    }

    let integrations = integrations(
        reader,
        &specified,
        query.scope.is_some() || specified.len() == 1,
    )
    .await?;

    // The other side of each integration, as the scope selects it.
    let mut selectors = specified;
    if let Some(scope) = &query.scope {
        let specified_names: HashSet<&str> =
            selectors.iter().map(|s| s.pacticipant.as_str()).collect();
        let mut partners: Vec<(String, i64)> = Vec::new();
        for integration in &integrations {
            for partner in [
                (&integration.consumer, integration.consumer_id),
                (&integration.provider, integration.provider_id),
            ] {
                if !specified_names.contains(partner.0.as_str())
                    && partners.iter().all(|(_, id)| *id != partner.1)
                {
                    partners.push((partner.0.clone(), partner.1));
                }
            }
        }
        let mut in_environment = match &scope.environment {
            Some(environment) => {
                let ids: Vec<i64> = partners.iter().map(|(_, id)| *id).collect();
                Some(versions_in_environment(reader, environment, &ids).await?)
            }
            None => None,
        };
        let mut inferred = Vec::new();
        for (name, id) in &partners {
            let asked = scope.selector_for(name);
            let versions = match in_environment.as_mut() {
                // An environment is never given with latest, a tag or the main branch.
                Some(found) => Some(found.remove(id).unwrap_or_default()),
                None => lookup(reader, *id, &asked).await?,
            };
            inferred.extend(ResolvedSelector::resolve(
                name, *id, &asked, versions, false, &ignores,
            ));
        }
        selectors.extend(inferred);
    }

    let rows_and_pacts = rows(reader, query, &selectors).await?;
    let (rows, pacts) = rows_and_pacts;

    // Known-good verifiers only name a fix for a failed or unverified row.
    let known_good = if rows
        .iter()
        .all(|r| r.verification.as_ref().is_some_and(|v| v.success))
    {
        Vec::new()
    } else {
        known_good_of(reader, &pacts).await?
    };
    let failed_self_verifications = failed_self_verifications(reader, &selectors).await?;
    Ok(Ok(Evidence {
        selectors,
        ignores,
        integrations,
        rows,
        known_good,
        failed_self_verifications,
    }))
}

/// The pact × verification rows between the selected versions, and the
/// pacts they came from. With one selector, its pacts as consumer with
/// every verification, and the pacts its versions verified as provider;
/// with several, the pacts between the selected versions with the
/// verifications by selected versions (a pact none of them verified is one
/// row without a verification). With `latestby`, only the newest
/// verification per pact content and provider version counts.
async fn rows(
    reader: &mut dyn Reader,
    query: &MatrixQuery,
    selectors: &[ResolvedSelector],
) -> StoreResult<(Vec<MatrixRow>, Vec<PactRow>)> {
    let one_selector = selectors.len() == 1;
    let covered = coverage(selectors);
    let mut pacts = pacts_of(reader, &covered, one_selector, query.limit).await?;
    if one_selector && let Some((provider, versions)) = covered.iter().next() {
        let known: HashSet<i64> = pacts.iter().map(|p| p.publication_id).collect();
        pacts.extend(
            pacts_verified_by(reader, *provider, versions.as_ref(), query.limit)
                .await?
                .into_iter()
                .filter(|p| !known.contains(&p.publication_id)),
        );
    }
    let pairing = Pairing {
        one_selector,
        specified_ids: selectors
            .iter()
            .filter(|s| s.specified)
            .filter_map(|s| s.pacticipant_id)
            .collect(),
        covered,
    };
    let rows = match NewestRows::for_query(query) {
        // `latestby` needs every verification of a provider version to know
        // its newest: a page with it reads them all.
        Some(_) if query.latest_by.is_none() => page_rows(reader, query, &pairing, &pacts).await?,
        _ => all_rows(reader, query, &pairing, &pacts).await?,
    };
    Ok((rows, pacts))
}

/// What decides which pacts and verifications make rows.
struct Pairing {
    one_selector: bool,
    specified_ids: BTreeSet<i64>,
    covered: HashMap<i64, Option<HashSet<i64>>>,
}

impl Pairing {
    /// With several selectors a pact makes rows only if a specified
    /// pacticipant is its consumer or provider.
    fn shows(&self, pact: &PactRow) -> bool {
        self.one_selector
            || self.specified_ids.contains(&pact.consumer_id)
            || self.specified_ids.contains(&pact.provider_id)
    }

    fn consumer_selected(&self, pact: &PactRow) -> bool {
        covers(&self.covered, pact.consumer_id, pact.consumer_version.id)
    }

    /// Whether a verification of the pact's content makes a row with it.
    fn pairs(&self, pact: &PactRow, verification: &VerificationRow) -> bool {
        (self.one_selector && self.consumer_selected(pact))
            || covers(
                &self.covered,
                verification.provider_id,
                verification.provider_version.id,
            )
    }
}

/// Every row, or with `latestby` the page of them: every verification of
/// the pacts' contents is read.
async fn all_rows(
    reader: &mut dyn Reader,
    query: &MatrixQuery,
    pairing: &Pairing,
    pacts: &[PactRow],
) -> StoreResult<Vec<MatrixRow>> {
    // One selector's own pacts keep every verification; otherwise only
    // those by the covered provider versions can make a row.
    let mut verifications = verifications_of(
        reader,
        &content_ids_of(pacts),
        (!pairing.one_selector).then_some(&pairing.covered),
    )
    .await?;
    if query.latest_by.is_some() {
        let mut newest: HashMap<(i64, i64), i64> = HashMap::new();
        for v in &verifications {
            let number = newest
                .entry((v.content_id, v.provider_version.id))
                .or_insert(v.verification.number);
            *number = (*number).max(v.verification.number);
        }
        verifications.retain(|v| {
            newest.get(&(v.content_id, v.provider_version.id)) == Some(&v.verification.number)
        });
    }
    // Bi-directional rows after `latestby`'s pruning: their numbers are
    // comparisons', not verifications', and there is one per contract.
    verifications.extend(
        contracts_of(
            reader,
            pacts,
            (!pairing.one_selector).then_some(&pairing.covered),
        )
        .await?,
    );
    let mut newest = NewestRows::for_query(query);
    let rows = rows_from(pairing, pacts, verifications.iter(), newest.as_mut());
    Ok(match newest {
        Some(newest) => newest.into_rows(),
        None => rows,
    })
}

/// The distinct pact contents of the pacts, in order.
fn content_ids_of(pacts: &[PactRow]) -> Vec<i64> {
    pacts
        .iter()
        .map(|p| p.content_id)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// The rows of the pacts with their verifications: every row, or, offered
/// to `newest`, the page it keeps (most recent first; then none returned).
fn rows_from<'a>(
    pairing: &Pairing,
    pacts: &[PactRow],
    verifications: impl Iterator<Item = &'a VerificationRow>,
    mut newest: Option<&mut NewestRows>,
) -> Vec<MatrixRow> {
    let mut by_pact: HashMap<(i64, i64), Vec<&VerificationRow>> = HashMap::new();
    for verification in verifications {
        by_pact
            .entry((verification.content_id, verification.provider_id))
            .or_default()
            .push(verification);
    }
    // With a limit only the page is kept, most recent first: each pact's
    // verifications newest first, so that once one is too old for the
    // page, the rest of that pact's are as well.
    if newest.is_some() {
        for group in by_pact.values_mut() {
            group.sort_by_key(|v| std::cmp::Reverse(v.verification.verified_at));
        }
    }
    let mut rows = Vec::new();
    for pact in pacts {
        if !pairing.shows(pact) {
            continue;
        }
        let consumer_selected = pairing.consumer_selected(pact);
        let mut matching = by_pact
            .get(&(pact.content_id, pact.provider_id))
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .copied()
            .filter(|v| pairing.pairs(pact, v))
            .peekable();
        let row = |verification: Option<&VerificationRow>| MatrixRow {
            consumer: pact.consumer.clone(),
            consumer_id: pact.consumer_id,
            consumer_version: pact.consumer_version.clone(),
            provider: pact.provider.clone(),
            provider_id: pact.provider_id,
            provider_version: verification.map(|v| v.provider_version.clone()),
            pact_publication_id: pact.publication_id,
            pact_sha: pact.sha.clone(),
            pact_revision: pact.revision,
            pact_created_at: pact.created_at,
            verification: verification
                .filter(|v| v.compared)
                .map(|v| v.verification.clone()),
            ignored: false,
            contract: verification.and_then(|v| v.contract.clone()),
        };
        if matching.peek().is_none() {
            // A pact the lone selector only verified is found through its
            // verifications: without one, it is no row.
            if pairing.one_selector && !consumer_selected {
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
                        pact.publication_id,
                        Some((v.verification.verified_at, v.verification.number)),
                    );
                    if newest.admits(rank) {
                        newest.offer(row(Some(v)));
                    }
                }
            }
            None => rows.extend(matching.map(|v| row(Some(v)))),
        }
    }
    rows
}

/// A page without `latestby`: the same rows as [`all_rows`] keeps, but when
/// the pacts' contents have more than a few pages of verifications, each
/// content's are read newest first, `limit` of them at first, and deeper
/// (twice as deep each time) only while a verification not read yet could
/// still make a row of the page. A busy pair's page then reads about a page
/// of verifications, not the pair's whole history.
///
/// What was not read yet bounds what it could make: its verifications ran
/// no later than the last one read (the walk is in (execution date, id)
/// order) and their numbers are at most the greatest number not read. A
/// pact's rows from them rank at most [`RowRank::of`] those bounds, so once
/// the page is full of rows ranked above that, they cannot change it.
async fn page_rows(
    reader: &mut dyn Reader,
    query: &MatrixQuery,
    pairing: &Pairing,
    pacts: &[PactRow],
) -> StoreResult<Vec<MatrixRow>> {
    // A history of a few pages is read whole, as `all_rows` reads it: one
    // plain statement costs less than the walk's bookkeeping per content.
    let cap = i64::from(query.limit).saturating_mul(WHOLE_HISTORY_PAGES);
    if fewer_verifications_than(reader, &content_ids_of(pacts), cap).await? {
        return all_rows(reader, query, pairing, pacts).await;
    }
    let shown: Vec<&PactRow> = pacts.iter().filter(|p| pairing.shows(p)).collect();
    // Which contents are walked, with which providers' verifications (`None`:
    // every one), and the verifications read whole, as `all_rows` reads them.
    let (walked, walk_providers, mut whole) = if pairing.one_selector {
        // A lone provider selector with some of its versions pairs the pacts
        // it only verified with those versions' verifications: found through
        // the (content, provider version) index, not walked.
        let by_versions = pairing.covered.values().any(Option::is_some);
        let whole_contents: BTreeSet<i64> = shown
            .iter()
            .filter(|p| by_versions && !pairing.consumer_selected(p))
            .map(|p| p.content_id)
            .collect();
        let walked: BTreeSet<i64> = shown
            .iter()
            .map(|p| p.content_id)
            .filter(|c| !whole_contents.contains(c))
            .collect();
        let whole_contents: Vec<i64> = whole_contents.into_iter().collect();
        let whole = verifications_of(reader, &whole_contents, None).await?;
        (walked.into_iter().collect(), None, whole)
    } else {
        // The providers covered with all their versions are walked; those
        // covered with some are read by version.
        let (everything, _) = covered_ids(&pairing.covered);
        let by_versions: HashMap<i64, Option<HashSet<i64>>> = pairing
            .covered
            .iter()
            .filter(|(_, versions)| versions.is_some())
            .map(|(id, versions)| (*id, versions.clone()))
            .collect();
        let contents = content_ids_of(pacts);
        let whole = verifications_of(reader, &contents, Some(&by_versions)).await?;
        let walked = if everything.is_empty() {
            Vec::new()
        } else {
            contents
        };
        (walked, Some(everything), whole)
    };
    whole.extend(
        contracts_of(
            reader,
            pacts,
            (!pairing.one_selector).then_some(&pairing.covered),
        )
        .await?,
    );

    let mut read: HashMap<i64, Vec<VerificationRow>> = HashMap::new();
    let mut open = walked;
    let mut depth = i64::from(query.limit);
    loop {
        let (found, edges) =
            newest_verifications(reader, &open, walk_providers.as_deref(), depth).await?;
        // A deeper walk reads the shallower one's verifications again.
        for content in &open {
            read.insert(*content, Vec::new());
        }
        for verification in found {
            read.entry(verification.content_id)
                .or_default()
                .push(verification);
        }
        let Some(mut page) = NewestRows::for_query(query) else {
            return all_rows(reader, query, pairing, pacts).await;
        };
        rows_from(
            pairing,
            pacts,
            whole.iter().chain(read.values().flatten()),
            Some(&mut page),
        );
        open = edges
            .into_iter()
            .filter(|(content, edge)| {
                edge.older_id.is_some_and(|older_id| {
                    shown.iter().filter(|p| p.content_id == *content).any(|p| {
                        page.admits(RowRank::of(
                            p.created_at,
                            p.publication_id,
                            Some((edge.since, older_id)),
                        ))
                    })
                })
            })
            .map(|(content, _)| content)
            .collect();
        if open.is_empty() {
            return Ok(page.into_rows());
        }
        depth = depth.saturating_mul(2);
    }
}

/// How many pages of verifications a page's contents may have to be read
/// whole rather than walked.
const WHOLE_HISTORY_PAGES: i64 = 4;

/// How far a walk down one pact content's verifications read.
struct Edge {
    /// When the last verification read ran: those not read ran no later.
    since: DateTime<Utc>,
    /// The greatest number of those not read; `None` when all were read.
    older_id: Option<i64>,
}

/// The `depth` most recent verifications of each content (in (execution
/// date, id) order, from the index in that order; by `providers` only, when
/// given), and how far each walk went. One statement for every content:
/// where each walk stops (its `depth`th verification), then the
/// verifications down to there, and the greatest number below it (from the
/// (content, success, id) index, newest first: right below what was read).
/// A content without verifications is one row with none.
async fn newest_verifications(
    reader: &mut dyn Reader,
    contents: &[i64],
    providers: Option<&[i64]>,
    depth: i64,
) -> StoreResult<(Vec<VerificationRow>, HashMap<i64, Edge>)> {
    let mut found = Vec::new();
    let mut edges = HashMap::new();
    if contents.is_empty() {
        return Ok((found, edges));
    }
    let provider_condition = match providers {
        Some(providers) => format!(" AND vr.provider_id IN ({})", placeholders(providers.len())),
        None => String::new(),
    };
    // A walk that read every verification of its content (fewer than
    // `depth`: no stop) has none older; the bound is looked for only below
    // a stop.
    const OLDER: &str = "CASE WHEN e.since_id = 0 THEN NULL ELSE (SELECT o.id FROM verifications o
           WHERE o.pact_content_id = e.content_id AND o.success = ?
             AND (o.execution_date < e.since OR (o.execution_date = e.since AND o.id < e.since_id))
           ORDER BY o.id DESC LIMIT 1) END";
    let mut query = Query::new(format!(
        "WITH stops AS MATERIALIZED (
            SELECT pc.id AS content_id,
              (SELECT s.id FROM verifications s WHERE s.pact_content_id = pc.id
                ORDER BY s.execution_date DESC, s.id DESC LIMIT 1 OFFSET ?) AS since_id
            FROM pact_contents pc WHERE pc.id IN ({})
         ),
         edges AS MATERIALIZED (
            SELECT st.content_id, COALESCE(st.since_id, 0) AS since_id,
              COALESCE(s.execution_date,
                (SELECT MIN(m.execution_date) FROM verifications m WHERE m.pact_content_id = st.content_id)) AS since
            FROM stops st LEFT JOIN verifications s ON s.id = st.since_id
         ),
         bounds AS MATERIALIZED (
            SELECT e.content_id, e.since_id, e.since, {OLDER} AS older_success, {OLDER} AS older_failure
            FROM edges e
         )
         SELECT b.content_id, b.since, b.older_success, b.older_failure,
                vr.id, vr.provider_id, vr.success, vr.execution_date, pv.id AS version_id, pv.number AS version_number
         FROM bounds b
         LEFT JOIN verifications vr ON vr.pact_content_id = b.content_id AND vr.execution_date >= b.since
              AND (vr.execution_date > b.since OR vr.id >= b.since_id){provider_condition}
         LEFT JOIN versions pv ON pv.id = vr.provider_version_id",
        placeholders(contents.len())
    ))
    .bind(depth - 1);
    for id in contents {
        query = query.bind(*id);
    }
    query = query.bind(true).bind(false);
    for id in providers.unwrap_or_default() {
        query = query.bind(*id);
    }
    for r in reader.fetch_all(query).await? {
        let content_id: i64 = r.try_get("content_id")?;
        let since: Option<DateTime<Utc>> = r.try_get("since")?;
        if let Some(since) = since {
            let older: [Option<i64>; 2] =
                [r.try_get("older_success")?, r.try_get("older_failure")?];
            edges.insert(
                content_id,
                Edge {
                    since,
                    older_id: older.into_iter().flatten().max(),
                },
            );
        }
        let id: Option<i64> = r.try_get("id")?;
        let Some(id) = id else {
            continue;
        };
        found.push(VerificationRow {
            content_id,
            provider_id: r.try_get("provider_id")?,
            provider_version: VersionRef {
                id: r.try_get("version_id")?,
                number: r.try_get("version_number")?,
            },
            verification: VerificationRef {
                number: id,
                success: r.try_get("success")?,
                verified_at: r.try_get("execution_date")?,
            },
            contract: None,
            compared: true,
        });
    }
    Ok((found, edges))
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

    async fn pact_badge(
        &self,
        consumer: &str,
        provider: &str,
        consumer_versions: BadgeVersions,
        provider_tag: Option<&str>,
    ) -> StoreResult<PactBadgeFacts> {
        self.pact_badge_facts(consumer, provider, consumer_versions, provider_tag)
            .await
    }
}

/// Versions by id, each with the environments it is deployed or released
/// to (in the order it got there) and which of its tags are the newest of
/// their name.
async fn versions_with_environments(
    reader: &mut dyn Reader,
    ids: &BTreeSet<i64>,
) -> StoreResult<HashMap<i64, MatrixVersion>> {
    // Each version, and when it got to each environment it is in.
    type Arrivals = Vec<(DateTime<Utc>, i64)>;
    let mut found: HashMap<i64, (MatrixVersion, Arrivals)> = HashMap::new();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    // The versions and the environments each is in, in one query (a
    // version in no environment has one row with no environment). The
    // deployments and releases are those of these versions only, found by
    // version: the cost follows the answer, not the ledger's history. A tag
    // is the newest of its name when no later version of the pacticipant
    // has it (the tags index answers that).
    let list = placeholders(ids.len());
    let env_columns = environment_columns();
    let mut query = Query::new(format!(
        "SELECT ver.*, x.since, {env_columns},
           (SELECT string_agg(t.name, '{ITEM_SEP}' ORDER BY t.name) FROM tags t
             WHERE t.version_id = ver.id
               AND t.version_id = (SELECT MAX(later.version_id) FROM tags later
                                    WHERE later.pacticipant_id = t.pacticipant_id AND later.name = t.name)) AS latest_tags
         FROM ({VERSION_SELECT} WHERE v.id IN ({list})) AS ver
         LEFT JOIN (
            SELECT cd.version_id, cd.environment_id, dv.created_at AS since
              FROM currently_deployed cd JOIN deployed_versions dv ON dv.id = cd.deployed_version_id
              WHERE cd.version_id IN ({list})
            UNION ALL SELECT version_id, environment_id, created_at FROM released_versions
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
        let (version, since) = match found.entry(version_id) {
            std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
            std::collections::hash_map::Entry::Vacant(entry) => {
                let latest_tags: Option<String> = row.try_get("latest_tags")?;
                entry.insert((
                    MatrixVersion {
                        version: version_from_row(&row)?,
                        environments: Vec::new(),
                        latest_tags: split_list(latest_tags.as_deref())
                            .into_iter()
                            .map(str::to_owned)
                            .collect(),
                    },
                    Vec::new(),
                ))
            }
        };
        let environment_id: Option<i64> = row.try_get("env_id")?;
        if let Some(environment_id) = environment_id {
            since.push((row.try_get("since")?, environment_id));
            if version.environments.iter().all(|e| e.id != environment_id) {
                version
                    .environments
                    .push(environment_from_row(&row, "env_")?);
            }
        }
    }
    // In the order the version got there (its current deployments and
    // releases, oldest first), as the Pact Broker lists them; sorted here
    // rather than by the statement, whose UNION and ORDER BY each built a
    // temporary B-tree for a few rows.
    Ok(found
        .into_iter()
        .map(|(id, (mut version, mut since))| {
            since.sort();
            let order = |environment: &Environment| {
                since
                    .iter()
                    .position(|(_, id)| *id == environment.id)
                    .unwrap_or(usize::MAX)
            };
            version.environments.sort_by_key(order);
            (id, version)
        })
        .collect())
}
