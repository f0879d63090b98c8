//! The checks of one HTTP interaction against the document, in PactFlow's
//! order and with its codes: path and method, path parameters (a mismatch
//! there means "no such path" and ends the comparison of the interaction),
//! security, request headers and content negotiation, query, request body,
//! response headers, response status and body.
//!
//! As in PactFlow, a request is only checked in depth when its response is
//! a success (status below 400): a consumer may test how the provider answers
//! a request the document does not allow.

use serde_json::Value;

use crate::document::{deref_pointer, escape};
use crate::media;
use crate::operations::{Operation, parameter};
use crate::pact::Interaction;
use crate::translate::Mode;
use crate::validate::Compiled;
use crate::{Contract, Finding, MockDetails, Severity, SpecDetails};

mod request;
mod response;

const DEFAULT_CONTENT_TYPE: &str = "application/json";

/// Header names lower-cased and sorted, repeated names joined (what a
/// `Headers` object does in PactFlow's comparator).
struct Headers(Vec<(String, String)>);

impl Headers {
    fn new(raw: &[(String, String)]) -> Self {
        let mut merged: Vec<(String, String)> = Vec::new();
        for (name, value) in raw {
            let name = name.to_ascii_lowercase();
            match merged.iter_mut().find(|(existing, _)| *existing == name) {
                Some((_, existing)) => {
                    existing.push_str(", ");
                    existing.push_str(value);
                }
                None => merged.push((name, value.trim().to_owned())),
            }
        }
        merged.sort_by(|a, b| a.0.cmp(&b.0));
        Self(merged)
    }

    fn get(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.0
            .iter()
            .find(|(existing, _)| *existing == name)
            .map(|(_, value)| value.as_str())
    }

    fn delete(&mut self, name: &str) {
        let name = name.to_ascii_lowercase();
        self.0.retain(|(existing, _)| *existing != name);
    }
}

pub(crate) struct Check<'a> {
    contract: &'a Contract,
    interaction: &'a Interaction,
    findings: Vec<Finding>,
}

/// Where a finding is in the document, and what is there.
struct Spec {
    location: String,
    operation: bool,
    value: Value,
}

impl<'a> Check<'a> {
    pub fn run(contract: &'a Contract, interaction: &'a Interaction) -> Vec<Finding> {
        let mut check = Self {
            contract,
            interaction,
            findings: Vec::new(),
        };
        check.interaction();
        check.findings
    }

