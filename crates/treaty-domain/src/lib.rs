//! Treaty's domain: the types and rules of a contract broker, with no IO.
//!
//! Everything here is pure: parsing of outside input into valid types
//! ("parse, don't validate"), pact content hashing, display names, and the
//! texts the broker says about what happened. Storage and HTTP live in other
//! crates and call into this one.

pub mod access;
pub mod badges;
pub mod display_name;
pub mod dora;
pub mod for_verification;
pub mod gates;
pub mod integration_status;
pub mod ledger;
pub mod matrix;
pub mod matrix_query;
pub mod model;
pub mod names;
pub mod pact;
pub mod pact_diff;
pub mod pipeline;
pub mod provider_contracts;
pub mod provider_states;
pub mod publish;
pub mod release;
pub mod retention;
pub mod suggest;
pub mod time;
pub mod url_path;
pub mod webhooks;

pub use names::{
    BranchName, EnvironmentName, LabelName, NameError, PacticipantName, TagName, VersionNumber,
};
