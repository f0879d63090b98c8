//! Pact documents: parsing, the content hash that decides when two pacts are
//! "the same", and the form in which they are stored.

use std::collections::HashMap;

use serde_json::{Map, Value};
use sha1::{Digest, Sha1};

/// Why a document is not a pact Treaty can store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PactError {
    #[error("is not valid JSON: {0}")]
    NotJson(String),
    #[error("must be a JSON object")]
    NotAnObject,
    #[error("has no {0} name (expected a string at {0}.name)")]
    MissingParticipant(&'static str),
    #[error("is not valid UTF-8")]
    NotUtf8,
    #[error("is not valid base64: {0}")]
    NotBase64(String),
    #[error(
        "has {0} interactions and messages; Treaty accepts at most {MAX_INTERACTIONS} in one pact (split it by provider state or feature)"
    )]
    TooManyInteractions(usize),
}

/// The most interactions and messages one pact may hold: far beyond any real
/// contract, well short of what would let one publication hurt everyone else.
pub const MAX_INTERACTIONS: usize = 10_000;

/// A parsed pact: a JSON object with a consumer and a provider.
#[derive(Debug, Clone, PartialEq)]
pub struct PactDocument {
    content: Map<String, Value>,
}

impl PactDocument {
    /// Parses raw bytes as a pact.
    pub fn parse(bytes: &[u8]) -> Result<Self, PactError> {
        let text = std::str::from_utf8(bytes).map_err(|_| PactError::NotUtf8)?;
        let value: Value =
            serde_json::from_str(text).map_err(|e| PactError::NotJson(e.to_string()))?;
        Self::from_value(value)
    }

    /// Decodes strict base64 (as `/contracts/publish` carries it) and parses the result.
    pub fn parse_base64(encoded: &str) -> Result<Self, PactError> {
        use base64::Engine;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|e| PactError::NotBase64(e.to_string()))?;
        Self::parse(&bytes)
    }

    pub fn from_value(value: Value) -> Result<Self, PactError> {
        let document = match value {
            Value::Object(content) => Self { content },
            _ => return Err(PactError::NotAnObject),
        };
        let count = document.interactions_count() + document.messages_count();
        if count > MAX_INTERACTIONS {
            return Err(PactError::TooManyInteractions(count));
        }
        Ok(document)
    }

    /// The consumer name written inside the pact, if there is one.
    pub fn consumer_name(&self) -> Option<&str> {
        participant_name(&self.content, "consumer")
    }

    /// The provider name written inside the pact, if there is one.
    pub fn provider_name(&self) -> Option<&str> {
        participant_name(&self.content, "provider")
    }

    /// Refuses a pact without consumer and provider names.
    pub fn require_participants(&self) -> Result<(), PactError> {
        if self.consumer_name().is_none() {
            return Err(PactError::MissingParticipant("consumer"));
        }
        if self.provider_name().is_none() {
            return Err(PactError::MissingParticipant("provider"));
        }
        Ok(())
    }

    pub fn interactions_count(&self) -> usize {
        array_len(&self.content, "interactions")
    }

    pub fn messages_count(&self) -> usize {
        array_len(&self.content, "messages")
    }

    /// The pact's content hash (hex SHA-1), computed only from what affects
    /// verification results: interactions, messages and the specification
    /// version, with object keys sorted and interactions in a canonical order.
    /// So whitespace, key order, interaction order and other metadata do not
    /// change it, and identical contracts are stored once.
    pub fn sha(&self) -> String {
        let mut relevant = Map::new();
        for key in ["interactions", "messages"] {
            if let Some(Value::Array(items)) = self.content.get(key) {
                let mut items: Vec<Value> = items.iter().map(without_id).map(sorted).collect();
                items.sort_by_cached_key(|item| item.to_string());
                relevant.insert(key.to_owned(), Value::Array(items));
            }
        }
        if relevant.is_empty() {
            return sha1_hex(&sorted(Value::Object(self.content.clone())).to_string());
        }
        if let Some(version) = self.specification_version() {
            relevant.insert("pact_specification_version".to_owned(), version);
        }
        sha1_hex(&sorted(Value::Object(relevant)).to_string())
    }

    fn specification_version(&self) -> Option<Value> {
        let metadata = self.content.get("metadata")?;
        metadata
            .pointer("/pactSpecification/version")
            .or_else(|| metadata.pointer("/pact-specification/version"))
            .or_else(|| metadata.get("pactSpecificationVersion"))
            .cloned()
    }

    /// The document as stored and served: each interaction and message gets an
    /// `_id` (the hash of its content), which verification results refer to.
    pub fn into_stored(self) -> Value {
        let mut content = self.content;
        for key in ["interactions", "messages"] {
            if let Some(Value::Array(items)) = content.get_mut(key) {
                for item in items.iter_mut() {
                    if let Value::Object(fields) = item {
                        let id = sha1_hex(
                            &sorted(without_id(&Value::Object(fields.clone()))).to_string(),
                        );
                        let mut with_id = Map::with_capacity(fields.len() + 1);
                        with_id.insert("_id".to_owned(), Value::String(id));
                        for (k, v) in std::mem::take(fields) {
                            if k != "_id" {
                                with_id.insert(k, v);
                            }
                        }
                        *fields = with_id;
                    }
                }
            }
        }
        Value::Object(content)
    }

    pub fn as_value(&self) -> Value {
        Value::Object(self.content.clone())
    }
}

