//! The pact files `publish` sends: found from files, directories and glob
//! patterns, read, and grouped into one publication per consumer.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde_json::Value;

/// A pact file that has been read and names its consumer and provider.
#[derive(Debug, Clone)]
pub struct PactFile {
    pub path: PathBuf,
    pub consumer: String,
    pub provider: String,
    /// The file's bytes, sent unchanged unless it has to be merged.
    pub content: Vec<u8>,
    pub json: Value,
}

/// The pacts of one consumer: one `POST /contracts/publish`.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsumerPacts {
    pub consumer: String,
    pub contracts: Vec<Contract>,
}

/// One consumer-provider pact to publish.
#[derive(Debug, Clone, PartialEq)]
pub struct Contract {
    pub provider: String,
    pub content: Vec<u8>,
}

/// The files named by `inputs`, in the order given: a file as is, a
/// directory's `*.json` files (not its subdirectories, like the official
/// clients), and a glob pattern's matching files.
pub fn find_pact_files(inputs: &[String]) -> anyhow::Result<Vec<PathBuf>> {
    let mut found: Vec<PathBuf> = Vec::new();
    for input in inputs {
        let path = Path::new(input);
        let matches = if path.is_file() {
            vec![path.to_path_buf()]
        } else if path.is_dir() {
            json_files_in(path)?
        } else if is_glob_pattern(input) {
            let matches = glob_files(input)?;
            if matches.is_empty() {
                bail!("no pact files match the pattern {input:?}");
            }
            matches
        } else {
            bail!("the pact file or directory {input:?} does not exist");
        };
        for file in matches {
            if !found.contains(&file) {
                found.push(file);
            }
        }
    }
    if found.is_empty() {
        bail!("no pact files found in {}", inputs.join(", "));
    }
    Ok(found)
}

fn is_glob_pattern(input: &str) -> bool {
    input.contains(['*', '?', '['])
}

fn json_files_in(directory: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(directory)
        .with_context(|| format!("cannot read the directory {}", directory.display()))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry
            .with_context(|| format!("cannot read the directory {}", directory.display()))?
            .path();
        if path.is_file()
            && path
                .extension()
                .is_some_and(|extension| extension == "json")
        {
            files.push(path);
        }
    }
    // read_dir's order depends on the file system; sorting makes publishing
    // (and its output) the same on every machine.
    files.sort();
    Ok(files)
}

fn glob_files(pattern: &str) -> anyhow::Result<Vec<PathBuf>> {
    let paths = glob::glob(pattern).with_context(|| format!("invalid glob pattern {pattern:?}"))?;
    let mut files = Vec::new();
    for path in paths {
        let path = path.with_context(|| format!("cannot read a match of {pattern:?}"))?;
        if path.is_file() {
            files.push(path);
        }
    }
    Ok(files)
}

pub fn read_pact_file(path: &Path) -> anyhow::Result<PactFile> {
    let content = std::fs::read(path)
        .with_context(|| format!("cannot read the pact file {}", path.display()))?;
    parse_pact(path, content)
}

/// Checks that the file is a pact (a JSON object naming its consumer and
/// provider); the broker validates the rest.
pub fn parse_pact(path: &Path, content: Vec<u8>) -> anyhow::Result<PactFile> {
    let json: Value = serde_json::from_slice(&content)
        .with_context(|| format!("the pact file {} is not valid JSON", path.display()))?;
    let name_of = |party: &str| {
        json.get(party)
            .and_then(|value| value.get("name"))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(str::to_owned)
            .with_context(|| format!("the pact file {} has no {party}.name", path.display()))
    };
    Ok(PactFile {
        path: path.to_path_buf(),
        consumer: name_of("consumer")?,
        provider: name_of("provider")?,
        content,
        json,
    })
}

