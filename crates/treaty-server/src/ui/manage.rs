//! The UI's actions: environments (create, edit, delete, freeze now, lift
//! the freeze) and tokens (create, list, revoke).
//!
//! Each form posts to a `/ui/...` route whose role comes from the same
//! route table as the API's (`route_access`), runs inside the request's
//! audit scope like an API write (so it lands in the audit log with the
//! signed-in identity), and calls the store operation the API route calls,
//! after the same validation.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};
use serde_json::{Value, json};
use treaty_domain::access::{self, Identity, Role};
use treaty_domain::gates::{FreezeWindow, Mode, Policy, PolicySource, Rule};

use super::forms::{Posted, Viewer};
use super::view::{Nav, When};
use super::{PageResult, html, html_with_script};
use crate::AppState;
use crate::base_url::BaseUrl;
use crate::error::ApiError;
use crate::path::Path;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/ui/environments",
            get(environments).post(create_environment),
        )
        .route("/ui/environments/{name}", post(edit_environment))
        .route("/ui/environments/{name}/delete", post(delete_environment))
        .route("/ui/environments/{name}/move", post(move_environment))
        .route(
            "/ui/environments/{name}/policy",
            post(super::environment::save_policy),
        )
        .route(
            "/ui/environments/{name}/policy/preview",
            post(super::environment::preview_policy),
        )
        .route("/ui/environments/{name}/freeze", post(freeze))
        .route("/ui/environments/{name}/lift-freeze", post(lift_freeze))
        .route("/ui/tokens", get(tokens).post(create_token))
        .route("/ui/tokens/{name}/revoke", post(revoke_token))
        .merge(super::hooks::router())
}

/// A refused form, in words a person can act on.
pub(super) fn problem_text(error: &ApiError) -> String {
    match error {
        ApiError::Validation(fields) => fields
            .iter()
            .flat_map(|(field, messages)| {
                messages
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .map(move |m| format!("{field} {}", m.as_str().unwrap_or_default()))
            })
            .collect::<Vec<_>>()
            .join("; "),
        ApiError::ValidationList(messages) => messages.join("; "),
        other => other.to_string(),
    }
}

/// After an action: back to the page that shows its effect.
pub(super) fn see_other(to: String) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response()
}

// ---------------------------------------------------------------- environments

struct EnvironmentRow {
    name: String,
    title: String,
    production: bool,
    display_name: String,
    href: String,
    edit_action: String,
    delete_action: String,
    move_action: String,
    first: bool,
    last: bool,
    frozen: Option<String>,
}

#[derive(Template)]
#[template(path = "ui/environments.html")]
struct EnvironmentsPage {
    nav: Nav,
    rows: Vec<EnvironmentRow>,
    problem: Option<String>,
}

async fn environments_page(
    state: &AppState,
    nav: Nav,
    status: StatusCode,
    problem: Option<String>,
) -> PageResult {
    let mut rows = Vec::new();
    let environments = state.store.pipeline_environments().await?;
    let count = environments.len();
    for (index, environment) in environments.into_iter().enumerate() {
        let policy = crate::routes::gates::policy(state, &environment.name).await?;
        rows.push(EnvironmentRow {
            title: environment
                .display_name
                .clone()
                .unwrap_or_else(|| environment.name.clone()),
            href: nav.links.environment(&environment.name),
            edit_action: nav.links.environment_action(&environment.name, ""),
            delete_action: nav.links.environment_action(&environment.name, "delete"),
            move_action: nav.links.environment_action(&environment.name, "move"),
            first: index == 0,
            last: index + 1 == count,
            frozen: policy
                .open_freeze(Utc::now())
                .map(|f| format!("frozen until {} ({})", When::new(f.until).text, f.reason)),
            display_name: environment.display_name.unwrap_or_default(),
            production: environment.production,
            name: environment.name,
        });
    }
    html(status, &EnvironmentsPage { nav, rows, problem })
}

/// `GET /ui/environments`
async fn environments(State(state): State<AppState>, base: BaseUrl, viewer: Viewer) -> PageResult {
    let nav = Nav::new(&base, &viewer, "environments");
    environments_page(&state, nav, StatusCode::OK, None).await
}

/// The body the API's `POST /environments` takes, from the form.
fn environment_body(form: &Posted, name: Option<&str>) -> Value {
    json!({
        "name": name.or(form.get("name")),
        "displayName": form.get("display_name"),
        "production": form.checked("production"),
    })
}

