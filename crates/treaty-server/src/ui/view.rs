//! What every page shares: its links, and how times, statuses and JSON are shown.

use chrono::{DateTime, Utc};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::base_url::BaseUrl;

/// Characters kept as they are in a path segment; everything else is encoded,
/// `/` included, so a name with a slash stays one segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

pub(super) fn segment(value: &str) -> String {
    utf8_percent_encode(value, SEGMENT).to_string()
}

/// Absolute links to the UI's pages, under the public base URL.
#[derive(Debug, Clone)]
pub struct Links {
    base: String,
}

impl Links {
    pub fn new(base: &BaseUrl) -> Self {
        Self {
            base: base.0.clone(),
        }
    }

    pub fn home(&self) -> String {
        format!("{}/", self.base)
    }

    pub fn stylesheet(&self) -> String {
        format!("{}/ui/assets/treaty.css", self.base)
    }

    pub fn application(&self, name: &str) -> String {
        format!("{}/ui/applications/{}", self.base, segment(name))
    }

    pub fn version(&self, application: &str, version: &str) -> String {
        format!(
            "{}/ui/applications/{}/versions/{}",
            self.base,
            segment(application),
            segment(version)
        )
    }

    /// A provider version's contract (bi-directional contracts).
    pub fn provider_contract(&self, provider: &str, version: &str) -> String {
        format!(
            "{}/ui/applications/{}/provider-contracts/{}",
            self.base,
            segment(provider),
            segment(version)
        )
    }

    /// A consumer version's pact compared with a provider version's contract.
    pub fn comparison(
        &self,
        provider: &str,
        provider_version: &str,
        consumer: &str,
        consumer_version: &str,
    ) -> String {
        format!(
            "{}/comparisons/{}/{}",
            self.provider_contract(provider, provider_version),
            segment(consumer),
            segment(consumer_version)
        )
    }

    pub fn environment(&self, name: &str) -> String {
        format!("{}/ui/environments/{}", self.base, segment(name))
    }

    pub fn network(&self) -> String {
        format!("{}/ui/network", self.base)
    }

    /// A contract between a pair; at a consumer version when one is given.
    pub fn contract(&self, provider: &str, consumer: &str, version: Option<&str>) -> String {
        let page = format!(
            "{}/ui/contracts/{}/{}",
            self.base,
            segment(provider),
            segment(consumer)
        );
        match version {
            Some(v) => format!("{page}?version={}", segment(v)),
            None => page,
        }
    }

    pub fn deployments(&self) -> String {
        format!("{}/ui/deployments", self.base)
    }

    pub fn deployments_where(&self, key: &str, value: &str) -> String {
        format!("{}/ui/deployments?{key}={}", self.base, segment(value))
    }

    pub fn deployment(&self, id: i64) -> String {
        format!("{}/ui/deployments/{id}", self.base)
    }

    pub fn sign_in(&self) -> String {
        format!("{}/ui/sign-in", self.base)
    }

    pub fn sign_out(&self) -> String {
        format!("{}/ui/sign-out", self.base)
    }

    pub fn environments(&self) -> String {
        format!("{}/ui/environments", self.base)
    }

    /// A form's action on an environment (`freeze`, `lift-freeze`, `delete`; `""` to edit).
    pub fn environment_action(&self, name: &str, action: &str) -> String {
        let page = self.environment(name);
        if action.is_empty() {
            page
        } else {
            format!("{page}/{action}")
        }
    }

    pub fn tokens(&self) -> String {
        format!("{}/ui/tokens", self.base)
    }

    pub fn token_revoke(&self, name: &str) -> String {
        format!("{}/ui/tokens/{}/revoke", self.base, segment(name))
    }

    pub fn webhooks(&self) -> String {
        format!("{}/ui/webhooks", self.base)
    }

    pub fn webhook(&self, uuid: &str) -> String {
        format!("{}/ui/webhooks/{}", self.base, segment(uuid))
    }

    /// The same answer from the API, for scripts.
    pub fn api(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.base)
    }

    pub fn integrations(&self) -> String {
        format!("{}/ui/integrations", self.base)
    }

    /// The matrix page of one integration.
    pub fn integration(&self, provider: &str, consumer: &str) -> String {
        format!(
            "{}/ui/integrations/{}/{}",
            self.base,
            segment(provider),
            segment(consumer)
        )
    }
}

