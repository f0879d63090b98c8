//! The secrets a webhook carries (header values such as `Authorization` or
//! `X-Api-Key`, its basic-auth password, its signing secret) are never shown
//! again: every answer and every log shows the mask instead. One rule, here,
//! for every door: the API, the delivery logs, the CLI that prints them.
//!
//! As the Pact Broker does (`HEADERS_TO_REDACT`, `maintain_redacted_params`),
//! a header is secret when its name looks secret, and a webhook sent back with
//! masked values (a GET edited and PUT back) keeps the stored ones.

use std::collections::BTreeMap;

use serde_json::Value;

use super::RequestTemplate;

/// What stands in for a secret value wherever a webhook is shown.
pub const MASK: &str = "**********";

/// A header whose name contains one of these (in any case) carries a secret.
/// The Pact Broker masks `authorization` and `token`; the others are the
/// names receivers use for keys (`X-Api-Key`, `Private-Token`,
/// `X-Hub-Signature`, `Cookie`, `X-Client-Secret`, ...).
const SECRET_HEADER_WORDS: &[&str] = &[
    "authorization",
    "token",
    "key",
    "secret",
    "password",
    "cookie",
    "signature",
];

/// Values shorter than this are not searched for in logs: replacing every
/// `a` of a log would hide the log, and so short a secret protects nothing.
const SHORTEST_VALUE_SEARCHED: usize = 4;

/// Whether a header's value is a secret, judged by its name.
pub fn is_secret_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_HEADER_WORDS.iter().any(|word| name.contains(word))
}

/// The headers as they may be shown: secret values replaced by the mask.
pub fn masked_headers<'a>(
    headers: impl IntoIterator<Item = (&'a String, &'a String)>,
) -> BTreeMap<String, String> {
    headers
        .into_iter()
        .map(|(name, value)| {
            let shown = if is_secret_header(name) {
                MASK.to_owned()
            } else {
                value.clone()
            };
            (name.clone(), shown)
        })
        .collect()
}

/// A value that is only the mask (or any run of asterisks, as the Pact
/// Broker reads it): what a client sends back after reading a webhook.
pub fn is_mask(value: &str) -> bool {
    !value.is_empty() && value.chars().all(|c| c == '*')
}

/// The secret values of a request as it is sent (rendered header values
/// whose names look secret, the password, the signing secret), to hide
/// wherever they turn up in a log: a receiver that echoes its
/// `Authorization` header back must not put it in the delivery's log.
pub fn secret_values<'a>(
    headers: impl IntoIterator<Item = (&'a String, &'a String)>,
    template: &'a RequestTemplate,
) -> Vec<&'a str> {
    let mut values: Vec<&str> = headers
        .into_iter()
        .filter(|(name, _)| is_secret_header(name))
        .map(|(_, value)| value.as_str())
        .chain(template.password.as_deref())
        .chain(template.secret.as_deref())
        .filter(|value| value.trim().chars().count() >= SHORTEST_VALUE_SEARCHED)
        .collect();
    // Longest first, so a value containing another is hidden whole.
    values.sort_by_key(|value| std::cmp::Reverse(value.len()));
    values.dedup();
    values
}

/// `text` with every one of `secrets` replaced by the mask.
pub fn redact(text: &str, secrets: &[&str]) -> String {
    secrets
        .iter()
        .fold(text.to_owned(), |text, secret| text.replace(secret, MASK))
}

/// A delivery log with the values of secret headers masked, whatever wrote
/// it: logs stored before this rule (which masked only `authorization`)
/// are masked when they are read. A header line reads `[time] LEVEL: name: value`.
pub fn redact_logged_headers(logs: &str) -> String {
    let mut out = String::with_capacity(logs.len());
    for line in logs.split_inclusive('\n') {
        out.push_str(&redact_logged_header(line));
    }
    out
}

fn redact_logged_header(line: &str) -> std::borrow::Cow<'_, str> {
    let masked = (|| {
        let (prefix, rest) = line.split_once("] ")?;
        let (level, header) = rest.split_once(": ")?;
        if !level.chars().all(|c| c.is_ascii_uppercase()) {
            return None;
        }
        let (name, value) = header.split_once(": ")?;
        // A header name is an HTTP token: a logged JSON body line such as
        // `{"token": "x"}` is not a header and is left as it is.
        if !super::is_header_name(name) || !is_secret_header(name) || is_mask(value.trim_end()) {
            return None;
        }
        let ending = if line.ends_with('\n') { "\n" } else { "" };
        Some(format!("{prefix}] {level}: {name}: {MASK}{ending}"))
    })();
    masked.map_or(std::borrow::Cow::Borrowed(line), std::borrow::Cow::Owned)
}

