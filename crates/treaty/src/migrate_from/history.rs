//! Deployments and releases, current and past, with their application
//! instances and times: each record is read once (again only when its state
//! at the source changed), and replayed into the ledger in time order, so
//! every slot's history here is the one it had there.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use futures_util::stream::{self, StreamExt};
use treaty_store::{DeploymentStep, MovedDeployment, MovedKey, MovedKind, MovedRelease};

use super::copy::Run;
use super::read::{self, RecordLink, SourceVersion};
use super::source::describe;

/// The state of a record at the source, as its fingerprint.
fn state(current: bool) -> &'static str {
    if current { "current" } else { "ended" }
}

/// The uuid a record link ends with.
fn uuid_of(link: &RecordLink) -> String {
    link.href
        .split(['?', '#'])
        .next()
        .unwrap_or_default()
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// A record to read, of a version of a pacticipant.
struct Wanted {
    pacticipant: String,
    version: String,
    link: RecordLink,
}

impl Run<'_> {
    /// The pacticipants with something currently deployed or supported at
    /// the source, from each environment's lists.
    async fn pacticipants_in_environments(&mut self) -> HashSet<String> {
        let mut found = HashSet::new();
        for environment in self.environments.clone() {
            for (path, key) in [
                ("deployed-versions/currently-deployed", "deployedVersions"),
                ("released-versions/currently-supported", "releasedVersions"),
            ] {
                let answer = match self
                    .source
                    .path(&format!("/environments/{}/{path}", environment.uuid))
                {
                    Ok(url) => self.source.get(&url).await,
                    Err(error) => Err(error),
                };
                match answer {
                    Ok(answer) => found.extend(
                        read::current_records(&answer, key)
                            .into_iter()
                            .map(|record| record.pacticipant),
                    ),
                    Err(error) => self.report.gap(
                        format!("what is {} in {}", key_words(key), environment.name),
                        describe(&error),
                    ),
                }
            }
        }
        found
    }

    /// Fills in the deployment and release records of the versions of
    /// pacticipants that have some but whose version lists show none: a
    /// broker that lists versions without them (older releases) shows them
    /// on each version.
    async fn complete_record_links(&mut self) {
        let in_environments = self.pacticipants_in_environments().await;
        let lacking: Vec<String> = in_environments
            .into_iter()
            .filter(|name| {
                self.versions.get(name).is_some_and(|versions| {
                    versions
                        .iter()
                        .all(|v| v.deployments.is_empty() && v.releases.is_empty())
                })
            })
            .collect();
        for name in lacking {
            let numbers: Vec<String> = self.versions[&name]
                .iter()
                .map(|v| v.number.clone())
                .collect();
            let source = self.source;
            let name_ref = &name;
            let read: Vec<(String, Result<SourceVersion, String>)> = stream::iter(numbers)
                .map(|number| async move {
                    let answer =
                        match source.path_of(&["pacticipants", name_ref, "versions", &number]) {
                            Ok(url) => source.get(&url).await.map_err(|e| describe(&e)),
                            Err(error) => Err(describe(&error)),
                        };
                    let version = answer.and_then(|answer| {
                        read::version(&answer).ok_or_else(|| "unreadable".to_owned())
                    });
                    (number, version)
                })
                .buffered(self.concurrency)
                .collect()
                .await;
            for (number, version) in read {
                match version {
                    Ok(found) => {
                        if let Some(listed) = self
                            .versions
                            .get_mut(&name)
                            .and_then(|versions| versions.iter_mut().find(|v| v.number == number))
                        {
                            listed.deployments = found.deployments;
                            listed.releases = found.releases;
                        }
                    }
                    Err(why) => self.report.gap(
                        format!("the deployments and releases of {name} version {number}"),
                        why,
                    ),
                }
            }
        }
    }

    pub async fn history(&mut self) -> anyhow::Result<()> {
        self.complete_record_links().await;
        let moved_deployments = self.moved(MovedKind::Deployment).await?;
        let moved_releases = self.moved(MovedKind::Release).await?;
        let mut deployments = Vec::new();
        let mut releases = Vec::new();
        for (pacticipant, versions) in &self.versions {
            for version in versions {
                for (links, moved, wanted) in [
                    (&version.deployments, &moved_deployments, &mut deployments),
                    (&version.releases, &moved_releases, &mut releases),
                ] {
                    for link in links {
                        if moved.get(&uuid_of(link)).map(String::as_str)
                            == Some(state(link.current))
                        {
                            continue;
                        }
                        wanted.push(Wanted {
                            pacticipant: pacticipant.clone(),
                            version: version.number.clone(),
                            link: link.clone(),
                        });
                    }
                }
            }
        }
        let here = |links: &dyn Fn(&SourceVersion) -> usize| -> u64 {
            self.versions
                .values()
                .flatten()
                .map(|v| links(v) as u64)
                .sum()
        };
        let all_deployments = here(&|v| v.deployments.len());
        let all_releases = here(&|v| v.releases.len());
        self.report
            .unchanged("deployments", all_deployments - deployments.len() as u64);
        self.report
            .unchanged("releases", all_releases - releases.len() as u64);
        if self.dry_run {
            self.report.copied("deployments", deployments.len() as u64);
            self.report.copied("releases", releases.len() as u64);
            return Ok(());
        }
        self.copy_deployments(deployments, &moved_deployments).await;
        self.copy_releases(releases).await;
        Ok(())
    }

    async fn copy_deployments(
        &mut self,
        wanted: Vec<Wanted>,
        moved: &std::collections::HashMap<String, String>,
    ) {
        let phase = self.progress.phase("deployments", wanted.len() as u64);
        let source = self.source;
        let phase_ref = &phase;
        let read: Vec<(Wanted, Result<read::SourceDeployment, String>)> = stream::iter(wanted)
            .map(|wanted| async move {
                let details = source
                    .get_href(&wanted.link.href)
                    .await
                    .map_err(|e| describe(&e))
                    .and_then(|answer| {
                        read::deployment(&answer)
                            .ok_or_else(|| "its uuid, environment or time is missing".to_owned())
                    });
                phase_ref.advance(1);
                (wanted, details)
            })
            // In the source's listing order: ties in time keep it.
            .buffered(self.concurrency)
            .collect()
            .await;
        // Each slot's history in time order: a deployment at the time it was
        // recorded (ending what ran in its slot), an undeployment at its
        // time; at the same second the deployment first, so that one that
        // replaced another ends it as replaced, as it did at the source.
        let mut steps: Vec<(DateTime<Utc>, u8, DateTime<Utc>, DeploymentStep)> = Vec::new();
        for (wanted, details) in read {
            let name = format!(
                "the deployment of {} version {}",
                wanted.pacticipant, wanted.version
            );
            let details = match details {
                Ok(details) => details,
                Err(why) => {
                    self.report.gap(name, why);
                    continue;
                }
            };
            let record = |fingerprint: &str| MovedDeployment {
                uuid: details.uuid.clone(),
                pacticipant: wanted.pacticipant.clone(),
                version: wanted.version.clone(),
                environment_uuid: details.environment_uuid.clone(),
                application_instance: details.application_instance.clone(),
                created_at: details.created_at,
                undeployed_at: details.undeployed_at,
                moved: MovedKey::new(&details.uuid, fingerprint),
            };
            if !moved.contains_key(&details.uuid) {
                let ended = if details.current {
                    DateTime::<Utc>::MAX_UTC
                } else {
                    details.undeployed_at.unwrap_or(details.created_at)
                };
                steps.push((
                    details.created_at,
                    0,
                    ended,
                    DeploymentStep::Deployed(record(state(true))),
                ));
            }
            if !details.current {
                let at = details.undeployed_at.unwrap_or(details.created_at);
                steps.push((at, 1, at, DeploymentStep::Undeployed(record(state(false)))));
            }
        }
        steps.sort_by_key(|a| (a.0, a.1));
        in_one_second_ended_first(&mut steps);
        let mut copied = HashSet::new();
        for (_, _, _, step) in steps {
            let (DeploymentStep::Deployed(record) | DeploymentStep::Undeployed(record)) = &step;
            match self.store.move_in_deployment(&self.source.key, &step).await {
                Ok(()) => {
                    copied.insert(record.uuid.clone());
                }
                Err(error) => self.report.gap(
                    format!(
                        "the deployment of {} version {} ({})",
                        record.pacticipant, record.version, record.uuid
                    ),
                    error.to_string(),
                ),
            }
        }
        self.report.copied("deployments", copied.len() as u64);
        phase.finish();
    }

    async fn copy_releases(&mut self, wanted: Vec<Wanted>) {
        let phase = self.progress.phase("releases", wanted.len() as u64);
        let source = self.source;
        let phase_ref = &phase;
        let mut read: Vec<(Wanted, Result<read::SourceRelease, String>)> = stream::iter(wanted)
            .map(|wanted| async move {
                let details = source
                    .get_href(&wanted.link.href)
                    .await
                    .map_err(|e| describe(&e))
                    .and_then(|answer| {
                        read::release(&answer)
                            .ok_or_else(|| "its uuid, environment or time is missing".to_owned())
                    });
                phase_ref.advance(1);
                (wanted, details)
            })
            .buffer_unordered(self.concurrency)
            .collect()
            .await;
        read.sort_by_key(|(_, details)| details.as_ref().map(|d| d.created_at).ok());
        for (wanted, details) in read {
            let name = format!(
                "the release of {} version {}",
                wanted.pacticipant, wanted.version
            );
            let details = match details {
                Ok(details) => details,
                Err(why) => {
                    self.report.gap(name, why);
                    continue;
                }
            };
            let release = MovedRelease {
                uuid: details.uuid.clone(),
                pacticipant: wanted.pacticipant.clone(),
                version: wanted.version.clone(),
                environment_uuid: details.environment_uuid.clone(),
                created_at: details.created_at,
                updated_at: details.updated_at,
                support_ended_at: details.support_ended_at,
                moved: MovedKey::new(&details.uuid, state(details.support_ended_at.is_none())),
            };
            match self.store.move_in_release(&self.source.key, &release).await {
                Ok(()) => self.report.copied("releases", 1),
                Err(error) => self.report.gap(name, error.to_string()),
            }
        }
        phase.finish();
    }
}

