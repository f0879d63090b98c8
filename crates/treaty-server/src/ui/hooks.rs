//! Webhooks in the UI: the list (read), a webhook with its deliveries
//! (read), creating one and sending it as a test (admin), through the same
//! validation, sealing and sender as `/webhooks` and `/webhooks/{uuid}/execute`.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde_json::{Value, json};
use treaty_domain::webhooks::{self, EVENTS, Party, StoredWebhook};
use treaty_store::WebhookScope;

use super::forms::{Posted, Viewer};
use super::manage::{problem_text, see_other};
use super::view::{Nav, When, pretty};
use super::{PageResult, html, not_found};
use crate::AppState;
use crate::base_url::BaseUrl;
use crate::error::ApiError;
use crate::path::Path;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/ui/webhooks", get(list).post(create))
        .route("/ui/webhooks/{uuid}", get(detail))
        .route("/ui/webhooks/{uuid}/test", post(test))
        .route("/ui/webhooks/{uuid}/deliveries/{id}/retry", post(retry))
}

struct HookLine {
    href: String,
    description: String,
    scope: String,
    target: String,
    events: String,
    enabled: bool,
}

fn party(party: &Party) -> String {
    match party {
        Party::Any => "any".to_owned(),
        Party::Name(name) => name.clone(),
        Party::Label(label) => format!("label {label}"),
    }
}

fn line(nav: &Nav, hook: &StoredWebhook) -> HookLine {
    let d = &hook.definition;
    HookLine {
        href: nav.links.webhook(&hook.uuid),
        description: d
            .description
            .clone()
            .unwrap_or_else(|| "(no description)".to_owned()),
        scope: format!(
            "consumer {}, provider {}",
            party(&d.consumer),
            party(&d.provider)
        ),
        target: format!("{} {}", d.request.method, d.request.url),
        events: d.events.join(", "),
        enabled: d.enabled,
    }
}

#[derive(Template)]
#[template(path = "ui/webhooks.html")]
struct ListPage {
    nav: Nav,
    hooks: Vec<HookLine>,
    events: Vec<&'static str>,
    problem: Option<String>,
}

async fn list_page(
    state: &AppState,
    nav: Nav,
    status: StatusCode,
    problem: Option<String>,
) -> PageResult {
    let hooks = state
        .store
        .webhooks(WebhookScope::All)
        .await?
        .iter()
        .map(|h| line(&nav, h))
        .collect();
    html(
        status,
        &ListPage {
            nav,
            hooks,
            events: EVENTS.to_vec(),
            problem,
        },
    )
}

/// `GET /ui/webhooks`
async fn list(State(state): State<AppState>, base: BaseUrl, viewer: Viewer) -> PageResult {
    list_page(
        &state,
        Nav::new(&base, &viewer, "webhooks"),
        StatusCode::OK,
        None,
    )
    .await
}

/// The body `POST /webhooks` takes, from the form.
fn webhook_body(form: &Posted) -> Result<Value, ApiError> {
    let events: Vec<Value> = EVENTS
        .iter()
        .filter(|event| form.checked(&format!("event_{event}")))
        .map(|event| json!({ "name": event }))
        .collect();
    let body = form
        .get("body")
        .map(|raw| serde_json::from_str::<Value>(raw).unwrap_or_else(|_| json!(raw)));
    let mut webhook = json!({
        "description": form.get("description"),
        "events": events,
        "request": {
            "method": form.get("method").unwrap_or("POST"),
            "url": form.get("url"),
            "headers": { "Content-Type": "application/json" },
        },
    });
    if let Some(body) = body {
        webhook["request"]["body"] = body;
    }
    for side in ["consumer", "provider"] {
        if let Some(name) = form.get(side) {
            webhook[side] = json!({ "name": name });
        }
    }
    Ok(webhook)
}

/// `POST /ui/webhooks` (admin): as `POST /webhooks`.
async fn create(
    State(state): State<AppState>,
    base: BaseUrl,
    viewer: Viewer,
    form: Posted,
) -> PageResult {
    let nav = Nav::new(&base, &viewer, "webhooks");
    let done = async {
        let definition =
            crate::routes::webhooks::parse_definition(&state, &webhook_body(&form)?).await?;
        let sealed = state.sealer().await?.seal_webhook(definition);
        let uuid = uuid::Uuid::new_v4().to_string();
        state.store.put_webhook(&uuid, &sealed).await?;
        Ok::<_, ApiError>(uuid)
    }
    .await;
    match done {
        Ok(uuid) => Ok(see_other(nav.links.webhook(&uuid))),
        Err(
            error @ (ApiError::Validation(_)
            | ApiError::ValidationList(_)
            | ApiError::BadRequest(_)
            | ApiError::NotFound(_)),
        ) => list_page(&state, nav, error.status(), Some(problem_text(&error))).await,
        Err(other) => Err(other),
    }
}

