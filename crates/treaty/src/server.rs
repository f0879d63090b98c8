//! `treaty serve` and `treaty migrate`: configuration from flags and
//! environment variables, logging, and the server's lifecycle.

use std::net::SocketAddr;

use clap::{ArgGroup, Args, ValueEnum};
use tracing_subscriber::EnvFilter;
use treaty_server::ServerConfig;
use treaty_store::{OpenOptions, redact_url};

pub const DEFAULT_DATABASE_URL: &str = "sqlite://./treaty-data/treaty.db";

/// Every flag is also an environment variable (`TREATY_*`).
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, env = "TREATY_BIND", default_value = "127.0.0.1:9292")]
    bind: SocketAddr,

    /// Public base URL used in links (set it behind a proxy); derived from each
    /// request's Host and X-Forwarded-* headers when not given.
    #[arg(long, env = "TREATY_BASE_URL", value_parser = parse_base_url)]
    base_url: Option<String>,

    #[command(flatten)]
    database: DatabaseArgs,

    /// The largest request body accepted, in bytes.
    #[arg(long, env = "TREATY_MAX_BODY_BYTES", default_value_t = 10 * 1024 * 1024)]
    max_body_bytes: usize,

    /// Do not create the `test` and `production` environments in a new database.
    #[arg(long, env = "TREATY_NO_DEFAULT_ENVIRONMENTS")]
    no_default_environments: bool,

    /// Mark deployments still pending or started after this long as timed out
    /// (their pipeline is taken to have died), for example 90m or 4h; 0 never does.
    #[arg(long, env = "TREATY_STALE_DEPLOYMENT_AFTER", default_value = "2h", value_parser = humantime::parse_duration)]
    stale_deployment_after: std::time::Duration,

    /// Create the pacticipants and versions deployment events name that
    /// Treaty does not know (for Versioner-style pipelines that deploy what
    /// Treaty has never seen), instead of refusing them (404, with the
    /// closest names)
    #[arg(long, env = "TREATY_CREATE_UNKNOWN_VERSIONS")]
    create_unknown_versions: bool,

    /// What Treaty does by default now (kept so existing command lines and
    /// environments still start)
    #[arg(
        long,
        env = "TREATY_REFUSE_UNKNOWN_VERSIONS",
        hide = true,
        conflicts_with = "create_unknown_versions"
    )]
    refuse_unknown_versions: bool,

    /// Schemes webhooks may call (comma-separated). The Pact Broker's default: https only.
    #[arg(
        long,
        env = "TREATY_WEBHOOK_ALLOWED_SCHEMES",
        value_delimiter = ',',
        default_value = "https"
    )]
    webhook_allowed_schemes: Vec<String>,

    /// HTTP methods webhooks may use (comma-separated). The Pact Broker's default: POST only.
    #[arg(
        long,
        env = "TREATY_WEBHOOK_ALLOWED_METHODS",
        value_delimiter = ',',
        default_value = "POST"
    )]
    webhook_allowed_methods: Vec<String>,

    /// Hosts webhooks may call (comma-separated; any public host when empty).
    /// A host listed here may also be a loopback or private address, and its
    /// responses are logged.
    #[arg(long, env = "TREATY_WEBHOOK_ALLOWED_HOSTS", value_delimiter = ',')]
    webhook_allowed_hosts: Vec<String>,

    /// An HTTP proxy to send webhooks through (http://[USER:PASSWORD@]HOST:PORT).
    /// Without it webhooks connect directly: HTTP_PROXY, HTTPS_PROXY and
    /// ALL_PROXY are not used for them. Through a proxy, each target's name
    /// is resolved and checked before it is handed over.
    #[arg(long, env = "TREATY_WEBHOOK_PROXY", hide_env_values = true, value_parser = treaty_server::webhook_sender::WebhookProxy::parse)]
    webhook_proxy: Option<treaty_server::webhook_sender::WebhookProxy>,

    /// Seconds between a failed webhook delivery and each retry (comma-separated);
    /// the default is the Pact Broker's.
    #[arg(
        long,
        env = "TREATY_WEBHOOK_RETRY_SCHEDULE",
        value_delimiter = ',',
        default_value = "10,60,120,300,600,1200"
    )]
    webhook_retry_schedule: Vec<u64>,

    /// The key that seals webhook passwords and signing secrets in the
    /// database (any text; give every replica the same). Without it, a key
    /// is generated once and kept in the database.
    #[arg(long, env = "TREATY_SECRET_KEY", hide_env_values = true)]
    secret_key: Option<String>,

    /// How callers sign in: none, basic, token, or basic,token. With none,
    /// anyone may do anything: allowed only on a loopback address unless
    /// --allow-unauthenticated says otherwise.
    #[arg(
        long,
        env = "TREATY_AUTH",
        value_enum,
        value_delimiter = ',',
        default_value = "none"
    )]
    auth: Vec<AuthMode>,

    /// Serve without authentication on an address other than loopback.
    #[arg(long, env = "TREATY_ALLOW_UNAUTHENTICATED")]
    allow_unauthenticated: bool,

    /// The read-write basic-auth user (as the Pact Broker's).
    #[arg(long, env = "TREATY_BASIC_AUTH_USERNAME")]
    basic_auth_username: Option<String>,

    #[arg(long, env = "TREATY_BASIC_AUTH_PASSWORD", hide_env_values = true)]
    basic_auth_password: Option<String>,

    /// The read-only basic-auth user.
    #[arg(long, env = "TREATY_BASIC_AUTH_READ_ONLY_USERNAME")]
    basic_auth_read_only_username: Option<String>,

    #[arg(
        long,
        env = "TREATY_BASIC_AUTH_READ_ONLY_PASSWORD",
        hide_env_values = true
    )]
    basic_auth_read_only_password: Option<String>,

    /// A bearer token with the admin role, to create the other tokens (with --auth token).
    #[arg(long, env = "TREATY_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,

    /// Let anyone read the badges (pact, can-i-deploy, can-i-merge and matrix
    /// badges) without signing in, so READMEs can show them.
    #[arg(long, env = "TREATY_PUBLIC_BADGE_ACCESS")]
    public_badge_access: bool,

    /// The shields.io server badges redirect to, as the Pact Broker's do;
    /// empty: Treaty draws each badge itself (where there is no internet).
    #[arg(
        long,
        env = "TREATY_SHIELDS_IO_BASE_URL",
        default_value = treaty_server::SHIELDS_IO,
        value_parser = parse_optional_base_url
    )]
    shields_io_base_url: OptionalUrl,

    /// How far back pacts for verification looks for work-in-progress pacts
    /// at most, whatever a verifier's includeWipPactsSince says (a date from
    /// years ago would make every abandoned feature branch WIP); 0: no bound
    #[arg(long, env = "TREATY_MAX_WIP_LOOKBACK", default_value = "90days", value_parser = humantime::parse_duration)]
    max_wip_lookback: std::time::Duration,

    /// Requests per minute one signed-in user or token may make to this
    /// replica; 0: no limit. (With --auth none there is no limit.)
    #[arg(long, env = "TREATY_RATE_LIMIT_PER_MINUTE", default_value_t = 1200)]
    rate_limit_per_minute: u32,

    /// Failed sign-ins one address, or one user name, may make a minute
    /// before each further try must wait (429); 0: no throttle.
    #[arg(long, env = "TREATY_SIGN_IN_FAILURES_PER_MINUTE", default_value_t = 20)]
    sign_in_failures_per_minute: u32,

    /// How often the audit log's head is written to the server log (for a
    /// log collector to keep outside the database), for example 15m; 0s: never.
    #[arg(long, env = "TREATY_AUDIT_HEAD_LOG_INTERVAL", default_value = "15m", value_parser = humantime::parse_duration)]
    audit_head_log_interval: std::time::Duration,

    /// Seconds one request may take before it is answered 503.
    #[arg(long, env = "TREATY_REQUEST_TIMEOUT", default_value_t = 30)]
    request_timeout: u64,

    /// Connections served at once; a new one beyond it is answered 503 and
    /// closed (lowered to fit the file descriptor limit).
    #[arg(long, env = "TREATY_MAX_CONNECTIONS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    max_connections: u64,

    /// Connections served at once from one client address; beyond it, 429.
    /// Behind a reverse proxy every client has the proxy's address: set it
    /// as high as --max-connections there.
    #[arg(long, env = "TREATY_MAX_CONNECTIONS_PER_ADDRESS", default_value_t = 250, value_parser = clap::value_parser!(u64).range(1..))]
    max_connections_per_address: u64,

    /// Seconds a client may take to send a request's headers; also how long
    /// an idle kept-alive connection stays open.
    #[arg(long, env = "TREATY_HEADER_READ_TIMEOUT", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    header_read_timeout: u64,

    /// Seconds a client may take to send a request's body once its headers
    /// have arrived; beyond it, 408.
    #[arg(long, env = "TREATY_BODY_READ_TIMEOUT", default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..))]
    body_read_timeout: u64,

    /// Seconds a webhook delivery being sent belongs to its replica; when a
    /// replica dies mid-send, another sends it after this long.
    #[arg(long, env = "TREATY_WEBHOOK_DELIVERY_LEASE", default_value_t = 60)]
    webhook_delivery_lease: u64,

    /// Log format.
    #[arg(long, env = "TREATY_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,

    /// Serve POST /_pact/provider_states, which WIPES ALL DATA and seeds the
    /// provider states of the official clients' contracts. For tests only.
    #[arg(long, env = "TREATY_TEST_PROVIDER_STATES", hide = true)]
    test_provider_states: bool,
}

