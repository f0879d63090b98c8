//! The copy, phase by phase, parents before children: environments,
//! pacticipants, their versions (with tags, branches and heads), pacts,
//! verification results, deployments and releases, webhooks.
//!
//! Each phase lists what the source has, compares it with what earlier runs
//! copied (`moved_in`), fetches only what is new or changed, at most
//! `--concurrency` requests at a time, and writes it unit by unit, each one
//! transaction. What cannot be read or written is reported by name and
//! skipped; the rest goes on.

use std::collections::{HashMap, HashSet};

use futures_util::stream::{self, StreamExt};
use serde_json::Value;
use sha2::{Digest, Sha256};
use treaty_store::{
    MovedBranch, MovedBranchHeads, MovedEnvironment, MovedKey, MovedKind, MovedPacticipant,
    MovedVersion, MovedVersions, Store,
};

use super::progress::Progress;
use super::read::{self, SourceEnvironment, SourcePacticipant, SourceVersion};
use super::report::Report;
use super::source::{Source, describe};

/// Versions written in one transaction.
const VERSIONS_PER_WRITE: usize = 200;

/// A fingerprint of what a unit is at the source: a rerun copies the unit
/// again only when it differs.
pub fn fingerprint(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0x1f]);
    }
    hasher.finalize()[..12]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A unit's key from the source's identities (names cannot hold U+001F).
pub fn key(parts: &[&str]) -> String {
    parts.join("\u{1f}")
}

fn when(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339()
}

fn optional(text: &Option<String>) -> &str {
    text.as_deref().unwrap_or("")
}

/// One migration run: what it reads, where it writes, what it found.
pub struct Run<'a> {
    pub source: &'a Source,
    pub store: &'a dyn Store,
    pub concurrency: usize,
    pub dry_run: bool,
    pub progress: Progress,
    pub report: Report,
    pub environments: Vec<SourceEnvironment>,
    pub pacticipants: Vec<SourcePacticipant>,
    /// Each pacticipant's versions, oldest first.
    pub versions: HashMap<String, Vec<SourceVersion>>,
    /// Pacticipants whose versions could not be read: what hangs off them
    /// is skipped (and said so once).
    pub unreadable: HashSet<String>,
}

impl<'a> Run<'a> {
    pub fn new(
        source: &'a Source,
        store: &'a dyn Store,
        concurrency: usize,
        dry_run: bool,
        progress: Progress,
    ) -> Self {
        Self {
            source,
            store,
            concurrency,
            dry_run,
            progress,
            report: Report {
                source: source.key.clone(),
                dry_run,
                ..Report::default()
            },
            environments: Vec::new(),
            pacticipants: Vec::new(),
            versions: HashMap::new(),
            unreadable: HashSet::new(),
        }
    }

    /// What earlier runs copied of a kind; a failure to read it is fatal
    /// (without it, the run cannot tell what is new).
    pub async fn moved(&self, kind: MovedKind) -> anyhow::Result<HashMap<String, String>> {
        self.store
            .moved_in(&self.source.key, kind)
            .await
            .map_err(|error| anyhow::anyhow!("cannot read what earlier runs copied: {error}"))
    }

    pub async fn environments(&mut self) -> anyhow::Result<()> {
        const KIND: &str = "environments";
        let listed = match self.source.index_url("pb:environments", "/environments") {
            Ok(url) => self.source.get(&url).await,
            Err(error) => Err(error),
        };
        let listed = match listed {
            Ok(answer) => read::embedded(&answer, "environments").to_vec(),
            Err(error) => {
                self.report
                    .gap("the list of environments", describe(&error));
                return Ok(());
            }
        };
        let moved = self.moved(MovedKind::Environment).await?;
        let phase = self.progress.phase(KIND, listed.len() as u64);
        for item in &listed {
            phase.advance(1);
            let Some(environment) = read::environment(item) else {
                self.report.gap(
                    format!(
                        "an environment ({})",
                        read::text(item, "name").unwrap_or_default()
                    ),
                    "its uuid, name or creation time is missing",
                );
                continue;
            };
            let fingerprint = fingerprint(&[
                &environment.name,
                optional(&environment.display_name),
                &environment.production.to_string(),
                &environment
                    .contacts
                    .as_ref()
                    .map(Value::to_string)
                    .unwrap_or_default(),
                &when(environment.created_at),
                &when(environment.updated_at),
            ]);
            self.environments.push(environment.clone());
            if moved.get(&environment.uuid) == Some(&fingerprint) {
                self.report.unchanged(KIND, 1);
                continue;
            }
            if self.dry_run {
                self.report.copied(KIND, 1);
                continue;
            }
            let moving = MovedEnvironment {
                uuid: environment.uuid.clone(),
                name: environment.name.clone(),
                display_name: environment.display_name.clone(),
                production: environment.production,
                contacts: environment.contacts.clone(),
                created_at: environment.created_at,
                updated_at: environment.updated_at,
                moved: MovedKey::new(&environment.uuid, fingerprint),
            };
            match self
                .store
                .move_in_environment(&self.source.key, &moving)
                .await
            {
                Ok(outcome) => {
                    self.report.copied(KIND, 1);
                    if let treaty_store::EnvironmentMove::TookOver { previous_uuid } = outcome {
                        self.report.notes.push(format!(
                            "the environment '{}' that was here (uuid {previous_uuid}, with no deployments) now has the source's uuid {}",
                            environment.name, environment.uuid
                        ));
                    }
                }
                Err(error) => self.report.gap(
                    format!("environment {}", environment.name),
                    error.to_string(),
                ),
            }
        }
        phase.finish();
        Ok(())
    }

