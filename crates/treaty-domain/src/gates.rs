//! Deployment gates: the rules an environment sets for what may be deployed
//! into it, and the one verdict they give together.
//!
//! An environment's policy is a list of rules, each in a mode: `enforce`
//! (a failing rule blocks), `report-only` (reported, never blocks) or `off`.
//! The rules: contract compatibility (can-i-deploy), promotion order (the
//! version completed a deployment to another environment first), soak time
//! (it stayed deployed there long enough, without a failure or an open
//! incident), and freeze windows (one-off or weekly, in a time zone).
//!
//! An environment without a policy of its own has the default one: contract
//! compatibility, enforced in production environments and report-only
//! elsewhere. A version that ran in the environment within the rollback
//! window goes back without promotion or soak; a marked emergency steps
//! over the rules that allow it.

use chrono::{
    DateTime, Datelike, Duration, NaiveTime, SubsecRound, TimeZone, Timelike, Utc, Weekday,
};
use chrono_tz::Tz;
use serde_json::{Map, Value, json};

use crate::time;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Enforce,
    ReportOnly,
    Off,
}

impl Mode {
    fn parse(raw: &str) -> Option<Self> {
        Some(match raw.to_ascii_lowercase().replace('_', "-").as_str() {
            "enforce" | "enforced" => Self::Enforce,
            "report-only" | "report" => Self::ReportOnly,
            "off" | "disabled" => Self::Off,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enforce => "enforce",
            Self::ReportOnly => "report-only",
            Self::Off => "off",
        }
    }
}

/// A time window in which deployments are refused.
#[derive(Debug, Clone, PartialEq)]
pub enum FreezeWindow {
    Once {
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        reason: Option<String>,
    },
    /// Every listed weekday from `from` to `to`, local time; a `to` at or
    /// before `from` ends the next day.
    Weekly {
        days: Vec<Weekday>,
        from: NaiveTime,
        to: NaiveTime,
        time_zone: Tz,
        reason: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    ContractCompatibility,
    Promotion {
        from: String,
    },
    Soak {
        environment: String,
        minimum: Duration,
    },
    Freeze {
        windows: Vec<FreezeWindow>,
    },
}

impl Rule {
    pub fn name(&self) -> &'static str {
        match self {
            Self::ContractCompatibility => "contract-compatibility",
            Self::Promotion { .. } => "promotion",
            Self::Soak { .. } => "soak",
            Self::Freeze { .. } => "freeze",
        }
    }

    /// The environments the rule names, which must exist.
    pub fn environments(&self) -> Vec<&str> {
        match self {
            Self::Promotion { from } => vec![from],
            Self::Soak { environment, .. } => vec![environment],
            _ => Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub rule: Rule,
    pub mode: Mode,
    /// A deployment marked as an emergency steps over this rule (never
    /// contract compatibility: an incompatible version breaks production
    /// whatever the hurry).
    pub allow_emergency: bool,
}

/// How a fact recorded after the event (`record-deployment`,
/// `record-release`) meets gates that would refuse it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactGate {
    /// Recorded (what runs is never denied), marked `bypassed_gates`.
    ReportOnly,
    /// Refused like a gated start, with the same answers.
    Enforce,
}

impl FactGate {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReportOnly => "report-only",
            Self::Enforce => "enforce",
        }
    }
}

/// Where an environment's policy comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicySource {
    /// Set for the environment (`PUT /policies/{environment}`).
    Environment,
    /// The environment has none: the default for its kind.
    Default,
}

impl PolicySource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Environment => "environment",
            Self::Default => "default",
        }
    }
}

/// The default rollback window: 30 days.
pub fn default_rollback_window() -> Duration {
    Duration::days(30)
}

/// Everything that gates deployments into one environment.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvironmentPolicy {
    pub rules: Vec<Policy>,
    pub record_deployment: FactGate,
    /// A version that ran in the environment this recently goes back
    /// without promotion or soak (a rollback).
    pub rollback_window: Duration,
    pub source: PolicySource,
}

impl EnvironmentPolicy {
    /// The policy of an environment that has none of its own: contract
    /// compatibility, enforced for production environments and report-only
    /// elsewhere.
    pub fn default_for(production: bool) -> Self {
        Self {
            rules: vec![Policy {
                rule: Rule::ContractCompatibility,
                mode: if production {
                    Mode::Enforce
                } else {
                    Mode::ReportOnly
                },
                allow_emergency: false,
            }],
            record_deployment: FactGate::ReportOnly,
            rollback_window: default_rollback_window(),
            source: PolicySource::Default,
        }
    }

    /// Why this policy applies, in a sentence.
    pub fn source_reason(&self, environment: &str, production: bool) -> String {
        match (self.source, production) {
            (PolicySource::Environment, _) => format!("the policy set for {environment}"),
            (PolicySource::Default, true) => format!(
                "{environment} has no policy of its own: production environments enforce contract compatibility by default"
            ),
            (PolicySource::Default, false) => format!(
                "{environment} has no policy of its own: contract compatibility is reported, not enforced, outside production by default"
            ),
        }
    }

    /// The policy as it is stored and shown: [`parse_environment_policy`] reads it back.
    pub fn to_json(&self) -> Value {
        let mut body = policies_json(&self.rules);
        body["record_deployment"] = json!(self.record_deployment.as_str());
        body["rollback_window"] = json!(format_duration(self.rollback_window));
        body
    }

    /// A freeze window open at `now`, when the rules have one that is not off.
    pub fn open_freeze(&self, now: DateTime<Utc>) -> Option<OpenFreeze> {
        self.rules
            .iter()
            .filter(|p| p.mode != Mode::Off)
            .find_map(|p| match &p.rule {
                Rule::Freeze { windows } => {
                    let first = windows.iter().find(|w| window_end(w, now).is_some())?;
                    Some(OpenFreeze {
                        reason: window_reason(first),
                        until: freeze_end(windows, now),
                        mode: p.mode,
                        allow_emergency: p.allow_emergency,
                    })
                }
                _ => None,
            })
    }
}

/// What a policy write did to the environment's freeze in force at `now`,
/// for the webhooks that announce it (`environment_frozen`, `_unfrozen`).
#[derive(Debug, Clone, PartialEq)]
pub enum FreezeChange {
    /// A freeze is in force that was not, or a different one (another reason or end).
    Frozen(OpenFreeze),
    /// The freeze that was in force is not any more.
    Unfrozen(OpenFreeze),
}

/// Compares the policies before and after a write (`None`: no policy).
pub fn freeze_change(
    before: Option<&EnvironmentPolicy>,
    after: Option<&EnvironmentPolicy>,
    now: DateTime<Utc>,
) -> Option<FreezeChange> {
    let was = before.and_then(|p| p.open_freeze(now));
    let is = after.and_then(|p| p.open_freeze(now));
    match (was, is) {
        (Some(was), None) => Some(FreezeChange::Unfrozen(was)),
        (was, Some(is)) if was.as_ref() != Some(&is) => Some(FreezeChange::Frozen(is)),
        _ => None,
    }
}