#[derive(Debug, Args)]
pub struct DatabaseArgs {
    /// Database URL: sqlite://PATH or postgres://USER:PASSWORD@HOST:PORT/DATABASE
    /// (add ?sslmode=verify-full, and &sslrootcert=PATH for a private CA, for TLS).
    #[arg(long, env = "TREATY_DATABASE_URL", default_value = DEFAULT_DATABASE_URL, hide_env_values = true)]
    pub(crate) database_url: String,

    /// Connections to the database: reads on SQLite (default two per core,
    /// and as many again for its reader threads), everything on PostgreSQL
    /// (default 16).
    #[arg(long, env = "TREATY_DATABASE_POOL_SIZE", value_parser = clap::value_parser!(u32).range(1..=1000))]
    database_pool_size: Option<u32>,

    /// Seconds a database statement may run before it is cancelled (PostgreSQL).
    #[arg(long, env = "TREATY_DATABASE_STATEMENT_TIMEOUT", default_value_t = 15)]
    database_statement_timeout: u64,
}

impl DatabaseArgs {
    /// The store, or `None` after saying on stderr why it cannot be opened.
    pub(crate) async fn open_or_say_why(&self) -> Option<std::sync::Arc<dyn treaty_store::Store>> {
        match treaty_store::open(&self.database_url, self.open_options()).await {
            Ok(store) => Some(store),
            Err(error) => {
                eprintln!(
                    "error: cannot open {}: {error}",
                    redact_url(&self.database_url)
                );
                None
            }
        }
    }

