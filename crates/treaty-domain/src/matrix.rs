//! The matrix and can-i-deploy: which contracts hold between which versions,
//! and whether a version can be deployed, with the Pact Broker's semantics
//! and texts, plus what would make a "no" a "yes".
//!
//! Storage resolves selectors to versions and loads rows; everything after
//! that (latestby, filters, ignores, the order, the verdict and its reasons)
//! is here. Where the Pact Broker's words follow from its own quirks (which
//! selector a row is described with), they are kept: clients print them.

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap, HashSet};

use chrono::{DateTime, Utc};

use crate::matrix_query::{LatestBy, MatrixQuery, NO_LIMIT, VersionSelector};

/// What a selector found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// The selector names only the pacticipant: every one of its versions.
    AllVersions,
    /// One version (a selector naming several becomes one selector each).
    Version(VersionRef),
    /// The selector asks for versions and none matches.
    NoVersion,
    /// No pacticipant has that name; only ignore selectors get this far, the
    /// others are refused before.
    NoPacticipant,
}

/// A selector resolved to one version (or to "all versions", or to nothing):
/// the Pact Broker's `ResolvedSelector`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedSelector {
    pub pacticipant: String,
    /// `None` with [`Found::NoPacticipant`].
    pub pacticipant_id: Option<i64>,
    /// What was asked: by the client, or by the scope for an inferred one.
    pub asked: VersionSelector,
    pub found: Found,
    /// The branch its description names: the one asked for, or the main
    /// branch a main-branch version was found on.
    pub branch: Option<String>,
    /// Named by the client (not inferred from integrations).
    pub specified: bool,
    /// One of several versions the same selector named.
    pub one_of_many: bool,
    /// Matches an ignore selector: its absence does not make a "no".
    pub ignored: bool,
}

/// A version a selector's lookup found, with the main branch it was found
/// on when the selector asked for the main branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundVersion {
    pub version: VersionRef,
    pub main_branch: Option<String>,
}

impl ResolvedSelector {
    /// The selectors for what a lookup found, as the Pact Broker builds them:
    /// `versions` is `None` when the selector names only the pacticipant (no
    /// lookup); a `latest` selector keeps the first version found; none found
    /// is one selector for a version that does not exist. `ignores` mark the
    /// ones an ignore selector covers.
    pub fn resolve(
        pacticipant: &str,
        pacticipant_id: i64,
        asked: &VersionSelector,
        versions: Option<Vec<FoundVersion>>,
        specified: bool,
        ignores: &[ResolvedSelector],
    ) -> Vec<Self> {
        let base = |found: Found, branch: Option<String>, one_of_many: bool| {
            let ignored = match &found {
                Found::Version(v) => ignores
                    .iter()
                    .any(|i| i.covers_version(pacticipant_id, Some(v.id))),
                _ => ignores
                    .iter()
                    .any(|i| i.pacticipant_id == Some(pacticipant_id) && i.only_pacticipant_name()),
            };
            Self {
                pacticipant: pacticipant.to_owned(),
                pacticipant_id: Some(pacticipant_id),
                asked: asked.clone(),
                found,
                branch,
                specified,
                one_of_many,
                ignored,
            }
        };
        let Some(mut versions) = versions else {
            return vec![base(Found::AllVersions, None, false)];
        };
        if asked.latest {
            versions.truncate(1);
        }
        if versions.is_empty() {
            return vec![base(Found::NoVersion, asked.branch.clone(), false)];
        }
        let many = versions.len() > 1;
        versions
            .into_iter()
            .map(|found| {
                let branch = asked
                    .branch
                    .clone()
                    .or_else(|| found.main_branch.filter(|_| asked.main_branch));
                base(Found::Version(found.version), branch, many)
            })
            .collect()
    }

    /// An ignore selector: `versions` as for [`Self::resolve`], `None` for
    /// the pacticipant id when no pacticipant has the name.
    pub fn ignore(
        asked: &VersionSelector,
        pacticipant_id: Option<i64>,
        versions: Option<Vec<FoundVersion>>,
    ) -> Self {
        match pacticipant_id {
            Some(id) => {
                let mut resolved =
                    Self::resolve(&asked.pacticipant, id, asked, versions, false, &[]);
                resolved.truncate(1);
                resolved
                    .pop()
                    .unwrap_or_else(|| Self::no_pacticipant(asked))
            }
            None => Self::no_pacticipant(asked),
        }
    }

    fn no_pacticipant(asked: &VersionSelector) -> Self {
        Self {
            pacticipant: asked.pacticipant.clone(),
            pacticipant_id: None,
            asked: asked.clone(),
            found: Found::NoPacticipant,
            branch: None,
            specified: false,
            one_of_many: false,
            ignored: false,
        }
    }

    pub fn version(&self) -> Option<&VersionRef> {
        match &self.found {
            Found::Version(v) => Some(v),
            _ => None,
        }
    }

    pub fn names_all_versions(&self) -> bool {
        self.found == Found::AllVersions
    }

    /// A selector that should name a version and names none.
    pub fn is_missing(&self) -> bool {
        self.found == Found::NoVersion
    }

    pub fn only_pacticipant_name(&self) -> bool {
        self.asked.only_pacticipant_name()
    }

    /// The version number its description gives: the one found, or the one
    /// asked for when it does not exist.
    fn version_number(&self) -> Option<&str> {
        match &self.found {
            Found::Version(v) => Some(&v.number),
            Found::NoVersion => self.asked.version.as_deref(),
            Found::AllVersions | Found::NoPacticipant => None,
        }
    }

    pub fn matches(&self, pacticipant_id: i64, version_id: Option<i64>) -> bool {
        if self.pacticipant_id != Some(pacticipant_id) {
            return false;
        }
        match (&self.found, version_id) {
            (Found::AllVersions, _) => true,
            (Found::Version(v), Some(id)) => v.id == id,
            _ => false,
        }
    }

