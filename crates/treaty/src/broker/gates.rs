//! `treaty preflight` and `treaty policy show|apply|clear`: the deployment
//! gates of an environment, and whether a deployment would pass them now.

use anyhow::Context;
use clap::{Args, Subcommand};
use serde_json::Value;
use treaty_client::{ClientError, Severity};

use super::options::BrokerOptions;
use super::output::{Colours, TableOrJson, format_json, format_table, text_at};

/// Exit codes of a deployment the gates refuse, one per cause (see docs/cli.md).
pub fn exit_code_for_cause(cause: &str) -> i32 {
    match cause {
        "contract-compatibility" => 3,
        "freeze" => 4,
        "promotion" => 5,
        "soak" => 6,
        _ => 1,
    }
}

/// The exit code of a failed command: a gate's own, or 1.
pub fn exit_code_for_error(error: &anyhow::Error) -> i32 {
    match error.downcast_ref::<ClientError>() {
        Some(ClientError::Rejected(rejection)) => rejection
            .details
            .blocked_by
            .as_deref()
            .map_or(1, exit_code_for_cause),
        _ => 1,
    }
}

#[derive(Debug, Args)]
pub struct PreflightArgs {
    #[command(flatten)]
    pub broker: BrokerOptions,
    /// The pacticipant to deploy
    #[arg(short = 'a', long)]
    pub pacticipant: String,
    /// The version to deploy
    #[arg(short = 'e', long)]
    pub version: String,
    /// The environment to deploy to
    #[arg(long)]
    pub environment: String,
    /// Check as a marked emergency deployment (a freeze may exempt it)
    #[arg(long)]
    pub emergency: bool,
    /// Output format
    #[arg(short = 'o', long, value_enum, default_value_t = TableOrJson::Table)]
    pub output: TableOrJson,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub broker: BrokerOptions,
    /// The environment the versions go to
    #[arg(long)]
    pub environment: String,
    /// A pacticipant of the release; give each its version with -e, in the same order
    #[arg(short = 'a', long = "pacticipant", required = true)]
    pub pacticipants: Vec<String>,
    /// The version of the pacticipant given before it
    #[arg(short = 'e', long = "version", required = true)]
    pub versions: Vec<String>,
    /// Output format
    #[arg(short = 'o', long, value_enum, default_value_t = TableOrJson::Table)]
    pub output: TableOrJson,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Show the policy in force for an environment (its own, or the default) and where it comes from
    Show(Box<PolicyTarget>),
    /// Replace an environment's rules with those of a JSON file ({"rules": [...]}; - reads stdin)
    Apply(Box<ApplyArgs>),
    /// Remove the environment's own rules: the default policy applies again
    Clear(Box<PolicyTarget>),
}

impl PolicyCommand {
    pub fn broker(&self) -> &BrokerOptions {
        match self {
            Self::Show(a) | Self::Clear(a) => &a.broker,
            Self::Apply(a) => &a.broker,
        }
    }
}

#[derive(Debug, Args)]
pub struct PolicyTarget {
    #[command(flatten)]
    pub broker: BrokerOptions,
    #[arg(long)]
    pub environment: String,
    /// Output format
    #[arg(short = 'o', long, value_enum, default_value_t = TableOrJson::Table)]
    pub output: TableOrJson,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub broker: BrokerOptions,
    #[arg(long)]
    pub environment: String,
    /// The rules, as JSON: {"rules": [{"rule": "soak", "environment": "staging", "minimum": "1h"}, ...]}
    #[arg(long, short = 'f')]
    pub file: String,
    /// Output format
    #[arg(short = 'o', long, value_enum, default_value_t = TableOrJson::Table)]
    pub output: TableOrJson,
}

fn policy_path(environment: &str) -> String {
    format!(
        "/policies/{}",
        percent_encoding::utf8_percent_encode(environment, percent_encoding::NON_ALPHANUMERIC)
    )
}

fn print_policy(body: &Value, output: TableOrJson) {
    match output {
        TableOrJson::Json => println!("{}", format_json(body, false)),
        TableOrJson::Table => {
            // Where the policy comes from: the environment's own, or the default.
            if body["source"] == "default" {
                println!("{}:", text_at(body, &["source_reason"]));
            } else {
                println!("The policy set for {}:", text_at(body, &["environment"]));
            }
            let rules = body["described"].as_array().cloned().unwrap_or_default();
            if rules.is_empty() {
                println!("No rules: every deployment is allowed.");
            }
            for rule in &rules {
                println!("- {}", rule.as_str().unwrap_or_default());
            }
            println!(
                "record-deployment and record-release: {}; rollback window: {}.",
                match body["record_deployment"].as_str() {
                    Some("enforce") => "refused like a gated start when the gates say no",
                    _ => "recorded, marked bypassed_gates when the gates would have refused them",
                },
                text_at(body, &["rollback_window"])
            );
        }
    }
}

pub async fn policy(command: PolicyCommand) -> anyhow::Result<()> {
    match command {
        PolicyCommand::Show(args) => {
            let client = args.broker.client()?;
            let body = client
                .get(&client.resolve_href(&policy_path(&args.environment))?)
                .await?;
            print_policy(&body, args.output);
        }
        PolicyCommand::Apply(args) => {
            let client = args.broker.client()?;
            let text = if args.file == "-" {
                std::io::read_to_string(std::io::stdin())
                    .context("cannot read the rules from stdin")?
            } else {
                std::fs::read_to_string(&args.file)
                    .with_context(|| format!("cannot read {}", args.file))?
            };
            let rules: Value = serde_json::from_str(&text)
                .with_context(|| format!("{} is not JSON", args.file))?;
            let url = client.resolve_href(&policy_path(&args.environment))?;
            let response = client
                .put_json(&url, &rules)
                .await
                .with_context(|| format!("cannot set the rules of {}", args.environment))?;
            if args.output == TableOrJson::Table {
                eprintln!("The rules of {} are now:", args.environment);
            }
            print_policy(&response.body, args.output);
        }
        PolicyCommand::Clear(args) => {
            let client = args.broker.client()?;
            client
                .delete(&client.resolve_href(&policy_path(&args.environment))?)
                .await?;
            eprintln!(
                "{} has no policy of its own now: the default applies (treaty policy show --environment {} shows it).",
                args.environment, args.environment
            );
        }
    }
    Ok(())
}

