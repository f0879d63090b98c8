//! The comparison engine on small documents: one test per PactFlow code, one
//! per place where engines report false failures, documents of every version
//! and format, and hostile documents.

use serde_json::{Value, json};
use treaty_comparator::{Comparison, OpenApiVersion, ProviderContract, Severity, compare};

fn contract(document: &Value) -> ProviderContract {
    ProviderContract::parse(document.to_string().as_bytes(), Some("application/json"))
        .expect("a valid document")
}

fn pact(interactions: Value) -> Value {
    json!({"consumer": {"name": "c"}, "provider": {"name": "p"}, "interactions": interactions,
           "metadata": {"pactSpecification": {"version": "3.0.0"}}})
}

fn run(document: &Value, interactions: Value) -> Comparison {
    compare(&contract(document), &pact(interactions))
}

fn codes(comparison: &Comparison) -> Vec<String> {
    comparison
        .findings
        .iter()
        .map(|finding| finding.code.clone())
        .collect()
}

fn has(comparison: &Comparison, code: &str, severity: Severity) -> bool {
    comparison
        .findings
        .iter()
        .any(|finding| finding.code == code && finding.severity == severity)
}

fn get(path: &str, status: u16, body: Value) -> Value {
    json!({"description": "a request", "request": {"method": "GET", "path": path}, "response": {"status": status, "body": body}})
}

/// An OpenAPI 3.0 document with a pet store's usual shapes.
fn pets() -> Value {
    json!({
        "openapi": "3.0.3",
        "info": {"title": "pets", "version": "1"},
        "servers": [{"url": "https://api.example.com/v1"}],
        "paths": {
            "/pets": {
                "get": {
                    "parameters": [
                        {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 100}},
                        {"name": "tags", "in": "query", "schema": {"type": "array", "items": {"type": "string"}}},
                        {"$ref": "#/components/parameters/TraceId"}
                    ],
                    "responses": {
                        "200": {"description": "ok",
                                "headers": {"X-Total": {"$ref": "#/components/headers/Total"}},
                                "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/Pet"}}}}},
                        "default": {"$ref": "#/components/responses/Problem"}
                    }
                },
                "post": {
                    "requestBody": {"$ref": "#/components/requestBodies/NewPet"},
                    "responses": {"201": {"description": "created", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}}}}
                }
            },
            "/pets/{id}": {
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
                "get": {"responses": {
                    "200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}}},
                    "404": {"description": "missing"}
                }},
                "delete": {"security": [{"bearer": []}], "responses": {"204": {"description": "gone"}}}
            },
            "/pets/{id}/photo": {
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
                "put": {"requestBody": {"content": {"image/png": {"schema": {"type": "string", "format": "binary"}}}},
                        "responses": {"204": {"description": "stored"}}}
            },
            "/health": {"get": {"responses": {"200": {"description": "up"}}}}
        },
        "components": {
            "parameters": {"TraceId": {"name": "X-Trace-Id", "in": "header", "schema": {"type": "string", "format": "uuid"}}},
            "headers": {"Total": {"schema": {"type": "integer"}}},
            "requestBodies": {"NewPet": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}}}},
            "responses": {"Problem": {"description": "problem", "content": {"application/problem+json": {"schema": {
                "type": "object", "properties": {"title": {"type": "string"}}}}}}},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Pet": {
                    "type": "object",
                    "required": ["id", "name"],
                    "properties": {
                        "id": {"type": "integer", "format": "int64", "readOnly": true},
                        "name": {"type": "string"},
                        "secret": {"type": "string", "writeOnly": true},
                        "tag": {"type": "string", "nullable": true},
                        "born": {"type": "string", "format": "date"},
                        "owner": {"$ref": "#/components/schemas/Owner"},
                        "parent": {"$ref": "#/components/schemas/Pet"}
                    }
                },
                "Owner": {"type": "object", "nullable": true, "properties": {"name": {"type": "string"}}}
            }
        }
    })
}

// ---- one test per code --------------------------------------------------

#[test]
fn an_unknown_path_or_method_is_an_error() {
    let comparison = run(
        &pets(),
        json!([
            get("/cats", 200, json!(null)),
            {"description": "patch", "request": {"method": "PATCH", "path": "/pets"}, "response": {"status": 200}}
        ]),
    );
    assert_eq!(
        codes(&comparison),
        [
            "request.path-or-method.unknown",
            "request.path-or-method.unknown"
        ]
    );
    let finding = &comparison.findings[0];
    assert_eq!(finding.severity, Severity::Error);
    assert_eq!(
        finding.mock_details.as_ref().unwrap().location,
        "[root].interactions[0].request.path"
    );
    assert_eq!(
        finding.spec_details.as_ref().unwrap().location,
        "[root].paths"
    );
    assert!(!comparison.is_compatible());
}

