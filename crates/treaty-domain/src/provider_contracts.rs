//! Bi-directional contracts: a provider version's OpenAPI document with the
//! result of the provider's own tests against it, as PactFlow's clients
//! publish it (`pact pactflow publish-provider-contract`, the Ruby
//! `pactflow publish-provider-contract`), and what storage keeps of it.
//!
//! Whether the document is a usable OpenAPI document is decided by
//! `treaty_comparator::ProviderContract::parse`; this module reads the
//! request around it.

use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::{BranchName, PacticipantName, TagName, VersionNumber};

/// The provider's own test result against its document.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SelfVerification {
    /// Absent from the request counts as failed: nothing says the provider
    /// is tested against its document.
    pub success: bool,
    /// The test report, decoded from base64 (shown, never interpreted).
    pub content: Option<String>,
    pub content_type: Option<String>,
    pub format: Option<String>,
    pub verifier: Option<String>,
    pub verifier_version: Option<String>,
}

/// A validated publication of a provider contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderContractPublication {
    pub provider: PacticipantName,
    pub version: VersionNumber,
    pub branch: Option<BranchName>,
    pub tags: Vec<TagName>,
    pub build_url: Option<String>,
    /// The document as published (YAML or JSON text).
    pub content: String,
    pub content_type: String,
    pub specification: String,
    pub self_verification: SelfVerification,
}

impl ProviderContractPublication {
    /// The content's identity: comparisons are kept once per pair of these.
    pub fn sha(&self) -> String {
        content_sha(&self.content)
    }
}

/// SHA-256 of a document's bytes, in hex.
pub fn content_sha(content: &str) -> String {
    Sha256::digest(content.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A provider contract as stored, for a provider version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredProviderContract {
    pub provider: String,
    pub version: String,
    pub sha: String,
    pub content: String,
    pub content_type: String,
    pub specification: String,
    pub self_verification: SelfVerification,
    pub build_url: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// What a publication did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderContractOutcome {
    pub version_created: bool,
    /// The comparisons it queued (pairs already compared are not).
    pub comparisons_queued: usize,
}

/// A comparison to compute, claimed by one worker: the two contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComparisonWork {
    pub id: i64,
    pub pact_sha: String,
    pub contract_sha: String,
    /// `None` when the content was removed since it was queued.
    pub pact: Option<String>,
    pub contract: Option<(String, String)>,
}

/// A pact compared with a provider contract, as the comparison's page shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ComparisonReport {
    pub consumer: String,
    pub consumer_version: String,
    pub provider: String,
    pub provider_version: String,
    pub pact_sha: String,
    pub contract: StoredProviderContract,
    /// `None` until the comparison is computed.
    pub outcome: Option<ComparisonOutcome>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ComparisonOutcome {
    pub success: bool,
    /// PactFlow's `Result` shape: code, message, mockDetails, specDetails, type.
    pub findings: Value,
    pub compared_at: DateTime<Utc>,
}

/// Problems with a request, by field (the clients read `errors`).
pub type FieldErrors = Map<String, Value>;

fn add(problems: &mut FieldErrors, field: &str, message: impl Into<String>) {
    let entry = problems
        .entry(field.to_owned())
        .or_insert_with(|| Value::Array(Vec::new()));
    if let Value::Array(messages) = entry {
        messages.push(Value::String(message.into()));
    }
}

fn string_at<'a>(
    body: &'a Value,
    path: &str,
    key: &str,
    required: bool,
    problems: &mut FieldErrors,
) -> Option<&'a str> {
    let field = if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    };
    match body.get(key) {
        None | Some(Value::Null) => {
            if required {
                add(problems, &field, "is missing");
            }
            None
        }
        Some(Value::String(s)) if s.trim().is_empty() => {
            add(problems, &field, "cannot be blank");
            None
        }
        Some(Value::String(s)) => Some(s),
        Some(_) => {
            add(problems, &field, "must be a string");
            None
        }
    }
}

