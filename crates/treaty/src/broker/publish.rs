//! `publish`: send pact files to the broker through `pb:publish-contracts`,
//! one request per consumer, and show what the broker says about them.

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use clap::Args;
use clap::builder::NonEmptyStringValueParser;
use serde::Serialize;
use serde_json::Value;
use treaty_client::notices_of;

use super::git;
use super::options::BrokerOptions;
use super::output::{Colours, PublishOutput, format_json, format_notices};
use super::pact_files::{ConsumerPacts, find_pact_files, group_by_consumer, read_pact_file};
use super::tags::unique;

#[derive(Debug, Args)]
pub struct PublishArgs {
    #[command(flatten)]
    pub broker: BrokerOptions,

    /// Pact files, directories (their *.json files) or glob patterns (?, *, **, [...]) to publish
    #[arg(value_name = "PACT_FILES_DIRS_OR_GLOBS", required = true, num_args = 1..)]
    pub sources: Vec<String>,

    /// The consumer application version
    #[arg(short = 'a', long, value_parser = NonEmptyStringValueParser::new(), required_unless_present = "auto_detect_version_properties")]
    pub consumer_app_version: Option<String>,

    /// Repository branch of the consumer version
    #[arg(long, value_parser = NonEmptyStringValueParser::new())]
    pub branch: Option<String>,

    /// Automatically detect the repository commit, branch and build URL from known CI environment
    /// variables or git CLI. Supports Buildkite, Circle CI, Travis CI, GitHub Actions, Jenkins,
    /// Hudson, AppVeyor, GitLab, CodeShip, Bitbucket and Azure DevOps.
    #[arg(short = 'r', long)]
    pub auto_detect_version_properties: bool,

    /// Tag name for consumer version. Can be specified multiple times (delimiter ,).
    #[arg(short = 't', long = "tag", value_name = "TAG", value_delimiter = ',', value_parser = NonEmptyStringValueParser::new())]
    pub tags: Vec<String>,

    /// Tag consumer version with the name of the current git branch. Supports Buildkite, Circle CI,
    /// Travis CI, GitHub Actions, Jenkins, Hudson, AppVeyor, GitLab, CodeShip, Bitbucket and Azure DevOps.
    #[arg(long)]
    pub tag_with_git_branch: bool,

    /// The build URL that created the pact
    #[arg(long)]
    pub build_url: Option<String>,

    /// If a pact already exists for this consumer version and provider, merge the contents. Useful
    /// when running Pact tests concurrently on different build nodes.
    #[arg(long)]
    pub merge: bool,

    /// Output format
    #[arg(short = 'o', long, value_enum, default_value_t = PublishOutput::Text)]
    pub output: PublishOutput,
}

/// The version the pacts belong to, once flags and detection are combined.
#[derive(Debug, Clone, PartialEq, Eq)]
struct VersionProperties {
    number: String,
    branch: Option<String>,
    tags: Vec<String>,
    build_url: Option<String>,
}

pub async fn run(args: PublishArgs) -> anyhow::Result<()> {
    let version = version_properties(&args).await?;
    let files = find_pact_files(&args.sources)?
        .iter()
        .map(|path| read_pact_file(path))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let publications = group_by_consumer(files)?;

    let client = args.broker.client()?;
    let index = client.index().await?;
    let publish_url = client.relation_url(&index, "pb:publish-contracts", &[])?;
    let on_conflict = if args.merge { "merge" } else { "overwrite" };

    for (position, publication) in publications.iter().enumerate() {
        let request = publish_request(publication, &version, on_conflict);
        let body =
            serde_json::to_value(&request).context("cannot build the publication request")?;
        let response = client
            .post_json(&publish_url, &body)
            .await
            .with_context(|| {
                format!(
                    "cannot publish the pacts of {} version {}",
                    publication.consumer, version.number
                )
            })?;
        if args.output == PublishOutput::Text && position > 0 {
            println!();
        }
        println!(
            "{}",
            describe_result(publication, &version, &response.body, args.output)
        );
    }
    Ok(())
}

/// `--consumer-app-version`, `--branch` and `--build-url` win; with
/// `--auto-detect-version-properties` the CI environment and git fill in
/// what they leave out.
async fn version_properties(args: &PublishArgs) -> anyhow::Result<VersionProperties> {
    let env = git::current_environment();
    let mut number = args.consumer_app_version.clone();
    let mut branch = args.branch.clone();
    let mut build_url = args.build_url.clone();
    if args.auto_detect_version_properties {
        if number.is_none() {
            number = git::current_commit(&env).await;
        }
        if branch.is_none() {
            branch = git::current_branch(&env).await;
        }
        if build_url.is_none() {
            build_url = git::build_url_from(&env);
        }
    }
    let Some(number) = number else {
        bail!(
            "cannot find the consumer version: give --consumer-app-version, or run in a git repository \
             (or a supported CI system) with --auto-detect-version-properties"
        );
    };

    let mut tags = args.tags.clone();
    if args.tag_with_git_branch {
        let Some(git_branch) = git::current_branch(&env).await else {
            bail!("--tag-with-git-branch: cannot find the current git branch");
        };
        tags.push(git_branch);
    }
    Ok(VersionProperties {
        number,
        branch,
        tags: unique(tags),
        build_url,
    })
}

