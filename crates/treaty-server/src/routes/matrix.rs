//! `/matrix` and `/can-i-deploy`: which versions are compatible, and whether
//! a version can be deployed, with the reasons and what would fix a "no".

use std::collections::HashMap;

use crate::path::Path;
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use serde_json::{Map, Value, json};
use treaty_domain::matrix::{self, Matrix};
use treaty_domain::matrix_query::{self, CanIDeployTarget, MatrixQuery};
use treaty_domain::model::Environment;
use treaty_store::MatrixAnswer;

use crate::AppState;
use crate::base_url::BaseUrl;
use crate::error::{ApiError, ApiResult};
use crate::hal::{self, Hal, link};
use crate::views::Urls;

mod body;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/matrix", get(matrix_route))
        .route("/matrix/provider/{provider}/consumer/{consumer}", get(pair))
        .route("/can-i-deploy", get(can_i_deploy))
        .route("/can-i-deploy/environments", get(can_i_deploy_everywhere))
        .route(
            "/pacticipants/{pacticipant}/latest-version/{tag}/can-i-deploy/to/{to}",
            get(tag_to_tag),
        )
        .route(
            "/pacticipants/{pacticipant}/branches/{branch}/latest-version/can-i-deploy/to-environment/{environment}",
            get(branch_to_environment),
        )
}

/// Answers a matrix query: evidence from the store, verdict from the domain.
pub async fn answer(state: &AppState, query: &MatrixQuery) -> ApiResult<Matrix> {
    let evidence = state
        .store
        .matrix_evidence(query)
        .await?
        .map_err(ApiError::ValidationList)?;
    Ok(matrix::evaluate(query, evidence))
}

/// Answers a matrix query with the versions its rows name, for rendering.
async fn answer_with_versions(state: &AppState, query: &MatrixQuery) -> ApiResult<MatrixAnswer> {
    state
        .store
        .matrix_answer(query)
        .await?
        .map_err(ApiError::ValidationList)
}

async fn matrix_route(
    State(state): State<AppState>,
    base: BaseUrl,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let query = matrix_query::parse_matrix_query(raw.as_deref().unwrap_or(""))
        .map_err(ApiError::ValidationList)?;
    let answer = answer_with_versions(&state, &query).await?;
    if wants_text(&headers) {
        return Ok(text_response(&answer.matrix));
    }
    render_response(&Urls::new(base.0), &answer)
}

/// The Pact Broker's matrix of one pair: every version of each, with the
/// options of `/matrix`. Bad options are a 400 before an unknown consumer
/// or provider is a 404, as there.
async fn pair(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((provider, consumer)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let query = matrix_query::parse_pair_query(raw.as_deref().unwrap_or(""), &consumer, &provider)
        .map_err(ApiError::ValidationList)?;
    for (role, name) in [("consumer", &consumer), ("provider", &provider)] {
        if state.store.pacticipant(name).await?.is_none() {
            return Err(ApiError::NotFoundHal(format!(
                "No {role} with name '{name}' found"
            )));
        }
    }
    let answer = answer_with_versions(&state, &query).await?;
    render_response(&Urls::new(base.0), &answer)
}

async fn can_i_deploy(
    State(state): State<AppState>,
    base: BaseUrl,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let parsed =
        matrix_query::parse_can_i_deploy_query(raw.as_deref().unwrap_or("")).map_err(|errors| {
            let mut fields = Map::new();
            for (field, message) in errors {
                let entry = fields.entry(field).or_insert_with(|| json!([]));
                if let Value::Array(messages) = entry {
                    messages.push(json!(message));
                }
            }
            ApiError::Validation(fields)
        })?;
    let query = MatrixQuery::from_can_i_deploy(&parsed);
    // The store reports an unknown pacticipant or environment itself; only
    // then are they looked up again, for the field-keyed errors the Pact
    // clients print. An answered question pays no extra round trips.
    let answer = match state.store.matrix_answer(&query).await? {
        Ok(answer) => answer,
        Err(errors) => return Err(unknown_name(&state, &parsed, errors).await?),
    };
    if wants_text(&headers) {
        return Ok(text_response(&answer.matrix));
    }
    render_response(&Urls::new(base.0), &answer)
}

/// The error for a can-i-deploy question the store could not resolve:
/// keyed by the field that names what does not exist.
async fn unknown_name(
    state: &AppState,
    parsed: &matrix_query::CanIDeployQuery,
    errors: Vec<String>,
) -> ApiResult<ApiError> {
    if state
        .store
        .pacticipant(&parsed.pacticipant)
        .await?
        .is_none()
    {
        return Ok(ApiError::field(
            "pacticipant",
            "does not match an existing pacticipant",
        ));
    }
    if let CanIDeployTarget::Environment(name) = &parsed.to
        && state.store.environment_by_name(name).await?.is_none()
    {
        return Ok(ApiError::field(
            "environment",
            format!("with name '{name}' does not exist"),
        ));
    }
    Ok(ApiError::ValidationList(errors))
}

fn wants_text(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.starts_with("text/plain"))
}

