//! Treaty's comparator side by side with PactFlow's (`@pactflow/openapi-pact-comparator`)
//! on public OpenAPI documents (tests/corpus) and generated pacts: ones that
//! fit and ones with one defect each. The issue's goal: the same pass/fail
//! verdict on at least 99% of the pairs and the same codes on at least 97%.
//!
//! "The same codes" means the same SET of (code, type) pairs: PactFlow reports
//! one finding per JSON Schema error its validator (ajv) raises, so how many
//! findings one defect gives depends on the validator, not on the comparison.
//! Info results (`message.matched`, asynchronous messages only) are left out.
//! The report, every disagreement with both outputs, is target/tmp/bdct-agreement.md.

#[path = "agreement/generator.rs"]
mod generator;
#[path = "agreement/pactflow.rs"]
mod pactflow;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde_json::{Value, json};
use treaty_comparator::{ProviderContract, compare};

use generator::{Defect, Generator, seed_of};

/// Operations per document that get pacts (picked by the document's seed),
/// so that one large document does not outweigh the rest.
const MAX_OPERATIONS_PER_DOCUMENT: usize = 12;

struct Pair {
    document: String,
    name: String,
    defect: Defect,
    pact: Value,
    treaty: Side,
    pactflow: Side,
    /// PactFlow's comparator threw instead of answering (its validator
    /// rejects some valid schemas): no verdict to agree with.
    pactflow_crashed: Option<String>,
}

struct Side {
    /// Findings as JSON, in the shape both comparators share.
    findings: Vec<Value>,
    compatible: bool,
}

impl Side {
    fn codes(&self) -> BTreeSet<(String, String)> {
        self.findings.iter().map(code_and_type).collect()
    }

    /// Codes with where in the pact they point, for the informative
    /// location figure (PactFlow's locations: `[root].interactions[0].response.body.id`).
    fn codes_at(&self) -> BTreeSet<(String, String, String)> {
        self.findings
            .iter()
            .map(|finding| {
                let (code, kind) = code_and_type(finding);
                let location = finding
                    .pointer("/mockDetails/location")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                (code, kind, location)
            })
            .collect()
    }

    fn code_multiset(&self) -> Vec<(String, String)> {
        let mut codes: Vec<_> = self.findings.iter().map(code_and_type).collect();
        codes.sort();
        codes
    }
}

