//! An environment: what runs there now and whether it fits together, the
//! policies that gate it (with a form to edit its rules and preview them),
//! and its deployment timeline.

use crate::path::Path;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};
use treaty_domain::gates::{EnvironmentPolicy, FactGate};
use treaty_store::LedgerFilter;

use super::forms::{Posted, Viewer};
use super::manage::{problem_text, see_other};
use crate::error::ApiError;

use super::deployments::DeploymentLine;
use super::verdicts::{self, Cache};
use super::view::{Nav, Verdict, When};
use super::{PageResult, html, not_found};
use crate::AppState;
use crate::base_url::BaseUrl;

#[derive(Template)]
#[template(path = "ui/environment.html")]
struct EnvironmentPage {
    nav: Nav,
    name: String,
    title: String,
    production: bool,
    running: Vec<RunningLine>,
    policy: PolicyView,
    freeze: Option<FreezeBanner>,
    /// The freeze form's end, four hours from now, to the minute (UTC).
    freeze_until_default: String,
    freeze_action: String,
    lift_freeze_action: String,
    deployments: Vec<DeploymentLine>,
    timeline_href: String,
    api_href: String,
    /// The rules as a form (admin); `None` when the policy has rules the
    /// form cannot hold (several of one kind): the API edits those.
    policy_form: Option<PolicyForm>,
    policy_action: String,
    preview_action: String,
    /// The other environments, which promotion and soak rules may name.
    others: Vec<String>,
    /// What a preview found; `None` when nothing was previewed.
    preview: Option<Vec<PreviewLine>>,
    policy_problem: Option<String>,
}

/// The rules of a policy as form fields: one rule of each kind at most.
pub(super) struct PolicyForm {
    /// `none` (no such rule), or the rule's mode.
    contracts: String,
    promotion_from: String,
    promotion_mode: String,
    promotion_emergency: bool,
    soak_environment: String,
    soak_minimum: String,
    soak_mode: String,
    soak_emergency: bool,
    /// The freeze rule's windows as JSON (docs/gates.md), empty for none.
    freeze_windows: String,
    freeze_mode: String,
    freeze_emergency: bool,
    record_deployment: String,
    rollback_window: String,
}

const MODES: [&str; 3] = ["enforce", "report-only", "off"];

impl PolicyForm {
    /// The policy in force as the form shows it.
    fn of(policy: &EnvironmentPolicy) -> Option<Self> {
        let body = policy.to_json();
        let mut form = Self {
            contracts: "none".to_owned(),
            promotion_from: String::new(),
            promotion_mode: "enforce".to_owned(),
            promotion_emergency: false,
            soak_environment: String::new(),
            soak_minimum: String::new(),
            soak_mode: "enforce".to_owned(),
            soak_emergency: false,
            freeze_windows: String::new(),
            freeze_mode: "enforce".to_owned(),
            freeze_emergency: false,
            record_deployment: match policy.record_deployment {
                FactGate::Enforce => "enforce",
                FactGate::ReportOnly => "report-only",
            }
            .to_owned(),
            rollback_window: body["rollback_window"]
                .as_str()
                .unwrap_or("30days")
                .to_owned(),
        };
        let text = |rule: &Value, key: &str| rule[key].as_str().unwrap_or_default().to_owned();
        let mut seen = Vec::new();
        for rule in body["rules"].as_array().into_iter().flatten() {
            let kind = text(rule, "rule");
            if seen.contains(&kind) {
                return None;
            }
            let mode = text(rule, "mode");
            let emergency = rule["allow_emergency"].as_bool().unwrap_or(false);
            match kind.as_str() {
                "contract-compatibility" => form.contracts = mode,
                "promotion" => {
                    form.promotion_from = text(rule, "from");
                    form.promotion_mode = mode;
                    form.promotion_emergency = emergency;
                }
                "soak" => {
                    form.soak_environment = text(rule, "environment");
                    form.soak_minimum = text(rule, "minimum");
                    form.soak_mode = mode;
                    form.soak_emergency = emergency;
                }
                "freeze" => {
                    form.freeze_windows =
                        serde_json::to_string_pretty(&rule["windows"]).unwrap_or_default();
                    form.freeze_mode = mode;
                    form.freeze_emergency = emergency;
                }
                _ => return None,
            }
            seen.push(kind);
        }
        Some(form)
    }

