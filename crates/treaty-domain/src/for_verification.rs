//! Pacts for verification: which pacts a provider's build must verify, why
//! (the consumer version selectors), and whether a failure may fail the build
//! (pending) — the Pact Broker's semantics and words.
//!
//! Storage finds the consumer versions each selector names and the facts
//! pending status depends on; this module says what a selector means
//! (`Selector::lookup`), merges what several selectors chose, orders the
//! reasons as the Pact Broker does, and decides pending status.
//! `validation` reads requests, `messages` words the answer.

pub mod messages;
pub mod validation;

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};

pub use messages::{metadata, metadata_is_wip, notices, short_description};
pub use validation::{FieldErrors, MAX_SELECTORS, names_an_environment, parse_body, parse_query};

/// One consumer version selector, as the Pact Broker holds it once read
/// (`mainBranch`, `branch` and `matchingBranch` imply `latest`,
/// `matchingBranch` takes the provider's branch, `deployedOrReleased` is two
/// selectors).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Selector {
    pub main_branch: bool,
    pub branch: Option<String>,
    /// `"branch": true`: the head of every branch.
    pub each_branch: bool,
    pub matching_branch: bool,
    pub tag: Option<String>,
    /// Absent, or given (`false` with a tag: every version with the tag).
    pub latest: Option<bool>,
    pub fallback_tag: Option<String>,
    pub fallback_branch: Option<String>,
    pub consumer: Option<String>,
    pub environment: Option<String>,
    /// Currently deployed (to `environment`, or anywhere).
    pub deployed: bool,
    /// Released and still supported (in `environment`, or anywhere).
    pub released: bool,
}

/// Which consumer versions a selector asks for: what storage looks up.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Lookup {
    /// The head of each consumer's main branch.
    MainBranchHeads,
    /// The head of every branch of each consumer.
    EachBranchHead,
    BranchHead(String),
    /// The latest version with the tag, per consumer.
    LatestTagged(String),
    /// Every version with the tag.
    AllTagged(String),
    Deployed(Option<String>),
    Released(Option<String>),
    /// Deployed to or released in the environment.
    InEnvironment(String),
    /// The latest version of each consumer with a pact with the provider.
    Latest,
    Nothing,
}

/// The kinds the notices group reasons by (the Pact Broker's `Selector#type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    LatestForMainBranch,
    LatestForEachBranch,
    LatestForBranch,
    MatchingBranch,
    CurrentlyDeployed,
    CurrentlySupported,
    InEnvironment,
    LatestForTag,
    AllForTag,
    OverallLatest,
    Undefined,
}

impl Selector {
    pub fn latest_for_branch(branch: &str) -> Self {
        Self {
            branch: Some(branch.to_owned()),
            latest: Some(true),
            ..Self::default()
        }
    }

    pub fn latest_for_tag(tag: &str) -> Self {
        Self {
            tag: Some(tag.to_owned()),
            latest: Some(true),
            ..Self::default()
        }
    }

    fn is_latest(&self) -> bool {
        self.latest == Some(true)
    }

    pub fn overall_latest(&self) -> bool {
        self.is_latest()
            && self.tag.is_none()
            && self.branch.is_none()
            && !self.each_branch
            && !self.main_branch
            && !self.deployed
            && !self.released
            && self.environment.is_none()
    }

    pub fn is_latest_for_tag(&self) -> bool {
        self.is_latest() && self.tag.is_some()
    }

    pub fn is_latest_for_branch(&self) -> bool {
        self.is_latest() && self.branch.is_some()
    }

    pub fn all_for_tag(&self) -> bool {
        self.tag.is_some() && !self.is_latest()
    }

    pub fn kind(&self) -> Kind {
        if self.main_branch {
            Kind::LatestForMainBranch
        } else if self.is_latest() && self.each_branch {
            Kind::LatestForEachBranch
        } else if self.is_latest_for_branch() {
            Kind::LatestForBranch
        } else if self.matching_branch {
            Kind::MatchingBranch
        } else if self.deployed {
            Kind::CurrentlyDeployed
        } else if self.released {
            Kind::CurrentlySupported
        } else if self.environment.is_some() {
            Kind::InEnvironment
        } else if self.is_latest_for_tag() {
            Kind::LatestForTag
        } else if self.all_for_tag() {
            Kind::AllForTag
        } else if self.overall_latest() {
            Kind::OverallLatest
        } else {
            Kind::Undefined
        }
    }