fn decode(encoded: &str, field: &str, problems: &mut FieldErrors) -> Option<String> {
    let bytes = match base64::engine::general_purpose::STANDARD.decode(encoded.trim()) {
        Ok(bytes) => bytes,
        Err(error) => {
            add(problems, field, format!("is not valid Base64: {error}"));
            return None;
        }
    };
    match String::from_utf8(bytes) {
        Ok(text) => Some(text),
        Err(_) => {
            add(problems, field, "is not UTF-8 text once decoded");
            None
        }
    }
}

/// Which request shape: the current `POST .../publish` or the older
/// `PUT /contracts/provider/{provider}/version/{version}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestShape {
    /// `{pacticipantVersionNumber, branch, tags, buildUrl, contract: {content,
    /// contentType, specification, selfVerificationResults}}`.
    Publish,
    /// `{content, contentType, contractType, verificationResults}`; the
    /// version is in the path, branch and tags were set before.
    OldPut,
}

/// Reads a publication request, reporting every problem at once. `version`
/// is the path's version for [`RequestShape::OldPut`].
pub fn parse_publication(
    provider: PacticipantName,
    version: Option<&str>,
    body: &Value,
    shape: RequestShape,
) -> Result<ProviderContractPublication, FieldErrors> {
    let mut problems = FieldErrors::new();
    if !body.is_object() {
        add(&mut problems, "", "the request body must be a JSON object");
        return Err(problems);
    }
    let (version_field, raw_version) = match shape {
        RequestShape::Publish => (
            "pacticipantVersionNumber",
            string_at(body, "", "pacticipantVersionNumber", true, &mut problems),
        ),
        RequestShape::OldPut => ("version", version),
    };
    let version = raw_version.and_then(|raw| {
        VersionNumber::parse(raw)
            .map_err(|e| add(&mut problems, version_field, e.to_string()))
            .ok()
    });
    let mut branch = None;
    let mut tags = Vec::new();
    let mut build_url = None;
    if shape == RequestShape::Publish {
        branch = string_at(body, "", "branch", false, &mut problems).and_then(|raw| {
            BranchName::parse(raw)
                .map_err(|e| add(&mut problems, "branch", e.to_string()))
                .ok()
        });
        build_url = string_at(body, "", "buildUrl", false, &mut problems).and_then(|raw| {
            match crate::names::forbidden_character(raw) {
                Some(found) => {
                    add(&mut problems, "buildUrl", format!("contains {found}"));
                    None
                }
                None => Some(raw.to_owned()),
            }
        });
        match body.get("tags") {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                for (index, item) in items.iter().enumerate() {
                    match item.as_str().map(TagName::parse) {
                        Some(Ok(tag)) => tags.push(tag),
                        Some(Err(e)) => {
                            add(&mut problems, "tags", format!("{e} (at index {index})"));
                        }
                        None => add(
                            &mut problems,
                            "tags",
                            format!("must be a string (at index {index})"),
                        ),
                    }
                }
            }
            Some(_) => add(&mut problems, "tags", "must be an array of strings"),
        }
    }
    let (path, contract, specification_key, results_key) = match shape {
        RequestShape::Publish => match body.get("contract") {
            Some(contract @ Value::Object(_)) => (
                "contract",
                contract,
                "specification",
                "selfVerificationResults",
            ),
            None | Some(Value::Null) => {
                add(&mut problems, "contract", "is missing");
                return Err(problems);
            }
            Some(_) => {
                add(&mut problems, "contract", "must be an object");
                return Err(problems);
            }
        },
        RequestShape::OldPut => ("", body, "contractType", "verificationResults"),
    };
    let at = |key: &str| {
        if path.is_empty() {
            key.to_owned()
        } else {
            format!("{path}.{key}")
        }
    };
    let content = string_at(contract, path, "content", true, &mut problems)
        .and_then(|encoded| decode(encoded, &at("content"), &mut problems));
    let content_type = string_at(contract, path, "contentType", false, &mut problems)
        .unwrap_or("application/yaml")
        .to_owned();
    if !content_type.contains("yaml") && !content_type.contains("json") {
        add(
            &mut problems,
            &at("contentType"),
            format!(
                "must be a YAML or JSON media type, such as application/yaml or application/json (got '{content_type}')"
            ),
        );
    }
    let specification = string_at(contract, path, specification_key, false, &mut problems)
        .unwrap_or("oas")
        .to_owned();
    if !specification.eq_ignore_ascii_case("oas") {
        add(
            &mut problems,
            &at(specification_key),
            format!("must be oas, an OpenAPI document (got '{specification}')"),
        );
    }
    let results_path = at(results_key);
    let self_verification = match contract.get(results_key) {
        None | Some(Value::Null) => SelfVerification::default(),
        Some(results @ Value::Object(_)) => {
            let success = match results.get("success") {
                Some(Value::Bool(success)) => *success,
                None | Some(Value::Null) => false,
                Some(_) => {
                    add(
                        &mut problems,
                        &format!("{results_path}.success"),
                        "must be true or false",
                    );
                    false
                }
            };
            let mut text = |key: &str| {
                string_at(results, &results_path, key, false, &mut problems).map(str::to_owned)
            };
            let content = text("content");
            let content_type = text("contentType");
            let format = text("format");
            let verifier = text("verifier");
            let verifier_version = text("verifierVersion");
            let content = content.and_then(|encoded| {
                decode(&encoded, &format!("{results_path}.content"), &mut problems)
            });
            SelfVerification {
                success,
                content,
                content_type,
                format,
                verifier,
                verifier_version,
            }
        }
        Some(_) => {
            add(&mut problems, &results_path, "must be an object");
            SelfVerification::default()
        }
    };
    match (version, content) {
        (Some(version), Some(content)) if problems.is_empty() => Ok(ProviderContractPublication {
            provider,
            version,
            branch,
            tags,
            build_url,
            content,
            content_type,
            specification: specification.to_ascii_lowercase(),
            self_verification,
        }),
        _ => Err(problems),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn encode(text: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(text)
    }

    fn provider() -> PacticipantName {
        PacticipantName::parse("Bar").unwrap()
    }

    #[test]
    fn reads_what_the_clients_send() {
        let body = json!({
            "pacticipantVersionNumber": "1", "branch": "main", "tags": ["dev"], "buildUrl": "http://build",
            "contract": {"content": encode("openapi: 3.0.0\n"), "contentType": "application/yaml", "specification": "oas",
              "selfVerificationResults": {"success": true, "content": encode("all good"), "contentType": "text/plain",
                "format": "text", "verifier": "my tool", "verifierVersion": "1.0"}}
        });
        let publication =
            parse_publication(provider(), None, &body, RequestShape::Publish).unwrap();
        assert_eq!(publication.version.as_str(), "1");
        assert_eq!(publication.content, "openapi: 3.0.0\n");
        assert!(publication.self_verification.success);
        assert_eq!(
            publication.self_verification.content.as_deref(),
            Some("all good")
        );
        assert_eq!(publication.tags.len(), 1);
    }

    #[test]
    fn reads_the_older_put() {
        let body = json!({"content": encode("{}"), "contentType": "application/json", "contractType": "oas",
            "verificationResults": {"success": false, "verifier": "x"}});
        let publication =
            parse_publication(provider(), Some("2"), &body, RequestShape::OldPut).unwrap();
        assert_eq!(publication.version.as_str(), "2");
        assert!(!publication.self_verification.success);
    }

    #[test]
    fn reports_every_problem_by_field() {
        let body = json!({"contract": {"content": "%%%", "specification": "pact", "contentType": "text/html",
            "selfVerificationResults": {"success": "yes"}}});
        let errors = parse_publication(provider(), None, &body, RequestShape::Publish).unwrap_err();
        for field in [
            "pacticipantVersionNumber",
            "contract.content",
            "contract.specification",
            "contract.contentType",
            "contract.selfVerificationResults.success",
        ] {
            assert!(errors.contains_key(field), "{field}: {errors:?}");
        }
    }
}
