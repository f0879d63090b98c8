//! The benchmark's data sets: a deterministic CI history, described as the
//! steps a pipeline would take (publish, verify, deploy), with no IO.
//!
//! The same size always gives the same steps, so two runs of `treaty bench
//! seed --size M` build the same database and their figures compare.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::{Value, json};

/// How big a data set is; the figures the issue asks for are in [`Shape`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
pub enum Size {
    /// A smoke test for CI: a few hundred versions.
    S,
    /// 17 pacticipants, ~2.5k versions, ~7k verifications (the Pact Broker's figures were taken on this).
    M,
    /// 150 pacticipants, ~150k versions, ~500k verifications, with hubs.
    L,
    /// L with five times the versions.
    Xl,
}

/// The parameters of one size.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Ordinary services (`svc-000`...), each consuming two or three others.
    pub services: usize,
    /// Providers of `hub-consumer`.
    pub hub_consumer_providers: usize,
    /// Consumers of `hub-provider`.
    pub hub_provider_consumers: usize,
    /// CI builds of all applications together: one version each.
    pub builds: u64,
    /// Builds of `steady-provider`, which verifies a pact that never changes.
    pub steady_provider_builds: u64,
}

impl Size {
    pub fn shape(self) -> Shape {
        match self {
            Size::S => Shape {
                services: 4,
                hub_consumer_providers: 3,
                hub_provider_consumers: 3,
                builds: 400,
                steady_provider_builds: 40,
            },
            Size::M => Shape {
                services: 13,
                hub_consumer_providers: 6,
                hub_provider_consumers: 4,
                builds: 2_500,
                steady_provider_builds: 150,
            },
            Size::L => Shape {
                services: 146,
                hub_consumer_providers: 30,
                hub_provider_consumers: 60,
                builds: 150_000,
                steady_provider_builds: 4_000,
            },
            Size::Xl => Shape {
                services: 146,
                hub_consumer_providers: 30,
                hub_provider_consumers: 60,
                builds: 750_000,
                steady_provider_builds: 20_000,
            },
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Size::S => "S",
            Size::M => "M",
            Size::L => "L",
            Size::Xl => "XL",
        }
    }
}

/// Applications with a special part in the benchmark: the questions it times
/// are asked about them.
pub const HUB_CONSUMER: &str = "hub-consumer";
pub const HUB_PROVIDER: &str = "hub-provider";
pub const STEADY_CONSUMER: &str = "steady-consumer";
pub const STEADY_PROVIDER: &str = "steady-provider";
/// An ordinary consumer (of two or three providers).
pub const TYPICAL_CONSUMER: &str = "svc-000";
pub const ENVIRONMENTS: [&str; 2] = ["test", "production"];

/// Who consumes whom.
#[derive(Debug, Clone)]
pub struct Topology {
    pub applications: Vec<String>,
    /// (consumer, provider) as indexes into `applications`.
    pub pairs: Vec<(usize, usize)>,
}

impl Topology {
    pub fn of(shape: Shape) -> Self {
        let n = shape.services;
        let mut applications: Vec<String> = (0..n).map(|i| format!("svc-{i:03}")).collect();
        let [hub_consumer, hub_provider, steady_consumer, steady_provider] =
            [HUB_CONSUMER, HUB_PROVIDER, STEADY_CONSUMER, STEADY_PROVIDER].map(|name| {
                applications.push(name.to_owned());
                applications.len() - 1
            });
        let mut pairs = BTreeMap::new();
        for i in 0..n {
            let mut providers = vec![(i + 1) % n, (i + 3) % n];
            if i % 3 == 0 {
                providers.push((i + 7) % n);
            }
            for p in providers {
                if p != i {
                    pairs.insert((i, p), ());
                }
            }
        }
        for p in 0..shape.hub_consumer_providers.min(n) {
            pairs.insert((hub_consumer, p), ());
        }
        for c in 0..shape.hub_provider_consumers.min(n) {
            pairs.insert((n - 1 - c, hub_provider), ());
        }
        pairs.insert((steady_consumer, steady_provider), ());
        Self {
            applications,
            pairs: pairs.into_keys().collect(),
        }
    }

    pub fn index(&self, name: &str) -> Option<usize> {
        self.applications.iter().position(|a| a == name)
    }
}

/// A pact's content: the pair and a variant number (a new variant is a
/// changed contract).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ContentKey {
    pub pair: usize,
    pub variant: u32,
}

