//! Pacts and verification results: every publication of every pair, not
//! only the latest, and every verification result a matrix row shows (the
//! latest of each provider version for each content, which is what the
//! Pact Broker's API shows).

use std::collections::{HashMap, HashSet};

use futures_util::stream::{self, StreamExt};
use treaty_client::Url;
use treaty_domain::pact::PactDocument;
use treaty_store::{MovedKey, MovedKind, MovedPact, MovedVerification};

use super::copy::{Run, fingerprint, key};
use super::read::{self, ListedPact, VerificationRow};
use super::source::{Source, describe};

/// Publications, and verification results, written in one transaction.
const PACTS_PER_WRITE: usize = 50;
const VERIFICATIONS_PER_WRITE: usize = 200;
/// The first matrix page asked for; a full page is asked again ten times larger.
/// Also the page size of a query for one provider version.
const FIRST_MATRIX_LIMIT: usize = 1000;

/// A pact content of a pair, and one consumer version that published it:
/// the matrix of that version shows the content's verification results.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Content {
    pub consumer: String,
    pub provider: String,
    pub sha: String,
    pub consumer_version: String,
}

/// A publication to fetch and copy.
struct Wanted {
    consumer: String,
    provider: String,
    listed: ListedPact,
    moved: String,
    list_fingerprint: String,
}

fn pair_name(consumer: &str, provider: &str) -> String {
    format!("{consumer} → {provider}")
}