/// A freeze in force now.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenFreeze {
    pub reason: String,
    /// When no window of the rule is open any more.
    pub until: DateTime<Utc>,
    pub mode: Mode,
    pub allow_emergency: bool,
}

// ---------------------------------------------------------------- parsing

fn text<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    object
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
}

fn parse_time_of_day(raw: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(raw, "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(raw, "%H:%M:%S"))
        .ok()
}

/// A time of day as it was given: with seconds only when it has them.
fn time_of_day(at: NaiveTime) -> String {
    if at.second() == 0 {
        at.format("%H:%M").to_string()
    } else {
        at.format("%H:%M:%S").to_string()
    }
}

fn parse_weekday(raw: &str) -> Option<Weekday> {
    raw.parse::<Weekday>().ok()
}

fn parse_window(value: &Value, at: &str, errors: &mut Vec<String>) -> Option<FreezeWindow> {
    let Some(object) = value.as_object() else {
        errors.push(format!("{at} must be an object"));
        return None;
    };
    let reason = text(object, "reason").map(str::to_owned);
    if object.contains_key("start") || object.contains_key("end") {
        let instant = |key: &str, errors: &mut Vec<String>| match text(object, key) {
            None => {
                errors.push(format!("{at}.{key} is missing"));
                None
            }
            // Policies are stored to the second, so they are read to the second.
            Some(raw) => match DateTime::parse_from_rfc3339(raw) {
                Ok(t) => Some(t.with_timezone(&Utc).trunc_subsecs(0)),
                Err(_) => {
                    errors.push(format!(
                        "{at}.{key} must be a timestamp like 2026-12-24T00:00:00+01:00 (got '{raw}')"
                    ));
                    None
                }
            },
        };
        let (start, end) = (instant("start", errors)?, instant("end", errors)?);
        if end <= start {
            errors.push(format!("{at}.end must be after its start"));
            return None;
        }
        return Some(FreezeWindow::Once { start, end, reason });
    }
    let time_of_day = |key: &str, errors: &mut Vec<String>| match text(object, key) {
        None => {
            errors.push(format!("{at}.{key} is missing: a time of day like 16:00 (or give start and end for a one-off window)"));
            None
        }
        Some(raw) => parse_time_of_day(raw).or_else(|| {
            errors.push(format!(
                "{at}.{key} must be a time of day like 16:00 (got '{raw}')"
            ));
            None
        }),
    };
    let from = time_of_day("from", errors);
    let to = time_of_day("to", errors);
    let time_zone = match text(object, "time_zone") {
        None => Some(Tz::UTC),
        Some(raw) => raw.parse::<Tz>().ok().or_else(|| {
            errors.push(format!(
                "{at}.time_zone '{raw}' is not a time zone name like Europe/Berlin"
            ));
            None
        }),
    };
    let days = match object.get("days") {
        None | Some(Value::Null) => Some(vec![
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
            Weekday::Sat,
            Weekday::Sun,
        ]),
        Some(Value::Array(items)) if !items.is_empty() => {
            let parsed: Vec<Option<Weekday>> = items
                .iter()
                .map(|d| d.as_str().and_then(parse_weekday))
                .collect();
            if parsed.iter().any(Option::is_none) {
                errors.push(format!(
                    "{at}.days must list weekdays like [\"sat\", \"sun\"]"
                ));
                None
            } else {
                Some(parsed.into_iter().flatten().collect())
            }
        }
        Some(_) => {
            errors.push(format!(
                "{at}.days must list weekdays like [\"sat\", \"sun\"]"
            ));
            None
        }
    };
    Some(FreezeWindow::Weekly {
        days: days?,
        from: from?,
        to: to?,
        time_zone: time_zone?,
        reason,
    })
}

fn parse_policy(value: &Value, at: &str, errors: &mut Vec<String>) -> Option<Policy> {
    let Some(object) = value.as_object() else {
        errors.push(format!("{at} must be an object"));
        return None;
    };
    let mode = match text(object, "mode") {
        None => Some(Mode::Enforce),
        Some(raw) => Mode::parse(raw).or_else(|| {
            errors.push(format!(
                "{at}.mode '{raw}' is not one of enforce, report-only, off"
            ));
            None
        }),
    };
    let rule = match text(object, "rule") {
        Some("contract-compatibility" | "contracts" | "can-i-deploy") => {
            Some(Rule::ContractCompatibility)
        }
        Some("promotion") => match text(object, "from") {
            Some(from) => Some(Rule::Promotion {
                from: from.to_owned(),
            }),
            None => {
                errors.push(format!(
                    "{at}.from is missing: the environment a version must be deployed to first"
                ));
                None
            }
        },
        Some("soak") => {
            let environment = text(object, "environment");
            if environment.is_none() {
                errors.push(format!(
                    "{at}.environment is missing: where the version must have soaked"
                ));
            }
            let minimum = match text(object, "minimum") {
                None => {
                    errors.push(format!(
                        "{at}.minimum is missing: how long, like 30m, 4h or 2days"
                    ));
                    None
                }
                Some(raw) => humantime::parse_duration(raw)
                    .ok()
                    // Stored in whole seconds: a fraction would not read back the same.
                    .filter(|d| d.subsec_nanos() == 0)
                    .and_then(|d| Duration::from_std(d).ok())
                    .filter(|d| *d > Duration::zero())
                    .or_else(|| {
                        errors.push(format!(
                            "{at}.minimum must be a duration like 30m, 4h or 2days, in whole seconds (got '{raw}')"
                        ));
                        None
                    }),
            };
            Some(Rule::Soak {
                environment: environment?.to_owned(),
                minimum: minimum?,
            })
        }
        Some("freeze") => {
            let windows = match object.get("windows") {
                Some(Value::Array(items)) if !items.is_empty() => {
                    let parsed: Vec<Option<FreezeWindow>> = items
                        .iter()
                        .enumerate()
                        .map(|(i, w)| parse_window(w, &format!("{at}.windows[{i}]"), errors))
                        .collect();
                    parsed.into_iter().collect::<Option<Vec<_>>>()
                }
                _ => {
                    errors.push(format!("{at}.windows must list at least one window"));
                    None
                }
            };
            Some(Rule::Freeze { windows: windows? })
        }
        Some(other) => {
            errors.push(format!(
                "{at}.rule '{other}' is not one of contract-compatibility, promotion, soak, freeze"
            ));
            None
        }
        None => {
            errors.push(format!(
                "{at}.rule is missing: one of contract-compatibility, promotion, soak, freeze"
            ));
            None
        }
    };
    let allow_emergency = match object.get("allow_emergency") {
        None | Some(Value::Null) => Some(false),
        Some(Value::Bool(true)) if matches!(rule, Some(Rule::ContractCompatibility)) => {
            errors.push(format!(
                "{at}.allow_emergency cannot be set on contract-compatibility: an incompatible version breaks the environment whatever the hurry (emergencies may step over promotion, soak and freeze)"
            ));
            None
        }
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => {
            errors.push(format!("{at}.allow_emergency must be true or false"));
            None
        }
    };
    Some(Policy {
        rule: rule?,
        mode: mode?,
        allow_emergency: allow_emergency?,
    })
}

/// Reads an environment's policy: `{"rules": [...], "record_deployment":
/// "enforce" | "report-only", "rollback_window": "30days"}`, naming every problem.
pub fn parse_environment_policy(body: &Value) -> Result<EnvironmentPolicy, Vec<String>> {
    let mut errors = Vec::new();
    let rules = match parse_policies(body) {
        Ok(rules) => rules,
        Err(mut problems) => {
            errors.append(&mut problems);
            Vec::new()
        }
    };
    let record_deployment = match body.get("record_deployment") {
        None | Some(Value::Null) => FactGate::ReportOnly,
        Some(Value::String(raw)) => match Mode::parse(raw) {
            Some(Mode::Enforce) => FactGate::Enforce,
            Some(Mode::ReportOnly) => FactGate::ReportOnly,
            _ => {
                errors.push(format!(
                    "record_deployment '{raw}' is not one of enforce (refuse it like a gated start), report-only (record it, marked bypassed_gates)"
                ));
                FactGate::ReportOnly
            }
        },
        Some(_) => {
            errors.push("record_deployment must be \"enforce\" or \"report-only\"".to_owned());
            FactGate::ReportOnly
        }
    };
    let rollback_window = match body.get("rollback_window") {
        None | Some(Value::Null) => default_rollback_window(),
        Some(Value::String(raw)) => match humantime::parse_duration(raw)
            .ok()
            .filter(|d| d.subsec_nanos() == 0)
            .and_then(|d| Duration::from_std(d).ok())
        {
            Some(window) => window,
            None => {
                errors.push(format!(
                    "rollback_window must be a duration like 30days or 12h, in whole seconds (got '{raw}'); 0s turns rollbacks off"
                ));
                default_rollback_window()
            }
        },
        Some(_) => {
            errors.push("rollback_window must be a duration like \"30days\"".to_owned());
            default_rollback_window()
        }
    };
    if errors.is_empty() {
        Ok(EnvironmentPolicy {
            rules,
            record_deployment,
            rollback_window,
            source: PolicySource::Environment,
        })
    } else {
        Err(errors)
    }
}

/// Reads `{"rules": [...]}`, naming every problem.
pub fn parse_policies(body: &Value) -> Result<Vec<Policy>, Vec<String>> {
    let Some(rules) = body.get("rules").and_then(Value::as_array) else {
        return Err(vec![
            "rules is missing: send {\"rules\": [{\"rule\": \"soak\", \"environment\": \"staging\", \"minimum\": \"1h\"}, ...]}".to_owned(),
        ]);
    };
    let mut errors = Vec::new();
    let policies: Vec<Option<Policy>> = rules
        .iter()
        .enumerate()
        .map(|(i, rule)| parse_policy(rule, &format!("rules[{i}]"), &mut errors))
        .collect();
    if errors.is_empty() {
        Ok(policies.into_iter().flatten().collect())
    } else {
        Err(errors)
    }
}

fn window_json(window: &FreezeWindow) -> Value {
    let mut object = match window {
        FreezeWindow::Once { start, end, .. } => {
            json!({ "start": time::format(*start), "end": time::format(*end) })
        }
        FreezeWindow::Weekly {
            days,
            from,
            to,
            time_zone,
            ..
        } => json!({
            "days": days.iter().map(|d| d.to_string().to_ascii_lowercase()).collect::<Vec<_>>(),
            "from": time_of_day(*from),
            "to": time_of_day(*to),
            "time_zone": time_zone.name(),
        }),
    };
    let (FreezeWindow::Once { reason, .. } | FreezeWindow::Weekly { reason, .. }) = window;
    if let Some(reason) = reason {
        object["reason"] = json!(reason);
    }
    object
}

fn format_duration(d: Duration) -> String {
    let seconds = d.num_seconds().max(0) as u64;
    humantime::format_duration(std::time::Duration::from_secs(seconds)).to_string()
}

/// The policies as they are stored and shown: `parse_policies` reads it back.
pub fn policies_json(policies: &[Policy]) -> Value {
    json!({
        "rules": policies.iter().map(|p| {
            let mut rule = match &p.rule {
                Rule::ContractCompatibility => json!({}),
                Rule::Promotion { from } => json!({ "from": from }),
                Rule::Soak { environment, minimum } => json!({ "environment": environment, "minimum": format_duration(*minimum) }),
                Rule::Freeze { windows } => json!({
                    "windows": windows.iter().map(window_json).collect::<Vec<_>>(),
                }),
            };
            rule["rule"] = json!(p.rule.name());
            rule["mode"] = json!(p.mode.as_str());
            if p.allow_emergency || matches!(p.rule, Rule::Freeze { .. }) {
                rule["allow_emergency"] = json!(p.allow_emergency);
            }
            rule
        }).collect::<Vec<_>>()
    })
}

// ---------------------------------------------------------------- evaluation

/// A period the version was deployed in an environment.
#[derive(Debug, Clone, PartialEq)]
pub struct Stay {
    pub environment: String,
    pub since: DateTime<Utc>,
    /// `None` while it is still deployed there.
    pub until: Option<DateTime<Utc>>,
}

/// A failed deployment of the version.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub environment: String,
    pub at: DateTime<Utc>,
}

