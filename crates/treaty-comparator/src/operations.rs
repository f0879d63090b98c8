//! The document's operations, indexed once per contract, and the router that
//! finds the operation a pact's request addresses.
//!
//! Path templates are matched here rather than with a router crate: OpenAPI
//! documents give different names to the parameter at the same position
//! (`/pets/{id}` next to `/pets/{petId}/toys`) and put parameters inside a
//! segment (`/files/{name}.{ext}`), which matchit refuses. Precedence is
//! find-my-way's (PactFlow's router): a static segment beats one with a
//! parameter inside, which beats a whole-segment parameter, which beats a
//! wildcard.

use serde_json::Value;

use crate::document::{OpenApiVersion, deref, deref_pointer, escape};

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// One operation of the document, with what the comparison needs resolved.
#[derive(Debug)]
pub(crate) struct Operation {
    /// The path as the document spells it, e.g. `/pets/{id}`.
    pub path: String,
    /// Lower case, as in the document.
    pub method: String,
    /// JSON pointer of the operation object.
    pub pointer: String,
    /// JSON pointers of its parameters (dereferenced), the operation's first,
    /// then the path item's it does not override.
    pub parameters: Vec<String>,
    /// Swagger 2.0's `consumes`/`produces` (the operation's, else the document's).
    pub consumes: Option<Vec<String>>,
    pub produces: Option<Vec<String>>,
    /// The security requirements in force (the operation's, else the document's).
    pub security: Vec<serde_json::Map<String, Value>>,
    segments: Vec<Segment>,
    /// Each segment's precedence (lower wins), compared in order.
    rank: Vec<u8>,
    method_lower: String,
}

#[derive(Debug)]
enum Part {
    Literal(String),
    Parameter(String),
}

#[derive(Debug)]
enum Segment {
    Static(String),
    Template(Vec<Part>),
    /// `{name*}` or `{+name}`: the rest of the path, slashes included.
    Rest(String),
}

impl Segment {
    fn rank(&self) -> u8 {
        match self {
            Self::Static(_) => 0,
            Self::Template(parts) if parts.iter().any(|part| matches!(part, Part::Literal(_))) => 1,
            Self::Template(_) => 2,
            Self::Rest(_) => 3,
        }
    }
}

/// The operations of a document and the base paths its requests may carry.
#[derive(Debug)]
pub(crate) struct Router {
    pub operations: Vec<Operation>,
    /// Prefixes a pact path may start with before the document's paths.
    /// Swagger 2.0's `basePath` is required (as PactFlow requires it); an
    /// OpenAPI 3 document's server paths are optional, since PactFlow matches
    /// paths without them and the specification puts them in front.
    base_paths: Vec<String>,
}

/// A matched operation and its path parameters (percent-decoded).
pub(crate) struct Route<'a> {
    pub operation: &'a Operation,
    pub parameters: Vec<(String, String)>,
}