/// Re-shows the list with what was wrong, or goes on.
async fn or_problem(
    state: &AppState,
    base: &BaseUrl,
    viewer: &Viewer,
    done: Result<Response, ApiError>,
) -> PageResult {
    match done {
        Ok(response) => Ok(response),
        Err(
            error @ (ApiError::Validation(_)
            | ApiError::ValidationList(_)
            | ApiError::BadRequest(_)
            | ApiError::Conflict { .. }
            | ApiError::NotFound(_)),
        ) => {
            let nav = Nav::new(base, viewer, "environments");
            environments_page(state, nav, error.status(), Some(problem_text(&error))).await
        }
        Err(other) => Err(other),
    }
}

/// `POST /ui/environments` (admin): as `POST /environments`.
async fn create_environment(
    State(state): State<AppState>,
    base: BaseUrl,
    viewer: Viewer,
    form: Posted,
) -> PageResult {
    let done = async {
        let fields = crate::routes::environments::parse_fields(&environment_body(&form, None))?;
        let created = state
            .store
            .create_environment(None, fields)
            .await
            .map_err(crate::routes::environments::name_error)?;
        Ok(see_other(
            super::view::Links::new(&base).environment(&created.name),
        ))
    }
    .await;
    or_problem(&state, &base, &viewer, done).await
}

async fn environment_named(
    state: &AppState,
    name: &str,
) -> Result<treaty_domain::model::Environment, ApiError> {
    crate::routes::gates::environment_named(state, name).await
}

/// `POST /ui/environments/{name}` (admin): as `PUT /environments/{uuid}`;
/// the name stays (links and policies refer to it).
async fn edit_environment(
    State(state): State<AppState>,
    base: BaseUrl,
    viewer: Viewer,
    Path(name): Path<String>,
    form: Posted,
) -> PageResult {
    let done = async {
        let environment = environment_named(&state, &name).await?;
        let mut fields =
            crate::routes::environments::parse_fields(&environment_body(&form, Some(&name)))?;
        fields.contacts = environment.contacts.clone();
        state
            .store
            .replace_environment(&environment.uuid, fields)
            .await
            .map_err(crate::routes::environments::name_error)?;
        Ok(see_other(super::view::Links::new(&base).environments()))
    }
    .await;
    or_problem(&state, &base, &viewer, done).await
}

/// `POST /ui/environments/{name}/delete` (admin): as `DELETE /environments/{uuid}`.
async fn delete_environment(
    State(state): State<AppState>,
    base: BaseUrl,
    viewer: Viewer,
    Path(name): Path<String>,
    form: Posted,
) -> PageResult {
    let done = async {
        if form.get("confirm") != Some(name.as_str()) {
            return Err(ApiError::BadRequest(format!(
                "To delete {name}, type its name in the confirmation field"
            )));
        }
        let environment = environment_named(&state, &name).await?;
        state.store.delete_environment(&environment.uuid).await?;
        Ok(see_other(super::view::Links::new(&base).environments()))
    }
    .await;
    or_problem(&state, &base, &viewer, done).await
}

/// `POST /ui/environments/{name}/move` (admin): one place earlier
/// (`direction=up`) or later (`down`) in the pipeline, as
/// `PUT /environments/order` with the order that makes.
async fn move_environment(
    State(state): State<AppState>,
    base: BaseUrl,
    viewer: Viewer,
    Path(name): Path<String>,
    form: Posted,
) -> PageResult {
    use treaty_domain::pipeline::{Move, moved};
    let done = async {
        let direction = match form.get("direction") {
            Some("up") => Move::Up,
            Some("down") => Move::Down,
            _ => {
                return Err(ApiError::field(
                    "direction",
                    "must be up or down".to_owned(),
                ));
            }
        };
        let environment = environment_named(&state, &name).await?;
        let order: Vec<String> = state
            .store
            .pipeline_environments()
            .await?
            .into_iter()
            .map(|e| e.name)
            .collect();
        state
            .store
            .set_environment_order(&moved(&order, &environment.name, direction))
            .await
            .map_err(crate::routes::environments::order_error)?;
        Ok(see_other(super::view::Links::new(&base).environments()))
    }
    .await;
    or_problem(&state, &base, &viewer, done).await
}

/// A time typed into a `datetime-local` field, read as UTC (the form says so).
fn typed_time(raw: &str) -> Option<DateTime<Utc>> {
    NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S"))
        .ok()
        .map(|t| t.and_utc())
}

/// The policy with a freeze from now until `until` added: the rules already
/// in force stay (the default ones become the environment's own).
pub(super) fn frozen(
    mut policy: treaty_domain::gates::EnvironmentPolicy,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
    reason: &str,
) -> treaty_domain::gates::EnvironmentPolicy {
    policy.rules.push(Policy {
        rule: Rule::Freeze {
            windows: vec![FreezeWindow::Once {
                start: now,
                end: until,
                reason: Some(reason.to_owned()),
            }],
        },
        mode: Mode::Enforce,
        allow_emergency: false,
    });
    policy.source = PolicySource::Environment;
    policy
}

