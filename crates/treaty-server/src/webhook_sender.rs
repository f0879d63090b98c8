//! Sending a webhook: render its request from an event's variables, refuse
//! targets the policy forbids (including hosts that resolve to internal
//! addresses, checked on the addresses actually connected to), sign the
//! body, send it with a timeout and a cap on what is read back, and log
//! every step as the Pact Broker's logs read.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use hmac::{Hmac, KeyInit, Mac};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use serde_json::{Value, json};
use sha2::Sha256;
use treaty_domain::webhooks::{self, TargetPolicy, WebhookDefinition};

/// The header that carries the body's HMAC-SHA256 when the webhook has a secret.
pub const SIGNATURE_HEADER: &str = "x-treaty-signature-256";
/// The header that names the delivery, the same on every attempt, so a
/// receiver can ignore one it has seen (a delivery is sent at least once).
pub const DELIVERY_HEADER: &str = "x-treaty-delivery";
/// The most of a response body read back and logged.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;
const TIMEOUT: Duration = Duration::from_secs(10);
const USER_AGENT: &str = concat!("Treaty/", env!("CARGO_PKG_VERSION"));

/// Resolves names like the system does, then drops internal addresses unless
/// the host is explicitly allowed: a name cannot smuggle a request inside.
struct SafeResolver {
    allowed_hosts: Vec<String>,
    /// The configured proxy's host, which is connected to whatever it
    /// resolves to (a proxy is usually on the internal network).
    proxy_host: Option<String>,
}

impl Resolve for SafeResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        let allowed = self
            .allowed_hosts
            .iter()
            .chain(&self.proxy_host)
            .any(|h| h.eq_ignore_ascii_case(&host));
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| allowed || !webhooks::is_internal(a.ip()))
                .collect();
            if found.is_empty() {
                return Err(format!(
                    "{host} resolves only to internal addresses, which webhooks may not call unless the host is in --webhook-allowed-hosts"
                )
                .into());
            }
            Ok(Box::new(found.into_iter()) as Addrs)
        })
    }
}

/// What one attempt came to.
#[derive(Debug, Clone)]
pub struct Sent {
    pub success: bool,
    /// Retrying cannot help (the target is not allowed).
    pub refused: bool,
    pub logs: String,
    pub message: String,
    pub request: Value,
    pub response: Option<Value>,
}

impl Sent {
    /// With every secret value masked wherever it turned up: a receiver that
    /// echoes its key back, an error that quotes it.
    fn redacted(mut self, secrets: &[String]) -> Self {
        let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
        self.logs = webhooks::redact(&self.logs, &secrets);
        self.message = webhooks::redact(&self.message, &secrets);
        redact_strings(&mut self.request, &secrets);
        if let Some(response) = &mut self.response {
            redact_strings(response, &secrets);
        }
        self
    }
}

fn redact_strings(value: &mut Value, secrets: &[&str]) {
    match value {
        Value::String(text) => *text = webhooks::redact(text, secrets),
        Value::Array(items) => items.iter_mut().for_each(|i| redact_strings(i, secrets)),
        Value::Object(map) => map.values_mut().for_each(|v| redact_strings(v, secrets)),
        _ => {}
    }
}

/// The HTTP proxy webhooks go through (`--webhook-proxy`): an `http` or
/// `https` URL, perhaps with credentials, which its `Debug` never shows.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookProxy(url::Url);

impl WebhookProxy {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let url = url::Url::parse(raw).map_err(|e| format!("not a URL: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err("must be http://HOST:PORT or https://HOST:PORT".to_owned());
        }
        Ok(Self(url))
    }

    fn host(&self) -> Option<String> {
        self.0
            .host_str()
            .map(|h| h.trim_start_matches('[').trim_end_matches(']').to_owned())
    }
}

impl std::fmt::Debug for WebhookProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut shown = self.0.clone();
        if shown.password().is_some() {
            let _ = shown.set_password(Some("REDACTED"));
        }
        f.debug_tuple("WebhookProxy")
            .field(&shown.as_str())
            .finish()
    }
}

#[derive(Clone)]
pub struct Sender {
    client: reqwest::Client,
    policy: TargetPolicy,
    proxied: bool,
}

impl Sender {
    /// Webhooks go straight to their targets, whatever proxy the process's
    /// environment names (`HTTP_PROXY`, `ALL_PROXY`, ...): a proxy resolves
    /// the target's name itself, so the addresses it connects to would never
    /// be checked. With `proxy` they go through that one, and each target's
    /// name is resolved and checked here before it is handed over.
    pub fn new(policy: TargetPolicy, proxy: Option<&WebhookProxy>) -> Self {
        let mut builder = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .dns_resolver(Arc::new(SafeResolver {
                allowed_hosts: policy.hosts.clone(),
                proxy_host: proxy.and_then(WebhookProxy::host),
            }))
            .user_agent(USER_AGENT);
        if let Some(proxy) = proxy
            && let Ok(through) = reqwest::Proxy::all(proxy.0.as_str())
        {
            builder = builder.proxy(through);
        }
        // Never a default client instead: it would use the environment's
        // proxy and no address check.
        let client = builder
            .build()
            .expect("the webhook HTTP client builds (its TLS backend is compiled in)");
        Self {
            client,
            policy,
            proxied: proxy.is_some(),
        }
    }

