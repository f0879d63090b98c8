//! The `treaty` binary: the server (`serve`, `migrate`) and the broker client
//! commands (`publish`, `describe-version`, ...), which speak the Pact Broker
//! API to any broker.

mod bench;
mod broker;
mod clean;
mod doctor;
mod export_keys;
mod migrate_from;
mod server;

use clap::{Parser, Subcommand};

/// mimalloc instead of glibc's allocator: building and dropping large JSON
/// answers (a matrix of 1,000 rows) spent a quarter of its time in glibc's
/// free-list upkeep (`malloc_consolidate`); see docs/performance.md.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "treaty",
    version,
    about = "Treaty: a contract broker and deployment ledger"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the Treaty server.
    Serve(Box<server::ServeArgs>),
    /// Apply the database migrations (also done by `serve` at start).
    Migrate(server::MigrateArgs),
    /// Write everything in a database to a portable JSON file (a backup, or a move to another backend).
    Export(server::ExportArgs),
    /// Load a file written by `treaty export` into a database.
    Import(server::ImportArgs),
    /// Remove old versions with their pacts and verifications, keeping what the
    /// keep selectors name (the Pact Broker's data clean-up).
    Clean(Box<clean::CleanArgs>),
    /// Copy a running Pact Broker (all its history, deployments and webhooks) into
    /// Treaty's database through its API, then prove both answer the same
    MigrateFrom(Box<migrate_from::MigrateFromArgs>),
    /// Seed a benchmark data set and time Treaty against it.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// The audit log: list it through a Treaty, or verify its hash chain in the database.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Check what the database holds against today's rules (names that hide or fake
    /// characters), reading the database named by --database-url; exit 1 listing what breaks them
    Doctor(doctor::DoctorArgs),
    /// Client commands that talk to a broker over HTTP (the `pact broker` command set).
    #[command(flatten)]
    Broker(broker::BrokerCommand),
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Who changed what, newest first (needs an admin token)
    List(Box<broker::AuditListArgs>),
    /// Prove the hash chain unbroken, reading the database named by --database-url;
    /// exit 1 naming the first entry altered or removed
    Verify(server::AuditVerifyArgs),
}

fn main() {
    // mimalloc's arenas are eligible for transparent huge pages, so a few
    // touched bytes keep 2 MiB resident: at M the server started at 29 MiB
    // and peaked at 55 publishing 1 MB pacts, against 22 and 43 without
    // (docs/performance.md, "Memory"). Huge pages buy nothing measurable
    // here; where the kernel refuses the switch, nothing changes.
    let _ = rustix::thread::disable_transparent_huge_pages(true);
    let cli = Cli::parse();
    if let Command::Bench(bench::BenchCommand::Seed(_)) = &cli.command {
        // Before the runtime exists, so every thread it starts inherits it.
        bench::keep_to_one_cpu();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            std::process::exit(1);
        }
    };
    let code = runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => server::serve(*args).await,
            Command::Migrate(args) => server::migrate(args).await,
            Command::Export(args) => server::export(args).await,
            Command::Import(args) => server::import(args).await,
            Command::Clean(args) => clean::clean(*args).await,
            Command::MigrateFrom(args) => migrate_from::migrate_from(*args).await,
            Command::Bench(command) => bench::run(command).await,
            Command::Audit(AuditCommand::Verify(args)) => server::audit_verify(args).await,
            Command::Audit(AuditCommand::List(args)) => broker::audit_list(*args).await,
            Command::Doctor(args) => doctor::doctor(args).await,
            Command::Broker(cmd) => broker::run(cmd).await,
        }
    });
    std::process::exit(code);
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
    }
}
