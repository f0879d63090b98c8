//! Pacts: publish one (the older PUT), read by consumer version, latest, tag,
//! branch or content hash, and the lists by pair, provider and integration.

use crate::path::Path;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, put};
use serde::Deserialize;
use serde_json::{Value, json};
use treaty_domain::model::Pact;
use treaty_domain::pact::PactDocument;
use treaty_domain::publish::OnConflict;
use treaty_store::{PactFilter, PactSelector};

use super::pacticipants::{not_found as pacticipant_not_found, parse_name};
use super::versions::parse_version;
use crate::AppState;
use crate::base_url::BaseUrl;
use crate::body::RawBody;
use crate::error::{ApiError, ApiResult};
use crate::hal::{self, Hal, link, titled};
use crate::views::{self, Urls};

const PAIR: &str = "/pacts/provider/{provider}/consumer/{consumer}";

/// The routes of this module as tables: each family of routes is one
/// handler over a selector, and a route is a line naming its selector.
pub fn router() -> Router<AppState> {
    let pair = |suffix: &str| format!("{PAIR}{suffix}");
    let mut router = Router::new().route("/pacts/latest", get(latest_of_every_integration));
    for (suffix, which) in ONE_PACT {
        router = router.route(&pair(suffix), one_pact_route(*which));
    }
    for (suffix, list) in PAIR_LISTS {
        router = router.route(&pair(suffix), pair_list_route(*list));
    }
    for (suffix, list) in PROVIDER_LISTS {
        router = router.route(
            &format!("/pacts/provider/{{provider}}{suffix}"),
            provider_list_route(*list),
        );
    }
    router.route(
        &pair("/version/{version}"),
        put(put_pact).patch(patch_pact).delete(delete_pact),
    )
}

/// The path parameters of the pact routes; each route has some of them.
#[derive(Debug, Deserialize)]
pub(super) struct PactPath {
    pub provider: String,
    pub consumer: String,
    pub version: Option<String>,
    pub sha: Option<String>,
    pub tag: Option<String>,
    pub branch: Option<String>,
    pub metadata: Option<String>,
}

impl PactPath {
    /// A parameter the route's template has (so axum always supplies it).
    fn param(value: &Option<String>) -> String {
        value.clone().unwrap_or_default()
    }
}

/// Which one pact of a pair a route names.
#[derive(Debug, Clone, Copy)]
pub(super) enum OnePact {
    /// `/version/{version}` (and the older `/versions/{version}`).
    ConsumerVersion,
    /// `/pact-version/{sha}`, with or without `/metadata/{metadata}`.
    Sha,
    Latest,
    LatestUntagged,
    /// `/latest/{tag}`.
    LatestTagged,
    /// `/branch/{branch}/latest`.
    LatestOnBranch,
}

const ONE_PACT: &[(&str, OnePact)] = &[
    ("/version/{version}", OnePact::ConsumerVersion),
    ("/versions/{version}", OnePact::ConsumerVersion),
    ("/pact-version/{sha}", OnePact::Sha),
    ("/pact-version/{sha}/metadata/{metadata}", OnePact::Sha),
    ("/latest", OnePact::Latest),
    ("/latest-untagged", OnePact::LatestUntagged),
    ("/latest/{tag}", OnePact::LatestTagged),
    ("/branch/{branch}/latest", OnePact::LatestOnBranch),
];

impl OnePact {
    /// The store's selector, and how a 404 words what was not found.
    pub(super) fn select(self, path: &PactPath) -> (PactSelector, String) {
        match self {
            Self::ConsumerVersion => {
                let version = PactPath::param(&path.version);
                let what = format!("for consumer version {version}");
                (PactSelector::ConsumerVersion(version), what)
            }
            Self::Sha => {
                let sha = PactPath::param(&path.sha);
                let what = format!("with content hash {sha}");
                (PactSelector::Sha(sha), what)
            }
            Self::Latest => (PactSelector::Latest, String::new()),
            Self::LatestUntagged => (
                PactSelector::LatestUntagged,
                "for an untagged version".to_owned(),
            ),
            Self::LatestTagged => {
                let tag = PactPath::param(&path.tag);
                let what = format!("for a version tagged '{tag}'");
                (PactSelector::LatestWithTag(tag), what)
            }
            Self::LatestOnBranch => {
                let branch = PactPath::param(&path.branch);
                let what = format!("for a version from branch '{branch}'");
                (PactSelector::LatestOnBranch(branch), what)
            }
        }
    }
}

