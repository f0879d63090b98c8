//! Data retention (`treaty clean`): which versions to keep, in the Pact
//! Broker's keep selectors, and the counts of what a clean removed.
//!
//! A keep selector is a conjunction: every attribute it has narrows the
//! versions it names (`{"branch": "main", "maxAge": 30}` is the versions on
//! `main` created in the last 30 days), and `latest` then keeps only the
//! newest of those: per pacticipant, per tag with `"tag": true`, or the head
//! of the branch with `branch`/`mainBranch`. A version is kept when any
//! selector names it. This is `PactBroker::Domain::Version.for_selector` of
//! the Pact Broker (`lib/pact_broker/domain/version.rb`), with its spelling:
//! camelCase or snake_case keys, `pacticipant` and `environment` for the
//! names.
//!
//! Where the Pact Broker quietly ignores a key it does not know, Treaty
//! refuses it: a misspelt selector would otherwise keep less than meant,
//! and what a clean deletes does not come back.

use std::fmt;

use chrono::{DateTime, Days, NaiveTime, Utc};
use serde_json::{Map, Value, json};

use crate::{BranchName, EnvironmentName, PacticipantName, TagName};

/// The longest `maxAge` accepted, in days (a hundred years).
pub const MAX_AGE_LIMIT_DAYS: u32 = 36_500;

/// `tag` or `branch` of a selector: `true` (any), or one by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnyOr<T> {
    Any,
    Named(T),
}

/// One keep selector. Build it with [`KeepSelector::parse`] (or
/// [`parse_keep_selectors`]); it always selects something narrower than
/// "every version".
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeepSelector {
    pub pacticipant: Option<PacticipantName>,
    pub tag: Option<AnyOr<TagName>>,
    pub branch: Option<AnyOr<BranchName>>,
    pub main_branch: bool,
    /// Currently deployed to, or released and supported in, this environment.
    pub environment: Option<EnvironmentName>,
    /// Currently deployed to some environment.
    pub deployed: bool,
    /// Released to some environment and still supported.
    pub released: bool,
    /// Created at most this many days ago (counted from the start of the day, UTC).
    pub max_age_days: Option<u32>,
    pub latest: bool,
}

/// What `latest` means for a selector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Latest {
    /// Every version the other attributes name.
    No,
    /// The head of the branch(es) named by `branch` or `mainBranch`.
    BranchHead,
    /// The newest version of each pacticipant among those named.
    PerPacticipant,
    /// With `"tag": true`: the newest version of each pacticipant for each tag.
    PerTag,
}

/// The keys a selector may have, in the Pact Broker's camelCase.
const KEYS: &[&str] = &[
    "pacticipant",
    "tag",
    "branch",
    "mainBranch",
    "environment",
    "deployed",
    "released",
    "maxAge",
    "latest",
];

/// `maxAge`, `max_age` and `MaxAge` are one key; so are `pacticipant`,
/// `pacticipantName` and `pacticipant_name` (and `environment`'s likewise).
fn canonical_key(raw: &str) -> Option<&'static str> {
    let folded: String = raw
        .chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect();
    Some(match folded.as_str() {
        "pacticipant" | "pacticipantname" => "pacticipant",
        "tag" => "tag",
        "branch" => "branch",
        "mainbranch" => "mainBranch",
        "environment" | "environmentname" => "environment",
        "deployed" => "deployed",
        "released" => "released",
        "maxage" => "maxAge",
        "latest" => "latest",
        _ => return None,
    })
}

fn flag(key: &str, value: &Value) -> Result<bool, String> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::Null => Ok(false),
        other => Err(format!("{key} must be true or false, not {other}")),
    }
}

fn name<T>(
    key: &str,
    value: &Value,
    parse: impl Fn(String) -> Result<T, crate::NameError>,
) -> Result<Option<T>, String> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => parse(s.clone())
            .map(Some)
            .map_err(|e| format!("{key} {e} (got {value})")),
        other => Err(format!("{key} must be a name, not {other}")),
    }
}

