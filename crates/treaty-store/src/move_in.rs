//! Moving in from another broker (`treaty migrate-from`): what is copied,
//! as the source told it, and the store operations that write it.
//!
//! Each operation is one transaction that writes its records with the
//! source's times and identities (environment and deployment uuids,
//! verification numbers) and, in the same transaction, what it copied into
//! `moved_in`, keyed by the source's identities with a fingerprint of what
//! was copied. So a run killed at any point leaves only whole units, and the
//! next run skips each unit whose fingerprint is unchanged.
//!
//! Nothing written here announces itself: history that happened elsewhere
//! enqueues no webhook delivery.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use treaty_domain::pact::PactDocument;
use treaty_domain::webhooks::WebhookDefinition;

use crate::StoreResult;

/// What a `moved_in` row stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MovedKind {
    Environment,
    Pacticipant,
    Version,
    /// The heads of a pacticipant's branches.
    BranchHeads,
    Pact,
    Verification,
    Deployment,
    Release,
    Webhook,
}

impl MovedKind {
    pub const ALL: [MovedKind; 9] = [
        MovedKind::Environment,
        MovedKind::Pacticipant,
        MovedKind::Version,
        MovedKind::BranchHeads,
        MovedKind::Pact,
        MovedKind::Verification,
        MovedKind::Deployment,
        MovedKind::Release,
        MovedKind::Webhook,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MovedKind::Environment => "environment",
            MovedKind::Pacticipant => "pacticipant",
            MovedKind::Version => "version",
            MovedKind::BranchHeads => "branch-heads",
            MovedKind::Pact => "pact",
            MovedKind::Verification => "verification",
            MovedKind::Deployment => "deployment",
            MovedKind::Release => "release",
            MovedKind::Webhook => "webhook",
        }
    }
}

/// A unit as copied: its source identity and the fingerprint of what was
/// copied (a rerun copies it again only when the source's differs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovedKey {
    pub key: String,
    pub fingerprint: String,
}

impl MovedKey {
    pub fn new(key: impl Into<String>, fingerprint: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            fingerprint: fingerprint.into(),
        }
    }
}

/// An environment, with the uuid pipelines hold.
#[derive(Debug, Clone, PartialEq)]
pub struct MovedEnvironment {
    pub uuid: String,
    pub name: String,
    pub display_name: Option<String>,
    pub production: bool,
    pub contacts: Option<Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub moved: MovedKey,
}