/// An incident against a deployment of the version.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenIncident {
    pub environment: String,
    pub title: String,
    pub opened_at: DateTime<Utc>,
}

/// What can-i-deploy said about the target environment.
#[derive(Debug, Clone, PartialEq)]
pub struct ContractAnswer {
    /// `None`: unknown (something is not verified).
    pub deployable: Option<bool>,
    pub reason: String,
}

/// Everything the rules look at, gathered before evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    pub version: String,
    /// The environment the version would be deployed to.
    pub environment: String,
    pub now: DateTime<Utc>,
    pub emergency: bool,
    pub contracts: Option<ContractAnswer>,
    pub stays: Vec<Stay>,
    pub failures: Vec<Failure>,
    pub open_incidents: Vec<OpenIncident>,
}

/// Why a deployment is blocked; each has its own HTTP status and exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Cause {
    Freeze,
    Promotion,
    Soak,
    Contracts,
}

impl Cause {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Freeze => "freeze",
            Self::Promotion => "promotion",
            Self::Soak => "soak",
            Self::Contracts => "contract-compatibility",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub rule: &'static str,
    pub mode: Mode,
    pub passed: bool,
    pub reason: String,
    /// When a failing rule may pass by itself (a freeze ends, a soak completes).
    pub retry_after: Option<DateTime<Utc>>,
    cause: Cause,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub allowed: bool,
    pub checks: Vec<Check>,
    /// A rule was stepped over because the deployment is a marked emergency.
    pub emergency_exemption: bool,
    /// The enforced rules a marked emergency stepped over.
    pub emergency_stepped_over: Vec<&'static str>,
    /// The version ran in the environment within the rollback window and
    /// does not now: going back to it needs no promotion or soak.
    pub rollback: bool,
    pub policy_source: PolicySource,
}