    fn open_options(&self) -> OpenOptions {
        OpenOptions {
            migrate: true,
            max_connections: self.database_pool_size,
            statement_timeout: Some(std::time::Duration::from_secs(
                self.database_statement_timeout,
            )),
            bulk_load: false,
        }
    }
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    database: DatabaseArgs,

    /// Print the migrations that would run, and change nothing.
    #[arg(long)]
    dry_run: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum AuthMode {
    None,
    Basic,
    Token,
}

/// The sign-in configuration the flags describe, or why they make no sense.
fn auth_config(args: &ServeArgs) -> Result<treaty_server::access::AuthConfig, String> {
    use secrecy::SecretString;
    let pair = |user: &Option<String>, password: &Option<String>, flag: &str| match (user, password)
    {
        (Some(user), Some(password)) => {
            Ok(Some((user.clone(), SecretString::from(password.clone()))))
        }
        (None, None) => Ok(None),
        _ => Err(format!(
            "--{flag}-username and --{flag}-password go together"
        )),
    };
    let basic = pair(
        &args.basic_auth_username,
        &args.basic_auth_password,
        "basic-auth",
    )?;
    let read_only = pair(
        &args.basic_auth_read_only_username,
        &args.basic_auth_read_only_password,
        "basic-auth-read-only",
    )?;
    let modes = &args.auth;
    let with_basic = modes.contains(&AuthMode::Basic);
    let with_token = modes.contains(&AuthMode::Token);
    if modes.contains(&AuthMode::None) && (with_basic || with_token) {
        return Err("--auth none cannot be combined with basic or token".to_owned());
    }
    if with_basic && basic.is_none() && read_only.is_none() {
        return Err("--auth basic needs --basic-auth-username and --basic-auth-password (or the read-only pair)".to_owned());
    }
    if !with_basic && (basic.is_some() || read_only.is_some()) {
        return Err("basic-auth users are given but --auth does not include basic".to_owned());
    }
    if !with_token && args.admin_token.is_some() {
        return Err("--admin-token needs --auth token".to_owned());
    }
    let config = treaty_server::access::AuthConfig {
        basic,
        basic_read_only: read_only,
        admin_token: args.admin_token.clone().map(SecretString::from),
        tokens: with_token,
    };
    if !config.enabled() && !args.bind.ip().is_loopback() && !args.allow_unauthenticated {
        return Err(format!(
            "{} is not a loopback address, and --auth is none: anyone who reaches it could change everything. Choose --auth basic or token, or pass --allow-unauthenticated",
            args.bind
        ));
    }
    Ok(config)
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

/// A URL, or nothing when given empty.
#[derive(Debug, Clone)]
struct OptionalUrl(Option<String>);

fn parse_optional_base_url(raw: &str) -> Result<OptionalUrl, String> {
    if raw.trim().is_empty() {
        return Ok(OptionalUrl(None));
    }
    parse_base_url(raw).map(|url| OptionalUrl(Some(url)))
}

fn parse_base_url(raw: &str) -> Result<String, String> {
    let parsed = url::Url::parse(raw).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err("must start with http:// or https://".to_owned());
    }
    Ok(raw.trim_end_matches('/').to_owned())
}

fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    // A panicking handler is answered 500 by the server; log the panic once,
    // here, with where it happened.
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned());
        tracing::error!(panic.location = %location, "panic: {message}");
    }));
}

