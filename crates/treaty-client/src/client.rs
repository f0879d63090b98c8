//! `BrokerClient`: authenticated JSON requests to one broker, with retries,
//! and the rules for turning the broker's links into URLs to call.

use std::path::PathBuf;
use std::time::Duration;

use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use reqwest::{Method, RequestBuilder};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use url::Url;

use crate::error::{ClientError, Rejection, status_text};
use crate::error_body::parse_error_body;
use crate::hal::{self, Link};
use crate::retry;

/// Sent with every request, so broker logs can tell Treaty's CLI apart.
pub const USER_AGENT: &str = concat!("treaty/", env!("CARGO_PKG_VERSION"));

/// As `pact broker --retries`.
pub const DEFAULT_RETRIES: u32 = 8;

const ACCEPT_HAL: &str = "application/hal+json, application/json";
const JSON: &str = "application/json";
const MERGE_PATCH_JSON: &str = "application/merge-patch+json";

/// Refusing to wait forever for a broker that does not accept the
/// connection; an accepted request may take as long as it needs (large pacts).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// How requests prove who is calling. A token wins over a username, as in
/// the official client, so a stray `PACT_BROKER_USERNAME` cannot override it.
#[derive(Debug, Clone)]
pub enum Auth {
    Basic {
        username: String,
        password: Option<SecretString>,
    },
    Bearer(SecretString),
}

/// Certificate checks for `https` brokers.
#[derive(Debug, Clone)]
pub struct TlsOptions {
    /// A PEM file of extra trusted roots (one certificate or a bundle).
    pub ca_certificate: Option<PathBuf>,
    /// Trust any certificate: only for a broker with a self-signed
    /// certificate on a network you trust.
    pub skip_verification: bool,
    /// Trust the system's roots as well as `ca_certificate`.
    pub use_system_roots: bool,
}

impl Default for TlsOptions {
    fn default() -> Self {
        TlsOptions {
            ca_certificate: None,
            skip_verification: false,
            use_system_roots: true,
        }
    }
}

/// Everything needed to talk to one broker.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    pub base_url: Url,
    pub auth: Option<Auth>,
    /// Retries after the first attempt, for failures that may pass.
    pub retries: u32,
    /// Extra headers for every request (a proxy's API key, for example).
    pub headers: Vec<(String, String)>,
    pub tls: TlsOptions,
    /// Say on stderr before each retry what failed and how long it waits.
    pub announce_retries: bool,
}

impl BrokerConfig {
    pub fn new(base_url: Url) -> Self {
        BrokerConfig {
            base_url,
            auth: None,
            retries: DEFAULT_RETRIES,
            headers: Vec::new(),
            tls: TlsOptions::default(),
            announce_retries: true,
        }
    }
}

/// A successful answer: its status (201 and 200 mean "created" and
/// "updated" to some commands) and its JSON body (`Null` when empty).
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub status: u16,
    pub body: Value,
}

#[derive(Debug, Clone)]
pub struct BrokerClient {
    http: reqwest::Client,
    /// The broker's index; never ends in `/` unless it is the root.
    base_url: Url,
    auth: Option<Auth>,
    retries: u32,
    announce_retries: bool,
}

impl BrokerClient {
    pub fn new(config: BrokerConfig) -> Result<BrokerClient, ClientError> {
        let base_url = normalise_base_url(config.base_url)?;
        let http = build_http_client(&base_url, &config.headers, &config.tls)?;
        Ok(BrokerClient {
            http,
            base_url,
            auth: config.auth,
            retries: config.retries,
            announce_retries: config.announce_retries,
        })
    }

    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// `GET /`: the index, whose relations lead to everything else.
    pub async fn index(&self) -> Result<Value, ClientError> {
        self.get(&self.base_url).await
    }

    /// The URL of `relation` in `resource`, with its template filled in.
    pub fn relation_url(
        &self,
        resource: &Value,
        relation: &str,
        variables: &[(&str, &str)],
    ) -> Result<Url, ClientError> {
        let link = hal::link(resource, relation).ok_or_else(|| ClientError::MissingLink {
            relation: relation.to_owned(),
            offered: hal::relation_names(resource).join(", "),
        })?;
        self.link_url(&link, variables)
    }