impl Run<'_> {
    /// The pairs, read from the source's integrations.
    async fn pairs(&mut self) -> Vec<(String, String)> {
        let listed = match self.source.index_url("pb:integrations", "/integrations") {
            Ok(url) => self.source.all_pages(&url, "integrations").await,
            Err(error) => Err(error),
        };
        match listed {
            Ok(items) => items.iter().filter_map(read::integration).collect(),
            Err(error) => {
                self.report
                    .gap("the list of integrations", describe(&error));
                Vec::new()
            }
        }
    }

    /// Copies the publications not here yet; returns every content of every
    /// pair with a consumer version that published it.
    pub async fn pacts(&mut self) -> anyhow::Result<Vec<Content>> {
        let pairs = self.pairs().await;
        let moved = self.moved(MovedKind::Pact).await?;
        let source = self.source;
        let mut listings = stream::iter(pairs)
            .map(|(consumer, provider)| async move {
                let listed = match source.path_of(&[
                    "pacts", "provider", &provider, "consumer", &consumer, "versions",
                ]) {
                    Ok(url) => source.get(&url).await,
                    Err(error) => Err(error),
                };
                (consumer, provider, listed)
            })
            .buffer_unordered(self.concurrency);
        let order = self.version_order();
        let mut contents = HashSet::new();
        let mut wanted = Vec::new();
        while let Some((consumer, provider, listed)) = listings.next().await {
            let listed = match listed {
                Ok(answer) => answer,
                Err(error) => {
                    self.report.gap(
                        format!("the pacts between {}", pair_name(&consumer, &provider)),
                        describe(&error),
                    );
                    continue;
                }
            };
            if let Some(missing) = [&consumer, &provider]
                .into_iter()
                .find(|name| self.unreadable.contains(*name))
            {
                self.report.gap(
                    format!("the pacts between {}", pair_name(&consumer, &provider)),
                    format!("skipped: {missing} could not be copied"),
                );
                continue;
            }
            let mut publications: Vec<ListedPact> = read::embedded(&listed, "pacts")
                .iter()
                .filter_map(read::listed_pact)
                .collect();
            let position = |version: &str| {
                order
                    .get(&consumer)
                    .and_then(|versions| versions.get(version))
                    .copied()
                    .unwrap_or(usize::MAX)
            };
            publications.sort_by_key(|p| position(&p.consumer_version));
            for publication in publications {
                let list_fingerprint = fingerprint(&[
                    &publication.created_at.to_rfc3339(),
                    &publication.updated_at.to_rfc3339(),
                ]);
                let key = key(&[&consumer, &provider, &publication.consumer_version]);
                let copied_sha = moved.get(&key).and_then(|stored| {
                    let (copied, sha) = stored.split_once(' ')?;
                    (copied == list_fingerprint).then(|| sha.to_owned())
                });
                match copied_sha {
                    Some(sha) => {
                        self.report.unchanged("pacts", 1);
                        contents.insert(Content {
                            consumer: consumer.clone(),
                            provider: provider.clone(),
                            sha,
                            consumer_version: publication.consumer_version.clone(),
                        });
                    }
                    None => wanted.push(Wanted {
                        consumer: consumer.clone(),
                        provider: provider.clone(),
                        listed: publication,
                        moved: key,
                        list_fingerprint,
                    }),
                }
            }
        }
        drop(listings);
        // Pairs in a stable order, so writes group by pair.
        wanted.sort_by(|a, b| {
            (&a.consumer, &a.provider)
                .cmp(&(&b.consumer, &b.provider))
                .then(position_of(&order, a).cmp(&position_of(&order, b)))
        });
        self.copy_pacts(wanted, &mut contents).await;
        let mut contents: Vec<Content> = contents.into_iter().collect();
        // One consumer version per content: the matrix of any of them shows its results.
        contents.sort_by(|a, b| {
            (&a.consumer, &a.provider, &a.sha, &a.consumer_version).cmp(&(
                &b.consumer,
                &b.provider,
                &b.sha,
                &b.consumer_version,
            ))
        });
        contents.dedup_by(|a, b| {
            (&a.consumer, &a.provider, &a.sha) == (&b.consumer, &b.provider, &b.sha)
        });
        Ok(contents)
    }

    /// Each pacticipant's versions by number → their place in its order.
    fn version_order(&self) -> HashMap<String, HashMap<String, usize>> {
        self.versions
            .iter()
            .map(|(name, versions)| {
                let places = versions
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (v.number.clone(), i))
                    .collect();
                (name.clone(), places)
            })
            .collect()
    }

    async fn copy_pacts(&mut self, wanted: Vec<Wanted>, contents: &mut HashSet<Content>) {
        let phase = self.progress.phase("pacts", wanted.len() as u64);
        let source = self.source;
        let mut fetched = stream::iter(wanted)
            .map(|wanted| async move {
                let pact = fetch_pact(source, &wanted.listed.href).await;
                (wanted, pact)
            })
            .buffered(self.concurrency);
        let mut batch: Vec<MovedPact> = Vec::new();
        while let Some((wanted, pact)) = fetched.next().await {
            phase.advance(1);
            let name = format!(
                "the pact of {} version {} with {}",
                wanted.consumer, wanted.listed.consumer_version, wanted.provider
            );
            let (document, sha) = match pact {
                Ok(found) => found,
                Err(why) => {
                    self.report.gap(name, why);
                    continue;
                }
            };
            contents.insert(Content {
                consumer: wanted.consumer.clone(),
                provider: wanted.provider.clone(),
                sha: sha.clone(),
                consumer_version: wanted.listed.consumer_version.clone(),
            });
            if self.dry_run {
                self.report.copied("pacts", 1);
                continue;
            }
            let other_pair = batch.first().is_some_and(|b| {
                (&b.consumer, &b.provider) != (&wanted.consumer, &wanted.provider)
            });
            if other_pair || batch.len() >= PACTS_PER_WRITE {
                self.write_pacts(std::mem::take(&mut batch)).await;
            }
            batch.push(MovedPact {
                consumer: wanted.consumer,
                provider: wanted.provider,
                consumer_version: wanted.listed.consumer_version,
                content: document,
                created_at: wanted.listed.created_at,
                updated_at: wanted.listed.updated_at,
                moved: MovedKey::new(wanted.moved, format!("{} {sha}", wanted.list_fingerprint)),
            });
        }
        drop(fetched);
        self.write_pacts(batch).await;
        phase.finish();
    }

    /// Writes publications in one transaction; when that fails, one by one,
    /// so that only the ones that cannot be written are left behind.
    async fn write_pacts(&mut self, batch: Vec<MovedPact>) {
        if batch.is_empty() {
            return;
        }
        if self
            .store
            .move_in_pacts(&self.source.key, &batch)
            .await
            .is_ok()
        {
            self.report.copied("pacts", batch.len() as u64);
            return;
        }
        for pact in batch {
            match self
                .store
                .move_in_pacts(&self.source.key, std::slice::from_ref(&pact))
                .await
            {
                Ok(()) => self.report.copied("pacts", 1),
                Err(error) => self.report.gap(
                    format!(
                        "the pact of {} version {} with {}",
                        pact.consumer, pact.consumer_version, pact.provider
                    ),
                    error.to_string(),
                ),
            }
        }
    }

    /// Copies the verification results of every content not here yet.
    pub async fn verifications(&mut self, contents: Vec<Content>) -> anyhow::Result<()> {
        let moved: HashSet<i64> = self
            .moved(MovedKind::Verification)
            .await?
            .into_keys()
            .filter_map(|number| number.parse().ok())
            .collect();
        let tags: HashMap<(String, String), Vec<String>> = self
            .versions
            .iter()
            .flat_map(|(name, versions)| {
                versions
                    .iter()
                    .map(|v| ((name.clone(), v.number.clone()), v.tags.clone()))
            })
            .collect();
        let phase = self
            .progress
            .phase("pact contents' results", contents.len() as u64);
        // Each provider's versions, to read a content the source's matrix caps.
        let provider_versions: HashMap<String, Vec<String>> = self
            .versions
            .iter()
            .map(|(name, versions)| {
                (
                    name.clone(),
                    versions.iter().map(|v| v.number.clone()).collect(),
                )
            })
            .collect();
        let provider_versions = &provider_versions;
        let source = self.source;
        let dry_run = self.dry_run;
        let moved = &moved;
        let phase_ref = &phase;
        let mut results = stream::iter(contents)
            .map(|content| async move {
                let versions = provider_versions.get(&content.provider).map(Vec::as_slice);
                let rows = matrix_of(source, &content, versions).await;
                phase_ref.advance(1);
                (content, rows)
            })
            .buffered(self.concurrency)
            .flat_map(|(content, rows)| {
                let items: Vec<Found> = match rows {
                    Err(why) => vec![Found::Unreadable(content, why)],
                    Ok(rows) => rows
                        .into_iter()
                        .map(|row| {
                            if moved.contains(&row.number) {
                                Found::Here
                            } else {
                                Found::New(content.clone(), row)
                            }
                        })
                        .collect(),
                };
                stream::iter(items)
            })
            .map(|found| async move {
                match found {
                    Found::New(content, row) if !dry_run => {
                        let details = source
                            .get_href(&row.href)
                            .await
                            .map_err(|e| describe(&e))
                            .and_then(|answer| {
                                read::verification(&answer)
                                    .ok_or_else(|| "its success or time is missing".to_owned())
                            });
                        Fetched::New(content, row, Box::new(details))
                    }
                    Found::New(..) => Fetched::Counted,
                    Found::Here => Fetched::Here,
                    Found::Unreadable(content, why) => Fetched::Unreadable(content, why),
                }
            })
            .buffered(self.concurrency);
        let mut batch: Vec<MovedVerification> = Vec::new();
        let mut batch_content: Option<Content> = None;
        while let Some(fetched) = results.next().await {
            match fetched {
                Fetched::Here => self.report.unchanged("verification results", 1),
                Fetched::Counted => self.report.copied("verification results", 1),
                Fetched::Unreadable(content, why) => self.report.gap(
                    format!(
                        "the verification results of the pact of {} version {} with {}",
                        content.consumer, content.consumer_version, content.provider
                    ),
                    why,
                ),
                Fetched::New(content, row, details) => match *details {
                    Err(why) => self.report.gap(
                        format!(
                            "verification result {} of the pact of {} version {} with {}",
                            row.number,
                            content.consumer,
                            content.consumer_version,
                            content.provider
                        ),
                        why,
                    ),
                    Ok(details) => {
                        if batch_content.as_ref() != Some(&content)
                            || batch.len() >= VERIFICATIONS_PER_WRITE
                        {
                            self.write_verifications(std::mem::take(&mut batch)).await;
                            batch_content = Some(content.clone());
                        }
                        let provider_version =
                            details.provider_version.unwrap_or(row.provider_version);
                        let provider_version_tags = tags
                            .get(&(content.provider.clone(), provider_version.clone()))
                            .cloned()
                            .unwrap_or_default();
                        batch.push(MovedVerification {
                            number: row.number,
                            consumer: content.consumer.clone(),
                            provider: content.provider.clone(),
                            consumer_version: content.consumer_version.clone(),
                            provider_version,
                            success: details.success,
                            build_url: details.build_url,
                            test_results: details.test_results,
                            verified_by: details.verified_by,
                            provider_version_tags,
                            wip: false,
                            execution_date: details.execution_date,
                            moved: MovedKey::new(row.number.to_string(), ""),
                        });
                    }
                },
            }
        }
        drop(results);
        self.write_verifications(batch).await;
        phase.finish();
        Ok(())
    }

    async fn write_verifications(&mut self, batch: Vec<MovedVerification>) {
        if batch.is_empty() {
            return;
        }
        if let Ok(moved) = self
            .store
            .move_in_verifications(&self.source.key, &batch)
            .await
        {
            self.report.copied("verification results", moved.copied);
            self.report.renumbered_verification_results += moved.renumbered;
            return;
        }
        for verification in batch {
            match self
                .store
                .move_in_verifications(&self.source.key, std::slice::from_ref(&verification))
                .await
            {
                Ok(moved) => {
                    self.report.copied("verification results", moved.copied);
                    self.report.renumbered_verification_results += moved.renumbered;
                }
                Err(error) => self.report.gap(
                    format!(
                        "verification result {} of the pact of {} version {} with {}",
                        verification.number,
                        verification.consumer,
                        verification.consumer_version,
                        verification.provider
                    ),
                    error.to_string(),
                ),
            }
        }
    }
}