/// One publication per consumer, in the order the consumers first appear.
/// Several files for the same consumer and provider (tests run in parallel
/// write one each) become one pact with their interactions merged, as the
/// official clients do: the broker takes one pact per provider.
pub fn group_by_consumer(files: Vec<PactFile>) -> anyhow::Result<Vec<ConsumerPacts>> {
    struct Pending {
        consumer: String,
        provider: String,
        json: Value,
        content: Vec<u8>,
        merged: bool,
        first_path: PathBuf,
    }
    let mut pending: Vec<Pending> = Vec::new();
    for file in files {
        let same_pair = pending
            .iter_mut()
            .find(|pact| pact.consumer == file.consumer && pact.provider == file.provider);
        match same_pair {
            Some(pact) => {
                merge_interactions(&mut pact.json, &file.json).with_context(|| {
                    format!(
                        "cannot merge the pact files {} and {}",
                        pact.first_path.display(),
                        file.path.display()
                    )
                })?;
                pact.merged = true;
            }
            None => pending.push(Pending {
                consumer: file.consumer,
                provider: file.provider,
                json: file.json,
                content: file.content,
                merged: false,
                first_path: file.path,
            }),
        }
    }

    let mut groups: Vec<ConsumerPacts> = Vec::new();
    for pact in pending {
        let content = if pact.merged {
            serde_json::to_vec(&pact.json).context("cannot serialise a merged pact")?
        } else {
            pact.content
        };
        let contract = Contract {
            provider: pact.provider,
            content,
        };
        match groups
            .iter_mut()
            .find(|group| group.consumer == pact.consumer)
        {
            Some(group) => group.contracts.push(contract),
            None => groups.push(ConsumerPacts {
                consumer: pact.consumer,
                contracts: vec![contract],
            }),
        }
    }
    Ok(groups)
}

/// Adds the interactions (and messages) of `additional` that `existing`
/// lacks. The same description and provider state with a different request
/// or response is an error: the broker could not tell which one is right.
fn merge_interactions(existing: &mut Value, additional: &Value) -> anyhow::Result<()> {
    for key in ["interactions", "messages"] {
        let Some(new_items) = additional.get(key).and_then(Value::as_array) else {
            continue;
        };
        let Some(object) = existing.as_object_mut() else {
            bail!("the pact is not a JSON object");
        };
        let items = object
            .entry(key)
            .or_insert_with(|| Value::Array(Vec::new()));
        let Some(items) = items.as_array_mut() else {
            bail!("the pact's {key} is not an array");
        };
        for new_item in new_items {
            match items.iter().find(|item| same_identity(item, new_item)) {
                Some(item) if item == new_item => {}
                Some(_) => bail!(
                    "two interactions have the same description ({}) and provider state but a different request or response; \
                     give one of them another description or provider state",
                    new_item.get("description").unwrap_or(&Value::Null)
                ),
                None => items.push(new_item.clone()),
            }
        }
    }
    Ok(())
}