pub async fn serve(args: ServeArgs) -> i32 {
    init_logging(args.log_format);
    let auth = match auth_config(&args) {
        Ok(auth) => auth,
        Err(problem) => {
            tracing::error!("{problem}");
            return 2;
        }
    };
    if args.test_provider_states {
        tracing::warn!("--test-provider-states is on: POST /_pact/provider_states wipes all data");
    }
    let store =
        match treaty_store::open(&args.database.database_url, args.database.open_options()).await {
            Ok(store) => store,
            Err(error) => {
                tracing::error!(
                    database = %redact_url(&args.database.database_url),
                    "cannot open the database: {error}"
                );
                return 1;
            }
        };
    if !args.no_default_environments {
        match store.ensure_default_environments().await {
            Ok(true) => tracing::info!("created the environments test and production"),
            Ok(false) => {}
            Err(error) => {
                tracing::error!("cannot create the default environments: {error}");
                return 1;
            }
        }
    }
    let listener = match tokio::net::TcpListener::bind(args.bind).await {
        Ok(listener) => listener,
        Err(error) => {
            tracing::error!("cannot listen on {}: {error}", args.bind);
            return 1;
        }
    };
    let address = listener
        .local_addr()
        .map_or_else(|_| args.bind.to_string(), |a| a.to_string());
    let connections = connection_limits(&args);
    let config = ServerConfig {
        base_url: args.base_url,
        max_body_bytes: args.max_body_bytes,
        test_provider_states: args.test_provider_states,
        stale_deployment_after: (!args.stale_deployment_after.is_zero())
            .then_some(args.stale_deployment_after),
        // --refuse-unknown-versions asks for what is now the default.
        create_unknown_versions: args.create_unknown_versions && !args.refuse_unknown_versions,
        webhook_policy: treaty_domain::webhooks::TargetPolicy {
            schemes: args.webhook_allowed_schemes,
            methods: args
                .webhook_allowed_methods
                .iter()
                .map(|m| m.to_ascii_uppercase())
                .collect(),
            hosts: args.webhook_allowed_hosts,
        },
        webhook_proxy: args.webhook_proxy,
        webhook_retry_schedule: args
            .webhook_retry_schedule
            .iter()
            .map(|s| std::time::Duration::from_secs(*s))
            .collect(),
        webhook_poll_interval: std::time::Duration::from_secs(1),
        webhook_delivery_lease: std::time::Duration::from_secs(args.webhook_delivery_lease.max(1)),
        secret_key: args.secret_key.map(secrecy::SecretString::from),
        auth,
        rate_limit_per_minute: (args.rate_limit_per_minute > 0)
            .then_some(args.rate_limit_per_minute),
        request_timeout: std::time::Duration::from_secs(args.request_timeout.max(1)),
        sign_in_failures_per_minute: args.sign_in_failures_per_minute,
        audit_head_log_interval: (!args.audit_head_log_interval.is_zero())
            .then_some(args.audit_head_log_interval),
        connections,
        public_badge_access: args.public_badge_access,
        shields_io_base_url: args.shields_io_base_url.0,
        max_wip_lookback: (!args.max_wip_lookback.is_zero()).then_some(args.max_wip_lookback),
    };
    tracing::info!(
        database = %redact_url(&args.database.database_url),
        "Treaty {} listening on http://{address}",
        env!("CARGO_PKG_VERSION")
    );
    let _background =
        treaty_server::background::spawn(store.clone(), &config, &format!("http://{address}"));
    let limits = config.connections.clone();
    let app = treaty_server::router(store, config);
    match treaty_server::serve(listener, app, limits, shutdown_signal()).await {
        Ok(()) => {
            tracing::info!("stopped");
            0
        }
        Err(error) => {
            tracing::error!("server error: {error}");
            1
        }
    }
}