/// The header every page carries; `current` names the section shown.
#[derive(Debug, Clone)]
pub struct Nav {
    pub links: Links,
    pub current: &'static str,
    pub viewer: super::forms::Viewer,
}

impl Nav {
    pub fn new(base: &BaseUrl, viewer: &super::forms::Viewer, current: &'static str) -> Self {
        Self {
            links: Links::new(base),
            current,
            viewer: viewer.clone(),
        }
    }

    /// The CSRF token every form of the page carries.
    pub fn csrf(&self) -> &str {
        &self.viewer.csrf
    }

    /// `aria-current` for the section's link.
    pub fn is(&self, section: &str) -> bool {
        self.current == section
    }
}

/// A moment, shown in UTC to the minute; the exact value goes in `datetime`.
#[derive(Debug, Clone)]
pub struct When {
    pub iso: String,
    pub text: String,
}

impl When {
    pub fn new(at: DateTime<Utc>) -> Self {
        Self {
            iso: treaty_domain::time::format(at),
            text: at.format("%Y-%m-%d %H:%M UTC").to_string(),
        }
    }

    pub fn maybe(at: Option<DateTime<Utc>>) -> Option<Self> {
        at.map(Self::new)
    }
}

/// A verdict or result, as a CSS class and words: colour is never the only sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Good,
    Bad,
    Unknown,
}

impl Verdict {
    pub fn from_option(value: Option<bool>) -> Self {
        match value {
            Some(true) => Self::Good,
            Some(false) => Self::Bad,
            None => Self::Unknown,
        }
    }

    pub fn class(self) -> &'static str {
        match self {
            Self::Good => "good",
            Self::Bad => "bad",
            Self::Unknown => "unknown",
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Self::Good => "✓",
            Self::Bad => "✗",
            Self::Unknown => "?",
        }
    }
}

/// A deployment status as a verdict, for its colour.
pub fn status_verdict(status: &str) -> Verdict {
    match status {
        "completed" => Verdict::Good,
        "failed" | "aborted" | "timed_out" => Verdict::Bad,
        _ => Verdict::Unknown,
    }
}

/// A link given by a client (a build, a repository, an incident), when it
/// is safe to make one: only http(s), so a `javascript:` URL stays text.
pub fn outside_link(url: &str) -> Option<String> {
    let lower = url.trim().to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://")).then(|| url.trim().to_owned())
}

/// JSON laid out for reading.
pub fn pretty(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

/// A duration in seconds, in the largest unit that keeps it readable.
pub fn duration(seconds: f64) -> String {
    let seconds = seconds.max(0.0);
    if seconds < 120.0 {
        format!("{seconds:.0} s")
    } else if seconds < 7_200.0 {
        format!("{:.0} min", seconds / 60.0)
    } else if seconds < 172_800.0 {
        format!("{:.1} h", seconds / 3_600.0)
    } else {
        format!("{:.1} days", seconds / 86_400.0)
    }
}

/// Where an environment (by name) stands in the pipeline order an admin set,
/// for sorting what is listed by environment; unknown names go last.
pub async fn pipeline_order(
    state: &crate::AppState,
) -> Result<impl Fn(&str) -> usize + use<>, crate::error::ApiError> {
    let names: Vec<String> = state
        .store
        .pipeline_environments()
        .await?
        .into_iter()
        .map(|e| e.name)
        .collect();
    Ok(move |name: &str| names.iter().position(|n| n == name).unwrap_or(usize::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_with_a_slash_stays_one_path_segment() {
        let links = Links::new(&BaseUrl("http://t".to_owned()));
        assert_eq!(
            links.version("team/app", "1.0 beta"),
            "http://t/ui/applications/team%2Fapp/versions/1.0%20beta"
        );
    }

    #[test]
    fn only_http_links_become_links() {
        assert_eq!(
            outside_link("https://ci/1").as_deref(),
            Some("https://ci/1")
        );
        assert_eq!(outside_link(" JavaScript:alert(1)"), None);
        assert_eq!(outside_link("data:text/html,x"), None);
    }

    #[test]
    fn durations_use_the_largest_readable_unit() {
        assert_eq!(duration(42.0), "42 s");
        assert_eq!(duration(600.0), "10 min");
        assert_eq!(duration(9_000.0), "2.5 h");
        assert_eq!(duration(259_200.0), "3.0 days");
    }
}
