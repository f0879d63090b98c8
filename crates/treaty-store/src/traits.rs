//! The storage traits: one per area, each method a domain operation.

use async_trait::async_trait;
use treaty_domain::model::{
    Branch, DeployedVersion, Environment, EnvironmentFields, Integration, NewVerification, Pact,
    PactSummary, Pacticipant, PacticipantFields, Page, PageRequest, ReleasedVersion, Tag,
    UpdateMode, Verification, Version,
};
use treaty_domain::pact::PactDocument;
use treaty_domain::publish::{OnConflict, PublishOutcome, PublishRequest};
use treaty_domain::{BranchName, LabelName, PacticipantName, TagName, VersionNumber};

use crate::StoreResult;

/// Everything Treaty stores.
pub trait Store:
    AdminStore
    + PacticipantStore
    + VersionStore
    + PactStore
    + VerificationStore
    + EnvironmentStore
    + DeploymentStore
    + MatrixStore
    + DumpStore
    + ForVerificationStore
    + LedgerStore
    + GateStore
    + WebhookStore
    + AccessStore
    + RetentionStore
    + NameStore
    + crate::MoveInStore
    + MetricsStore
    + DashboardStore
    + ProviderContractStore
    + Send
    + Sync
{
}

impl<T> Store for T where
    T: AdminStore
        + PacticipantStore
        + VersionStore
        + PactStore
        + VerificationStore
        + EnvironmentStore
        + DeploymentStore
        + MatrixStore
        + DumpStore
        + ForVerificationStore
        + LedgerStore
        + GateStore
        + WebhookStore
        + AccessStore
        + RetentionStore
        + NameStore
        + crate::MoveInStore
        + MetricsStore
        + DashboardStore
        + ProviderContractStore
        + Send
        + Sync
{
}

#[async_trait]
pub trait AdminStore {
    /// Succeeds when the database answers.
    async fn check_connection(&self) -> StoreResult<()>;
    /// Removes all data (the test provider states, and `DELETE /integrations`).
    async fn wipe(&self) -> StoreResult<()>;
    /// The stored value of a setting, storing `value` first when there is
    /// none: every replica gets the same one.
    async fn setting_or_insert(&self, name: &str, value: &str) -> StoreResult<String>;
    /// The stored value of a setting, if any; never stores one.
    async fn setting(&self, name: &str) -> StoreResult<Option<String>>;
}

#[async_trait]
pub trait PacticipantStore {
    /// Pacticipants ordered by name; `filter` matches a substring of the name or display name.
    async fn pacticipants(
        &self,
        filter: Option<&str>,
        page: Option<PageRequest>,
    ) -> StoreResult<Page<Pacticipant>>;
    async fn pacticipants_with_label(
        &self,
        label: &str,
        page: Option<PageRequest>,
    ) -> StoreResult<Page<Pacticipant>>;
    async fn pacticipant(&self, name: &str) -> StoreResult<Option<Pacticipant>>;
    /// Creates a pacticipant, or returns the existing one of that name unchanged.
    /// The flag is true when it was created.
    async fn create_pacticipant(
        &self,
        name: &PacticipantName,
        fields: PacticipantFields,
    ) -> StoreResult<(Pacticipant, bool)>;
    /// Updates a pacticipant; with `create_if_missing` an absent one is created.
    /// `None` when it does not exist and was not created; the flag is true when created.
    async fn update_pacticipant(
        &self,
        name: &PacticipantName,
        fields: PacticipantFields,
        mode: UpdateMode,
        create_if_missing: bool,
    ) -> StoreResult<Option<(Pacticipant, bool)>>;
    /// Deletes a pacticipant and everything that belongs to it, except its
    /// ledger deployments: they stay, with the names they had, and those
    /// running end (`deleted`).
    async fn delete_pacticipant(&self, name: &str) -> StoreResult<bool>;
    /// Labels a pacticipant. `None` when the pacticipant does not exist; the flag is true when the label is new.
    async fn add_label(&self, pacticipant: &str, label: &LabelName) -> StoreResult<Option<bool>>;
    async fn label(
        &self,
        pacticipant: &str,
        label: &str,
    ) -> StoreResult<Option<treaty_domain::model::Label>>;
    async fn remove_label(&self, pacticipant: &str, label: &str) -> StoreResult<bool>;
    async fn label_names(&self) -> StoreResult<Vec<String>>;
}

/// Which version "latest" means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LatestVersion {
    Any,
    WithTag(String),
    /// The head of a branch.
    OnBranch(String),
}

/// A create-or-update of a version.
#[derive(Debug, Clone, Default)]
pub struct VersionChanges {
    pub build_url: Option<String>,
    /// Replace the version's tags with these.
    pub tags: Option<Vec<TagName>>,
    /// Add the version to this branch.
    pub branch: Option<BranchName>,
    /// PUT semantics: a build URL not given is cleared.
    pub replace: bool,
}

#[async_trait]
pub trait VersionStore {
    async fn version(&self, pacticipant: &str, number: &str) -> StoreResult<Option<Version>>;
    /// Versions newest first.
    async fn versions(
        &self,
        pacticipant: &str,
        page: Option<PageRequest>,
    ) -> StoreResult<Page<Version>>;
    async fn latest_version(
        &self,
        pacticipant: &str,
        which: LatestVersion,
    ) -> StoreResult<Option<Version>>;
    /// Creates or updates a version (and its pacticipant). The flag is true when the version was created.
    async fn put_version(
        &self,
        pacticipant: &PacticipantName,
        number: &VersionNumber,
        changes: VersionChanges,
    ) -> StoreResult<(Version, bool)>;
    /// Deletes a version with its tags, pacts, verifications and Pact Broker
    /// deployment records; its ledger deployments stay, with the names they
    /// had, and those running end (`deleted`).
    async fn delete_version(&self, pacticipant: &str, number: &str) -> StoreResult<bool>;

