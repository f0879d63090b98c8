//! Integration tests of the HTTP API, in process, against a real SQLite file.

mod access;
mod access_rules;
mod badges;
mod can_i_deploy;
mod errors;
mod for_verification;
mod gates;
mod hostile;
mod ledger;
mod links;
mod matrix;
mod one_truth;
mod one_truth_property;
mod openapi;
mod pact_diffs;
mod pacticipants;
mod pacts;
mod poisonous_input;
mod provider_states;
mod route_table;
mod support;
mod ui;
mod ui_sessions;
mod verifications;
mod versions;
mod webhooks;
