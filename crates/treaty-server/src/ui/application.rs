//! An application: its versions, where each runs now, its integrations with
//! their latest verification, its deployment history and its DORA figures.

use crate::path::Path;
use askama::Template;
use axum::extract::State;
use chrono::{Duration, Utc};
use treaty_domain::dora::{self, Fact, Metrics, Window};
use treaty_domain::ledger::Status;
use treaty_domain::model::PageRequest;
use treaty_store::{DoraFilter, LedgerFilter};

use super::deployments::DeploymentLine;
use super::view::{Nav, Verdict, When, duration, outside_link};
use super::{PageResult, not_found, ok};
use crate::AppState;
use crate::base_url::BaseUrl;

/// The DORA window the page shows.
const DORA_DAYS: i64 = 30;

#[derive(Template)]
#[template(path = "ui/application.html")]
struct ApplicationPage {
    nav: Nav,
    name: String,
    display_name: Option<String>,
    main_branch: Option<String>,
    repository: Option<String>,
    labels: Vec<String>,
    running: Vec<Running>,
    versions: Vec<VersionLine>,
    more_versions: Option<u64>,
    integrations: Vec<IntegrationLine>,
    deployments: Vec<DeploymentLine>,
    history_href: String,
    dora: DoraView,
    api_href: String,
}

struct Running {
    environment: String,
    environment_href: String,
    version: String,
    version_href: String,
    instance: Option<String>,
    released: bool,
    since: When,
}

pub struct VersionLine {
    pub number: String,
    pub href: String,
    pub branches: Vec<(String, bool)>,
    pub tags: Vec<String>,
    pub created: When,
}

struct IntegrationLine {
    /// "consumes" or "is consumed by".
    relation: &'static str,
    other: String,
    other_href: String,
    contract_href: String,
    verdict: Verdict,
    result: String,
}

/// The four keys over the window, and deployments per day as bars.
struct DoraView {
    days: i64,
    deployments: u64,
    per_week: String,
    lead_time: String,
    failure_rate: String,
    time_to_restore: String,
    bars: Vec<Bar>,
    chart_label: String,
}

/// One day of the chart: completed (good) and failed (bad) deployments.
struct Bar {
    x: u32,
    good_y: u32,
    good_height: u32,
    bad_y: u32,
    bad_height: u32,
    title: String,
}

/// Chart geometry, in SVG units.
const BAR_WIDTH: u32 = 10;
const CHART_HEIGHT: u32 = 60;