#[test]
fn a_path_parameter_of_the_wrong_type_is_an_unknown_path() {
    let comparison = run(&pets(), json!([get("/pets/abc", 200, json!(null))]));
    assert_eq!(codes(&comparison), ["request.path-or-method.unknown"]);
    let comparison = run(
        &pets(),
        json!([get("/pets/12", 200, json!({"name": "Rex"}))]),
    );
    assert!(comparison.findings.is_empty(), "{:?}", comparison.findings);
}

#[test]
fn a_request_body_that_breaks_the_schema_is_incompatible() {
    let comparison = run(
        &pets(),
        json!([{"description": "add", "request": {"method": "POST", "path": "/pets",
        "headers": {"Content-Type": "application/json"}, "body": {"name": 7}}, "response": {"status": 201}}]),
    );
    assert_eq!(codes(&comparison), ["request.body.incompatible"]);
    let finding = &comparison.findings[0];
    assert_eq!(
        finding.mock_details.as_ref().unwrap().location,
        "[root].interactions[0].request.body.name"
    );
    assert_eq!(
        finding.spec_details.as_ref().unwrap().location,
        "[root].paths./pets.post.requestBody.content.application/json.schema.properties.name.type"
    );
    assert!(
        finding.message.ends_with("must be string"),
        "{}",
        finding.message
    );
}

#[test]
fn a_request_body_where_the_document_has_none_is_a_warning() {
    let comparison = run(
        &pets(),
        json!([{"description": "d", "request": {"method": "GET", "path": "/health",
        "body": {"x": 1}}, "response": {"status": 200}}]),
    );
    assert_eq!(codes(&comparison), ["request.body.unknown"]);
    assert!(comparison.is_compatible());
}

#[test]
fn request_content_types_are_negotiated() {
    let post = |headers: Value| {
        json!({"description": "add", "request": {"method": "POST", "path": "/pets",
        "headers": headers, "body": {"name": "Rex"}}, "response": {"status": 201}})
    };
    let comparison = run(
        &pets(),
        json!([post(json!({"Content-Type": "application/xml"}))]),
    );
    assert_eq!(codes(&comparison), ["request.content-type.incompatible"]);
    let comparison = run(&pets(), json!([post(json!({}))]));
    assert_eq!(codes(&comparison), ["request.content-type.missing"]);
    assert!(comparison.is_compatible());
    let comparison = run(
        &pets(),
        json!([post(
            json!({"Content-Type": "application/json; charset=utf-8"})
        )]),
    );
    assert!(comparison.findings.is_empty(), "{:?}", comparison.findings);
    let comparison = run(
        &pets(),
        json!([{"description": "d", "request": {"method": "GET", "path": "/health",
        "headers": {"Content-Type": "application/json"}}, "response": {"status": 200}}]),
    );
    assert_eq!(codes(&comparison), ["request.content-type.unknown"]);
    assert!(has(
        &comparison,
        "request.content-type.unknown",
        Severity::Warning
    ));
}

#[test]
fn accept_headers_are_negotiated() {
    let comparison = run(
        &pets(),
        json!([{"description": "d", "request": {"method": "GET", "path": "/pets",
        "headers": {"Accept": "text/html"}}, "response": {"status": 200}}]),
    );
    assert_eq!(codes(&comparison), ["request.accept.incompatible"]);
    let comparison = run(
        &pets(),
        json!([{"description": "d", "request": {"method": "GET", "path": "/health",
        "headers": {"Accept": "application/json"}}, "response": {"status": 200}}]),
    );
    assert_eq!(codes(&comparison), ["request.accept.unknown"]);
    assert!(comparison.is_compatible());
    let comparison = run(
        &pets(),
        json!([{"description": "d", "request": {"method": "GET", "path": "/pets",
        "headers": {"Accept": "application/vnd.pets+json, */*;q=0.1"}}, "response": {"status": 200}}]),
    );
    assert!(comparison.findings.is_empty(), "{:?}", comparison.findings);
}

#[test]
fn request_headers_are_checked_and_undeclared_ones_warned() {
    let comparison = run(
        &pets(),
        json!([{"description": "d", "request": {"method": "GET", "path": "/pets",
        "headers": {"X-Trace-Id": "not-a-uuid", "X-Debug": "1", "User-Agent": "test"}}, "response": {"status": 200}}]),
    );
    assert_eq!(
        codes(&comparison),
        ["request.header.incompatible", "request.header.unknown"]
    );
    assert!(has(
        &comparison,
        "request.header.unknown",
        Severity::Warning
    ));
    assert_eq!(
        comparison.findings[1]
            .mock_details
            .as_ref()
            .unwrap()
            .location,
        "[root].interactions[0].request.headers.x-debug"
    );
}

#[test]
fn query_parameters_are_coerced_checked_and_undeclared_ones_warned() {
    let comparison = run(
        &pets(),
        json!([{"description": "d", "request": {"method": "GET", "path": "/pets",
        "query": "limit=500&tags=a,b&colour=red"}, "response": {"status": 200}}]),
    );
    assert_eq!(
        codes(&comparison),
        ["request.query.incompatible", "request.query.unknown"]
    );
    assert!(
        comparison.findings[0].message.ends_with("must be <= 100"),
        "{}",
        comparison.findings[0].message
    );
    assert!(has(&comparison, "request.query.unknown", Severity::Warning));
    let comparison = run(
        &pets(),
        json!([{"description": "d", "request": {"method": "GET", "path": "/pets",
        "query": {"limit": ["20"], "tags": ["a", "b"]}}, "response": {"status": 200}}]),
    );
    assert!(comparison.findings.is_empty(), "{:?}", comparison.findings);
}

