//! Every parser of outside input, fed arbitrary input: it answers, with a
//! value or with errors, and never panics. (The stable-toolchain stand-in for
//! `cargo fuzz`, which needs nightly: proptest generates and shrinks the
//! inputs, seeded with the shapes the clients send.)

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use treaty_domain::{
    access, for_verification, gates, ledger, matrix_query, pact, release, webhooks,
};

/// Arbitrary JSON, biased towards the keys Treaty's bodies use.
fn json_value() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("consumer".to_owned()),
        Just("provider".to_owned()),
        Just("interactions".to_owned()),
        Just("messages".to_owned()),
        Just("request".to_owned()),
        Just("url".to_owned()),
        Just("method".to_owned()),
        Just("events".to_owned()),
        Just("name".to_owned()),
        Just("rules".to_owned()),
        Just("rule".to_owned()),
        Just("windows".to_owned()),
        Just("status".to_owned()),
        Just("version".to_owned()),
        Just("product_name".to_owned()),
        Just("environment_name".to_owned()),
        Just("consumerVersionSelectors".to_owned()),
        Just("includeWipPactsSince".to_owned()),
        Just("branch".to_owned()),
        Just("latest".to_owned()),
        Just("tag".to_owned()),
        Just("deployed".to_owned()),
        Just("metadata".to_owned()),
        Just("title".to_owned()),
        ".{0,12}".prop_map(|s| s),
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|n| json!(n)),
        ".{0,24}".prop_map(Value::String),
        Just(json!("${pactbroker.consumerName}")),
        Just(json!("2026-12-24T00:00:00Z")),
        Just(json!("mon")),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn pact_documents(bytes in prop::collection::vec(any::<u8>(), 0..256), value in json_value()) {
        let _ = pact::PactDocument::parse(&bytes);
        let _ = pact::PactDocument::parse(value.to_string().as_bytes());
        let _ = pact::PactDocument::parse_base64(&String::from_utf8_lossy(&bytes));
        if let Ok(document) = pact::PactDocument::parse(value.to_string().as_bytes()) {
            let _ = document.sha();
            let _ = pact::merge(&value, &document);
        }
    }

    #[test]
    fn matrix_and_can_i_deploy_queries(query in "[a-z\\[\\]=&%0-9_.]{0,80}", raw in ".{0,80}") {
        for input in [query.as_str(), raw.as_str()] {
            let _ = matrix_query::parse_nested_query(input);
            let _ = matrix_query::parse_matrix_query(input);
            let _ = matrix_query::parse_can_i_deploy_query(input);
        }
    }

    #[test]
    fn bodies(value in json_value()) {
        let _ = for_verification::parse_body(&value, &|name| name.len() % 2 == 0);
        let _ = for_verification::parse_query(&value);
        let _ = ledger::parse_event(&value);
        let _ = ledger::parse_incident(&value);
        let _ = gates::parse_policies(&value);
        let _ = webhooks::parse_webhook(&value, &webhooks::TargetPolicy::default());
    }

    #[test]
    fn templates_and_paths(template in ".{0,60}", path in "(/[a-zA-Z0-9%_.-]{0,12}){0,8}", method in "[A-Z]{0,7}") {
        let vars = [("consumerName".to_owned(), "Foo Bar".to_owned())].into_iter().collect();
        let _ = webhooks::render(&template, &vars, true);
        let _ = webhooks::render(&template, &vars, false);
        let _ = access::route_access(&method, &path);
        let _ = access::glob_matches(&template, &path);
    }

    #[test]
    fn release_plans(pairs in prop::collection::vec(("[A-C]", "[1-3]"), 0..6)) {
        let mut seen = std::collections::BTreeSet::new();
        let targets: Vec<(String, String)> = pairs.into_iter().filter(|(p, _)| seen.insert(p.clone())).collect();
        let facts = release::Facts {
            current: vec![("A".into(), "1".into()), ("B".into(), "1".into())],
            pacts: vec![
                release::PactFact { consumer: "A".into(), consumer_version: "2".into(), provider: "B".into(), sha: "x".into() },
                release::PactFact { consumer: "B".into(), consumer_version: "2".into(), provider: "A".into(), sha: "y".into() },
            ],
            verifications: vec![release::VerificationFact { sha: "x".into(), provider: "B".into(), provider_version: "2".into(), success: true }],
        };
        let plan = release::plan(&targets, &facts);
        // Every planned pacticipant is in exactly one step.
        let planned: usize = plan.steps.iter().map(|s| s.deploy.len()).sum();
        prop_assert_eq!(planned, targets.len());
    }
}

/// Found by `cargo fuzz run gates` (see fuzz/): a soak minimum beyond the
/// calendar (`6195369M`, about 516,000 years) made `evaluate` panic with
/// "`DateTime + TimeDelta` overflowed" while the version soaked there.
#[test]
fn a_soak_minimum_beyond_the_calendar_does_not_panic() {
    use chrono::{Duration, TimeZone, Utc};
    // The fuzzer's input, minimised.
    let input = br#"{"rules":[{"rule":"soak","environment":"staging","minimum":"00000006195369M","-ode":"report-only"},{"rule":"freeze","allow_emergency":true,"windows":[{"days":["sat","sun"],"from":"15:00","to":"15:00","time_zone":"America/New_York","reason":"weekend"}]}]}"#;
    let policies =
        gates::parse_environment_policy(&serde_json::from_slice(input).unwrap()).unwrap();
    let now = Utc.with_ymd_and_hms(2026, 12, 4, 15, 30, 0).unwrap();
    let facts = gates::Facts {
        version: "1.2.3".to_owned(),
        environment: "production".to_owned(),
        now,
        emergency: false,
        contracts: None,
        stays: vec![gates::Stay {
            environment: "staging".to_owned(),
            since: now - Duration::minutes(30),
            until: None,
        }],
        failures: Vec::new(),
        open_incidents: Vec::new(),
    };
    let verdict = gates::evaluate(&policies, &facts);
    assert!(!verdict.allowed);
    assert!(!verdict.checks[0].passed);
    assert_eq!(
        verdict.checks[0].retry_after, None,
        "it will not pass within the calendar"
    );
}
