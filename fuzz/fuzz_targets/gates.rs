//! Gate policies (`PUT /policies/{environment}` bodies, and the stored form
//! read back), then the verdict they give on a fixed history.
#![no_main]

use chrono::{DateTime, Duration, TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use treaty_domain::gates::{self, ContractAnswer, Facts, Failure, OpenIncident, Stay};

fn facts(now: DateTime<Utc>, environments: &[&str], emergency: bool) -> Facts {
    let mut stays = Vec::new();
    let mut failures = Vec::new();
    let mut open_incidents = Vec::new();
    for (i, environment) in environments.iter().enumerate() {
        let environment = (*environment).to_owned();
        // A finished stay, then the current one; every other environment
        // also has a failure during it, every third an open incident.
        stays.push(Stay {
            environment: environment.clone(),
            since: now - Duration::days(3),
            until: Some(now - Duration::days(2)),
        });
        stays.push(Stay {
            environment: environment.clone(),
            since: now - Duration::minutes(30),
            until: None,
        });
        if i % 2 == 1 {
            failures.push(Failure {
                environment: environment.clone(),
                at: now - Duration::minutes(10),
            });
        }
        if i % 3 == 2 {
            open_incidents.push(OpenIncident {
                environment,
                title: "checkout errors".to_owned(),
                opened_at: now - Duration::minutes(5),
            });
        }
    }
    Facts {
        version: "1.2.3".to_owned(),
        // Deployed to an environment it ran in: rollbacks are evaluated too.
        environment: environments.first().map_or("production", |e| *e).to_owned(),
        now,
        emergency,
        contracts: Some(ContractAnswer {
            deployable: [None, Some(true), Some(false)][environments.len() % 3],
            reason: "matrix".to_owned(),
        }),
        stays,
        failures,
        open_incidents,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let Ok(policy) = gates::parse_environment_policy(&body) else {
        return;
    };
    // What is stored, read back as `policy(...)` in treaty-server does.
    let _ = gates::parse_environment_policy(&policy.to_json());
    for rule in &policy.rules {
        let _ = gates::describe(rule);
    }
    let environments: Vec<&str> = policy
        .rules
        .iter()
        .flat_map(|p| p.rule.environments())
        .collect();
    // A Friday afternoon in December, and the night after Europe moved its clocks forward.
    for now in [
        Utc.with_ymd_and_hms(2026, 12, 4, 15, 30, 0).unwrap(),
        Utc.with_ymd_and_hms(2026, 3, 30, 1, 30, 0).unwrap(),
    ] {
        let _ = policy.open_freeze(now);
        for emergency in [false, true] {
            for facts in [
                facts(now, &[], emergency),
                facts(now, &environments, emergency),
            ] {
                let verdict = gates::evaluate(&policy, &facts);
                let _ = (verdict.cause(), verdict.retry_after(), verdict.summary());
                let _ = verdict.to_json();
            }
        }
    }
});
