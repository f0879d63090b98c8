//! A version: its pacts and verifications, where it has been, and whether
//! it may be deployed to every environment now: the whole preflight verdict
//! (the environment's gates, can-i-deploy among them), with the contracts'
//! explanation and the fix.

use crate::path::Path;
use askama::Template;
use axum::extract::State;
use treaty_domain::gates;
use treaty_domain::matrix_query::{MAX_LIMIT, MatrixQuery, VersionSelector};
use treaty_domain::model::LedgerKind;
use treaty_store::LedgerFilter;

use super::verdicts::{self, Explanation, RowView};
use super::view::{Nav, Verdict, When, outside_link};
use super::{PageResult, not_found, ok};
use crate::AppState;
use crate::base_url::BaseUrl;

#[derive(Template)]
#[template(path = "ui/version.html")]
struct VersionPage {
    nav: Nav,
    application: String,
    application_href: String,
    number: String,
    branches: Vec<(String, bool)>,
    tags: Vec<String>,
    build_url: Option<String>,
    created: When,
    verdicts: Vec<EnvironmentVerdict>,
    /// Pacts this version published, as a consumer, with their verification.
    consumes: Vec<RowView>,
    /// Pacts this version verified, as a provider.
    provides: Vec<RowView>,
    places: Vec<Place>,
    /// Its provider contract (bi-directional contracts): the page's link,
    /// and whether its self-verification passed.
    provider_contract: Option<(String, bool)>,
    can_i_deploy_api: String,
}

struct EnvironmentVerdict {
    name: String,
    anchor: String,
    href: String,
    production: bool,
    /// The gates' verdict: what a deployment started now would meet.
    gates: GateAnswer,
    /// Can-i-deploy's answer, the contracts' part of it.
    explanation: Explanation,
}

/// The preflight verdict in words.
struct GateAnswer {
    /// good, bad, or unknown (allowed, with report-only rules failing).
    verdict: Verdict,
    /// "Yes", or "Blocked (freeze)".
    answer: String,
    summary: String,
    checks: Vec<(String, &'static str, bool, String)>,
    default_policy: bool,
}

impl GateAnswer {
    fn new(verdict: &gates::Verdict) -> Self {
        // Report-only rules that fail: allowed, but not a plain yes.
        let reported: Vec<&str> = verdict
            .checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| c.rule)
            .collect();
        Self {
            verdict: if !verdict.allowed {
                Verdict::Bad
            } else if !reported.is_empty() {
                Verdict::Unknown
            } else {
                Verdict::Good
            },
            answer: match (verdict.cause(), reported.as_slice()) {
                (Some(cause), _) => format!("Blocked ({})", cause.as_str()),
                (None, []) => "Yes".to_owned(),
                (None, rules) => {
                    format!("Allowed, but {} fails (report-only)", rules.join(" and "))
                }
            },
            summary: verdict.summary(),
            checks: verdict
                .checks
                .iter()
                .map(|c| {
                    (
                        c.rule.to_owned(),
                        c.mode.as_str(),
                        c.passed,
                        c.reason.clone(),
                    )
                })
                .collect(),
            default_policy: verdict.policy_source == gates::PolicySource::Default,
        }
    }
}

/// A ledger deployment or release of this version.
struct Place {
    href: String,
    id: i64,
    environment: String,
    environment_href: String,
    kind: &'static str,
    instance: Option<String>,
    from: When,
    until: Option<When>,
}

