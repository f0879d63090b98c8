//! A matrix page walks each pact content's verifications newest first and
//! stops once nothing it has not read can enter the page: the page must be
//! the one every row sorted and cut gives, however the verifications' run
//! times and numbers disagree.

use std::cmp::Reverse;

use treaty_domain::matrix::{Row, evaluate};
use treaty_domain::matrix_query::{NO_LIMIT, parse_matrix_query};

use super::{execute_raw, latest_sha, open, request, verify};

/// Foo publishes two contents to Bar over many versions, Bar verifies them
/// many times, and then the run times are scrambled: some verifications ran
/// long ago (older than every pact, so their rows rank by number), some of
/// the other content's in the far future (newer than every other). Walking by run
/// time then meets rows in another order than their rank, and the walk has
/// to go deeper than its first `limit` verifications to know its page.
#[tokio::test]
async fn a_matrix_page_is_every_row_sorted_and_cut_whatever_the_run_times() {
    let db = open().await;
    let store = db.store.as_ref();
    let mut shas = Vec::new();
    for round in 0..4 {
        for v in 0..3 {
            let path = if v == 2 { "/other" } else { "/same" };
            store
                .publish_contracts(&request(&format!("{round}.{v}"), path))
                .await
                .unwrap();
            let sha = latest_sha(store).await;
            if !shas.contains(&sha) {
                shas.push(sha);
            }
        }
        for p in 0..12 {
            let sha = &shas[p % shas.len()];
            verify(store, sha, &format!("p{round}.{p}"), p % 4 != 1).await;
        }
    }
    // Pacts newer than every verification: their rows tie on the pact's
    // publication and rank by verification number.
    for v in 0..3 {
        store
            .publish_contracts(&request(&format!("9.{v}"), "/same"))
            .await
            .unwrap();
    }
    execute_raw(
        &db.url,
        &[
            "UPDATE verifications SET execution_date = '2000-01-01T00:00:00+00:00' WHERE id % 3 = 0",
            "UPDATE verifications SET execution_date = '2999-01-01T00:00:00+00:00'
             WHERE id % 5 = 0 AND id % 3 <> 0
               AND pact_content_id = (SELECT pact_content_id FROM pact_publications ORDER BY id DESC LIMIT 1 OFFSET 3)",
        ],
    )
    .await;

    let rows_of = |text: String, limit: Option<u32>| {
        let mut query = parse_matrix_query(&text).unwrap();
        if let Some(limit) = limit {
            query.limit = limit;
        }
        async move {
            let evidence = store.matrix_evidence(&query).await.unwrap().unwrap();
            let mut rows = evaluate(&query, evidence).rows;
            rows.sort_by_key(|row| Reverse(row.rank()));
            rows
        }
    };
    for pacticipants in [
        "q[][pacticipant]=Foo&q[][pacticipant]=Bar",
        "q[][pacticipant]=Bar&q[][pacticipant]=Foo",
        "q[][pacticipant]=Foo",
        "q[][pacticipant]=Bar",
        "q[][pacticipant]=Foo&q[][pacticipant]=Bar&q[][version]=p3.4",
    ] {
        let everything = rows_of(pacticipants.to_owned(), Some(NO_LIMIT)).await;
        assert!(
            everything.len() > 10,
            "{pacticipants}: {}",
            everything.len()
        );
        // Publications are made one after another: their ids are their order.
        let mut publications: Vec<i64> = everything.iter().map(|r| r.pact_publication_id).collect();
        publications.sort_unstable_by_key(|id| Reverse(*id));
        publications.dedup();
        for limit in [1, 2, 3, 5, 8, 13, 40, 100, 1000] {
            for success in ["", "&success[]=false", "&success[]=true"] {
                let page = rows_of(format!("{pacticipants}&limit={limit}{success}"), None).await;
                let newest_pacts = &publications[..limit.min(publications.len())];
                let mut expected: Vec<Row> = everything
                    .iter()
                    .filter(|row| newest_pacts.contains(&row.pact_publication_id))
                    .take(limit)
                    .cloned()
                    .collect();
                match success {
                    "&success[]=false" => expected.retain(|row| row.success() == Some(false)),
                    "&success[]=true" => expected.retain(|row| row.success() == Some(true)),
                    _ => {}
                }
                assert_eq!(page, expected, "{pacticipants}&limit={limit}{success}");
            }
        }
    }
}
