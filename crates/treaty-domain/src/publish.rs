//! Publishing contracts: the request once parsed, what happened, and the notices
//! the broker prints about it (the `pact broker publish` command shows them).

use crate::pact::PactDocument;
use crate::{BranchName, PacticipantName, TagName, VersionNumber};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnConflict {
    /// Refuse content that differs from what this consumer version published before.
    Overwrite,
    /// Add the new interactions to the ones already published.
    Merge,
}

/// A validated `POST /contracts/publish` request.
#[derive(Debug, Clone)]
pub struct PublishRequest {
    pub pacticipant: PacticipantName,
    pub version: VersionNumber,
    pub branch: Option<BranchName>,
    pub tags: Vec<TagName>,
    pub build_url: Option<String>,
    pub contracts: Vec<ContractToPublish>,
}

#[derive(Debug, Clone)]
pub struct ContractToPublish {
    pub consumer: PacticipantName,
    pub provider: PacticipantName,
    pub pact: PactDocument,
    pub on_conflict: OnConflict,
}

/// What happened to one contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContractStatus {
    Published,
    RepublishedUnchanged,
    Merged,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractOutcome {
    pub provider: String,
    pub status: ContractStatus,
    /// Why the content counts as changed (empty when it did not change).
    pub content_changed_because: Vec<String>,
    /// Whether the provider has ever published a verification for this consumer.
    pub integration_verified: bool,
    /// Whether some provider version (the head of its main branch, a deployed
    /// or supported released version) has yet to verify this content: the
    /// `contract_requiring_verification_published` event.
    pub requires_verification: bool,
    /// Whether any webhook, enabled or not, is configured for this pair.
    pub webhooks_configured: bool,
    /// The webhook deliveries the publication's events triggered, in the
    /// order of the events.
    pub triggered: Vec<TriggeredWebhook>,
}

/// One webhook delivery an event triggered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TriggeredWebhook {
    pub delivery_uuid: String,
    pub webhook_uuid: String,
    pub webhook_description: Option<String>,
    pub event: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishOutcome {
    pub version_created: bool,
    pub contracts: Vec<ContractOutcome>,
}

/// One notice line: `type` is debug, info, success, warning, error or prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub kind: &'static str,
    pub text: String,
}

impl Notice {
    fn new(kind: &'static str, text: impl Into<String>) -> Self {
        Self {
            kind,
            text: text.into(),
        }
    }
}

