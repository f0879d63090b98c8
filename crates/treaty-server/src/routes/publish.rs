//! `POST /contracts/publish`: a consumer version, its branch and tags, and its
//! contracts, in one request and one transaction.

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use serde_json::{Map, Value, json};
use treaty_domain::pact::PactDocument;
use treaty_domain::publish::{self, ContractToPublish, OnConflict, PublishRequest};
use treaty_domain::{BranchName, PacticipantName, TagName, VersionNumber};
use treaty_store::StoreError;

use crate::AppState;
use crate::access::Caller;
use crate::base_url::BaseUrl;
use crate::body::RawBody;
use crate::error::{ApiError, ApiResult, FieldErrors};
use crate::hal::{Hal, titled};
use crate::heavy;
use crate::views::{self, Urls};

pub fn router() -> Router<AppState> {
    Router::new().route("/contracts/publish", post(publish_contracts))
}

/// Collects every problem with a request, by field, before refusing it.
#[derive(Default)]
struct Problems(FieldErrors);

impl Problems {
    fn add(&mut self, field: &str, message: impl Into<String>) {
        let entry = self
            .0
            .entry(field.to_owned())
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(messages) = entry {
            messages.push(Value::String(message.into()));
        }
    }
}

fn required_string<'a>(body: &'a Value, field: &str, problems: &mut Problems) -> Option<&'a str> {
    match body.get(field) {
        None | Some(Value::Null) => {
            problems.add(field, "is missing");
            None
        }
        Some(Value::String(s)) if s.trim().is_empty() => {
            problems.add(field, "cannot be blank");
            None
        }
        Some(Value::String(s)) => Some(s),
        Some(_) => {
            problems.add(field, "must be a string");
            None
        }
    }
}

fn optional_string<'a>(body: &'a Value, field: &str, problems: &mut Problems) -> Option<&'a str> {
    match body.get(field) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => {
            problems.add(field, "cannot be blank");
            None
        }
        Some(Value::String(s)) => Some(s),
        Some(_) => {
            problems.add(field, "must be a string");
            None
        }
    }
}

/// Parses and checks the whole request, reporting every problem at once.
fn parse_request(body: &Value) -> Result<PublishRequest, FieldErrors> {
    let mut problems = Problems::default();
    if !body.is_object() {
        problems.add("", "the request body must be a JSON object");
        return Err(problems.0);
    }
    let pacticipant = required_string(body, "pacticipantName", &mut problems).and_then(|raw| {
        PacticipantName::parse(raw)
            .map_err(|e| problems.add("pacticipantName", e.to_string()))
            .ok()
    });
    let version =
        required_string(body, "pacticipantVersionNumber", &mut problems).and_then(|raw| {
            VersionNumber::parse(raw)
                .map_err(|e| problems.add("pacticipantVersionNumber", e.to_string()))
                .ok()
        });
    let branch = optional_string(body, "branch", &mut problems).and_then(|raw| {
        BranchName::parse(raw)
            .map_err(|e| problems.add("branch", e.to_string()))
            .ok()
    });
    let build_url = optional_string(body, "buildUrl", &mut problems).and_then(|raw| {
        match treaty_domain::names::forbidden_character(raw) {
            Some(found) => {
                problems.add("buildUrl", format!("contains {found}"));
                None
            }
            None => Some(raw.to_owned()),
        }
    });
    let mut tags = Vec::new();
    match body.get("tags") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for (index, item) in items.iter().enumerate() {
                match item.as_str().map(TagName::parse) {
                    Some(Ok(tag)) => tags.push(tag),
                    Some(Err(e)) => problems.add("tags", format!("{e} (at index {index})")),
                    None => problems.add("tags", format!("must be a string (at index {index})")),
                }
            }
        }
        Some(_) => problems.add("tags", "must be an array of strings"),
    }
    let mut contracts = Vec::new();
    match body.get("contracts") {
        None | Some(Value::Null) => problems.add("contracts", "is missing"),
        Some(Value::Array(items)) if items.is_empty() => {
            problems.add("contracts", "must contain at least one contract");
        }
        Some(Value::Array(items)) => {
            for (index, item) in items.iter().enumerate() {
                if let Some(contract) =
                    parse_contract(item, index, pacticipant.as_ref(), &mut problems)
                {
                    contracts.push(contract);
                }
            }
        }
        Some(_) => problems.add("contracts", "must be an array"),
    }
    match (pacticipant, version) {
        (Some(pacticipant), Some(version)) if problems.0.is_empty() => Ok(PublishRequest {
            pacticipant,
            version,
            branch,
            tags,
            build_url,
            contracts,
        }),
        _ => Err(problems.0),
    }
}