    async fn tag(&self, pacticipant: &str, version: &str, tag: &str) -> StoreResult<Option<Tag>>;
    /// Tags a version, creating pacticipant and version as needed. The flag is true when the tag is new.
    async fn add_tag(
        &self,
        pacticipant: &PacticipantName,
        version: &VersionNumber,
        tag: &TagName,
    ) -> StoreResult<(Tag, bool)>;
    async fn delete_tag(&self, pacticipant: &str, version: &str, tag: &str) -> StoreResult<bool>;
    /// Versions carrying a tag, newest first.
    async fn versions_with_tag(
        &self,
        pacticipant: &str,
        tag: &str,
        page: Option<PageRequest>,
    ) -> StoreResult<Page<Version>>;
    /// The pacts, deployments and releases of some versions of a pacticipant,
    /// all at once (a list of versions shows them for each).
    async fn version_list_facts(
        &self,
        pacticipant: &str,
        numbers: &[String],
    ) -> StoreResult<treaty_domain::model::VersionListFacts>;

    /// Branches, most recently updated first; `filter` keeps those whose
    /// name contains it.
    async fn branches(
        &self,
        pacticipant: &str,
        filter: Option<&str>,
        page: Option<PageRequest>,
    ) -> StoreResult<Page<Branch>>;
    /// When a version was added to a branch (and last added again), if it is on it.
    async fn branch_version_times(
        &self,
        pacticipant: &str,
        branch: &str,
        version: &str,
    ) -> StoreResult<Option<treaty_domain::model::BranchVersionTimes>>;
    async fn branch(&self, pacticipant: &str, branch: &str) -> StoreResult<Option<Branch>>;
    async fn delete_branch(&self, pacticipant: &str, branch: &str) -> StoreResult<bool>;
    /// Deletes, in one transaction, a pacticipant's branches except those
    /// named in `keep` and its main branch (their versions stay). `None`
    /// when there is no such pacticipant.
    async fn delete_branches_except(
        &self,
        pacticipant: &str,
        keep: &[String],
    ) -> StoreResult<Option<BranchesDeleted>>;
    /// Adds a version to a branch (creating all three as needed); it becomes the head.
    /// The flag is true when the version was not on the branch before.
    async fn add_branch_version(
        &self,
        pacticipant: &PacticipantName,
        branch: &BranchName,
        version: &VersionNumber,
    ) -> StoreResult<(Version, bool)>;
    async fn branch_version(
        &self,
        pacticipant: &str,
        branch: &str,
        version: &str,
    ) -> StoreResult<Option<Version>>;
    async fn delete_branch_version(
        &self,
        pacticipant: &str,
        branch: &str,
        version: &str,
    ) -> StoreResult<bool>;
    /// Versions on a branch, newest first.
    async fn branch_versions(
        &self,
        pacticipant: &str,
        branch: &str,
        page: Option<PageRequest>,
    ) -> StoreResult<Page<Version>>;
    /// Versions of a pacticipant ever deployed or released to an
    /// environment (by its uuid), newest first.
    async fn versions_in_environment(
        &self,
        pacticipant: &str,
        environment_uuid: &str,
        page: Option<PageRequest>,
    ) -> StoreResult<Page<Version>>;
}

/// Which pact of a consumer/provider pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PactSelector {
    ConsumerVersion(String),
    Latest,
    LatestWithTag(String),
    LatestUntagged,
    LatestOnBranch(String),
    /// The content with this hash, as published by its newest consumer version.
    Sha(String),
}

/// Which pacts to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PactFilter {
    All,
    WithTag(String),
    OnBranch(String),
    /// Versions on their pacticipant's main branch.
    OnMainBranch,
    /// Only the newest pact per consumer (optionally among tagged or branch versions).
    Latest,
    LatestWithTag(String),
    LatestOnBranch(String),
    LatestOnMainBranch,
}

/// What a bulk delete of branches did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BranchesDeleted {
    pub deleted: u64,
    /// The names of the branches left, least recently updated first.
    pub remaining: Vec<String>,
}

/// What a single-pact publication (`PUT /pacts/...`) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PutPactOutcome {
    pub created: bool,
}

#[async_trait]
pub trait PactStore {
    /// Publishes contracts, with version, branch and tags, as one transaction.
    async fn publish_contracts(&self, request: &PublishRequest) -> StoreResult<PublishOutcome>;
    /// Publishes one pact for a consumer version (the older `PUT /pacts/...` path).
    async fn put_pact(
        &self,
        consumer: &PacticipantName,
        provider: &PacticipantName,
        version: &VersionNumber,
        pact: PactDocument,
        on_conflict: OnConflict,
    ) -> StoreResult<PutPactOutcome>;
    async fn pact(
        &self,
        consumer: &str,
        provider: &str,
        selector: PactSelector,
    ) -> StoreResult<Option<Pact>>;
    /// Pacts of a pair, without their documents, as the Pact Broker lists
    /// them: newest consumer version first, except the branch filters,
    /// which list the oldest first.
    async fn pacts_between(
        &self,
        consumer: &str,
        provider: &str,
        filter: PactFilter,
    ) -> StoreResult<Vec<PactSummary>>;
    /// Pacts with a provider (all consumers), without their documents, by
    /// consumer name then consumer version (oldest first); `Latest*` filters
    /// give one per consumer.
    async fn pacts_for_provider(
        &self,
        provider: &str,
        filter: PactFilter,
    ) -> StoreResult<Vec<PactSummary>>;
    /// The pacts a consumer version published, without their documents, by provider name.
    async fn pacts_of_consumer_version(
        &self,
        consumer: &str,
        version: &str,
    ) -> StoreResult<Vec<PactSummary>>;
    /// The latest pact of every integration, without its document.
    async fn latest_pacts(&self) -> StoreResult<Vec<PactSummary>>;
    /// The newest pact of the pair published by a consumer version older than
    /// `before_version_id`, with other content than `sha`.
    async fn previous_distinct_pact(
        &self,
        consumer: &str,
        provider: &str,
        before_version_id: i64,
        sha: &str,
    ) -> StoreResult<Option<Pact>>;
    /// The oldest pact of the pair published by a consumer version newer than `version_id`.
    async fn pact_published_after(
        &self,
        consumer: &str,
        provider: &str,
        version_id: i64,
    ) -> StoreResult<Option<PactSummary>>;
    async fn delete_pact(&self, consumer: &str, provider: &str, version: &str)
    -> StoreResult<bool>;
    /// Deletes, in one transaction, the pacts of a pair that `filter` names
    /// (`All`, `WithTag`, `OnBranch` or `OnMainBranch`; a `Latest*` filter
    /// is refused as `Unsupported`, since a delete takes every pact it names).
    /// The versions, their tags and branches, the pact contents with their
    /// verifications, and deployment history stay. How many were deleted.
    async fn delete_pacts_between(
        &self,
        consumer: &str,
        provider: &str,
        filter: PactFilter,
    ) -> StoreResult<u64>;
    /// Contract pairs, ordered by consumer then provider name.
    async fn integrations(&self, page: Option<PageRequest>) -> StoreResult<Page<Integration>>;
    /// Contract pairs as the Pact Broker lists them: the most recently
    /// published or verified first; `filter` keeps the pairs where either
    /// name contains it.
    async fn integrations_by_activity(
        &self,
        filter: Option<&str>,
        page: Option<PageRequest>,
    ) -> StoreResult<Page<Integration>>;
    /// Removes a pair's pacts and verifications.
    async fn delete_integration(&self, consumer: &str, provider: &str) -> StoreResult<bool>;
}