/// Two interactions with the same description and provider state but
/// different content cannot be merged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "an interaction with description '{description}' and the same provider state already exists with different content"
)]
pub struct MergeConflict {
    pub description: String,
}

/// Merges the interactions (and messages) of `new` into `existing`: new ones
/// are appended, identical ones kept once; a changed one is a conflict.
pub fn merge(existing: &Value, new: &PactDocument) -> Result<PactDocument, MergeConflict> {
    let mut merged = match existing {
        Value::Object(fields) => fields.clone(),
        _ => Map::new(),
    };
    for key in ["interactions", "messages"] {
        let Some(Value::Array(incoming)) = new.content.get(key) else {
            continue;
        };
        let mut items: Vec<Value> = match merged.get(key) {
            Some(Value::Array(items)) => items.iter().map(without_id).collect(),
            _ => Vec::new(),
        };
        // Each interaction found by its identity through a map, not by
        // searching the list (quadratic: two pacts of 10,000 interactions
        // held the write lock for minutes).
        let mut by_identity: HashMap<(String, String), usize> = HashMap::new();
        for (index, item) in items.iter().enumerate() {
            by_identity
                .entry(interaction_identity(item))
                .or_insert(index);
        }
        for item in incoming.iter().map(without_id) {
            let identity = interaction_identity(&item);
            match by_identity.get(&identity) {
                Some(&same) if sorted(items[same].clone()) == sorted(item.clone()) => {}
                Some(_) => {
                    return Err(MergeConflict {
                        description: identity.0,
                    });
                }
                None => {
                    by_identity.insert(identity, items.len());
                    items.push(item);
                }
            }
        }
        merged.insert(key.to_owned(), Value::Array(items));
    }
    Ok(PactDocument { content: merged })
}

/// What names an interaction within a pact: its description and provider state(s).
fn interaction_identity(item: &Value) -> (String, String) {
    let description = item
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let state = item
        .get("providerStates")
        .or_else(|| item.get("providerState"))
        .or_else(|| item.get("provider_state"))
        .map(|s| sorted(s.clone()).to_string())
        .unwrap_or_default();
    (description, state)
}

fn participant_name<'a>(content: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    content
        .get(key)?
        .get("name")?
        .as_str()
        .filter(|name| !name.trim().is_empty())
}

fn array_len(content: &Map<String, Value>, key: &str) -> usize {
    content
        .get(key)
        .and_then(Value::as_array)
        .map_or(0, Vec::len)
}

