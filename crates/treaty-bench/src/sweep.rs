//! The sweep: every GET operation of the OpenAPI description, timed on one
//! real URL each. The URLs are not made up from the templates: they are the
//! links the server's own answers give, followed from a few starting points,
//! so each route is timed on data the seeded history has.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::Serialize;
use serde_json::Value;

use crate::server::cpu_time;

/// At most this many answers are read looking for links (M reaches every
/// route it has data for in about 150).
const PAGES_TO_FOLLOW: usize = 1_500;

/// One GET operation timed on one URL, one client.
#[derive(Debug, Clone, Serialize)]
pub struct Swept {
    /// The path template of the OpenAPI description, for example
    /// `/pacticipants/{pacticipant}`.
    pub route: String,
    /// The URL it was timed on (relative to the server).
    pub url: String,
    pub samples: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    /// The server's CPU time per request, when its pid is known.
    pub cpu_ms_per_request: Option<f64>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Sweep {
    pub timed: Vec<Swept>,
    /// The GET operations no link led to (the data set has nothing there,
    /// for example no webhook), with what the sweep saw.
    pub not_reached: Vec<String>,
}

/// A path template split into segments; `None` is a parameter.
struct Template {
    text: String,
    segments: Vec<Option<String>>,
}

impl Template {
    fn parse(text: &str) -> Self {
        let segments = text
            .split('/')
            .filter(|_| text != "/")
            .skip(1)
            .map(|segment| {
                (!(segment.starts_with('{') && segment.ends_with('}'))).then(|| segment.to_owned())
            })
            .collect();
        Self {
            text: text.to_owned(),
            segments,
        }
    }

    /// How many literal segments match `path`, or `None` when it does not.
    fn literal_matches(&self, path: &[&str]) -> Option<usize> {
        if path.len() != self.segments.len() {
            return None;
        }
        let mut literals = 0;
        for (segment, wanted) in path.iter().zip(&self.segments) {
            match wanted {
                Some(literal) if literal == segment => literals += 1,
                Some(_) => return None,
                None if segment.is_empty() => return None,
                None => {}
            }
        }
        Some(literals)
    }
}

/// The template `path` belongs to: the matching one with the most literal
/// segments (`/latest/badge` before `/latest/{tag}`).
fn route_of<'a>(templates: &'a [Template], path: &str) -> Option<&'a Template> {
    let segments: Vec<&str> = if path == "/" {
        Vec::new()
    } else {
        path.split('/').skip(1).collect()
    };
    templates
        .iter()
        .filter_map(|t| t.literal_matches(&segments).map(|literals| (literals, t)))
        .max_by_key(|(literals, _)| *literals)
        .map(|(_, t)| t)
}

/// Every non-templated `href` in a HAL answer, anywhere in it.
fn links(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                match value {
                    Value::String(href) if key == "href" => found.push(href.clone()),
                    _ => links(value, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| links(item, found)),
        _ => {}
    }
}

impl Template {
    /// The template with each parameter given its value from `values`, when
    /// every one has a value.
    fn fill(&self, values: &BTreeMap<&str, String>) -> Option<String> {
        let mut path = String::new();
        for segment in self.text.split('/').skip(1).filter(|s| !s.is_empty()) {
            path.push('/');
            match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) => path.push_str(values.get(name)?),
                None => path.push_str(segment),
            }
        }
        Some(if path.is_empty() {
            "/".to_owned()
        } else {
            path
        })
    }
}

/// The least time each route is timed for, at most: the server's CPU time
/// is read from `/proc` in 10 ms ticks, so 300 ms of requests give it to 3 %.
const LEAST_TIME_PER_ROUTE: Duration = Duration::from_millis(300);

/// Follows links from `starts` (paths with their queries, relative to
/// `base`), then fills the templates no link led to from `values` (a value
/// for each parameter name), and times each GET operation of the
/// description on the first URL found for it that answers 2xx or 3xx.
pub async fn sweep(
    base: &str,
    server: Option<u32>,
    starts: Vec<String>,
    values: BTreeMap<&str, String>,
    iterations: usize,
    mut say: impl FnMut(&str),
) -> Result<Sweep> {
    // A redirect is the answer being timed (a badge may point elsewhere).
    let http = &reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let description: Value = http
        .get(format!("{base}/openapi.json"))
        .send()
        .await?
        .json()
        .await
        .context("GET /openapi.json is not JSON")?;
    let templates: Vec<Template> = description["paths"]
        .as_object()
        .context("the OpenAPI description has no paths")?
        .iter()
        .filter(|(_, operations)| operations.get("get").is_some())
        .map(|(path, _)| Template::parse(path))
        .collect();

    say("sweep: following links to find a URL for every GET route");
    let mut chosen: BTreeMap<String, String> = BTreeMap::new();
    let mut refused: BTreeMap<String, String> = BTreeMap::new();
    let mut queue: VecDeque<String> = starts.into();
    let mut seen: HashSet<String> = queue.iter().cloned().collect();
    let mut followed = 0;
    while let Some(url) = queue.pop_front() {
        if followed >= PAGES_TO_FOLLOW {
            break;
        }
        let path = url.split('?').next().unwrap_or(&url);
        let Some(template) = route_of(&templates, path) else {
            continue;
        };
        if chosen.contains_key(&template.text) {
            continue;
        }
        followed += 1;
        let response = http
            .get(format!("{base}{url}"))
            .header("accept", "application/hal+json, application/json")
            .send()
            .await?;
        let status = response.status();
        let body = response.bytes().await?;
        if !(status.is_success() || status.is_redirection()) {
            refused
                .entry(template.text.clone())
                .or_insert_with(|| format!("{url} answered {status}"));
            continue;
        }
        chosen.insert(template.text.clone(), url.clone());
        let Ok(answer) = serde_json::from_slice::<Value>(&body) else {
            continue;
        };
        let mut hrefs = Vec::new();
        links(&answer, &mut hrefs);
        for href in hrefs {
            let Some(relative) = href.strip_prefix(base) else {
                continue;
            };
            if relative.contains('{') || !relative.starts_with('/') {
                continue;
            }
            if seen.insert(relative.to_owned()) {
                queue.push_back(relative.to_owned());
            }
        }
    }

    for template in &templates {
        if chosen.contains_key(&template.text) {
            continue;
        }
        let Some(url) = template.fill(&values) else {
            continue;
        };
        let status = http
            .get(format!("{base}{url}"))
            .header("accept", "application/hal+json, application/json")
            .send()
            .await?
            .status();
        if status.is_success() || status.is_redirection() {
            chosen.insert(template.text.clone(), url);
        } else {
            refused
                .entry(template.text.clone())
                .or_insert_with(|| format!("{url} answered {status}"));
        }
    }

    let mut timed = Vec::new();
    for (route, url) in &chosen {
        say(&format!("sweep: timing {route}"));
        timed.push(time_one(http, base, server, route, url, iterations).await?);
    }
    timed.sort_by(|a, b| b.p50_ms.total_cmp(&a.p50_ms));
    let not_reached = templates
        .iter()
        .filter(|t| !chosen.contains_key(&t.text))
        .map(|t| match refused.get(&t.text) {
            Some(why) => format!("{} ({why})", t.text),
            None => format!("{} (no link led there)", t.text),
        })
        .collect();
    Ok(Sweep { timed, not_reached })
}