    fn document(&self) -> &'a Value {
        &self.contract.document
    }

    fn valid_request(&self) -> bool {
        self.interaction.status < 400
    }

    fn mock_location(&self, rest: &str) -> String {
        format!("[root].interactions[{}].{rest}", self.interaction.index)
    }

    fn push(
        &mut self,
        code: &str,
        message: String,
        severity: Severity,
        mock: (String, Value),
        spec: Spec,
        route: Option<&Operation>,
    ) {
        let (path_method, path_name) = match (spec.operation, route) {
            (true, Some(operation)) => {
                (Some(operation.method.clone()), Some(operation.path.clone()))
            }
            _ => (None, None),
        };
        self.findings.push(Finding {
            code: code.to_owned(),
            message,
            mock_details: Some(MockDetails {
                interaction_description: self.interaction.description.clone(),
                interaction_state: Some(
                    self.interaction
                        .provider_state
                        .clone()
                        .unwrap_or_else(|| "[none]".to_owned()),
                ),
                location: mock.0,
                value: mock.1,
            }),
            spec_details: Some(SpecDetails {
                location: spec.location,
                path_method,
                path_name,
                value: spec.value,
            }),
            severity,
        });
    }

    fn interaction(&mut self) {
        let interaction = self.interaction;
        let path = if interaction.path.starts_with('/') {
            interaction.path.clone()
        } else {
            format!("/{}", interaction.path)
        };
        let route = if path.contains('?') {
            None
        } else {
            self.contract.router.find(&interaction.method, &path)
        };
        let Some(route) = route else {
            self.path_unknown(&interaction.method, None);
            return;
        };
        if self.request_path(&route) {
            return;
        }
        let operation = route.operation;
        self.security(operation);
        let content_type_incompatible = self.request_headers(operation);
        self.query(operation);
        if !content_type_incompatible {
            self.request_body(operation);
        }
        let response_content_type_incompatible = self.response_headers(operation);
        if !response_content_type_incompatible {
            self.response_body(operation);
        }
    }

    fn path_unknown(&mut self, method: &str, operation: Option<Value>) {
        let message = format!(
            "Path or method not defined in spec file: {method} {}",
            self.interaction.path
        );
        let mock = (
            self.mock_location("request.path"),
            Value::String(self.interaction.path.clone()),
        );
        let spec = Spec {
            location: "[root].paths".to_owned(),
            operation: false,
            value: operation.unwrap_or(Value::Null),
        };
        self.push(
            "request.path-or-method.unknown",
            message,
            Severity::Error,
            mock,
            spec,
            None,
        );
    }

    fn operation_value(&self, operation: &Operation) -> Value {
        self.document()
            .pointer(&operation.pointer)
            .cloned()
            .unwrap_or(Value::Null)
    }

    fn operation_spec(&self, operation: &Operation) -> Spec {
        Spec {
            location: format!("[root].paths.{}.{}", operation.path, operation.method),
            operation: true,
            value: self.operation_value(operation),
        }
    }

    fn schema_of(&self, parameter_pointer: &str) -> (String, bool) {
        let parameter = parameter(self.document(), parameter_pointer);
        if parameter.get("schema").is_some() {
            (format!("{parameter_pointer}/schema"), false)
        } else {
            (parameter_pointer.to_owned(), true)
        }
    }

    fn compiled(&self, pointer: &str, mode: Mode, itself: bool) -> std::sync::Arc<Compiled> {
        self.contract.validators.get(pointer, mode, itself)
    }

    fn request_body_pointer(&self, operation: &Operation) -> Option<String> {
        let pointer = format!("{}/requestBody", operation.pointer);
        self.document()
            .pointer(&pointer)
            .map(|_| deref_pointer(self.document(), &pointer))
    }

    fn content_keys(&self, pointer: Option<&str>) -> Vec<String> {
        pointer
            .and_then(|pointer| self.document().pointer(pointer))
            .and_then(|value| value.get("content"))
            .and_then(Value::as_object)
            .map(|content| content.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// The Content-Type of one side of the interaction against the media
    /// types the operation gives that side: a warning when the spec gives
    /// none, an error when none matches. Whether it was incompatible (the
    /// body is then not checked).
    fn content_type(
        &mut self,
        operation: &Operation,
        side: &ContentTypeSide,
        header: Option<&str>,
        content_type: &str,
        available: &[String],
    ) -> bool {
        if content_type.is_empty() {
            return false;
        }
        let mock = (
            self.mock_location(&format!("{}.headers.content-type", side.side)),
            json_text(header),
        );
        if available.is_empty() {
            let spec = self.operation_spec(operation);
            self.push(
                &format!("{}.content-type.unknown", side.side),
                side.unknown.to_owned(),
                Severity::Warning,
                mock,
                spec,
                Some(operation),
            );
            return false;
        }
        if media::find_matching_type(content_type, available).is_some() {
            return false;
        }
        let spec = Spec {
            location: side.spec_location.clone(),
            operation: true,
            value: strings(available),
        };
        self.push(
            &format!("{}.content-type.incompatible", side.side),
            side.incompatible.to_owned(),
            Severity::Error,
            mock,
            spec,
            Some(operation),
        );
        true
    }

    fn response_pointer(&self, operation: &Operation, key: &str) -> Option<String> {
        let pointer = format!("{}/responses/{}", operation.pointer, escape(key));
        self.document()
            .pointer(&pointer)
            .map(|_| deref_pointer(self.document(), &pointer))
    }
}

/// What differs between the request's and the response's Content-Type check.
struct ContentTypeSide {
    /// `request` or `response`: the prefix of the codes and the mock location.
    side: &'static str,
    unknown: &'static str,
    incompatible: &'static str,
    /// Where the spec lists the side's media types.
    spec_location: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ResponseMatch {
    Exact,
    Class,
    Default,
}

fn json_text(text: Option<&str>) -> Value {
    text.map_or(Value::Null, |text| Value::String(text.to_owned()))
}

fn strings(list: &[String]) -> Value {
    Value::Array(
        list.iter()
            .map(|text| Value::String(text.clone()))
            .collect(),
    )
}

fn type_text(kind: &Value) -> String {
    match kind {
        Value::String(text) => text.clone(),
        Value::Array(list) => list
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(","),
        _ => "present".to_owned(),
    }
}