    /// What storage looks up for this selector (its consumer is applied
    /// apart). Validation leaves one meaning per selector.
    pub fn lookup(&self) -> Lookup {
        if self.deployed {
            Lookup::Deployed(self.environment.clone())
        } else if self.released {
            Lookup::Released(self.environment.clone())
        } else if let Some(tag) = self.tag.as_ref().filter(|_| self.all_for_tag()) {
            Lookup::AllTagged(tag.clone())
        } else if let Some(environment) = &self.environment {
            Lookup::InEnvironment(environment.clone())
        } else if self.main_branch {
            Lookup::MainBranchHeads
        } else if self.is_latest() && self.each_branch {
            Lookup::EachBranchHead
        } else if let Some(branch) = self.branch.as_ref().filter(|_| self.is_latest()) {
            Lookup::BranchHead(branch.clone())
        } else if let Some(tag) = self.tag.as_ref().filter(|_| self.is_latest()) {
            Lookup::LatestTagged(tag.clone())
        } else if self.overall_latest() {
            Lookup::Latest
        } else {
            Lookup::Nothing
        }
    }
}

/// A validated pacts-for-verification request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Request {
    /// Empty: the defaults (main branch per consumer, deployed, released).
    pub selectors: Vec<Selector>,
    pub provider_version_branch: Option<String>,
    pub provider_version_tags: Vec<String>,
    pub include_pending_status: bool,
    pub include_wip_pacts_since: Option<DateTime<Utc>>,
}

impl Request {
    /// Keeps the work-in-progress window within `max_lookback` of `now`: a
    /// date further back (a stale `includeWipPactsSince`) would make every
    /// abandoned feature branch of years past a WIP candidate, which no one
    /// verifies on purpose and which makes each request read them all.
    /// `None`: the client's date as given (the Pact Broker's behaviour).
    pub fn bound_wip_window(&mut self, now: DateTime<Utc>, max_lookback: Option<chrono::Duration>) {
        if let (Some(since), Some(lookback)) = (self.include_wip_pacts_since, max_lookback) {
            self.include_wip_pacts_since = Some(since.max(now - lookback));
        }
    }
}

/// An environment a deployed or released version was found in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FoundEnvironment {
    pub name: String,
    pub production: bool,
}

/// A consumer version one selector chose, with the pact it published for the provider.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Chosen {
    pub selector: Selector,
    pub consumer: String,
    pub consumer_version_id: i64,
    pub consumer_version: String,
    pub sha: String,
    /// Where it is deployed or released, for environment selectors.
    pub environment: Option<FoundEnvironment>,
    /// Chosen through the selector's `fallbackTag`.
    pub fallback: bool,
}

/// One pact to verify, after merging every selector that chose its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiablePact {
    pub consumer: String,
    /// The consumer's main branch, which the notices name.
    pub consumer_main_branch: Option<String>,
    pub sha: String,
    /// The newest consumer version with this content among those chosen.
    pub consumer_version: String,
    pub consumer_version_id: i64,
    /// Why, in the Pact Broker's order (sorted for selected pacts, as found for WIP ones).
    pub chosen: Vec<Chosen>,
    pub pending: bool,
    /// The provider tags it is pending for (provider tags given, no branch).
    pub pending_provider_tags: Vec<String>,
    pub non_pending_provider_tags: Vec<String>,
    pub wip: bool,
}

impl VerifiablePact {
    fn new(chosen: &Chosen) -> Self {
        Self {
            consumer: chosen.consumer.clone(),
            consumer_main_branch: None,
            sha: chosen.sha.clone(),
            consumer_version: chosen.consumer_version.clone(),
            consumer_version_id: chosen.consumer_version_id,
            chosen: Vec::new(),
            pending: false,
            pending_provider_tags: Vec::new(),
            non_pending_provider_tags: Vec::new(),
            wip: false,
        }
    }