struct DeliveryLine {
    /// Where its Retry form posts, for a delivery that failed for good.
    retry_action: String,
    event: String,
    status: String,
    failed: bool,
    attempts: u32,
    at: When,
    logs: String,
}

/// What a test execution sent and got back.
struct TestResult {
    success: bool,
    message: String,
    request: String,
    response: String,
}

#[derive(Template)]
#[template(path = "ui/webhook.html")]
struct DetailPage {
    nav: Nav,
    hook: HookLine,
    test_action: String,
    api_href: String,
    deliveries: Vec<DeliveryLine>,
    tested: Option<TestResult>,
    problem: Option<String>,
}

async fn detail_page(
    state: &AppState,
    nav: Nav,
    uuid: &str,
    tested: Option<TestResult>,
    problem: Option<(StatusCode, String)>,
) -> PageResult {
    let Some(hook) = state.store.webhook(uuid).await? else {
        return not_found(
            &nav,
            "No such webhook",
            format!("No webhook has the uuid {uuid}."),
        );
    };
    let deliveries = state
        .store
        .webhook_deliveries(Some(uuid), None, None, 50)
        .await?
        .into_iter()
        .map(|d| DeliveryLine {
            retry_action: format!(
                "{}/deliveries/{}/retry",
                nav.links.webhook(uuid),
                super::view::segment(&d.uuid)
            ),
            failed: d.status == "failure",
            event: d.event_name,
            status: d.status,
            attempts: d.attempts_made,
            at: When::new(d.created_at),
            logs: webhooks::redact_logged_headers(&d.logs),
        })
        .collect();
    let page = DetailPage {
        hook: line(&nav, &hook),
        test_action: format!("{}/test", nav.links.webhook(uuid)),
        api_href: nav.links.api(&format!("/webhooks/{uuid}")),
        deliveries,
        tested,
        problem: problem.as_ref().map(|(_, text)| text.clone()),
        nav,
    };
    html(problem.map_or(StatusCode::OK, |(status, _)| status), &page)
}

/// `GET /ui/webhooks/{uuid}`
async fn detail(
    State(state): State<AppState>,
    base: BaseUrl,
    viewer: Viewer,
    Path(uuid): Path<String>,
) -> PageResult {
    detail_page(
        &state,
        Nav::new(&base, &viewer, "webhooks"),
        &uuid,
        None,
        None,
    )
    .await
}

/// `POST /ui/webhooks/{uuid}/test` (admin): as `POST /webhooks/{uuid}/execute`.
async fn test(
    State(state): State<AppState>,
    base: BaseUrl,
    viewer: Viewer,
    Path(uuid): Path<String>,
    _form: Posted,
) -> PageResult {
    let nav = Nav::new(&base, &viewer, "webhooks");
    let Some(hook) = state.store.webhook(&uuid).await? else {
        return not_found(
            &nav,
            "No such webhook",
            format!("No webhook has the uuid {uuid}."),
        );
    };
    // Sent as a delivery is: with its password and signing secret opened.
    let webhook = state.sealer().await?.open_webhook(hook.definition);
    let sent = crate::routes::webhooks::send_test(&state, &base, &webhook).await?;
    let tested = TestResult {
        success: sent.success,
        message: sent.message,
        request: pretty(&sent.request),
        response: sent
            .response
            .as_ref()
            .map_or_else(|| "(no response)".to_owned(), pretty),
    };
    detail_page(&state, nav, &uuid, Some(tested), None).await
}

/// `POST /ui/webhooks/{uuid}/deliveries/{id}/retry` (admin): as
/// `POST /webhooks/{uuid}/deliveries/{delivery}/retry`; back to the webhook,
/// whose deliveries show the new attempt once the worker has sent it.
async fn retry(
    State(state): State<AppState>,
    base: BaseUrl,
    viewer: Viewer,
    Path((uuid, id)): Path<(String, String)>,
    _form: Posted,
) -> PageResult {
    let nav = Nav::new(&base, &viewer, "webhooks");
    match state
        .store
        .retry_webhook_delivery(&uuid, &id, viewer.actor())
        .await
        .map_err(ApiError::from)
    {
        Ok(_) => Ok(see_other(nav.links.webhook(&uuid))),
        Err(error @ (ApiError::Conflict { .. } | ApiError::NotFound(_))) => {
            let problem = (error.status(), problem_text(&error));
            detail_page(&state, nav, &uuid, None, Some(problem)).await
        }
        Err(other) => Err(other),
    }
}
