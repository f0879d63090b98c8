//! Webhooks, as the Pact Broker serves them: `/webhooks` and its scoped
//! variants, each webhook at `/webhooks/{uuid}`, test executions, and the
//! deliveries events triggered (`triggered webhooks` in the Pact Broker's
//! words) with their logs.

use crate::path::Path;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use treaty_domain::time;
use treaty_domain::webhooks::{self, Delivery, Party, StoredWebhook, WebhookDefinition};

use crate::AppState;
use crate::base_url::BaseUrl;
use crate::body::RawBody;
use crate::error::{ApiError, ApiResult};
use crate::hal::{self, Hal, link, seg};
use treaty_store::WebhookScope;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/webhooks", get(list_all).post(create_global))
        .route("/webhooks/execute", post(execute_unsaved))
        .route(
            "/webhooks/provider/{provider}/consumer/{consumer}",
            get(list_pair).post(create_pair),
        )
        .route(
            "/webhooks/provider/{provider}",
            get(list_provider).post(create_provider),
        )
        .route(
            "/webhooks/consumer/{consumer}",
            get(list_consumer).post(create_consumer),
        )
        .route(
            "/pacts/provider/{provider}/consumer/{consumer}/webhooks",
            get(list_pact_webhooks).post(create_pair),
        )
        .route(
            "/pacts/provider/{provider}/consumer/{consumer}/webhooks/status",
            get(status),
        )
        .route("/webhooks/{uuid}", get(show).put(put).delete(remove))
        .route("/webhooks/{uuid}/execute", post(execute_saved))
        .route("/webhooks/{uuid}/deliveries", get(deliveries))
        .route(
            "/webhooks/{uuid}/deliveries/{delivery}/retry",
            post(retry_delivery),
        )
        .route("/triggered-webhooks/{uuid}/logs", get(logs))
        .route(
            "/pacts/provider/{provider}/consumer/{consumer}/version/{version}/triggered-webhooks",
            get(triggered_by_publication),
        )
}

fn href(base: &BaseUrl, uuid: &str) -> String {
    base.join(&format!("/webhooks/{}", seg(uuid)))
}

/// `pb:consumer` or `pb:consumers` (and the provider's): the pacticipant
/// named, or the pacticipants with the label.
fn party_link(base: &BaseUrl, role: &str, party: &Party) -> Option<(String, Value)> {
    match party {
        Party::Name(name) => Some((
            format!("pb:{}", role.to_ascii_lowercase()),
            json!({ "title": role, "name": name, "href": base.join(&format!("/pacticipants/{}", seg(name))) }),
        )),
        Party::Label(label) => Some((
            format!("pb:{}s", role.to_ascii_lowercase()),
            json!({
                "title": format!("{role}s by label"),
                "name": label,
                "href": base.join(&format!("/pacticipants/label/{}", seg(label))),
            }),
        )),
        Party::Any => None,
    }
}