    /// The form as posted, to show again.
    fn posted(form: &Posted) -> Self {
        let text = |name: &str| form.get(name).unwrap_or_default().to_owned();
        let mode = |name: &str| form.get(name).unwrap_or("enforce").to_owned();
        Self {
            contracts: form.get("contracts").unwrap_or("none").to_owned(),
            promotion_from: text("promotion_from"),
            promotion_mode: mode("promotion_mode"),
            promotion_emergency: form.checked("promotion_emergency"),
            soak_environment: text("soak_environment"),
            soak_minimum: text("soak_minimum"),
            soak_mode: mode("soak_mode"),
            soak_emergency: form.checked("soak_emergency"),
            freeze_windows: text("freeze_windows"),
            freeze_mode: mode("freeze_mode"),
            freeze_emergency: form.checked("freeze_emergency"),
            record_deployment: form
                .get("record_deployment")
                .unwrap_or("report-only")
                .to_owned(),
            rollback_window: text("rollback_window"),
        }
    }

    /// The policy document `PUT /policies/{environment}` takes.
    fn body(&self) -> Result<Value, ApiError> {
        let mut rules = Vec::new();
        if self.contracts != "none" {
            rules.push(json!({"rule": "contract-compatibility", "mode": self.contracts}));
        }
        if !self.promotion_from.is_empty() {
            rules.push(json!({"rule": "promotion", "from": self.promotion_from,
                "mode": self.promotion_mode, "allow_emergency": self.promotion_emergency}));
        }
        if !self.soak_environment.is_empty() {
            rules.push(json!({"rule": "soak", "environment": self.soak_environment,
                "minimum": self.soak_minimum, "mode": self.soak_mode,
                "allow_emergency": self.soak_emergency}));
        }
        if !self.freeze_windows.is_empty() {
            let windows: Value = serde_json::from_str(&self.freeze_windows).map_err(|e| {
                ApiError::BadRequest(format!(
                    "The freeze windows are not JSON ({e}): write a list like [{{\"days\": [\"fri\"], \"from\": \"16:00\", \"to\": \"08:00\"}}]"
                ))
            })?;
            rules.push(
                json!({"rule": "freeze", "windows": windows, "mode": self.freeze_mode,
                "allow_emergency": self.freeze_emergency}),
            );
        }
        let mut body = json!({"rules": rules, "record_deployment": self.record_deployment});
        if !self.rollback_window.is_empty() {
            body["rollback_window"] = json!(self.rollback_window);
        }
        Ok(body)
    }

    fn modes(&self, chosen: &str) -> Vec<(&'static str, bool)> {
        MODES.into_iter().map(|m| (m, m == chosen)).collect()
    }
}

/// A version deployed in another environment, judged here now under the
/// policy in force and under the draft.
struct PreviewLine {
    application: String,
    version: String,
    version_href: String,
    runs_in: String,
    in_force: String,
    in_force_allowed: bool,
    draft: String,
    draft_allowed: bool,
}

/// The policy in force, in words.
struct PolicyView {
    rules: Vec<String>,
    /// The environment has none of its own: this is the default.
    default: bool,
    source: String,
    record_deployment: &'static str,
    rollback_window: String,
    api_href: String,
}

/// A freeze window open now.
struct FreezeBanner {
    reason: String,
    until: When,
    enforced: bool,
    allow_emergency: bool,
}

struct RunningLine {
    application: String,
    application_href: String,
    version: String,
    version_href: String,
    instance: Option<String>,
    released: bool,
    since: When,
    verdict: Verdict,
    standing: &'static str,
}

/// `GET /ui/environments/{name}`
pub async fn page(
    State(state): State<AppState>,
    base: BaseUrl,
    viewer: Viewer,
    Path(name): Path<String>,
) -> PageResult {
    render(&state, &base, &viewer, &name, None, StatusCode::OK).await
}

/// A policy being edited: the form as posted, what was wrong with it or
/// the preview it asked for.
struct Draft {
    form: PolicyForm,
    problem: Option<String>,
    preview: Option<Vec<PreviewLine>>,
}

