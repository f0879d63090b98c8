//! Webhooks in the UI: the list (read), a webhook with its deliveries
//! (read), creating, editing one and sending it as a test (admin), through
//! the same validation, sealing and sender as `/webhooks`, `PUT /webhooks/{uuid}`
//! and `/webhooks/{uuid}/execute`.

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
        .route("/ui/webhooks/{uuid}", get(detail).post(edit))
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

/// When each event is sent, in a few words (docs/webhooks.md says more).
const EVENT_MEANINGS: &[(&str, &str)] = &[
    ("contract_published", "a pact is published, changed or not"),
    (
        "contract_content_changed",
        "a pact's content differs from the previous one",
    ),
    (
        "contract_requiring_verification_published",
        "a pact is published that provider versions (main branch head, deployed, released) have not verified",
    ),
    (
        "provider_verification_published",
        "a verification result is published",
    ),
    (
        "provider_verification_succeeded",
        "a verification result passes",
    ),
    (
        "provider_verification_failed",
        "a verification result fails",
    ),
    ("deployment_started", "a deployment starts"),
    ("deployment_completed", "a deployment or release completes"),
    ("deployment_failed", "a deployment fails"),
    ("deployment_aborted", "a deployment is aborted"),
    (
        "deployment_timed_out",
        "a deployment stays unfinished too long",
    ),
    (
        "deployment_bypassed_gates",
        "a deployment the environment's gates would have refused is recorded",
    ),
    (
        "consumer_unblocked",
        "a provider version that verified a consumer's latest pact reaches an environment",
    ),
    ("environment_frozen", "a freeze is put in force, or changed"),
    ("environment_unfrozen", "the freeze in force is lifted"),
    (
        "provider_contract_published",
        "a provider publishes its OpenAPI document (bi-directional)",
    ),
    (
        "provider_contract_comparison_failed",
        "a consumer's pact is found incompatible with a provider's document",
    ),
];

fn meaning(event: &str) -> &'static str {
    EVENT_MEANINGS
        .iter()
        .find(|(name, _)| *name == event)
        .map_or("", |(_, meaning)| meaning)
}

/// One event's checkbox in the webhook form.
struct EventChoice {
    name: &'static str,
    meaning: &'static str,
    checked: bool,
}

/// The webhook form (`webhook_form.html`), shared by New webhook and Edit:
/// empty, filled from a stored webhook, or as posted when it was refused.
/// Secret header values only ever appear as the mask, which keeps the
/// stored value when sent back; the password and signing secret are never
/// shown (left empty, they stay as they are).
struct HookForm {
    action: String,
    submit: &'static str,
    editing: bool,
    description: String,
    consumer: String,
    provider: String,
    events: Vec<EventChoice>,
    method: String,
    url: String,
    headers: String,
    body: String,
    username: String,
    enabled: bool,
}

impl HookForm {
    fn choices(checked: impl Fn(&str) -> bool) -> Vec<EventChoice> {
        EVENTS
            .iter()
            .map(|name| EventChoice {
                name,
                meaning: meaning(name),
                checked: checked(name),
            })
            .collect()
    }

    fn methods(&self) -> Vec<(&'static str, bool)> {
        ["POST", "PUT", "GET", "PATCH", "DELETE"]
            .into_iter()
            .map(|m| (m, m.eq_ignore_ascii_case(&self.method)))
            .collect()
    }

    fn new_webhook(nav: &Nav) -> Self {
        Self {
            action: nav.links.webhooks(),
            submit: "Create webhook",
            editing: false,
            description: String::new(),
            consumer: String::new(),
            provider: String::new(),
            events: Self::choices(|_| false),
            method: "POST".to_owned(),
            url: String::new(),
            headers: "Content-Type: application/json".to_owned(),
            body: String::new(),
            username: String::new(),
            enabled: true,
        }
    }

    fn stored(nav: &Nav, hook: &StoredWebhook) -> Self {
        let d = &hook.definition;
        let shown = |party: &Party| match party {
            Party::Any => String::new(),
            Party::Name(name) => name.clone(),
            Party::Label(label) => format!("label:{label}"),
        };
        Self {
            action: nav.links.webhook(&hook.uuid),
            submit: "Save webhook",
            editing: true,
            description: d.description.clone().unwrap_or_default(),
            consumer: shown(&d.consumer),
            provider: shown(&d.provider),
            events: Self::choices(|name| d.events.iter().any(|e| e == name)),
            method: d.request.method.clone(),
            url: d.request.url.clone(),
            headers: header_lines(&webhooks::masked_headers(&d.request.headers)),
            body: match &d.request.body {
                None => String::new(),
                Some(Value::String(text)) => text.clone(),
                Some(json) => pretty(json),
            },
            username: d.request.username.clone().unwrap_or_default(),
            enabled: d.enabled,
        }
    }

    /// The form as it was posted, with secret header values masked again.
    fn posted(action: String, editing: bool, form: &Posted) -> Self {
        let text = |name: &str| form.get(name).unwrap_or_default().to_owned();
        let headers = parse_header_lines(&text("headers"))
            .map(|headers| header_lines(&webhooks::masked_headers(&headers)))
            .unwrap_or_else(|_| text("headers"));
        Self {
            action,
            submit: if editing {
                "Save webhook"
            } else {
                "Create webhook"
            },
            editing,
            description: text("description"),
            consumer: text("consumer"),
            provider: text("provider"),
            events: Self::choices(|name| form.checked(&format!("event_{name}"))),
            method: form.get("method").unwrap_or("POST").to_owned(),
            url: text("url"),
            headers,
            body: text("body"),
            username: text("username"),
            enabled: !editing || form.checked("enabled"),
        }
    }
}

