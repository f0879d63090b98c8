//! An environment: what runs there now and whether it fits together, the
//! policies that gate it, and its deployment timeline.

use crate::path::Path;
use askama::Template;
use axum::extract::State;
use treaty_store::LedgerFilter;

use super::deployments::DeploymentLine;
use super::verdicts::{self, Cache};
use super::view::{Nav, Verdict, When};
use super::{PageResult, not_found, ok};
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
    viewer: super::forms::Viewer,
    Path(name): Path<String>,
) -> PageResult {
    let nav = Nav::new(&base, &viewer, "home");
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

    ok(&EnvironmentPage {
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
    })
}
