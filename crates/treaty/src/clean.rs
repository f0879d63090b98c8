//! `treaty clean`: data retention with the Pact Broker's keep selectors.

use clap::Args;

#[derive(Debug, Args)]
pub struct CleanArgs {
    #[command(flatten)]
    database: crate::server::DatabaseArgs,
}

pub async fn clean(args: CleanArgs) -> i32 {
    let _ = args;
    eprintln!("error: treaty clean is not built yet");
    2
}
