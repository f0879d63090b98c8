//! JSON Schema validation of pact values: translated schemas compiled once per
//! contract (and per [`Mode`]), reused by every interaction of every pact;
//! errors worded and located as PactFlow's comparator (Ajv) words them; and
//! Ajv's type coercion for parameters, whose values are text on the wire.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};

use jsonschema::{Keyword, ValidationError};
use serde_json::{Map, Value, json};

use crate::document::OpenApiVersion;
use crate::translate::{Mode, REFERENCE, Translator};

/// A translated schema and its validator, compiled on first use (none when
/// the schema cannot be compiled, e.g. an invalid `pattern`: such a schema
/// checks nothing).
pub(crate) struct Compiled {
    pub schema: Value,
    mode: Mode,
    validator: OnceLock<Option<jsonschema::Validator>>,
    shared: Weak<Shared>,
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

/// An error before it is placed: paths relative to the validated value and
/// schema, a hop into a referenced schema written `@ref:<pointer>`.
struct Raw {
    instance: Vec<String>,
    schema: Vec<String>,
    message: String,
}

type Key = (String, Mode, bool);

/// The compiled schemas of one contract.
pub(crate) struct Validators {
    shared: Arc<Shared>,
}

struct Shared {
    document: Arc<Value>,
    ids: crate::document::SchemaIds,
    version: OpenApiVersion,
    compiled: Mutex<HashMap<Key, Arc<Compiled>>>,
    me: Weak<Shared>,
}

impl std::fmt::Debug for Validators {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let count = self
            .shared
            .compiled
            .lock()
            .map(|map| map.len())
            .unwrap_or(0);
        write!(formatter, "Validators({count} schemas)")
    }
}

impl Validators {
    pub fn new(
        document: Arc<Value>,
        ids: crate::document::SchemaIds,
        version: OpenApiVersion,
    ) -> Self {
        let shared = Arc::new_cyclic(|me| Shared {
            document,
            ids,
            version,
            compiled: Mutex::new(HashMap::new()),
            me: me.clone(),
        });
        Self { shared }
    }

    /// The schema at `pointer` used in `mode` (`parameter_itself`: a Swagger
    /// 2.0 parameter that is its own schema).
    pub fn get(&self, pointer: &str, mode: Mode, parameter_itself: bool) -> Arc<Compiled> {
        self.shared
            .get(&(pointer.to_owned(), mode, parameter_itself))
    }
}

impl Shared {
    fn get(&self, key: &Key) -> Arc<Compiled> {
        if let Some(found) = self
            .compiled
            .lock()
            .ok()
            .and_then(|map| map.get(key).cloned())
        {
            return found;
        }
        let source = self
            .document
            .pointer(&key.0)
            .cloned()
            .unwrap_or(Value::Bool(true));
        let schema = Translator::new(&self.document, &self.ids, self.version, key.1)
            .translate(&source, key.2);
        let compiled = Arc::new(Compiled {
            schema,
            mode: key.1,
            validator: OnceLock::new(),
            shared: self.me.clone(),
        });
        match self.compiled.lock() {
            Ok(mut map) => map.entry(key.clone()).or_insert(compiled).clone(),
            Err(_) => compiled,
        }
    }
}

/// How many references deep one validation may go: a schema that refers to
/// itself without descending into the value (`anyOf: [{$ref: itself}]`)
/// would otherwise recurse until the stack ends.
const MAX_REFERENCE_DEPTH: usize = 200;

thread_local! {
    static REFERENCE_DEPTH: Cell<usize> = const { Cell::new(0) };
}

/// The [`REFERENCE`] keyword: validates against the referenced schema,
/// compiled on first use; its errors carry their own places inside it.
struct Reference {
    shared: Weak<Shared>,
    key: Key,
    target: OnceLock<Option<Arc<Compiled>>>,
}

impl Reference {
    fn target(&self) -> Option<&Arc<Compiled>> {
        self.target
            .get_or_init(|| self.shared.upgrade().map(|shared| shared.get(&self.key)))
            .as_ref()
    }

    /// Runs `check` one reference deeper, or not at all past the bound.
    fn deeper<T>(&self, past_bound: T, check: impl FnOnce(&jsonschema::Validator) -> T) -> T {
        let Some(validator) = self.target().and_then(|target| target.validator()) else {
            return past_bound;
        };
        let depth = REFERENCE_DEPTH.with(Cell::get);
        if depth >= MAX_REFERENCE_DEPTH {
            return past_bound;
        }
        REFERENCE_DEPTH.with(|cell| cell.set(depth + 1));
        let result = check(validator);
        REFERENCE_DEPTH.with(|cell| cell.set(depth));
        result
    }
}

impl<'i> Keyword<'i> for Reference {
    fn validate(&self, instance: &'i Value) -> Result<(), ValidationError<'i>> {
        match self.iter_errors(instance).next() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    fn is_valid(&self, instance: &'i Value) -> bool {
        self.deeper(true, |validator| validator.is_valid(instance))
    }

    fn iter_errors(
        &self,
        instance: &'i Value,
    ) -> Box<dyn Iterator<Item = ValidationError<'i>> + 'i> {
        let pointer = self.key.0.clone();
        let errors: Vec<ValidationError<'static>> = self.deeper(Vec::new(), |validator| {
            validator
                .iter_errors(instance)
                .flat_map(|error| raw(&error))
                .map(|mut raw| {
                    raw.schema.insert(0, format!("@ref:{pointer}"));
                    ValidationError::custom(
                        json!({"i": raw.instance, "s": raw.schema, "m": raw.message}).to_string(),
                    )
                })
                .collect()
        });
        Box::new(errors.into_iter())
    }
}

