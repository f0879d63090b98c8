//! `record-deployment`, `record-undeployment`, `record-release`,
//! `record-support-ended`.

use anyhow::bail;
use clap::Args;
use serde_json::{Value, json};

use super::environments::environment_named;
use super::options::BrokerOptions;
use super::output::{TextOrJson, format_json, text_at};

#[derive(Debug, Args)]
pub struct RecordDeploymentArgs {
    #[command(flatten)]
    pub broker: BrokerOptions,
    /// The name of the pacticipant that was deployed
    #[arg(short = 'a', long)]
    pub pacticipant: String,
    /// The pacticipant version number that was deployed
    #[arg(short = 'e', long)]
    pub version: String,
    /// The name of the environment that the pacticipant version was deployed to
    #[arg(long)]
    pub environment: String,
    /// The application instance to which the deployment was made (only when several instances of the application are deployed to the one environment)
    #[arg(long, alias = "target")]
    pub application_instance: Option<String>,
    /// Output format
    #[arg(short = 'o', long, value_enum, default_value_t = TextOrJson::Text)]
    pub output: TextOrJson,
}

#[derive(Debug, Args)]
pub struct RecordUndeploymentArgs {
    #[command(flatten)]
    pub broker: BrokerOptions,
    /// The name of the pacticipant that was undeployed
    #[arg(short = 'a', long)]
    pub pacticipant: String,
    /// The name of the environment that the pacticipant version was undeployed from
    #[arg(long)]
    pub environment: String,
    /// The application instance from which the application is being undeployed
    #[arg(long, alias = "target")]
    pub application_instance: Option<String>,
    /// Output format
    #[arg(short = 'o', long, value_enum, default_value_t = TextOrJson::Text)]
    pub output: TextOrJson,
}

#[derive(Debug, Args)]
pub struct RecordReleaseArgs {
    #[command(flatten)]
    pub broker: BrokerOptions,
    /// The name of the pacticipant
    #[arg(short = 'a', long)]
    pub pacticipant: String,
    /// The pacticipant version number
    #[arg(short = 'e', long)]
    pub version: String,
    /// The name of the environment
    #[arg(long)]
    pub environment: String,
    /// Output format
    #[arg(short = 'o', long, value_enum, default_value_t = TextOrJson::Text)]
    pub output: TextOrJson,
}

/// The version resource, or a clear error when it does not exist.
async fn version(
    client: &treaty_client::BrokerClient,
    pacticipant: &str,
    number: &str,
) -> anyhow::Result<Value> {
    let index = client.index().await?;
    let url = client.relation_url(
        &index,
        "pb:pacticipant-version",
        &[("pacticipant", pacticipant), ("version", number)],
    )?;
    match client.get_if_exists(&url).await? {
        Some(version) => Ok(version),
        None => bail!("{pacticipant} version {number} not found"),
    }
}

/// The link of `relation` (an array, one entry per environment) for the environment named `environment`.
fn link_for(version: &Value, relation: &str, environment: &str) -> anyhow::Result<String> {
    let entries = version["_links"][relation]
        .as_array()
        .cloned()
        .unwrap_or_default();
    match entries.iter().find(|e| e["name"] == environment) {
        Some(entry) => Ok(text_at(entry, &["href"]).to_owned()),
        None => {
            let names: Vec<&str> = entries.iter().map(|e| text_at(e, &["name"])).collect();
            bail!(
                "No environment found with name '{environment}'. Environments that exist: {}",
                if names.is_empty() {
                    "none".to_owned()
                } else {
                    names.join(", ")
                }
            )
        }
    }
}

pub async fn record_deployment(args: RecordDeploymentArgs) -> anyhow::Result<()> {
    let client = args.broker.client()?;
    let version = version(&client, &args.pacticipant, &args.version).await?;
    let href = link_for(&version, "pb:record-deployment", &args.environment)?;
    let body = match &args.application_instance {
        Some(instance) => json!({ "applicationInstance": instance, "target": instance }),
        None => json!({}),
    };
    let recorded = client
        .post_json(&client.resolve_href(&href)?, &body)
        .await?;
    match args.output {
        TextOrJson::Json => println!("{}", format_json(&recorded.body, false)),
        TextOrJson::Text => {
            let instance = args
                .application_instance
                .as_deref()
                .map(|i| format!(" (application instance {i})"))
                .unwrap_or_default();
            println!(
                "Recorded deployment of {} version {} to {} environment{instance} in the Pact Broker.",
                args.pacticipant, args.version, args.environment
            );
        }
    }
    warn_if_bypassed(&recorded.body);
    Ok(())
}