#[test]
fn a_required_authorization_that_is_missing_is_an_error() {
    let delete = |headers: Value| {
        json!({"description": "d", "request": {"method": "DELETE", "path": "/pets/1",
        "headers": headers}, "response": {"status": 204}})
    };
    let comparison = run(&pets(), json!([delete(json!({}))]));
    assert_eq!(codes(&comparison), ["request.authorization.missing"]);
    let comparison = run(
        &pets(),
        json!([delete(json!({"Authorization": "Bearer abc"}))]),
    );
    assert!(comparison.findings.is_empty(), "{:?}", comparison.findings);
}

#[test]
fn response_statuses_must_be_documented_and_default_is_a_warning() {
    let comparison = run(&pets(), json!([get("/pets/1", 418, json!(null))]));
    assert_eq!(codes(&comparison), ["response.status.unknown"]);
    let comparison = run(
        &pets(),
        json!([{"description": "d", "request": {"method": "GET", "path": "/pets"},
        "response": {"status": 500, "headers": {"Content-Type": "application/problem+json"}, "body": {"title": "down"}}}]),
    );
    assert_eq!(codes(&comparison), ["response.status.default"]);
    assert!(comparison.is_compatible());
}

#[test]
fn a_response_body_that_breaks_the_schema_is_incompatible() {
    let comparison = run(
        &pets(),
        json!([get("/pets/1", 200, json!({"id": "one", "name": "Rex"}))]),
    );
    assert_eq!(codes(&comparison), ["response.body.incompatible"]);
    assert_eq!(
        comparison.findings[0]
            .mock_details
            .as_ref()
            .unwrap()
            .location,
        "[root].interactions[0].response.body.id"
    );
}

#[test]
fn a_response_body_where_the_document_has_none_is_an_error() {
    let comparison = run(
        &pets(),
        json!([get("/pets/1", 404, json!({"error": "none"}))]),
    );
    assert_eq!(codes(&comparison), ["response.body.unknown"]);
    assert!(!comparison.is_compatible());
}

#[test]
fn response_content_types_are_checked() {
    let comparison = run(
        &pets(),
        json!([{"description": "d", "request": {"method": "GET", "path": "/pets/1"},
        "response": {"status": 200, "headers": {"Content-Type": "text/xml"}, "body": {"name": 1}}}]),
    );
    assert_eq!(
        codes(&comparison),
        ["response.content-type.incompatible"],
        "the body is not checked then"
    );
    let comparison = run(
        &pets(),
        json!([{"description": "d", "request": {"method": "GET", "path": "/health"},
        "response": {"status": 200, "headers": {"Content-Type": "text/plain"}}}]),
    );
    assert_eq!(codes(&comparison), ["response.content-type.unknown"]);
    assert!(comparison.is_compatible());
}

#[test]
fn response_headers_are_checked() {
    let comparison = run(
        &pets(),
        json!([{"description": "d", "request": {"method": "GET", "path": "/pets"},
        "response": {"status": 200, "headers": {"X-Total": "many", "X-Internal": "1", "Cache-Control": "no-cache"}, "body": []}}]),
    );
    assert_eq!(
        codes(&comparison),
        [
            "response.header.incompatible",
            "response.header.undefined",
            "response.header.unknown"
        ]
    );
    assert!(has(
        &comparison,
        "response.header.undefined",
        Severity::Warning
    ));
    assert!(has(&comparison, "response.header.unknown", Severity::Error));
    let comparison = run(
        &pets(),
        json!([{"description": "d", "request": {"method": "GET", "path": "/pets"},
        "response": {"status": 200, "headers": {"X-Total": "3"}, "body": []}}]),
    );
    assert!(comparison.findings.is_empty(), "{:?}", comparison.findings);
}

#[test]
fn findings_serialise_in_pactflow_shape() {
    let comparison = run(&pets(), json!([get("/cats", 200, json!(null))]));
    let finding = serde_json::to_value(&comparison.findings[0]).unwrap();
    assert_eq!(finding["type"], "error");
    assert_eq!(
        finding["mockDetails"]["interactionDescription"],
        "a request"
    );
    assert_eq!(finding["mockDetails"]["interactionState"], "[none]");
    assert_eq!(finding["specDetails"]["location"], "[root].paths");
}

// ---- where other engines report false failures --------------------------

