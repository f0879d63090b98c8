//! An integration's status as pages show it: the provider's main line
//! decides the colour (`treaty_domain::integration_status`), the other
//! branches are shown apart, and pending and WIP results say so.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use treaty_domain::integration_status::{BranchResult, Colour, Outcome, Status, status};

use super::view::When;
use crate::AppState;
use crate::error::ApiError;

/// A pair: (consumer, provider).
pub type Pair = (String, String);

/// The status of every integration (of one pair, when both are named).
pub async fn statuses(
    state: &AppState,
    consumer: Option<&str>,
    provider: Option<&str>,
) -> Result<HashMap<Pair, Status>, ApiError> {
    let facts = state
        .store
        .integration_verification_facts(consumer, provider)
        .await?;
    let main_branches: HashMap<String, Option<String>> = match provider {
        Some(name) => state
            .store
            .pacticipant(name)
            .await?
            .map(|p| (p.name, p.main_branch))
            .into_iter()
            .collect(),
        None => state
            .store
            .pacticipants(None, None)
            .await?
            .items
            .into_iter()
            .map(|p| (p.name, p.main_branch))
            .collect(),
    };
    let mut by_pair: HashMap<Pair, Vec<_>> = HashMap::new();
    for fact in facts {
        by_pair
            .entry((fact.consumer, fact.provider))
            .or_default()
            .push(fact.facts);
    }
    Ok(by_pair
        .into_iter()
        .map(|(pair, facts)| {
            let main = main_branches.get(&pair.1).cloned().flatten();
            let decided = status(main.as_deref(), &facts);
            (pair, decided)
        })
        .collect())
}

/// The verifications' outcomes with their pending and WIP marks, by number
/// (pending only if it was for every branch its provider version is on).
pub async fn outcomes(
    state: &AppState,
    numbers: &[i64],
) -> Result<HashMap<i64, Outcome>, ApiError> {
    let mut outcomes: HashMap<i64, Outcome> = HashMap::new();
    if numbers.is_empty() {
        return Ok(outcomes);
    }
    for fact in state.store.verification_facts(numbers).await? {
        let f = fact.facts;
        let entry = outcomes.entry(f.number).or_insert(Outcome {
            success: f.success,
            pending: true,
            wip: f.wip,
        });
        entry.pending &= f.was_pending();
    }
    Ok(outcomes)
}

/// One verification's outcome with its pending and WIP marks.
pub async fn outcome_of(
    state: &AppState,
    number: i64,
    success: bool,
) -> Result<Option<Outcome>, ApiError> {
    let found = outcomes(state, &[number]).await?.remove(&number);
    Ok(Some(found.unwrap_or(Outcome {
        success,
        pending: false,
        wip: false,
    })))
}

/// A result's CSS class and sign: colour is never the only sign.
pub fn outcome_look(outcome: Outcome) -> (&'static str, &'static str) {
    if outcome.success {
        ("good", "✓")
    } else if outcome.breaks() {
        ("bad", "✗")
    } else {
        ("pending", "○")
    }
}

/// An integration's status in words, for a badge and the line beside it.
#[derive(Debug, Clone)]
pub struct StatusView {
    pub class: &'static str,
    pub symbol: &'static str,
    /// The main line's result: "main: verified", "main: failing (pending)".
    pub main: String,
    /// Who verified it on the main line, and when.
    pub detail: Option<String>,
    /// The other branches' latest results, counted: "feature branches: 1 failing (pending)".
    pub others: Option<String>,
    /// How many other branches' latest results fail.
    pub others_failing: usize,
    /// Orders statuses worst first.
    pub rank: u8,
}

impl StatusView {
    pub fn new(status: Option<&Status>, provider: &str) -> Self {
        let Some(status) = status else {
            return Self {
                class: "unknown",
                symbol: "?",
                main: "not verified yet".to_owned(),
                detail: None,
                others: None,
                others_failing: 0,
                rank: 2,
            };
        };
        let line = status
            .main_branch
            .as_deref()
            .map_or_else(String::new, |b| format!("{b}: "));
        let (class, symbol, rank) = match status.colour {
            Colour::Failed => ("bad", "✗", 0),
            Colour::Pending => ("pending", "○", 1),
            Colour::Unverified => ("unknown", "?", 2),
            Colour::Verified => ("good", "✓", 3),
        };
        let main = match &status.main {
            Some(r) => format!("{line}{}", r.outcome.words()),
            None => match &status.main_branch {
                Some(b) => format!("not verified on {b} yet"),
                None => "not verified yet".to_owned(),
            },
        };
        let detail = status.main.as_ref().map(|r| by_whom(r, provider));
        Self {
            class,
            symbol,
            main,
            detail,
            others: others_summary(&status.others),
            others_failing: status.others_failing().0,
            rank,
        }
    }

    /// Everything in one line (a tooltip, a label).
    pub fn text(&self) -> String {
        let mut text = self.main.clone();
        if let Some(detail) = &self.detail {
            text.push_str(&format!(" by {detail}"));
        }
        if let Some(others) = &self.others {
            text.push_str(&format!(" · {others}"));
        }
        text
    }
}

fn by_whom(result: &BranchResult, provider: &str) -> String {
    format!(
        "{provider} {}, {}",
        result.provider_version,
        When::new(result.verified_at).text
    )
}

/// "feature branches: 1 failing (pending), 2 verified", failures first.
fn others_summary(others: &[BranchResult]) -> Option<String> {
    if others.is_empty() {
        return None;
    }
    let mut counts: BTreeMap<(bool, &'static str), usize> = BTreeMap::new();
    for r in others {
        *counts
            .entry((r.outcome.success, r.outcome.words()))
            .or_default() += 1;
    }
    let parts: Vec<String> = counts
        .into_iter()
        .map(|((_, words), n)| format!("{n} {words}"))
        .collect();
    Some(format!(
        "other branch{}: {}",
        if others.len() == 1 { "" } else { "es" },
        parts.join(", ")
    ))
}

/// How long ago, in the largest whole unit ("3 minutes ago").
pub fn ago(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let seconds = (now - at).num_seconds();
    if seconds < 0 {
        return "just now".to_owned();
    }
    let (n, unit) = match seconds {
        0..60 => return "just now".to_owned(),
        60..3_600 => (seconds / 60, "minute"),
        3_600..86_400 => (seconds / 3_600, "hour"),
        86_400..2_592_000 => (seconds / 86_400, "day"),
        2_592_000..31_536_000 => (seconds / 2_592_000, "month"),
        _ => (seconds / 31_536_000, "year"),
    };
    format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn ago_uses_the_largest_whole_unit() {
        let now = Utc::now();
        assert_eq!(ago(now - Duration::seconds(5), now), "just now");
        assert_eq!(ago(now - Duration::minutes(1), now), "1 minute ago");
        assert_eq!(ago(now - Duration::hours(5), now), "5 hours ago");
        assert_eq!(ago(now - Duration::days(40), now), "1 month ago");
    }
}
