//! `create-version-tag`: tag a pacticipant version through
//! `pb:pacticipant-version-tag`.

use anyhow::{Context, bail};
use clap::Args;
use clap::builder::NonEmptyStringValueParser;
use serde_json::json;

use super::git;
use super::options::BrokerOptions;

#[derive(Debug, Args)]
pub struct CreateVersionTagArgs {
    #[command(flatten)]
    pub broker: BrokerOptions,

    /// The pacticipant name
    #[arg(short = 'a', long, value_name = "PACTICIPANT")]
    pub pacticipant: String,

    /// The pacticipant version
    #[arg(short = 'e', long, value_name = "VERSION")]
    pub version: String,

    /// Tag name for pacticipant version. Can be specified multiple times
    #[arg(
        short = 't',
        long = "tag",
        value_name = "TAG",
        num_args = 1..,
        value_delimiter = ',',
        value_parser = NonEmptyStringValueParser::new(),
        required_unless_present = "tag_with_git_branch"
    )]
    pub tags: Vec<String>,

    /// Automatically create the pacticipant version if it does not exist
    #[arg(long)]
    pub auto_create_version: bool,

    /// Tag pacticipant version with the name of the current git branch
    #[arg(short = 'g', long)]
    pub tag_with_git_branch: bool,
}

pub async fn create(args: CreateVersionTagArgs) -> anyhow::Result<()> {
    let mut tags = args.tags.clone();
    if args.tag_with_git_branch {
        let Some(branch) = git::current_branch(&git::current_environment()).await else {
            bail!("--tag-with-git-branch: cannot find the current git branch");
        };
        tags.push(branch);
    }
    let tags = unique(tags);

    let client = args.broker.client()?;
    let index = client.index().await?;
    let pacticipant = args.pacticipant.as_str();
    let version = args.version.as_str();

    // Tagging creates a missing version as a side effect; without
    // --auto-create-version a typo in the version must not do that.
    if !args.auto_create_version {
        let version_url = client.relation_url(
            &index,
            "pb:pacticipant-version",
            &[("pacticipant", pacticipant), ("version", version)],
        )?;
        if client.get_if_exists(&version_url).await?.is_none() {
            bail!(
                "Version {version} of pacticipant {pacticipant} does not exist. \
                 Use --auto-create-version to create it."
            );
        }
    }

    for tag in &tags {
        let url = client.relation_url(
            &index,
            "pb:pacticipant-version-tag",
            &[
                ("pacticipant", pacticipant),
                ("version", version),
                ("tag", tag),
            ],
        )?;
        client.put_json(&url, &json!({})).await.with_context(|| {
            format!("cannot tag {pacticipant} version {version} with tag {tag}")
        })?;
        println!("{}", tagged_message(pacticipant, version, tag));
    }
    Ok(())
}

fn tagged_message(pacticipant: &str, version: &str, tag: &str) -> String {
    format!("Tagged {pacticipant} version {version} with tag {tag}")
}

/// Tags in the order given, each once (a tag may come from both `--tag` and
/// the git branch).
pub(super) fn unique(tags: Vec<String>) -> Vec<String> {
    let mut kept: Vec<String> = Vec::new();
    for tag in tags {
        if !kept.contains(&tag) {
            kept.push(tag);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_tag() {
        assert_eq!(
            tagged_message("Foo", "1", "prod"),
            "Tagged Foo version 1 with tag prod"
        );
    }

    #[test]
    fn each_tag_is_put_once() {
        assert_eq!(unique(vec!["a".into(), "b".into(), "a".into()]), ["a", "b"]);
    }
}
