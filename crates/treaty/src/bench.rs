//! `treaty bench`: seed a benchmark data set and time Treaty against it.

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum BenchCommand {}

pub async fn run(command: BenchCommand) -> i32 {
    match command {}
}
