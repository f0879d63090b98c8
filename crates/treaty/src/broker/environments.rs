//! `create-environment`, `update-environment`, `describe-environment`,
//! `list-environments`, `delete-environment`.

use anyhow::{Context, bail};
use clap::Args;
use serde_json::{Value, json};

use super::options::BrokerOptions;
use super::output::{TableOrJson, TextOrJson, format_json, format_table, text_at};

#[derive(Debug, Args)]
pub struct EnvironmentFieldsArgs {
    /// The name of the environment (no spaces)
    #[arg(long)]
    pub name: Option<String>,
    /// The display name of the environment
    #[arg(long)]
    pub display_name: Option<String>,
    /// Whether or not this environment is a production environment
    #[arg(long)]
    pub production: bool,
    /// The name of the team/person responsible for this environment
    #[arg(long)]
    pub contact_name: Option<String>,
    /// The email address of the team/person responsible for this environment
    #[arg(long)]
    pub contact_email_address: Option<String>,
}

impl EnvironmentFieldsArgs {
    fn contacts(&self) -> Option<Value> {
        if self.contact_name.is_none() && self.contact_email_address.is_none() {
            return None;
        }
        let mut details = serde_json::Map::new();
        if let Some(email) = &self.contact_email_address {
            details.insert("emailAddress".into(), json!(email));
        }
        Some(
            json!([{ "name": self.contact_name.clone().unwrap_or_else(|| "unknown".into()), "details": details }]),
        )
    }
}

#[derive(Debug, Args)]
pub struct CreateEnvironmentArgs {
    #[command(flatten)]
    pub broker: BrokerOptions,
    #[command(flatten)]
    pub fields: EnvironmentFieldsArgs,
    /// Output format
    #[arg(short = 'o', long, value_enum, default_value_t = TextOrJson::Text)]
    pub output: TextOrJson,
}

#[derive(Debug, Args)]
pub struct UpdateEnvironmentArgs {
    #[command(flatten)]
    pub broker: BrokerOptions,
    /// The UUID of the environment to update
    #[arg(long)]
    pub uuid: String,
    #[command(flatten)]
    pub fields: EnvironmentFieldsArgs,
    /// Output format
    #[arg(short = 'o', long, value_enum, default_value_t = TextOrJson::Text)]
    pub output: TextOrJson,
}

#[derive(Debug, Args)]
pub struct EnvironmentUuidArgs {
    #[command(flatten)]
    pub broker: BrokerOptions,
    /// The UUID of the environment
    #[arg(long)]
    pub uuid: String,
    /// Output format
    #[arg(short = 'o', long, value_enum, default_value_t = TextOrJson::Text)]
    pub output: TextOrJson,
}

#[derive(Debug, Args)]
pub struct ListEnvironmentsArgs {
    #[command(flatten)]
    pub broker: BrokerOptions,
    /// Output format
    #[arg(short = 'o', long, value_enum, default_value_t = TableOrJson::Table)]
    pub output: TableOrJson,
}

