//! The facts a pact badge shows, as the Pact Broker finds them: the latest
//! pact of a pair (among tagged or untagged consumer versions), and the
//! latest verification of the newest of those pacts that has one.

use super::Backend;
use crate::read::{Query, Reader};
use crate::{BadgeVersions, PactBadgeFacts, StoreResult};

const PAIR: &str = "pp.consumer_id = (SELECT id FROM pacticipants WHERE name = ?)
    AND pp.provider_id = (SELECT id FROM pacticipants WHERE name = ?)";

/// The condition on the pact's consumer version, and its argument.
fn consumer_versions(which: &BadgeVersions) -> (&'static str, Option<&str>) {
    match which {
        BadgeVersions::All => ("", None),
        BadgeVersions::Tagged(tag) => (
            " AND EXISTS (SELECT 1 FROM tags t WHERE t.version_id = pp.consumer_version_id AND t.name = ?)",
            Some(tag),
        ),
        BadgeVersions::Untagged => (
            " AND NOT EXISTS (SELECT 1 FROM tags t WHERE t.version_id = pp.consumer_version_id)",
            None,
        ),
    }
}

fn pair_query(text: String, consumer: &str, provider: &str, tag: Option<&str>) -> Query {
    let mut query = Query::new(text).bind(consumer).bind(provider);
    if let Some(tag) = tag {
        query = query.bind(tag);
    }
    query
}

async fn facts(
    reader: &mut dyn Reader,
    consumer: &str,
    provider: &str,
    which: &BadgeVersions,
    provider_tag: Option<&str>,
) -> StoreResult<PactBadgeFacts> {
    let (condition, tag) = consumer_versions(which);
    let latest = pair_query(
        format!(
            "SELECT pc.sha FROM pact_publications pp JOIN pact_contents pc ON pc.id = pp.pact_content_id
             WHERE {PAIR}{condition} ORDER BY pp.consumer_version_id DESC LIMIT 1"
        ),
        consumer,
        provider,
        tag,
    );
    let pact_sha: Option<String> = crate::read::first(reader, latest, "sha").await?;
    if pact_sha.is_none() {
        return Ok(PactBadgeFacts::default());
    }
    // Each pact content's latest verification (by a provider version with
    // the tag: the latest per content and provider version), of the newest
    // consumer version's pact that has one.
    let verified = match provider_tag {
        None => pair_query(
            format!(
                "SELECT pc.sha, vr.success FROM pact_publications pp
                   JOIN verifications vr ON vr.pact_content_id = pp.pact_content_id
                   JOIN pact_contents pc ON pc.id = pp.pact_content_id
                 WHERE {PAIR}{condition}
                   AND vr.id = (SELECT MAX(l.id) FROM verifications l WHERE l.pact_content_id = pp.pact_content_id)
                 ORDER BY pp.consumer_version_id DESC, vr.id DESC LIMIT 1"
            ),
            consumer,
            provider,
            tag,
        ),
        Some(provider_tag) => pair_query(
            format!(
                "SELECT pc.sha, vr.success FROM pact_publications pp
                   JOIN verifications vr ON vr.pact_content_id = pp.pact_content_id
                   JOIN pact_contents pc ON pc.id = pp.pact_content_id
                 WHERE {PAIR}{condition}
                   AND EXISTS (SELECT 1 FROM tags pt WHERE pt.version_id = vr.provider_version_id AND pt.name = ?)
                   AND vr.id = (SELECT MAX(l.id) FROM verifications l
                                WHERE l.pact_content_id = vr.pact_content_id AND l.provider_version_id = vr.provider_version_id)
                 ORDER BY pp.consumer_version_id DESC, vr.provider_version_id DESC, vr.execution_date DESC LIMIT 1"
            ),
            consumer,
            provider,
            tag,
        )
        .bind(provider_tag),
    };
    let verification = reader
        .fetch_all(verified)
        .await?
        .first()
        .map(|row| Ok::<_, crate::StoreError>((row.try_get("sha")?, row.try_get("success")?)))
        .transpose()?;
    Ok(PactBadgeFacts {
        pact_sha,
        verification,
    })
}

impl Backend {
    pub(crate) async fn pact_badge_facts(
        &self,
        consumer: &str,
        provider: &str,
        which: BadgeVersions,
        provider_tag: Option<&str>,
    ) -> StoreResult<PactBadgeFacts> {
        let (consumer, provider) = (consumer.to_owned(), provider.to_owned());
        let provider_tag = provider_tag.map(str::to_owned);
        self.read_snapshot(move |reader| {
            Box::pin(async move {
                facts(
                    reader,
                    &consumer,
                    &provider,
                    &which,
                    provider_tag.as_deref(),
                )
                .await
            })
        })
        .await
    }
}
