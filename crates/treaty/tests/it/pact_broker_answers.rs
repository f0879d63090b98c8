//! The Pact Broker's own answers to ~500 questions
//! (`../shared/reference/pact-broker-answers/`), replayed against a fresh
//! Treaty by its `compare.py`: every answer a client could tell apart from
//! the Pact Broker's is an (a) difference. Each area may have at most the
//! (a) differences listed here; the list only ever goes down, to zero.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::support::TestServer;

/// The most (a) differences each area of the scenario may still have.
const MOST_A_DIFFERENCES: &[(&str, u64)] = &[
    ("seed", 12),
    ("misc", 2),
    ("pacticipants", 1),
    ("deployments", 0),
    ("matrix", 80),
    ("pacts", 56),
    ("verifications", 25),
    ("webhooks", 0),
    ("for-verification", 62),
    ("errors", 9),
    ("mutations", 2),
];

fn compare_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/reference/pact-broker-answers/compare.py")
}

#[tokio::test(flavor = "multi_thread")]
async fn treaty_answers_the_pact_brokers_questions_as_the_pact_broker_does() {
    let script = compare_script();
    assert!(
        script.exists(),
        "{} is missing: the shared reference material sits beside the project",
        script.display()
    );
    let server = TestServer::start().await;
    let url = server.url.clone();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .arg(&script)
            .arg(&url)
            .args(["-o", "json"])
            .output()
            .expect("python3 runs compare.py")
    })
    .await
    .unwrap();
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "compare.py printed no report ({e}): {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let results = report["results"].as_array().expect("results");
    let mut failures = Vec::new();
    let mut counts = Vec::new();
    for (area, most) in MOST_A_DIFFERENCES {
        let differing: Vec<&Value> = results
            .iter()
            .filter(|r| r["area"] == *area && r["class"] == "a")
            .collect();
        let count = differing.len() as u64;
        counts.push(format!("{area} {count}"));
        if count > *most {
            failures.push(format!(
                "{area}: {count} (a) differences, at most {most}:\n{}",
                differing
                    .iter()
                    .map(|r| format!(
                        "  {} {} {}: {}",
                        r["id"].as_str().unwrap_or(""),
                        r["method"].as_str().unwrap_or(""),
                        r["path"].as_str().unwrap_or(""),
                        r["diffs"]
                    ))
                    .collect::<Vec<_>>()
                    .join("\n")
            ));
        }
    }
    let unlisted: Vec<&str> = results
        .iter()
        .filter_map(|r| r["area"].as_str())
        .filter(|area| !MOST_A_DIFFERENCES.iter().any(|(a, _)| a == area))
        .collect();
    assert!(unlisted.is_empty(), "areas without a ceiling: {unlisted:?}");
    println!(
        "Pact Broker answers, (a) differences by area: {}",
        counts.join(", ")
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
