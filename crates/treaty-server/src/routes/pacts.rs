//! Pacts: publish one (the older PUT), read by consumer version, latest, tag,
//! branch or content hash, and the lists by pair, provider and integration.

use crate::path::Path;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
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

pub fn router() -> Router<AppState> {
    let pair = |suffix: &str| format!("{PAIR}{suffix}");
    Router::new()
        .route("/pacts/latest", get(latest_of_every_integration))
        .route(
            &pair("/version/{version}"),
            get(by_version)
                .put(put_pact)
                .patch(patch_pact)
                .delete(delete_pact),
        )
        .route(&pair("/versions/{version}"), get(by_version))
        .route(&pair("/pact-version/{sha}"), get(by_sha))
        .route(
            &pair("/pact-version/{sha}/metadata/{metadata}"),
            get(by_sha_with_metadata),
        )
        .route(&pair("/latest"), get(latest))
        .route(&pair("/latest-untagged"), get(latest_untagged))
        .route(&pair("/latest/{tag}"), get(latest_tagged))
        .route(&pair("/branch/{branch}/latest"), get(latest_on_branch))
        .route(&pair("/versions"), get(all_versions))
        .route(&pair("/tag/{tag}"), get(tagged_versions))
        .route(&pair("/branch/versions"), get(main_branch_versions))
        .route(
            &pair("/branch/latest/versions"),
            get(latest_main_branch_versions),
        )
        .route(&pair("/branch/{branch}"), get(branch_versions))
        .route(
            &pair("/branch/{branch}/latest/versions"),
            get(latest_branch_versions),
        )
        .route("/pacts/provider/{provider}", get(provider_all))
        .route("/pacts/provider/{provider}/latest", get(provider_latest))
        .route(
            "/pacts/provider/{provider}/latest/{tag}",
            get(provider_latest_tagged),
        )
        .route("/pacts/provider/{provider}/tag/{tag}", get(provider_tagged))
        .route(
            "/pacts/provider/{provider}/branch",
            get(provider_main_branch),
        )
        .route(
            "/pacts/provider/{provider}/branch/latest",
            get(provider_latest_main_branch),
        )
        .route(
            "/pacts/provider/{provider}/branch/{branch}",
            get(provider_branch),
        )
        .route(
            "/pacts/provider/{provider}/branch/{branch}/latest",
            get(provider_latest_branch),
        )
}

fn pact_not_found(consumer: &str, provider: &str, what: &str) -> ApiError {
    ApiError::NotFound(format!(
        "No pact found between {consumer} and {provider} {what}"
    ))
}

async fn one(
    state: &AppState,
    base: BaseUrl,
    consumer: &str,
    provider: &str,
    selector: PactSelector,
    what: &str,
) -> ApiResult<Response> {
    one_with(state, base, consumer, provider, selector, what, None).await
}

