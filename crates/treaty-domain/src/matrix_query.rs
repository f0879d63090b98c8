//! Matrix and can-i-deploy queries: the Rack-style nested query strings the
//! Pact Broker takes (`q[][pacticipant]=Foo&q[][version]=1&latestby=cvpv`),
//! parsed exactly as Rack parses them, then checked into typed queries.

/// A value of a Rack-parsed query: a string, a list, or a map in key order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RackValue {
    Str(String),
    List(Vec<RackValue>),
    Map(Vec<(String, RackValue)>),
}

impl RackValue {
    fn get(&self, key: &str) -> Option<&RackValue> {
        match self {
            Self::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn get_mut(&mut self, key: &str) -> Option<&mut RackValue> {
        match self {
            Self::Map(entries) => entries.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn set(&mut self, key: &str, value: RackValue) {
        if let Self::Map(entries) = self {
            match entries.iter_mut().find(|(k, _)| k == key) {
                Some(entry) => entry.1 = value,
                None => entries.push((key.to_owned(), value)),
            }
        }
    }

    fn as_str(&self) -> Option<&str> {
        match self {
            Self::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// The most parameters and the deepest nesting a query may have.
const MAX_PARAMETERS: usize = 1000;
const MAX_DEPTH: usize = 32;

/// Parses a query string as Rack's `parse_nested_query` does. In particular a
/// repeated key inside `q[][...]` starts a new element of `q`, so each
/// selector's keys must arrive together.
pub fn parse_nested_query(query: &str) -> Result<RackValue, String> {
    let mut params = RackValue::Map(Vec::new());
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    if pairs.len() > MAX_PARAMETERS {
        return Err(format!(
            "A query may have at most {MAX_PARAMETERS} parameters."
        ));
    }
    for (name, value) in pairs {
        normalize(&mut params, &name, RackValue::Str(value), 0)?;
    }
    Ok(params)
}

fn type_error(key: &str) -> String {
    format!(
        "The query parameter '{key}' is used both as a single value and as a list or map: use one form."
    )
}

fn normalize(
    params: &mut RackValue,
    name: &str,
    value: RackValue,
    depth: usize,
) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err("The query nests brackets too deeply.".to_owned());
    }
    // The key is the first run of characters that are not brackets, after any leading brackets.
    let trimmed = name.trim_start_matches(['[', ']']);
    let key_len = trimmed.find(['[', ']']).unwrap_or(trimmed.len());
    let key = &trimmed[..key_len];
    if key.is_empty() {
        return Ok(());
    }
    // Closing brackets right after the key belong to it (`b]` in `a[b][c]`).
    let after = trimmed[key_len..].trim_start_matches(']');
    if after.is_empty() {
        params.set(key, value);
    } else if after == "[" {
        params.set(name, value);
    } else if after == "[]" {
        let list = ensure_list(params, key)?;
        list.push(value);
    } else if let Some(child) = child_of_list_element(after) {
        let list = ensure_list(params, key)?;
        let child_key = child
            .split(['[', ']'])
            .find(|s| !s.is_empty())
            .unwrap_or(child);
        let starts_new = match list.last() {
            Some(last @ RackValue::Map(_)) => last.get(child_key).is_some(),
            _ => true,
        };
        if starts_new {
            let mut element = RackValue::Map(Vec::new());
            normalize(&mut element, child, value, depth + 1)?;
            list.push(element);
        } else if let Some(last) = list.last_mut() {
            normalize(last, child, value, depth + 1)?;
        }
    } else {
        if params.get(key).is_none() {
            params.set(key, RackValue::Map(Vec::new()));
        }
        match params.get_mut(key) {
            Some(nested @ RackValue::Map(_)) => normalize(nested, after, value, depth + 1)?,
            _ => return Err(type_error(key)),
        }
    }
    Ok(())
}

/// `[][child]` or `[]child` after a key: the child of the list's last element.
fn child_of_list_element(after: &str) -> Option<&str> {
    let inner = after.strip_prefix("[]")?;
    if inner.is_empty() {
        return None;
    }
    if let Some(bracketed) = inner.strip_prefix('[').and_then(|s| s.strip_suffix(']'))
        && !bracketed.contains(['[', ']'])
    {
        return Some(bracketed);
    }
    Some(inner)
}

fn ensure_list<'a>(params: &'a mut RackValue, key: &str) -> Result<&'a mut Vec<RackValue>, String> {
    if params.get(key).is_none() {
        params.set(key, RackValue::List(Vec::new()));
    }
    match params.get_mut(key) {
        Some(RackValue::List(items)) => Ok(items),
        _ => Err(type_error(key)),
    }
}

/// Which row `latestby` keeps per group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LatestBy {
    /// Per consumer version and provider version.
    Cvpv,
    /// Per consumer version and provider: the newest provider version.
    Cvp,
    /// Per consumer and provider.
    Cp,
}

/// What the other side of each integration is checked against: the Pact
/// Broker's `latest`, `tag`, `environment` and `mainBranch` options. Given
/// any of them, the pacticipants integrated with the selected versions are
/// found, and each is selected the way these say (`tag` alone: every version
/// with the tag; with `latest`: the newest of them).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scope {
    pub latest: bool,
    pub tag: Option<String>,
    pub environment: Option<String>,
    pub main_branch: bool,
}

impl Scope {
    /// The selector the scope makes for an integrated pacticipant.
    pub fn selector_for(&self, pacticipant: &str) -> VersionSelector {
        VersionSelector {
            pacticipant: pacticipant.to_owned(),
            version: None,
            latest: self.latest,
            tag: self.tag.clone(),
            branch: None,
            environment: self.environment.clone(),
            main_branch: self.main_branch,
        }
    }

