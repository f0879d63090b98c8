//! `can-i-deploy`: asks the broker's matrix whether versions can be deployed
//! together (or to an environment), prints the answer and why, and exits 0
//! for yes, 1 for no or unknown.

use std::ffi::OsString;
use std::time::Duration;

use clap::Args;
use serde_json::Value;

use super::options::BrokerOptions;
use super::output::{Colours, TableOrJson, format_json, format_notices, format_table, text_at};

#[derive(Debug, Args)]
pub struct CanIDeployArgs {
    #[command(flatten)]
    pub broker: BrokerOptions,
    /// The pacticipant name. Use once for each pacticipant being checked. The following
    /// --version, --latest, --branch and --main-branch apply to the pacticipant before them.
    #[arg(short = 'a', long, required = true)]
    pub pacticipant: Vec<String>,
    /// The pacticipant version (applies to the preceding --pacticipant)
    #[arg(short = 'e', long)]
    pub version: Vec<String>,
    /// Use the latest pacticipant version, optionally the latest with a TAG (applies to the preceding --pacticipant)
    #[arg(short = 'l', long, num_args = 0..=1, default_missing_value = "")]
    pub latest: Vec<String>,
    /// The latest version from a branch (applies to the preceding --pacticipant)
    #[arg(long)]
    pub branch: Vec<String>,
    /// The latest version from the main branch (applies to the preceding --pacticipant)
    #[arg(long, action = clap::ArgAction::Count)]
    pub main_branch: u8,
    /// A pacticipant to ignore; use once for each (a following --version ignores only that version)
    #[arg(long)]
    pub ignore: Vec<String>,
    /// The environment into which the pacticipant(s) are to be deployed (Treaty: repeat it to check several environments)
    #[arg(long)]
    pub to_environment: Vec<String>,
    /// The tag that represents the branch or environment of the integrated applications
    #[arg(long)]
    pub to: Option<String>,
    /// The number of times to retry while there is an unknown verification result
    #[arg(long, default_value_t = 0)]
    pub retry_while_unknown: u32,
    /// The time between retries in seconds
    #[arg(long, default_value_t = 10)]
    pub retry_interval: u64,
    /// Dry run: always exit 0, and say what the answer would have been
    #[arg(long, env = "PACT_BROKER_CAN_I_DEPLOY_DRY_RUN")]
    pub dry_run: bool,
    /// Output format
    #[arg(short = 'o', long, value_enum, default_value_t = TableOrJson::Table)]
    pub output: TableOrJson,
}

/// One `--pacticipant` (or `--ignore`) with the flags that follow it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selector {
    pub pacticipant: String,
    pub version: Option<String>,
    /// `Some("")`: the latest; `Some(tag)`: the latest with the tag.
    pub latest: Option<String>,
    pub branch: Option<String>,
    pub main_branch: bool,
    pub ignore: bool,
}

/// Pairs each modifier with the `--pacticipant`/`--ignore` before it, from the
/// order of the command line (clap keeps each flag's values, not their order).
pub fn selectors_from(args: &[OsString]) -> Vec<Selector> {
    let args: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let mut selectors: Vec<Selector> = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_str();
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag, Some(value.to_owned())),
            _ => (arg, None),
        };
        let mut value = || -> Option<String> {
            if inline.is_some() {
                return inline.clone();
            }
            let next = args.get(i + 1)?;
            if next.starts_with('-') && next.len() > 1 {
                return None;
            }
            i += 1;
            Some(next.clone())
        };
        match flag {
            "-a" | "--pacticipant" => {
                if let Some(name) = value() {
                    selectors.push(Selector {
                        pacticipant: name,
                        ..Selector::default()
                    });
                }
            }
            "--ignore" => {
                if let Some(name) = value() {
                    selectors.push(Selector {
                        pacticipant: name,
                        ignore: true,
                        ..Selector::default()
                    });
                }
            }
            "-e" | "--version" => {
                let version = value();
                if let Some(last) = selectors.last_mut() {
                    last.version = version;
                }
            }
            "-l" | "--latest" => {
                let tag = value().unwrap_or_default();
                if let Some(last) = selectors.last_mut() {
                    last.latest = Some(tag);
                }
            }
            "--branch" => {
                let branch = value();
                if let Some(last) = selectors.last_mut() {
                    last.branch = branch;
                }
            }
            "--main-branch" => {
                if let Some(last) = selectors.last_mut() {
                    last.main_branch = true;
                }
            }
            _ => {}
        }
        i += 1;
    }
    selectors
}

