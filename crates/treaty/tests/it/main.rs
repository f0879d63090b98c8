//! End-to-end tests of the `treaty` binary and of Treaty with the official
//! Pact clients (the `pact` binary from pact-python-cli; the test command
//! installs it and puts it on PATH).

mod access_cli;
mod bench;
mod bi_directional;
mod browser;
mod clean;
mod cli_commands;
mod client_retries;
mod compatibility;
mod crash;
mod doctor;
mod export_import;
mod gates_cli;
mod hangs;
mod ledger_cli;
mod migrate_from;
mod official_clients;
mod one_truth_clients;
mod operations;
mod pact_broker_answers;
mod replicas;
mod ruby_client;
mod support;
mod ui;
mod ui_actions;
mod ui_bdct;
mod ui_browse;
mod ui_integrations;
mod ui_manage;
mod verifiers;
mod webhooks_cli;
