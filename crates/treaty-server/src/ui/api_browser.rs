//! A browser opening an API address gets the answer as a page to read, its
//! links to follow (what the Pact Broker's HAL browser gave), not raw JSON.
//!
//! One layer, outside every other, so it sees the answer exactly as an API
//! client would (errors already rendered as problem documents, access
//! already decided by the API's own rules): a GET whose `Accept` prefers
//! HTML, on a route that is not the UI's, answered with JSON, becomes a page
//! with the same status: the problem (for an error), the `_links` as a
//! table, the `_embedded` resources, and the JSON itself laid out, every
//! string that is an address on this server a link. Every other request and
//! answer passes untouched, so API clients get the bytes they always got.
//!
//! The work is bounded: an answer longer than [`READ_LIMIT`] is not parsed,
//! and a page shows at most [`SHOWN_LIMIT`] characters of JSON, saying so.

use askama::Template;
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderName, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use serde_json::{Map, Value};
use treaty_domain::access::Identity;

use super::forms::Viewer;
use super::session::{self, Session};
use super::view::Nav;
use crate::AppState;
use crate::base_url::BaseUrl;
use crate::hal;

/// Past this many bytes an answer is not parsed: the page shows its start as text.
pub const READ_LIMIT: usize = 8 * 1024 * 1024;
/// The most characters of JSON a page lays out (a multi-MB answer is cut).
pub const SHOWN_LIMIT: usize = 256 * 1024;
/// The most rows of the links table, and of each embedded relation.
const LINK_ROWS_LIMIT: usize = 500;
const EMBEDDED_ITEMS_LIMIT: usize = 100;

/// What the API offers, in its order of preference; a browser's `Accept`
/// (`text/html,...,*/*;q=0.8`) picks HTML, the Pact clients' HAL or JSON,
/// and `*/*` or no `Accept` the first.
const OFFERED: &[&str] = &["application/hal+json", "application/json", "text/html"];

/// The layer: turns an API answer into a page for a browser.
pub async fn layer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if !for_a_browser(&request) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let base = BaseUrl::from_parts(&parts, state.config.base_url.as_deref());
    let headers = parts.headers.clone();
    let target = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path().to_owned(), |pq| pq.as_str().to_owned());
    let response = next.run(Request::from_parts(parts, body)).await;
    if !is_json(response.headers()) {
        return response;
    }
    page(&state, &base, &headers, &target, response).await
}

/// A GET from a browser (HTML preferred) to a route that is not a UI page.
/// Decided from the route the router matched, never from the path's text.
fn for_a_browser(request: &Request) -> bool {
    let ui_route = request
        .extensions()
        .get::<MatchedPath>()
        .is_some_and(|route| route.as_str() == "/ui" || route.as_str().starts_with("/ui/"));
    request.method() == Method::GET
        && !ui_route
        && hal::negotiate(request.headers(), OFFERED) == "text/html"
}

fn is_json(headers: &HeaderMap) -> bool {
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    media == "application/json" || (media.starts_with("application/") && media.ends_with("+json"))
}

#[derive(Template)]
#[template(path = "ui/api_browser.html")]
struct Page {
    nav: Nav,
    /// The path and query asked for, and its absolute address.
    target: String,
    address: String,
    status: String,
    failed: bool,
    problem: Option<Problem>,
    links: Vec<LinkRow>,
    links_left_out: usize,
    embedded: Vec<Embedded>,
    json: Vec<Piece>,
    /// Why the JSON shown is not all of it.
    cut: Option<String>,
}

struct Problem {
    title: String,
    detail: String,
}

struct LinkRow {
    relation: String,
    title: String,
    href: String,
    /// Set when the address is on this server: then it is a link.
    target: Option<String>,
    templated: bool,
}

struct Embedded {
    relation: String,
    count: usize,
    items: Vec<Item>,
    left_out: usize,
}

struct Item {
    heading: String,
    target: Option<String>,
    fields: Vec<(String, Piece)>,
}

/// A run of text, a link when it is an address on this server.
struct Piece {
    text: String,
    href: Option<String>,
}