/// Prints the verdict and returns the exit code: 0 allowed, else the cause's.
pub async fn preflight(args: PreflightArgs) -> anyhow::Result<i32> {
    let client = args.broker.client()?;
    let mut url = client.resolve_href("/preflight")?;
    url.query_pairs_mut()
        .append_pair("pacticipant", &args.pacticipant)
        .append_pair("version", &args.version)
        .append_pair("environment", &args.environment);
    if args.emergency {
        url.query_pairs_mut().append_pair("emergency", "true");
    }
    let body = client.get(&url).await?;
    match args.output {
        TableOrJson::Json => println!("{}", format_json(&body, false)),
        TableOrJson::Table => print_verdict(&body, Colours::for_stdout()),
    }
    Ok(if body["allowed"] == true {
        0
    } else {
        body["blocked_by"].as_str().map_or(1, exit_code_for_cause)
    })
}

fn print_verdict(body: &Value, colours: Colours) {
    let rows: Vec<Vec<String>> = body["checks"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|c| {
            let status = match (c["passed"] == true, c["mode"].as_str()) {
                (true, _) => "pass",
                (false, Some("report-only")) => "fail (report only)",
                (false, _) => "FAIL",
            };
            let mut reason = text_at(c, &["reason"]).to_owned();
            if let Some(at) = c["retry_after"].as_str() {
                reason.push_str(&format!(" [may pass at {at}]"));
            }
            vec![text_at(c, &["rule"]).to_owned(), status.to_owned(), reason]
        })
        .collect();
    if !rows.is_empty() {
        println!("{}", format_table(&["RULE", "RESULT", "WHY"], &rows));
    }
    let summary = text_at(body, &["summary"]);
    let allowed = body["allowed"] == true;
    let severity = if allowed {
        Severity::Success
    } else {
        Severity::Error
    };
    println!(
        "{}",
        colours.paint(
            severity,
            &format!(
                "{} {} {} to {}: {summary}",
                if allowed { "✅" } else { "⛔" },
                text_at(body, &["pacticipant"]),
                text_at(body, &["version"]),
                text_at(body, &["environment"])
            )
        )
    );
    if let Some(at) = body["retry_after"].as_str() {
        println!("Try again after {at}.");
    }
    if body["rollback"] == true {
        println!("A rollback: the version ran here recently, so promotion and soak do not apply.");
    }
    if let Some(rules) = body["emergency_stepped_over"].as_array()
        && !rules.is_empty()
    {
        let names: Vec<&str> = rules.iter().filter_map(Value::as_str).collect();
        println!("As a marked emergency it steps over: {}.", names.join(", "));
    }
    if body["policy_source"] == "default" {
        println!("({})", text_at(body, &["policy_source_reason"]));
    }
}

/// `treaty plan`: prints the steps, and returns 0 when the set can go, 3 when it cannot.
pub async fn plan(args: PlanArgs) -> anyhow::Result<i32> {
    if args.pacticipants.len() != args.versions.len() {
        anyhow::bail!(
            "give each --pacticipant its --version: {} pacticipant(s), {} version(s)",
            args.pacticipants.len(),
            args.versions.len()
        );
    }
    let client = args.broker.client()?;
    let versions: Vec<Value> = args
        .pacticipants
        .iter()
        .zip(&args.versions)
        .map(|(p, v)| serde_json::json!({ "pacticipant": p, "version": v }))
        .collect();
    let body = serde_json::json!({ "environment": args.environment, "versions": versions });
    let response = client
        .post_json(&client.resolve_href("/release-plans")?, &body)
        .await?;
    let plan = response.body;
    match args.output {
        TableOrJson::Json => println!("{}", format_json(&plan, false)),
        TableOrJson::Table => print_plan(&plan, Colours::for_stdout()),
    }
    Ok(if plan["possible"] == true {
        0
    } else {
        exit_code_for_cause("contract-compatibility")
    })
}

fn print_plan(plan: &Value, colours: Colours) {
    let possible = plan["possible"] == true;
    if possible {
        for step in plan["steps"].as_array().cloned().unwrap_or_default() {
            let deploy: Vec<String> = step["deploy"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|d| {
                    format!(
                        "{} {}",
                        text_at(d, &["pacticipant"]),
                        text_at(d, &["version"])
                    )
                })
                .collect();
            println!("{}. deploy {}", step["step"], deploy.join(" and "));
            if let Some(together) = step["together"].as_str() {
                println!("   {together}");
            }
            for why in step["why"].as_array().cloned().unwrap_or_default() {
                println!("   - {}", why.as_str().unwrap_or_default());
            }
        }
    } else {
        for problem in plan["problems"].as_array().cloned().unwrap_or_default() {
            println!("- {}", problem.as_str().unwrap_or_default());
        }
    }
    let severity = if possible {
        Severity::Success
    } else {
        Severity::Error
    };
    println!("{}", colours.paint(severity, text_at(plan, &["summary"])));
}
