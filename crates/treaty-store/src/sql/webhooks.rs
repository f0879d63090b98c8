//! Webhooks: their definitions, the deliveries events enqueue inside their
//! own transactions, and the claim that lets one worker of one replica send
//! each delivery.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::Row;
use treaty_domain::model::LedgerDeployment;
use treaty_domain::publish::TriggeredWebhook;
use treaty_domain::url_path::segment;
use treaty_domain::webhooks::{
    BASE_MARKER, Delivery, Party, RequestTemplate, StoredWebhook, WebhookDefinition,
};

use super::{Backend, Conn, DbRow, now, sql};
use crate::{AttemptOutcome, StoreError, StoreResult, WebhookScope, WebhookStore};

/// Whom an event concerns, for matching webhooks' consumer and provider.
pub(crate) enum Scope {
    /// A pact or a verification: the consumer must match the webhook's
    /// consumer, and the provider its provider.
    Pair { consumer_id: i64, provider_id: i64 },
    /// A deployment of one pacticipant: it may match either side.
    Pacticipant(i64),
    /// An environment's freeze: it concerns every pacticipant, so every
    /// webhook that listens to the event gets it, whatever its parties.
    Everyone,
}

async fn labels_of(conn: &mut Conn, pacticipant_id: i64) -> StoreResult<Vec<String>> {
    Ok(sqlx::query_scalar(sql(
        "SELECT name FROM labels WHERE pacticipant_id = ? ORDER BY name",
    ))
    .bind(pacticipant_id)
    .fetch_all(conn)
    .await?)
}

fn matches(id: Option<i64>, label: Option<&str>, pacticipant: i64, labels: &[String]) -> bool {
    match (id, label) {
        (Some(id), _) => id == pacticipant,
        (None, Some(label)) => labels.iter().any(|l| l == label),
        (None, None) => true,
    }
}

fn is_open(id: Option<i64>, label: Option<&str>) -> bool {
    id.is_none() && label.is_none()
}