impl Verdict {
    fn blocking(&self) -> impl Iterator<Item = &Check> {
        self.checks
            .iter()
            .filter(|c| !c.passed && c.mode == Mode::Enforce)
    }

    /// The first cause among the enforced rules that fail (freeze first).
    pub fn cause(&self) -> Option<Cause> {
        self.blocking().map(|c| c.cause).min()
    }

    /// When every blocking rule may have passed, if each of them will by itself.
    pub fn retry_after(&self) -> Option<DateTime<Utc>> {
        let mut latest = None;
        for check in self.blocking() {
            let at = check.retry_after?;
            latest = Some(latest.map_or(at, |l: DateTime<Utc>| l.max(at)));
        }
        latest
    }

    /// One sentence for people.
    pub fn summary(&self) -> String {
        if self.allowed {
            let reported = self
                .checks
                .iter()
                .filter(|c| !c.passed && c.mode == Mode::ReportOnly)
                .count();
            match reported {
                0 => "Allowed: every rule of the environment passes.".to_owned(),
                n => format!("Allowed, with {n} report-only rule(s) failing."),
            }
        } else {
            let reasons: Vec<&str> = self.blocking().map(|c| c.reason.as_str()).collect();
            format!("Blocked: {}", reasons.join("; "))
        }
    }

    pub fn to_json(&self) -> Value {
        let mut body = json!({
            "allowed": self.allowed,
            "summary": self.summary(),
            "checks": self.checks.iter().map(|c| {
                let mut check = json!({ "rule": c.rule, "mode": c.mode.as_str(), "passed": c.passed, "reason": c.reason });
                if let Some(at) = c.retry_after {
                    check["retry_after"] = json!(time::format(at));
                }
                check
            }).collect::<Vec<_>>(),
        });
        if let Some(cause) = self.cause() {
            body["blocked_by"] = json!(cause.as_str());
        }
        if let Some(at) = self.retry_after() {
            body["retry_after"] = json!(time::format(at));
        }
        if self.emergency_exemption {
            body["emergency_exemption"] = json!(true);
            body["emergency_stepped_over"] = json!(self.emergency_stepped_over);
        }
        if self.rollback {
            body["rollback"] = json!(true);
        }
        body["policy_source"] = json!(self.policy_source.as_str());
        body
    }
}

/// The window containing `now`, with when it ends.
fn window_end(window: &FreezeWindow, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    match window {
        FreezeWindow::Once { start, end, .. } => (*start <= now && now < *end).then_some(*end),
        FreezeWindow::Weekly {
            days,
            from,
            to,
            time_zone,
            ..
        } => {
            let local_today = now.with_timezone(time_zone).date_naive();
            // An occurrence that began yesterday may still run (across midnight).
            for start_day in [local_today.pred_opt()?, local_today] {
                if !days.contains(&start_day.weekday()) {
                    continue;
                }
                let end_day = if to <= from {
                    start_day.succ_opt()?
                } else {
                    start_day
                };
                let local = |day: chrono::NaiveDate, at: NaiveTime| {
                    let naive = day.and_time(at);
                    time_zone
                        .from_local_datetime(&naive)
                        .earliest()
                        // In a daylight-saving gap, the hour after it.
                        .or_else(|| {
                            time_zone
                                .from_local_datetime(&(naive + Duration::hours(1)))
                                .earliest()
                        })
                        .map(|t| t.with_timezone(&Utc))
                };
                let (start, end) = (local(start_day, *from)?, local(end_day, *to)?);
                if start <= now && now < end {
                    return Some(end);
                }
            }
            None
        }
    }
}

fn window_reason(window: &FreezeWindow) -> String {
    let (FreezeWindow::Once { reason, .. } | FreezeWindow::Weekly { reason, .. }) = window;
    match (reason, window) {
        (Some(reason), _) => reason.clone(),
        (None, FreezeWindow::Once { .. }) => "a freeze window".to_owned(),
        (None, FreezeWindow::Weekly { .. }) => "a weekly freeze window".to_owned(),
    }
}

/// When a freeze that is open at `now` ends: windows that follow or overlap
/// one another freeze until none is open.
fn freeze_end(windows: &[FreezeWindow], now: DateTime<Utc>) -> DateTime<Utc> {
    let mut until = now;
    for _ in 0..64 {
        match windows.iter().filter_map(|w| window_end(w, until)).max() {
            Some(end) => until = end,
            None => break,
        }
    }
    until
}

fn check_freeze(windows: &[FreezeWindow], facts: &Facts) -> (bool, String, Option<DateTime<Utc>>) {
    let Some(first) = windows.iter().find(|w| window_end(w, facts.now).is_some()) else {
        return (true, "no freeze window is open".to_owned(), None);
    };
    let until = freeze_end(windows, facts.now);
    (
        false,
        format!(
            "deployments are frozen ({}) until {}",
            window_reason(first),
            time::format(until)
        ),
        Some(until),
    )
}

fn check_promotion(from: &str, facts: &Facts) -> (bool, String) {
    if facts.stays.iter().any(|s| s.environment == from) {
        return (
            true,
            format!("{} was deployed to {from} first", facts.version),
        );
    }
    let failed = facts.failures.iter().any(|f| f.environment == from);
    (
        false,
        format!(
            "{} has not completed a deployment to {from}{}: deploy it there first",
            facts.version,
            if failed {
                " (its deployment there failed)"
            } else {
                ""
            }
        ),
    )
}

fn check_soak(
    environment: &str,
    minimum: Duration,
    facts: &Facts,
) -> (bool, String, Option<DateTime<Utc>>) {
    let need = format_duration(minimum);
    if let Some(incident) = facts
        .open_incidents
        .iter()
        .find(|i| i.environment == environment)
    {
        return (
            false,
            format!(
                "an incident is open against {} in {environment} (\"{}\", opened {}): resolve it first",
                facts.version,
                incident.title,
                time::format(incident.opened_at)
            ),
            None,
        );
    }
    let stays: Vec<&Stay> = facts
        .stays
        .iter()
        .filter(|s| s.environment == environment)
        .collect();
    if stays.is_empty() {
        return (
            false,
            format!(
                "{} has not been deployed to {environment}, where it must soak for {need}",
                facts.version
            ),
            None,
        );
    }
    let failed_during = |stay: &Stay| {
        facts.failures.iter().any(|f| {
            f.environment == environment
                && f.at >= stay.since
                && stay.until.is_none_or(|u| f.at < u)
        })
    };
    for stay in &stays {
        let end = stay.until.unwrap_or(facts.now);
        if end - stay.since >= minimum && !failed_during(stay) {
            return (
                true,
                format!(
                    "{} soaked in {environment} for {} (at least {need})",
                    facts.version,
                    format_duration(end - stay.since)
                ),
                None,
            );
        }
    }
    match stays.iter().find(|s| s.until.is_none()) {
        Some(current) if !failed_during(current) => {
            // A minimum beyond the calendar never completes (and must not overflow).
            let ready = current.since.checked_add_signed(minimum);
            (
                false,
                format!(
                    "{} has soaked in {environment} for {} of the {need} required; {}",
                    facts.version,
                    format_duration(facts.now - current.since),
                    ready.map_or_else(
                        || "it will not pass within the calendar".to_owned(),
                        |at| format!("it may pass at {}", time::format(at))
                    )
                ),
                ready,
            )
        }
        Some(_) => (
            false,
            format!(
                "a deployment of {} to {environment} failed while it soaked there",
                facts.version
            ),
            None,
        ),
        None => (
            false,
            format!(
                "{} did not stay deployed in {environment} for {need}: deploy it there again and let it soak",
                facts.version
            ),
            None,
        ),
    }
}