/// One thing a pipeline does, in the order the history does them.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// A consumer build publishes its pacts with every provider.
    Publish {
        consumer: usize,
        version: String,
        branch: String,
        contracts: Vec<ContentKey>,
    },
    /// A provider build verifies pacts (what pacts-for-verification returns,
    /// or a changed pact a webhook asked it to verify).
    Verify {
        provider: usize,
        version: String,
        branch: String,
        /// Whether the provider version is new (its first step).
        new_version: bool,
        results: Vec<(ContentKey, bool)>,
    },
    /// A version is deployed to an environment, which can-i-deploy allowed.
    Deploy {
        application: usize,
        version: String,
        environment: &'static str,
    },
}

/// A pact document for a content key: a few interactions whose bodies depend
/// on the variant, so each variant hashes differently.
pub fn pact_document(topology: &Topology, key: ContentKey) -> Value {
    let (consumer, provider) = topology.pairs[key.pair];
    let (consumer, provider) = (
        &topology.applications[consumer],
        &topology.applications[provider],
    );
    let interactions: Vec<Value> = (0..4 + key.pair % 5)
        .map(|i| {
            json!({
                "description": format!("a request for {provider} resource {i}"),
                "providerState": format!("resource {i} exists"),
                "request": {"method": "GET", "path": format!("/resources/{i}"), "headers": {"Accept": "application/json"}},
                "response": {"status": 200, "headers": {"Content-Type": "application/json"},
                    "body": {"id": i, "name": format!("resource {i}"), "revision": key.variant, "tags": ["a", "b"]},
                    "matchingRules": {"$.body.name": {"match": "type"}}}
            })
        })
        .collect();
    json!({
        "consumer": {"name": consumer},
        "provider": {"name": provider},
        "interactions": interactions,
        "metadata": {"pactSpecification": {"version": "2.0.0"}}
    })
}

/// xorshift64*: deterministic and fast; quality is not the point.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// In percent.
const CONTENT_CHANGES: u64 = 20;
const FEATURE_BRANCH_BUILDS: u64 = 15;
const FAILING_VERIFICATIONS: u64 = 3;
/// One test deployment in this many is promoted to production.
const PROMOTE_EVERY: u64 = 4;
/// How often `steady-provider` verifies the same pact in one build (re-runs):
/// 15k verifications of one content over 4k versions at size L.
const STEADY_RERUNS: [usize; 4] = [4, 4, 4, 3];

/// The history as an iterator of steps, with the model that decides what a
/// pipeline would do next (what is verified, what can be deployed).
pub struct History {
    topology: Topology,
    shape: Shape,
    rng: Rng,
    build: u64,
    builds_of: Vec<u64>,
    /// Pairs by consumer and by provider.
    providers_of: Vec<Vec<usize>>,
    consumers_of: Vec<Vec<usize>>,
    /// The variant on main of each pair.
    main_variant: Vec<u32>,
    /// The variants each consumer version published, by pair.
    published: HashMap<(usize, String), Vec<ContentKey>>,
    /// The latest main version of each application.
    latest_main: Vec<Option<String>>,
    /// Results by content and provider version (the last one counts).
    results: HashMap<(ContentKey, String), bool>,
    /// What runs where: application → environment → version.
    deployed: Vec<[Option<String>; 2]>,
    test_deployments: Vec<u64>,
    pending: std::collections::VecDeque<Step>,
    steady: (usize, usize),
}

impl History {
    pub fn new(size: Size) -> Self {
        let shape = size.shape();
        let topology = Topology::of(shape);
        let apps = topology.applications.len();
        let mut providers_of = vec![Vec::new(); apps];
        let mut consumers_of = vec![Vec::new(); apps];
        for (pair, &(c, p)) in topology.pairs.iter().enumerate() {
            providers_of[c].push(pair);
            consumers_of[p].push(pair);
        }
        let steady = (
            topology.index(STEADY_CONSUMER).unwrap_or_default(),
            topology.index(STEADY_PROVIDER).unwrap_or_default(),
        );
        Self {
            main_variant: vec![1; topology.pairs.len()],
            topology,
            shape,
            rng: Rng(0x5EED_CAFE_F00D_0001),
            build: 0,
            builds_of: vec![0; apps],
            providers_of,
            consumers_of,
            published: HashMap::new(),
            latest_main: vec![None; apps],
            results: HashMap::new(),
            deployed: vec![[None, None]; apps],
            test_deployments: vec![0; apps],
            pending: std::collections::VecDeque::new(),
            steady,
        }
    }

    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    pub fn total_builds(&self) -> u64 {
        self.shape.builds
    }

    pub fn builds_done(&self) -> u64 {
        self.build
    }

    fn pick_application(&mut self) -> usize {
        let steady_share = self.shape.steady_provider_builds * 1_000_000 / self.shape.builds;
        if self.rng.below(1_000_000) < steady_share {
            return self.steady.1;
        }
        if self.rng.chance(1) {
            return self.steady.0;
        }
        // Everyone else alike (the hubs are hubs by their pairs, not their
        // builds); the two steady applications come last and are skipped.
        let others = self.topology.applications.len() as u64 - 2;
        self.rng.below(others) as usize
    }

