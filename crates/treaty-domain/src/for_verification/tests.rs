use chrono::TimeZone;
use serde_json::{Value, json};

use super::*;

fn parse(body: Value) -> Result<Request, FieldErrors> {
    parse_body(&body, &|name| name == "production")
}

fn errors(body: Value) -> Vec<(String, Vec<String>)> {
    parse(body).unwrap_err().fields().to_vec()
}

fn selector_errors(selector: Value) -> Vec<String> {
    let found = errors(json!({"consumerVersionSelectors": [selector]}));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "consumerVersionSelectors");
    found[0].1.clone()
}

#[test]
fn include_pending_status_defaults_to_true_and_deployed_or_released_splits() {
    let request =
        parse(json!({"consumerVersionSelectors": [{"deployedOrReleased": true}]})).unwrap();
    assert!(request.include_pending_status);
    assert_eq!(request.selectors.len(), 2);
    assert!(request.selectors[0].deployed && !request.selectors[0].released);
    assert!(request.selectors[1].released && !request.selectors[1].deployed);
    let off = parse(json!({"includePendingStatus": false})).unwrap();
    assert!(!off.include_pending_status);
}

#[test]
fn branch_selectors_mean_the_latest_and_main_branch_may_say_so() {
    let request = parse(json!({"consumerVersionSelectors": [
        {"mainBranch": true}, {"mainBranch": true, "latest": true}, {"branch": "x"}, {"tag": "t"}
    ]}))
    .unwrap();
    let latest: Vec<Option<bool>> = request.selectors.iter().map(|s| s.latest).collect();
    assert_eq!(latest, [Some(true), Some(true), Some(true), None]);
    assert_eq!(
        request.selectors[2].lookup(),
        Lookup::BranchHead("x".into())
    );
    assert_eq!(request.selectors[3].lookup(), Lookup::AllTagged("t".into()));
}

#[test]
fn matching_branch_takes_the_provider_branch() {
    let request = parse(
        json!({"providerVersionBranch": "feat-x", "consumerVersionSelectors": [{"matchingBranch": true}]}),
    )
    .unwrap();
    assert_eq!(request.selectors[0].branch.as_deref(), Some("feat-x"));
    assert_eq!(request.selectors[0].kind(), Kind::LatestForBranch);
    assert_eq!(
        selector_errors(json!({"matchingBranch": true})),
        [
            "the providerVersionBranch must be specified when the selector matchingBranch=true is used (at index 0)"
        ]
    );
}

#[test]
fn selector_problems_are_worded_and_grouped_as_the_pact_broker_does() {
    for (selector, expected) in [
        // Unknown keys are ignored: only what is missing is said.
        (
            json!({"bogus": true}),
            vec![
                "must specify a value for environment or tag or branch, or specify mainBranch=true, matchingBranch=true, latest=true, deployed=true, released=true or deployedOrReleased=true (at index 0)",
            ],
        ),
        (json!({"tag": 5}), vec!["tag must be a string (at index 0)"]),
        (json!({"tag": ""}), vec!["tag must be filled (at index 0)"]),
        (
            json!({"latest": "yes"}),
            vec!["latest must be one of: true, false (at index 0)"],
        ),
        // A malformed key skips the rules that read it.
        (
            json!({"deployed": false}),
            vec!["deployed must be one of: true (at index 0)"],
        ),
        (
            json!({"mainBranch": true, "branch": "x"}),
            vec![
                "cannot specify mainBranch=true with any other criteria apart from consumer (at index 0)",
            ],
        ),
        (
            json!({"mainBranch": true, "latest": false}),
            vec!["cannot specify mainBranch=true with latest=false (at index 0)"],
        ),
        (
            json!({"branch": "x", "deployed": true}),
            vec!["cannot specify the field branch with the field deployed (at index 0)"],
        ),
        (
            json!({"tag": "x", "latest": true, "environment": "production", "released": true}),
            vec![
                "cannot specify the fields latest/tag with the fields environment/released (at index 0)",
            ],
        ),
        (
            json!({"branch": "x", "latest": false}),
            vec!["cannot specify a branch with latest=false (at index 0)"],
        ),
        (
            json!({"tag": "x", "fallbackTag": "y"}),
            vec!["fallbackTag can only be set if latest is true (at index 0)"],
        ),
        (
            json!({"matchingBranch": true, "branch": "x"}),
            vec![
                "cannot specify matchingBranch=true with any other criteria apart from consumer (at index 0)",
                "the providerVersionBranch must be specified when the selector matchingBranch=true is used (at index 0)",
            ],
        ),
        // Grouped by key (the selector as a whole is one), in the order each first came.
        (
            json!({"environment": "nope", "consumer": " "}),
            vec![
                "consumer cannot be blank (at index 0)",
                "environment with name 'nope' does not exist (at index 0)",
            ],
        ),
        (
            json!({"deployed": true, "released": true, "environment": "nope"}),
            vec![
                "environment with name 'nope' does not exist (at index 0)",
                "cannot specify both deployed=true and released=true (at index 0)",
            ],
        ),
    ] {
        assert_eq!(selector_errors(selector.clone()), expected, "{selector}");
    }
    assert_eq!(
        errors(json!({"consumerVersionSelectors": {"tag": "x"}})),
        [(
            "consumerVersionSelectors".to_owned(),
            vec!["must be an array".to_owned()]
        )]
    );
    assert_eq!(
        errors(json!({"consumerVersionSelectors": ["mainBranch"]})),
        [(
            "consumerVersionSelectors".to_owned(),
            vec!["must be a hash (at index 0)".to_owned()]
        )]
    );
    assert_eq!(
        errors(json!({"includeWipPactsSince": "last tuesday", "includePendingStatus": "true"})),
        [
            (
                "includePendingStatus".to_owned(),
                vec!["must be one of: true, false".to_owned()]
            ),
            (
                "includeWipPactsSince".to_owned(),
                vec!["must be a date".to_owned()]
            )
        ]
    );
    assert!(parse(json!([1])).is_err());
}

