//! `list-latest-pact-versions`: the latest pact of every integration.

use clap::Args;
use serde_json::Value;

use super::options::BrokerOptions;
use super::output::{TableOrJson, format_json, format_table, text_at};

#[derive(Debug, Args)]
pub struct ListLatestPactVersionsArgs {
    #[command(flatten)]
    pub broker: BrokerOptions,

    /// Output format
    #[arg(short = 'o', long, value_enum, default_value_t = TableOrJson::Table)]
    pub output: TableOrJson,
}

pub async fn list_latest(args: ListLatestPactVersionsArgs) -> anyhow::Result<()> {
    let client = args.broker.client()?;
    let index = client.index().await?;
    let url = client.relation_url(&index, "pb:latest-pact-versions", &[])?;
    let body = client.get(&url).await?;
    let output = match args.output {
        TableOrJson::Json => format_json(&body, false),
        TableOrJson::Table => latest_pacts_table(&body),
    };
    println!("{output}");
    Ok(())
}

fn latest_pacts_table(body: &Value) -> String {
    let pacts = body
        .get("pacts")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let rows: Vec<Vec<String>> = pacts
        .iter()
        .map(|pact| {
            [
                &["_embedded", "consumer", "name"][..],
                &["_embedded", "consumer", "_embedded", "version", "number"],
                &["_embedded", "provider", "name"],
                &["createdAt"],
            ]
            .iter()
            .map(|path| text_at(pact, path).to_owned())
            .collect()
        })
        .collect();
    format_table(
        &["CONSUMER", "CONSUMER VERSION", "PROVIDER", "CREATED AT"],
        &rows,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn one_row_per_integration() {
        let body = json!({"pacts": [{
            "createdAt": "2021-09-01T00:07:21+00:00",
            "_embedded": {
                "consumer": {"name": "Condor", "_embedded": {"version": {"number": "1.3.0"}}},
                "provider": {"name": "Pricing Service"}
            }
        }]});
        assert_eq!(
            latest_pacts_table(&body),
            "CONSUMER | CONSUMER VERSION | PROVIDER        | CREATED AT\n\
             ---------|------------------|-----------------|--------------------------\n\
             Condor   | 1.3.0            | Pricing Service | 2021-09-01T00:07:21+00:00"
        );
    }

    #[test]
    fn no_pacts_is_an_empty_table() {
        assert_eq!(latest_pacts_table(&json!({"pacts": []})).lines().count(), 2);
    }
}