    pub async fn pacticipants(&mut self) -> anyhow::Result<()> {
        const KIND: &str = "pacticipants";
        let listed = match self.source.index_url("pb:pacticipants", "/pacticipants") {
            Ok(url) => self.source.all_pages(&url, "pacticipants").await,
            Err(error) => Err(error),
        };
        let listed = match listed {
            Ok(items) => items,
            Err(error) => {
                self.report
                    .gap("the list of pacticipants", describe(&error));
                return Ok(());
            }
        };
        let moved = self.moved(MovedKind::Pacticipant).await?;
        let phase = self.progress.phase(KIND, listed.len() as u64);
        for item in &listed {
            phase.advance(1);
            let Some(pacticipant) = read::pacticipant(item) else {
                self.report.gap(
                    format!(
                        "a pacticipant ({})",
                        read::text(item, "name").unwrap_or_default()
                    ),
                    "its name or creation time is missing",
                );
                continue;
            };
            let fingerprint = fingerprint(&[
                optional(&pacticipant.display_name),
                optional(&pacticipant.repository_url),
                optional(&pacticipant.repository_name),
                optional(&pacticipant.repository_namespace),
                optional(&pacticipant.main_branch),
                &pacticipant.labels.join(","),
                &when(pacticipant.created_at),
                &when(pacticipant.updated_at),
            ]);
            self.pacticipants.push(pacticipant.clone());
            if moved.get(&pacticipant.name) == Some(&fingerprint) {
                self.report.unchanged(KIND, 1);
                continue;
            }
            if self.dry_run {
                self.report.copied(KIND, 1);
                continue;
            }
            let moving = MovedPacticipant {
                name: pacticipant.name.clone(),
                display_name: pacticipant.display_name.clone(),
                repository_url: pacticipant.repository_url.clone(),
                repository_name: pacticipant.repository_name.clone(),
                repository_namespace: pacticipant.repository_namespace.clone(),
                main_branch: pacticipant.main_branch.clone(),
                labels: pacticipant.labels.clone(),
                created_at: pacticipant.created_at,
                updated_at: pacticipant.updated_at,
                moved: MovedKey::new(&pacticipant.name, fingerprint),
            };
            match self
                .store
                .move_in_pacticipant(&self.source.key, &moving)
                .await
            {
                Ok(()) => self.report.copied(KIND, 1),
                Err(error) => {
                    self.unreadable.insert(pacticipant.name.clone());
                    self.report.gap(
                        format!("pacticipant {}", pacticipant.name),
                        error.to_string(),
                    );
                }
            }
        }
        phase.finish();
        Ok(())
    }

    /// A pacticipant's versions (oldest first) and branches, read from the source.
    async fn read_versions(
        source: &Source,
        pacticipant: &SourcePacticipant,
    ) -> Result<(Vec<SourceVersion>, Vec<read::SourceBranch>), String> {
        let versions_url = match &pacticipant.versions_href {
            Some(href) => source.resolve(href),
            None => source.path_of(&["pacticipants", &pacticipant.name, "versions"]),
        }
        .map_err(|e| describe(&e))?;
        let listed = source
            .all_pages(&versions_url, "versions")
            .await
            .map_err(|e| describe(&e))?;
        let mut versions = Vec::with_capacity(listed.len());
        for item in &listed {
            match read::version(item) {
                Some(version) => versions.push(version),
                None => {
                    return Err(format!(
                        "version {} has no number or creation time",
                        read::text(item, "number").unwrap_or_default()
                    ));
                }
            }
        }
        // Listed newest first, by the source's order.
        versions.reverse();
        let branches_url = match &pacticipant.branches_href {
            Some(href) => source.resolve(href),
            None => source.path_of(&["pacticipants", &pacticipant.name, "branches"]),
        }
        .map_err(|e| describe(&e))?;
        // A broker without branch lists (older than branches) dates each
        // branch from its first version.
        let branches = match source.all_pages(&branches_url, "branches").await {
            Ok(items) => items.iter().filter_map(read::branch).collect(),
            Err(error) if error.is_not_found() => Vec::new(),
            Err(error) => return Err(describe(&error)),
        };
        Ok((versions, branches))
    }