async fn render(
    state: &AppState,
    base: &BaseUrl,
    viewer: &Viewer,
    name: &str,
    draft: Option<Draft>,
    status: StatusCode,
) -> PageResult {
    let state = state.clone();
    let name = name.to_owned();
    let nav = Nav::new(base, viewer, "environments");
    let Some(environment) = state.store.environment_by_name(&name).await? else {
        return not_found(
            &nav,
            "No such environment",
            format!(
                "Treaty knows no environment named '{name}'. Home shows every one as a column."
            ),
        );
    };
    let links = nav.links.clone();
    let mut cache = Cache::default();
    let mut running: Vec<RunningLine> = verdicts::placements(&state, &mut cache, &environment)
        .await?
        .into_iter()
        .map(|p| RunningLine {
            application_href: links.application(&p.application),
            version_href: links.version(&p.application, &p.version),
            application: p.application,
            version: p.version,
            instance: p.instance,
            released: p.released,
            since: When::new(p.since),
            verdict: p.verdict,
            standing: verdicts::standing(p.verdict),
        })
        .collect();
    running.sort_by(|a, b| a.application.cmp(&b.application));

    let policy = crate::routes::gates::policy(&state, &environment.name).await?;
    let (policy_form, preview, policy_problem) = match draft {
        Some(draft) => (Some(draft.form), draft.preview, draft.problem),
        None => (PolicyForm::of(&policy), None, None),
    };
    let others = state
        .store
        .pipeline_environments()
        .await?
        .into_iter()
        .map(|e| e.name)
        .filter(|n| n != &environment.name)
        .collect();
    let freeze = policy
        .open_freeze(chrono::Utc::now())
        .map(|open| FreezeBanner {
            reason: open.reason,
            until: When::new(open.until),
            enforced: open.mode == treaty_domain::gates::Mode::Enforce,
            allow_emergency: open.allow_emergency,
        });
    let policy = PolicyView {
        rules: policy
            .rules
            .iter()
            .map(treaty_domain::gates::describe)
            .collect(),
        default: policy.source == treaty_domain::gates::PolicySource::Default,
        source: policy.source_reason(&environment.name, environment.production),
        record_deployment: match policy.record_deployment {
            treaty_domain::gates::FactGate::Enforce => {
                "refused like a gated start when the gates say no"
            }
            treaty_domain::gates::FactGate::ReportOnly => {
                "recorded (they already happened), marked \"bypassed gates\" when the gates would have refused them"
            }
        },
        rollback_window: humantime::format_duration(
            policy.rollback_window.to_std().unwrap_or_default(),
        )
        .to_string(),
        api_href: links.api(&format!(
            "/policies/{}",
            percent_encoding::utf8_percent_encode(
                &environment.name,
                percent_encoding::NON_ALPHANUMERIC
            )
        )),
    };
    let deployments = super::deployments::newest(
        &state,
        &links,
        LedgerFilter {
            environment: Some(environment.name.clone()),
            ..LedgerFilter::default()
        },
        30,
    )
    .await?;

    html(
        status,
        &EnvironmentPage {
            policy_form,
            policy_action: nav.links.environment_action(&environment.name, "policy"),
            preview_action: nav
                .links
                .environment_action(&environment.name, "policy/preview"),
            others,
            preview,
            policy_problem,
            title: environment
                .display_name
                .clone()
                .unwrap_or_else(|| environment.name.clone()),
            production: environment.production,
            running,
            policy,
            freeze,
            freeze_action: nav.links.environment_action(&environment.name, "freeze"),
            lift_freeze_action: nav
                .links
                .environment_action(&environment.name, "lift-freeze"),
            freeze_until_default: (chrono::Utc::now() + chrono::Duration::hours(4))
                .format("%Y-%m-%dT%H:%M")
                .to_string(),
            deployments,
            timeline_href: links.deployments_where("environment", &environment.name),
            api_href: links.api(&format!("/environments/{}", environment.uuid)),
            name: environment.name,
            nav,
        },
    )
}

