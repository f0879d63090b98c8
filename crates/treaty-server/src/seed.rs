//! Seeds the provider states named by the official clients' contracts with
//! the Pact Broker API, for `--test-provider-states` only.
//!
//! Each state is a short list of steps through the ordinary store operations,
//! so the data is exactly what the real write paths produce.

use serde_json::json;
use treaty_domain::EnvironmentName;
use treaty_domain::model::{EnvironmentFields, NewVerification, PacticipantFields, UpdateMode};
use treaty_domain::pact::PactDocument;
use treaty_domain::publish::OnConflict;
use treaty_domain::{BranchName, PacticipantName, TagName, VersionNumber};
use treaty_store::{NewDeployment, PactSelector, Store, StoreError, StoreResult, VersionChanges};

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
    /// name, fixed uuid, with a contact
    Environment(&'static str, Option<&'static str>, bool),
    /// pacticipant, version, environment name, application instance, fixed uuid
    Deployed(
        &'static str,
        &'static str,
        &'static str,
        Option<&'static str>,
        Option<&'static str>,
    ),
    /// pacticipant, version, environment name, fixed uuid
    Released(
        &'static str,
        &'static str,
        &'static str,
        Option<&'static str>,
    ),
    /// A webhook with a fixed uuid, for Condor and the Pricing Service.
    Webhook(&'static str),
}

use Step::{
    Branch, Deployed, Environment, Pact, Pacticipant, Released, RepositoryUrl, Tag, Verification,
    Version, Webhook,
};

const WEBHOOK_UUID: &str = "696c5f93-1b7f-44bc-8d03-59440fcaa9a0";

const TEST_ENV_UUID: &str = "16926ef3-590f-4e3f-838e-719717aa88c9";
const OTHER_TEST_ENV_UUID: &str = "cb632df3-0a0d-4227-aac3-60114dd36479";
const RECORD_UUID: &str = "ff3adecf-cfc5-4653-a4e3-f1861092f8e0";
const SECOND_RECORD_UUID: &str = "58a013bc-31d6-434a-b026-46ecbd9e3a2d";
const FOO_SHA_VERSION: &str = "5556b8149bf8bac76bc30f50a8a2dd4c22c85f30";

const PRICING_REPOSITORY: &str = "git@git.realestate.com.au:business-systems/pricing-service";