/// The body of `POST /contracts/publish`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PublishRequest<'a> {
    pacticipant_name: &'a str,
    pacticipant_version_number: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    branch: Option<&'a str>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    tags: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    build_url: Option<&'a str>,
    contracts: Vec<ContractRequest<'a>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ContractRequest<'a> {
    consumer_name: &'a str,
    provider_name: &'a str,
    specification: &'static str,
    content_type: &'static str,
    content: String,
    on_conflict: &'static str,
}

fn publish_request<'a>(
    publication: &'a ConsumerPacts,
    version: &'a VersionProperties,
    on_conflict: &'static str,
) -> PublishRequest<'a> {
    PublishRequest {
        pacticipant_name: &publication.consumer,
        pacticipant_version_number: &version.number,
        branch: version.branch.as_deref(),
        tags: &version.tags,
        build_url: version.build_url.as_deref(),
        contracts: publication
            .contracts
            .iter()
            .map(|contract| ContractRequest {
                consumer_name: &publication.consumer,
                provider_name: &contract.provider,
                specification: "pact",
                content_type: "application/json",
                content: BASE64.encode(&contract.content),
                on_conflict,
            })
            .collect(),
    }
}

/// What to print for one successful publication: the broker's notices, or
/// (from a broker that sends none) a line per pact.
fn describe_result(
    publication: &ConsumerPacts,
    version: &VersionProperties,
    response: &Value,
    output: PublishOutput,
) -> String {
    match output {
        PublishOutput::Json => format_json(response, false),
        PublishOutput::Pretty => format_json(response, true),
        PublishOutput::Text => {
            let notices = notices_of(response);
            if notices.is_empty() {
                publication
                    .contracts
                    .iter()
                    .map(|contract| {
                        format!(
                            "Pact successfully published for {} version {} and provider {}.",
                            publication.consumer, version.number, contract.provider
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            } else {
                format_notices(&notices, Colours::for_stdout())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::pact_files::Contract;
    use serde_json::json;

    fn version(branch: Option<&str>, tags: &[&str]) -> VersionProperties {
        VersionProperties {
            number: "1.0.0".into(),
            branch: branch.map(str::to_owned),
            tags: tags.iter().map(|tag| tag.to_string()).collect(),
            build_url: None,
        }
    }

    fn publication() -> ConsumerPacts {
        ConsumerPacts {
            consumer: "Foo".into(),
            contracts: vec![
                Contract {
                    provider: "Bar".into(),
                    content: br#"{"a":1}"#.to_vec(),
                },
                Contract {
                    provider: "Baz".into(),
                    content: b"{}".to_vec(),
                },
            ],
        }
    }

    #[test]
    fn the_request_has_every_contract_base64_encoded() {
        let publication = publication();
        let mut version = version(Some("main"), &["dev", "ci"]);
        version.build_url = Some("http://ci/1".into());
        let body =
            serde_json::to_value(publish_request(&publication, &version, "merge")).expect("json");
        assert_eq!(
            body,
            json!({
                "pacticipantName": "Foo", "pacticipantVersionNumber": "1.0.0", "branch": "main",
                "tags": ["dev", "ci"], "buildUrl": "http://ci/1",
                "contracts": [
                    {"consumerName": "Foo", "providerName": "Bar", "specification": "pact",
                     "contentType": "application/json", "content": "eyJhIjoxfQ==", "onConflict": "merge"},
                    {"consumerName": "Foo", "providerName": "Baz", "specification": "pact",
                     "contentType": "application/json", "content": "e30=", "onConflict": "merge"}
                ]
            })
        );
    }

    #[test]
    fn absent_branch_tags_and_build_url_are_left_out() {
        let publication = publication();
        let body = serde_json::to_value(publish_request(
            &publication,
            &version(None, &[]),
            "overwrite",
        ))
        .expect("json");
        let keys: Vec<_> = body.as_object().expect("object").keys().cloned().collect();
        assert_eq!(
            keys,
            ["pacticipantName", "pacticipantVersionNumber", "contracts"]
        );
    }

    #[test]
    fn text_output_prints_the_notices_or_a_line_per_pact() {
        let response = json!({"notices": [
            {"type": "debug", "text": "Created Foo version 1.0.0 with branch main"},
            {"type": "success", "text": "Pact successfully published for Foo version 1.0.0 and provider Bar."}
        ]});
        let text = describe_result(
            &publication(),
            &version(None, &[]),
            &response,
            PublishOutput::Text,
        );
        assert!(
            text.starts_with("Created Foo version 1.0.0 with branch main\n"),
            "{text}"
        );
        let fallback = describe_result(
            &publication(),
            &version(None, &[]),
            &json!({}),
            PublishOutput::Text,
        );
        assert_eq!(
            fallback,
            "Pact successfully published for Foo version 1.0.0 and provider Bar.\n\
             Pact successfully published for Foo version 1.0.0 and provider Baz."
        );
    }

    #[test]
    fn json_output_is_the_response_body() {
        let response = json!({"notices": [], "_links": {}});
        assert_eq!(
            describe_result(
                &publication(),
                &version(None, &[]),
                &response,
                PublishOutput::Json
            ),
            r#"{"notices":[],"_links":{}}"#
        );
    }
}