/// The connection limits the flags ask for, with `--max-connections`
/// lowered when the process may not open that many file descriptors (each
/// connection is one, and the database and logs need some too): beyond the
/// descriptor limit, accepting fails and every client waits.
fn connection_limits(args: &ServeArgs) -> treaty_server::ConnectionLimits {
    let asked = usize::try_from(args.max_connections).unwrap_or(usize::MAX);
    let max_connections = match descriptor_limit() {
        Some(descriptors) => {
            let fits = usize::try_from(descriptors)
                .unwrap_or(usize::MAX)
                .saturating_sub(DESCRIPTORS_KEPT_FOR_OTHER_USES)
                .max(1);
            if fits < asked {
                tracing::warn!(
                    "serving at most {fits} connections, not {asked} (--max-connections): the process may open {descriptors} file descriptors; raise its limit (ulimit -n, systemd LimitNOFILE=) to serve more"
                );
            }
            asked.min(fits)
        }
        None => asked,
    };
    treaty_server::ConnectionLimits {
        max_connections,
        max_connections_per_address: usize::try_from(args.max_connections_per_address)
            .unwrap_or(usize::MAX),
        header_read_timeout: std::time::Duration::from_secs(args.header_read_timeout),
        body_read_timeout: std::time::Duration::from_secs(args.body_read_timeout),
    }
}

/// File descriptors kept for the database, its reader threads, the logs
/// and the connections being refused, out of the process's limit.
const DESCRIPTORS_KEPT_FOR_OTHER_USES: usize = 200;

