//! The deployment ledger: a deployment's lifecycle (pending → started →
//! completed | failed | aborted, or timed out), the status words CI systems
//! send, and what an event may do to a deployment.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    Pending,
    Started,
    Completed,
    Failed,
    Aborted,
    TimedOut,
}

impl Status {
    /// Reads a status as pipelines and tools word it (Versioner's alias table).
    pub fn parse(raw: &str) -> Option<Self> {
        Some(
            match raw.trim().to_ascii_lowercase().replace('-', "_").as_str() {
                "pending" | "queued" | "scheduled" | "waiting" => Self::Pending,
                "started" | "in_progress" | "init" | "deploying" | "running" => Self::Started,
                "completed" | "success" | "succeeded" | "complete" | "finished" | "deployed" => {
                    Self::Completed
                }
                "failed" | "fail" | "failure" | "error" => Self::Failed,
                "aborted" | "abort" | "cancelled" | "canceled" | "cancel" | "skipped" => {
                    Self::Aborted
                }
                "timed_out" | "timeout" => Self::TimedOut,
                _ => return None,
            },
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Started => "started",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Aborted => "aborted",
            Self::TimedOut => "timed_out",
        }
    }

    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Completed | Self::Failed | Self::Aborted | Self::TimedOut
        )
    }

    fn rank(self) -> u8 {
        match self {
            Self::Pending => 0,
            Self::Started => 1,
            _ => 2,
        }
    }
}

/// What an event does to the deployment it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// The deployment moves to the event's status.
    Move,
    /// Progress of a started deployment (a rollout step): recorded, no status change.
    Progress,
}

/// Why an event cannot apply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the deployment is {current} and cannot become {next}: a deployment moves pending → started → completed, failed or aborted, once"
)]
pub struct OutOfOrder {
    pub current: &'static str,
    pub next: &'static str,
}

/// What a refused event is answered with: the deployment, where it stands,
/// and why the event cannot apply.
pub fn refusal(id: i64, event: &Event, error: &OutOfOrder) -> String {
    format!(
        "Deployment {id} of {} version {} to {} is {}: it cannot become {} ({error})",
        event.pacticipant, event.version, event.environment, error.current, error.next
    )
}

/// Whether `next` may follow `current`.
pub fn transition(current: Status, next: Status) -> Result<Transition, OutOfOrder> {
    if current.is_final() || next == Status::TimedOut {
        return Err(OutOfOrder {
            current: current.as_str(),
            next: next.as_str(),
        });
    }
    if current == Status::Started && next == Status::Started {
        return Ok(Transition::Progress);
    }
    if next.rank() > current.rank() {
        Ok(Transition::Move)
    } else {
        Err(OutOfOrder {
            current: current.as_str(),
            next: next.as_str(),
        })
    }
}

/// A deployment event, validated.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Event {
    pub pacticipant: String,
    pub version: String,
    pub environment: String,
    pub status: Option<Status>,
    pub application_instance: Option<String>,
    pub deployed_by: Option<String>,
    pub scm_branch: Option<String>,
    pub scm_sha: Option<String>,
    pub scm_repository: Option<String>,
    pub build_url: Option<String>,
    pub build_number: Option<String>,
    pub source_system: Option<String>,
    /// When the deployed commit was made: where lead time for changes starts.
    pub scm_committed_at: Option<DateTime<Utc>>,
    pub idempotency_key: Option<String>,
    /// A deployment named explicitly (the id `start` printed), instead of the open one.
    pub deployment_id: Option<i64>,
    /// Free-form JSON the pipeline attaches (rollout progress, links, ...).
    pub extra_metadata: Option<Value>,
    /// A marked emergency: a freeze that allows emergencies lets it through.
    pub emergency: bool,
}

fn text(object: &Map<String, Value>, keys: &[&str], errors: &mut Vec<String>) -> Option<String> {
    let mut found: Option<(&str, String)> = None;
    for key in keys {
        let value = match object.get(*key) {
            None | Some(Value::Null) => continue,
            Some(Value::String(s)) if s.trim().is_empty() => {
                errors.push(format!("{key} cannot be blank"));
                continue;
            }
            // Every field is one line that webhooks may put in a header.
            Some(Value::String(s)) if let Some(bad) = crate::names::forbidden_character(s) => {
                errors.push(format!("{key} contains {bad}"));
                continue;
            }
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            Some(_) => {
                errors.push(format!("{key} must be a string"));
                continue;
            }
        };
        // Aliases that disagree name two things: which one was meant is a
        // guess, and a guess must not decide what is recorded (or who may).
        match &found {
            Some((first, earlier)) if *earlier != value => {
                errors.push(format!(
                    "{first} and {key} name different values ('{earlier}' and '{value}'): send one of them"
                ));
                return None;
            }
            Some(_) => {}
            None => found = Some((key, value)),
        }
    }
    found.map(|(_, value)| value)
}

