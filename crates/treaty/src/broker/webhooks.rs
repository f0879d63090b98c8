//! `create-webhook`, `create-or-update-webhook`, `delete-webhook`,
//! `test-webhook`, `generate-uuid` (the official CLI's commands and flags)
//! and `treaty webhook deliveries` and `list`.

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Map, Value, json};

use super::options::BrokerOptions;
use super::output::{TableOrJson, TextOrJson, format_json, format_table, text_at};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Template {
    /// `{"text": "Foo 1.2.3 → production: deployment completed by octocat"}` for
    /// Slack's incoming webhooks and the chat tools compatible with them
    Slack,
    /// Every deployment field as JSON, for any receiver
    Generic,
}

#[derive(Debug, Args)]
pub struct WebhookArgs {
    #[command(flatten)]
    pub broker: BrokerOptions,
    /// Webhook URL
    pub url: String,
    /// Webhook HTTP method
    #[arg(short = 'X', long = "request", default_value = "POST")]
    pub method: String,
    /// Webhook header(s), eg 'Content-Type: application/json'
    #[arg(short = 'H', long = "header", num_args = 1..)]
    pub headers: Vec<String>,
    /// Webhook payload (JSON is sent as JSON)
    #[arg(short = 'd', long)]
    pub data: Option<String>,
    /// Webhook basic auth username and password eg. username:password
    #[arg(long)]
    pub user: Option<String>,
    /// Consumer name
    #[arg(long, conflicts_with = "consumer_label")]
    pub consumer: Option<String>,
    /// Consumer label, mutually exclusive with consumer name
    #[arg(long)]
    pub consumer_label: Option<String>,
    /// Provider name
    #[arg(long, conflicts_with = "provider_label")]
    pub provider: Option<String>,
    /// Provider label, mutually exclusive with provider name
    #[arg(long)]
    pub provider_label: Option<String>,
    /// Webhook description
    #[arg(long)]
    pub description: Option<String>,
    /// Trigger this webhook when the pact content changes
    #[arg(long)]
    pub contract_content_changed: bool,
    /// Trigger this webhook when a pact is published
    #[arg(long)]
    pub contract_published: bool,
    /// Trigger this webhook when a provider verification result is published
    #[arg(long)]
    pub provider_verification_published: bool,
    /// Trigger this webhook when a failed provider verification result is published
    #[arg(long)]
    pub provider_verification_failed: bool,
    /// Trigger this webhook when a successful provider verification result is published
    #[arg(long)]
    pub provider_verification_succeeded: bool,
    /// Trigger this webhook when a contract is published that requires verification
    #[arg(long)]
    pub contract_requiring_verification_published: bool,
    /// Trigger this webhook when a deployment starts (Treaty)
    #[arg(long)]
    pub deployment_started: bool,
    /// Trigger this webhook when a deployment completes (Treaty)
    #[arg(long)]
    pub deployment_completed: bool,
    /// Trigger this webhook when a deployment fails (Treaty)
    #[arg(long)]
    pub deployment_failed: bool,
    /// Trigger this webhook when a deployment is aborted (Treaty)
    #[arg(long)]
    pub deployment_aborted: bool,
    /// Trigger this webhook when a deployment times out (Treaty)
    #[arg(long)]
    pub deployment_timed_out: bool,
    /// Trigger this webhook when a deployment is recorded that the gates would have refused (Treaty)
    #[arg(long)]
    pub deployment_bypassed_gates: bool,
    /// Trigger this webhook when a provider version that verified the consumer's pact reaches an environment (Treaty)
    #[arg(long)]
    pub consumer_unblocked: bool,
    /// Trigger this webhook when an environment is frozen (Treaty)
    #[arg(long)]
    pub environment_frozen: bool,
    /// Trigger this webhook when an environment's freeze is lifted or ends by a policy change (Treaty)
    #[arg(long)]
    pub environment_unfrozen: bool,
    /// Trigger this webhook when a provider publishes its OpenAPI document (Treaty, bi-directional contracts)
    #[arg(long)]
    pub provider_contract_published: bool,
    /// Trigger this webhook when a consumer's pact is found incompatible with a provider's document (Treaty)
    #[arg(long)]
    pub provider_contract_comparison_failed: bool,
    /// A ready-made body for deployment notifications (Treaty); without event flags, every deployment event
    #[arg(long, value_enum)]
    pub template: Option<Template>,
    /// Sign each delivery with HMAC-SHA256 of its body in X-Treaty-Signature-256 (Treaty)
    #[arg(long)]
    pub secret: Option<String>,
    /// Accepted for compatibility (PactFlow only); ignored
    #[arg(long, hide = true)]
    pub team_uuid: Option<String>,
    /// Output format
    #[arg(short = 'o', long, value_enum, default_value_t = TextOrJson::Text)]
    pub output: TextOrJson,
}