fn parse_contract(
    item: &Value,
    index: usize,
    pacticipant: Option<&PacticipantName>,
    problems: &mut Problems,
) -> Option<ContractToPublish> {
    let at = format!("(at index {index})");
    let mut field = |name: &str| -> Option<String> {
        match item.get(name) {
            None | Some(Value::Null) => {
                problems.add("contracts", format!("{name} is missing {at}"));
                None
            }
            Some(Value::String(s)) if s.trim().is_empty() => {
                problems.add("contracts", format!("{name} cannot be blank {at}"));
                None
            }
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                problems.add("contracts", format!("{name} must be a string {at}"));
                None
            }
        }
    };
    let consumer = field("consumerName");
    let provider = field("providerName");
    let content = field("content");
    let content_type = field("contentType");
    let specification = field("specification");
    if let Some(content_type) = &content_type
        && content_type != "application/json"
    {
        problems.add(
            "contracts",
            format!("contentType must be application/json (got '{content_type}') {at}"),
        );
    }
    if let Some(specification) = &specification
        && specification != "pact"
    {
        problems.add(
            "contracts",
            format!("specification must be pact (got '{specification}') {at}"),
        );
    }
    let on_conflict = match item.get("onConflict").and_then(Value::as_str) {
        None | Some("overwrite") => OnConflict::Overwrite,
        Some("merge") => OnConflict::Merge,
        Some(other) => {
            problems.add(
                "contracts",
                format!("onConflict must be one of overwrite, merge (got '{other}') {at}"),
            );
            OnConflict::Overwrite
        }
    };
    let consumer = consumer.and_then(|raw| {
        PacticipantName::parse(raw)
            .map_err(|e| problems.add("contracts", format!("consumerName {e} {at}")))
            .ok()
    })?;
    let provider = provider.and_then(|raw| {
        PacticipantName::parse(raw)
            .map_err(|e| problems.add("contracts", format!("providerName {e} {at}")))
            .ok()
    })?;
    // The checks in the Pact Broker's order and words: the content, then
    // the names in it, then the consumer against the pacticipant.
    let pact = match PactDocument::parse_base64(&content?) {
        Ok(pact) => Some(pact),
        Err(treaty_domain::pact::PactError::NotBase64(_)) => {
            problems.add("contracts", format!("is not valid Base64 {at}"));
            problems.add(
                "contracts",
                format!("content could not be parsed as application/json {at}"),
            );
            None
        }
        Err(
            treaty_domain::pact::PactError::NotJson(_)
            | treaty_domain::pact::PactError::NotUtf8
            | treaty_domain::pact::PactError::NotAnObject,
        ) => {
            problems.add(
                "contracts",
                format!("content could not be parsed as application/json {at}"),
            );
            None
        }
        Err(e) => {
            problems.add("contracts", format!("content {e} {at}"));
            None
        }
    };
    if let Some(pact) = &pact {
        if let Some(name) = pact.consumer_name()
            && name != consumer.as_str()
        {
            problems.add(
                "contracts",
                format!("consumer name in contract content ('{name}') must match consumerName in contract params ('{consumer}') {at}"),
            );
        }
        if let Some(name) = pact.provider_name()
            && name != provider.as_str()
        {
            problems.add(
                "contracts",
                format!("provider name in contract content ('{name}') must match providerName in contract params ('{provider}') {at}"),
            );
        }
    }
    if let Some(pacticipant) = pacticipant
        && &consumer != pacticipant
    {
        problems.add(
            "contracts",
            format!(
                "consumerName ('{consumer}') must match pacticipantName ('{pacticipant}') {at}"
            ),
        );
    }
    let pact = pact?;
    Some(ContractToPublish {
        consumer,
        provider,
        pact,
        on_conflict,
    })
}

/// What the refused content changes in the stored pact, as the Pact
/// Broker shows it after its refusal (the text of its pact diffs); `None`
/// when the comparison would cost too much.
async fn conflict_diff(
    state: &AppState,
    request: &PublishRequest,
    conflict: &StoreError,
) -> ApiResult<Option<String>> {
    let StoreError::PactContentConflict {
        consumer,
        version,
        provider,
    } = conflict
    else {
        return Ok(None);
    };
    let Some(contract) = request
        .contracts
        .iter()
        .find(|c| c.consumer.as_str() == consumer && c.provider.as_str() == provider)
    else {
        return Ok(None);
    };
    let Some(stored) = state
        .store
        .pact(
            consumer,
            provider,
            treaty_store::PactSelector::ConsumerVersion(version.clone()),
        )
        .await?
    else {
        return Ok(None);
    };
    let refused = contract.pact.as_value();
    // Comparing documents of megabytes is CPU work: off the runtime's threads.
    heavy::run(move || treaty_domain::pact_diff::formatted_diff(&stored.content, &refused)).await
}