/// How many file descriptors the process may open, after raising its soft
/// limit to the hard one (as Go does at start: systemd's soft limit of
/// 1,024 is kept low for old programs using select(2), which Treaty does not).
#[cfg(unix)]
fn descriptor_limit() -> Option<u64> {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        let raised = rustix::process::Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        if let Err(error) = setrlimit(Resource::Nofile, raised) {
            tracing::debug!("cannot raise the file descriptor limit: {error}");
        }
    }
    getrlimit(Resource::Nofile).current
}

#[cfg(not(unix))]
fn descriptor_limit() -> Option<u64> {
    None
}

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

pub async fn migrate(args: MigrateArgs) -> i32 {
    init_logging(LogFormat::Text);
    let url = &args.database.database_url;
    if args.dry_run {
        return match treaty_store::pending_migrations(url).await {
            Ok(pending) if pending.is_empty() => {
                println!("The database is up to date: no migration would run.");
                0
            }
            Ok(pending) => {
                println!("These migrations would run:");
                for (version, description) in pending {
                    println!("  {version} {description}");
                }
                0
            }
            Err(error) => {
                eprintln!(
                    "error: cannot read the database {}: {error}",
                    redact_url(url)
                );
                1
            }
        };
    }
    match treaty_store::open(url, args.database.open_options()).await {
        Ok(_) => {
            println!("Migrations applied to {}", redact_url(url));
            0
        }
        Err(error) => {
            eprintln!("error: cannot migrate {}: {error}", redact_url(url));
            1
        }
    }
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    database: DatabaseArgs,

    /// The file to write; `-` writes to standard output.
    #[arg(long, short = 'f', default_value = "-")]
    file: String,

    /// The key the server seals webhook secrets with (its --secret-key):
    /// the export checks they open with it and records its fingerprint,
    /// never the key. Without it, the database's generated key.
    #[arg(long, env = "TREATY_SECRET_KEY", hide_env_values = true)]
    secret_key: Option<String>,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("input").required(true).args(["file", "path"])))]
pub struct ImportArgs {
    #[command(flatten)]
    database: DatabaseArgs,

    /// The file written by `treaty export`; `-` reads standard input.
    #[arg(long, short = 'f', value_name = "FILE")]
    file: Option<String>,

    /// The file, without `--file` (`treaty import FILE` still works; `--file`
    /// matches `treaty export`).
    #[arg(value_name = "FILE")]
    path: Option<String>,

    /// Delete what the database holds before importing (otherwise a non-empty database is refused).
    #[arg(long)]
    replace: bool,

    /// The key the server will run with (its --secret-key). An export made
    /// with another key is refused, unless that key is --previous-secret-key.
    #[arg(long, env = "TREATY_SECRET_KEY", hide_env_values = true)]
    secret_key: Option<String>,

    /// The key the export was made with, to re-seal its webhook secrets
    /// with the new --secret-key.
    #[arg(long, env = "TREATY_PREVIOUS_SECRET_KEY", hide_env_values = true)]
    previous_secret_key: Option<String>,
}

/// Where an export goes: standard output, or a temporary file next to the
/// destination, renamed over it once complete (a failed export leaves the
/// last good one in place). A destination that is not a regular file (a
/// pipe, a device) is written directly.
enum ExportTarget {
    Stdout,
    Direct(std::fs::File),
    File(tempfile::NamedTempFile),
}

