//! Replays a [`History`] through Treaty's own write path: the store
//! operations the HTTP handlers call, with the same domain types, in process
//! (HTTP would only add the parsing the benchmark times separately).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use serde_json::json;
use treaty_domain::model::NewVerification;
use treaty_domain::pact::PactDocument;
use treaty_domain::publish::{ContractToPublish, OnConflict, PublishRequest};
use treaty_domain::{BranchName, PacticipantName, VersionNumber};
use treaty_store::{NewDeployment, Store};

use crate::dataset::{ContentKey, History, Size, Step, Topology, pact_document};

/// What a seed wrote.
#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct Seeded {
    pub builds: u64,
    pub publications: u64,
    pub contracts: u64,
    pub verifications: u64,
    pub deployments: u64,
    pub seconds: f64,
    /// Time spent in the store, by kind of step.
    pub publish_seconds: f64,
    pub verify_seconds: f64,
    pub deploy_seconds: f64,
}

/// Seeds `store` (which must be empty) with the history of `size`, calling
/// `progress` about every two seconds and at the end.
pub async fn seed(
    store: &dyn Store,
    size: Size,
    mut progress: impl FnMut(&Seeded, u64),
) -> Result<Seeded> {
    if !store.pacticipants(None, None).await?.items.is_empty() {
        return Err(anyhow!(
            "the database already has pacticipants: seed an empty database (a new file or schema)"
        ));
    }
    store.ensure_default_environments().await?;
    let mut environments = HashMap::new();
    for name in crate::dataset::ENVIRONMENTS {
        let environment = store
            .environment_by_name(name)
            .await?
            .with_context(|| format!("the {name} environment is missing"))?;
        environments.insert(name, environment.uuid);
    }
    let mut history = History::new(size);
    let topology = history.topology().clone();
    let total = history.total_builds();
    let mut documents = Documents::new(topology.clone());
    let started = Instant::now();
    let mut last_report = started;
    let mut seeded = Seeded::default();
    while let Some(step) = history.next() {
        let step_started = Instant::now();
        let kind = match &step {
            Step::Publish { .. } => 0,
            Step::Verify { .. } => 1,
            Step::Deploy { .. } => 2,
        };
        match step {
            Step::Publish {
                consumer,
                version,
                branch,
                contracts,
            } => {
                seeded.publications += 1;
                seeded.contracts += contracts.len() as u64;
                let request = PublishRequest {
                    pacticipant: name(&topology, consumer)?,
                    version: VersionNumber::parse(version)?,
                    branch: Some(BranchName::parse(branch)?),
                    tags: Vec::new(),
                    build_url: Some(format!(
                        "https://ci.example.com/{}/builds/{}",
                        topology.applications[consumer],
                        history.builds_done()
                    )),
                    contracts: contracts
                        .iter()
                        .map(|key| {
                            let (c, p) = topology.pairs[key.pair];
                            Ok(ContractToPublish {
                                consumer: name(&topology, c)?,
                                provider: name(&topology, p)?,
                                pact: documents.document(*key)?,
                                on_conflict: OnConflict::Overwrite,
                            })
                        })
                        .collect::<Result<_>>()?,
                };
                store.publish_contracts(&request).await?;
            }
            Step::Verify {
                provider,
                version,
                branch,
                new_version,
                results,
            } => {
                let provider_name = name(&topology, provider)?;
                let number = VersionNumber::parse(version.clone())?;
                if new_version {
                    store
                        .add_branch_version(&provider_name, &BranchName::parse(branch)?, &number)
                        .await?;
                }
                for (key, success) in results {
                    seeded.verifications += 1;
                    let consumer = &topology.applications[topology.pairs[key.pair].0];
                    let sha = documents.sha(key)?;
                    store
                        .publish_verification(
                            consumer,
                            provider_name.as_str(),
                            &sha,
                            NewVerification {
                                provider_version: number.clone(),
                                success,
                                build_url: None,
                                test_results: None,
                                verified_by: Some(
                                    json!({"implementation": "Pact-Rust", "version": "1.2.5"}),
                                ),
                            },
                        )
                        .await?
                        .with_context(|| {
                            format!("no pact {sha} between {consumer} and {provider_name}")
                        })?;
                }
            }
            Step::Deploy {
                application,
                version,
                environment,
            } => {
                seeded.deployments += 1;
                store
                    .record_deployment(NewDeployment {
                        pacticipant: topology.applications[application].clone(),
                        version,
                        environment_uuid: environments[environment].clone(),
                        application_instance: None,
                        uuid: None,
                    })
                    .await?;
            }
        }
        let spent = step_started.elapsed().as_secs_f64();
        match kind {
            0 => seeded.publish_seconds += spent,
            1 => seeded.verify_seconds += spent,
            _ => seeded.deploy_seconds += spent,
        }
        if last_report.elapsed() >= Duration::from_secs(2) {
            last_report = Instant::now();
            seeded.builds = history.builds_done();
            seeded.seconds = started.elapsed().as_secs_f64();
            progress(&seeded, total);
        }
    }
    seeded.builds = history.builds_done();
    seeded.seconds = started.elapsed().as_secs_f64();
    progress(&seeded, total);
    Ok(seeded)
}

fn name(topology: &Topology, application: usize) -> Result<PacticipantName> {
    Ok(PacticipantName::parse(
        topology.applications[application].clone(),
    )?)
}

/// Pact documents and their hashes, made once per content.
struct Documents {
    topology: Topology,
    shas: HashMap<ContentKey, String>,
}

impl Documents {
    fn new(topology: Topology) -> Self {
        Self {
            topology,
            shas: HashMap::new(),
        }
    }

    fn document(&mut self, key: ContentKey) -> Result<PactDocument> {
        let document = PactDocument::from_value(pact_document(&self.topology, key))
            .map_err(|e| anyhow!("the generated pact is not valid: {e}"))?;
        self.shas.entry(key).or_insert_with(|| document.sha());
        Ok(document)
    }

    fn sha(&mut self, key: ContentKey) -> Result<String> {
        if let Some(sha) = self.shas.get(&key) {
            return Ok(sha.clone());
        }
        Ok(self.document(key)?.sha())
    }
}