async fn page(
    state: &AppState,
    base: &BaseUrl,
    headers: &HeaderMap,
    target: &str,
    response: Response,
) -> Response {
    let (parts, body) = response.into_parts();
    let (bytes, whole) = read_bounded(body).await;
    let viewer = viewer(state, headers, &parts.extensions).await;
    let status = parts.status;
    let address = base.join(target);
    let parsed = whole
        .then(|| serde_json::from_slice::<Value>(&bytes).ok())
        .flatten();
    let total = if whole {
        Some(bytes.len())
    } else {
        parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
    };
    let mut page = Page {
        nav: Nav::new(base, &viewer, ""),
        target: target.to_owned(),
        address: address.clone(),
        status: format!(
            "{} {}",
            status.as_u16(),
            status.canonical_reason().unwrap_or("")
        ),
        failed: status.is_client_error() || status.is_server_error(),
        problem: None,
        links: Vec::new(),
        links_left_out: 0,
        embedded: Vec::new(),
        json: Vec::new(),
        cut: None,
    };
    let (shown, cut) = match &parsed {
        Some(value) => {
            if page.failed {
                page.problem = problem(value);
            }
            let (links, left_out) = link_rows(value, &base.0);
            page.links = links;
            page.links_left_out = left_out;
            page.embedded = embedded(value, &base.0);
            let mut layout = Layout::new(&base.0);
            layout.value(value, 0);
            page.json = layout.pieces;
            (layout.shown, layout.cut)
        }
        None => {
            // Too long to parse, or not JSON after all: its start, as text.
            let text = String::from_utf8_lossy(&bytes);
            let mut end = text.len().min(SHOWN_LIMIT);
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            page.json = vec![Piece {
                text: text[..end].to_owned(),
                href: None,
            }];
            (end, !whole || end < text.len())
        }
    };
    if cut {
        page.cut = Some(cut_sentence(total, shown, &address));
    }
    let mut rendered = match super::html(status, &page) {
        Ok(rendered) => rendered,
        Err(error) => return error.into_response(),
    };
    // The API answer's other headers stay (a renewed session cookie,
    // `WWW-Authenticate`, `Retry-After`, `Vary`); what describes the body
    // or how it may be kept is the page's own.
    let replaced: [HeaderName; 6] = [
        header::CONTENT_TYPE,
        header::CONTENT_LENGTH,
        header::CONTENT_SECURITY_POLICY,
        header::CACHE_CONTROL,
        header::ETAG,
        header::LAST_MODIFIED,
    ];
    for (name, value) in &parts.headers {
        if !replaced.contains(name) {
            rendered.headers_mut().append(name.clone(), value.clone());
        }
    }
    rendered
}

/// The body's bytes, up to [`READ_LIMIT`]; `false` when there was more (or
/// the body failed part-way).
async fn read_bounded(mut body: Body) -> (Vec<u8>, bool) {
    let mut bytes = Vec::new();
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return (bytes, false);
        };
        if let Ok(data) = frame.into_data() {
            if bytes.len() + data.len() > READ_LIMIT {
                let room = READ_LIMIT - bytes.len();
                bytes.extend_from_slice(&data[..room]);
                return (bytes, false);
            }
            bytes.extend_from_slice(&data);
        }
    }
    (bytes, true)
}

fn cut_sentence(total: Option<usize>, shown: usize, address: &str) -> String {
    let size = total.map_or_else(
        || format!("longer than {}", bytes_in_words(READ_LIMIT)),
        bytes_in_words,
    );
    format!(
        "This answer is {size}: the page shows only its first {} characters. For all of it, ask as an API client does: curl -H 'Accept: application/hal+json' '{address}'",
        with_separators(shown)
    )
}

fn bytes_in_words(bytes: usize) -> String {
    format!("{} bytes", with_separators(bytes))
}

