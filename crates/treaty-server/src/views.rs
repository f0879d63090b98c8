//! How each resource looks on the wire: the Pact Broker's HAL shapes.
//!
//! Every function takes the base URL and a domain record and returns JSON;
//! nothing here touches storage.

use serde_json::{Map, Value, json};
use treaty_domain::model::{
    Branch, DeployedVersion, Environment, Label, Pact, PactSummary, Pacticipant, ReleasedVersion,
    Tag, Verification, Version,
};
use treaty_domain::time;

use crate::hal::{self, link, put_opt, seg, templated, titled};

/// URL builders for every resource, from one base URL.
#[derive(Debug, Clone)]
pub struct Urls {
    pub base: String,
}

impl Urls {
    pub fn new(base: impl Into<String>) -> Self {
        Self { base: base.into() }
    }

    pub fn pacticipants(&self) -> String {
        format!("{}/pacticipants", self.base)
    }
    pub fn pacticipant(&self, name: &str) -> String {
        format!("{}/pacticipants/{}", self.base, seg(name))
    }
    pub fn versions(&self, pacticipant: &str) -> String {
        format!("{}/versions", self.pacticipant(pacticipant))
    }
    pub fn version(&self, pacticipant: &str, number: &str) -> String {
        format!("{}/versions/{}", self.pacticipant(pacticipant), seg(number))
    }
    pub fn tag(&self, pacticipant: &str, number: &str, tag: &str) -> String {
        format!("{}/tags/{}", self.version(pacticipant, number), seg(tag))
    }
    pub fn label(&self, pacticipant: &str, label: &str) -> String {
        format!("{}/labels/{}", self.pacticipant(pacticipant), seg(label))
    }
    pub fn branches(&self, pacticipant: &str) -> String {
        format!("{}/branches", self.pacticipant(pacticipant))
    }
    pub fn branch(&self, pacticipant: &str, branch: &str) -> String {
        format!("{}/branches/{}", self.pacticipant(pacticipant), seg(branch))
    }
    pub fn branch_version(&self, pacticipant: &str, branch: &str, number: &str) -> String {
        format!(
            "{}/versions/{}",
            self.branch(pacticipant, branch),
            seg(number)
        )
    }
    pub fn pact_pair(&self, provider: &str, consumer: &str) -> String {
        format!(
            "{}/pacts/provider/{}/consumer/{}",
            self.base,
            seg(provider),
            seg(consumer)
        )
    }
    /// A provider version's contract (bi-directional contracts).
    pub fn provider_contract(&self, provider: &str, version: &str) -> String {
        format!(
            "{}/provider-contracts/provider/{}/version/{}",
            self.base,
            seg(provider),
            seg(version)
        )
    }
    /// The comparison of a consumer version's pact with a provider version's
    /// contract: where a bi-directional matrix row's verification leads.
    pub fn comparison(
        &self,
        provider: &str,
        provider_version: &str,
        consumer: &str,
        consumer_version: &str,
    ) -> String {
        format!(
            "{}/consumer/{}/version/{}/comparison",
            self.provider_contract(provider, provider_version),
            seg(consumer),
            seg(consumer_version)
        )
    }
    pub fn pact(&self, provider: &str, consumer: &str, consumer_version: &str) -> String {
        format!(
            "{}/version/{}",
            self.pact_pair(provider, consumer),
            seg(consumer_version)
        )
    }
    pub fn pact_version(&self, provider: &str, consumer: &str, sha: &str) -> String {
        format!("{}/pact-version/{sha}", self.pact_pair(provider, consumer))
    }
    pub fn environments(&self) -> String {
        format!("{}/environments", self.base)
    }
    pub fn environment(&self, uuid: &str) -> String {
        format!("{}/environments/{}", self.base, seg(uuid))
    }
    pub fn deployed_version(&self, uuid: &str) -> String {
        format!("{}/deployed-versions/{}", self.base, seg(uuid))
    }
    pub fn released_version(&self, uuid: &str) -> String {
        format!("{}/released-versions/{}", self.base, seg(uuid))
    }
    pub fn record_deployment(
        &self,
        pacticipant: &str,
        version: &str,
        environment_uuid: &str,
    ) -> String {
        format!(
            "{}/deployed-versions/environment/{}",
            self.version(pacticipant, version),
            seg(environment_uuid)
        )
    }
    pub fn record_release(
        &self,
        pacticipant: &str,
        version: &str,
        environment_uuid: &str,
    ) -> String {
        format!(
            "{}/released-versions/environment/{}",
            self.version(pacticipant, version),
            seg(environment_uuid)
        )
    }
    pub fn verification(&self, provider: &str, consumer: &str, sha: &str, number: i64) -> String {
        format!(
            "{}/verification-results/{number}",
            self.pact_version(provider, consumer, sha)
        )
    }
}