    pub fn policy(&self) -> &TargetPolicy {
        &self.policy
    }

    pub async fn send(
        &self,
        webhook: &WebhookDefinition,
        delivery: &str,
        context: &BTreeMap<String, String>,
        base_url: &str,
    ) -> Sent {
        let mut logs = String::new();
        let mut log = |level: &str, line: &str| {
            logs.push_str(&format!(
                "[{}] {level}: {line}\n",
                treaty_domain::time::format(Utc::now())
            ));
        };
        let vars = webhooks::with_base(context, base_url);
        let template = &webhook.request;
        let webhooks::RenderedRequest {
            url,
            mut headers,
            body,
        } = webhooks::render_request(template, &vars);
        headers.insert(DELIVERY_HEADER.to_owned(), delivery.to_owned());
        if let (Some(secret), Some(body)) = (&template.secret, &body)
            && let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        {
            mac.update(body.as_bytes());
            headers.insert(
                SIGNATURE_HEADER.to_owned(),
                format!("sha256={}", hex::encode(mac.finalize().into_bytes())),
            );
        }
        // What goes on the wire besides the webhook's own headers, shown as sent.
        let mut wire_headers: BTreeMap<String, String> = BTreeMap::new();
        wire_headers.insert("accept".to_owned(), "*/*".to_owned());
        wire_headers.insert("user-agent".to_owned(), USER_AGENT.to_owned());
        if let Some(host) = url::Url::parse(&url).ok().and_then(|u| {
            u.host_str().map(|h| {
                u.port()
                    .map_or_else(|| h.to_owned(), |p| format!("{h}:{p}"))
            })
        }) {
            wire_headers.insert("host".to_owned(), host);
        }
        wire_headers.insert(
            "content-length".to_owned(),
            body.as_ref().map_or(0, String::len).to_string(),
        );
        wire_headers.extend(headers.iter().map(|(k, v)| (k.clone(), v.clone())));
        // The signature header's name looks secret too: it is masked with the others.
        let shown_headers = webhooks::masked_headers(&wire_headers);
        let secrets: Vec<String> = webhooks::secret_values(&wire_headers, template)
            .into_iter()
            .map(str::to_owned)
            .collect();
        let request = json!({ "method": template.method, "url": url, "headers": shown_headers, "body": body });
        log(
            "DEBUG",
            &format!(
                "Webhook context {}",
                json!({ "event_name": vars.get("eventName").cloned().unwrap_or_else(|| "test".to_owned()) })
            ),
        );
        log("INFO", &format!("HTTP/1.1 {} {url}", template.method));
        for (name, value) in &shown_headers {
            log("INFO", &format!("{name}: {value}"));
        }
        if let Some(body) = &body {
            log("INFO", body);
        }

        let refused = match self.refusal(&template.method, &url) {
            None if self.proxied => self.refusal_through_proxy(&url).await,
            refused => refused,
        };
        if let Some(reason) = refused {
            let message = format!("Not sent: {reason}");
            log("ERROR", &message);
            return Sent {
                success: false,
                refused: true,
                logs,
                message,
                request,
                response: None,
            }
            .redacted(&secrets);
        }
        let method = reqwest::Method::from_bytes(template.method.as_bytes())
            .unwrap_or(reqwest::Method::POST);
        let mut builder = self.client.request(method, &url);
        for (name, value) in &headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        if let Some(username) = &template.username {
            builder = builder.basic_auth(username, template.password.as_deref());
        }
        if let Some(body) = body {
            builder = builder.body(body);
        }
        let listed = url::Url::parse(&url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .is_some_and(|h| self.policy.host_listed(&h));
        match builder.send().await {
            Err(error) => {
                let message = format!("Webhook execution failed: {}", error_chain(&error));
                log("ERROR", &message);
                Sent {
                    success: false,
                    refused: false,
                    logs,
                    message,
                    request,
                    response: None,
                }
                .redacted(&secrets)
            }
            Ok(mut response) => {
                let status = response.status();
                let mut body = Vec::new();
                while let Ok(Some(chunk)) = response.chunk().await {
                    let room = MAX_RESPONSE_BYTES.saturating_sub(body.len());
                    body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                    if room <= chunk.len() {
                        break;
                    }
                }
                let success = status.is_success();
                log("INFO", &format!("HTTP/1.1 {status}"));
                let message = if listed {
                    log("INFO", &String::from_utf8_lossy(&body));
                    format!("The target answered {status}")
                } else {
                    let hidden = "For security purposes, the response details are not logged. To log them, add the host to --webhook-allowed-hosts.".to_owned();
                    log("INFO", &hidden);
                    hidden
                };
                log(
                    "INFO",
                    if success {
                        "Webhook execution succeeded"
                    } else {
                        "Webhook execution failed"
                    },
                );
                Sent {
                        success,
                        refused: false,
                        logs,
                        message,
                        request,
                        response: Some(json!({
                            "status": status.as_u16(),
                            "body": if listed { Value::String(String::from_utf8_lossy(&body).into_owned()) } else { Value::Null },
                        })),
                    }
                .redacted(&secrets)
            }
        }
    }

    /// Why the rendered target may not be called: the policy, or an
    /// internal address written as an IP.
    fn refusal(&self, method: &str, url: &str) -> Option<String> {
        if let Some(reason) = self.policy.refuse(method, url) {
            return Some(reason);
        }
        let parsed = url::Url::parse(url).ok()?;
        let host = parsed
            .host_str()?
            .trim_start_matches('[')
            .trim_end_matches(']');
        if let Ok(ip) = host.parse::<IpAddr>()
            && webhooks::is_internal(ip)
            && !self.policy.host_listed(parsed.host_str()?)
        {
            return Some(format!(
                "{ip} is an internal address, which webhooks may not call unless the host is in --webhook-allowed-hosts"
            ));
        }
        None
    }

    /// Why a target may not be handed to the proxy: its name resolves (for
    /// Treaty) to an internal address. The proxy connects to an address of
    /// its own choosing, so one internal address among them is enough; and
    /// a name Treaty cannot resolve cannot be checked.
    async fn refusal_through_proxy(&self, url: &str) -> Option<String> {
        let parsed = url::Url::parse(url).ok()?;
        let host = parsed.host_str()?;
        if self.policy.host_listed(host) || host.trim_matches(['[', ']']).parse::<IpAddr>().is_ok()
        {
            // Listed, or an IP, which `refusal` has judged already.
            return None;
        }
        let port = parsed.port_or_known_default().unwrap_or(443);
        // Within the attempt's timeout, as the direct path's resolution is.
        let resolved = tokio::time::timeout(TIMEOUT, tokio::net::lookup_host((host, port)))
            .await
            .unwrap_or_else(|_| Err(std::io::Error::other("no answer in time")));
        refusal_of_resolved(host, resolved.map(|found| found.map(|a| a.ip()).collect()))
    }
}

/// Why a name may not be handed to the proxy, from what it resolved to:
/// any internal address among them, or no answer at all.
fn refusal_of_resolved(host: &str, resolved: std::io::Result<Vec<IpAddr>>) -> Option<String> {
    match resolved {
        Err(error) => Some(format!(
            "{host} cannot be resolved to check it before the proxy is asked ({error}); list it in --webhook-allowed-hosts to send through the proxy unchecked"
        )),
        Ok(addresses) => addresses.into_iter().find(|ip| webhooks::is_internal(*ip)).map(|ip| {
            format!(
                "{host} resolves to {ip}, an internal address, which webhooks may not call unless the host is in --webhook-allowed-hosts"
            )
        }),
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::{WebhookProxy, refusal_of_resolved};

    #[test]
    fn a_name_goes_to_the_proxy_only_if_none_of_its_addresses_is_internal() {
        let public = "93.184.215.14".parse().unwrap();
        let private = "10.0.0.7".parse().unwrap();
        assert_eq!(refusal_of_resolved("hooks.example", Ok(vec![public])), None);
        let mixed = refusal_of_resolved("hooks.example", Ok(vec![public, private])).unwrap();
        assert!(
            mixed.contains("resolves to 10.0.0.7, an internal address"),
            "{mixed}"
        );
        let unresolved =
            refusal_of_resolved("hooks.example", Err(std::io::Error::other("no answer"))).unwrap();
        assert!(unresolved.contains("cannot be resolved"), "{unresolved}");
    }

    #[test]
    fn a_proxy_is_an_http_url_and_its_password_is_never_shown() {
        let proxy = WebhookProxy::parse("http://ci:s3cr3t@proxy.internal:3128").unwrap();
        let shown = format!("{proxy:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("proxy.internal:3128"), "{shown}");
        assert_eq!(proxy.host().as_deref(), Some("proxy.internal"));
        assert_eq!(
            WebhookProxy::parse("http://[::1]:3128")
                .unwrap()
                .host()
                .as_deref(),
            Some("::1")
        );
        for refused in ["socks5://proxy:1080", "proxy:3128", "not a url", "http://"] {
            assert!(WebhookProxy::parse(refused).is_err(), "{refused}");
        }
    }
}
