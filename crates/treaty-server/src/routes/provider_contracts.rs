//! Bi-directional contracts in PactFlow's API: a provider publishes its
//! OpenAPI document with the result of testing itself against it
//! (`POST /provider-contracts/provider/{provider}/publish`, and the older
//! `PUT /contracts/provider/{provider}/version/{version}`), and reads it
//! back with each comparison of a pact against it.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::Deserialize;
use serde_json::{Value, json};
use treaty_domain::PacticipantName;
use treaty_domain::provider_contracts::{
    self, ComparisonReport, ProviderContractPublication, RequestShape, StoredProviderContract,
};

use crate::AppState;
use crate::base_url::BaseUrl;
use crate::body::RawBody;
use crate::error::{ApiError, ApiResult, FieldErrors};
use crate::hal::{Hal, link, titled};
use crate::heavy;
use crate::path::Path;
use crate::views::{self, Urls};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/provider-contracts/provider/{provider}/publish",
            post(publish),
        )
        .route(
            "/contracts/provider/{provider}/version/{version}",
            put(publish_the_old_way),
        )
        .route(
            "/provider-contracts/provider/{provider}/version/{version}",
            get(contract),
        )
        .route(
            "/provider-contracts/provider/{provider}/version/{version}/consumer/{consumer}/version/{consumer_version}/comparison",
            get(comparison),
        )
}

#[derive(Deserialize)]
struct ProviderPath {
    provider: String,
}

#[derive(Deserialize)]
struct ProviderVersionPath {
    provider: String,
    version: String,
}

#[derive(Deserialize)]
struct ComparisonPath {
    provider: String,
    version: String,
    consumer: String,
    consumer_version: String,
}

fn provider_name(raw: &str) -> ApiResult<PacticipantName> {
    PacticipantName::parse(raw).map_err(|e| {
        let mut errors = FieldErrors::new();
        errors.insert("provider".into(), json!([e.to_string()]));
        ApiError::Validation(errors)
    })
}

/// Reads the request and checks that its document is an OpenAPI document
/// the comparison can use; every problem is a 400 naming the field.
async fn parse(
    raw: &RawBody,
    provider: &str,
    version: Option<&str>,
    shape: RequestShape,
) -> ApiResult<ProviderContractPublication> {
    raw.require_json(&["application/json"])?;
    let provider = provider_name(provider)?;
    let publication =
        provider_contracts::parse_publication(provider, version, &raw.json_value()?, shape)
            .map_err(ApiError::Validation)?;
    let content = publication.content.clone();
    let content_type = publication.content_type.clone();
    // Parsing a document of megabytes is CPU work: off the runtime's threads.
    let parsed = heavy::run(move || {
        treaty_comparator::ProviderContract::parse(content.as_bytes(), Some(&content_type))
            .map(|_| ())
    })
    .await?;
    if let Err(error) = parsed {
        let field = match shape {
            RequestShape::Publish => "contract.content",
            RequestShape::OldPut => "content",
        };
        let mut errors = FieldErrors::new();
        errors.insert(
            field.into(),
            json!([format!(
                "is not an OpenAPI document Treaty can compare pacts with: {error}"
            )]),
        );
        return Err(ApiError::Validation(errors));
    }
    Ok(publication)
}

fn describe(publication: &ProviderContractPublication) {
    treaty_store::audit::describe(&format!(
        "{} {}: publish provider contract (self-verification {})",
        publication.provider.as_str(),
        publication.version.as_str(),
        if publication.self_verification.success {
            "passed"
        } else {
            "failed"
        }
    ));
}

