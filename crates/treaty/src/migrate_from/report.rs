//! What a run did: counts by kind, what it could not copy (by name, with
//! why), what needs a person (webhook secrets), as text or one JSON document.

use std::collections::BTreeMap;

use serde::Serialize;

/// The kinds copied, in the order they are copied and reported.
pub const KINDS: [&str; 9] = [
    "environments",
    "pacticipants",
    "versions",
    "branch heads",
    "pacts",
    "verification results",
    "deployments",
    "releases",
    "webhooks",
];

#[derive(Debug, Default, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Count {
    /// Copied in this run (with `--dry-run`: that would be).
    pub copied: u64,
    /// Already here from an earlier run, unchanged at the source.
    pub unchanged: u64,
}

/// Something the source has that this run could not copy.
#[derive(Debug, Clone, Serialize)]
pub struct Gap {
    pub what: String,
    pub why: String,
}

/// A webhook copied without some of its secrets.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookNote {
    pub uuid: String,
    pub description: Option<String>,
    pub enabled_at_source: bool,
    pub secrets_to_reenter: Vec<String>,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub source: String,
    pub dry_run: bool,
    pub counts: BTreeMap<&'static str, Count>,
    pub gaps: Vec<Gap>,
    pub notes: Vec<String>,
    pub webhooks: Vec<WebhookNote>,
    /// Verification results whose number was taken here: they have another.
    pub renumbered_verification_results: u64,
    pub requests: u64,
    pub seconds: f64,
}

impl Report {
    pub fn copied(&mut self, kind: &'static str, n: u64) {
        self.counts.entry(kind).or_default().copied += n;
    }

    pub fn unchanged(&mut self, kind: &'static str, n: u64) {
        self.counts.entry(kind).or_default().unchanged += n;
    }

    pub fn gap(&mut self, what: impl Into<String>, why: impl Into<String>) {
        self.gaps.push(Gap {
            what: what.into(),
            why: why.into(),
        });
    }

    pub fn copied_rows(&self) -> u64 {
        self.counts.values().map(|c| c.copied).sum()
    }

    /// The summary for a person.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let verb = if self.dry_run { "Would copy" } else { "Copied" };
        out.push_str(&format!("{verb} from {}:\n", self.source));
        for kind in KINDS {
            let count = self.counts.get(kind).copied().unwrap_or_default();
            out.push_str(&format!(
                "  {kind:<22} {:>8} {}, {:>8} already here\n",
                count.copied,
                if self.dry_run { "to copy" } else { "copied" },
                count.unchanged
            ));
        }
        let rate = if self.seconds > 0.0 {
            self.copied_rows() as f64 / self.seconds
        } else {
            0.0
        };
        out.push_str(&format!(
            "  {} requests to the source in {:.1}s ({rate:.0} records a second)\n",
            self.requests, self.seconds
        ));
        if self.renumbered_verification_results > 0 {
            out.push_str(&format!(
                "  {} verification results got a new number: theirs was taken here\n",
                self.renumbered_verification_results
            ));
        }
        for note in &self.notes {
            out.push_str(&format!("Note: {note}\n"));
        }
        if !self.webhooks.is_empty() {
            out.push_str(&format!(
                "{} webhooks were copied disabled (enable each once the switch is done); these need secrets the source did not show:\n",
                self.counts.get("webhooks").map_or(0, |c| c.copied + c.unchanged)
            ));
            for webhook in &self.webhooks {
                out.push_str(&format!(
                    "  {} {}{}: give {} again (treaty webhook list shows what is missing)\n",
                    webhook.uuid,
                    webhook.description.as_deref().unwrap_or("(no description)"),
                    if webhook.enabled_at_source {
                        ", enabled at the source"
                    } else {
                        ""
                    },
                    webhook.secrets_to_reenter.join(", ")
                ));
            }
        }
        if self.gaps.is_empty() {
            out.push_str("Nothing was left behind.\n");
        } else {
            out.push_str(&format!(
                "{} could not be copied (run again to retry them):\n",
                self.gaps.len()
            ));
            for gap in &self.gaps {
                out.push_str(&format!("  {}: {}\n", gap.what, gap.why));
            }
        }
        out
    }
}
