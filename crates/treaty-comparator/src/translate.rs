//! The one place where an OpenAPI schema becomes a JSON Schema.
//!
//! OpenAPI's Schema Object is not JSON Schema (2.0 and 3.0 least of all), and
//! a pact is not a whole message: it holds what the consumer uses. So each
//! schema is translated for where it is used ([`Mode`]):
//!
//! - `nullable: true` (3.0) and `x-nullable` (2.0) admit `null` (also where the
//!   type comes from a `$ref` or an `allOf`, and into an `enum`, since users
//!   of other engines report false failures there); 3.1 writes `null` in `type`.
//! - boolean `exclusiveMinimum`/`exclusiveMaximum` (2.0, 3.0) become numbers.
//! - annotations and extensions (`x-*`, `example`, `xml`, `discriminator`, ...)
//!   are dropped; Swagger's `type: file` accepts anything; `$id` and `$schema`
//!   are dropped so that references stay inside the document.
//! - `allOf` is flattened into one schema (OpenAPI uses it to compose an object
//!   from parts; JSON Schema's `allOf` with closed parts would accept nothing).
//! - `discriminator` selects the branch of a `oneOf`/`anyOf` by the tag value
//!   (its `mapping`, else the schema names), so a body is checked against its
//!   own branch only.
//! - responses: objects are closed (`additionalProperties: false`) unless the
//!   document says otherwise, `required` is dropped (a pact shows only the
//!   fields the consumer reads), and `oneOf` is read as `anyOf` (a partial body
//!   can fit several branches).
//! - requests: objects stay open; a `readOnly` property is not required.
//! - `int32` becomes a range; formats that constrain nothing are accepted.
//!
//! References stay references ([`REFERENCE`]), so a recursive schema stays
//! finite and a schema shared by many operations is translated and compiled
//! once per contract and mode.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value, json};

use crate::document::{OpenApiVersion, SchemaIds, deref_pointer, resolve_ref};

/// Where a schema is used; it decides how strictly a pact is read against it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Mode {
    Request,
    Response,
    /// Path, query and header parameters, and response headers.
    Parameter,
}

/// Keys of the Schema Object that are annotations, extensions or OpenAPI
/// vocabulary handled separately: never passed to the validator.
const DROPPED: [&str; 17] = [
    "nullable",
    "x-nullable",
    "discriminator",
    "xml",
    "externalDocs",
    "example",
    "examples",
    "description",
    "title",
    "deprecated",
    "readOnly",
    "writeOnly",
    "collectionFormat",
    "$schema",
    "$id",
    "$anchor",
    "$comment",
];

/// Keys of a Swagger 2.0 parameter that are not part of its schema.
const PARAMETER_KEYS: [&str; 6] = [
    "name",
    "in",
    "description",
    "required",
    "allowEmptyValue",
    "collectionFormat",
];

/// The keyword a translated schema refers to another with: its value is the
/// JSON pointer of the target in the document. `validate.rs` compiles each
/// target once, on first use, and shares it; so a schema reached from many
/// operations is compiled once, and one never reached is never compiled.
pub(crate) const REFERENCE: &str = "x-treaty-ref";

pub(crate) struct Translator<'a> {
    document: &'a Value,
    ids: &'a SchemaIds,
    version: OpenApiVersion,
    mode: Mode,
    flattened: HashMap<String, Value>,
}

impl<'a> Translator<'a> {
    pub fn new(
        document: &'a Value,
        ids: &'a SchemaIds,
        version: OpenApiVersion,
        mode: Mode,
    ) -> Self {
        Self {
            document,
            ids,
            version,
            mode,
            flattened: HashMap::new(),
        }
    }

    fn resolve(&self, reference: &str) -> Option<String> {
        resolve_ref(self.document, self.ids, reference)
    }

    /// The JSON Schema for the OpenAPI schema `schema`; the schemas it refers
    /// to stay references ([`REFERENCE`]). `parameter_itself`: a Swagger 2.0
    /// parameter that is its own schema (its `name`, `in`, ... are not schema
    /// keywords).
    pub fn translate(mut self, schema: &Value, parameter_itself: bool) -> Value {
        let schema = if parameter_itself {
            let mut own = schema.as_object().cloned().unwrap_or_default();
            own.retain(|key, _| !PARAMETER_KEYS.contains(&key.as_str()));
            Value::Object(own)
        } else {
            schema.clone()
        };
        self.node(&schema)
    }