/// The matrix body: summary, notices and rows, as the Pact Broker shapes them,
/// plus `explanation` with what would make a "no" a "yes".
#[derive(Serialize)]
struct MatrixBody<'a> {
    summary: Value,
    notices: Vec<Value>,
    explanation: Value,
    matrix: Vec<body::RowBody<'a>>,
    #[serde(rename = "_links")]
    links: Value,
}

fn matrix_body<'a>(
    urls: &Urls,
    matrix: &'a Matrix,
    versions: &'a HashMap<i64, body::VersionBody<'a>>,
) -> MatrixBody<'a> {
    let summary = &matrix.summary;
    let mut summary_json = Map::new();
    summary_json.insert("deployable".into(), json!(summary.deployable));
    summary_json.insert("reason".into(), json!(summary.reason()));
    summary_json.insert("success".into(), json!(summary.success));
    summary_json.insert("failed".into(), json!(summary.failed));
    summary_json.insert("unknown".into(), json!(summary.unknown));
    if let Some(ignored) = summary.ignored {
        summary_json.insert("ignored".into(), json!(ignored));
    }
    let mut notices: Vec<Value> = summary
        .reasons
        .iter()
        .map(|n| json!({ "type": n.kind.as_str(), "text": n.text }))
        .collect();
    notices.extend(
        summary
            .fixes
            .iter()
            .map(|fix| json!({ "type": "info", "text": format!("To fix: {fix}") })),
    );
    MatrixBody {
        summary: Value::Object(summary_json),
        notices,
        explanation: json!({ "fixes": summary.fixes }),
        matrix: matrix
            .rows
            .iter()
            .map(|row| body::row_body(urls, row, versions))
            .collect(),
        links: json!({ "self": link(format!("{}/matrix", urls.base)) }),
    }
}

/// The matrix body as a JSON value, for answers that embed it.
fn render(urls: &Urls, answer: &MatrixAnswer) -> ApiResult<Value> {
    let bodies = body::version_bodies(urls, &answer.matrix.rows, &answer.versions);
    serde_json::to_value(matrix_body(urls, &answer.matrix, &bodies)).map_err(unserialisable)
}

/// The matrix body as a HAL response, serialised straight from the rows.
fn render_response(urls: &Urls, answer: &MatrixAnswer) -> ApiResult<Response> {
    let matrix = &answer.matrix;
    let bodies = body::version_bodies(urls, &matrix.rows, &answer.versions);
    // About 1.8 KB a row: sized once, the body is not copied as it grows.
    hal::ok_serialized(
        &matrix_body(urls, matrix, &bodies),
        matrix.rows.len() * 2048,
    )
    .map_err(unserialisable)
}

/// Structs of strings, numbers and string-keyed maps always serialise; this
/// is here so that a future field that cannot is a logged 500, not a panic.
fn unserialisable(error: serde_json::Error) -> ApiError {
    ApiError::Internal(format!("the matrix could not be serialised: {error}"))
}

/// The matrix as the Pact Broker's text table.
fn text_response(matrix: &Matrix) -> Response {
    let mut lines = vec![
        "CONSUMER | C_VERSION | REVISION | PROVIDER | P_VERSION | NUMBER | SUCCESS".to_owned(),
        "---------|-----------|----------|----------|-----------|--------|--------".to_owned(),
    ];
    for row in &matrix.rows {
        lines.push(format!(
            "{} | {} | {} | {} | {} | {} | {}",
            row.consumer,
            row.consumer_version.number,
            row.pact_revision,
            row.provider,
            row.provider_version
                .as_ref()
                .map_or("", |v| v.number.as_str()),
            row.verification
                .as_ref()
                .map_or(String::new(), |v| v.number.to_string()),
            row.success().map_or(String::new(), |s| s.to_string()),
        ));
    }
    let deployable = match matrix.summary.deployable {
        Some(true) => "true",
        Some(false) => "false",
        None => "nil",
    };
    lines.push(String::new());
    lines.push(format!("Deployable: {deployable}"));
    lines.push(format!("Reason: {}", matrix.summary.reason()));
    for fix in &matrix.summary.fixes {
        lines.push(format!("To fix: {fix}"));
    }
    let mut response = (lines.join("\n") + "\n").into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain;charset=utf-8"),
    );
    response
}

/// The latest version with a tag against the latest versions with another tag.
pub(crate) fn tag_to_tag_query(pacticipant: String, tag: String, to: String) -> MatrixQuery {
    MatrixQuery {
        selectors: vec![matrix_query::VersionSelector {
            pacticipant,
            latest: true,
            tag: Some(tag),
            ..matrix_query::VersionSelector::default()
        }],
        latest_by: Some(matrix_query::LatestBy::Cvp),
        scope: Some(matrix_query::Scope {
            latest: true,
            tag: Some(to),
            ..matrix_query::Scope::default()
        }),
        ignore: Vec::new(),
        success: None,
        limit: matrix_query::NO_LIMIT,
    }
}