fn timestamps(
    body: &mut Map<String, Value>,
    created: chrono::DateTime<chrono::Utc>,
    updated: chrono::DateTime<chrono::Utc>,
) {
    body.insert("createdAt".into(), json!(time::format(created)));
    // As the Pact Broker: `updatedAt` only on a record changed since it was
    // made, compared at full precision (not as printed, to the second).
    if updated != created {
        body.insert("updatedAt".into(), json!(time::format(updated)));
    }
}

/// A pacticipant as embedded elsewhere: name and self link.
pub fn pacticipant_summary(urls: &Urls, name: &str) -> Value {
    json!({ "name": name, "_links": { "self": link(urls.pacticipant(name)) } })
}

pub fn pacticipant_link(urls: &Urls, name: &str) -> Value {
    titled(urls.pacticipant(name), "Pacticipant", Some(name))
}

pub fn version_link(urls: &Urls, pacticipant: &str, number: &str) -> Value {
    titled(urls.version(pacticipant, number), "Version", Some(number))
}

pub fn pacticipant(urls: &Urls, p: &Pacticipant, deployed: &[DeployedVersion]) -> Value {
    let mut body = Map::new();
    body.insert("name".into(), json!(p.name));
    put_opt(&mut body, "displayName", p.display_name.clone());
    put_opt(&mut body, "repositoryUrl", p.repository_url.clone());
    put_opt(&mut body, "repositoryName", p.repository_name.clone());
    put_opt(
        &mut body,
        "repositoryNamespace",
        p.repository_namespace.clone(),
    );
    put_opt(&mut body, "mainBranch", p.main_branch.clone());
    timestamps(&mut body, p.created_at, p.updated_at);
    let self_href = urls.pacticipant(&p.name);
    let mut embedded = Map::new();
    if let Some(latest) = &p.latest_version {
        let latest =
            json!({ "number": latest, "_links": { "self": version_link(urls, &p.name, latest) } });
        // The Pact Broker's clients read both spellings; the old one says so.
        let mut deprecated = latest.clone();
        deprecated["title"] = json!("DEPRECATED - please use latestVersion");
        deprecated["name"] = json!("DEPRECATED - please use latestVersion");
        embedded.insert("latestVersion".into(), latest);
        embedded.insert("latest-version".into(), deprecated);
    }
    embedded.insert(
        "labels".into(),
        Value::Array(p.labels.iter().map(|l| label(urls, &p.name, l)).collect()),
    );
    body.insert("_embedded".into(), Value::Object(embedded));
    body.insert(
        "_links".into(),
        json!({
            "self": link(&self_href),
            "pb:versions": link(format!("{self_href}/versions")),
            "pb:branches": link(format!("{self_href}/branches")),
            "pb:version": templated(format!("{self_href}/versions/{{version}}"), "Get, create or delete a pacticipant version"),
            "pb:deployed-environments": deployed_environment_links(urls, deployed),
            "pb:version-tag": templated(format!("{self_href}/versions/{{version}}/tags/{{tag}}"), format!("Get, create or delete a tag for a version of {}", p.name)),
            "pb:branch-version": templated(format!("{self_href}/branches/{{branch}}/versions/{{version}}"), format!("Get or add/create a version for a branch of {}", p.name)),
            "pb:label": templated(format!("{self_href}/labels/{{label}}"), format!("Get, create or delete a label for {}", p.name)),
            "versions": titled(format!("{self_href}/versions"), "Deprecated - use pb:versions", None),
            "pb:can-i-deploy-badge": templated(format!("{self_href}/latest-version/{{tag}}/can-i-deploy/to/{{environmentTag}}/badge"), format!("Can I Deploy {} badge", p.name)),
            "pb:can-i-deploy-branch-to-environment-badge": templated(format!("{self_href}/branches/{{branch}}/latest-version/can-i-deploy/to-environment/{{environment}}/badge"), format!("Can I Deploy {} from branch to environment badge", p.name)),
            "curies": hal::curies(&urls.base, "pacticipant"),
        }),
    );
    Value::Object(body)
}

