//! A pact compared with another version of it: the previous distinct one
//! (`pb:previous-distinct`), and the Pact Broker's text diffs with it, with
//! a given consumer version or with a given content (`pb:diff`).

use crate::path::Path;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use treaty_domain::model::Pact;
use treaty_domain::pact_diff::{self, DiffPage};
use treaty_store::PactSelector;

use super::pacts::{OnePact, PAIR, PactPath, find_pact};
use crate::AppState;
use crate::base_url::BaseUrl;
use crate::error::{ApiError, ApiResult};
use crate::hal::Hal;
use crate::heavy;
use crate::views::{self, Urls};

/// What a diff route compares its pact with.
#[derive(Debug, Clone, Copy)]
enum Compared {
    /// The newest older version with other content.
    PreviousDistinct,
    /// `/diff/version/{compared}`: that consumer version's pact.
    Version,
    /// `/diff/pact-version/{compared}`: that content.
    Content,
}

/// Each diff route: its suffix, the pact it starts from and what it compares with.
const DIFFS: &[(&str, OnePact, Compared)] = &[
    (
        "/version/{version}/diff/previous-distinct",
        OnePact::ConsumerVersion,
        Compared::PreviousDistinct,
    ),
    (
        "/version/{version}/diff/version/{compared}",
        OnePact::ConsumerVersion,
        Compared::Version,
    ),
    (
        "/pact-version/{sha}/diff/pact-version/{compared}",
        OnePact::Sha,
        Compared::Content,
    ),
];

pub fn router() -> Router<AppState> {
    let mut router = Router::new().route(
        &format!("{PAIR}/version/{{version}}/previous-distinct"),
        get(previous_distinct),
    );
    for (suffix, which, compared) in DIFFS {
        router = router.route(&format!("{PAIR}{suffix}"), diff_route(*which, *compared));
    }
    router
}

/// A diff route's path: a pact's, and what it is compared with.
#[derive(Debug, serde::Deserialize)]
struct DiffPath {
    #[serde(flatten)]
    pact: PactPath,
    compared: Option<String>,
}

/// The previous distinct version, as a pact: the newest pact of the pair
/// from an older consumer version, with other content.
async fn previous_distinct(
    State(state): State<AppState>,
    base: BaseUrl,
    Path(path): Path<PactPath>,
) -> ApiResult<Hal> {
    let pact = find_pact(&state, &path, OnePact::ConsumerVersion).await?;
    let previous = previous_distinct_of(&state, &pact).await?.ok_or_else(|| {
        ApiError::missing(format!(
            "{} has no older version with other content",
            pact.summary().name()
        ))
    })?;
    Ok(Hal::ok(views::pact(&Urls::new(base.0), &previous)))
}

async fn previous_distinct_of(state: &AppState, pact: &Pact) -> ApiResult<Option<Pact>> {
    Ok(state
        .store
        .previous_distinct_pact(
            &pact.consumer,
            &pact.provider,
            pact.consumer_version_id,
            &pact.sha,
        )
        .await?)
}

fn diff_route(which: OnePact, compared: Compared) -> MethodRouter<AppState> {
    get(
        move |State(state): State<AppState>, base: BaseUrl, Path(path): Path<DiffPath>| async move {
            diff(&state, base, &path, which, compared).await
        },
    )
}

/// The Pact Broker's text diff between the pact and the one it is compared
/// with; when there is none, a sentence saying so (also a 200, as there).
async fn diff(
    state: &AppState,
    base: BaseUrl,
    path: &DiffPath,
    which: OnePact,
    compared: Compared,
) -> ApiResult<Response> {
    let pact = find_pact(state, &path.pact, which).await?;
    let (consumer, provider) = (&pact.consumer, &pact.provider);
    let other = PactPath::param(&path.compared);
    // A pact named to compare with must exist: the Pact Broker would say
    // "no previous distinct version", which misleads (and, for a consumer
    // version, it compares with the previous distinct one whatever the
    // version named: its route and resource name the parameter differently).
    let named = |selector: PactSelector, what: String| async move {
        state
            .store
            .pact(consumer, provider, selector)
            .await?
            .map(Some)
            .ok_or_else(|| {
                ApiError::missing(format!(
                    "No pact between {consumer} and {provider} {what} to compare with"
                ))
            })
    };
    let older = match compared {
        Compared::PreviousDistinct => previous_distinct_of(state, &pact).await?,
        Compared::Version => {
            let what = format!("for consumer version '{other}'");
            named(PactSelector::ConsumerVersion(other), what).await?
        }
        Compared::Content => {
            let what = format!("with content '{other}'");
            named(PactSelector::Sha(other), what).await?
        }
    };
    let Some(older) = older else {
        return Ok(text(pact_diff::nothing_to_compare(
            consumer,
            &pact.consumer_version,
            provider,
        )));
    };
    // The date the Pact Broker shows is when the shown content first
    // appeared: the first publication after the one compared with.
    let changed_at = state
        .store
        .pact_published_after(consumer, provider, older.consumer_version_id)
        .await?
        .map_or(pact.created_at, |next| next.created_at);
    let urls = Urls::new(base.0);
    let href = urls.pact(provider, consumer, &pact.consumer_version);
    let compared_href = urls.pact(provider, consumer, &older.consumer_version);
    // Canonicalising, comparing and printing two documents of megabytes
    // is CPU work of seconds: off the runtime's threads.
    let page = heavy::run(move || {
        pact_diff::page(
            &DiffPage {
                consumer: &pact.consumer,
                provider: &pact.provider,
                version: &pact.consumer_version,
                compared_version: &older.consumer_version,
                changed_at,
                now: chrono::Utc::now(),
                href: &href,
                compared_href: &compared_href,
            },
            &older.content,
            &pact.content,
        )
    })
    .await?;
    Ok(text(page))
}

fn text(body: String) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain;charset=utf-8"),
        )],
        body,
    )
        .into_response()
}