/// The steps for a state, or `None` for a state Treaty does not know.
/// `consumer` names the contract being replayed: the Rust CLI's contract
/// expects another environment uuid in one state than the Ruby client's.
fn steps(state: &str, consumer: &str) -> Option<Vec<Step>> {
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
        "an environment exists" => vec![Environment("test", None, true)],
        "an environment with name test exists" => vec![Environment("test", None, false)],
        "an environment with name test and UUID 16926ef3-590f-4e3f-838e-719717aa88c9 exists" => {
            vec![Environment("test", Some(TEST_ENV_UUID), false)]
        }
        "a currently deployed version exists" => {
            let mut steps = vec![
                Environment("test", Some(OTHER_TEST_ENV_UUID), false),
                Version("Foo", FOO_SHA_VERSION),
                Deployed("Foo", FOO_SHA_VERSION, "test", None, Some(RECORD_UUID)),
            ];
            if consumer == "pact-broker-cli" {
                // The Rust CLI's contract also undeploys a second record, with no instance.
                steps.push(Environment("production", None, false));
                steps.push(Deployed(
                    "Foo",
                    FOO_SHA_VERSION,
                    "production",
                    None,
                    Some(SECOND_RECORD_UUID),
                ));
            }
            steps
        }
        "an version is deployed to environment with UUID 16926ef3-590f-4e3f-838e-719717aa88c9 with target customer-1"
        | "a version is deployed to environment with UUID 16926ef3-590f-4e3f-838e-719717aa88c9 with target customer-1" =>
        {
            vec![
                Environment("test", Some(TEST_ENV_UUID), false),
                Version("Foo", FOO_SHA_VERSION),
                Deployed(
                    "Foo",
                    FOO_SHA_VERSION,
                    "test",
                    Some("customer-1"),
                    Some(RECORD_UUID),
                ),
            ]
        }
        "version 5556b8149bf8bac76bc30f50a8a2dd4c22c85f30 of pacticipant Foo exists with a test environment available for deployment" =>
        {
            let uuid = if consumer == "pact-broker-cli" {
                TEST_ENV_UUID
            } else {
                OTHER_TEST_ENV_UUID
            };
            vec![
                Version("Foo", FOO_SHA_VERSION),
                Environment("test", Some(uuid), false),
            ]
        }
        "version 5556b8149bf8bac76bc30f50a8a2dd4c22c85f30 of pacticipant Foo exists with a test environment available for release" =>
        {
            let uuid = if consumer == "pact-broker-cli" {
                TEST_ENV_UUID
            } else {
                OTHER_TEST_ENV_UUID
            };
            vec![
                Version("Foo", FOO_SHA_VERSION),
                Environment("test", Some(uuid), false),
            ]
        }
        "version 5556b8149bf8bac76bc30f50a8a2dd4c22c85f30 of pacticipant Foo exists with a test environment is released with id ff3adecf-cfc5-4653-a4e3-f1861092f8e0" =>
        {
            vec![
                Environment("test", Some(TEST_ENV_UUID), false),
                Version("Foo", FOO_SHA_VERSION),
                Released("Foo", FOO_SHA_VERSION, "test", Some(RECORD_UUID)),
            ]
        }
        "version 5556b8149bf8bac76bc30f50a8a2dd4c22c85f30 of pacticipant Foo exists with 2 environments that aren't test available for deployment" =>
        {
            vec![
                Version("Foo", FOO_SHA_VERSION),
                Environment("prod", None, false),
                Environment("dev", None, false),
            ]
        }
        "the pact for Foo version 1.2.3 has been verified by Bar version 4.5.6" => {
            verified_twice_then_again("Foo")
        }
        "the pact for Foo Thing version 1.2.3 has been verified by Bar version 4.5.6" => {
            verified_twice_then_again("Foo Thing")
        }
        "the pact for Foo version 1.2.3 and 1.2.4 has been verified by Bar version 4.5.6" => vec![
            Pact("Foo", "1.2.3", "Bar", "1.2.3"),
            Verification("Foo", "1.2.3", "Bar", "4.5.6", true),
            Pact("Foo", "1.2.4", "Bar", "1.2.4"),
            Verification("Foo", "1.2.4", "Bar", "4.5.6", true),
        ],
        "the pact for Foo version 1.2.3 has been successfully verified by Bar version 4.5.6, and 1.2.4 unsuccessfully by 9.9.9" =>
        {
            vec![
                Pact("Foo", "1.2.3", "Bar", "1.2.3"),
                Verification("Foo", "1.2.3", "Bar", "4.5.6", true),
                Pact("Foo", "1.2.4", "Bar", "1.2.4"),
                Verification("Foo", "1.2.4", "Bar", "9.9.9", false),
            ]
        }
        "the pact for Foo version 1.2.3 has been successfully verified by Bar version 4.5.6 with tag prod, and 1.2.4 unsuccessfully by 9.9.9" =>
        {
            vec![
                Pact("Foo", "1.2.3", "Bar", "1.2.3"),
                Verification("Foo", "1.2.3", "Bar", "4.5.6", true),
                Tag("Bar", "4.5.6", "prod"),
                Pact("Foo", "1.2.4", "Bar", "1.2.4"),
                Verification("Foo", "1.2.4", "Bar", "9.9.9", false),
            ]
        }
        "the pact for Foo version 1.2.3 has been verified by Bar version 4.5.6 and version 5.6.7" =>
        {
            vec![
                Pact("Foo", "1.2.3", "Bar", "1.2.3"),
                Verification("Foo", "1.2.3", "Bar", "4.5.6", true),
                Verification("Foo", "1.2.3", "Bar", "5.6.7", true),
            ]
        }
        "the pact for Foo version 1.2.3 has been successfully verified by Bar version 4.5.6 (tagged prod) and version 5.6.7" =>
        {
            vec![
                Pact("Foo", "1.2.3", "Bar", ""),
                Verification("Foo", "1.2.3", "Bar", "4.5.6", true),
                Tag("Bar", "4.5.6", "prod"),
                Verification("Foo", "1.2.3", "Bar", "5.6.7", true),
            ]
        }
        "provider Bar version 4.5.6 has a successful verification for Foo version 1.2.3 tagged prod and a failed verification for version 3.4.5 tagged prod" =>
        {
            vec![
                Tag("Foo", "1.2.3", "prod"),
                Pact("Foo", "1.2.3", "Bar", ""),
                Verification("Foo", "1.2.3", "Bar", "4.5.6", true),
                Tag("Foo", "3.4.5", "prod"),
                Pact("Foo", "3.4.5", "Bar", "3.4.5"),
                Verification("Foo", "3.4.5", "Bar", "4.5.6", false),
            ]
        }
        "Bar versions 10 (failing) and 11 (passing) are both released to production" => {
            released_pair(false)
        }
        "Bar versions 10 and 11 are both released to production with passing verifications" => {
            released_pair(true)
        }
        "the pact for Foo version 1.2.3 has been verified by the versions of Bar in the production environment" =>
        {
            vec![
                Environment("production", None, false),
                Pact("Foo", "1.2.3", "Bar", "1.2.3"),
                Verification("Foo", "1.2.3", "Bar", "4.5.6", true),
                Deployed("Bar", "4.5.6", "production", None, None),
            ]
        }
        "the pact for Foo version 1.2.4 has been successfully verified by Bar version 4.5.6"
        | "the pact for Foo version 1.2.4 has been verified by Bar version 4.5.6 and ignores Baz" =>
        {
            vec![
                Pact("Foo", "1.2.4", "Bar", "1.2.4"),
                Verification("Foo", "1.2.4", "Bar", "4.5.6", true),
                Pact("Foo", "1.2.4", "Baz", "1.2.4"),
                Verification("Foo", "1.2.4", "Baz", "9.9.8", true),
            ]
        }
        "the pact for Foo version 1.2.4 has been verified by Bar version 4.5.6 and ignores Baz version 9.9.9" =>
        {
            vec![
                Pact("Foo", "1.2.4", "Bar", "1.2.4"),
                Verification("Foo", "1.2.4", "Bar", "4.5.6", true),
                Pact("Foo", "1.2.4", "Baz", "1.2.4"),
                Verification("Foo", "1.2.4", "Baz", "9.9.9", true),
            ]
        }
        "a webhook with the uuid 696c5f93-1b7f-44bc-8d03-59440fcaa9a0 exists" => vec![
            Pacticipant("Condor"),
            Pacticipant("Pricing Service"),
            Webhook(WEBHOOK_UUID),
        ],
        "a webhook with uuid non-existent-uuid does not exist" => vec![],
        _ => return None,
    };
    Some(steps)
}