#[test]
fn a_blank_provider_branch_is_refused_only_where_it_would_be_used() {
    assert!(parse(json!({"providerVersionBranch": ""})).is_ok());
    assert!(
        parse(json!({"providerVersionBranch": "", "includePendingStatus": true}))
            .unwrap_err()
            .fields()[0]
            .1[0]
            .starts_with("when pending or WIP pacts are enabled and there are no tags provided")
    );
    assert!(
        parse(json!({"providerVersionBranch": "", "providerVersionTags": ["t"], "includePendingStatus": true}))
            .is_ok()
    );
    assert_eq!(
        errors(json!({"providerVersionBranch": "  "})),
        [(
            "providerVersionBranch".to_owned(),
            vec!["cannot be blank".to_owned()]
        )]
    );
}

#[test]
fn the_get_form_takes_tags_only() {
    let request = parse_query(&json!({
        "consumer_version_selectors": [{"tag": "prod", "latest": "true"}, {"tag": "dev", "latest": "false"}],
        "provider_version_tags": ["main"], "include_pending_status": "false"
    }))
    .unwrap();
    assert_eq!(
        request.selectors[0].lookup(),
        Lookup::LatestTagged("prod".into())
    );
    assert_eq!(
        request.selectors[1].lookup(),
        Lookup::AllTagged("dev".into())
    );
    assert_eq!(request.provider_version_tags, ["main"]);
    assert!(!request.include_pending_status);
    let refused =
        parse_query(&json!({"consumer_version_selectors": [{"mainBranch": "true"}]})).unwrap_err();
    assert_eq!(
        refused.fields(),
        [(
            "consumer_version_selectors".to_owned(),
            vec!["tag is missing (at index 0)".to_owned()]
        )]
    );
}

#[test]
fn at_most_a_thousand_selectors_are_taken() {
    let selectors = |count: usize| -> Value {
        let list: Vec<Value> = (0..count)
            .map(|i| json!({"branch": format!("b{i}")}))
            .collect();
        json!({ "consumerVersionSelectors": list })
    };
    assert_eq!(
        parse(selectors(MAX_SELECTORS)).unwrap().selectors.len(),
        1_000
    );
    assert_eq!(
        errors(selectors(MAX_SELECTORS + 1)),
        [(
            "consumerVersionSelectors".to_owned(),
            vec!["has 1001 selectors; at most 1000 are accepted in one request".to_owned()]
        )]
    );
}

fn chosen(selector: Selector, version: i64, sha: &str) -> Chosen {
    Chosen {
        selector,
        consumer: "Foo".into(),
        consumer_version_id: version,
        consumer_version: format!("1.{version}"),
        sha: sha.into(),
        environment: None,
        fallback: false,
    }
}