#[async_trait]
pub trait VerificationStore {
    /// Records a verification of a pact content. `None` when no such pact content exists.
    async fn publish_verification(
        &self,
        consumer: &str,
        provider: &str,
        sha: &str,
        verification: NewVerification,
    ) -> StoreResult<Option<Verification>> {
        self.publish_verification_of(consumer, provider, sha, verification, false)
            .await
    }
    /// Records a verification; `wip` when the pact was verified as a work in progress.
    async fn publish_verification_of(
        &self,
        consumer: &str,
        provider: &str,
        sha: &str,
        verification: NewVerification,
        wip: bool,
    ) -> StoreResult<Option<Verification>>;
    /// A verification by number, or the latest of that pact content when `number` is `None`.
    async fn verification(
        &self,
        consumer: &str,
        provider: &str,
        sha: &str,
        number: Option<i64>,
    ) -> StoreResult<Option<Verification>>;
    /// Deletes a verification result by number, when it is one of that pact
    /// content of the pair; false when there is none.
    async fn delete_verification(
        &self,
        consumer: &str,
        provider: &str,
        sha: &str,
        number: i64,
    ) -> StoreResult<bool>;
    /// The latest verification of each provider for the pacts of a consumer version.
    async fn latest_verifications_for_consumer_version(
        &self,
        consumer: &str,
        version: &str,
    ) -> StoreResult<Vec<Verification>>;
    /// What decides integrations' status (`treaty_domain::integration_status`):
    /// for each pair (of this consumer and this provider, when named), the
    /// latest verification from each provider branch and the latest from
    /// provider versions on no branch, with the facts that say whether its
    /// pact was pending. Sorted by consumer, provider, newest first.
    async fn integration_verification_facts(
        &self,
        consumer: Option<&str>,
        provider: Option<&str>,
    ) -> StoreResult<Vec<PairVerificationFacts>>;
    /// The same facts for the verifications numbered (one per branch each
    /// one's provider version is on); unknown numbers are left out.
    async fn verification_facts(&self, numbers: &[i64]) -> StoreResult<Vec<PairVerificationFacts>>;
}

/// A verification's facts for integration status, with its pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairVerificationFacts {
    pub consumer: String,
    pub provider: String,
    pub facts: treaty_domain::integration_status::VerificationFacts,
}

#[async_trait]
pub trait EnvironmentStore {
    /// Environments ordered by display name, as the Pact Broker's API lists them.
    async fn environments(&self) -> StoreResult<Vec<Environment>>;
    /// Environments in pipeline order, as people see them (the UI): the
    /// order an admin set (`set_environment_order`); a new one goes before
    /// the first production environment, or at the end when it is production.
    async fn pipeline_environments(&self) -> StoreResult<Vec<Environment>>;
    async fn environment(&self, uuid: &str) -> StoreResult<Option<Environment>>;
    async fn environment_by_name(&self, name: &str) -> StoreResult<Option<Environment>>;
    /// Creates an environment (with the given uuid, or a new random one).
    /// A name already in use is a `Conflict`.
    async fn create_environment(
        &self,
        uuid: Option<&str>,
        fields: EnvironmentFields,
    ) -> StoreResult<Environment>;
    /// Replaces an environment's fields. `None` when it does not exist.
    async fn replace_environment(
        &self,
        uuid: &str,
        fields: EnvironmentFields,
    ) -> StoreResult<Option<Environment>>;
    /// Deletes an environment with its deployment and release records; its
    /// ledger deployments stay, with the names they had, and those running
    /// end (`deleted`).
    async fn delete_environment(&self, uuid: &str) -> StoreResult<bool>;
    /// Puts the environments in this order (their names, each environment
    /// once). A name that is not an environment, one named twice or an
    /// environment left out is a `Conflict` naming them.
    async fn set_environment_order(&self, names: &[String]) -> StoreResult<Vec<Environment>>;
    /// Creates `test` and `production` the first time a database is opened;
    /// never again, so deleting them sticks. True when it created them.
    async fn ensure_default_environments(&self) -> StoreResult<bool>;
}

/// A deployment to record (`record-deployment`).
#[derive(Debug, Clone, Default)]
pub struct NewDeployment {
    pub pacticipant: String,
    pub version: String,
    pub environment_uuid: String,
    pub application_instance: Option<String>,
    /// A fixed uuid (test provider states); normally a new random one.
    pub uuid: Option<String>,
}

/// How a fact recorded through the Pact Broker API (`record-deployment`,
/// `record-release`) came: who recorded it, and what the gates said.
#[derive(Debug, Clone, Default)]
pub struct Recording {
    /// Who recorded it: the caller.
    pub deployed_by: Option<String>,
    /// The can-i-deploy answer and the gates' verdict when it was recorded.
    pub evidence: Option<serde_json::Value>,
    /// The gates would have refused it; it is recorded (it already
    /// happened) and marked.
    pub bypassed_gates: bool,
}

/// Which currently deployed versions to list. `application_instance` of
/// `Some(None)` means "the deployments without an instance".
#[derive(Debug, Clone, Default)]
pub struct DeployedFilter {
    pub pacticipant: Option<String>,
    pub application_instance: Option<Option<String>>,
}