    /// Another consumer version with the same content: the newest represents it.
    fn absorb(&mut self, chosen: &Chosen) {
        if chosen.consumer_version_id > self.consumer_version_id {
            self.consumer_version_id = chosen.consumer_version_id;
            self.consumer_version = chosen.consumer_version.clone();
        }
    }
}

fn first_if(this: bool, other: bool) -> Ordering {
    match (this, other) {
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        _ => Ordering::Equal,
    }
}

fn by_optional_name(this: Option<&String>, other: Option<&String>) -> Ordering {
    match (this, other) {
        (Some(a), Some(b)) => a.cmp(b),
        (a, b) => first_if(a.is_some(), b.is_some()),
    }
}

/// The Pact Broker's order of the reasons for one pact (`ResolvedSelector#<=>`):
/// the overall latest first, then branches, latest tags, tags, deployed
/// (production last), released, by consumer; then by consumer version.
pub fn compare_reasons(a: &Chosen, b: &Chosen) -> Ordering {
    let (s, o) = (&a.selector, &b.selector);
    let environments = || match (&a.environment, &b.environment) {
        (Some(x), Some(y)) => x
            .production
            .cmp(&y.production)
            .then_with(|| x.name.cmp(&y.name)),
        (x, y) => first_if(x.is_some(), y.is_some()),
    };
    let by_kind = if s.overall_latest() || o.overall_latest() {
        first_if(s.overall_latest(), o.overall_latest())
    } else if s.is_latest_for_branch() || o.is_latest_for_branch() {
        if s.is_latest_for_branch() && o.is_latest_for_branch() {
            s.branch.cmp(&o.branch)
        } else {
            first_if(s.is_latest_for_branch(), o.is_latest_for_branch())
        }
    } else if s.is_latest_for_tag() || o.is_latest_for_tag() {
        if s.is_latest_for_tag() && o.is_latest_for_tag() {
            s.tag.cmp(&o.tag)
        } else {
            first_if(s.is_latest_for_tag(), o.is_latest_for_tag())
        }
    } else if s.tag.is_some() || o.tag.is_some() {
        match (&s.tag, &o.tag) {
            (Some(x), Some(y)) if x == y => {
                by_optional_name(s.consumer.as_ref(), o.consumer.as_ref())
            }
            (Some(x), Some(y)) => x.cmp(y),
            (x, y) => first_if(x.is_some(), y.is_some()),
        }
    } else if s.deployed || o.deployed {
        if s.deployed && o.deployed {
            environments()
        } else {
            first_if(s.deployed, o.deployed)
        }
    } else if s.released || o.released {
        if s.released && o.released {
            environments()
        } else {
            first_if(s.released, o.released)
        }
    } else {
        by_optional_name(s.consumer.as_ref(), o.consumer.as_ref())
    };
    by_kind.then(a.consumer_version_id.cmp(&b.consumer_version_id))
}

/// Merges chosen consumer versions by (consumer, content), each pact's
/// reasons in the Pact Broker's order; pacts by consumer name (ignoring
/// case), then consumer version.
pub fn merge(chosen: Vec<Chosen>) -> Vec<VerifiablePact> {
    let mut merged: BTreeMap<(String, String, String), VerifiablePact> = BTreeMap::new();
    // The same reason can come twice (a selector given twice, a version
    // deployed to two instances): it is said once. Dropped here in one pass,
    // not by searching each pact's reasons, which was quadratic in the selectors.
    let mut seen: HashSet<Chosen> = HashSet::new();
    for item in chosen {
        if seen.contains(&item) {
            continue;
        }
        let key = (
            item.consumer.to_lowercase(),
            item.consumer.clone(),
            item.sha.clone(),
        );
        let entry = merged
            .entry(key)
            .or_insert_with(|| VerifiablePact::new(&item));
        entry.absorb(&item);
        seen.insert(item.clone());
        entry.chosen.push(item);
    }
    let mut pacts: Vec<VerifiablePact> = merged.into_values().collect();
    for pact in &mut pacts {
        pact.chosen.sort_by(compare_reasons);
    }
    pacts.sort_by(|a, b| {
        a.consumer
            .to_lowercase()
            .cmp(&b.consumer.to_lowercase())
            .then(a.consumer_version_id.cmp(&b.consumer_version_id))
    });
    pacts
}