/// The notices for a publication, worded as the Pact Broker words them.
/// `pact_url` gives the URL of the pact published for a provider, and
/// `logs_url` the URL of a triggered webhook delivery's logs.
pub fn notices(
    request: &PublishRequest,
    outcome: &PublishOutcome,
    pact_url: impl Fn(&str) -> String,
    logs_url: impl Fn(&str) -> String,
) -> Vec<Notice> {
    let mut notices = Vec::new();
    let verb = if outcome.version_created {
        "Created"
    } else {
        "Updated"
    };
    let mut version_text = format!("{verb} {} version {}", request.pacticipant, request.version);
    if let Some(branch) = &request.branch {
        version_text.push_str(&format!(" with branch {branch}"));
    }
    if !request.tags.is_empty() {
        let tags: Vec<&str> = request.tags.iter().map(TagName::as_str).collect();
        let joiner = if request.branch.is_some() {
            " and"
        } else {
            " with"
        };
        version_text.push_str(&format!("{joiner} tags {}", tags.join(", ")));
    }
    notices.push(Notice::new("debug", version_text));
    if request.branch.is_none() {
        notices.push(Notice::new(
            "prompt",
            "  Next steps:\n    Configure the version branch to be the value of your repository branch.",
        ));
    }
    for contract in &outcome.contracts {
        let pair = format!(
            "{} version {} and provider {}",
            request.pacticipant, request.version, contract.provider
        );
        let (kind, text) = match contract.status {
            ContractStatus::Published => (
                "success",
                format!("Pact successfully published for {pair}."),
            ),
            ContractStatus::RepublishedUnchanged => (
                "success",
                format!("Pact successfully republished for {pair} with no content changes."),
            ),
            ContractStatus::Merged => (
                "success",
                format!("Pact content merged with existing content for {pair}."),
            ),
        };
        notices.push(Notice::new(kind, text));
        notices.push(Notice::new(
            "debug",
            format!(
                "  View the published pact at {}",
                pact_url(&contract.provider)
            ),
        ));
        // The events in the order the Pact Broker detects them.
        let mut events = String::from("  Events detected: contract_published");
        if contract.requires_verification {
            events.push_str(", contract_requiring_verification_published");
        }
        if !contract.content_changed_because.is_empty() {
            events.push_str(&format!(
                ", contract_content_changed ({})",
                contract.content_changed_because.join(", ")
            ));
        }
        notices.push(Notice::new("debug", events));
        for triggered in &contract.triggered {
            // The description as Ruby's `inspect` prints it, in quotes.
            let webhook = match &triggered.webhook_description {
                Some(description) => format!("{description:?}"),
                None => triggered.webhook_uuid.clone(),
            };
            notices.push(Notice::new(
                "debug",
                format!(
                    "  Webhook {webhook} triggered for event {}.\n    View logs at {}",
                    triggered.event,
                    logs_url(&triggered.delivery_uuid)
                ),
            ));
        }
        if contract.triggered.is_empty() && contract.webhooks_configured {
            notices.push(Notice::new(
                "debug",
                "  No enabled webhooks found for the detected events",
            ));
        }
        let mut next_steps = Vec::new();
        if !contract.integration_verified {
            next_steps.push(format!(
                "    * Add Pact verification tests to the {} build. See https://docs.pact.io/go/provider_verification",
                contract.provider
            ));
        }
        if !contract.webhooks_configured {
            next_steps.push(format!(
                "    * Configure separate {} pact verification build and webhook to trigger it when the pact content changes. See https://docs.pact.io/go/webhooks",
                contract.provider
            ));
        }
        if !next_steps.is_empty() {
            notices.push(Notice::new("prompt", "  Next steps:"));
            notices.extend(
                next_steps
                    .into_iter()
                    .map(|step| Notice::new("prompt", step)),
            );
        }
    }
    notices
}