    /// The URL a link points to, with its template filled in.
    pub fn link_url(&self, link: &Link, variables: &[(&str, &str)]) -> Result<Url, ClientError> {
        let href = if link.templated {
            link.expand(variables)?
        } else {
            link.href.clone()
        };
        self.resolve_href(&href)
    }

    /// Where to send a request for a link's href: its path and query, on the
    /// scheme, host and port the user gave. A broker behind a proxy, or
    /// configured with another public URL, often writes links the CLI cannot
    /// reach (`http://example.org/...`); the official client does the same.
    pub fn resolve_href(&self, href: &str) -> Result<Url, ClientError> {
        let target = match Url::parse(href) {
            Ok(url) => url,
            Err(url::ParseError::RelativeUrlWithoutBase) => self
                .base_for_relative_links()
                .join(href)
                .map_err(|error| self.invalid_link(href, error))?,
            Err(error) => return Err(self.invalid_link(href, error)),
        };
        let mut url = self.base_url.clone();
        url.set_path(target.path());
        url.set_query(target.query());
        Ok(url)
    }

    pub async fn get(&self, url: &Url) -> Result<Value, ClientError> {
        Ok(self.send(Method::GET, url, None).await?.body)
    }

    /// A GET where 404 is an answer, not an error.
    pub async fn get_if_exists(&self, url: &Url) -> Result<Option<Value>, ClientError> {
        match self.get(url).await {
            Ok(body) => Ok(Some(body)),
            Err(error) if error.is_not_found() => Ok(None),
            Err(error) => Err(error),
        }
    }

    pub async fn post_json(&self, url: &Url, body: &Value) -> Result<Response, ClientError> {
        self.send(Method::POST, url, Some((JSON, body))).await
    }

    pub async fn put_json(&self, url: &Url, body: &Value) -> Result<Response, ClientError> {
        self.send(Method::PUT, url, Some((JSON, body))).await
    }

    /// PATCH with `application/json`, which the broker reads as a merge
    /// (pacticipants accept it; versions and deployments need `patch_merge`).
    pub async fn patch_json(&self, url: &Url, body: &Value) -> Result<Response, ClientError> {
        self.send(Method::PATCH, url, Some((JSON, body))).await
    }

    /// PATCH with `application/merge-patch+json` (RFC 7396).
    pub async fn patch_merge(&self, url: &Url, body: &Value) -> Result<Response, ClientError> {
        self.send(Method::PATCH, url, Some((MERGE_PATCH_JSON, body)))
            .await
    }

    pub async fn delete(&self, url: &Url) -> Result<Response, ClientError> {
        self.send(Method::DELETE, url, None).await
    }