/// The Pact Broker's description of a webhook without one of its own:
/// method and host (`POST example.org`), template parameters in the URL
/// read as `placeholder`.
fn request_description(d: &WebhookDefinition) -> String {
    let mut url = d.request.url.clone();
    while let Some(start) = url.find("${") {
        let Some(length) = url[start..].find('}') else {
            break;
        };
        url.replace_range(start..start + length + 1, "placeholder");
    }
    let host = url::Url::parse(&url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default();
    format!("{} {host}", d.request.method.to_ascii_uppercase())
}

/// The description shown for a webhook: its own, or its request's.
fn display_description(d: &WebhookDefinition) -> String {
    d.description
        .clone()
        .filter(|text| !text.trim().is_empty())
        .unwrap_or_else(|| request_description(d))
}

/// Which pacts a webhook is for, in the Pact Broker's words.
fn scope_description(d: &WebhookDefinition) -> String {
    let name = |party: &Party| match party {
        Party::Name(name) => Some(name.clone()),
        _ => None,
    };
    match (name(&d.consumer), name(&d.provider)) {
        (Some(consumer), Some(provider)) => {
            format!("A webhook for the pact between {consumer} and {provider}")
        }
        (None, Some(provider)) => format!("A webhook for all pacts with provider {provider}"),
        (Some(consumer), None) => format!("A webhook for all pacts with consumer {consumer}"),
        (None, None) => "A webhook for all pacts".to_owned(),
    }
}

fn render(base: &BaseUrl, webhook: &StoredWebhook) -> Value {
    let d = &webhook.definition;
    let mut request = Map::new();
    request.insert("method".into(), json!(d.request.method));
    request.insert("url".into(), json!(d.request.url));
    if !d.request.headers.is_empty() {
        request.insert(
            "headers".into(),
            json!(webhooks::masked_headers(&d.request.headers)),
        );
    }
    if let Some(body) = &d.request.body {
        request.insert("body".into(), body.clone());
    }
    hal::put_opt(&mut request, "username", d.request.username.clone());
    if d.request.password.is_some() {
        request.insert("password".into(), json!(webhooks::MASK));
    }
    let mut body = Map::new();
    body.insert("uuid".into(), json!(webhook.uuid));
    body.insert("description".into(), json!(display_description(d)));
    hal::put_opt(&mut body, "consumer", d.consumer.to_json());
    hal::put_opt(&mut body, "provider", d.provider.to_json());
    body.insert("enabled".into(), json!(d.enabled));
    body.insert("request".into(), Value::Object(request));
    body.insert(
        "events".into(),
        json!(
            d.events
                .iter()
                .map(|e| json!({ "name": e }))
                .collect::<Vec<_>>()
        ),
    );
    // The secret signs deliveries; it is never shown again.
    body.insert("signed".into(), json!(d.request.secret.is_some()));
    // Moved in from a broker that showed these masked: they must be given again.
    if !webhook.secrets_to_reenter.is_empty() {
        body.insert("secretsToReenter".into(), json!(webhook.secrets_to_reenter));
    }
    body.insert("createdAt".into(), json!(time::format(webhook.created_at)));
    if webhook.updated_at != webhook.created_at {
        body.insert("updatedAt".into(), json!(time::format(webhook.updated_at)));
    }
    let self_href = href(base, &webhook.uuid);
    let mut links = Map::new();
    links.insert(
        "self".into(),
        json!({ "title": display_description(d), "href": self_href }),
    );
    links.insert(
        "pb:execute".into(),
        json!({ "title": "Test the execution of the webhook with the latest matching pact or verification by sending a POST request to this URL", "href": format!("{self_href}/execute") }),
    );
    for (role, party) in [("Consumer", &d.consumer), ("Provider", &d.provider)] {
        if let Some((relation, link)) = party_link(base, role, party) {
            links.insert(relation, link);
        }
    }
    if let (Party::Name(consumer), Party::Name(provider)) = (&d.consumer, &d.provider) {
        links.insert(
            "pb:pact-webhooks".into(),
            json!({ "title": format!("All webhooks for consumer {consumer} and provider {provider}"), "href": base.join(&format!("/webhooks/provider/{}/consumer/{}", seg(provider), seg(consumer))) }),
        );
    }
    links.insert(
        "pb:webhooks".into(),
        json!({ "title": "All webhooks", "href": base.join("/webhooks") }),
    );
    links.insert(
        "treaty:deliveries".into(),
        link(format!("{self_href}/deliveries")),
    );
    body.insert("_links".into(), Value::Object(links));
    Value::Object(body)
}

fn render_list(base: &BaseUrl, self_path: &str, title: &str, hooks: &[StoredWebhook]) -> Hal {
    Hal::ok(json!({
        "_embedded": { "webhooks": hooks.iter().map(|w| render(base, w)).collect::<Vec<_>>() },
        "_links": {
            "self": { "title": title, "href": base.join(self_path) },
            "pb:create": { "title": "POST to create a webhook", "href": base.join(self_path) },
            "pb:webhooks": hooks.iter().map(|w| json!({
                "title": scope_description(&w.definition),
                "name": display_description(&w.definition),
                "href": href(base, &w.uuid),
            })).collect::<Vec<_>>(),
            "curies": [{ "name": "pb", "href": base.join("/doc/webhooks-{rel}"), "templated": true }],
        },
    }))
}

/// Reads a webhook, with the consumer and provider of the path when there
/// are; errors by field, as the Pact Broker's clients read them.
async fn parse(
    state: &AppState,
    raw: &RawBody,
    consumer: Option<&str>,
    provider: Option<&str>,
) -> ApiResult<(WebhookDefinition, Value)> {
    raw.require_json(&["application/json"])?;
    let mut body = raw.json_value()?;
    if let Some(object) = body.as_object_mut() {
        if let Some(consumer) = consumer {
            object.insert("consumer".into(), json!({ "name": consumer }));
        }
        if let Some(provider) = provider {
            object.insert("provider".into(), json!({ "name": provider }));
        }
    }
    let definition = parse_definition(state, &body).await?;
    Ok((definition, body))
}

/// A webhook definition from its JSON, as every route that takes one
/// (and the UI's form) validates it.
pub(crate) async fn parse_definition(
    state: &AppState,
    body: &Value,
) -> ApiResult<WebhookDefinition> {
    let mut errors = Map::new();
    let mut add = |field: &str, message: String| {
        if let Some(list) = errors
            .entry(field.to_owned())
            .or_insert_with(|| json!([]))
            .as_array_mut()
        {
            list.push(json!(message));
        }
    };
    let parsed = webhooks::parse_webhook(body, &state.webhooks.policy().clone());
    let definition = match parsed {
        Ok(definition) => Some(definition),
        Err(problems) => {
            for (field, message) in problems {
                add(&field, message);
            }
            None
        }
    };
    if let Some(definition) = &definition {
        for (side, party) in [
            ("consumer", &definition.consumer),
            ("provider", &definition.provider),
        ] {
            if let Party::Name(name) = party
                && state.store.pacticipant(name).await?.is_none()
            {
                add(
                    &format!("{side}.name"),
                    "does not match an existing pacticipant".to_owned(),
                );
            }
        }
    }
    match definition {
        Some(definition) if errors.is_empty() => Ok(definition),
        _ => Err(ApiError::Validation(errors)),
    }
}

/// The pacticipant a path names as `role` (consumer or provider) must exist.
async fn require_pacticipant(state: &AppState, role: &str, name: &str) -> ApiResult<()> {
    if state.store.pacticipant(name).await?.is_none() {
        return Err(super::pacticipants::not_found_as(role, name));
    }
    Ok(())
}

async fn create(
    state: &AppState,
    base: &BaseUrl,
    raw: &RawBody,
    consumer: Option<&str>,
    provider: Option<&str>,
) -> ApiResult<Response> {
    if let Some(provider) = provider {
        require_pacticipant(state, "provider", provider).await?;
    }
    if let Some(consumer) = consumer {
        require_pacticipant(state, "consumer", consumer).await?;
    }
    let (definition, _) = parse(state, raw, consumer, provider).await?;
    let sealed = state.sealer().await?.seal_webhook(definition);
    let uuid = uuid::Uuid::new_v4().to_string();
    let (stored, _) = state.store.put_webhook(&uuid, &sealed).await?;
    Ok(hal::created(&href(base, &uuid), render(base, &stored)))
}

async fn create_global(
    State(state): State<AppState>,
    base: BaseUrl,
    raw: RawBody,
) -> ApiResult<Response> {
    create(&state, &base, &raw, None, None).await
}

async fn create_pair(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((provider, consumer)): Path<(String, String)>,
    raw: RawBody,
) -> ApiResult<Response> {
    create(&state, &base, &raw, Some(&consumer), Some(&provider)).await
}

async fn create_provider(
    State(state): State<AppState>,
    base: BaseUrl,
    Path(provider): Path<String>,
    raw: RawBody,
) -> ApiResult<Response> {
    create(&state, &base, &raw, None, Some(&provider)).await
}

async fn create_consumer(
    State(state): State<AppState>,
    base: BaseUrl,
    Path(consumer): Path<String>,
    raw: RawBody,
) -> ApiResult<Response> {
    create(&state, &base, &raw, Some(&consumer), None).await
}

async fn list_all(State(state): State<AppState>, base: BaseUrl) -> ApiResult<Hal> {
    let hooks = state.store.webhooks(WebhookScope::All).await?;
    Ok(render_list(&base, "/webhooks", "Webhooks", &hooks))
}

/// The webhooks of exactly this consumer and provider, as the Pact Broker
/// lists them (a provider's list does not hold the webhooks of its pairs).
async fn list_scoped(
    state: &AppState,
    base: &BaseUrl,
    consumer: Option<&str>,
    provider: Option<&str>,
    path: &str,
    title: &str,
) -> ApiResult<Hal> {
    if let Some(provider) = provider {
        require_pacticipant(state, "provider", provider).await?;
    }
    if let Some(consumer) = consumer {
        require_pacticipant(state, "consumer", consumer).await?;
    }
    let hooks = state
        .store
        .webhooks(WebhookScope::Exactly { consumer, provider })
        .await?;
    Ok(render_list(base, path, title, &hooks))
}

async fn list_pair(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((provider, consumer)): Path<(String, String)>,
) -> ApiResult<Hal> {
    let path = format!(
        "/webhooks/provider/{}/consumer/{}",
        seg(&provider),
        seg(&consumer)
    );
    list_scoped(
        &state,
        &base,
        Some(&consumer),
        Some(&provider),
        &path,
        "Webhooks",
    )
    .await
}

async fn list_pact_webhooks(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((provider, consumer)): Path<(String, String)>,
) -> ApiResult<Hal> {
    let path = format!(
        "/pacts/provider/{}/consumer/{}/webhooks",
        seg(&provider),
        seg(&consumer)
    );
    list_scoped(
        &state,
        &base,
        Some(&consumer),
        Some(&provider),
        &path,
        "Pact webhooks",
    )
    .await
}

async fn list_provider(
    State(state): State<AppState>,
    base: BaseUrl,
    Path(provider): Path<String>,
) -> ApiResult<Hal> {
    let path = format!("/webhooks/provider/{}", seg(&provider));
    list_scoped(&state, &base, None, Some(&provider), &path, "Webhooks").await
}

async fn list_consumer(
    State(state): State<AppState>,
    base: BaseUrl,
    Path(consumer): Path<String>,
) -> ApiResult<Hal> {
    let path = format!("/webhooks/consumer/{}", seg(&consumer));
    list_scoped(&state, &base, Some(&consumer), None, &path, "Webhooks").await
}

fn not_found(uuid: &str) -> ApiError {
    ApiError::NotFound(format!("No webhook with uuid {uuid} found"))
}

async fn show(
    State(state): State<AppState>,
    base: BaseUrl,
    Path(uuid): Path<String>,
) -> ApiResult<Hal> {
    let hook = state
        .store
        .webhook(&uuid)
        .await?
        .ok_or_else(|| not_found(&uuid))?;
    Ok(Hal::ok(render(&base, &hook)))
}

/// Creates (201) or replaces (200) the webhook with this uuid.
async fn put(
    State(state): State<AppState>,
    base: BaseUrl,
    Path(uuid): Path<String>,
    raw: RawBody,
) -> ApiResult<Response> {
    let valid_uuid = uuid.len() >= 16
        && uuid
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid_uuid {
        return Err(ApiError::field(
            "uuid",
            "The UUID can only contain the characters A-Z, a-z, 0-9, _ and -, and must be 16 or more characters.",
        ));
    }
    raw.require_json(&["application/json"])?;
    let body = raw.json_value()?;
    let (stored, created) = replace_webhook(&state, &uuid, &body).await?;
    let body = render(&base, &stored);
    // Made by PUT: 201 without a `Location` (the URL asked for is the
    // webhook's), as the Pact Broker answers.
    Ok(if created {
        Hal(StatusCode::CREATED, body).into_response()
    } else {
        Hal::ok(body).into_response()
    })
}

/// Creates or replaces the webhook `uuid` from its JSON (`PUT /webhooks/{uuid}`
/// and the UI's edit form): validated as every route validates one, and a
/// secret sent back masked or left out keeps the stored one. True when created.
pub(crate) async fn replace_webhook(
    state: &AppState,
    uuid: &str,
    body: &Value,
) -> ApiResult<(StoredWebhook, bool)> {
    let mut definition = parse_definition(state, body).await?;
    let sealer = state.sealer().await?;
    // A webhook read (masked) and sent back keeps the secrets it hid.
    let stored = state
        .store
        .webhook(uuid)
        .await?
        .map(|stored| sealer.open_webhook(stored.definition));
    webhooks::keep_stored_secrets(
        body,
        &mut definition.request,
        stored.as_ref().map(|s| &s.request),
    )
    .map_err(|problems| {
        let mut errors = Map::new();
        for (field, message) in problems {
            errors.insert(field, json!([message]));
        }
        ApiError::Validation(errors)
    })?;
    let sealed = sealer.seal_webhook(definition);
    Ok(state.store.put_webhook(uuid, &sealed).await?)
}

async fn remove(State(state): State<AppState>, Path(uuid): Path<String>) -> ApiResult<Response> {
    if state.store.delete_webhook(&uuid).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(not_found(&uuid))
    }
}