fn any_or<T>(
    key: &str,
    value: &Value,
    parse: impl Fn(String) -> Result<T, crate::NameError>,
) -> Result<Option<AnyOr<T>>, String> {
    match value {
        Value::Bool(true) => Ok(Some(AnyOr::Any)),
        Value::Bool(false) | Value::Null => Ok(None),
        Value::String(_) => Ok(name(key, value, parse)?.map(AnyOr::Named)),
        other => Err(format!("{key} must be true or a name, not {other}")),
    }
}

fn max_age(value: &Value) -> Result<Option<u32>, String> {
    match value {
        Value::Null => Ok(None),
        Value::Number(n) => match n.as_u64() {
            Some(days) if days <= u64::from(MAX_AGE_LIMIT_DAYS) => {
                Ok(Some(u32::try_from(days).unwrap_or(MAX_AGE_LIMIT_DAYS)))
            }
            Some(_) => Err(format!(
                "maxAge is at most {MAX_AGE_LIMIT_DAYS} days, not {n}"
            )),
            None => Err(format!(
                "maxAge must be a whole number of days (0 or more), not {n}"
            )),
        },
        other => Err(format!(
            "maxAge must be a whole number of days, not {other}"
        )),
    }
}

impl KeepSelector {
    /// Parses one selector (a JSON object).
    pub fn parse(value: &Value) -> Result<Self, String> {
        let Some(object) = value.as_object() else {
            return Err(format!(
                "a keep selector must be a JSON object such as {{\"latest\": true, \"branch\": true}}, not {value}"
            ));
        };
        let mut selector = Self::default();
        let mut seen: Vec<&'static str> = Vec::new();
        for (raw_key, value) in object {
            let Some(key) = canonical_key(raw_key) else {
                return Err(format!(
                    "unknown key \"{raw_key}\" (a keep selector has {})",
                    KEYS.join(", ")
                ));
            };
            if seen.contains(&key) {
                return Err(format!("{key} is given twice (as \"{raw_key}\" too)"));
            }
            seen.push(key);
            // Keep selectors name what is stored, which may predate the
            // rules for new names: they are looked up, not written.
            match key {
                "pacticipant" => {
                    selector.pacticipant = name(key, value, PacticipantName::parse_lookup)?;
                }
                "tag" => selector.tag = any_or(key, value, TagName::parse_lookup)?,
                "branch" => selector.branch = any_or(key, value, BranchName::parse_lookup)?,
                "mainBranch" => selector.main_branch = flag(key, value)?,
                "environment" => {
                    selector.environment = name(key, value, EnvironmentName::parse_lookup)?;
                }
                "deployed" => selector.deployed = flag(key, value)?,
                "released" => selector.released = flag(key, value)?,
                "maxAge" => selector.max_age_days = max_age(value)?,
                _ => selector.latest = flag(key, value)?,
            }
        }
        if selector == Self::default() {
            return Err(format!(
                "{value} selects every version: say which to keep, for example {{\"latest\": true, \"branch\": true}} or {{\"maxAge\": 90}}"
            ));
        }
        Ok(selector)
    }

    /// The Pact Broker's default (`CleanIncremental::DEFAULT_KEEP_SELECTORS`):
    /// the latest version of every tag, of every branch and of every
    /// pacticipant, whatever is deployed or released, and everything from
    /// the last 90 days.
    pub fn defaults() -> Vec<Self> {
        vec![
            Self {
                tag: Some(AnyOr::Any),
                latest: true,
                ..Self::default()
            },
            Self {
                branch: Some(AnyOr::Any),
                latest: true,
                ..Self::default()
            },
            Self {
                latest: true,
                ..Self::default()
            },
            Self {
                deployed: true,
                ..Self::default()
            },
            Self {
                released: true,
                ..Self::default()
            },
            Self {
                max_age_days: Some(90),
                ..Self::default()
            },
        ]
    }