#[test]
fn response_schemas_are_closed_unless_the_document_says_otherwise() {
    let comparison = run(
        &pets(),
        json!([get("/pets/1", 200, json!({"name": "Rex", "colour": "red"}))]),
    );
    assert_eq!(codes(&comparison), ["response.body.incompatible"]);
    assert!(
        comparison.findings[0]
            .message
            .ends_with("must NOT have additional properties - colour")
    );
    let mut open = pets();
    open["components"]["schemas"]["Pet"]["additionalProperties"] = json!(true);
    let comparison = run(
        &open,
        json!([get("/pets/1", 200, json!({"name": "Rex", "colour": "red"}))]),
    );
    assert!(comparison.findings.is_empty(), "{:?}", comparison.findings);
}

#[test]
fn request_schemas_are_open_and_responses_need_not_carry_every_required_field() {
    let comparison = run(
        &pets(),
        json!([
            {"description": "add", "request": {"method": "POST", "path": "/pets", "headers": {"Content-Type": "application/json"},
             "body": {"name": "Rex", "colour": "red"}}, "response": {"status": 201, "body": {"name": "Rex"}}}
        ]),
    );
    assert!(comparison.findings.is_empty(), "{:?}", comparison.findings);
}

#[test]
fn read_only_properties_are_not_required_in_requests_and_write_only_ones_may_be_sent() {
    // `id` is required and readOnly: a request to create a pet cannot carry it.
    let comparison = run(
        &pets(),
        json!([
            {"description": "add", "request": {"method": "POST", "path": "/pets", "headers": {"Content-Type": "application/json"},
             "body": {"name": "Rex", "secret": "s"}}, "response": {"status": 201, "body": {"id": 1, "name": "Rex"}}}
        ]),
    );
    assert!(comparison.findings.is_empty(), "{:?}", comparison.findings);
    // Without readOnly the same request misses a required field.
    let mut strict = pets();
    strict["components"]["schemas"]["Pet"]["properties"]["id"] = json!({"type": "integer"});
    let comparison = run(
        &strict,
        json!([
            {"description": "add", "request": {"method": "POST", "path": "/pets", "headers": {"Content-Type": "application/json"},
             "body": {"name": "Rex"}}, "response": {"status": 201}}
        ]),
    );
    assert_eq!(codes(&comparison), ["request.body.incompatible"]);
}

#[test]
fn nullable_admits_null_also_through_a_reference() {
    let comparison = run(
        &pets(),
        json!([get(
            "/pets/1",
            200,
            json!({"name": "Rex", "tag": null, "owner": null})
        )]),
    );
    assert!(comparison.findings.is_empty(), "{:?}", comparison.findings);
    let comparison = run(&pets(), json!([get("/pets/1", 200, json!({"name": null}))]));
    assert_eq!(codes(&comparison), ["response.body.incompatible"]);
    let mut by_ref = pets();
    by_ref["components"]["schemas"]["Pet"]["properties"]["owner"] =
        json!({"allOf": [{"$ref": "#/components/schemas/Owner"}], "nullable": true});
    let comparison = run(
        &by_ref,
        json!([get("/pets/1", 200, json!({"owner": null}))]),
    );
    assert!(comparison.findings.is_empty(), "{:?}", comparison.findings);
}

#[test]
fn openapi_3_1_type_lists_with_null() {
    let document = json!({"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {"/a": {"get": {"responses": {
        "200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object", "properties": {
            "n": {"type": ["integer", "null"]}, "m": {"type": "number", "exclusiveMinimum": 0}}}}}}}}}}});
    assert_eq!(contract(&document).version(), OpenApiVersion::V3_1);
    let comparison = run(
        &document,
        json!([get("/a", 200, json!({"n": null, "m": 1}))]),
    );
    assert!(comparison.findings.is_empty(), "{:?}", comparison.findings);
    let comparison = run(
        &document,
        json!([get("/a", 200, json!({"n": "x", "m": 0}))]),
    );
    assert_eq!(
        codes(&comparison),
        ["response.body.incompatible", "response.body.incompatible"]
    );
}

fn shapes(discriminator: Value) -> Value {
    let mut shape = json!({"oneOf": [{"$ref": "#/components/schemas/Circle"}, {"$ref": "#/components/schemas/Square"}]});
    if !discriminator.is_null() {
        shape["discriminator"] = discriminator;
    }
    json!({"openapi": "3.0.0", "info": {"title": "t", "version": "1"}, "paths": {"/shapes": {
    "get": {"responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {
        "type": "array", "items": {"$ref": "#/components/schemas/Shape"}}}}}}},
    "post": {"requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Shape"}}}},
             "responses": {"201": {"description": "ok"}}}}},
    "components": {"schemas": {
        "Shape": shape,
        "Circle": {"type": "object", "required": ["kind", "radius"], "properties": {"kind": {"type": "string"}, "radius": {"type": "number"}}},
        "Square": {"type": "object", "required": ["kind", "side"], "properties": {"kind": {"type": "string"}, "side": {"type": "number"}}}
    }}})
}

#[test]
fn one_of_in_a_response_accepts_a_partial_body_that_fits_several_branches() {
    let comparison = run(
        &shapes(Value::Null),
        json!([get(
            "/shapes",
            200,
            json!([{"kind": "circle"}, {"side": 2}])
        )]),
    );
    assert!(comparison.findings.is_empty(), "{:?}", comparison.findings);
    let comparison = run(
        &shapes(Value::Null),
        json!([get("/shapes", 200, json!([{"radius": "big"}]))]),
    );
    assert_eq!(codes(&comparison), ["response.body.incompatible"]);
}