/// Why a publication's content counts as changed, per tag of the consumer
/// version (or against the previous untagged pact when it has none).
/// `previous_sha` gives the content hash of the pact compared against, if any.
pub fn content_changed_reasons(
    tags: &[String],
    sha: &str,
    previous_sha: impl Fn(Option<&str>) -> Option<String>,
) -> Vec<String> {
    if tags.is_empty() {
        return match previous_sha(None) {
            None => vec!["first time untagged pact published".to_owned()],
            Some(previous) if previous != sha => {
                vec!["pact content has changed since previous untagged version".to_owned()]
            }
            Some(_) => Vec::new(),
        };
    }
    tags.iter()
        .filter_map(|tag| match previous_sha(Some(tag)) {
            None => Some(format!(
                "first time any pact published for this consumer with consumer version tagged {tag}"
            )),
            Some(previous) if previous != sha => Some(format!(
                "pact content has changed since the last consumer version tagged with {tag}"
            )),
            Some(_) => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(branch: Option<&str>, tags: &[&str]) -> PublishRequest {
        PublishRequest {
            pacticipant: PacticipantName::parse("Foo").unwrap(),
            version: VersionNumber::parse("1").unwrap(),
            branch: branch.map(|b| BranchName::parse(b).unwrap()),
            tags: tags.iter().map(|t| TagName::parse(*t).unwrap()).collect(),
            build_url: None,
            contracts: vec![ContractToPublish {
                consumer: PacticipantName::parse("Foo").unwrap(),
                provider: PacticipantName::parse("Bar").unwrap(),
                pact: PactDocument::from_value(json!({})).unwrap(),
                on_conflict: OnConflict::Overwrite,
            }],
        }
    }

    fn outcome(status: ContractStatus, verified: bool) -> PublishOutcome {
        PublishOutcome {
            version_created: true,
            contracts: vec![ContractOutcome {
                provider: "Bar".into(),
                status,
                content_changed_because: vec!["first time untagged pact published".into()],
                integration_verified: verified,
                requires_verification: false,
                webhooks_configured: true,
                triggered: Vec::new(),
            }],
        }
    }

    #[test]
    fn words_the_version_with_branch_and_tags() {
        let notices = notices(
            &request(Some("main"), &["a", "b"]),
            &outcome(ContractStatus::Published, true),
            |p| format!("http://b/pacts/provider/{p}"),
            |_| String::new(),
        );
        assert_eq!(
            notices[0].text,
            "Created Foo version 1 with branch main and tags a, b"
        );
        assert_eq!(notices[1].kind, "success");
        assert_eq!(
            notices[1].text,
            "Pact successfully published for Foo version 1 and provider Bar."
        );
        assert_eq!(
            notices[2].text,
            "  View the published pact at http://b/pacts/provider/Bar"
        );
        assert_eq!(
            notices[3].text,
            "  Events detected: contract_published, contract_content_changed (first time untagged pact published)"
        );
        assert_eq!(
            notices[4].text,
            "  No enabled webhooks found for the detected events"
        );
        assert_eq!(notices.len(), 5);
    }

    #[test]
    fn names_every_event_and_the_webhooks_they_triggered() {
        let mut outcome = outcome(ContractStatus::Published, true);
        outcome.contracts[0].requires_verification = true;
        outcome.contracts[0].triggered = vec![TriggeredWebhook {
            delivery_uuid: "d1".into(),
            webhook_uuid: "w1".into(),
            webhook_description: Some("Build Bar".into()),
            event: "contract_published".into(),
        }];
        let notices = notices(
            &request(Some("main"), &[]),
            &outcome,
            |_| String::new(),
            |uuid| format!("http://b/triggered-webhooks/{uuid}/logs"),
        );
        assert_eq!(
            notices[3].text,
            "  Events detected: contract_published, contract_requiring_verification_published, contract_content_changed (first time untagged pact published)"
        );
        assert_eq!(
            notices[4].text,
            "  Webhook \"Build Bar\" triggered for event contract_published.\n    View logs at http://b/triggered-webhooks/d1/logs"
        );
        assert_eq!(notices.len(), 5);
    }

    #[test]
    fn without_webhooks_prompts_to_configure_one() {
        let mut outcome = outcome(ContractStatus::Published, false);
        outcome.contracts[0].webhooks_configured = false;
        let notices = notices(
            &request(Some("main"), &[]),
            &outcome,
            |_| String::new(),
            |_| String::new(),
        );
        let texts: Vec<&str> = notices.iter().map(|n| n.text.as_str()).collect();
        assert_eq!(texts[4], "  Next steps:");
        assert!(texts[5].starts_with("    * Add Pact verification tests to the Bar build."));
        assert!(
            texts[6]
                .starts_with("    * Configure separate Bar pact verification build and webhook")
        );
        assert_eq!(texts.len(), 7);
    }

    #[test]
    fn prompts_for_a_branch_and_for_verification_when_missing() {
        let notices = notices(
            &request(None, &["a"]),
            &outcome(ContractStatus::RepublishedUnchanged, false),
            |_| String::new(),
            |_| String::new(),
        );
        assert_eq!(notices[0].text, "Created Foo version 1 with tags a");
        assert_eq!(notices[1].kind, "prompt");
        assert!(notices[2].text.contains("republished"));
        assert!(notices.iter().any(|n| {
            n.text
                .contains("Add Pact verification tests to the Bar build")
        }));
    }

    #[test]
    fn content_change_reasons_per_tag_and_untagged() {
        assert_eq!(
            content_changed_reasons(&[], "x", |_| None),
            vec!["first time untagged pact published"]
        );
        assert!(content_changed_reasons(&[], "x", |_| Some("x".into())).is_empty());
        let tags = vec!["dev".to_owned(), "prod".to_owned()];
        let reasons = content_changed_reasons(&tags, "x", |tag| match tag {
            Some("dev") => Some("y".into()),
            _ => None,
        });
        assert_eq!(
            reasons,
            vec![
                "pact content has changed since the last consumer version tagged with dev",
                "first time any pact published for this consumer with consumer version tagged prod"
            ]
        );
    }
}
