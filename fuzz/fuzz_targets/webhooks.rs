//! Webhook definitions (`POST /webhooks` bodies) and the rendering of their
//! `${pactbroker.*}` templates into the request that is sent.
#![no_main]

use std::collections::BTreeMap;
use std::net::IpAddr;

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use treaty_domain::webhooks::{self, TargetPolicy};

fn vars() -> BTreeMap<String, String> {
    [
        ("consumerName", "Foo Bar"),
        ("providerName", "Pricing Service"),
        ("consumerVersionNumber", "1.2.3+build/4"),
        (
            "pactUrl",
            "{base}/pacts/provider/Bar/consumer/Foo/version/1",
        ),
        ("verificationResultUrl", ""),
        ("pacticipant", "Foo"),
        ("environment", "production"),
        ("status", "completed"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

fn permissive() -> TargetPolicy {
    TargetPolicy {
        schemes: vec!["http".into(), "https".into()],
        methods: ["GET", "POST", "PUT", "PATCH", "DELETE"]
            .map(String::from)
            .to_vec(),
        hosts: Vec::new(),
    }
}

fuzz_target!(|data: &[u8]| {
    let vars = webhooks::with_base(&vars(), "http://example.org");
    let Ok(body) = serde_json::from_slice::<Value>(data) else {
        // Not JSON: a template on its own.
        let template = String::from_utf8_lossy(data);
        let _ = webhooks::render(&template, &vars, true);
        let _ = webhooks::render(&template, &vars, false);
        let _ = webhooks::pact_url_metadata(&template, &[template.to_string()]);
        return;
    };
    let _ = webhooks::parse_webhook(&body, &TargetPolicy::default());
    let restricted = TargetPolicy {
        hosts: vec!["example.org".into()],
        ..permissive()
    };
    let _ = webhooks::parse_webhook(&body, &restricted);
    let policy = permissive();
    let Ok(webhook) = webhooks::parse_webhook(&body, &policy) else {
        return;
    };
    // What the sender does with it.
    let template = &webhook.request;
    let url = webhooks::render(&template.url, &vars, true);
    for value in template.headers.values() {
        let _ = webhooks::render(value, &vars, false);
    }
    let _ = template
        .body
        .as_ref()
        .map(|b| webhooks::render_body(b, &vars));
    let _ = (webhook.consumer.to_json(), webhook.provider.to_json());
    let _ = policy.refuse(&template.method, &url);
    let _ = restricted.refuse(&template.method, &url);
    if let Ok(parsed) = url::Url::parse(&url)
        && let Some(host) = parsed.host_str()
        && let Ok(ip) = host.trim_matches(['[', ']']).parse::<IpAddr>()
    {
        let _ = webhooks::is_internal(ip);
    }
});