/// A label as embedded in its pacticipant.
pub fn label(urls: &Urls, pacticipant: &str, name: &str) -> Value {
    json!({
        "name": name,
        "_links": {
            "self": titled(urls.label(pacticipant, name), "Label", Some(name)),
            "pb:pacticipant": pacticipant_link(urls, pacticipant),
        }
    })
}

/// A label as a resource of its own.
pub fn label_resource(urls: &Urls, l: &Label) -> Value {
    json!({
        "name": l.name,
        "createdAt": time::format(l.created_at),
        "_links": {
            "self": titled(urls.label(&l.pacticipant, &l.name), "Label", Some(&l.name)),
            "pacticipant": pacticipant_link(urls, &l.pacticipant),
            "pb:pacticipant": pacticipant_link(urls, &l.pacticipant),
        }
    })
}

fn branch_entries(urls: &Urls, v: &Version) -> Value {
    Value::Array(
        v.branches
            .iter()
            .map(|b| {
                json!({
                    "name": b.name,
                    "latest": b.latest,
                    "_links": { "self": titled(urls.branch_version(&v.pacticipant, &b.name, &v.number), "Branch version", Some(&b.name)) }
                })
            })
            .collect(),
    )
}

fn tag_entries(urls: &Urls, v: &Version) -> Value {
    Value::Array(
        v.tags
            .iter()
            .map(|t| {
                json!({
                    "name": t,
                    "_links": { "self": titled(urls.tag(&v.pacticipant, &v.number, t), "Tag", Some(t)) }
                })
            })
            .collect(),
    )
}

/// What a version resource shows besides the version itself.
#[derive(Debug, Default, Clone, Copy)]
pub struct VersionContext<'a> {
    /// The providers of the pacts this version published as a consumer.
    pub pact_providers: &'a [String],
    /// Every environment, for the record-deployment and record-release links.
    pub environments: &'a [Environment],
    pub deployments: &'a [DeployedVersion],
    pub releases: &'a [ReleasedVersion],
}

fn environment_label(environment: &Environment) -> &str {
    environment
        .display_name
        .as_deref()
        .unwrap_or(&environment.name)
}

/// `pb:deployed-environments` entries.
pub fn deployed_environment_links(urls: &Urls, deployments: &[DeployedVersion]) -> Value {
    Value::Array(
        deployments
            .iter()
            .map(|d| {
                let label = environment_label(&d.environment);
                let mut entry = Map::new();
                entry.insert(
                    "title".into(),
                    json!(format!("Version deployed to {label}")),
                );
                entry.insert("name".into(), json!(label));
                entry.insert("href".into(), json!(urls.deployed_version(&d.uuid)));
                entry.insert("currently_deployed".into(), json!(d.currently_deployed));
                put_opt(
                    &mut entry,
                    "application_instance",
                    d.application_instance.clone(),
                );
                Value::Object(entry)
            })
            .collect(),
    )
}

/// Providers in the Pact Broker's order for `pb:pact-versions`: by name,
/// ignoring case.
fn pact_providers(providers: &[String]) -> Vec<&str> {
    let mut sorted: Vec<&str> = providers.iter().map(String::as_str).collect();
    sorted.sort_by_key(|p| (p.to_lowercase(), *p));
    sorted
}

