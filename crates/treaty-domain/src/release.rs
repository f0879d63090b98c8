//! Release plans: several applications at new versions going to one
//! environment. Whether the set can go, and in which order: providers
//! before the consumers that need them, consumers before providers that
//! would break their current version, and the applications that need each
//! other deployed together. Every step is checked against what would be
//! deployed at that point.

use std::collections::{BTreeMap, BTreeSet, HashMap};

/// A pact of one consumer version with a provider, by content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PactFact {
    pub consumer: String,
    pub consumer_version: String,
    pub provider: String,
    pub sha: String,
}

/// A verification of pact content by a provider version (the latest one counts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerificationFact {
    pub sha: String,
    pub provider: String,
    pub provider_version: String,
    pub success: bool,
}

/// What the plan is computed from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// What runs in the environment now: (pacticipant, version), one row per instance.
    pub current: Vec<(String, String)>,
    /// The pacts of every version involved (the planned ones and those deployed).
    pub pacts: Vec<PactFact>,
    pub verifications: Vec<VerificationFact>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compat {
    NoPact,
    Verified,
    Failed,
    Unverified,
}

impl Compat {
    fn ok(self) -> bool {
        matches!(self, Self::NoPact | Self::Verified)
    }
}

struct Oracle<'a> {
    pacts: HashMap<(&'a str, &'a str, &'a str), &'a str>,
    results: HashMap<(&'a str, &'a str, &'a str), bool>,
}

impl<'a> Oracle<'a> {
    fn new(facts: &'a Facts) -> Self {
        let pacts = facts
            .pacts
            .iter()
            .map(|p| {
                (
                    (
                        p.consumer.as_str(),
                        p.consumer_version.as_str(),
                        p.provider.as_str(),
                    ),
                    p.sha.as_str(),
                )
            })
            .collect();
        // Later facts win: the latest verification of a provider version counts.
        let results = facts
            .verifications
            .iter()
            .map(|v| {
                (
                    (
                        v.sha.as_str(),
                        v.provider.as_str(),
                        v.provider_version.as_str(),
                    ),
                    v.success,
                )
            })
            .collect();
        Self { pacts, results }
    }

    fn compat(&self, consumer: &str, cv: &str, provider: &str, pv: &str) -> Compat {
        let Some(sha) = self.pacts.get(&(consumer, cv, provider)) else {
            return Compat::NoPact;
        };
        match self.results.get(&(*sha, provider, pv)) {
            Some(true) => Compat::Verified,
            Some(false) => Compat::Failed,
            None => Compat::Unverified,
        }
    }

    /// The providers a consumer version has pacts with.
    fn providers_of(&self, consumer: &str, cv: &str) -> BTreeSet<&'a str> {
        self.pacts
            .keys()
            .filter(|(c, v, _)| *c == consumer && *v == cv)
            .map(|(_, _, p)| *p)
            .collect()
    }
}

fn describe(compat: Compat, consumer: &str, cv: &str, provider: &str, pv: &str) -> String {
    match compat {
        Compat::NoPact => format!("{consumer} {cv} has no pact with {provider}"),
        Compat::Verified => {
            format!("{provider} {pv} has verified the pact of {consumer} {cv}")
        }
        Compat::Failed => {
            format!("{provider} {pv} failed verification of the pact of {consumer} {cv}")
        }
        Compat::Unverified => {
            format!("{provider} {pv} has not verified the pact of {consumer} {cv}")
        }
    }
}

/// One check of a step: a consumer version against a provider version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairCheck {
    pub consumer: String,
    pub consumer_version: String,
    pub provider: String,
    pub provider_version: String,
    pub ok: bool,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// (pacticipant, version), by name.
    pub deploy: Vec<(String, String)>,
    /// Set when these must go together because each needs another.
    pub together: Option<String>,
    /// Why this step comes where it does.
    pub why: Vec<String>,
    /// The state after this step, checked for every pair it touches.
    pub checks: Vec<PairCheck>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub possible: bool,
    pub steps: Vec<Step>,
    /// Why the set cannot go, in any order.
    pub problems: Vec<String>,
}