impl ExportTarget {
    fn open(file: &str) -> std::io::Result<Self> {
        if file == "-" {
            return Ok(Self::Stdout);
        }
        let path = std::path::Path::new(file);
        if std::fs::metadata(path).is_ok_and(|found| !found.is_file()) {
            return Ok(Self::Direct(std::fs::File::create(path)?));
        }
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => std::path::Path::new("."),
        };
        Ok(Self::File(tempfile::NamedTempFile::new_in(dir)?))
    }

    fn writer(&self) -> std::io::Result<Box<dyn std::io::Write + Send>> {
        Ok(match self {
            Self::Stdout => Box::new(std::io::stdout()),
            Self::Direct(file) => Box::new(file.try_clone()?),
            Self::File(file) => Box::new(file.as_file().try_clone()?),
        })
    }

    fn keep(self, file: &str) -> std::io::Result<()> {
        match self {
            Self::Stdout | Self::Direct(_) => Ok(()),
            Self::File(temporary) => {
                temporary.as_file().sync_all()?;
                temporary.persist(file).map(drop).map_err(|e| e.error)
            }
        }
    }
}

/// Streams every table into the file, a few rows in memory at a time.
pub async fn export(args: ExportArgs) -> i32 {
    use treaty_store::export_file::JsonWriter;
    let url = &args.database.database_url;
    let Some(store) = args.database.open_or_say_why().await else {
        return 1;
    };
    let target = match ExportTarget::open(&args.file) {
        Ok(target) => target,
        Err(error) => {
            eprintln!("error: cannot write {}: {error}", args.file);
            return 1;
        }
    };
    let written = async {
        let out = std::io::BufWriter::with_capacity(1 << 16, target.writer().map_err(io)?);
        let mut sink = crate::export_keys::CheckedExport::new(
            JsonWriter::new(out)?,
            args.secret_key.as_deref(),
        );
        let rows = store.export_to(&mut sink).await?;
        let (key, writer) = sink.finish();
        writer.finish(&[key])?;
        Ok::<_, treaty_store::StoreError>(rows)
    }
    .await;
    let rows = match written {
        Ok(rows) => rows,
        Err(error) => {
            eprintln!("error: cannot export {}: {error}", redact_url(url));
            return 1;
        }
    };
    if let Err(error) = target.keep(&args.file) {
        eprintln!("error: cannot write {}: {error}", args.file);
        return 1;
    }
    eprintln!("Exported {rows} rows from {}", redact_url(url));
    0
}

fn io(error: std::io::Error) -> treaty_store::StoreError {
    treaty_store::StoreError::Conflict(format!("cannot write the export: {error}"))
}

/// Loads an export as it is read, in one transaction.
pub async fn import(args: ImportArgs) -> i32 {
    let url = &args.database.database_url;
    // clap requires one of the two (the `input` group) and refuses both.
    let file = args.file.or(args.path).unwrap_or_else(|| "-".to_owned());
    let input: Box<dyn std::io::Read + Send> = if file == "-" {
        Box::new(std::io::stdin())
    } else {
        match std::fs::File::open(&file) {
            Ok(opened) => Box::new(opened),
            Err(error) => {
                eprintln!("error: cannot read {file}: {error}");
                return 1;
            }
        }
    };
    let Some(store) = args.database.open_or_say_why().await else {
        return 1;
    };
    eprintln!("Importing {file} into {} ...", redact_url(url));
    let mut source = crate::export_keys::CheckedImport::new(
        treaty_store::export_file::JsonReader::new(input),
        args.secret_key.as_deref(),
        args.previous_secret_key.as_deref(),
    );
    match store.import_from(&mut source, args.replace).await {
        Ok(rows) => {
            eprintln!("Imported {rows} rows.");
            if source.resealed > 0 {
                eprintln!(
                    "Re-sealed {} webhook secrets with the --secret-key given.",
                    source.resealed
                );
            }
            if source.audit_entries_resealed > 0 {
                eprintln!(
                    "Sealed {} audit entries again with the --secret-key given: heads saved before this import no longer match; save the new one (GET /audit/head).",
                    source.audit_entries_resealed
                );
            }
            0
        }
        Err(error) => {
            eprintln!("error: the import was refused and nothing was changed: {error}");
            1
        }
    }
}

#[derive(Debug, Args)]
pub struct AuditVerifyArgs {
    #[command(flatten)]
    database: DatabaseArgs,

