//! The matrix and can-i-deploy: which contracts hold between which versions,
//! and whether a version can be deployed, with the Pact Broker's semantics
//! and texts, plus what would make a "no" a "yes".
//!
//! Storage resolves selectors to versions and loads rows; everything after
//! that (latestby, filters, ignores, the verdict and its reasons) is here.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};

use chrono::{DateTime, Utc};

use crate::matrix_query::{IgnoreSelector, LatestBy, MatrixQuery};

/// What a selector asked for, which its description repeats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Criteria {
    /// A version number.
    Number(String),
    /// The latest version, optionally the latest with a tag.
    Latest { tag: Option<String> },
    /// Every version with a tag.
    Tag(String),
    /// The head of a branch (`latest`), or every version on it.
    Branch { name: String, latest: bool },
    /// The head of the main branch, or every version on it.
    MainBranch { latest: bool },
    /// The versions currently deployed or supported in an environment.
    Environment(String),
    /// Every version of the pacticipant.
    Any,
}

/// A selector resolved to one version (or to "all versions", or to nothing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedSelector {
    pub pacticipant: String,
    pub pacticipant_id: i64,
    /// `None` with `Criteria::Any`: every version. `None` otherwise: no such version.
    pub version: Option<VersionRef>,
    pub criteria: Criteria,
    /// Named by the client (not inferred from integrations).
    pub specified: bool,
    /// One of several versions the same selector named.
    pub one_of_many: bool,
}

impl ResolvedSelector {
    pub fn names_all_versions(&self) -> bool {
        self.criteria == Criteria::Any
    }

    /// A selector that should name a version and names none.
    pub fn is_missing(&self) -> bool {
        self.version.is_none() && !self.names_all_versions()
    }

    pub fn matches(&self, pacticipant_id: i64, version_id: Option<i64>) -> bool {
        if self.pacticipant_id != pacticipant_id {
            return false;
        }
        match (&self.version, version_id) {
            (None, _) => self.names_all_versions(),
            (Some(v), Some(id)) => v.id == id,
            (Some(_), None) => false,
        }
    }

    /// The Pact Broker's words for the selector, as used in reasons.
    pub fn description(&self) -> String {
        let p = &self.pacticipant;
        let number = self.version.as_ref().map(|v| v.number.as_str());
        match (&self.criteria, number) {
            (Criteria::Number(n), Some(_)) => format!("version {n} of {p}"),
            (Criteria::Number(n), None) => format!("version {n} of {p} (no such version exists)"),
            (Criteria::Latest { tag: None }, Some(v)) => format!("the latest version of {p} ({v})"),
            (Criteria::Latest { tag: None }, None) => {
                format!("the latest version of {p} (no such version exists)")
            }
            (Criteria::Latest { tag: Some(t) }, Some(v)) => {
                format!("the latest version of {p} with tag {t} ({v})")
            }
            (Criteria::Latest { tag: Some(t) }, None) => {
                format!("the latest version of {p} with tag {t} (no such version exists)")
            }
            (Criteria::Tag(t), Some(v)) => format!("one of the versions of {p} with tag {t} ({v})"),
            (Criteria::Tag(t), None) => {
                format!("a version of {p} with tag {t} (no versions exist with this tag)")
            }
            (Criteria::Branch { name, latest: true }, Some(v)) => {
                format!("the latest version of {p} from branch {name} ({v})")
            }
            (
                Criteria::Branch {
                    name,
                    latest: false,
                },
                Some(v),
            ) => {
                format!("one of the versions of {p} from branch {name} ({v})")
            }
            (Criteria::Branch { name, .. }, None) => {
                format!("any version of {p} from branch {name} (no versions exist for this branch)")
            }
            (Criteria::MainBranch { latest: true }, Some(v)) => {
                format!("the latest version of {p} from the main branch ({v})")
            }
            (Criteria::MainBranch { latest: false }, Some(v)) => {
                format!("one of the versions of {p} from the main branch ({v})")
            }
            (Criteria::MainBranch { .. }, None) => {
                format!(
                    "any version of {p} from the main branch (no versions exist for this branch)"
                )
            }
            (Criteria::Environment(e), Some(v)) if self.one_of_many => {
                format!("one of the versions of {p} currently in {e} ({v})")
            }
            (Criteria::Environment(e), Some(v)) => {
                format!("the version of {p} currently in {e} ({v})")
            }
            (Criteria::Environment(e), None) => format!(
                "a version of {p} currently in {e} (no version is currently recorded as deployed/released in this environment)"
            ),
            (Criteria::Any, _) => format!("any version of {p}"),
        }
    }