fn one_pact_route(which: OnePact) -> MethodRouter<AppState> {
    get(
        move |State(state): State<AppState>, base: BaseUrl, Path(path): Path<PactPath>| async move {
            one_pact(&state, base, &path, which).await
        },
    )
}

fn pact_not_found(consumer: &str, provider: &str, what: &str) -> ApiError {
    ApiError::NotFound(format!(
        "No pact found between {consumer} and {provider} {what}"
    ))
}

async fn one_pact(
    state: &AppState,
    base: BaseUrl,
    path: &PactPath,
    which: OnePact,
) -> ApiResult<Response> {
    let (consumer, provider) = (&path.consumer, &path.provider);
    let (selector, what) = which.select(path);
    let pact = state
        .store
        .pact(consumer, provider, selector)
        .await?
        .ok_or_else(|| pact_not_found(consumer, provider, &what))?;
    // The metadata segment carries how the pact was selected for
    // verification; the content is the same as without it.
    let mut response = Hal::ok(views::pact_with_metadata(
        &Urls::new(base.0),
        &pact,
        path.metadata.as_deref(),
    ))
    .into_response();
    // Which consumer version this pact is from, for clients that fetch "latest".
    if let Ok(value) = axum::http::HeaderValue::from_str(&pact.consumer_version) {
        response
            .headers_mut()
            .insert("x-pact-consumer-version", value);
    }
    Ok(response)
}

/// Publishes a pact for one consumer version: the raw pact is the body.
async fn put_pact(
    state: State<AppState>,
    base: BaseUrl,
    path: Path<(String, String, String)>,
    raw: RawBody,
) -> ApiResult<Response> {
    write_pact(state, base, path, raw, OnConflict::Overwrite).await
}

/// Merges the interactions of the body into the stored pact.
async fn patch_pact(
    state: State<AppState>,
    base: BaseUrl,
    path: Path<(String, String, String)>,
    raw: RawBody,
) -> ApiResult<Response> {
    write_pact(state, base, path, raw, OnConflict::Merge).await
}