    /// What `latest` means here: with `branch` or `mainBranch` it is the
    /// branch head; with `"tag": true`, the newest per tag.
    pub fn latest(&self) -> Latest {
        if !self.latest {
            Latest::No
        } else if self.branch.is_some() || self.main_branch {
            Latest::BranchHead
        } else if self.tag == Some(AnyOr::Any) {
            Latest::PerTag
        } else {
            Latest::PerPacticipant
        }
    }

    /// The oldest creation time `maxAge` keeps, counted back from the start
    /// of `now`'s day (UTC), as the Pact Broker does (`Date.today - days`).
    pub fn created_since(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let days = self.max_age_days?;
        let day = now
            .date_naive()
            .checked_sub_days(Days::new(u64::from(days)))
            .unwrap_or(chrono::NaiveDate::MIN);
        Some(day.and_time(NaiveTime::MIN).and_utc())
    }

    /// The selector as JSON, in the Pact Broker's camelCase.
    pub fn to_json(&self) -> Value {
        let mut object = Map::new();
        if let Some(p) = &self.pacticipant {
            object.insert("pacticipant".into(), json!(p.as_str()));
        }
        match &self.branch {
            Some(AnyOr::Any) => {
                object.insert("branch".into(), json!(true));
            }
            Some(AnyOr::Named(b)) => {
                object.insert("branch".into(), json!(b.as_str()));
            }
            None => {}
        }
        if self.main_branch {
            object.insert("mainBranch".into(), json!(true));
        }
        match &self.tag {
            Some(AnyOr::Any) => {
                object.insert("tag".into(), json!(true));
            }
            Some(AnyOr::Named(t)) => {
                object.insert("tag".into(), json!(t.as_str()));
            }
            None => {}
        }
        if let Some(e) = &self.environment {
            object.insert("environment".into(), json!(e.as_str()));
        }
        if self.deployed {
            object.insert("deployed".into(), json!(true));
        }
        if self.released {
            object.insert("released".into(), json!(true));
        }
        if let Some(days) = self.max_age_days {
            object.insert("maxAge".into(), json!(days));
        }
        if self.latest {
            object.insert("latest".into(), json!(true));
        }
        Value::Object(object)
    }
}

impl fmt::Display for KeepSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_json())
    }
}

/// Parses keep selectors as given on a command line: each text is one JSON
/// selector or a JSON array of them. Errors name the selector they are about.
pub fn parse_keep_selectors<S: AsRef<str>>(texts: &[S]) -> Result<Vec<KeepSelector>, Vec<String>> {
    let mut selectors = Vec::new();
    let mut errors = Vec::new();
    for text in texts {
        let text = text.as_ref();
        let value: Value = match serde_json::from_str(text) {
            Ok(value) => value,
            Err(e) => {
                errors.push(format!("keep selector {text} is not JSON: {e}"));
                continue;
            }
        };
        let items = match value {
            Value::Array(items) if items.is_empty() => {
                errors.push(format!(
                    "keep selector list {text} is empty: it would keep nothing but deployment history"
                ));
                continue;
            }
            Value::Array(items) => items,
            single => vec![single],
        };
        for item in &items {
            match KeepSelector::parse(item) {
                Ok(selector) => selectors.push(selector),
                Err(e) => errors.push(format!("keep selector {item}: {e}")),
            }
        }
    }
    if errors.is_empty() {
        Ok(selectors)
    } else {
        Err(errors)
    }
}

/// What a clean removed (or, in a dry run, would remove).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CleanCounts {
    pub versions: u64,
    pub pact_publications: u64,
    pub verifications: u64,
    /// Pact contents left with no publication and no verification.
    pub pact_contents: u64,
}

impl std::ops::AddAssign for CleanCounts {
    fn add_assign(&mut self, other: Self) {
        self.versions += other.versions;
        self.pact_publications += other.pact_publications;
        self.verifications += other.verifications;
        self.pact_contents += other.pact_contents;
    }
}

/// A version a clean removed, with what went with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanedVersion {
    pub pacticipant: String,
    pub number: String,
    pub created_at: DateTime<Utc>,
    /// The pacts it published as a consumer.
    pub pact_publications: u64,
    /// The verification results it published as a provider.
    pub verifications: u64,
}

