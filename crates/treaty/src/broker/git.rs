//! Finding the commit, branch and build URL of the code being published:
//! from the CI system's environment variables first (CI checkouts are often
//! on a detached HEAD), then from the `git` command.
//!
//! The variable lists are those of the official clients, so `--auto-detect-
//! version-properties` picks the same values on the same CI systems.

use std::collections::HashMap;

/// Checked in order; the first one set wins.
const BRANCH_VARIABLES: &[&str] = &[
    "GITHUB_HEAD_REF",
    "GITHUB_REF",
    "BUILDKITE_BRANCH",
    "CIRCLE_BRANCH",
    "TRAVIS_BRANCH",
    "GIT_BRANCH",
    "GIT_LOCAL_BRANCH",
    "APPVEYOR_REPO_BRANCH",
    "CI_COMMIT_REF_NAME",
    "BITBUCKET_BRANCH",
    "BUILD_SOURCEBRANCHNAME",
    "CIRRUS_BRANCH",
];

const COMMIT_VARIABLES: &[&str] = &[
    "GITHUB_SHA",
    "BUILDKITE_COMMIT",
    "CIRCLE_SHA1",
    "TRAVIS_COMMIT",
    "GIT_COMMIT",
    "APPVEYOR_REPO_COMMIT",
    "CI_COMMIT_ID",
    "BITBUCKET_COMMIT",
    "BUILD_SOURCEVERSION",
    "CIRRUS_CHANGE_IN_REPO",
];

const BUILD_URL_VARIABLES: &[&str] = &[
    "BUILDKITE_BUILD_URL",
    "CIRCLE_BUILD_URL",
    "TRAVIS_BUILD_WEB_URL",
    "BUILD_URL",
];

/// A snapshot of the environment, so the rules below are pure functions.
pub type Environment = HashMap<String, String>;

pub fn current_environment() -> Environment {
    std::env::vars().collect()
}

pub async fn current_commit(env: &Environment) -> Option<String> {
    match commit_from(env) {
        Some(commit) => Some(commit),
        None => git(&["rev-parse", "HEAD"]).await,
    }
}

pub async fn current_branch(env: &Environment) -> Option<String> {
    match branch_from(env) {
        Some(branch) => Some(branch),
        // A detached HEAD answers "HEAD", which is not a branch.
        None => git(&["rev-parse", "--abbrev-ref", "HEAD"])
            .await
            .filter(|branch| branch != "HEAD"),
    }
}

pub fn commit_from(env: &Environment) -> Option<String> {
    first_set(env, COMMIT_VARIABLES)
}

pub fn branch_from(env: &Environment) -> Option<String> {
    if let Some(branch) = first_set(env, BRANCH_VARIABLES) {
        return Some(
            branch
                .strip_prefix("refs/heads/")
                .unwrap_or(&branch)
                .to_owned(),
        );
    }
    // Other CI systems: a single `*_BRANCH` variable is taken to be the
    // branch; with several, there is no telling which one is meant.
    let mut candidates = env
        .iter()
        .filter(|(name, value)| name.ends_with("_BRANCH") && !value.trim().is_empty());
    match (candidates.next(), candidates.next()) {
        (Some((_, value)), None) => Some(value.trim().to_owned()),
        _ => None,
    }
}

pub fn build_url_from(env: &Environment) -> Option<String> {
    github_actions_run_url(env).or_else(|| first_set(env, BUILD_URL_VARIABLES))
}

fn github_actions_run_url(env: &Environment) -> Option<String> {
    let server = set(env, "GITHUB_SERVER_URL")?;
    let repository = set(env, "GITHUB_REPOSITORY")?;
    let run = set(env, "GITHUB_RUN_ID")?;
    Some(format!(
        "{}/{repository}/actions/runs/{run}",
        server.trim_end_matches('/')
    ))
}

fn first_set(env: &Environment, names: &[&str]) -> Option<String> {
    names.iter().find_map(|name| set(env, name))
}

fn set(env: &Environment, name: &str) -> Option<String> {
    env.get(name)
        .map(|value| value.trim())
        .filter(|value| !value.is_empty())
        .map(str::to_owned)
}

/// The trimmed output of a successful `git` command; `None` when git is
/// missing, fails (not a repository) or prints nothing.
async fn git(args: &[&str]) -> Option<String> {
    let output = tokio::process::Command::new("git")
        .args(args)
        .output()
        .await
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Environment {
        pairs
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    }

    #[test]
    fn branch_from_known_variables_in_order_without_refs_heads() {
        assert_eq!(
            branch_from(&env(&[
                ("GITHUB_REF", "refs/heads/main"),
                ("CIRCLE_BRANCH", "other")
            ]))
            .as_deref(),
            Some("main")
        );
        assert_eq!(
            branch_from(&env(&[
                ("GITHUB_HEAD_REF", "feat/x"),
                ("GITHUB_REF", "refs/pull/1/merge")
            ]))
            .as_deref(),
            Some("feat/x")
        );
        assert_eq!(
            branch_from(&env(&[
                ("GITHUB_HEAD_REF", " "),
                ("CI_COMMIT_REF_NAME", "dev")
            ]))
            .as_deref(),
            Some("dev")
        );
    }

    #[test]
    fn a_single_unknown_branch_variable_is_used_but_not_two() {
        assert_eq!(
            branch_from(&env(&[("MY_CI_BRANCH", "trunk")])).as_deref(),
            Some("trunk")
        );
        assert_eq!(
            branch_from(&env(&[("A_BRANCH", "x"), ("B_BRANCH", "y")])),
            None
        );
        assert_eq!(branch_from(&env(&[])), None);
    }

    #[test]
    fn commit_and_build_url() {
        assert_eq!(
            commit_from(&env(&[
                ("GIT_COMMIT", "abc"),
                ("BUILD_SOURCEVERSION", "def")
            ]))
            .as_deref(),
            Some("abc")
        );
        assert_eq!(
            build_url_from(&env(&[
                ("GITHUB_SERVER_URL", "https://github.com/"),
                ("GITHUB_REPOSITORY", "o/r"),
                ("GITHUB_RUN_ID", "42"),
                ("BUILD_URL", "http://jenkins/1")
            ]))
            .as_deref(),
            Some("https://github.com/o/r/actions/runs/42")
        );
        assert_eq!(
            build_url_from(&env(&[("BUILD_URL", "http://jenkins/1")])).as_deref(),
            Some("http://jenkins/1")
        );
    }
}