/// A version. `self_href` overrides the self link (a branch version's, say).
pub fn version(
    urls: &Urls,
    v: &Version,
    self_href: Option<String>,
    context: VersionContext<'_>,
) -> Value {
    let mut body = Map::new();
    body.insert("number".into(), json!(v.number));
    put_opt(&mut body, "buildUrl", v.build_url.clone());
    timestamps(&mut body, v.created_at, v.updated_at);
    let branches = branch_entries(urls, v);
    body.insert(
        "_embedded".into(),
        json!({ "branches": branches, "branchVersions": branches, "tags": tag_entries(urls, v) }),
    );
    let self_href = self_href.unwrap_or_else(|| urls.version(&v.pacticipant, &v.number));
    let version_href = urls.version(&v.pacticipant, &v.number);
    body.insert(
        "_links".into(),
        json!({
            "self": titled(self_href, "Version", Some(&v.number)),
            "pb:pacticipant": pacticipant_link(urls, &v.pacticipant),
            "pb:tag": templated(format!("{version_href}/tags/{{tag}}"), "Get, create or delete a tag for this pacticipant version"),
            "pb:latest-verification-results-where-pacticipant-is-consumer": titled(
                format!("{}/verification-results/consumer/{}/version/{}/latest", urls.base, seg(&v.pacticipant), seg(&v.number)),
                "Latest verification results for consumer version", None),
            "pb:pact-versions": pact_providers(context.pact_providers).into_iter().map(|provider| titled(
                urls.pact(provider, &v.pacticipant, &v.number),
                "Pact",
                Some(&format!("Pact between {} ({}) and {provider}", v.pacticipant, v.number)),
            )).collect::<Vec<_>>(),
            "pb:deployed-environments": deployed_environment_links(urls, context.deployments),
            "pb:released-environments": context.releases.iter().map(|r| {
                let label = environment_label(&r.environment);
                json!({
                    "title": format!("Version released to {label}"),
                    "name": label,
                    "href": urls.released_version(&r.uuid),
                    "currently_supported": r.currently_supported,
                })
            }).collect::<Vec<_>>(),
            "pb:record-deployment": context.environments.iter().map(|e| titled(
                urls.record_deployment(&v.pacticipant, &v.number, &e.uuid),
                format!("Record deployment to {}", environment_label(e)),
                Some(&e.name),
            )).collect::<Vec<_>>(),
            "pb:record-release": context.environments.iter().map(|e| titled(
                urls.record_release(&v.pacticipant, &v.number, &e.uuid),
                format!("Record release to {}", environment_label(e)),
                Some(&e.name),
            )).collect::<Vec<_>>(),
            "curies": hal::curies(&urls.base, "version"),
        }),
    );
    Value::Object(body)
}

/// A version as embedded in a list or another resource.
pub fn version_summary(urls: &Urls, pacticipant: &str, number: &str) -> Value {
    json!({ "number": number, "_links": { "self": version_link(urls, pacticipant, number) } })
}

pub fn tag(urls: &Urls, t: &Tag) -> Value {
    json!({
        "name": t.name,
        "createdAt": time::format(t.created_at),
        "_links": {
            "self": titled(urls.tag(&t.pacticipant, &t.version, &t.name), "Tag", Some(&t.name)),
            "version": version_link(urls, &t.pacticipant, &t.version),
            "pacticipant": pacticipant_link(urls, &t.pacticipant),
            "pb:version": version_link(urls, &t.pacticipant, &t.version),
            "pb:pacticipant": pacticipant_link(urls, &t.pacticipant),
        }
    })
}

pub fn branch(urls: &Urls, b: &Branch) -> Value {
    let mut body = Map::new();
    body.insert("name".into(), json!(b.name));
    // The Pact Broker touches a branch right after making it, so every
    // branch it shows has an `updatedAt`.
    body.insert("createdAt".into(), json!(time::format(b.created_at)));
    body.insert("updatedAt".into(), json!(time::format(b.updated_at)));
    let href = urls.branch(&b.pacticipant, &b.name);
    body.insert(
        "_embedded".into(),
        json!({ "pacticipant": pacticipant_summary(urls, &b.pacticipant) }),
    );
    body.insert(
        "_links".into(),
        json!({
            "self": titled(&href, "Branch", Some(&b.name)),
            "pb:latest-version": titled(format!("{href}/latest-version"), "Latest version for branch", None),
            "pb:versions": titled(format!("{href}/versions"), "Versions for branch", None),
            "pb:pacticipant": pacticipant_link(urls, &b.pacticipant),
        }),
    );
    Value::Object(body)
}

