//! Webhooks: definitions, events and who they are for. The source shows
//! passwords and secret headers masked, so those are left out and named
//! (`treaty webhook list` shows them); and every webhook is copied
//! disabled, so that a build is not started twice, by the old broker and
//! this one, while both run.

use futures_util::stream::{self, StreamExt};
use serde_json::Value;
use treaty_domain::webhooks::{TargetPolicy, is_mask, parse_webhook};
use treaty_store::{MovedKey, MovedKind, MovedWebhook};

use super::copy::{Run, fingerprint};
use super::read;
use super::report::WebhookNote;
use super::source::describe;

/// What a copied webhook is checked against: only its shape. Whether its
/// target may be called is this Treaty's policy, applied when it is
/// enabled (a PUT) and when it sends.
fn any_target() -> TargetPolicy {
    TargetPolicy {
        schemes: vec!["http".into(), "https".into()],
        methods: ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
            .map(str::to_owned)
            .to_vec(),
        hosts: Vec::new(),
    }
}

/// The webhook as the source showed it, less the masked secrets, disabled;
/// and the names of the secrets left out.
pub fn without_masked_secrets(shown: &Value) -> (Value, Vec<String>) {
    let mut webhook = shown.clone();
    let mut missing = Vec::new();
    if let Some(request) = webhook.get_mut("request").and_then(Value::as_object_mut) {
        if request
            .get("password")
            .and_then(Value::as_str)
            .is_some_and(is_mask)
        {
            request.remove("password");
            missing.push("request.password".to_owned());
        }
        if let Some(headers) = request.get_mut("headers").and_then(Value::as_object_mut) {
            let masked: Vec<String> = headers
                .iter()
                .filter(|(_, value)| value.as_str().is_some_and(is_mask))
                .map(|(name, _)| name.clone())
                .collect();
            for name in masked {
                headers.remove(&name);
                missing.push(format!("request.headers.{}", name.to_ascii_lowercase()));
            }
        }
    }
    // Treaty says a webhook signs its deliveries, never with what.
    if webhook.get("signed").and_then(Value::as_bool) == Some(true) {
        missing.push("secret".to_owned());
    }
    if let Some(object) = webhook.as_object_mut() {
        object.insert("enabled".into(), Value::Bool(false));
    }
    (webhook, missing)
}

impl Run<'_> {
    pub async fn webhooks(&mut self) -> anyhow::Result<()> {
        const KIND: &str = "webhooks";
        let listed = match self.source.index_url("pb:webhooks", "/webhooks") {
            Ok(url) => self.source.get(&url).await,
            Err(error) => Err(error),
        };
        let hrefs: Vec<String> = match listed {
            Ok(answer) => read::link_objects(&answer, "pb:webhooks")
                .into_iter()
                .filter_map(|link| read::text(link, "href"))
                .collect(),
            Err(error) => {
                self.report.gap("the list of webhooks", describe(&error));
                return Ok(());
            }
        };
        let moved = self.moved(MovedKind::Webhook).await?;
        let phase = self.progress.phase(KIND, hrefs.len() as u64);
        let source = self.source;
        let phase_ref = &phase;
        let read: Vec<(String, Result<Value, String>)> = stream::iter(hrefs)
            .map(|href| async move {
                let answer = source.get_href(&href).await.map_err(|e| describe(&e));
                phase_ref.advance(1);
                (href, answer)
            })
            .buffered(self.concurrency)
            .collect()
            .await;
        for (href, answer) in read {
            let shown = match answer {
                Ok(shown) => shown,
                Err(why) => {
                    self.report.gap(format!("the webhook at {href}"), why);
                    continue;
                }
            };
            let Some(uuid) = read::text(&shown, "uuid") else {
                self.report
                    .gap(format!("the webhook at {href}"), "it has no uuid");
                continue;
            };
            let name = format!("webhook {uuid}");
            let mut compared = shown.clone();
            if let Some(object) = compared.as_object_mut() {
                object.remove("_links");
            }
            let fingerprint = fingerprint(&[&compared.to_string()]);
            let (copy, missing) = without_masked_secrets(&shown);
            let description = read::text(&shown, "description");
            let enabled_at_source = shown.get("enabled").and_then(Value::as_bool) != Some(false);
            if !missing.is_empty() {
                self.report.webhooks.push(WebhookNote {
                    uuid: uuid.clone(),
                    description: description.clone(),
                    enabled_at_source,
                    secrets_to_reenter: missing.clone(),
                });
            }
            if moved.get(&uuid) == Some(&fingerprint) {
                self.report.unchanged(KIND, 1);
                continue;
            }
            let definition = match parse_webhook(&copy, &any_target()) {
                Ok(definition) => definition,
                Err(problems) => {
                    let why = problems
                        .iter()
                        .map(|(field, problem)| format!("{field} {problem}"))
                        .collect::<Vec<_>>()
                        .join("; ");
                    self.report.gap(name, why);
                    continue;
                }
            };
            if self.dry_run {
                self.report.copied(KIND, 1);
                continue;
            }
            let created_at = read::time(&shown, "createdAt").unwrap_or_else(chrono::Utc::now);
            let webhook = MovedWebhook {
                uuid: uuid.clone(),
                definition,
                secrets_to_reenter: missing,
                created_at,
                updated_at: read::time(&shown, "updatedAt").unwrap_or(created_at),
                moved: MovedKey::new(&uuid, fingerprint),
            };
            match self.store.move_in_webhook(&self.source.key, &webhook).await {
                Ok(()) => self.report.copied(KIND, 1),
                Err(error) => self.report.gap(name, error.to_string()),
            }
        }
        phase.finish();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn masked_secrets_are_left_out_named_and_the_copy_is_disabled() {
        let shown = json!({
            "uuid": "0123456789abcdef", "enabled": true,
            "request": {"method": "POST", "url": "https://ci.example/build",
                "headers": {"Authorization": "**********", "Content-Type": "application/json"},
                "username": "ci", "password": "**********"},
            "signed": true
        });
        let (copy, missing) = without_masked_secrets(&shown);
        assert_eq!(
            missing,
            [
                "request.password",
                "request.headers.authorization",
                "secret"
            ]
        );
        assert_eq!(copy["enabled"], false);
        assert_eq!(
            copy["request"]["headers"],
            json!({"Content-Type": "application/json"})
        );
        assert!(copy["request"].get("password").is_none());
        assert_eq!(copy["request"]["username"], "ci");
        let definition = parse_webhook(&copy, &any_target()).expect("a webhook");
        assert!(!definition.enabled);
    }
}
