//! DORA's four key metrics, computed from the deployment ledger.
//!
//! The definitions follow the DORA research programme (dora.dev, "DORA's
//! software delivery metrics") and Google's Four Keys project, made exact
//! for a ledger:
//!
//! - **Deployment frequency**: completed deployments finished in the
//!   window, per day of the window.
//! - **Lead time for changes**: for each completed deployment in the window,
//!   from the change's start (the commit time the pipeline gave, otherwise
//!   when the version was first known to Treaty) to completion; the median.
//!   Rollbacks are left out: they deliver no new change.
//! - **Change failure rate**: of the changes that reached the environment or
//!   failed trying (completed and failed deployments in the window), the share
//!   that failed: failed deployments, completed rollbacks, and completed
//!   deployments with an incident recorded against them. Aborted and timed-out
//!   deployments are not changes.
//! - **Time to restore**: for each failed deployment in the window, the time
//!   to the next completed deployment of the same application to the same
//!   environment; for each incident opened in the window, the time to its
//!   resolution; the median. Failures not yet restored are counted apart.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::ledger::Status;

/// One deployment, as the metrics see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Fact {
    pub pacticipant: String,
    pub environment: String,
    pub status: Status,
    pub finished_at: Option<DateTime<Utc>>,
    /// When the change began: the commit time, else when the version was created.
    pub change_at: DateTime<Utc>,
    pub rollback: bool,
    pub incidents: Vec<IncidentFact>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct IncidentFact {
    pub opened_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
}

/// The half-open time window `[from, to)` the metrics cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl Window {
    fn contains(&self, at: DateTime<Utc>) -> bool {
        self.from <= at && at < self.to
    }

    pub fn days(&self) -> f64 {
        (self.to - self.from).num_seconds() as f64 / 86_400.0
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Metrics {
    /// Completed deployments in the window.
    pub deployments: u64,
    pub deployments_per_day: f64,
    /// Median lead time, in seconds; `None` without a sample.
    pub lead_time_seconds: Option<f64>,
    pub lead_time_samples: u64,
    /// `None` when nothing completed or failed.
    pub change_failure_rate: Option<f64>,
    pub failures: u64,
    pub changes: u64,
    /// Median time to restore, in seconds; `None` without a restored failure.
    pub time_to_restore_seconds: Option<f64>,
    pub restored: u64,
    pub unrestored: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub pacticipant: String,
    pub environment: String,
    pub metrics: Metrics,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub window: Window,
    pub overall: Metrics,
    /// Per application and environment, by name.
    pub groups: Vec<Group>,
}

/// The raw numbers behind one group's metrics; groups add up by merging them.
#[derive(Debug, Default)]
struct Samples {
    deployments: u64,
    lead_times: Vec<f64>,
    failures: u64,
    changes: u64,
    restores: Vec<f64>,
    unrestored: u64,
}

impl Samples {
    fn merge(&mut self, other: &Samples) {
        self.deployments += other.deployments;
        self.lead_times.extend(&other.lead_times);
        self.failures += other.failures;
        self.changes += other.changes;
        self.restores.extend(&other.restores);
        self.unrestored += other.unrestored;
    }

    fn metrics(&self, window: Window) -> Metrics {
        let days = window.days();
        Metrics {
            deployments: self.deployments,
            deployments_per_day: if days > 0.0 {
                self.deployments as f64 / days
            } else {
                0.0
            },
            lead_time_seconds: median(&self.lead_times),
            lead_time_samples: self.lead_times.len() as u64,
            change_failure_rate: (self.changes > 0)
                .then(|| self.failures as f64 / self.changes as f64),
            failures: self.failures,
            changes: self.changes,
            time_to_restore_seconds: median(&self.restores),
            restored: self.restores.len() as u64,
            unrestored: self.unrestored,
        }
    }
}

fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    Some(if sorted.len().is_multiple_of(2) {
        (sorted[middle - 1] + sorted[middle]) / 2.0
    } else {
        sorted[middle]
    })
}

fn seconds(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    ((to - from).num_milliseconds().max(0) as f64) / 1000.0
}

