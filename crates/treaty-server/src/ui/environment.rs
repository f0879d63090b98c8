//! An environment: what runs there now and whether it fits together, the
//! policies that gate it, and its deployment timeline.

use crate::path::Path;
use askama::Template;
use axum::extract::State;
use treaty_store::LedgerFilter;

use super::deployments::DeploymentLine;
use super::verdicts::{self, Cache};
use super::view::{Nav, Verdict, When, pretty};
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
    policies: Option<String>,
    deployments: Vec<DeploymentLine>,
    timeline_href: String,
    api_href: String,
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
    Path(name): Path<String>,
) -> PageResult {
    let nav = Nav::new(&base, "home");
    let Some(environment) = state.store.environment_by_name(&name).await? else {
        return not_found(
            &base,
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

    let policies = state
        .store
        .environment_policies(&environment.name)
        .await?
        .as_ref()
        .map(pretty);
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
        policies,
        deployments,
        timeline_href: links.deployments_where("environment", &environment.name),
        api_href: links.api(&format!("/environments/{}", environment.uuid)),
        name: environment.name,
        nav,
    })
}
