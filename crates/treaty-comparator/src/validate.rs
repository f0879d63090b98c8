//! JSON Schema validation of pact values: translated schemas compiled once per
//! contract (and per [`Mode`]), reused by every interaction of every pact;
//! errors worded and located as PactFlow's comparator (Ajv) words them; and
//! Ajv's type coercion for parameters, whose values are text on the wire.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};

use crate::document::OpenApiVersion;
use crate::translate::{Mode, Translator};

/// A translated schema and its validator (none when the schema cannot be
/// compiled, e.g. an invalid `pattern`: such a schema checks nothing).
pub(crate) struct Compiled {
    pub schema: Value,
    validator: Option<jsonschema::Validator>,
}

/// One validation error, as a finding needs it.
pub(crate) struct Problem {
    pub message: String,
    /// The failing value's place inside the validated value (`.a.0.b`).
    pub instance_location: String,
    pub value: Value,
    /// The keyword's place inside the schema (`properties.a.type`).
    pub schema_location: String,
    pub schema_value: Value,
}

type Key = (String, Mode, bool);

#[derive(Default)]
pub(crate) struct Validators {
    compiled: Mutex<HashMap<Key, Arc<Compiled>>>,
}

impl std::fmt::Debug for Validators {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let count = self.compiled.lock().map(|map| map.len()).unwrap_or(0);
        write!(formatter, "Validators({count} compiled)")
    }
}

impl Validators {
    /// The validator of the schema at `pointer` used in `mode`, compiled on
    /// first use.
    pub fn get(
        &self,
        document: &Value,
        version: OpenApiVersion,
        pointer: &str,
        mode: Mode,
        parameter_itself: bool,
    ) -> Arc<Compiled> {
        let key = (pointer.to_owned(), mode, parameter_itself);
        if let Some(found) = self
            .compiled
            .lock()
            .ok()
            .and_then(|map| map.get(&key).cloned())
        {
            return found;
        }
        let schema_source = document
            .pointer(pointer)
            .cloned()
            .unwrap_or(Value::Bool(true));
        let schema =
            Translator::new(document, version, mode).translate(&schema_source, parameter_itself);
        let validator = build(&schema, version);
        let compiled = Arc::new(Compiled { schema, validator });
        if let Ok(mut map) = self.compiled.lock() {
            map.insert(key, compiled.clone());
        }
        compiled
    }
}

fn build(schema: &Value, version: OpenApiVersion) -> Option<jsonschema::Validator> {
    let draft = if version == OpenApiVersion::V3_1 {
        jsonschema::Draft::Draft202012
    } else {
        jsonschema::Draft::Draft201909
    };
    let accept_any = |_: &str| true;
    jsonschema::options()
        .with_draft(draft)
        .should_validate_formats(true)
        .should_ignore_unknown_formats(true)
        // OpenAPI's formats: numeric ones constrain numbers, not text (int32's
        // range is translated to minimum/maximum); binary and password are
        // annotations; byte is base64.
        .with_format("int32", accept_any)
        .with_format("int64", accept_any)
        .with_format("float", accept_any)
        .with_format("double", accept_any)
        .with_format("binary", accept_any)
        .with_format("password", accept_any)
        .with_format("byte", is_base64)
        .build(schema)
        .ok()
}

fn is_base64(text: &str) -> bool {
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(4) {
        return false;
    }
    let padding = bytes.iter().rev().take_while(|byte| **byte == b'=').count();
    padding <= 2
        && bytes[..bytes.len() - padding]
            .iter()
            .all(|byte| byte.is_ascii_alphanumeric() || *byte == b'+' || *byte == b'/')
}

impl Compiled {
    pub fn problems(&self, instance: &Value) -> Vec<Problem> {
        let Some(validator) = &self.validator else {
            return Vec::new();
        };
        let mut problems = Vec::new();
        for error in validator.iter_errors(instance) {
            let instance_segments = segments(error.instance_path().as_str());
            let evaluation: Vec<String> = segments(error.evaluation_path().as_str());
            let schema_location: Vec<&str> = evaluation
                .iter()
                .map(String::as_str)
                .filter(|segment| *segment != "$ref")
                .collect();
            let schema_location = schema_location.join(".");
            let schema_value = self.keyword_value(&evaluation);
            let value = at(instance, &instance_segments)
                .cloned()
                .unwrap_or(Value::Null);
            let instance_location: String = instance_segments
                .iter()
                .map(|segment| format!(".{segment}"))
                .collect();
            let messages = messages(error.kind());
            for message in messages {
                problems.push(Problem {
                    message,
                    instance_location: instance_location.clone(),
                    value: value.clone(),
                    schema_location: schema_location.clone(),
                    schema_value: schema_value.clone(),
                });
            }
        }
        problems
    }

