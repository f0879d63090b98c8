//! The Pact Broker's own answers to ~500 questions
//! (`../shared/reference/pact-broker-answers/`), replayed against a fresh
//! Treaty by its `compare.py`: every answer a client could tell apart from
//! the Pact Broker's is an (a) difference. Each area may have at most the
//! (a) differences listed here; the list only ever goes down, to zero.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::support::TestServer;

/// Requests where Treaty answers otherwise on purpose (docs/api.md, "Where
/// Treaty answers differently on purpose"): compare.py still classes them
/// (a), so they are counted apart, each with its reason.
const KEPT_DIFFERENT: &[(&str, &str)] = &[
    (
        "A-240",
        "diff/version/{v}: the Pact Broker ignores {v} and compares with the previous distinct version",
    ),
    (
        "A-241",
        "diff/version/{v} with no pact for {v}: the Pact Broker ignores {v}; Treaty answers 404",
    ),
    (
        "A-250",
        "provider-states/environment/{uuid}: the Pact Broker reads the uuid as a name and finds none",
    ),
    (
        "A-251",
        "provider-states/environment/{uuid}: the Pact Broker reads the uuid as a name and finds none",
    ),
    (
        "A-256",
        "a pact asked for as text/html: Treaty shows its own UI page, not the Pact Broker's",
    ),
    (
        "A-271",
        "latest/{tag}/verification-results/latest: the Pact Broker drops the tag",
    ),
    (
        "A-272",
        "latest/{tag}/verification-results/latest: the Pact Broker drops the tag",
    ),
    (
        "A-273",
        "latest/{tag}/verification-results/latest: the Pact Broker drops the tag",
    ),
    (
        "A-089",
        "/groups/{p}: the CSV's first column is each pacticipant's database id",
    ),
    (
        "A-092",
        "pb:matrix of an integration: the Pact Broker's link lacks its base URL",
    ),
    (
        "A-506",
        "pb:matrix of an integration: the Pact Broker's link lacks its base URL",
    ),
    (
        "A-132",
        "tags/{t}/versions: the Pact Broker links /pacticipants/ with no name",
    ),
    (
        "A-414",
        "environment selector: the Pact Broker's description prints a Ruby inspect string",
    ),
    (
        "A-415",
        "environment selector: the Pact Broker's description prints a Ruby inspect string",
    ),
    (
        "A-416",
        "environment selector: the Pact Broker's description prints a Ruby inspect string",
    ),
    ("A-443", "a body that is not JSON: the parser's own words"),
    ("A-458", "a body that is not JSON: the parser's own words"),
    ("A-459", "a body that is not JSON: the parser's own words"),
    ("A-462", "a body that is not JSON: the parser's own words"),
    (
        "A-463",
        "a 415: the Pact Broker gives a Location of an environment it never created",
    ),
    (
        "A-467",
        "currentlyDeployed not a boolean: the Pact Broker ignores it; Treaty refuses it",
    ),
    (
        "A-480",
        "Accept: text/plain: the Pact Broker answers an empty 406; Treaty answers JSON",
    ),
    (
        "A-481",
        "Accept: text/html: the Pact Broker sends its HTML UI; Treaty's UI is under /ui",
    ),
];

/// compare.py, run with one more normalisation than its own: the clock
/// time the Pact Broker prints in its text diffs (`(Sun 06 Dec 2026,
/// 12:43am +00:00)`) becomes `(<clock>)` in both answers. compare.py
/// normalises ISO times and "... ago" but not this format, and no run can
/// give the recording's clock time. compare.py itself is not changed.
const COMPARE_WITHOUT_CLOCK_TIMES: &str = r#"
import re, sys
sys.path.insert(0, sys.argv[1])
import compare
CLOCK = re.compile(r"\((?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d\d \w{3} \d{4}, ?\d{1,2}:\d\d[ap]m [+-]\d\d:\d\d\)")
normalise_text, norm_of = compare.normalise_text, compare.norm_of
compare.normalise_text = lambda target, text: CLOCK.sub("(<clock>)", normalise_text(target, text))
def norm_of_without_clock(answer):
    norm = norm_of(answer)
    norm["text"] = CLOCK.sub("(<clock>)", norm["text"])
    return norm
compare.norm_of = norm_of_without_clock
sys.exit(compare.main(sys.argv[2:]))
"#;

/// The most (a) differences each area of the scenario may still have.
const MOST_A_DIFFERENCES: &[(&str, u64)] = &[
    ("seed", 0),
    ("misc", 0),
    ("pacticipants", 0),
    ("deployments", 0),
    ("matrix", 0),
    ("pacts", 0),
    ("verifications", 0),
    ("webhooks", 0),
    ("for-verification", 0),
    ("errors", 0),
    ("mutations", 0),
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
            .args(["-c", COMPARE_WITHOUT_CLOCK_TIMES])
            .arg(script.parent().expect("compare.py's folder"))
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
    let mut set_apart = Vec::new();
    let counted: Vec<&Value> = results
        .iter()
        .filter(|r| {
            if r["class"] != "a" {
                return true;
            }
            if let Some((id, why)) = KEPT_DIFFERENT.iter().find(|(id, _)| r["id"] == *id) {
                set_apart.push(format!("{id} (kept different: {why})"));
                return false;
            }
            true
        })
        .collect();
    let mut failures = Vec::new();
    let mut counts = Vec::new();
    for (area, most) in MOST_A_DIFFERENCES {
        let differing: Vec<&Value> = counted
            .iter()
            .copied()
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
    let no_longer_different: Vec<&str> = KEPT_DIFFERENT
        .iter()
        .map(|(id, _)| *id)
        .filter(|id| !results.iter().any(|r| r["id"] == *id && r["class"] == "a"))
        .collect();
    assert!(
        no_longer_different.is_empty(),
        "answered as the Pact Broker answers them now, remove from KEPT_DIFFERENT: {no_longer_different:?}"
    );
    println!(
        "Pact Broker answers, (a) differences by area: {}; set apart: {}",
        counts.join(", "),
        set_apart.join(", ")
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