/// The policy without its one-off freeze windows open at `now` (rules left
/// without windows go); weekly windows stay: they are the team's calendar.
pub(super) fn lifted(
    mut policy: treaty_domain::gates::EnvironmentPolicy,
    now: DateTime<Utc>,
) -> (treaty_domain::gates::EnvironmentPolicy, usize) {
    let mut removed = 0;
    for p in &mut policy.rules {
        if let Rule::Freeze { windows } = &mut p.rule {
            let before = windows.len();
            windows.retain(|w| !matches!(w, FreezeWindow::Once { start, end, .. } if *start <= now && now < *end));
            removed += before - windows.len();
        }
    }
    policy
        .rules
        .retain(|p| !matches!(&p.rule, Rule::Freeze { windows } if windows.is_empty()));
    (policy, removed)
}

/// `POST /ui/environments/{name}/freeze` (admin): adds a freeze window from
/// now, through the store operation of `PUT /policies/{environment}`.
async fn freeze(
    State(state): State<AppState>,
    base: BaseUrl,
    viewer: Viewer,
    Path(name): Path<String>,
    form: Posted,
) -> PageResult {
    let done = async {
        let environment = environment_named(&state, &name).await?;
        // Policies are stored to the second.
        let now = Utc::now().trunc_subsecs(0);
        let mut problems = Vec::new();
        let reason = form.get("reason");
        if reason.is_none() {
            problems.push("reason is missing: say why deployments stop, it is what a refused deployment is told".to_owned());
        }
        let until = match form.get("until").map(|raw| (raw, typed_time(raw))) {
            None => {
                problems.push("until is missing: when the freeze ends (UTC)".to_owned());
                None
            }
            Some((_, Some(until))) if until > now => Some(until),
            Some((_, Some(_))) => {
                problems.push("until must be in the future (UTC)".to_owned());
                None
            }
            Some((raw, None)) => {
                problems.push(format!("until must be a date and time like 2026-12-24T18:00 (got '{raw}')"));
                None
            }
        };
        let (Some(reason), Some(until)) = (reason, until) else {
            return Err(ApiError::ValidationList(problems));
        };
        let policy = crate::routes::gates::policy(&state, &name).await?;
        let policy = frozen(policy, now, until, reason);
        state
            .store
            .set_environment_policies(&environment.name, Some(&policy.to_json()), viewer.actor())
            .await?;
        Ok(see_other(super::view::Links::new(&base).environment(&name)))
    }
    .await;
    or_problem(&state, &base, &viewer, done).await
}

/// `POST /ui/environments/{name}/lift-freeze` (admin): ends the one-off
/// freezes open now.
async fn lift_freeze(
    State(state): State<AppState>,
    base: BaseUrl,
    viewer: Viewer,
    Path(name): Path<String>,
    _form: Posted,
) -> PageResult {
    let done = async {
        let environment = environment_named(&state, &name).await?;
        let policy = crate::routes::gates::policy(&state, &name).await?;
        let (policy, removed) = lifted(policy, Utc::now());
        if removed == 0 {
            return Err(ApiError::BadRequest(format!(
                "{name} has no one-off freeze open now to lift (a weekly freeze window is changed in its policy)"
            )));
        }
        state
            .store
            .set_environment_policies(&environment.name, Some(&policy.to_json()), viewer.actor())
            .await?;
        Ok(see_other(super::view::Links::new(&base).environment(&name)))
    }
    .await;
    or_problem(&state, &base, &viewer, done).await
}

// ---------------------------------------------------------------- tokens

struct TokenRow {
    name: String,
    role: &'static str,
    pacticipants: String,
    created: When,
    created_by: String,
    expires: Option<When>,
    revoked: Option<When>,
    revoke_action: String,
}

#[derive(Template)]
#[template(path = "ui/tokens.html")]
struct TokensPage {
    nav: Nav,
    rows: Vec<TokenRow>,
    /// A token just created: its name and secret, shown this once.
    created: Option<(String, String)>,
    problem: Option<String>,
}

async fn tokens_page(
    state: &AppState,
    nav: Nav,
    status: StatusCode,
    created: Option<(String, String)>,
    problem: Option<String>,
) -> PageResult {
    let rows = state
        .store
        .tokens()
        .await?
        .into_iter()
        .map(|t| TokenRow {
            revoke_action: nav.links.token_revoke(&t.name),
            role: t.role.as_str(),
            pacticipants: t
                .pacticipants
                .map_or_else(|| "all".to_owned(), |p| p.join(", ")),
            created: When::new(t.created_at),
            created_by: t.created_by.unwrap_or_default(),
            expires: When::maybe(t.expires_at),
            revoked: When::maybe(t.revoked_at),
            name: t.name,
        })
        .collect();
    html_with_script(
        status,
        &TokensPage {
            nav,
            rows,
            created,
            problem,
        },
    )
}