/// The source's times are to the second: of two deployments to one slot
/// (application, environment, instance) in the same second, the one that has
/// since ended came first (the other replaced it). Each slot's deployments
/// of a second are put in that order, in the places they had.
fn in_one_second_ended_first(steps: &mut [(DateTime<Utc>, u8, DateTime<Utc>, DeploymentStep)]) {
    let slot = |step: &DeploymentStep| {
        let (DeploymentStep::Deployed(d) | DeploymentStep::Undeployed(d)) = step;
        (
            d.pacticipant.clone(),
            d.environment_uuid.clone(),
            d.application_instance.clone(),
        )
    };
    let mut start = 0;
    while start < steps.len() {
        let mut end = start + 1;
        while end < steps.len() && (steps[end].0, steps[end].1) == (steps[start].0, steps[start].1)
        {
            end += 1;
        }
        let group = &mut steps[start..end];
        let slots: HashSet<_> = group.iter().map(|s| slot(&s.3)).collect();
        for wanted in slots {
            let places: Vec<usize> = (0..group.len())
                .filter(|&i| slot(&group[i].3) == wanted)
                .collect();
            let mut ordered: Vec<_> = places.iter().map(|&i| group[i].clone()).collect();
            ordered.sort_by_key(|s| s.2);
            for (place, step) in places.into_iter().zip(ordered) {
                group[place] = step;
            }
        }
        start = end;
    }
}

fn key_words(key: &str) -> &'static str {
    if key == "deployedVersions" {
        "currently deployed"
    } else {
        "currently supported"
    }
}
