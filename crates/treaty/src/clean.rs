//! `treaty clean`: data retention with the Pact Broker's keep selectors.
//!
//! Like `migrate` and `export`, it talks to the database directly, so it runs
//! next to a serving Treaty: it removes versions in batches, each one short
//! write transaction, and pauses between them so that serving writes get
//! their turn. Interrupting it loses nothing but the batch under way, which
//! rolls back whole.

use std::time::Duration;

use clap::{Args, ValueEnum};
use serde_json::{Value, json};
use treaty_domain::retention::{CleanCounts, CleanedVersion, KeepSelector, parse_keep_selectors};
use treaty_store::CleanRequest;

use treaty_store::redact_url;

/// `-o` of `clean`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CleanOutput {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct CleanArgs {
    #[command(flatten)]
    database: crate::server::DatabaseArgs,

    /// Versions to keep: a keep selector of the Pact Broker, as JSON, such as
    /// '{"latest": true, "branch": true}' or '{"maxAge": 90}', or a JSON array
    /// of them. Repeatable; a version is kept when any selector names it.
    /// Default: the Pact Broker's, [{"tag": true, "latest": true}, {"branch":
    /// true, "latest": true}, {"latest": true}, {"deployed": true},
    /// {"released": true}, {"maxAge": 90}]. Versions with deployment history
    /// are always kept.
    #[arg(long = "keep", value_name = "JSON", env = "TREATY_CLEAN_KEEP")]
    keep: Vec<String>,

    /// The most versions removed in one batch (one write transaction).
    #[arg(long, env = "TREATY_CLEAN_BATCH_SIZE", default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    batch_size: u32,

    /// The pause between batches, for example 100ms or 2s.
    #[arg(long, default_value = "200ms", value_parser = humantime::parse_duration)]
    pause: Duration,

    /// List what would be removed, and remove nothing.
    #[arg(long)]
    dry_run: bool,

    /// `text`: a line per version and a summary; `json`: one document.
    #[arg(short = 'o', long, value_enum, default_value_t = CleanOutput::Text)]
    output: CleanOutput,
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn summary(counts: &CleanCounts) -> String {
    format!(
        "{}, {}, {} and {}",
        plural(counts.versions, "version", "versions"),
        plural(counts.pact_publications, "pact", "pacts"),
        plural(
            counts.verifications,
            "verification result",
            "verification results"
        ),
        plural(counts.pact_contents, "pact content", "pact contents"),
    )
}

fn version_line(version: &CleanedVersion) -> String {
    format!(
        "{} {}\tcreated {}\t{}, {}",
        version.pacticipant,
        version.number,
        treaty_domain::time::format(version.created_at),
        plural(version.pact_publications, "pact", "pacts"),
        plural(
            version.verifications,
            "verification result",
            "verification results"
        ),
    )
}

fn version_json(version: &CleanedVersion) -> Value {
    json!({
        "pacticipant": version.pacticipant,
        "version": version.number,
        "createdAt": treaty_domain::time::format(version.created_at),
        "pactPublications": version.pact_publications,
        "verifications": version.verifications,
    })
}

fn counts_json(counts: &CleanCounts) -> Value {
    json!({
        "versions": counts.versions,
        "pactPublications": counts.pact_publications,
        "verifications": counts.verifications,
        "pactContents": counts.pact_contents,
    })
}

pub async fn clean(args: CleanArgs) -> i32 {
    let keep = if args.keep.is_empty() {
        KeepSelector::defaults()
    } else {
        match parse_keep_selectors(&args.keep) {
            Ok(keep) => keep,
            Err(errors) => {
                for error in errors {
                    eprintln!("error: {error}");
                }
                return 1;
            }
        }
    };
    let url = &args.database.database_url;
    let Some(store) = args.database.open_or_say_why().await else {
        return 1;
    };
    let selectors: Vec<String> = keep.iter().map(ToString::to_string).collect();
    let (removes, removed_word) = if args.dry_run {
        ("Would remove", "would remove")
    } else {
        ("Removed", "removed")
    };
    eprintln!(
        "{} {}: keeping {}, and every version with deployment history",
        if args.dry_run {
            "Dry run of a clean of"
        } else {
            "Cleaning"
        },
        redact_url(url),
        selectors.join(", ")
    );

    let mut total = CleanCounts::default();
    let mut listed: Vec<Value> = Vec::new();
    let mut after = 0;
    let mut as_of = None;
    let mut batch = 0;
    loop {
        batch += 1;
        let report = match store
            .clean(&CleanRequest {
                keep: &keep,
                after,
                limit: args.batch_size,
                dry_run: args.dry_run,
                as_of,
            })
            .await
        {
            Ok(report) => report,
            Err(error) => {
                eprintln!("error: cannot clean {}: {error}", redact_url(url));
                if total.versions > 0 && !args.dry_run {
                    eprintln!("Removed before the error: {}.", summary(&total));
                }
                return 1;
            }
        };
        as_of = Some(report.as_of);
        total += report.counts;
        match args.output {
            CleanOutput::Text => {
                for version in &report.removed {
                    println!("{}", version_line(version));
                }
            }
            CleanOutput::Json => listed.extend(report.removed.iter().map(version_json)),
        }
        if report.next_after.is_some() || batch > 1 {
            eprintln!(
                "batch {batch}: {removed_word} {} ({} so far)",
                plural(report.counts.versions, "version", "versions"),
                total.versions
            );
        }
        let Some(next) = report.next_after else { break };
        after = next;
        if !args.dry_run && report.counts.versions > 0 {
            tokio::time::sleep(args.pause).await;
        }
    }

    match args.output {
        CleanOutput::Text => {
            let note = if args.dry_run {
                " (dry run: nothing was removed)"
            } else {
                ""
            };
            println!("{removes} {}{note}.", summary(&total));
        }
        CleanOutput::Json => {
            let document = json!({
                "dryRun": args.dry_run,
                "asOf": as_of.map(treaty_domain::time::format),
                "keep": keep.iter().map(KeepSelector::to_json).collect::<Vec<_>>(),
                "removed": listed,
                "counts": counts_json(&total),
            });
            println!(
                "{}",
                serde_json::to_string_pretty(&document).unwrap_or_else(|_| document.to_string())
            );
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summarises_counts_in_words() {
        assert_eq!(
            summary(&CleanCounts {
                versions: 1,
                pact_publications: 2,
                verifications: 1,
                pact_contents: 0,
            }),
            "1 version, 2 pacts, 1 verification result and 0 pact contents"
        );
    }
}