/// The Pact Broker's records of deployments and releases. They are the
/// Pact Broker's view of the ledger: every write here is also a ledger
/// write, in the same transaction (see `LedgerStore`).
#[async_trait]
pub trait DeploymentStore {
    /// Records that a version is now deployed to an environment, as a
    /// completed ledger deployment (source `pact-broker-api`): the previous
    /// deployment in the same slot (pacticipant, environment, instance) ends,
    /// in the ledger and in the Pact Broker's records, in the same
    /// transaction. An open (pending or started) ledger deployment of the
    /// version to the slot is completed rather than a new one made.
    /// Recording the version that is already current there, with nothing
    /// open, changes nothing and returns that record.
    /// `NotFound` when the version or environment does not exist.
    async fn record_deployment(&self, deployment: NewDeployment) -> StoreResult<DeployedVersion> {
        self.record_deployment_as(deployment, Recording::default())
            .await
    }
    /// What recording the version as deployed to a slot (pacticipant,
    /// environment, instance) would meet, read on one snapshot: whether the
    /// version and the environment exist, whether the version is current in
    /// the slot, its open deployment there, and the environment's stored
    /// gate policy. One unit of read work (one hand-off on SQLite) for what
    /// record-deployment asks before it writes.
    async fn deployment_slot(
        &self,
        pacticipant: &str,
        version: &str,
        environment_uuid: &str,
        application_instance: Option<&str>,
    ) -> StoreResult<SlotBefore>;
    /// [`Self::record_deployment`], saying who recorded it and what the gates said.
    async fn record_deployment_as(
        &self,
        deployment: NewDeployment,
        recording: Recording,
    ) -> StoreResult<DeployedVersion>;
    async fn deployed_version(&self, uuid: &str) -> StoreResult<Option<DeployedVersion>>;
    /// Marks a deployment as no longer current (idempotent), and ends its
    /// ledger deployment (by the request's caller). `None` when unknown.
    async fn undeploy(&self, uuid: &str) -> StoreResult<Option<DeployedVersion>>;
    /// What is deployed in an environment now, the most recent deployment first.
    async fn currently_deployed(
        &self,
        environment_uuid: &str,
        filter: DeployedFilter,
    ) -> StoreResult<Vec<DeployedVersion>>;
    /// Every deployment record of a version, current or not, oldest first.
    async fn deployments_of_version(
        &self,
        pacticipant: &str,
        version: &str,
    ) -> StoreResult<Vec<DeployedVersion>>;
    /// The current deployments of a pacticipant in every environment.
    async fn current_deployments_of(&self, pacticipant: &str) -> StoreResult<Vec<DeployedVersion>>;

    /// Records a release, as a completed ledger release; recording one that
    /// exists re-activates it (a new ledger release when its support had
    /// ended). The flag is true when the record is new. `NotFound` when the
    /// version or environment does not exist.
    async fn record_release(
        &self,
        pacticipant: &str,
        version: &str,
        environment_uuid: &str,
        uuid: Option<&str>,
    ) -> StoreResult<(ReleasedVersion, bool)> {
        self.record_release_as(
            pacticipant,
            version,
            environment_uuid,
            uuid,
            Recording::default(),
        )
        .await
    }
    /// [`Self::record_release`], saying who recorded it and what the gates said.
    async fn record_release_as(
        &self,
        pacticipant: &str,
        version: &str,
        environment_uuid: &str,
        uuid: Option<&str>,
        recording: Recording,
    ) -> StoreResult<(ReleasedVersion, bool)>;
    async fn released_version(&self, uuid: &str) -> StoreResult<Option<ReleasedVersion>>;
    /// Ends support of a release (idempotent), and its ledger release (by
    /// the request's caller). `None` when unknown.
    async fn end_support(&self, uuid: &str) -> StoreResult<Option<ReleasedVersion>>;
    async fn currently_supported(
        &self,
        environment_uuid: &str,
        pacticipant: Option<&str>,
        version: Option<&str>,
    ) -> StoreResult<Vec<ReleasedVersion>>;
    /// Every release record of a version, oldest first.
    async fn releases_of_version(
        &self,
        pacticipant: &str,
        version: &str,
    ) -> StoreResult<Vec<ReleasedVersion>>;
}

/// Bi-directional contracts: provider contracts and their comparisons with pacts.
#[async_trait]
pub trait ProviderContractStore {
    /// Publishes a provider version's contract (creating the provider and
    /// version, adding the branch and tags, replacing an earlier contract of
    /// that version) and queues, in the same transaction, the comparisons
    /// can-i-deploy will ask about.
    async fn publish_provider_contract(
        &self,
        publication: &treaty_domain::provider_contracts::ProviderContractPublication,
    ) -> StoreResult<treaty_domain::provider_contracts::ProviderContractOutcome>;
    async fn provider_contract(
        &self,
        provider: &str,
        version: &str,
    ) -> StoreResult<Option<treaty_domain::provider_contracts::StoredProviderContract>>;
    /// The comparison of a consumer version's pact with a provider version's
    /// contract; `None` when either is missing, an outcome of `None` when
    /// it is not computed yet.
    async fn comparison_report(
        &self,
        provider: &str,
        provider_version: &str,
        consumer: &str,
        consumer_version: &str,
    ) -> StoreResult<Option<treaty_domain::provider_contracts::ComparisonReport>>;
    /// Takes the next queued comparison not claimed, for `lease`; exactly one
    /// caller (of any replica) gets each.
    async fn claim_comparison(
        &self,
        lease: std::time::Duration,
    ) -> StoreResult<Option<treaty_domain::provider_contracts::ComparisonWork>>;
    /// Stores a computed comparison (success and findings; `None` when its
    /// contents are gone) and removes the work.
    async fn record_comparison(
        &self,
        work: &treaty_domain::provider_contracts::ComparisonWork,
        outcome: Option<(bool, &serde_json::Value)>,
    ) -> StoreResult<()>;
    /// Queues the comparisons can-i-deploy will ask about that are neither
    /// computed nor queued (versions deployed or put on a main branch since
    /// the last publication); how many.
    async fn queue_missing_comparisons(&self) -> StoreResult<usize>;
}