fn build(
    schema: &Value,
    version: OpenApiVersion,
    mode: Mode,
    shared: Weak<Shared>,
) -> Option<jsonschema::Validator> {
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
        .with_keyword(REFERENCE, move |_, value, _| {
            let pointer = value.as_str().unwrap_or("").to_owned();
            Ok(Box::new(Reference {
                shared: shared.clone(),
                key: (pointer, mode, false),
                target: OnceLock::new(),
            }))
        })
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
    fn validator(&self) -> Option<&jsonschema::Validator> {
        self.validator
            .get_or_init(|| {
                let shared = self.shared.upgrade()?;
                build(&self.schema, shared.version, self.mode, self.shared.clone())
            })
            .as_ref()
    }

    pub fn problems(&self, instance: &Value) -> Vec<Problem> {
        let Some(validator) = self.validator() else {
            return Vec::new();
        };
        let mut problems = Vec::new();
        for error in validator.iter_errors(instance) {
            for raw in raw(&error) {
                let schema_location: Vec<&str> = raw
                    .schema
                    .iter()
                    .map(String::as_str)
                    .filter(|segment| !segment.starts_with("@ref:"))
                    .collect();
                problems.push(Problem {
                    instance_location: raw
                        .instance
                        .iter()
                        .map(|segment| format!(".{segment}"))
                        .collect(),
                    value: at(instance, &raw.instance).cloned().unwrap_or(Value::Null),
                    schema_location: schema_location.join("."),
                    schema_value: self.keyword_value(&raw.schema),
                    message: raw.message,
                });
            }
        }
        problems
    }

    /// The value of the keyword a schema path ends at: inside the schema of
    /// its last reference hop, if any.
    fn keyword_value(&self, path: &[String]) -> Value {
        let last_hop = path
            .iter()
            .rposition(|segment| segment.starts_with("@ref:"));
        let target = match last_hop {
            Some(hop) => {
                let pointer = path[hop].trim_start_matches("@ref:").to_owned();
                let Some(shared) = self.shared.upgrade() else {
                    return Value::Null;
                };
                Some(shared.get(&(pointer, self.mode, false)))
            }
            None => None,
        };
        let mut current = target
            .as_ref()
            .map_or(&self.schema, |compiled| &compiled.schema);
        for segment in &path[last_hop.map_or(0, |hop| hop + 1)..] {
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

    /// The `type` the schema declares, looking through references.
    pub fn declared_type(&self) -> Option<Value> {
        let shared = self.shared.upgrade()?;
        let mut schema = self.schema.clone();
        for _ in 0..16 {
            if let Some(kind) = schema.get("type") {
                return Some(kind.clone());
            }
            let pointer = schema.get(REFERENCE)?.as_str()?.to_owned();
            schema = shared.get(&(pointer, self.mode, false)).schema.clone();
        }
        None
    }

    /// Ajv's coercion (`coerceTypes: true`): text becomes the number, boolean
    /// or null the schema asks for, also inside arrays and objects.
    pub fn coerce(&self, value: Value) -> Value {
        match self.shared.upgrade() {
            Some(shared) => coerce(&shared, self.mode, &self.schema, value, 0),
            None => value,
        }
    }
}

/// The errors one validation error stands for (Ajv reports each unexpected
/// property apart), with paths relative to where it was validated.
fn raw(error: &ValidationError<'_>) -> Vec<Raw> {
    use jsonschema::error::ValidationErrorKind as Kind;
    let instance = segments(error.instance_path().as_str());
    let schema: Vec<String> = segments(error.evaluation_path().as_str());
    if let Kind::Custom { keyword, message } = error.kind()
        && keyword == REFERENCE
    {
        // An error from inside a referenced schema: its places continue ours.
        let Ok(inner) = serde_json::from_str::<Value>(message) else {
            return Vec::new();
        };
        let strings = |key: &str| -> Vec<String> {
            inner[key]
                .as_array()
                .map(|list| {
                    list.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut full_instance = instance;
        full_instance.extend(strings("i"));
        let mut full_schema: Vec<String> = schema
            .into_iter()
            .filter(|segment| segment != REFERENCE)
            .collect();
        full_schema.extend(strings("s"));
        return vec![Raw {
            instance: full_instance,
            schema: full_schema,
            message: inner["m"].as_str().unwrap_or("").to_owned(),
        }];
    }
    messages(error.kind())
        .into_iter()
        .map(|message| Raw {
            instance: instance.clone(),
            schema: schema.clone(),
            message,
        })
        .collect()
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

fn coerce(shared: &Shared, mode: Mode, schema: &Value, value: Value, depth: usize) -> Value {
    if depth > MAX_COERCION_DEPTH {
        return value;
    }
    let Some(schema) = schema.as_object() else {
        return value;
    };
    let value = match schema.get(REFERENCE).and_then(Value::as_str) {
        Some(pointer) => {
            let target = shared.get(&(pointer.to_owned(), mode, false));
            coerce(shared, mode, &target.schema, value, depth + 1)
        }
        None => value,
    };
    coerce_here(shared, mode, schema, value, depth)
}

fn coerce_here(
    shared: &Shared,
    mode: Mode,
    schema: &Map<String, Value>,
    value: Value,
    depth: usize,
) -> Value {
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
                let coerced = coerce(shared, mode, branch, value.clone(), depth + 1);
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
                    .map(|item| coerce(shared, mode, item_schema, item, depth + 1))
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
                                let child = coerce(shared, mode, child_schema, child, depth + 1);
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