    /// The server's --secret-key, which keys the chain; without it, the key
    /// the database generated for itself (when the server had none).
    #[arg(long, env = "TREATY_SECRET_KEY", hide_env_values = true)]
    secret_key: Option<String>,

    /// A head saved earlier (`GET /audit/head`, or the server log's "audit
    /// log head" lines): it must still be in the log, which proves that no
    /// entry up to it was removed, not even the newest ones.
    #[arg(long, value_name = "HASH")]
    expect_head: Option<String>,

    /// Check only the entries from a head saved earlier on (faster on a long
    /// log); that head must still be in the log.
    #[arg(long, value_name = "HASH", conflicts_with = "expect_head")]
    since: Option<String>,

    /// `text`: a sentence; `json`: one document.
    #[arg(short = 'o', long, value_enum, default_value_t = crate::clean::CleanOutput::Text)]
    output: crate::clean::CleanOutput,
}

/// Reads the audit log straight from the database and checks every link of
/// its chain with the server's key: exit 0 when unbroken, 1 naming the first
/// entry altered, removed or rewritten, a saved head that is gone, or an
/// empty log on a database with records.
pub async fn audit_verify(args: AuditVerifyArgs) -> i32 {
    let url = &args.database.database_url;
    let Some(store) = args.database.open_or_say_why().await else {
        return 1;
    };
    let secret = match &args.secret_key {
        Some(key) => Some(key.clone()),
        None => match store
            .setting(treaty_server::secrets::GENERATED_KEY_SETTING)
            .await
        {
            Ok(found) => found,
            Err(error) => {
                eprintln!("error: cannot read {}: {error}", redact_url(url));
                return 1;
            }
        },
    };
    let read = async {
        let chain = store.audit_chain(args.since.as_deref()).await?;
        let head = store.audit_head().await?;
        Ok::<_, treaty_store::StoreError>((chain, head))
    };
    let (chain, head) = match read.await {
        Ok(read) => read,
        Err(error) => {
            eprintln!(
                "error: cannot read the audit log of {}: {error}",
                redact_url(url)
            );
            return 1;
        }
    };
    let key = treaty_domain::access::AuditKey::derive(secret.as_deref().unwrap_or_default());
    let verdict = treaty_domain::access::verify_chain(
        &key,
        &chain,
        args.since.as_deref(),
        args.expect_head.as_deref(),
    );
    let json = matches!(args.output, crate::clean::CleanOutput::Json);
    let (intact, sentence, report) = match verdict {
        Ok(report) if report.verified == 0 && head.holds_records && args.since.is_none() => (
            false,
            "The audit log is empty, but the database holds records: its entries were removed (or it was filled without Treaty's API, by an import of a file without them).".to_owned(),
            Some(report),
        ),
        Ok(report) => {
            let unkeyed = if report.unkeyed > 0 {
                format!(
                    " ({} written before the chain was keyed are sealed without the key)",
                    report.unkeyed
                )
            } else {
                String::new()
            };
            let head = report
                .head
                .as_ref()
                .map(|(id, hash)| format!(" Head: entry {id}, {hash}."))
                .unwrap_or_default();
            (
                true,
                format!(
                    "The audit log is intact: {} entries, every link verified{unkeyed}.{head}",
                    report.verified
                ),
                Some(report),
            )
        }
        Err(broken) => {
            let hint = if secret.is_none() {
                " (no key: give the server's --secret-key)"
            } else {
                ""
            };
            (
                false,
                format!("The audit log was tampered with: {broken}{hint}."),
                None,
            )
        }
    };
    if json {
        println!(
            "{}",
            serde_json::json!({
                "intact": intact,
                "message": sentence,
                "verified": report.as_ref().map(|r| r.verified),
                "unkeyed": report.as_ref().map(|r| r.unkeyed),
                "head": report.as_ref().and_then(|r| r.head.as_ref()).map(|(id, hash)| serde_json::json!({"id": id, "hash": hash})),
            })
        );
    } else {
        println!("{sentence}");
    }
    i32::from(!intact)
}
