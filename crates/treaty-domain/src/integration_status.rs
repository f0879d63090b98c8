//! The status of an integration: which verification decides its colour.
//!
//! A provider verifies a pair's pacts from many branches. A failure on a
//! feature branch, or of a pact that was still pending or verified as a work
//! in progress, is the Pact Broker's way of saying "not yet", not "broken":
//! it does not fail the provider's build, so it must not turn the
//! integration red either. The provider's main branch decides; the other
//! branches are shown apart.

use chrono::{DateTime, Utc};

use crate::model::MAIN_BRANCH_CANDIDATES;

/// What storage knows of one verification, as seen from one provider branch
/// its provider version is on (`branch` is `None` when it is on none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerificationFacts {
    pub number: i64,
    pub provider_version: String,
    pub branch: Option<String>,
    /// When that branch was first used.
    pub branch_created_at: Option<DateTime<Utc>>,
    pub success: bool,
    pub wip: bool,
    pub verified_at: DateTime<Utc>,
    /// Whether a version of the same branch had verified the same content
    /// successfully before this verification.
    pub earlier_success_on_branch: bool,
    /// When the first successful, not-WIP verification of the same content
    /// (by any branch) happened, if one did before this verification.
    pub first_earlier_success_at: Option<DateTime<Utc>>,
}

impl VerificationFacts {
    /// Whether the pact was pending for this verification, by the Pact
    /// Broker's rule: a pact is pending for a provider branch until a version
    /// of that branch verifies it successfully, unless another branch had
    /// verified it before the branch existed. A version on no branch: until
    /// any version verified it.
    pub fn was_pending(&self) -> bool {
        match self.branch_created_at {
            Some(created) if self.branch.is_some() => {
                !(self.earlier_success_on_branch
                    || self
                        .first_earlier_success_at
                        .is_some_and(|first| first < created))
            }
            _ => !self.earlier_success_on_branch && self.first_earlier_success_at.is_none(),
        }
    }
}

/// A verification's result as every page shows it: the outcome, and whether
/// it was pending or a work in progress (then a failure is not a breakage).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub success: bool,
    pub pending: bool,
    pub wip: bool,
}

impl Outcome {
    /// A failure that counts: neither pending nor a work in progress.
    pub fn breaks(self) -> bool {
        !self.success && !self.pending && !self.wip
    }

    /// The result in words: "verified", "failed", "failing (pending)",
    /// "failing (WIP)".
    pub fn words(self) -> &'static str {
        match (self.success, self.wip, self.pending) {
            (true, true, _) => "verified (WIP)",
            // A first success was pending too; it changes nothing once passed.
            (true, false, _) => "verified",
            (false, true, _) => "failing (WIP)",
            (false, false, true) => "failing (pending)",
            (false, false, false) => "failed",
        }
    }
}

/// The latest verification from one provider branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BranchResult {
    pub branch: Option<String>,
    pub number: i64,
    pub provider_version: String,
    pub verified_at: DateTime<Utc>,
    pub outcome: Outcome,
}

/// An integration's colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Colour {
    /// The deciding verification passed.
    Verified,
    /// The deciding verification failed, and the pact was neither pending nor WIP.
    Failed,
    /// The deciding verification failed, but the pact was pending or WIP.
    Pending,
    /// Nothing on the main line verified it yet.
    Unverified,
}

/// An integration's status: the main line's latest result, which decides
/// its colour, and the other branches' latest results, shown apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// The branch taken as the main one, when known.
    pub main_branch: Option<String>,
    pub main: Option<BranchResult>,
    /// The latest result of each other branch, newest first.
    pub others: Vec<BranchResult>,
    pub colour: Colour,
}

impl Status {
    /// How many other branches' latest results fail, and how many of those
    /// were pending or WIP.
    pub fn others_failing(&self) -> (usize, usize) {
        let failing: Vec<_> = self.others.iter().filter(|r| !r.outcome.success).collect();
        let excused = failing.iter().filter(|r| !r.outcome.breaks()).count();
        (failing.len(), excused)
    }

    /// The newest result of any branch (what a page shows as "last verified").
    pub fn newest(&self) -> Option<&BranchResult> {
        self.main
            .iter()
            .chain(&self.others)
            .max_by_key(|r| (r.verified_at, r.number))
    }
}

/// The branch taken as a provider's main one: its own main branch, else the
/// first of the names Treaty makes a main branch of (`develop`, `main`,
/// `master`) that it verified from.
pub fn main_branch_of(declared: Option<&str>, facts: &[VerificationFacts]) -> Option<String> {
    declared.map(str::to_owned).or_else(|| {
        MAIN_BRANCH_CANDIDATES
            .iter()
            .find(|candidate| {
                facts
                    .iter()
                    .any(|f| f.branch.as_deref() == Some(**candidate))
            })
            .map(|c| (*c).to_owned())
    })
}