    /// Why a specified selector found no version, as an error reason.
    fn missing_reason(&self) -> String {
        let p = &self.pacticipant;
        match &self.criteria {
            Criteria::Number(n) => {
                format!("No pacts or verifications have been published for version {n} of {p}")
            }
            Criteria::Latest { tag: Some(t) } | Criteria::Tag(t) => {
                format!("No version with tag {t} exists for {p}")
            }
            Criteria::Latest { tag: None } | Criteria::Any => {
                format!("No pacts or verifications have been published for {p}")
            }
            Criteria::Branch { name, .. } => format!("No version of {p} from branch {name} exists"),
            Criteria::MainBranch { .. } => format!("No version of {p} from the main branch exists"),
            Criteria::Environment(e) => format!(
                "No version of {p} is currently recorded as deployed or released in environment {e}"
            ),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VersionRef {
    /// Storage id, which is also the version's order.
    pub id: i64,
    pub number: String,
}

/// An ignore selector after lookup: `found` is false when its pacticipant (or
/// version) does not exist, which only warns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedIgnore {
    pub selector: IgnoreSelector,
    pub pacticipant_id: Option<i64>,
    pub version_id: Option<i64>,
    pub found: bool,
}

impl ResolvedIgnore {
    fn matches(&self, pacticipant_id: i64, version_id: Option<i64>) -> bool {
        if !self.found || self.pacticipant_id != Some(pacticipant_id) {
            return false;
        }
        match self.version_id {
            None => true,
            Some(id) => version_id == Some(id),
        }
    }

    fn description(&self) -> String {
        match &self.selector.version {
            Some(v) => format!("version {v} of {}", self.selector.pacticipant),
            None => self.selector.pacticipant.clone(),
        }
    }
}

/// One pact (for a consumer version and provider) and one verification of it
/// by a provider version, or none.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub consumer: String,
    pub consumer_id: i64,
    pub consumer_version: VersionRef,
    pub provider: String,
    pub provider_id: i64,
    pub provider_version: Option<VersionRef>,
    pub pact_sha: String,
    pub pact_revision: i64,
    pub pact_created_at: DateTime<Utc>,
    pub verification: Option<VerificationRef>,
    /// Set when the row matches an ignore selector.
    pub ignored: bool,
}

impl Row {
    pub fn success(&self) -> Option<bool> {
        self.verification.as_ref().map(|v| v.success)
    }

    /// Where the row stands in the "most recent activity first" order.
    pub fn rank(&self) -> RowRank {
        RowRank::of(
            self.pact_created_at,
            self.consumer_version.id,
            self.verification
                .as_ref()
                .zip(self.provider_version.as_ref())
                .map(|(v, pv)| (v.verified_at, pv.id, v.number)),
        )
    }
}

/// The order rows are limited in, greatest first: the last action on the
/// row (its verification, or its pact's publication), then the consumer
/// version, the provider version and the verification. A total order, so a
/// limit keeps the same rows however they were found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct RowRank {
    last_action: DateTime<Utc>,
    consumer_version: i64,
    provider_version: i64,
    verification: i64,
}

impl RowRank {
    /// `verification`: when it ran, the provider version's id and its number.
    pub fn of(
        pact_created_at: DateTime<Utc>,
        consumer_version_id: i64,
        verification: Option<(DateTime<Utc>, i64, i64)>,
    ) -> Self {
        let (last_action, provider_version, number) = match verification {
            Some((at, provider_version, number)) => {
                (at.max(pact_created_at), provider_version, number)
            }
            None => (pact_created_at, -1, -1),
        };
        Self {
            last_action,
            consumer_version: consumer_version_id,
            provider_version,
            verification: number,
        }
    }

    pub fn last_action(&self) -> DateTime<Utc> {
        self.last_action
    }
}