    fn version_number(&mut self, application: usize) -> String {
        self.builds_of[application] += 1;
        // A commit-like number: unique, not sortable, as real ones are.
        let hash = (self.build.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ application as u64)
            .wrapping_mul(0xBF58_476D_1CE4_E5B9);
        format!(
            "{}.{}-{:010x}",
            self.builds_of[application],
            application,
            hash >> 24
        )
    }

    /// The next build's steps: a publication and/or a verification, then the
    /// deployments it earns.
    fn next_build(&mut self) {
        let application = self.pick_application();
        let version = self.version_number(application);
        let on_main = application == self.steady.1 || !self.rng.chance(FEATURE_BRANCH_BUILDS);
        let branch = if on_main {
            "main".to_owned()
        } else {
            format!("feat-{}", self.rng.below(20))
        };
        // As a consumer: publish, changing some contracts.
        let providers = self.providers_of[application].clone();
        let publishes = !providers.is_empty();
        if publishes {
            let mut contracts = Vec::with_capacity(providers.len());
            let mut changed = Vec::new();
            for pair in providers {
                let steady_pair = self.topology.pairs[pair] == self.steady;
                let variant = if steady_pair {
                    self.main_variant[pair]
                } else if on_main {
                    if self.rng.chance(CONTENT_CHANGES) {
                        self.main_variant[pair] += 1;
                        changed.push(pair);
                    }
                    self.main_variant[pair]
                } else {
                    // A feature branch's contract differs from main's: a WIP pact.
                    1_000_000 + self.build as u32
                };
                contracts.push(ContentKey { pair, variant });
            }
            self.published
                .insert((application, version.clone()), contracts.clone());
            self.pending.push_back(Step::Publish {
                consumer: application,
                version: version.clone(),
                branch: branch.clone(),
                contracts,
            });
            // The contract-changed webhook: the provider's latest main verifies it.
            for pair in changed {
                let provider = self.topology.pairs[pair].1;
                if let Some(provider_version) = self.latest_main[provider].clone() {
                    let key = ContentKey {
                        pair,
                        variant: self.main_variant[pair],
                    };
                    let success = !self.rng.chance(FAILING_VERIFICATIONS);
                    self.results
                        .insert((key, provider_version.clone()), success);
                    self.pending.push_back(Step::Verify {
                        provider,
                        version: provider_version,
                        branch: "main".to_owned(),
                        new_version: false,
                        results: vec![(key, success)],
                    });
                }
            }
        }
        // As a provider: verify what pacts-for-verification returns (main and deployed).
        let consumers = self.consumers_of[application].clone();
        if !consumers.is_empty() {
            let mut results = Vec::new();
            for pair in consumers {
                let consumer = self.topology.pairs[pair].0;
                let mut keys = HashSet::new();
                let mut versions: Vec<&String> = self.deployed[consumer].iter().flatten().collect();
                if let Some(latest) = &self.latest_main[consumer] {
                    versions.push(latest);
                }
                for consumer_version in versions {
                    if let Some(contracts) =
                        self.published.get(&(consumer, consumer_version.clone()))
                    {
                        keys.extend(contracts.iter().filter(|k| k.pair == pair).copied());
                    }
                }
                let mut keys: Vec<ContentKey> = keys.into_iter().collect();
                keys.sort_by_key(|k| k.variant);
                let reruns = if application == self.steady.1 {
                    STEADY_RERUNS[(self.builds_of[application] % 4) as usize]
                } else {
                    1
                };
                for key in keys {
                    for _ in 0..reruns {
                        let success = !self.rng.chance(FAILING_VERIFICATIONS);
                        self.results.insert((key, version.clone()), success);
                        results.push((key, success));
                    }
                }
            }
            // A provider that publishes nothing still needs its version recorded.
            if !results.is_empty() || !publishes {
                self.pending.push_back(Step::Verify {
                    provider: application,
                    version: version.clone(),
                    branch,
                    new_version: true,
                    results,
                });
            }
        }
        if on_main {
            self.latest_main[application] = Some(version.clone());
            self.deploy_if_allowed(application, &version);
        }
        self.build += 1;
    }

    fn deploy_if_allowed(&mut self, application: usize, version: &str) {
        if !self.can_deploy(application, version, 0) {
            return;
        }
        self.deployed[application][0] = Some(version.to_owned());
        self.pending.push_back(Step::Deploy {
            application,
            version: version.to_owned(),
            environment: ENVIRONMENTS[0],
        });
        self.test_deployments[application] += 1;
        if self.test_deployments[application].is_multiple_of(PROMOTE_EVERY)
            && self.can_deploy(application, version, 1)
        {
            self.deployed[application][1] = Some(version.to_owned());
            self.pending.push_back(Step::Deploy {
                application,
                version: version.to_owned(),
                environment: ENVIRONMENTS[1],
            });
        }
    }