/// The tags the latest-for-tag reasons found something for: a selector's
/// `fallbackTag` is used only when its tag found nothing, for any consumer.
pub fn tags_found(chosen: &[Chosen]) -> HashSet<&str> {
    chosen
        .iter()
        .filter(|c| c.selector.is_latest_for_tag())
        .filter_map(|c| c.selector.tag.as_deref())
        .collect()
}

/// A successful verification of a pact content, as pending status needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuccessfulVerification {
    pub provider_version_branches: Vec<String>,
    pub provider_version_tags: Vec<String>,
    pub verified_at: DateTime<Utc>,
    pub wip: bool,
}

/// Whether a content is pending for a build of the provider's `branch`:
/// until a version from the branch verified it, or one from another branch
/// did before the branch existed. `branch_created_at`: when it was first used.
pub fn pending_for_branch(
    branch: &str,
    successes: &[SuccessfulVerification],
    branch_created_at: Option<DateTime<Utc>>,
) -> bool {
    let on_branch = successes
        .iter()
        .any(|s| s.provider_version_branches.iter().any(|b| b == branch));
    let before_branch_existed = successes
        .iter()
        .filter(|s| !s.wip)
        .any(|s| branch_created_at.is_none_or(|created| s.verified_at < created));
    !(on_branch || before_branch_existed)
}

/// Whether a content is pending for a build tagged `tag` (the older way
/// of naming a provider's branch).
pub fn pending_for_tag(
    tag: &str,
    successes: &[SuccessfulVerification],
    tag_first_used: &BTreeMap<String, DateTime<Utc>>,
) -> bool {
    let by_tag = successes
        .iter()
        .any(|s| s.provider_version_tags.iter().any(|t| t == tag));
    let before_tag = successes.iter().filter(|s| !s.wip).any(|s| {
        tag_first_used
            .get(tag)
            .is_none_or(|first| s.verified_at < *first)
    });
    !(by_tag || before_tag)
}

/// Sets a selected pact's pending status for the build the request
/// describes: by its branch, else by each of its tags, else pending until
/// any version of the provider verified it.
pub fn set_pending(
    pact: &mut VerifiablePact,
    request: &Request,
    successes: &[SuccessfulVerification],
    branch_created_at: Option<DateTime<Utc>>,
    tag_first_used: &BTreeMap<String, DateTime<Utc>>,
) {
    pact.pending_provider_tags.clear();
    if let Some(branch) = &request.provider_version_branch {
        pact.pending = pending_for_branch(branch, successes, branch_created_at);
    } else if !request.provider_version_tags.is_empty() {
        pact.pending_provider_tags = request
            .provider_version_tags
            .iter()
            .filter(|tag| pending_for_tag(tag, successes, tag_first_used))
            .cloned()
            .collect();
        pact.pending = !pact.pending_provider_tags.is_empty();
    } else {
        pact.pending = successes.is_empty();
    }
    pact.non_pending_provider_tags = request
        .provider_version_tags
        .iter()
        .filter(|tag| !pact.pending_provider_tags.contains(tag))
        .cloned()
        .collect();
}

/// A branch or tag head whose pact was published since the WIP date: a
/// candidate work-in-progress pact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WipCandidate {
    pub consumer: String,
    pub consumer_version_id: i64,
    pub consumer_version: String,
    pub sha: String,
    pub head: Head,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Head {
    Branch(String),
    Tag(String),
}

