//! The records Treaty keeps, as the rest of the program sees them.
//!
//! Storage returns these; HTTP renders them. Ids are storage ids: a version's
//! id is also its order (versions are ordered by creation, as in the Pact Broker).

use chrono::{DateTime, Utc};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub struct Pacticipant {
    pub id: i64,
    pub name: String,
    pub display_name: Option<String>,
    pub repository_url: Option<String>,
    pub repository_name: Option<String>,
    pub repository_namespace: Option<String>,
    pub main_branch: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub labels: Vec<String>,
    /// The number of the most recently created version, if any.
    pub latest_version: Option<String>,
}

/// The fields a client may set on a pacticipant. `None` means "not given".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PacticipantFields {
    pub display_name: Option<String>,
    pub repository_url: Option<String>,
    pub repository_name: Option<String>,
    pub repository_namespace: Option<String>,
    pub main_branch: Option<String>,
}

/// How an update treats fields that were not given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateMode {
    /// PUT: fields not given are cleared.
    Replace,
    /// PATCH: fields not given are kept.
    Merge,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Version {
    /// Storage id; also the version's order among all versions.
    pub id: i64,
    pub pacticipant: String,
    pub number: String,
    pub build_url: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub branches: Vec<BranchMembership>,
    pub tags: Vec<String>,
}

/// A version's place on a branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BranchMembership {
    pub name: String,
    /// Whether this version is the head of that branch.
    pub latest: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Branch {
    pub pacticipant: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The version most recently added to the branch.
    pub head: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Tag {
    pub pacticipant: String,
    pub version: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// A label on a pacticipant.
#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    pub pacticipant: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// When a version was added to a branch, and last added again.
#[derive(Debug, Clone, PartialEq)]
pub struct BranchVersionTimes {
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a list of versions shows of each: the pacts each published, and
/// where each was deployed and released (every record, current or not).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VersionListFacts {
    /// (consumer version number, provider name) of every pact published.
    pub pacts: Vec<(String, String)>,
    pub deployments: Vec<DeployedVersion>,
    pub releases: Vec<ReleasedVersion>,
}

/// A pact as published for one consumer version and provider.
#[derive(Debug, Clone, PartialEq)]
pub struct Pact {
    pub consumer: String,
    pub provider: String,
    pub consumer_version: String,
    pub consumer_version_id: i64,
    pub sha: String,
    /// The stored document (with interaction `_id`s).
    pub content: Value,
    /// When this consumer version published it.
    pub created_at: DateTime<Utc>,
    pub revision: i64,
}

/// A pact publication without its document: what lists and links need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PactSummary {
    pub consumer: String,
    pub provider: String,
    pub consumer_version: String,
    pub consumer_version_id: i64,
    pub sha: String,
    /// When this consumer version published it.
    pub created_at: DateTime<Utc>,
}

impl PactSummary {
    /// How the Pact Broker names a pact: `Pact between Foo (1.0.0) and Bar`.
    pub fn name(&self) -> String {
        format!(
            "Pact between {} ({}) and {}",
            self.consumer, self.consumer_version, self.provider
        )
    }
}

impl Pact {
    pub fn summary(&self) -> PactSummary {
        PactSummary {
            consumer: self.consumer.clone(),
            provider: self.provider.clone(),
            consumer_version: self.consumer_version.clone(),
            consumer_version_id: self.consumer_version_id,
            sha: self.sha.clone(),
            created_at: self.created_at,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Verification {
    /// The global verification number.
    pub number: i64,
    pub consumer: String,
    pub provider: String,
    pub sha: String,
    /// The newest consumer version that published the verified content:
    /// the pact the Pact Broker names for a verification.
    pub pact_consumer_version: String,
    pub provider_version: String,
    pub provider_version_branches: Vec<String>,
    pub provider_version_tags: Vec<String>,
    pub success: bool,
    pub build_url: Option<String>,
    pub test_results: Option<Value>,
    pub verified_by: Option<Value>,
    pub execution_date: DateTime<Utc>,
}

/// What a provider says about its verification of a pact.
#[derive(Debug, Clone, PartialEq)]
pub struct NewVerification {
    pub provider_version: crate::VersionNumber,
    pub success: bool,
    pub build_url: Option<String>,
    pub test_results: Option<Value>,
    pub verified_by: Option<Value>,
}

/// A consumer/provider pair that has exchanged a contract.
#[derive(Debug, Clone, PartialEq)]
pub struct Integration {
    pub consumer: String,
    pub provider: String,
    pub created_at: DateTime<Utc>,
    pub latest_pact_created_at: Option<DateTime<Utc>>,
    pub latest_verification: Option<VerificationSummary>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct VerificationSummary {
    pub success: bool,
    pub verified_at: DateTime<Utc>,
    pub provider_version: String,
}

/// A page request: 1-based page number and page size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub number: u32,
    pub size: u32,
}

impl PageRequest {
    pub fn offset(&self) -> u64 {
        u64::from(self.number.saturating_sub(1)) * u64::from(self.size)
    }
}

/// One page of a list, with the total it was cut from.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// `Some` only when the list was paginated.
    pub page: Option<PageInfo>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageInfo {
    pub number: u32,
    pub size: u32,
    pub total_elements: u64,
}

impl PageInfo {
    pub fn total_pages(&self) -> u64 {
        if self.size == 0 {
            0
        } else {
            self.total_elements.div_ceil(u64::from(self.size))
        }
    }
}

/// Branch names that make a pacticipant's main branch when it has none.
pub const MAIN_BRANCH_CANDIDATES: [&str; 3] = ["develop", "main", "master"];

/// A place versions are deployed or released to.
#[derive(Debug, Clone, PartialEq)]
pub struct Environment {
    pub id: i64,
    pub uuid: String,
    pub name: String,
    pub display_name: Option<String>,
    pub production: bool,
    /// `[{"name": ..., "details": {...}}]`, as given.
    pub contacts: Option<Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a client gives for an environment.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvironmentFields {
    pub name: crate::EnvironmentName,
    pub display_name: Option<String>,
    pub production: bool,
    pub contacts: Option<Value>,
}

/// A record that a version was deployed to an environment (and maybe undeployed since).
#[derive(Debug, Clone, PartialEq)]
pub struct DeployedVersion {
    pub uuid: String,
    pub pacticipant: String,
    pub version: String,
    pub environment: Environment,
    pub application_instance: Option<String>,
    pub currently_deployed: bool,
    pub undeployed_at: Option<DateTime<Utc>>,
    /// Recorded because the version was tagged with the environment's name.
    pub auto_created: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A record that a version was released to an environment (and maybe support ended since).
#[derive(Debug, Clone, PartialEq)]
pub struct ReleasedVersion {
    pub uuid: String,
    pub pacticipant: String,
    pub version: String,
    pub environment: Environment,
    pub currently_supported: bool,
    pub support_ended_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The environments Treaty starts with, so the first `record-deployment` works:
/// (name, display name, production).
pub const DEFAULT_ENVIRONMENTS: [(&str, &str, bool); 2] =
    [("test", "Test", false), ("production", "Production", true)];

/// What a ledger entry records: a deployment into a slot, or a release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerKind {
    /// Runs in one slot (application, environment, instance); a newer one replaces it.
    Deployment,
    /// Made available (an app store, a library); supported until support ends.
    Release,
}

impl LedgerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deployment => "deployment",
            Self::Release => "release",
        }
    }
}

/// Why a completed ledger entry stopped running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// A newer deployment took its slot.
    Replaced,
    /// `record-undeployment` (or `PATCH /deployed-versions/{uuid}`).
    Undeployed,
    /// `record-support-ended` (or `PATCH /released-versions/{uuid}`).
    SupportEnded,
    /// An admin deleted its version, pacticipant or environment.
    Deleted,
}

impl EndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Replaced => "replaced",
            Self::Undeployed => "undeployed",
            Self::SupportEnded => "support_ended",
            Self::Deleted => "deleted",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "replaced" => Self::Replaced,
            "undeployed" => Self::Undeployed,
            "support_ended" => Self::SupportEnded,
            "deleted" => Self::Deleted,
            _ => return None,
        })
    }
}

