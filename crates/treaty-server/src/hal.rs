//! HAL+JSON: link objects, URL segments, and the response type.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

pub const HAL_JSON: &str = "application/hal+json;charset=utf-8";

/// Escapes a name for use as one path segment.
pub fn seg(name: &str) -> String {
    treaty_domain::url_path::segment(name)
}

/// Escapes a value for a query string.
pub fn query_value(value: &str) -> String {
    treaty_domain::url_path::segment(value)
}

/// A link object.
pub fn link(href: impl Into<String>) -> Value {
    json!({ "href": href.into() })
}

/// A link object with a title and, optionally, a name.
pub fn titled(href: impl Into<String>, title: impl Into<String>, name: Option<&str>) -> Value {
    let mut link = Map::new();
    link.insert("href".into(), json!(href.into()));
    link.insert("title".into(), json!(title.into()));
    if let Some(name) = name {
        link.insert("name".into(), json!(name));
    }
    Value::Object(link)
}

/// A templated link (`{name}` placeholders for the client to fill in).
pub fn templated(href: impl Into<String>, title: impl Into<String>) -> Value {
    json!({ "href": href.into(), "title": title.into(), "templated": true })
}

/// The `curies` relation that documents `pb:` relations.
pub fn curies(base: &str, context: &str) -> Value {
    json!([{ "name": "pb", "href": format!("{base}/doc/{{rel}}?context={context}"), "templated": true }])
}

/// Which of the `offered` media types (the first is the default) the
/// request's `Accept` picks, as the Pact Broker's Webmachine picks: the
/// ranges by quality (in their order when equal), each taking the first
/// offered type it matches.
pub fn negotiate(headers: &axum::http::HeaderMap, offered: &[&'static str]) -> &'static str {
    let default = offered.first().copied().unwrap_or("application/hal+json");
    let Some(accept) = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.trim().is_empty())
    else {
        return default;
    };
    let mut ranges: Vec<(String, f32)> = accept
        .split(',')
        .filter_map(|range| {
            let mut parts = range.split(';');
            let media = parts.next()?.trim().to_ascii_lowercase();
            let quality = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            (!media.is_empty() && quality > 0.0).then_some((media, quality))
        })
        .collect();
    // A stable sort keeps the client's order among equal qualities.
    ranges.sort_by(|a, b| b.1.total_cmp(&a.1));
    ranges
        .iter()
        .find_map(|(media, _)| {
            offered.iter().copied().find(|candidate| {
                media == "*/*"
                    || media == candidate
                    || media
                        .strip_suffix("/*")
                        .is_some_and(|kind| candidate.split('/').next() == Some(kind))
            })
        })
        .unwrap_or(default)
}

/// A HAL+JSON response.
pub struct Hal(pub StatusCode, pub Value);

impl Hal {
    pub fn ok(body: Value) -> Self {
        Self(StatusCode::OK, body)
    }
}

impl IntoResponse for Hal {
    fn into_response(self) -> Response {
        let mut response = (self.0, self.1.to_string()).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(HAL_JSON));
        response
    }
}

/// A 200 HAL response serialised straight from a typed body: for large
/// answers, where building a `Value` first would cost more than the query.
/// `capacity` is the expected size in bytes.
pub fn ok_serialized(
    body: &impl serde::Serialize,
    capacity: usize,
) -> Result<Response, serde_json::Error> {
    let mut bytes = Vec::with_capacity(capacity);
    serde_json::to_writer(&mut bytes, body)?;
    let mut response = (StatusCode::OK, bytes).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(HAL_JSON));
    Ok(response)
}

/// A HAL response with a `Location` header (for 201 Created).
pub fn created(location: &str, body: Value) -> Response {
    let mut response = Hal(StatusCode::CREATED, body).into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// Sets a key only when the value is present (the Pact Broker omits nils).
pub fn put_opt(map: &mut Map<String, Value>, key: &str, value: Option<impl Into<Value>>) {
    if let Some(value) = value {
        map.insert(key.to_owned(), value.into());
    }
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue, header};

    fn accepting(accept: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_str(accept).unwrap());
        headers
    }

    #[test]
    fn the_accept_header_picks_a_media_type_as_webmachine_does() {
        let offered = ["application/hal+json", "application/json", "text/html"];
        let pick = |accept: &str| super::negotiate(&accepting(accept), &offered);
        assert_eq!(
            super::negotiate(&HeaderMap::new(), &offered),
            "application/hal+json"
        );
        assert_eq!(pick("application/json"), "application/json");
        assert_eq!(
            pick("application/hal+json, application/json, */*;q=0.1"),
            "application/hal+json"
        );
        assert_eq!(
            pick("text/html,application/xhtml+xml,*/*;q=0.8"),
            "text/html"
        );
        assert_eq!(pick("*/*"), "application/hal+json");
        assert_eq!(pick("application/json;q=0.5, text/*"), "text/html");
        assert_eq!(pick("image/png"), "application/hal+json");
    }

    #[test]
    fn escapes_names_as_one_segment() {
        assert_eq!(super::seg("Foo Bar/baz"), "Foo%20Bar%2Fbaz");
        assert_eq!(super::seg("a-b_c.d~e"), "a-b_c.d~e");
        assert_eq!(super::seg("Zürich"), "Z%C3%BCrich");
    }
}
