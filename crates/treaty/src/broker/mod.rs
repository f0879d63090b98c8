//! The broker client commands (`treaty publish`, `treaty describe-version`,
//! ...): the `pact broker` command set, with its names, flags, environment
//! variables and exit codes, talking to any Pact Broker compatible server
//! through `treaty-client`.
//!
//! Each command lives in the module of the resource it works on; this module
//! only dispatches, sets up logging and turns failures into exit code 1
//! (clap itself exits with 2 on a usage error).

mod access;
mod can_i_deploy;
mod deployments;
mod environments;
mod gates;
mod git;
mod ledger;
mod options;
mod output;
mod pact_files;
mod pacticipants;
mod pacts;
mod publish;
mod tags;
mod verification;
mod versions;
mod webhooks;

use clap::Subcommand;
use options::{BrokerOptions, LogLevel};

// Each command's arguments are boxed: they are large (URLs, options), and
// `main`'s command enum should not grow to the size of the largest one.
// (A plain comment: clap would read a doc comment here as help text.)
#[derive(Debug, Subcommand)]
pub enum BrokerCommand {
    /// Publishes pacts to the Pact Broker
    Publish(Box<publish::PublishArgs>),
    /// List the latest pact for each integration
    ListLatestPactVersions(Box<pacts::ListLatestPactVersionsArgs>),
    /// Create or update pacticipant by name
    CreateOrUpdatePacticipant(Box<pacticipants::CreateOrUpdatePacticipantArgs>),
    /// Describe a pacticipant
    DescribePacticipant(Box<pacticipants::DescribePacticipantArgs>),
    /// List pacticipants
    ListPacticipants(Box<pacticipants::ListPacticipantsArgs>),
    /// Add a tag to a pacticipant version
    CreateVersionTag(Box<tags::CreateVersionTagArgs>),
    /// Describes a pacticipant version. If no version or tag is specified, the latest version is described.
    DescribeVersion(Box<versions::DescribeVersionArgs>),
    /// Create an environment resource in the Pact Broker to represent a real world deployment or release environment
    CreateEnvironment(Box<environments::CreateEnvironmentArgs>),
    /// Update an environment resource in the Pact Broker
    UpdateEnvironment(Box<environments::UpdateEnvironmentArgs>),
    /// Describe an environment
    DescribeEnvironment(Box<environments::EnvironmentUuidArgs>),
    /// List environments
    ListEnvironments(Box<environments::ListEnvironmentsArgs>),
    /// Delete an environment
    DeleteEnvironment(Box<environments::EnvironmentUuidArgs>),
    /// Record deployment of a pacticipant version to an environment
    RecordDeployment(Box<deployments::RecordDeploymentArgs>),
    /// Record undeployment of a pacticipant version from an environment
    RecordUndeployment(Box<deployments::RecordUndeploymentArgs>),
    /// Record release of a pacticipant version to an environment
    RecordRelease(Box<deployments::RecordReleaseArgs>),
    /// Record the end of support for a pacticipant version in an environment
    RecordSupportEnded(Box<deployments::RecordReleaseArgs>),
    /// Check if a pacticipant can be deployed (exit 0: yes; 1: no or unknown)
    CanIDeploy(Box<can_i_deploy::CanIDeployArgs>),
    /// Get pacts for a specified provider, optionally filtered by consumer and/or branch
    GetPacts(Box<verification::GetPactsArgs>),
    /// Show which pacts a provider build would verify, why, and whether a failure would fail the build
    VerifyPlan(Box<verification::VerifyPlanArgs>),
    /// The deployment ledger: record deployments as a pipeline runs them, and list them
    #[command(subcommand)]
    Deployment(ledger::DeploymentCommand),
    /// Would a deployment pass the environment's gates now? Changes nothing; exit 0 when allowed
    Preflight(Box<gates::PreflightArgs>),
    /// In which order new versions of several pacticipants can go to an environment, from their contracts
    Plan(Box<gates::PlanArgs>),
    /// An environment's deployment gates: show, apply from a JSON file, clear
    #[command(subcommand)]
    Policy(gates::PolicyCommand),
    /// Create a webhook
    CreateWebhook(Box<webhooks::WebhookArgs>),
    /// Create or update a webhook
    CreateOrUpdateWebhook(Box<webhooks::CreateOrUpdateArgs>),
    /// Delete a webhook
    DeleteWebhook(Box<webhooks::UuidArgs>),
    /// Test a webhook: send it now and print what happened
    TestWebhook(Box<webhooks::UuidArgs>),
    /// Generate a UUID for use when calling create-or-update-webhook
    GenerateUuid,
    /// Webhook deliveries: what was sent, what failed, what will be retried
    #[command(subcommand)]
    Webhook(webhooks::WebhookCommand),
    /// API tokens: create (shown once), list, revoke
    #[command(subcommand)]
    Token(access::TokenCommand),
    /// DORA metrics from the deployment ledger: deployment frequency, lead time, change failure rate, time to restore
    Metrics(Box<ledger::MetricsArgs>),
}