/// An RFC 3339 timestamp under one of `keys`.
fn timestamp(
    object: &Map<String, Value>,
    keys: &[&str],
    errors: &mut Vec<String>,
) -> Option<DateTime<Utc>> {
    let key = keys
        .iter()
        .find(|k| object.get(**k).is_some_and(|v| !v.is_null()))?;
    let raw = text(object, &[key], errors)?;
    match DateTime::parse_from_rfc3339(&raw) {
        Ok(at) => Some(at.with_timezone(&Utc)),
        Err(_) => {
            errors.push(format!(
                "{key} must be a timestamp like 2026-01-31T14:05:00Z (got '{raw}')"
            ));
            None
        }
    }
}

/// An incident recorded against a deployment, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct NewIncident {
    pub title: String,
    pub severity: Option<String>,
    pub url: Option<String>,
    pub opened_by: Option<String>,
    /// When it began; now when not given (incidents are often recorded late).
    pub opened_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
}

/// Reads `{"title", "severity", "url", "opened_by", "opened_at", "resolved_at"}`.
pub fn parse_incident(body: &Value) -> Result<NewIncident, Vec<String>> {
    let Some(object) = body.as_object() else {
        return Err(vec!["the incident must be a JSON object".to_owned()]);
    };
    let mut errors = Vec::new();
    let title = text(object, &["title", "summary"], &mut errors);
    if title.is_none() && errors.is_empty() {
        errors.push("title is missing: say what went wrong in a few words".to_owned());
    }
    let incident = NewIncident {
        title: title.unwrap_or_default(),
        severity: text(object, &["severity"], &mut errors),
        url: text(object, &["url"], &mut errors),
        opened_by: text(object, &["opened_by"], &mut errors),
        opened_at: timestamp(object, &["opened_at"], &mut errors),
        resolved_at: timestamp(object, &["resolved_at"], &mut errors),
    };
    if let (Some(opened), Some(resolved)) = (incident.opened_at, incident.resolved_at)
        && resolved < opened
    {
        errors.push("resolved_at is before opened_at".to_owned());
    }
    if errors.is_empty() {
        Ok(incident)
    } else {
        Err(errors)
    }
}

