//! Can-i-deploy answers shaped for pages: the verdict, why, what would fix
//! it, and the rows it was decided from. Asked exactly as `/can-i-deploy`
//! asks, so the UI and the API never disagree.

use std::collections::HashMap;

use treaty_domain::matrix::{Matrix, NoticeKind, Row};
use treaty_domain::matrix_query::{CanIDeployQuery, CanIDeployTarget, MatrixQuery};

use super::view::{Links, Verdict, When};
use crate::AppState;
use crate::error::ApiError;

/// One can-i-deploy answer.
#[derive(Debug, Clone)]
pub struct Explanation {
    pub verdict: Verdict,
    /// "Yes", "No", or "Unknown" with the sign for it.
    pub answer: &'static str,
    pub reasons: Vec<Reason>,
    pub fixes: Vec<String>,
    pub rows: Vec<RowView>,
}

#[derive(Debug, Clone)]
pub struct Reason {
    pub class: &'static str,
    pub text: String,
}

/// One pact and its verification, as a line of a table.
#[derive(Debug, Clone)]
pub struct RowView {
    pub consumer: String,
    pub consumer_href: String,
    pub consumer_version: String,
    pub consumer_version_href: String,
    pub provider: String,
    pub provider_href: String,
    pub provider_version: Option<(String, String)>,
    pub contract_href: String,
    /// A bi-directional row's comparison (the pact against the provider's
    /// document), which stands where a verification would.
    pub comparison_href: Option<String>,
    /// The result's CSS class and sign: the verdict's, or the pending look
    /// when `mark_pending` found a failure that was pending or WIP.
    pub class: &'static str,
    pub symbol: &'static str,
    pub result: &'static str,
    pub verified_at: Option<When>,
    verification: Option<i64>,
}

impl RowView {
    pub fn new(links: &Links, row: &Row) -> Self {
        let verdict = Verdict::from_option(row.success());
        Self {
            consumer: row.consumer.clone(),
            consumer_href: links.application(&row.consumer),
            consumer_version: row.consumer_version.number.clone(),
            consumer_version_href: links.version(&row.consumer, &row.consumer_version.number),
            provider: row.provider.clone(),
            provider_href: links.application(&row.provider),
            provider_version: row
                .provider_version
                .as_ref()
                .map(|v| (v.number.clone(), links.version(&row.provider, &v.number))),
            contract_href: links.contract(
                &row.provider,
                &row.consumer,
                Some(&row.consumer_version.number),
            ),
            comparison_href: match (&row.contract, &row.provider_version) {
                (Some(_), Some(provider_version)) => Some(links.comparison(
                    &row.provider,
                    &provider_version.number,
                    &row.consumer,
                    &row.consumer_version.number,
                )),
                _ => None,
            },
            class: verdict.class(),
            symbol: verdict.symbol(),
            result: match (verdict, row.contract.is_some()) {
                (Verdict::Good, false) => "verified",
                (Verdict::Bad, false) => "failed",
                (Verdict::Unknown, false) => "not verified",
                (Verdict::Bad, true) if row.contract.as_ref().is_some_and(|c| !c.self_verified) => {
                    "self-verification failed"
                }
                (Verdict::Good, true) => "compatible",
                (Verdict::Bad, true) => "incompatible",
                (Verdict::Unknown, true) => "not compared yet",
            },
            verified_at: row.verification.as_ref().map(|v| When::new(v.verified_at)),
            // A bi-directional row's number is its comparison's, not a
            // verification's: it has no pending or WIP facts to look up.
            verification: row
                .verification
                .as_ref()
                .filter(|_| row.contract.is_none())
                .map(|v| v.number),
        }
    }
}

/// Marks the results that were pending or WIP, as the integration pages do
/// (`failing (pending)`, not red). For the lists of what a version published
/// and verified; can-i-deploy's explanation keeps `failed`, since a pending
/// failure still stops a deployment.
pub async fn mark_pending(state: &AppState, rows: &mut [RowView]) -> Result<(), ApiError> {
    let numbers: Vec<i64> = rows.iter().filter_map(|r| r.verification).collect();
    let outcomes = super::integration_status::outcomes(state, &numbers).await?;
    for row in rows.iter_mut() {
        let Some(outcome) = row.verification.and_then(|n| outcomes.get(&n)) else {
            continue;
        };
        let (class, symbol) = super::integration_status::outcome_look(*outcome);
        row.class = class;
        row.symbol = symbol;
        row.result = outcome.words();
    }
    Ok(())
}

