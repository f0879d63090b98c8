//! A version: its pacts and verifications, where it has been, and
//! can-i-deploy to every environment with the explanation and the fix.

use crate::path::Path;
use askama::Template;
use axum::extract::State;
use treaty_domain::matrix_query::{MAX_LIMIT, MatrixQuery, VersionSelector};

use super::verdicts::{self, Explanation, RowView};
use super::view::{Nav, When, outside_link};
use super::{PageResult, not_found, ok};
use crate::AppState;
use crate::base_url::BaseUrl;

#[derive(Template)]
#[template(path = "ui/version.html")]
struct VersionPage {
    nav: Nav,
    application: String,
    application_href: String,
    number: String,
    branches: Vec<(String, bool)>,
    tags: Vec<String>,
    build_url: Option<String>,
    created: When,
    verdicts: Vec<EnvironmentVerdict>,
    /// Pacts this version published, as a consumer, with their verification.
    consumes: Vec<RowView>,
    /// Pacts this version verified, as a provider.
    provides: Vec<RowView>,
    places: Vec<Place>,
    can_i_deploy_api: String,
}

struct EnvironmentVerdict {
    name: String,
    anchor: String,
    href: String,
    production: bool,
    explanation: Explanation,
}

/// A deployment or release record of this version.
struct Place {
    environment: String,
    environment_href: String,
    kind: &'static str,
    instance: Option<String>,
    from: When,
    until: Option<When>,
}

/// `GET /ui/applications/{name}/versions/{version}`
pub async fn page(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((name, number)): Path<(String, String)>,
) -> PageResult {
    let nav = Nav::new(&base, "home");
    let Some(version) = state.store.version(&name, &number).await? else {
        return not_found(
            &base,
            "No such version",
            format!(
                "Treaty knows no version '{number}' of '{name}'. The application's page lists its versions."
            ),
        );
    };
    let links = nav.links.clone();

    let mut verdicts = Vec::new();
    for environment in state.store.environments().await? {
        let matrix = verdicts::can_i_deploy(&state, &name, &number, &environment.name).await?;
        verdicts.push(EnvironmentVerdict {
            anchor: format!("to-{}", environment.id),
            href: links.environment(&environment.name),
            name: environment
                .display_name
                .clone()
                .unwrap_or_else(|| environment.name.clone()),
            production: environment.production,
            explanation: verdicts::explain(&links, &matrix),
        });
    }

    // Every pact and verification this version takes part in, either side.
    let involved = MatrixQuery {
        selectors: vec![VersionSelector {
            pacticipant: name.clone(),
            version: Some(number.clone()),
            ..VersionSelector::default()
        }],
        latest_by: None,
        scope: None,
        ignore: Vec::new(),
        success: None,
        limit: MAX_LIMIT,
    };
    let rows = crate::routes::matrix::answer(&state, &involved).await?.rows;
    let (consumes, provides): (Vec<_>, Vec<_>) = rows
        .iter()
        .filter(|r| r.consumer == name && r.consumer_version.number == number)
        .map(|r| (true, r))
        .chain(
            rows.iter()
                .filter(|r| {
                    r.provider == name
                        && r.provider_version
                            .as_ref()
                            .is_some_and(|v| v.number == number)
                })
                .map(|r| (false, r)),
        )
        .partition(|(as_consumer, _)| *as_consumer);

    let mut places: Vec<Place> = state
        .store
        .deployments_of_version(&name, &number)
        .await?
        .into_iter()
        .map(|d| Place {
            environment_href: links.environment(&d.environment.name),
            environment: d.environment.name,
            kind: "deployed",
            instance: d.application_instance,
            from: When::new(d.created_at),
            until: When::maybe(d.undeployed_at),
        })
        .collect();
    places.extend(
        state
            .store
            .releases_of_version(&name, &number)
            .await?
            .into_iter()
            .map(|r| Place {
                environment_href: links.environment(&r.environment.name),
                environment: r.environment.name,
                kind: "released",
                instance: None,
                from: When::new(r.created_at),
                until: When::maybe(r.support_ended_at),
            }),
    );

    let mut api_query = form_urlencoded::Serializer::new(String::new());
    api_query.append_pair("pacticipant", &name);
    api_query.append_pair("version", &number);
    ok(&VersionPage {
        application_href: links.application(&name),
        branches: version
            .branches
            .iter()
            .map(|b| (b.name.clone(), b.latest))
            .collect(),
        tags: version.tags.clone(),
        build_url: version.build_url.as_deref().and_then(outside_link),
        created: When::new(version.created_at),
        verdicts,
        consumes: consumes
            .into_iter()
            .map(|(_, r)| RowView::new(&links, r))
            .collect(),
        provides: provides
            .into_iter()
            .map(|(_, r)| RowView::new(&links, r))
            .collect(),
        places,
        can_i_deploy_api: links.api(&format!(
            "/can-i-deploy/environments?{}",
            api_query.finish()
        )),
        application: name,
        number,
        nav,
    })
}