    async fn send(
        &self,
        method: Method,
        url: &Url,
        body: Option<(&'static str, &Value)>,
    ) -> Result<Response, ClientError> {
        let body = body.map(|(content_type, json)| (content_type, json.to_string()));
        let mut retries_done = 0;
        let outcome = loop {
            let mut request = self.authorise(self.http.request(method.clone(), url.clone()));
            if let Some((content_type, json)) = &body {
                request = request
                    .header(CONTENT_TYPE, *content_type)
                    .body(json.clone());
            }
            tracing::debug!(%method, %url, "sending request to the broker");
            let outcome = request.send().await;
            if let Err(error) = &outcome
                && retry::is_refused(error)
            {
                return Err(ClientError::NotListening {
                    url: url.origin().ascii_serialization(),
                });
            }
            if retries_done >= self.retries {
                break outcome;
            }
            let (delay, what_failed) = match &outcome {
                Ok(response) if retry::is_retryable_status(response.status()) => {
                    let retry_after = response
                        .headers()
                        .get(RETRY_AFTER)
                        .and_then(|value| value.to_str().ok());
                    (
                        retry::delay_after_response(retry_after, retries_done + 1),
                        format!(
                            "{method} {url} answered {}",
                            status_text(response.status().as_u16())
                        ),
                    )
                }
                Err(error) if retry::is_transient(error) => (
                    retry::backoff(retries_done + 1),
                    format!("{method} {url} timed out ({})", error_chain(error)),
                ),
                _ => break outcome,
            };
            retries_done += 1;
            let notice = retry::RetryNotice {
                what_failed,
                delay,
                attempt: retries_done + 1,
                attempts: self.retries + 1,
            };
            if self.announce_retries {
                eprintln!("{notice}");
            }
            tracing::debug!("{notice}");
            tokio::time::sleep(delay).await;
        };
        let response = outcome.map_err(|error| ClientError::Connection {
            url: url.to_string(),
            reason: error_chain(&error),
        })?;
        read_response(&method, url, response).await
    }

    fn authorise(&self, request: RequestBuilder) -> RequestBuilder {
        match &self.auth {
            Some(Auth::Bearer(token)) => request.bearer_auth(token.expose_secret()),
            Some(Auth::Basic { username, password }) => request.basic_auth(
                username,
                password.as_ref().map(|password| password.expose_secret()),
            ),
            None => request,
        }
    }

    /// Relative hrefs are relative to the index, which for a broker under a
    /// path (`http://host/broker`) means `http://host/broker/`.
    fn base_for_relative_links(&self) -> Url {
        let mut base = self.base_url.clone();
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        base
    }

    fn invalid_link(&self, href: &str, error: url::ParseError) -> ClientError {
        ClientError::UnexpectedResponse {
            url: self.base_url.to_string(),
            reason: format!("the link {href:?} is not a valid URL: {error}"),
        }
    }
}

async fn read_response(
    method: &Method,
    url: &Url,
    response: reqwest::Response,
) -> Result<Response, ClientError> {
    let status = response.status();
    let bytes = response
        .bytes()
        .await
        .map_err(|error| ClientError::Connection {
            url: url.to_string(),
            reason: format!("the response was cut off: {}", error_chain(&error)),
        })?;
    if status.is_success() {
        let body =
            parse_success_body(&bytes).map_err(|reason| ClientError::UnexpectedResponse {
                url: url.to_string(),
                reason,
            })?;
        return Ok(Response {
            status: status.as_u16(),
            body,
        });
    }
    Err(ClientError::Rejected(Box::new(Rejection {
        status: status.as_u16(),
        method: method.to_string(),
        url: url.to_string(),
        details: parse_error_body(&bytes),
    })))
}

/// A success body is JSON, or empty (204, or a broker that sends no body).
fn parse_success_body(bytes: &[u8]) -> Result<Value, String> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(bytes).map_err(|error| format!("the body is not JSON ({error})"))
}

fn normalise_base_url(mut url: Url) -> Result<Url, ClientError> {
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(ClientError::Config(format!(
            "the broker base URL must be an http:// or https:// URL, not {url}"
        )));
    }
    let path = url.path().trim_end_matches('/').to_owned();
    url.set_path(if path.is_empty() { "/" } else { &path });
    url.set_query(None);
    url.set_fragment(None);
    Ok(url)
}

fn build_http_client(
    base_url: &Url,
    extra_headers: &[(String, String)],
    tls: &TlsOptions,
) -> Result<reqwest::Client, ClientError> {
    let mut headers = HeaderMap::new();
    headers.insert(ACCEPT, HeaderValue::from_static(ACCEPT_HAL));
    for (name, value) in extra_headers {
        let invalid = || ClientError::Config(format!("invalid custom header {name:?}: {value:?}"));
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid())?;
        let value = HeaderValue::from_str(value).map_err(|_| invalid())?;
        headers.insert(name, value);
    }
    let mut builder = reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .default_headers(headers)
        .connect_timeout(CONNECT_TIMEOUT);
    // Certificates matter only for https; reading them for an http broker
    // would only add ways to fail (a stale SSL_CERT_FILE, say).
    if base_url.scheme() == "https" {
        builder = configure_tls(builder, tls)?;
    }
    builder.build().map_err(|error| {
        ClientError::Config(format!(
            "cannot set up the HTTP client: {}",
            error_chain(&error)
        ))
    })
}

fn configure_tls(
    mut builder: reqwest::ClientBuilder,
    tls: &TlsOptions,
) -> Result<reqwest::ClientBuilder, ClientError> {
    if tls.skip_verification {
        builder = builder.tls_danger_accept_invalid_certs(true);
    }
    let certificates = match &tls.ca_certificate {
        Some(path) => {
            let pem = std::fs::read(path).map_err(|error| {
                ClientError::Config(format!(
                    "cannot read the SSL certificate file {}: {error}",
                    path.display()
                ))
            })?;
            reqwest::Certificate::from_pem_bundle(&pem).map_err(|error| {
                ClientError::Config(format!(
                    "{} holds no valid PEM certificate: {error}",
                    path.display()
                ))
            })?
        }
        None => Vec::new(),
    };
    Ok(if tls.use_system_roots {
        builder.tls_certs_merge(certificates)
    } else {
        builder.tls_certs_only(certificates)
    })
}