    /// A reference to the schema at `pointer` (chains of references to
    /// references are followed here, so a cycle of them ends).
    fn reference(&mut self, pointer: &str) -> Value {
        json!({ REFERENCE: deref_pointer(self.document, pointer) })
    }

    fn node(&mut self, schema: &Value) -> Value {
        let Value::Object(object) = schema else {
            return match schema {
                Value::Bool(accepts) => Value::Bool(*accepts),
                _ => Value::Bool(true),
            };
        };
        let legacy = self.version != OpenApiVersion::V3_1;
        let nullable =
            legacy && (is_true(object.get("nullable")) || is_true(object.get("x-nullable")));

        if let Some(Value::String(reference)) = object.get("$ref") {
            let Some(pointer) = self.resolve(reference) else {
                return Value::Bool(true);
            };
            let target = self.reference(&pointer);
            if legacy {
                // 2.0 and 3.0 ignore the siblings of `$ref`; `nullable` next to
                // it is still read as "or null".
                return if nullable { or_null(target) } else { target };
            }
            let mut siblings = object.clone();
            siblings.remove("$ref");
            siblings.retain(|key, _| !DROPPED.contains(&key.as_str()) && !key.starts_with("x-"));
            if siblings.is_empty() {
                return target;
            }
            let mut translated = self.node(&Value::Object(siblings));
            if let Value::Object(translated) = &mut translated {
                translated.insert(REFERENCE.to_owned(), target[REFERENCE].clone());
            }
            return translated;
        }

        if let Some(Value::Array(_)) = object.get("allOf") {
            let flat = self.flatten(object, &mut HashSet::new());
            return self.node(&Value::Object(flat));
        }

        let mut out = Map::new();
        let mut composed = false;
        for (key, value) in object {
            if DROPPED.contains(&key.as_str()) || key.starts_with("x-") {
                continue;
            }
            match key.as_str() {
                "type" => {
                    if value.as_str() == Some("file") {
                        continue;
                    }
                    out.insert(key.clone(), value.clone());
                }
                "properties" | "patternProperties" | "dependentSchemas" | "$defs"
                | "definitions" => {
                    let Some(children) = value.as_object() else {
                        continue;
                    };
                    let translated: Map<String, Value> = children
                        .iter()
                        .map(|(name, child)| (name.clone(), self.node(child)))
                        .collect();
                    out.insert(key.clone(), Value::Object(translated));
                }
                "items"
                | "additionalItems"
                | "not"
                | "contains"
                | "propertyNames"
                | "if"
                | "then"
                | "else"
                | "unevaluatedProperties"
                | "unevaluatedItems"
                | "additionalProperties" => {
                    let translated = match value {
                        Value::Array(list) => {
                            Value::Array(list.iter().map(|child| self.node(child)).collect())
                        }
                        other => self.node(other),
                    };
                    out.insert(key.clone(), translated);
                }
                "oneOf" | "anyOf" | "prefixItems" => {
                    let Some(list) = value.as_array() else {
                        continue;
                    };
                    composed |= key != "prefixItems";
                    let translated: Vec<Value> =
                        list.iter().map(|child| self.node(child)).collect();
                    let key = if key == "oneOf" && self.mode == Mode::Response {
                        "anyOf"
                    } else {
                        key.as_str()
                    };
                    out.insert(key.to_owned(), Value::Array(translated));
                }
                "exclusiveMinimum" | "exclusiveMaximum" => match value {
                    Value::Bool(true) => {
                        let bound = if key == "exclusiveMinimum" {
                            "minimum"
                        } else {
                            "maximum"
                        };
                        if let Some(limit) = object.get(bound) {
                            out.insert(key.clone(), limit.clone());
                        }
                    }
                    Value::Bool(false) => {}
                    other => {
                        out.insert(key.clone(), other.clone());
                    }
                },
                "minimum" | "maximum" => {
                    let exclusive = if key == "minimum" {
                        "exclusiveMinimum"
                    } else {
                        "exclusiveMaximum"
                    };
                    if !is_true(object.get(exclusive)) {
                        out.insert(key.clone(), value.clone());
                    }
                }
                "required" => {
                    if self.mode == Mode::Response {
                        continue;
                    }
                    let Some(names) = value.as_array() else {
                        continue;
                    };
                    let properties = object.get("properties").and_then(Value::as_object);
                    let kept: Vec<Value> = names
                        .iter()
                        .filter(|name| {
                            // A readOnly property is the server's to send: a
                            // request need not (should not) carry it.
                            let property = name
                                .as_str()
                                .and_then(|name| properties.and_then(|all| all.get(name)));
                            !(self.mode == Mode::Request
                                && property.is_some_and(|property| {
                                    is_true(
                                        crate::document::deref(self.document, property)
                                            .get("readOnly"),
                                    )
                                }))
                        })
                        .cloned()
                        .collect();
                    out.insert(key.clone(), Value::Array(kept));
                }
                "format" => match value.as_str() {
                    Some("int32")
                        if !object.contains_key("minimum") && !object.contains_key("maximum") =>
                    {
                        out.insert("minimum".to_owned(), json!(i32::MIN));
                        out.insert("maximum".to_owned(), json!(i32::MAX));
                    }
                    _ => {
                        out.insert(key.clone(), value.clone());
                    }
                },
                "enum" => {
                    let mut options = value.as_array().cloned().unwrap_or_default();
                    if nullable && !options.contains(&Value::Null) {
                        options.push(Value::Null);
                    }
                    out.insert(key.clone(), Value::Array(options));
                }
                _ => {
                    out.insert(key.clone(), value.clone());
                }
            }
        }

        if let Some(discriminated) = self.discriminate(object, &mut out) {
            composed = true;
            out = discriminated;
        }

        if self.mode == Mode::Response && !composed && is_object_schema(&out) {
            // An explicit `additionalProperties` (even `true`) is the document
            // saying otherwise.
            if !out.contains_key("additionalProperties") {
                out.insert("additionalProperties".to_owned(), Value::Bool(false));
            }
        }

        if nullable {
            match out.get_mut("type") {
                Some(Value::String(single)) => {
                    let single = std::mem::take(single);
                    out.insert("type".to_owned(), json!([single, "null"]));
                }
                Some(Value::Array(types)) => {
                    if !types.contains(&json!("null")) {
                        types.push(json!("null"));
                    }
                }
                _ => return or_null(Value::Object(out)),
            }
        }
        Value::Object(out)
    }