#[test]
fn a_discriminator_picks_the_branch_by_its_tag() {
    let document = shapes(
        json!({"propertyName": "kind", "mapping": {"round": "#/components/schemas/Circle"}}),
    );
    let comparison = run(
        &document,
        json!([get(
            "/shapes",
            200,
            json!([{"kind": "round", "radius": 1}, {"kind": "Square", "side": 2}])
        )]),
    );
    assert!(comparison.findings.is_empty(), "{:?}", comparison.findings);
    // The branch the tag names decides: a square's field on a circle is extra.
    let comparison = run(
        &document,
        json!([get("/shapes", 200, json!([{"kind": "round", "side": 1}]))]),
    );
    assert_eq!(codes(&comparison), ["response.body.incompatible"]);
    assert!(
        comparison.findings[0].message.contains("side"),
        "{}",
        comparison.findings[0].message
    );
    let comparison = run(
        &document,
        json!([get("/shapes", 200, json!([{"kind": "triangle"}]))]),
    );
    assert_eq!(codes(&comparison), ["response.body.incompatible"]);
    // In a request the branch's required fields count.
    let comparison = run(
        &document,
        json!([{"description": "add", "request": {"method": "POST", "path": "/shapes",
        "headers": {"Content-Type": "application/json"}, "body": {"kind": "Square"}}, "response": {"status": 201}}]),
    );
    assert_eq!(codes(&comparison), ["request.body.incompatible"]);
}

#[test]
fn all_of_composes_one_closed_object_from_its_parts() {
    let document = json!({"openapi": "3.0.0", "info": {"title": "t", "version": "1"}, "paths": {"/dogs/{id}": {"get": {
    "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
    "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Dog"}}}}}}}},
    "components": {"schemas": {
        "Animal": {"type": "object", "properties": {"name": {"type": "string"}}},
        "Dog": {"allOf": [{"$ref": "#/components/schemas/Animal"}, {"type": "object", "properties": {"bark": {"type": "boolean"}}}]}
    }}});
    let comparison = run(
        &document,
        json!([get("/dogs/rex", 200, json!({"name": "Rex", "bark": true}))]),
    );
    assert!(comparison.findings.is_empty(), "{:?}", comparison.findings);
    let comparison = run(
        &document,
        json!([get("/dogs/rex", 200, json!({"name": "Rex", "meow": true}))]),
    );
    assert_eq!(codes(&comparison), ["response.body.incompatible"]);
}

#[test]
fn formats_are_checked_as_openapi_defines_them() {
    let document = json!({"openapi": "3.0.0", "info": {"title": "t", "version": "1"}, "paths": {"/f": {"get": {"responses": {
        "200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object", "properties": {
            "at": {"type": "string", "format": "date-time"},
            "day": {"type": "string", "format": "date"},
            "id": {"type": "string", "format": "uuid"},
            "small": {"type": "integer", "format": "int32"},
            "big": {"type": "integer", "format": "int64"},
            "ratio": {"type": "number", "format": "float"},
            "data": {"type": "string", "format": "byte"},
            "pass": {"type": "string", "format": "password"},
            "custom": {"type": "string", "format": "made-up"}}}}}}}}}}});
    let good = json!({"at": "2024-02-29T10:00:00Z", "day": "2024-02-29", "id": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
        "small": 2147483647, "big": 9007199254740991_i64, "ratio": 0.5, "data": "aGVsbG8=", "pass": "x", "custom": "anything"});
    let comparison = run(&document, json!([get("/f", 200, good)]));
    assert!(comparison.findings.is_empty(), "{:?}", comparison.findings);
    let bad = json!({"at": "yesterday", "day": "2023-02-29", "id": "nope", "small": 2147483648_i64, "data": "***"});
    let comparison = run(&document, json!([get("/f", 200, bad)]));
    assert_eq!(comparison.findings.len(), 5, "{:?}", comparison.findings);
}

#[test]
fn openapi_3_server_paths_may_or_may_not_prefix_the_pact_path() {
    let comparison = run(
        &pets(),
        json!([
            get("/v1/pets/1", 200, json!({"name": "Rex"})),
            get("/pets/1", 200, json!({"name": "Rex"}))
        ]),
    );
    assert!(comparison.findings.is_empty(), "{:?}", comparison.findings);
    let comparison = run(&pets(), json!([get("/v2/pets/1", 200, json!(null))]));
    assert_eq!(codes(&comparison), ["request.path-or-method.unknown"]);
}