/// `GET /ui/applications/{name}`
pub async fn page(
    State(state): State<AppState>,
    base: BaseUrl,
    viewer: super::forms::Viewer,
    Path(name): Path<String>,
) -> PageResult {
    let nav = Nav::new(&base, &viewer, "home");
    let Some(pacticipant) = state.store.pacticipant(&name).await? else {
        return not_found(
            &nav,
            "No such application",
            format!("Treaty knows no application named '{name}'. Home lists every one."),
        );
    };
    let links = nav.links.clone();

    // What runs where, from the ledger: the same source as the timeline.
    let mut running: Vec<Running> = state
        .store
        .ledger_deployments(
            LedgerFilter {
                pacticipant: Some(name.clone()),
                running: true,
                ..LedgerFilter::default()
            },
            None,
        )
        .await?
        .items
        .into_iter()
        .map(|d| Running {
            environment_href: links.environment(&d.environment),
            environment: d.environment,
            version_href: links.version(&name, &d.version),
            version: d.version,
            instance: d.application_instance,
            released: d.kind == treaty_domain::model::LedgerKind::Release,
            since: When::new(d.finished_at.unwrap_or(d.created_at)),
        })
        .collect();
    let pipeline = super::view::pipeline_order(&state).await?;
    running.sort_by_key(|r| (pipeline(&r.environment), r.environment.clone(), r.released));

    let versions_page = state
        .store
        .versions(
            &name,
            Some(PageRequest {
                number: 1,
                size: 25,
            }),
        )
        .await?;
    let more_versions = versions_page
        .page
        .map(|p| p.total_elements)
        .filter(|total| *total > versions_page.items.len() as u64);
    let versions = versions_page
        .items
        .iter()
        .map(|v| VersionLine {
            number: v.number.clone(),
            href: links.version(&name, &v.number),
            branches: v
                .branches
                .iter()
                .map(|b| (b.name.clone(), b.latest))
                .collect(),
            tags: v.tags.clone(),
            created: When::new(v.created_at),
        })
        .collect();

    let integrations = state
        .store
        .integrations(None)
        .await?
        .items
        .into_iter()
        .filter(|i| i.consumer == name || i.provider == name)
        .map(|i| {
            let (relation, other) = if i.consumer == name {
                ("consumes", i.provider.clone())
            } else {
                ("is consumed by", i.consumer.clone())
            };
            let verdict = Verdict::from_option(i.latest_verification.as_ref().map(|v| v.success));
            let result = match &i.latest_verification {
                Some(v) => format!(
                    "{} by {} {} on {}",
                    if v.success { "verified" } else { "failed" },
                    i.provider,
                    v.provider_version,
                    When::new(v.verified_at).text
                ),
                None => "not verified yet".to_owned(),
            };
            IntegrationLine {
                relation,
                other_href: links.application(&other),
                contract_href: links.contract(&i.provider, &i.consumer, None),
                other,
                verdict,
                result,
            }
        })
        .collect();

    let deployments = super::deployments::newest(
        &state,
        &links,
        LedgerFilter {
            pacticipant: Some(name.clone()),
            ..LedgerFilter::default()
        },
        20,
    )
    .await?;

    let to = Utc::now();
    let from = to - Duration::days(DORA_DAYS);
    let facts = state
        .store
        .dora_facts(DoraFilter {
            pacticipant: Some(name.clone()),
            environment: None,
            from,
        })
        .await?;
    let report = dora::compute(&facts, Window { from, to });

    ok(&ApplicationPage {
        history_href: links.deployments_where("application", &name),
        api_href: links.api(&format!("/pacticipants/{}", pacticipant.name)),
        name: pacticipant.name,
        display_name: pacticipant.display_name,
        main_branch: pacticipant.main_branch,
        repository: pacticipant.repository_url.as_deref().and_then(outside_link),
        labels: pacticipant.labels,
        running,
        versions,
        more_versions,
        integrations,
        deployments,
        dora: dora_view(&report.overall, &facts, from),
        nav,
    })
}

fn dora_view(metrics: &Metrics, facts: &[Fact], from: chrono::DateTime<Utc>) -> DoraView {
    let days = usize::try_from(DORA_DAYS).unwrap_or(30);
    let mut per_day = vec![(0u32, 0u32); days];
    for fact in facts {
        let Some(finished) = fact.finished_at else {
            continue;
        };
        let Ok(day) = usize::try_from((finished - from).num_days()) else {
            continue;
        };
        if let Some(slot) = per_day.get_mut(day) {
            match fact.status {
                Status::Completed => slot.0 += 1,
                Status::Failed => slot.1 += 1,
                _ => {}
            }
        }
    }
    let most = per_day.iter().map(|(g, b)| g + b).max().unwrap_or(0).max(1);
    let scale = |n: u32| n * CHART_HEIGHT / most;
    let bars = per_day
        .iter()
        .enumerate()
        .map(|(i, (good, bad))| {
            let good_height = scale(*good);
            let bad_height = scale(*bad);
            let day = from + Duration::days(i64::try_from(i).unwrap_or(0));
            Bar {
                x: u32::try_from(i).unwrap_or(0) * BAR_WIDTH,
                good_y: CHART_HEIGHT - good_height,
                good_height,
                bad_y: CHART_HEIGHT - good_height - bad_height,
                bad_height,
                title: format!("{}: {good} completed, {bad} failed", day.format("%Y-%m-%d")),
            }
        })
        .collect();
    let completed: u32 = per_day.iter().map(|(g, _)| g).sum();
    let failed: u32 = per_day.iter().map(|(_, b)| b).sum();
    DoraView {
        days: DORA_DAYS,
        deployments: metrics.deployments,
        per_week: format!("{:.1}", metrics.deployments_per_day * 7.0),
        lead_time: metrics
            .lead_time_seconds
            .map_or_else(|| "no samples".to_owned(), duration),
        failure_rate: metrics.change_failure_rate.map_or_else(
            || "no changes".to_owned(),
            |r| {
                format!(
                    "{:.0} % ({} of {})",
                    r * 100.0,
                    metrics.failures,
                    metrics.changes
                )
            },
        ),
        time_to_restore: metrics
            .time_to_restore_seconds
            .map_or_else(|| "nothing to restore".to_owned(), duration),
        bars,
        chart_label: format!(
            "Production deployments per day over the last {DORA_DAYS} days: {completed} completed, {failed} failed"
        ),
    }
}