    /// `discriminator` over `oneOf`/`anyOf`: the tag must be present and known,
    /// and the body is checked against the branch its value names.
    fn discriminate(
        &mut self,
        object: &Map<String, Value>,
        out: &mut Map<String, Value>,
    ) -> Option<Map<String, Value>> {
        let tag = object.get("discriminator")?.get("propertyName")?.as_str()?;
        let branches = object
            .get("oneOf")
            .or_else(|| object.get("anyOf"))?
            .as_array()?;
        let mut targets: Vec<(String, String)> = Vec::new();
        if let Some(mapping) = object
            .get("discriminator")
            .and_then(|d| d.get("mapping"))
            .and_then(Value::as_object)
        {
            for (value, target) in mapping {
                let Some(target) = target.as_str() else {
                    continue;
                };
                let pointer = if let Some(pointer) = self.resolve(target) {
                    Some(pointer)
                } else {
                    let by_name = if self.version.is_swagger() {
                        "/definitions/"
                    } else {
                        "/components/schemas/"
                    };
                    Some(format!("{by_name}{target}"))
                };
                if let Some(pointer) =
                    pointer.filter(|pointer| self.document.pointer(pointer).is_some())
                {
                    targets.push((value.clone(), pointer));
                }
            }
        }
        for branch in branches {
            let Some(pointer) = branch
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|reference| self.resolve(reference))
            else {
                continue;
            };
            if targets.iter().any(|(_, mapped)| *mapped == pointer) {
                continue;
            }
            let name = pointer
                .rsplit('/')
                .next()
                .unwrap_or("")
                .replace("~1", "/")
                .replace("~0", "~");
            targets.push((name, pointer));
        }
        if targets.is_empty() {
            return None;
        }
        let mut result = out.clone();
        result.remove("oneOf");
        result.remove("anyOf");
        let values: Vec<Value> = targets
            .iter()
            .map(|(value, _)| Value::String(value.clone()))
            .collect();
        let mut all_of = vec![json!({"properties": {tag: {"enum": values}}})];
        for (value, pointer) in &targets {
            let then = self.reference(pointer);
            all_of.push(json!({"if": {"properties": {tag: {"const": value}}, "required": [tag]}, "then": then}));
        }
        let mut required = result
            .get("required")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if !required.contains(&json!(tag)) {
            required.push(json!(tag));
        }
        result.insert("required".to_owned(), Value::Array(required));
        result.insert("allOf".to_owned(), Value::Array(all_of));
        Some(result)
    }

    /// Merges an `allOf` into one schema: properties and `required` are the
    /// union of the parts', other keywords the last part's that has them.
    fn flatten(
        &mut self,
        object: &Map<String, Value>,
        visiting: &mut HashSet<String>,
    ) -> Map<String, Value> {
        let mut merged = object.clone();
        merged.remove("allOf");
        let parts = object
            .get("allOf")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for part in parts {
            let part = match part
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|reference| self.resolve(reference))
            {
                Some(pointer) => {
                    if !visiting.insert(pointer.clone()) {
                        continue;
                    }
                    let flat = if let Some(done) = self.flattened.get(&pointer) {
                        done.clone()
                    } else {
                        let target = self
                            .document
                            .pointer(&pointer)
                            .cloned()
                            .unwrap_or(Value::Bool(true));
                        let flat = self.flatten_value(&target, visiting);
                        self.flattened.insert(pointer.clone(), flat.clone());
                        flat
                    };
                    visiting.remove(&pointer);
                    flat
                }
                None => self.flatten_value(&part, visiting),
            };
            let Value::Object(part) = part else { continue };
            merge_into(&mut merged, part);
        }
        merged
    }

    fn flatten_value(&mut self, value: &Value, visiting: &mut HashSet<String>) -> Value {
        match value {
            Value::Object(object) if object.contains_key("$ref") && object.len() == 1 => {
                let Some(pointer) = object
                    .get("$ref")
                    .and_then(Value::as_str)
                    .and_then(|reference| self.resolve(reference))
                else {
                    return value.clone();
                };
                if !visiting.insert(pointer.clone()) {
                    return Value::Object(Map::new());
                }
                let target = self
                    .document
                    .pointer(&pointer)
                    .cloned()
                    .unwrap_or(Value::Bool(true));
                let flat = self.flatten_value(&target, visiting);
                visiting.remove(&pointer);
                flat
            }
            Value::Object(object) if object.get("allOf").is_some_and(Value::is_array) => {
                Value::Object(self.flatten(object, visiting))
            }
            other => other.clone(),
        }
    }
}

