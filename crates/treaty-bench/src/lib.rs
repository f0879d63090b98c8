//! Treaty's benchmark (`treaty bench`): a deterministic CI history to seed a
//! database with ([`dataset`], [`seed`]), and timings over HTTP against a
//! Treaty serving it ([`run`], and every GET route in [`sweep`]), beside the floor the data allows ([`database`]).

pub mod database;
pub mod dataset;
pub mod report;
pub mod run;
pub mod seed;
pub mod server;
pub mod sweep;