/// Decides an integration's status from the latest verification of each
/// provider branch (`facts`, one per branch; `branch: None` for versions on
/// no branch) and the provider's main branch.
///
/// The main line is the main branch and the versions on no branch (a
/// provider that publishes no branches has only those, and its latest result
/// decides, as before branches). Its newest result decides the colour; a
/// failure there is red only when the pact was neither pending nor WIP.
/// Other branches never decide.
pub fn status(declared_main_branch: Option<&str>, facts: &[VerificationFacts]) -> Status {
    let main_branch = main_branch_of(declared_main_branch, facts);
    let result = |f: &VerificationFacts| BranchResult {
        branch: f.branch.clone(),
        number: f.number,
        provider_version: f.provider_version.clone(),
        verified_at: f.verified_at,
        outcome: Outcome {
            success: f.success,
            pending: f.was_pending(),
            wip: f.wip,
        },
    };
    let on_main_line = |f: &&VerificationFacts| {
        f.branch.is_none() || f.branch.as_deref() == main_branch.as_deref()
    };
    let main = facts
        .iter()
        .filter(on_main_line)
        .max_by_key(|f| (f.verified_at, f.number))
        .map(result);
    let mut others: Vec<BranchResult> = facts
        .iter()
        .filter(|f| !on_main_line(f))
        .map(result)
        .collect();
    others.sort_by_key(|r| std::cmp::Reverse((r.verified_at, r.number)));
    let colour = match &main {
        None => Colour::Unverified,
        Some(r) if r.outcome.success => Colour::Verified,
        Some(r) if r.outcome.breaks() => Colour::Failed,
        Some(_) => Colour::Pending,
    };
    Status {
        main_branch,
        main,
        others,
        colour,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 10, minute, 0).unwrap()
    }

    fn fact(number: i64, branch: Option<&str>, success: bool) -> VerificationFacts {
        VerificationFacts {
            number,
            provider_version: format!("p{number}"),
            branch: branch.map(str::to_owned),
            branch_created_at: branch.map(|_| at(0)),
            success,
            wip: false,
            verified_at: at(u32::try_from(number).unwrap()),
            earlier_success_on_branch: true,
            first_earlier_success_at: Some(at(0)),
        }
    }

    fn new_pact(mut f: VerificationFacts) -> VerificationFacts {
        f.earlier_success_on_branch = false;
        f.first_earlier_success_at = None;
        f
    }

    #[test]
    fn a_pact_is_pending_for_a_branch_until_that_branch_verified_it() {
        let never_verified = new_pact(fact(5, Some("feat"), false));
        assert!(never_verified.was_pending());
        let verified_on_branch = fact(5, Some("feat"), false);
        assert!(!verified_on_branch.was_pending());
    }

    #[test]
    fn a_success_from_another_branch_before_the_branch_existed_ends_pending() {
        let mut f = new_pact(fact(5, Some("feat"), false));
        f.branch_created_at = Some(at(3));
        f.first_earlier_success_at = Some(at(2));
        assert!(!f.was_pending());
        f.first_earlier_success_at = Some(at(4));
        assert!(f.was_pending(), "verified elsewhere after the branch began");
    }

    #[test]
    fn without_a_branch_a_pact_is_pending_until_anyone_verified_it() {
        let f = new_pact(fact(5, None, false));
        assert!(f.was_pending());
        let mut g = f;
        g.first_earlier_success_at = Some(at(1));
        assert!(!g.was_pending());
    }

    #[test]
    fn a_pending_failure_on_a_feature_branch_does_not_turn_the_integration_red() {
        let mut feature = new_pact(fact(9, Some("feat"), false));
        feature.wip = false;
        let status = status(Some("main"), &[fact(3, Some("main"), true), feature]);
        assert_eq!(status.colour, Colour::Verified);
        assert_eq!(status.main.as_ref().map(|m| m.number), Some(3));
        assert_eq!(status.others.len(), 1);
        assert_eq!(status.others_failing(), (1, 1));
        assert_eq!(status.others[0].outcome.words(), "failing (pending)");
    }

    #[test]
    fn any_failure_on_a_feature_branch_leaves_the_colour_to_main() {
        let status = status(
            Some("main"),
            &[fact(3, Some("main"), true), fact(9, Some("feat"), false)],
        );
        assert_eq!(status.colour, Colour::Verified);
        assert_eq!(status.others_failing(), (1, 0));
    }

    #[test]
    fn a_failure_on_main_that_was_not_pending_is_red() {
        let status = status(Some("main"), &[fact(3, Some("main"), false)]);
        assert_eq!(status.colour, Colour::Failed);
    }

    #[test]
    fn a_pending_or_wip_failure_on_main_is_not_red() {
        let pending = new_pact(fact(3, Some("main"), false));
        assert_eq!(status(Some("main"), &[pending]).colour, Colour::Pending);
        let mut wip = fact(3, Some("main"), false);
        wip.wip = true;
        let status = status(Some("main"), &[wip]);
        assert_eq!(status.colour, Colour::Pending);
        assert_eq!(status.main.unwrap().outcome.words(), "failing (WIP)");
    }

    #[test]
    fn without_branches_the_latest_result_decides_as_before() {
        let status = status(None, &[fact(2, None, true), fact(4, None, false)]);
        assert_eq!(status.colour, Colour::Failed);
        assert_eq!(status.main_branch, None);
    }

    #[test]
    fn only_feature_branches_verified_leaves_the_integration_unverified() {
        let status = status(Some("main"), &[fact(4, Some("feat"), false)]);
        assert_eq!(status.colour, Colour::Unverified);
        assert_eq!(status.newest().map(|r| r.number), Some(4));
    }

    #[test]
    fn a_provider_without_a_declared_main_branch_falls_back_to_the_usual_names() {
        let status = status(
            None,
            &[fact(3, Some("master"), true), fact(5, Some("feat"), false)],
        );
        assert_eq!(status.main_branch.as_deref(), Some("master"));
        assert_eq!(status.colour, Colour::Verified);
    }
}