impl BrokerCommand {
    /// The connection options; `None` for commands that talk to no broker.
    fn broker_options(&self) -> Option<&BrokerOptions> {
        Some(match self {
            BrokerCommand::GenerateUuid => return None,
            BrokerCommand::Publish(args) => &args.broker,
            BrokerCommand::ListLatestPactVersions(args) => &args.broker,
            BrokerCommand::CreateOrUpdatePacticipant(args) => &args.broker,
            BrokerCommand::DescribePacticipant(args) => &args.broker,
            BrokerCommand::ListPacticipants(args) => &args.broker,
            BrokerCommand::CreateVersionTag(args) => &args.broker,
            BrokerCommand::DescribeVersion(args) => &args.broker,
            BrokerCommand::CreateEnvironment(args) => &args.broker,
            BrokerCommand::UpdateEnvironment(args) => &args.broker,
            BrokerCommand::DescribeEnvironment(args) | BrokerCommand::DeleteEnvironment(args) => {
                &args.broker
            }
            BrokerCommand::ListEnvironments(args) => &args.broker,
            BrokerCommand::RecordDeployment(args) => &args.broker,
            BrokerCommand::RecordUndeployment(args) => &args.broker,
            BrokerCommand::RecordRelease(args) | BrokerCommand::RecordSupportEnded(args) => {
                &args.broker
            }
            BrokerCommand::CanIDeploy(args) => &args.broker,
            BrokerCommand::GetPacts(args) => &args.broker,
            BrokerCommand::VerifyPlan(args) => &args.broker,
            BrokerCommand::Deployment(command) => command.broker(),
            BrokerCommand::Metrics(args) => &args.broker,
            BrokerCommand::Preflight(args) => &args.broker,
            BrokerCommand::Plan(args) => &args.broker,
            BrokerCommand::Token(command) => command.broker(),
            BrokerCommand::CreateWebhook(args) => &args.broker,
            BrokerCommand::CreateOrUpdateWebhook(args) => &args.webhook.broker,
            BrokerCommand::DeleteWebhook(args) | BrokerCommand::TestWebhook(args) => &args.broker,
            BrokerCommand::Webhook(command) => command.broker(),
            BrokerCommand::Policy(command) => command.broker(),
        })
    }
}

pub use access::AuditListArgs;

/// `treaty audit list`, with the broker commands' logging and exit codes.
pub async fn audit_list(args: AuditListArgs) -> i32 {
    init_logging(args.broker.log_level);
    match access::audit_list(args).await {
        Ok(()) => 0,
        Err(error) => {
            output::print_error(&error);
            1
        }
    }
}