/// A webhook sent back as it was read keeps the secrets it hid: a header
/// whose value is the mask keeps its stored value, and so do a password and a
/// signing secret that are the mask or left out (`null` removes them).
/// A mask with nothing stored behind it is refused, by field, rather than
/// stored as the secret.
pub fn keep_stored_secrets(
    body: &Value,
    new: &mut RequestTemplate,
    stored: Option<&RequestTemplate>,
) -> Result<(), Vec<(String, String)>> {
    let mut errors = Vec::new();
    let request = body.get("request");
    for (name, value) in new.headers.iter_mut() {
        if !is_mask(value) {
            continue;
        }
        match stored.and_then(|s| s.headers.get(name)) {
            Some(kept) => value.clone_from(kept),
            None => errors.push((
                format!("request.headers.{name}"),
                format!(
                    "is the mask {MASK}, which stands for a value Treaty keeps, but this webhook has no stored {name} header: send the value itself"
                ),
            )),
        }
    }
    let password_given = request.and_then(|r| r.get("password"));
    keep(
        "request.password",
        password_given,
        &mut new.password,
        stored.and_then(|s| s.password.as_ref()),
        &mut errors,
    );
    let secret_given = body
        .get("secret")
        .or_else(|| request.and_then(|r| r.get("secret")));
    keep(
        "secret",
        secret_given,
        &mut new.secret,
        stored.and_then(|s| s.secret.as_ref()),
        &mut errors,
    );
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// One secret field: left out or masked keeps the stored value; `null`
/// removes it; anything else replaces it.
fn keep(
    field: &str,
    given: Option<&Value>,
    new: &mut Option<String>,
    stored: Option<&String>,
    errors: &mut Vec<(String, String)>,
) {
    let masked = given.and_then(Value::as_str).is_some_and(is_mask);
    match (given, stored) {
        (None, Some(stored)) => *new = Some(stored.clone()),
        (Some(_), Some(stored)) if masked => *new = Some(stored.clone()),
        (Some(_), None) if masked => errors.push((
            field.to_owned(),
            format!(
                "is the mask {MASK}, which stands for a value Treaty keeps, but this webhook has none stored: send the value itself"
            ),
        )),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn headers(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn template(pairs: &[(&str, &str)]) -> RequestTemplate {
        RequestTemplate {
            method: "POST".into(),
            url: "https://ci.example/hook".into(),
            headers: headers(pairs),
            body: None,
            username: None,
            password: None,
            secret: None,
        }
    }

    #[test]
    fn headers_whose_names_look_secret_are_masked_in_any_case() {
        for name in [
            "Authorization",
            "x-api-key",
            "Private-Token",
            "X-Hub-Signature-256",
            "Cookie",
            "X-Client-Secret",
            "X-PASSWORD",
            "proxy-authorization",
        ] {
            assert!(is_secret_header(name), "{name}");
        }
        for name in ["content-type", "accept", "x-request-id", "user-agent"] {
            assert!(!is_secret_header(name), "{name}");
        }
        let shown = masked_headers(&headers(&[
            ("authorization", "Bearer abc"),
            ("content-type", "application/json"),
        ]));
        assert_eq!(shown["authorization"], MASK);
        assert_eq!(shown["content-type"], "application/json");
    }

    #[test]
    fn secret_values_are_hidden_wherever_they_appear_in_a_log() {
        let mut t = template(&[]);
        t.password = Some("hunter22".into());
        let sent = headers(&[("x-api-key", "k-123456"), ("accept", "*/*")]);
        let secrets = secret_values(&sent, &t);
        assert_eq!(
            redact("echo: k-123456 and hunter22, */*", &secrets),
            format!("echo: {MASK} and {MASK}, */*")
        );
        let old_log = "[t] INFO: HTTP/1.1 POST http://x\n[t] INFO: x-api-key: k-1\n[t] INFO: authorization: **********\n[t] INFO: accept: */*\n[t] INFO: {\"token\": \"body\"}\n";
        assert_eq!(
            redact_logged_headers(old_log),
            format!(
                "[t] INFO: HTTP/1.1 POST http://x\n[t] INFO: x-api-key: {MASK}\n[t] INFO: authorization: **********\n[t] INFO: accept: */*\n[t] INFO: {{\"token\": \"body\"}}\n"
            )
        );
    }

    #[test]
    fn a_webhook_sent_back_masked_keeps_its_stored_secrets() {
        let mut stored = template(&[("authorization", "Bearer real"), ("x-other", "1")]);
        stored.password = Some("pw".into());
        stored.secret = Some("signing".into());

        // As read back: masked header and password, no secret at all.
        let body = json!({"request": {"password": MASK, "headers": {"Authorization": MASK}}});
        let mut new = template(&[("authorization", MASK)]);
        new.password = Some(MASK.into());
        keep_stored_secrets(&body, &mut new, Some(&stored)).unwrap();
        assert_eq!(new.headers["authorization"], "Bearer real");
        assert_eq!(new.password.as_deref(), Some("pw"));
        assert_eq!(new.secret.as_deref(), Some("signing"));

        // `null` removes; a new value replaces.
        let body = json!({"request": {"password": null}, "secret": "fresh"});
        let mut new = template(&[]);
        new.secret = Some("fresh".into());
        keep_stored_secrets(&body, &mut new, Some(&stored)).unwrap();
        assert_eq!(new.password, None);
        assert_eq!(new.secret.as_deref(), Some("fresh"));

        // A mask with nothing behind it is refused, never stored.
        let body = json!({"request": {"headers": {"X-Api-Key": "***"}}});
        let mut new = template(&[("x-api-key", "***")]);
        let errors = keep_stored_secrets(&body, &mut new, Some(&stored)).unwrap_err();
        assert_eq!(errors[0].0, "request.headers.x-api-key");
        assert!(keep_stored_secrets(&body, &mut new, None).is_err());
    }
}