/// What moving an environment in did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvironmentMove {
    Created,
    /// It existed with this uuid (or was renamed or changed at the source).
    Updated,
    /// One of the same name existed here with another uuid and no history
    /// (the `test` and `production` a new Treaty creates): it now has the
    /// source's uuid.
    TookOver {
        previous_uuid: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct MovedPacticipant {
    pub name: String,
    pub display_name: Option<String>,
    pub repository_url: Option<String>,
    pub repository_name: Option<String>,
    pub repository_namespace: Option<String>,
    pub main_branch: Option<String>,
    pub labels: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub moved: MovedKey,
}

/// A version with its tags and branches as the source has them now.
#[derive(Debug, Clone, PartialEq)]
pub struct MovedVersion {
    pub number: String,
    pub build_url: Option<String>,
    pub tags: Vec<String>,
    pub branches: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub moved: MovedKey,
}

/// When a branch was created at the source (pending status reads it).
#[derive(Debug, Clone, PartialEq)]
pub struct MovedBranch {
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A pacticipant's versions, oldest first (their order is their ids'
/// order here, as it was there).
#[derive(Debug, Clone, PartialEq)]
pub struct MovedVersions {
    pub pacticipant: String,
    pub versions: Vec<MovedVersion>,
    pub branches: Vec<MovedBranch>,
}

/// The head of each branch of a pacticipant, by branch name.
#[derive(Debug, Clone, PartialEq)]
pub struct MovedBranchHeads {
    pub pacticipant: String,
    pub heads: Vec<(String, String)>,
    pub moved: MovedKey,
}

/// One pact publication: the pact a consumer version published for a provider.
#[derive(Debug, Clone, PartialEq)]
pub struct MovedPact {
    pub consumer: String,
    pub provider: String,
    pub consumer_version: String,
    pub content: PactDocument,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub moved: MovedKey,
}

/// One verification result, of the content a consumer version published.
#[derive(Debug, Clone, PartialEq)]
pub struct MovedVerification {
    /// The source's number, kept when no result here has it.
    pub number: i64,
    pub consumer: String,
    pub provider: String,
    /// A consumer version that published the verified content.
    pub consumer_version: String,
    pub provider_version: String,
    pub success: bool,
    pub build_url: Option<String>,
    pub test_results: Option<Value>,
    pub verified_by: Option<Value>,
    /// The provider version's tags, as its results record them.
    pub provider_version_tags: Vec<String>,
    pub wip: bool,
    pub execution_date: DateTime<Utc>,
    pub moved: MovedKey,
}

/// What moving verifications in did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VerificationsMoved {
    pub copied: u64,
    /// Copied, but their number was taken here: they have a new one.
    pub renumbered: u64,
}

/// A deployment record of the source, as it stands there now.
#[derive(Debug, Clone, PartialEq)]
pub struct MovedDeployment {
    pub uuid: String,
    pub pacticipant: String,
    pub version: String,
    pub environment_uuid: String,
    pub application_instance: Option<String>,
    pub created_at: DateTime<Utc>,
    pub undeployed_at: Option<DateTime<Utc>>,
    pub moved: MovedKey,
}

/// One step of a slot's history, applied in time order.
#[derive(Debug, Clone, PartialEq)]
pub enum DeploymentStep {
    /// The version started to run in its slot, replacing what ran there.
    Deployed(MovedDeployment),
    /// It stopped running without a successor.
    Undeployed(MovedDeployment),
}

/// A release record of the source, as it stands there now.
#[derive(Debug, Clone, PartialEq)]
pub struct MovedRelease {
    pub uuid: String,
    pub pacticipant: String,
    pub version: String,
    pub environment_uuid: String,
    pub created_at: DateTime<Utc>,
    /// When it was last recorded again (a re-activation).
    pub updated_at: DateTime<Utc>,
    pub support_ended_at: Option<DateTime<Utc>>,
    pub moved: MovedKey,
}

/// A webhook, with the secrets the source masked left out: `secrets_to_reenter`
/// names them (`request.password`, `request.headers.authorization`).
#[derive(Debug, Clone, PartialEq)]
pub struct MovedWebhook {
    pub uuid: String,
    pub definition: WebhookDefinition,
    pub secrets_to_reenter: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub moved: MovedKey,
}

#[async_trait]
pub trait MoveInStore {
    /// What earlier runs copied from `source` of one kind: key → fingerprint.
    async fn moved_in(&self, source: &str, kind: MovedKind)
    -> StoreResult<HashMap<String, String>>;
    /// `NotFound` never; `Conflict` when an environment of that name with
    /// another uuid has history here (it is not taken over).
    async fn move_in_environment(
        &self,
        source: &str,
        environment: &MovedEnvironment,
    ) -> StoreResult<EnvironmentMove>;
    async fn move_in_pacticipant(
        &self,
        source: &str,
        pacticipant: &MovedPacticipant,
    ) -> StoreResult<()>;
    /// Creates the versions not here (in the order given, after those
    /// that are) and makes the tags and branches of each what the source
    /// has; one transaction. `NotFound` for an unknown pacticipant.
    async fn move_in_versions(&self, source: &str, versions: &MovedVersions) -> StoreResult<()>;
    async fn move_in_branch_heads(&self, source: &str, heads: &MovedBranchHeads)
    -> StoreResult<()>;
    /// Publications with their times (a publication here for the same
    /// consumer version and provider is replaced); one transaction.
    /// `NotFound` when a pacticipant or consumer version is not here.
    async fn move_in_pacts(&self, source: &str, pacts: &[MovedPact]) -> StoreResult<()>;
    /// `NotFound` when the verified pact or a pacticipant is not here.
    async fn move_in_verifications(
        &self,
        source: &str,
        verifications: &[MovedVerification],
    ) -> StoreResult<VerificationsMoved>;
    /// Applies one step of a slot's history at its own time, through the
    /// ledger (a completed deployment placed in its slot, ending what ran
    /// there; or the end of one). `NotFound` for an unknown version or environment.
    async fn move_in_deployment(&self, source: &str, step: &DeploymentStep) -> StoreResult<()>;
    async fn move_in_release(&self, source: &str, release: &MovedRelease) -> StoreResult<()>;
    /// `NotFound` when it names a pacticipant that is not here.
    async fn move_in_webhook(&self, source: &str, webhook: &MovedWebhook) -> StoreResult<()>;
}
