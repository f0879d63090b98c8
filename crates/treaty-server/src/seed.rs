//! Seeds the provider states named by the official clients' contracts with
//! the Pact Broker API, for `--test-provider-states` only.
//!
//! Each state is a short list of steps through the ordinary store operations,
//! so the data is exactly what the real write paths produce.

use serde_json::json;
use treaty_domain::model::{NewVerification, PacticipantFields, UpdateMode};
use treaty_domain::pact::PactDocument;
use treaty_domain::publish::OnConflict;
use treaty_domain::{BranchName, PacticipantName, TagName, VersionNumber};
use treaty_store::{PactSelector, Store, StoreError, StoreResult, VersionChanges};

/// One step of seeding.
enum Step {
    Pacticipant(&'static str),
    RepositoryUrl(&'static str, &'static str),
    Version(&'static str, &'static str),
    Tag(&'static str, &'static str, &'static str),
    Branch(&'static str, &'static str, &'static str),
    /// consumer, consumer version, provider, a word that makes the content distinct
    Pact(&'static str, &'static str, &'static str, &'static str),
    /// consumer, consumer version, provider, provider version, success
    Verification(&'static str, &'static str, &'static str, &'static str, bool),
}

use Step::{Branch, Pact, Pacticipant, RepositoryUrl, Tag, Verification, Version};

const PRICING_REPOSITORY: &str = "git@git.realestate.com.au:business-systems/pricing-service";

/// The steps for a state, or `None` for a state Treaty does not know.
fn steps(state: &str) -> Option<Vec<Step>> {
    let steps = match state {
        ""
        | "'Condor' does not exist in the pact-broker"
        | "the 'Pricing Service' does not exist in the pact-broker"
        | "no pact between Condor and the Pricing Service exists"
        | "the pacticipant relations are present"
        | "the pb:latest-version relation exists in the index resource"
        | "the pb:latest-tagged-version relation exists in the index resource"
        | "the pb:pacticipant-version relation exists in the index resource"
        | "the pb:environments relation exists in the index resource"
        | "the pb:publish-contracts relations exists in the index resource"
        | "the pb:pacticipant-version and pb:environments relations exist in the index resource"
        | "the pb:pacticipant-branch relation exists in the index resource"
        | "the pb:latest-pact-versions relation exists in the index resource"
        | "the pb:latest-provider-pacts relation exists in the index resource" => vec![],
        "'Condor' exists in the pact-broker" => vec![Version("Condor", "1.3.0")],
        "'Condor' exists in the pact-broker with the latest tagged 'production' version 1.2.3" => {
            vec![
                Tag("Condor", "1.2.3", "production"),
                Version("Condor", "2.0.0"),
            ]
        }
        "'Condor' exists in the pact-broker with the latest version 1.2.3" => {
            vec![Version("Condor", "1.0.0"), Version("Condor", "1.2.3")]
        }
        "'Condor' exists in the pact-broker with version 1.3.0, tagged with 'prod'" => {
            vec![Tag("Condor", "1.3.0", "prod")]
        }
        "a branch named main exists for pacticipant Foo" => vec![Branch("Foo", "main", "1")],
        "a pacticipant with name Foo exists" => vec![RepositoryUrl("Foo", "http://foo")],
        "a latest pact between Condor and the Pricing Service exists"
        | "a pact between Condor and the Pricing Service exists"
        | "the 'Pricing Service' and 'Condor' already exist in the pact-broker, and Condor already has a pact published for version 1.3.0" =>
        {
            vec![Pact("Condor", "1.3.0", "Pricing Service", "")]
        }
        "a pact between Condor and the Pricing Service exists for the production version of Condor"
        | "tagged as prod pact between Condor and the Pricing Service exists" => vec![
            Tag("Condor", "1.3.0", "prod"),
            Pact("Condor", "1.3.0", "Pricing Service", ""),
        ],
        "a pact between Condor and the Pricing Service exists with branch main" => vec![
            Branch("Condor", "main", "1.3.0"),
            Pact("Condor", "1.3.0", "Pricing Service", ""),
        ],
        "a pact between Condor and the Pricing Service exists with branch feature" => vec![
            Branch("Condor", "feature", "1.3.0"),
            Pact("Condor", "1.3.0", "Pricing Service", ""),
        ],
        "the 'Pricing Service' already exists in the pact-broker" => vec![
            RepositoryUrl("Pricing Service", PRICING_REPOSITORY),
            Version("Pricing Service", "1.3.0"),
        ],
        "the 'Pricing Service' and 'Condor' already exist in the pact-broker" => {
            vec![Pacticipant("Condor"), Pacticipant("Pricing Service")]
        }
        "the pact for Foo version 1.2.3 has been verified by Bar version 4.5.6" => vec![
            Pact("Foo", "1.2.3", "Bar", "1.2.3"),
            Verification("Foo", "1.2.3", "Bar", "4.5.6", true),
        ],
        _ => return None,
    };
    Some(steps)
}

/// Seeds `state` into an empty store.
pub async fn seed(store: &dyn Store, state: &str) -> StoreResult<()> {
    let Some(steps) = steps(state) else {
        tracing::warn!(
            provider.state = state,
            "unknown provider state: seeding nothing"
        );
        return Ok(());
    };
    for step in steps {
        run(store, step).await?;
    }
    Ok(())
}

fn name(raw: &str) -> StoreResult<PacticipantName> {
    PacticipantName::parse(raw).map_err(|e| StoreError::Conflict(e.to_string()))
}

fn number(raw: &str) -> StoreResult<VersionNumber> {
    VersionNumber::parse(raw).map_err(|e| StoreError::Conflict(e.to_string()))
}

async fn run(store: &dyn Store, step: Step) -> StoreResult<()> {
    match step {
        Pacticipant(pacticipant) => {
            store
                .create_pacticipant(&name(pacticipant)?, PacticipantFields::default())
                .await?;
        }
        RepositoryUrl(pacticipant, url) => {
            let fields = PacticipantFields {
                repository_url: Some(url.to_owned()),
                ..PacticipantFields::default()
            };
            store
                .update_pacticipant(&name(pacticipant)?, fields, UpdateMode::Merge, true)
                .await?;
        }
        Version(pacticipant, version) => {
            store
                .put_version(
                    &name(pacticipant)?,
                    &number(version)?,
                    VersionChanges::default(),
                )
                .await?;
        }
        Tag(pacticipant, version, tag) => {
            let tag = TagName::parse(tag).map_err(|e| StoreError::Conflict(e.to_string()))?;
            store
                .add_tag(&name(pacticipant)?, &number(version)?, &tag)
                .await?;
        }
        Branch(pacticipant, branch, version) => {
            let branch =
                BranchName::parse(branch).map_err(|e| StoreError::Conflict(e.to_string()))?;
            store
                .add_branch_version(&name(pacticipant)?, &branch, &number(version)?)
                .await?;
        }
        Pact(consumer, version, provider, distinct) => {
            let interactions = if distinct.is_empty() {
                json!([])
            } else {
                json!([{
                    "description": format!("a request for {distinct}"),
                    "request": {"method": "GET", "path": format!("/{distinct}")},
                    "response": {"status": 200}
                }])
            };
            let document = PactDocument::from_value(json!({
                "consumer": {"name": consumer},
                "provider": {"name": provider},
                "interactions": interactions,
                "metadata": {"pactSpecification": {"version": "2.0.0"}}
            }))
            .map_err(|e| StoreError::Conflict(e.to_string()))?;
            store
                .put_pact(
                    &name(consumer)?,
                    &name(provider)?,
                    &number(version)?,
                    document,
                    OnConflict::Overwrite,
                )
                .await?;
        }
        Verification(consumer, version, provider, provider_version, success) => {
            let pact = store
                .pact(
                    consumer,
                    provider,
                    PactSelector::ConsumerVersion(version.to_owned()),
                )
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("no pact {consumer} {version}")))?;
            store
                .publish_verification(
                    consumer,
                    provider,
                    &pact.sha,
                    NewVerification {
                        provider_version: number(provider_version)?,
                        success,
                        build_url: None,
                        test_results: None,
                        verified_by: None,
                    },
                )
                .await?;
        }
    }
    Ok(())
}
