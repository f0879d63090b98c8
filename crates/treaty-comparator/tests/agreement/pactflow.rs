//! Runs PactFlow's comparator (`@pactflow/openapi-pact-comparator`, from npm)
//! on a batch of pairs through `pactflow-runner.cjs`, one node process for the
//! whole batch, and loads the corpus both comparators read.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;
use serde_json::Value;

/// The version `scripts/test` installs; the figures in docs/bi-directional.md are against it.
pub const COMPARATOR_VERSION: &str = "2.3.1";

/// The installed package's directory, from TREATY_TEST_PACTFLOW_COMPARATOR.
/// Missing is a failure, not a skip: the agreement goal is part of the issue.
pub fn comparator_dir() -> PathBuf {
    let how = format!(
        "run the suite with scripts/test, which installs it, or install it yourself: \
         `npm install --prefix .bdct-tools @pactflow/openapi-pact-comparator@{COMPARATOR_VERSION}` and \
         `export TREATY_TEST_PACTFLOW_COMPARATOR=$PWD/.bdct-tools/node_modules/@pactflow/openapi-pact-comparator`"
    );
    let dir = std::env::var_os("TREATY_TEST_PACTFLOW_COMPARATOR")
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("TREATY_TEST_PACTFLOW_COMPARATOR is not set: {how}"));
    assert!(
        dir.join("dist/index.cjs").is_file(),
        "TREATY_TEST_PACTFLOW_COMPARATOR={} holds no dist/index.cjs: {how}",
        dir.display()
    );
    dir
}

/// What PactFlow's comparator said about one pair.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    pub results: Vec<Value>,
    pub error: Option<String>,
    // The timings are read by the speed example, not by the agreement test.
    #[allow(dead_code)]
    pub cold_millis: Option<f64>,
    #[allow(dead_code)]
    pub warm_millis: Option<f64>,
}

/// Runs the batch (`{"documents": {...}, "pairs": [...], "repeat": n}`, see
/// the runner) and returns one outcome per pair, in order.
pub fn run(batch: &Value, scratch: &Path) -> Vec<Outcome> {
    let dir = comparator_dir();
    std::fs::create_dir_all(scratch).expect("create the scratch directory");
    let batch_file = scratch.join("pactflow-batch.json");
    std::fs::write(
        &batch_file,
        serde_json::to_vec(batch).expect("batch as JSON"),
    )
    .expect("write the batch");
    let runner = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/agreement/pactflow-runner.cjs");
    let output = Command::new("node")
        .arg(&runner)
        .arg(&dir)
        .arg(&batch_file)
        .output()
        .unwrap_or_else(|error| {
            panic!("cannot run `node` (Node.js 20 or later must be on PATH): {error}")
        });
    assert!(
        output.status.success(),
        "the PactFlow runner failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the runner prints JSON")
}

/// One OpenAPI document of the corpus.
pub struct CorpusDocument {
    pub name: String,
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
    /// The document as JSON, for the generator and for PactFlow's comparator
    /// (which takes parsed objects; its own CLI parses YAML with js-yaml).
    pub json: Value,
}

pub fn corpus() -> Vec<CorpusDocument> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("the corpus directory")
        .map(|entry| entry.expect("a corpus entry").path())
        .filter(|path| {
            matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("json" | "yaml" | "yml")
            )
        })
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|path| {
            let bytes = std::fs::read(&path).expect("read a corpus document");
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .expect("a UTF-8 name")
                .to_owned();
            let (content_type, json) = if name.ends_with(".json") {
                (
                    "application/json",
                    serde_json::from_slice(&bytes).expect("corpus JSON parses"),
                )
            } else {
                let yaml: serde_norway::Value =
                    serde_norway::from_slice(&bytes).expect("corpus YAML parses");
                ("application/yaml", yaml_to_json(yaml))
            };
            CorpusDocument {
                name,
                bytes,
                content_type,
                json,
            }
        })
        .collect()
}

/// YAML to JSON as js-yaml and JSON.stringify would give it: keys become
/// strings (`200:` is the key "200").
pub fn yaml_to_json(yaml: serde_norway::Value) -> Value {
    use serde_norway::Value as Yaml;
    match yaml {
        Yaml::Null => Value::Null,
        Yaml::Bool(value) => Value::Bool(value),
        Yaml::Number(number) => {
            if let Some(value) = number.as_i64() {
                Value::from(value)
            } else if let Some(value) = number.as_u64() {
                Value::from(value)
            } else {
                number
                    .as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map(Value::Number)
                    .unwrap_or(Value::Null)
            }
        }
        Yaml::String(text) => Value::String(text),
        Yaml::Sequence(items) => Value::Array(items.into_iter().map(yaml_to_json).collect()),
        Yaml::Mapping(mapping) => Value::Object(
            mapping
                .into_iter()
                .map(|(key, value)| {
                    let key = match key {
                        Yaml::String(text) => text,
                        other => match yaml_to_json(other) {
                            Value::String(text) => text,
                            scalar => scalar.to_string(),
                        },
                    };
                    (key, yaml_to_json(value))
                })
                .collect(),
        ),
        Yaml::Tagged(tagged) => yaml_to_json(tagged.value),
    }
}