    /// Whether this ignore selector covers a version of a pacticipant (the
    /// Pact Broker's `RowIgnorer` and `SelectorIgnorer`).
    fn covers_version(&self, pacticipant_id: i64, version_id: Option<i64>) -> bool {
        self.pacticipant_id == Some(pacticipant_id)
            && (self.only_pacticipant_name()
                || self.version().is_some_and(|v| Some(v.id) == version_id))
    }

    /// The Pact Broker's words for the selector, as used in reasons.
    pub fn description(&self) -> String {
        let p = &self.pacticipant;
        let number = self.version_number();
        let a = &self.asked;
        let latest_tagged = a.latest && a.tag.is_some();
        let tag = a.tag.as_deref().unwrap_or_default();
        let branch = self.branch.as_deref();
        let prefix = |many: &'static str, one: &'static str| {
            if self.one_of_many { many } else { one }
        };
        match (number, branch, a.environment.as_deref()) {
            (Some(n), _, _) if latest_tagged => {
                format!("the latest version of {p} with tag {tag} ({n})")
            }
            _ if latest_tagged => {
                format!("the latest version of {p} with tag {tag} (no such version exists)")
            }
            (None, _, _) if a.latest && a.main_branch => format!(
                "the latest version of {p} from the main branch (no versions exist for this branch)"
            ),
            (None, _, _) if a.main_branch => format!(
                "any version of {p} from the main branch (no versions exist for this branch)"
            ),
            (Some(n), Some(b), _) if a.latest => {
                format!("the latest version of {p} from branch {b} ({n})")
            }
            (None, Some(b), _) if a.latest => {
                format!("the latest version of {p} from branch {b} (no such version exists)")
            }
            (Some(n), Some(b), _) => format!(
                "{}of {p} from branch {b} ({n})",
                prefix("one of the versions ", "the version ")
            ),
            (None, Some(b), _) => {
                format!("a version of {p} from branch {b} (no such version exists)")
            }
            (Some(n), _, _) if a.latest => format!("the latest version of {p} ({n})"),
            _ if a.latest => format!("the latest version of {p} (no such version exists)"),
            (Some(n), _, _) if a.tag.is_some() => format!("a version of {p} with tag {tag} ({n})"),
            _ if a.tag.is_some() => {
                format!("a version of {p} with tag {tag} (no such version exists)")
            }
            (Some(n), _, Some(e)) => format!(
                "{} of {p} currently in {e} ({n})",
                prefix("one of the versions", "the version")
            ),
            (None, _, Some(e)) => format!(
                "a version of {p} currently in {e} (no version is currently recorded as deployed/released in this environment)"
            ),
            (Some(n), _, _) if self.is_missing() => {
                format!("version {n} of {p} (no such version exists)")
            }
            (Some(n), _, _) => format!("version {n} of {p}"),
            _ if self.found == Found::NoPacticipant => {
                format!("any version of {p} (no such pacticipant exists)")
            }
            _ => format!("any version of {p}"),
        }
    }

    /// Why a specified selector found no version, as an error reason.
    fn missing_reason(&self) -> String {
        let p = &self.pacticipant;
        let a = &self.asked;
        if let Some(t) = &a.tag {
            format!("No version with tag {t} exists for {p}")
        } else if let Some(b) = &self.branch {
            format!("No version of {p} from branch {b} exists")
        } else if a.main_branch {
            format!("No version of {p} from the main branch exists")
        } else if let Some(e) = &a.environment {
            format!(
                "No version of {p} is currently recorded as deployed or released in environment {e}"
            )
        } else if let Some(n) = &a.version {
            format!("No pacts or verifications have been published for version {n} of {p}")
        } else {
            format!("No pacts or verifications have been published for {p}")
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VersionRef {
    /// Storage id, which is also the version's order.
    pub id: i64,
    pub number: String,
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
    /// The publication's id: the order pacts were published in.
    pub pact_publication_id: i64,
    pub pact_sha: String,
    pub pact_revision: i64,
    pub pact_created_at: DateTime<Utc>,
    pub verification: Option<VerificationRef>,
    /// Set when the row matches an ignore selector.
    pub ignored: bool,
    /// Set on a bi-directional row: the provider version published a
    /// provider contract, compared with the pact rather than verified.
    pub contract: Option<ContractCheck>,
}

/// What decides a bi-directional row: the provider's own test result
/// against its document, and the comparison of the pact with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractCheck {
    pub self_verified: bool,
    /// The comparison's errors; empty when compatible. Meaningful only once
    /// the row's `verification` (the comparison) is there.
    pub mismatches: Vec<Mismatch>,
}

/// One error of a comparison, as a reason and a fix name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// PactFlow's code, for example `request.path-or-method.unknown`.
    pub code: String,
    pub message: String,
    pub interaction: Option<String>,
    /// Where in the pact, for example `[root].interactions[0].request.path`.
    pub pact_location: Option<String>,
    /// Where in the document, for example `[root].paths./pets/{id}.get`.
    pub spec_location: Option<String>,
}

impl Mismatch {
    /// `code at location (interaction 'x')`, for a reason.
    fn described(&self) -> String {
        let mut text = self.code.clone();
        if let Some(location) = &self.pact_location {
            text.push_str(&format!(" at {location}"));
        }
        if let Some(interaction) = &self.interaction {
            text.push_str(&format!(" (interaction '{interaction}')"));
        }
        text
    }
}

/// How a row's pact was checked, as PactFlow's matrix says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerificationType {
    /// Consumer-driven: the provider ran the pact.
    Cdct,
    /// Bi-directional: the pact was compared with the provider's document.
    Bdct,
}