#[derive(Debug, Args)]
pub struct CreateOrUpdateArgs {
    /// The UUID of the webhook (see generate-uuid)
    #[arg(long)]
    pub uuid: String,
    #[command(flatten)]
    pub webhook: WebhookArgs,
}

#[derive(Debug, Args)]
pub struct UuidArgs {
    #[command(flatten)]
    pub broker: BrokerOptions,
    /// The UUID of the webhook
    #[arg(long)]
    pub uuid: String,
    /// Output format
    #[arg(short = 'o', long, value_enum, default_value_t = TextOrJson::Text)]
    pub output: TextOrJson,
}

#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// What a webhook's deliveries did: status, attempts, and when
    Deliveries(Box<DeliveriesArgs>),
    /// Every webhook: enabled or not, and the secrets it still needs given
    /// again (one moved in by `treaty migrate-from` lacks those the source masked)
    List(Box<ListArgs>),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub broker: BrokerOptions,
    /// Output format
    #[arg(short = 'o', long, value_enum, default_value_t = TableOrJson::Table)]
    pub output: TableOrJson,
}

impl WebhookCommand {
    pub fn broker(&self) -> &BrokerOptions {
        match self {
            Self::Deliveries(a) => &a.broker,
            Self::List(a) => &a.broker,
        }
    }
}

#[derive(Debug, Args)]
pub struct DeliveriesArgs {
    #[command(flatten)]
    pub broker: BrokerOptions,
    /// The UUID of the webhook
    #[arg(long)]
    pub uuid: String,
    /// Also print each delivery's logs
    #[arg(long)]
    pub logs: bool,
    /// Output format
    #[arg(short = 'o', long, value_enum, default_value_t = TableOrJson::Table)]
    pub output: TableOrJson,
}

const DEPLOYMENT_EVENTS: [&str; 5] = [
    "deployment_started",
    "deployment_completed",
    "deployment_failed",
    "deployment_aborted",
    "deployment_timed_out",
];