fn deployed_to(name: &str, production: bool, version: i64) -> Chosen {
    Chosen {
        environment: Some(FoundEnvironment {
            name: name.into(),
            production,
        }),
        ..chosen(
            Selector {
                deployed: true,
                ..Selector::default()
            },
            version,
            "a",
        )
    }
}

#[test]
fn a_reason_given_twice_is_kept_once() {
    let prod = Selector::latest_for_tag("prod");
    let merged = merge(vec![
        chosen(prod.clone(), 1, "a"),
        chosen(prod.clone(), 1, "a"),
        chosen(prod, 2, "a"),
    ]);
    assert_eq!(merged.len(), 1);
    assert_eq!(merged[0].chosen.len(), 2);
    assert_eq!(
        short_description(&merged[0]),
        "latest with tag prod, latest with tag prod"
    );
}

#[test]
fn reasons_come_in_the_pact_brokers_order_and_words() {
    let main = Selector {
        main_branch: true,
        latest: Some(true),
        consumer: Some("Foo".into()),
        ..Selector::default()
    };
    let mut merged = merge(vec![
        chosen(main, 2, "a"),
        deployed_to("production", true, 2),
        deployed_to("test", false, 2),
        chosen(
            Selector {
                latest: Some(true),
                ..Selector::default()
            },
            3,
            "b",
        ),
    ]);
    assert_eq!(merged.len(), 2);
    assert_eq!(merged[1].consumer_version, "1.3");
    // Deployed before the main branch; a test environment before production.
    assert_eq!(
        short_description(&merged[0]),
        "deployed to test, deployed to production, latest from main branch"
    );
    merged[0].consumer_main_branch = Some("trunk".into());
    let request = Request {
        include_pending_status: true,
        ..Request::default()
    };
    let said = notices(&merged[0], "http://b/p", "Bar", &request, false);
    assert_eq!(
        said[0].1,
        "The pact at http://b/p is being verified because the pact content belongs to the consumer versions matching the following criteria:\n    * consumer version(s) currently deployed to test (1.2) and production (1.2)\n    * latest version of Foo from the main branch 'trunk' (1.2)"
    );
    assert_eq!(
        said[1].1,
        "This pact has previously been successfully verified by Bar. If this verification fails, it will fail the build. Read more at https://docs.pact.io/go/pending"
    );
    assert_eq!(said.len(), 2);
}

#[test]
fn metadata_is_the_pact_brokers_nested_query() {
    use base64::Engine;
    let decode = |metadata: String| {
        String::from_utf8(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(metadata)
                .unwrap(),
        )
        .unwrap()
    };
    let mut pact = merge(vec![
        chosen(
            Selector {
                main_branch: true,
                latest: Some(true),
                ..Selector::default()
            },
            2,
            "a",
        ),
        chosen(
            Selector {
                tag: Some("dev".into()),
                latest: Some(false),
                ..Selector::default()
            },
            1,
            "a",
        ),
    ])
    .remove(0);
    assert_eq!(
        decode(metadata(&pact, true)),
        "s%5B%5D%5Bt%5D=dev&s%5B%5D%5Bl%5D=false&s%5B%5D%5Bcv%5D=1&s%5B%5D%5Bl%5D=true&s%5B%5D%5Bcv%5D=2&p=false"
    );
    assert_eq!(decode(metadata(&pact, false)).matches("p=").count(), 0);
    assert!(!metadata_is_wip(&metadata(&pact, true)));
    pact.wip = true;
    assert_eq!(decode(metadata(&pact, true)), "w=true");
    assert!(metadata_is_wip(&metadata(&pact, true)));
    assert!(metadata_is_wip(&messages::wip_notice_metadata()));
    assert!(!metadata_is_wip("%%%not-base64"));
}

fn success(branches: &[&str], second: u32, wip: bool) -> SuccessfulVerification {
    SuccessfulVerification {
        provider_version_branches: branches.iter().map(|b| (*b).to_owned()).collect(),
        provider_version_tags: Vec::new(),
        verified_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, second).unwrap(),
        wip,
    }
}

