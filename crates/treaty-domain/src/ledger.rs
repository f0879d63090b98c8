//! The deployment ledger: a deployment's lifecycle (pending → started →
//! completed | failed | aborted, or timed out), the status words CI systems
//! send, and what an event may do to a deployment.

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
    pub idempotency_key: Option<String>,
    /// A deployment named explicitly (the id `start` printed), instead of the open one.
    pub deployment_id: Option<i64>,
    /// Free-form JSON the pipeline attaches (rollout progress, links, ...).
    pub extra_metadata: Option<Value>,
}

fn text(object: &Map<String, Value>, keys: &[&str], errors: &mut Vec<String>) -> Option<String> {
    for key in keys {
        match object.get(*key) {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if s.trim().is_empty() => {
                errors.push(format!("{key} cannot be blank"))
            }
            Some(Value::String(s)) => return Some(s.clone()),
            Some(Value::Number(n)) => return Some(n.to_string()),
            Some(_) => errors.push(format!("{key} must be a string")),
        }
    }
    None
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
    let event = Event {
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
    }
}