fn body(args: &WebhookArgs) -> anyhow::Result<Value> {
    let flags = [
        (args.contract_content_changed, "contract_content_changed"),
        (args.contract_published, "contract_published"),
        (
            args.provider_verification_published,
            "provider_verification_published",
        ),
        (
            args.provider_verification_failed,
            "provider_verification_failed",
        ),
        (
            args.provider_verification_succeeded,
            "provider_verification_succeeded",
        ),
        (
            args.contract_requiring_verification_published,
            "contract_requiring_verification_published",
        ),
        (args.deployment_started, "deployment_started"),
        (args.deployment_completed, "deployment_completed"),
        (args.deployment_failed, "deployment_failed"),
        (args.deployment_aborted, "deployment_aborted"),
        (args.deployment_timed_out, "deployment_timed_out"),
        (args.deployment_bypassed_gates, "deployment_bypassed_gates"),
        (args.consumer_unblocked, "consumer_unblocked"),
        (args.environment_frozen, "environment_frozen"),
        (args.environment_unfrozen, "environment_unfrozen"),
        (
            args.provider_contract_published,
            "provider_contract_published",
        ),
        (
            args.provider_contract_comparison_failed,
            "provider_contract_comparison_failed",
        ),
    ];
    let mut events: Vec<&str> = flags
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, e)| *e)
        .collect();
    if events.is_empty() {
        if args.template.is_some() {
            events.extend(DEPLOYMENT_EVENTS);
        } else {
            bail!(
                "say when the webhook fires: --contract-content-changed, --contract-published, --provider-verification-published, --deployment-completed, ..."
            );
        }
    }
    let mut headers = Map::new();
    for header in &args.headers {
        let (name, value) = header
            .split_once(':')
            .with_context(|| format!("a header is 'Name: value', not '{header}'"))?;
        headers.insert(name.trim().to_owned(), json!(value.trim()));
    }
    let mut request = Map::new();
    request.insert("method".into(), json!(args.method.to_ascii_uppercase()));
    request.insert("url".into(), json!(args.url));
    let data = match (&args.data, args.template) {
        (Some(data), _) => {
            Some(serde_json::from_str::<Value>(data).unwrap_or_else(|_| json!(data)))
        }
        (None, Some(Template::Slack)) => Some(
            json!({ "text": "${treaty.pacticipant} ${treaty.version} → ${treaty.environment}: deployment ${treaty.status}${treaty.deployedByText}" }),
        ),
        (None, Some(Template::Generic)) => Some(json!({
            "event": "${treaty.eventName}", "deployment": "${treaty.deploymentUrl}", "pacticipant": "${treaty.pacticipant}",
            "version": "${treaty.version}", "environment": "${treaty.environment}", "status": "${treaty.status}",
            "deployedBy": "${treaty.deployedBy}", "scmSha": "${treaty.scmSha}", "buildUrl": "${treaty.buildUrl}",
            "rollback": "${treaty.rollback}", "emergency": "${treaty.emergency}"
        })),
        (None, None) => None,
    };
    if data.as_ref().is_some_and(Value::is_object)
        && !headers
            .keys()
            .any(|k| k.eq_ignore_ascii_case("content-type"))
    {
        headers.insert("Content-Type".into(), json!("application/json"));
    }
    if !headers.is_empty() {
        request.insert("headers".into(), Value::Object(headers));
    }
    if let Some(data) = data {
        request.insert("body".into(), data);
    }
    if let Some(user) = &args.user {
        let (username, password) = user.split_once(':').unwrap_or((user, ""));
        request.insert("username".into(), json!(username));
        request.insert("password".into(), json!(password));
    }
    let mut body = Map::new();
    body.insert("request".into(), Value::Object(request));
    body.insert(
        "events".into(),
        json!(
            events
                .iter()
                .map(|e| json!({ "name": e }))
                .collect::<Vec<_>>()
        ),
    );
    if let Some(description) = &args.description {
        body.insert("description".into(), json!(description));
    }
    match (&args.consumer, &args.consumer_label) {
        (Some(name), _) => body.insert("consumer".into(), json!({ "name": name })),
        (None, Some(label)) => body.insert("consumer".into(), json!({ "label": label })),
        _ => None,
    };
    match (&args.provider, &args.provider_label) {
        (Some(name), _) => body.insert("provider".into(), json!({ "name": name })),
        (None, Some(label)) => body.insert("provider".into(), json!({ "label": label })),
        _ => None,
    };
    if let Some(secret) = &args.secret {
        body.insert("secret".into(), json!(secret));
    }
    Ok(Value::Object(body))
}

fn print_saved(response: &Value, verb: &str, output: TextOrJson) {
    match output {
        TextOrJson::Json => println!("{}", format_json(response, false)),
        TextOrJson::Text => println!(
            "Webhook {:?} {verb} (uuid {})",
            response["description"]
                .as_str()
                .unwrap_or("(no description)"),
            text_at(response, &["uuid"])
        ),
    }
}

pub async fn create(args: WebhookArgs) -> anyhow::Result<()> {
    let client = args.broker.client()?;
    let body = body(&args)?;
    let response = client
        .post_json(&client.resolve_href("/webhooks")?, &body)
        .await
        .context("cannot create the webhook")?;
    print_saved(&response.body, "created", args.output);
    Ok(())
}

pub async fn create_or_update(args: CreateOrUpdateArgs) -> anyhow::Result<()> {
    let client = args.webhook.broker.client()?;
    let body = body(&args.webhook)?;
    let url = client.resolve_href(&format!(
        "/webhooks/{}",
        treaty_domain::url_path::segment(&args.uuid)
    ))?;
    let response = client
        .put_json(&url, &body)
        .await
        .context("cannot save the webhook")?;
    let verb = if response.status == 201 {
        "created"
    } else {
        "updated"
    };
    print_saved(&response.body, verb, args.webhook.output);
    Ok(())
}