fn party_name(party: &Party) -> Option<&str> {
    match party {
        Party::Name(name) => Some(name),
        _ => None,
    }
}

/// Sends the webhook now, with the latest matching pact's variables, and
/// answers with what was sent and what came back.
async fn execute(
    state: &AppState,
    base: &BaseUrl,
    uuid: Option<&str>,
    webhook: &WebhookDefinition,
) -> ApiResult<Hal> {
    let sent = send_test(state, base, webhook).await?;
    let mut links = Map::new();
    if let Some(uuid) = uuid {
        links.insert("webhook".into(), link(href(base, uuid)));
        links.insert(
            "try-again".into(),
            json!({ "title": "Execute the webhook again", "href": format!("{}/execute", href(base, uuid)) }),
        );
    }
    Ok(Hal::ok(json!({
        "request": sent.request,
        "response": sent.response,
        "logs": sent.logs,
        "message": sent.message,
        "success": sent.success,
        "_links": links,
    })))
}

/// Sends a webhook now as a test (event `test`), with the latest matching
/// pact's variables; what was sent and what came back.
pub(crate) async fn send_test(
    state: &AppState,
    base: &BaseUrl,
    webhook: &WebhookDefinition,
) -> ApiResult<crate::webhook_sender::Sent> {
    let mut context = state
        .store
        .latest_pact_context(party_name(&webhook.consumer), party_name(&webhook.provider))
        .await?;
    context.insert("eventName".to_owned(), "test".to_owned());
    // Without a pact yet, the webhook's own names still fill their variables.
    for (key, party) in [
        ("consumerName", &webhook.consumer),
        ("providerName", &webhook.provider),
    ] {
        if let Some(name) = party_name(party) {
            context
                .entry(key.to_owned())
                .or_insert_with(|| name.to_owned());
        }
    }
    Ok(state
        .webhooks
        .send(webhook, "test", &context, &base.0)
        .await)
}