/// `page`: the contract's page in the UI, which shows the document, its
/// self-verification and every comparison.
fn notices(page: &str, publication: &ProviderContractPublication, queued: usize) -> Vec<Value> {
    let provider = publication.provider.as_str();
    let version = publication.version.as_str();
    let mut notices = vec![json!({
        "type": "success",
        "text": format!("Successfully published provider contract for {provider} version {version} to Treaty"),
    })];
    if !publication.self_verification.success {
        notices.push(json!({
            "type": "warning",
            "text": format!("The self-verification results of {provider} version {version} are not successful (or missing): can-i-deploy will not allow this version until a successful result is published"),
        }));
    }
    notices.push(json!({
        "type": "info",
        "text": format!("{queued} comparison(s) with consumer pacts queued; can-i-deploy answers unknown for a pair until its comparison is computed (use --retry-while-unknown)"),
    }));
    notices.push(json!({
        "type": "info",
        "text": format!("View the uploaded contract at {page}"),
    }));
    notices.push(json!({ "type": "prompt", "text": "Next steps:" }));
    notices.push(json!({
        "type": "prompt",
        "text": format!("  * Check your application is safe to deploy - https://docs.pact.io/can_i_deploy\n       pact-broker can-i-deploy --pacticipant {provider} --version {version} --to-environment <your environment name>"),
    }));
    notices
}

async fn publish(
    State(state): State<AppState>,
    base: BaseUrl,
    Path(path): Path<ProviderPath>,
    raw: RawBody,
) -> ApiResult<Hal> {
    let publication = parse(&raw, &path.provider, None, RequestShape::Publish).await?;
    describe(&publication);
    let outcome = state.store.publish_provider_contract(&publication).await?;
    let page = crate::ui::Links::new(&base)
        .provider_contract(publication.provider.as_str(), publication.version.as_str());
    let urls = Urls::new(base.0);
    let provider = publication.provider.as_str();
    let version = publication.version.as_str();
    // The clients read `_embedded.version.number`, the tag links (an array,
    // even empty) and the notices.
    let tag_links: Vec<Value> = publication
        .tags
        .iter()
        .map(|t| {
            titled(
                urls.tag(provider, version, t.as_str()),
                "Tag",
                Some(t.as_str()),
            )
        })
        .collect();
    let mut links = json!({
        "pb:pacticipant": views::pacticipant_link(&urls, provider),
        "pb:pacticipant-version": titled(urls.version(provider, version), "Pacticipant version", Some(version)),
        "pb:pacticipant-version-tags": tag_links,
        "pf:provider-contract": titled(urls.provider_contract(provider, version), "Provider contract", Some(version)),
    });
    if let Some(branch) = &publication.branch {
        links["pb:branch-version"] = titled(
            urls.branch_version(provider, branch.as_str(), version),
            "Branch version",
            Some(branch.as_str()),
        );
    }
    Ok(Hal::ok(json!({
        "notices": notices(&page, &publication, outcome.comparisons_queued),
        "_embedded": {
            "pacticipant": views::pacticipant_summary(&urls, provider),
            "version": views::version_summary(&urls, provider, version),
        },
        "_links": links,
    })))
}

/// The older API: the version in the path, branch and tags created before
/// by the client; 201 with a `pf:ui` link, which the Ruby client prints.
async fn publish_the_old_way(
    State(state): State<AppState>,
    base: BaseUrl,
    Path(path): Path<ProviderVersionPath>,
    raw: RawBody,
) -> ApiResult<Response> {
    let publication = parse(
        &raw,
        &path.provider,
        Some(&path.version),
        RequestShape::OldPut,
    )
    .await?;
    describe(&publication);
    let outcome = state.store.publish_provider_contract(&publication).await?;
    let (provider, version) = (publication.provider.as_str(), publication.version.as_str());
    let page = crate::ui::Links::new(&base).provider_contract(provider, version);
    let location = Urls::new(base.0).provider_contract(provider, version);
    Ok(crate::hal::created(
        &location,
        json!({
            "notices": notices(&page, &publication, outcome.comparisons_queued),
            "_links": {
                "self": link(location.clone()),
                "pf:ui": link(page),
            }
        }),
    ))
}

fn self_verification_json(contract: &StoredProviderContract) -> Value {
    let results = &contract.self_verification;
    json!({
        "success": results.success,
        "content": results.content,
        "contentType": results.content_type,
        "format": results.format,
        "verifier": results.verifier,
        "verifierVersion": results.verifier_version,
    })
}