    /// Whether the scope names where the version is going (an environment, a
    /// tag or the main branch), without which the Pact Broker warns.
    pub fn names_a_destination(&self) -> bool {
        self.tag.is_some() || self.environment.is_some() || self.main_branch
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VersionSelector {
    pub pacticipant: String,
    pub version: Option<String>,
    pub latest: bool,
    pub tag: Option<String>,
    pub branch: Option<String>,
    pub environment: Option<String>,
    pub main_branch: bool,
}

impl VersionSelector {
    /// Names only the pacticipant: every one of its versions.
    pub fn only_pacticipant_name(&self) -> bool {
        self.version.is_none()
            && !self.latest
            && self.tag.is_none()
            && self.branch.is_none()
            && self.environment.is_none()
            && !self.main_branch
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoreSelector {
    pub pacticipant: String,
    pub version: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatrixQuery {
    pub selectors: Vec<VersionSelector>,
    pub latest_by: Option<LatestBy>,
    pub scope: Option<Scope>,
    pub ignore: Vec<IgnoreSelector>,
    /// `success[]`: keep rows whose success is one of these (`None` = unverified).
    pub success: Option<Vec<Option<bool>>>,
    pub limit: u32,
}

/// `/matrix` keeps this many rows unless told otherwise, as the Pact Broker does.
pub const DEFAULT_LIMIT: u32 = 100;
/// The most rows one matrix answer may ask for.
pub const MAX_LIMIT: u32 = 1000;
/// Every row: can-i-deploy's questions have no limit in the Pact Broker.
pub const NO_LIMIT: u32 = u32::MAX;

/// A number as Ruby's `String#to_i` reads it (leading blanks, a sign, then
/// digits; anything else ends it, and no digits is 0), which is how the Pact
/// Broker reads `limit`.
fn ruby_to_i(raw: &str) -> i64 {
    let trimmed = raw.trim_start();
    let (negative, digits) = match trimmed.as_bytes().first() {
        Some(b'-') => (true, &trimmed[1..]),
        Some(b'+') => (false, &trimmed[1..]),
        _ => (false, trimmed),
    };
    let mut value: i64 = 0;
    for d in digits.chars().map_while(|c| c.to_digit(10)) {
        value = value.saturating_mul(10).saturating_add(i64::from(d));
    }
    if negative { -value } else { value }
}

fn flag(value: Option<&RackValue>) -> bool {
    value.and_then(RackValue::as_str) == Some("true")
}

fn text(value: Option<&RackValue>) -> Option<String> {
    value
        .and_then(RackValue::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn parse_ignores(value: Option<&RackValue>, errors: &mut Vec<String>) -> Vec<IgnoreSelector> {
    let mut ignores = Vec::new();
    match value {
        None => {}
        Some(RackValue::List(items)) => {
            for item in items {
                match item {
                    RackValue::Str(name) if !name.is_empty() => ignores.push(IgnoreSelector {
                        pacticipant: name.clone(),
                        version: None,
                    }),
                    RackValue::Map(_) => match text(item.get("pacticipant")) {
                        Some(pacticipant) => ignores.push(IgnoreSelector {
                            pacticipant,
                            version: text(item.get("version")),
                        }),
                        None => errors.push("Each ignore selector needs a pacticipant name.".to_owned()),
                    },
                    _ => errors.push("Each ignore selector needs a pacticipant name.".to_owned()),
                }
            }
        }
        Some(RackValue::Str(name)) if !name.is_empty() => ignores.push(IgnoreSelector {
            pacticipant: name.clone(),
            version: None,
        }),
        Some(_) => errors.push("ignore must be a list: ignore[]=NAME or ignore[][pacticipant]=NAME&ignore[][version]=V".to_owned()),
    }
    ignores
}

/// Parses and checks a `/matrix` query; the errors are the Pact Broker's texts.
pub fn parse_matrix_query(raw: &str) -> Result<MatrixQuery, Vec<String>> {
    let params = parse_nested_query(raw).map_err(|e| vec![e])?;
    let mut errors = Vec::new();
    let selectors = parse_selectors(&params, &mut errors);
    parse_options(&params, selectors, errors)
}

/// The matrix of one pair, `/matrix/provider/{p}/consumer/{c}`: every
/// version of each, with the options of `/matrix` (its selectors, if any,
/// are not read, as in the Pact Broker).
pub fn parse_pair_query(
    raw: &str,
    consumer: &str,
    provider: &str,
) -> Result<MatrixQuery, Vec<String>> {
    let params = parse_nested_query(raw).map_err(|e| vec![e])?;
    let selectors = [consumer, provider]
        .into_iter()
        .map(|name| VersionSelector {
            pacticipant: name.to_owned(),
            ..VersionSelector::default()
        })
        .collect();
    parse_options(&params, selectors, Vec::new())
}

fn parse_selectors(params: &RackValue, errors: &mut Vec<String>) -> Vec<VersionSelector> {
    let mut selectors = Vec::new();
    match params.get("q") {
        None => errors.push("Please provide 1 or more version selectors.".to_owned()),
        Some(RackValue::List(items)) if items.is_empty() => {
            errors.push("Please provide 1 or more version selectors.".to_owned());
        }
        Some(RackValue::List(items)) => {
            for item in items {
                if !matches!(item, RackValue::Map(_)) {
                    errors.push(
                        "Each selector must be given as q[][pacticipant]=NAME with its other keys."
                            .to_owned(),
                    );
                    continue;
                }
                let Some(pacticipant) = text(item.get("pacticipant")) else {
                    errors.push("Please specify the pacticipant name".to_owned());
                    continue;
                };
                let selector = VersionSelector {
                    version: text(item.get("version")),
                    latest: flag(item.get("latest")),
                    tag: text(item.get("tag")),
                    branch: text(item.get("branch")),
                    environment: text(item.get("environment")),
                    main_branch: flag(item.get("mainBranch")) || flag(item.get("main_branch")),
                    pacticipant,
                };
                if selector.version.is_some() && selector.latest {
                    errors.push(format!(
                        "A version number and latest flag cannot both be specified for {}",
                        selector.pacticipant
                    ));
                }
                selectors.push(selector);
            }
        }
        Some(_) => errors.push(
            "Please provide the version selectors as q[][pacticipant]=NAME&q[][version]=VERSION."
                .to_owned(),
        ),
    }
    selectors
}

/// `latestby`, the scope, `ignore`, `success` and `limit`, with the
/// selectors already read, into a query or every error.
fn parse_options(
    params: &RackValue,
    selectors: Vec<VersionSelector>,
    mut errors: Vec<String>,
) -> Result<MatrixQuery, Vec<String>> {
    let latest_by = match text(params.get("latestby")).as_deref() {
        None => None,
        Some("cvpv") => Some(LatestBy::Cvpv),
        Some("cvp") => Some(LatestBy::Cvp),
        Some("cp") => Some(LatestBy::Cp),
        Some(other) => {
            errors.push(format!(
                "latestby must be one of cvpv, cvp or cp (got '{other}')"
            ));
            None
        }
    };
    let latest = flag(params.get("latest"));
    let tag = text(params.get("tag"));
    let environment = text(params.get("environment"));
    let main_branch = flag(params.get("mainBranch")) || flag(params.get("main_branch"));
    if [tag.is_some(), environment.is_some(), main_branch]
        .iter()
        .filter(|b| **b)
        .count()
        > 1
    {
        errors.push("Cannot specify more than one of tag, environment and mainBranch.".to_owned());
    }
    if latest && environment.is_some() {
        errors.push("Cannot specify both latest=true and an environment.".to_owned());
    }
    let scope =
        (latest || tag.is_some() || environment.is_some() || main_branch).then_some(Scope {
            latest,
            tag,
            environment,
            main_branch,
        });
    let ignore = parse_ignores(params.get("ignore"), &mut errors);
    let success = match params.get("success") {
        None => None,
        Some(RackValue::List(items)) => Some(
            items
                .iter()
                .map(|item| match item.as_str() {
                    Some("true") => Some(true),
                    Some("false") => Some(false),
                    _ => None,
                })
                .collect(),
        ),
        Some(RackValue::Str(value)) => Some(vec![match value.as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        }]),
        Some(_) => {
            errors.push("success must be success[]=true, success[]=false or success[]=".to_owned());
            None
        }
    };
    let limit = match text(params.get("limit")) {
        None => DEFAULT_LIMIT,
        Some(raw) => match ruby_to_i(&raw) {
            n if n >= 1 => u32::try_from(n).unwrap_or(u32::MAX).min(MAX_LIMIT),
            _ => {
                errors.push("The limit must be 1 or greater.".to_owned());
                DEFAULT_LIMIT
            }
        },
    };
    if errors.is_empty() {
        Ok(MatrixQuery {
            selectors,
            latest_by,
            scope,
            ignore,
            success,
            limit,
        })
    } else {
        Err(errors)
    }
}

/// Where `/can-i-deploy` checks a version against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CanIDeployTarget {
    Environment(String),
    Tag(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanIDeployQuery {
    pub pacticipant: String,
    pub version: String,
    pub to: CanIDeployTarget,
    pub ignore: Vec<IgnoreSelector>,
}

/// Parses `/can-i-deploy?pacticipant=&version=&environment=` (or `&to=TAG`);
/// errors are (field, message), the field empty for errors about the whole query.
pub fn parse_can_i_deploy_query(raw: &str) -> Result<CanIDeployQuery, Vec<(String, String)>> {
    let params = parse_nested_query(raw).map_err(|e| vec![(String::new(), e)])?;
    let mut errors = Vec::new();
    let pacticipant = text(params.get("pacticipant"));
    let version = text(params.get("version"));
    if pacticipant.is_none() {
        errors.push(("pacticipant".to_owned(), "is missing".to_owned()));
    }
    if version.is_none() {
        errors.push(("version".to_owned(), "is missing".to_owned()));
    }
    let to = match (text(params.get("environment")), text(params.get("to"))) {
        (Some(environment), None) => Some(CanIDeployTarget::Environment(environment)),
        (None, Some(tag)) => Some(CanIDeployTarget::Tag(tag)),
        (None, None) => {
            errors.push((
                String::new(),
                "Must specify either an environment or a 'to' tag.".to_owned(),
            ));
            None
        }
        (Some(_), Some(_)) => {
            errors.push((
                String::new(),
                "Cannot specify both a 'to' tag and an environment.".to_owned(),
            ));
            None
        }
    };
    let mut messages = Vec::new();
    let ignore = parse_ignores(params.get("ignore"), &mut messages);
    errors.extend(messages.into_iter().map(|m| ("ignore".to_owned(), m)));
    match (pacticipant, version, to) {
        (Some(pacticipant), Some(version), Some(to)) if errors.is_empty() => Ok(CanIDeployQuery {
            pacticipant,
            version,
            to,
            ignore,
        }),
        _ => Err(errors),
    }
}

impl MatrixQuery {
    /// The matrix question `/can-i-deploy` asks: to an environment, every
    /// version there (`cvpv`); to a tag, the latest tagged versions (`cvp`).
    pub fn from_can_i_deploy(query: &CanIDeployQuery) -> Self {
        let (latest_by, scope) = match &query.to {
            CanIDeployTarget::Environment(e) => (
                LatestBy::Cvpv,
                Scope {
                    environment: Some(e.clone()),
                    ..Scope::default()
                },
            ),
            CanIDeployTarget::Tag(t) => (
                LatestBy::Cvp,
                Scope {
                    latest: true,
                    tag: Some(t.clone()),
                    ..Scope::default()
                },
            ),
        };
        Self {
            selectors: vec![VersionSelector {
                pacticipant: query.pacticipant.clone(),
                version: Some(query.version.clone()),
                ..VersionSelector::default()
            }],
            latest_by: Some(latest_by),
            scope: Some(scope),
            ignore: query.ignore.clone(),
            success: None,
            limit: NO_LIMIT,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn selectors(query: &str) -> Vec<(String, Option<String>)> {
        parse_matrix_query(query)
            .unwrap()
            .selectors
            .into_iter()
            .map(|s| (s.pacticipant, s.version))
            .collect()
    }

    #[test]
    fn pairs_selector_keys_as_rack_does() {
        assert_eq!(
            selectors("q[][pacticipant]=Foo&q[][version]=1&q[][pacticipant]=Bar&q[][version]=2"),
            vec![
                ("Foo".into(), Some("1".into())),
                ("Bar".into(), Some("2".into()))
            ]
        );
        // Sorted keys pair wrongly, exactly as in Rack (the clients never send this).
        let parsed = parse_nested_query(
            "q[][pacticipant]=Foo&q[][pacticipant]=Bar&q[][version]=1&q[][version]=2",
        )
        .unwrap();
        let RackValue::List(items) = parsed.get("q").unwrap().clone() else {
            panic!("q is a list")
        };
        assert_eq!(items.len(), 3);
    }

    #[test]
    fn accepts_encoded_brackets_the_flat_form_and_plus_spaces() {
        assert_eq!(
            selectors("q%5B%5D%5Bpacticipant%5D=Foo+Thing&q%5B%5D%5Bversion%5D=1.2.3"),
            vec![("Foo Thing".into(), Some("1.2.3".into()))]
        );
        assert_eq!(
            selectors("q[]pacticipant=Foo&q[]version=1"),
            vec![("Foo".into(), Some("1".into()))]
        );
    }

    #[test]
    fn reads_the_clients_queries() {
        let rust = parse_matrix_query(
            "q[][pacticipant]=Foo&q[][version]=1.0.0&latestby=cvpv&environment=test",
        )
        .unwrap();
        assert_eq!(rust.latest_by, Some(LatestBy::Cvpv));
        assert_eq!(
            rust.scope,
            Some(Scope {
                environment: Some("test".into()),
                ..Scope::default()
            })
        );
        let two = parse_matrix_query("q[][pacticipant]=Foo&q[][version]=1.0.0&q[][pacticipant]=Bar&q[][latest]=true&q[][tag]=main&latestby=cvpv").unwrap();
        assert!(two.selectors[1].latest);
        assert_eq!(two.selectors[1].tag.as_deref(), Some("main"));
        let ruby = parse_matrix_query(
            "q[][pacticipant]=Foo&q[][version]=1.2.3&latestby=cvp&latest=true&tag=prod",
        )
        .unwrap();
        assert_eq!(
            ruby.scope,
            Some(Scope {
                latest: true,
                tag: Some("prod".into()),
                ..Scope::default()
            })
        );
        let ignoring = parse_matrix_query("q[][pacticipant]=Bar&q[][version]=4.5.6&ignore[][pacticipant]=Foo&ignore[][version]=3.4.5&ignore[]=Baz").unwrap();
        assert_eq!(ignoring.ignore.len(), 2);
        assert_eq!(ignoring.ignore[0].version.as_deref(), Some("3.4.5"));
        let filtered =
            parse_matrix_query("q[][pacticipant]=Foo&success[]=true&success[]=&limit=5").unwrap();
        assert_eq!(filtered.success, Some(vec![Some(true), None]));
        assert_eq!(filtered.limit, 5);
    }

    #[test]
    fn refuses_bad_queries_with_the_pact_brokers_words() {
        assert_eq!(
            parse_matrix_query("").unwrap_err(),
            vec!["Please provide 1 or more version selectors."]
        );
        assert!(
            parse_matrix_query("q[][pacticipant]=Foo&latest=true&environment=x")
                .unwrap_err()
                .contains(&"Cannot specify both latest=true and an environment.".to_owned())
        );
        assert!(
            parse_matrix_query("q[][pacticipant]=Foo&tag=a&mainBranch=true")
                .unwrap_err()
                .contains(
                    &"Cannot specify more than one of tag, environment and mainBranch.".to_owned()
                )
        );
        assert_eq!(
            parse_matrix_query("q[][pacticipant]=Foo&q[][version]=1&q[][latest]=true").unwrap_err(),
            vec!["A version number and latest flag cannot both be specified for Foo"]
        );
        assert!(parse_matrix_query("q=foo").is_err());
        assert!(parse_matrix_query("q[][pacticipant]=Foo&q=bar").is_err());
        assert!(parse_matrix_query("q[][pacticipant]=Foo&latestby=x").is_err());
        assert!(parse_matrix_query("q[][pacticipant]=Foo&limit=0").is_err());
        assert_eq!(
            parse_matrix_query("q[][version]=1").unwrap_err(),
            vec!["Please specify the pacticipant name"]
        );
        for limit in ["0", "abc", "-3", " "] {
            assert_eq!(
                parse_matrix_query(&format!("q[][pacticipant]=Foo&limit={limit}")).unwrap_err(),
                vec!["The limit must be 1 or greater."],
                "{limit}"
            );
        }
    }

    #[test]
    fn reads_the_limit_as_ruby_does_and_caps_it() {
        let limit = |raw: &str| {
            parse_matrix_query(&format!("q[][pacticipant]=Foo&limit={raw}"))
                .unwrap()
                .limit
        };
        assert_eq!(limit("2"), 2);
        assert_eq!(limit("7abc"), 7);
        assert_eq!(limit("+3"), 3);
        assert_eq!(limit("99999999999999999999"), MAX_LIMIT);
        assert_eq!(
            parse_matrix_query("q[][pacticipant]=Foo").unwrap().limit,
            DEFAULT_LIMIT
        );
    }

    #[test]
    fn a_scope_is_any_of_latest_tag_environment_or_main_branch() {
        let scope = |raw: &str| parse_matrix_query(raw).unwrap().scope;
        assert_eq!(scope("q[][pacticipant]=Foo"), None);
        assert_eq!(scope("q[][pacticipant]=Foo&latest=false"), None);
        assert_eq!(
            scope("q[][pacticipant]=Foo&tag=prod"),
            Some(Scope {
                tag: Some("prod".into()),
                ..Scope::default()
            })
        );
        assert_eq!(
            scope("q[][pacticipant]=Foo&mainBranch=true"),
            Some(Scope {
                main_branch: true,
                ..Scope::default()
            })
        );
        assert_eq!(
            parse_matrix_query("q[][pacticipant]=Foo&latest=true&tag=a&environment=b").unwrap_err(),
            vec![
                "Cannot specify more than one of tag, environment and mainBranch.",
                "Cannot specify both latest=true and an environment."
            ]
        );
    }

    #[test]
    fn never_panics_on_garbage() {
        for raw in [
            "[",
            "]",
            "[]=1",
            "q[",
            "q]",
            "q[[]]]=1",
            "%",
            "%FF%FE",
            "&&&",
            "q[][]=1",
            "q[][a][b][c]=1",
            "a=1&a[]=2",
            "a[]=1&a[b]=2",
            "q[]=&q[][pacticipant]=",
        ] {
            let _ = parse_nested_query(raw);
            let _ = parse_matrix_query(raw);
            let _ = parse_can_i_deploy_query(raw);
        }
        let deep = format!("a{}=1", "[b]".repeat(100));
        assert!(parse_nested_query(&deep).is_err());
    }

    #[test]
    fn can_i_deploy_queries() {
        let query =
            parse_can_i_deploy_query("pacticipant=Foo&version=1&environment=test&ignore[]=Bar")
                .unwrap();
        assert_eq!(query.to, CanIDeployTarget::Environment("test".into()));
        let matrix = MatrixQuery::from_can_i_deploy(&query);
        assert_eq!(matrix.latest_by, Some(LatestBy::Cvpv));
        assert_eq!(matrix.ignore[0].pacticipant, "Bar");
        let to_tag = MatrixQuery::from_can_i_deploy(
            &parse_can_i_deploy_query("pacticipant=Foo&version=1&to=prod").unwrap(),
        );
        assert_eq!(to_tag.latest_by, Some(LatestBy::Cvp));
        assert_eq!(
            parse_can_i_deploy_query("pacticipant=Foo&version=1").unwrap_err(),
            vec![(
                String::new(),
                "Must specify either an environment or a 'to' tag.".to_owned()
            )]
        );
        assert_eq!(
            parse_can_i_deploy_query("version=1&to=a&environment=b").unwrap_err(),
            vec![
                ("pacticipant".to_owned(), "is missing".to_owned()),
                (
                    String::new(),
                    "Cannot specify both a 'to' tag and an environment.".to_owned()
                )
            ]
        );
    }
}