fn swagger() -> Value {
    json!({"swagger": "2.0", "info": {"title": "t", "version": "1"}, "basePath": "/api",
        "consumes": ["application/json"], "produces": ["application/json"],
        "paths": {"/items/{id}": {
            "parameters": [{"name": "id", "in": "path", "required": true, "type": "integer"}],
            "put": {"parameters": [
                    {"name": "body", "in": "body", "required": true, "schema": {"$ref": "#/definitions/Item"}},
                    {"name": "tags", "in": "query", "type": "array", "items": {"type": "integer"}, "collectionFormat": "pipes"}],
                "responses": {"200": {"description": "ok", "schema": {"$ref": "#/definitions/Item"},
                                      "headers": {"X-Count": {"type": "integer"}}}}}}},
        "definitions": {"Item": {"type": "object", "required": ["name"], "properties": {
            "name": {"type": "string", "x-nullable": true},
            "price": {"type": "number", "minimum": 0, "exclusiveMinimum": true},
            "file": {"type": "file"}}}}})
}

#[test]
fn swagger_2_documents_with_base_path_body_parameters_and_collection_formats() {
    let put = |path: &str, query: &str, body: Value| {
        json!({"description": "put", "request": {"method": "PUT", "path": path,
        "query": query, "headers": {"Content-Type": "application/json"}, "body": body},
        "response": {"status": 200, "headers": {"X-Count": "2"}, "body": {"name": "n"}}})
    };
    let comparison = run(
        &swagger(),
        json!([put(
            "/api/items/1",
            "tags=1|2",
            json!({"name": null, "price": 1})
        )]),
    );
    assert!(comparison.findings.is_empty(), "{:?}", comparison.findings);
    assert_eq!(contract(&swagger()).version(), OpenApiVersion::V2);
    let comparison = run(
        &swagger(),
        json!([put("/items/1", "", json!({"name": "n"}))]),
    );
    assert_eq!(
        codes(&comparison),
        ["request.path-or-method.unknown"],
        "basePath is part of the path"
    );
    let comparison = run(
        &swagger(),
        json!([put("/api/items/1", "tags=1|x", json!({"price": 0}))]),
    );
    assert_eq!(
        codes(&comparison),
        [
            "request.query.incompatible",
            "request.body.incompatible",
            "request.body.incompatible"
        ]
    );
}

#[test]
fn references_across_the_document_and_circular_schemas() {
    // parameters, headers, requestBodies, responses and schemas by reference;
    // Pet refers to itself through `parent`.
    let comparison = run(
        &pets(),
        json!([
            {"description": "d", "request": {"method": "GET", "path": "/pets", "headers": {"X-Trace-Id": "3fa85f64-5717-4562-b3fc-2c963f66afa6"}},
             "response": {"status": 200, "headers": {"X-Total": "1"},
                          "body": [{"name": "a", "parent": {"name": "b", "parent": {"name": "c", "parent": {"name": 4}}}}]}}
        ]),
    );
    assert_eq!(codes(&comparison), ["response.body.incompatible"]);
    assert_eq!(
        comparison.findings[0]
            .mock_details
            .as_ref()
            .unwrap()
            .location,
        "[root].interactions[0].response.body.0.parent.parent.parent.name"
    );
}

#[test]
fn bodies_the_comparator_cannot_read_are_warned_about() {
    let comparison = run(
        &pets(),
        json!([{"description": "photo", "request": {"method": "PUT", "path": "/pets/1/photo",
        "headers": {"Content-Type": "image/png"}, "body": "PNG..."}, "response": {"status": 204}}]),
    );
    assert_eq!(codes(&comparison), ["request.body.unvalidatable"]);
    assert!(comparison.is_compatible());
}

#[test]
fn requests_of_failing_interactions_are_not_checked_in_depth() {
    // A consumer may test how the provider answers a request it does not allow.
    let comparison = run(
        &pets(),
        json!([{"description": "bad", "request": {"method": "GET", "path": "/pets/1",
        "query": "debug=1", "headers": {"X-Debug": "1"}}, "response": {"status": 404}}]),
    );
    assert!(comparison.findings.is_empty(), "{:?}", comparison.findings);
}

#[test]
fn pact_specification_2_3_and_4_interactions_and_skipped_messages() {
    let v2 = json!({"metadata": {"pactSpecification": {"version": "2.0.0"}}, "interactions": [
        {"description": "v2", "request": {"method": "GET", "path": "/pets", "query": "limit=x"}, "response": {"status": 200}}]});
    assert_eq!(
        codes(&compare(&contract(&pets()), &v2)),
        ["request.query.incompatible"]
    );
    let v4 = json!({"metadata": {"pactSpecification": {"version": "4.0"}}, "interactions": [
        {"type": "Asynchronous/Messages", "description": "an event", "contents": {"content": {}}},
        {"type": "Synchronous/HTTP", "description": "v4", "request": {"method": "GET", "path": "/pets/1",
         "headers": {"Accept": ["application/json"]}},
         "response": {"status": 200, "body": {"content": {"name": 5}, "contentType": "application/json", "encoded": false}}},
        {"type": "Synchronous/HTTP", "description": "encoded", "request": {"method": "GET", "path": "/pets/1"},
         "response": {"status": 200, "body": {"content": "{\"name\": \"Rex\"}", "encoded": "json"}}}]});
    let comparison = compare(&contract(&pets()), &v4);
    assert_eq!(codes(&comparison), ["response.body.incompatible"]);
    assert_eq!(
        comparison.findings[0]
            .mock_details
            .as_ref()
            .unwrap()
            .location,
        "[root].interactions[1].response.body.name"
    );
}

