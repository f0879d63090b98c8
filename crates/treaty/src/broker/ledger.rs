//! `treaty deployment start|complete|fail|abort|list|deployed-at|incident|resolve`
//! and `treaty metrics`: the deployment ledger from a pipeline, with what
//! GitHub Actions and GitLab CI already know (who, which commit, which build)
//! filled in.

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde_json::{Map, Value, json};

use super::options::BrokerOptions;
use super::output::{TableOrJson, format_json, format_table, text_at};

#[derive(Debug, Subcommand)]
pub enum DeploymentCommand {
    /// Record that a deployment started; prints its id, to pass to complete, fail or abort
    Start(Box<EventArgs>),
    /// Record that a deployment completed: the version is now the one deployed
    Complete(Box<EventArgs>),
    /// Record that a deployment failed: what was deployed stays as it was
    Fail(Box<EventArgs>),
    /// Record that a deployment was aborted
    Abort(Box<EventArgs>),
    /// List deployments, newest first
    List(Box<ListArgs>),
    /// Show what was deployed in an environment at a moment in the past
    DeployedAt(Box<DeployedAtArgs>),
    /// Record an incident against a deployment; prints the incident's id
    Incident(Box<IncidentArgs>),
    /// Record that an incident is resolved
    Resolve(Box<ResolveArgs>),
}