/// reqwest's own message is "error sending request for url (...)"; the
/// useful part ("Connection refused", "dns error: ...") is in its sources.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut causes = Vec::new();
    let mut current = error.source();
    while let Some(cause) = current {
        let text = cause.to_string();
        if causes.last() != Some(&text) {
            causes.push(text);
        }
        current = cause.source();
    }
    if causes.is_empty() {
        error.to_string()
    } else {
        causes.join(": ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn client(base: &str) -> BrokerClient {
        let url = Url::parse(base).expect("url");
        BrokerClient::new(BrokerConfig::new(url)).expect("client")
    }

    #[test]
    fn the_base_url_loses_its_trailing_slash_query_and_fragment() {
        assert_eq!(
            client("http://b:9292/").base_url().as_str(),
            "http://b:9292/"
        );
        assert_eq!(
            client("http://b/broker/").base_url().as_str(),
            "http://b/broker"
        );
        assert_eq!(
            client("http://b/broker?x=1#y").base_url().as_str(),
            "http://b/broker"
        );
    }

    #[test]
    fn only_http_urls_are_brokers() {
        let url = Url::parse("ftp://b/").expect("url");
        assert!(matches!(
            BrokerClient::new(BrokerConfig::new(url)),
            Err(ClientError::Config(_))
        ));
    }

    #[test]
    fn links_are_followed_on_the_host_the_user_gave() {
        let client = client("http://127.0.0.1:9292");
        let resolved = client
            .resolve_href("http://example.org/pacticipants/Foo%20Bar?page=2")
            .expect("url");
        assert_eq!(
            resolved.as_str(),
            "http://127.0.0.1:9292/pacticipants/Foo%20Bar?page=2"
        );
    }

    #[test]
    fn a_broker_under_a_path_keeps_it() {
        let client = client("https://host/broker/");
        assert_eq!(
            client
                .resolve_href("https://public/broker/pacts/latest")
                .expect("url")
                .as_str(),
            "https://host/broker/pacts/latest"
        );
        assert_eq!(
            client.resolve_href("pacts/latest").expect("url").as_str(),
            "https://host/broker/pacts/latest"
        );
    }

    #[test]
    fn relation_urls_expand_templates_and_report_missing_relations() {
        let client = client("http://b");
        let index = json!({"_links": {
            "pb:pacticipant": {"href": "http://b/pacticipants/{pacticipant}", "templated": true},
            "pb:latest-pact-versions": {"href": "http://b/pacts/latest"}
        }});
        let url = client
            .relation_url(&index, "pb:pacticipant", &[("pacticipant", "a/b")])
            .expect("url");
        assert_eq!(url.as_str(), "http://b/pacticipants/a%2Fb");
        let missing = client
            .relation_url(&index, "pb:environments", &[])
            .expect_err("missing");
        assert_eq!(
            missing.to_string(),
            "the broker does not offer the \"pb:environments\" relation (it offers: pb:pacticipant, pb:latest-pact-versions)"
        );
        let template = client
            .relation_url(&index, "pb:pacticipant", &[])
            .expect_err("no value");
        assert!(matches!(template, ClientError::Template(_)));
    }

    #[test]
    fn success_bodies_are_json_or_empty() {
        assert_eq!(parse_success_body(b""), Ok(Value::Null));
        assert_eq!(parse_success_body(b" \n"), Ok(Value::Null));
        assert_eq!(parse_success_body(br#"{"a":1}"#), Ok(json!({"a": 1})));
        assert!(parse_success_body(b"<html>").is_err());
    }

    #[test]
    fn bad_custom_headers_are_reported() {
        let mut config = BrokerConfig::new(Url::parse("http://b").expect("url"));
        config.headers = vec![("Bad Name".into(), "v".into())];
        assert!(matches!(
            BrokerClient::new(config),
            Err(ClientError::Config(_))
        ));
    }
}