    pub async fn versions(&mut self) -> anyhow::Result<()> {
        let moved = self.moved(MovedKind::Version).await?;
        let moved_heads = self.moved(MovedKind::BranchHeads).await?;
        let phase = self
            .progress
            .phase("versions", self.pacticipants.len() as u64);
        let source = self.source;
        let pacticipants: Vec<SourcePacticipant> = self
            .pacticipants
            .iter()
            .filter(|p| !self.unreadable.contains(&p.name))
            .cloned()
            .collect();
        let mut read = stream::iter(pacticipants)
            .map(|pacticipant| async move {
                let versions = Self::read_versions(source, &pacticipant).await;
                (pacticipant, versions)
            })
            .buffer_unordered(self.concurrency);
        while let Some((pacticipant, versions)) = read.next().await {
            phase.advance(1);
            let (versions, branches) = match versions {
                Ok(found) => found,
                Err(why) => {
                    self.unreadable.insert(pacticipant.name.clone());
                    self.report
                        .gap(format!("the versions of {}", pacticipant.name), why);
                    continue;
                }
            };
            self.write_versions(&pacticipant, &versions, &branches, &moved, &moved_heads)
                .await;
            self.versions.insert(pacticipant.name.clone(), versions);
        }
        phase.finish();
        Ok(())
    }

    async fn write_versions(
        &mut self,
        pacticipant: &SourcePacticipant,
        versions: &[SourceVersion],
        branches: &[read::SourceBranch],
        moved: &HashMap<String, String>,
        moved_heads: &HashMap<String, String>,
    ) {
        let name = &pacticipant.name;
        let mut changed = Vec::new();
        for version in versions {
            let fingerprint = fingerprint(&[
                optional(&version.build_url),
                &version.tags.join(","),
                &version.branches.join(","),
                &when(version.created_at),
            ]);
            let key = key(&[name, &version.number]);
            if moved.get(&key) == Some(&fingerprint) {
                self.report.unchanged("versions", 1);
            } else {
                changed.push(MovedVersion {
                    number: version.number.clone(),
                    build_url: version.build_url.clone(),
                    tags: version.tags.clone(),
                    branches: version.branches.clone(),
                    created_at: version.created_at,
                    updated_at: version.updated_at,
                    moved: MovedKey::new(key, fingerprint),
                });
            }
        }
        let branches: Vec<MovedBranch> = branches
            .iter()
            .map(|b| MovedBranch {
                name: b.name.clone(),
                created_at: b.created_at,
                updated_at: b.updated_at,
            })
            .collect();
        for chunk in changed.chunks(VERSIONS_PER_WRITE) {
            if self.dry_run {
                self.report.copied("versions", chunk.len() as u64);
                continue;
            }
            let batch = MovedVersions {
                pacticipant: name.clone(),
                versions: chunk.to_vec(),
                branches: branches.clone(),
            };
            match self.store.move_in_versions(&self.source.key, &batch).await {
                Ok(()) => self.report.copied("versions", chunk.len() as u64),
                Err(error) => {
                    let first = chunk.first().map(|v| v.number.as_str()).unwrap_or_default();
                    let last = chunk.last().map(|v| v.number.as_str()).unwrap_or_default();
                    self.report.gap(
                        format!("versions {first} to {last} of {name}"),
                        error.to_string(),
                    );
                    self.unreadable.insert(name.clone());
                    return;
                }
            }
        }
        let mut heads: Vec<(String, String)> = versions
            .iter()
            .flat_map(|v| v.heads_of.iter().map(|b| (b.clone(), v.number.clone())))
            .collect();
        heads.sort();
        if heads.is_empty() {
            return;
        }
        let listed: Vec<String> = heads.iter().map(|(b, v)| format!("{b}={v}")).collect();
        let fingerprint = fingerprint(&[&listed.join(",")]);
        if moved_heads.get(name) == Some(&fingerprint) {
            self.report.unchanged("branch heads", 1);
            return;
        }
        if self.dry_run {
            self.report.copied("branch heads", 1);
            return;
        }
        let heads = MovedBranchHeads {
            pacticipant: name.clone(),
            heads,
            moved: MovedKey::new(name, fingerprint),
        };
        match self
            .store
            .move_in_branch_heads(&self.source.key, &heads)
            .await
        {
            Ok(()) => self.report.copied("branch heads", 1),
            Err(error) => self
                .report
                .gap(format!("the branch heads of {name}"), error.to_string()),
        }
    }
}

impl Run<'_> {
    /// Every phase, parents before children.
    pub async fn all(&mut self) -> anyhow::Result<()> {
        self.environments().await?;
        self.pacticipants().await?;
        self.versions().await?;
        let contents = self.pacts().await?;
        self.verifications(contents).await?;
        self.history().await?;
        self.webhooks().await?;
        Ok(())
    }
}
