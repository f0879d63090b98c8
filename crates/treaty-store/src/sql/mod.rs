//! The store's SQL, written once and compiled once per backend.
//!
//! Each backend module (`sqlite.rs`, and PostgreSQL's later) declares the
//! types this code is written against (`Backend`, `Conn`, `DbRow`) and the
//! functions it needs (`now`, `sql`, `Backend::begin`, `Backend::reader`),
//! then includes this folder with `#[path = "sql/mod.rs"] mod sql;`.
//! The SQL itself is the common dialect of SQLite and PostgreSQL: `?`
//! placeholders (which `sql()` rewrites where the backend needs it),
//! `string_agg`, `ON CONFLICT`, `RETURNING`, window functions.

mod access;
mod badges;
mod clean;
mod dashboard;
mod deployments;
pub(crate) mod dump;
mod environments;
mod for_verification;
mod gates;
mod ledger;
mod matrix;
mod metrics;
mod move_in;
mod names;
mod pacticipants;
mod pacts;
mod provider_contracts;
mod provider_states;
mod rows;
pub(crate) mod settings;
mod verifications;
mod versions;
mod webhooks;
pub(crate) mod write_tx;

pub(crate) use super::{Backend, Conn, DbRow, WriteConn, now, sql};
pub(crate) use write_tx::WriteTx;
