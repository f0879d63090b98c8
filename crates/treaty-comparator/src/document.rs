//! Reading a published document: JSON or YAML, which OpenAPI version, and
//! whether every `$ref` leads somewhere. Hostile input is refused here,
//! before anything walks the document: its size is capped, both parsers stop
//! at a nesting depth of 128, and YAML aliases cannot expand past a bounded
//! number of events (serde_norway's repetition limit, "billion laughs").

use serde_json::Value;

use crate::ContractError;

/// Larger documents are refused before parsing (the biggest public ones,
/// Stripe's and GitHub's, are under 10 MiB as JSON).
pub(crate) const MAX_DOCUMENT_BYTES: usize = 16 * 1024 * 1024;

/// How deep collections may nest (serde_json's and serde_norway's limit).
const MAX_DEPTH: usize = 128;

/// How many `$ref` hops a chain of references to references may take.
const MAX_REF_HOPS: usize = 64;

/// The OpenAPI version a document declares; the translation to JSON Schema
/// depends on it (`nullable` and boolean `exclusiveMinimum` are 2.0/3.0 only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenApiVersion {
    /// Swagger 2.0.
    V2,
    /// OpenAPI 3.0.x.
    V3_0,
    /// OpenAPI 3.1.x (and later 3.x, which keep 3.1's JSON Schema).
    V3_1,
}

impl OpenApiVersion {
    pub fn is_swagger(self) -> bool {
        self == Self::V2
    }
}

pub(crate) fn load(bytes: &[u8], content_type: Option<&str>) -> Result<Value, ContractError> {
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(invalid(format!(
            "the document is {} bytes; the limit is {MAX_DOCUMENT_BYTES} bytes (16 MiB)",
            bytes.len()
        )));
    }
    let hint = content_type.unwrap_or("").to_ascii_lowercase();
    let looks_like_json = bytes
        .iter()
        .find(|byte| !byte.is_ascii_whitespace())
        .is_some_and(|first| *first == b'{' || *first == b'[');
    let as_json = hint.contains("json")
        || (!hint.contains("yaml") && !hint.contains("yml") && looks_like_json);
    if as_json {
        serde_json::from_slice(bytes).map_err(|error| {
            invalid(format!(
                "invalid JSON at line {} column {}: {error}",
                error.line(),
                error.column()
            ))
        })
    } else {
        if let Some(line) = yaml_flow_too_deep(bytes) {
            return Err(invalid(format!(
                "invalid YAML: at line {line}, collections are nested deeper than {MAX_DEPTH} levels"
            )));
        }
        let value: Value = serde_norway::from_slice(bytes)
            .map_err(|error| invalid(format!("invalid YAML: {error}")))?;
        Ok(value)
    }
}

/// The line where YAML flow collections (`[`, `{`) first nest deeper than
/// [`MAX_DEPTH`]. libyaml reads a whole document into events before serde
/// sees its depth, and megabytes of `[[[[` take it minutes; this scan takes
/// milliseconds. It skips quoted text and comments, and in block context
/// counts a bracket only where a flow collection can start.
fn yaml_flow_too_deep(bytes: &[u8]) -> Option<usize> {
    let mut depth = 0usize;
    let mut line = 1;
    let mut previous = b'\n';
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        match byte {
            b'\n' => line += 1,
            b'#' if index == 0 || bytes[index - 1].is_ascii_whitespace() => {
                while index < bytes.len() && bytes[index] != b'\n' {
                    index += 1;
                }
                continue;
            }
            b'"' | b'\''
                if depth > 0 || matches!(previous, b'\n' | b':' | b'-' | b',' | b'[' | b'{') =>
            {
                index += 1;
                while index < bytes.len() && bytes[index] != byte {
                    if bytes[index] == b'\\' && byte == b'"' {
                        index += 1;
                    } else if bytes[index] == b'\n' {
                        line += 1;
                    }
                    index += 1;
                }
            }
            b'[' | b'{' if depth > 0 || starts_value(bytes, index) => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Some(line);
                }
            }
            b']' | b'}' if depth > 0 => depth -= 1,
            _ => {}
        }
        // The last byte that is not a blank.
        if byte != b' ' && byte != b'\t' {
            previous = byte;
        }
        index += 1;
    }
    None
}

