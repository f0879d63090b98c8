//! The deployment ledger: every deployment, filterable, and each one with
//! its events, metadata, incidents and the evidence kept when it began.

use crate::path::Path;
use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::Deserialize;
use treaty_domain::ledger::Status;
use treaty_domain::model::{LedgerDeployment, LedgerKind, PageRequest};
use treaty_store::LedgerFilter;

use super::view::{Links, Nav, Verdict, When, outside_link, pretty, status_verdict};
use super::{PageResult, not_found, ok};
use crate::AppState;
use crate::base_url::BaseUrl;
use crate::error::ApiError;

const PAGE_SIZE: u32 = 50;

/// A deployment as one line of a list.
pub struct DeploymentLine {
    pub href: String,
    pub id: i64,
    pub application: String,
    pub application_href: String,
    pub version: String,
    pub version_href: String,
    pub environment: String,
    pub environment_href: String,
    pub instance: Option<String>,
    pub status: String,
    pub verdict: Verdict,
    pub deployed_by: Option<String>,
    pub when: When,
    pub rollback: bool,
    pub emergency: bool,
    pub bypassed_gates: bool,
    pub release: bool,
    /// It runs (or is supported) now.
    pub running: bool,
    /// How it stopped running, when it did: "replaced", "undeployed", ...
    pub ended: Option<String>,
    pub open_incidents: usize,
}

impl DeploymentLine {
    pub fn new(links: &Links, d: &LedgerDeployment) -> Self {
        Self {
            href: links.deployment(d.id),
            id: d.id,
            application: d.pacticipant.clone(),
            application_href: links.application(&d.pacticipant),
            version: d.version.clone(),
            version_href: links.version(&d.pacticipant, &d.version),
            environment: d.environment.clone(),
            environment_href: links.environment(&d.environment),
            instance: d.application_instance.clone(),
            status: d.status.replace('_', " "),
            verdict: status_verdict(&d.status),
            deployed_by: d.deployed_by.clone(),
            when: When::new(d.finished_at.or(d.started_at).unwrap_or(d.created_at)),
            rollback: d.rollback,
            emergency: d.emergency,
            bypassed_gates: d.bypassed_gates,
            release: d.kind == LedgerKind::Release,
            running: d.running(),
            ended: d.end_reason.map(|r| r.as_str().replace('_', " ")),
            open_incidents: d
                .incidents
                .iter()
                .filter(|i| i.resolved_at.is_none())
                .count(),
        }
    }
}

/// The newest deployments matching a filter, as lines.
pub async fn newest(
    state: &AppState,
    links: &Links,
    filter: LedgerFilter,
    size: u32,
) -> Result<Vec<DeploymentLine>, ApiError> {
    Ok(state
        .store
        .ledger_deployments(filter, Some(PageRequest { number: 1, size }))
        .await?
        .items
        .iter()
        .map(|d| DeploymentLine::new(links, d))
        .collect())
}

#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    application: Option<String>,
    environment: Option<String>,
    status: Option<String>,
    page: Option<String>,
}

/// An option of a filter's list.
struct Choice {
    value: String,
    selected: bool,
}

impl Choice {
    fn list(values: impl IntoIterator<Item = String>, chosen: &str) -> Vec<Self> {
        values
            .into_iter()
            .map(|value| Self {
                selected: value == chosen,
                value,
            })
            .collect()
    }
}

#[derive(Template)]
#[template(path = "ui/deployments.html")]
struct List {
    nav: Nav,
    application: String,
    statuses: Vec<Choice>,
    environments: Vec<Choice>,
    problem: Option<String>,
    deployments: Vec<DeploymentLine>,
    total: u64,
    page: u32,
    previous: Option<String>,
    next: Option<String>,
}