#[test]
fn pending_until_the_providers_branch_verifies_it() {
    assert!(pending_for_branch("main", &[], None));
    assert!(!pending_for_branch(
        "main",
        &[success(&["main"], 1, false)],
        None
    ));
    // A success from another branch counts only if it came before the branch existed.
    let created = Some(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 30).unwrap());
    assert!(!pending_for_branch(
        "main",
        &[success(&["feat"], 10, false)],
        created
    ));
    assert!(pending_for_branch(
        "main",
        &[success(&["feat"], 40, false)],
        created
    ));
    // No branch, no tags: pending until anyone verifies it.
    let mut pact = merge(vec![chosen(Selector::latest_for_tag("t"), 1, "a")]).remove(0);
    set_pending(&mut pact, &Request::default(), &[], None, &BTreeMap::new());
    assert!(pact.pending);
    set_pending(
        &mut pact,
        &Request::default(),
        &[success(&[], 1, false)],
        None,
        &BTreeMap::new(),
    );
    assert!(!pact.pending);
}

#[test]
fn pending_by_tag_names_the_tags_it_is_pending_for() {
    let request = Request {
        provider_version_tags: vec!["prod".into(), "dev".into()],
        include_pending_status: true,
        ..Request::default()
    };
    let mut verified = success(&[], 1, false);
    verified.provider_version_tags = vec!["prod".into()];
    let first_used = BTreeMap::from([
        (
            "prod".to_owned(),
            Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap(),
        ),
        (
            "dev".to_owned(),
            Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap(),
        ),
    ]);
    let mut pact = merge(vec![chosen(Selector::latest_for_tag("t"), 1, "a")]).remove(0);
    set_pending(&mut pact, &request, &[verified], None, &first_used);
    assert!(pact.pending);
    assert_eq!(pact.pending_provider_tags, ["dev"]);
    assert_eq!(pact.non_pending_provider_tags, ["prod"]);
    let said = notices(&pact, "u", "Bar", &request, false);
    assert_eq!(
        said[1].1,
        "This pact is in pending state for this version of Bar because a successful verification result for a version of Bar with tag 'dev' has not yet been published. If this verification fails, it will not cause the overall build to fail. Read more at https://docs.pact.io/go/pending"
    );
    assert_eq!(
        said[3].1,
        "This pact is still in pending state for any version of Bar with tag 'dev' as a successful verification result with this tag has not yet been published"
    );
}

fn candidate(consumer: &str, version: i64, sha: &str, head: Head) -> WipCandidate {
    WipCandidate {
        consumer: consumer.into(),
        consumer_version_id: version,
        consumer_version: version.to_string(),
        sha: sha.into(),
        head,
    }
}

#[test]
fn work_in_progress_pacts_merge_their_heads_in_the_pact_brokers_order() {
    let candidates = [
        candidate("foo", 3, "x", Head::Tag("feat".into())),
        candidate("foo", 3, "x", Head::Branch("feat/x".into())),
        candidate("Bar", 2, "y", Head::Branch("main".into())),
    ];
    let by_branch = Request {
        provider_version_branch: Some("main".into()),
        include_pending_status: true,
        ..Request::default()
    };
    let wip = work_in_progress(&by_branch, &candidates, |_, _| true);
    // Case counts in their order (uppercase first), branch heads before tag heads.
    assert_eq!(wip[0].consumer, "Bar");
    assert_eq!(
        short_description(&wip[1]),
        "latest from branch feat/x, latest with tag feat"
    );
    let said = notices(&wip[1], "u", "P", &by_branch, false);
    assert_eq!(
        said[0].1,
        "The pact at u is being verified because it is a 'work in progress' pact (ie. it is the pact for the latest version of foo from branch 'feat/x' and tagged with 'feat' (both have the same content) and it has not yet been successfully verified by a version of P from branch 'main' when the pact's application version was explicitly specified in the consumer version selectors). Read more at https://docs.pact.io/go/wip"
    );
    assert!(
        said[1]
            .1
            .contains("because it was included as a 'work in progress' pact")
    );

    let by_tags = Request {
        provider_version_tags: vec!["dev".into()],
        include_pending_status: true,
        ..Request::default()
    };
    let wip = work_in_progress(&by_tags, &candidates, |c, _| c.consumer == "foo");
    assert_eq!(wip.len(), 1);
    assert_eq!(
        short_description(&wip[0]),
        "latest with tag feat, latest from branch feat/x"
    );
    assert_eq!(wip[0].pending_provider_tags, ["dev", "dev"]);
    assert!(
        notices(&wip[0], "u", "P", &by_tags, false)[2]
            .1
            .starts_with("This pact is still in pending state for any versions of P with tag 'dev' and 'dev' as the successful verification results with these tags")
    );
}