fn code_and_type(finding: &Value) -> (String, String) {
    let text = |key: &str| {
        finding
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    (text("code"), text("type"))
}

#[test]
fn treaty_agrees_with_pactflows_comparator_on_the_corpus() {
    let scratch = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    let corpus = pactflow::corpus();
    assert!(
        corpus.len() >= 15,
        "the corpus has {} documents",
        corpus.len()
    );

    let mut documents = serde_json::Map::new();
    let mut generated = Vec::new();
    for document in &corpus {
        documents.insert(document.name.clone(), document.json.clone());
        let treaty_contract = ProviderContract::parse(&document.bytes, Some(document.content_type));
        let pacts = Generator::new(&document.json, seed_of(&document.name))
            .pacts(MAX_OPERATIONS_PER_DOCUMENT);
        for pact in pacts {
            let treaty = match &treaty_contract {
                Ok(contract) => {
                    let comparison = compare(contract, &pact.pact);
                    Side {
                        compatible: comparison.is_compatible(),
                        findings: comparison
                            .findings
                            .iter()
                            .map(|finding| {
                                serde_json::to_value(finding).expect("a finding as JSON")
                            })
                            .collect(),
                    }
                }
                Err(error) => Side {
                    compatible: false,
                    findings: vec![json!({
                        "code": "treaty.document.rejected",
                        "message": error.to_string(),
                        "type": "error",
                    })],
                },
            };
            generated.push((document.name.clone(), pact, treaty));
        }
    }
    let batch = json!({
        "documents": documents,
        "pairs": generated.iter().map(|(document, pact, _)| json!({"document": document, "pact": pact.pact})).collect::<Vec<_>>(),
    });
    let outcomes = pactflow::run(&batch, scratch);
    assert_eq!(outcomes.len(), generated.len(), "one outcome per pair");

    let pairs: Vec<Pair> = generated
        .into_iter()
        .zip(outcomes)
        .map(|((document, pact, treaty), outcome)| {
            let findings: Vec<Value> = outcome
                .results
                .into_iter()
                .filter(|result| result.get("type") != Some(&json!("info")))
                .collect();
            let crashed = outcome
                .error
                .map(|error| error.lines().next().unwrap_or("").to_owned());
            let compatible = findings
                .iter()
                .all(|finding| finding.get("type") != Some(&json!("error")));
            Pair {
                document,
                name: pact.name,
                defect: pact.defect,
                pact: pact.pact,
                treaty,
                pactflow: Side {
                    findings,
                    compatible,
                },
                pactflow_crashed: crashed,
            }
        })
        .collect();

    let report = report(&pairs, corpus.len());
    std::fs::write(scratch.join("bdct-agreement.md"), &report.text).expect("write the report");
    println!("{}", report.summary);
    println!("report: {}", scratch.join("bdct-agreement.md").display());
    assert!(
        report.verdict_agreement >= 0.99 && report.code_agreement >= 0.97,
        "agreement with PactFlow's comparator is below the goal (verdicts >= 99%, codes >= 97%): {}\nsee {}",
        report.summary,
        scratch.join("bdct-agreement.md").display()
    );
}

fn same_verdict(pair: &Pair) -> bool {
    pair.treaty.compatible == pair.pactflow.compatible
}

fn same_codes(pair: &Pair) -> bool {
    pair.treaty.codes() == pair.pactflow.codes()
}

struct Report {
    text: String,
    summary: String,
    verdict_agreement: f64,
    code_agreement: f64,
}

fn report(all_pairs: &[Pair], documents: usize) -> Report {
    let (crashed, pairs): (Vec<&Pair>, Vec<&Pair>) = all_pairs
        .iter()
        .partition(|pair| pair.pactflow_crashed.is_some());
    let total = pairs.len();
    let verdicts = pairs.iter().filter(|pair| same_verdict(pair)).count();
    let codes = pairs.iter().filter(|pair| same_codes(pair)).count();
    let multisets = pairs
        .iter()
        .filter(|pair| pair.treaty.code_multiset() == pair.pactflow.code_multiset())
        .count();
    let located = pairs
        .iter()
        .filter(|pair| pair.treaty.codes_at() == pair.pactflow.codes_at())
        .count();
    let percent = |count: usize| 100.0 * count as f64 / total.max(1) as f64;
    let summary = format!(
        "{total} pairs from {documents} documents ({} more that PactFlow's comparator could not compare): \
         same verdict {verdicts} ({:.1}%), same codes {codes} ({:.1}%); informative: \
         same codes counted with repeats {multisets} ({:.1}%), same codes at the same pact locations {located} ({:.1}%); \
         PactFlow's comparator {}",
        crashed.len(),
        percent(verdicts),
        percent(codes),
        percent(multisets),
        percent(located),
        pactflow::COMPARATOR_VERSION
    );

    let mut text = String::new();
    let _ = writeln!(
        text,
        "# Treaty and PactFlow's comparator, side by side\n\n{summary}.\n"
    );
    let _ = writeln!(
        text,
        "Same codes: the same set of (code, type) pairs. Verdict: compatible when no finding is an error.\n"
    );
    let _ = writeln!(
        text,
        "| defect | pairs | PactFlow fails | Treaty fails | same verdict | same codes |"
    );
    let _ = writeln!(text, "| --- | ---: | ---: | ---: | ---: | ---: |");
    let mut by_defect: BTreeMap<Defect, Vec<&Pair>> = BTreeMap::new();
    for pair in &pairs {
        by_defect.entry(pair.defect).or_default().push(pair);
    }
    for (defect, group) in &by_defect {
        let _ = writeln!(
            text,
            "| {} | {} | {} | {} | {} | {} |",
            defect.name(),
            group.len(),
            group
                .iter()
                .filter(|pair| !pair.pactflow.compatible)
                .count(),
            group.iter().filter(|pair| !pair.treaty.compatible).count(),
            group.iter().filter(|pair| same_verdict(pair)).count(),
            group.iter().filter(|pair| same_codes(pair)).count(),
        );
    }
    let _ = writeln!(text, "\n## Disagreements\n");
    for pair in pairs
        .iter()
        .filter(|pair| !same_verdict(pair) || !same_codes(pair))
    {
        write_pair(&mut text, pair);
    }
    let _ = writeln!(text, "\n## Pairs PactFlow's comparator could not compare\n");
    for pair in &crashed {
        let _ = writeln!(
            text,
            "- {} / {}: it threw `{}`; Treaty: {}",
            pair.document,
            pair.name,
            pair.pactflow_crashed.as_deref().unwrap_or(""),
            if pair.treaty.compatible {
                "compatible".to_owned()
            } else {
                codes_text(&pair.treaty)
            }
        );
    }
    Report {
        text,
        summary,
        verdict_agreement: percent(verdicts) / 100.0,
        code_agreement: percent(codes) / 100.0,
    }
}

fn codes_text(side: &Side) -> String {
    side.findings
        .iter()
        .map(|finding| {
            let (code, kind) = code_and_type(finding);
            let message: String = finding
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("")
                .chars()
                .take(240)
                .collect();
            format!("`{code}` ({kind}) {message}")
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn write_pair(text: &mut String, pair: &Pair) {
    {
        let _ = writeln!(text, "### {} / {}\n", pair.document, pair.name);
        let verdict = |compatible: bool| {
            if compatible {
                "compatible"
            } else {
                "incompatible"
            }
        };
        let _ = writeln!(
            text,
            "Verdicts: Treaty {}, PactFlow {}.\n",
            verdict(pair.treaty.compatible),
            verdict(pair.pactflow.compatible)
        );
        for (who, side) in [("Treaty", &pair.treaty), ("PactFlow", &pair.pactflow)] {
            let _ = writeln!(text, "{who}:");
            if side.findings.is_empty() {
                let _ = writeln!(text, "- (nothing)");
            }
            for finding in &side.findings {
                let field = |pointer: &str| {
                    finding
                        .pointer(pointer)
                        .and_then(Value::as_str)
                        .unwrap_or("")
                };
                let _ = writeln!(
                    text,
                    "- `{}` ({}) at `{}` / `{}`: {}",
                    field("/code"),
                    field("/type"),
                    field("/mockDetails/location"),
                    field("/specDetails/location"),
                    field("/message").replace('\n', " ")
                );
            }
        }
        let _ = writeln!(text, "\n```json\n{}\n```\n", pair.pact["interactions"]);
    }
}