    /// The value of the keyword an evaluation path ends at, following `$ref`s.
    fn keyword_value(&self, evaluation: &[String]) -> Value {
        let mut current = &self.schema;
        for segment in evaluation {
            if segment == "$ref" {
                let Some(pointer) = current
                    .get("$ref")
                    .and_then(Value::as_str)
                    .and_then(|r| r.strip_prefix('#'))
                else {
                    return Value::Null;
                };
                match self.schema.pointer(pointer) {
                    Some(target) => current = target,
                    None => return Value::Null,
                }
                continue;
            }
            let next = match current {
                Value::Object(object) => object.get(segment),
                Value::Array(items) => segment
                    .parse::<usize>()
                    .ok()
                    .and_then(|index| items.get(index)),
                _ => None,
            };
            match next {
                Some(next) => current = next,
                None => return Value::Null,
            }
        }
        current.clone()
    }

    /// Ajv's coercion (`coerceTypes: true`): text becomes the number, boolean
    /// or null the schema asks for, also inside arrays and objects.
    pub fn coerce(&self, value: Value) -> Value {
        coerce(&self.schema, &self.schema, value, 0)
    }
}

fn segments(pointer: &str) -> Vec<String> {
    if pointer.is_empty() {
        return Vec::new();
    }
    pointer
        .trim_start_matches('/')
        .split('/')
        .map(|segment| segment.replace("~1", "/").replace("~0", "~"))
        .collect()
}

fn at<'a>(value: &'a Value, segments: &[String]) -> Option<&'a Value> {
    let mut current = value;
    for segment in segments {
        current = match current {
            Value::Object(object) => object.get(segment)?,
            Value::Array(items) => items.get(segment.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(current)
}

fn messages(kind: &jsonschema::error::ValidationErrorKind) -> Vec<String> {
    use jsonschema::error::ValidationErrorKind as Kind;
    let one = |text: String| vec![text];
    match kind {
        Kind::AdditionalProperties { unexpected } => unexpected
            .iter()
            .map(|name| format!("must NOT have additional properties - {name}"))
            .collect(),
        Kind::Required { property } => one(format!(
            "must have required property '{}'",
            property.as_str().unwrap_or(&property.to_string())
        )),
        Kind::Type { kind } => one(format!("must be {}", type_words(kind))),
        Kind::Format { format } => one(format!("must match format \"{format}\"")),
        Kind::Enum { .. } => one("must be equal to one of the allowed values".to_owned()),
        Kind::Constant { .. } => one("must be equal to constant".to_owned()),
        Kind::Minimum { limit } => one(format!("must be >= {limit}")),
        Kind::Maximum { limit } => one(format!("must be <= {limit}")),
        Kind::ExclusiveMinimum { limit } => one(format!("must be > {limit}")),
        Kind::ExclusiveMaximum { limit } => one(format!("must be < {limit}")),
        Kind::MinLength { limit } => one(format!("must NOT have fewer than {limit} characters")),
        Kind::MaxLength { limit } => one(format!("must NOT have more than {limit} characters")),
        Kind::MinItems { limit } => one(format!("must NOT have fewer than {limit} items")),
        Kind::MaxItems { limit } => one(format!("must NOT have more than {limit} items")),
        Kind::MinProperties { limit } => {
            one(format!("must NOT have fewer than {limit} properties"))
        }
        Kind::MaxProperties { limit } => one(format!("must NOT have more than {limit} properties")),
        Kind::Pattern { pattern } => one(format!("must match pattern \"{pattern}\"")),
        Kind::MultipleOf { multiple_of } => one(format!("must be multiple of {multiple_of}")),
        Kind::UniqueItems => one("must NOT have duplicate items".to_owned()),
        Kind::OneOfNotValid { .. } | Kind::OneOfMultipleValid { .. } => {
            one("must match exactly one schema in oneOf".to_owned())
        }
        Kind::AnyOf { .. } => one("must match a schema in anyOf".to_owned()),
        Kind::Not { .. } => one("must NOT be valid".to_owned()),
        Kind::FalseSchema => one("boolean schema is false".to_owned()),
        Kind::Contains => one("must contain at least 1 valid item(s)".to_owned()),
        other => one(format!("{other:?}")),
    }
}

fn type_words(kind: &jsonschema::error::TypeKind) -> String {
    use jsonschema::error::TypeKind;
    match kind {
        TypeKind::Single(single) => single.to_string(),
        TypeKind::Multiple(many) => many
            .iter()
            .map(|kind| kind.to_string())
            .collect::<Vec<_>>()
            .join(","),
    }
}

const MAX_COERCION_DEPTH: usize = 32;

fn coerce(root: &Value, schema: &Value, value: Value, depth: usize) -> Value {
    if depth > MAX_COERCION_DEPTH {
        return value;
    }
    let Some(schema) = schema.as_object() else {
        return value;
    };
    if let Some(target) = schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix('#'))
        .and_then(|p| root.pointer(p))
    {
        let value = coerce(root, target, value, depth + 1);
        return coerce_here(root, schema, value, depth);
    }
    coerce_here(root, schema, value, depth)
}

fn coerce_here(root: &Value, schema: &Map<String, Value>, value: Value, depth: usize) -> Value {
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(single)) => vec![single.as_str()],
        Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let mut value = value;
    if !types.is_empty()
        && !types.iter().any(|kind| has_type(&value, kind))
        && let Some(coerced) = types.iter().find_map(|kind| coerce_scalar(&value, kind))
    {
        value = coerced;
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(branches) = schema.get(key).and_then(Value::as_array) {
            for branch in branches {
                let coerced = coerce(root, branch, value.clone(), depth + 1);
                if coerced != value {
                    return coerced;
                }
            }
        }
    }
    match value {
        Value::Array(items) => {
            let Some(item_schema) = schema.get("items") else {
                return Value::Array(items);
            };
            Value::Array(
                items
                    .into_iter()
                    .map(|item| coerce(root, item_schema, item, depth + 1))
                    .collect(),
            )
        }
        Value::Object(object) => {
            let properties = schema.get("properties").and_then(Value::as_object);
            Value::Object(
                object
                    .into_iter()
                    .map(
                        |(name, child)| match properties.and_then(|all| all.get(&name)) {
                            Some(child_schema) => {
                                let child = coerce(root, child_schema, child, depth + 1);
                                (name, child)
                            }
                            None => (name, child),
                        },
                    )
                    .collect(),
            )
        }
        other => other,
    }
}