fn same_identity(a: &Value, b: &Value) -> bool {
    ["description", "providerState", "providerStates"]
        .iter()
        .all(|key| a.get(key) == b.get(key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pact(consumer: &str, provider: &str, interactions: Value) -> PactFile {
        let json = json!({"consumer": {"name": consumer}, "provider": {"name": provider}, "interactions": interactions});
        let path = PathBuf::from(format!("{consumer}-{provider}.json"));
        parse_pact(&path, json.to_string().into_bytes()).expect("pact")
    }

    fn interaction(description: &str, status: u16) -> Value {
        json!({"description": description, "request": {"method": "GET", "path": "/"}, "response": {"status": status}})
    }

    #[test]
    fn a_pact_needs_consumer_and_provider_names() {
        let path = Path::new("x.json");
        assert!(parse_pact(path, b"not json".to_vec()).is_err());
        let error = parse_pact(
            path,
            br#"{"consumer":{"name":"Foo"},"provider":{}}"#.to_vec(),
        )
        .expect_err("no provider");
        assert_eq!(
            error.to_string(),
            "the pact file x.json has no provider.name"
        );
        assert!(
            parse_pact(
                path,
                br#"{"consumer":{"name":" "},"provider":{"name":"Bar"}}"#.to_vec()
            )
            .is_err()
        );
    }

    #[test]
    fn groups_by_consumer_in_order_of_appearance_and_keeps_file_bytes() {
        let files = vec![
            pact("Foo", "Bar", json!([interaction("a", 200)])),
            pact("Web", "Bar", json!([])),
            pact("Foo", "Baz", json!([])),
        ];
        let original = files[0].content.clone();
        let groups = group_by_consumer(files).expect("groups");
        let summary: Vec<(String, Vec<String>)> = groups
            .iter()
            .map(|group| {
                (
                    group.consumer.clone(),
                    group.contracts.iter().map(|c| c.provider.clone()).collect(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (
                    "Foo".to_string(),
                    vec!["Bar".to_string(), "Baz".to_string()]
                ),
                ("Web".to_string(), vec!["Bar".to_string()])
            ]
        );
        assert_eq!(groups[0].contracts[0].content, original);
    }

    #[test]
    fn files_for_the_same_pair_are_merged() {
        let files = vec![
            pact("Foo", "Bar", json!([interaction("a", 200)])),
            pact(
                "Foo",
                "Bar",
                json!([interaction("a", 200), interaction("b", 404)]),
            ),
        ];
        let groups = group_by_consumer(files).expect("groups");
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].contracts.len(), 1);
        let merged: Value = serde_json::from_slice(&groups[0].contracts[0].content).expect("json");
        let descriptions: Vec<_> = merged["interactions"]
            .as_array()
            .expect("array")
            .iter()
            .map(|i| i["description"].clone())
            .collect();
        assert_eq!(descriptions, [json!("a"), json!("b")]);
    }

    #[test]
    fn conflicting_interactions_are_refused() {
        let files = vec![
            pact("Foo", "Bar", json!([interaction("a", 200)])),
            pact("Foo", "Bar", json!([interaction("a", 500)])),
        ];
        let error = group_by_consumer(files).expect_err("conflict");
        assert!(
            format!("{error:#}").contains("same description (\"a\")"),
            "{error:#}"
        );
    }

    #[test]
    fn the_same_description_with_another_provider_state_is_a_different_interaction() {
        let mut with_state = interaction("a", 500);
        with_state["providerState"] = json!("broken");
        let files = vec![
            pact("Foo", "Bar", json!([interaction("a", 200)])),
            pact("Foo", "Bar", json!([with_state])),
        ];
        let groups = group_by_consumer(files).expect("groups");
        let merged: Value = serde_json::from_slice(&groups[0].contracts[0].content).expect("json");
        assert_eq!(merged["interactions"].as_array().map(Vec::len), Some(2));
    }

    #[test]
    fn finds_files_directories_and_globs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        for name in ["b.json", "a.json", "notes.txt"] {
            std::fs::write(root.join(name), "{}").expect("write");
        }
        std::fs::create_dir(root.join("nested")).expect("mkdir");
        std::fs::write(root.join("nested/c.json"), "{}").expect("write");
        let as_input = |path: PathBuf| path.to_string_lossy().into_owned();

        let from_dir = find_pact_files(&[as_input(root.to_path_buf())]).expect("dir");
        assert_eq!(from_dir, [root.join("a.json"), root.join("b.json")]);

        let from_glob = find_pact_files(&[as_input(root.join("**/*.json"))]).expect("glob");
        assert!(from_glob.contains(&root.join("nested/c.json")));

        let deduplicated =
            find_pact_files(&[as_input(root.join("a.json")), as_input(root.to_path_buf())])
                .expect("both");
        assert_eq!(deduplicated, [root.join("a.json"), root.join("b.json")]);

        assert!(find_pact_files(&[as_input(root.join("missing.json"))]).is_err());
        assert!(find_pact_files(&[as_input(root.join("*.yaml"))]).is_err());
        assert!(find_pact_files(&[as_input(root.join("nested/empty"))]).is_err());
    }
}
