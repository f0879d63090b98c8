//! The `POST /contracts/publish` body. Its field-by-field checks live in
//! treaty-server (private); this target makes the same treaty-domain calls on
//! the same fields: names, base64 pact content, merge, change reasons, notices.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use treaty_domain::pact::{self, PactDocument};
use treaty_domain::publish::{
    self, ContractOutcome, ContractStatus, ContractToPublish, OnConflict, PublishOutcome,
    PublishRequest,
};
use treaty_domain::{BranchName, PacticipantName, TagName, VersionNumber};

fn text<'a>(object: &'a Value, key: &str) -> Option<&'a str> {
    object.get(key).and_then(Value::as_str)
}

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let pacticipant = text(&body, "pacticipantName").and_then(|n| PacticipantName::parse(n).ok());
    let version =
        text(&body, "pacticipantVersionNumber").and_then(|n| VersionNumber::parse(n).ok());
    let branch = text(&body, "branch").and_then(|n| BranchName::parse(n).ok());
    let tags: Vec<TagName> = body
        .get("tags")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .filter_map(|t| TagName::parse(t).ok())
                .collect()
        })
        .unwrap_or_default();
    let mut contracts = Vec::new();
    for item in body
        .get("contracts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let consumer = text(item, "consumerName").and_then(|n| PacticipantName::parse(n).ok());
        let provider = text(item, "providerName").and_then(|n| PacticipantName::parse(n).ok());
        let Some(content) = text(item, "content") else {
            continue;
        };
        let Ok(pact) = PactDocument::parse_base64(content) else {
            continue;
        };
        let _ = pact.require_participants();
        let _ = (pact.consumer_name(), pact.provider_name());
        let on_conflict = match text(item, "onConflict") {
            Some("merge") => OnConflict::Merge,
            _ => OnConflict::Overwrite,
        };
        if on_conflict == OnConflict::Merge {
            let _ = pact::merge(&pact.clone().into_stored(), &pact);
        }
        if let (Some(consumer), Some(provider)) = (consumer, provider) {
            contracts.push(ContractToPublish {
                consumer,
                provider,
                pact,
                on_conflict,
            });
        }
    }
    let (Some(pacticipant), Some(version)) = (pacticipant, version) else {
        return;
    };
    let request = PublishRequest {
        pacticipant,
        version,
        branch,
        build_url: text(&body, "buildUrl").map(str::to_owned),
        tags,
        contracts,
    };
    let tag_names: Vec<String> = request.tags.iter().map(|t| t.to_string()).collect();
    let outcome = PublishOutcome {
        version_created: request.contracts.len().is_multiple_of(2),
        contracts: request
            .contracts
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let sha = c.pact.sha();
                ContractOutcome {
                    provider: c.provider.to_string(),
                    status: [
                        ContractStatus::Published,
                        ContractStatus::RepublishedUnchanged,
                        ContractStatus::Merged,
                    ][i % 3]
                        .clone(),
                    content_changed_because: publish::content_changed_reasons(
                        &tag_names,
                        &sha,
                        |tag| tag.map(|t| format!("{t}{i}")),
                    ),
                    integration_verified: i % 2 == 0,
                }
            })
            .collect(),
    };
    let _ = publish::notices(&request, &outcome, |provider| {
        format!("http://example.org/pacts/provider/{provider}")
    });
});