/// Whether any webhook, enabled or not and for any event, is configured for
/// this consumer and provider (by name, label or for everyone), as the Pact
/// Broker asks before it suggests configuring one.
pub(crate) async fn any_webhook_for_pair(
    conn: &mut Conn,
    consumer_id: i64,
    provider_id: i64,
) -> StoreResult<bool> {
    let hooks = sqlx::query(sql(
        "SELECT consumer_id, consumer_label, provider_id, provider_label FROM webhooks",
    ))
    .fetch_all(&mut *conn)
    .await?;
    if hooks.is_empty() {
        return Ok(false);
    }
    let consumer_labels = labels_of(conn, consumer_id).await?;
    let provider_labels = labels_of(conn, provider_id).await?;
    for hook in &hooks {
        let consumer_ok = matches(
            hook.try_get("consumer_id")?,
            hook.try_get::<Option<String>, _>("consumer_label")?
                .as_deref(),
            consumer_id,
            &consumer_labels,
        );
        let provider_ok = matches(
            hook.try_get("provider_id")?,
            hook.try_get::<Option<String>, _>("provider_label")?
                .as_deref(),
            provider_id,
            &provider_labels,
        );
        if consumer_ok && provider_ok {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Writes one delivery per enabled webhook that listens to `event` and
/// matches `scope`, within the caller's transaction; answers what it wrote.
pub(crate) async fn enqueue(
    conn: &mut Conn,
    event: &str,
    scope: Scope,
    context: &BTreeMap<String, String>,
    at: DateTime<Utc>,
) -> StoreResult<Vec<TriggeredWebhook>> {
    let hooks = sqlx::query(sql(
        "SELECT id, uuid, description, consumer_id, consumer_label, provider_id, provider_label, events FROM webhooks WHERE enabled = ? ORDER BY id",
    ))
    .bind(true)
    .fetch_all(&mut *conn)
    .await?;
    let mut triggered = Vec::new();
    if hooks.is_empty() {
        return Ok(triggered);
    }
    let (consumer_id, provider_id) = match scope {
        Scope::Pair {
            consumer_id,
            provider_id,
        } => (Some(consumer_id), Some(provider_id)),
        Scope::Pacticipant(id) => (Some(id), Some(id)),
        Scope::Everyone => (None, None),
    };
    let consumer_labels = match consumer_id {
        Some(id) => labels_of(conn, id).await?,
        None => Vec::new(),
    };
    let provider_labels = match provider_id {
        Some(id) => labels_of(conn, id).await?,
        None => Vec::new(),
    };
    let mut context = context.clone();
    context.insert("eventName".to_owned(), event.to_owned());
    let context_json = json!(context).to_string();
    for hook in &hooks {
        let events: Vec<String> =
            serde_json::from_str(&hook.try_get::<String, _>("events")?).unwrap_or_default();
        if !events.iter().any(|e| e == event) {
            continue;
        }
        let (c_id, c_label): (Option<i64>, Option<String>) = (
            hook.try_get("consumer_id")?,
            hook.try_get("consumer_label")?,
        );
        let (p_id, p_label): (Option<i64>, Option<String>) = (
            hook.try_get("provider_id")?,
            hook.try_get("provider_label")?,
        );
        let consumer_ok =
            consumer_id.is_some_and(|id| matches(c_id, c_label.as_deref(), id, &consumer_labels));
        let provider_ok =
            provider_id.is_some_and(|id| matches(p_id, p_label.as_deref(), id, &provider_labels));
        let wanted = match scope {
            Scope::Everyone => true,
            Scope::Pair { .. } => consumer_ok && provider_ok,
            // A deployment concerns one pacticipant: a webhook for it on either side, or for everyone.
            Scope::Pacticipant(_) => {
                let consumer_open = is_open(c_id, c_label.as_deref());
                let provider_open = is_open(p_id, p_label.as_deref());
                (consumer_open && provider_open)
                    || (!consumer_open && consumer_ok)
                    || (!provider_open && provider_ok)
            }
        };
        if !wanted {
            continue;
        }
        let delivery_uuid = uuid::Uuid::new_v4().to_string();
        sqlx::query(sql(
            "INSERT INTO webhook_deliveries (uuid, webhook_id, event_name, consumer_id, provider_id, context, status,
               attempts_made, next_attempt_at, logs, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, 'not_run', 0, ?, '', ?, ?)",
        ))
        .bind(&delivery_uuid)
        .bind(hook.try_get::<i64, _>("id")?)
        .bind(event)
        .bind(consumer_id)
        .bind(provider_id)
        .bind(&context_json)
        .bind(at)
        .bind(at)
        .bind(at)
        .execute(&mut *conn)
        .await?;
        triggered.push(TriggeredWebhook {
            delivery_uuid,
            webhook_uuid: hook.try_get("uuid")?,
            webhook_description: hook
                .try_get::<Option<String>, _>("description")?
                .filter(|d| !d.trim().is_empty()),
            event: event.to_owned(),
        });
    }
    Ok(triggered)
}

/// Whether any enabled webhook listens to `event` (to skip costly context work).
pub(crate) async fn anyone_listens(conn: &mut Conn, event: &str) -> StoreResult<bool> {
    anyone_listens_to(conn, &[event]).await
}

/// Whether any enabled webhook listens to one of `events`: one cheap query,
/// so a write with no listeners skips building webhook contexts (a dozen
/// statements per pact or verification).
pub(crate) async fn anyone_listens_to(conn: &mut Conn, events: &[&str]) -> StoreResult<bool> {
    let lists: Vec<String> =
        sqlx::query_scalar(sql("SELECT events FROM webhooks WHERE enabled = ?"))
            .bind(true)
            .fetch_all(conn)
            .await?;
    Ok(lists.iter().any(|list| {
        serde_json::from_str::<Vec<String>>(list)
            .unwrap_or_default()
            .iter()
            .any(|listened| events.contains(&listened.as_str()))
    }))
}

/// A provider version that must verify a newly published pact.
pub(crate) struct RequiredVerification {
    pub number: String,
    pub branch: String,
    pub descriptions: Vec<String>,
}

/// The provider versions that must verify this pact content, as the Pact
/// Broker picks them: the head of the provider's main branch, every deployed
/// and every supported released version, that have not verified it yet.
pub(crate) async fn required_verifications(
    conn: &mut Conn,
    provider_id: i64,
    content_id: i64,
) -> StoreResult<Vec<RequiredVerification>> {
    // (version id, description, branch to report), in the Pact Broker's order.
    let mut candidates: Vec<(i64, String, Option<String>)> = Vec::new();
    let main: Option<(Option<String>, Option<i64>)> = sqlx::query_as(sql(
        "SELECT p.main_branch, b.head_version_id FROM pacticipants p
         LEFT JOIN branches b ON b.pacticipant_id = p.id AND b.name = p.main_branch WHERE p.id = ?",
    ))
    .bind(provider_id)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some((Some(main_branch), head)) = main {
        let head = match head {
            Some(head) => Some(head),
            // No branch of that name: the latest version tagged with it.
            None => {
                sqlx::query_scalar(sql(
                    "SELECT max(version_id) FROM tags WHERE pacticipant_id = ? AND name = ?",
                ))
                .bind(provider_id)
                .bind(&main_branch)
                .fetch_one(&mut *conn)
                .await?
            }
        };
        if let Some(head) = head {
            candidates.push((
                head,
                "latest from main branch".to_owned(),
                Some(main_branch),
            ));
        }
    }
    let deployed: Vec<(i64, String)> = sqlx::query_as(sql(
        "SELECT cd.version_id, e.name FROM currently_deployed cd JOIN environments e ON e.id = cd.environment_id
         WHERE cd.pacticipant_id = ? ORDER BY e.name",
    ))
    .bind(provider_id)
    .fetch_all(&mut *conn)
    .await?;
    candidates.extend(
        deployed
            .into_iter()
            .map(|(v, e)| (v, format!("deployed in {e}"), None)),
    );
    let released: Vec<(i64, String)> = sqlx::query_as(sql(
        "SELECT rv.version_id, e.name FROM released_versions rv JOIN environments e ON e.id = rv.environment_id
         WHERE rv.pacticipant_id = ? AND rv.support_ended_at IS NULL ORDER BY e.name",
    ))
    .bind(provider_id)
    .fetch_all(&mut *conn)
    .await?;
    candidates.extend(
        released
            .into_iter()
            .map(|(v, e)| (v, format!("released in {e}"), None)),
    );

    let mut required: Vec<(i64, RequiredVerification)> = Vec::new();
    for (version_id, description, main_branch) in candidates {
        if let Some((_, existing)) = required.iter_mut().find(|(id, _)| *id == version_id) {
            if !existing.descriptions.contains(&description) {
                existing.descriptions.push(description);
            }
            continue;
        }
        let verified: bool = sqlx::query_scalar(sql(
            "SELECT EXISTS (SELECT 1 FROM verifications WHERE pact_content_id = ? AND provider_version_id = ?)",
        ))
        .bind(content_id)
        .bind(version_id)
        .fetch_one(&mut *conn)
        .await?;
        if verified {
            continue;
        }
        let (number, branch, _, _) = version_facts(conn, version_id).await?;
        required.push((
            version_id,
            RequiredVerification {
                number,
                branch: main_branch.or(branch).unwrap_or_default(),
                descriptions: vec![description],
            },
        ));
    }
    Ok(required.into_iter().map(|(_, r)| r).collect())
}

/// "You are unblocked": the provider version now deployed verified a
/// consumer's latest pact with it, which the version it replaced had not, so
/// the consumer's deploy to that environment can go on.
pub(crate) async fn notify_unblocked_consumers(
    conn: &mut Conn,
    provider_id: i64,
    provider_version_id: i64,
    replaced_version_id: Option<i64>,
    environment_id: i64,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    const EVENT: &str = "consumer_unblocked";
    if !anyone_listens(conn, EVENT).await? {
        return Ok(());
    }
    // Each consumer's latest pact with the provider.
    let latest: Vec<(i64, i64, i64)> = sqlx::query_as(sql(
        "SELECT pp.consumer_id, pp.consumer_version_id, pp.pact_content_id FROM pact_publications pp
         WHERE pp.provider_id = ? AND pp.consumer_version_id = (
           SELECT max(o.consumer_version_id) FROM pact_publications o WHERE o.provider_id = pp.provider_id AND o.consumer_id = pp.consumer_id)",
    ))
    .bind(provider_id)
    .fetch_all(&mut *conn)
    .await?;
    let environment: String = sqlx::query_scalar(sql("SELECT name FROM environments WHERE id = ?"))
        .bind(environment_id)
        .fetch_one(&mut *conn)
        .await?;
    for (consumer_id, consumer_version_id, content_id) in latest {
        let verified_by = |version: i64| {
            sqlx::query_scalar::<_, bool>(sql(
                "SELECT EXISTS (SELECT 1 FROM verifications WHERE pact_content_id = ? AND provider_version_id = ? AND success = ?)",
            ))
            .bind(content_id)
            .bind(version)
            .bind(true)
        };
        if !verified_by(provider_version_id)
            .fetch_one(&mut *conn)
            .await?
        {
            continue;
        }
        if let Some(replaced) = replaced_version_id
            && verified_by(replaced).fetch_one(&mut *conn).await?
        {
            continue;
        }
        let mut context =
            contract_context(conn, consumer_id, provider_id, consumer_version_id).await?;
        let (number, branch, tags, _) = version_facts(conn, provider_version_id).await?;
        context.insert("providerVersionNumber".to_owned(), number);
        context.insert(
            "providerVersionBranch".to_owned(),
            branch.unwrap_or_default(),
        );
        context.insert("providerVersionTags".to_owned(), tags);
        context.insert("environmentName".to_owned(), environment.clone());
        let scope = Scope::Pair {
            consumer_id,
            provider_id,
        };
        enqueue(conn, EVENT, scope, &context, at).await?;
    }
    Ok(())
}

fn status_words(success: Option<bool>) -> [(&'static str, &'static str); 4] {
    match success {
        Some(true) => [
            ("githubVerificationStatus", "success"),
            ("bitbucketVerificationStatus", "SUCCESSFUL"),
            ("azureDevOpsVerificationStatus", "succeeded"),
            ("gitlabVerificationStatus", "success"),
        ],
        Some(false) => [
            ("githubVerificationStatus", "failure"),
            ("bitbucketVerificationStatus", "FAILED"),
            ("azureDevOpsVerificationStatus", "failed"),
            ("gitlabVerificationStatus", "failed"),
        ],
        None => [
            ("githubVerificationStatus", "pending"),
            ("bitbucketVerificationStatus", "INPROGRESS"),
            ("azureDevOpsVerificationStatus", "pending"),
            ("gitlabVerificationStatus", "pending"),
        ],
    }
}

async fn version_facts(
    conn: &mut Conn,
    version_id: i64,
) -> StoreResult<(String, Option<String>, String, Option<String>)> {
    let row = sqlx::query(sql("SELECT number, build_url FROM versions WHERE id = ?"))
        .bind(version_id)
        .fetch_one(&mut *conn)
        .await?;
    let branch: Option<String> = sqlx::query_scalar(sql(
        "SELECT b.name FROM branch_versions bv JOIN branches b ON b.id = bv.branch_id WHERE bv.version_id = ? ORDER BY bv.id DESC LIMIT 1",
    ))
    .bind(version_id)
    .fetch_optional(&mut *conn)
    .await?;
    let tags: Vec<String> = sqlx::query_scalar(sql(
        "SELECT name FROM tags WHERE version_id = ? ORDER BY created_at, name",
    ))
    .bind(version_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok((
        row.try_get("number")?,
        branch,
        tags.join(", "),
        row.try_get("build_url")?,
    ))
}

async fn name_of(conn: &mut Conn, pacticipant_id: i64) -> StoreResult<String> {
    Ok(
        sqlx::query_scalar(sql("SELECT name FROM pacticipants WHERE id = ?"))
            .bind(pacticipant_id)
            .fetch_one(conn)
            .await?,
    )
}

/// The `${pactbroker.*}` variables of a pact of a consumer version, with
/// its latest verification when there is one.
pub(crate) async fn contract_context(
    conn: &mut Conn,
    consumer_id: i64,
    provider_id: i64,
    consumer_version_id: i64,
) -> StoreResult<BTreeMap<String, String>> {
    let consumer = name_of(conn, consumer_id).await?;
    let provider = name_of(conn, provider_id).await?;
    let (number, branch, tags, build_url) = version_facts(conn, consumer_version_id).await?;
    let mut vars = BTreeMap::new();
    let sha: Option<String> = sqlx::query_scalar(sql(
        "SELECT pc.sha FROM pact_publications pp JOIN pact_contents pc ON pc.id = pp.pact_content_id
         WHERE pp.consumer_version_id = ? AND pp.provider_id = ?",
    ))
    .bind(consumer_version_id)
    .bind(provider_id)
    .fetch_optional(&mut *conn)
    .await?;
    let tag_list: Vec<String> = tags
        .split(", ")
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    // The pact-version permalink with the consumer version in its metadata, as the Pact Broker sends.
    let pact_url = match sha {
        Some(sha) => format!(
            "{BASE_MARKER}/pacts/provider/{}/consumer/{}/pact-version/{sha}/metadata/{}",
            segment(&provider),
            segment(&consumer),
            treaty_domain::webhooks::pact_url_metadata(&number, &tag_list)
        ),
        None => format!(
            "{BASE_MARKER}/pacts/provider/{}/consumer/{}/version/{}",
            segment(&provider),
            segment(&consumer),
            segment(&number)
        ),
    };
    vars.insert("pactUrl".to_owned(), pact_url);
    vars.insert(
        "consumerLabels".to_owned(),
        labels_of(conn, consumer_id).await?.join(", "),
    );
    vars.insert(
        "providerLabels".to_owned(),
        labels_of(conn, provider_id).await?.join(", "),
    );
    let latest = sqlx::query(sql(
        "SELECT vf.success, vf.provider_version_id FROM verifications vf
         JOIN pact_publications pp ON pp.pact_content_id = vf.pact_content_id
         WHERE pp.consumer_version_id = ? AND pp.provider_id = ? ORDER BY vf.id DESC LIMIT 1",
    ))
    .bind(consumer_version_id)
    .bind(provider_id)
    .fetch_optional(&mut *conn)
    .await?;
    let success = match &latest {
        Some(row) => {
            let (pv, pv_branch, pv_tags, _) =
                version_facts(conn, row.try_get("provider_version_id")?).await?;
            vars.insert("providerVersionNumber".to_owned(), pv);
            vars.insert(
                "providerVersionBranch".to_owned(),
                pv_branch.unwrap_or_default(),
            );
            vars.insert("providerVersionTags".to_owned(), pv_tags);
            Some(row.try_get::<bool, _>("success")?)
        }
        None => None,
    };
    for (key, value) in status_words(success) {
        vars.insert(key.to_owned(), value.to_owned());
    }
    vars.insert("consumerName".to_owned(), consumer);
    vars.insert("providerName".to_owned(), provider);
    vars.insert("consumerVersionNumber".to_owned(), number);
    vars.insert(
        "consumerVersionBranch".to_owned(),
        branch.unwrap_or_default(),
    );
    vars.insert("consumerVersionTags".to_owned(), tags);
    vars.insert("buildUrl".to_owned(), build_url.unwrap_or_default());
    Ok(vars)
}

/// The variables of a verification: its pact's (for the latest consumer
/// version with that content), then the verification's own.
pub(crate) async fn verification_context(
    conn: &mut Conn,
    verification_id: i64,
) -> StoreResult<BTreeMap<String, String>> {
    let row = sqlx::query(sql(
        "SELECT vf.consumer_id, vf.provider_id, vf.provider_version_id, vf.success, vf.build_url, vf.pact_content_id, pc.sha,
           (SELECT max(pp.consumer_version_id) FROM pact_publications pp WHERE pp.pact_content_id = vf.pact_content_id) AS consumer_version_id
         FROM verifications vf JOIN pact_contents pc ON pc.id = vf.pact_content_id WHERE vf.id = ?",
    ))
    .bind(verification_id)
    .fetch_one(&mut *conn)
    .await?;
    let consumer_id: i64 = row.try_get("consumer_id")?;
    let provider_id: i64 = row.try_get("provider_id")?;
    let mut vars = match row.try_get::<Option<i64>, _>("consumer_version_id")? {
        Some(version_id) => contract_context(conn, consumer_id, provider_id, version_id).await?,
        None => BTreeMap::new(),
    };
    let (pv, branch, tags, _) = version_facts(conn, row.try_get("provider_version_id")?).await?;
    vars.insert("providerVersionNumber".to_owned(), pv);
    vars.insert(
        "providerVersionBranch".to_owned(),
        branch.unwrap_or_default(),
    );
    vars.insert("providerVersionTags".to_owned(), tags);
    let success: bool = row.try_get("success")?;
    for (key, value) in status_words(Some(success)) {
        vars.insert(key.to_owned(), value.to_owned());
    }
    let consumer = vars.get("consumerName").cloned().unwrap_or_default();
    let provider = vars.get("providerName").cloned().unwrap_or_default();
    let sha: String = row.try_get("sha")?;
    // The verification's global number, as in its own address.
    let number = verification_id;
    vars.insert(
        "verificationResultUrl".to_owned(),
        format!(
            "{BASE_MARKER}/pacts/provider/{}/consumer/{}/pact-version/{sha}/verification-results/{number}",
            segment(&provider),
            segment(&consumer)
        ),
    );
    vars.insert(
        "buildUrl".to_owned(),
        row.try_get::<Option<String>, _>("build_url")?
            .unwrap_or_default(),
    );
    Ok(vars)
}

/// The `${treaty.*}` variables of a deployment.
pub(crate) fn deployment_context(d: &LedgerDeployment) -> BTreeMap<String, String> {
    let mut vars = BTreeMap::new();
    let mut put = |key: &str, value: &str| {
        vars.insert(key.to_owned(), value.to_owned());
    };
    put("pacticipant", &d.pacticipant);
    put("version", &d.version);
    put("environment", &d.environment);
    put("status", &d.status);
    put("deploymentId", &d.id.to_string());
    put(
        "deploymentUrl",
        &format!("{BASE_MARKER}/deployments/{}", d.id),
    );
    put("rollback", if d.rollback { "true" } else { "false" });
    put("emergency", if d.emergency { "true" } else { "false" });
    put("kind", d.kind.as_str());
    put(
        "bypassedGates",
        if d.bypassed_gates { "true" } else { "false" },
    );
    for (key, value) in [
        ("applicationInstance", &d.application_instance),
        ("deployedBy", &d.deployed_by),
        ("scmBranch", &d.scm_branch),
        ("scmSha", &d.scm_sha),
        ("scmRepository", &d.scm_repository),
        ("buildUrl", &d.build_url),
        ("buildNumber", &d.build_number),
        ("sourceSystem", &d.source_system),
    ] {
        put(key, value.as_deref().unwrap_or_default());
    }
    put(
        "deployedByText",
        &d.deployed_by
            .as_deref()
            .map(|by| format!(" by {by}"))
            .unwrap_or_default(),
    );
    vars
}

pub(crate) fn request_json(request: &RequestTemplate) -> Value {
    json!({
        "method": request.method,
        "url": request.url,
        "headers": request.headers,
        "body": request.body,
        "username": request.username,
        "password": request.password,
        "secret": request.secret,
    })
}

fn request_from_json(value: &Value) -> RequestTemplate {
    let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
    RequestTemplate {
        method: text("method").unwrap_or_default(),
        url: text("url").unwrap_or_default(),
        headers: value
            .get("headers")
            .and_then(Value::as_object)
            .map(|h| {
                h.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                    .collect()
            })
            .unwrap_or_default(),
        body: value.get("body").filter(|b| !b.is_null()).cloned(),
        username: text("username"),
        password: text("password"),
        secret: text("secret"),
    }
}

const WEBHOOK_SELECT: &str = "SELECT w.uuid, w.description, c.name AS consumer_name, w.consumer_label, p.name AS provider_name,
  w.provider_label, w.enabled, w.request, w.events, w.created_at, w.updated_at, w.secrets_to_reenter
FROM webhooks w LEFT JOIN pacticipants c ON c.id = w.consumer_id LEFT JOIN pacticipants p ON p.id = w.provider_id";

fn party(name: Option<String>, label: Option<String>) -> Party {
    match (name, label) {
        (Some(name), _) => Party::Name(name),
        (None, Some(label)) => Party::Label(label),
        (None, None) => Party::Any,
    }
}

fn definition_from_row(row: &DbRow) -> StoreResult<WebhookDefinition> {
    let request: Value = serde_json::from_str(&row.try_get::<String, _>("request")?)
        .map_err(|e| StoreError::Corrupt(format!("stored webhook request is not JSON: {e}")))?;
    Ok(WebhookDefinition {
        description: row.try_get("description")?,
        consumer: party(
            row.try_get("consumer_name")?,
            row.try_get("consumer_label")?,
        ),
        provider: party(
            row.try_get("provider_name")?,
            row.try_get("provider_label")?,
        ),
        enabled: row.try_get("enabled")?,
        request: request_from_json(&request),
        events: serde_json::from_str(&row.try_get::<String, _>("events")?).unwrap_or_default(),
    })
}

fn webhook_from_row(row: &DbRow) -> StoreResult<StoredWebhook> {
    let missing: Option<String> = row.try_get("secrets_to_reenter")?;
    Ok(StoredWebhook {
        uuid: row.try_get("uuid")?,
        definition: definition_from_row(row)?,
        secrets_to_reenter: missing
            .and_then(|list| serde_json::from_str(&list).ok())
            .unwrap_or_default(),
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

const DELIVERY_SELECT: &str = "SELECT d.id, d.uuid, w.uuid AS webhook_uuid, d.event_name, d.context, d.status, d.attempts_made,
  d.next_attempt_at, d.logs, d.created_at, c.name AS consumer, p.name AS provider
FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
LEFT JOIN pacticipants c ON c.id = d.consumer_id LEFT JOIN pacticipants p ON p.id = d.provider_id";

fn delivery_from_row(row: &DbRow) -> StoreResult<Delivery> {
    Ok(Delivery {
        id: row.try_get("id")?,
        uuid: row.try_get("uuid")?,
        webhook_uuid: row.try_get("webhook_uuid")?,
        event_name: row.try_get("event_name")?,
        context: serde_json::from_str(&row.try_get::<String, _>("context")?).unwrap_or_default(),
        status: row.try_get("status")?,
        attempts_made: u32::try_from(row.try_get::<i64, _>("attempts_made")?).unwrap_or(0),
        next_attempt_at: row.try_get("next_attempt_at")?,
        logs: row.try_get("logs")?,
        created_at: row.try_get("created_at")?,
        consumer: row.try_get("consumer")?,
        provider: row.try_get("provider")?,
        webhook: None,
    })
}

pub(crate) async fn pacticipant_id(
    conn: &mut Conn,
    party: &Party,
    side: &str,
) -> StoreResult<Option<i64>> {
    match party {
        Party::Name(name) => {
            let id: Option<i64> =
                sqlx::query_scalar(sql("SELECT id FROM pacticipants WHERE name = ?"))
                    .bind(name)
                    .fetch_optional(conn)
                    .await?;
            id.map(Some)
                .ok_or_else(|| StoreError::NotFound(format!("No {side} with name '{name}' found")))
        }
        _ => Ok(None),
    }
}

/// The secrets a webhook still lacks once `request` is stored: those named
/// before that it does not give (as JSON, `None` when none is missing).
pub(crate) fn still_missing(before: Option<&str>, request: &RequestTemplate) -> Option<String> {
    let before: Vec<String> = before
        .and_then(|list| serde_json::from_str(list).ok())
        .unwrap_or_default();
    let missing: Vec<String> = before
        .into_iter()
        .filter(|field| {
            let given = match field.strip_prefix("request.headers.") {
                Some(name) => request.headers.contains_key(name),
                None if field == "request.password" => request.password.is_some(),
                None if field == "secret" => request.secret.is_some(),
                None => false,
            };
            !given
        })
        .collect();
    (!missing.is_empty()).then(|| json!(missing).to_string())
}

pub(crate) fn label(party: &Party) -> Option<&str> {
    match party {
        Party::Label(label) => Some(label),
        _ => None,
    }
}

#[async_trait]
impl WebhookStore for Backend {
    async fn put_webhook(
        &self,
        uuid: &str,
        webhook: &WebhookDefinition,
    ) -> StoreResult<(StoredWebhook, bool)> {
        let at = now();
        let mut tx = self.begin().await?;
        let consumer_id = pacticipant_id(&mut tx, &webhook.consumer, "consumer").await?;
        let provider_id = pacticipant_id(&mut tx, &webhook.provider, "provider").await?;
        let exists: Option<i64> = sqlx::query_scalar(sql("SELECT id FROM webhooks WHERE uuid = ?"))
            .bind(uuid)
            .fetch_optional(&mut *tx)
            .await?;
        let request = request_json(&webhook.request).to_string();
        let events = json!(webhook.events).to_string();
        match exists {
            Some(id) => {
                let missing: Option<String> =
                    sqlx::query_scalar(sql("SELECT secrets_to_reenter FROM webhooks WHERE id = ?"))
                        .bind(id)
                        .fetch_one(&mut *tx)
                        .await?;
                let still_missing = still_missing(missing.as_deref(), &webhook.request);
                sqlx::query(sql(
                    "UPDATE webhooks SET description = ?, consumer_id = ?, consumer_label = ?, provider_id = ?, provider_label = ?,
                       enabled = ?, request = ?, events = ?, updated_at = ?, secrets_to_reenter = ? WHERE id = ?",
                ))
                .bind(&webhook.description)
                .bind(consumer_id)
                .bind(label(&webhook.consumer))
                .bind(provider_id)
                .bind(label(&webhook.provider))
                .bind(webhook.enabled)
                .bind(&request)
                .bind(&events)
                .bind(at)
                .bind(still_missing)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            }
            None => {
                sqlx::query(sql(
                    "INSERT INTO webhooks (uuid, description, consumer_id, consumer_label, provider_id, provider_label, enabled,
                       request, events, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                ))
                .bind(uuid)
                .bind(&webhook.description)
                .bind(consumer_id)
                .bind(label(&webhook.consumer))
                .bind(provider_id)
                .bind(label(&webhook.provider))
                .bind(webhook.enabled)
                .bind(&request)
                .bind(&events)
                .bind(at)
                .bind(at)
                .execute(&mut *tx)
                .await?;
            }
        }
        let row = sqlx::query(sql(format!("{WEBHOOK_SELECT} WHERE w.uuid = ?")))
            .bind(uuid)
            .fetch_one(&mut *tx)
            .await?;
        let stored = webhook_from_row(&row)?;
        tx.commit().await?;
        Ok((stored, exists.is_none()))
    }

    async fn webhook(&self, uuid: &str) -> StoreResult<Option<StoredWebhook>> {
        let mut conn = self.reader().acquire().await?;
        let row = sqlx::query(sql(format!("{WEBHOOK_SELECT} WHERE w.uuid = ?")))
            .bind(uuid)
            .fetch_optional(&mut *conn)
            .await?;
        row.as_ref().map(webhook_from_row).transpose()
    }

    async fn webhooks(&self, scope: WebhookScope<'_>) -> StoreResult<Vec<StoredWebhook>> {
        let mut conn = self.reader().acquire().await?;
        let rows = match scope {
            WebhookScope::All => {
                sqlx::query(sql(format!("{WEBHOOK_SELECT} ORDER BY w.id")))
                    .fetch_all(&mut *conn)
                    .await?
            }
            WebhookScope::Exactly { consumer, provider } => {
                sqlx::query(sql(format!(
                    "{WEBHOOK_SELECT} WHERE ((? IS NULL AND w.consumer_id IS NULL) OR c.name = ?)
                       AND ((? IS NULL AND w.provider_id IS NULL) OR p.name = ?) ORDER BY w.id"
                )))
                .bind(consumer)
                .bind(consumer)
                .bind(provider)
                .bind(provider)
                .fetch_all(&mut *conn)
                .await?
            }
        };
        rows.iter().map(webhook_from_row).collect()
    }

    async fn delete_webhook(&self, uuid: &str) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let deleted = sqlx::query(sql("DELETE FROM webhooks WHERE uuid = ?"))
            .bind(uuid)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(deleted > 0)
    }

    async fn claim_webhook_delivery(
        &self,
        lease: std::time::Duration,
    ) -> StoreResult<Option<Delivery>> {
        let at = now();
        let until = at + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::minutes(5));
        // Idle workers poll often: look first without the write lock.
        let due: Option<i64> = sqlx::query_scalar(sql(
            "SELECT id FROM webhook_deliveries WHERE status IN ('not_run', 'retrying') AND next_attempt_at <= ?
               AND (claimed_until IS NULL OR claimed_until < ?) LIMIT 1",
        ))
        .bind(at)
        .bind(at)
        .fetch_optional(self.reader())
        .await?;
        if due.is_none() {
            return Ok(None);
        }
        let mut tx = self.begin().await?;
        let row = sqlx::query(sql(format!(
            "{DELIVERY_SELECT} WHERE d.status IN ('not_run', 'retrying') AND d.next_attempt_at <= ?
               AND (d.claimed_until IS NULL OR d.claimed_until < ?) ORDER BY d.next_attempt_at, d.id LIMIT 1"
        )))
        .bind(at)
        .bind(at)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            tx.commit().await?;
            return Ok(None);
        };
        let mut delivery = delivery_from_row(&row)?;
        sqlx::query(sql(
            "UPDATE webhook_deliveries SET claimed_until = ? WHERE id = ?",
        ))
        .bind(until)
        .bind(delivery.id)
        .execute(&mut *tx)
        .await?;
        let hook = sqlx::query(sql(format!("{WEBHOOK_SELECT} WHERE w.uuid = ?")))
            .bind(&delivery.webhook_uuid)
            .fetch_one(&mut *tx)
            .await?;
        delivery.webhook = Some(definition_from_row(&hook)?);
        tx.commit().await?;
        Ok(Some(delivery))
    }

    async fn record_webhook_attempt(
        &self,
        delivery_id: i64,
        outcome: &AttemptOutcome,
    ) -> StoreResult<()> {
        let at = now();
        let status = match (outcome.success, outcome.retry_at) {
            (true, _) => "success",
            (false, Some(_)) => "retrying",
            (false, None) => "failure",
        };
        let mut tx = self.begin().await?;
        sqlx::query(sql(
            "UPDATE webhook_deliveries SET status = ?, attempts_made = attempts_made + 1, next_attempt_at = ?,
               claimed_until = NULL, logs = logs || ?, updated_at = ? WHERE id = ?",
        ))
        .bind(status)
        .bind(outcome.retry_at.unwrap_or(at))
        .bind(&outcome.logs)
        .bind(at)
        .bind(delivery_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn retry_webhook_delivery(
        &self,
        webhook_uuid: &str,
        delivery_uuid: &str,
        by: Option<&str>,
    ) -> StoreResult<Delivery> {
        let at = now();
        let mut tx = self.begin().await?;
        let found = sqlx::query(sql(
            "SELECT d.id, d.status FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
             WHERE w.uuid = ? AND d.uuid = ?",
        ))
        .bind(webhook_uuid)
        .bind(delivery_uuid)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| {
            StoreError::NotFound(format!(
                "No delivery {delivery_uuid} of webhook {webhook_uuid} found"
            ))
        })?;
        let status: String = found.try_get("status")?;
        if status != "failure" {
            return Err(StoreError::Conflict(format!(
                "Only a delivery that failed can be retried; delivery {delivery_uuid} is {status}"
            )));
        }
        let note = format!(
            "[{}] INFO: retry asked{}\n",
            treaty_domain::time::format(at),
            by.map(|by| format!(" by {by}")).unwrap_or_default()
        );
        sqlx::query(sql(
            "UPDATE webhook_deliveries SET status = 'retrying', next_attempt_at = ?, claimed_until = NULL,
               logs = logs || ?, updated_at = ? WHERE id = ?",
        ))
        .bind(at)
        .bind(&note)
        .bind(at)
        .bind(found.try_get::<i64, _>("id")?)
        .execute(&mut *tx)
        .await?;
        let row = sqlx::query(sql(format!("{DELIVERY_SELECT} WHERE d.uuid = ?")))
            .bind(delivery_uuid)
            .fetch_one(&mut *tx)
            .await?;
        let delivery = delivery_from_row(&row)?;
        tx.commit().await?;
        Ok(delivery)
    }

    async fn webhook_deliveries(
        &self,
        webhook_uuid: Option<&str>,
        consumer: Option<&str>,
        provider: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<Delivery>> {
        let mut conn = self.reader().acquire().await?;
        let rows = sqlx::query(sql(format!(
            "{DELIVERY_SELECT} WHERE (? IS NULL OR w.uuid = ?) AND (? IS NULL OR c.name = ?) AND (? IS NULL OR p.name = ?)
             ORDER BY d.id DESC LIMIT {limit}"
        )))
        .bind(webhook_uuid)
        .bind(webhook_uuid)
        .bind(consumer)
        .bind(consumer)
        .bind(provider)
        .bind(provider)
        .fetch_all(&mut *conn)
        .await?;
        rows.iter().map(delivery_from_row).collect()
    }

    async fn webhook_delivery(&self, uuid: &str) -> StoreResult<Option<Delivery>> {
        let mut conn = self.reader().acquire().await?;
        let row = sqlx::query(sql(format!("{DELIVERY_SELECT} WHERE d.uuid = ?")))
            .bind(uuid)
            .fetch_optional(&mut *conn)
            .await?;
        row.as_ref().map(delivery_from_row).transpose()
    }

    async fn latest_pact_context(
        &self,
        consumer: Option<&str>,
        provider: Option<&str>,
    ) -> StoreResult<BTreeMap<String, String>> {
        let mut conn = self.reader().acquire().await?;
        let row = sqlx::query(sql(
            "SELECT pp.consumer_id, pp.provider_id, pp.consumer_version_id FROM pact_publications pp
             JOIN pacticipants c ON c.id = pp.consumer_id JOIN pacticipants p ON p.id = pp.provider_id
             WHERE (? IS NULL OR c.name = ?) AND (? IS NULL OR p.name = ?) ORDER BY pp.id DESC LIMIT 1",
        ))
        .bind(consumer)
        .bind(consumer)
        .bind(provider)
        .bind(provider)
        .fetch_optional(&mut *conn)
        .await?;
        match row {
            None => Ok(BTreeMap::new()),
            Some(row) => {
                contract_context(
                    &mut conn,
                    row.try_get("consumer_id")?,
                    row.try_get("provider_id")?,
                    row.try_get("consumer_version_id")?,
                )
                .await
            }
        }
    }
}
