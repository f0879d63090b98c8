//! `treaty bench`: seed a benchmark data set and time Treaty against it.
//! Exit codes: 0 done, 1 failed (what failed is on stderr).

use std::io::IsTerminal;

use clap::{Args, Subcommand, ValueEnum};
use treaty_bench::database::Database;
use treaty_bench::dataset::Size;
use treaty_bench::run::Options;
use treaty_bench::server::ServerProcess;

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Fill an empty database with a deterministic CI history of the given size,
    /// through Treaty's write path (publications, verifications, deployments).
    Seed(SeedArgs),
    /// Time Treaty over HTTP against a seeded database: latencies, the
    /// in-process floor, throughput under concurrency, CPU and memory.
    Run(RunArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Output {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct SeedArgs {
    /// S (a few hundred versions, for CI), M (2.5k), L (150k), XL (750k).
    #[arg(long, value_enum, ignore_case = true)]
    size: Size,

    /// The database to fill: a new SQLite file or an empty PostgreSQL database.
    #[arg(long, env = "TREATY_DATABASE_URL", hide_env_values = true)]
    database_url: String,

    #[arg(short, long, value_enum, default_value_t = Output::Text)]
    output: Output,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The seeded database. A SQLite file is copied first (next to it, as
    /// `NAME.run.db`) so the seed stays as it was; PostgreSQL is used in place.
    #[arg(long, env = "TREATY_DATABASE_URL", hide_env_values = true)]
    database_url: String,

    /// Time a Treaty already serving that database instead of starting one.
    #[arg(long)]
    url: Option<String>,

    /// The process id of the Treaty at --url, for its CPU time and memory.
    #[arg(long, requires = "url")]
    pid: Option<u32>,

    /// Timed requests per operation.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(10..))]
    iterations: u64,

    /// Seconds of each throughput run.
    #[arg(long, default_value_t = 5.0)]
    load_seconds: f64,

    /// Concurrent clients of the throughput runs (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "1,16,64")]
    concurrency: Vec<usize>,

    /// Time one section alone: the small writes from 1, 16 and 64 writers
    /// (--concurrency), every GET route of the OpenAPI description on a URL
    /// the answers' links lead to, or the throughput runs.
    #[arg(long, value_enum)]
    only: Option<treaty_bench::run::Section>,

    /// The same as --only writes.
    #[arg(long, conflicts_with = "only")]
    writes_only: bool,

    #[arg(short, long, value_enum, default_value_t = Output::Text)]
    output: Output,
}

pub async fn run(command: BenchCommand) -> i32 {
    // Quiet unless asked: RUST_LOG=sqlx::query=debug shows every statement.
    if let Ok(filter) = tracing_subscriber::EnvFilter::try_from_default_env() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .try_init();
    }
    let result = match command {
        BenchCommand::Seed(args) => seed(args).await,
        BenchCommand::Run(args) => time(args).await,
    };
    match result {
        Ok(()) => 0,
        Err(error) => {
            eprintln!("error: {error:#}");
            1
        }
    }
}

/// Keeps this process on one CPU. The seed is one writer issuing statements
/// one after another, each a hand-off between a runtime thread and the
/// database's worker thread; on different CPUs every hand-off is a
/// cross-CPU wake-up, which on a small VM costs more than the statement
/// (seeding M: 37 s spread over two CPUs, 9.6 s on one). Best effort: if the
/// kernel refuses, the seed is only slower.
pub fn keep_to_one_cpu() {
    use rustix::thread::{CpuSet, sched_getcpu, sched_setaffinity};
    // The CPU the kernel runs us on now, not always the first: two seeds
    // (SQLite and PostgreSQL) side by side then tend to land apart.
    let mut one = CpuSet::new();
    one.set(sched_getcpu());
    let _ = sched_setaffinity(None, &one);
}

async fn seed(args: SeedArgs) -> anyhow::Result<()> {
    let store = treaty_store::open(
        &args.database_url,
        treaty_store::OpenOptions {
            bulk_load: true,
            ..treaty_store::OpenOptions::default()
        },
    )
    .await?;
    let label = args.size.label();
    let terminal = std::io::stderr().is_terminal();
    let seeded = treaty_bench::seed::seed(store.as_ref(), args.size, |done, total| {
        let line = format!(
            "seeding {label}: {}/{} builds ({:.0}%), {} verifications, {} deployments, {:.0} s",
            done.builds,
            total,
            done.builds as f64 * 100.0 / total.max(1) as f64,
            done.verifications,
            done.deployments,
            done.seconds
        );
        if terminal {
            eprint!("\r{line}");
        } else {
            eprintln!("{line}");
        }
    })
    .await?;
    if terminal {
        eprintln!();
    }
    match args.output {
        Output::Json => println!("{}", serde_json::json!({"size": label, "seeded": seeded})),
        Output::Text => println!(
            "seeded {label}: {} builds, {} publications ({} contracts), {} verifications, {} deployments in {:.1} s",
            seeded.builds,
            seeded.publications,
            seeded.contracts,
            seeded.verifications,
            seeded.deployments,
            seeded.seconds
        ),
    }
    Ok(())
}

/// A copy of a SQLite database (file and write-ahead log) to run against.
fn sqlite_copy(url: &str) -> anyhow::Result<String> {
    let path = url.trim_start_matches("sqlite://");
    let path = path.split('?').next().unwrap_or(path);
    let copy = format!("{}.run.db", path.trim_end_matches(".db"));
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{copy}{suffix}"));
    }
    std::fs::copy(path, &copy).map_err(|e| anyhow::anyhow!("cannot copy {path} to {copy}: {e}"))?;
    if std::path::Path::new(&format!("{path}-wal")).exists() {
        std::fs::copy(format!("{path}-wal"), format!("{copy}-wal"))?;
    }
    Ok(format!("sqlite://{copy}"))
}

async fn time(args: RunArgs) -> anyhow::Result<()> {
    let url = if args.database_url.starts_with("sqlite://") && args.url.is_none() {
        sqlite_copy(&args.database_url)?
    } else {
        args.database_url.clone()
    };
    let (server, base, pid) = match &args.url {
        Some(base) => (None, base.trim_end_matches('/').to_owned(), args.pid),
        None => {
            eprintln!(
                "starting treaty serve on {}",
                treaty_store::redact_url(&url)
            );
            let server = ServerProcess::start(&std::env::current_exe()?, &url).await?;
            let (base, pid) = (server.base.clone(), Some(server.pid));
            (Some(server), base, pid)
        }
    };
    let database = Database::open(&url).await?;
    let options = Options {
        iterations: args.iterations as usize,
        load_seconds: args.load_seconds,
        concurrency: args.concurrency,
        only: if args.writes_only {
            Some(treaty_bench::run::Section::Writes)
        } else {
            args.only
        },
    };
    let report = treaty_bench::run::run(&base, pid, &database, &options, |step| {
        eprintln!("{step}");
    })
    .await;
    if let Some(server) = server {
        server.stop().await?;
    }
    let report = report?;
    match args.output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Output::Text => print!("{}", treaty_bench::report::text(&report)),
    }
    Ok(())
}