/// One application in one environment. `facts` may reach past the window's
/// end: a failure in the window restored after it still counts as restored.
fn group_samples(facts: &[&Fact], window: Window) -> Samples {
    let mut samples = Samples::default();
    let mut completions: Vec<DateTime<Utc>> = facts
        .iter()
        .filter(|f| f.status == Status::Completed)
        .filter_map(|f| f.finished_at)
        .collect();
    completions.sort();
    for fact in facts {
        for incident in &fact.incidents {
            if window.contains(incident.opened_at) {
                match incident.resolved_at {
                    Some(resolved) => samples.restores.push(seconds(incident.opened_at, resolved)),
                    None => samples.unrestored += 1,
                }
            }
        }
        let Some(finished) = fact.finished_at.filter(|at| window.contains(*at)) else {
            continue;
        };
        match fact.status {
            Status::Completed => {
                samples.deployments += 1;
                samples.changes += 1;
                if !fact.rollback {
                    samples.lead_times.push(seconds(fact.change_at, finished));
                }
                if fact.rollback || !fact.incidents.is_empty() {
                    samples.failures += 1;
                }
            }
            Status::Failed => {
                samples.changes += 1;
                samples.failures += 1;
                match completions.iter().find(|at| **at > finished) {
                    Some(restored) => samples.restores.push(seconds(finished, *restored)),
                    None => samples.unrestored += 1,
                }
            }
            _ => {}
        }
    }
    samples
}