/// Whether a refused form is the person's to fix (shown on the page) or a fault.
fn for_the_form(error: ApiError) -> Result<String, ApiError> {
    match error {
        error @ (ApiError::Validation(_)
        | ApiError::ValidationList(_)
        | ApiError::BadRequest(_)
        | ApiError::NotFound(_)) => Ok(problem_text(&error)),
        other => Err(other),
    }
}

/// `POST /ui/environments/{name}/policy` (admin): as `PUT /policies/{environment}`.
pub(super) async fn save_policy(
    State(state): State<AppState>,
    base: BaseUrl,
    viewer: Viewer,
    Path(name): Path<String>,
    form: Posted,
) -> PageResult {
    let draft = PolicyForm::posted(&form);
    let saved = async {
        let body = draft.body()?;
        crate::routes::gates::set_policy(&state, &name, &body, viewer.actor()).await
    }
    .await;
    match saved {
        Ok(_) => Ok(see_other(super::view::Links::new(&base).environment(&name))),
        Err(error) => {
            let status = error.status();
            let problem = Some(for_the_form(error)?);
            let draft = Draft {
                form: draft,
                problem,
                preview: None,
            };
            render(&state, &base, &viewer, &name, Some(draft), status).await
        }
    }
}

/// `POST /ui/environments/{name}/policy/preview` (admin): saves nothing; the
/// page again with the draft, and for each version deployed in the other
/// environments today's verdict here under the rules in force and under the draft.
pub(super) async fn preview_policy(
    State(state): State<AppState>,
    base: BaseUrl,
    viewer: Viewer,
    Path(name): Path<String>,
    form: Posted,
) -> PageResult {
    let draft = PolicyForm::posted(&form);
    let previewed = async {
        let body = draft.body()?;
        let (_, drafted) = crate::routes::gates::parse_policy_for(&state, &name, &body).await?;
        preview_lines(&state, &base, &name, &drafted).await
    }
    .await;
    let (status, draft) = match previewed {
        Ok(lines) => (
            StatusCode::OK,
            Draft {
                form: draft,
                problem: None,
                preview: Some(lines),
            },
        ),
        Err(error) => {
            let status = error.status();
            let problem = Some(for_the_form(error)?);
            (
                status,
                Draft {
                    form: draft,
                    problem,
                    preview: None,
                },
            )
        }
    };
    render(&state, &base, &viewer, &name, Some(draft), status).await
}

async fn preview_lines(
    state: &AppState,
    base: &BaseUrl,
    environment: &str,
    drafted: &EnvironmentPolicy,
) -> Result<Vec<PreviewLine>, ApiError> {
    let links = super::view::Links::new(base);
    let in_force = crate::routes::gates::policy(state, environment).await?;
    let running = state
        .store
        .ledger_deployments(
            LedgerFilter {
                running: true,
                ..LedgerFilter::default()
            },
            None,
        )
        .await?
        .items;
    // Each version once, with the other environments it runs in.
    let mut versions: Vec<(String, String, Vec<String>)> = Vec::new();
    for d in running.into_iter().filter(|d| d.environment != environment) {
        match versions
            .iter_mut()
            .find(|(a, v, _)| a == &d.pacticipant && v == &d.version)
        {
            Some((_, _, places)) if !places.contains(&d.environment) => places.push(d.environment),
            Some(_) => {}
            None => versions.push((d.pacticipant, d.version, vec![d.environment])),
        }
    }
    versions.sort();
    let mut lines = Vec::with_capacity(versions.len());
    for (application, version, places) in versions {
        let contracts =
            crate::routes::gates::contract_answer(state, &application, &version, environment)
                .await?;
        let judge = |policy| {
            crate::routes::gates::verdict_under(
                state,
                policy,
                &application,
                &version,
                environment,
                false,
                Some(contracts.clone()),
            )
        };
        let now = judge(&in_force).await?;
        let then = judge(drafted).await?;
        lines.push(PreviewLine {
            version_href: links.version(&application, &version),
            runs_in: places.join(", "),
            in_force: now.summary(),
            in_force_allowed: now.allowed,
            draft: then.summary(),
            draft_allowed: then.allowed,
            application,
            version,
        });
    }
    Ok(lines)
}
