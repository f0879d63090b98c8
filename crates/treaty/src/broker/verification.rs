//! `get-pacts` (as the official client has it) and `verify-plan` (Treaty's):
//! what a provider would verify, and why.

use anyhow::{Context, bail};
use clap::Args;
use serde_json::{Value, json};

use super::options::BrokerOptions;
use super::output::{TableOrJson, format_json, format_table, text_at};

#[derive(Debug, Args)]
pub struct GetPactsArgs {
    #[command(flatten)]
    pub broker: BrokerOptions,
    /// The provider whose pacts to get
    #[arg(long)]
    pub provider: String,
    /// Only the pacts of this consumer
    #[arg(long)]
    pub consumer: Option<String>,
    /// Only the pacts of consumer versions from this branch
    #[arg(long)]
    pub branch: Option<String>,
    /// Only the latest pact of each consumer (the default without --branch)
    #[arg(long)]
    pub latest: bool,
    /// Write each pact to a file instead of listing them
    #[arg(long)]
    pub download: bool,
    /// Where --download writes the pacts
    #[arg(long, default_value = "./pacts")]
    pub download_dir: std::path::PathBuf,
    /// Output format
    #[arg(short = 'o', long, value_enum, default_value_t = TableOrJson::Table)]
    pub output: TableOrJson,
}

pub async fn get_pacts(args: GetPactsArgs) -> anyhow::Result<()> {
    let client = args.broker.client()?;
    let index = client.index().await?;
    let url = match &args.branch {
        Some(branch) => client.relation_url(
            &index,
            "pb:latest-provider-pacts-with-branch",
            &[("provider", &args.provider), ("branch", branch)],
        )?,
        None => client.relation_url(
            &index,
            "pb:latest-provider-pacts",
            &[("provider", &args.provider)],
        )?,
    };
    let Some(list) = client.get_if_exists(&url).await? else {
        bail!("No provider named '{}' found", args.provider);
    };
    let links: Vec<Value> = list["_links"]["pb:pacts"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|link| args.consumer.as_deref().is_none_or(|c| link["name"] == c))
        .collect();
    if args.download {
        std::fs::create_dir_all(&args.download_dir)
            .with_context(|| format!("cannot create {}", args.download_dir.display()))?;
        for link in &links {
            let pact = client
                .get(&client.resolve_href(text_at(link, &["href"]))?)
                .await?;
            let file = args.download_dir.join(format!(
                "{}-{}.json",
                text_at(&pact, &["consumer", "name"]).replace('/', "_"),
                args.provider.replace('/', "_")
            ));
            std::fs::write(&file, format_json(&pact, true))
                .with_context(|| format!("cannot write {}", file.display()))?;
            println!("Wrote {}", file.display());
        }
        return Ok(());
    }
    match args.output {
        TableOrJson::Json => println!("{}", format_json(&json!(links), false)),
        TableOrJson::Table => {
            let rows: Vec<Vec<String>> = links
                .iter()
                .map(|l| {
                    vec![
                        text_at(l, &["name"]).to_owned(),
                        text_at(l, &["title"]).to_owned(),
                        text_at(l, &["href"]).to_owned(),
                    ]
                })
                .collect();
            println!("{}", format_table(&["CONSUMER", "PACT", "URL"], &rows));
        }
    }
    Ok(())
}

#[derive(Debug, Args)]
pub struct VerifyPlanArgs {
    #[command(flatten)]
    pub broker: BrokerOptions,
    /// The provider that would verify
    #[arg(long)]
    pub provider: String,
    /// A consumer version selector as JSON, as `pact verifier` takes it (repeatable); none: the defaults
    #[arg(long = "consumer-version-selectors", value_name = "JSON")]
    pub selectors: Vec<String>,
    /// The branch of the provider version that would verify
    #[arg(long)]
    pub provider_branch: Option<String>,
    /// The tags of the provider version that would verify (comma-separated)
    #[arg(long, value_delimiter = ',')]
    pub provider_tags: Vec<String>,
    /// Include work-in-progress pacts published since this date (YYYY-MM-DD)
    #[arg(long)]
    pub include_wip_pacts_since: Option<String>,
    /// Output format
    #[arg(short = 'o', long, value_enum, default_value_t = TableOrJson::Table)]
    pub output: TableOrJson,
}

/// Prints the pacts a provider build would verify: which, why, and whether a failure would fail the build.
pub async fn verify_plan(args: VerifyPlanArgs) -> anyhow::Result<()> {
    let client = args.broker.client()?;
    let selectors = args
        .selectors
        .iter()
        .map(|raw| {
            serde_json::from_str::<Value>(raw)
                .with_context(|| format!("--consumer-version-selectors is not JSON: {raw}"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut body = json!({ "consumerVersionSelectors": selectors, "includePendingStatus": true });
    if let Some(branch) = &args.provider_branch {
        body["providerVersionBranch"] = json!(branch);
    }
    if !args.provider_tags.is_empty() {
        body["providerVersionTags"] = json!(args.provider_tags);
    }
    if let Some(since) = &args.include_wip_pacts_since {
        body["includeWipPactsSince"] = json!(since);
    }
    let index = client.index().await?;
    let url = client.relation_url(
        &index,
        "pb:provider-pacts-for-verification",
        &[("provider", &args.provider)],
    )?;
    let plan = client.post_json(&url, &body).await?.body;
    if args.output == TableOrJson::Json {
        println!("{}", format_json(&plan, false));
        return Ok(());
    }
    let pacts = plan["_embedded"]["pacts"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if pacts.is_empty() {
        println!(
            "{} would verify no pacts: no consumer version matches these selectors.",
            args.provider
        );
        return Ok(());
    }
    let rows: Vec<Vec<String>> = pacts
        .iter()
        .map(|p| {
            let properties = &p["verificationProperties"];
            let failure = match (properties["wip"].as_bool(), properties["pending"].as_bool()) {
                (Some(true), _) => "no (work in progress)",
                (_, Some(true)) => "no (pending)",
                _ => "yes",
            };
            vec![
                text_at(p, &["_links", "self", "name"]).to_owned(),
                text_at(p, &["shortDescription"]).to_owned(),
                failure.to_owned(),
            ]
        })
        .collect();
    println!(
        "{}",
        format_table(&["PACT", "SELECTED AS", "FAILURE FAILS THE BUILD?"], &rows)
    );
    for pact in &pacts {
        println!();
        for notice in pact["verificationProperties"]["notices"]
            .as_array()
            .cloned()
            .unwrap_or_default()
        {
            if notice["when"] == "before_verification" {
                println!("{}", text_at(&notice, &["text"]));
            }
        }
    }
    Ok(())
}