fn without_id(value: &Value) -> Value {
    match value {
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .filter(|(k, _)| k.as_str() != "_id")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Recursively orders object keys, so the JSON text is canonical.
fn sorted(value: Value) -> Value {
    match value {
        Value::Object(fields) => {
            let mut entries: Vec<(String, Value)> = fields.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

fn sha1_hex(text: &str) -> String {
    let digest = Sha1::digest(text.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pact(value: Value) -> PactDocument {
        PactDocument::from_value(value).unwrap()
    }

    fn example() -> Value {
        json!({
            "consumer": {"name": "Foo"},
            "provider": {"name": "Bar"},
            "interactions": [
                {"description": "a", "request": {"method": "GET", "path": "/a"}, "response": {"status": 200}},
                {"description": "b", "request": {"path": "/b", "method": "GET"}, "response": {"status": 404}}
            ],
            "metadata": {"pactSpecification": {"version": "2.0.0"}}
        })
    }

    #[test]
    fn sha_ignores_key_order_interaction_order_names_and_other_metadata() {
        let reordered = json!({
            "metadata": {"pactSpecification": {"version": "2.0.0"}, "client": {"name": "x"}},
            "interactions": [
                {"response": {"status": 404}, "request": {"method": "GET", "path": "/b"}, "description": "b"},
                {"description": "a", "request": {"method": "GET", "path": "/a"}, "response": {"status": 200}}
            ],
            "provider": {"name": "Other"},
            "consumer": {"name": "Foo"}
        });
        assert_eq!(pact(example()).sha(), pact(reordered).sha());
    }

    #[test]
    fn sha_changes_with_an_interaction_or_the_spec_version() {
        let base = pact(example()).sha();
        let mut changed = example();
        changed["interactions"][0]["response"]["status"] = json!(201);
        assert_ne!(base, pact(changed).sha());
        let mut spec = example();
        spec["metadata"]["pactSpecification"]["version"] = json!("3.0.0");
        assert_ne!(base, pact(spec).sha());
    }

    #[test]
    fn sha_of_stored_content_equals_sha_of_published_content() {
        let published = pact(example());
        let stored = pact(published.clone().into_stored());
        assert_eq!(published.sha(), stored.sha());
    }

    #[test]
    fn stored_interactions_get_an_id_first() {
        let stored = pact(example()).into_stored();
        let first = stored["interactions"][0].as_object().unwrap();
        assert_eq!(first.keys().next().unwrap(), "_id");
        assert_eq!(first["_id"].as_str().unwrap().len(), 40);
    }

    #[test]
    fn refuses_non_objects_and_missing_participants() {
        assert_eq!(PactDocument::parse(b"[1]"), Err(PactError::NotAnObject));
        assert!(matches!(
            PactDocument::parse(b"{"),
            Err(PactError::NotJson(_))
        ));
        assert_eq!(PactDocument::parse(b"\xff"), Err(PactError::NotUtf8));
        let no_provider = pact(json!({"consumer": {"name": "Foo"}}));
        assert_eq!(
            no_provider.require_participants(),
            Err(PactError::MissingParticipant("provider"))
        );
        assert!(matches!(
            PactDocument::parse_base64("not base64!"),
            Err(PactError::NotBase64(_))
        ));
    }

    #[test]
    fn merge_appends_new_interactions_and_refuses_changed_ones() {
        let existing = pact(example()).into_stored();
        let addition = pact(json!({
            "consumer": {"name": "Foo"}, "provider": {"name": "Bar"},
            "interactions": [
                {"description": "a", "request": {"method": "GET", "path": "/a"}, "response": {"status": 200}},
                {"description": "c", "request": {"method": "GET", "path": "/c"}, "response": {"status": 200}}
            ]
        }));
        let merged = merge(&existing, &addition).unwrap();
        assert_eq!(merged.interactions_count(), 3);
        let huge = serde_json::json!({"consumer": {"name": "a"}, "provider": {"name": "b"},
            "interactions": vec![serde_json::json!({}); MAX_INTERACTIONS + 1]});
        assert_eq!(
            PactDocument::from_value(huge),
            Err(PactError::TooManyInteractions(MAX_INTERACTIONS + 1))
        );
        let changed = pact(json!({
            "interactions": [{"description": "a", "request": {"method": "GET", "path": "/a"}, "response": {"status": 500}}]
        }));
        assert_eq!(merge(&existing, &changed).unwrap_err().description, "a");
    }

    #[test]
    fn merge_matches_interactions_given_twice_in_one_addition() {
        let existing = pact(example()).into_stored();
        let twice = pact(json!({
            "interactions": [
                {"description": "c", "request": {"method": "GET", "path": "/c"}, "response": {"status": 200}},
                {"description": "c", "request": {"method": "GET", "path": "/c"}, "response": {"status": 200}}
            ]
        }));
        let merged = merge(&existing, &twice).unwrap();
        assert_eq!(merged.interactions_count(), 3, "kept once");
        let clashing = pact(json!({
            "interactions": [
                {"description": "c", "request": {"method": "GET", "path": "/c"}, "response": {"status": 200}},
                {"description": "c", "request": {"method": "GET", "path": "/c"}, "response": {"status": 404}}
            ]
        }));
        assert_eq!(merge(&existing, &clashing).unwrap_err().description, "c");
    }
}
