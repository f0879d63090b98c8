//! How long a comparison takes: a generated OpenAPI 3.0 document of about
//! 1 MB against a pact of 100 interactions. Prints figures, asserts nothing.
//!
//! `cargo run --release -p treaty-comparator --example speed`

use std::time::Instant;

use serde_json::{Map, Value, json};
use treaty_comparator::{ProviderContract, compare};

const RESOURCES: usize = 360;
const FIELDS: usize = 24;

fn document() -> Value {
    let mut paths = Map::new();
    let mut schemas = Map::new();
    for resource in 0..RESOURCES {
        let name = format!("Resource{resource}");
        let mut properties = Map::new();
        for field in 0..FIELDS {
            let schema = match field % 6 {
                0 => {
                    json!({"type": "string", "format": "uuid", "description": "The identifier of this thing, as the server assigned it."})
                }
                1 => {
                    json!({"type": "integer", "format": "int32", "minimum": 0, "description": "A count of something."})
                }
                2 => json!({"type": "string", "format": "date-time", "nullable": true}),
                3 => {
                    json!({"type": "array", "items": {"$ref": format!("#/components/schemas/Resource{}", (resource + 1) % RESOURCES)}})
                }
                4 => json!({"type": "string", "enum": ["active", "inactive", "pending"]}),
                _ => json!({"oneOf": [{"type": "string", "maxLength": 64}, {"type": "number"}]}),
            };
            properties.insert(format!("field{field}"), schema);
        }
        schemas.insert(
            name.clone(),
            json!({"type": "object", "required": ["field0"], "properties": properties}),
        );
        let reference = json!({"$ref": format!("#/components/schemas/{name}")});
        paths.insert(
            format!("/resources{resource}"),
            json!({
                "get": {"parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer"}}],
                        "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "array", "items": reference}}}}}},
                "post": {"requestBody": {"required": true, "content": {"application/json": {"schema": reference}}},
                         "responses": {"201": {"description": "created", "content": {"application/json": {"schema": reference}}}}}
            }),
        );
        paths.insert(
            format!("/resources{resource}/{{id}}"),
            json!({"get": {"parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}],
                           "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": reference}}},
                                         "404": {"description": "missing"}}}}),
        );
    }
    json!({"openapi": "3.0.3", "info": {"title": "speed", "version": "1"}, "paths": paths, "components": {"schemas": schemas}})
}

fn body() -> Value {
    let mut body = Map::new();
    for field in 0..FIELDS {
        let value = match field % 6 {
            0 => json!("3fa85f64-5717-4562-b3fc-2c963f66afa6"),
            1 => json!(7),
            2 => json!("2024-05-01T10:00:00Z"),
            3 => json!([]),
            4 => json!("active"),
            _ => json!("text"),
        };
        body.insert(format!("field{field}"), value);
    }
    Value::Object(body)
}

fn pact() -> Value {
    let interactions: Vec<Value> = (0..100)
        .map(|index| {
            let resource = index * 3 % RESOURCES;
            match index % 3 {
                0 => json!({"description": format!("list {index}"), "request": {"method": "GET", "path": format!("/resources{resource}"), "query": "limit=10"},
                            "response": {"status": 200, "headers": {"Content-Type": "application/json"}, "body": [body(), body()]}}),
                1 => json!({"description": format!("create {index}"), "request": {"method": "POST", "path": format!("/resources{resource}"),
                            "headers": {"Content-Type": "application/json"}, "body": body()},
                            "response": {"status": 201, "body": body()}}),
                _ => json!({"description": format!("get {index}"), "request": {"method": "GET",
                            "path": format!("/resources{resource}/3fa85f64-5717-4562-b3fc-2c963f66afa6")},
                            "response": {"status": 200, "body": body()}}),
            }
        })
        .collect();
    json!({"consumer": {"name": "c"}, "provider": {"name": "p"}, "interactions": interactions,
           "metadata": {"pactSpecification": {"version": "3.0.0"}}})
}

fn main() {
    let bytes = serde_json::to_vec(&document()).expect("serialisable");
    let pact = pact();
    let started = Instant::now();
    let contract = ProviderContract::parse(&bytes, Some("application/json")).expect("valid");
    let parsed = started.elapsed();
    let started = Instant::now();
    let first = compare(&contract, &pact);
    let cold = started.elapsed();
    let started = Instant::now();
    let rounds = 20;
    for _ in 0..rounds {
        assert_eq!(
            compare(&contract, &pact).findings.len(),
            first.findings.len()
        );
    }
    let warm = started.elapsed() / rounds;
    println!(
        "document: {} bytes, pact: 100 interactions, findings: {}",
        bytes.len(),
        first.findings.len()
    );
    println!("parse (JSON, $ref check, routes): {parsed:?}");
    println!("first comparison (compiles the schemas it meets): {cold:?}");
    println!("later comparisons (schemas reused): {warm:?}");
    println!("parse + first comparison: {:?}", parsed + cold);
}