/// `GET /ui/applications/{name}/versions/{version}`
pub async fn page(
    State(state): State<AppState>,
    base: BaseUrl,
    viewer: super::forms::Viewer,
    Path((name, number)): Path<(String, String)>,
) -> PageResult {
    let nav = Nav::new(&base, &viewer, "home");
    let Some(version) = state.store.version(&name, &number).await? else {
        return not_found(
            &nav,
            "No such version",
            format!(
                "Treaty knows no version '{number}' of '{name}'. The application's page lists its versions."
            ),
        );
    };
    let links = nav.links.clone();

    let mut verdicts = Vec::new();
    for environment in state.store.pipeline_environments().await? {
        let matrix = verdicts::can_i_deploy(&state, &name, &number, &environment.name).await?;
        let contracts = gates::ContractAnswer {
            deployable: matrix.summary.deployable,
            reason: matrix.summary.reason(),
        };
        let (_, verdict) = crate::routes::gates::verdict(
            &state,
            &name,
            &number,
            &environment.name,
            false,
            Some(contracts),
        )
        .await?;
        verdicts.push(EnvironmentVerdict {
            gates: GateAnswer::new(&verdict),
            anchor: format!("to-{}", environment.id),
            href: links.environment(&environment.name),
            name: environment
                .display_name
                .clone()
                .unwrap_or_else(|| environment.name.clone()),
            production: environment.production,
            explanation: verdicts::explain(&links, &matrix),
        });
    }

    // Every pact and verification this version takes part in, either side.
    let involved = MatrixQuery {
        selectors: vec![VersionSelector {
            pacticipant: name.clone(),
            version: Some(number.clone()),
            ..VersionSelector::default()
        }],
        latest_by: None,
        scope: None,
        ignore: Vec::new(),
        success: None,
        limit: MAX_LIMIT,
    };
    let rows = crate::routes::matrix::answer(&state, &involved).await?.rows;
    let (consumes, provides): (Vec<_>, Vec<_>) = rows
        .iter()
        .filter(|r| r.consumer == name && r.consumer_version.number == number)
        .map(|r| (true, r))
        .chain(
            rows.iter()
                .filter(|r| {
                    r.provider == name
                        && r.provider_version
                            .as_ref()
                            .is_some_and(|v| v.number == number)
                })
                .map(|r| (false, r)),
        )
        .partition(|(as_consumer, _)| *as_consumer);

    // Where it has been, from the ledger: every completed deployment and
    // release, whichever API recorded it.
    let places: Vec<Place> = state
        .store
        .ledger_deployments(
            LedgerFilter {
                pacticipant: Some(name.clone()),
                version: Some(number.clone()),
                status: Some("completed".to_owned()),
                ..LedgerFilter::default()
            },
            None,
        )
        .await?
        .items
        .into_iter()
        .map(|d| Place {
            href: links.deployment(d.id),
            id: d.id,
            environment_href: links.environment(&d.environment),
            environment: d.environment,
            kind: match d.kind {
                LedgerKind::Release => "released",
                LedgerKind::Deployment => "deployed",
            },
            instance: d.application_instance,
            from: When::new(d.finished_at.unwrap_or(d.created_at)),
            until: When::maybe(d.ended_at),
        })
        .collect();

    let mut consumes: Vec<RowView> = consumes
        .into_iter()
        .map(|(_, r)| RowView::new(&links, r))
        .collect();
    let mut provides: Vec<RowView> = provides
        .into_iter()
        .map(|(_, r)| RowView::new(&links, r))
        .collect();
    let provider_contract = state
        .store
        .provider_contract(&name, &number)
        .await?
        .map(|c| {
            (
                links.provider_contract(&name, &number),
                c.self_verification.success,
            )
        });
    verdicts::mark_pending(&state, &mut consumes).await?;
    verdicts::mark_pending(&state, &mut provides).await?;
    let mut api_query = form_urlencoded::Serializer::new(String::new());
    api_query.append_pair("pacticipant", &name);
    api_query.append_pair("version", &number);
    ok(&VersionPage {
        application_href: links.application(&name),
        branches: version
            .branches
            .iter()
            .map(|b| (b.name.clone(), b.latest))
            .collect(),
        tags: version.tags.clone(),
        build_url: version.build_url.as_deref().and_then(outside_link),
        created: When::new(version.created_at),
        verdicts,
        consumes,
        provides,
        places,
        provider_contract,
        can_i_deploy_api: links.api(&format!(
            "/can-i-deploy/environments?{}",
            api_query.finish()
        )),
        application: name,
        number,
        nav,
    })
}