#[test]
fn a_malformed_interaction_is_an_error_not_a_pass() {
    let comparison = compare(
        &contract(&pets()),
        &json!({"interactions": [{"description": "x", "request": {"path": "/pets"}}]}),
    );
    assert_eq!(codes(&comparison), ["pact.interaction.malformed"]);
}

#[test]
fn yaml_and_json_documents_give_the_same_comparison() {
    let yaml = r#"
openapi: 3.0.1
info: {title: t, version: "1"}
paths:
  /pets/{id}:
    get:
      parameters:
        - {name: id, in: path, required: true, schema: {type: integer}}
      responses:
        200:
          description: ok
          content:
            application/json:
              schema:
                type: object
                properties:
                  name: {type: string}
"#;
    let from_yaml = ProviderContract::parse(yaml.as_bytes(), Some("application/yaml")).unwrap();
    let guessed = ProviderContract::parse(yaml.as_bytes(), None).unwrap();
    let from_json =
        ProviderContract::parse(from_yaml.document().to_string().as_bytes(), None).unwrap();
    let pact = pact(json!([get("/pets/1", 200, json!({"name": 1}))]));
    for contract in [&from_yaml, &guessed, &from_json] {
        assert_eq!(
            codes(&compare(contract, &pact)),
            ["response.body.incompatible"]
        );
    }
}

// ---- documents that cannot be used --------------------------------------

fn refused(bytes: &[u8], content_type: Option<&str>) -> String {
    match ProviderContract::parse(bytes, content_type) {
        Ok(_) => panic!("accepted"),
        Err(error) => error.to_string(),
    }
}

#[test]
fn bad_documents_are_refused_with_what_is_wrong() {
    assert!(refused(b"{\"info\": {}}", None).contains("neither `openapi` nor `swagger`"));
    assert!(refused(b"[1, 2]", None).contains("not an OpenAPI document"));
    assert!(refused(b"{\"openapi\": \"4.0.0\"}", None).contains("unsupported version"));
    assert!(refused(b"{\"swagger\": \"1.2\"}", None).contains("unsupported version"));
    assert!(refused(b"{\"openapi\": 3.0}", None).contains("unsupported version"));
    let json_error = refused(
        b"{\n  \"openapi\": \"3.0.0\",\n  oops\n}",
        Some("application/json"),
    );
    assert!(
        json_error.contains("invalid JSON at line 3"),
        "{json_error}"
    );
    let yaml_error = refused(
        b"openapi: 3.0.0\ninfo:\n  title: [unclosed\n",
        Some("application/yaml"),
    );
    assert!(
        yaml_error.contains("invalid YAML") && yaml_error.contains("line"),
        "{yaml_error}"
    );
}

#[test]
fn a_reference_that_leads_nowhere_is_named() {
    let document = json!({"openapi": "3.0.0", "info": {"title": "t", "version": "1"}, "paths": {"/a": {"get": {"responses": {
        "200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Missing"}}}}}}}}});
    let message = refused(document.to_string().as_bytes(), None);
    assert!(
        message.contains("#/components/schemas/Missing") && message.contains("leads nowhere"),
        "{message}"
    );
    let external = json!({"openapi": "3.0.0", "paths": {"/a": {"get": {"responses": {"200": {"$ref": "other.yaml#/Ok"}}}}}});
    let message = refused(external.to_string().as_bytes(), None);
    assert!(
        message.contains("other.yaml#/Ok") && message.contains("outside the document"),
        "{message}"
    );
}

// ---- hostile documents: an error, quickly; never a panic or a hang -------

#[test]
fn ten_mebibytes_of_nesting_is_refused() {
    let json = "[".repeat(10 * 1024 * 1024);
    assert!(refused(json.as_bytes(), Some("application/json")).contains("invalid JSON"));
    let flow_yaml = "[".repeat(10 * 1024 * 1024);
    assert!(refused(flow_yaml.as_bytes(), Some("application/yaml")).contains("invalid YAML"));
    let mut block_yaml = String::new();
    for depth in 0..200 {
        block_yaml.push_str(&" ".repeat(depth));
        block_yaml.push_str("a:\n");
    }
    assert!(refused(block_yaml.as_bytes(), Some("application/yaml")).contains("invalid YAML"));
}

#[test]
fn billion_laughs_yaml_aliases_are_refused() {
    let mut yaml = String::from(
        "openapi: 3.0.0\na0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
    );
    for level in 1..10 {
        let previous = format!("*a{}", level - 1);
        let list = [previous.as_str(); 10].join(", ");
        yaml.push_str(&format!("a{level}: &a{level} [{list}]\n"));
    }
    let message = refused(yaml.as_bytes(), Some("application/yaml"));
    assert!(message.contains("invalid YAML"), "{message}");
}