#[async_trait]
pub trait MatrixStore {
    /// Resolves a matrix query's selectors and loads, from one snapshot, every
    /// fact its verdict depends on. `Err(messages)` when it names a pacticipant
    /// or environment that does not exist.
    async fn matrix_evidence(
        &self,
        query: &treaty_domain::matrix_query::MatrixQuery,
    ) -> StoreResult<Result<treaty_domain::matrix::Evidence, Vec<String>>>;
    /// Answers a matrix question on one snapshot: its evidence, the
    /// domain's verdict on it, and the versions the answer's rows name, with
    /// the environments each is deployed or released to (what rendering the
    /// answer needs, from the same snapshot as the verdict). `Err(messages)`
    /// as for [`Self::matrix_evidence`].
    async fn matrix_answer(
        &self,
        query: &treaty_domain::matrix_query::MatrixQuery,
    ) -> StoreResult<Result<MatrixAnswer, Vec<String>>>;
    /// What a pact badge shows, from one snapshot: the content of the latest
    /// pact of a pair among the consumer versions `consumer_versions` names,
    /// and the latest verification the Pact Broker reports for them (by
    /// provider versions with `provider_tag`, when given).
    async fn pact_badge(
        &self,
        consumer: &str,
        provider: &str,
        consumer_versions: BadgeVersions,
        provider_tag: Option<&str>,
    ) -> StoreResult<PactBadgeFacts>;
}

/// The consumer versions a pact badge looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BadgeVersions {
    All,
    Tagged(String),
    Untagged,
}

/// What a pact badge shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PactBadgeFacts {
    /// The latest pact's content hash; `None`: no such pact.
    pub pact_sha: Option<String>,
    /// The content the latest verification verified, and its success.
    pub verification: Option<(String, bool)>,
}

/// A matrix question's answer and the versions its rows name.
#[derive(Debug, Clone)]
pub struct MatrixAnswer {
    pub matrix: treaty_domain::matrix::Matrix,
    /// The versions the rows name, by id.
    pub versions: std::collections::HashMap<i64, MatrixVersion>,
}

/// A version as a matrix row shows it.
#[derive(Debug, Clone)]
pub struct MatrixVersion {
    pub version: Version,
    /// The environments it is deployed or released to, in the order it got there.
    pub environments: Vec<Environment>,
    /// Its tags that no later version of its pacticipant has.
    pub latest_tags: Vec<String>,
}

/// The whole store as one portable JSON document, in memory (tests and
/// small stores; `treaty export` streams the same document, see
/// [`crate::export_file`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Dump(pub serde_json::Value);

/// One row of an export: each column by name. Integers are JSON numbers,
/// times RFC 3339 text, an absent value `null`.
pub type DumpRow = serde_json::Map<String, serde_json::Value>;

/// What a column holds, as an export writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DumpKind {
    Integer,
    Text,
    Boolean,
    Time,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DumpColumn {
    pub name: &'static str,
    pub kind: DumpKind,
    pub nullable: bool,
}

/// A table as an export writes it: every column, and the rows in the order
/// of `key` (its primary key), so two exports of the same data are the same bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpTable {
    pub name: &'static str,
    pub key: &'static [&'static str],
    pub columns: Vec<DumpColumn>,
}

/// Where an export goes: every table in order (parents before children),
/// each followed by its rows.
pub trait DumpSink: Send {
    /// A table begins (an empty one too).
    fn table(&mut self, name: &str) -> StoreResult<()>;
    fn row(&mut self, table: &str, row: &DumpRow) -> StoreResult<()>;
}

/// Where an import's rows come from, in the order an export wrote them.
#[async_trait]
pub trait DumpSource: Send {
    /// The next row and its table; `None` at the end.
    async fn next_row(&mut self) -> StoreResult<Option<(String, DumpRow)>>;
}

#[async_trait]
pub trait DumpStore {
    /// Every table and column an export writes, parents before children.
    fn dump_tables(&self) -> Vec<DumpTable>;
    /// Everything in the store, from one snapshot, row by row into `sink`
    /// (holding a few rows at a time). Returns the rows written.
    async fn export_to(&self, sink: &mut dyn DumpSink) -> StoreResult<u64>;
    /// Loads the rows of an export, in one transaction. Refuses a non-empty
    /// database unless `replace`, which deletes its contents first; refuses
    /// a table or column this release does not know rather than drop it.
    /// Returns the rows loaded.
    async fn import_from(&self, source: &mut dyn DumpSource, replace: bool) -> StoreResult<u64>;

    /// Everything in the store, as one JSON value.
    async fn export(&self) -> StoreResult<Dump> {
        let mut sink = crate::export_file::ValueSink::default();
        self.export_to(&mut sink).await?;
        Ok(sink.into_dump())
    }

    /// Loads an export held as one JSON value (see [`DumpStore::import_from`]).
    async fn import(&self, dump: &Dump, replace: bool) -> StoreResult<u64> {
        let mut source = crate::export_file::ValueSource::new(dump)?;
        self.import_from(&mut source, replace).await
    }
}

#[async_trait]
pub trait ForVerificationStore {
    /// The pacts a provider must verify for a request, merged by content, with
    /// pending and WIP status. `None` when the provider does not exist.
    async fn pacts_for_verification(
        &self,
        provider: &str,
        request: &treaty_domain::for_verification::Request,
    ) -> StoreResult<Option<Vec<treaty_domain::for_verification::VerifiablePact>>>;

    /// The provider states the pacts `of` chooses (the main branch heads, a
    /// branch's heads, what is in an environment) ask the provider to set
    /// up, each once with its consumers. `None` when the provider does not exist.
    async fn provider_states(
        &self,
        provider: &str,
        of: &treaty_domain::for_verification::Lookup,
    ) -> StoreResult<Option<Vec<treaty_domain::provider_states::ListedState>>>;
}

/// What recording a deployment event did.
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerOutcome {
    pub deployment: treaty_domain::model::LedgerDeployment,
    /// The event started a new deployment.
    pub created: bool,
    /// The idempotency key was seen before: nothing changed.
    pub replayed: bool,
}