/// `GET /ui/deployments?application=&environment=&status=&page=`
pub async fn list(
    State(state): State<AppState>,
    base: BaseUrl,
    viewer: super::forms::Viewer,
    filters: Result<Query<Filters>, QueryRejection>,
) -> PageResult {
    let Query(filters) = filters.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let nav = Nav::new(&base, &viewer, "deployments");
    let links = nav.links.clone();
    let text = |v: &Option<String>| v.clone().unwrap_or_default().trim().to_owned();
    let (application, environment, status) = (
        text(&filters.application),
        text(&filters.environment),
        text(&filters.status),
    );
    // A filter the ledger cannot apply is said on the page, not answered with an error page.
    let mut problem = None;
    let parsed_status = if status.is_empty() {
        None
    } else {
        let parsed = Status::parse(&status);
        if parsed.is_none() {
            problem = Some(format!(
                "There is no status '{status}': choose one of the list."
            ));
        }
        parsed
    };
    let page = match filters.page.as_deref().map(str::parse::<u32>) {
        None => 1,
        Some(Ok(n)) if n >= 1 => n,
        Some(_) => {
            problem = Some("The page must be a whole number from 1.".to_owned());
            1
        }
    };
    let (deployments, total) = if problem.is_some() {
        (Vec::new(), 0)
    } else {
        let found = state
            .store
            .ledger_deployments(
                LedgerFilter {
                    pacticipant: Some(application.clone()).filter(|a| !a.is_empty()),
                    environment: Some(environment.clone()).filter(|e| !e.is_empty()),
                    status: parsed_status.map(|s| s.as_str().to_owned()),
                    ..LedgerFilter::default()
                },
                Some(PageRequest {
                    number: page,
                    size: PAGE_SIZE,
                }),
            )
            .await?;
        let total = found
            .page
            .map_or(found.items.len() as u64, |p| p.total_elements);
        (
            found
                .items
                .iter()
                .map(|d| DeploymentLine::new(&links, d))
                .collect(),
            total,
        )
    };
    let page_link = |n: u32| {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (key, value) in [
            ("application", &application),
            ("environment", &environment),
            ("status", &status),
        ] {
            if !value.is_empty() {
                query.append_pair(key, value);
            }
        }
        query.append_pair("page", &n.to_string());
        format!("{}?{}", links.deployments(), query.finish())
    };
    let pages = total.div_ceil(u64::from(PAGE_SIZE));
    ok(&List {
        previous: (page > 1).then(|| page_link(page - 1)),
        next: (u64::from(page) < pages).then(|| page_link(page + 1)),
        environments: Choice::list(
            state
                .store
                .pipeline_environments()
                .await?
                .into_iter()
                .map(|e| e.name),
            &environment,
        ),
        statuses: Choice::list(
            [
                Status::Pending,
                Status::Started,
                Status::Completed,
                Status::Failed,
                Status::Aborted,
                Status::TimedOut,
            ]
            .map(|s| s.as_str().to_owned()),
            parsed_status.map_or("", Status::as_str),
        ),
        nav,
        application,
        problem,
        deployments,
        total,
        page,
    })
}

