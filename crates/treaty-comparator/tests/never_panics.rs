//! Whatever a pact or a document holds, the engine answers: an error for a
//! document it cannot use, findings for a pact, never a panic.

use proptest::prelude::*;
use serde_json::{Value, json};
use treaty_comparator::{ProviderContract, compare};

fn document() -> ProviderContract {
    let document = json!({
        "openapi": "3.0.3", "info": {"title": "t", "version": "1"},
        "servers": [{"url": "/v1"}],
        "components": {
            "securitySchemes": {"key": {"type": "apiKey", "in": "header", "name": "X-Key"}},
            "schemas": {"Pet": {"type": "object", "required": ["name"], "properties": {
                "name": {"type": "string", "nullable": true}, "tags": {"type": "array", "items": {"$ref": "#/components/schemas/Pet"}},
                "kind": {"oneOf": [{"type": "integer", "format": "int32"}, {"type": "string", "format": "date"}]}}}}
        },
        "paths": {
            "/pets/{id}.{ext}": {"get": {"parameters": [
                {"name": "id", "in": "path", "required": true, "schema": {"type": "array", "items": {"type": "integer"}}},
                {"name": "ext", "in": "path", "required": true, "schema": {"type": "string"}},
                {"name": "q", "in": "query", "schema": {"type": "object", "properties": {"a": {"type": "number"}}}},
                {"name": "X-N", "in": "header", "required": true, "schema": {"type": "boolean"}}],
                "security": [{"key": []}],
                "responses": {"2XX": {"description": "ok", "headers": {"X-R": {"schema": {"type": "integer"}}},
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}}}}}},
            "/pets": {"post": {"requestBody": {"required": true, "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Pet"}},
                    "application/x-www-form-urlencoded": {"schema": {"$ref": "#/components/schemas/Pet"}},
                    "multipart/form-data": {"schema": {"$ref": "#/components/schemas/Pet"}}}},
                "responses": {"default": {"description": "any"}}}}
        }
    });
    ProviderContract::parse(document.to_string().as_bytes(), None).expect("valid")
}

fn text() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "",
        "/",
        "/pets",
        "/pets/",
        "/v1/pets/1,2.json",
        "/pets/1.x",
        "/pets/%zz.a",
        "pets/1.a",
        "/pets?x=1",
        "a=1&b",
        "q.a=x&q[a]=1&&=",
        "application/json",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=b",
        "*/*",
        "text/*;q=0.5, application/*",
        "Bearer x",
        "true",
        "1,2",
        "a=1,b=2",
        "é\u{0}\r\n",
        "--b\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nx\r\n--b--",
    ])
    .prop_map(str::to_owned)
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|n| serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(vec![
                    "name",
                    "tags",
                    "kind",
                    "a",
                    "content",
                    "encoded",
                    "X-Key",
                    "Content-Type",
                    "Accept"
                ])
                .prop_map(str::to_owned),
                inner,
                0..4
            )
            .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

fn interaction() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(vec!["GET", "post", "PATCH", "Synchronous/HTTP", "Asynchronous/Messages"]),
        text(),
        value(),
        value(),
        value(),
        prop::sample::select(vec![200_i64, 201, 299, 404, 500, -1]),
        value(),
        value(),
    )
        .prop_map(|(method, path, query, headers, body, status, response_headers, response_body)| {
            json!({"type": if method.contains('/') { json!(method) } else { Value::Null }, "description": "x",
                   "request": {"method": method, "path": path, "query": query, "headers": headers, "body": body},
                   "response": {"status": status, "headers": response_headers, "body": response_body}})
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_pact_is_compared_without_panicking(
        interactions in prop::collection::vec(interaction(), 0..4),
        version in prop::sample::select(vec!["2.0.0", "3.0.0", "4.0"]),
    ) {
        let pact = json!({"interactions": interactions, "metadata": {"pactSpecification": {"version": version}}});
        let _ = compare(&document(), &pact);
    }

    #[test]
    fn any_bytes_are_parsed_or_refused_without_panicking(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = ProviderContract::parse(&bytes, None);
        let _ = ProviderContract::parse(&bytes, Some("application/yaml"));
    }
}