/// What a slot holds of a version before a deployment of it is recorded
/// ([`DeploymentStore::deployment_slot`]).
#[derive(Debug, Clone, PartialEq)]
pub struct SlotBefore {
    pub version_exists: bool,
    /// `None` when no environment has that uuid.
    pub environment: Option<treaty_domain::model::Environment>,
    /// The version is the one current in the slot.
    pub current: bool,
    /// The version's open (pending or started) deployment to the slot, as a
    /// deployment event would find it: `New` when there is none.
    pub open: EventTarget,
    /// The environment's policy as stored (see [`GateStore::environment_policies`]).
    pub policy: Option<serde_json::Value>,
}

/// What a deployment event would apply to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventTarget {
    /// Its idempotency key was seen before: it would change nothing.
    Replay,
    /// It would start a new deployment.
    New,
    /// It would move the open (or named) deployment, now in this status.
    Open {
        id: i64,
        status: treaty_domain::ledger::Status,
    },
}

/// Which of the names a deployment event gives exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownNames {
    pub pacticipant: bool,
    pub version: bool,
    pub environment: bool,
}

/// Which ledger deployments to list.
#[derive(Debug, Clone, Default)]
pub struct LedgerFilter {
    /// A pacticipant by name; a deleted one's history answers to the name it had.
    pub pacticipant: Option<String>,
    /// A version of `pacticipant` (ignored without one).
    pub version: Option<String>,
    pub environment: Option<String>,
    pub status: Option<String>,
    /// Only what runs (or is supported) now: completed and not ended.
    pub running: bool,
    pub kind: Option<treaty_domain::model::LedgerKind>,
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    pub to: Option<chrono::DateTime<chrono::Utc>>,
}

