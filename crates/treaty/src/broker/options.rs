//! The options every broker command takes (where the broker is, how to log
//! in, retries, TLS), named as `pact broker` names them, env vars included,
//! so existing CI scripts work unchanged.

use std::path::PathBuf;

use anyhow::Context;
use clap::{ArgAction, Args, ValueEnum};
use treaty_client::{Auth, BrokerClient, BrokerConfig, SecretString, TlsOptions, Url};

#[derive(Debug, Args)]
pub struct BrokerOptions {
    /// The base URL of the Pact Broker
    #[arg(short = 'b', long, env = "PACT_BROKER_BASE_URL", value_name = "PACT_BROKER_BASE_URL", value_parser = parse_base_url)]
    pub broker_base_url: Url,

    /// Pact Broker basic auth username
    #[arg(
        short = 'u',
        long,
        env = "PACT_BROKER_USERNAME",
        value_name = "PACT_BROKER_USERNAME"
    )]
    pub broker_username: Option<String>,

    /// Pact Broker basic auth password
    #[arg(
        short = 'p',
        long,
        env = "PACT_BROKER_PASSWORD",
        value_name = "PACT_BROKER_PASSWORD",
        hide_env_values = true
    )]
    pub broker_password: Option<String>,

    /// Pact Broker bearer token
    #[arg(
        short = 'k',
        long,
        env = "PACT_BROKER_TOKEN",
        value_name = "PACT_BROKER_TOKEN",
        hide_env_values = true
    )]
    pub broker_token: Option<String>,

    /// Custom header(s) to send with requests (format: 'Header-Name: Value', can be used multiple times)
    #[arg(long = "custom-header", value_name = "HEADER", value_parser = parse_custom_header)]
    pub custom_headers: Vec<CustomHeader>,

    /// The number of times to retry failed HTTP requests to the Pact Broker (retries on timeouts,
    /// 5xx, 408, and 429; a refused connection fails at once). Delays use exponential back-off
    /// starting at 500 ms and doubling each attempt (0.5 s, 1 s, 2 s, 4 s, 8 s, …). Responses with a
    /// Retry-After header in seconds wait that long instead. Each retry is announced on stderr.
    #[arg(
        long,
        env = "PACT_BROKER_HTTP_RETRIES",
        value_name = "PACT_BROKER_HTTP_RETRIES",
        default_value_t = 8
    )]
    pub retries: u8,

    /// The path to a valid SSL certificate file
    #[arg(short = 'c', long, env = "SSL_CERT_FILE", value_name = "SSL_CERT_FILE")]
    pub ssl_certificate: Option<PathBuf>,

    /// Skip SSL certificate verification
    #[arg(long, env = "SSL_SKIP_VERIFICATION")]
    pub skip_ssl_verification: bool,

    /// Use the system's root trust store for SSL verification
    #[arg(long, env = "SSL_TRUST_STORE", value_name = "SSL_TRUST_STORE", default_value_t = true, action = ArgAction::Set)]
    pub ssl_trust_store: bool,

    /// Set the log level (none, off, error, warn, info, debug, trace)
    #[arg(long, value_name = "LEVEL", value_enum, default_value_t = LogLevel::Off)]
    pub log_level: LogLevel,
}

impl BrokerOptions {
    pub fn client(&self) -> anyhow::Result<BrokerClient> {
        let config = BrokerConfig {
            base_url: self.broker_base_url.clone(),
            auth: self.auth(),
            retries: u32::from(self.retries),
            headers: self
                .custom_headers
                .iter()
                .map(|header| (header.name.clone(), header.value.clone()))
                .collect(),
            tls: TlsOptions {
                ca_certificate: self.ssl_certificate.clone(),
                skip_verification: self.skip_ssl_verification,
                use_system_roots: self.ssl_trust_store,
            },
            announce_retries: true,
        };
        BrokerClient::new(config).context("cannot set up the connection to the broker")
    }

    pub(super) fn auth(&self) -> Option<Auth> {
        if let Some(token) = &self.broker_token {
            return Some(Auth::Bearer(SecretString::from(token.clone())));
        }
        match (&self.broker_username, &self.broker_password) {
            (Some(username), password) => Some(Auth::Basic {
                username: username.clone(),
                password: password.clone().map(SecretString::from),
            }),
            (None, Some(_)) => {
                eprintln!(
                    "warning: a broker password was given without a username; it is not sent"
                );
                None
            }
            (None, None) => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogLevel {
    Off,
    #[value(name = "none")]
    Silent,
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

/// One `--custom-header 'Name: Value'`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomHeader {
    pub name: String,
    pub value: String,
}

fn parse_custom_header(text: &str) -> Result<CustomHeader, String> {
    let (name, value) = text
        .split_once(':')
        .ok_or_else(|| format!("expected 'Header-Name: Value', got {text:?}"))?;
    let (name, value) = (name.trim(), value.trim());
    if name.is_empty() || value.is_empty() {
        return Err(format!(
            "expected 'Header-Name: Value' with both parts, got {text:?}"
        ));
    }
    Ok(CustomHeader {
        name: name.to_owned(),
        value: value.to_owned(),
    })
}

fn parse_base_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text.trim()).map_err(|error| error.to_string())?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("the broker base URL must start with http:// or https://".to_owned());
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_headers_split_at_the_first_colon() {
        assert_eq!(
            parse_custom_header("X-Api-Key:  abc:def "),
            Ok(CustomHeader {
                name: "X-Api-Key".into(),
                value: "abc:def".into()
            })
        );
        assert!(parse_custom_header("no colon").is_err());
        assert!(parse_custom_header(": value").is_err());
        assert!(parse_custom_header("Name:").is_err());
    }

    #[test]
    fn the_base_url_must_be_http() {
        assert!(parse_base_url("http://localhost:9292").is_ok());
        assert!(parse_base_url("localhost:9292").is_err());
        assert!(parse_base_url("not a url").is_err());
    }
}