/// `GET /ui/tokens` (admin)
async fn tokens(State(state): State<AppState>, base: BaseUrl, viewer: Viewer) -> PageResult {
    tokens_page(
        &state,
        Nav::new(&base, &viewer, "tokens"),
        StatusCode::OK,
        None,
        None,
    )
    .await
}

/// `POST /ui/tokens` (admin): as `POST /tokens`; the token is shown once.
async fn create_token(
    State(state): State<AppState>,
    base: BaseUrl,
    viewer: Viewer,
    caller: axum::Extension<Identity>,
    form: Posted,
) -> PageResult {
    let nav = Nav::new(&base, &viewer, "tokens");
    let mut problems = Vec::new();
    let name = form.get("name");
    if name.is_none() {
        problems.push("name is missing: say what the token is for, like ci-payments".to_owned());
    }
    let role = match form.get("role") {
        Some(raw) => Role::parse(raw).or_else(|| {
            problems.push(format!("role '{raw}' is not one of read, write, admin"));
            None
        }),
        None => {
            problems.push("role is missing: read, write or admin".to_owned());
            None
        }
    };
    let pacticipants: Option<Vec<String>> = form.get("pacticipants").map(|raw| {
        raw.split([',', '\n'])
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect()
    });
    let expires_at = match form.get("expires_in") {
        None => None,
        Some(raw) => match humantime::parse_duration(raw)
            .ok()
            .and_then(|d| chrono::Duration::from_std(d).ok())
        {
            Some(d) if d > chrono::Duration::zero() => Some(Utc::now() + d),
            _ => {
                problems.push(format!(
                    "expires in must be a duration like 90d or 12h (got '{raw}')"
                ));
                None
            }
        },
    };
    let (Some(name), Some(role)) = (name, role) else {
        return tokens_page(
            &state,
            nav,
            StatusCode::BAD_REQUEST,
            None,
            Some(problems.join("; ")),
        )
        .await;
    };
    if !problems.is_empty() {
        return tokens_page(
            &state,
            nav,
            StatusCode::BAD_REQUEST,
            None,
            Some(problems.join("; ")),
        )
        .await;
    }
    let secret = crate::routes::access::new_secret();
    match state
        .store
        .create_token(
            name,
            &access::token_hash(&secret),
            role,
            pacticipants.as_deref().filter(|p| !p.is_empty()),
            expires_at,
            Some(caller.0.name.as_str()),
        )
        .await
    {
        Ok(_) => {
            tokens_page(
                &state,
                nav,
                StatusCode::CREATED,
                Some((name.to_owned(), secret)),
                None,
            )
            .await
        }
        Err(treaty_store::StoreError::Conflict(message)) => {
            tokens_page(&state, nav, StatusCode::CONFLICT, None, Some(message)).await
        }
        Err(other) => Err(other.into()),
    }
}

/// `POST /ui/tokens/{name}/revoke` (admin): as `DELETE /tokens/{name}`.
async fn revoke_token(
    State(state): State<AppState>,
    base: BaseUrl,
    viewer: Viewer,
    Path(name): Path<String>,
    _form: Posted,
) -> PageResult {
    if state.store.revoke_token(&name).await? {
        return Ok(see_other(super::view::Links::new(&base).tokens()));
    }
    let nav = Nav::new(&base, &viewer, "tokens");
    tokens_page(
        &state,
        nav,
        StatusCode::NOT_FOUND,
        None,
        Some(format!(
            "No live token named '{name}': it was revoked already, or never existed"
        )),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use treaty_domain::gates::EnvironmentPolicy;

    #[test]
    fn a_freeze_adds_to_the_rules_in_force_and_lifting_it_leaves_them() {
        // Policies are stored to the second.
        let now = Utc::now().trunc_subsecs(0);
        let default = EnvironmentPolicy::default_for(true);
        let until = now + chrono::Duration::hours(2);
        let policy = frozen(default.clone(), now, until, "incident 42");
        let open = policy
            .open_freeze(now + chrono::Duration::minutes(1))
            .expect("frozen");
        assert_eq!(open.until, until);
        assert!(open.reason.contains("incident 42"));
        let (back, removed) = lifted(policy, now + chrono::Duration::minutes(5));
        assert_eq!(removed, 1);
        assert_eq!(back.rules, default.rules);
        assert!(
            back.open_freeze(now + chrono::Duration::minutes(6))
                .is_none()
        );
    }

    #[test]
    fn typed_times_are_utc_to_the_minute() {
        assert_eq!(
            typed_time("2026-12-24T18:00").map(|t| t.to_rfc3339()),
            Some("2026-12-24T18:00:00+00:00".to_owned())
        );
        assert_eq!(typed_time("tomorrow"), None);
    }
}