/// The `/matrix` query string, in the order the Rust `pact broker` client sends it.
pub fn matrix_query(
    selectors: &[Selector],
    to_environment: Option<&str>,
    to: Option<&str>,
) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    let chosen: Vec<&Selector> = selectors.iter().filter(|s| !s.ignore).collect();
    for s in &chosen {
        query.append_pair("q[][pacticipant]", &s.pacticipant);
        if let Some(version) = &s.version {
            query.append_pair("q[][version]", version);
        }
        if let Some(branch) = &s.branch {
            query.append_pair("q[][branch]", branch);
            query.append_pair("q[][latest]", "true");
        } else if s.main_branch {
            query.append_pair("q[][mainBranch]", "true");
            query.append_pair("q[][latest]", "true");
        } else if let Some(tag) = &s.latest {
            query.append_pair("q[][latest]", "true");
            if !tag.is_empty() {
                query.append_pair("q[][tag]", tag);
            }
        }
    }
    let latest_by = if to_environment.is_some() || chosen.len() > 1 {
        "cvpv"
    } else {
        "cvp"
    };
    query.append_pair("latestby", latest_by);
    if let Some(environment) = to_environment {
        query.append_pair("environment", environment);
    } else if let Some(tag) = to {
        query.append_pair("latest", "true");
        query.append_pair("tag", tag);
    } else if chosen.len() == 1 {
        query.append_pair("latest", "true");
    }
    for s in selectors.iter().filter(|s| s.ignore) {
        query.append_pair("ignore[][pacticipant]", &s.pacticipant);
        if let Some(version) = &s.version {
            query.append_pair("ignore[][version]", version);
        }
    }
    query.finish()
}

fn verdict_line(deployable: &Value, colours: Colours) -> String {
    use treaty_client::Severity;
    match deployable.as_bool() {
        Some(true) => colours.paint(Severity::Success, "Computer says yes \\o/"),
        Some(false) => colours.paint(Severity::Error, "Computer says no ¯\\_(ツ)_/¯"),
        None => colours.paint(Severity::Warning, "Computer says no ¯\\_(ツ)_/¯ (the answer is unknown: some verification results are missing)"),
    }
}

fn rows_table(body: &Value) -> String {
    let rows: Vec<Vec<String>> = body["matrix"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .map(|row| {
                    let success = match row["verificationResult"]["success"].as_bool() {
                        Some(true) => "true",
                        Some(false) => "false",
                        None => "???",
                    };
                    let number = row["verificationResult"]["_links"]["self"]["href"]
                        .as_str()
                        .and_then(|href| href.rsplit('/').next())
                        .unwrap_or("")
                        .to_owned();
                    vec![
                        text_at(row, &["consumer", "name"]).to_owned(),
                        text_at(row, &["consumer", "version", "number"]).to_owned(),
                        text_at(row, &["provider", "name"]).to_owned(),
                        text_at(row, &["provider", "version", "number"]).to_owned(),
                        success.to_owned(),
                        number,
                    ]
                })
                .collect()
        })
        .unwrap_or_default();
    if rows.is_empty() {
        return String::new();
    }
    format_table(
        &[
            "CONSUMER",
            "C.VERSION",
            "PROVIDER",
            "P.VERSION",
            "SUCCESS?",
            "RESULT#",
        ],
        &rows,
    )
}

fn human(body: &Value, colours: Colours) -> String {
    let mut out = String::new();
    let table = rows_table(body);
    if !table.is_empty() {
        out.push_str(&table);
        out.push_str("\n\n");
    }
    out.push_str(&verdict_line(&body["summary"]["deployable"], colours));
    let notices = treaty_client::notices_of(body);
    if notices.is_empty() {
        out.push('\n');
        out.push_str(text_at(body, &["summary", "reason"]));
    } else {
        out.push('\n');
        out.push_str(&format_notices(&notices, colours));
    }
    out
}

/// Runs the command; the exit code is 0 for yes (or a dry run), 1 otherwise.
pub async fn run(args: CanIDeployArgs) -> anyhow::Result<i32> {
    run_with(args, &std::env::args_os().collect::<Vec<_>>()).await
}