/// The metadata segment the Pact Broker gives a pact's content address to
/// say which consumer version it means (`cvn=1.0.0`, base64url).
pub fn consumer_version_metadata(consumer_version: &str) -> String {
    use base64::Engine;
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("cvn", consumer_version)
        .finish();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(query)
}

/// The metadata segment the Pact Broker gives the verification link of a
/// pact fetched as the latest (for a tag, `untagged` included): the
/// consumer version's id (and the tag), so a result published there is tied
/// to that version (`cvt[]=dev&cv=6`, base64url).
pub fn latest_pact_metadata(tag: Option<&str>, consumer_version_id: i64) -> String {
    use base64::Engine;
    let mut query = form_urlencoded::Serializer::new(String::new());
    if let Some(tag) = tag {
        query.append_pair("cvt[]", tag);
    }
    query.append_pair("cv", &consumer_version_id.to_string());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(query.finish())
}

/// A pact document with `createdAt` and the links clients navigate.
pub fn pact(urls: &Urls, p: &Pact) -> Value {
    pact_with_metadata(urls, p, None)
}

/// A pact fetched through a pacts-for-verification address: its
/// verification-results link keeps the selection metadata, so the result
/// published there records how the pact was selected (WIP, say).
pub fn pact_with_metadata(urls: &Urls, p: &Pact, metadata: Option<&str>) -> Value {
    let mut body = match &p.content {
        Value::Object(content) => content.clone(),
        _ => Map::new(),
    };
    body.remove("_links");
    body.insert("createdAt".into(), json!(time::format(p.created_at)));
    let pair = urls.pact_pair(&p.provider, &p.consumer);
    let pact_version = urls.pact_version(&p.provider, &p.consumer, &p.sha);
    body.insert(
        "_links".into(),
        json!({
            "self": titled(urls.pact(&p.provider, &p.consumer, &p.consumer_version), "Pact", Some(&p.summary().name())),
            "pb:consumer": titled(urls.pacticipant(&p.consumer), "Consumer", Some(&p.consumer)),
            "pb:consumer-version": titled(urls.version(&p.consumer, &p.consumer_version), "Consumer version", Some(&p.consumer_version)),
            "pb:provider": titled(urls.pacticipant(&p.provider), "Provider", Some(&p.provider)),
            "pb:pact-version": titled(&pact_version, "Pact content version permalink", Some(&p.sha)),
            "pb:latest-pact-version": titled(format!("{pair}/latest"), "Latest version of this pact", None),
            "pb:all-pact-versions": titled(format!("{pair}/versions"), "All versions of this pact", None),
            "pb:latest-untagged-pact-version": titled(format!("{pair}/latest-untagged"), "Latest untagged version of this pact", None),
            "pb:latest-tagged-pact-version": templated(format!("{pair}/latest/{{tag}}"), "Latest tagged version of this pact"),
            "pb:previous-distinct": titled(format!("{}/previous-distinct", urls.pact(&p.provider, &p.consumer, &p.consumer_version)), "Previous distinct version of this pact", None),
            "pb:diff-previous-distinct": titled(format!("{}/diff/previous-distinct", urls.pact(&p.provider, &p.consumer, &p.consumer_version)), "Diff with previous distinct version of this pact", None),
            "pb:diff": templated(format!("{pact_version}/diff/pact-version/{{pactVersion}}"), "Diff with another specified version of this pact"),
            "pb:pact-webhooks": titled(
                format!("{}/webhooks/provider/{}/consumer/{}", urls.base, seg(&p.provider), seg(&p.consumer)),
                format!("Webhooks for the pact between {} and {}", p.consumer, p.provider), None),
            // The Pact Broker's decorator defines this relation twice; the
            // second, which names the provider, is the one it sends.
            "pb:consumer-webhooks": titled(
                format!("{}/webhooks/consumer/{}", urls.base, seg(&p.provider)),
                format!("Webhooks for all pacts with provider {}", p.provider), None),
            "pb:tag-prod-version": titled(format!("{}/tags/prod", urls.version(&p.consumer, &p.consumer_version)), "PUT to this resource to tag this consumer version as 'production'", None),
            "pb:tag-version": templated(format!("{}/tags/{{tag}}", urls.version(&p.consumer, &p.consumer_version)), "PUT to this resource to tag this consumer version"),
            "pb:publish-verification-results": titled(
                match metadata {
                    Some(m) => format!("{pact_version}/metadata/{}/verification-results", seg(m)),
                    None => format!("{pact_version}/verification-results"),
                },
                "Publish verification results", None),
            "pb:latest-verification-results": titled(format!("{pact_version}/verification-results/latest"), "Latest verification results", None),
            "pb:triggered-webhooks": titled(format!("{}/triggered-webhooks", urls.pact(&p.provider, &p.consumer, &p.consumer_version)), "Webhooks triggered by the publication of this pact", None),
            "pb:matrix-for-consumer-version": titled(
                format!("{}/matrix?q[][pacticipant]={}&q[][version]={}&latestby=cvpv", urls.base, hal::query_value(&p.consumer), hal::query_value(&p.consumer_version)),
                "View matrix rows for the consumer version to which this pact belongs", None),
            "curies": hal::curies(&urls.base, "pact"),
        }),
    );
    Value::Object(body)
}

