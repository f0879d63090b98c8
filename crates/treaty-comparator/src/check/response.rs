//! The response's checks: status, headers and content type, body.

use serde_json::Value;

use super::{Check, ContentTypeSide, DEFAULT_CONTENT_TYPE, Headers, ResponseMatch, Spec};
use crate::Severity;
use crate::document::{deref_pointer, escape};
use crate::media::{STANDARD_RESPONSE_HEADERS, essence, find_matching_type, is_validatable};
use crate::operations::Operation;
use crate::pact::is_falsy;
use crate::translate::Mode;

impl Check<'_> {
    /// The response the document gives for the pact's status: the exact code,
    /// else its class (`2XX`), else `default`; and which of the three it was.
    fn response_for(&self, operation: &Operation) -> Option<(String, ResponseMatch)> {
        let status = self.interaction.status;
        if let Some(pointer) = self.response_pointer(operation, &status.to_string()) {
            return Some((pointer, ResponseMatch::Exact));
        }
        if let Some(pointer) =
            self.response_pointer(operation, &format!("{}XX", status.div_euclid(100)))
        {
            return Some((pointer, ResponseMatch::Class));
        }
        self.response_pointer(operation, "default")
            .map(|pointer| (pointer, ResponseMatch::Default))
    }

    /// Returns whether the response's Content-Type is incompatible (its body
    /// is then not checked).
    pub(super) fn response_headers(&mut self, operation: &Operation) -> bool {
        let interaction = self.interaction;
        let Some((response_pointer, _)) = self.response_for(operation) else {
            return false;
        };
        let status = interaction.status;
        let available = operation
            .produces
            .clone()
            .unwrap_or_else(|| self.content_keys(Some(response_pointer.as_str())));
        let mut headers = Headers::new(&interaction.response_headers);
        let header = headers.get("content-type").map(str::to_owned);
        let content_type = header.as_deref().map(essence).unwrap_or("").to_owned();
        let incompatible = self.content_type(
            operation,
            &ContentTypeSide {
                side: "response",
                unknown: "Response Content-Type header is defined but the spec does not specify any mime-types to produce",
                incompatible: "Response Content-Type header is incompatible with the mime-types the spec defines to produce",
                spec_location: format!(
                    "[root].paths.{}.{}.responses.{status}.content",
                    operation.path, operation.method
                ),
            },
            header.as_deref(),
            &content_type,
            &available,
        );
        headers.delete("content-type");

        let declared: Vec<String> = self
            .document()
            .pointer(&format!("{response_pointer}/headers"))
            .and_then(Value::as_object)
            .map(|map| map.keys().cloned().collect())
            .unwrap_or_default();
        for name in declared {
            let header_pointer = deref_pointer(
                self.document(),
                &format!("{response_pointer}/headers/{}", escape(&name)),
            );
            let Some(definition) = self.document().pointer(&header_pointer) else {
                continue;
            };
            let (schema_pointer, itself) = if definition.get("schema").is_some() {
                (format!("{header_pointer}/schema"), false)
            } else {
                (header_pointer.clone(), true)
            };
            if let Some(value) = headers.get(&name).map(str::to_owned) {
                let compiled = self.compiled(&schema_pointer, Mode::Parameter, itself);
                let coerced = compiled.coerce(Value::String(value));
                let schema_id = format!(
                    "[root].paths.{}.{}.responses.{status}.headers.{name}",
                    operation.path, operation.method
                );
                for problem in compiled.problems(&coerced) {
                    let spec = Spec {
                        location: format!("{schema_id}.schema.{}", problem.schema_location),
                        operation: true,
                        value: problem.schema_value,
                    };
                    self.push(
                        "response.header.incompatible",
                        format!(
                            "Value is incompatible with the parameter defined in the spec file: {}",
                            problem.message
                        ),
                        Severity::Error,
                        (
                            self.mock_location(&format!(
                                "response.headers.{name}{}",
                                problem.instance_location
                            )),
                            problem.value,
                        ),
                        spec,
                        Some(operation),
                    );
                }
            }
            headers.delete(&name);
        }
        for standard in STANDARD_RESPONSE_HEADERS {
            if headers.get(standard).is_some() {
                let spec = self.operation_spec(operation);
                self.push(
                    "response.header.undefined",
                    format!(
                        "Standard http response header is not defined in the spec file: {standard}"
                    ),
                    Severity::Warning,
                    (
                        self.mock_location(&format!("response.headers.{standard}")),
                        interaction.request_headers_value.clone(),
                    ),
                    spec,
                    Some(operation),
                );
            }
            headers.delete(standard);
        }
        for (name, value) in std::mem::take(&mut headers.0) {
            let exact = self.response_pointer(operation, &status.to_string());
            let declared = exact.and_then(|pointer| {
                self.document()
                    .pointer(&format!("{pointer}/headers"))
                    .cloned()
            });
            let spec = Spec {
                location: format!(
                    "[root].paths.{}.{}.responses.{status}.headers",
                    operation.path, operation.method
                ),
                operation: true,
                value: declared.unwrap_or(Value::Null),
            };
            self.push(
                "response.header.unknown",
                format!("Response header is not defined in the spec file: {name}"),
                Severity::Error,
                (
                    self.mock_location(&format!("response.headers.{name}")),
                    Value::String(value),
                ),
                spec,
                Some(operation),
            );
        }
        incompatible
    }

    pub(super) fn response_body(&mut self, operation: &Operation) {
        let interaction = self.interaction;
        let status = interaction.status;
        let responses = self
            .document()
            .pointer(&format!("{}/responses", operation.pointer))
            .cloned()
            .unwrap_or(Value::Null);
        let Some((response_pointer, matched)) = self.response_for(operation) else {
            let spec = Spec {
                location: format!(
                    "[root].paths.{}.{}.responses",
                    operation.path, operation.method
                ),
                operation: true,
                value: responses,
            };
            self.push(
                "response.status.unknown",
                format!("Response status code not defined in spec file: {status}"),
                Severity::Error,
                (self.mock_location("response.status"), Value::from(status)),
                spec,
                Some(operation),
            );
            return;
        };
        let headers = Headers::new(&interaction.request_headers);
        let available = operation
            .produces
            .clone()
            .unwrap_or_else(|| self.content_keys(Some(response_pointer.as_str())));
        let accept = headers
            .get("accept")
            .filter(|accept| !accept.is_empty())
            .unwrap_or(DEFAULT_CONTENT_TYPE);
        let content_type = find_matching_type(accept, &available)
            .map(str::to_owned)
            .or_else(|| available.first().cloned())
            .unwrap_or_else(|| DEFAULT_CONTENT_TYPE.to_owned());
        let swagger_schema = format!("{response_pointer}/schema");
        let schema_pointer = if self.document().pointer(&swagger_schema).is_some() {
            Some(swagger_schema)
        } else {
            let keys = self.content_keys(Some(response_pointer.as_str()));
            find_matching_type(&content_type, &keys)
                .map(|key| format!("{response_pointer}/content/{}/schema", escape(key)))
                .filter(|pointer| self.document().pointer(pointer).is_some())
        };
        if matched == ResponseMatch::Default {
            let spec = Spec {
                location: format!(
                    "[root].paths.{}.{}.responses",
                    operation.path, operation.method
                ),
                operation: true,
                value: responses,
            };
            self.push(
                "response.status.default",
                format!("Response status code matched default response in spec file: {status}"),
                Severity::Warning,
                (self.mock_location("response.status"), Value::from(status)),
                spec,
                Some(operation),
            );
        }
        let body = interaction.response_body.as_ref();
        let content_spec = || Spec {
            location: format!(
                "[root].paths.{}.{}.responses.{status}.content",
                operation.path, operation.method
            ),
            operation: true,
            value: Value::Null,
        };
        if !is_validatable(&content_type) {
            if let Some(body) = body {
                let mut spec = content_spec();
                spec.value = self
                    .document()
                    .pointer(&format!("{response_pointer}/content"))
                    .cloned()
                    .unwrap_or(Value::Null);
                self.push(
                    "response.body.unvalidatable",
                    format!("Body with content type '{content_type}' is not supported by the spec comparator"),
                    Severity::Warning,
                    (self.mock_location("response.body"), body.clone()),
                    spec,
                    Some(operation),
                );
            }
            return;
        }
        let Some(body) = body.filter(|body| !is_falsy(body)) else {
            return;
        };
        let Some(schema_pointer) = schema_pointer else {
            let mut spec = content_spec();
            spec.value = self
                .document()
                .pointer(&format!("{response_pointer}/content"))
                .cloned()
                .unwrap_or(Value::Null);
            self.push(
                "response.body.unknown",
                "No matching schema found for response body".to_owned(),
                Severity::Error,
                (self.mock_location("response.body"), body.clone()),
                spec,
                Some(operation),
            );
            return;
        };
        let compiled = self.compiled(&schema_pointer, Mode::Response, false);
        let schema_id = format!(
            "[root].paths.{}.{}.responses.{status}.content.{content_type}",
            operation.path, operation.method
        );
        for problem in compiled.problems(body) {
            let spec = Spec {
                location: format!("{schema_id}.schema.{}", problem.schema_location),
                operation: true,
                value: problem.schema_value,
            };
            self.push(
                "response.body.incompatible",
                format!("Response body is incompatible with the response body schema in the spec file: {}", problem.message),
                Severity::Error,
                (self.mock_location(&format!("response.body{}", problem.instance_location)), problem.value),
                spec,
                Some(operation),
            );
        }
    }
}
