//! The HTTP interactions of a pact (specification 2 to 4), read as PactFlow's
//! comparator reads them: header and query values that are lists are joined
//! with commas, version 4 bodies are unwrapped from `{content, encoded}`, and
//! message interactions are skipped (they keep their index, so locations
//! name the interaction as it stands in the pact).

use base64::Engine as _;
use serde_json::{Map, Value};

/// One HTTP interaction, normalised.
#[derive(Debug)]
pub(crate) struct Interaction {
    /// Its index among the pact's interactions (`[root].interactions[i]`).
    pub index: usize,
    pub description: Option<String>,
    pub provider_state: Option<String>,
    pub method: String,
    pub path: String,
    /// A query string (`a=1&b=2`), as the pact wrote it or built from its map.
    pub query: Option<String>,
    /// The query as the pact wrote it, for the findings' values.
    pub query_value: Value,
    /// Header names as written (matching ignores case), values joined.
    pub request_headers: Vec<(String, String)>,
    pub request_headers_value: Value,
    pub request_body: Option<Value>,
    pub status: i64,
    pub response_headers: Vec<(String, String)>,
    pub response_body: Option<Value>,
}

/// What keeps an interaction from being compared.
pub(crate) struct Malformed {
    pub index: usize,
    pub description: Option<String>,
    pub reason: String,
}

pub(crate) enum Entry {
    Http(Box<Interaction>),
    Malformed(Malformed),
}

pub(crate) fn interactions(pact: &Value) -> Vec<Entry> {
    let version = specification_version(pact);
    let Some(list) = pact.get("interactions").and_then(Value::as_array) else {
        return Vec::new();
    };
    list.iter()
        .filter(|interaction| interaction.is_object())
        .enumerate()
        .filter(|(_, interaction)| is_http(interaction))
        .map(
            |(index, interaction)| match http(index, interaction, version) {
                Ok(interaction) => Entry::Http(Box::new(interaction)),
                Err(reason) => Entry::Malformed(Malformed {
                    index,
                    description: interaction
                        .get("description")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                    reason,
                }),
            },
        )
        .collect()
}

fn is_http(interaction: &Value) -> bool {
    match interaction.get("type") {
        None => true,
        Some(Value::String(kind)) => kind.eq_ignore_ascii_case("synchronous/http"),
        Some(_) => false,
    }
}

fn specification_version(pact: &Value) -> u64 {
    let metadata = pact.get("metadata");
    let version = metadata
        .and_then(|m| m.pointer("/pactSpecification/version"))
        .or_else(|| metadata.and_then(|m| m.get("pactSpecificationVersion")))
        .or_else(|| metadata.and_then(|m| m.pointer("/pact-specification/version")))
        .and_then(Value::as_str)
        .unwrap_or("0");
    version
        .split('.')
        .next()
        .and_then(|major| major.trim().parse().ok())
        .unwrap_or(0)
}

fn http(index: usize, interaction: &Value, version: u64) -> Result<Interaction, String> {
    let request = interaction
        .get("request")
        .and_then(Value::as_object)
        .ok_or("it has no `request`")?;
    let response = interaction
        .get("response")
        .and_then(Value::as_object)
        .ok_or("it has no `response`")?;
    let method = request
        .get("method")
        .and_then(Value::as_str)
        .ok_or("its request has no `method`")?;
    let path = request
        .get("path")
        .and_then(Value::as_str)
        .ok_or("its request has no `path`")?;
    let status = response
        .get("status")
        .and_then(Value::as_i64)
        .ok_or("its response has no numeric `status`")?;
    let body = |side: &Map<String, Value>| -> Option<Value> {
        let body = side.get("body")?;
        if version >= 4 {
            v4_body(body)
        } else {
            Some(body.clone())
        }
    };
    let query_value = request.get("query").cloned().unwrap_or(Value::Null);
    Ok(Interaction {
        index,
        description: interaction
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_owned),
        // PactFlow reads `providerState` (specification 2); Treaty also names
        // the first of specification 3's `providerStates`.
        provider_state: interaction
            .get("providerState")
            .and_then(Value::as_str)
            .or_else(|| {
                interaction
                    .pointer("/providerStates/0/name")
                    .and_then(Value::as_str)
            })
            .map(str::to_owned),
        method: method.to_owned(),
        path: path.to_owned(),
        query: query_string(&query_value),
        query_value,
        request_headers: flatten(request.get("headers")),
        request_headers_value: request.get("headers").cloned().unwrap_or(Value::Null),
        request_body: body(request),
        status,
        response_headers: flatten(response.get("headers")),
        response_body: body(response),
    })
}

/// `{content, contentType, encoded}`: JSON stays JSON, `encoded: "json"` is
/// parsed, base64 is decoded to text.
fn v4_body(body: &Value) -> Option<Value> {
    if is_falsy(body) {
        return None;
    }
    let content = body
        .get("content")
        .cloned()
        .unwrap_or(Value::String(String::new()));
    match body.get("encoded") {
        None | Some(Value::Bool(false)) | Some(Value::Null) => Some(content),
        Some(Value::String(encoding)) if encoding.is_empty() => Some(content),
        Some(Value::String(encoding)) => {
            let Value::String(text) = &content else {
                return Some(content);
            };
            if encoding.eq_ignore_ascii_case("json") {
                return Some(serde_json::from_str(text).unwrap_or(content));
            }
            if encoding.eq_ignore_ascii_case("base64")
                && let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(text)
            {
                return Some(Value::String(String::from_utf8_lossy(&bytes).into_owned()));
            }
            Some(content)
        }
        Some(_) => Some(content),
    }
}

fn clean(text: &str) -> String {
    text.chars()
        .filter(|c| !matches!(c, '\r' | '\n' | '\0'))
        .collect()
}

fn joined(value: &Value) -> String {
    match value {
        Value::Array(items) => items
            .iter()
            .map(|item| clean(&scalar_text(item)))
            .collect::<Vec<_>>()
            .join(","),
        other => clean(&scalar_text(other)),
    }
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn flatten(headers: Option<&Value>) -> Vec<(String, String)> {
    match headers {
        Some(Value::Object(map)) => map
            .iter()
            .map(|(name, value)| (name.clone(), joined(value)))
            .collect(),
        _ => Vec::new(),
    }
}

fn query_string(query: &Value) -> Option<String> {
    match query {
        Value::String(text) if !text.is_empty() => Some(text.clone()),
        Value::Object(map) if !map.is_empty() => Some(
            map.iter()
                .map(|(name, value)| format!("{name}={}", joined(value)))
                .collect::<Vec<_>>()
                .join("&"),
        ),
        _ => None,
    }
}

/// JavaScript's falsiness (PactFlow skips falsy bodies in some checks).
pub(crate) fn is_falsy(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(flag) => !flag,
        Value::Number(number) => number.as_f64() == Some(0.0),
        Value::String(text) => text.is_empty(),
        _ => false,
    }
}