/// Asks can-i-deploy for a version and an environment.
pub async fn can_i_deploy(
    state: &AppState,
    pacticipant: &str,
    version: &str,
    environment: &str,
) -> Result<Matrix, ApiError> {
    let query = MatrixQuery::from_can_i_deploy(&CanIDeployQuery {
        pacticipant: pacticipant.to_owned(),
        version: version.to_owned(),
        to: CanIDeployTarget::Environment(environment.to_owned()),
        ignore: Vec::new(),
    });
    crate::routes::matrix::answer(state, &query).await
}

pub fn explain(links: &Links, matrix: &Matrix) -> Explanation {
    let verdict = Verdict::from_option(matrix.summary.deployable);
    Explanation {
        verdict,
        answer: match verdict {
            Verdict::Good => "Yes",
            Verdict::Bad => "No",
            Verdict::Unknown => "Unknown",
        },
        reasons: matrix
            .summary
            .reasons
            .iter()
            .map(|notice| Reason {
                class: match notice.kind {
                    NoticeKind::Success => "good",
                    NoticeKind::Error => "bad",
                    NoticeKind::Warning => "unknown",
                    NoticeKind::Info => "info",
                },
                text: notice.text.clone(),
            })
            .collect(),
        fixes: matrix.summary.fixes.clone(),
        rows: matrix
            .rows
            .iter()
            .map(|row| RowView::new(links, row))
            .collect(),
    }
}

/// Verdicts of (application, version, environment), each asked once per page.
#[derive(Default)]
pub struct Cache {
    answers: HashMap<(String, String, String), Verdict>,
}

impl Cache {
    pub async fn verdict(
        &mut self,
        state: &AppState,
        pacticipant: &str,
        version: &str,
        environment: &str,
    ) -> Result<Verdict, ApiError> {
        let key = (
            pacticipant.to_owned(),
            version.to_owned(),
            environment.to_owned(),
        );
        if let Some(verdict) = self.answers.get(&key) {
            return Ok(*verdict);
        }
        let matrix = can_i_deploy(state, pacticipant, version, environment).await?;
        let verdict = Verdict::from_option(matrix.summary.deployable);
        self.answers.insert(key, verdict);
        Ok(verdict)
    }
}

/// A version that runs in an environment now (deployed, per instance, or
/// released), with its standing there.
pub struct Placement {
    pub application: String,
    pub version: String,
    pub instance: Option<String>,
    pub released: bool,
    pub since: chrono::DateTime<chrono::Utc>,
    pub verdict: Verdict,
}

/// What runs in an environment now, each asked can-i-deploy there: the
/// ledger's running deployments and releases, the same source as the
/// timeline, `deployed-at` and the Pact Broker's records.
pub async fn placements(
    state: &AppState,
    cache: &mut Cache,
    environment: &treaty_domain::model::Environment,
) -> Result<Vec<Placement>, ApiError> {
    let running = state
        .store
        .ledger_deployments(
            treaty_store::LedgerFilter {
                environment: Some(environment.name.clone()),
                running: true,
                ..treaty_store::LedgerFilter::default()
            },
            None,
        )
        .await?
        .items;
    let found = running.into_iter().map(|d| {
        (
            d.pacticipant,
            d.version,
            d.application_instance,
            d.kind == treaty_domain::model::LedgerKind::Release,
            d.finished_at.unwrap_or(d.created_at),
        )
    });
    let mut placements = Vec::new();
    for (application, version, instance, released, since) in found {
        let verdict = cache
            .verdict(state, &application, &version, &environment.name)
            .await?;
        placements.push(Placement {
            application,
            version,
            instance,
            released,
            since,
            verdict,
        });
    }
    Ok(placements)
}

/// Words for a deployed version's standing in its environment.
pub fn standing(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Good => "compatible",
        Verdict::Bad => "incompatible",
        Verdict::Unknown => "unverified",
    }
}