/// In block context a bracket starts a flow collection only as a whole value:
/// after a line's indentation, `- ` or `: `.
fn starts_value(bytes: &[u8], index: usize) -> bool {
    let before = bytes[..index]
        .iter()
        .rev()
        .find(|byte| **byte != b' ' && **byte != b'\t');
    matches!(before, None | Some(b'\n' | b':' | b'-' | b'?'))
}

pub(crate) fn version(document: &Value) -> Result<OpenApiVersion, ContractError> {
    let Some(object) = document.as_object() else {
        return Err(invalid(
            "not an OpenAPI document: the top level must be a mapping with `openapi` or `swagger`"
                .to_owned(),
        ));
    };
    let version = if let Some(swagger) = object.get("swagger") {
        match swagger.as_str() {
            Some("2.0") => OpenApiVersion::V2,
            _ => {
                return Err(invalid(format!(
                    "unsupported version: `swagger: {swagger}`; supported are Swagger 2.0 and OpenAPI 3.0 and 3.1"
                )));
            }
        }
    } else if let Some(openapi) = object.get("openapi") {
        match openapi.as_str() {
            Some(text) if text.starts_with("3.0") => OpenApiVersion::V3_0,
            Some(text) if text.starts_with("3.") => OpenApiVersion::V3_1,
            _ => {
                return Err(invalid(format!(
                    "unsupported version: `openapi: {openapi}`; supported are Swagger 2.0 and OpenAPI 3.0 and 3.1 (the version is a string such as \"3.0.3\")"
                )));
            }
        }
    } else {
        return Err(invalid(
            "not an OpenAPI document: it has neither `openapi` nor `swagger`".to_owned(),
        ));
    };
    match object.get("paths") {
        None | Some(Value::Object(_)) => {}
        Some(Value::Null) if version == OpenApiVersion::V3_1 => {}
        Some(_) => {
            return Err(invalid(
                "`paths` must be a mapping of paths to operations".to_owned(),
            ));
        }
    }
    Ok(version)
}

/// Every `$ref` of the document must lead somewhere inside it: a document
/// whose references dangle (or point to other files) cannot be compared.
pub(crate) fn check_refs(document: &Value, ids: &SchemaIds) -> Result<(), ContractError> {
    let mut path = Vec::new();
    walk_refs(document, ids, document, &mut path)
}

/// The schemas a document names with `$id` (and the `$anchor`s inside them):
/// OpenAPI 3.1 schemas may refer to each other by those (`$ref:
/// /schemas/tag`) rather than by a pointer into the document.
pub(crate) type SchemaIds = std::collections::HashMap<String, String>;

pub(crate) fn schema_ids(document: &Value) -> SchemaIds {
    let mut ids = SchemaIds::new();
    let mut pending = vec![(document, String::new(), String::new())];
    while let Some((value, pointer, resource)) = pending.pop() {
        match value {
            Value::Object(object) => {
                let mut resource = resource;
                if let Some(Value::String(id)) = object.get("$id") {
                    resource = id.trim_end_matches('#').to_owned();
                    ids.insert(resource.clone(), pointer.clone());
                }
                if let Some(Value::String(anchor)) = object.get("$anchor") {
                    ids.insert(format!("{resource}#{anchor}"), pointer.clone());
                }
                for (key, child) in object {
                    if (child.is_object() || child.is_array())
                        && !matches!(
                            key.as_str(),
                            "example" | "examples" | "default" | "enum" | "const"
                        )
                    {
                        pending.push((
                            child,
                            format!("{pointer}/{}", escape(key)),
                            resource.clone(),
                        ));
                    }
                }
            }
            Value::Array(items) => {
                for (index, child) in items.iter().enumerate() {
                    pending.push((child, format!("{pointer}/{index}"), resource.clone()));
                }
            }
            _ => {}
        }
    }
    ids
}

/// The JSON pointer a `$ref` leads to: a pointer into the document
/// (`#/components/schemas/Pet`), or a schema's `$id`, optionally with a
/// pointer or an `$anchor` after `#`.
pub(crate) fn resolve_ref(document: &Value, ids: &SchemaIds, reference: &str) -> Option<String> {
    if let Some(pointer) = local_pointer(reference) {
        return document.pointer(&pointer).is_some().then_some(pointer);
    }
    let (base, fragment) = reference.split_once('#').unwrap_or((reference, ""));
    let root = ids.get(base)?;
    if fragment.is_empty() {
        return Some(root.clone());
    }
    if fragment.starts_with('/') {
        let pointer = format!("{root}{fragment}");
        return document.pointer(&pointer).is_some().then_some(pointer);
    }
    ids.get(reference).cloned()
}