async fn execute_saved(
    State(state): State<AppState>,
    base: BaseUrl,
    Path(uuid): Path<String>,
) -> ApiResult<Hal> {
    let hook = state
        .store
        .webhook(&uuid)
        .await?
        .ok_or_else(|| not_found(&uuid))?;
    // Sent as a delivery is: with its password and signing secret opened.
    let webhook = state.sealer().await?.open_webhook(hook.definition);
    execute(&state, &base, Some(&uuid), &webhook).await
}

async fn execute_unsaved(
    State(state): State<AppState>,
    base: BaseUrl,
    raw: RawBody,
) -> ApiResult<Hal> {
    let (definition, _) = parse(&state, &raw, None, None).await?;
    execute(&state, &base, None, &definition).await
}

pub(super) fn render_delivery(base: &BaseUrl, d: &Delivery, attempts_allowed: usize) -> Value {
    let total = attempts_allowed + 1;
    json!({
        "uuid": d.uuid,
        "name": d.webhook_uuid,
        "eventName": d.event_name,
        "status": d.status,
        "attemptsMade": d.attempts_made,
        "attemptsRemaining": match d.status.as_str() {
            "success" | "failure" => 0,
            // A delivery queued again by hand has one attempt more than the schedule.
            _ => total.saturating_sub(d.attempts_made as usize).max(1),
        },
        "nextAttemptAt": matches!(d.status.as_str(), "not_run" | "retrying").then(|| time::format(d.next_attempt_at)),
        "triggerType": "resource_creation",
        "triggeredAt": time::format(d.created_at),
        "consumer": d.consumer,
        "provider": d.provider,
        "logs": webhooks::redact_logged_headers(&d.logs),
        "_links": {
            "pb:logs": { "title": "Webhook execution logs", "href": base.join(&format!("/triggered-webhooks/{}/logs", seg(&d.uuid))) },
            "pb:webhook": { "title": "Webhook", "href": href(base, &d.webhook_uuid) },
        },
    })
}