async fn contract(
    State(state): State<AppState>,
    base: BaseUrl,
    Path(path): Path<ProviderVersionPath>,
) -> ApiResult<Response> {
    let Some(contract) = state
        .store
        .provider_contract(&path.provider, &path.version)
        .await?
    else {
        return Err(ApiError::NotFound(format!(
            "No provider contract found for {} version {}",
            path.provider, path.version
        )));
    };
    let urls = Urls::new(base.0);
    Ok(Hal::ok(json!({
        "provider": { "name": contract.provider },
        "providerVersion": { "number": contract.version },
        "contentSha": contract.sha,
        "content": contract.content,
        "contentType": contract.content_type,
        "specification": contract.specification,
        "buildUrl": contract.build_url,
        "selfVerificationResults": self_verification_json(&contract),
        "createdAt": treaty_domain::time::format(contract.created_at),
        "_links": {
            "self": link(urls.provider_contract(&contract.provider, &contract.version)),
            "pb:pacticipant-version": titled(urls.version(&contract.provider, &contract.version), "Pacticipant version", Some(&contract.version)),
        }
    }))
    .into_response())
}

/// The comparison's result: the provider's own test result and every
/// finding with its code and location, in PactFlow's comparator's shape.
fn report_json(urls: &Urls, report: &ComparisonReport) -> Value {
    let (status, success, findings, compared_at) = match &report.outcome {
        None => ("unknown", Value::Null, json!([]), Value::Null),
        Some(outcome) => (
            if outcome.success && report.contract.self_verification.success {
                "success"
            } else {
                "failed"
            },
            Value::Bool(outcome.success),
            outcome.findings.clone(),
            json!(treaty_domain::time::format(outcome.compared_at)),
        ),
    };
    let errors: Vec<&Value> = findings
        .as_array()
        .map(|all| {
            all.iter()
                .filter(|f| f.get("type").and_then(Value::as_str) == Some("error"))
                .collect()
        })
        .unwrap_or_default();
    let warnings: Vec<&Value> = findings
        .as_array()
        .map(|all| {
            all.iter()
                .filter(|f| f.get("type").and_then(Value::as_str) != Some("error"))
                .collect()
        })
        .unwrap_or_default();
    json!({
        "verificationType": "BDCT",
        "status": status,
        "success": report.outcome.as_ref().map(|o| o.success && report.contract.self_verification.success),
        "consumer": { "name": report.consumer, "version": { "number": report.consumer_version } },
        "provider": { "name": report.provider, "version": { "number": report.provider_version } },
        "pactSha": report.pact_sha,
        "providerContractSha": report.contract.sha,
        "selfVerificationResults": self_verification_json(&report.contract),
        "comparison": {
            "success": success,
            "comparedAt": compared_at,
            "errors": errors,
            "warnings": warnings,
        },
        "_links": {
            "self": link(urls.comparison(&report.provider, &report.provider_version, &report.consumer, &report.consumer_version)),
            "pf:provider-contract": link(urls.provider_contract(&report.provider, &report.provider_version)),
            "pb:pact-version": link(urls.pact(&report.provider, &report.consumer, &report.consumer_version)),
        }
    })
}

async fn comparison(
    State(state): State<AppState>,
    base: BaseUrl,
    Path(path): Path<ComparisonPath>,
) -> ApiResult<Response> {
    let Some(report) = state
        .store
        .comparison_report(
            &path.provider,
            &path.version,
            &path.consumer,
            &path.consumer_version,
        )
        .await?
    else {
        return Err(ApiError::NotFound(format!(
            "No comparison between the pact of {} version {} and the provider contract of {} version {}",
            path.consumer, path.consumer_version, path.provider, path.version
        )));
    };
    let urls = Urls::new(base.0);
    Ok(Hal::ok(report_json(&urls, &report)).into_response())
}