pub async fn run_with(args: CanIDeployArgs, argv: &[OsString]) -> anyhow::Result<i32> {
    let client = args.broker.client()?;
    let selectors = selectors_from(argv);
    let colours = Colours::for_stdout();
    let chosen: Vec<&Selector> = selectors.iter().filter(|s| !s.ignore).collect();

    // Several environments at once (Treaty's addition): one verdict each.
    if args.to_environment.len() > 1 {
        let Some(selector) = chosen.first().filter(|_| chosen.len() == 1) else {
            anyhow::bail!(
                "checking several environments at once takes one --pacticipant with its --version"
            );
        };
        let Some(version) = &selector.version else {
            anyhow::bail!("checking several environments at once needs --version");
        };
        let mut url = client.resolve_href("/can-i-deploy/environments")?;
        url.query_pairs_mut()
            .append_pair("pacticipant", &selector.pacticipant)
            .append_pair("version", version);
        for environment in &args.to_environment {
            url.query_pairs_mut()
                .append_pair("environment", environment);
        }
        let body = client.get(&url).await?;
        match args.output {
            TableOrJson::Json => println!("{}", format_json(&body, false)),
            TableOrJson::Table => {
                for environment in body["environments"].as_array().cloned().unwrap_or_default() {
                    println!("== {}", text_at(&environment, &["name"]));
                    println!("{}\n", human(&environment, colours));
                }
            }
        }
        return Ok(exit_code(&body["deployable"], args.dry_run));
    }

    let query = matrix_query(
        &selectors,
        args.to_environment.first().map(String::as_str),
        args.to.as_deref(),
    );
    let mut url = client.resolve_href("/matrix")?;
    url.set_query(Some(&query));
    let mut retries = args.retry_while_unknown;
    let body = loop {
        let body = client.get(&url).await?;
        let unknown = body["summary"]["unknown"].as_u64().unwrap_or(0);
        if unknown == 0 || retries == 0 {
            break body;
        }
        eprintln!(
            "Waiting for {unknown} verification result(s) to be published (retries left: {retries})"
        );
        tokio::time::sleep(Duration::from_secs(args.retry_interval)).await;
        retries -= 1;
    };
    match args.output {
        TableOrJson::Json => println!("{}", format_json(&body, false)),
        TableOrJson::Table => println!("{}", human(&body, colours)),
    }
    if args.dry_run && body["summary"]["deployable"].as_bool() != Some(true) {
        eprintln!("Dry run: exiting 0, although the answer above is not yes.");
    }
    Ok(exit_code(&body["summary"]["deployable"], args.dry_run))
}

fn exit_code(deployable: &Value, dry_run: bool) -> i32 {
    if dry_run || deployable.as_bool() == Some(true) {
        0
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(line: &str) -> Vec<OsString> {
        line.split_whitespace().map(OsString::from).collect()
    }

    #[test]
    fn modifiers_belong_to_the_pacticipant_before_them() {
        let selectors = selectors_from(&argv(
            "treaty can-i-deploy -a Foo -e 1 --pacticipant Bar --latest main --ignore Baz -e 9 -a Qux --main-branch",
        ));
        assert_eq!(selectors.len(), 4);
        assert_eq!(
            (
                selectors[0].pacticipant.as_str(),
                selectors[0].version.as_deref()
            ),
            ("Foo", Some("1"))
        );
        assert_eq!(selectors[1].latest.as_deref(), Some("main"));
        assert!(selectors[2].ignore && selectors[2].version.as_deref() == Some("9"));
        assert!(selectors[3].main_branch);
    }

    #[test]
    fn builds_the_query_the_rust_client_sends() {
        let selectors = selectors_from(&argv("x -a Foo -e 1.0.0"));
        assert_eq!(
            matrix_query(&selectors, Some("test"), None),
            "q%5B%5D%5Bpacticipant%5D=Foo&q%5B%5D%5Bversion%5D=1.0.0&latestby=cvpv&environment=test"
        );
        let two = selectors_from(&argv("x -a Foo -e 1 -a Bar --latest main --ignore Baz"));
        let query = matrix_query(&two, None, None);
        let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        assert_eq!(
            pairs,
            [
                ("q[][pacticipant]", "Foo"),
                ("q[][version]", "1"),
                ("q[][pacticipant]", "Bar"),
                ("q[][latest]", "true"),
                ("q[][tag]", "main"),
                ("latestby", "cvpv"),
                ("ignore[][pacticipant]", "Baz"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
        let to_tag = matrix_query(&selectors_from(&argv("x -a Foo -e 1")), None, Some("prod"));
        assert!(
            to_tag.ends_with("latestby=cvp&latest=true&tag=prod"),
            "{to_tag}"
        );
    }

    #[test]
    fn exit_codes() {
        assert_eq!(exit_code(&Value::Bool(true), false), 0);
        assert_eq!(exit_code(&Value::Bool(false), false), 1);
        assert_eq!(exit_code(&Value::Null, false), 1);
        assert_eq!(exit_code(&Value::Bool(false), true), 0);
    }
}