/// How the version stands in the environment it is deployed to.
#[derive(Debug, Clone, PartialEq)]
enum Return {
    /// It runs there now: deploying it again is no promotion.
    AlreadyRuns,
    /// It ran there until `until`, within the rollback window.
    Rollback { until: DateTime<Utc> },
}

fn return_to(policy: &EnvironmentPolicy, facts: &Facts) -> Option<Return> {
    let here = || {
        facts
            .stays
            .iter()
            .filter(|s| s.environment == facts.environment)
    };
    if here().any(|s| s.until.is_none()) {
        return Some(Return::AlreadyRuns);
    }
    let since = facts.now.checked_sub_signed(policy.rollback_window)?;
    here()
        .filter_map(|s| s.until)
        .filter(|until| *until >= since && policy.rollback_window > Duration::zero())
        .max()
        .map(|until| Return::Rollback { until })
}

fn return_reason(back: &Return, policy: &EnvironmentPolicy, facts: &Facts) -> String {
    match back {
        Return::AlreadyRuns => format!(
            "{} already runs in {}: deploying it again needs no promotion or soak",
            facts.version, facts.environment
        ),
        Return::Rollback { until } => format!(
            "a rollback: {} ran in {} until {}, within the rollback window ({}), so it needs no promotion or soak",
            facts.version,
            facts.environment,
            time::format(*until),
            format_duration(policy.rollback_window)
        ),
    }
}

/// Evaluates every rule that is not off, and gives the verdict.
pub fn evaluate(policy: &EnvironmentPolicy, facts: &Facts) -> Verdict {
    let back = return_to(policy, facts);
    let mut checks = Vec::new();
    let mut stepped_over = Vec::new();
    for rule in policy.rules.iter().filter(|p| p.mode != Mode::Off) {
        let (mut passed, mut reason, mut retry_after, cause) = match &rule.rule {
            Rule::ContractCompatibility => match &facts.contracts {
                Some(ContractAnswer {
                    deployable: Some(true),
                    reason,
                }) => (true, reason.clone(), None, Cause::Contracts),
                Some(ContractAnswer { reason, .. }) => {
                    (false, reason.clone(), None, Cause::Contracts)
                }
                None => (
                    false,
                    "the contracts could not be checked".to_owned(),
                    None,
                    Cause::Contracts,
                ),
            },
            Rule::Promotion { .. } | Rule::Soak { .. } if back.is_some() => {
                let cause = if matches!(rule.rule, Rule::Soak { .. }) {
                    Cause::Soak
                } else {
                    Cause::Promotion
                };
                let back = back.as_ref().unwrap_or(&Return::AlreadyRuns);
                (true, return_reason(back, policy, facts), None, cause)
            }
            Rule::Promotion { from } => {
                let (passed, reason) = check_promotion(from, facts);
                (passed, reason, None, Cause::Promotion)
            }
            Rule::Soak {
                environment,
                minimum,
            } => {
                let (passed, reason, retry) = check_soak(environment, *minimum, facts);
                (passed, reason, retry, Cause::Soak)
            }
            Rule::Freeze { windows } => {
                let (passed, reason, retry) = check_freeze(windows, facts);
                (passed, reason, retry, Cause::Freeze)
            }
        };
        if !passed && rule.allow_emergency {
            if facts.emergency {
                passed = true;
                reason = format!(
                    "{reason}; stepped over: this is a marked emergency deployment, which the rule allows"
                );
                retry_after = None;
                if rule.mode == Mode::Enforce {
                    stepped_over.push(rule.rule.name());
                }
            } else {
                reason = format!("{reason}; a marked emergency deployment may go ahead");
            }
        }
        checks.push(Check {
            rule: rule.rule.name(),
            mode: rule.mode,
            passed,
            reason,
            retry_after,
            cause,
        });
    }
    let allowed = !checks.iter().any(|c| !c.passed && c.mode == Mode::Enforce);
    Verdict {
        allowed,
        checks,
        emergency_exemption: !stepped_over.is_empty(),
        emergency_stepped_over: stepped_over,
        rollback: matches!(back, Some(Return::Rollback { .. })),
        policy_source: policy.source,
    }
}

/// A rule in words, for pages and `treaty policy show`.
pub fn describe(policy: &Policy) -> String {
    let what = match &policy.rule {
        Rule::ContractCompatibility => {
            "Contract compatibility: can-i-deploy must say yes for the version here".to_owned()
        }
        Rule::Promotion { from } => {
            format!("Promotion: the version completes a deployment to {from} first")
        }
        Rule::Soak {
            environment,
            minimum,
        } => format!(
            "Soak: the version stays deployed in {environment} for {} in one stretch, with no failure and no open incident",
            format_duration(*minimum)
        ),
        Rule::Freeze { windows } => format!(
            "Freeze: no deployments {}",
            windows
                .iter()
                .map(describe_window)
                .collect::<Vec<_>>()
                .join("; nor ")
        ),
    };
    let mode = match policy.mode {
        Mode::Enforce => "enforced",
        Mode::ReportOnly => "report-only: reported, never blocks",
        Mode::Off => "off",
    };
    let emergency = if policy.allow_emergency {
        "; a marked emergency may step over it"
    } else {
        ""
    };
    format!("{what} ({mode}{emergency})")
}

