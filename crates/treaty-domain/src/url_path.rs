//! How names appear in URLs: one path segment each, escaped as the Pact
//! Broker escapes them (so `/` inside a name becomes `%2F`).

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Everything but `A-Z a-z 0-9 _ . ~ -` is escaped.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'-');

/// Escapes a name for use as one path segment (or one query value).
pub fn segment(name: &str) -> String {
    utf8_percent_encode(name, SEGMENT).to_string()
}