enum Found {
    New(Content, VerificationRow),
    Here,
    Unreadable(Content, String),
}

enum Fetched {
    New(
        Content,
        VerificationRow,
        Box<Result<read::SourceVerification, String>>,
    ),
    /// Counted by a dry run, not fetched.
    Counted,
    Here,
    Unreadable(Content, String),
}

fn position_of(order: &HashMap<String, HashMap<String, usize>>, wanted: &Wanted) -> usize {
    order
        .get(&wanted.consumer)
        .and_then(|versions| versions.get(&wanted.listed.consumer_version))
        .copied()
        .unwrap_or(usize::MAX)
}

/// A publication's document and the source's hash of it.
async fn fetch_pact(source: &Source, href: &str) -> Result<(PactDocument, String), String> {
    let answer = source.get_href(href).await.map_err(|e| describe(&e))?;
    let (document, sha) = read::pact_document(answer)
        .ok_or_else(|| "the answer is not a pact with a pb:pact-version link".to_owned())?;
    let document =
        PactDocument::from_value(document).map_err(|e| format!("it is not a pact: {e}"))?;
    Ok((document, sha))
}

/// The verification results of a content, from the matrix of a consumer
/// version that published it: one row per provider version that verified it.
/// A full page is asked again larger; a source that caps its pages (a Treaty
/// at 1000) answers the larger page no longer, and then the content is read
/// one provider version at a time so that no result is left behind unseen.
async fn matrix_of(
    source: &Source,
    content: &Content,
    provider_versions: Option<&[String]>,
) -> Result<Vec<VerificationRow>, String> {
    let mut limit = FIRST_MATRIX_LIMIT;
    let mut previous_full_page: Option<usize> = None;
    loop {
        let (rows, verifications) = matrix_page(source, content, None, limit).await?;
        if previous_full_page.is_some_and(|full| rows <= full) {
            return matrix_by_provider_version(source, content, verifications, provider_versions)
                .await;
        }
        if rows < limit {
            return Ok(verifications);
        }
        previous_full_page = Some(rows);
        limit = limit.saturating_mul(10);
    }
}