#[async_trait]
pub trait LedgerStore {
    /// Applies a deployment event in one transaction: a new deployment, or the
    /// next step of the open one; `completed` records the deployment in its
    /// slot, in the ledger and the Pact Broker's records alike.
    /// `Conflict` when the event is out of order; `NotFound` for an unknown
    /// environment, pacticipant or version (events never create them).
    async fn record_deployment_event(
        &self,
        event: &treaty_domain::ledger::Event,
        evidence: Option<serde_json::Value>,
    ) -> StoreResult<LedgerOutcome>;
    /// Which of the names a deployment event gives exist, in one read.
    async fn known_names(
        &self,
        pacticipant: &str,
        version: &str,
        environment: &str,
    ) -> StoreResult<KnownNames>;
    /// What an event would apply to, without changing anything.
    async fn deployment_event_target(
        &self,
        event: &treaty_domain::ledger::Event,
    ) -> StoreResult<EventTarget>;
    async fn ledger_deployment(
        &self,
        id: i64,
    ) -> StoreResult<Option<treaty_domain::model::LedgerDeployment>>;
    /// Deployments newest first: by when each last moved (finished, else
    /// started, else created).
    async fn ledger_deployments(
        &self,
        filter: LedgerFilter,
        page: Option<PageRequest>,
    ) -> StoreResult<Page<treaty_domain::model::LedgerDeployment>>;
    /// The ids of the ledger deployments of a pacticipant, or of one of its
    /// versions, oldest first (what deleting it would take from the ledger's links).
    async fn deployment_history_of(
        &self,
        pacticipant: &str,
        version: Option<&str>,
    ) -> StoreResult<Vec<i64>>;
    /// Marks every deployment still pending or started since before `cutoff`
    /// as timed out, with an event saying so; returns their ids. Safe to run
    /// on every replica at once: each deployment times out once.
    async fn time_out_stale_deployments(
        &self,
        cutoff: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<Vec<i64>>;
    /// `NotFound` for an unknown deployment.
    async fn open_incident(
        &self,
        deployment_id: i64,
        incident: &treaty_domain::ledger::NewIncident,
    ) -> StoreResult<treaty_domain::model::Incident>;
    /// Resolves an incident of a deployment (again: the time is updated);
    /// `NotFound` for an unknown one, `Conflict` when `at` is before it opened.
    async fn resolve_incident(
        &self,
        deployment_id: i64,
        incident_id: i64,
        at: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<treaty_domain::model::Incident>;
    /// What was deployed in the environment at `at`, by application and
    /// instance, from the ledger; `NotFound` for an unknown environment.
    async fn deployed_at(
        &self,
        environment: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<Vec<treaty_domain::model::DeployedAt>>;
    /// The deployments the DORA metrics need: those finished at or after
    /// `from` (later ones show when failures were restored), with their
    /// incidents, in production environments unless one is named.
    async fn dora_facts(&self, filter: DoraFilter) -> StoreResult<Vec<treaty_domain::dora::Fact>>;
}

/// Which deployments the DORA metrics cover.
#[derive(Debug, Clone)]
pub struct DoraFilter {
    pub pacticipant: Option<String>,
    /// `None`: every production environment.
    pub environment: Option<String>,
    pub from: chrono::DateTime<chrono::Utc>,
}

/// Where a version has been, for the deployment gates.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GateHistory {
    pub stays: Vec<treaty_domain::gates::Stay>,
    pub failures: Vec<treaty_domain::gates::Failure>,
    pub open_incidents: Vec<treaty_domain::gates::OpenIncident>,
}

#[async_trait]
pub trait GateStore {
    /// The environment's policy as stored, `None` when it has none;
    /// `NotFound` for an unknown environment.
    async fn environment_policies(
        &self,
        environment: &str,
    ) -> StoreResult<Option<serde_json::Value>>;
    /// Replaces the environment's policy; `None` removes it. A write that
    /// starts or ends the freeze in force enqueues `environment_frozen` or
    /// `environment_unfrozen` in the same transaction, naming `by` (who wrote).
    async fn set_environment_policies(
        &self,
        environment: &str,
        rules: Option<&serde_json::Value>,
        by: Option<&str>,
    ) -> StoreResult<()>;
    /// Where the version has been deployed (and until when), where its
    /// deployments failed, and the incidents still open against it.
    async fn gate_history(&self, pacticipant: &str, version: &str) -> StoreResult<GateHistory>;
    /// What a release plan into the environment is computed from: what runs
    /// there now, and the pacts and verifications of those versions and of
    /// the planned ones. `NotFound` for an unknown environment or a planned
    /// version Treaty does not know.
    async fn release_plan_facts(
        &self,
        environment: &str,
        planned: &[(String, String)],
    ) -> StoreResult<treaty_domain::release::Facts>;
}

/// Which webhooks to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookScope<'a> {
    All,
    /// Webhooks whose consumer and provider are exactly these (`None`: none).
    Exactly {
        consumer: Option<&'a str>,
        provider: Option<&'a str>,
    },
}

/// What one delivery attempt came to.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptOutcome {
    pub success: bool,
    /// Appended to the delivery's logs.
    pub logs: String,
    /// When to try again; `None` ends the delivery (success, or no attempts left).
    pub retry_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[async_trait]
pub trait WebhookStore {
    /// Creates or replaces the webhook with this uuid; true when created.
    /// `NotFound` when it names a pacticipant that does not exist.
    async fn put_webhook(
        &self,
        uuid: &str,
        webhook: &treaty_domain::webhooks::WebhookDefinition,
    ) -> StoreResult<(treaty_domain::webhooks::StoredWebhook, bool)>;
    async fn webhook(
        &self,
        uuid: &str,
    ) -> StoreResult<Option<treaty_domain::webhooks::StoredWebhook>>;
    /// Webhooks, oldest first: every one, or those of exactly this consumer
    /// and provider (`None` is a webhook without one, as the Pact Broker's
    /// `/webhooks/provider/{p}` lists only webhooks with no consumer).
    async fn webhooks(
        &self,
        scope: WebhookScope<'_>,
    ) -> StoreResult<Vec<treaty_domain::webhooks::StoredWebhook>>;
    async fn delete_webhook(&self, uuid: &str) -> StoreResult<bool>;
    /// Takes the next delivery that is due and not claimed, for `lease`;
    /// exactly one caller (of any replica) gets each.
    async fn claim_webhook_delivery(
        &self,
        lease: std::time::Duration,
    ) -> StoreResult<Option<treaty_domain::webhooks::Delivery>>;
    /// Records an attempt of a claimed delivery and releases it.
    async fn record_webhook_attempt(
        &self,
        delivery_id: i64,
        outcome: &AttemptOutcome,
    ) -> StoreResult<()>;
    /// Queues a delivery of the webhook that failed for good for one more
    /// attempt, due now (the worker sends it), noting `by` in its logs;
    /// `NotFound` for a delivery the webhook does not have, `Conflict`
    /// unless its status is `failure`.
    async fn retry_webhook_delivery(
        &self,
        webhook_uuid: &str,
        delivery_uuid: &str,
        by: Option<&str>,
    ) -> StoreResult<treaty_domain::webhooks::Delivery>;
    /// Deliveries, newest first: of one webhook, or of a consumer/provider pair.
    async fn webhook_deliveries(
        &self,
        webhook_uuid: Option<&str>,
        consumer: Option<&str>,
        provider: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<treaty_domain::webhooks::Delivery>>;
    async fn webhook_delivery(
        &self,
        uuid: &str,
    ) -> StoreResult<Option<treaty_domain::webhooks::Delivery>>;
    /// The template variables of the latest pact between the pair (for a
    /// test execution); empty when there is none.
    async fn latest_pact_context(
        &self,
        consumer: Option<&str>,
        provider: Option<&str>,
    ) -> StoreResult<std::collections::BTreeMap<String, String>>;
}

/// An API token as stored (its secret is not: only its hash).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub role: treaty_domain::access::Role,
    pub pacticipants: Option<Vec<String>>,
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
    pub revoked_at: Option<chrono::DateTime<chrono::Utc>>,
    pub created_by: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// What an audit entry records, before the log numbers and chains it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAuditEntry {
    pub actor: String,
    pub address: String,
    pub method: String,
    pub target: String,
    pub status: u16,
    pub summary: String,
}

#[async_trait]
pub trait AccessStore {
    /// `Conflict` when the name is taken.
    async fn create_token(
        &self,
        name: &str,
        token_hash: &str,
        role: treaty_domain::access::Role,
        pacticipants: Option<&[String]>,
        expires_at: Option<chrono::DateTime<chrono::Utc>>,
        created_by: Option<&str>,
    ) -> StoreResult<ApiToken>;
    async fn tokens(&self) -> StoreResult<Vec<ApiToken>>;
    /// The token with this hash, revoked and expired ones included.
    async fn token_by_hash(&self, token_hash: &str) -> StoreResult<Option<ApiToken>>;
    /// False when there is no such token (or it was revoked already).
    async fn revoke_token(&self, name: &str) -> StoreResult<bool>;
    /// Appends entries in order, each chained to the one before, in one
    /// write transaction (so many requests' entries cost one commit).
    async fn append_audit_entries(
        &self,
        key: &treaty_domain::access::AuditKey,
        entries: &[NewAuditEntry],
    ) -> StoreResult<Vec<treaty_domain::access::AuditEntry>>;
    /// Entries newest first, optionally of one actor.
    async fn audit_entries(
        &self,
        actor: Option<&str>,
        page: PageRequest,
    ) -> StoreResult<Page<treaty_domain::access::AuditEntry>>;
    /// The log oldest first, for verifying its chain: all of it, or from the
    /// entry with this hash on (none when no entry has it).
    async fn audit_chain(
        &self,
        from_hash: Option<&str>,
    ) -> StoreResult<Vec<treaty_domain::access::AuditEntry>>;
    /// The newest entry and how many there are, and whether the database
    /// holds any records the log should have entries for.
    async fn audit_head(&self) -> StoreResult<AuditHead>;
}

/// The end of the audit log, to publish and save.
#[derive(Debug, Clone)]
pub struct AuditHead {
    pub entries: u64,
    pub newest: Option<treaty_domain::access::AuditEntry>,
    /// Pacticipants, environments or webhooks exist: a database with
    /// records and no audit entry has lost its log.
    pub holds_records: bool,
}

/// One batch of `treaty clean`.
#[derive(Debug, Clone)]
pub struct CleanRequest<'a> {
    /// A version is kept when any of these names it.
    pub keep: &'a [treaty_domain::retention::KeepSelector],
    /// Look only at versions with a larger id: 0 first, then the previous
    /// batch's `next_after`.
    pub after: i64,
    /// The most versions to remove in this batch.
    pub limit: u32,
    /// Say what would be removed, and remove nothing.
    pub dry_run: bool,
    /// The time `maxAge` counts back from; the store's clock when `None`.
    pub as_of: Option<chrono::DateTime<chrono::Utc>>,
}

