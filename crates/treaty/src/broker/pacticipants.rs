//! `create-or-update-pacticipant`, `describe-pacticipant` and
//! `list-pacticipants`.

use anyhow::{Context, bail};
use clap::Args;
use serde_json::{Map, Value};

use super::options::BrokerOptions;
use super::output::{DescribeOutput, TableOrJson, TextOrJson, format_json, format_table, text_at};

#[derive(Debug, Args)]
pub struct CreateOrUpdatePacticipantArgs {
    #[command(flatten)]
    pub broker: BrokerOptions,

    /// Pacticipant name
    #[arg(long, value_name = "NAME")]
    pub name: String,

    /// Display name
    #[arg(long, value_name = "DISPLAY_NAME")]
    pub display_name: Option<String>,

    /// The main development branch of the pacticipant repository
    #[arg(long, value_name = "MAIN_BRANCH")]
    pub main_branch: Option<String>,

    /// The repository URL of the pacticipant
    #[arg(long, value_name = "REPOSITORY_URL")]
    pub repository_url: Option<String>,

    /// Output format
    #[arg(short = 'o', long, value_enum, default_value_t = TextOrJson::Text)]
    pub output: TextOrJson,
}

#[derive(Debug, Args)]
pub struct DescribePacticipantArgs {
    #[command(flatten)]
    pub broker: BrokerOptions,

    /// Pacticipant name
    #[arg(long, value_name = "NAME")]
    pub name: String,

    /// Output format
    #[arg(short = 'o', long, value_enum, default_value_t = DescribeOutput::Text)]
    pub output: DescribeOutput,
}

#[derive(Debug, Args)]
pub struct ListPacticipantsArgs {
    #[command(flatten)]
    pub broker: BrokerOptions,

    /// Output format
    #[arg(short = 'o', long, value_enum, default_value_t = TableOrJson::Table)]
    pub output: TableOrJson,
}

/// PATCH on `pb:pacticipant` creates the pacticipant when it is missing
/// (201) and merges the given fields into it otherwise (200), so fields that
/// are not given keep their values.
pub async fn create_or_update(args: CreateOrUpdatePacticipantArgs) -> anyhow::Result<()> {
    let client = args.broker.client()?;
    let index = client.index().await?;
    let url = client.relation_url(&index, "pb:pacticipant", &[("pacticipant", &args.name)])?;
    let body = pacticipant_fields(&args);
    let response = match client.patch_json(&url, &body).await {
        // A broker whose PATCH cannot create: create through the collection.
        Err(error) if error.is_not_found() => {
            let collection = client.relation_url(&index, "pb:pacticipants", &[])?;
            client.post_json(&collection, &body).await
        }
        other => other,
    }
    .with_context(|| format!("cannot create or update the pacticipant {:?}", args.name))?;
    match args.output {
        TextOrJson::Json => println!("{}", format_json(&response.body, false)),
        TextOrJson::Text => {
            let outcome = if response.status == 201 {
                "created"
            } else {
                "updated"
            };
            println!("Pacticipant {:?} {outcome}", args.name);
        }
    }
    Ok(())
}

fn pacticipant_fields(args: &CreateOrUpdatePacticipantArgs) -> Value {
    let mut fields = Map::new();
    fields.insert("name".into(), Value::from(args.name.as_str()));
    let optional = [
        ("displayName", &args.display_name),
        ("mainBranch", &args.main_branch),
        ("repositoryUrl", &args.repository_url),
    ];
    for (key, value) in optional {
        if let Some(value) = value {
            fields.insert(key.into(), Value::from(value.as_str()));
        }
    }
    Value::Object(fields)
}

pub async fn describe(args: DescribePacticipantArgs) -> anyhow::Result<()> {
    let client = args.broker.client()?;
    let index = client.index().await?;
    let url = client.relation_url(&index, "pb:pacticipant", &[("pacticipant", &args.name)])?;
    let Some(pacticipant) = client.get_if_exists(&url).await? else {
        bail!("Pacticipant {:?} not found", args.name);
    };
    println!("{}", describe_output(&pacticipant, args.output));
    Ok(())
}

/// The fields shown for a pacticipant, with their labels in text output
/// ("Main Branch: main", as the official client prints) and in tables.
const PACTICIPANT_FIELDS: [(&str, &str, &str); 6] = [
    ("Name", "NAME", "name"),
    ("Display Name", "DISPLAY NAME", "displayName"),
    ("Main Branch", "MAIN BRANCH", "mainBranch"),
    ("Repo URL", "REPO URL", "repositoryUrl"),
    ("Created", "CREATED", "createdAt"),
    ("Updated", "UPDATED", "updatedAt"),
];