/// The head of a branch against what is in an environment.
pub(crate) fn branch_to_environment_query(
    pacticipant: String,
    branch: String,
    environment: String,
) -> MatrixQuery {
    MatrixQuery {
        selectors: vec![matrix_query::VersionSelector {
            pacticipant,
            latest: true,
            branch: Some(branch),
            ..matrix_query::VersionSelector::default()
        }],
        latest_by: Some(matrix_query::LatestBy::Cvpv),
        scope: Some(matrix_query::Scope {
            environment: Some(environment),
            ..matrix_query::Scope::default()
        }),
        ignore: Vec::new(),
        success: None,
        limit: matrix_query::NO_LIMIT,
    }
}

/// Answers one of the can-i-deploy routes that name the version by a tag
/// or branch: a 404, as in the Pact Broker, when the pacticipant, that
/// version or the environment does not exist.
async fn respond(
    state: &AppState,
    base: BaseUrl,
    headers: &HeaderMap,
    query: MatrixQuery,
) -> ApiResult<Response> {
    let answer = match state.store.matrix_answer(&query).await? {
        Err(unknown) => return Err(ApiError::missing(unknown.join("; "))),
        Ok(answer) => answer,
    };
    let missing = answer.matrix.missing_versions();
    if !missing.is_empty() {
        return Err(ApiError::missing(missing.join("; ")));
    }
    if wants_text(headers) {
        return Ok(text_response(&answer.matrix));
    }
    render_response(&Urls::new(base.0), &answer)
}

async fn tag_to_tag(
    State(state): State<AppState>,
    base: BaseUrl,
    headers: HeaderMap,
    Path((pacticipant, tag, to)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    respond(
        &state,
        base,
        &headers,
        tag_to_tag_query(pacticipant, tag, to),
    )
    .await
}

async fn branch_to_environment(
    State(state): State<AppState>,
    base: BaseUrl,
    headers: HeaderMap,
    Path((pacticipant, branch, environment)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    respond(
        &state,
        base,
        &headers,
        branch_to_environment_query(pacticipant, branch, environment),
    )
    .await
}

/// Treaty's addition: one version against several environments in one call
/// (all of them when none is named), one verdict each.
async fn can_i_deploy_everywhere(
    State(state): State<AppState>,
    base: BaseUrl,
    RawQuery(raw): RawQuery,
) -> ApiResult<Hal> {
    let pairs: Vec<(String, String)> =
        form_urlencoded::parse(raw.as_deref().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let value = |key: &str| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let mut errors = Map::new();
    let pacticipant = value("pacticipant").filter(|p| !p.is_empty());
    let version = value("version").filter(|v| !v.is_empty());
    if pacticipant.is_none() {
        errors.insert("pacticipant".into(), json!(["is missing"]));
    }
    if version.is_none() {
        errors.insert("version".into(), json!(["is missing"]));
    }
    let (Some(pacticipant), Some(version)) = (pacticipant, version) else {
        return Err(ApiError::Validation(errors));
    };
    if state.store.pacticipant(&pacticipant).await?.is_none() {
        return Err(ApiError::field(
            "pacticipant",
            "does not match an existing pacticipant",
        ));
    }
    let named: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == "environment" || k == "environment[]")
        .map(|(_, v)| v.clone())
        .collect();
    let all = state.store.environments().await?;
    let environments: Vec<Environment> = if named.is_empty() {
        all
    } else {
        let mut chosen = Vec::new();
        for name in &named {
            match all.iter().find(|e| &e.name == name) {
                Some(environment) => chosen.push(environment.clone()),
                None => {
                    return Err(ApiError::field(
                        "environment",
                        format!("with name '{name}' does not exist"),
                    ));
                }
            }
        }
        chosen
    };
    let urls = Urls::new(base.0);
    let mut verdicts = Vec::new();
    let mut overall = Some(true);
    for environment in &environments {
        let query = MatrixQuery::from_can_i_deploy(&matrix_query::CanIDeployQuery {
            pacticipant: pacticipant.clone(),
            version: version.clone(),
            to: CanIDeployTarget::Environment(environment.name.clone()),
            ignore: Vec::new(),
        });
        let answer = answer_with_versions(&state, &query).await?;
        overall = match (overall, answer.matrix.summary.deployable) {
            (Some(false), _) | (_, Some(false)) => Some(false),
            (None, _) | (_, None) => None,
            _ => Some(true),
        };
        let mut body = render(&urls, &answer)?;
        if let Some(fields) = body.as_object_mut() {
            fields.remove("_links");
            fields.insert("name".into(), json!(environment.name));
            fields.insert("displayName".into(), json!(environment.display_name));
            fields.insert("production".into(), json!(environment.production));
        }
        verdicts.push(body);
    }
    Ok(Hal::ok(json!({
        "pacticipant": pacticipant,
        "version": version,
        "deployable": overall,
        "environments": verdicts,
        "_links": { "self": link(format!("{}/can-i-deploy/environments", urls.base)) }
    })))
}
