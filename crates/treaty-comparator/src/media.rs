//! Media types: content negotiation as PactFlow's comparator does it
//! (exact, then without parameters, then ignoring vendor prefixes such as
//! `application/vnd.api+json`, then wildcards on either side), and the
//! standard HTTP headers a document need not declare.

/// The first of `available` that `requested` (a Content-Type or an Accept
/// list, possibly with `q=` weights) accepts.
pub(crate) fn find_matching_type<'a>(requested: &str, available: &'a [String]) -> Option<&'a str> {
    let mut accept: Vec<String> = requested
        .split(',')
        .map(|part| strip_whitespace(part).to_ascii_lowercase())
        .collect();
    // Higher quality first; the sort is stable, as JavaScript's is.
    accept.sort_by(|a, b| {
        quality(b)
            .partial_cmp(&quality(a))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let accept: Vec<String> = accept.iter().map(|part| remove_quality(part)).collect();
    let lowered: Vec<String> = available
        .iter()
        .map(|part| strip_whitespace(part).to_ascii_lowercase())
        .collect();

    for wanted in &accept {
        if let Some(index) = lowered.iter().position(|offered| offered == wanted) {
            return Some(&available[index]);
        }
    }
    let accept: Vec<&str> = accept.iter().map(|part| without_parameters(part)).collect();
    let lowered: Vec<&str> = lowered
        .iter()
        .map(|part| without_parameters(part))
        .collect();
    for wanted in &accept {
        if let Some(index) = lowered.iter().position(|offered| offered == wanted) {
            return Some(&available[index]);
        }
    }
    for wanted in &accept {
        if let Some(index) = lowered.iter().position(|offered| {
            main_type(offered) == main_type(wanted) && subtype(offered) == subtype(wanted)
        }) {
            return Some(&available[index]);
        }
    }
    for wanted in &accept {
        if let Some(index) = lowered.iter().position(|offered| {
            subtype(offered) == Some("*") && main_type(offered) == main_type(wanted)
        }) {
            return Some(&available[index]);
        }
    }
    if let Some(index) = lowered.iter().position(|offered| *offered == "*/*") {
        return Some(&available[index]);
    }
    for wanted in &accept {
        if let Some(index) = lowered.iter().position(|offered| {
            subtype(wanted) == Some("*") && main_type(offered) == main_type(wanted)
        }) {
            return Some(&available[index]);
        }
    }
    if accept.contains(&"*/*") {
        return available.first().map(String::as_str);
    }
    None
}

fn strip_whitespace(text: &str) -> String {
    text.chars()
        .filter(|character| !character.is_whitespace())
        .collect()
}

/// The `q=` weight of one Accept entry (1 when absent).
fn quality(entry: &str) -> f64 {
    entry
        .find(";q=")
        .map(|at| &entry[at + 3..])
        .and_then(|rest| {
            let end = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(rest.len());
            rest[..end].parse::<f64>().ok()
        })
        .unwrap_or(1.0)
}

fn remove_quality(entry: &str) -> String {
    let Some(at) = entry.find(";q=") else {
        return entry.to_owned();
    };
    let rest = &entry[at + 3..];
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    format!("{}{}", &entry[..at], &rest[end..])
}

fn without_parameters(entry: &str) -> &str {
    entry.split(';').next().unwrap_or(entry)
}

fn main_type(entry: &str) -> &str {
    entry.split('/').next().unwrap_or(entry)
}

/// The subtype without a vendor prefix (`vnd.api+json` → `json`).
fn subtype(entry: &str) -> Option<&str> {
    let mut parts = entry.split('/');
    parts.next();
    parts
        .next()
        .map(|sub| sub.rsplit('+').next().unwrap_or(sub))
}

/// The part of a header value before its parameters (`application/json;
/// charset=utf-8` → `application/json`).
pub(crate) fn essence(value: &str) -> &str {
    value.split(';').next().unwrap_or(value)
}

/// Bodies of these types are validated against their schema; others are
/// reported as not validatable.
const VALIDATABLE: [&str; 3] = [
    "application/json",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
];

pub(crate) fn is_validatable(content_type: &str) -> bool {
    let validatable: Vec<String> = VALIDATABLE.iter().map(|text| (*text).to_owned()).collect();
    find_matching_type(content_type, &validatable).is_some()
}

/// Request headers a document need not declare.
pub(crate) const STANDARD_REQUEST_HEADERS: [&str; 33] = [
    "accept",
    "accept-charset",
    "accept-datetime",
    "accept-encoding",
    "accept-language",
    "authorization",
    "cache-control",
    "connection",
    "content-length",
    "content-md5",
    "content-type",
    "cookie",
    "date",
    "expect",
    "forwarded",
    "from",
    "host",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-range",
    "if-unmodified-since",
    "max-forwards",
    "origin",
    "pragma",
    "proxy-authorization",
    "range",
    "referer",
    "te",
    "upgrade",
    "user-agent",
    "via",
    "warning",
];

/// Response headers a document need not declare (a warning, not an error).
pub(crate) const STANDARD_RESPONSE_HEADERS: [&str; 40] = [
    "access-control-allow-origin",
    "accept-patch",
    "accept-ranges",
    "age",
    "allow",
    "alt-svc",
    "cache-control",
    "connection",
    "content-disposition",
    "content-encoding",
    "content-language",
    "content-length",
    "content-location",
    "content-md5",
    "content-range",
    "date",
    "etag",
    "expires",
    "last-modified",
    "link",
    "location",
    "p3p",
    "pragma",
    "proxy-authenticate",
    "public-key-pins",
    "refresh",
    "retry-after",
    "server",
    "set-cookie",
    "status",
    "strict-transport-security",
    "trailer",
    "transfer-encoding",
    "tsv",
    "upgrade",
    "vary",
    "via",
    "warning",
    "www-authenticate",
    "x-frame-options",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn types(list: &[&str]) -> Vec<String> {
        list.iter().map(|text| (*text).to_owned()).collect()
    }

    #[test]
    fn negotiation_follows_pactflow_order() {
        let offered = types(&["application/xml", "application/json"]);
        assert_eq!(
            find_matching_type("application/json", &offered),
            Some("application/json")
        );
        assert_eq!(
            find_matching_type("application/json;charset=utf-8", &offered),
            Some("application/json")
        );
        assert_eq!(
            find_matching_type("application/vnd.api+json", &offered),
            Some("application/json")
        );
        assert_eq!(
            find_matching_type("text/html;q=0.1, application/xml", &offered),
            Some("application/xml")
        );
        assert_eq!(find_matching_type("*/*", &offered), Some("application/xml"));
        assert_eq!(find_matching_type("text/plain", &offered), None);
        assert_eq!(
            find_matching_type("text/plain", &types(&["text/*"])),
            Some("text/*")
        );
    }
}