fn describe_output(pacticipant: &Value, output: DescribeOutput) -> String {
    match output {
        DescribeOutput::Json => format_json(pacticipant, false),
        DescribeOutput::Text => PACTICIPANT_FIELDS
            .iter()
            .map(|(label, _, key)| {
                let value = text_at(pacticipant, &[key]);
                format!("{label}: {}", if value.is_empty() { "-" } else { value })
            })
            .collect::<Vec<_>>()
            .join("\n"),
        DescribeOutput::Table => {
            let headers: Vec<&str> = PACTICIPANT_FIELDS
                .iter()
                .map(|(_, header, _)| *header)
                .collect();
            let row = PACTICIPANT_FIELDS
                .iter()
                .map(|(_, _, key)| text_at(pacticipant, &[key]).to_owned())
                .collect();
            format_table(&headers, &[row])
        }
    }
}

pub async fn list(args: ListPacticipantsArgs) -> anyhow::Result<()> {
    let client = args.broker.client()?;
    let index = client.index().await?;
    let url = client.relation_url(&index, "pb:pacticipants", &[])?;
    let body = client.get(&url).await?;
    let output = match args.output {
        TableOrJson::Json => format_json(&body, false),
        TableOrJson::Table => pacticipants_table(&body),
    };
    println!("{output}");
    Ok(())
}

fn pacticipants_table(body: &Value) -> String {
    // `_embedded.pacticipants` is the current shape; the top-level
    // `pacticipants` is its deprecated copy, all some brokers send.
    let items = body
        .get("_embedded")
        .and_then(|embedded| embedded.get("pacticipants"))
        .or_else(|| body.get("pacticipants"))
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|pacticipant| {
            ["name", "displayName", "createdAt"]
                .iter()
                .map(|key| text_at(pacticipant, &[key]).to_owned())
                .collect()
        })
        .collect();
    format_table(&["NAME", "DISPLAY NAME", "CREATED AT"], &rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn foo() -> Value {
        json!({"name": "Foo", "displayName": "Foo", "mainBranch": "main", "createdAt": "2021-09-01T00:07:21+00:00",
               "_links": {"self": {"href": "http://b/pacticipants/Foo"}}})
    }

    #[test]
    fn text_description_has_a_line_per_field_with_dashes_for_blanks() {
        assert_eq!(
            describe_output(&foo(), DescribeOutput::Text),
            "Name: Foo\nDisplay Name: Foo\nMain Branch: main\nRepo URL: -\nCreated: 2021-09-01T00:07:21+00:00\nUpdated: -"
        );
    }

    #[test]
    fn table_description_is_one_row() {
        let table = describe_output(&foo(), DescribeOutput::Table);
        let lines: Vec<_> = table.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(
            lines[0].starts_with("NAME | DISPLAY NAME | MAIN BRANCH | REPO URL | CREATED"),
            "{table}"
        );
        assert!(
            lines[2].starts_with("Foo  | Foo          | main        |"),
            "{table}"
        );
    }

    #[test]
    fn the_list_reads_embedded_or_deprecated_pacticipants() {
        let embedded = json!({"_embedded": {"pacticipants": [foo()]}, "pacticipants": []});
        assert!(
            pacticipants_table(&embedded)
                .contains("Foo  | Foo          | 2021-09-01T00:07:21+00:00")
        );
        let deprecated = json!({"pacticipants": [{"name": "Condor", "displayName": "Condor"}]});
        assert_eq!(
            pacticipants_table(&deprecated).lines().nth(2),
            Some("Condor | Condor")
        );
        assert_eq!(pacticipants_table(&json!({})).lines().count(), 2);
    }

    #[test]
    fn only_given_fields_are_sent() {
        let args = CreateOrUpdatePacticipantArgs {
            broker: crate::broker::tests::broker_options(),
            name: "Foo".into(),
            display_name: None,
            main_branch: Some("trunk".into()),
            repository_url: Some("https://git/foo".into()),
            output: TextOrJson::Text,
        };
        assert_eq!(
            pacticipant_fields(&args),
            json!({"name": "Foo", "mainBranch": "trunk", "repositoryUrl": "https://git/foo"})
        );
    }
}
