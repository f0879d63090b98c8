//! A client of the Pact Broker HTTP API, as used by Treaty's CLI.
//!
//! It speaks to any Pact Broker compatible server (Treaty, the Ruby Pact
//! Broker, PactFlow) the way the official clients do: fetch the index `/`,
//! find a relation in its HAL `_links`, fill in the link's `{template}`, and
//! send JSON. Commands build on four pieces:
//!
//! * [`BrokerClient`]: authenticated requests with retries ([`BrokerConfig`]).
//! * [`hal`]: links and template expansion.
//! * [`ClientError`]: "could not connect", "the broker refused" (with the
//!   reasons read from any error body shape), or "unexpected response".
//! * [`Notice`]: the human-readable lines brokers return.

mod client;
mod error;
mod error_body;
pub mod hal;
mod notice;
mod retry;

pub use client::{
    Auth, BrokerClient, BrokerConfig, DEFAULT_RETRIES, Response, TlsOptions, USER_AGENT,
};
pub use error::{ClientError, Rejection};
pub use error_body::{ErrorDetails, parse_error_body};
pub use hal::{Link, TemplateError};
pub use notice::{Notice, Severity, notices_of};

/// Re-exported so callers build URLs and secrets with the same versions.
pub use secrecy::SecretString;
pub use url::Url;