impl VerificationType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cdct => "CDCT",
            Self::Bdct => "BDCT",
        }
    }
}

impl Row {
    /// A bi-directional row whose provider failed its own tests is failed
    /// before (and whatever) the comparison says.
    pub fn success(&self) -> Option<bool> {
        if self.contract.as_ref().is_some_and(|c| !c.self_verified) {
            return Some(false);
        }
        self.verification.as_ref().map(|v| v.success)
    }

    /// `None` for a pact no provider version checked yet.
    pub fn verification_type(&self) -> Option<VerificationType> {
        if self.contract.is_some() {
            Some(VerificationType::Bdct)
        } else {
            self.verification.as_ref().map(|_| VerificationType::Cdct)
        }
    }

    /// Where the row stands in the "most recent activity first" order.
    pub fn rank(&self) -> RowRank {
        RowRank::of(
            self.pact_created_at,
            self.pact_publication_id,
            self.verification
                .as_ref()
                .map(|v| (v.verified_at, v.number)),
        )
    }

    /// The Pact Broker's order of the rows it shows: consumer name, newest
    /// consumer version, newest revision, provider name, then provider
    /// versions and verifications newest first, unverified ones before them.
    fn shown_order(&self, other: &Self) -> Ordering {
        /// Newest first, and a missing value before any.
        fn newest_first(a: Option<i64>, b: Option<i64>) -> Ordering {
            match (a, b) {
                (Some(a), Some(b)) => b.cmp(&a),
                (Some(_), None) => Ordering::Greater,
                (None, Some(_)) => Ordering::Less,
                (None, None) => Ordering::Equal,
            }
        }
        self.consumer
            .cmp(&other.consumer)
            .then_with(|| other.consumer_version.id.cmp(&self.consumer_version.id))
            .then_with(|| other.pact_revision.cmp(&self.pact_revision))
            .then_with(|| self.provider.cmp(&other.provider))
            .then_with(|| {
                newest_first(
                    self.provider_version.as_ref().map(|v| v.id),
                    other.provider_version.as_ref().map(|v| v.id),
                )
            })
            .then_with(|| {
                newest_first(
                    self.verification.as_ref().map(|v| v.number),
                    other.verification.as_ref().map(|v| v.number),
                )
            })
    }
}

/// The order rows are limited in, greatest first, as the Pact Broker's
/// query orders them: the last action on the row (its verification, or its
/// pact's publication), then the publication, then the verification. A total
/// order, so a limit keeps the same rows however they were found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct RowRank {
    last_action: DateTime<Utc>,
    pact_publication: i64,
    verification: i64,
}

impl RowRank {
    /// `verification`: when it ran, and its number.
    pub fn of(
        pact_created_at: DateTime<Utc>,
        pact_publication_id: i64,
        verification: Option<(DateTime<Utc>, i64)>,
    ) -> Self {
        let (last_action, number) = match verification {
            Some((at, number)) => (at.max(pact_created_at), number),
            None => (pact_created_at, -1),
        };
        Self {
            last_action,
            pact_publication: pact_publication_id,
            verification: number,
        }
    }

    pub fn last_action(&self) -> DateTime<Utc> {
        self.last_action
    }
}

/// The `limit` most recent rows, chosen as rows are found: a pair whose one
/// pact content was published by thousands of versions and verified
/// thousands of times has millions of pact × verification rows, and only
/// the page is ever held. The Pact Broker cuts at the limit before it
/// applies `latestby` and `success[]`, so this sees every row.
#[derive(Debug)]
pub struct NewestRows {
    limit: usize,
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
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.cmp(&other.0)
    }
}