/// Runs one command and returns the process exit code: 0 on success, 1 when
/// the command failed (the broker refused, the thing was not found, or the
/// broker could not be reached), after printing why on stderr.
pub async fn run(cmd: BrokerCommand) -> i32 {
    if let Some(options) = cmd.broker_options() {
        init_logging(options.log_level);
    }
    let outcome = match cmd {
        BrokerCommand::Publish(args) => publish::run(*args).await,
        BrokerCommand::ListLatestPactVersions(args) => pacts::list_latest(*args).await,
        BrokerCommand::CreateOrUpdatePacticipant(args) => {
            pacticipants::create_or_update(*args).await
        }
        BrokerCommand::DescribePacticipant(args) => pacticipants::describe(*args).await,
        BrokerCommand::ListPacticipants(args) => pacticipants::list(*args).await,
        BrokerCommand::CreateVersionTag(args) => tags::create(*args).await,
        BrokerCommand::DescribeVersion(args) => versions::describe(*args).await,
        BrokerCommand::CreateEnvironment(args) => environments::create(*args).await,
        BrokerCommand::UpdateEnvironment(args) => environments::update(*args).await,
        BrokerCommand::DescribeEnvironment(args) => environments::describe_one(*args).await,
        BrokerCommand::ListEnvironments(args) => environments::list(*args).await,
        BrokerCommand::DeleteEnvironment(args) => environments::delete(*args).await,
        BrokerCommand::RecordDeployment(args) => deployments::record_deployment(*args).await,
        BrokerCommand::RecordUndeployment(args) => deployments::record_undeployment(*args).await,
        BrokerCommand::RecordRelease(args) => deployments::record_release(*args).await,
        BrokerCommand::RecordSupportEnded(args) => deployments::record_support_ended(*args).await,
        BrokerCommand::GetPacts(args) => verification::get_pacts(*args).await,
        BrokerCommand::VerifyPlan(args) => verification::verify_plan(*args).await,
        BrokerCommand::Deployment(command) => ledger::run(command).await,
        BrokerCommand::Metrics(args) => ledger::metrics(*args).await,
        BrokerCommand::Policy(command) => gates::policy(command).await,
        BrokerCommand::Token(command) => access::token(command).await,
        BrokerCommand::CreateWebhook(args) => webhooks::create(*args).await,
        BrokerCommand::CreateOrUpdateWebhook(args) => webhooks::create_or_update(*args).await,
        BrokerCommand::DeleteWebhook(args) => webhooks::delete(*args).await,
        BrokerCommand::TestWebhook(args) => webhooks::test(*args).await,
        BrokerCommand::Webhook(command) => webhooks::webhook(command).await,
        BrokerCommand::GenerateUuid => {
            webhooks::generate_uuid();
            return 0;
        }
        BrokerCommand::Plan(args) => {
            return match gates::plan(*args).await {
                Ok(code) => code,
                Err(error) => {
                    output::print_error(&error);
                    1
                }
            };
        }
        // preflight's exit code is its answer: 0 allowed, else the blocking cause's.
        BrokerCommand::Preflight(args) => {
            return match gates::preflight(*args).await {
                Ok(code) => code,
                Err(error) => {
                    output::print_error(&error);
                    1
                }
            };
        }
        // can-i-deploy has its own exit code: 1 for "no" is an answer, not a failure.
        BrokerCommand::CanIDeploy(args) => {
            return match can_i_deploy::run(*args).await {
                Ok(code) => code,
                Err(error) => {
                    output::print_error(&error);
                    1
                }
            };
        }
    };
    match outcome {
        Ok(()) => 0,
        Err(error) => {
            output::print_error(&error);
            // A deployment the gates refused exits with the cause's own code.
            gates::exit_code_for_error(&error)
        }
    }
}