/// Treaty records a deployment its gates would have refused (it happened),
/// marks it, and says so: the warning goes to stderr, whatever the output.
fn warn_if_bypassed(body: &Value) {
    if body["bypassedGates"] == true {
        eprintln!(
            "Warning: recorded, but it bypassed the environment's gates: {}",
            text_at(body, &["gatesSummary"])
        );
    }
}

pub async fn record_undeployment(args: RecordUndeploymentArgs) -> anyhow::Result<()> {
    let client = args.broker.client()?;
    let environment = environment_named(&client, &args.environment).await?;
    let href = text_at(&environment, &["_links", "self", "href"]).to_owned();
    let environment = client.get(&client.resolve_href(&href)?).await?;
    let list_href = text_at(
        &environment,
        &["_links", "pb:currently-deployed-deployed-versions", "href"],
    );
    let mut url = client.resolve_href(list_href)?;
    url.query_pairs_mut()
        .append_pair("pacticipant", &args.pacticipant);
    if let Some(instance) = &args.application_instance {
        url.query_pairs_mut()
            .append_pair("applicationInstance", instance);
    }
    let current = client.get(&url).await?;
    let deployed = current["_embedded"]["deployedVersions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if deployed.is_empty() {
        let instance = args
            .application_instance
            .as_deref()
            .map(|i| format!(" (application instance {i})"))
            .unwrap_or_default();
        bail!(
            "{} is not currently deployed to {} environment{instance}. Cannot record undeployment.",
            args.pacticipant,
            args.environment
        );
    }
    let mut undeployed = Vec::new();
    for record in &deployed {
        let self_href = text_at(record, &["_links", "self", "href"]);
        let response = client
            .patch_merge(
                &client.resolve_href(self_href)?,
                &json!({"currentlyDeployed": false}),
            )
            .await?;
        undeployed.push(response.body);
    }
    match args.output {
        TextOrJson::Json => println!("{}", format_json(&Value::Array(undeployed), false)),
        TextOrJson::Text => {
            for record in &deployed {
                println!(
                    "Recorded undeployment of {} version {} from {} environment in the Pact Broker.",
                    args.pacticipant,
                    text_at(record, &["_embedded", "version", "number"]),
                    args.environment
                );
            }
        }
    }
    Ok(())
}

pub async fn record_release(args: RecordReleaseArgs) -> anyhow::Result<()> {
    let client = args.broker.client()?;
    let version = version(&client, &args.pacticipant, &args.version).await?;
    let href = link_for(&version, "pb:record-release", &args.environment)?;
    let recorded = client
        .post_json(&client.resolve_href(&href)?, &json!({}))
        .await?;
    match args.output {
        TextOrJson::Json => println!("{}", format_json(&recorded.body, false)),
        TextOrJson::Text => println!(
            "Recorded release of {} version {} to {} environment in the Pact Broker.",
            args.pacticipant, args.version, args.environment
        ),
    }
    warn_if_bypassed(&recorded.body);
    Ok(())
}

pub async fn record_support_ended(args: RecordReleaseArgs) -> anyhow::Result<()> {
    let client = args.broker.client()?;
    let environment = environment_named(&client, &args.environment).await?;
    let href = text_at(&environment, &["_links", "self", "href"]).to_owned();
    let environment = client.get(&client.resolve_href(&href)?).await?;
    let list_href = text_at(
        &environment,
        &["_links", "pb:currently-supported-released-versions", "href"],
    );
    let mut url = client.resolve_href(list_href)?;
    url.query_pairs_mut()
        .append_pair("pacticipant", &args.pacticipant)
        .append_pair("version", &args.version);
    let current = client.get(&url).await?;
    let released = current["_embedded"]["releasedVersions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if released.is_empty() {
        bail!(
            "{} version {} is not currently released in {} environment. Cannot record support ended.",
            args.pacticipant,
            args.version,
            args.environment
        );
    }
    let mut ended = Vec::new();
    for record in &released {
        let self_href = text_at(record, &["_links", "self", "href"]);
        ended.push(
            client
                .patch_merge(
                    &client.resolve_href(self_href)?,
                    &json!({"currentlySupported": false}),
                )
                .await?
                .body,
        );
    }
    match args.output {
        TextOrJson::Json => println!("{}", format_json(&Value::Array(ended), false)),
        TextOrJson::Text => println!(
            "Recorded support ended of {} version {} in {} environment in the Pact Broker.",
            args.pacticipant, args.version, args.environment
        ),
    }
    Ok(())
}