/// The rows `evaluate` keeps when no `latestby` groups them (the `limit`
/// most recent, of the wanted `success[]`), chosen as rows are found: a
/// pair whose one pact content was published by thousands of consumer
/// versions and verified thousands of times has millions of pact ×
/// verification rows, and only the page is ever held.
#[derive(Debug)]
pub struct NewestRows {
    limit: usize,
    success: Option<Vec<Option<bool>>>,
    kept: BinaryHeap<Reverse<Ranked>>,
}

#[derive(Debug)]
struct Ranked(RowRank, Row);

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}
impl Eq for Ranked {}
impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.cmp(&other.0)
    }
}

impl NewestRows {
    /// `None` when `latestby` groups the rows: then every row is needed.
    pub fn for_query(query: &MatrixQuery) -> Option<Self> {
        query.latest_by.is_none().then(|| Self {
            limit: usize::try_from(query.limit).unwrap_or(usize::MAX),
            success: query.success.clone(),
            kept: BinaryHeap::new(),
        })
    }

    /// Whether a row of this rank would be kept now.
    pub fn admits(&self, rank: RowRank) -> bool {
        self.kept.len() < self.limit
            || self
                .kept
                .peek()
                .is_some_and(|Reverse(least)| rank > least.0)
    }

    /// True when the page is full of rows more recent than `last_action`:
    /// no row whose last action is older can be kept any more.
    pub fn full_before(&self, last_action: DateTime<Utc>) -> bool {
        self.kept.len() >= self.limit
            && self
                .kept
                .peek()
                .is_none_or(|Reverse(least)| last_action < least.0.last_action)
    }

    pub fn offer(&mut self, row: Row) {
        if let Some(success) = &self.success
            && !success.contains(&row.success())
        {
            return;
        }
        let rank = row.rank();
        if !self.admits(rank) {
            return;
        }
        self.kept.push(Reverse(Ranked(rank, row)));
        if self.kept.len() > self.limit {
            self.kept.pop();
        }
    }

    pub fn into_rows(self) -> Vec<Row> {
        self.kept
            .into_iter()
            .map(|Reverse(Ranked(_, row))| row)
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerificationRef {
    pub number: i64,
    pub success: bool,
    pub verified_at: DateTime<Utc>,
}

/// A consumer/provider pair the verdict depends on. `required` when the
/// consumer's pact names the provider (a consumer needs its providers; a
/// provider does not need its consumers to be deployed).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Dependency {
    pub consumer_id: i64,
    pub provider_id: i64,
    pub required: bool,
}

/// A provider version that has verified a pact successfully: the fix to suggest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownGoodVerifier {
    pub pact_sha: String,
    pub provider_id: i64,
    pub provider_version: String,
}

/// Everything storage gathered for one matrix question.
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    pub selectors: Vec<ResolvedSelector>,
    pub ignores: Vec<ResolvedIgnore>,
    pub dependencies: Vec<Dependency>,
    /// Every pact × verification row between the selected versions.
    pub rows: Vec<Row>,
    pub known_good: Vec<KnownGoodVerifier>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    Success,
    Error,
    Warning,
    Info,
}

impl NoticeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Error => "error",
            Self::Warning => "warning",
            Self::Info => "info",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub kind: NoticeKind,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// `None`: unknown (something is not verified yet).
    pub deployable: Option<bool>,
    pub reasons: Vec<Notice>,
    pub success: usize,
    pub failed: usize,
    pub unknown: usize,
    /// Present only when ignore selectors were given.
    pub ignored: Option<usize>,
    /// What would make the answer "yes", in plain words (Treaty's addition).
    pub fixes: Vec<String>,
}