fn describe_window(window: &FreezeWindow) -> String {
    let reason = match window {
        FreezeWindow::Once { reason, .. } | FreezeWindow::Weekly { reason, .. } => reason
            .as_ref()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default(),
    };
    match window {
        FreezeWindow::Once { start, end, .. } => format!(
            "from {} to {}{reason}",
            time::format(*start),
            time::format(*end)
        ),
        FreezeWindow::Weekly {
            days,
            from,
            to,
            time_zone,
            ..
        } => {
            let every = if days.len() == 7 {
                "every day".to_owned()
            } else {
                format!(
                    "on {}",
                    days.iter()
                        .map(|d| d.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            let next_day = if to <= from { " the next day" } else { "" };
            format!(
                "{every} from {} to {}{next_day} ({}){reason}",
                time_of_day(*from),
                time_of_day(*to),
                time_zone.name()
            )
        }
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_stored_policy_reads_back_as_it_was_given() {
        let given = json!({"rules": [
            {"rule": "soak", "environment": "staging", "minimum": "90s"},
            {"rule": "freeze", "windows": [
                {"start": "2026-12-24T00:00:00.250Z", "end": "2026-12-24T00:00:01Z"},
                {"days": ["fri"], "from": "16:00:30", "to": "08:00", "time_zone": "UTC"}]}]});
        let policies = parse_policies(&given).unwrap();
        let stored = policies_json(&policies);
        assert_eq!(parse_policies(&stored).unwrap(), policies, "{stored}");
        assert_eq!(stored["rules"][1]["windows"][1]["from"], json!("16:00:30"));
        let fraction = parse_policies(
            &json!({"rules": [{"rule": "soak", "environment": "staging", "minimum": "500ms"}]}),
        );
        assert!(fraction.unwrap_err()[0].contains("whole seconds"));
    }

    use super::*;

    fn at(day: u32, hour: u32, minute: u32, second: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, day, hour, minute, second)
            .unwrap()
    }

    fn facts(now: DateTime<Utc>) -> Facts {
        Facts {
            version: "1.2.3".to_owned(),
            environment: "production".to_owned(),
            now,
            emergency: false,
            contracts: Some(ContractAnswer {
                deployable: Some(true),
                reason: "All required verification results are published and successful".to_owned(),
            }),
            stays: Vec::new(),
            failures: Vec::new(),
            open_incidents: Vec::new(),
        }
    }

    fn policies(body: Value) -> EnvironmentPolicy {
        parse_environment_policy(&body).unwrap_or_else(|e| panic!("{e:?}"))
    }

    fn staging(since: DateTime<Utc>, until: Option<DateTime<Utc>>) -> Stay {
        Stay {
            environment: "staging".to_owned(),
            since,
            until,
        }
    }

    #[test]
    fn no_rules_allow_everything() {
        let verdict = evaluate(&policies(json!({"rules": []})), &facts(at(1, 12, 0, 0)));
        assert!(verdict.allowed);
        assert_eq!(verdict.cause(), None);
    }

    #[test]
    fn contract_compatibility_blocks_when_can_i_deploy_says_no_or_does_not_know() {
        let rules = policies(json!({"rules": [{"rule": "contract-compatibility"}]}));
        let mut f = facts(at(1, 12, 0, 0));
        assert!(evaluate(&rules, &f).allowed);
        f.contracts = Some(ContractAnswer {
            deployable: Some(false),
            reason: "Bar 2 has a failed verification".to_owned(),
        });
        let verdict = evaluate(&rules, &f);
        assert_eq!(
            (verdict.allowed, verdict.cause()),
            (false, Some(Cause::Contracts))
        );
        assert_eq!(
            verdict.summary(),
            "Blocked: Bar 2 has a failed verification"
        );
        f.contracts = Some(ContractAnswer {
            deployable: None,
            reason: "unknown".to_owned(),
        });
        assert!(!evaluate(&rules, &f).allowed);
    }

    #[test]
    fn promotion_needs_a_completed_deployment_to_the_earlier_environment() {
        let rules = policies(json!({"rules": [{"rule": "promotion", "from": "staging"}]}));
        let mut f = facts(at(1, 12, 0, 0));
        // A promotion through a failed deployment is no promotion.
        f.failures.push(Failure {
            environment: "staging".to_owned(),
            at: at(1, 10, 0, 0),
        });
        let verdict = evaluate(&rules, &f);
        assert_eq!(verdict.cause(), Some(Cause::Promotion));
        assert!(
            verdict.checks[0]
                .reason
                .contains("its deployment there failed"),
            "{}",
            verdict.checks[0].reason
        );
        assert_eq!(verdict.retry_after(), None, "it will not pass by waiting");
        // Deployed there later (and since undeployed): promoted.
        f.stays
            .push(staging(at(1, 11, 0, 0), Some(at(1, 11, 30, 0))));
        assert!(evaluate(&rules, &f).allowed);
    }

    #[test]
    fn soak_passes_at_the_second_it_completes() {
        let rules = policies(
            json!({"rules": [{"rule": "soak", "environment": "staging", "minimum": "1h"}]}),
        );
        let since = at(1, 11, 0, 0);
        let mut f = facts(at(1, 11, 59, 59));
        f.stays.push(staging(since, None));
        let verdict = evaluate(&rules, &f);
        assert_eq!(verdict.cause(), Some(Cause::Soak));
        assert_eq!(verdict.retry_after(), Some(at(1, 12, 0, 0)));
        assert!(
            verdict.checks[0]
                .reason
                .contains("59m 59s of the 1h required"),
            "{}",
            verdict.checks[0].reason
        );
        f.now = at(1, 12, 0, 0);
        assert!(evaluate(&rules, &f).allowed);
    }

    #[test]
    fn soak_fails_with_a_failure_or_an_open_incident_and_needs_one_long_enough_stay() {
        let rules = policies(
            json!({"rules": [{"rule": "soak", "environment": "staging", "minimum": "1h"}]}),
        );
        let mut f = facts(at(1, 15, 0, 0));
        f.stays.push(staging(at(1, 10, 0, 0), None));
        f.failures.push(Failure {
            environment: "staging".to_owned(),
            at: at(1, 10, 30, 0),
        });
        let verdict = evaluate(&rules, &f);
        assert!(!verdict.allowed);
        assert!(verdict.checks[0].reason.contains("failed while it soaked"));
        f.failures.clear();
        f.open_incidents.push(OpenIncident {
            environment: "staging".to_owned(),
            title: "latency".to_owned(),
            opened_at: at(1, 14, 0, 0),
        });
        assert!(
            evaluate(&rules, &f).checks[0]
                .reason
                .contains("incident is open")
        );
        f.open_incidents.clear();
        // Two short stays do not add up.
        f.stays = vec![
            staging(at(1, 10, 0, 0), Some(at(1, 10, 40, 0))),
            staging(at(1, 11, 0, 0), Some(at(1, 11, 40, 0))),
        ];
        let verdict = evaluate(&rules, &f);
        assert!(
            verdict.checks[0]
                .reason
                .contains("did not stay deployed in staging for 1h"),
            "{}",
            verdict.checks[0].reason
        );
        f.stays
            .push(staging(at(1, 12, 0, 0), Some(at(1, 13, 0, 0))));
        assert!(evaluate(&rules, &f).allowed);
    }

    #[test]
    fn a_freeze_that_starts_now_blocks_until_it_ends() {
        let rules = policies(json!({"rules": [{"rule": "freeze", "windows": [
            {"start": "2026-12-24T00:00:00Z", "end": "2026-12-27T00:00:00Z", "reason": "Christmas"}]}]}));
        let verdict = evaluate(&rules, &facts(at(24, 0, 0, 0)));
        assert_eq!(verdict.cause(), Some(Cause::Freeze));
        assert_eq!(verdict.retry_after(), Some(at(27, 0, 0, 0)));
        assert!(verdict.checks[0].reason.contains("Christmas"));
        assert!(evaluate(&rules, &facts(at(23, 23, 59, 59))).allowed);
        assert!(evaluate(&rules, &facts(at(27, 0, 0, 0))).allowed);
    }

    #[test]
    fn a_write_that_opens_changes_or_ends_a_freeze_is_a_freeze_change() {
        let policy = |body: Value| parse_environment_policy(&body).unwrap();
        let christmas = policy(json!({"rules": [{"rule": "freeze", "windows": [
            {"start": "2026-12-24T00:00:00Z", "end": "2026-12-27T00:00:00Z", "reason": "Christmas"}]}]}));
        let none = policy(json!({"rules": []}));
        let now = at(25, 0, 0, 0);
        let Some(FreezeChange::Frozen(open)) = freeze_change(Some(&none), Some(&christmas), now)
        else {
            panic!("freezing is announced")
        };
        assert_eq!(
            (open.reason.as_str(), open.until),
            ("Christmas", at(27, 0, 0, 0))
        );
        assert!(matches!(
            freeze_change(Some(&christmas), None, now),
            Some(FreezeChange::Unfrozen(_))
        ));
        assert_eq!(freeze_change(Some(&christmas), Some(&christmas), now), None);
        // A window that is not open yet changes nothing today.
        assert_eq!(freeze_change(None, Some(&christmas), at(1, 0, 0, 0)), None);
    }

    #[test]
    fn weekly_freezes_follow_their_time_zone_across_midnight() {
        // Fridays 16:00 to Mondays 08:00 would be three windows; here Friday 22:00 to 06:00 Berlin time.
        let rules = policies(json!({"rules": [{"rule": "freeze", "windows": [
            {"days": ["fri"], "from": "22:00", "to": "06:00", "time_zone": "Europe/Berlin"}]}]}));
        // 2026-12-04 is a Friday; Berlin is UTC+1 in December.
        assert!(evaluate(&rules, &facts(at(4, 20, 59, 59))).allowed);
        let verdict = evaluate(&rules, &facts(at(4, 21, 0, 0)));
        assert!(!verdict.allowed);
        assert_eq!(verdict.retry_after(), Some(at(5, 5, 0, 0)));
        // Saturday 04:59 UTC is 05:59 in Berlin: still frozen (the window began on Friday).
        assert!(!evaluate(&rules, &facts(at(5, 4, 59, 0))).allowed);
        assert!(evaluate(&rules, &facts(at(5, 5, 0, 0))).allowed);
    }

    #[test]
    fn back_to_back_windows_freeze_until_the_last_one_ends() {
        let rules = policies(json!({"rules": [{"rule": "freeze", "windows": [
            {"start": "2026-12-24T00:00:00Z", "end": "2026-12-25T00:00:00Z"},
            {"start": "2026-12-25T00:00:00Z", "end": "2026-12-26T12:00:00Z"}]}]}));
        assert_eq!(
            evaluate(&rules, &facts(at(24, 6, 0, 0))).retry_after(),
            Some(at(26, 12, 0, 0))
        );
    }

    #[test]
    fn an_emergency_goes_through_a_freeze_that_allows_it_and_is_flagged() {
        let window = json!([{"start": "2026-12-24T00:00:00Z", "end": "2026-12-27T00:00:00Z"}]);
        let strict = policies(json!({"rules": [{"rule": "freeze", "windows": window}]}));
        let lenient = policies(
            json!({"rules": [{"rule": "freeze", "windows": window, "allow_emergency": true}]}),
        );
        let mut f = facts(at(25, 0, 0, 0));
        f.emergency = true;
        assert!(
            !evaluate(&strict, &f).allowed,
            "emergencies go through only where allowed"
        );
        let verdict = evaluate(&lenient, &f);
        assert!(verdict.allowed && verdict.emergency_exemption);
        f.emergency = false;
        assert!(!evaluate(&lenient, &f).allowed);
    }

    #[test]
    fn report_only_rules_are_reported_and_never_block_and_off_rules_are_skipped() {
        let rules = policies(json!({"rules": [
            {"rule": "promotion", "from": "staging", "mode": "report-only"},
            {"rule": "contract-compatibility", "mode": "off"}]}));
        let mut f = facts(at(1, 12, 0, 0));
        f.contracts = None;
        let verdict = evaluate(&rules, &f);
        assert!(verdict.allowed);
        assert_eq!(verdict.checks.len(), 1);
        assert!(!verdict.checks[0].passed);
        assert_eq!(
            verdict.summary(),
            "Allowed, with 1 report-only rule(s) failing."
        );
    }

    #[test]
    fn rules_together_report_every_failure_and_the_freeze_first() {
        let rules = policies(json!({"rules": [
            {"rule": "contract-compatibility"},
            {"rule": "promotion", "from": "staging"},
            {"rule": "soak", "environment": "staging", "minimum": "2h"},
            {"rule": "freeze", "windows": [{"start": "2026-12-01T00:00:00Z", "end": "2026-12-02T00:00:00Z"}]}]}));
        let mut f = facts(at(1, 12, 0, 0));
        f.contracts = Some(ContractAnswer {
            deployable: Some(false),
            reason: "no".to_owned(),
        });
        let verdict = evaluate(&rules, &f);
        assert_eq!(verdict.checks.iter().filter(|c| !c.passed).count(), 4);
        assert_eq!(verdict.cause(), Some(Cause::Freeze));
        assert_eq!(
            verdict.retry_after(),
            None,
            "the promotion will not pass by waiting"
        );
        let json = verdict.to_json();
        assert_eq!(json["blocked_by"], "freeze");
        assert_eq!(json["checks"].as_array().unwrap().len(), 4);
    }

    #[test]
    fn policies_read_back_what_they_store_and_name_every_problem() {
        let body = json!({"rules": [
            {"rule": "soak", "environment": "staging", "minimum": "90m", "mode": "report-only"},
            {"rule": "freeze", "allow_emergency": true, "windows": [
                {"days": ["sat", "sun"], "from": "00:00", "to": "00:00", "time_zone": "America/New_York", "reason": "weekend"}]}]});
        let parsed = policies(body);
        let stored = parsed.to_json();
        assert_eq!(stored["rules"][0]["minimum"], "1h 30m");
        assert_eq!(stored["record_deployment"], "report-only");
        assert_eq!(stored["rollback_window"], "30days");
        assert_eq!(policies(stored), parsed);
        let errors = parse_policies(&json!({"rules": [
            {"rule": "soak", "minimum": "soon"},
            {"rule": "freeze", "windows": [{"from": "25:00", "to": "06:00", "time_zone": "Mars/Olympus"}]},
            {"rule": "teleport"},
            {"rule": "promotion", "from": "staging", "mode": "maybe"}]}))
        .unwrap_err();
        assert_eq!(
            errors,
            [
                "rules[0].environment is missing: where the version must have soaked",
                "rules[0].minimum must be a duration like 30m, 4h or 2days, in whole seconds (got 'soon')",
                "rules[1].windows[0].from must be a time of day like 16:00 (got '25:00')",
                "rules[1].windows[0].time_zone 'Mars/Olympus' is not a time zone name like Europe/Berlin",
                "rules[2].rule 'teleport' is not one of contract-compatibility, promotion, soak, freeze",
                "rules[3].mode 'maybe' is not one of enforce, report-only, off",
            ]
        );
        assert!(parse_policies(&json!({})).is_err());
    }

    fn production(since: DateTime<Utc>, until: Option<DateTime<Utc>>) -> Stay {
        Stay {
            environment: "production".to_owned(),
            since,
            until,
        }
    }

    #[test]
    fn a_rollback_within_the_window_needs_no_promotion_or_soak_and_is_flagged() {
        let rules = policies(json!({"rules": [
            {"rule": "promotion", "from": "staging"},
            {"rule": "soak", "environment": "staging", "minimum": "4h"}]}));
        let mut f = facts(at(20, 12, 0, 0));
        assert!(!evaluate(&rules, &f).allowed, "never deployed anywhere");
        // It ran in production until yesterday: going back to it is a rollback.
        f.stays
            .push(production(at(1, 12, 0, 0), Some(at(19, 12, 0, 0))));
        let verdict = evaluate(&rules, &f);
        assert!(verdict.allowed, "{:?}", verdict.checks);
        assert!(verdict.rollback);
        assert!(
            verdict.checks[0].reason.contains("a rollback"),
            "{}",
            verdict.checks[0].reason
        );
        assert_eq!(verdict.to_json()["rollback"], true);
        // Outside a shorter window it is a promotion like any other.
        let strict = policies(
            json!({"rollback_window": "12h", "rules": [{"rule": "promotion", "from": "staging"}]}),
        );
        let verdict = evaluate(&strict, &f);
        assert!(!verdict.allowed && !verdict.rollback);
        // Still running there: a redeploy, allowed, but no rollback.
        f.stays = vec![production(at(1, 12, 0, 0), None)];
        let verdict = evaluate(&rules, &f);
        assert!(verdict.allowed && !verdict.rollback);
    }

    #[test]
    fn an_emergency_steps_over_the_rules_that_allow_it_and_the_verdict_names_them() {
        let rules = policies(json!({"rules": [
            {"rule": "contract-compatibility"},
            {"rule": "promotion", "from": "staging", "allow_emergency": true},
            {"rule": "soak", "environment": "staging", "minimum": "4h", "allow_emergency": true},
            {"rule": "freeze", "windows": [{"start": "2026-12-01T00:00:00Z", "end": "2026-12-02T00:00:00Z"}]}]}));
        let mut f = facts(at(1, 12, 0, 0));
        f.emergency = true;
        let verdict = evaluate(&rules, &f);
        assert_eq!(
            verdict.cause(),
            Some(Cause::Freeze),
            "the freeze does not allow it"
        );
        assert_eq!(verdict.emergency_stepped_over, ["promotion", "soak"]);
        let json = verdict.to_json();
        assert_eq!(json["emergency_stepped_over"], json!(["promotion", "soak"]));
        f.emergency = false;
        let verdict = evaluate(&rules, &f);
        assert!(verdict.emergency_stepped_over.is_empty() && !verdict.emergency_exemption);
        assert!(
            verdict.checks[1]
                .reason
                .contains("a marked emergency deployment may go ahead")
        );
        let refused = parse_environment_policy(
            &json!({"rules": [{"rule": "contract-compatibility", "allow_emergency": true}]}),
        );
        assert!(refused.unwrap_err()[0].contains("cannot be set on contract-compatibility"));
    }

    #[test]
    fn without_a_policy_contracts_are_enforced_in_production_and_reported_elsewhere() {
        let mut f = facts(at(1, 12, 0, 0));
        f.contracts = Some(ContractAnswer {
            deployable: None,
            reason: "Bar 2 has not verified Foo 1.2.3".to_owned(),
        });
        let production = EnvironmentPolicy::default_for(true);
        let verdict = evaluate(&production, &f);
        assert_eq!(
            (verdict.allowed, verdict.cause()),
            (false, Some(Cause::Contracts))
        );
        assert_eq!(verdict.to_json()["policy_source"], "default");
        let test = EnvironmentPolicy::default_for(false);
        let verdict = evaluate(&test, &f);
        assert!(verdict.allowed);
        assert_eq!(
            verdict.summary(),
            "Allowed, with 1 report-only rule(s) failing."
        );
        assert!(
            test.source_reason("test", false)
                .contains("has no policy of its own")
        );
    }

    #[test]
    fn record_deployment_is_reported_unless_enforced() {
        let default = policies(json!({"rules": []}));
        assert_eq!(default.record_deployment, FactGate::ReportOnly);
        let enforced = policies(json!({"rules": [], "record_deployment": "enforce"}));
        assert_eq!(enforced.record_deployment, FactGate::Enforce);
        assert_eq!(policies(enforced.to_json()), enforced);
        let errors = parse_environment_policy(
            &json!({"rules": [], "record_deployment": "sometimes", "rollback_window": "soon"}),
        )
        .unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
    }

    #[test]
    fn rules_read_as_sentences_and_an_open_freeze_says_when_it_ends() {
        let rules = policies(json!({"rules": [
            {"rule": "soak", "environment": "staging", "minimum": "4h", "mode": "report-only"},
            {"rule": "freeze", "allow_emergency": true, "windows": [
                {"start": "2026-12-24T00:00:00Z", "end": "2026-12-27T00:00:00Z", "reason": "Christmas"},
                {"days": ["fri"], "from": "16:00", "to": "08:00", "time_zone": "Europe/Berlin"}]}]}));
        assert_eq!(
            describe(&rules.rules[0]),
            "Soak: the version stays deployed in staging for 4h in one stretch, with no failure and no open incident (report-only: reported, never blocks)"
        );
        assert_eq!(
            describe(&rules.rules[1]),
            "Freeze: no deployments from 2026-12-24T00:00:00+00:00 to 2026-12-27T00:00:00+00:00 (Christmas); nor on Fri from 16:00 to 08:00 the next day (Europe/Berlin) (enforced; a marked emergency may step over it)"
        );
        assert_eq!(rules.open_freeze(at(23, 12, 0, 0)), None);
        let open = rules.open_freeze(at(25, 12, 0, 0)).unwrap();
        assert_eq!(
            (open.reason.as_str(), open.until),
            ("Christmas", at(27, 0, 0, 0))
        );
        assert!(open.allow_emergency);
    }
}