async fn time_one(
    http: &reqwest::Client,
    base: &str,
    server: Option<u32>,
    route: &str,
    url: &str,
    iterations: usize,
) -> Result<Swept> {
    let full = format!("{base}{url}");
    let get = || {
        http.get(&full)
            .header("accept", "application/hal+json, application/json")
            .send()
    };
    for _ in 0..(iterations / 10).max(2) {
        get().await?.bytes().await?;
    }
    let cpu_before = server.and_then(cpu_time);
    let mut timings: Vec<Duration> = Vec::with_capacity(iterations);
    // A short run (the test's) stays short.
    let least = LEAST_TIME_PER_ROUTE.min(Duration::from_millis(5) * iterations as u32);
    let began = Instant::now();
    while timings.len() < iterations || began.elapsed() < least {
        let started = Instant::now();
        get().await?.bytes().await?;
        timings.push(started.elapsed());
    }
    let cpu = match (cpu_before, server.and_then(cpu_time)) {
        (Some(before), Some(after)) => Some(after.saturating_sub(before)),
        _ => None,
    };
    timings.sort();
    let at =
        |p: f64| timings[((timings.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1e3;
    Ok(Swept {
        route: route.to_owned(),
        url: url.to_owned(),
        samples: timings.len(),
        p50_ms: at(0.5),
        p95_ms: at(0.95),
        cpu_ms_per_request: cpu.map(|c| c.as_secs_f64() * 1e3 / timings.len().max(1) as f64),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_belongs_to_the_template_with_the_most_literal_segments() {
        let templates: Vec<Template> = [
            "/",
            "/pacts/provider/{provider}/consumer/{consumer}/latest/{tag}",
            "/pacts/provider/{provider}/consumer/{consumer}/latest/badge",
            "/pacticipants/{pacticipant}",
        ]
        .map(Template::parse)
        .into();
        let route = |path| route_of(&templates, path).map(|t| t.text.as_str());
        assert_eq!(route("/"), Some("/"));
        assert_eq!(
            route("/pacts/provider/a/consumer/b/latest/badge"),
            Some("/pacts/provider/{provider}/consumer/{consumer}/latest/badge")
        );
        assert_eq!(
            route("/pacts/provider/a/consumer/b/latest/prod"),
            Some("/pacts/provider/{provider}/consumer/{consumer}/latest/{tag}")
        );
        assert_eq!(
            route("/pacticipants/a"),
            Some("/pacticipants/{pacticipant}")
        );
        assert_eq!(route("/pacticipants/"), None);
        assert_eq!(route("/nowhere/a"), None);
    }

    #[test]
    fn a_template_is_filled_only_when_every_parameter_has_a_value() {
        let values = BTreeMap::from([
            ("pacticipant", "a".to_owned()),
            ("branch", "main".to_owned()),
        ]);
        let fill = |text| Template::parse(text).fill(&values);
        assert_eq!(fill("/"), Some("/".to_owned()));
        assert_eq!(
            fill("/pacticipants/{pacticipant}/branches/{branch}"),
            Some("/pacticipants/a/branches/main".to_owned())
        );
        assert_eq!(fill("/pacticipants/{pacticipant}/labels/{label}"), None);
    }

    #[test]
    fn links_are_found_anywhere_in_an_answer() {
        let answer = serde_json::json!({
            "_links": {"self": {"href": "http://x/a"}, "pb:items": [{"href": "http://x/b"}]},
            "_embedded": {"things": [{"_links": {"self": {"href": "http://x/c"}}}]},
            "href": 3
        });
        let mut found = Vec::new();
        links(&answer, &mut found);
        found.sort();
        assert_eq!(found, ["http://x/a", "http://x/b", "http://x/c"]);
    }
}