/// Walks the document (its depth is bounded by the parsers) keeping the path
/// as borrowed segments: it is only written out for the error.
fn walk_refs<'a>(
    document: &Value,
    ids: &SchemaIds,
    value: &'a Value,
    path: &mut Vec<Segment<'a>>,
) -> Result<(), ContractError> {
    match value {
        Value::Object(object) => {
            if let Some(Value::String(reference)) = object.get("$ref") {
                let at: String = path.iter().map(|segment| format!("/{segment}")).collect();
                check_ref(document, ids, reference, &at)?;
            }
            for (key, child) in object {
                // Example values and extensions are data, not references.
                if matches!(
                    key.as_str(),
                    "example" | "examples" | "default" | "enum" | "const"
                ) || key.starts_with("x-")
                {
                    continue;
                }
                if child.is_object() || child.is_array() {
                    path.push(Segment::Key(key));
                    walk_refs(document, ids, child, path)?;
                    path.pop();
                }
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                if child.is_object() || child.is_array() {
                    path.push(Segment::Index(index));
                    walk_refs(document, ids, child, path)?;
                    path.pop();
                }
            }
        }
        _ => {}
    }
    Ok(())
}

enum Segment<'a> {
    Key(&'a str),
    Index(usize),
}

impl std::fmt::Display for Segment<'_> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Key(key) => formatter.write_str(&escape(key)),
            Self::Index(index) => write!(formatter, "{index}"),
        }
    }
}

fn check_ref(
    document: &Value,
    ids: &SchemaIds,
    reference: &str,
    at: &str,
) -> Result<(), ContractError> {
    let place = if at.is_empty() {
        "/".to_owned()
    } else {
        at.to_owned()
    };
    if resolve_ref(document, ids, reference).is_some() {
        return Ok(());
    }
    if local_pointer(reference).is_some() {
        return Err(invalid(format!(
            "the $ref `{reference}` at `{place}` leads nowhere: the document has nothing at `{reference}`"
        )));
    }
    Err(invalid(format!(
        "the $ref `{reference}` at `{place}` points outside the document (no schema of the document has that `$id`); bundle the document so that every $ref is local (starts with `#/`)"
    )))
}

/// The JSON pointer of a local reference (`#/components/schemas/Pet` →
/// `/components/schemas/Pet`), with percent-encoding undone.
pub(crate) fn local_pointer(reference: &str) -> Option<String> {
    let fragment = reference.strip_prefix('#')?;
    let decoded = percent_encoding::percent_decode_str(fragment)
        .decode_utf8()
        .ok()?;
    if decoded.is_empty() || decoded.starts_with('/') {
        Some(decoded.into_owned())
    } else {
        None
    }
}

/// Escapes one JSON pointer segment.
pub(crate) fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// Follows a chain of `$ref`s from the value at `pointer`: the pointer of the
/// value it ends at (the same pointer when it is no reference). Cycles and
/// over-long chains end where they are.
pub(crate) fn deref_pointer(document: &Value, pointer: &str) -> String {
    let mut current = pointer.to_owned();
    for _ in 0..MAX_REF_HOPS {
        let Some(Value::String(reference)) = document
            .pointer(&current)
            .and_then(|value| value.get("$ref"))
        else {
            return current;
        };
        match local_pointer(reference) {
            Some(next) if document.pointer(&next).is_some() && next != current => current = next,
            _ => return current,
        }
    }
    current
}

/// The value a possibly-referencing value stands for.
pub(crate) fn deref<'a>(document: &'a Value, value: &'a Value) -> &'a Value {
    let mut current = value;
    for _ in 0..MAX_REF_HOPS {
        let Some(Value::String(reference)) = current.get("$ref") else {
            return current;
        };
        match local_pointer(reference).and_then(|pointer| document.pointer(&pointer)) {
            Some(next) => current = next,
            None => return current,
        }
    }
    current
}

fn invalid(message: String) -> ContractError {
    ContractError::Invalid(message)
}