/// The work-in-progress pacts among `candidates` (not selected explicitly),
/// as the Pact Broker finds and merges them. `is_wip(candidate, tag)`: not
/// yet verified explicitly by the provider's branch (`tag` None) or by a
/// version with the provider tag. For a branch, the consumers' branch heads
/// come before their tag heads; for tags, the other way round, once per
/// provider tag (a pact can then be pending for a tag "twice", as the Pact
/// Broker says).
pub fn work_in_progress(
    request: &Request,
    candidates: &[WipCandidate],
    is_wip: impl Fn(&WipCandidate, Option<&str>) -> bool,
) -> Vec<VerifiablePact> {
    let branch_heads = || {
        candidates
            .iter()
            .filter(|c| matches!(c.head, Head::Branch(_)))
    };
    let tag_heads = || candidates.iter().filter(|c| matches!(c.head, Head::Tag(_)));
    let mut found: Vec<(&WipCandidate, Option<&str>)> = Vec::new();
    if request.provider_version_branch.is_some() {
        for candidate in branch_heads().chain(tag_heads()) {
            if is_wip(candidate, None) {
                found.push((candidate, None));
            }
        }
    } else {
        for by_branch in [false, true] {
            for tag in &request.provider_version_tags {
                let heads = candidates
                    .iter()
                    .filter(|c| matches!(c.head, Head::Branch(_)) == by_branch);
                for candidate in heads {
                    if is_wip(candidate, Some(tag)) {
                        found.push((candidate, Some(tag)));
                    }
                }
            }
        }
    }
    // Merged by (consumer, content) in the order found; then by consumer
    // name (case counts here, as in the Pact Broker) and version.
    let mut pacts: Vec<VerifiablePact> = Vec::new();
    let mut index: HashMap<(&str, &str), usize> = HashMap::new();
    for (candidate, tag) in found {
        let chosen = Chosen {
            selector: match &candidate.head {
                Head::Branch(branch) => Selector::latest_for_branch(branch),
                Head::Tag(tag) => Selector::latest_for_tag(tag),
            },
            consumer: candidate.consumer.clone(),
            consumer_version_id: candidate.consumer_version_id,
            consumer_version: candidate.consumer_version.clone(),
            sha: candidate.sha.clone(),
            environment: None,
            fallback: false,
        };
        let slot = *index
            .entry((candidate.consumer.as_str(), candidate.sha.as_str()))
            .or_insert_with(|| {
                let mut pact = VerifiablePact::new(&chosen);
                pact.pending = true;
                pact.wip = true;
                pacts.push(pact);
                pacts.len() - 1
            });
        let pact = &mut pacts[slot];
        pact.absorb(&chosen);
        pact.chosen.push(chosen);
        pact.pending_provider_tags.extend(tag.map(str::to_owned));
    }
    pacts.sort_by(|a, b| {
        a.consumer
            .cmp(&b.consumer)
            .then(a.consumer_version_id.cmp(&b.consumer_version_id))
    });
    pacts
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod wip_window_tests {
    use chrono::{Duration, TimeZone, Utc};

    use super::Request;

    fn since(days_ago: i64) -> Request {
        let now = Utc.with_ymd_and_hms(2026, 12, 6, 12, 0, 0).unwrap();
        Request {
            include_wip_pacts_since: Some(now - Duration::days(days_ago)),
            ..Request::default()
        }
    }

    #[test]
    fn a_date_older_than_the_lookback_is_moved_up_to_it() {
        let now = Utc.with_ymd_and_hms(2026, 12, 6, 12, 0, 0).unwrap();
        let mut request = since(400);
        request.bound_wip_window(now, Some(Duration::days(90)));
        assert_eq!(
            request.include_wip_pacts_since,
            Some(now - Duration::days(90))
        );
    }

    #[test]
    fn a_recent_date_and_an_unbounded_window_are_kept() {
        let now = Utc.with_ymd_and_hms(2026, 12, 6, 12, 0, 0).unwrap();
        let mut recent = since(10);
        recent.bound_wip_window(now, Some(Duration::days(90)));
        assert_eq!(
            recent.include_wip_pacts_since,
            Some(now - Duration::days(10))
        );
        let mut unbounded = since(4000);
        unbounded.bound_wip_window(now, None);
        assert_eq!(
            unbounded.include_wip_pacts_since,
            Some(now - Duration::days(4000))
        );
        let mut none = Request::default();
        none.bound_wip_window(now, Some(Duration::days(1)));
        assert_eq!(none.include_wip_pacts_since, None);
    }
}