pub async fn delete(args: UuidArgs) -> anyhow::Result<()> {
    let client = args.broker.client()?;
    let url = client.resolve_href(&format!(
        "/webhooks/{}",
        treaty_domain::url_path::segment(&args.uuid)
    ))?;
    client
        .delete(&url)
        .await
        .context("cannot delete the webhook")?;
    match args.output {
        TextOrJson::Json => println!("{}", json!({ "deleted": args.uuid })),
        TextOrJson::Text => println!("Webhook {} deleted", args.uuid),
    }
    Ok(())
}

/// Executes the webhook now; fails (exit 1) when the target did not answer 2xx.
pub async fn test(args: UuidArgs) -> anyhow::Result<()> {
    let client = args.broker.client()?;
    let url = client.resolve_href(&format!(
        "/webhooks/{}/execute",
        treaty_domain::url_path::segment(&args.uuid)
    ))?;
    let response = client.post_json(&url, &json!({})).await?;
    let result = response.body;
    match args.output {
        TextOrJson::Json => println!("{}", format_json(&result, false)),
        TextOrJson::Text => print!("{}", result["logs"].as_str().unwrap_or_default()),
    }
    if result["success"] != true {
        bail!(
            "the webhook's target did not accept it: {}",
            result["message"].as_str().unwrap_or("see the logs above")
        );
    }
    Ok(())
}

pub fn generate_uuid() {
    println!("{}", uuid::Uuid::new_v4());
}

/// Each webhook read in full: the list links them with their descriptions only.
async fn list(args: ListArgs) -> anyhow::Result<()> {
    let client = args.broker.client()?;
    let listed = client.get(&client.resolve_href("/webhooks")?).await?;
    let mut webhooks = Vec::new();
    for link in treaty_client::hal::links(&listed, "pb:webhooks") {
        webhooks.push(client.get(&client.resolve_href(&link.href)?).await?);
    }
    match args.output {
        TableOrJson::Json => println!("{}", format_json(&json!(webhooks), false)),
        TableOrJson::Table => {
            let rows: Vec<Vec<String>> = webhooks
                .iter()
                .map(|w| {
                    let missing: Vec<&str> = w["secretsToReenter"]
                        .as_array()
                        .map(|m| m.iter().filter_map(Value::as_str).collect())
                        .unwrap_or_default();
                    vec![
                        text_at(w, &["uuid"]).to_owned(),
                        text_at(w, &["description"]).to_owned(),
                        w["enabled"].as_bool().unwrap_or(false).to_string(),
                        missing.join(", "),
                    ]
                })
                .collect();
            println!(
                "{}",
                format_table(
                    &["UUID", "DESCRIPTION", "ENABLED", "SECRETS TO RE-ENTER"],
                    &rows
                )
            );
        }
    }
    Ok(())
}

pub async fn webhook(command: WebhookCommand) -> anyhow::Result<()> {
    let args = match command {
        WebhookCommand::Deliveries(args) => args,
        WebhookCommand::List(args) => return list(*args).await,
    };
    let client = args.broker.client()?;
    let url = client.resolve_href(&format!(
        "/webhooks/{}/deliveries",
        treaty_domain::url_path::segment(&args.uuid)
    ))?;
    let body = client.get(&url).await?;
    let deliveries = body["_embedded"]["triggeredWebhooks"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    match args.output {
        TableOrJson::Json => println!("{}", format_json(&body, false)),
        TableOrJson::Table => {
            let rows: Vec<Vec<String>> = deliveries
                .iter()
                .map(|d| {
                    vec![
                        text_at(d, &["triggeredAt"]).to_owned(),
                        text_at(d, &["eventName"]).to_owned(),
                        text_at(d, &["status"]).to_owned(),
                        d["attemptsMade"].to_string(),
                        d["nextAttemptAt"].as_str().unwrap_or("").to_owned(),
                    ]
                })
                .collect();
            println!(
                "{}",
                format_table(
                    &["TRIGGERED", "EVENT", "STATUS", "ATTEMPTS", "NEXT ATTEMPT"],
                    &rows
                )
            );
        }
    }
    if args.logs {
        for delivery in &deliveries {
            eprintln!(
                "--- {} {}\n{}",
                text_at(delivery, &["triggeredAt"]),
                text_at(delivery, &["eventName"]),
                text_at(delivery, &["logs"])
            );
        }
    }
    Ok(())
}