/// Reads an event body with Versioner's field names (and Treaty's Pact Broker
/// names as aliases), naming every problem.
pub fn parse_event(body: &Value) -> Result<Event, Vec<String>> {
    let Some(object) = body.as_object() else {
        return Err(vec!["the event must be a JSON object".to_owned()]);
    };
    let mut errors = Vec::new();
    let pacticipant = text(
        object,
        &["product_name", "pacticipant", "product"],
        &mut errors,
    );
    let version = text(object, &["version"], &mut errors);
    let environment = text(object, &["environment_name", "environment"], &mut errors);
    let raw_status = text(object, &["status"], &mut errors);
    if pacticipant.is_none() {
        errors.push("product_name is missing (the pacticipant being deployed)".to_owned());
    }
    if version.is_none() {
        errors.push("version is missing".to_owned());
    }
    // An event may create the pacticipant and the version: the same rules as
    // every other door that writes a name.
    if let Some(Err(error)) = pacticipant.as_deref().map(crate::PacticipantName::parse) {
        errors.push(format!("product_name {error}"));
    }
    if let Some(Err(error)) = version.as_deref().map(crate::VersionNumber::parse) {
        errors.push(format!("version {error}"));
    }
    if environment.is_none() {
        errors.push("environment_name is missing".to_owned());
    }
    let status = match raw_status.as_deref() {
        None => {
            errors.push("status is missing: one of pending, started, completed, failed, aborted (or an alias such as queued, in_progress, success, error, cancelled)".to_owned());
            None
        }
        Some(raw) => match Status::parse(raw) {
            Some(Status::TimedOut) => {
                errors.push("status timed_out is set by Treaty, not sent".to_owned());
                None
            }
            Some(status) => Some(status),
            None => {
                errors.push(format!("status '{raw}' is not one of pending, started, completed, failed, aborted (or an alias such as queued, in_progress, success, error, cancelled)"));
                None
            }
        },
    };
    let deployment_id = match object.get("deployment_id") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) if n.as_i64().is_some() => n.as_i64(),
        Some(Value::String(s)) if s.parse::<i64>().is_ok() => s.parse().ok(),
        Some(_) => {
            errors.push("deployment_id must be a number".to_owned());
            None
        }
    };
    let extra_metadata = match object.get("extra_metadata") {
        None | Some(Value::Null) => None,
        Some(value @ Value::Object(_)) => Some(value.clone()),
        Some(_) => {
            errors.push("extra_metadata must be a JSON object".to_owned());
            None
        }
    };
    let emergency = match object.get("emergency") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            errors.push("emergency must be true or false".to_owned());
            false
        }
    };
    let scm_committed_at = timestamp(
        object,
        &["scm_committed_at", "scm_commit_time", "commit_time"],
        &mut errors,
    );
    let event = Event {
        emergency,
        scm_committed_at,
        application_instance: text(
            object,
            &["application_instance", "applicationInstance"],
            &mut errors,
        ),
        deployed_by: text(object, &["deployed_by"], &mut errors),
        scm_branch: text(object, &["scm_branch"], &mut errors),
        scm_sha: text(object, &["scm_sha"], &mut errors),
        scm_repository: text(object, &["scm_repository"], &mut errors),
        build_url: text(object, &["build_url"], &mut errors),
        build_number: text(object, &["build_number"], &mut errors),
        source_system: text(object, &["source_system"], &mut errors),
        idempotency_key: text(object, &["idempotency_key", "invoke_id"], &mut errors),
        pacticipant: pacticipant.unwrap_or_default(),
        version: version.unwrap_or_default(),
        environment: environment.unwrap_or_default(),
        status,
        deployment_id,
        extra_metadata,
    };
    if errors.is_empty() {
        Ok(event)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reads_the_status_words_pipelines_send() {
        for (raw, status) in [
            ("queued", Status::Pending),
            ("in_progress", Status::Started),
            ("In-Progress", Status::Started),
            ("success", Status::Completed),
            ("error", Status::Failed),
            ("cancelled", Status::Aborted),
        ] {
            assert_eq!(Status::parse(raw), Some(status), "{raw}");
        }
        assert_eq!(Status::parse("exploded"), None);
    }

    #[test]
    fn aliases_that_name_different_pacticipants_are_refused() {
        let event = |body| parse_event(&body);
        let errors = event(
            json!({"product_name": "payments-app", "pacticipant": "Victim",
            "version": "1", "environment_name": "production", "status": "completed"}),
        )
        .unwrap_err();
        assert!(
            errors
                .iter()
                .any(|e| e.contains("product_name and pacticipant name different values")),
            "{errors:?}"
        );
        let same = event(
            json!({"product_name": "payments-app", "pacticipant": "payments-app",
            "version": "1", "environment_name": "production", "status": "completed"}),
        )
        .unwrap();
        assert_eq!(same.pacticipant, "payments-app");
        // A name given as a number is the name the event records, and the one checked.
        let number = event(json!({"product_name": 2048, "version": "1",
            "environment_name": "production", "status": "completed"}))
        .unwrap();
        assert_eq!(number.pacticipant, "2048");
    }

    #[test]
    fn a_deployment_moves_forward_once() {
        assert_eq!(
            transition(Status::Pending, Status::Started),
            Ok(Transition::Move)
        );
        assert_eq!(
            transition(Status::Started, Status::Started),
            Ok(Transition::Progress)
        );
        assert_eq!(
            transition(Status::Started, Status::Completed),
            Ok(Transition::Move)
        );
        assert_eq!(
            transition(Status::Pending, Status::Failed),
            Ok(Transition::Move)
        );
        assert!(transition(Status::Started, Status::Pending).is_err());
        assert!(transition(Status::Completed, Status::Failed).is_err());
        assert!(transition(Status::Aborted, Status::Started).is_err());
        let error = transition(Status::Completed, Status::Started).unwrap_err();
        assert_eq!(error.current, "completed");
    }

    #[test]
    fn events_are_read_with_versioner_names_and_every_problem_is_named() {
        let event = parse_event(&json!({
            "product_name": "Foo", "version": "1", "environment_name": "production", "status": "in_progress",
            "deployed_by": "ci", "scm_sha": "abc", "build_number": 42, "invoke_id": "run-1", "extra_metadata": {"canary": 10}
        }))
        .unwrap();
        assert_eq!(event.status, Some(Status::Started));
        assert_eq!(event.build_number.as_deref(), Some("42"));
        assert_eq!(event.idempotency_key.as_deref(), Some("run-1"));
        let errors = parse_event(
            &json!({"status": "exploded", "extra_metadata": [1], "deployment_id": "x"}),
        )
        .unwrap_err();
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with("product_name is missing"))
        );
        assert!(errors.iter().any(|e| e.starts_with("status 'exploded'")));
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with("extra_metadata must be"))
        );
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with("deployment_id must be"))
        );
        assert!(parse_event(&json!([1])).is_err());
        let dated = parse_event(
            &json!({"product_name": "Foo", "version": "1", "environment_name": "production",
            "status": "started", "scm_commit_time": "2026-01-31T14:05:00+01:00"}),
        )
        .unwrap();
        assert_eq!(
            dated.scm_committed_at.map(|t| t.to_rfc3339()).as_deref(),
            Some("2026-01-31T13:05:00+00:00")
        );
        let errors = parse_event(
            &json!({"product_name": "Foo", "version": "1", "environment_name": "production",
            "status": "started", "commit_time": "yesterday"}),
        )
        .unwrap_err();
        assert_eq!(
            errors,
            ["commit_time must be a timestamp like 2026-01-31T14:05:00Z (got 'yesterday')"]
        );
    }

    #[test]
    fn incidents_need_a_title_and_times_in_order() {
        let incident = parse_incident(&json!({"title": "checkout errors", "severity": "sev2", "opened_at": "2026-01-01T10:00:00Z"})).unwrap();
        assert_eq!(incident.severity.as_deref(), Some("sev2"));
        assert!(parse_incident(&json!({})).unwrap_err()[0].starts_with("title is missing"));
        let errors = parse_incident(&json!({"title": "x", "opened_at": "2026-01-01T10:00:00Z", "resolved_at": "2026-01-01T09:00:00Z"})).unwrap_err();
        assert_eq!(errors, ["resolved_at is before opened_at"]);
    }
}
