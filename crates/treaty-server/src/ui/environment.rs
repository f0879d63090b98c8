//! An environment: what runs there now and whether it fits together, the
//! policies that gate it, and its deployment timeline.

use askama::Template;
use axum::extract::{Path, State};
use treaty_domain::model::PageRequest;
use treaty_store::{DeployedFilter, LedgerFilter};

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
    let mut running = Vec::new();
    let deployed = state
        .store
        .currently_deployed(&environment.uuid, DeployedFilter::default())
        .await?;
    let released = state
        .store
        .currently_supported(&environment.uuid, None, None)
        .await?;
    let found = deployed
        .iter()
        .map(|d| {
            (
                &d.pacticipant,
                &d.version,
                d.application_instance.clone(),
                false,
                d.created_at,
            )
        })
        .chain(
            released
                .iter()
                .map(|r| (&r.pacticipant, &r.version, None, true, r.created_at)),
        );
    for (application, version, instance, released, since) in found {
        let verdict = cache
            .verdict(&state, application, version, &environment.name)
            .await?;
        running.push(RunningLine {
            application: application.clone(),
            application_href: links.application(application),
            version: version.clone(),
            version_href: links.version(application, version),
            instance,
            released,
            since: When::new(since),
            verdict,
            standing: verdicts::standing(verdict),
        });
    }
    running.sort_by(|a, b| a.application.cmp(&b.application));

    let policies = state
        .store
        .environment_policies(&environment.name)
        .await?
        .as_ref()
        .map(pretty);
    let deployments = state
        .store
        .ledger_deployments(
            LedgerFilter {
                environment: Some(environment.name.clone()),
                ..LedgerFilter::default()
            },
            Some(PageRequest {
                number: 1,
                size: 30,
            }),
        )
        .await?
        .items
        .iter()
        .map(|d| DeploymentLine::new(&links, d))
        .collect();

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
