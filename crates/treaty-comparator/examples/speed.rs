//! The speed figure: a 1 MB OpenAPI document against a pact of 100
//! interactions, compared by Treaty and, on the same pair, by PactFlow's
//! comparator (`@pactflow/openapi-pact-comparator`, through the agreement
//! test's node runner). Prints the figures; asserts nothing about time.
//!
//! cargo run --release -p treaty-comparator --example speed
//! (needs TREATY_TEST_PACTFLOW_COMPARATOR, as scripts/test sets it)
//!
//! The document is the corpus's largest real one (STAPI, the Star Trek API:
//! 120 operations, 170 schemas) with its paths copied under `/copyN` prefixes
//! until its JSON is at least 1 MiB; the pact calls 100 of its operations
//! with bodies generated from the schemas.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use treaty_comparator::{ProviderContract, compare};

#[allow(dead_code)]
#[path = "../tests/agreement/generator.rs"]
mod generator;
#[allow(dead_code)]
#[path = "../tests/agreement/pactflow.rs"]
mod pactflow;

const DOCUMENT_BYTES: usize = 1024 * 1024;
const INTERACTIONS: usize = 100;
const WARM_RUNS: usize = 20;

fn main() {
    let source = pactflow::corpus()
        .into_iter()
        .find(|document| document.name == "readme-3.0-star-trek.yaml")
        .expect("the corpus has the Star Trek API");
    let document = grown(&source.json, DOCUMENT_BYTES);
    let bytes = serde_json::to_vec(&document).expect("the document as JSON");
    let pact = generator::Generator::new(&document, 28).fitting_pact(INTERACTIONS, 3);

    let started = Instant::now();
    let contract = ProviderContract::parse(&bytes, Some("application/json"))
        .expect("Treaty parses the document");
    let parse = started.elapsed();
    let started = Instant::now();
    let first = compare(&contract, &pact);
    let cold = started.elapsed();
    let mut warm: Vec<Duration> = (0..WARM_RUNS)
        .map(|_| {
            let started = Instant::now();
            std::hint::black_box(compare(&contract, &pact));
            started.elapsed()
        })
        .collect();
    warm.sort();

    let scratch = std::env::temp_dir().join("treaty-bdct-speed");
    let batch = json!({
        "documents": {"speed": document},
        "pairs": [{"document": "speed", "pact": pact}],
        "repeat": WARM_RUNS + 1,
    });
    let outcome = pactflow::run(&batch, &scratch)
        .into_iter()
        .next()
        .expect("one outcome");
    if let Some(error) = &outcome.error {
        panic!("PactFlow's comparator failed on the pair: {error}");
    }

    let millis = |duration: Duration| duration.as_secs_f64() * 1000.0;
    println!(
        "document: {} bytes of JSON, {} paths; pact: {INTERACTIONS} interactions",
        bytes.len(),
        document["paths"].as_object().map_or(0, |paths| paths.len())
    );
    println!(
        "Treaty:   parse {:.1} ms, first compare {:.1} ms, compare median of {WARM_RUNS} {:.1} ms ({} findings)",
        millis(parse),
        millis(cold),
        millis(warm[warm.len() / 2]),
        first.findings.len()
    );
    println!(
        "PactFlow {}: first compare (building the comparator, compiling schemas) {:.1} ms, fastest of {WARM_RUNS} more {:.1} ms ({} results)",
        pactflow::COMPARATOR_VERSION,
        outcome.cold_millis.unwrap_or(f64::NAN),
        outcome.warm_millis.unwrap_or(f64::NAN),
        outcome.results.len()
    );
}

/// The document with its paths copied under `/copy1`, `/copy2`, ... until its
/// JSON has at least `size` bytes (the schemas stay shared, as in a real
/// large API whose operations reuse them).
fn grown(document: &Value, size: usize) -> Value {
    let mut grown = document.clone();
    let original = document["paths"].as_object().cloned().unwrap_or_default();
    let mut copy = 0;
    while serde_json::to_vec(&grown).map_or(0, |bytes| bytes.len()) < size {
        copy += 1;
        let paths = grown["paths"].as_object_mut().expect("paths");
        for (path, item) in &original {
            paths.insert(format!("/copy{copy}{path}"), item.clone());
        }
    }
    grown
}