/// A pact verified by two provider versions, and a later consumer version's
/// pact verified by the first again (the Pact Broker's own state).
fn verified_twice_then_again(consumer: &'static str) -> Vec<Step> {
    vec![
        Pact(consumer, "1.2.3", "Bar", "1.2.3"),
        Verification(consumer, "1.2.3", "Bar", "4.5.6", true),
        Verification(consumer, "1.2.3", "Bar", "7.8.9", true),
        Pact(consumer, "2.0.0", "Bar", "2.0.0"),
        Verification(consumer, "2.0.0", "Bar", "4.5.6", true),
    ]
}

/// Foo 1.2.3's pact verified by Bar 10 and 11, both released to production.
fn released_pair(ten_passes: bool) -> Vec<Step> {
    vec![
        Environment("production", None, false),
        Pact("Foo", "1.2.3", "Bar", "1.2.3"),
        Verification("Foo", "1.2.3", "Bar", "10", ten_passes),
        Released("Bar", "10", "production", None),
        Verification("Foo", "1.2.3", "Bar", "11", true),
        Released("Bar", "11", "production", None),
        Pact("Foo", "2.0.0", "Bar", "2.0.0"),
        Verification("Foo", "2.0.0", "Bar", "4.5.6", true),
    ]
}

/// Seeds `state` into an empty store, for the contract of `consumer`.
pub async fn seed(store: &dyn Store, state: &str, consumer: &str) -> StoreResult<()> {
    let Some(steps) = steps(state, consumer) else {
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

async fn environment_uuid(store: &dyn Store, name: &str) -> StoreResult<String> {
    Ok(store
        .environment_by_name(name)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("no environment {name}")))?
        .uuid)
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
        Environment(environment, uuid, with_contact) => {
            let fields = EnvironmentFields {
                name: EnvironmentName::parse(environment)
                    .map_err(|e| StoreError::Conflict(e.to_string()))?,
                display_name: None,
                production: false,
                contacts: with_contact
                    .then(|| json!([{"name": "foo", "details": {"emailAddress": "foo@bar.com"}}])),
            };
            store.create_environment(uuid, fields).await?;
        }
        Deployed(pacticipant, version, environment, instance, uuid) => {
            let environment_uuid = environment_uuid(store, environment).await?;
            store
                .record_deployment(NewDeployment {
                    pacticipant: pacticipant.to_owned(),
                    version: version.to_owned(),
                    environment_uuid,
                    application_instance: instance.map(str::to_owned),
                    uuid: uuid.map(str::to_owned),
                })
                .await?;
        }
        Released(pacticipant, version, environment, uuid) => {
            let environment_uuid = environment_uuid(store, environment).await?;
            store
                .record_release(pacticipant, version, &environment_uuid, uuid)
                .await?;
        }
        Webhook(uuid) => {
            // A target no test may reach: sending it fails fast, on loopback.
            let definition = treaty_domain::webhooks::WebhookDefinition {
                description: Some("a webhook".to_owned()),
                consumer: treaty_domain::webhooks::Party::Name("Condor".to_owned()),
                provider: treaty_domain::webhooks::Party::Name("Pricing Service".to_owned()),
                enabled: true,
                request: treaty_domain::webhooks::RequestTemplate {
                    method: "POST".to_owned(),
                    url: "https://127.0.0.1:1/webhook".to_owned(),
                    headers: [("content-type".to_owned(), "application/json".to_owned())]
                        .into_iter()
                        .collect(),
                    body: Some(serde_json::json!({ "pact": "${pactbroker.pactUrl}" })),
                    username: None,
                    password: None,
                    secret: None,
                },
                events: vec!["contract_content_changed".to_owned()],
            };
            store.put_webhook(uuid, &definition).await?;
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