#[derive(Debug, Deserialize)]
struct DeliveriesQuery {
    limit: Option<u32>,
}

async fn deliveries(
    State(state): State<AppState>,
    base: BaseUrl,
    Path(uuid): Path<String>,
    query: Result<Query<DeliveriesQuery>, QueryRejection>,
) -> ApiResult<Hal> {
    let Query(query) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    state
        .store
        .webhook(&uuid)
        .await?
        .ok_or_else(|| not_found(&uuid))?;
    let limit = query.limit.unwrap_or(100).clamp(1, 1000);
    let found = state
        .store
        .webhook_deliveries(Some(&uuid), None, None, limit)
        .await?;
    let retries = state.config.webhook_retry_schedule.len();
    Ok(Hal::ok(json!({
        "_embedded": { "triggeredWebhooks": found.iter().map(|d| render_delivery(&base, d, retries)).collect::<Vec<_>>() },
        "_links": { "self": link(format!("{}/deliveries", href(&base, &uuid))) },
    })))
}

/// `POST /webhooks/{uuid}/deliveries/{delivery}/retry` (Treaty's): a
/// delivery that failed for good is queued for one more attempt now.
async fn retry_delivery(
    State(state): State<AppState>,
    base: BaseUrl,
    caller: crate::access::Caller,
    Path((uuid, delivery)): Path<(String, String)>,
) -> ApiResult<Hal> {
    let queued = state
        .store
        .retry_webhook_delivery(&uuid, &delivery, caller.name())
        .await?;
    let retries = state.config.webhook_retry_schedule.len();
    Ok(Hal::ok(render_delivery(&base, &queued, retries)))
}