fn merge_into(merged: &mut Map<String, Value>, part: Map<String, Value>) {
    for (key, value) in part {
        match (key.as_str(), merged.get_mut(&key), value) {
            ("properties", Some(Value::Object(existing)), Value::Object(more)) => {
                for (name, schema) in more {
                    existing.insert(name, schema);
                }
            }
            ("required", Some(Value::Array(existing)), Value::Array(more)) => {
                for name in more {
                    if !existing.contains(&name) {
                        existing.push(name);
                    }
                }
            }
            (_, _, value) => {
                merged.insert(key, value);
            }
        }
    }
}

fn is_true(value: Option<&Value>) -> bool {
    value == Some(&Value::Bool(true))
}

fn or_null(schema: Value) -> Value {
    json!({"anyOf": [schema, {"type": "null"}]})
}

/// An object schema that a response may close: typed `object` (also nullable),
/// or untyped with `properties`.
fn is_object_schema(schema: &Map<String, Value>) -> bool {
    match schema.get("type") {
        Some(Value::String(kind)) => kind == "object",
        Some(Value::Array(kinds)) => kinds.iter().any(|kind| kind == "object"),
        None => schema.contains_key("properties"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recursive_schemas_stay_references() {
        let document = json!({"openapi": "3.0.0", "components": {"schemas": {
            "Node": {"type": "object", "properties": {"next": {"$ref": "#/components/schemas/Node"}}}
        }}});
        let node = document.pointer("/components/schemas/Node").unwrap();
        let ids = SchemaIds::new();
        let translated = Translator::new(&document, &ids, OpenApiVersion::V3_0, Mode::Response)
            .translate(node, false);
        assert_eq!(
            translated["properties"]["next"],
            json!({REFERENCE: "/components/schemas/Node"})
        );
        assert_eq!(translated["additionalProperties"], json!(false));
    }
}