/// The rest of a capped content's results: one matrix query for each
/// provider version the capped page did not show. Without the provider's
/// versions the rest cannot be known, and the content is named as unread.
/// One at a time: `--concurrency` contents are already being read at once.
async fn matrix_by_provider_version(
    source: &Source,
    content: &Content,
    capped_page: Vec<VerificationRow>,
    provider_versions: Option<&[String]>,
) -> Result<Vec<VerificationRow>, String> {
    let Some(provider_versions) = provider_versions else {
        return Err(format!(
            "the source caps its matrix pages, and the versions of {} to ask for the rest \
             could not be read",
            content.provider
        ));
    };
    let seen: HashSet<String> = capped_page
        .iter()
        .map(|row| row.provider_version.clone())
        .collect();
    let mut verifications = capped_page;
    for version in provider_versions.iter().filter(|v| !seen.contains(*v)) {
        let (rows, found) = matrix_page(source, content, Some(version), FIRST_MATRIX_LIMIT).await?;
        if rows >= FIRST_MATRIX_LIMIT {
            return Err("one provider version's matrix came back full".to_owned());
        }
        verifications.extend(found);
    }
    Ok(verifications)
}

/// One matrix page of a content, of every provider version or of one.
async fn matrix_page(
    source: &Source,
    content: &Content,
    provider_version: Option<&str>,
    limit: usize,
) -> Result<(usize, Vec<VerificationRow>), String> {
    let mut url: Url = source.path("/matrix").map_err(|e| describe(&e))?;
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair("q[][pacticipant]", &content.consumer)
            .append_pair("q[][version]", &content.consumer_version)
            .append_pair("q[][pacticipant]", &content.provider);
        if let Some(version) = provider_version {
            query.append_pair("q[][version]", version);
        }
        query
            .append_pair("latestby", "cvpv")
            .append_pair("limit", &limit.to_string());
    }
    let answer = source.get(&url).await.map_err(|e| describe(&e))?;
    Ok(read::matrix_verifications(&answer))
}