impl NewestRows {
    /// `None` when the query keeps every row.
    pub fn for_query(query: &MatrixQuery) -> Option<Self> {
        (query.limit != NO_LIMIT).then(|| Self {
            limit: usize::try_from(query.limit).unwrap_or(usize::MAX),
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
    /// The verification's number (its id).
    pub number: i64,
    pub success: bool,
    pub verified_at: DateTime<Utc>,
}

/// A consumer/provider pair the verdict depends on. `required` when one of
/// the selected versions is the consumer (a consumer needs its providers; a
/// provider does not need its consumers to be deployed).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Integration {
    pub consumer: String,
    pub consumer_id: i64,
    pub provider: String,
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
    /// The specified selectors, then the inferred ones.
    pub selectors: Vec<ResolvedSelector>,
    pub ignores: Vec<ResolvedSelector>,
    /// Sorted by consumer name, then provider name.
    pub integrations: Vec<Integration>,
    /// The pact × verification rows between the selected versions (the
    /// `limit` most recent, unless the query keeps every row).
    pub rows: Vec<Row>,
    pub known_good: Vec<KnownGoodVerifier>,
    /// The specified versions whose provider contract's self-verification
    /// failed (pacticipant, version number): not deployable, whatever the rows.
    pub failed_self_verifications: Vec<(String, String)>,
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
    /// What the selectors found: specified, then inferred.
    pub selectors: Vec<ResolvedSelector>,
}

impl Matrix {
    /// Why each selector the client gave found no version, if one did not
    /// (the version a can-i-deploy route names does not exist).
    pub fn missing_versions(&self) -> Vec<String> {
        self.selectors
            .iter()
            .filter(|s| s.specified && s.is_missing())
            .map(ResolvedSelector::missing_reason)
            .collect()
    }
}

/// Applies the limit, `latestby`, `success[]` and the ignores, in the Pact
/// Broker's order, and decides.
pub fn evaluate(query: &MatrixQuery, evidence: Evidence) -> Matrix {
    let Evidence {
        selectors,
        ignores,
        integrations,
        mut rows,
        known_good,
        failed_self_verifications,
    } = evidence;
    // The Pact Broker's query gives the most recent rows first and cuts at
    // the limit; `latestby` then keeps the first of a group when it is
    // unverified.
    rows.sort_by_key(|row| Reverse(row.rank()));
    rows.truncate(usize::try_from(query.limit).unwrap_or(usize::MAX));
    let mut rows = latest_by(rows, query.latest_by);
    if let Some(success) = &query.success {
        rows.retain(|row| success.contains(&row.success()));
    }
    for row in &mut rows {
        row.ignored = ignores.iter().any(|i| {
            i.covers_version(row.consumer_id, Some(row.consumer_version.id))
                || i.covers_version(row.provider_id, row.provider_version.as_ref().map(|v| v.id))
        });
    }
    let (mut considered, mut ignored): (Vec<Row>, Vec<Row>) =
        rows.into_iter().partition(|r| !r.ignored);
    considered.sort_by(Row::shown_order);
    ignored.sort_by(Row::shown_order);
    let mut summary = decide(
        query,
        &selectors,
        &ignores,
        &integrations,
        &considered,
        &ignored,
        &known_good,
    );
    for (pacticipant, version) in &failed_self_verifications {
        summary.deployable = Some(false);
        summary.reasons.retain(|r| r.kind != NoticeKind::Success);
        summary.reasons.push(Notice {
            kind: NoticeKind::Error,
            text: format!("The self-verification results of the provider contract of {pacticipant} version {version} are not successful"),
        });
        summary.fixes.push(format!(
            "Fix {pacticipant} (or its OpenAPI document) until its own tests against the document pass, and publish the provider contract again with successful self-verification results."
        ));
    }
    let mut all = considered;
    all.extend(ignored);
    Matrix {
        rows: all,
        summary,
        selectors,
    }
}

/// Keeps, per group, the row the `latestby` option says: the group's first
/// row (the most recent) when it is unverified, else the row of its newest
/// provider version. `rows` come most recent first.
fn latest_by(rows: Vec<Row>, latest_by: Option<LatestBy>) -> Vec<Row> {
    let Some(latest_by) = latest_by else {
        return rows;
    };
    let key = |row: &Row| {
        let pv = row.provider_version.as_ref().map_or(-1, |v| v.id);
        match latest_by {
            LatestBy::Cvpv => (
                row.consumer_id,
                row.consumer_version.id,
                row.provider_id,
                pv,
            ),
            LatestBy::Cvp => (row.consumer_id, row.consumer_version.id, row.provider_id, 0),
            LatestBy::Cp => (row.consumer_id, 0, row.provider_id, 0),
        }
    };
    let mut groups: Vec<Row> = Vec::new();
    let mut index: HashMap<(i64, i64, i64, i64), usize> = HashMap::new();
    for row in rows {
        let k = key(&row);
        match index.get(&k) {
            None => {
                index.insert(k, groups.len());
                groups.push(row);
            }
            Some(&at) => {
                let kept = &groups[at];
                let newer = |r: &Row| r.provider_version.as_ref().map_or(-1, |v| v.id);
                if kept.provider_version.is_some() && newer(&row) > newer(kept) {
                    groups[at] = row;
                }
            }
        }
    }
    groups
}

/// The description the Pact Broker gives a pacticipant in a reason: the one
/// selector with that name; or, among several, the one of that version; or
/// else the first "dummy" selector made from the rows and integrations (the
/// rows' versions first), which may name another version than the row's.
struct Describer<'a> {
    selectors: &'a [ResolvedSelector],
    dummies: Vec<(&'a str, String)>,
}

impl<'a> Describer<'a> {
    fn new(
        selectors: &'a [ResolvedSelector],
        considered: &'a [Row],
        integrations: &'a [Integration],
    ) -> Self {
        let mut dummies: Vec<(&str, String)> = Vec::new();
        for row in considered {
            dummies.push((
                &row.consumer,
                format!(
                    "version {} of {}",
                    row.consumer_version.number, row.consumer
                ),
            ));
            dummies.push((
                &row.provider,
                match &row.provider_version {
                    Some(v) => format!("version {} of {}", v.number, row.provider),
                    None => format!("any version of {}", row.provider),
                },
            ));
        }
        for integration in integrations {
            dummies.push((
                &integration.consumer,
                format!("any version of {}", integration.consumer),
            ));
            dummies.push((
                &integration.provider,
                format!("any version of {}", integration.provider),
            ));
        }
        Self { selectors, dummies }
    }

    fn describe(&self, pacticipant: &str, version: Option<&str>) -> String {
        let found: Vec<&ResolvedSelector> = self
            .selectors
            .iter()
            .filter(|s| s.pacticipant == pacticipant)
            .collect();
        if let [only] = found.as_slice() {
            return only.description();
        }
        if let Some(number) = version
            && let Some(selector) = found.iter().find(|s| s.version_number() == Some(number))
        {
            return selector.description();
        }
        self.dummies
            .iter()
            .find(|(name, _)| *name == pacticipant)
            .map_or_else(
                || format!("any version of {pacticipant}"),
                |(_, text)| text.clone(),
            )
    }
}

fn decide(
    query: &MatrixQuery,
    selectors: &[ResolvedSelector],
    ignores: &[ResolvedSelector],
    integrations: &[Integration],
    considered: &[Row],
    ignored: &[Row],
    known_good: &[KnownGoodVerifier],
) -> Summary {
    let mut warnings: Vec<String> = ignores
        .iter()
        .filter(|i| matches!(i.found, Found::NoPacticipant | Found::NoVersion))
        .map(|i| format!("WARN: Cannot ignore {}", i.description()))
        .collect();
    let specified: Vec<&ResolvedSelector> = selectors.iter().filter(|s| s.specified).collect();
    let names_a_destination = query
        .scope
        .as_ref()
        .is_some_and(crate::matrix_query::Scope::names_a_destination);
    if specified.len() == 1 && !names_a_destination {
        warnings.push("WARN: It is recommended to specify the environment into which you are deploying. Without the environment, this result will not be reliable.".to_owned());
    }
    if specified.iter().any(|s| !s.only_pacticipant_name())
        && specified.iter().all(|s| s.asked.version.is_none())
    {
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
    let without_rows: Vec<&Integration> = integrations
        .iter()
        .filter(|i| i.required && !with_rows.contains(&(i.consumer_id, i.provider_id)))
        .collect();
    let missing: Vec<&ResolvedSelector> = specified
        .iter()
        .copied()
        .filter(|s| s.is_missing() && !s.ignored)
        .collect();
    let deployable = if !missing.is_empty() {
        Some(false)
    } else if unverified > 0 || !without_rows.is_empty() {
        None
    } else {
        Some(considered.iter().all(|r| r.success() == Some(true)))
    };

    let mut errors = Vec::new();
    let mut fixes = Vec::new();
    if missing.is_empty() {
        let describer = Describer::new(selectors, considered, integrations);
        let in_environment = query
            .scope
            .as_ref()
            .is_some_and(|s| s.environment.is_some());
        for integration in &without_rows {
            errors.push(format!(
                "There is no verified pact between {} and {}",
                describer.describe(&integration.consumer, None),
                describer.describe(&integration.provider, None)
            ));
            fixes.push(format!(
                "Verify the pact of {} with {}, and record where that provider version is deployed.",
                integration.consumer, integration.provider
            ));
        }
        let describe_row = |row: &Row| {
            (
                describer.describe(&row.consumer, Some(&row.consumer_version.number)),
                describer.describe(
                    &row.provider,
                    row.provider_version.as_ref().map(|v| v.number.as_str()),
                ),
            )
        };
        // Failed verifications first, then missing ones, each row its own
        // reason as the Pact Broker words them (the same words may repeat).
        for wanted in [Some(false), None] {
            for row in considered.iter().filter(|r| r.success() == wanted) {
                let (consumer, provider) = describe_row(row);
                errors.push(match (&row.contract, wanted) {
                    (Some(contract), Some(_)) => bdct_failure(contract, &consumer, &provider),
                    (Some(_), None) => format!(
                        "The pact between {consumer} and the provider contract of {provider} has not been compared yet"
                    ),
                    (None, Some(_)) => format!(
                        "The verification for the pact between {consumer} and {provider} failed"
                    ),
                    (None, None) => {
                        format!("There is no verified pact between {consumer} and {provider}")
                    }
                });
                match &row.contract {
                    Some(contract) => fixes.extend(bdct_fixes(row, contract)),
                    None => fixes.push(fix_for(row, in_environment, known_good)),
                }
            }
        }
    } else {
        for selector in &missing {
            errors.push(selector.missing_reason());
            fixes.push(match &selector.asked.version {
                Some(n) => format!(
                    "Publish {}'s pacts (or record its verifications) for version {n}, or check the version number: Treaty has no version {n} of {}.",
                    selector.pacticipant, selector.pacticipant
                ),
                None => format!(
                    "Make sure {} exists: {}.",
                    selector.description(),
                    selector.missing_reason()
                ),
            });
        }
    }

    let mut reasons: Vec<Notice> = warnings
        .into_iter()
        .map(|text| Notice {
            kind: NoticeKind::Warning,
            text,
        })
        .collect();
    if errors.is_empty() {
        if considered.iter().all(|r| r.success() == Some(true)) && without_rows.is_empty() {
            let text = if considered.is_empty() {
                "There are no missing dependencies"
            } else {
                "All required verification results are published and successful"
            };
            reasons.push(Notice {
                kind: NoticeKind::Success,
                text: text.to_owned(),
            });
        }
    } else {
        reasons.extend(errors.into_iter().map(|text| Notice {
            kind: NoticeKind::Error,
            text,
        }));
    }
    let mut seen = HashSet::new();
    fixes.retain(|fix| seen.insert(fix.clone()));

    Summary {
        deployable,
        reasons,
        success,
        failed,
        unknown: unverified + without_rows.len(),
        ignored: (!ignores.is_empty()).then_some(ignored.len()),
        fixes,
    }
}

/// Why a bi-directional row failed: the provider's own tests, or the
/// mismatches between the pact and the document (each named).
fn bdct_failure(contract: &ContractCheck, consumer: &str, provider: &str) -> String {
    if !contract.self_verified {
        return format!(
            "The verification for the pact between {consumer} and {provider} failed: the self-verification results of the provider contract of {provider} are not successful"
        );
    }
    let mismatches: Vec<String> = contract
        .mismatches
        .iter()
        .map(Mismatch::described)
        .collect();
    format!(
        "The verification for the pact between {consumer} and {provider} failed: the pact is not compatible with the provider contract ({} mismatch{}: {})",
        mismatches.len(),
        if mismatches.len() == 1 { "" } else { "es" },
        mismatches.join("; ")
    )
}

/// What would fix a bi-directional row: per mismatch, the interaction to
/// change or the part of the document that lacks it.
fn bdct_fixes(row: &Row, contract: &ContractCheck) -> Vec<String> {
    let consumer = format!("{} {}", row.consumer, row.consumer_version.number);
    let provider = match &row.provider_version {
        Some(v) => format!("{} {}", row.provider, v.number),
        None => row.provider.clone(),
    };
    if !contract.self_verified {
        return vec![format!(
            "Fix {provider} (or its OpenAPI document) until its own tests against the document pass, and publish the provider contract again with successful self-verification results."
        )];
    }
    if row.verification.is_none() {
        return vec![format!(
            "Wait for Treaty to compare the pact of {consumer} with the provider contract of {provider} (can-i-deploy --retry-while-unknown waits for it)."
        )];
    }
    contract
        .mismatches
        .iter()
        .map(|m| {
            let interaction = m.interaction.as_ref().map_or_else(
                || "the pact".to_owned(),
                |i| format!("the interaction '{i}'"),
            );
            let document = m.spec_location.as_ref().map_or_else(
                || "the document".to_owned(),
                |l| format!("the document at {l}"),
            );
            format!(
                "{}: change {interaction} of {consumer}'s pact, or {document} of {provider} ({}).",
                m.code, m.message
            )
        })
        .collect()
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
    use crate::matrix_query::{IgnoreSelector, LatestBy, Scope, parse_matrix_query};

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

    /// A row of Foo `consumer_version` and Bar: `(provider version, success,
    /// verification number)`, verified at second `number`.
    fn row(consumer_version: i64, provider_version: Option<(i64, bool, i64)>) -> Row {
        Row {
            consumer: "Foo".into(),
            consumer_id: FOO,
            consumer_version: version(consumer_version),
            provider: "Bar".into(),
            provider_id: BAR,
            provider_version: provider_version.map(|(id, _, _)| version(id)),
            pact_publication_id: consumer_version,
            pact_sha: format!("sha{consumer_version}"),
            pact_revision: 1,
            pact_created_at: at(0),
            verification: provider_version.map(|(_, success, number)| VerificationRef {
                number,
                success,
                verified_at: at(u32::try_from(number).unwrap()),
            }),
            ignored: false,
            contract: None,
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

    fn selector(name: &str) -> VersionSelector {
        VersionSelector {
            pacticipant: name.into(),
            ..VersionSelector::default()
        }
    }

    fn found(v: i64) -> Option<Vec<FoundVersion>> {
        Some(vec![FoundVersion {
            version: version(v),
            main_branch: None,
        }])
    }

    /// Foo's version `v`, as the client named it.
    fn specified(id: i64, v: i64) -> ResolvedSelector {
        let name = if id == FOO { "Foo" } else { "Bar" };
        let asked = VersionSelector {
            version: Some(v.to_string()),
            ..selector(name)
        };
        ResolvedSelector::resolve(name, id, &asked, found(v), true, &[]).remove(0)
    }

    fn in_production(versions: &[i64]) -> Vec<ResolvedSelector> {
        let asked = VersionSelector {
            environment: Some("production".into()),
            ..selector("Bar")
        };
        let versions = versions
            .iter()
            .map(|v| FoundVersion {
                version: version(*v),
                main_branch: None,
            })
            .collect();
        ResolvedSelector::resolve("Bar", BAR, &asked, Some(versions), false, &[])
    }

    fn query(latest_by: Option<LatestBy>) -> MatrixQuery {
        MatrixQuery {
            selectors: vec![VersionSelector {
                pacticipant: "Foo".into(),
                version: Some("1".into()),
                ..VersionSelector::default()
            }],
            latest_by,
            scope: Some(Scope {
                environment: Some("production".into()),
                ..Scope::default()
            }),
            ignore: Vec::new(),
            success: None,
            limit: 100,
        }
    }

    fn evidence(selectors: Vec<ResolvedSelector>, rows: Vec<Row>) -> Evidence {
        Evidence {
            selectors,
            integrations: vec![Integration {
                consumer: "Foo".into(),
                consumer_id: FOO,
                provider: "Bar".into(),
                provider_id: BAR,
                required: true,
            }],
            rows,
            ..Evidence::default()
        }
    }

    #[test]
    fn newest_rows_keeps_what_sorting_everything_and_truncating_keeps() {
        for limit in [1, 5, 17, 100, 1000] {
            let mut q = query(None);
            q.limit = limit;
            let mut newest = NewestRows::for_query(&q).unwrap();
            for row in many_rows() {
                newest.offer(row);
            }
            let mut kept = newest.into_rows();
            kept.sort_by_key(|r| Reverse(r.rank()));
            let mut all = many_rows();
            all.sort_by_key(|r| Reverse(r.rank()));
            all.truncate(limit as usize);
            assert_eq!(kept, all, "limit {limit}");
        }
    }

    #[test]
    fn newest_rows_keeps_everything_without_a_limit_and_says_when_older_rows_cannot_get_in() {
        let mut q = query(Some(LatestBy::Cvp));
        q.limit = crate::matrix_query::NO_LIMIT;
        assert!(NewestRows::for_query(&q).is_none());
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

    #[test]
    fn the_limit_cuts_the_most_recent_rows_before_success_and_latestby_filter_them() {
        // Two rows: the newer one failed. With limit 1 and success[]=true
        // the Pact Broker keeps the newer row, then filters it out.
        let rows = vec![row(1, Some((10, true, 1))), row(1, Some((11, false, 2)))];
        let mut q = query(None);
        q.scope = None;
        q.limit = 1;
        q.success = Some(vec![Some(true)]);
        let selectors = vec![specified(FOO, 1), specified(BAR, 10), specified(BAR, 11)];
        let matrix = evaluate(&q, evidence(selectors, rows));
        assert!(matrix.rows.is_empty(), "{:?}", matrix.rows);
    }

    #[test]
    fn cvpv_sees_every_co_resident_provider_version_and_cvp_only_the_newest() {
        let rows = vec![row(1, Some((10, false, 1))), row(1, Some((11, true, 2)))];
        let mut selectors = vec![specified(FOO, 1)];
        selectors.extend(in_production(&[10, 11]));
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
        let all_of_foo = ResolvedSelector::resolve("Foo", FOO, &selector("Foo"), None, true, &[]);
        let matrix = evaluate(&q, evidence(all_of_foo, rows));
        assert_eq!(matrix.summary.deployable, None);
        assert_eq!((matrix.summary.failed, matrix.summary.unknown), (1, 1));
        assert_eq!(matrix.summary.fixes.len(), 2);
    }

    #[test]
    fn a_missing_specified_version_is_false_with_only_that_reason() {
        let asked = VersionSelector {
            version: Some("7".into()),
            ..selector("Foo")
        };
        let selectors = ResolvedSelector::resolve("Foo", FOO, &asked, Some(vec![]), true, &[]);
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
        e.integrations.clear();
        let matrix = evaluate(&query(Some(LatestBy::Cvpv)), e);
        assert_eq!(matrix.summary.deployable, Some(true));
        assert_eq!(matrix.summary.reason(), "There are no missing dependencies");
        assert!(matrix.summary.fixes.is_empty());
    }

    #[test]
    fn ignored_rows_come_last_in_the_shown_order_flagged_and_do_not_count() {
        let mut q = query(Some(LatestBy::Cvpv));
        q.ignore = vec![IgnoreSelector {
            pacticipant: "Bar".into(),
            version: None,
        }];
        let ignore_bar = ResolvedSelector::ignore(&selector("Bar"), Some(BAR), None);
        let mut selectors = vec![specified(FOO, 1)];
        selectors.extend(in_production(&[10, 11]));
        let mut e = evidence(
            selectors,
            vec![row(1, Some((10, false, 1))), row(1, Some((11, false, 2)))],
        );
        e.ignores = vec![ignore_bar];
        let matrix = evaluate(&q, e);
        assert_eq!(matrix.summary.deployable, Some(true));
        assert_eq!(matrix.summary.ignored, Some(2));
        assert!(matrix.rows.iter().all(|r| r.ignored));
        let versions: Vec<i64> = matrix
            .rows
            .iter()
            .map(|r| r.provider_version.as_ref().unwrap().id)
            .collect();
        assert_eq!(versions, [11, 10], "newest provider version first");
    }

    #[test]
    fn an_unknown_ignore_warns_in_the_pact_brokers_words() {
        let nope = ResolvedSelector::ignore(&selector("Nope"), None, None);
        assert_eq!(
            nope.description(),
            "any version of Nope (no such pacticipant exists)"
        );
        let asked = VersionSelector {
            version: Some("9".into()),
            ..selector("Bar")
        };
        let missing = ResolvedSelector::ignore(&asked, Some(BAR), Some(vec![]));
        assert_eq!(
            missing.description(),
            "version 9 of Bar (no such version exists)"
        );
    }

    #[test]
    fn warns_without_an_environment_and_without_a_version_number() {
        let q = parse_matrix_query("q[][pacticipant]=Foo&q[][latest]=true").unwrap();
        let asked = VersionSelector {
            latest: true,
            ..selector("Foo")
        };
        let selectors = ResolvedSelector::resolve("Foo", FOO, &asked, found(1), true, &[]);
        let mut e = evidence(selectors, vec![]);
        e.integrations.clear();
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
    fn describes_selectors_in_the_pact_brokers_words() {
        let found_on_main = Some(vec![FoundVersion {
            version: version(103),
            main_branch: Some("main".into()),
        }]);
        let cases: Vec<(VersionSelector, Option<Vec<FoundVersion>>, &str)> = vec![
            (
                VersionSelector {
                    tag: Some("dev".into()),
                    ..selector("Bar")
                },
                found(101),
                "a version of Bar with tag dev (101)",
            ),
            (
                VersionSelector {
                    tag: Some("dev".into()),
                    latest: true,
                    ..selector("Bar")
                },
                found(101),
                "the latest version of Bar with tag dev (101)",
            ),
            (
                VersionSelector {
                    main_branch: true,
                    latest: true,
                    ..selector("Bar")
                },
                found_on_main.clone(),
                "the latest version of Bar from branch main (103)",
            ),
            (
                VersionSelector {
                    main_branch: true,
                    ..selector("Bar")
                },
                found_on_main,
                "the version of Bar from branch main (103)",
            ),
            (
                VersionSelector {
                    main_branch: true,
                    latest: true,
                    ..selector("Bar")
                },
                Some(vec![]),
                "the latest version of Bar from the main branch (no versions exist for this branch)",
            ),
            (
                VersionSelector {
                    branch: Some("feat".into()),
                    ..selector("Bar")
                },
                Some(vec![]),
                "a version of Bar from branch feat (no such version exists)",
            ),
            (
                VersionSelector {
                    environment: Some("uat".into()),
                    ..selector("Bar")
                },
                Some(vec![]),
                "a version of Bar currently in uat (no version is currently recorded as deployed/released in this environment)",
            ),
            (
                VersionSelector {
                    version: Some("9.9".into()),
                    ..selector("Bar")
                },
                Some(vec![]),
                "version 9.9 of Bar (no such version exists)",
            ),
            (selector("Bar"), None, "any version of Bar"),
        ];
        for (asked, versions, words) in cases {
            let resolved = ResolvedSelector::resolve("Bar", BAR, &asked, versions, true, &[]);
            assert_eq!(resolved[0].description(), words);
        }
        let both = ResolvedSelector::resolve(
            "Bar",
            BAR,
            &VersionSelector {
                main_branch: true,
                ..selector("Bar")
            },
            Some(vec![
                FoundVersion {
                    version: version(101),
                    main_branch: Some("main".into()),
                },
                FoundVersion {
                    version: version(100),
                    main_branch: Some("main".into()),
                },
            ]),
            false,
            &[],
        );
        assert_eq!(
            both[0].description(),
            "one of the versions of Bar from branch main (101)"
        );
    }

    /// The Pact Broker describes a pacticipant no selector names through the
    /// first row naming it: every failed row of Baz is "version 0.2.0 of
    /// Baz", the first Baz row, and the reasons repeat.
    #[test]
    fn reasons_name_unselected_pacticipants_by_their_first_row_and_may_repeat() {
        let baz = |v: i64, number: i64| Row {
            consumer: "Baz".into(),
            consumer_id: 3,
            consumer_version: VersionRef {
                id: v,
                number: format!("0.{v}.0"),
            },
            ..row(v, Some((100, false, number)))
        };
        let rows = vec![baz(1, 1), baz(2, 2)];
        let q = parse_matrix_query("q[][pacticipant]=Bar").unwrap();
        let bar = ResolvedSelector::resolve("Bar", BAR, &selector("Bar"), None, true, &[]);
        let mut e = evidence(bar, rows);
        e.integrations.clear();
        let matrix = evaluate(&q, e);
        let errors: Vec<&str> = matrix
            .summary
            .reasons
            .iter()
            .filter(|n| n.kind == NoticeKind::Error)
            .map(|n| n.text.as_str())
            .collect();
        assert_eq!(
            errors,
            [
                "The verification for the pact between version 0.2.0 of Baz and any version of Bar failed",
                "The verification for the pact between version 0.2.0 of Baz and any version of Bar failed",
            ]
        );
    }

    #[test]
    fn rows_are_shown_by_consumer_then_newest_versions_with_unverified_ones_first() {
        let mut q = query(None);
        q.scope = None;
        let rows = vec![
            row(1, Some((10, true, 1))),
            row(2, Some((10, true, 2))),
            row(1, Some((11, true, 3))),
            row(3, None),
        ];
        let all_of_foo = ResolvedSelector::resolve("Foo", FOO, &selector("Foo"), None, true, &[]);
        let matrix = evaluate(&q, evidence(all_of_foo, rows));
        let order: Vec<(i64, Option<i64>)> = matrix
            .rows
            .iter()
            .map(|r| {
                (
                    r.consumer_version.id,
                    r.provider_version.as_ref().map(|v| v.id),
                )
            })
            .collect();
        assert_eq!(
            order,
            [(3, None), (2, Some(10)), (1, Some(11)), (1, Some(10))]
        );
    }

    #[test]
    fn the_fix_names_a_provider_version_that_has_verified_the_pact() {
        let mut selectors = vec![specified(FOO, 1)];
        selectors.extend(in_production(&[10]));
        let mut e = evidence(selectors, vec![row(1, Some((10, false, 1)))]);
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

    fn foo_1_and_bar_7() -> Vec<ResolvedSelector> {
        let mut selectors = vec![specified(FOO, 1)];
        selectors.extend(in_production(&[7]));
        selectors
    }

    fn bdct_row(self_verified: bool, compared: Option<bool>) -> Row {
        let mut row = row(1, Some((7, compared.unwrap_or(true), 30)));
        if compared.is_none() {
            row.verification = None;
        }
        row.contract = Some(ContractCheck {
            self_verified,
            mismatches: if compared == Some(false) {
                vec![Mismatch {
                    code: "request.path-or-method.unknown".into(),
                    message: "Path or method not defined in spec file: GET /things".into(),
                    interaction: Some("a request for things".into()),
                    pact_location: Some("[root].interactions[0].request.path".into()),
                    spec_location: Some("[root].paths".into()),
                }]
            } else {
                Vec::new()
            },
        });
        row
    }

    #[test]
    fn a_bdct_row_is_typed_and_decided_by_its_comparison_and_self_verification() {
        let compatible = evaluate(
            &query(None),
            evidence(foo_1_and_bar_7(), vec![bdct_row(true, Some(true))]),
        );
        assert_eq!(compatible.summary.deployable, Some(true));
        assert_eq!(
            compatible.rows[0].verification_type(),
            Some(VerificationType::Bdct)
        );

        let unknown = evaluate(
            &query(None),
            evidence(foo_1_and_bar_7(), vec![bdct_row(true, None)]),
        );
        assert_eq!(unknown.summary.deployable, None);
        assert!(
            unknown
                .summary
                .reason()
                .contains("has not been compared yet")
        );

        let incompatible = evaluate(
            &query(None),
            evidence(foo_1_and_bar_7(), vec![bdct_row(true, Some(false))]),
        );
        assert_eq!(incompatible.summary.deployable, Some(false));
        let reason = incompatible.summary.reason();
        assert!(
            reason.contains("request.path-or-method.unknown at [root].interactions[0].request.path (interaction 'a request for things')"),
            "{reason}"
        );
        let fix = incompatible.summary.fixes.join("\n");
        assert!(
            fix.contains("the interaction 'a request for things'")
                && fix.contains("the document at [root].paths"),
            "{fix}"
        );

        // A failed self-verification fails the row even before a comparison.
        let self_failed = evaluate(
            &query(None),
            evidence(foo_1_and_bar_7(), vec![bdct_row(false, None)]),
        );
        assert_eq!(self_failed.summary.deployable, Some(false));
        assert!(self_failed.summary.reason().contains("self-verification"));
    }

    #[test]
    fn a_specified_version_whose_self_verification_failed_is_not_deployable_without_rows() {
        let mut evidence = evidence(vec![specified(BAR, 7)], Vec::new());
        evidence.integrations.clear();
        evidence.failed_self_verifications = vec![("Bar".into(), "7".into())];
        let matrix = evaluate(&query(None), evidence);
        assert_eq!(matrix.summary.deployable, Some(false));
        assert!(
            matrix
                .summary
                .reason()
                .contains("self-verification results of the provider contract of Bar version 7")
        );
    }
}