impl Plan {
    pub fn summary(&self) -> String {
        if !self.possible {
            return format!(
                "This set cannot be deployed in any order: {}",
                self.problems.join("; ")
            );
        }
        let steps: Vec<String> = self
            .steps
            .iter()
            .map(|s| {
                s.deploy
                    .iter()
                    .map(|(p, v)| format!("{p} {v}"))
                    .collect::<Vec<_>>()
                    .join(" + ")
            })
            .collect();
        format!(
            "Deploy in {} step(s): {}",
            steps.len(),
            steps.join(", then ")
        )
    }
}

/// Strongly connected components (Tarjan), each sorted by name.
fn components(nodes: &[&str], edges: &BTreeMap<&str, BTreeSet<&str>>) -> Vec<Vec<String>> {
    struct State<'a> {
        index: HashMap<&'a str, usize>,
        low: HashMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        next: usize,
        found: Vec<Vec<String>>,
    }
    fn visit<'a>(node: &'a str, edges: &BTreeMap<&'a str, BTreeSet<&'a str>>, s: &mut State<'a>) {
        s.index.insert(node, s.next);
        s.low.insert(node, s.next);
        s.next += 1;
        s.stack.push(node);
        s.on_stack.insert(node);
        for &next in edges.get(node).into_iter().flatten() {
            if !s.index.contains_key(next) {
                visit(next, edges, s);
                let low = s.low[node].min(s.low[next]);
                s.low.insert(node, low);
            } else if s.on_stack.contains(next) {
                let low = s.low[node].min(s.index[next]);
                s.low.insert(node, low);
            }
        }
        if s.low[node] == s.index[node] {
            let mut component = Vec::new();
            while let Some(member) = s.stack.pop() {
                s.on_stack.remove(member);
                component.push(member.to_owned());
                if member == node {
                    break;
                }
            }
            component.sort();
            s.found.push(component);
        }
    }
    let mut state = State {
        index: HashMap::new(),
        low: HashMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        found: Vec::new(),
    };
    for node in nodes {
        if !state.index.contains_key(node) {
            visit(node, edges, &mut state);
        }
    }
    state.found
}

