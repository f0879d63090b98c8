//! `treaty migrate-from URL`: copies a running Pact Broker (or any server of
//! its API) into Treaty's database through the broker's public HAL API, then
//! asks both the same questions and compares the answers (`verify.rs`).
//!
//! The copy is phase by phase (`copy.rs`, `contracts.rs`, `history.rs`,
//! `webhooks.rs`), each unit written in one transaction with what it copied
//! recorded in `moved_in`: a run killed at any point is finished by the next
//! one, and a later run copies only what is new.

mod contracts;
mod copy;
mod history;
mod progress;
mod read;
mod report;
mod source;
mod verify;
mod webhooks;

use std::time::Instant;

use clap::{Args, ValueEnum};
use serde_json::json;
use treaty_client::{Auth, BrokerClient, BrokerConfig, SecretString, TlsOptions, Url};

use crate::server::DatabaseArgs;
use source::{Source, Unusable};

/// The exit codes (docs/cli.md lists them).
pub mod exit {
    /// Everything copied (or counted), and the answers are the same.
    pub const DONE: i32 = 0;
    /// It could not run: the database cannot be opened, a bad option.
    pub const FAILED: i32 = 1;
    /// The URL is not a Pact Broker, or cannot be reached.
    pub const NOT_A_BROKER: i32 = 3;
    /// The source refused the credentials.
    pub const REFUSED: i32 = 4;
    /// Some resources could not be read or written: named in the summary.
    pub const GAPS: i32 = 5;
    /// Everything was copied, but the source and Treaty answer differently.
    pub const DIFFERENT: i32 = 6;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct MigrateFromArgs {
    /// The base URL of the broker to copy from (the one `pact broker` commands use)
    #[arg(value_name = "URL", value_parser = parse_base_url)]
    url: Url,

    /// The source's bearer token
    #[arg(
        short = 'k',
        long,
        env = "PACT_BROKER_TOKEN",
        value_name = "PACT_BROKER_TOKEN",
        hide_env_values = true
    )]
    broker_token: Option<String>,

    /// The source's basic auth username
    #[arg(
        short = 'u',
        long,
        env = "PACT_BROKER_USERNAME",
        value_name = "PACT_BROKER_USERNAME"
    )]
    broker_username: Option<String>,

    /// The source's basic auth password
    #[arg(
        short = 'p',
        long,
        env = "PACT_BROKER_PASSWORD",
        value_name = "PACT_BROKER_PASSWORD",
        hide_env_values = true
    )]
    broker_password: Option<String>,

    /// Times a request is retried on a timeout, 429 or 5xx, with back-off
    /// from 0.5 s doubling (or the source's Retry-After)
    #[arg(
        long,
        env = "PACT_BROKER_HTTP_RETRIES",
        value_name = "PACT_BROKER_HTTP_RETRIES",
        default_value_t = 8
    )]
    retries: u8,

    /// Requests to the source at a time
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
    concurrency: u16,

    /// Count what would be copied, and write nothing
    #[arg(long, conflicts_with = "verify")]
    dry_run: bool,

    /// Only compare the answers of the source and Treaty; copy nothing
    #[arg(long, conflicts_with = "no_verify")]
    verify: bool,

    /// Do not compare the answers after copying
    #[arg(long)]
    no_verify: bool,

    /// The summary and parity report for people, or as one JSON document
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Text)]
    output: Output,

    #[command(flatten)]
    database: DatabaseArgs,
}

fn parse_base_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text.trim()).map_err(|error| error.to_string())?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("the broker URL must start with http:// or https://".to_owned());
    }
    Ok(url)
}

impl MigrateFromArgs {
    fn auth(&self) -> Option<Auth> {
        if let Some(token) = &self.broker_token {
            return Some(Auth::Bearer(SecretString::from(token.clone())));
        }
        self.broker_username.as_ref().map(|username| Auth::Basic {
            username: username.clone(),
            password: self.broker_password.clone().map(SecretString::from),
        })
    }

    fn client(&self) -> anyhow::Result<BrokerClient> {
        Ok(BrokerClient::new(BrokerConfig {
            base_url: self.url.clone(),
            auth: self.auth(),
            retries: u32::from(self.retries),
            headers: Vec::new(),
            tls: TlsOptions {
                ca_certificate: None,
                skip_verification: false,
                use_system_roots: true,
            },
            announce_retries: true,
        })?)
    }
}

pub async fn migrate_from(args: MigrateFromArgs) -> i32 {
    let client = match args.client() {
        Ok(client) => client,
        Err(error) => {
            eprintln!(
                "error: cannot set up the connection to {}: {error}",
                args.url
            );
            return exit::FAILED;
        }
    };
    let source = match Source::connect(client).await {
        Ok(source) => source,
        Err(error) => {
            eprintln!("error: {error}");
            return match error {
                Unusable::Refused { .. } => exit::REFUSED,
                _ => exit::NOT_A_BROKER,
            };
        }
    };
    let Some(store) = args.database.open_or_say_why().await else {
        return exit::FAILED;
    };
    let progress = progress::Progress::on_stderr();
    let mut document = serde_json::Map::new();
    let mut code = exit::DONE;
    if !args.verify {
        let started = Instant::now();
        let mut run = copy::Run::new(
            &source,
            store.as_ref(),
            usize::from(args.concurrency),
            args.dry_run,
            progress,
        );
        if let Err(error) = run.all().await {
            eprintln!("error: {error}");
            return exit::FAILED;
        }
        run.report.requests = source.requests();
        run.report.seconds = started.elapsed().as_secs_f64();
        if !run.report.gaps.is_empty() {
            code = exit::GAPS;
        }
        match args.output {
            Output::Text => print!("{}", run.report.text()),
            Output::Json => {
                document.insert("migration".into(), json!(run.report));
            }
        }
    }
    if !args.dry_run && (args.verify || !args.no_verify) {
        let parity =
            match verify::parity(&source, store.clone(), usize::from(args.concurrency)).await {
                Ok(parity) => parity,
                Err(error) => {
                    eprintln!("error: cannot compare the answers: {error}");
                    return exit::FAILED;
                }
            };
        if !parity.differences.is_empty() && code == exit::DONE {
            code = exit::DIFFERENT;
        }
        match args.output {
            Output::Text => print!("{}", parity.text()),
            Output::Json => {
                document.insert("parity".into(), json!(parity));
            }
        }
    }
    if args.output == Output::Json {
        println!(
            "{}",
            serde_json::to_string_pretty(&document).unwrap_or_default()
        );
    }
    code
}