impl Summary {
    pub fn reason(&self) -> String {
        self.reasons
            .iter()
            .map(|n| n.text.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// The answer: rows considered first, then ignored rows, and the verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    pub rows: Vec<Row>,
    pub summary: Summary,
}

/// Applies `latestby`, `success[]`, the limit and the ignores, and decides.
pub fn evaluate(query: &MatrixQuery, evidence: Evidence) -> Matrix {
    let Evidence {
        selectors,
        ignores,
        dependencies,
        rows,
        known_good,
    } = evidence;
    let mut rows = latest_by(rows, query.latest_by);
    if let Some(success) = &query.success {
        rows.retain(|row| success.contains(&row.success()));
    }
    // Most recent activity first, as the Pact Broker's query orders them.
    rows.sort_by_key(|row| Reverse(row.rank()));
    rows.truncate(usize::try_from(query.limit).unwrap_or(usize::MAX));
    for row in &mut rows {
        row.ignored = ignores.iter().any(|i| {
            i.matches(row.consumer_id, Some(row.consumer_version.id))
                || row
                    .provider_version
                    .as_ref()
                    .is_some_and(|pv| i.matches(row.provider_id, Some(pv.id)))
                || (row.provider_version.is_none()
                    && i.matches(row.provider_id, None)
                    && i.version_id.is_none())
        });
    }
    let (mut considered, ignored): (Vec<Row>, Vec<Row>) =
        rows.into_iter().partition(|r| !r.ignored);
    considered.sort_by(|a, b| {
        a.consumer
            .cmp(&b.consumer)
            .then_with(|| b.consumer_version.id.cmp(&a.consumer_version.id))
            .then_with(|| b.pact_revision.cmp(&a.pact_revision))
            .then_with(|| a.provider.cmp(&b.provider))
            .then_with(|| {
                let order = |r: &Row| r.provider_version.as_ref().map_or(-1, |v| v.id);
                order(b).cmp(&order(a))
            })
            .then_with(|| {
                let number = |r: &Row| r.verification.as_ref().map_or(-1, |v| v.number);
                number(b).cmp(&number(a))
            })
    });
    let summary = decide(
        query,
        &selectors,
        &ignores,
        &dependencies,
        &considered,
        &ignored,
        &known_good,
    );
    let mut all = considered;
    all.extend(ignored);
    Matrix { rows: all, summary }
}

/// Keeps, per group, the row the `latestby` option says.
fn latest_by(rows: Vec<Row>, latest_by: Option<LatestBy>) -> Vec<Row> {
    let Some(latest_by) = latest_by else {
        return rows;
    };
    // Group key → best row so far. A row without a provider version is its group's only row.
    let mut best: BTreeMap<(i64, i64, i64, i64), Row> = BTreeMap::new();
    for row in rows {
        let pv = row.provider_version.as_ref().map_or(-1, |v| v.id);
        let key = match latest_by {
            LatestBy::Cvpv => (
                row.consumer_id,
                row.consumer_version.id,
                row.provider_id,
                pv,
            ),
            LatestBy::Cvp => (row.consumer_id, row.consumer_version.id, row.provider_id, 0),
            LatestBy::Cp => (row.consumer_id, 0, row.provider_id, 0),
        };
        let better = |new: &Row, old: &Row| {
            let rank = |r: &Row| {
                (
                    r.consumer_version.id,
                    r.provider_version.as_ref().map_or(-1, |v| v.id),
                    r.verification.as_ref().map_or(-1, |v| v.number),
                )
            };
            rank(new) > rank(old)
        };
        match best.get(&key) {
            Some(existing) if !better(&row, existing) => {}
            _ => {
                best.insert(key, row);
            }
        }
    }
    best.into_values().collect()
}

fn decide(
    query: &MatrixQuery,
    selectors: &[ResolvedSelector],
    ignores: &[ResolvedIgnore],
    dependencies: &[Dependency],
    considered: &[Row],
    ignored: &[Row],
    known_good: &[KnownGoodVerifier],
) -> Summary {
    let mut warnings = Vec::new();
    for ignore in ignores.iter().filter(|i| !i.found) {
        warnings.push(format!("WARN: Cannot ignore {}", ignore.description()));
    }
    let specified: Vec<&ResolvedSelector> = selectors.iter().filter(|s| s.specified).collect();
    let scoped = matches!(
        query.scope,
        Some(crate::matrix_query::Scope::Environment(_))
            | Some(crate::matrix_query::Scope::MainBranch)
            | Some(crate::matrix_query::Scope::Latest { tag: Some(_) })
    );
    let distinct_specified: HashSet<&str> =
        specified.iter().map(|s| s.pacticipant.as_str()).collect();
    if distinct_specified.len() == 1 && !scoped {
        warnings.push("WARN: It is recommended to specify the environment into which you are deploying. Without the environment, this result will not be reliable.".to_owned());
    }
    let all_name_only = query.selectors.iter().all(|s| {
        s.version.is_none()
            && !s.latest
            && s.tag.is_none()
            && s.branch.is_none()
            && s.environment.is_none()
            && !s.main_branch
    });
    if !all_name_only && query.selectors.iter().all(|s| s.version.is_none()) {
        warnings.push("WARN: It is recommended to specify the version number (rather than the tag or branch) of the pacticipant you wish to deploy to avoid race conditions. Without a version number, this result will not be reliable.".to_owned());
    }

    let success = considered
        .iter()
        .filter(|r| r.success() == Some(true))
        .count();
    let failed = considered
        .iter()
        .filter(|r| r.success() == Some(false))
        .count();
    let unverified = considered.iter().filter(|r| r.success().is_none()).count();
    let with_rows: HashSet<(i64, i64)> = considered
        .iter()
        .chain(ignored)
        .map(|r| (r.consumer_id, r.provider_id))
        .collect();
    let ignored_pacticipants: HashSet<i64> = ignores
        .iter()
        .filter(|i| i.found && i.version_id.is_none())
        .filter_map(|i| i.pacticipant_id)
        .collect();
    let missing_dependencies: Vec<&Dependency> = dependencies
        .iter()
        .filter(|d| d.required && !with_rows.contains(&(d.consumer_id, d.provider_id)))
        .filter(|d| !ignored_pacticipants.contains(&d.provider_id))
        .collect();

    let missing_specified: Vec<&&ResolvedSelector> =
        specified.iter().filter(|s| s.is_missing()).collect();
    let deployable = if !missing_specified.is_empty() {
        Some(false)
    } else if unverified > 0 || !missing_dependencies.is_empty() {
        None
    } else {
        Some(considered.iter().all(|r| r.success() == Some(true)))
    };

    let mut reasons: Vec<Notice> = warnings
        .into_iter()
        .map(|text| Notice {
            kind: NoticeKind::Warning,
            text,
        })
        .collect();
    let mut fixes = Vec::new();
    if !missing_specified.is_empty() {
        for selector in &missing_specified {
            reasons.push(Notice {
                kind: NoticeKind::Error,
                text: selector.missing_reason(),
            });
            fixes.push(match &selector.criteria {
                Criteria::Number(n) => format!(
                    "Publish {}'s pacts (or record its verifications) for version {n}, or check the version number: Treaty has no version {n} of {}.",
                    selector.pacticipant, selector.pacticipant
                ),
                _ => format!("Make sure {} exists: {}.", selector.description(), selector.missing_reason()),
            });
        }
    } else {
        let describe =
            |pacticipant_id: i64, version: Option<&VersionRef>, fallback: &str| -> String {
                selectors
                    .iter()
                    .find(|s| {
                        s.pacticipant_id == pacticipant_id
                            && version.is_some_and(|v| s.version.as_ref() == Some(v))
                    })
                    .or_else(|| {
                        selectors.iter().find(|s| {
                            s.pacticipant_id == pacticipant_id
                                && (s.names_all_versions() || version.is_none())
                        })
                    })
                    .map_or_else(|| fallback.to_owned(), ResolvedSelector::description)
            };
        // Failed verifications first, then missing ones, as the Pact Broker words them.
        let mut seen = HashSet::new();
        let mut errors = Vec::new();
        let in_environment = matches!(
            query.scope,
            Some(crate::matrix_query::Scope::Environment(_))
        );
        for wanted in [Some(false), None] {
            for row in considered.iter().filter(|r| r.success() == wanted) {
                let consumer =
                    describe(row.consumer_id, Some(&row.consumer_version), &row.consumer);
                let provider = describe(
                    row.provider_id,
                    row.provider_version.as_ref(),
                    &row.provider,
                );
                let text = if wanted.is_some() {
                    format!(
                        "The verification for the pact between {consumer} and {provider} failed"
                    )
                } else {
                    format!("There is no verified pact between {consumer} and {provider}")
                };
                if seen.insert(text.clone()) {
                    errors.push(text);
                    fixes.push(fix_for(row, in_environment, known_good));
                }
            }
        }
        for dependency in &missing_dependencies {
            let consumer = describe(dependency.consumer_id, None, "a consumer");
            let provider = describe(dependency.provider_id, None, "a provider");
            let text = format!("There is no verified pact between {consumer} and {provider}");
            if seen.insert(text.clone()) {
                errors.push(text);
                fixes.push(format!("Verify the pact of {consumer} with {provider}, and record where that provider version is deployed."));
            }
        }
        if errors.is_empty() {
            let text = if considered.is_empty() {
                "There are no missing dependencies"
            } else {
                "All required verification results are published and successful"
            };
            reasons.push(Notice {
                kind: NoticeKind::Success,
                text: text.to_owned(),
            });
        } else {
            reasons.extend(errors.into_iter().map(|text| Notice {
                kind: NoticeKind::Error,
                text,
            }));
        }
    }

    Summary {
        deployable,
        reasons,
        success,
        failed,
        unknown: unverified + missing_dependencies.len(),
        ignored: (!query.ignore.is_empty()).then_some(ignored.len()),
        fixes,
    }
}

/// What would turn a failed or unverified row into a successful one.
fn fix_for(row: &Row, in_environment: bool, known_good: &[KnownGoodVerifier]) -> String {
    let consumer = format!("{} {}", row.consumer, row.consumer_version.number);
    let good: Vec<&str> = known_good
        .iter()
        .filter(|k| k.pact_sha == row.pact_sha && k.provider_id == row.provider_id)
        .map(|k| k.provider_version.as_str())
        .filter(|v| {
            row.provider_version
                .as_ref()
                .is_none_or(|pv| pv.number != *v)
        })
        .collect();
    let alternative = match good.first() {
        Some(version) => format!(
            ", or deploy a {} version that has verified it ({version} has)",
            row.provider
        ),
        None => String::new(),
    };
    match (&row.provider_version, row.success()) {
        (Some(pv), Some(false)) => format!(
            "{} {} failed to verify the pact of {consumer}: fix {} (or the pact) and publish a successful verification{alternative}.",
            row.provider, pv.number, row.provider
        ),
        (Some(pv), _) => format!(
            "{} {} has not verified the pact of {consumer}: run {}'s verification for that pact{alternative}.",
            row.provider, pv.number, row.provider
        ),
        (None, _) => {
            let scope = if in_environment {
                " in that environment"
            } else {
                " in scope"
            };
            match good.first() {
                Some(version) => format!(
                    "No version of {}{scope} has verified the pact of {consumer}: deploy a {} version that has verified it ({version} has), or verify it with the {} version you deploy.",
                    row.provider, row.provider, row.provider
                ),
                None if in_environment => format!(
                    "No version of {}{scope} has verified the pact of {consumer}: run {}'s verification of that pact, publish the result, and deploy that {} version first.",
                    row.provider, row.provider, row.provider
                ),
                None => format!(
                    "No version of {}{scope} has verified the pact of {consumer}: run {}'s verification of that pact and publish the result.",
                    row.provider, row.provider
                ),
            }
        }
    }
}

/// Rows grouped for display or lookups: (consumer, provider) → rows.
pub fn by_pair(rows: &[Row]) -> HashMap<(String, String), Vec<&Row>> {
    let mut grouped: HashMap<(String, String), Vec<&Row>> = HashMap::new();
    for row in rows {
        grouped
            .entry((row.consumer.clone(), row.provider.clone()))
            .or_default()
            .push(row);
    }
    grouped
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::matrix_query::{LatestBy, Scope, VersionSelector, parse_matrix_query};

    const FOO: i64 = 1;
    const BAR: i64 = 2;

    fn at(second: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, second).unwrap()
    }

    fn version(id: i64) -> VersionRef {
        VersionRef {
            id,
            number: id.to_string(),
        }
    }

    fn row(consumer_version: i64, provider_version: Option<(i64, bool, i64)>) -> Row {
        Row {
            consumer: "Foo".into(),
            consumer_id: FOO,
            consumer_version: version(consumer_version),
            provider: "Bar".into(),
            provider_id: BAR,
            provider_version: provider_version.map(|(id, _, _)| version(id)),
            pact_sha: format!("sha{consumer_version}"),
            pact_revision: 1,
            pact_created_at: at(0),
            verification: provider_version.map(|(_, success, number)| VerificationRef {
                number,
                success,
                verified_at: at(u32::try_from(number).unwrap()),
            }),
            ignored: false,
        }
    }

    /// Rows of several consumer versions × verifications, some unverified,
    /// with ties on the last action.
    fn many_rows() -> Vec<Row> {
        let mut rows = Vec::new();
        for consumer_version in 1..=12 {
            rows.push(row(consumer_version, None));
            for provider_version in 1..=9 {
                let number = (consumer_version * 7 + provider_version * 3) % 20;
                rows.push(row(
                    consumer_version,
                    Some((provider_version, number % 4 != 0, number)),
                ));
            }
        }
        rows
    }

    #[test]
    fn newest_rows_keeps_what_sorting_everything_and_truncating_keeps() {
        for limit in [1, 5, 17, 100, 1000] {
            for success in [None, Some(vec![Some(true)]), Some(vec![None, Some(false)])] {
                let mut q = query(None);
                q.limit = limit;
                q.success = success.clone();
                let mut newest = NewestRows::for_query(&q).unwrap();
                for row in many_rows() {
                    newest.offer(row);
                }
                let mut kept = newest.into_rows();
                kept.sort_by_key(|r| Reverse(r.rank()));
                let mut all = many_rows();
                if let Some(success) = &success {
                    all.retain(|r| success.contains(&r.success()));
                }
                all.sort_by_key(|r| Reverse(r.rank()));
                all.truncate(limit as usize);
                assert_eq!(kept, all, "limit {limit}, success {success:?}");
            }
        }
    }

    #[test]
    fn newest_rows_is_only_for_ungrouped_rows_and_says_when_older_rows_cannot_get_in() {
        assert!(NewestRows::for_query(&query(Some(LatestBy::Cvp))).is_none());
        let mut q = query(None);
        q.limit = 2;
        let mut newest = NewestRows::for_query(&q).unwrap();
        assert!(!newest.full_before(at(0)));
        newest.offer(row(1, Some((1, true, 5))));
        newest.offer(row(1, Some((2, true, 9))));
        assert!(newest.full_before(at(4)));
        assert!(!newest.full_before(at(5)));
        assert!(!newest.admits(row(1, Some((3, true, 4))).rank()));
        assert!(newest.admits(row(1, Some((3, true, 6))).rank()));
    }

    fn specified(id: i64, v: i64) -> ResolvedSelector {
        ResolvedSelector {
            pacticipant: if id == FOO {
                "Foo".into()
            } else {
                "Bar".into()
            },
            pacticipant_id: id,
            version: Some(version(v)),
            criteria: Criteria::Number(v.to_string()),
            specified: true,
            one_of_many: false,
        }
    }

    fn in_production(id: i64, v: Option<i64>, many: bool) -> ResolvedSelector {
        ResolvedSelector {
            pacticipant: "Bar".into(),
            pacticipant_id: id,
            version: v.map(version),
            criteria: Criteria::Environment("production".into()),
            specified: false,
            one_of_many: many,
        }
    }

    fn query(latest_by: Option<LatestBy>) -> MatrixQuery {
        MatrixQuery {
            selectors: vec![VersionSelector {
                pacticipant: "Foo".into(),
                version: Some("1".into()),
                ..VersionSelector::default()
            }],
            latest_by,
            scope: Some(Scope::Environment("production".into())),
            ignore: Vec::new(),
            success: None,
            limit: 100,
        }
    }

    fn evidence(selectors: Vec<ResolvedSelector>, rows: Vec<Row>) -> Evidence {
        Evidence {
            selectors,
            dependencies: vec![Dependency {
                consumer_id: FOO,
                provider_id: BAR,
                required: true,
            }],
            rows,
            ..Evidence::default()
        }
    }

    #[test]
    fn cvpv_sees_every_co_resident_provider_version_and_cvp_only_the_newest() {
        let rows = vec![row(1, Some((10, false, 1))), row(1, Some((11, true, 2)))];
        let selectors = vec![
            specified(FOO, 1),
            in_production(BAR, Some(10), true),
            in_production(BAR, Some(11), true),
        ];
        let strict = evaluate(
            &query(Some(LatestBy::Cvpv)),
            evidence(selectors.clone(), rows.clone()),
        );
        assert_eq!(strict.summary.deployable, Some(false));
        assert_eq!(
            strict.summary.reason(),
            "The verification for the pact between version 1 of Foo and one of the versions of Bar currently in production (10) failed"
        );
        assert_eq!(strict.rows.len(), 2);
        let newest = evaluate(&query(Some(LatestBy::Cvp)), evidence(selectors, rows));
        assert_eq!(newest.summary.deployable, Some(true));
        assert_eq!(newest.rows.len(), 1);
    }

    #[test]
    fn unknown_beats_failure_and_counts_both() {
        let rows = vec![row(1, Some((10, false, 1))), row(2, None)];
        let mut q = query(None);
        q.scope = None;
        let selectors = vec![ResolvedSelector {
            criteria: Criteria::Any,
            version: None,
            ..specified(FOO, 1)
        }];
        let matrix = evaluate(&q, evidence(selectors, rows));
        assert_eq!(matrix.summary.deployable, None);
        assert_eq!((matrix.summary.failed, matrix.summary.unknown), (1, 1));
        assert_eq!(matrix.summary.fixes.len(), 2);
    }

    #[test]
    fn a_missing_specified_version_is_false_with_only_that_reason() {
        let selectors = vec![ResolvedSelector {
            version: None,
            ..specified(FOO, 7)
        }];
        let matrix = evaluate(&query(Some(LatestBy::Cvpv)), evidence(selectors, vec![]));
        assert_eq!(matrix.summary.deployable, Some(false));
        assert_eq!(
            matrix.summary.reason(),
            "No pacts or verifications have been published for version 7 of Foo"
        );
        assert!(!matrix.summary.fixes.is_empty());
    }

    #[test]
    fn no_rows_and_no_dependencies_is_yes() {
        let mut e = evidence(vec![specified(BAR, 2)], vec![]);
        e.dependencies.clear();
        let matrix = evaluate(&query(Some(LatestBy::Cvpv)), e);
        assert_eq!(matrix.summary.deployable, Some(true));
        assert_eq!(matrix.summary.reason(), "There are no missing dependencies");
        assert!(matrix.summary.fixes.is_empty());
    }

    #[test]
    fn ignored_rows_come_last_flagged_and_do_not_count() {
        let mut q = query(Some(LatestBy::Cvpv));
        q.ignore = vec![IgnoreSelector {
            pacticipant: "Bar".into(),
            version: None,
        }];
        let mut e = evidence(
            vec![specified(FOO, 1), in_production(BAR, Some(10), false)],
            vec![row(1, Some((10, false, 1)))],
        );
        e.ignores = vec![ResolvedIgnore {
            selector: q.ignore[0].clone(),
            pacticipant_id: Some(BAR),
            version_id: None,
            found: true,
        }];
        let matrix = evaluate(&q, e);
        assert_eq!(matrix.summary.deployable, Some(true));
        assert_eq!(matrix.summary.ignored, Some(1));
        assert!(matrix.rows[0].ignored);
    }

    #[test]
    fn warns_without_an_environment_and_without_a_version_number() {
        let q = parse_matrix_query("q[][pacticipant]=Foo&q[][latest]=true").unwrap();
        let mut e = evidence(vec![specified(FOO, 1)], vec![]);
        e.dependencies.clear();
        let text = evaluate(&q, e).summary.reason();
        assert!(
            text.contains("WARN: It is recommended to specify the environment"),
            "{text}"
        );
        assert!(
            text.contains("WARN: It is recommended to specify the version number"),
            "{text}"
        );
    }

    #[test]
    fn the_fix_names_a_provider_version_that_has_verified_the_pact() {
        let mut e = evidence(
            vec![specified(FOO, 1), in_production(BAR, Some(10), false)],
            vec![row(1, Some((10, false, 1)))],
        );
        e.known_good = vec![KnownGoodVerifier {
            pact_sha: "sha1".into(),
            provider_id: BAR,
            provider_version: "12".into(),
        }];
        let matrix = evaluate(&query(Some(LatestBy::Cvpv)), e);
        assert!(
            matrix.summary.fixes[0].contains("(12 has)"),
            "{:?}",
            matrix.summary.fixes
        );
    }
}