fn with_separators(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Who is looking: the identity the access layer proved for this request,
/// or (when it refused before passing one on) the session the cookie proves.
async fn viewer(state: &AppState, headers: &HeaderMap, found: &axum::http::Extensions) -> Viewer {
    let (identity, session) = match found.get::<Identity>() {
        Some(identity) => (identity.clone(), found.get::<Session>().cloned()),
        None => match session::from_headers(state, headers).await {
            Ok(Some(session)) => (session.identity.clone(), Some(session)),
            _ => return Viewer::unnamed(state),
        },
    };
    let csrf = match session::key(state).await {
        Ok(key) => {
            let mut request = Request::new(());
            *request.headers_mut() = headers.clone();
            if let Some(session) = &session {
                request.extensions_mut().insert(session.clone());
            }
            let (parts, ()) = request.into_parts();
            session::csrf_token(&key, &parts)
        }
        Err(_) => String::new(),
    };
    Viewer {
        name: identity.name,
        role: identity.role,
        session: session.is_some(),
        open: !state.config.auth.enabled(),
        csrf,
    }
}

/// Whether a string is an address on this server, so a link to follow.
/// Anything else (another site, `javascript:`, a template) stays text.
fn on_this_server(base: &str, url: &str) -> bool {
    let Some(rest) = url.strip_prefix(base) else {
        return false;
    };
    (base.starts_with("http://") || base.starts_with("https://"))
        && (rest.is_empty() || rest.starts_with(['/', '?', '#']))
        && !url.contains(['{', '}'])
        && !url.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn link_target(base: &str, href: &str) -> Option<String> {
    on_this_server(base, href).then(|| href.to_owned())
}

fn text_of(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A problem document's title and detail.
fn problem(value: &Value) -> Option<Problem> {
    let title = text_of(value.get("title"))?;
    let detail = text_of(value.get("detail")).unwrap_or_default();
    Some(Problem { title, detail })
}

/// The `_links` of a resource as rows (a relation may hold a list of links),
/// and how many were left out.
fn link_rows(value: &Value, base: &str) -> (Vec<LinkRow>, usize) {
    let mut rows = Vec::new();
    let mut left_out = 0;
    let Some(links) = value.get("_links").and_then(Value::as_object) else {
        return (rows, 0);
    };
    for (relation, link) in links {
        let each: Vec<&Value> = match link {
            Value::Array(list) => list.iter().collect(),
            other => vec![other],
        };
        for link in each {
            if rows.len() == LINK_ROWS_LIMIT {
                left_out += 1;
                continue;
            }
            let Some(href) = text_of(link.get("href")) else {
                continue;
            };
            let title = [link.get("title"), link.get("name")]
                .into_iter()
                .filter_map(text_of)
                .collect::<Vec<_>>()
                .join(" · ");
            rows.push(LinkRow {
                relation: relation.clone(),
                title,
                target: link_target(base, &href),
                templated: link.get("templated") == Some(&Value::Bool(true)),
                href,
            });
        }
    }
    (rows, left_out)
}

/// Each `_embedded` relation's resources: a heading (a link to the
/// resource when it names itself), and its plain members.
fn embedded(value: &Value, base: &str) -> Vec<Embedded> {
    let Some(relations) = value.get("_embedded").and_then(Value::as_object) else {
        return Vec::new();
    };
    relations
        .iter()
        .map(|(relation, resources)| {
            let list: Vec<&Value> = match resources {
                Value::Array(list) => list.iter().collect(),
                one => vec![one],
            };
            let items = list
                .iter()
                .take(EMBEDDED_ITEMS_LIMIT)
                .enumerate()
                .map(|(i, resource)| item(resource, relation, i, base))
                .collect();
            Embedded {
                relation: relation.clone(),
                count: list.len(),
                items,
                left_out: list.len().saturating_sub(EMBEDDED_ITEMS_LIMIT),
            }
        })
        .collect()
}

fn item(resource: &Value, relation: &str, index: usize, base: &str) -> Item {
    let Some(members) = resource.as_object() else {
        return Item {
            heading: resource.to_string(),
            target: None,
            fields: Vec::new(),
        };
    };
    let own = resource.pointer("/_links/self");
    let heading = ["name", "title", "number", "displayName"]
        .into_iter()
        .find_map(|key| text_of(members.get(key)))
        .or_else(|| text_of(own.and_then(|l| l.get("title"))))
        .or_else(|| text_of(own.and_then(|l| l.get("name"))))
        .unwrap_or_else(|| format!("{relation} {}", index + 1));
    let target = text_of(own.and_then(|l| l.get("href"))).and_then(|h| link_target(base, &h));
    Item {
        heading,
        target,
        fields: fields(members, base),
    }
}

/// A resource's members other than its links and embedded resources: plain
/// values as they are, lists and objects by their size (the JSON has them).
fn fields(members: &Map<String, Value>, base: &str) -> Vec<(String, Piece)> {
    members
        .iter()
        .filter(|(key, _)| !key.starts_with('_'))
        .map(|(key, value)| {
            let piece = match value {
                Value::String(s) => Piece {
                    text: s.clone(),
                    href: link_target(base, s),
                },
                Value::Array(list) => Piece {
                    text: format!("a list of {}", list.len()),
                    href: None,
                },
                Value::Object(map) => Piece {
                    text: format!("an object of {} members", map.len()),
                    href: None,
                },
                other => Piece {
                    text: other.to_string(),
                    href: None,
                },
            };
            (key.clone(), piece)
        })
        .collect()
}

/// JSON laid out two spaces an indent (as `serde_json`'s pretty printer),
/// as pieces: every string that is an address on this server a link; cut
/// once [`SHOWN_LIMIT`] characters are laid out.
struct Layout<'a> {
    base: &'a str,
    pieces: Vec<Piece>,
    shown: usize,
    cut: bool,
}

impl<'a> Layout<'a> {
    fn new(base: &'a str) -> Self {
        Self {
            base,
            pieces: Vec::new(),
            shown: 0,
            cut: false,
        }
    }

    /// Adds text; `false` (and nothing added, from then on) past the limit.
    fn add(&mut self, text: &str, href: Option<&str>) -> bool {
        if self.cut || self.shown + text.len() > SHOWN_LIMIT {
            self.cut = true;
            return false;
        }
        self.shown += text.len();
        match (href, self.pieces.last_mut()) {
            (None, Some(last)) if last.href.is_none() => last.text.push_str(text),
            _ => self.pieces.push(Piece {
                text: text.to_owned(),
                href: href.map(str::to_owned),
            }),
        }
        true
    }

    fn indent(&mut self, depth: usize) -> bool {
        self.add(&"  ".repeat(depth), None)
    }

    /// serde_json's parser stops at 128 levels, so this recursion is bounded.
    fn value(&mut self, value: &Value, depth: usize) {
        match value {
            Value::String(s) => {
                let literal = Value::String(s.clone()).to_string();
                let href = on_this_server(self.base, s).then_some(s.as_str());
                self.add(&literal, href);
            }
            Value::Array(list) if !list.is_empty() => {
                self.add("[\n", None);
                for (i, element) in list.iter().enumerate() {
                    if !self.indent(depth + 1) {
                        return;
                    }
                    self.value(element, depth + 1);
                    self.add(if i + 1 < list.len() { ",\n" } else { "\n" }, None);
                }
                self.indent(depth);
                self.add("]", None);
            }
            Value::Object(members) if !members.is_empty() => {
                self.add("{\n", None);
                for (i, (key, member)) in members.iter().enumerate() {
                    if !self.indent(depth + 1) {
                        return;
                    }
                    let key = Value::String(key.clone()).to_string();
                    self.add(&format!("{key}: "), None);
                    self.value(member, depth + 1);
                    self.add(if i + 1 < members.len() { ",\n" } else { "\n" }, None);
                }
                self.indent(depth);
                self.add("}", None);
            }
            other => {
                self.add(&other.to_string(), None);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_addresses_on_this_server_are_links() {
        let base = "http://broker.test";
        assert!(on_this_server(base, "http://broker.test/pacticipants/A"));
        assert!(on_this_server(base, "http://broker.test"));
        assert!(on_this_server(base, "http://broker.test?x=1"));
        assert!(!on_this_server(base, "http://broker.test.evil/x"));
        assert!(!on_this_server(base, "http://broker.test@evil/x"));
        assert!(!on_this_server(base, "http://broker.test:81/x"));
        assert!(!on_this_server(base, "https://elsewhere/x"));
        assert!(!on_this_server(base, "javascript:alert(1)"));
        assert!(!on_this_server(base, "http://broker.test/doc/{rel}"));
        assert!(!on_this_server(base, "http://broker.test/a b"));
    }

    #[test]
    fn the_layout_is_serde_jsons_pretty_print() {
        let value = json!({"a": [1, {"b": "http://t/x", "c": []}], "d": {}, "e": null});
        let mut layout = Layout::new("http://t");
        layout.value(&value, 0);
        let text: String = layout.pieces.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(text, serde_json::to_string_pretty(&value).unwrap());
        let links: Vec<_> = layout
            .pieces
            .iter()
            .filter_map(|p| p.href.clone())
            .collect();
        assert_eq!(links, ["http://t/x"]);
        assert!(!layout.cut);
    }

    #[test]
    fn a_long_answer_is_cut_at_the_limit() {
        let value = json!({"big": "x".repeat(SHOWN_LIMIT), "after": 1});
        let mut layout = Layout::new("http://t");
        layout.value(&value, 0);
        assert!(layout.cut && layout.shown <= SHOWN_LIMIT);
    }

    #[test]
    fn long_lists_of_links_and_embedded_resources_are_cut_and_counted() {
        let links: Vec<_> = (0..LINK_ROWS_LIMIT + 7)
            .map(|i| json!({"href": format!("http://t/{i}")}))
            .collect();
        let items: Vec<_> = (0..EMBEDDED_ITEMS_LIMIT + 3)
            .map(|i| json!({"name": format!("n{i}")}))
            .collect();
        let value = json!({"_links": {"many": links}, "_embedded": {"items": items}});
        let (rows, left_out) = link_rows(&value, "http://t");
        assert_eq!((rows.len(), left_out), (LINK_ROWS_LIMIT, 7));
        let groups = embedded(&value, "http://t");
        assert_eq!(groups[0].items.len(), EMBEDDED_ITEMS_LIMIT);
        assert_eq!(
            (groups[0].count, groups[0].left_out),
            (EMBEDDED_ITEMS_LIMIT + 3, 3)
        );
    }

    #[test]
    fn numbers_get_thousands_separators() {
        assert_eq!(with_separators(0), "0");
        assert_eq!(with_separators(999), "999");
        assert_eq!(with_separators(3_145_728), "3,145,728");
    }
}