/// A pact as listed: names, consumer version and links to it.
pub fn pact_summary(urls: &Urls, p: &PactSummary) -> Value {
    json!({
        "createdAt": time::format(p.created_at),
        "_embedded": {
            "consumer": {
                "name": p.consumer,
                "_links": { "self": link(urls.pacticipant(&p.consumer)) },
                "_embedded": { "version": version_summary(urls, &p.consumer, &p.consumer_version) }
            },
            "provider": { "name": p.provider, "_links": { "self": link(urls.pacticipant(&p.provider)) } }
        },
        "_links": {
            "self": [
                titled(format!("{}/latest", urls.pact_pair(&p.provider, &p.consumer)), "Latest pact", Some(&p.name())),
                titled(urls.pact(&p.provider, &p.consumer, &p.consumer_version), "Pact", Some(&p.name())),
            ]
        }
    })
}

pub fn verification(urls: &Urls, v: &Verification) -> Value {
    let mut body = Map::new();
    body.insert("providerName".into(), json!(v.provider));
    body.insert(
        "providerApplicationVersion".into(),
        json!(v.provider_version),
    );
    body.insert("success".into(), json!(v.success));
    body.insert(
        "verificationDate".into(),
        json!(time::format(v.execution_date)),
    );
    put_opt(&mut body, "buildUrl", v.build_url.clone());
    put_opt(&mut body, "testResults", v.test_results.clone());
    if let Some(verified_by) = &v.verified_by {
        body.insert("verifiedBy".into(), verified_by_json(verified_by));
    }
    if !v.provider_version_branches.is_empty() {
        body.insert(
            "providerVersionBranch".into(),
            json!(v.provider_version_branches.last()),
        );
    }
    if !v.provider_version_tags.is_empty() {
        body.insert("providerVersionTags".into(), json!(v.provider_version_tags));
    }
    let href = urls.verification(&v.provider, &v.consumer, &v.sha, v.number);
    // The pact a verification names: its content as published by the
    // newest consumer version that published it.
    let pact = format!(
        "Pact between {} ({}) and {}",
        v.consumer, v.pact_consumer_version, v.provider
    );
    let pact_href = format!(
        "{}/metadata/{}",
        urls.pact_version(&v.provider, &v.consumer, &v.sha),
        consumer_version_metadata(&v.pact_consumer_version)
    );
    body.insert(
        "_links".into(),
        json!({
            "self": titled(&href, "Verification result", Some(&format!("Verification result {} for {pact}", v.number))),
            "pb:pact-version": titled(pact_href, "Pact", Some(&pact)),
            "pb:provider-version": version_link(urls, &v.provider, &v.provider_version),
            "pb:triggered-webhooks": titled(format!("{href}/triggered-webhooks"), "Webhooks triggered by the publication of this verification result", None),
        }),
    );
    Value::Object(body)
}