/// One batch of a clean.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanReport {
    /// Oldest first.
    pub removed: Vec<CleanedVersion>,
    pub counts: CleanCounts,
    /// Where the next batch starts (after this version id); `None` when
    /// every version has been looked at.
    pub next_after: Option<i64>,
    /// The time `maxAge` was counted back from.
    pub as_of: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn one(value: Value) -> Result<KeepSelector, String> {
        KeepSelector::parse(&value)
    }

    #[test]
    fn parses_the_pact_brokers_selectors() {
        let branch_heads = one(json!({"latest": true, "branch": true})).unwrap();
        assert_eq!(branch_heads.branch, Some(AnyOr::Any));
        assert_eq!(branch_heads.latest(), Latest::BranchHead);

        let main = one(json!({"branch": "main", "latest": true})).unwrap();
        assert_eq!(
            main.branch,
            Some(AnyOr::Named(BranchName::parse("main").unwrap()))
        );
        assert_eq!(main.latest(), Latest::BranchHead);

        let main_branch = one(json!({"mainBranch": true})).unwrap();
        assert!(main_branch.main_branch);
        assert_eq!(main_branch.latest(), Latest::No);
        assert_eq!(
            one(json!({"mainBranch": true, "latest": true}))
                .unwrap()
                .latest(),
            Latest::BranchHead
        );

        assert_eq!(
            one(json!({"tag": true, "latest": true})).unwrap().latest(),
            Latest::PerTag
        );
        let prod = one(json!({"tag": "prod"})).unwrap();
        assert_eq!(
            prod.tag,
            Some(AnyOr::Named(TagName::parse("prod").unwrap()))
        );
        assert_eq!(prod.latest(), Latest::No);
        assert_eq!(
            one(json!({"tag": "prod", "latest": true}))
                .unwrap()
                .latest(),
            Latest::PerPacticipant
        );
        assert_eq!(
            one(json!({"latest": true})).unwrap().latest(),
            Latest::PerPacticipant
        );
        assert!(one(json!({"deployed": true})).unwrap().deployed);
        assert!(one(json!({"released": true})).unwrap().released);
        assert_eq!(
            one(json!({"environment": "production"}))
                .unwrap()
                .environment
                .unwrap()
                .as_str(),
            "production"
        );
    }

    #[test]
    fn accepts_camel_and_snake_case_and_the_long_names() {
        for key in ["maxAge", "max_age", "MaxAge"] {
            assert_eq!(
                one(json!({key: 90})).unwrap().max_age_days,
                Some(90),
                "{key}"
            );
        }
        for key in ["mainBranch", "main_branch"] {
            assert!(one(json!({key: true})).unwrap().main_branch, "{key}");
        }
        for key in ["pacticipant", "pacticipantName", "pacticipant_name"] {
            let selector = one(json!({key: "Foo", "latest": true})).unwrap();
            assert_eq!(selector.pacticipant.unwrap().as_str(), "Foo", "{key}");
        }
        for key in ["environment", "environmentName", "environment_name"] {
            let selector = one(json!({key: "production"})).unwrap();
            assert_eq!(selector.environment.unwrap().as_str(), "production");
        }
    }

    #[test]
    fn false_and_null_mean_absent() {
        let selector = one(json!({"latest": true, "tag": false, "branch": null})).unwrap();
        assert_eq!(selector.tag, None);
        assert_eq!(selector.branch, None);
        assert_eq!(selector.latest(), Latest::PerPacticipant);
    }

    #[test]
    fn refuses_what_would_keep_less_than_meant() {
        let cases = [
            (json!({"lastest": true}), "unknown key \"lastest\""),
            (json!({}), "selects every version"),
            (json!({"latest": false}), "selects every version"),
            (json!({"maxAge": "90"}), "maxAge must be a whole number"),
            (json!({"maxAge": -1}), "maxAge must be a whole number"),
            (json!({"maxAge": 1.5}), "maxAge must be a whole number"),
            (json!({"maxAge": 36501}), "at most 36500"),
            (json!({"latest": "yes"}), "latest must be true or false"),
            (json!({"tag": 3}), "tag must be true or a name"),
            (json!({"branch": ""}), "branch cannot be blank"),
            (
                json!({"pacticipant": true, "latest": true}),
                "pacticipant must be a name",
            ),
            (
                json!({"environment": "pro duction"}),
                "environment cannot contain spaces",
            ),
            (json!({"maxAge": 1, "max_age": 2}), "maxAge is given twice"),
            (json!(["latest"]), "must be a JSON object"),
            (json!("latest"), "must be a JSON object"),
        ];
        for (value, expected) in cases {
            let error = one(value.clone()).unwrap_err();
            assert!(error.contains(expected), "{value}: {error}");
        }
    }

    #[test]
    fn parses_single_selectors_and_arrays_from_the_command_line() {
        let parsed = parse_keep_selectors(&[
            r#"{"latest": true, "branch": true}"#,
            r#"[{"maxAge": 30}, {"deployed": true}]"#,
        ])
        .unwrap();
        assert_eq!(parsed.len(), 3);
        assert_eq!(parsed[1].max_age_days, Some(30));

        let errors =
            parse_keep_selectors(&["{latest: true}", "[]", r#"[{"maxAge": 1}, {"tags": "x"}]"#])
                .unwrap_err();
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors[0].contains("is not JSON"), "{errors:?}");
        assert!(errors[1].contains("is empty"), "{errors:?}");
        assert!(
            errors[2].starts_with(r#"keep selector {"tags":"x"}: unknown key "tags""#),
            "{errors:?}"
        );
    }

    #[test]
    fn the_defaults_are_the_pact_brokers() {
        let defaults: Vec<Value> = KeepSelector::defaults()
            .iter()
            .map(KeepSelector::to_json)
            .collect();
        assert_eq!(
            defaults,
            vec![
                json!({"tag": true, "latest": true}),
                json!({"branch": true, "latest": true}),
                json!({"latest": true}),
                json!({"deployed": true}),
                json!({"released": true}),
                json!({"maxAge": 90}),
            ]
        );
    }

    #[test]
    fn json_round_trips() {
        for value in [
            json!({"pacticipant": "Foo", "branch": "main", "latest": true, "maxAge": 30}),
            json!({"mainBranch": true, "tag": "prod", "environment": "production", "deployed": true, "released": true}),
        ] {
            let selector = one(value.clone()).unwrap();
            assert_eq!(selector.to_json(), value);
            assert_eq!(one(selector.to_json()).unwrap(), selector);
        }
    }

    #[test]
    fn max_age_counts_whole_days_back_from_the_start_of_today() {
        let now = Utc.with_ymd_and_hms(2026, 3, 10, 17, 45, 3).unwrap();
        let selector = one(json!({"maxAge": 90})).unwrap();
        assert_eq!(
            selector.created_since(now),
            Some(Utc.with_ymd_and_hms(2025, 12, 10, 0, 0, 0).unwrap())
        );
        assert_eq!(
            one(json!({"maxAge": 0})).unwrap().created_since(now),
            Some(Utc.with_ymd_and_hms(2026, 3, 10, 0, 0, 0).unwrap())
        );
        assert_eq!(
            one(json!({"latest": true})).unwrap().created_since(now),
            None
        );
    }

    #[test]
    fn counts_add_up() {
        let mut total = CleanCounts::default();
        total += CleanCounts {
            versions: 2,
            pact_publications: 3,
            verifications: 4,
            pact_contents: 1,
        };
        total += CleanCounts {
            versions: 1,
            pact_publications: 0,
            verifications: 2,
            pact_contents: 0,
        };
        assert_eq!(
            total,
            CleanCounts {
                versions: 3,
                pact_publications: 3,
                verifications: 6,
                pact_contents: 1,
            }
        );
    }
}