/// A deployment in the ledger, with the events that moved it. Every
/// deployment and release is one, whichever API recorded it.
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerDeployment {
    pub id: i64,
    /// The names it was recorded with; kept when its pacticipant, version or
    /// environment is deleted.
    pub pacticipant: String,
    pub version: String,
    pub environment: String,
    pub kind: LedgerKind,
    pub application_instance: Option<String>,
    pub status: String,
    pub deployed_by: Option<String>,
    pub scm_branch: Option<String>,
    pub scm_sha: Option<String>,
    pub scm_repository: Option<String>,
    pub build_url: Option<String>,
    pub build_number: Option<String>,
    pub source_system: Option<String>,
    pub extra_metadata: Option<Value>,
    /// The can-i-deploy answer when the deployment began.
    pub evidence: Option<Value>,
    /// A completed deployment of a version older than the one it replaced.
    pub rollback: bool,
    /// Marked as an emergency by the pipeline (it may go through a freeze).
    pub emergency: bool,
    /// The gates would have refused it, but it was recorded as a fact
    /// (`record-deployment` states what already happened).
    pub bypassed_gates: bool,
    /// The deployed-version record a completed deployment made.
    pub deployed_version: Option<String>,
    /// The released-version record a release made.
    pub released_version: Option<String>,
    /// When a completed entry stopped running (replaced, undeployed, support
    /// ended, deleted); `None` while it runs.
    pub ended_at: Option<DateTime<Utc>>,
    pub end_reason: Option<EndReason>,
    /// Who ended it, when someone did (not a replacement).
    pub ended_by: Option<String>,
    /// The deployment that replaced it.
    pub replaced_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// When the deployed commit was made, as the pipeline said.
    pub scm_committed_at: Option<DateTime<Utc>>,
    pub events: Vec<LedgerEvent>,
    pub incidents: Vec<Incident>,
}

impl LedgerDeployment {
    /// Completed and not ended: what runs (or is supported) now.
    pub fn running(&self) -> bool {
        self.status == "completed" && self.ended_at.is_none()
    }
}

/// Something that went wrong after a deployment, from opening to resolution.
#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    pub id: i64,
    pub deployment_id: i64,
    pub title: String,
    pub severity: Option<String>,
    pub url: Option<String>,
    pub opened_by: Option<String>,
    pub opened_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
}

/// What ran in one slot of an environment at a moment in the past.
#[derive(Debug, Clone, PartialEq)]
pub struct DeployedAt {
    pub pacticipant: String,
    pub version: String,
    pub application_instance: Option<String>,
    /// When its deployment completed.
    pub since: DateTime<Utc>,
    /// When it was replaced or undeployed, if it has been since.
    pub until: Option<DateTime<Utc>>,
    /// The ledger deployment that put it there.
    pub deployment_id: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LedgerEvent {
    pub status: String,
    pub metadata: Option<Value>,
    pub created_at: DateTime<Utc>,
}
