//! Lists of pacts: a pair's (all, by tag, by branch), a provider's, and the
//! latest of every integration. Lists carry links, never documents.

use crate::path::Path;
use axum::Router;
use axum::extract::State;
use axum::routing::{MethodRouter, get};
use serde::Deserialize;
use serde_json::{Value, json};
use treaty_domain::model::PactSummary;
use treaty_store::PactFilter;

use super::pacts::{PAIR, PactPath};
use crate::AppState;
use crate::base_url::BaseUrl;
use crate::error::{ApiError, ApiResult};
use crate::hal::{self, Hal, link, titled};
use crate::views::{self, Urls};

/// The routes of this module as tables: a route is a line naming the list.
pub fn router() -> Router<AppState> {
    let mut router = Router::new().route("/pacts/latest", get(latest_of_every_integration));
    for (suffix, list) in PAIR_LISTS {
        router = router.route(&format!("{PAIR}{suffix}"), pair_list_route(*list));
    }
    for (suffix, list) in PROVIDER_LISTS {
        router = router.route(
            &format!("/pacts/provider/{{provider}}{suffix}"),
            provider_list_route(*list),
        );
    }
    router
}

/// A 404 naming the pacticipant by its role, as the Pact Broker words it.
fn no_such(role: &str, name: &str) -> ApiError {
    ApiError::NotFoundHal(format!("No {role} with name '{name}' found"))
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
    for (role, name) in [("consumer", consumer), ("provider", provider)] {
        if state.store.pacticipant(name).await?.is_none() {
            return Err(no_such(role, name));
        }
    }
    let (filter, suffix) = list.select(path);
    let pacts = state
        .store
        .pacts_between(consumer, provider, filter)
        .await?;
    let urls = Urls::new(base.0);
    let self_href = format!("{}{suffix}", urls.pact_pair(provider, consumer));
    let tag = matches!(list, PairList::Tagged).then(|| PactPath::param(&path.tag));
    Ok(Hal::ok(pair_list(
        &urls,
        consumer,
        provider,
        &pacts,
        self_href,
        tag.as_deref(),
    )))
}

