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
use super::integration_status::StatusView;
use super::view::{Nav, When, duration, outside_link};
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
    /// The newest versions' provider contracts (bi-directional contracts).
    provider_contracts: Vec<ProviderContractLine>,
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

struct ProviderContractLine {
    version: String,
    href: String,
    self_verified: bool,
    published: When,
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
    matrix_href: String,
    /// The provider's main line decides the colour (`integration_status`).
    status: StatusView,
}

/// The four keys over the window, and deployments per day as bars.
struct DoraView {
    days: i64,
    deployments: u64,
    per_week: String,
    lead_time: String,
    failure_rate: String,
    time_to_restore: String,
    chart: Chart,
    chart_label: String,
}

/// The per-day chart: its bars, its axes, and its size in SVG units.
struct Chart {
    bars: Vec<Bar>,
    /// Dates under the x axis, and counts beside the y axis.
    x_ticks: Vec<Tick>,
    y_ticks: Vec<Tick>,
    width: u32,
    height: u32,
    /// Where the plot's left edge, top and bottom (the x axis) are.
    left: u32,
    top: u32,
    bottom: u32,
    right: u32,
}

struct Tick {
    at: u32,
    label: String,
}

/// One day of the chart: completed (good) and failed (bad) deployments.
struct Bar {
    day: String,
    completed: u32,
    failed: u32,
    /// The whole column of the day, so hovering it shows its title.
    x: u32,
    bar_x: u32,
    good_y: u32,
    good_height: u32,
    bad_y: u32,
    bad_height: u32,
    title: String,
}

/// Chart geometry, in SVG units: a column per day, room for the axes' labels.
const DAY_WIDTH: u32 = 14;
const BAR_WIDTH: u32 = 10;
const PLOT_HEIGHT: u32 = 100;
const PLOT_LEFT: u32 = 30;
const PLOT_TOP: u32 = 8;
const LABELS_BELOW: u32 = 22;
const MARGIN_RIGHT: u32 = 16;

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
    // Which of the versions listed published a provider contract.
    let mut provider_contracts = Vec::new();
    for version in &versions_page.items {
        if let Some(contract) = state
            .store
            .provider_contract(&name, &version.number)
            .await?
        {
            provider_contracts.push(ProviderContractLine {
                href: links.provider_contract(&name, &version.number),
                version: version.number.clone(),
                self_verified: contract.self_verification.success,
                published: When::new(contract.created_at),
            });
        }
    }
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

    let statuses = super::integration_status::statuses(&state, None, None).await?;
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
            let status = StatusView::new(
                statuses.get(&(i.consumer.clone(), i.provider.clone())),
                &i.provider,
            );
            IntegrationLine {
                relation,
                other_href: links.application(&other),
                contract_href: links.contract(&i.provider, &i.consumer, None),
                matrix_href: links.integration(&i.provider, &i.consumer),
                other,
                status,
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
        provider_contracts,
        integrations,
        deployments,
        dora: dora_view(&report.overall, &facts, to),
        nav,
    })
}

/// Deployments per UTC day for the last `DORA_DAYS` days, today last:
/// a day is a calendar date, as the axis says, not a rolling 24 hours.
fn dora_view(metrics: &Metrics, facts: &[Fact], to: chrono::DateTime<Utc>) -> DoraView {
    let days = usize::try_from(DORA_DAYS).unwrap_or(30);
    let today = to.date_naive();
    let mut per_day = vec![(0u32, 0u32); days];
    for fact in facts {
        let Some(finished) = fact.finished_at else {
            continue;
        };
        let Ok(ago) = usize::try_from((today - finished.date_naive()).num_days()) else {
            continue;
        };
        if let Some(slot) = ago
            .checked_add(1)
            .and_then(|n| days.checked_sub(n))
            .and_then(|day| per_day.get_mut(day))
        {
            match fact.status {
                Status::Completed => slot.0 += 1,
                Status::Failed => slot.1 += 1,
                _ => {}
            }
        }
    }
    let chart = chart(&per_day, today);
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
        chart,
        chart_label: format!(
            "Production deployments per day over the last {DORA_DAYS} days: {completed} completed, {failed} failed"
        ),
    }
}

/// Lays the days out: bars scaled to the busiest day, a date under every
/// seventh day counting back from today, and counts 0, half and the most.
fn chart(per_day: &[(u32, u32)], today: chrono::NaiveDate) -> Chart {
    let days = u32::try_from(per_day.len()).unwrap_or(0);
    let most = per_day.iter().map(|(g, b)| g + b).max().unwrap_or(0).max(1);
    let scale = |n: u32| n * PLOT_HEIGHT / most;
    let bottom = PLOT_TOP + PLOT_HEIGHT;
    let date_of =
        |i: usize| today - Duration::days(i64::try_from(per_day.len() - 1 - i).unwrap_or(0));
    let column = |i: usize| PLOT_LEFT + u32::try_from(i).unwrap_or(0) * DAY_WIDTH;
    let bars = per_day
        .iter()
        .enumerate()
        .map(|(i, &(completed, failed))| {
            let good_height = scale(completed);
            let bad_height = scale(failed);
            let day = date_of(i).format("%Y-%m-%d").to_string();
            Bar {
                title: format!("{day}: {completed} completed, {failed} failed"),
                day,
                completed,
                failed,
                x: column(i),
                bar_x: column(i) + (DAY_WIDTH - BAR_WIDTH) / 2,
                good_y: bottom - good_height,
                good_height,
                bad_y: bottom - good_height - bad_height,
                bad_height,
            }
        })
        .collect();
    let x_ticks = (0..per_day.len())
        .filter(|i| (per_day.len() - 1 - i).is_multiple_of(7))
        .map(|i| Tick {
            at: column(i) + DAY_WIDTH / 2,
            label: date_of(i).format("%m-%d").to_string(),
        })
        .collect();
    let mut counts = vec![0, most];
    if most >= 4 && most.is_multiple_of(2) {
        counts.insert(1, most / 2);
    }
    let y_ticks = counts
        .into_iter()
        .map(|n| Tick {
            at: bottom - scale(n),
            label: n.to_string(),
        })
        .collect();
    Chart {
        bars,
        x_ticks,
        y_ticks,
        width: PLOT_LEFT + days * DAY_WIDTH + MARGIN_RIGHT,
        height: bottom + LABELS_BELOW,
        left: PLOT_LEFT,
        top: PLOT_TOP,
        bottom,
        right: PLOT_LEFT + days * DAY_WIDTH,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chart_names_today_and_every_seventh_day_before_and_counts_from_zero() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 6).unwrap();
        let mut per_day = vec![(0, 0); 30];
        per_day[29] = (3, 1);
        per_day[0] = (1, 0);
        let chart = chart(&per_day, today);
        let dates: Vec<_> = chart.x_ticks.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(dates, ["11-08", "11-15", "11-22", "11-29", "12-06"]);
        let counts: Vec<_> = chart.y_ticks.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(counts, ["0", "2", "4"]);
        assert_eq!(chart.bars[0].title, "2026-11-07: 1 completed, 0 failed");
        assert_eq!(chart.bars[29].title, "2026-12-06: 3 completed, 1 failed");
        // The busiest day fills the plot.
        let last = &chart.bars[29];
        assert_eq!(last.good_height + last.bad_height, PLOT_HEIGHT);
        assert_eq!(last.bad_y, PLOT_TOP);
    }
}