fn header_lines(headers: &std::collections::BTreeMap<String, String>) -> String {
    headers
        .iter()
        .map(|(name, value)| format!("{name}: {value}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `Name: value` lines; a line without a colon is refused, naming it.
fn parse_header_lines(text: &str) -> Result<std::collections::BTreeMap<String, String>, ApiError> {
    let mut headers = std::collections::BTreeMap::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let Some((name, value)) = line.split_once(':') else {
            return Err(ApiError::field(
                "headers",
                format!("'{line}' is not a header: write one per line as Name: value"),
            ));
        };
        headers.insert(name.trim().to_owned(), value.trim().to_owned());
    }
    Ok(headers)
}

#[derive(Template)]
#[template(path = "ui/webhooks.html")]
struct ListPage {
    nav: Nav,
    hooks: Vec<HookLine>,
    form: HookForm,
    problem: Option<String>,
}

async fn list_page(
    state: &AppState,
    nav: Nav,
    status: StatusCode,
    problem: Option<String>,
    form: Option<HookForm>,
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
            form: form.unwrap_or_else(|| HookForm::new_webhook(&nav)),
            nav,
            hooks,
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
        None,
    )
    .await
}

/// The body `POST /webhooks` and `PUT /webhooks/{uuid}` take, from the form.
/// A password or signing secret left empty is left out (kept, when editing).
fn webhook_body(form: &Posted, editing: bool) -> Result<Value, ApiError> {
    let events: Vec<Value> = EVENTS
        .iter()
        .filter(|event| form.checked(&format!("event_{event}")))
        .map(|event| json!({ "name": event }))
        .collect();
    let body = form
        .get("body")
        .map(|raw| serde_json::from_str::<Value>(raw).unwrap_or_else(|_| json!(raw)));
    let headers = parse_header_lines(form.get("headers").unwrap_or_default())?;
    let mut webhook = json!({
        "description": form.get("description"),
        "events": events,
        "request": {
            "method": form.get("method").unwrap_or("POST"),
            "url": form.get("url"),
            "headers": headers,
        },
    });
    if editing {
        webhook["enabled"] = json!(form.checked("enabled"));
    }
    if let Some(body) = body {
        webhook["request"]["body"] = body;
    }
    if let Some(username) = form.get("username") {
        webhook["request"]["username"] = json!(username);
    }
    if let Some(password) = form.get("password") {
        webhook["request"]["password"] = json!(password);
    }
    if let Some(secret) = form.get("secret") {
        webhook["secret"] = json!(secret);
    }
    for side in ["consumer", "provider"] {
        if let Some(given) = form.get(side) {
            webhook[side] = match given.strip_prefix("label:") {
                Some(label) => json!({ "label": label.trim() }),
                None => json!({ "name": given }),
            };
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
            crate::routes::webhooks::parse_definition(&state, &webhook_body(&form, false)?).await?;
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
        ) => {
            let again = HookForm::posted(nav.links.webhooks(), false, &form);
            list_page(
                &state,
                nav,
                error.status(),
                Some(problem_text(&error)),
                Some(again),
            )
            .await
        }
        Err(other) => Err(other),
    }
}

/// `POST /ui/webhooks/{uuid}` (admin): as `PUT /webhooks/{uuid}`, for a
/// webhook that exists (the form edits; it does not create).
async fn edit(
    State(state): State<AppState>,
    base: BaseUrl,
    viewer: Viewer,
    Path(uuid): Path<String>,
    form: Posted,
) -> PageResult {
    let nav = Nav::new(&base, &viewer, "webhooks");
    if state.store.webhook(&uuid).await?.is_none() {
        return not_found(
            &nav,
            "No such webhook",
            format!("No webhook has the uuid {uuid}."),
        );
    }
    let done = async {
        let body = webhook_body(&form, true)?;
        crate::routes::webhooks::replace_webhook(&state, &uuid, &body).await
    }
    .await;
    match done {
        Ok(_) => Ok(see_other(nav.links.webhook(&uuid))),
        Err(
            error @ (ApiError::Validation(_)
            | ApiError::ValidationList(_)
            | ApiError::BadRequest(_)
            | ApiError::NotFound(_)),
        ) => {
            let again = HookForm::posted(nav.links.webhook(&uuid), true, &form);
            let problem = (error.status(), problem_text(&error));
            detail_page(&state, nav, &uuid, None, Some(problem), Some(again)).await
        }
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
    form: HookForm,
}

async fn detail_page(
    state: &AppState,
    nav: Nav,
    uuid: &str,
    tested: Option<TestResult>,
    problem: Option<(StatusCode, String)>,
    form: Option<HookForm>,
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
        form: form.unwrap_or_else(|| HookForm::stored(&nav, &hook)),
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
    detail_page(&state, nav, &uuid, Some(tested), None, None).await
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
            detail_page(&state, nav, &uuid, None, Some(problem), None).await
        }
        Err(other) => Err(other),
    }
}
