//! The `treaty` binary: the server (`serve`, `migrate`) and the broker client commands.

mod broker;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "treaty", version, about = "Treaty: a contract broker and deployment ledger")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Client commands that talk to a broker over HTTP (the `pact broker` command set).
    #[command(flatten)]
    Broker(broker::BrokerCommand),
}

fn main() {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let code = runtime.block_on(async move {
        match cli.command {
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
