//! The provider states a provider's builds are asked to set up: each state
//! (name and params) its consumers' pacts name, with the consumers naming
//! it, as the Pact Broker lists them (`/pacts/provider/{p}/provider-states`).

use serde::Serialize;
use serde_json::{Map, Value};

/// One provider state an interaction or message asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderState {
    pub name: String,
    pub params: Option<Value>,
}

/// The provider states a pact document names, messages first: a v2
/// `providerState` string, or the v3+ `providerStates` list of
/// `{name, params}`. What is neither is skipped.
pub fn of_pact(document: &Value) -> Vec<ProviderState> {
    let list = |key: &str| document.get(key).and_then(Value::as_array);
    let mut states = Vec::new();
    for interaction in list("messages")
        .into_iter()
        .chain(list("interactions"))
        .flatten()
    {
        if let Some(name) = interaction.get("providerState").and_then(Value::as_str) {
            states.push(ProviderState {
                name: name.to_owned(),
                params: None,
            });
        } else if let Some(given) = interaction.get("providerStates").and_then(Value::as_array) {
            states.extend(given.iter().filter_map(|state| {
                Some(ProviderState {
                    name: state.get("name")?.as_str()?.to_owned(),
                    params: state.get("params").filter(|p| !p.is_null()).cloned(),
                })
            }));
        }
    }
    states
}

/// A state in the list, with every consumer whose pact names it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ListedState {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub params: Option<Value>,
    pub consumers: Vec<String>,
}

/// Params compare as JSON values do (an object's keys in any order).
fn canonical(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), canonical(&map[k])))
                    .collect::<Map<_, _>>(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

/// Each distinct (name, params) once, with its consumers in the order their
/// pacts come, each once; by name.
pub fn aggregate<'a>(
    pacts: impl IntoIterator<Item = (&'a str, Vec<ProviderState>)>,
) -> Vec<ListedState> {
    let mut listed: Vec<ListedState> = Vec::new();
    let mut index: std::collections::HashMap<(String, String), usize> =
        std::collections::HashMap::new();
    for (consumer, states) in pacts {
        for state in states {
            let key = (
                state.name.clone(),
                state
                    .params
                    .as_ref()
                    .map(|p| canonical(p).to_string())
                    .unwrap_or_default(),
            );
            let slot = *index.entry(key).or_insert_with(|| {
                listed.push(ListedState {
                    name: state.name,
                    params: state.params,
                    consumers: Vec::new(),
                });
                listed.len() - 1
            });
            let consumers = &mut listed[slot].consumers;
            if !consumers.iter().any(|c| c == consumer) {
                consumers.push(consumer.to_owned());
            }
        }
    }
    listed.sort_by(|a, b| a.name.cmp(&b.name));
    listed
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn states_are_read_from_every_pact_format() {
        let v2 = json!({"interactions": [{"providerState": "state 2"}, {"providerState": "state 1"}, {"description": "none"}]});
        let v3 = json!({
            "messages": [{"providerStates": [{"name": "a message state"}]}],
            "interactions": [{"providerStates": [{"name": "s", "params": {"id": 1}}, {"params": {}}, "odd"]}]
        });
        let names =
            |doc: &Value| -> Vec<String> { of_pact(doc).into_iter().map(|s| s.name).collect() };
        assert_eq!(names(&v2), ["state 2", "state 1"]);
        assert_eq!(names(&v3), ["a message state", "s"]);
        assert_eq!(of_pact(&v3)[1].params, Some(json!({"id": 1})));
        assert!(of_pact(&json!({"interactions": "not a list"})).is_empty());
    }

    #[test]
    fn each_state_is_listed_once_with_its_consumers_by_name() {
        let state = |name: &str, params: Option<Value>| ProviderState {
            name: name.into(),
            params,
        };
        let listed = aggregate([
            (
                "Foo",
                vec![
                    state("product", Some(json!({"id": 1, "kind": "x"}))),
                    state("b list", None),
                ],
            ),
            (
                "Foo2",
                vec![
                    state("product", Some(json!({"kind": "x", "id": 1}))),
                    state("product", Some(json!({"id": 2}))),
                ],
            ),
            ("Foo2", vec![state("b list", None)]),
        ]);
        assert_eq!(
            serde_json::to_value(&listed).unwrap(),
            json!([
                {"name": "b list", "consumers": ["Foo", "Foo2"]},
                {"name": "product", "params": {"id": 1, "kind": "x"}, "consumers": ["Foo", "Foo2"]},
                {"name": "product", "params": {"id": 2}, "consumers": ["Foo2"]}
            ])
        );
    }
}
