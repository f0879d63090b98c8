//! `describe-version`: one pacticipant version, named by number, or the
//! latest one (optionally the latest with a tag).

use anyhow::bail;
use clap::Args;
use serde_json::Value;

use super::options::BrokerOptions;
use super::output::{TableOrJson, format_json, format_table, names_at, text_at};

#[derive(Debug, Args)]
pub struct DescribeVersionArgs {
    #[command(flatten)]
    pub broker: BrokerOptions,

    /// The name of the pacticipant that the version belongs to
    #[arg(short = 'a', long, value_name = "PACTICIPANT")]
    pub pacticipant: String,

    /// The pacticipant version number
    #[arg(short = 'e', long, value_name = "VERSION")]
    pub version: Option<String>,

    /// Describe the latest pacticipant version. Optionally specify a TAG to describe the latest
    /// version with the specified tag
    #[arg(short = 'l', long, value_name = "TAG", num_args = 0..=1, default_missing_value = "")]
    pub latest: Option<String>,

    /// Output format
    #[arg(short = 'o', long, value_enum, default_value_t = TableOrJson::Table)]
    pub output: TableOrJson,
}

/// Which version to describe, in the order the official client decides:
/// a number wins over `--latest`, and no flag at all means the latest.
#[derive(Debug, Clone, PartialEq, Eq)]
enum VersionSelector<'a> {
    Number(&'a str),
    LatestWithTag(&'a str),
    Latest,
}

impl<'a> VersionSelector<'a> {
    fn from_args(args: &'a DescribeVersionArgs) -> VersionSelector<'a> {
        match (&args.version, &args.latest) {
            (Some(number), _) => VersionSelector::Number(number),
            (None, Some(tag)) if !tag.is_empty() => VersionSelector::LatestWithTag(tag),
            _ => VersionSelector::Latest,
        }
    }

    /// The index relation and template values that lead to the version.
    fn relation(&self, pacticipant: &'a str) -> (&'static str, Vec<(&'static str, &'a str)>) {
        match *self {
            VersionSelector::Number(number) => (
                "pb:pacticipant-version",
                vec![("pacticipant", pacticipant), ("version", number)],
            ),
            VersionSelector::LatestWithTag(tag) => (
                "pb:latest-tagged-version",
                vec![("pacticipant", pacticipant), ("tag", tag)],
            ),
            VersionSelector::Latest => ("pb:latest-version", vec![("pacticipant", pacticipant)]),
        }
    }
}

pub async fn describe(args: DescribeVersionArgs) -> anyhow::Result<()> {
    let client = args.broker.client()?;
    let index = client.index().await?;
    let (relation, variables) = VersionSelector::from_args(&args).relation(&args.pacticipant);
    let url = client.relation_url(&index, relation, &variables)?;
    let Some(version) = client.get_if_exists(&url).await? else {
        bail!("Pacticipant version not found");
    };
    let output = match args.output {
        TableOrJson::Json => format_json(&version, false),
        TableOrJson::Table => version_table(&version),
    };
    println!("{output}");
    Ok(())
}

/// NAME and TAGS first, as in the official clients' table, then what a
/// version has gained since: branches and the build URL.
fn version_table(version: &Value) -> String {
    let mut branches = names_at(version, &["_embedded", "branchVersions"]);
    if branches.is_empty() {
        branches = names_at(version, &["_embedded", "branches"]);
    }
    let row = vec![
        text_at(version, &["number"]).to_owned(),
        names_at(version, &["_embedded", "tags"]),
        branches,
        environments(
            version,
            "pb:deployed-environments",
            "currently_deployed",
            "application_instance",
        ),
        environments(
            version,
            "pb:released-environments",
            "currently_supported",
            "",
        ),
        text_at(version, &["buildUrl"]).to_owned(),
    ];
    format_table(
        &[
            "NAME",
            "TAGS",
            "BRANCHES",
            "DEPLOYED TO",
            "RELEASED TO",
            "BUILD URL",
        ],
        &[row],
    )
}

/// The environments a version is currently deployed or released to, from its
/// links: `production, test (blue)`.
fn environments(version: &Value, relation: &str, current: &str, instance: &str) -> String {
    version["_links"][relation]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .filter(|e| e[current].as_bool() == Some(true))
                .map(|e| {
                    let name = text_at(e, &["name"]);
                    match e.get(instance).and_then(Value::as_str) {
                        Some(i) if !instance.is_empty() => format!("{name} ({i})"),
                        _ => name.to_owned(),
                    }
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::tests::broker_options;
    use serde_json::json;

    fn args(version: Option<&str>, latest: Option<&str>) -> DescribeVersionArgs {
        DescribeVersionArgs {
            broker: broker_options(),
            pacticipant: "Foo".into(),
            version: version.map(str::to_owned),
            latest: latest.map(str::to_owned),
            output: TableOrJson::Table,
        }
    }

    #[test]
    fn chooses_the_relation_like_the_official_client() {
        let by_number = args(Some("1.0.0"), Some("prod"));
        assert_eq!(
            VersionSelector::from_args(&by_number).relation("Foo"),
            (
                "pb:pacticipant-version",
                vec![("pacticipant", "Foo"), ("version", "1.0.0")]
            )
        );
        let by_tag = args(None, Some("prod"));
        assert_eq!(
            VersionSelector::from_args(&by_tag).relation("Foo"),
            (
                "pb:latest-tagged-version",
                vec![("pacticipant", "Foo"), ("tag", "prod")]
            )
        );
        for latest in [args(None, Some("")), args(None, None)] {
            assert_eq!(VersionSelector::from_args(&latest), VersionSelector::Latest);
        }
    }

    #[test]
    fn the_table_shows_number_tags_branches_environments_and_build_url() {
        let version = json!({
            "number": "1.0.0", "buildUrl": "http://ci/1",
            "_embedded": {
                "branchVersions": [{"name": "main", "latest": true}],
                "tags": [{"name": "dev"}, {"name": "ci"}]
            },
            "_links": {
                "pb:deployed-environments": [
                    {"name": "Test", "currently_deployed": true, "application_instance": "blue"},
                    {"name": "Old", "currently_deployed": false}
                ],
                "pb:released-environments": [{"name": "Production", "currently_supported": true}]
            }
        });
        let table = version_table(&version);
        let row = table.lines().nth(2).unwrap();
        assert!(row.starts_with("1.0.0 | dev, ci | main "), "{table}");
        assert!(
            row.contains("Test (blue)") && row.contains("Production") && !row.contains("Old"),
            "{table}"
        );
        assert!(row.ends_with("http://ci/1"), "{table}");
    }
}