    /// The model's can-i-deploy: every pact this version has with a provider
    /// in the environment, and every pact a consumer in the environment has
    /// with it, was verified successfully by the other side's deployed version.
    fn can_deploy(&self, application: usize, version: &str, environment: usize) -> bool {
        let as_consumer = self
            .published
            .get(&(application, version.to_owned()))
            .into_iter()
            .flatten()
            .all(|key| {
                let provider = self.topology.pairs[key.pair].1;
                self.deployed[provider][environment]
                    .as_ref()
                    .is_none_or(|pv| self.results.get(&(*key, pv.clone())) == Some(&true))
            });
        as_consumer
            && self.consumers_of[application].iter().all(|&pair| {
                let consumer = self.topology.pairs[pair].0;
                self.deployed[consumer][environment]
                    .as_ref()
                    .is_none_or(|cv| {
                        self.published
                            .get(&(consumer, cv.clone()))
                            .into_iter()
                            .flatten()
                            .filter(|k| k.pair == pair)
                            .all(|key| self.results.get(&(*key, version.to_owned())) == Some(&true))
                    })
            })
    }
}

impl Iterator for History {
    type Item = Step;

    fn next(&mut self) -> Option<Step> {
        while self.pending.is_empty() {
            if self.build >= self.shape.builds {
                return None;
            }
            self.next_build();
        }
        self.pending.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps(size: Size) -> Vec<Step> {
        History::new(size).collect()
    }

    #[test]
    fn the_same_size_gives_the_same_history() {
        assert_eq!(steps(Size::S), steps(Size::S));
    }

    #[test]
    fn the_hubs_have_the_pairs_the_issue_asks_for() {
        let topology = Topology::of(Size::L.shape());
        assert_eq!(topology.applications.len(), 150);
        let hub_consumer = topology.index(HUB_CONSUMER).unwrap();
        let hub_provider = topology.index(HUB_PROVIDER).unwrap();
        assert_eq!(
            topology
                .pairs
                .iter()
                .filter(|(c, _)| *c == hub_consumer)
                .count(),
            30
        );
        assert_eq!(
            topology
                .pairs
                .iter()
                .filter(|(_, p)| *p == hub_provider)
                .count(),
            60
        );
        assert_eq!(Topology::of(Size::M.shape()).applications.len(), 17);
    }

    #[test]
    fn a_small_history_publishes_verifies_fails_and_deploys() {
        let all = steps(Size::S);
        let publications = all
            .iter()
            .filter(|s| matches!(s, Step::Publish { .. }))
            .count();
        let results: Vec<bool> = all
            .iter()
            .filter_map(|s| match s {
                Step::Verify { results, .. } => Some(results.iter().map(|r| r.1)),
                _ => None,
            })
            .flatten()
            .collect();
        let production = all
            .iter()
            .filter(|s| {
                matches!(
                    s,
                    Step::Deploy {
                        environment: "production",
                        ..
                    }
                )
            })
            .count();
        assert!(publications > 100, "{publications} publications");
        assert!(results.iter().any(|ok| !ok), "some verifications fail");
        assert!(results.iter().filter(|ok| **ok).count() > 300);
        assert!(production > 5, "{production} production deployments");
    }

    #[test]
    fn a_deployment_follows_a_successful_verification_by_what_is_deployed() {
        // Replay the history and check each deployment against the results so far.
        let mut history = History::new(Size::S);
        let mut results: HashMap<(ContentKey, String), bool> = HashMap::new();
        let mut published: HashMap<(usize, String), Vec<ContentKey>> = HashMap::new();
        let mut deployed: HashMap<(usize, &str), String> = HashMap::new();
        let topology = history.topology().clone();
        for step in history.by_ref() {
            match step {
                Step::Publish {
                    consumer,
                    version,
                    contracts,
                    ..
                } => {
                    published.insert((consumer, version), contracts);
                }
                Step::Verify {
                    version,
                    results: r,
                    ..
                } => {
                    for (key, ok) in r {
                        results.insert((key, version.clone()), ok);
                    }
                }
                Step::Deploy {
                    application,
                    version,
                    environment,
                } => {
                    for key in published
                        .get(&(application, version.clone()))
                        .into_iter()
                        .flatten()
                    {
                        let provider = topology.pairs[key.pair].1;
                        if let Some(pv) = deployed.get(&(provider, environment)) {
                            assert_eq!(results.get(&(*key, pv.clone())), Some(&true));
                        }
                    }
                    deployed.insert((application, environment), version);
                }
            }
        }
        assert!(!deployed.is_empty());
    }
}
