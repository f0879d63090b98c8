//! `treaty token create|list|revoke` and `treaty audit list`.

use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::options::BrokerOptions;
use super::output::{TableOrJson, TextOrJson, format_json, format_table, text_at};

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token; it is printed once, and only its hash is kept
    Create(Box<CreateTokenArgs>),
    /// List the tokens (never their secrets)
    List(Box<ListTokensArgs>),
    /// Revoke a token: it stops working at once
    Revoke(Box<RevokeTokenArgs>),
}

impl TokenCommand {
    pub fn broker(&self) -> &BrokerOptions {
        match self {
            Self::Create(a) => &a.broker,
            Self::List(a) => &a.broker,
            Self::Revoke(a) => &a.broker,
        }
    }
}

#[derive(Debug, Args)]
pub struct CreateTokenArgs {
    #[command(flatten)]
    pub broker: BrokerOptions,
    /// What the token is for, like ci-payments
    #[arg(long)]
    pub name: String,
    /// read, write (publish, verify, record deployments) or admin
    #[arg(long)]
    pub role: String,
    /// Limit writes to these pacticipants (patterns like payments-*); repeatable
    #[arg(long = "pacticipant")]
    pub pacticipants: Vec<String>,
    /// How long it lives, like 90d or 12h (default: until revoked)
    #[arg(long)]
    pub expires: Option<String>,
    /// Output format
    #[arg(short = 'o', long, value_enum, default_value_t = TextOrJson::Text)]
    pub output: TextOrJson,
}

#[derive(Debug, Args)]
pub struct ListTokensArgs {
    #[command(flatten)]
    pub broker: BrokerOptions,
    #[arg(short = 'o', long, value_enum, default_value_t = TableOrJson::Table)]
    pub output: TableOrJson,
}

#[derive(Debug, Args)]
pub struct RevokeTokenArgs {
    #[command(flatten)]
    pub broker: BrokerOptions,
    #[arg(long)]
    pub name: String,
}

#[derive(Debug, Args)]
pub struct AuditListArgs {
    #[command(flatten)]
    pub broker: BrokerOptions,
    /// Only what this user or token did
    #[arg(long)]
    pub actor: Option<String>,
    /// How many entries, newest first
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
    #[arg(short = 'o', long, value_enum, default_value_t = TableOrJson::Table)]
    pub output: TableOrJson,
}

pub async fn token(command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Create(args) => {
            let client = args.broker.client()?;
            let mut body = json!({ "name": args.name, "role": args.role });
            if !args.pacticipants.is_empty() {
                body["pacticipants"] = json!(args.pacticipants);
            }
            if let Some(expires) = &args.expires {
                body["expires_in"] = json!(expires);
            }
            let response = client
                .post_json(&client.resolve_href("/tokens")?, &body)
                .await?;
            match args.output {
                TextOrJson::Json => println!("{}", format_json(&response.body, false)),
                TextOrJson::Text => {
                    println!("{}", text_at(&response.body, &["token"]));
                    eprintln!(
                        "Token {} ({}) created. It is shown this once: keep it in your CI's secrets.",
                        args.name,
                        text_at(&response.body, &["role"])
                    );
                }
            }
        }
        TokenCommand::List(args) => {
            let client = args.broker.client()?;
            let body = client.get(&client.resolve_href("/tokens")?).await?;
            match args.output {
                TableOrJson::Json => println!("{}", format_json(&body, false)),
                TableOrJson::Table => {
                    let rows: Vec<Vec<String>> = body["_embedded"]["tokens"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default()
                        .iter()
                        .map(|t| {
                            vec![
                                text_at(t, &["name"]).to_owned(),
                                text_at(t, &["role"]).to_owned(),
                                t["pacticipants"].as_array().map_or_else(
                                    || "all".to_owned(),
                                    |p| {
                                        p.iter()
                                            .filter_map(Value::as_str)
                                            .collect::<Vec<_>>()
                                            .join(", ")
                                    },
                                ),
                                t["expiresAt"].as_str().unwrap_or("never").to_owned(),
                                if t["revokedAt"].is_string() {
                                    "revoked"
                                } else {
                                    "live"
                                }
                                .to_owned(),
                            ]
                        })
                        .collect();
                    println!(
                        "{}",
                        format_table(&["NAME", "ROLE", "PACTICIPANTS", "EXPIRES", "STATE"], &rows)
                    );
                }
            }
        }
        TokenCommand::Revoke(args) => {
            let client = args.broker.client()?;
            let url = client.resolve_href(&format!(
                "/tokens/{}",
                treaty_domain::url_path::segment(&args.name)
            ))?;
            client.delete(&url).await?;
            eprintln!("Token {} revoked.", args.name);
        }
    }
    Ok(())
}

pub async fn audit_list(args: AuditListArgs) -> anyhow::Result<()> {
    let client = args.broker.client()?;
    let mut url = client.resolve_href("/audit")?;
    url.query_pairs_mut()
        .append_pair("size", &args.limit.max(1).to_string());
    if let Some(actor) = &args.actor {
        url.query_pairs_mut().append_pair("actor", actor);
    }
    let body = client.get(&url).await?;
    match args.output {
        TableOrJson::Json => println!("{}", format_json(&body, false)),
        TableOrJson::Table => {
            let rows: Vec<Vec<String>> = body["_embedded"]["entries"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|e| {
                    vec![
                        text_at(e, &["at"]).to_owned(),
                        text_at(e, &["actor"]).to_owned(),
                        text_at(e, &["address"]).to_owned(),
                        format!("{} {}", text_at(e, &["method"]), text_at(e, &["target"])),
                        e["status"].to_string(),
                        text_at(e, &["summary"]).to_owned(),
                    ]
                })
                .collect();
            println!(
                "{}",
                format_table(
                    &["AT", "ACTOR", "ADDRESS", "REQUEST", "STATUS", "SUMMARY"],
                    &rows
                )
            );
        }
    }
    Ok(())
}
