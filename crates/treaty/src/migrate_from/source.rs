//! The broker copied from: its index, its lists (page by page) and its
//! resources, through `treaty-client` (retries with back-off on 429 and
//! 5xx, announced on stderr; a refused connection fails at once).

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;
use treaty_client::hal::encode_component;
use treaty_client::{BrokerClient, ClientError, Url};

/// Items asked for per page of a list (the Pact Broker's default page).
const PAGE_SIZE: usize = 100;

/// Why the source cannot be copied at all (as opposed to a resource of it
/// that cannot be read, which is reported and skipped).
#[derive(Debug, thiserror::Error)]
pub enum Unusable {
    #[error(
        "{url} is not a Pact Broker: its index {why} (give the broker's base URL, the one `pact-broker` commands use)"
    )]
    NotABroker { url: String, why: String },
    #[error(
        "{url} refused the credentials (HTTP {status}): check --broker-token, or --broker-username and --broker-password (PACT_BROKER_TOKEN, PACT_BROKER_USERNAME, PACT_BROKER_PASSWORD); reading needs at least a read-only user"
    )]
    Refused { url: String, status: u16 },
    #[error("cannot read {url}: {error}")]
    Unreachable { url: String, error: ClientError },
}

pub struct Source {
    client: BrokerClient,
    pub index: Value,
    /// How the source is known in `moved_in`: its URL, without credentials.
    pub key: String,
    requests: AtomicU64,
}

/// The base URL as the source's identity: scheme, host, port and path,
/// lower-cased where URLs are case-blind, without credentials or a trailing `/`.
pub fn source_key(url: &Url) -> String {
    let mut url = url.clone();
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.set_query(None);
    url.set_fragment(None);
    let text = url.to_string();
    text.trim_end_matches('/').to_owned()
}

impl Source {
    /// Reads the index and checks it is a broker's that lets us in.
    pub async fn connect(client: BrokerClient) -> Result<Self, Unusable> {
        let url = client.base_url().to_string();
        let index = match client.index().await {
            Ok(index) => index,
            Err(error) => {
                return Err(match error.status() {
                    Some(status @ (401 | 403)) => Unusable::Refused { url, status },
                    Some(404) => Unusable::NotABroker {
                        url,
                        why: "is not there (HTTP 404)".to_owned(),
                    },
                    _ => match error {
                        ClientError::UnexpectedResponse { reason, .. } => {
                            Unusable::NotABroker { url, why: reason }
                        }
                        error => Unusable::Unreachable { url, error },
                    },
                });
            }
        };
        let offers = |relation: &str| treaty_client::hal::link(&index, relation).is_some();
        if !offers("pb:pacticipants") || !offers("pb:latest-pact-versions") {
            let why = if index.get("_links").is_none() {
                "has no HAL links".to_owned()
            } else {
                format!(
                    "lacks the Pact Broker's relations (it offers: {})",
                    treaty_client::hal::relation_names(&index).join(", ")
                )
            };
            return Err(Unusable::NotABroker { url, why });
        }
        let key = source_key(client.base_url());
        Ok(Self {
            client,
            index,
            key,
            requests: AtomicU64::new(1),
        })
    }

    pub fn client(&self) -> &BrokerClient {
        &self.client
    }

    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// A relation of the index (a template's variables filled in), or the
    /// path the Pact Broker serves it at when the index does not offer it.
    pub fn index_url(&self, relation: &str, fallback_path: &str) -> Result<Url, ClientError> {
        match self.client.relation_url(&self.index, relation, &[]) {
            Ok(url) => Ok(url),
            Err(ClientError::MissingLink { .. }) => self.path(fallback_path),
            Err(error) => Err(error),
        }
    }

    /// A path on the source, its segments given unescaped.
    pub fn path_of(&self, segments: &[&str]) -> Result<Url, ClientError> {
        let path: Vec<String> = segments.iter().map(|s| encode_component(s)).collect();
        self.path(&format!("/{}", path.join("/")))
    }

    pub fn path(&self, path: &str) -> Result<Url, ClientError> {
        self.client.resolve_href(path.trim_start_matches('/'))
    }

    pub fn resolve(&self, href: &str) -> Result<Url, ClientError> {
        self.client.resolve_href(href)
    }

    pub async fn get(&self, url: &Url) -> Result<Value, ClientError> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.client.get(url).await
    }

    pub async fn get_href(&self, href: &str) -> Result<Value, ClientError> {
        let url = self.resolve(href)?;
        self.get(&url).await
    }

    /// Every item of a list, following its pages: `?page=N&size=100` while
    /// the answer says there are more. What it says is believed before the
    /// page's length, since a broker may serve fewer items a page than were
    /// asked for (a cap on `size`): `page.totalPages` when given, else a
    /// `next` link, else a page as long as asked for. An empty page ends it
    /// whatever it says. A broker that ignores the page parameters answers
    /// the whole list at once, and that is all.
    pub async fn all_pages(&self, url: &Url, key: &str) -> Result<Vec<Value>, ClientError> {
        let mut items = Vec::new();
        for number in 1.. {
            let mut page = url.clone();
            page.query_pairs_mut()
                .append_pair("page", &number.to_string())
                .append_pair("size", &PAGE_SIZE.to_string());
            let answer = self.get(&page).await?;
            let found = super::read::embedded(&answer, key);
            let count = found.len();
            items.extend(found.iter().cloned());
            if count == 0 || !more_after(&answer, number, count) {
                break;
            }
        }
        Ok(items)
    }
}

/// Whether a list has pages after page `number`, which held `count` items.
fn more_after(answer: &Value, number: u64, count: usize) -> bool {
    let has_page = answer.get("page").is_some_and(Value::is_object);
    let next = treaty_client::hal::link(answer, "next").is_some();
    match answer.pointer("/page/totalPages").and_then(Value::as_u64) {
        Some(pages) => number < pages,
        None => next || (has_page && count >= PAGE_SIZE),
    }
}

/// What failed about one resource, as the report names it.
pub fn describe(error: &ClientError) -> String {
    match error {
        ClientError::Rejected(rejection) => {
            let reasons = rejection.reason_lines().join("; ");
            let summary = rejection.summary();
            if reasons == summary {
                summary
            } else {
                format!("{summary}: {reasons}")
            }
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_page_says_of_the_rest_is_believed_before_its_length() {
        let capped = serde_json::json!({"page": {"size": 3, "totalPages": 4}});
        assert!(more_after(&capped, 1, 3), "a capped page is not the last");
        assert!(!more_after(&capped, 4, 3));
        let linked = serde_json::json!({"_links": {"next": {"href": "http://b/x?page=2"}}});
        assert!(more_after(&linked, 1, 3));
        let counted = serde_json::json!({"page": {"size": 100}});
        assert!(more_after(&counted, 1, PAGE_SIZE));
        assert!(!more_after(&counted, 1, PAGE_SIZE - 1));
        let whole = serde_json::json!({"_embedded": {}});
        assert!(
            !more_after(&whole, 1, PAGE_SIZE),
            "no pages: the whole list"
        );
    }

    #[test]
    fn a_source_is_known_by_its_url_without_credentials() {
        let url = Url::parse("https://user:secret@Broker.Example.com/pact/?x=1").expect("url");
        assert_eq!(source_key(&url), "https://broker.example.com/pact");
    }
}
