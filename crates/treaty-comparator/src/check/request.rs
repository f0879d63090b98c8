//! The request's checks: path parameters, security, headers and content
//! negotiation, query, body.

use serde_json::{Map, Value};

use super::{
    Check, ContentTypeSide, DEFAULT_CONTENT_TYPE, Headers, Spec, json_text, strings, type_text,
};
use crate::Severity;
use crate::document::{deref, escape};
use crate::media::{STANDARD_REQUEST_HEADERS, essence, find_matching_type, is_validatable};
use crate::operations::{Operation, Route, parameter};
use crate::pact::is_falsy;
use crate::params::{parse_query, parse_value};
use crate::translate::Mode;

impl Check<'_> {
    /// Path parameters of the wrong type mean the path is not the document's.
    pub(super) fn request_path(&mut self, route: &Route<'_>) -> bool {
        let operation = route.operation;
        let mut failed = false;
        for pointer in &operation.parameters {
            let parameter = parameter(self.document(), pointer);
            if parameter.get("in").and_then(Value::as_str) != Some("path") {
                continue;
            }
            let name = parameter.get("name").and_then(Value::as_str).unwrap_or("");
            let Some((_, raw)) = route
                .parameters
                .iter()
                .find(|(template_name, _)| template_name == name)
            else {
                continue;
            };
            let schema = parameter.get("schema").unwrap_or(parameter);
            let value = if schema.get("type").and_then(Value::as_str) == Some("string") {
                Value::String(raw.clone())
            } else {
                parse_value(raw)
            };
            let value = match (&value, schema.get("type").and_then(Value::as_str)) {
                (Value::String(text), Some("array")) => {
                    let style = parameter
                        .get("style")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_ascii_lowercase();
                    let explode = parameter.get("explode") == Some(&Value::Bool(true));
                    let separator = match (style.as_str(), explode) {
                        ("label", true) => '.',
                        ("matrix", true) => ';',
                        _ => ',',
                    };
                    Value::Array(
                        text.split(separator)
                            .map(|part| Value::String(part.to_owned()))
                            .collect(),
                    )
                }
                _ => value,
            };
            let (schema_pointer, itself) = self.schema_of(pointer);
            let compiled = self.compiled(&schema_pointer, Mode::Parameter, itself);
            let problems = compiled.problems(&compiled.coerce(value));
            for _ in problems {
                failed = true;
                let method = operation.method.to_ascii_uppercase();
                let value = self.operation_value(operation);
                self.path_unknown(&method, Some(value));
            }
        }
        failed
    }

    fn security_schemes(&self) -> Map<String, Value> {
        let document = self.document();
        let schemes = document
            .get("securityDefinitions")
            .or_else(|| document.pointer("/components/securitySchemes"));
        schemes
            .and_then(Value::as_object)
            .map(|schemes| {
                schemes
                    .iter()
                    .map(|(name, scheme)| (name.clone(), deref(document, scheme).clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The names of the API keys the operation's security sends `place`
    /// (`header` or `query`): those are not unknown parameters.
    fn api_keys(&self, operation: &Operation, place: &str) -> Vec<String> {
        let schemes = self.security_schemes();
        let mut names = Vec::new();
        for requirement in &operation.security {
            for name in requirement.keys() {
                if let Some(scheme) = schemes.get(name)
                    && scheme.get("type").and_then(Value::as_str) == Some("apiKey")
                    && scheme.get("in").and_then(Value::as_str) == Some(place)
                {
                    names.push(
                        scheme
                            .get("name")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_owned(),
                    );
                }
            }
        }
        names
    }

    pub(super) fn security(&mut self, operation: &Operation) {
        if !self.valid_request() {
            return;
        }
        let headers = Headers::new(&self.interaction.request_headers);
        let query = parse_query(self.interaction.query.as_deref().unwrap_or(""), false);
        let schemes = self.security_schemes();
        let mut secured = false;
        let mut pending: Vec<(&str, &str)> = Vec::new();
        for requirement in &operation.security {
            if requirement.is_empty() {
                secured = true;
                break;
            }
            for name in requirement.keys() {
                let Some(scheme) = schemes.get(name) else {
                    continue;
                };
                let kind = scheme
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_ascii_lowercase();
                let authorization = headers
                    .get("authorization")
                    .unwrap_or("")
                    .to_ascii_lowercase();
                match kind.as_str() {
                    "apikey" => {
                        let key = scheme.get("name").and_then(Value::as_str).unwrap_or("");
                        match scheme
                            .get("in")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_ascii_lowercase()
                            .as_str()
                        {
                            "header" => {
                                if headers.get(key).is_some() {
                                    secured = true;
                                } else {
                                    pending.push(("header", "request.headers"));
                                }
                            }
                            "query" => {
                                if query.contains_key(key) {
                                    secured = true;
                                } else {
                                    pending.push(("query", "request.query"));
                                }
                            }
                            "cookie" => secured = true,
                            _ => {}
                        }
                    }
                    "basic" => {
                        if authorization.starts_with("basic ") {
                            secured = true;
                        } else {
                            pending.push(("header", "request.headers"));
                        }
                    }
                    "http" => {
                        let wanted = scheme
                            .get("scheme")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_ascii_lowercase();
                        let ok = match wanted.as_str() {
                            "basic" => authorization.starts_with("basic "),
                            "bearer" => authorization.starts_with("bearer "),
                            _ => false,
                        };
                        if ok {
                            secured = true;
                        } else {
                            pending.push(("header", "request.headers"));
                        }
                    }
                    "mutualtls" | "oauth2" | "openidconnect" => secured = true,
                    _ => {}
                }
            }
        }
        if secured {
            return;
        }
        for (place, location) in pending {
            let value = if place == "query" {
                self.interaction.query_value.clone()
            } else {
                self.interaction.request_headers_value.clone()
            };
            let message = format!(
                "Request Authorization {place} is missing but is required by the spec file"
            );
            let spec = self.operation_spec(operation);
            self.push(
                "request.authorization.missing",
                message,
                Severity::Error,
                (self.mock_location(location), value),
                spec,
                Some(operation),
            );
        }
    }

    /// Returns whether the request's Content-Type is incompatible (its body
    /// is then not checked).
    pub(super) fn request_headers(&mut self, operation: &Operation) -> bool {
        let interaction = self.interaction;
        let mut headers = Headers::new(&interaction.request_headers);
        let available_request = operation
            .consumes
            .clone()
            .unwrap_or_else(|| self.content_keys(self.request_body_pointer(operation).as_deref()));
        let all_responses = || -> Vec<String> {
            if let Some(produces) = &operation.produces {
                return produces.clone();
            }
            let responses = self
                .document()
                .pointer(&format!("{}/responses", operation.pointer));
            let mut all = Vec::new();
            for key in responses
                .and_then(Value::as_object)
                .map(|r| r.keys().cloned().collect::<Vec<_>>())
                .unwrap_or_default()
            {
                all.extend(self.content_keys(self.response_pointer(operation, &key).as_deref()));
            }
            all
        };
        let for_status = operation.produces.clone().unwrap_or_else(|| {
            self.content_keys(
                self.response_pointer(operation, &interaction.status.to_string())
                    .as_deref(),
            )
        });

        let accept_header = headers.get("accept").map(str::to_owned);
        let accept = accept_header
            .as_deref()
            .map(essence)
            .unwrap_or("")
            .to_owned();
        // Every response's media types, only needed when the pact sends Accept.
        let all_responses = if accept.is_empty() {
            Vec::new()
        } else {
            all_responses()
        };
        if !accept.is_empty() && all_responses.is_empty() {
            let spec = self.operation_spec(operation);
            self.push(
                "request.accept.unknown",
                "Request Accept header is defined but the spec does not specify any mime-types to produce".to_owned(),
                Severity::Warning,
                (self.mock_location("request.headers.accept"), json_text(accept_header.as_deref())),
                spec,
                Some(operation),
            );
        }
        if !accept.is_empty()
            && !for_status.is_empty()
            && find_matching_type(&accept, &all_responses).is_none()
        {
            let mut spec = self.operation_spec(operation);
            spec.value = strings(&for_status);
            self.push(
                "request.accept.incompatible",
                "Request Accept header is incompatible with the mime-types the spec defines to produce".to_owned(),
                Severity::Error,
                (self.mock_location("request.headers.accept"), json_text(accept_header.as_deref())),
                spec,
                Some(operation),
            );
        }

        let content_type_header = headers.get("content-type").map(str::to_owned);
        let content_type = content_type_header
            .as_deref()
            .map(essence)
            .unwrap_or("")
            .to_owned();
        let incompatible = self.content_type(
            operation,
            &ContentTypeSide {
                side: "request",
                unknown: "Request content-type header is defined but the spec does not specify any mime-types to consume",
                incompatible: "Request Content-Type header is incompatible with the mime-types the spec accepts to consume",
                spec_location: format!(
                    "[root].paths.{}.{}.requestBody.content",
                    operation.path, operation.method
                ),
            },
            content_type_header.as_deref(),
            &content_type,
            &available_request,
        );
        if content_type.is_empty()
            && !available_request.is_empty()
            && interaction
                .request_body
                .as_ref()
                .is_some_and(|body| !is_falsy(body))
        {
            let spec = self.operation_spec(operation);
            self.push(
                "request.content-type.missing",
                "Request content type header is not defined but spec specifies mime-types to consume".to_owned(),
                Severity::Warning,
                (self.mock_location("request.headers.content-type"), Value::Null),
                spec,
                Some(operation),
            );
        }

        let security_headers: Vec<String> = if self.valid_request() {
            self.api_keys(operation, "header")
                .iter()
                .map(|name| name.to_ascii_lowercase())
                .collect()
        } else {
            Vec::new()
        };

        let mut declared: Vec<String> = Vec::new();
        for (index, pointer) in operation.parameters.iter().enumerate() {
            let parameter = parameter(self.document(), pointer);
            if parameter.get("in").and_then(Value::as_str) != Some("header") {
                continue;
            }
            let name = parameter
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            declared.push(name.to_ascii_lowercase());
            let raw = headers.get(&name).map(str::to_owned);
            let declared_schema = parameter.get("schema");
            let is_text = declared_schema.is_some_and(|schema| {
                let is_string = |s: &Value| s.get("type").and_then(Value::as_str) == Some("string");
                is_string(schema)
                    || ["anyOf", "oneOf"].iter().any(|key| {
                        schema
                            .get(*key)
                            .and_then(Value::as_array)
                            .is_some_and(|list| list.iter().any(is_string))
                    })
            });
            let schema_id = format!(
                "[root].paths.{}.{}.parameters[{index}]",
                operation.path, operation.method
            );
            if let Some(raw) = &raw {
                if self.valid_request() {
                    let value = if is_text {
                        Value::String(raw.clone())
                    } else {
                        parse_value(raw)
                    };
                    let (schema_pointer, itself) = self.schema_of(pointer);
                    let compiled = self.compiled(&schema_pointer, Mode::Parameter, itself);
                    let coerced = compiled.coerce(value);
                    for problem in compiled.problems(&coerced) {
                        let spec = Spec {
                            location: format!("{schema_id}.schema.{}", problem.schema_location),
                            operation: true,
                            value: problem.schema_value,
                        };
                        self.push(
                            "request.header.incompatible",
                            format!("Value is incompatible with the parameter defined in the spec file: {}", problem.message),
                            Severity::Error,
                            (self.mock_location(&format!("request.headers.{name}{}", problem.instance_location)), problem.value),
                            spec,
                            Some(operation),
                        );
                    }
                }
            } else if parameter.get("required") == Some(&Value::Bool(true)) && self.valid_request()
            {
                let spec = Spec {
                    location: schema_id,
                    operation: true,
                    value: parameter.clone(),
                };
                self.push(
                    "request.header.incompatible",
                    format!("Value is incompatible with the parameter defined in the spec file: must have required property '{name}'"),
                    Severity::Error,
                    (self.mock_location(&format!("request.headers.{name}")), Value::Null),
                    spec,
                    Some(operation),
                );
            }
            headers.delete(&name);
        }
        for standard in STANDARD_REQUEST_HEADERS {
            if !declared.iter().any(|name| name == standard) {
                headers.delete(standard);
            }
        }
        if self.valid_request() {
            for (name, value) in std::mem::take(&mut headers.0) {
                if security_headers.contains(&name) {
                    continue;
                }
                let spec = self.operation_spec(operation);
                self.push(
                    "request.header.unknown",
                    format!("Request header is not defined in the spec file: {name}"),
                    Severity::Warning,
                    (
                        self.mock_location(&format!("request.headers.{name}")),
                        Value::String(value),
                    ),
                    spec,
                    Some(operation),
                );
            }
        }
        incompatible
    }

    pub(super) fn query(&mut self, operation: &Operation) {
        let query = self.interaction.query.clone().unwrap_or_default();
        let mut parsed = parse_query(&query, true);
        let unparsed = parse_query(&query, false);
        let swagger = self.contract.version.is_swagger();
        for (index, pointer) in operation.parameters.iter().enumerate() {
            let parameter = parameter(self.document(), pointer);
            if parameter.get("in").and_then(Value::as_str) != Some("query") {
                continue;
            }
            let name = parameter
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            let schema = parameter.get("schema").unwrap_or(parameter);
            if parameter
                .get("schema")
                .and_then(|s| s.get("type"))
                .and_then(Value::as_str)
                == Some("string")
            {
                match unparsed.get(&name) {
                    Some(value) => {
                        parsed.insert(name.clone(), value.clone());
                    }
                    None => {
                        parsed.remove(&name);
                    }
                }
            }
            let value = parsed.get(&name).cloned();
            let required = parameter.get("required") == Some(&Value::Bool(true));
            if (value.is_some() || required) && self.valid_request() {
                let schema_id = format!(
                    "[root].paths.{}.{}.parameters[{index}]",
                    operation.path, operation.method
                );
                let (schema_pointer, itself) = self.schema_of(pointer);
                let compiled = self.compiled(&schema_pointer, Mode::Parameter, itself);
                let Some(value) = value else {
                    // Required and absent: Ajv reports the type it expected.
                    let expected = compiled
                        .declared_type()
                        .as_ref()
                        .map(type_text)
                        .unwrap_or_else(|| "present".to_owned());
                    let spec = Spec {
                        location: format!("{schema_id}.schema.type"),
                        operation: true,
                        value: compiled.declared_type().unwrap_or(Value::Null),
                    };
                    self.push(
                        "request.query.incompatible",
                        format!("Value is incompatible with the parameter defined in the spec file: must be {expected}"),
                        Severity::Error,
                        (self.mock_location(&format!("request.query.{name}")), Value::Null),
                        spec,
                        Some(operation),
                    );
                    parsed.remove(&name);
                    continue;
                };
                let converted = match (&value, schema.get("type").and_then(Value::as_str)) {
                    (Value::String(text), Some("array")) => {
                        let separator = if swagger {
                            match schema.get("collectionFormat").and_then(Value::as_str) {
                                Some("ssv") => " ",
                                Some("tsv") => "\t",
                                Some("pipes") => "|",
                                _ => ",",
                            }
                        } else {
                            ","
                        };
                        Value::Array(
                            text.split(separator)
                                .map(|part| Value::String(part.to_owned()))
                                .collect(),
                        )
                    }
                    _ => value,
                };
                let coerced = compiled.coerce(converted);
                for problem in compiled.problems(&coerced) {
                    let spec = Spec {
                        location: format!("{schema_id}.schema.{}", problem.schema_location),
                        operation: true,
                        value: problem.schema_value,
                    };
                    self.push(
                        "request.query.incompatible",
                        format!(
                            "Value is incompatible with the parameter defined in the spec file: {}",
                            problem.message
                        ),
                        Severity::Error,
                        (
                            self.mock_location(&format!(
                                "request.query.{name}{}",
                                problem.instance_location
                            )),
                            problem.value,
                        ),
                        spec,
                        Some(operation),
                    );
                }
            }
            parsed.remove(&name);
        }
        if !self.valid_request() {
            return;
        }
        let security_queries = self.api_keys(operation, "query");
        for (name, value) in parsed {
            if security_queries.contains(&name) {
                continue;
            }
            let spec = self.operation_spec(operation);
            self.push(
                "request.query.unknown",
                format!("Query parameter is not defined in the spec file: {name}"),
                Severity::Warning,
                (self.mock_location(&format!("request.query.{name}")), value),
                spec,
                Some(operation),
            );
        }
    }

    pub(super) fn request_body(&mut self, operation: &Operation) {
        let interaction = self.interaction;
        let headers = Headers::new(&interaction.request_headers);
        let body_pointer = self.request_body_pointer(operation);
        let available = operation
            .consumes
            .clone()
            .unwrap_or_else(|| self.content_keys(body_pointer.as_deref()));
        let header = headers.get("content-type").unwrap_or("").to_owned();
        let content_type = if header.is_empty() {
            DEFAULT_CONTENT_TYPE.to_owned()
        } else {
            find_matching_type(&header, &available)
                .map(str::to_owned)
                .unwrap_or_else(|| header.clone())
        };
        let body_parameter = operation.parameters.iter().find(|pointer| {
            parameter(self.document(), pointer)
                .get("in")
                .and_then(Value::as_str)
                == Some("body")
        });
        let content_keys = self.content_keys(body_pointer.as_deref());
        let mut schema_pointer = find_matching_type(&content_type, &content_keys).and_then(|key| {
            let pointer = format!(
                "{}/content/{}/schema",
                body_pointer.as_deref().unwrap_or(""),
                escape(key)
            );
            self.document().pointer(&pointer).map(|_| pointer)
        });
        if schema_pointer.is_none() {
            schema_pointer = body_parameter
                .map(|pointer| format!("{pointer}/schema"))
                .filter(|pointer| self.document().pointer(pointer).is_some());
        }
        let required = body_pointer
            .as_deref()
            .and_then(|p| self.document().pointer(p))
            .and_then(|b| b.get("required"))
            == Some(&Value::Bool(true))
            || body_parameter.is_some_and(|p| {
                parameter(self.document(), p).get("required") == Some(&Value::Bool(true))
            });
        let body = interaction.request_body.as_ref();
        if !required && body.is_none() {
            return;
        }
        if !is_validatable(&content_type) {
            if let Some(body) = body
                && self.valid_request()
            {
                let spec = Spec {
                    location: format!(
                        "[root].paths.{}.{}.requestBody.content",
                        operation.path, operation.method
                    ),
                    operation: true,
                    value: self
                        .operation_value(operation)
                        .pointer("/requestBody/content")
                        .cloned()
                        .unwrap_or(Value::Null),
                };
                self.push(
                        "request.body.unvalidatable",
                        format!("Body with content type '{content_type}' is not supported by the spec comparator"),
                        Severity::Warning,
                        (self.mock_location("request.body"), body.clone()),
                        spec,
                        Some(operation),
                    );
            }
            return;
        }
        if !self.valid_request() {
            return;
        }
        match &schema_pointer {
            Some(schema_pointer) => {
                let value = parse_body(body.cloned().unwrap_or(Value::Null), &header);
                let compiled = self.compiled(schema_pointer, Mode::Request, false);
                let schema_id = format!(
                    "[root].paths.{}.{}.requestBody.content.{content_type}",
                    operation.path, operation.method
                );
                for problem in compiled.problems(&value) {
                    let spec = Spec {
                        location: format!("{schema_id}.schema.{}", problem.schema_location),
                        operation: true,
                        value: problem.schema_value,
                    };
                    self.push(
                        "request.body.incompatible",
                        format!("Request body is incompatible with the request body schema in the spec file: {}", problem.message),
                        Severity::Error,
                        (self.mock_location(&format!("request.body{}", problem.instance_location)), problem.value),
                        spec,
                        Some(operation),
                    );
                }
            }
            None => {
                if let Some(body) = body.filter(|body| !is_falsy(body)) {
                    let spec = Spec {
                        location: format!(
                            "[root].paths.{}.{}.requestBody.content",
                            operation.path, operation.method
                        ),
                        operation: true,
                        value: self
                            .operation_value(operation)
                            .pointer("/requestBody/content")
                            .cloned()
                            .unwrap_or(Value::Null),
                    };
                    self.push(
                        "request.body.unknown",
                        "No matching schema found for request body".to_owned(),
                        Severity::Warning,
                        (self.mock_location("request.body"), body.clone()),
                        spec,
                        Some(operation),
                    );
                }
            }
        }
    }
}

/// Form bodies are checked as the objects they encode.
fn parse_body(body: Value, content_type: &str) -> Value {
    let Value::String(text) = &body else {
        return body;
    };
    if content_type.contains("application/x-www-form-urlencoded") {
        return Value::Object(parse_query(text, true));
    }
    if content_type.contains("multipart/form-data")
        && let Some(boundary) = content_type.split("boundary=").nth(1)
    {
        let boundary = boundary.trim_matches('"');
        let mut fields = Map::new();
        for part in text.split(&format!("--{boundary}")) {
            let Some((head, data)) = part
                .split_once("\r\n\r\n")
                .or_else(|| part.split_once("\n\n"))
            else {
                continue;
            };
            let Some(name) = head
                .split("name=\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
            else {
                continue;
            };
            let data = data
                .strip_suffix("\r\n")
                .or_else(|| data.strip_suffix('\n'))
                .unwrap_or(data);
            fields.insert(name.to_owned(), Value::String(data.to_owned()));
        }
        return Value::Object(fields);
    }
    body
}
