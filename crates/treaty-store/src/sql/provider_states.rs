//! The provider states a provider's builds must set up, from the pacts a
//! lookup chooses (the same lookups as pacts for verification).

use std::collections::BTreeSet;

use treaty_domain::for_verification::Lookup;
use treaty_domain::provider_states::{self, ListedState};

use super::for_verification::{consumers_of, select};
use crate::read::{self, Query, Reader};
use crate::{StoreError, StoreResult};

pub(super) async fn provider_states(
    reader: &mut dyn Reader,
    provider: &str,
    of: &Lookup,
) -> StoreResult<Option<Vec<ListedState>>> {
    let query = Query::new("SELECT id FROM pacticipants WHERE name = ?").bind(provider);
    let Some(provider_id) = read::first::<i64>(reader, query, "id").await? else {
        return Ok(None);
    };
    let consumers = consumers_of(reader, provider_id).await?;
    let ids: Vec<i64> = consumers.iter().map(|c| c.id).collect();
    let found = if ids.is_empty() {
        Default::default()
    } else {
        select(reader, provider_id, &ids, of).await?
    };
    let mut states = Vec::new();
    for consumer in &consumers {
        // A content is read once however many of the consumer's versions have it.
        let shas: BTreeSet<&str> = found
            .get(&consumer.id)
            .into_iter()
            .flatten()
            .map(|((_, _, sha), _)| sha.as_str())
            .collect();
        for sha in shas {
            // One document at a time: a provider's pacts together can be large.
            let query = Query::new(
                "SELECT content FROM pact_contents WHERE consumer_id = ? AND provider_id = ? AND sha = ?",
            )
            .bind(consumer.id)
            .bind(provider_id)
            .bind(sha);
            let Some(content) = read::first::<String>(reader, query, "content").await? else {
                continue;
            };
            let document: serde_json::Value = serde_json::from_str(&content).map_err(|e| {
                StoreError::Corrupt(format!("the stored pact {sha} is not JSON: {e}"))
            })?;
            states.push((consumer.name.as_str(), provider_states::of_pact(&document)));
        }
    }
    Ok(Some(provider_states::aggregate(states)))
}