async fn status(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((provider, consumer)): Path<(String, String)>,
) -> ApiResult<Hal> {
    require_pacticipant(&state, "provider", &provider).await?;
    require_pacticipant(&state, "consumer", &consumer).await?;
    let found = state
        .store
        .webhook_deliveries(None, Some(&consumer), Some(&provider), 100)
        .await?;
    let count = |status: &str| found.iter().filter(|d| d.status == status).count();
    let retries = state.config.webhook_retry_schedule.len();
    let pair = format!(
        "/pacts/provider/{}/consumer/{}",
        seg(&provider),
        seg(&consumer)
    );
    let mut links = Map::new();
    links.insert(
        "self".into(),
        json!({ "href": base.join(&format!("{pair}/webhooks/status")), "title": "Webhooks status" }),
    );
    links.insert(
        "pb:error-logs".into(),
        json!(
            found
                .iter()
                .filter(|d| matches!(d.status.as_str(), "failure" | "retrying"))
                .map(|d| json!({
                    "href": base.join(&format!("/triggered-webhooks/{}/logs", seg(&d.uuid))),
                    "title": "Error logs",
                    "name": d.context.get("webhookDescription").cloned().unwrap_or_else(|| d.event_name.clone()),
                }))
                .collect::<Vec<_>>()
        ),
    );
    links.insert(
        "pb:pact-webhooks".into(),
        json!({
            "title": format!("Webhooks for the pact between {consumer} and {provider}"),
            "href": base.join(&format!("{pair}/webhooks")),
        }),
    );
    if let Some(version) = found
        .first()
        .and_then(|d| d.context.get("consumerVersionNumber"))
    {
        links.insert(
            "pb:pact-version".into(),
            json!({
                "href": base.join(&format!("{pair}/version/{}", seg(version))),
                "title": "Pact",
                "name": format!("Pact between {consumer} ({version}) and {provider}"),
            }),
        );
    }
    links.insert(
        "pb:consumer".into(),
        json!({ "href": base.join(&format!("/pacticipants/{}", seg(&consumer))), "title": "Consumer", "name": consumer }),
    );
    links.insert(
        "pb:provider".into(),
        json!({ "href": base.join(&format!("/pacticipants/{}", seg(&provider))), "title": "Provider", "name": provider }),
    );
    Ok(Hal::ok(json!({
        "summary": { "successful": count("success"), "failed": count("failure"), "retrying": count("retrying"), "notRun": count("not_run") },
        "_embedded": { "triggeredWebhooks": found.iter().map(|d| render_delivery(&base, d, retries)).collect::<Vec<_>>() },
        "_links": links,
    })))
}