/// `--log-level` other than off shows the client's requests and retries
/// on stderr, where they cannot mix with `-o json` output.
fn init_logging(level: LogLevel) {
    let filter = match level {
        LogLevel::Off | LogLevel::Silent => return,
        LogLevel::Error => tracing::Level::ERROR,
        LogLevel::Warn => tracing::Level::WARN,
        LogLevel::Info => tracing::Level::INFO,
        LogLevel::Debug => tracing::Level::DEBUG,
        LogLevel::Trace => tracing::Level::TRACE,
    };
    // Fails only if a subscriber is already set, which then does the job.
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(output::Colours::for_stderr().enabled())
        .with_max_level(filter)
        .try_init();
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use clap::Parser;

    /// The commands as `main` mounts them: flattened into the top level.
    #[derive(Debug, Parser)]
    #[command(name = "treaty")]
    struct Cli {
        #[command(subcommand)]
        command: BrokerCommand,
    }

    fn parse(args: &[&str]) -> Result<BrokerCommand, clap::Error> {
        Cli::try_parse_from(std::iter::once("treaty").chain(args.iter().copied()))
            .map(|cli| cli.command)
    }

    /// Options for tests that build an args struct by hand.
    pub(crate) fn broker_options() -> BrokerOptions {
        match parse(&["list-pacticipants", "-b", "http://localhost:9292"]) {
            Ok(BrokerCommand::ListPacticipants(args)) => args.broker,
            other => panic!("unexpected parse: {other:?}"),
        }
    }

    #[test]
    fn verify_cli() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn publish_tags_are_repeatable_and_comma_separated() {
        let parsed = parse(&[
            "publish", "pacts", "-b", "http://b", "-a", "1", "-t", "dev,ci", "--tag", "prod",
        ]);
        let Ok(BrokerCommand::Publish(args)) = parsed else {
            panic!("unexpected parse: {parsed:?}");
        };
        assert_eq!(args.tags, ["dev", "ci", "prod"]);
        assert_eq!(args.sources, ["pacts"]);
    }

    #[test]
    fn publish_needs_a_version_unless_it_detects_one() {
        assert!(parse(&["publish", "pacts", "-b", "http://b"]).is_err());
        assert!(parse(&["publish", "pacts", "-b", "http://b", "-r"]).is_ok());
    }

    #[test]
    fn describe_version_latest_takes_an_optional_tag() {
        let latest = parse(&["describe-version", "-b", "http://b", "-a", "Foo", "-l"]);
        let Ok(BrokerCommand::DescribeVersion(args)) = latest else {
            panic!("unexpected parse: {latest:?}");
        };
        assert_eq!(args.latest.as_deref(), Some(""));
        let tagged = parse(&[
            "describe-version",
            "-b",
            "http://b",
            "-a",
            "Foo",
            "--latest",
            "prod",
            "-o",
            "json",
        ]);
        let Ok(BrokerCommand::DescribeVersion(args)) = tagged else {
            panic!("unexpected parse: {tagged:?}");
        };
        assert_eq!(args.latest.as_deref(), Some("prod"));
    }

    #[test]
    fn create_version_tag_accepts_several_tags() {
        let parsed = parse(&[
            "create-version-tag",
            "-b",
            "http://b",
            "-a",
            "Foo",
            "-e",
            "1",
            "-t",
            "a,b",
            "-t",
            "c",
        ]);
        let Ok(BrokerCommand::CreateVersionTag(args)) = parsed else {
            panic!("unexpected parse: {parsed:?}");
        };
        assert_eq!(args.tags, ["a", "b", "c"]);
        assert!(
            parse(&[
                "create-version-tag",
                "-b",
                "http://b",
                "-a",
                "Foo",
                "-e",
                "1"
            ])
            .is_err()
        );
        assert!(
            parse(&[
                "create-version-tag",
                "-b",
                "http://b",
                "-a",
                "Foo",
                "-e",
                "1",
                "-g"
            ])
            .is_ok()
        );
    }

    #[test]
    fn output_formats_are_those_of_each_official_command() {
        assert!(parse(&["list-pacticipants", "-b", "http://b", "-o", "text"]).is_err());
        assert!(
            parse(&[
                "describe-pacticipant",
                "-b",
                "http://b",
                "--name",
                "Foo",
                "-o",
                "table"
            ])
            .is_ok()
        );
        assert!(parse(&["publish", "p", "-b", "http://b", "-a", "1", "-o", "pretty"]).is_ok());
    }

    #[test]
    fn a_token_wins_over_basic_auth() {
        let parsed = parse(&[
            "list-pacticipants",
            "-b",
            "http://b",
            "-k",
            "secret",
            "-u",
            "user",
            "-p",
            "pw",
        ]);
        let Ok(BrokerCommand::ListPacticipants(args)) = parsed else {
            panic!("unexpected parse: {parsed:?}");
        };
        assert!(matches!(
            args.broker.auth(),
            Some(treaty_client::Auth::Bearer(_))
        ));
        let basic = parse(&["list-pacticipants", "-b", "http://b", "-u", "user"]);
        let Ok(BrokerCommand::ListPacticipants(args)) = basic else {
            panic!("unexpected parse: {basic:?}");
        };
        assert!(matches!(
            args.broker.auth(),
            Some(treaty_client::Auth::Basic { ref username, password: None }) if username == "user"
        ));
    }
}