impl DeploymentCommand {
    pub fn broker(&self) -> &BrokerOptions {
        match self {
            Self::Start(a) | Self::Complete(a) | Self::Fail(a) | Self::Abort(a) => &a.broker,
            Self::List(a) => &a.broker,
            Self::DeployedAt(a) => &a.broker,
            Self::Incident(a) => &a.broker,
            Self::Resolve(a) => &a.broker,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EventOutput {
    /// The deployment id alone on stdout (the default), a sentence on stderr
    Id,
    Json,
}

#[derive(Debug, Args)]
pub struct EventArgs {
    #[command(flatten)]
    pub broker: BrokerOptions,
    /// The deployment id printed by `start` (otherwise the open deployment of the version is used)
    #[arg(long)]
    pub deployment: Option<i64>,
    /// The pacticipant being deployed
    #[arg(short = 'a', long)]
    pub pacticipant: Option<String>,
    /// The version being deployed
    #[arg(short = 'e', long)]
    pub version: Option<String>,
    /// The environment deployed to
    #[arg(long)]
    pub environment: Option<String>,
    /// The application instance, when several run in one environment
    #[arg(long)]
    pub application_instance: Option<String>,
    /// Who deploys (default: the CI system's user)
    #[arg(long)]
    pub deployed_by: Option<String>,
    /// The commit deployed (default: the CI system's)
    #[arg(long)]
    pub scm_sha: Option<String>,
    /// The branch deployed (default: the CI system's)
    #[arg(long)]
    pub scm_branch: Option<String>,
    /// The repository (default: the CI system's)
    #[arg(long)]
    pub scm_repository: Option<String>,
    /// The build or pipeline URL (default: the CI system's)
    #[arg(long)]
    pub build_url: Option<String>,
    /// The build number (default: the CI system's)
    #[arg(long)]
    pub build_number: Option<String>,
    /// When the deployed commit was made (RFC 3339): where lead time for changes starts
    #[arg(long)]
    pub committed_at: Option<String>,
    /// Makes a retried command harmless: the same key is recorded once
    #[arg(long)]
    pub idempotency_key: Option<String>,
    /// Any JSON object to keep with the event (rollout progress, links)
    #[arg(long, value_name = "JSON")]
    pub metadata: Option<String>,
    /// A marked emergency deployment: a freeze that allows emergencies lets it through, flagged
    #[arg(long)]
    pub emergency: bool,
    /// Output format
    #[arg(short = 'o', long, value_enum, default_value_t = EventOutput::Id)]
    pub output: EventOutput,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub broker: BrokerOptions,
    /// Only this pacticipant
    #[arg(short = 'a', long)]
    pub pacticipant: Option<String>,
    /// Only this environment
    #[arg(long)]
    pub environment: Option<String>,
    /// Only deployments with this status
    #[arg(long)]
    pub status: Option<String>,
    /// How many (newest first)
    #[arg(long, default_value_t = 20)]
    pub limit: u32,
    /// Output format
    #[arg(short = 'o', long, value_enum, default_value_t = TableOrJson::Table)]
    pub output: TableOrJson,
}

#[derive(Debug, Args)]
pub struct DeployedAtArgs {
    #[command(flatten)]
    pub broker: BrokerOptions,
    /// The environment
    #[arg(long)]
    pub environment: String,
    /// The moment (RFC 3339, for example 2026-11-24T14:05:00Z); now when not given
    #[arg(long)]
    pub at: Option<String>,
    /// Output format
    #[arg(short = 'o', long, value_enum, default_value_t = TableOrJson::Table)]
    pub output: TableOrJson,
}

#[derive(Debug, Args)]
pub struct IncidentArgs {
    #[command(flatten)]
    pub broker: BrokerOptions,
    /// The deployment that caused it
    #[arg(long)]
    pub deployment: i64,
    /// What went wrong, in a few words
    #[arg(long)]
    pub title: String,
    #[arg(long)]
    pub severity: Option<String>,
    /// A link to the incident in your incident tool
    #[arg(long)]
    pub url: Option<String>,
    /// When it began (RFC 3339); now when not given
    #[arg(long)]
    pub opened_at: Option<String>,
    /// Output format
    #[arg(short = 'o', long, value_enum, default_value_t = EventOutput::Id)]
    pub output: EventOutput,
}

#[derive(Debug, Args)]
pub struct ResolveArgs {
    #[command(flatten)]
    pub broker: BrokerOptions,
    /// The deployment the incident was recorded against
    #[arg(long)]
    pub deployment: i64,
    /// The incident's id, as `incident` printed it
    #[arg(long)]
    pub incident: i64,
    /// When it was resolved (RFC 3339); now when not given
    #[arg(long)]
    pub at: Option<String>,
    /// Output format
    #[arg(short = 'o', long, value_enum, default_value_t = EventOutput::Id)]
    pub output: EventOutput,
}

#[derive(Debug, Args)]
pub struct MetricsArgs {
    #[command(flatten)]
    pub broker: BrokerOptions,
    /// Only this pacticipant
    #[arg(short = 'a', long)]
    pub pacticipant: Option<String>,
    /// Only this environment (default: every production environment)
    #[arg(long)]
    pub environment: Option<String>,
    /// The window's length in days, ending now (or at --to)
    #[arg(long, default_value_t = 30)]
    pub days: u32,
    /// The window's start (RFC 3339); overrides --days
    #[arg(long)]
    pub from: Option<String>,
    /// The window's end (RFC 3339); now when not given
    #[arg(long)]
    pub to: Option<String>,
    /// Output format
    #[arg(short = 'o', long, value_enum, default_value_t = TableOrJson::Table)]
    pub output: TableOrJson,
}

/// What the CI system knows about this run, from its environment variables.
pub fn ci_metadata(env: &dyn Fn(&str) -> Option<String>) -> Map<String, Value> {
    let mut found = Map::new();
    let mut put = |key: &str, value: Option<String>| {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            found.insert(key.to_owned(), Value::String(value));
        }
    };
    if env("GITHUB_ACTIONS").as_deref() == Some("true") {
        put("source_system", Some("github-actions".into()));
        put("deployed_by", env("GITHUB_ACTOR"));
        put("scm_sha", env("GITHUB_SHA"));
        put(
            "scm_branch",
            env("GITHUB_HEAD_REF")
                .filter(|b| !b.is_empty())
                .or_else(|| env("GITHUB_REF_NAME")),
        );
        put("scm_repository", env("GITHUB_REPOSITORY"));
        put("build_number", env("GITHUB_RUN_NUMBER"));
        if let (Some(server), Some(repository), Some(run)) = (
            env("GITHUB_SERVER_URL"),
            env("GITHUB_REPOSITORY"),
            env("GITHUB_RUN_ID"),
        ) {
            put(
                "build_url",
                Some(format!("{server}/{repository}/actions/runs/{run}")),
            );
        }
    } else if env("GITLAB_CI").as_deref() == Some("true") {
        put("source_system", Some("gitlab-ci".into()));
        put("deployed_by", env("GITLAB_USER_LOGIN"));
        put("scm_sha", env("CI_COMMIT_SHA"));
        put("scm_branch", env("CI_COMMIT_REF_NAME"));
        put("scm_repository", env("CI_PROJECT_PATH"));
        put("build_number", env("CI_PIPELINE_IID"));
        put(
            "build_url",
            env("CI_JOB_URL").or_else(|| env("CI_PIPELINE_URL")),
        );
    }
    found
}

pub async fn run(command: DeploymentCommand) -> anyhow::Result<()> {
    let (args, status) = match command {
        DeploymentCommand::Start(a) => (a, "started"),
        DeploymentCommand::Complete(a) => (a, "completed"),
        DeploymentCommand::Fail(a) => (a, "failed"),
        DeploymentCommand::Abort(a) => (a, "aborted"),
        DeploymentCommand::List(a) => return list(*a).await,
        DeploymentCommand::DeployedAt(a) => return deployed_at(*a).await,
        DeploymentCommand::Incident(a) => return open_incident(*a).await,
        DeploymentCommand::Resolve(a) => return resolve_incident(*a).await,
    };
    let client = args.broker.client()?;
    let mut body = ci_metadata(&|name| std::env::var(name).ok());
    let (mut pacticipant, mut version, mut environment) = (
        args.pacticipant.clone(),
        args.version.clone(),
        args.environment.clone(),
    );
    if let Some(id) = args.deployment {
        body.insert("deployment_id".into(), json!(id));
        if pacticipant.is_none() || version.is_none() || environment.is_none() {
            let known = client
                .get_if_exists(&client.resolve_href(&format!("/deployments/{id}"))?)
                .await?
                .with_context(|| format!("no deployment {id} found"))?;
            pacticipant = pacticipant.or_else(|| known["product_name"].as_str().map(str::to_owned));
            version = version.or_else(|| known["version"].as_str().map(str::to_owned));
            environment =
                environment.or_else(|| known["environment_name"].as_str().map(str::to_owned));
        }
    }
    let (Some(pacticipant), Some(version), Some(environment)) = (pacticipant, version, environment)
    else {
        bail!(
            "say which deployment: --deployment ID, or --pacticipant, --version and --environment"
        );
    };
    body.insert("product_name".into(), json!(pacticipant));
    body.insert("version".into(), json!(version));
    body.insert("environment_name".into(), json!(environment));
    body.insert("status".into(), json!(status));
    for (key, value) in [
        ("application_instance", &args.application_instance),
        ("deployed_by", &args.deployed_by),
        ("scm_sha", &args.scm_sha),
        ("scm_branch", &args.scm_branch),
        ("scm_repository", &args.scm_repository),
        ("build_url", &args.build_url),
        ("build_number", &args.build_number),
        ("idempotency_key", &args.idempotency_key),
        ("scm_committed_at", &args.committed_at),
    ] {
        if let Some(value) = value {
            body.insert(key.into(), json!(value));
        }
    }
    if args.emergency {
        body.insert("emergency".into(), json!(true));
    }
    if let Some(raw) = &args.metadata {
        let metadata: Value =
            serde_json::from_str(raw).with_context(|| format!("--metadata is not JSON: {raw}"))?;
        body.insert("extra_metadata".into(), metadata);
    }
    let url = client.resolve_href("/deployment-events")?;
    let response = client.post_json(&url, &Value::Object(body)).await?;
    match args.output {
        EventOutput::Json => println!("{}", format_json(&response.body, false)),
        EventOutput::Id => {
            println!("{}", response.body["id"]);
            eprintln!(
                "Deployment {} of {pacticipant} {version} to {environment} is {}.",
                response.body["id"],
                text_at(&response.body, &["status"])
            );
            if let Some(reason) = response.body["evidence"]["reason"].as_str()
                && status == "started"
                && response.body["evidence"]["deployable"] != true
            {
                eprintln!("Note: can-i-deploy did not say yes when it started: {reason}");
            }
        }
    }
    Ok(())
}

async fn list(args: ListArgs) -> anyhow::Result<()> {
    let client = args.broker.client()?;
    let mut url = client.resolve_href("/deployments")?;
    {
        let mut query = url.query_pairs_mut();
        query.append_pair("size", &args.limit.max(1).to_string());
        for (key, value) in [
            ("pacticipant", &args.pacticipant),
            ("environment", &args.environment),
            ("status", &args.status),
        ] {
            if let Some(value) = value {
                query.append_pair(key, value);
            }
        }
    }
    let body = client.get(&url).await?;
    match args.output {
        TableOrJson::Json => println!("{}", format_json(&body, false)),
        TableOrJson::Table => {
            let rows: Vec<Vec<String>> = body["_embedded"]["deployments"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|d| {
                    vec![
                        d["id"].to_string(),
                        text_at(d, &["product_name"]).to_owned(),
                        text_at(d, &["version"]).to_owned(),
                        text_at(d, &["environment_name"]).to_owned(),
                        status_words(d),
                        text_at(d, &["deployed_by"]).to_owned(),
                        text_at(d, &["created_at"]).to_owned(),
                    ]
                })
                .collect();
            println!(
                "{}",
                format_table(
                    &[
                        "ID",
                        "PACTICIPANT",
                        "VERSION",
                        "ENVIRONMENT",
                        "STATUS",
                        "BY",
                        "AT"
                    ],
                    &rows
                )
            );
        }
    }
    Ok(())
}

/// A deployment's status with what else the ledger says about it.
fn status_words(d: &Value) -> String {
    let mut words = vec![if d["kind"] == "release" {
        "released".to_owned()
    } else {
        text_at(d, &["status"]).to_owned()
    }];
    if d["running"] == true {
        words.push("runs now".to_owned());
    } else if let Some(reason) = d["end_reason"].as_str() {
        words.push(reason.replace('_', " "));
    }
    for (flag, word) in [
        ("rollback", "rollback"),
        ("emergency", "emergency"),
        ("bypassed_gates", "BYPASSED GATES"),
    ] {
        if d[flag] == true {
            words.push(word.to_owned());
        }
    }
    match words.split_first() {
        Some((status, [])) => status.clone(),
        Some((status, rest)) => format!("{status} ({})", rest.join(", ")),
        None => String::new(),
    }
}

async fn deployed_at(args: DeployedAtArgs) -> anyhow::Result<()> {
    let client = args.broker.client()?;
    let mut url = client.resolve_href("/deployments/deployed-at")?;
    url.query_pairs_mut()
        .append_pair("environment", &args.environment);
    if let Some(at) = &args.at {
        url.query_pairs_mut().append_pair("at", at);
    }
    let body = client.get(&url).await?;
    match args.output {
        TableOrJson::Json => println!("{}", format_json(&body, false)),
        TableOrJson::Table => {
            let rows: Vec<Vec<String>> = body["deployed"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|d| {
                    vec![
                        text_at(d, &["pacticipant"]).to_owned(),
                        text_at(d, &["version"]).to_owned(),
                        text_at(d, &["application_instance"]).to_owned(),
                        text_at(d, &["deployed_since"]).to_owned(),
                        d["deployment_id"].to_string(),
                    ]
                })
                .collect();
            println!(
                "Deployed in {} at {}:",
                text_at(&body, &["environment"]),
                text_at(&body, &["at"])
            );
            println!(
                "{}",
                format_table(
                    &["PACTICIPANT", "VERSION", "INSTANCE", "SINCE", "DEPLOYMENT"],
                    &rows
                )
            );
        }
    }
    Ok(())
}

async fn open_incident(args: IncidentArgs) -> anyhow::Result<()> {
    let client = args.broker.client()?;
    let mut body = json!({ "title": args.title });
    for (key, value) in [
        ("severity", &args.severity),
        ("url", &args.url),
        ("opened_at", &args.opened_at),
    ] {
        if let Some(value) = value {
            body[key] = json!(value);
        }
    }
    if let Some(by) = ci_metadata(&|name| std::env::var(name).ok()).get("deployed_by") {
        body["opened_by"] = by.clone();
    }
    let url = client.resolve_href(&format!("/deployments/{}/incidents", args.deployment))?;
    let response = client.post_json(&url, &body).await?;
    match args.output {
        EventOutput::Json => println!("{}", format_json(&response.body, false)),
        EventOutput::Id => {
            println!("{}", response.body["id"]);
            eprintln!(
                "Incident {} recorded against deployment {}.",
                response.body["id"], args.deployment
            );
        }
    }
    Ok(())
}

async fn resolve_incident(args: ResolveArgs) -> anyhow::Result<()> {
    let client = args.broker.client()?;
    let body = match &args.at {
        Some(at) => json!({ "resolved_at": at }),
        None => json!({ "resolved": true }),
    };
    let url = client.resolve_href(&format!(
        "/deployments/{}/incidents/{}",
        args.deployment, args.incident
    ))?;
    let response = client.patch_json(&url, &body).await?;
    match args.output {
        EventOutput::Json => println!("{}", format_json(&response.body, false)),
        EventOutput::Id => {
            println!("{}", response.body["id"]);
            eprintln!(
                "Incident {} resolved at {}.",
                args.incident,
                text_at(&response.body, &["resolved_at"])
            );
        }
    }
    Ok(())
}

fn hours(seconds: &Value) -> String {
    seconds.as_f64().map_or_else(
        || "-".to_owned(),
        |s| {
            if s < 3600.0 {
                format!("{:.0} min", s / 60.0)
            } else if s < 172_800.0 {
                format!("{:.1} h", s / 3600.0)
            } else {
                format!("{:.1} d", s / 86_400.0)
            }
        },
    )
}

fn metrics_row(label: &str, m: &Value) -> Vec<String> {
    vec![
        label.to_owned(),
        format!(
            "{} ({:.2}/day)",
            m["deployment_frequency"]["deployments"],
            m["deployment_frequency"]["per_day"].as_f64().unwrap_or(0.0)
        ),
        hours(&m["lead_time_for_changes"]["median_seconds"]),
        m["change_failure_rate"]["rate"].as_f64().map_or_else(
            || "-".to_owned(),
            |r| {
                format!(
                    "{:.0}% ({}/{})",
                    r * 100.0,
                    m["change_failure_rate"]["failures"],
                    m["change_failure_rate"]["changes"]
                )
            },
        ),
        format!(
            "{}{}",
            hours(&m["time_to_restore"]["median_seconds"]),
            match m["time_to_restore"]["unrestored"].as_u64() {
                Some(n) if n > 0 => format!(" ({n} open)"),
                _ => String::new(),
            }
        ),
    ]
}

/// `treaty metrics`: the DORA metrics over a window.
pub async fn metrics(args: MetricsArgs) -> anyhow::Result<()> {
    let client = args.broker.client()?;
    let mut url = client.resolve_href("/dora-metrics")?;
    {
        let mut query = url.query_pairs_mut();
        query.append_pair("days", &args.days.to_string());
        for (key, value) in [
            ("pacticipant", &args.pacticipant),
            ("environment", &args.environment),
            ("from", &args.from),
            ("to", &args.to),
        ] {
            if let Some(value) = value {
                query.append_pair(key, value);
            }
        }
    }
    let body = client.get(&url).await?;
    match args.output {
        TableOrJson::Json => println!("{}", format_json(&body, false)),
        TableOrJson::Table => {
            println!(
                "DORA metrics from {} to {} ({}):",
                text_at(&body, &["from"]),
                text_at(&body, &["to"]),
                body["environments"].as_str().unwrap_or_default()
            );
            let mut rows: Vec<Vec<String>> = body["groups"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|g| {
                    metrics_row(
                        &format!(
                            "{} in {}",
                            text_at(g, &["pacticipant"]),
                            text_at(g, &["environment"])
                        ),
                        g,
                    )
                })
                .collect();
            rows.push(metrics_row("All", &body["overall"]));
            println!(
                "{}",
                format_table(
                    &[
                        "",
                        "DEPLOYMENTS",
                        "LEAD TIME (MEDIAN)",
                        "CHANGE FAILURE RATE",
                        "TIME TO RESTORE (MEDIAN)"
                    ],
                    &rows
                )
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::ci_metadata;

    #[test]
    fn reads_what_github_actions_and_gitlab_ci_know() {
        let github = |name: &str| {
            Some(
                match name {
                    "GITHUB_ACTIONS" => "true",
                    "GITHUB_ACTOR" => "octocat",
                    "GITHUB_SHA" => "abc",
                    "GITHUB_REF_NAME" => "main",
                    "GITHUB_REPOSITORY" => "acme/foo",
                    "GITHUB_SERVER_URL" => "https://github.com",
                    "GITHUB_RUN_ID" => "99",
                    "GITHUB_RUN_NUMBER" => "7",
                    _ => return None,
                }
                .to_owned(),
            )
        };
        let found = ci_metadata(&github);
        assert_eq!(found["deployed_by"], "octocat");
        assert_eq!(
            found["build_url"],
            "https://github.com/acme/foo/actions/runs/99"
        );
        assert_eq!(found["source_system"], "github-actions");
        let gitlab = |name: &str| {
            Some(
                match name {
                    "GITLAB_CI" => "true",
                    "GITLAB_USER_LOGIN" => "dev",
                    "CI_COMMIT_SHA" => "def",
                    "CI_JOB_URL" => "https://gitlab/job/1",
                    _ => return None,
                }
                .to_owned(),
            )
        };
        let found = ci_metadata(&gitlab);
        assert_eq!(
            (found["deployed_by"].as_str(), found["build_url"].as_str()),
            (Some("dev"), Some("https://gitlab/job/1"))
        );
        assert!(ci_metadata(&|_| None).is_empty());
    }

    #[test]
    fn durations_read_in_the_unit_that_fits() {
        use serde_json::json;
        assert_eq!(super::hours(&json!(1800.0)), "30 min");
        assert_eq!(super::hours(&json!(5400.0)), "1.5 h");
        assert_eq!(super::hours(&json!(259_200.0)), "3.0 d");
        assert_eq!(super::hours(&json!(null)), "-");
    }
}