impl Router {
    pub fn new(document: &Value, version: OpenApiVersion) -> Self {
        let mut operations = Vec::new();
        if let Some(paths) = document.get("paths").and_then(Value::as_object) {
            for path in paths.keys() {
                let item_pointer = format!("/paths/{}", escape(path));
                let item_pointer = deref_pointer(document, &item_pointer);
                let Some(item) = document.pointer(&item_pointer).and_then(Value::as_object) else {
                    continue;
                };
                for (method, operation) in item {
                    let method_lower = method.to_ascii_lowercase();
                    if !METHODS.contains(&method_lower.as_str()) || !operation.is_object() {
                        continue;
                    }
                    let pointer = format!("{item_pointer}/{}", escape(method));
                    let mut parameters: Vec<(String, String, String)> = Vec::new();
                    let lists = [
                        (format!("{pointer}/parameters"), operation.get("parameters")),
                        (format!("{item_pointer}/parameters"), item.get("parameters")),
                    ];
                    for (list_pointer, list) in lists {
                        let Some(list) = list.and_then(Value::as_array) else {
                            continue;
                        };
                        for index in 0..list.len() {
                            let parameter_pointer =
                                deref_pointer(document, &format!("{list_pointer}/{index}"));
                            let Some(parameter) = document.pointer(&parameter_pointer) else {
                                continue;
                            };
                            let name = parameter
                                .get("name")
                                .and_then(Value::as_str)
                                .unwrap_or("")
                                .to_owned();
                            let location = parameter
                                .get("in")
                                .and_then(Value::as_str)
                                .unwrap_or("")
                                .to_owned();
                            if !parameters
                                .iter()
                                .any(|(n, l, _)| *n == name && *l == location)
                            {
                                parameters.push((name, location, parameter_pointer));
                            }
                        }
                    }
                    let strings = |key: &str| -> Option<Vec<String>> {
                        if !version.is_swagger() {
                            return None;
                        }
                        operation
                            .get(key)
                            .or_else(|| document.get(key))
                            .and_then(Value::as_array)
                            .map(|list| {
                                list.iter()
                                    .filter_map(Value::as_str)
                                    .map(str::to_owned)
                                    .collect()
                            })
                    };
                    let security = operation
                        .get("security")
                        .or_else(|| document.get("security"))
                        .and_then(Value::as_array)
                        .map(|list| {
                            list.iter()
                                .filter_map(|entry| entry.as_object().cloned())
                                .collect()
                        })
                        .unwrap_or_default();
                    operations.push(Operation {
                        path: path.clone(),
                        method: method.clone(),
                        pointer,
                        parameters: parameters
                            .into_iter()
                            .map(|(_, _, pointer)| pointer)
                            .collect(),
                        consumes: strings("consumes"),
                        produces: strings("produces"),
                        security,
                        rank: parse_template(path).iter().map(Segment::rank).collect(),
                        segments: parse_template(path),
                        method_lower: method_lower.clone(),
                    });
                }
            }
        }
        Self {
            operations,
            base_paths: base_paths(document, version),
        }
    }

    /// The operation `method path` addresses, if any.
    pub fn find(&self, method: &str, path: &str) -> Option<Route<'_>> {
        let method = method.to_ascii_lowercase();
        let mut best: Option<(&Vec<u8>, Route<'_>)> = None;
        for base in &self.base_paths {
            let Some(rest) = path.strip_prefix(base.as_str()) else {
                continue;
            };
            if !rest.starts_with('/') {
                continue;
            }
            for operation in self
                .operations
                .iter()
                .filter(|operation| operation.method_lower == method)
            {
                if let Some(parameters) = match_segments(&operation.segments, rest) {
                    let rank = &operation.rank;
                    if best.as_ref().is_none_or(|(best_rank, _)| rank < best_rank) {
                        best = Some((
                            rank,
                            Route {
                                operation,
                                parameters,
                            },
                        ));
                    }
                }
            }
            if best.is_some() {
                break;
            }
        }
        best.map(|(_, route)| route)
    }
}

fn base_paths(document: &Value, version: OpenApiVersion) -> Vec<String> {
    let trim = |path: &str| path.trim_end_matches('/').to_owned();
    if let Some(base) = document
        .pointer("/info/x-opc-config-base-path")
        .and_then(Value::as_str)
    {
        return vec![trim(base)];
    }
    if version.is_swagger() {
        return vec![
            document
                .get("basePath")
                .and_then(Value::as_str)
                .map(trim)
                .unwrap_or_default(),
        ];
    }
    let mut bases = vec![String::new()];
    for server in document
        .get("servers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(url) = server.get("url").and_then(Value::as_str) else {
            continue;
        };
        let mut url = url.to_owned();
        // Server variables take their default values.
        if let Some(variables) = server.get("variables").and_then(Value::as_object) {
            for (name, variable) in variables {
                let default = variable
                    .get("default")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                url = url.replace(&format!("{{{name}}}"), default);
            }
        }
        let path = match url.find("://") {
            Some(at) => url[at + 3..]
                .find('/')
                .map(|slash| url[at + 3 + slash..].to_owned())
                .unwrap_or_default(),
            None => url.clone(),
        };
        let path = trim(path.split(['?', '#']).next().unwrap_or(""));
        if path.starts_with('/') && !path.contains('{') && !bases.contains(&path) {
            bases.push(path);
        }
    }
    bases
}