#[async_trait]
pub trait RetentionStore {
    /// One batch of a clean: the oldest versions after `after` that no keep
    /// selector names and that have no deployment history (no ledger
    /// deployment, no deployment or release record, current or past), at
    /// most `limit`. Unless `dry_run`, they are removed in one short write
    /// transaction with their pacts, verification results, tags and branch
    /// memberships; the branches whose head they were get the most recently
    /// added remaining version as head, and the pact contents they leave with
    /// no publication and no verification are removed too.
    /// `NotFound` when a selector names a pacticipant or environment that
    /// does not exist.
    async fn clean(
        &self,
        request: &CleanRequest<'_>,
    ) -> StoreResult<treaty_domain::retention::CleanReport>;
}

/// The kinds of name Treaty stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NameKind {
    Pacticipant,
    Version,
    Branch,
    Tag,
    Label,
    Environment,
}

impl NameKind {
    pub const ALL: [NameKind; 6] = [
        NameKind::Pacticipant,
        NameKind::Version,
        NameKind::Branch,
        NameKind::Tag,
        NameKind::Label,
        NameKind::Environment,
    ];
}

/// A name as stored, with the pacticipant it belongs to (versions, branches,
/// tags and labels).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredName {
    pub kind: NameKind,
    /// The owning pacticipant's id, or 0; with `name`, where the next page starts.
    pub pacticipant_id: i64,
    pub pacticipant: Option<String>,
    pub name: String,
}

#[async_trait]
pub trait NameStore {
    /// Up to `limit` stored names of one kind (a tag once per pacticipant),
    /// in a stable order, after `after` (the last of the previous page), so
    /// that every name can be read in bounded memory (`treaty doctor`).
    async fn stored_names(
        &self,
        kind: NameKind,
        after: Option<&StoredName>,
        limit: u32,
    ) -> StoreResult<Vec<StoredName>>;
}

/// What the broker holds, counted as the Pact Broker's `/metrics` counts it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BrokerCounts {
    /// Interactions and messages of the latest pact of each pair.
    pub latest_interactions: i64,
    pub latest_messages: i64,
    pub pacticipants: i64,
    pub pacticipants_with_main_branch: i64,
    /// Pairs with at least one pact.
    pub integrations: i64,
    pub pact_publications: i64,
    pub first_pact_publication: Option<chrono::DateTime<chrono::Utc>>,
    pub last_pact_publication: Option<chrono::DateTime<chrono::Utc>>,
    /// Distinct pact contents.
    pub pact_versions: i64,
    /// Number of revisions -> how many publications have that many.
    pub pact_revisions: Vec<(i64, i64)>,
    pub verifications: i64,
    pub successful_verifications: i64,
    pub failed_verifications: i64,
    /// Distinct (provider version, pact content, success).
    pub distinct_verifications: i64,
    pub first_verification: Option<chrono::DateTime<chrono::Utc>>,
    pub last_verification: Option<chrono::DateTime<chrono::Utc>>,
    /// Number of verifications -> how many pact contents have that many.
    pub verifications_per_pact_version: Vec<(i64, i64)>,
    pub versions: i64,
    pub versions_with_user_created_branch: i64,
    pub versions_with_branch: i64,
    pub webhooks: i64,
    pub tags: i64,
    pub distinct_tag_names: i64,
    pub distinct_tags_per_pacticipant: i64,
    pub webhook_deliveries: i64,
    pub webhook_attempts: i64,
    pub environments: i64,
    pub deployed_versions: i64,
    pub user_created_deployed_versions: i64,
    pub currently_deployed_versions: i64,
    pub released_versions: i64,
    pub currently_supported_released_versions: i64,
}

/// The state of the work a replica does unasked, for monitoring.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OperationalGauges {
    /// Webhook deliveries by status (`not_run`, `retrying`, `success`, `failure`).
    pub webhook_deliveries: Vec<(String, i64)>,
    /// Ledger deployments by status (`pending`, `started`, `timed_out`, ...).
    pub deployments: Vec<(String, i64)>,
}

/// How full one connection pool is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolUse {
    /// `read` or `write` (SQLite), `main` (PostgreSQL).
    pub pool: &'static str,
    pub connections: u32,
    pub idle: u32,
    pub max: u32,
}

#[async_trait]
pub trait MetricsStore {
    async fn broker_counts(&self) -> StoreResult<BrokerCounts>;
    async fn operational_gauges(&self) -> StoreResult<OperationalGauges>;
    /// The connection pools, as they are now (no query).
    fn pool_use(&self) -> Vec<PoolUse>;
}

/// One pact the dashboard shows: the latest of a pair, or the latest of a
/// pair with a tag, with what is known of its verification.
#[derive(Debug, Clone, PartialEq)]
pub struct DashboardItem {
    pub consumer: String,
    pub provider: String,
    pub consumer_version: String,
    /// Branches this consumer version is the head of.
    pub consumer_version_heads: Vec<String>,
    pub pact_created_at: chrono::DateTime<chrono::Utc>,
    /// Tags for which this is the pair's latest pact.
    pub head_tags: Vec<String>,
    pub latest_verification: Option<DashboardVerification>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DashboardVerification {
    pub success: bool,
    pub verified_at: chrono::DateTime<chrono::Utc>,
    pub provider_version: String,
    /// Branches the provider version is the head of.
    pub provider_version_heads: Vec<String>,
    /// Tags of the provider version for which it is the pacticipant's latest.
    pub provider_version_latest_tags: Vec<String>,
}

#[async_trait]
pub trait DashboardStore {
    /// The dashboard's pacts: for each pair (of this consumer and provider,
    /// when given), its latest pact and its latest pact for each tag.
    async fn dashboard(
        &self,
        consumer: Option<&str>,
        provider: Option<&str>,
    ) -> StoreResult<Vec<DashboardItem>>;
}