async fn one_with(
    state: &AppState,
    base: BaseUrl,
    consumer: &str,
    provider: &str,
    selector: PactSelector,
    what: &str,
    metadata: Option<&str>,
) -> ApiResult<Response> {
    let pact = state
        .store
        .pact(consumer, provider, selector)
        .await?
        .ok_or_else(|| pact_not_found(consumer, provider, what))?;
    let mut response = Hal::ok(views::pact_with_metadata(
        &Urls::new(base.0),
        &pact,
        metadata,
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

async fn by_version(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((provider, consumer, version)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    let what = format!("for consumer version {version}");
    one(
        &state,
        base,
        &consumer,
        &provider,
        PactSelector::ConsumerVersion(version),
        &what,
    )
    .await
}

async fn by_sha(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((provider, consumer, sha)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    let what = format!("with content hash {sha}");
    one(
        &state,
        base,
        &consumer,
        &provider,
        PactSelector::Sha(sha),
        &what,
    )
    .await
}

/// The metadata segment carries how the pact was selected for verification;
/// the content is the same as without it.
async fn by_sha_with_metadata(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((provider, consumer, sha, metadata)): Path<(String, String, String, String)>,
) -> ApiResult<Response> {
    let what = format!("with content hash {sha}");
    one_with(
        &state,
        base,
        &consumer,
        &provider,
        PactSelector::Sha(sha),
        &what,
        Some(&metadata),
    )
    .await
}

async fn latest(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((provider, consumer)): Path<(String, String)>,
) -> ApiResult<Response> {
    one(&state, base, &consumer, &provider, PactSelector::Latest, "").await
}

async fn latest_untagged(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((provider, consumer)): Path<(String, String)>,
) -> ApiResult<Response> {
    one(
        &state,
        base,
        &consumer,
        &provider,
        PactSelector::LatestUntagged,
        "for an untagged version",
    )
    .await
}

async fn latest_tagged(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((provider, consumer, tag)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    let what = format!("for a version tagged '{tag}'");
    one(
        &state,
        base,
        &consumer,
        &provider,
        PactSelector::LatestWithTag(tag),
        &what,
    )
    .await
}

async fn latest_on_branch(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((provider, consumer, branch)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    let what = format!("for a version from branch '{branch}'");
    one(
        &state,
        base,
        &consumer,
        &provider,
        PactSelector::LatestOnBranch(branch),
        &what,
    )
    .await
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

async fn list_pair(
    state: &AppState,
    base: BaseUrl,
    consumer: &str,
    provider: &str,
    filter: PactFilter,
    suffix: &str,
) -> ApiResult<Hal> {
    for name in [consumer, provider] {
        if state.store.pacticipant(name).await?.is_none() {
            return Err(pacticipant_not_found(name));
        }
    }
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

async fn all_versions(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((provider, consumer)): Path<(String, String)>,
) -> ApiResult<Hal> {
    list_pair(
        &state,
        base,
        &consumer,
        &provider,
        PactFilter::All,
        "/versions",
    )
    .await
}

async fn tagged_versions(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((provider, consumer, tag)): Path<(String, String, String)>,
) -> ApiResult<Hal> {
    let suffix = format!("/tag/{}", hal::seg(&tag));
    list_pair(
        &state,
        base,
        &consumer,
        &provider,
        PactFilter::WithTag(tag),
        &suffix,
    )
    .await
}

async fn branch_versions(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((provider, consumer, branch)): Path<(String, String, String)>,
) -> ApiResult<Hal> {
    let suffix = format!("/branch/{}", hal::seg(&branch));
    list_pair(
        &state,
        base,
        &consumer,
        &provider,
        PactFilter::OnBranch(branch),
        &suffix,
    )
    .await
}

async fn latest_branch_versions(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((provider, consumer, branch)): Path<(String, String, String)>,
) -> ApiResult<Hal> {
    let suffix = format!("/branch/{}/latest/versions", hal::seg(&branch));
    list_pair(
        &state,
        base,
        &consumer,
        &provider,
        PactFilter::LatestOnBranch(branch),
        &suffix,
    )
    .await
}

async fn main_branch_versions(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((provider, consumer)): Path<(String, String)>,
) -> ApiResult<Hal> {
    list_pair(
        &state,
        base,
        &consumer,
        &provider,
        PactFilter::OnMainBranch,
        "/branch/versions",
    )
    .await
}

async fn latest_main_branch_versions(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((provider, consumer)): Path<(String, String)>,
) -> ApiResult<Hal> {
    list_pair(
        &state,
        base,
        &consumer,
        &provider,
        PactFilter::LatestOnMainBranch,
        "/branch/latest/versions",
    )
    .await
}

/// Pacts with a provider: `pb:pacts` links named by consumer (the verifier
/// reads these), plus the deprecated `pacts`.
async fn list_provider(
    state: &AppState,
    base: BaseUrl,
    provider: &str,
    filter: PactFilter,
    suffix: &str,
    title: String,
) -> ApiResult<Hal> {
    if state.store.pacticipant(provider).await?.is_none() {
        return Err(pacticipant_not_found(provider));
    }
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

async fn provider_all(
    State(state): State<AppState>,
    base: BaseUrl,
    Path(provider): Path<String>,
) -> ApiResult<Hal> {
    let title = format!("All pact versions for the provider {provider}");
    list_provider(&state, base, &provider, PactFilter::All, "", title).await
}

async fn provider_latest(
    State(state): State<AppState>,
    base: BaseUrl,
    Path(provider): Path<String>,
) -> ApiResult<Hal> {
    let title = format!("Latest pact versions for the provider {provider}");
    list_provider(
        &state,
        base,
        &provider,
        PactFilter::Latest,
        "/latest",
        title,
    )
    .await
}

async fn provider_latest_tagged(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((provider, tag)): Path<(String, String)>,
) -> ApiResult<Hal> {
    let title = format!(
        "Latest pact versions for the provider {provider} with consumer version tag '{tag}'"
    );
    let suffix = format!("/latest/{}", hal::seg(&tag));
    list_provider(
        &state,
        base,
        &provider,
        PactFilter::LatestWithTag(tag),
        &suffix,
        title,
    )
    .await
}

async fn provider_tagged(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((provider, tag)): Path<(String, String)>,
) -> ApiResult<Hal> {
    let title =
        format!("All pact versions for the provider {provider} with consumer version tag '{tag}'");
    let suffix = format!("/tag/{}", hal::seg(&tag));
    list_provider(
        &state,
        base,
        &provider,
        PactFilter::WithTag(tag),
        &suffix,
        title,
    )
    .await
}

async fn provider_main_branch(
    State(state): State<AppState>,
    base: BaseUrl,
    Path(provider): Path<String>,
) -> ApiResult<Hal> {
    let title = format!("All pact versions for the provider {provider}");
    list_provider(
        &state,
        base,
        &provider,
        PactFilter::OnMainBranch,
        "/branch",
        title,
    )
    .await
}

async fn provider_latest_main_branch(
    State(state): State<AppState>,
    base: BaseUrl,
    Path(provider): Path<String>,
) -> ApiResult<Hal> {
    let title = format!(
        "Latest pact versions for the provider {provider} with consumer version main branches"
    );
    list_provider(
        &state,
        base,
        &provider,
        PactFilter::LatestOnMainBranch,
        "/branch/latest",
        title,
    )
    .await
}

async fn provider_branch(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((provider, branch)): Path<(String, String)>,
) -> ApiResult<Hal> {
    let title = format!(
        "All pact versions for the provider {provider} with consumer version branch '{branch}'"
    );
    let suffix = format!("/branch/{}", hal::seg(&branch));
    list_provider(
        &state,
        base,
        &provider,
        PactFilter::OnBranch(branch),
        &suffix,
        title,
    )
    .await
}

async fn provider_latest_branch(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((provider, branch)): Path<(String, String)>,
) -> ApiResult<Hal> {
    let title = format!(
        "Latest pact versions for the provider {provider} with consumer version branch '{branch}'"
    );
    let suffix = format!("/branch/{}/latest", hal::seg(&branch));
    list_provider(
        &state,
        base,
        &provider,
        PactFilter::LatestOnBranch(branch),
        &suffix,
        title,
    )
    .await
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