async fn publish_contracts(
    State(state): State<AppState>,
    base: BaseUrl,
    caller: Caller,
    raw: RawBody,
) -> ApiResult<Hal> {
    raw.require_json(&["application/json"])?;
    let request = parse_request(&raw.json_value()?).map_err(ApiError::Validation)?;
    // Whom this publication is for, from the request it will publish.
    caller.may_act_for(request.pacticipant.as_str())?;
    for contract in &request.contracts {
        caller.may_act_for(contract.consumer.as_str())?;
    }
    treaty_store::audit::describe(&format!(
        "{} {}: publish contracts with {}",
        request.pacticipant.as_str(),
        request.version.as_str(),
        request
            .contracts
            .iter()
            .map(|c| c.provider.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let outcome = match state.store.publish_contracts(&request).await {
        Ok(outcome) => outcome,
        Err(conflict @ StoreError::PactContentConflict { .. }) => {
            let text = conflict.to_string();
            let mut notices = vec![json!({ "type": "error", "text": text })];
            if let Some(diff) = conflict_diff(&state, &request, &conflict).await? {
                notices.push(json!({ "type": "info", "text": diff }));
            }
            let mut extra = Map::new();
            extra.insert("notices".into(), Value::Array(notices));
            extra.insert("errors".into(), json!({ "contracts": [text] }));
            return Err(ApiError::Conflict {
                message: text,
                extra,
            });
        }
        Err(other) => return Err(other.into()),
    };
    let urls = Urls::new(base.0);
    let consumer = request.pacticipant.as_str();
    let version = request.version.as_str();
    let notices = publish::notices(
        &request,
        &outcome,
        |provider| urls.pact(provider, consumer, version),
        |delivery| {
            format!(
                "{}/triggered-webhooks/{}/logs",
                urls.base,
                crate::hal::seg(delivery)
            )
        },
    );
    let logs: Vec<Value> = notices
        .iter()
        .map(|n| json!({ "level": n.kind, "message": n.text, "deprecationWarning": "Replaced by notices" }))
        .collect();
    let notices: Vec<Value> = notices
        .iter()
        .map(|n| json!({ "type": n.kind, "text": n.text }))
        .collect();
    let tag_links: Vec<Value> = request
        .tags
        .iter()
        .map(|t| {
            titled(
                urls.tag(consumer, version, t.as_str()),
                "Tag",
                Some(t.as_str()),
            )
        })
        .collect();
    let contract_links: Vec<Value> = outcome
        .contracts
        .iter()
        .map(|c| {
            titled(
                urls.pact(&c.provider, consumer, version),
                "Pact",
                Some(&format!(
                    "Pact between {consumer} ({version}) and {}",
                    c.provider
                )),
            )
        })
        .collect();
    Ok(Hal::ok(json!({
        "logs": logs,
        "notices": notices,
        "_embedded": {
            "pacticipant": views::pacticipant_summary(&urls, consumer),
            "version": views::version_summary(&urls, consumer, version),
        },
        "_links": {
            "pb:pacticipant": views::pacticipant_link(&urls, consumer),
            "pb:pacticipant-version": titled(urls.version(consumer, version), "Pacticipant version", Some(version)),
            "pb:pacticipant-version-tags": tag_links,
            "pb:contracts": contract_links,
        }
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn encode(value: &Value) -> String {
        base64::engine::general_purpose::STANDARD.encode(value.to_string())
    }

    #[test]
    fn reports_every_missing_field_at_once() {
        let errors = parse_request(&json!({"contracts": [{"providerName": "Bar"}]})).unwrap_err();
        assert_eq!(errors["pacticipantName"], json!(["is missing"]));
        assert_eq!(errors["pacticipantVersionNumber"], json!(["is missing"]));
        let contracts = errors["contracts"].as_array().unwrap();
        assert!(contracts.contains(&json!("consumerName is missing (at index 0)")));
        assert!(contracts.contains(&json!("content is missing (at index 0)")));
    }

    #[test]
    fn refuses_content_that_is_not_a_pact_or_names_someone_else() {
        let body = json!({
            "pacticipantName": "Foo", "pacticipantVersionNumber": "1",
            "contracts": [
                {"consumerName": "Foo", "providerName": "Bar", "specification": "pact", "contentType": "application/json", "content": "%%%"},
                {"consumerName": "Foo", "providerName": "Bar", "specification": "pact", "contentType": "application/json",
                 "content": encode(&json!({"consumer": {"name": "Other"}, "provider": {"name": "Bar"}}))}
            ]
        });
        let errors = parse_request(&body).unwrap_err();
        let text = errors["contracts"].to_string();
        assert!(text.contains("is not valid Base64 (at index 0)"), "{text}");
        assert!(
            text.contains("consumer name in contract content ('Other') must match"),
            "{text}"
        );
    }

    #[test]
    fn accepts_a_valid_request() {
        let body = json!({
            "pacticipantName": "Foo", "pacticipantVersionNumber": "1", "branch": "main", "tags": ["dev"],
            "contracts": [{"consumerName": "Foo", "providerName": "Bar", "specification": "pact",
              "contentType": "application/json", "onConflict": "merge",
              "content": encode(&json!({"consumer": {"name": "Foo"}, "provider": {"name": "Bar"}, "interactions": []}))}]
        });
        let request = parse_request(&body).unwrap();
        assert_eq!(request.contracts[0].on_conflict, OnConflict::Merge);
        assert_eq!(request.tags.len(), 1);
    }
}
