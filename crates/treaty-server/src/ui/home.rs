//! Home: every application against every environment, what runs in each
//! cell and whether it is compatible with the rest of that environment;
//! drift between environments; recent deployments and failing verifications.

use std::collections::BTreeSet;

use askama::Template;
use axum::extract::State;
use treaty_store::LedgerFilter;

use super::deployments::DeploymentLine;
use super::verdicts::{self, Cache};
use treaty_domain::integration_status::Colour;

use super::integration_status::StatusView;
use super::view::{Nav, Verdict};
use super::{PageResult, ok};
use crate::AppState;
use crate::base_url::BaseUrl;

#[derive(Template)]
#[template(path = "ui/home.html")]
struct Home {
    nav: Nav,
    environments: Vec<Column>,
    rows: Vec<ApplicationRow>,
    deployments: Vec<DeploymentLine>,
    failing: Vec<FailingPair>,
    not_yet: Vec<FailingPair>,
    integrations_href: String,
}

struct Column {
    title: String,
    href: String,
    production: bool,
}

struct ApplicationRow {
    name: String,
    href: String,
    /// One cell per environment, in the columns' order.
    cells: Vec<Vec<Entry>>,
    /// Set when the application runs different versions in different places.
    drift: Option<String>,
}

/// A version in an environment: deployed (per instance) or released.
struct Entry {
    version: String,
    href: String,
    instance: Option<String>,
    released: bool,
    verdict: Verdict,
    standing: &'static str,
    /// Not the version production runs.
    drifted: bool,
}

/// An integration whose verifications fail somewhere: red when its main
/// line failed; apart when only pending or WIP pacts or other branches fail.
struct FailingPair {
    consumer: String,
    consumer_href: String,
    provider: String,
    matrix_href: String,
    status: StatusView,
}

/// `GET /ui`, and `GET /` for a browser.
pub async fn page(
    State(state): State<AppState>,
    base: BaseUrl,
    viewer: super::forms::Viewer,
) -> PageResult {
    let nav = Nav::new(&base, &viewer, "home");
    let links = nav.links.clone();
    let environments = state.store.pipeline_environments().await?;
    let pacticipants = state.store.pacticipants(None, None).await?.items;
    let mut cache = Cache::default();

    // What runs where: (environment index, application) -> entries.
    let mut placed: Vec<Vec<(String, Entry)>> = Vec::with_capacity(environments.len());
    for environment in &environments {
        let entries = verdicts::placements(&state, &mut cache, environment)
            .await?
            .into_iter()
            .map(|p| {
                let entry = Entry {
                    href: links.version(&p.application, &p.version),
                    version: p.version,
                    instance: p.instance,
                    released: p.released,
                    verdict: p.verdict,
                    standing: verdicts::standing(p.verdict),
                    drifted: false,
                };
                (p.application, entry)
            })
            .collect();
        placed.push(entries);
    }

    let mut rows = Vec::with_capacity(pacticipants.len());
    for pacticipant in &pacticipants {
        let mut cells: Vec<Vec<Entry>> = placed
            .iter_mut()
            .map(|entries| {
                let (mine, others): (Vec<_>, Vec<_>) = std::mem::take(entries)
                    .into_iter()
                    .partition(|(name, _)| name == &pacticipant.name);
                *entries = others;
                mine.into_iter().map(|(_, entry)| entry).collect()
            })
            .collect();
        let versions: BTreeSet<&str> = cells.iter().flatten().map(|e| e.version.as_str()).collect();
        let drift = (versions.len() > 1).then(|| {
            let places = cells.iter().filter(|c| !c.is_empty()).count();
            format!(
                "{} versions across {places} environment{}",
                versions.len(),
                if places == 1 { "" } else { "s" }
            )
        });
        if drift.is_some() {
            let in_production: BTreeSet<String> = environments
                .iter()
                .zip(&cells)
                .filter(|(e, _)| e.production)
                .flat_map(|(_, c)| c.iter().map(|e| e.version.clone()))
                .collect();
            if !in_production.is_empty() {
                for entry in cells.iter_mut().flatten() {
                    entry.drifted = !in_production.contains(&entry.version);
                }
            }
        }
        rows.push(ApplicationRow {
            name: pacticipant.name.clone(),
            href: links.application(&pacticipant.name),
            cells,
            drift,
        });
    }

    let deployments =
        super::deployments::newest(&state, &links, LedgerFilter::default(), 10).await?;

    // Branch-aware: the provider's main line decides what is red.
    let mut failing = Vec::new();
    let mut not_yet = Vec::new();
    let mut statuses: Vec<_> = super::integration_status::statuses(&state, None, None)
        .await?
        .into_iter()
        .collect();
    statuses.sort_by(|a, b| a.0.cmp(&b.0));
    for ((consumer, provider), status) in statuses {
        let red = status.colour == Colour::Failed;
        if !red && status.colour != Colour::Pending && status.others_failing().0 == 0 {
            continue;
        }
        let pair = FailingPair {
            consumer_href: links.application(&consumer),
            matrix_href: links.integration(&provider, &consumer),
            status: StatusView::new(Some(&status), &provider),
            consumer,
            provider,
        };
        if red {
            failing.push(pair);
        } else {
            not_yet.push(pair);
        }
    }

    ok(&Home {
        environments: environments
            .iter()
            .map(|e| Column {
                title: e.display_name.clone().unwrap_or_else(|| e.name.clone()),
                href: links.environment(&e.name),
                production: e.production,
            })
            .collect(),
        nav,
        rows,
        deployments,
        failing,
        not_yet,
        integrations_href: links.integrations(),
    })
}
