//! Pacts-for-verification requests: the POST body (JSON) or the older GET
//! query string, then what the answer is built from (merging, descriptions,
//! notices, the URL metadata and reading it back).
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};
use treaty_domain::for_verification::{self, Chosen};
use treaty_domain::matrix_query::{self, RackValue};

/// As treaty-server's GET route turns the parsed query into the body's shape.
fn rack_to_json(value: &RackValue) -> Value {
    match value {
        RackValue::Str(s) => Value::String(s.clone()),
        RackValue::List(items) => Value::Array(items.iter().map(rack_to_json).collect()),
        RackValue::Map(entries) => Value::Object(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), rack_to_json(v)))
                .collect::<Map<_, _>>(),
        ),
    }
}

fuzz_target!(|data: &[u8]| {
    let raw = String::from_utf8_lossy(data);
    let _ = for_verification::metadata_is_wip(&raw);
    let body = match serde_json::from_slice::<Value>(data) {
        Ok(body) => body,
        Err(_) => match matrix_query::parse_nested_query(&raw) {
            Ok(parsed) => rack_to_json(&parsed),
            Err(_) => return,
        },
    };
    let Ok(request) = for_verification::parse_request(&body) else {
        return;
    };
    let chosen: Vec<Chosen> = request
        .selectors
        .iter()
        .enumerate()
        .map(|(i, selector)| {
            let _ = selector.short_description();
            Chosen {
                selector: selector.clone(),
                consumer: selector.consumer.clone().unwrap_or_else(|| "Foo".into()),
                consumer_version_id: (i % 3) as i64,
                consumer_version: format!("1.{i}"),
                sha: ["a", "b"][i % 2].to_owned(),
                environment: selector.environment.clone(),
                fallback: i % 2 == 1,
            }
        })
        .collect();
    for (i, mut pact) in for_verification::merge(chosen).into_iter().enumerate() {
        pact.pending = [None, Some(true), Some(false)][i % 3];
        let _ = for_verification::short_description(&pact);
        let _ = for_verification::notices(&pact, "http://example.org/pact", "Bar", &request);
        let metadata = for_verification::metadata(&pact);
        assert!(
            !for_verification::metadata_is_wip(&metadata),
            "metadata of a pact that is not WIP reads back as WIP"
        );
        pact.wip = true;
        let metadata = for_verification::metadata(&pact);
        assert!(for_verification::metadata_is_wip(&metadata));
    }
});