/// `verifiedBy` as the Pact Broker renders it: its own keys plus the client's.
fn verified_by_json(sent: &Value) -> Value {
    let mut out = match sent {
        Value::Object(fields) => fields.clone(),
        _ => return sent.clone(),
    };
    if let Some(language) = sent.get("clientLanguage") {
        put_opt(
            &mut out,
            "client_implementation",
            language.get("name").cloned(),
        );
        put_opt(&mut out, "client_version", language.get("version").cloned());
        put_opt(
            &mut out,
            "client_test_framework",
            language.get("testFramework").cloned(),
        );
    }
    Value::Object(out)
}

pub fn environment(urls: &Urls, e: &Environment) -> Value {
    let mut body = Map::new();
    body.insert("uuid".into(), json!(e.uuid));
    body.insert("name".into(), json!(e.name));
    put_opt(&mut body, "displayName", e.display_name.clone());
    body.insert("production".into(), json!(e.production));
    put_opt(&mut body, "contacts", e.contacts.clone());
    body.insert("createdAt".into(), json!(time::format(e.created_at)));
    body.insert("updatedAt".into(), json!(time::format(e.updated_at)));
    let href = urls.environment(&e.uuid);
    let label = environment_label(e);
    body.insert(
        "_links".into(),
        json!({
            "self": titled(&href, "Environment", Some(&e.name)),
            "pb:currently-deployed-deployed-versions": titled(
                format!("{href}/deployed-versions/currently-deployed"),
                format!("Versions currently deployed to {label} environment"), None),
            "pb:currently-supported-released-versions": titled(
                format!("{href}/released-versions/currently-supported"),
                format!("Versions released and supported in {label} environment"), None),
            "pb:environments": titled(urls.environments(), "Environments", None),
        }),
    );
    Value::Object(body)
}

/// A deployed version; `embed_environment` is false inside environment lists.
pub fn deployed_version(urls: &Urls, d: &DeployedVersion, embed_environment: bool) -> Value {
    let mut body = Map::new();
    body.insert("uuid".into(), json!(d.uuid));
    body.insert("currentlyDeployed".into(), json!(d.currently_deployed));
    put_opt(
        &mut body,
        "applicationInstance",
        d.application_instance.clone(),
    );
    put_opt(&mut body, "target", d.application_instance.clone());
    put_opt(&mut body, "undeployedAt", d.undeployed_at.map(time::format));
    timestamps(&mut body, d.created_at, d.updated_at);
    let mut embedded = Map::new();
    embedded.insert(
        "pacticipant".into(),
        pacticipant_summary(urls, &d.pacticipant),
    );
    embedded.insert(
        "version".into(),
        version_summary(urls, &d.pacticipant, &d.version),
    );
    if embed_environment {
        embedded.insert("environment".into(), environment(urls, &d.environment));
    }
    body.insert("_embedded".into(), Value::Object(embedded));
    body.insert(
        "_links".into(),
        json!({ "self": titled(urls.deployed_version(&d.uuid), "Deployed version", None) }),
    );
    Value::Object(body)
}

pub fn released_version(urls: &Urls, r: &ReleasedVersion, embed_environment: bool) -> Value {
    let mut body = Map::new();
    body.insert("uuid".into(), json!(r.uuid));
    body.insert("currentlySupported".into(), json!(r.currently_supported));
    timestamps(&mut body, r.created_at, r.updated_at);
    put_opt(
        &mut body,
        "supportEndedAt",
        r.support_ended_at.map(time::format),
    );
    let mut embedded = Map::new();
    embedded.insert(
        "pacticipant".into(),
        pacticipant_summary(urls, &r.pacticipant),
    );
    embedded.insert(
        "version".into(),
        version_summary(urls, &r.pacticipant, &r.version),
    );
    if embed_environment {
        embedded.insert("environment".into(), environment(urls, &r.environment));
    }
    body.insert("_embedded".into(), Value::Object(embedded));
    body.insert(
        "_links".into(),
        json!({ "self": titled(urls.released_version(&r.uuid), "Released version", None) }),
    );
    Value::Object(body)
}
