//! Bi-directional contracts: does a provider's OpenAPI document satisfy a
//! consumer's pact?
//!
//! Pure and synchronous (no IO): the server parses a published document once
//! with [`ProviderContract::parse`] (a bad document is the publisher's 400) and
//! compares it with pacts through [`compare`]. Findings use the codes and the
//! JSON shape of PactFlow's comparator (`@pactflow/openapi-pact-comparator`),
//! so people moving from PactFlow read the same words.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

mod check;
mod document;
mod media;
mod operations;
mod pact;
mod params;
mod translate;
mod validate;

pub use document::OpenApiVersion;

/// A provider's OpenAPI document (2.0, 3.0 or 3.1), parsed and checked.
///
/// Cheap to clone and shareable across threads: the schemas it compiles on
/// first use are kept for every later comparison with it.
#[derive(Debug, Clone)]
pub struct ProviderContract {
    inner: Arc<Contract>,
}

/// What one parsed document holds for the comparisons.
#[derive(Debug)]
pub(crate) struct Contract {
    pub(crate) document: Arc<serde_json::Value>,
    pub(crate) version: OpenApiVersion,
    pub(crate) router: operations::Router,
    pub(crate) validators: validate::Validators,
}

/// Why a published document cannot be used as a provider contract. The
/// message says what is wrong and how to fix it; the server answers 400 with it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ContractError {
    #[error("{0}")]
    Invalid(String),
}

impl ProviderContract {
    /// Parses a document given as JSON or YAML (`content_type` is a hint such
    /// as `application/yaml`; the bytes decide when it is absent).
    ///
    /// Refused, with a message that says why: a document that is not JSON or
    /// YAML (with the line), not OpenAPI, of an unsupported version, whose
    /// `$ref`s lead nowhere, or that is hostile (over 16 MiB, nested deeper
    /// than 128 levels, YAML aliases that expand without bound).
    pub fn parse(bytes: &[u8], content_type: Option<&str>) -> Result<Self, ContractError> {
        let document = document::load(bytes, content_type)?;
        let version = document::version(&document)?;
        let ids = document::schema_ids(&document);
        document::check_refs(&document, &ids)?;
        let router = operations::Router::new(&document, version);
        let document = Arc::new(document);
        let validators = validate::Validators::new(document.clone(), ids, version);
        Ok(Self {
            inner: Arc::new(Contract {
                document,
                version,
                router,
                validators,
            }),
        })
    }

    /// The document as JSON (what the UI shows).
    pub fn document(&self) -> &serde_json::Value {
        &self.inner.document
    }

    /// The OpenAPI version the document declares.
    pub fn version(&self) -> OpenApiVersion {
        self.inner.version
    }
}

/// Whether a finding fails the comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// Where in the pact a finding is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MockDetails {
    pub interaction_description: Option<String>,
    pub interaction_state: Option<String>,
    /// For example `[root].interactions[0].response.body.id`.
    pub location: String,
    pub value: serde_json::Value,
}

/// Where in the OpenAPI document a finding is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SpecDetails {
    /// For example `[root].paths./pets/{id}.get.responses.200`.
    pub location: String,
    pub path_method: Option<String>,
    pub path_name: Option<String>,
    pub value: serde_json::Value,
}

/// One mismatch (error) or doubt (warning), shaped like PactFlow's `Result`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// PactFlow's code, for example `request.path-or-method.unknown`.
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mock_details: Option<MockDetails>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spec_details: Option<SpecDetails>,
    #[serde(rename = "type")]
    pub severity: Severity,
}

/// The outcome of comparing one pact with one provider contract.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub findings: Vec<Finding>,
}

impl Comparison {
    /// Compatible when no finding is an error (warnings do not fail).
    pub fn is_compatible(&self) -> bool {
        self.findings
            .iter()
            .all(|finding| finding.severity != Severity::Error)
    }

    /// The findings that fail the comparison.
    pub fn errors(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|finding| finding.severity == Severity::Error)
    }
}

/// Compares a pact (any specification 2 to 4; its non-HTTP interactions are
/// skipped) with a provider contract.
///
/// An HTTP interaction the comparison cannot read (no method, path or
/// status) is an error finding of Treaty's own code `pact.interaction.malformed`,
/// where PactFlow's comparator rejects the whole pact.
pub fn compare(contract: &ProviderContract, pact: &serde_json::Value) -> Comparison {
    let mut findings = Vec::new();
    for entry in pact::interactions(pact) {
        match entry {
            pact::Entry::Http(interaction) => {
                findings.extend(check::Check::run(&contract.inner, &interaction))
            }
            pact::Entry::Malformed(malformed) => findings.push(Finding {
                code: "pact.interaction.malformed".to_owned(),
                message: format!("Interaction cannot be compared: {}", malformed.reason),
                mock_details: Some(MockDetails {
                    interaction_description: malformed.description,
                    interaction_state: None,
                    location: format!("[root].interactions[{}]", malformed.index),
                    value: serde_json::Value::Null,
                }),
                spec_details: None,
                severity: Severity::Error,
            }),
        }
    }
    Comparison { findings }
}