#[test]
fn documents_over_the_size_limit_are_refused_before_parsing() {
    let mut huge = b"{\"openapi\": \"3.0.0\", \"padding\": \"".to_vec();
    huge.resize(17 * 1024 * 1024, b'x');
    assert!(refused(&huge, None).contains("the limit is"));
}

#[test]
fn exponential_reference_graphs_compare_without_blowing_up() {
    // Each schema refers to the next twice, through allOf and properties: 2^40
    // paths if references were inlined.
    let mut schemas = serde_json::Map::new();
    for level in 0..40 {
        let next = format!("#/components/schemas/S{}", level + 1);
        schemas.insert(
            format!("S{level}"),
            json!({"allOf": [{"$ref": next}, {"$ref": next}],
            "properties": {"a": {"$ref": next}, "b": {"$ref": next}}}),
        );
    }
    schemas.insert(
        "S40".to_owned(),
        json!({"type": "object", "properties": {"leaf": {"type": "string"}}}),
    );
    let document = json!({"openapi": "3.0.0", "info": {"title": "t", "version": "1"}, "paths": {"/a": {"get": {"responses": {
        "200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/S0"}}}}}}}},
        "components": {"schemas": schemas}});
    let comparison = run(
        &document,
        json!([get("/a", 200, json!({"a": {"b": {"leaf": 1}}}))]),
    );
    assert_eq!(codes(&comparison), ["response.body.incompatible"]);
}

#[test]
fn a_contract_is_shared_across_threads_and_compiles_each_schema_once() {
    let contract = contract(&pets());
    let pact = pact(json!([get("/pets/1", 200, json!({"name": 1}))]));
    std::thread::scope(|scope| {
        for _ in 0..4 {
            let contract = contract.clone();
            let pact = &pact;
            scope.spawn(move || {
                assert_eq!(
                    codes(&compare(&contract, pact)),
                    ["response.body.incompatible"]
                )
            });
        }
    });
}

#[test]
fn schemas_that_refer_to_themselves_without_descending_end() {
    let document = json!({"openapi": "3.0.0", "info": {"title": "t", "version": "1"}, "paths": {"/a": {"get": {"responses": {
    "200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/A"}}}},
    "201": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/B"}}}}}}}},
    "components": {"schemas": {
        "A": {"anyOf": [{"$ref": "#/components/schemas/A"}, {"type": "string"}]},
        "B": {"$ref": "#/components/schemas/C"},
        "C": {"$ref": "#/components/schemas/B"}
    }}});
    let comparison = run(
        &document,
        json!([
            get("/a", 200, json!(1)),
            get("/a", 200, json!("text")),
            get("/a", 201, json!({"x": 1}))
        ]),
    );
    assert!(
        comparison
            .findings
            .iter()
            .all(|finding| finding.code == "response.body.incompatible"),
        "{:?}",
        comparison.findings
    );
}

#[test]
fn deep_values_against_recursive_schemas_are_checked_to_the_bottom() {
    let document = json!({"openapi": "3.0.0", "info": {"title": "t", "version": "1"}, "paths": {"/tree": {"get": {"responses": {
        "200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Node"}}}}}}}},
        "components": {"schemas": {"Node": {"type": "object", "properties": {
            "child": {"$ref": "#/components/schemas/Node"}, "leaf": {"type": "integer"}}}}}});
    let mut body = json!({"leaf": "deepest"});
    for _ in 0..100 {
        body = json!({"child": body});
    }
    let comparison = run(&document, json!([get("/tree", 200, body)]));
    assert_eq!(codes(&comparison), ["response.body.incompatible"]);
    let location = &comparison.findings[0]
        .mock_details
        .as_ref()
        .unwrap()
        .location;
    assert!(
        location.ends_with(&format!("{}.leaf", ".child".repeat(100))),
        "{location}"
    );
}

#[test]
fn openapi_3_1_schemas_may_refer_to_each_other_by_id_and_anchor() {
    let document = json!({"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {"/pets/{id}": {"get": {
    "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
    "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}}}}}}},
    "components": {"schemas": {
        "Pet": {"type": "object", "properties": {
            "tag": {"$ref": "/schemas/tag"},
            "details": {"$ref": "/schemas/details#size"}}},
        "Tag": {"$id": "/schemas/tag", "type": "object", "properties": {"name": {"type": "string"}}},
        "Details": {"$id": "/schemas/details", "$defs": {"size": {"$anchor": "size", "type": "integer"}}}
    }}});
    let comparison = run(
        &document,
        json!([get(
            "/pets/1",
            200,
            json!({"tag": {"name": "a"}, "details": 3})
        )]),
    );
    assert!(comparison.findings.is_empty(), "{:?}", comparison.findings);
    let comparison = run(
        &document,
        json!([get(
            "/pets/1",
            200,
            json!({"tag": {"name": 1}, "details": "big"})
        )]),
    );
    assert_eq!(
        codes(&comparison),
        ["response.body.incompatible", "response.body.incompatible"]
    );
}