fn has_type(value: &Value, kind: &str) -> bool {
    match kind {
        "string" => value.is_string(),
        "number" => value.is_number(),
        "integer" => value.as_f64().is_some_and(|number| number.fract() == 0.0),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => false,
    }
}

fn coerce_scalar(value: &Value, kind: &str) -> Option<Value> {
    match (kind, value) {
        ("number" | "integer", Value::String(text)) => {
            let number = js_number(text)?;
            if kind == "integer" && number.fract() != 0.0 {
                return None;
            }
            Some(number_value(number))
        }
        ("number" | "integer", Value::Bool(flag)) => Some(Value::from(u8::from(*flag))),
        ("number" | "integer", Value::Null) => Some(Value::from(0)),
        ("string", Value::Number(number)) => Some(Value::String(number.to_string())),
        ("string", Value::Bool(flag)) => Some(Value::String(flag.to_string())),
        ("string", Value::Null) => Some(Value::String(String::new())),
        ("boolean", Value::String(text)) if text == "true" || text == "false" => {
            Some(Value::Bool(text == "true"))
        }
        ("boolean", Value::Number(number))
            if number.as_f64() == Some(1.0) || number.as_f64() == Some(0.0) =>
        {
            Some(Value::Bool(number.as_f64() == Some(1.0)))
        }
        ("boolean", Value::Null) => Some(Value::Bool(false)),
        ("null", Value::String(text)) if text.is_empty() => Some(Value::Null),
        ("null", Value::Number(number)) if number.as_f64() == Some(0.0) => Some(Value::Null),
        ("null", Value::Bool(false)) => Some(Value::Null),
        _ => None,
    }
}

/// JavaScript's `+text` for the texts a parameter carries (finite numbers only).
fn js_number(text: &str) -> Option<f64> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return None;
    }
    let number = if let Some(hex) = trimmed
        .strip_prefix("0x")
        .or_else(|| trimmed.strip_prefix("0X"))
    {
        i64::from_str_radix(hex, 16).ok().map(|n| n as f64)
    } else if trimmed
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | '.' | 'e' | 'E'))
    {
        trimmed.parse::<f64>().ok()
    } else {
        None
    };
    number.filter(|n| n.is_finite())
}

fn number_value(number: f64) -> Value {
    if number.fract() == 0.0 && number.abs() < 9.0e15 {
        Value::from(number as i64)
    } else {
        serde_json::Number::from_f64(number).map_or(Value::Null, Value::Number)
    }
}