/// Plans deploying `targets` ((pacticipant, new version), each pacticipant
/// once) into the environment whose state `facts` describe.
pub fn plan(targets: &[(String, String)], facts: &Facts) -> Plan {
    let oracle = Oracle::new(facts);
    let new: BTreeMap<&str, &str> = targets
        .iter()
        .map(|(p, v)| (p.as_str(), v.as_str()))
        .collect();
    let mut current: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (p, v) in &facts.current {
        current.entry(p.as_str()).or_default().push(v.as_str());
    }
    let current_of = |p: &str| current.get(p).cloned().unwrap_or_default();

    let mut problems = Vec::new();
    // before[b] holds a when a must go no later than b.
    let mut before: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut why: BTreeMap<&str, Vec<String>> = BTreeMap::new();

    for (&s, &sv) in &new {
        // s as a consumer: what its new version needs of its providers.
        for provider in oracle.providers_of(s, sv) {
            if provider == s {
                continue;
            }
            match new.get(provider) {
                Some(&pv) => {
                    let together = oracle.compat(s, sv, provider, pv);
                    if !together.ok() {
                        problems.push(format!(
                            "{s} {sv} and {provider} {pv} are not compatible: {}",
                            describe(together, s, sv, provider, pv)
                        ));
                        continue;
                    }
                    let deployed = current_of(provider);
                    let failing = deployed
                        .iter()
                        .find(|v| !oracle.compat(s, sv, provider, v).ok());
                    if deployed.is_empty() || failing.is_some() {
                        before.entry(s).or_default().insert(provider);
                        why.entry(s).or_default().push(match failing {
                            Some(v) => format!(
                                "{s} {sv} needs {provider} {pv} first: {}",
                                describe(oracle.compat(s, sv, provider, v), s, sv, provider, v)
                            ),
                            None => format!(
                                "{s} {sv} needs {provider} {pv} first: no {provider} is deployed yet"
                            ),
                        });
                    }
                }
                None => {
                    let deployed = current_of(provider);
                    if deployed.is_empty() {
                        problems.push(format!(
                            "{s} {sv} needs {provider}, which is not deployed there and not in the plan"
                        ));
                    }
                    for v in deployed {
                        let compat = oracle.compat(s, sv, provider, v);
                        if !compat.ok() {
                            problems.push(format!(
                                "{} ({provider} is not in the plan)",
                                describe(compat, s, sv, provider, v)
                            ));
                        }
                    }
                }
            }
        }
        // s as a provider: whether its new version keeps the deployed consumers working.
        for (&consumer, versions) in &current {
            if consumer == s {
                continue;
            }
            for &cv in versions {
                let compat = oracle.compat(consumer, cv, s, sv);
                if compat.ok() {
                    continue;
                }
                match new.get(consumer) {
                    Some(&cnv) => {
                        // The consumer's new version must be fine with s's (checked above
                        // when it has a pact); then the consumer goes first.
                        if oracle.compat(consumer, cnv, s, sv).ok() {
                            before.entry(s).or_default().insert(consumer);
                            why.entry(s).or_default().push(format!(
                                "{s} {sv} needs {consumer} {cnv} first: {}",
                                describe(compat, consumer, cv, s, sv)
                            ));
                        }
                    }
                    None => problems.push(format!(
                        "{} ({consumer} {cv} is deployed there and not in the plan)",
                        describe(compat, consumer, cv, s, sv)
                    )),
                }
            }
        }
    }

    // Edges point from a pacticipant to those that must go no later than it.
    let nodes: Vec<&str> = new.keys().copied().collect();
    let groups = components(&nodes, &before);
    // Tarjan finds components dependencies first: the order to deploy them in.
    let mut state: BTreeMap<String, Vec<String>> = current
        .iter()
        .map(|(p, vs)| {
            (
                (*p).to_owned(),
                vs.iter().map(|v| (*v).to_owned()).collect(),
            )
        })
        .collect();
    let mut steps = Vec::new();
    for group in groups {
        let deploy: Vec<(String, String)> = group
            .iter()
            .map(|p| (p.clone(), new[p.as_str()].to_owned()))
            .collect();
        for (p, v) in &deploy {
            state.insert(p.clone(), vec![v.clone()]);
        }
        let members: BTreeSet<&str> = group.iter().map(String::as_str).collect();
        let mut checks = Vec::new();
        for (consumer, cvs) in &state {
            for (provider, pvs) in &state {
                if consumer == provider
                    || !(members.contains(consumer.as_str()) || members.contains(provider.as_str()))
                {
                    continue;
                }
                for cv in cvs {
                    for pv in pvs {
                        let compat = oracle.compat(consumer, cv, provider, pv);
                        if compat == Compat::NoPact {
                            continue;
                        }
                        checks.push(PairCheck {
                            consumer: consumer.clone(),
                            consumer_version: cv.clone(),
                            provider: provider.clone(),
                            provider_version: pv.clone(),
                            ok: compat.ok(),
                            reason: describe(compat, consumer, cv, provider, pv),
                        });
                    }
                }
            }
        }
        let together = (group.len() > 1).then(|| {
            format!(
                "{} need each other: deploy them together",
                group.join(" and ")
            )
        });
        let mut reasons: Vec<String> = group
            .iter()
            .flat_map(|p| why.get(p.as_str()).cloned().unwrap_or_default())
            .collect();
        if reasons.is_empty() {
            reasons.push("nothing deployed before it needs to change first".to_owned());
        }
        steps.push(Step {
            deploy,
            together,
            why: reasons,
            checks,
        });
    }
    if problems.is_empty() {
        // A failing check the pairwise analysis did not foresee still blocks the plan.
        for step in &steps {
            for check in step.checks.iter().filter(|c| !c.ok) {
                problems.push(check.reason.clone());
            }
        }
    }
    problems.dedup();
    Plan {
        possible: problems.is_empty(),
        steps,
        problems,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds facts from compact notes: `current` "Bar 1", pacts "Foo 2 -> Bar #a",
    /// verifications "#a Bar 2 ok" / "#a Bar 1 fail".
    fn facts(current: &[&str], pacts: &[&str], verifications: &[&str]) -> Facts {
        let words = |s: &str| s.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
        Facts {
            current: current
                .iter()
                .map(|c| {
                    let w = words(c);
                    (w[0].clone(), w[1].clone())
                })
                .collect(),
            pacts: pacts
                .iter()
                .map(|p| {
                    let w = words(p);
                    PactFact {
                        consumer: w[0].clone(),
                        consumer_version: w[1].clone(),
                        provider: w[3].clone(),
                        sha: w[4].clone(),
                    }
                })
                .collect(),
            verifications: verifications
                .iter()
                .map(|v| {
                    let w = words(v);
                    VerificationFact {
                        sha: w[0].clone(),
                        provider: w[1].clone(),
                        provider_version: w[2].clone(),
                        success: w[3] == "ok",
                    }
                })
                .collect(),
        }
    }

    fn targets(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(p, v)| ((*p).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn order(plan: &Plan) -> Vec<Vec<String>> {
        plan.steps
            .iter()
            .map(|s| s.deploy.iter().map(|(p, _)| p.clone()).collect())
            .collect()
    }

    #[test]
    fn a_chain_goes_providers_first() {
        // Web 2 needs Api 2, which needs Db 2; Db 1, Api 1, Web 1 run now.
        let f = facts(
            &["Web 1", "Api 1", "Db 1"],
            &[
                "Web 1 -> Api #w1",
                "Web 2 -> Api #w2",
                "Api 1 -> Db #a1",
                "Api 2 -> Db #a2",
            ],
            &[
                "#w1 Api 1 ok",
                "#w1 Api 2 ok",
                "#w2 Api 2 ok",
                "#w2 Api 1 fail",
                "#a1 Db 1 ok",
                "#a1 Db 2 ok",
                "#a2 Db 2 ok",
            ],
        );
        let plan = plan(&targets(&[("Web", "2"), ("Api", "2"), ("Db", "2")]), &f);
        assert!(plan.possible, "{:?}", plan.problems);
        assert_eq!(order(&plan), [vec!["Db"], vec!["Api"], vec!["Web"]]);
        assert!(
            plan.steps[2].why[0].contains("Web 2 needs Api 2 first: Api 1 failed verification"),
            "{:?}",
            plan.steps[2].why
        );
        assert!(
            plan.steps[1].why[0].contains("Api 2 needs Db 2 first: Db 1 has not verified"),
            "{:?}",
            plan.steps[1].why
        );
        assert!(plan.steps.iter().all(|s| s.checks.iter().all(|c| c.ok)));
        assert_eq!(
            plan.summary(),
            "Deploy in 3 step(s): Db 2, then Api 2, then Web 2"
        );
    }

    #[test]
    fn a_diamond_puts_the_shared_provider_first_and_the_top_consumer_last() {
        // App needs new Left and Right; both need new Base.
        let f = facts(
            &["App 1", "Left 1", "Right 1", "Base 1"],
            &[
                "App 2 -> Left #al",
                "App 2 -> Right #ar",
                "Left 2 -> Base #lb",
                "Right 2 -> Base #rb",
            ],
            &[
                "#al Left 2 ok",
                "#ar Right 2 ok",
                "#lb Base 2 ok",
                "#rb Base 2 ok",
            ],
        );
        let plan = plan(
            &targets(&[("App", "2"), ("Left", "2"), ("Right", "2"), ("Base", "2")]),
            &f,
        );
        assert!(plan.possible, "{:?}", plan.problems);
        let order = order(&plan);
        assert_eq!(order.first().unwrap(), &["Base"]);
        assert_eq!(order.last().unwrap(), &["App"]);
        assert_eq!(order.len(), 4);
    }

    #[test]
    fn a_cycle_goes_together() {
        // Foo 2 needs Bar 2, and Bar 2 breaks Foo 1 (only Foo 2 works with it).
        let f = facts(
            &["Foo 1", "Bar 1"],
            &["Foo 1 -> Bar #f1", "Foo 2 -> Bar #f2"],
            &[
                "#f1 Bar 1 ok",
                "#f1 Bar 2 fail",
                "#f2 Bar 2 ok",
                "#f2 Bar 1 fail",
            ],
        );
        let plan = plan(&targets(&[("Foo", "2"), ("Bar", "2")]), &f);
        assert!(plan.possible, "{:?}", plan.problems);
        assert_eq!(order(&plan), [vec!["Bar", "Foo"]]);
        assert_eq!(
            plan.steps[0].together.as_deref(),
            Some("Bar and Foo need each other: deploy them together")
        );
    }

    #[test]
    fn a_three_way_cycle_goes_together_after_what_it_needs() {
        // A 2 needs B 2, B 2 needs C 2, C 2 needs A 2; all three need Base 2.
        let f = facts(
            &["A 1", "B 1", "C 1", "Base 1"],
            &[
                "A 2 -> B #ab",
                "B 2 -> C #bc",
                "C 2 -> A #ca",
                "A 2 -> Base #x",
                "B 2 -> Base #x",
                "C 2 -> Base #x",
            ],
            &["#ab B 2 ok", "#bc C 2 ok", "#ca A 2 ok", "#x Base 2 ok"],
        );
        let plan = plan(
            &targets(&[("A", "2"), ("B", "2"), ("C", "2"), ("Base", "2")]),
            &f,
        );
        assert!(plan.possible, "{:?}", plan.problems);
        assert_eq!(order(&plan), [vec!["Base"], vec!["A", "B", "C"]]);
        assert!(plan.steps[1].together.is_some());
    }

    #[test]
    fn a_provider_that_breaks_the_current_consumer_waits_for_the_new_one() {
        let f = facts(
            &["Foo 1", "Bar 1"],
            &["Foo 1 -> Bar #f1", "Foo 2 -> Bar #f2"],
            &[
                "#f1 Bar 1 ok",
                "#f1 Bar 2 fail",
                "#f2 Bar 1 ok",
                "#f2 Bar 2 ok",
            ],
        );
        let plan = plan(&targets(&[("Foo", "2"), ("Bar", "2")]), &f);
        assert_eq!(order(&plan), [vec!["Foo"], vec!["Bar"]]);
        assert!(
            plan.steps[1].why[0].starts_with("Bar 2 needs Foo 2 first"),
            "{:?}",
            plan.steps[1].why
        );
    }

    #[test]
    fn a_set_that_cannot_go_in_any_order_says_why() {
        // Foo 2's pact fails against Bar 2, the version planned with it.
        let f = facts(
            &["Foo 1", "Bar 1"],
            &["Foo 2 -> Bar #f2"],
            &["#f2 Bar 2 fail", "#f2 Bar 1 fail"],
        );
        let plan = plan(&targets(&[("Foo", "2"), ("Bar", "2")]), &f);
        assert!(!plan.possible);
        assert_eq!(
            plan.problems,
            ["Foo 2 and Bar 2 are not compatible: Bar 2 failed verification of the pact of Foo 2"]
        );
        assert!(
            plan.summary()
                .starts_with("This set cannot be deployed in any order")
        );
    }

    #[test]
    fn what_is_not_in_the_plan_must_keep_working() {
        // Bar 2 breaks Baz 1, which stays deployed; Foo 2 needs Qux, deployed nowhere.
        let f = facts(
            &["Bar 1", "Baz 1"],
            &["Baz 1 -> Bar #b1", "Foo 2 -> Qux #q"],
            &["#b1 Bar 1 ok", "#b1 Bar 2 fail"],
        );
        let plan = plan(&targets(&[("Bar", "2"), ("Foo", "2")]), &f);
        assert!(!plan.possible);
        assert!(plan.problems.iter().any(|p| p.contains("Bar 2 failed verification of the pact of Baz 1 (Baz 1 is deployed there and not in the plan)")), "{:?}", plan.problems);
        assert!(
            plan.problems
                .iter()
                .any(|p| p
                    .contains("Foo 2 needs Qux, which is not deployed there and not in the plan")),
            "{:?}",
            plan.problems
        );
    }

    #[test]
    fn independent_applications_each_get_a_step() {
        let plan = plan(&targets(&[("B", "1"), ("A", "1")]), &Facts::default());
        assert!(plan.possible);
        assert_eq!(order(&plan).len(), 2);
        assert_eq!(
            plan.steps[0].why,
            ["nothing deployed before it needs to change first"]
        );
    }
}
