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
/// `pact_url` gives the URL of the pact published for a provider.
pub fn notices(
    request: &PublishRequest,
    outcome: &PublishOutcome,
    pact_url: impl Fn(&str) -> String,
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
        let mut events = String::from("  Events detected: contract_published");
        if !contract.content_changed_because.is_empty() {
            events.push_str(&format!(
                ", contract_content_changed ({})",
                contract.content_changed_because.join(", ")
            ));
        }
        notices.push(Notice::new("debug", events));
        if !contract.integration_verified {
            notices.push(Notice::new("prompt", "  Next steps:"));
            notices.push(Notice::new(
                "prompt",
                format!(
                    "    * Add Pact verification tests to the {} build. See https://docs.pact.io/go/provider_verification",
                    contract.provider
                ),
            ));
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
            }],
        }
    }

    #[test]
    fn words_the_version_with_branch_and_tags() {
        let notices = notices(
            &request(Some("main"), &["a", "b"]),
            &outcome(ContractStatus::Published, true),
            |p| format!("http://b/pacts/provider/{p}"),
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
        assert_eq!(notices.len(), 4);
    }

    #[test]
    fn prompts_for_a_branch_and_for_verification_when_missing() {
        let notices = notices(
            &request(None, &["a"]),
            &outcome(ContractStatus::RepublishedUnchanged, false),
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