fn parse_template(path: &str) -> Vec<Segment> {
    let path = path.strip_prefix('/').unwrap_or(path);
    path.split('/')
        .map(|segment| {
            if !segment.contains('{') {
                return Segment::Static(segment.to_owned());
            }
            let mut parts = Vec::new();
            let mut rest = segment;
            while let Some(open) = rest.find('{') {
                if open > 0 {
                    parts.push(Part::Literal(rest[..open].to_owned()));
                }
                let Some(close) = rest[open..].find('}') else {
                    parts.push(Part::Literal(rest[open..].to_owned()));
                    rest = "";
                    break;
                };
                let name = &rest[open + 1..open + close];
                if name.ends_with('*') || name.starts_with('+') {
                    return Segment::Rest(name.trim_matches(['*', '+']).to_owned());
                }
                parts.push(Part::Parameter(
                    name.trim_start_matches(['.', ';']).to_owned(),
                ));
                rest = &rest[open + close + 1..];
            }
            if !rest.is_empty() {
                parts.push(Part::Literal(rest.to_owned()));
            }
            Segment::Template(parts)
        })
        .collect()
}

fn match_segments(segments: &[Segment], path: &str) -> Option<Vec<(String, String)>> {
    let path = path.strip_prefix('/').unwrap_or(path);
    let mut pieces: Vec<&str> = path.split('/').collect();
    let mut parameters = Vec::new();
    for (index, segment) in segments.iter().enumerate() {
        match segment {
            Segment::Rest(name) => {
                if index >= pieces.len() {
                    return None;
                }
                let rest = pieces[index..].join("/");
                if rest.is_empty() {
                    return None;
                }
                parameters.push((name.clone(), decode(&rest)));
                pieces.truncate(index + 1);
                return (index + 1 == segments.len()).then_some(parameters);
            }
            Segment::Static(text) => {
                if pieces.get(index) != Some(&text.as_str()) {
                    return None;
                }
            }
            Segment::Template(parts) => {
                let piece = pieces.get(index)?;
                match_parts(parts, piece, &mut parameters)?;
            }
        }
    }
    (pieces.len() == segments.len()).then_some(parameters)
}

/// Matches one segment against literal and parameter parts; a parameter ends
/// where the next literal first occurs (and may not be empty).
fn match_parts(parts: &[Part], piece: &str, parameters: &mut Vec<(String, String)>) -> Option<()> {
    let mut rest = piece;
    for (index, part) in parts.iter().enumerate() {
        match part {
            Part::Literal(text) => rest = rest.strip_prefix(text.as_str())?,
            Part::Parameter(name) => {
                let end = match parts.get(index + 1) {
                    Some(Part::Literal(next)) => rest.find(next.as_str())?,
                    _ => rest.len(),
                };
                if end == 0 {
                    return None;
                }
                parameters.push((name.clone(), decode(&rest[..end])));
                rest = &rest[end..];
            }
        }
    }
    rest.is_empty().then_some(())
}

fn decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

/// The value a parameter pointer stands for (already dereferenced).
pub(crate) fn parameter<'a>(document: &'a Value, pointer: &str) -> &'a Value {
    static NULL: Value = Value::Null;
    document
        .pointer(pointer)
        .map(|value| deref(document, value))
        .unwrap_or(&NULL)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn static_segments_beat_parameters_and_names_may_differ() {
        let document = json!({"openapi": "3.0.0", "paths": {
            "/pets/{id}": {"get": {}},
            "/pets/mine": {"get": {}},
            "/pets/{petId}/toys": {"get": {}},
            "/files/{name}.{ext}": {"get": {}}
        }});
        let router = Router::new(&document, OpenApiVersion::V3_0);
        assert_eq!(
            router.find("GET", "/pets/mine").unwrap().operation.path,
            "/pets/mine"
        );
        let route = router.find("get", "/pets/7").unwrap();
        assert_eq!(route.operation.path, "/pets/{id}");
        assert_eq!(route.parameters, vec![("id".to_owned(), "7".to_owned())]);
        assert_eq!(
            router.find("GET", "/pets/7/toys").unwrap().operation.path,
            "/pets/{petId}/toys"
        );
        let route = router.find("GET", "/files/a.txt").unwrap();
        assert_eq!(
            route.parameters,
            vec![
                ("name".to_owned(), "a".to_owned()),
                ("ext".to_owned(), "txt".to_owned())
            ]
        );
        assert!(router.find("POST", "/pets/7").is_none());
        assert!(router.find("GET", "/pets/7/").is_none());
    }
}