pub fn compute(facts: &[Fact], window: Window) -> Report {
    let mut grouped: BTreeMap<(&str, &str), Vec<&Fact>> = BTreeMap::new();
    for fact in facts {
        grouped
            .entry((fact.pacticipant.as_str(), fact.environment.as_str()))
            .or_default()
            .push(fact);
    }
    let mut overall = Samples::default();
    let mut groups = Vec::with_capacity(grouped.len());
    for ((pacticipant, environment), facts) in grouped {
        let samples = group_samples(&facts, window);
        overall.merge(&samples);
        groups.push(Group {
            pacticipant: pacticipant.to_owned(),
            environment: environment.to_owned(),
            metrics: samples.metrics(window),
        });
    }
    Report {
        window,
        overall: overall.metrics(window),
        groups,
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;

    fn at(day: u32, hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
            + Duration::days(i64::from(day) - 1)
            + Duration::hours(i64::from(hour))
    }

    fn deployment(
        pacticipant: &str,
        status: Status,
        finished: DateTime<Utc>,
        lead_hours: i64,
    ) -> Fact {
        Fact {
            pacticipant: pacticipant.to_owned(),
            environment: "production".to_owned(),
            status,
            finished_at: Some(finished),
            change_at: finished - Duration::hours(lead_hours),
            rollback: false,
            incidents: Vec::new(),
        }
    }

    const HOUR: f64 = 3600.0;

    /// 56 deployments of two applications over January 2026, with every
    /// expected figure worked out by hand in the comments.
    fn fixture() -> Vec<Fact> {
        let mut facts = Vec::new();
        // Orders: 30 completions, on day k at 12:00, lead time k hours.
        for k in 1..=30 {
            let mut fact = deployment("Orders", Status::Completed, at(k, 12), i64::from(k));
            if k == 10 {
                fact.rollback = true;
            }
            if k == 20 {
                fact.incidents.push(IncidentFact {
                    opened_at: at(20, 13),
                    resolved_at: Some(at(20, 15)),
                });
            }
            if k == 25 {
                fact.incidents.push(IncidentFact {
                    opened_at: at(25, 13),
                    resolved_at: None,
                });
            }
            facts.push(fact);
        }
        // Five failures on days 5..=9, restored by that day's 12:00 completion
        // after 1, 2, 3, 4 and 5 hours.
        for k in 5..=9 {
            facts.push(deployment("Orders", Status::Failed, at(k, 12 - (k - 4)), 1));
        }
        // A failure on day 30 at 18:00, restored by a completion on day 31 at
        // 06:00 (after the window): 12 hours.
        facts.push(deployment("Orders", Status::Failed, at(30, 18), 1));
        facts.push(deployment("Orders", Status::Completed, at(31, 6), 1));
        // Before the window: not counted, and no failure of the window's is restored by it.
        facts.push(deployment("Orders", Status::Completed, at(0, 12), 100));
        // Aborted and timed out: not changes.
        for day in [2, 3, 4, 15] {
            facts.push(deployment("Orders", Status::Aborted, at(day, 6), 1));
        }
        for day in [16, 17] {
            facts.push(deployment("Orders", Status::TimedOut, at(day, 6), 1));
        }
        // Payments: 10 completions on days 3, 6, ..., 30 at 00:00, lead times 10, 20, ..., 100 hours.
        for k in 1..=10 {
            facts.push(deployment(
                "Payments",
                Status::Completed,
                at(3 * k, 0),
                i64::from(10 * k),
            ));
        }
        // Failures on day 4 (restored on day 6: 48 hours) and day 29 (restored on day 30: 24 hours).
        facts.push(deployment("Payments", Status::Failed, at(4, 0), 1));
        facts.push(deployment("Payments", Status::Failed, at(29, 0), 1));
        facts
    }

    fn january() -> Window {
        Window {
            from: at(1, 0),
            to: at(31, 0),
        }
    }

    #[test]
    fn the_fixture_has_at_least_fifty_deployments() {
        assert_eq!(fixture().len(), 56);
    }

    #[test]
    fn metrics_per_application_match_the_hand_computed_figures() {
        let report = compute(&fixture(), january());
        let orders = &report.groups[0];
        assert_eq!(
            (orders.pacticipant.as_str(), orders.environment.as_str()),
            ("Orders", "production")
        );
        let m = &orders.metrics;
        // 30 completions in 30 days.
        assert_eq!(m.deployments, 30);
        assert!((m.deployments_per_day - 1.0).abs() < 1e-9);
        // Lead times 1..=30 hours without the rollback's 10: 29 samples, the 15th is 16 hours.
        assert_eq!(m.lead_time_samples, 29);
        assert_eq!(m.lead_time_seconds, Some(16.0 * HOUR));
        // 30 completions + 6 failures = 36 changes; 6 failed + 1 rollback + 2 with incidents = 9.
        assert_eq!((m.failures, m.changes), (9, 36));
        assert_eq!(m.change_failure_rate, Some(0.25));
        // Restores: 1, 2, 3, 4, 5, 12 hours (deployments) and 2 hours (an incident): median 3 hours.
        assert_eq!((m.restored, m.unrestored), (7, 1));
        assert_eq!(m.time_to_restore_seconds, Some(3.0 * HOUR));

        let payments = &report.groups[1].metrics;
        assert_eq!(payments.deployments, 10);
        assert!((payments.deployments_per_day - 1.0 / 3.0).abs() < 1e-9);
        // 10, 20, ..., 100 hours: the median of ten is (50 + 60) / 2.
        assert_eq!(payments.lead_time_seconds, Some(55.0 * HOUR));
        assert_eq!(payments.change_failure_rate, Some(2.0 / 12.0));
        // 24 and 48 hours: 36.
        assert_eq!(payments.time_to_restore_seconds, Some(36.0 * HOUR));
    }

    #[test]
    fn overall_metrics_pool_every_sample() {
        let overall = compute(&fixture(), january()).overall;
        assert_eq!(overall.deployments, 40);
        assert!((overall.deployments_per_day - 40.0 / 30.0).abs() < 1e-9);
        // 39 lead times; 19 lie below 20 hours (18 of Orders', Payments' 10), so the 20th is 20 hours.
        assert_eq!(overall.lead_time_samples, 39);
        assert_eq!(overall.lead_time_seconds, Some(20.0 * HOUR));
        assert_eq!((overall.failures, overall.changes), (11, 48));
        // 1, 2, 2, 3, 4, 5, 12, 24, 48 hours: the 5th of nine is 4.
        assert_eq!(overall.time_to_restore_seconds, Some(4.0 * HOUR));
        assert_eq!((overall.restored, overall.unrestored), (9, 1));
    }

    #[test]
    fn an_empty_window_has_no_rates() {
        let report = compute(&[], january());
        assert_eq!(report.overall.change_failure_rate, None);
        assert_eq!(report.overall.lead_time_seconds, None);
        assert_eq!(report.overall.deployments_per_day, 0.0);
        assert!(report.groups.is_empty());
    }
}