/// A list of pact versions of one pair (`tag` for the list by tag, which
/// the Pact Broker titles differently).
fn pair_list(
    urls: &Urls,
    consumer: &str,
    provider: &str,
    pacts: &[PactSummary],
    self_href: String,
    tag: Option<&str>,
) -> Value {
    let pact_links: Vec<Value> = pacts
        .iter()
        .map(|p| {
            titled(
                urls.pact(&p.provider, &p.consumer, &p.consumer_version),
                if tag.is_some() {
                    "Pact version"
                } else {
                    "Pact"
                },
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
    let mut title = format!("All versions of the pact between {consumer} and {provider}");
    if let Some(tag) = tag {
        title.push_str(&format!(" with tag {tag}"));
    }
    json!({
        "_embedded": {
            "pacts": pacts.iter().map(|p| json!({
                "consumerVersionNumber": p.consumer_version,
                "createdAt": treaty_domain::time::format(p.created_at),
                "_embedded": { "consumerVersion": views::version_summary(urls, &p.consumer, &p.consumer_version) },
                "_links": { "self": json!({ "href": urls.pact(&p.provider, &p.consumer, &p.consumer_version), "title": p.name() }) }
            })).collect::<Vec<_>>()
        },
        "_links": {
            "self": titled(self_href, title, None),
            "consumer": consumer_link,
            "pb:consumer": consumer_link,
            "provider": provider_link,
            "pb:provider": provider_link,
            "pact-versions": pact_links,
            "pb:pact-versions": pact_links,
        }
    })
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
    /// The store's filter, the path after the provider (for the self link)
    /// and the list's title, as the Pact Broker titles it.
    fn select(self, path: &ProviderPath) -> (PactFilter, String, String) {
        let provider = &path.provider;
        let tag = || PactPath::param(&path.tag);
        let branch = || PactPath::param(&path.branch);
        let all = format!("All pact versions for the provider {provider}");
        let latest = format!("Latest pact versions for the provider {provider}");
        match self {
            Self::All => (PactFilter::All, String::new(), all),
            Self::Latest => (PactFilter::Latest, "/latest".to_owned(), latest),
            Self::LatestTagged => (
                PactFilter::LatestWithTag(tag()),
                format!("/latest/{}", hal::seg(&tag())),
                format!("{latest} with consumer version tag '{}'", tag()),
            ),
            Self::Tagged => (
                PactFilter::WithTag(tag()),
                format!("/tag/{}", hal::seg(&tag())),
                format!("{all} with consumer version tag '{}'", tag()),
            ),
            Self::MainBranch => (PactFilter::OnMainBranch, "/branch".to_owned(), all),
            Self::LatestMainBranch => (
                PactFilter::LatestOnMainBranch,
                "/branch/latest".to_owned(),
                latest,
            ),
            Self::Branch => (
                PactFilter::OnBranch(branch()),
                format!("/branch/{}", hal::seg(&branch())),
                format!("{all} with consumer version branch '{}'", branch()),
            ),
            Self::LatestBranch => (
                PactFilter::LatestOnBranch(branch()),
                format!("/branch/{}/latest", hal::seg(&branch())),
                format!("{latest} with consumer version branch '{}'", branch()),
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
        return Err(no_such("provider", provider));
    }
    let (filter, suffix, title) = list.select(path);
    let pacts = state.store.pacts_for_provider(provider, filter).await?;
    let urls = Urls::new(base.0);
    let provider_href = urls.pacticipant(provider);
    let link_to = |p: &PactSummary, title: String| json!({ "href": urls.pact(&p.provider, &p.consumer, &p.consumer_version), "title": title, "name": p.consumer });
    let items: Vec<Value> = pacts.iter().map(|p| link_to(p, p.name())).collect();
    let deprecated: Vec<Value> = pacts
        .iter()
        .map(|p| {
            link_to(
                p,
                format!(
                    "DEPRECATED - please use the pb:pacts relation. {}",
                    p.name()
                ),
            )
        })
        .collect();
    Ok(Hal::ok(json!({
        "_links": {
            "self": titled(format!("{}/pacts/provider/{}{suffix}", urls.base, hal::seg(provider)), title, None),
            "provider": titled(&provider_href, provider, Some("DEPRECATED - please use the pb:provider relation")),
            "pb:provider": titled(&provider_href, "Provider", Some(provider)),
            "pb:pacts": items,
            "pacts": deprecated,
        }
    })))
}

/// The latest pact of every integration, by consumer then provider name.
async fn latest_of_every_integration(
    State(state): State<AppState>,
    base: BaseUrl,
) -> ApiResult<Hal> {
    let pacts = state.store.latest_pacts().await?;
    let urls = Urls::new(base.0);
    let latest = |p: &PactSummary| {
        (
            format!("{}/latest", urls.pact_pair(&p.provider, &p.consumer)),
            format!("Latest pact between {} and {}", p.consumer, p.provider),
        )
    };
    Ok(Hal::ok(json!({
        "pacts": pacts.iter().map(|p| views::pact_summary(&urls, p)).collect::<Vec<_>>(),
        "_links": {
            "self": link(format!("{}/pacts/latest", urls.base)),
            "pb:pacts": pacts.iter().map(|p| {
                let (href, title) = latest(p);
                json!({ "href": href, "title": title })
            }).collect::<Vec<_>>(),
            "pacts": pacts.iter().map(|p| {
                let (href, title) = latest(p);
                json!({ "href": href, "title": title, "name": "DEPRECATED - please use the pb:pacts relation" })
            }).collect::<Vec<_>>(),
            "curies": hal::curies(&urls.base, "pacts"),
        }
    })))
}
