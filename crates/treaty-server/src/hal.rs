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
    #[test]
    fn escapes_names_as_one_segment() {
        assert_eq!(super::seg("Foo Bar/baz"), "Foo%20Bar%2Fbaz");
        assert_eq!(super::seg("a-b_c.d~e"), "a-b_c.d~e");
        assert_eq!(super::seg("Zürich"), "Z%C3%BCrich");
    }
}