fn describe(environment: &Value) -> String {
    let contacts = environment["contacts"]
        .as_array()
        .map(|contacts| {
            contacts
                .iter()
                .map(|c| {
                    let email = text_at(c, &["details", "emailAddress"]);
                    if email.is_empty() {
                        text_at(c, &["name"]).to_owned()
                    } else {
                        format!("{} <{email}>", text_at(c, &["name"]))
                    }
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    format!(
        "Name: {}\nDisplay Name: {}\nProduction: {}\nUUID: {}\nContacts: {}",
        text_at(environment, &["name"]),
        text_at(environment, &["displayName"]),
        environment["production"].as_bool().unwrap_or(false),
        text_at(environment, &["uuid"]),
        if contacts.is_empty() {
            "-".to_owned()
        } else {
            contacts
        }
    )
}

pub async fn create(args: CreateEnvironmentArgs) -> anyhow::Result<()> {
    let Some(name) = &args.fields.name else {
        bail!("--name is required to create an environment");
    };
    let client = args.broker.client()?;
    let index = client.index().await?;
    let url = client.relation_url(&index, "pb:environments", &[])?;
    let mut body = json!({ "name": name, "production": args.fields.production });
    if let Some(display_name) = &args.fields.display_name {
        body["displayName"] = json!(display_name);
    }
    if let Some(contacts) = args.fields.contacts() {
        body["contacts"] = contacts;
    }
    let created = client.post_json(&url, &body).await?;
    match args.output {
        TextOrJson::Json => println!("{}", format_json(&created.body, false)),
        TextOrJson::Text => println!(
            "Created {} environment in the Pact Broker with UUID {}",
            name,
            text_at(&created.body, &["uuid"])
        ),
    }
    Ok(())
}

pub async fn update(args: UpdateEnvironmentArgs) -> anyhow::Result<()> {
    let client = args.broker.client()?;
    let index = client.index().await?;
    let url = client.relation_url(&index, "pb:environment", &[("uuid", &args.uuid)])?;
    let Some(existing) = client.get_if_exists(&url).await? else {
        bail!("No environment with UUID {} found", args.uuid);
    };
    let fields = &args.fields;
    let mut body = json!({
        "name": fields.name.clone().unwrap_or_else(|| text_at(&existing, &["name"]).to_owned()),
        "displayName": fields.display_name.clone().unwrap_or_else(|| text_at(&existing, &["displayName"]).to_owned()),
        "production": fields.production || existing["production"].as_bool().unwrap_or(false),
    });
    if let Some(contacts) = fields
        .contacts()
        .or_else(|| existing.get("contacts").cloned())
    {
        body["contacts"] = contacts;
    }
    let updated = client.put_json(&url, &body).await?;
    match args.output {
        TextOrJson::Json => println!("{}", format_json(&updated.body, false)),
        TextOrJson::Text => println!(
            "Updated {} environment in the Pact Broker",
            text_at(&updated.body, &["name"])
        ),
    }
    Ok(())
}

pub async fn describe_one(args: EnvironmentUuidArgs) -> anyhow::Result<()> {
    let client = args.broker.client()?;
    let index = client.index().await?;
    let url = client.relation_url(&index, "pb:environment", &[("uuid", &args.uuid)])?;
    let Some(environment) = client.get_if_exists(&url).await? else {
        bail!("No environment with UUID {} found", args.uuid);
    };
    match args.output {
        TextOrJson::Json => println!("{}", format_json(&environment, false)),
        TextOrJson::Text => println!("{}", describe(&environment)),
    }
    Ok(())
}

pub async fn delete(args: EnvironmentUuidArgs) -> anyhow::Result<()> {
    let client = args.broker.client()?;
    let index = client.index().await?;
    let url = client.relation_url(&index, "pb:environment", &[("uuid", &args.uuid)])?;
    let Some(environment) = client.get_if_exists(&url).await? else {
        bail!("No environment with UUID {} found", args.uuid);
    };
    client.delete(&url).await?;
    match args.output {
        TextOrJson::Json => println!("{}", format_json(&environment, false)),
        TextOrJson::Text => println!(
            "Deleted environment {} from the Pact Broker",
            text_at(&environment, &["name"])
        ),
    }
    Ok(())
}

pub async fn list(args: ListEnvironmentsArgs) -> anyhow::Result<()> {
    let client = args.broker.client()?;
    let body = environments(&client).await?;
    match args.output {
        TableOrJson::Json => println!("{}", format_json(&body, false)),
        TableOrJson::Table => {
            let rows: Vec<Vec<String>> = body["_embedded"]["environments"]
                .as_array()
                .map(|items| {
                    items
                        .iter()
                        .map(|e| {
                            vec![
                                text_at(e, &["uuid"]).to_owned(),
                                text_at(e, &["name"]).to_owned(),
                                text_at(e, &["displayName"]).to_owned(),
                                e["production"].as_bool().unwrap_or(false).to_string(),
                            ]
                        })
                        .collect()
                })
                .unwrap_or_default();
            println!(
                "{}",
                format_table(&["UUID", "NAME", "DISPLAY NAME", "PRODUCTION"], &rows)
            );
        }
    }
    Ok(())
}

/// `GET pb:environments`.
pub async fn environments(client: &treaty_client::BrokerClient) -> anyhow::Result<Value> {
    let index = client.index().await?;
    let url = client.relation_url(&index, "pb:environments", &[])?;
    client
        .get(&url)
        .await
        .context("cannot list the environments")
}

/// The environment with this name, or an error that lists the ones there are.
pub async fn environment_named(
    client: &treaty_client::BrokerClient,
    name: &str,
) -> anyhow::Result<Value> {
    let body = environments(client).await?;
    let all = body["_embedded"]["environments"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    match all.iter().find(|e| e["name"] == name) {
        Some(environment) => Ok(environment.clone()),
        None => {
            let names: Vec<&str> = all.iter().map(|e| text_at(e, &["name"])).collect();
            bail!(
                "No environment found with name '{name}'. Environments that exist: {}",
                if names.is_empty() {
                    "none".to_owned()
                } else {
                    names.join(", ")
                }
            )
        }
    }
}