/// The deliveries a consumer version's pact publication triggered.
async fn triggered_by_publication(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((provider, consumer, version)): Path<(String, String, String)>,
) -> ApiResult<Hal> {
    require_pacticipant(&state, "provider", &provider).await?;
    require_pacticipant(&state, "consumer", &consumer).await?;
    let found = state
        .store
        .webhook_deliveries(None, Some(&consumer), Some(&provider), 1000)
        .await?;
    let retries = state.config.webhook_retry_schedule.len();
    let triggered: Vec<Value> = found
        .iter()
        .filter(|d| d.event_name.starts_with("contract_"))
        .filter(|d| d.context.get("consumerVersionNumber") == Some(&version))
        .map(|d| render_delivery(&base, d, retries))
        .collect();
    Ok(Hal::ok(json!({
        "_embedded": { "triggeredWebhooks": triggered },
        "_links": { "self": {
            "title": format!("Webhooks triggered by the publication of the pact between {consumer} ({version}) and {provider}"),
            "href": base.join(&format!(
                "/pacts/provider/{}/consumer/{}/version/{}/triggered-webhooks", seg(&provider), seg(&consumer), seg(&version)
            )),
        } },
    })))
}

async fn logs(State(state): State<AppState>, Path(uuid): Path<String>) -> ApiResult<Response> {
    let delivery = state.store.webhook_delivery(&uuid).await?.ok_or_else(|| {
        ApiError::NotFound(format!("No triggered webhook with uuid {uuid} found"))
    })?;
    let text = if delivery.logs.is_empty() {
        "Not run yet.\n".to_owned()
    } else {
        webhooks::redact_logged_headers(&delivery.logs)
    };
    Ok(([(header::CONTENT_TYPE, "text/plain;charset=utf-8")], text).into_response())
}