async fn write_pact(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((provider, consumer, version)): Path<(String, String, String)>,
    raw: RawBody,
    on_conflict: OnConflict,
) -> ApiResult<Response> {
    raw.require_json(&["application/json", "application/merge-patch+json"])?;
    let document = PactDocument::from_value(raw.json_value()?)
        .map_err(|e| ApiError::BadRequest(format!("The pact {e}")))?;
    let mut errors = serde_json::Map::new();
    for (role, named, path_name) in [
        ("consumer", document.consumer_name(), &consumer),
        ("provider", document.provider_name(), &provider),
    ] {
        if let Some(named) = named
            && named != path_name.as_str()
        {
            errors.insert(
                role.into(),
                json!([format!(
                    "name in pact '{named}' does not match name in URL path '{path_name}'."
                )]),
            );
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let consumer_name = parse_name("consumer", &consumer)?;
    let provider_name = parse_name("provider", &provider)?;
    let number = parse_version("consumerVersionNumber", &version)?;
    let outcome = state
        .store
        .put_pact(
            &consumer_name,
            &provider_name,
            &number,
            document,
            on_conflict,
        )
        .await?;
    let pact = state
        .store
        .pact(
            &consumer,
            &provider,
            PactSelector::ConsumerVersion(version.clone()),
        )
        .await?
        .ok_or_else(|| ApiError::Internal("a pact just published could not be read".into()))?;
    let urls = Urls::new(base.0);
    let body = views::pact(&urls, &pact);
    Ok(if outcome.created {
        hal::created(&urls.pact(&provider, &consumer, &version), body)
    } else {
        Hal::ok(body).into_response()
    })
}

async fn delete_pact(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((provider, consumer, version)): Path<(String, String, String)>,
) -> ApiResult<Hal> {
    if !state
        .store
        .delete_pact(&consumer, &provider, &version)
        .await?
    {
        return Err(pact_not_found(
            &consumer,
            &provider,
            &format!("for consumer version {version}"),
        ));
    }
    let urls = Urls::new(base.0);
    Ok(Hal::ok(json!({
        "_links": {
            "index": link(&urls.base),
            "pb:latest-pact-version": titled(format!("{}/latest", urls.pact_pair(&provider, &consumer)), "Latest version of this pact", None),
        }
    })))
}

/// A list of pact versions of one pair.
fn pair_list(
    urls: &Urls,
    consumer: &str,
    provider: &str,
    pacts: &[Pact],
    self_href: String,
) -> Value {
    let pact_links: Vec<Value> = pacts
        .iter()
        .map(|p| {
            titled(
                urls.pact(&p.provider, &p.consumer, &p.consumer_version),
                "Pact",
                Some(&format!(
                    "Version {} - {}",
                    p.consumer_version,
                    p.created_at.format("%d/%m/%Y")
                )),
            )
        })
        .collect();
    let consumer_link = titled(urls.pacticipant(consumer), "Consumer", Some(consumer));
    let provider_link = titled(urls.pacticipant(provider), "Provider", Some(provider));
    json!({
        "_embedded": {
            "pacts": pacts.iter().map(|p| json!({
                "consumerVersionNumber": p.consumer_version,
                "createdAt": treaty_domain::time::format(p.created_at),
                "_embedded": { "consumerVersion": views::version_summary(urls, &p.consumer, &p.consumer_version) },
                "_links": { "self": json!({ "href": urls.pact(&p.provider, &p.consumer, &p.consumer_version), "title": views::pact_title(p) }) }
            })).collect::<Vec<_>>()
        },
        "_links": {
            "self": titled(self_href, format!("All versions of the pact between {consumer} and {provider}"), None),
            "consumer": consumer_link,
            "pb:consumer": consumer_link,
            "provider": provider_link,
            "pb:provider": provider_link,
            "pact-versions": pact_links,
            "pb:pact-versions": pact_links,
        }
    })
}

/// Which pacts of a pair a list route names.
#[derive(Debug, Clone, Copy)]
enum PairList {
    All,
    Tagged,
    MainBranch,
    LatestMainBranch,
    Branch,
    LatestBranch,
}

const PAIR_LISTS: &[(&str, PairList)] = &[
    ("/versions", PairList::All),
    ("/tag/{tag}", PairList::Tagged),
    ("/branch/versions", PairList::MainBranch),
    ("/branch/latest/versions", PairList::LatestMainBranch),
    ("/branch/{branch}", PairList::Branch),
    ("/branch/{branch}/latest/versions", PairList::LatestBranch),
];

impl PairList {
    /// The store's filter and the path after the pair, for the self link.
    fn select(self, path: &PactPath) -> (PactFilter, String) {
        let tag = || PactPath::param(&path.tag);
        let branch = || PactPath::param(&path.branch);
        match self {
            Self::All => (PactFilter::All, "/versions".to_owned()),
            Self::Tagged => (
                PactFilter::WithTag(tag()),
                format!("/tag/{}", hal::seg(&tag())),
            ),
            Self::MainBranch => (PactFilter::OnMainBranch, "/branch/versions".to_owned()),
            Self::LatestMainBranch => (
                PactFilter::LatestOnMainBranch,
                "/branch/latest/versions".to_owned(),
            ),
            Self::Branch => (
                PactFilter::OnBranch(branch()),
                format!("/branch/{}", hal::seg(&branch())),
            ),
            Self::LatestBranch => (
                PactFilter::LatestOnBranch(branch()),
                format!("/branch/{}/latest/versions", hal::seg(&branch())),
            ),
        }
    }
}

fn pair_list_route(list: PairList) -> MethodRouter<AppState> {
    get(
        move |State(state): State<AppState>, base: BaseUrl, Path(path): Path<PactPath>| async move {
            list_pair(&state, base, &path, list).await
        },
    )
}

async fn list_pair(
    state: &AppState,
    base: BaseUrl,
    path: &PactPath,
    list: PairList,
) -> ApiResult<Hal> {
    let (consumer, provider) = (path.consumer.as_str(), path.provider.as_str());
    for name in [consumer, provider] {
        if state.store.pacticipant(name).await?.is_none() {
            return Err(pacticipant_not_found(name));
        }
    }
    let (filter, suffix) = list.select(path);
    let pacts = state
        .store
        .pacts_between(consumer, provider, filter)
        .await?;
    let urls = Urls::new(base.0);
    let self_href = format!("{}{suffix}", urls.pact_pair(provider, consumer));
    Ok(Hal::ok(pair_list(
        &urls, consumer, provider, &pacts, self_href,
    )))
}

/// Which pacts with a provider a list route names.
#[derive(Debug, Clone, Copy)]
enum ProviderList {
    All,
    Latest,
    LatestTagged,
    Tagged,
    MainBranch,
    LatestMainBranch,
    Branch,
    LatestBranch,
}

const PROVIDER_LISTS: &[(&str, ProviderList)] = &[
    ("", ProviderList::All),
    ("/latest", ProviderList::Latest),
    ("/latest/{tag}", ProviderList::LatestTagged),
    ("/tag/{tag}", ProviderList::Tagged),
    ("/branch", ProviderList::MainBranch),
    ("/branch/latest", ProviderList::LatestMainBranch),
    ("/branch/{branch}", ProviderList::Branch),
    ("/branch/{branch}/latest", ProviderList::LatestBranch),
];

/// A provider list's path parameters.
#[derive(Debug, Deserialize)]
struct ProviderPath {
    provider: String,
    tag: Option<String>,
    branch: Option<String>,
}

impl ProviderList {
    /// The store's filter, the path after the provider (for the self link) and the list's title.
    fn select(self, path: &ProviderPath) -> (PactFilter, String, String) {
        let provider = &path.provider;
        let tag = || PactPath::param(&path.tag);
        let branch = || PactPath::param(&path.branch);
        match self {
            Self::All => (
                PactFilter::All,
                String::new(),
                format!("All pact versions for the provider {provider}"),
            ),
            Self::Latest => (
                PactFilter::Latest,
                "/latest".to_owned(),
                format!("Latest pact versions for the provider {provider}"),
            ),
            Self::LatestTagged => (
                PactFilter::LatestWithTag(tag()),
                format!("/latest/{}", hal::seg(&tag())),
                format!(
                    "Latest pact versions for the provider {provider} with consumer version tag '{}'",
                    tag()
                ),
            ),
            Self::Tagged => (
                PactFilter::WithTag(tag()),
                format!("/tag/{}", hal::seg(&tag())),
                format!(
                    "All pact versions for the provider {provider} with consumer version tag '{}'",
                    tag()
                ),
            ),
            Self::MainBranch => (
                PactFilter::OnMainBranch,
                "/branch".to_owned(),
                format!("All pact versions for the provider {provider}"),
            ),
            Self::LatestMainBranch => (
                PactFilter::LatestOnMainBranch,
                "/branch/latest".to_owned(),
                format!(
                    "Latest pact versions for the provider {provider} with consumer version main branches"
                ),
            ),
            Self::Branch => (
                PactFilter::OnBranch(branch()),
                format!("/branch/{}", hal::seg(&branch())),
                format!(
                    "All pact versions for the provider {provider} with consumer version branch '{}'",
                    branch()
                ),
            ),
            Self::LatestBranch => (
                PactFilter::LatestOnBranch(branch()),
                format!("/branch/{}/latest", hal::seg(&branch())),
                format!(
                    "Latest pact versions for the provider {provider} with consumer version branch '{}'",
                    branch()
                ),
            ),
        }
    }
}

fn provider_list_route(list: ProviderList) -> MethodRouter<AppState> {
    get(
        move |State(state): State<AppState>, base: BaseUrl, Path(path): Path<ProviderPath>| async move {
            list_provider(&state, base, &path, list).await
        },
    )
}

/// Pacts with a provider: `pb:pacts` links named by consumer (the verifier
/// reads these), plus the deprecated `pacts`.
async fn list_provider(
    state: &AppState,
    base: BaseUrl,
    path: &ProviderPath,
    list: ProviderList,
) -> ApiResult<Hal> {
    let provider = path.provider.as_str();
    if state.store.pacticipant(provider).await?.is_none() {
        return Err(pacticipant_not_found(provider));
    }
    let (filter, suffix, title) = list.select(path);
    let pacts = state.store.pacts_for_provider(provider, filter).await?;
    let urls = Urls::new(base.0);
    let provider_href = urls.pacticipant(provider);
    let items: Vec<Value> = pacts
        .iter()
        .map(|p| json!({ "href": urls.pact(&p.provider, &p.consumer, &p.consumer_version), "title": views::pact_title(p), "name": p.consumer }))
        .collect();
    Ok(Hal::ok(json!({
        "_links": {
            "self": titled(format!("{}/pacts/provider/{}{suffix}", urls.base, hal::seg(provider)), title, None),
            "provider": titled(&provider_href, provider, None),
            "pb:provider": titled(&provider_href, "Provider", Some(provider)),
            "pb:pacts": items,
            "pacts": items,
        }
    })))
}

async fn latest_of_every_integration(
    State(state): State<AppState>,
    base: BaseUrl,
) -> ApiResult<Hal> {
    let pacts = state.store.latest_pacts().await?;
    let urls = Urls::new(base.0);
    Ok(Hal::ok(json!({
        "pacts": pacts.iter().map(|p| views::pact_summary(&urls, p)).collect::<Vec<_>>(),
        "_links": { "self": link(format!("{}/pacts/latest", urls.base)) }
    })))
}
