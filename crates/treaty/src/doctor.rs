//! `treaty doctor`: reads the database and reports what an older Treaty (or
//! an import) let in that today's rules refuse: names that hide characters
//! (bidirectional controls, zero-width spaces), start or end with
//! whitespace, are `.` or `..`, are not composed (NFC), or mix lookalike
//! scripts. They stay readable; a write that names them is refused, so a
//! team learns here, not from a failing pipeline, which ones to replace.

use clap::{Args, ValueEnum};
use serde_json::{Value, json};
use treaty_domain::{
    BranchName, EnvironmentName, LabelName, NameError, PacticipantName, TagName, VersionNumber,
};
use treaty_store::{NameKind, Store, StoredName, redact_url};

use crate::server::DatabaseArgs;

/// Names read per query: bounded memory however large the database.
const PAGE: u32 = 5_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    /// Output format
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Text)]
    output: Output,
}

/// One stored name that today's rules would refuse, and why.
struct Finding {
    name: StoredName,
    problem: NameError,
}

fn problem(stored: &StoredName) -> Option<NameError> {
    let name = stored.name.as_str();
    match stored.kind {
        NameKind::Pacticipant => PacticipantName::breaks_rules(name),
        NameKind::Version => VersionNumber::breaks_rules(name),
        NameKind::Branch => BranchName::breaks_rules(name),
        NameKind::Tag => TagName::breaks_rules(name),
        NameKind::Label => LabelName::breaks_rules(name),
        NameKind::Environment => EnvironmentName::breaks_rules(name),
    }
}

fn kind_word(kind: NameKind) -> &'static str {
    match kind {
        NameKind::Pacticipant => "pacticipant",
        NameKind::Version => "version",
        NameKind::Branch => "branch",
        NameKind::Tag => "tag",
        NameKind::Label => "label",
        NameKind::Environment => "environment",
    }
}

/// Every stored name, checked; the ones that break a rule.
async fn examine(store: &dyn Store) -> treaty_store::StoreResult<(u64, Vec<Finding>)> {
    let mut checked = 0;
    let mut findings = Vec::new();
    for kind in NameKind::ALL {
        let mut after: Option<StoredName> = None;
        loop {
            let page = store.stored_names(kind, after.as_ref(), PAGE).await?;
            checked += page.len() as u64;
            let full = page.len() == PAGE as usize;
            for stored in &page {
                if let Some(problem) = self::problem(stored) {
                    findings.push(Finding {
                        name: stored.clone(),
                        problem,
                    });
                }
            }
            after = page.into_iter().last();
            if !full {
                break;
            }
        }
    }
    Ok((checked, findings))
}

/// `version "1\u{202e}0" of pacticipant Foo`: escaped, so a bidirectional
/// control in a name cannot rearrange the report on the terminal.
fn describe(name: &StoredName) -> String {
    let what = format!("{} {:?}", kind_word(name.kind), name.name);
    match &name.pacticipant {
        Some(owner) => format!("{what} of pacticipant {owner:?}"),
        None => what,
    }
}

fn to_json(checked: u64, findings: &[Finding]) -> Value {
    json!({
        "checked": checked,
        "breaking": findings.iter().map(|f| json!({
            "kind": kind_word(f.name.kind),
            "pacticipant": f.name.pacticipant,
            "name": f.name.name,
            "problem": f.problem.to_string(),
        })).collect::<Vec<_>>(),
    })
}

/// Exit 0 when every stored name follows the rules for new names, 1 when
/// some do not (listed) or the database cannot be read.
pub async fn doctor(args: DoctorArgs) -> i32 {
    let url = &args.database.database_url;
    let Some(store) = args.database.open_or_say_why().await else {
        return 1;
    };
    let (checked, findings) = match examine(store.as_ref()).await {
        Ok(found) => found,
        Err(error) => {
            eprintln!(
                "error: cannot read the names in {}: {error}",
                redact_url(url)
            );
            return 1;
        }
    };
    match args.output {
        Output::Json => println!("{}", to_json(checked, &findings)),
        Output::Text if findings.is_empty() => {
            println!("Checked {checked} stored names: all follow the rules for new names.");
        }
        Output::Text => {
            println!(
                "{} of {checked} stored names break the rules for new names. They stay readable, but writes that name them are refused: create the corrected name and move to it.",
                findings.len()
            );
            for finding in &findings {
                println!("  {}: {}", describe(&finding.name), finding.problem);
            }
        }
    }
    i32::from(!findings.is_empty())
}