#[derive(Template)]
#[template(path = "ui/deployment.html")]
struct Detail {
    nav: Nav,
    line: DeploymentLine,
    facts: Vec<(&'static str, String)>,
    build_url: Option<String>,
    events: Vec<EventView>,
    incidents: Vec<IncidentView>,
    evidence_answer: Option<(Verdict, String)>,
    gates: Option<GatesView>,
    ended: Option<EndedView>,
    evidence: Option<String>,
    metadata: Option<String>,
    api_href: String,
    /// Where its action forms post (`/incidents`, `/fail`).
    actions_base: String,
    /// Still pending or started: it can be marked failed.
    in_progress: bool,
}

/// The gates' verdict kept with a deployment, in words.
struct GatesView {
    allowed: bool,
    summary: String,
    checks: Vec<CheckView>,
    stepped_over: Vec<String>,
    rollback: bool,
    default_policy: bool,
}

struct CheckView {
    rule: String,
    mode: String,
    passed: bool,
    reason: String,
}

impl GatesView {
    fn from_json(gates: &serde_json::Value) -> Option<Self> {
        let allowed = gates["allowed"].as_bool()?;
        let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
        Some(Self {
            allowed,
            summary: text(&gates["summary"]),
            checks: gates["checks"]
                .as_array()
                .map(|checks| {
                    checks
                        .iter()
                        .map(|c| CheckView {
                            rule: text(&c["rule"]),
                            mode: text(&c["mode"]),
                            passed: c["passed"].as_bool().unwrap_or(false),
                            reason: text(&c["reason"]),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            stepped_over: gates["emergency_stepped_over"]
                .as_array()
                .map(|rules| rules.iter().map(text).collect())
                .unwrap_or_default(),
            rollback: gates["rollback"].as_bool().unwrap_or(false),
            default_policy: gates["policy_source"] == "default",
        })
    }
}

/// How a completed deployment stopped running.
struct EndedView {
    reason: String,
    when: When,
    by: Option<String>,
    replaced_by: Option<(i64, String)>,
}

struct EventView {
    status: String,
    verdict: Verdict,
    when: When,
    metadata: Option<String>,
}

struct IncidentView {
    /// Where its Resolve form posts.
    resolve_action: String,
    title: String,
    severity: Option<String>,
    url: Option<String>,
    opened: When,
    resolved: Option<When>,
}

/// `GET /ui/deployments/{id}`
pub async fn detail(
    State(state): State<AppState>,
    base: BaseUrl,
    viewer: super::forms::Viewer,
    Path(id): Path<String>,
) -> PageResult {
    let nav = Nav::new(&base, &viewer, "deployments");
    let deployment = match id.parse::<i64>() {
        Ok(id) => state.store.ledger_deployment(id).await?,
        Err(_) => None,
    };
    let Some(d) = deployment else {
        return not_found(
            &nav,
            "No such deployment",
            format!(
                "There is no deployment {id} in the ledger. The list of deployments has every one."
            ),
        );
    };
    let links = nav.links.clone();
    let mut facts = Vec::new();
    let mut fact = |label: &'static str, value: &Option<String>| {
        if let Some(value) = value {
            facts.push((label, value.clone()));
        }
    };
    fact("Deployed by", &d.deployed_by);
    fact("Branch", &d.scm_branch);
    fact("Commit", &d.scm_sha);
    fact("Repository", &d.scm_repository);
    fact("Build number", &d.build_number);
    fact("Reported by", &d.source_system);
    fact(
        "Committed at",
        &d.scm_committed_at.map(|t| When::new(t).text),
    );
    fact("Started", &d.started_at.map(|t| When::new(t).text));
    fact("Finished", &d.finished_at.map(|t| When::new(t).text));
    fact(
        "Recorded through",
        &d.source_system.as_deref().map(|source| match source {
            "pact-broker-api" => {
                "the Pact Broker API (record-deployment, record-release)".to_owned()
            }
            "pact-broker-tag" => "a tag named after the environment".to_owned(),
            other => other.to_owned(),
        }),
    );
    // The evidence is kept as the API shows it: `deployable` and `reason`
    // at its top, the gates' verdict under `gates`.
    let evidence_answer = d
        .evidence
        .as_ref()
        .filter(|e| e.get("deployable").is_some())
        .map(|e| {
            let deployable = e["deployable"].as_bool();
            let reason = e["reason"].as_str().unwrap_or("").to_owned();
            (Verdict::from_option(deployable), reason)
        });
    let gates = d
        .evidence
        .as_ref()
        .and_then(|e| e.get("gates"))
        .and_then(GatesView::from_json);
    let ended = match (d.ended_at, d.end_reason) {
        (Some(at), Some(reason)) => Some(EndedView {
            reason: reason.as_str().replace('_', " "),
            when: When::new(at),
            by: d.ended_by.clone(),
            replaced_by: d.replaced_by.map(|id| (id, links.deployment(id))),
        }),
        _ => None,
    };
    ok(&Detail {
        line: DeploymentLine::new(&links, &d),
        actions_base: links.deployment(d.id),
        in_progress: matches!(d.status.as_str(), "pending" | "started"),
        facts,
        build_url: d.build_url.as_deref().and_then(outside_link),
        events: d
            .events
            .iter()
            .map(|e| EventView {
                status: e.status.replace('_', " "),
                verdict: status_verdict(&e.status),
                when: When::new(e.created_at),
                metadata: e.metadata.as_ref().map(pretty),
            })
            .collect(),
        incidents: d
            .incidents
            .iter()
            .map(|i| IncidentView {
                resolve_action: format!("{}/incidents/{}/resolve", links.deployment(d.id), i.id),
                title: i.title.clone(),
                severity: i.severity.clone(),
                url: i.url.as_deref().and_then(outside_link),
                opened: When::new(i.opened_at),
                resolved: When::maybe(i.resolved_at),
            })
            .collect(),
        evidence_answer,
        gates,
        ended,
        evidence: d.evidence.as_ref().map(pretty),
        metadata: d.extra_metadata.as_ref().map(pretty),
        api_href: links.api(&format!("/deployments/{}", d.id)),
        nav,
    })
}
