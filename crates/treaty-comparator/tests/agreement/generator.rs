//! Generates pacts for an OpenAPI document: interactions that fit it, and
//! mutants with exactly one defect each. Deterministic: the same document and
//! seed give the same pacts, so a disagreement seen once can be seen again.

use serde_json::{Map, Value, json};

/// SplitMix64. Written out rather than taken from a crate so that the corpus
/// never changes under us when a dependency changes its algorithm.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, bound: usize) -> usize {
        (self.next_u64() % bound.max(1) as u64) as usize
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }
}

pub fn seed_of(name: &str) -> u64 {
    // FNV-1a: a stable seed per document name.
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The one defect a mutant carries (or none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Defect {
    None,
    UnknownPath,
    WrongMethod,
    PathParameterWrongType,
    MissingRequiredQuery,
    MissingRequiredHeader,
    MissingAuthorization,
    RequestBodyWrongType,
    RequestContentTypeUnknown,
    AcceptUnknown,
    UndocumentedStatus,
    ResponseContentTypeUnknown,
    ResponseBodyExtraField,
    ResponseBodyWrongType,
    ResponseBodyMissingRequiredField,
}

impl Defect {
    pub const ALL: [Defect; 14] = [
        Defect::UnknownPath,
        Defect::WrongMethod,
        Defect::PathParameterWrongType,
        Defect::MissingRequiredQuery,
        Defect::MissingRequiredHeader,
        Defect::MissingAuthorization,
        Defect::RequestBodyWrongType,
        Defect::RequestContentTypeUnknown,
        Defect::AcceptUnknown,
        Defect::UndocumentedStatus,
        Defect::ResponseContentTypeUnknown,
        Defect::ResponseBodyExtraField,
        Defect::ResponseBodyWrongType,
        Defect::ResponseBodyMissingRequiredField,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Defect::None => "fits",
            Defect::UnknownPath => "unknown path",
            Defect::WrongMethod => "wrong method",
            Defect::PathParameterWrongType => "path parameter of the wrong type",
            Defect::MissingRequiredQuery => "required query parameter missing",
            Defect::MissingRequiredHeader => "required request header missing",
            Defect::MissingAuthorization => "authorization missing",
            Defect::RequestBodyWrongType => "request body value of the wrong type",
            Defect::RequestContentTypeUnknown => "request content type not documented",
            Defect::AcceptUnknown => "Accept not documented",
            Defect::UndocumentedStatus => "response status not documented",
            Defect::ResponseContentTypeUnknown => "response content type not documented",
            Defect::ResponseBodyExtraField => "response body field not in the schema",
            Defect::ResponseBodyWrongType => "response body value of the wrong type",
            Defect::ResponseBodyMissingRequiredField => "required response body field left out",
        }
    }
}

/// One generated pact and what it was made to be.
pub struct GeneratedPact {
    pub name: String,
    pub defect: Defect,
    pub pact: Value,
}

/// An HTTP interaction before it is written in a pact specification's shape.
#[derive(Clone, Debug)]
struct Interaction {
    description: String,
    method: String,
    path: String,
    /// Path parameters, in the order of the template, with where they sit.
    path_parameters: Vec<(String, Value)>,
    path_template: String,
    base_path: String,
    query: Vec<(String, String, bool)>,
    headers: Vec<(String, String, HeaderKind)>,
    request_body: Option<Value>,
    request_content_type: Option<String>,
    status: u16,
    response_body: Option<Value>,
    response_content_type: Option<String>,
    /// Methods the document has on this path (for the wrong-method mutant).
    documented_methods: Vec<String>,
    documented_statuses: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HeaderKind {
    Required,
    Authorization,
}

const METHODS: [&str; 7] = ["get", "put", "post", "delete", "options", "head", "patch"];

pub struct Generator<'a> {
    document: &'a Value,
    rng: Rng,
    swagger2: bool,
}

impl<'a> Generator<'a> {
    pub fn new(document: &'a Value, seed: u64) -> Self {
        Self {
            document,
            rng: Rng::new(seed),
            swagger2: document.get("swagger").is_some(),
        }
    }

    /// Pacts for the document: per operation (at most `max_operations`, picked
    /// by the seed) one that fits and one per applicable defect, plus a few
    /// pacts that fit with several interactions.
    pub fn pacts(&mut self, max_operations: usize) -> Vec<GeneratedPact> {
        let mut interactions = Vec::new();
        let paths = self.document.get("paths").and_then(Value::as_object);
        for (template, item) in paths.into_iter().flatten() {
            let item = self.resolve(item).clone();
            for method in METHODS {
                if let Some(operation) = item.get(method)
                    && let Some(interaction) = self.interaction(template, &item, method, operation)
                {
                    interactions.push(interaction);
                }
            }
        }
        while interactions.len() > max_operations {
            let drop = self.rng.below(interactions.len());
            interactions.remove(drop);
        }
        let mut pacts = Vec::new();
        for (index, interaction) in interactions.iter().enumerate() {
            let spec = [2, 3, 4][index % 3];
            pacts.push(GeneratedPact {
                name: format!(
                    "op{index} {} {} fits (v{spec})",
                    interaction.method, interaction.path_template
                ),
                defect: Defect::None,
                pact: self.pact(std::slice::from_ref(interaction), spec),
            });
            for (offset, defect) in Defect::ALL.into_iter().enumerate() {
                if let Some(mutant) = self.mutate(interaction, defect) {
                    let spec = [2, 3, 4][(index + offset) % 3];
                    pacts.push(GeneratedPact {
                        name: format!(
                            "op{index} {} {} {} (v{spec})",
                            interaction.method,
                            interaction.path_template,
                            defect.name()
                        ),
                        defect,
                        pact: self.pact(&[mutant], spec),
                    });
                }
            }
        }
        // Pacts of several interactions, all fitting.
        for round in 0..interactions.len().min(3) {
            let count = 2 + self.rng.below(3);
            let chosen: Vec<Interaction> = (0..count)
                .map(|_| interactions[self.rng.below(interactions.len())].clone())
                .collect();
            let spec = [2, 3, 4][round % 3];
            pacts.push(GeneratedPact {
                name: format!("multi{round} {count} interactions fit (v{spec})"),
                defect: Defect::None,
                pact: self.pact(&chosen, spec),
            });
        }
        pacts
    }

    /// One pact of up to `count` fitting interactions (operations repeat
    /// when the document has fewer), for the speed measurement.
    #[allow(dead_code)] // used by examples/speed.rs, which includes this file
    pub fn fitting_pact(&mut self, count: usize, spec: u8) -> Value {
        let mut operations = Vec::new();
        let paths = self.document.get("paths").and_then(Value::as_object);
        for (template, item) in paths.into_iter().flatten() {
            let item = self.resolve(item).clone();
            for method in METHODS {
                if let Some(operation) = item.get(method)
                    && let Some(interaction) = self.interaction(template, &item, method, operation)
                {
                    operations.push(interaction);
                }
            }
        }
        assert!(
            !operations.is_empty(),
            "the document has no operation a pact can call"
        );
        let chosen: Vec<Interaction> = (0..count)
            .map(|index| {
                let mut interaction = operations[(index * 7919) % operations.len()].clone();
                interaction.description = format!("{} #{index}", interaction.description);
                interaction
            })
            .collect();
        self.pact(&chosen, spec)
    }

    fn resolve<'v>(&self, value: &'v Value) -> &'v Value
    where
        'a: 'v,
    {
        let mut current = value;
        for _ in 0..32 {
            match current.get("$ref").and_then(Value::as_str) {
                Some(reference) if reference.starts_with('#') => {
                    match self.document.pointer(&reference[1..]) {
                        Some(target) => current = target,
                        None => return current,
                    }
                }
                _ => return current,
            }
        }
        current
    }

    /// Swagger 2.0's `basePath` prefixes every path. OpenAPI 3's `servers`
    /// do not: PactFlow's comparator matches pact paths against `paths` as
    /// written (its users' pacts look so), and the corpus follows it.
    fn base_path(&self) -> String {
        if !self.swagger2 {
            return String::new();
        }
        let raw = self
            .document
            .get("basePath")
            .and_then(Value::as_str)
            .unwrap_or("");
        raw.trim_end_matches('/').to_owned()
    }

    fn interaction(
        &mut self,
        template: &str,
        item: &Value,
        method: &str,
        operation: &Value,
    ) -> Option<Interaction> {
        let operation = self.resolve(operation).clone();
        let mut parameters: Vec<Value> = Vec::new();
        for source in [item.get("parameters"), operation.get("parameters")] {
            for parameter in source.and_then(Value::as_array).into_iter().flatten() {
                let parameter = self.resolve(parameter).clone();
                let key = (parameter.get("name").cloned(), parameter.get("in").cloned());
                parameters.retain(|existing| {
                    (existing.get("name").cloned(), existing.get("in").cloned()) != key
                });
                parameters.push(parameter);
            }
        }
        let mut path = template.to_owned();
        let mut path_parameters = Vec::new();
        let mut query = Vec::new();
        let mut headers = Vec::new();
        let mut request_body = None;
        let mut request_content_type = None;
        for parameter in &parameters {
            let name = parameter
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            let location = parameter.get("in").and_then(Value::as_str).unwrap_or("");
            let required = parameter
                .get("required")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let schema = if self.swagger2 {
                parameter.clone()
            } else {
                parameter
                    .get("schema")
                    .cloned()
                    .unwrap_or(json!({"type": "string"}))
            };
            match location {
                "path" => {
                    let value = self.scalar_for_parameter(&schema)?;
                    path = path.replace(&format!("{{{name}}}"), &to_text(&value));
                    path_parameters.push((name, value));
                }
                "query" if required => {
                    let value = self.scalar_for_parameter(&schema)?;
                    query.push((name, to_text(&value), true));
                }
                "header" if required => {
                    let lower = name.to_ascii_lowercase();
                    if ["content-type", "accept", "authorization"].contains(&lower.as_str()) {
                        return None;
                    }
                    let value = self.scalar_for_parameter(&schema)?;
                    headers.push((name, to_text(&value), HeaderKind::Required));
                }
                "cookie" | "formData" if required => return None,
                "body" => {
                    let schema = parameter.get("schema").cloned().unwrap_or(json!({}));
                    let consumes = operation
                        .get("consumes")
                        .or_else(|| self.document.get("consumes"))
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_else(|| vec![json!("application/json")]);
                    let media = consumes
                        .iter()
                        .filter_map(Value::as_str)
                        .find(|media| is_json(media));
                    match media {
                        Some(media) => {
                            request_body = Some(self.value(&schema, Direction::Request, 0));
                            request_content_type = Some(media.to_owned());
                        }
                        None if required => return None,
                        None => {}
                    }
                }
                _ => {}
            }
        }
        if path.contains('{') {
            return None;
        }
        if let Some(body) = operation.get("requestBody") {
            let body = self.resolve(body).clone();
            let required = body
                .get("required")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let content = body
                .get("content")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            match content.iter().find(|(media, _)| is_json(media)) {
                Some((media, media_object)) => {
                    let schema = media_object.get("schema").cloned().unwrap_or(json!({}));
                    request_body = Some(self.value(&schema, Direction::Request, 0));
                    request_content_type = Some(media.clone());
                }
                None if required || !content.is_empty() => return None,
                None => {}
            }
        }
        headers.extend(self.authorization(&operation, &mut query)?);

        let responses = operation.get("responses").and_then(Value::as_object)?;
        let documented_statuses: Vec<String> = responses.keys().cloned().collect();
        let mut candidates: Vec<(&String, Value)> = responses
            .iter()
            .filter(|(status, _)| {
                status.len() == 3 && status.starts_with('2') && status.parse::<u16>().is_ok()
            })
            .map(|(status, response)| (status, self.resolve(response).clone()))
            .collect();
        if candidates.is_empty() {
            candidates = responses
                .iter()
                .filter(|(status, _)| status.len() == 3 && status.parse::<u16>().is_ok())
                .map(|(status, response)| (status, self.resolve(response).clone()))
                .collect();
        }
        let (status, response) = candidates.get(self.rng.below(candidates.len()))?.clone();
        let status: u16 = status.parse().ok()?;
        let (response_body, response_content_type) = if self.swagger2 {
            match response.get("schema") {
                Some(schema) => {
                    let produces = operation
                        .get("produces")
                        .or_else(|| self.document.get("produces"))
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_else(|| vec![json!("application/json")]);
                    let media = produces
                        .iter()
                        .filter_map(Value::as_str)
                        .find(|media| is_json(media))?;
                    (
                        Some(self.value(schema, Direction::Response, 0)),
                        Some(media.to_owned()),
                    )
                }
                None => (None, None),
            }
        } else {
            let content = response
                .get("content")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            if content.is_empty() {
                (None, None)
            } else {
                let (media, media_object) = content.iter().find(|(media, _)| is_json(media))?;
                let media = if media.contains('*') {
                    "application/json".to_owned()
                } else {
                    media.clone()
                };
                match media_object.get("schema") {
                    Some(schema) => (
                        Some(self.value(schema, Direction::Response, 0)),
                        Some(media),
                    ),
                    None => (None, Some(media)),
                }
            }
        };
        let description = operation
            .get("operationId")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| format!("{method} {template}"));
        let documented_methods = METHODS
            .iter()
            .filter(|m| item.get(**m).is_some())
            .map(|m| m.to_string())
            .collect();
        let base_path = self.base_path();
        Some(Interaction {
            description,
            method: method.to_ascii_uppercase(),
            path: format!("{base_path}{path}"),
            path_parameters,
            path_template: template.to_owned(),
            base_path,
            query,
            headers,
            request_body,
            request_content_type,
            status,
            response_body,
            response_content_type,
            documented_methods,
            documented_statuses,
        })
    }

    /// The credentials the first security requirement asks for; None when
    /// it asks for something a pact cannot show (a cookie).
    fn authorization(
        &self,
        operation: &Value,
        query: &mut Vec<(String, String, bool)>,
    ) -> Option<Vec<(String, String, HeaderKind)>> {
        let requirements = operation
            .get("security")
            .or_else(|| self.document.get("security"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let Some(first) = requirements.first().and_then(Value::as_object) else {
            return Some(Vec::new());
        };
        if requirements
            .iter()
            .any(|r| r.as_object().is_some_and(Map::is_empty))
        {
            return Some(Vec::new());
        }
        let schemes = if self.swagger2 {
            self.document.get("securityDefinitions")
        } else {
            self.document.pointer("/components/securitySchemes")
        };
        let mut headers = Vec::new();
        for name in first.keys() {
            let scheme = schemes.and_then(|schemes| schemes.get(name))?;
            let scheme = self.resolve(scheme);
            let kind = scheme.get("type").and_then(Value::as_str).unwrap_or("");
            let http_scheme = scheme
                .get("scheme")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_ascii_lowercase();
            match kind {
                "apiKey" => {
                    let key = scheme.get("name").and_then(Value::as_str)?.to_owned();
                    match scheme.get("in").and_then(Value::as_str) {
                        Some("header") => {
                            headers.push((key, "secret-key".to_owned(), HeaderKind::Authorization))
                        }
                        Some("query") => query.push((key, "secret-key".to_owned(), false)),
                        _ => return None,
                    }
                }
                "basic" => headers.push((
                    "Authorization".to_owned(),
                    "Basic dXNlcjpwYXNz".to_owned(),
                    HeaderKind::Authorization,
                )),
                "http" if http_scheme == "basic" => headers.push((
                    "Authorization".to_owned(),
                    "Basic dXNlcjpwYXNz".to_owned(),
                    HeaderKind::Authorization,
                )),
                "http" | "oauth2" | "openIdConnect" => headers.push((
                    "Authorization".to_owned(),
                    "Bearer c2VjcmV0".to_owned(),
                    HeaderKind::Authorization,
                )),
                _ => return None,
            }
        }
        Some(headers)
    }

    fn scalar_for_parameter(&mut self, schema: &Value) -> Option<Value> {
        let schema = self.resolve(schema).clone();
        if schema.get("pattern").is_some() {
            return None;
        }
        let value = match schema.get("type").and_then(Value::as_str) {
            Some("array") => {
                let items = schema
                    .get("items")
                    .cloned()
                    .unwrap_or(json!({"type": "string"}));
                self.scalar_for_parameter(&items)?
            }
            Some("object") => return None,
            _ => self.value(&schema, Direction::Request, 0),
        };
        match value {
            Value::String(text) if text.is_empty() => Some(Value::String("x".to_owned())),
            Value::Null | Value::Object(_) | Value::Array(_) => None,
            other => Some(other),
        }
    }

    /// A value that fits the schema.
    fn value(&mut self, schema: &Value, direction: Direction, depth: usize) -> Value {
        // The component's name, for a discriminator in a parent it extends.
        let own_name = schema
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|reference| reference.rsplit('/').next())
            .map(str::to_owned);
        let schema = self.resolve(schema).clone();
        if let Some(constant) = schema.get("const") {
            return constant.clone();
        }
        if let Some(values) = schema.get("enum").and_then(Value::as_array) {
            let candidates: Vec<&Value> = values.iter().filter(|v| !v.is_null()).collect();
            if !candidates.is_empty() {
                return candidates[self.rng.below(candidates.len())].clone();
            }
        }
        let nullable = schema
            .get("nullable")
            .and_then(Value::as_bool)
            .unwrap_or(false)
            || schema
                .get("x-nullable")
                .and_then(Value::as_bool)
                .unwrap_or(false)
            || schema
                .get("type")
                .and_then(Value::as_array)
                .is_some_and(|types| types.iter().any(|t| t == "null"));
        if nullable && self.rng.chance(20) {
            return Value::Null;
        }
        if let Some(branches) = schema.get("allOf").and_then(Value::as_array) {
            let mut merged = Map::new();
            let mut last = Value::Null;
            for branch in branches {
                match self.value(branch, direction, depth + 1) {
                    Value::Object(fields) => merged.extend(fields),
                    other => last = other,
                }
            }
            if let Some(Value::Object(own)) = self.object_value(&schema, direction, depth) {
                merged.extend(own);
            }
            // A parent's discriminator names this schema (allOf inheritance).
            for branch in branches {
                let parent = self.resolve(branch);
                if let (Some(property), Some(name)) = (
                    parent
                        .pointer("/discriminator/propertyName")
                        .and_then(Value::as_str),
                    own_name.as_deref(),
                ) {
                    let mapped = parent
                        .pointer("/discriminator/mapping")
                        .and_then(Value::as_object)
                        .and_then(|mapping| {
                            mapping.iter().find(|(_, target)| {
                                target.as_str().and_then(|t| t.rsplit('/').next()) == Some(name)
                            })
                        })
                        .map(|(key, _)| key.clone());
                    merged.insert(
                        property.to_owned(),
                        Value::String(mapped.unwrap_or_else(|| name.to_owned())),
                    );
                }
            }
            return if merged.is_empty() && !last.is_null() {
                last
            } else {
                Value::Object(merged)
            };
        }
        for keyword in ["oneOf", "anyOf"] {
            if let Some(branches) = schema.get(keyword).and_then(Value::as_array) {
                if branches.is_empty() {
                    break;
                }
                let index = self.rng.below(branches.len());
                let mut value = self.value(&branches[index], direction, depth + 1);
                if let Some(Value::Object(own)) = self.object_value(&schema, direction, depth)
                    && let Value::Object(fields) = &mut value
                {
                    for (key, field) in own {
                        fields.entry(key).or_insert(field);
                    }
                }
                if let (Some(property), Value::Object(fields)) = (
                    schema
                        .pointer("/discriminator/propertyName")
                        .and_then(Value::as_str),
                    &mut value,
                ) {
                    let branch_ref = branches[index]
                        .get("$ref")
                        .and_then(Value::as_str)
                        .unwrap_or("");
                    let mapped = schema
                        .pointer("/discriminator/mapping")
                        .and_then(Value::as_object)
                        .and_then(|mapping| {
                            mapping.iter().find(|(_, target)| {
                                target.as_str() == Some(branch_ref)
                                    || target.as_str() == branch_ref.rsplit('/').next()
                            })
                        })
                        .map(|(name, _)| name.clone());
                    // The value names the branch: its mapping key, or else
                    // the schema's name (OpenAPI's implicit mapping), unless
                    // the branch fixes the value itself (enum or const).
                    let fixed_by_branch = self
                        .resolve(&branches[index])
                        .get("properties")
                        .and_then(|properties| properties.get(property))
                        .is_some_and(|field| {
                            field.get("enum").is_some() || field.get("const").is_some()
                        });
                    let name = match mapped {
                        Some(name) => Some(name),
                        None if fixed_by_branch => None,
                        None => branch_ref.rsplit('/').next().map(str::to_owned),
                    };
                    if let Some(name) = name.filter(|name| !name.is_empty()) {
                        fields.insert(property.to_owned(), Value::String(name));
                    }
                }
                return value;
            }
        }
        let kind = match schema.get("type") {
            Some(Value::String(kind)) => kind.clone(),
            Some(Value::Array(kinds)) => kinds
                .iter()
                .filter_map(Value::as_str)
                .find(|kind| *kind != "null")
                .unwrap_or("null")
                .to_owned(),
            _ if schema.get("properties").is_some()
                || schema.get("additionalProperties").is_some() =>
            {
                "object".to_owned()
            }
            _ if schema.get("items").is_some() => "array".to_owned(),
            _ => "string".to_owned(),
        };
        match kind.as_str() {
            "object" => self
                .object_value(&schema, direction, depth)
                .unwrap_or(json!({})),
            "array" => {
                let items = schema.get("items").cloned().unwrap_or(json!({}));
                let min = schema.get("minItems").and_then(Value::as_u64).unwrap_or(0) as usize;
                let max = schema.get("maxItems").and_then(Value::as_u64).unwrap_or(3) as usize;
                let count = if depth > 4 {
                    min
                } else {
                    (1 + self.rng.below(2)).clamp(min, max.max(min))
                };
                let mut values: Vec<Value> = (0..count)
                    .map(|_| self.value(&items, direction, depth + 1))
                    .collect();
                if schema.get("uniqueItems").and_then(Value::as_bool) == Some(true) {
                    values.dedup();
                }
                Value::Array(values)
            }
            // Whole numbers for both: they fit `number` too, and bounds and
            // multipleOf are simple to honour.
            "integer" | "number" => {
                let minimum = schema.get("minimum").and_then(Value::as_f64).unwrap_or(1.0);
                let maximum = schema
                    .get("maximum")
                    .and_then(Value::as_f64)
                    .unwrap_or(minimum + 100.0);
                let exclusive_minimum = schema.get("exclusiveMinimum");
                let exclusive_maximum = schema.get("exclusiveMaximum");
                let mut low = minimum.ceil() as i64;
                if exclusive_minimum == Some(&json!(true)) {
                    low += 1;
                }
                if let Some(bound) = exclusive_minimum.and_then(Value::as_f64) {
                    low = low.max(bound.floor() as i64 + 1);
                }
                let mut high = maximum.floor() as i64;
                if exclusive_maximum == Some(&json!(true)) {
                    high -= 1;
                }
                if let Some(bound) = exclusive_maximum.and_then(Value::as_f64) {
                    high = high.min(bound.ceil() as i64 - 1);
                }
                let high = high.max(low);
                let value = low + self.rng.below((high - low).min(50) as usize + 1) as i64;
                match schema.get("multipleOf").and_then(Value::as_f64) {
                    Some(step) if step >= 1.0 && step.fract() == 0.0 => {
                        let step = step as i64;
                        json!(((value + step - 1) / step) * step)
                    }
                    _ => json!(value),
                }
            }
            "boolean" => json!(self.rng.chance(50)),
            "null" => Value::Null,
            _ => Value::String(self.string_value(&schema)),
        }
    }

    fn object_value(
        &mut self,
        schema: &Value,
        direction: Direction,
        depth: usize,
    ) -> Option<Value> {
        let properties = schema.get("properties").and_then(Value::as_object);
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|names| names.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if properties.is_none() && required.is_empty() {
            return None;
        }
        let mut fields = Map::new();
        for (name, property) in properties.into_iter().flatten() {
            let resolved = self.resolve(property);
            let hidden = match direction {
                Direction::Request => resolved.get("readOnly") == Some(&json!(true)),
                Direction::Response => resolved.get("writeOnly") == Some(&json!(true)),
            };
            let is_required = required.contains(&name.as_str());
            if hidden && !is_required {
                continue;
            }
            if is_required || (depth < 4 && self.rng.chance(60)) {
                let value = self.value(property, direction, depth + 1);
                fields.insert(name.clone(), value);
            }
        }
        Some(Value::Object(fields))
    }

    fn string_value(&mut self, schema: &Value) -> String {
        let text = match schema.get("format").and_then(Value::as_str) {
            Some("date-time") => "2024-05-06T07:08:09Z".to_owned(),
            Some("date") => "2024-05-06".to_owned(),
            Some("time") => "07:08:09Z".to_owned(),
            Some("email") => "someone@example.com".to_owned(),
            Some("uuid") => "6f1c0b3e-2a4d-4e5f-8a9b-0c1d2e3f4a5b".to_owned(),
            Some("uri") | Some("url") => "https://example.com/a".to_owned(),
            Some("hostname") => "example.com".to_owned(),
            Some("ipv4") => "192.0.2.1".to_owned(),
            Some("ipv6") => "2001:db8::1".to_owned(),
            Some("byte") => "aGVsbG8=".to_owned(),
            _ => ["alpha", "bravo", "charlie", "delta"][self.rng.below(4)].to_owned(),
        };
        let min = schema.get("minLength").and_then(Value::as_u64).unwrap_or(0) as usize;
        let max = schema
            .get("maxLength")
            .and_then(Value::as_u64)
            .map(|max| max as usize);
        let mut text = text;
        while text.chars().count() < min {
            text.push('x');
        }
        if let Some(max) = max {
            text = text.chars().take(max.max(min)).collect();
        }
        text
    }

    fn mutate(&mut self, interaction: &Interaction, defect: Defect) -> Option<Interaction> {
        let mut mutant = interaction.clone();
        mutant.description = format!("{} ({})", interaction.description, defect.name());
        match defect {
            Defect::None => {}
            // A first segment no document has: a last one could fill a template (`/pets/{id}`).
            Defect::UnknownPath => {
                mutant.path = format!("/treaty-unknown-segment{}", interaction.path)
            }
            Defect::WrongMethod => {
                let method = ["put", "patch", "delete", "post", "get"]
                    .into_iter()
                    .find(|method| !interaction.documented_methods.iter().any(|m| m == method))?;
                mutant.method = method.to_ascii_uppercase();
            }
            Defect::PathParameterWrongType => {
                let (name, _) = interaction
                    .path_parameters
                    .iter()
                    .find(|(_, value)| value.is_number() || value.is_boolean())?;
                let mut path = interaction.path_template.clone();
                for (other, value) in &interaction.path_parameters {
                    let text = if other == name {
                        "not-a-number".to_owned()
                    } else {
                        to_text(value)
                    };
                    path = path.replace(&format!("{{{other}}}"), &text);
                }
                mutant.path = format!("{}{path}", interaction.base_path);
            }
            Defect::MissingRequiredQuery => {
                let position = interaction
                    .query
                    .iter()
                    .position(|(_, _, required)| *required)?;
                mutant.query.remove(position);
            }
            Defect::MissingRequiredHeader => {
                let position = interaction
                    .headers
                    .iter()
                    .position(|(_, _, kind)| *kind == HeaderKind::Required)?;
                mutant.headers.remove(position);
            }
            Defect::MissingAuthorization => {
                let before = mutant.headers.len();
                mutant
                    .headers
                    .retain(|(_, _, kind)| *kind != HeaderKind::Authorization);
                if mutant.headers.len() == before {
                    return None;
                }
            }
            Defect::RequestBodyWrongType => {
                mutant.request_body = Some(wrong_type(interaction.request_body.as_ref()?)?)
            }
            Defect::RequestContentTypeUnknown => {
                interaction.request_body.as_ref()?;
                mutant.request_content_type = Some("application/x-treaty-unknown".to_owned());
            }
            Defect::AcceptUnknown => {
                interaction.response_content_type.as_ref()?;
                mutant.headers.push((
                    "Accept".to_owned(),
                    "application/x-treaty-unknown".to_owned(),
                    HeaderKind::Required,
                ));
            }
            Defect::UndocumentedStatus => {
                if interaction
                    .documented_statuses
                    .iter()
                    .any(|s| s == "default")
                {
                    return None;
                }
                mutant.status = [418, 451, 599].into_iter().find(|status| {
                    !interaction
                        .documented_statuses
                        .contains(&status.to_string())
                })?;
            }
            Defect::ResponseContentTypeUnknown => {
                interaction.response_body.as_ref()?;
                mutant.response_content_type = Some("application/x-treaty-unknown".to_owned());
            }
            Defect::ResponseBodyExtraField => match mutant.response_body.as_mut()? {
                Value::Object(fields) => {
                    fields.insert("treatyUndocumentedField".to_owned(), json!(1));
                }
                _ => return None,
            },
            Defect::ResponseBodyWrongType => {
                mutant.response_body = Some(wrong_type(interaction.response_body.as_ref()?)?)
            }
            Defect::ResponseBodyMissingRequiredField => {
                let required = self.required_response_field(interaction)?;
                match mutant.response_body.as_mut()? {
                    Value::Object(fields) => {
                        fields.remove(&required)?;
                    }
                    _ => return None,
                }
            }
        }
        Some(mutant)
    }

    /// A field the response body has and its schema requires at the top level.
    fn required_response_field(&self, interaction: &Interaction) -> Option<String> {
        let body = interaction.response_body.as_ref()?.as_object()?;
        let item = self.resolve(
            self.document
                .get("paths")?
                .get(&interaction.path_template)?,
        );
        let operation = self.resolve(item.get(interaction.method.to_ascii_lowercase())?);
        let response = self.resolve(
            operation
                .get("responses")?
                .get(interaction.status.to_string())?,
        );
        let schema = if self.swagger2 {
            response.get("schema")?
        } else {
            let media = interaction.response_content_type.as_ref()?;
            let content = response.get("content")?;
            content
                .get(media)
                .or_else(|| content.as_object()?.values().next())?
                .get("schema")?
        };
        let schema = self.resolve(schema);
        schema
            .get("required")?
            .as_array()?
            .iter()
            .filter_map(Value::as_str)
            .find(|name| body.contains_key(*name))
            .map(str::to_owned)
    }

    /// The interactions as a pact of the given specification version (2, 3 or 4).
    fn pact(&self, interactions: &[Interaction], spec: u8) -> Value {
        let interactions: Vec<Value> = interactions
            .iter()
            .map(|i| interaction_json(i, spec))
            .collect();
        let version = match spec {
            2 => "2.0.0",
            3 => "3.0.0",
            _ => "4.0",
        };
        json!({
            "consumer": {"name": "agreement-consumer"},
            "provider": {"name": "agreement-provider"},
            "interactions": interactions,
            "metadata": {"pactSpecification": {"version": version}},
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Direction {
    Request,
    Response,
}

fn is_json(media: &str) -> bool {
    let media = media.to_ascii_lowercase();
    media.contains("json") || media == "*/*"
}

fn to_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// The body with one value changed to another JSON type: the first scalar
/// field of an object (depth first), or the whole body.
fn wrong_type(body: &Value) -> Option<Value> {
    fn flip(value: &Value) -> Value {
        match value {
            Value::String(_) => json!(12345),
            Value::Number(_) => json!("not-a-number"),
            Value::Bool(_) => json!("not-a-boolean"),
            Value::Null => json!({"treaty": "null was expected"}),
            Value::Array(_) => json!("not-an-array"),
            Value::Object(_) => json!("not-an-object"),
        }
    }
    let mut mutated = body.clone();
    if let Value::Object(fields) = &mut mutated
        && let Some((_, field)) = fields
            .iter_mut()
            .find(|(_, v)| !v.is_object() && !v.is_array() && !v.is_null())
    {
        *field = flip(field);
        return Some(mutated);
    }
    Some(flip(body))
}

fn interaction_json(interaction: &Interaction, spec: u8) -> Value {
    let mut request = Map::new();
    request.insert("method".to_owned(), json!(interaction.method));
    request.insert("path".to_owned(), json!(interaction.path));
    if !interaction.query.is_empty() {
        if spec == 2 {
            let query: Vec<String> = interaction
                .query
                .iter()
                .map(|(name, value, _)| format!("{}={}", encode(name), encode(value)))
                .collect();
            request.insert("query".to_owned(), json!(query.join("&")));
        } else {
            let mut query = Map::new();
            for (name, value, _) in &interaction.query {
                query.insert(name.clone(), json!([value]));
            }
            request.insert("query".to_owned(), Value::Object(query));
        }
    }
    let mut headers: Vec<(String, String)> = interaction
        .headers
        .iter()
        .map(|(name, value, _)| (name.clone(), value.clone()))
        .collect();
    if let (Some(media), Some(_)) = (&interaction.request_content_type, &interaction.request_body) {
        headers.push(("Content-Type".to_owned(), media.clone()));
    }
    if !headers.is_empty() {
        request.insert("headers".to_owned(), headers_json(&headers, spec));
    }
    if let Some(body) = &interaction.request_body {
        request.insert(
            "body".to_owned(),
            body_json(body, interaction.request_content_type.as_deref(), spec),
        );
    }
    let mut response = Map::new();
    response.insert("status".to_owned(), json!(interaction.status));
    if let Some(media) = &interaction.response_content_type {
        response.insert(
            "headers".to_owned(),
            headers_json(&[("Content-Type".to_owned(), media.clone())], spec),
        );
    }
    if let Some(body) = &interaction.response_body {
        response.insert(
            "body".to_owned(),
            body_json(body, interaction.response_content_type.as_deref(), spec),
        );
    }
    let mut json = Map::new();
    json.insert("description".to_owned(), json!(interaction.description));
    match spec {
        2 => {
            json.insert("providerState".to_owned(), json!("a state"));
        }
        3 => {
            json.insert("providerStates".to_owned(), json!([{"name": "a state"}]));
        }
        _ => {
            json.insert("type".to_owned(), json!("Synchronous/HTTP"));
            json.insert("providerStates".to_owned(), json!([{"name": "a state"}]));
        }
    }
    json.insert("request".to_owned(), Value::Object(request));
    json.insert("response".to_owned(), Value::Object(response));
    Value::Object(json)
}

fn headers_json(headers: &[(String, String)], spec: u8) -> Value {
    let mut map = Map::new();
    for (name, value) in headers {
        let value = if spec == 4 {
            json!([value])
        } else {
            json!(value)
        };
        map.insert(name.clone(), value);
    }
    Value::Object(map)
}

fn body_json(body: &Value, media: Option<&str>, spec: u8) -> Value {
    if spec == 4 {
        json!({"content": body, "contentType": media.unwrap_or("application/json"), "encoded": false})
    } else {
        body.clone()
    }
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (byte as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}
