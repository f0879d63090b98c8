/// What the HTTP layer needs to know, built once from the command line.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The public base URL for links; `None` derives it from each request.
    pub base_url: Option<String>,
    /// The largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Serve `POST /_pact/provider_states`, which wipes and seeds data, for
    /// verifying the official clients' contracts. Never on in production.
    pub test_provider_states: bool,
    /// Deployments pending or started for longer than this are marked timed
    /// out by [`crate::background::spawn`]; `None` never times them out.
    pub stale_deployment_after: Option<std::time::Duration>,
    /// Create the pacticipants and versions deployment events name that
    /// Treaty does not know (as Versioner does), instead of answering 404
    /// with the closest names: a typo would otherwise become what runs.
    pub create_unknown_versions: bool,
    /// Which targets webhooks may call.
    pub webhook_policy: treaty_domain::webhooks::TargetPolicy,
    /// The HTTP proxy webhooks go through; `None` sends them directly (the
    /// environment's `HTTP_PROXY` and the like are never used).
    pub webhook_proxy: Option<crate::webhook_sender::WebhookProxy>,
    /// The waits between a failed delivery and its retries; its length is
    /// the number of retries.
    pub webhook_retry_schedule: Vec<std::time::Duration>,
    /// How often an idle worker looks for due deliveries (and the comparison
    /// worker for comparisons to compute).
    pub webhook_poll_interval: std::time::Duration,
    /// How long a claimed delivery belongs to its worker: longer than one
    /// attempt can take, so that only a dead worker's deliveries are taken over.
    pub webhook_delivery_lease: std::time::Duration,
    /// The key that seals webhook passwords and secrets; the database's own when `None`.
    pub secret_key: Option<secrecy::SecretString>,
    /// Who may sign in; nobody needs to when empty.
    pub auth: crate::access::AuthConfig,
    /// Requests per minute one caller may make (per replica); `None`: no limit.
    pub rate_limit_per_minute: Option<u32>,
    /// How long one request may take before it is answered 503.
    pub request_timeout: std::time::Duration,
    /// Failed sign-ins one address, or one user name, may make a minute
    /// before it must wait (429); 0 turns the throttle off.
    pub sign_in_failures_per_minute: u32,
    /// How often `treaty serve` writes the audit log's head to its log;
    /// `None`: never.
    pub audit_head_log_interval: Option<std::time::Duration>,
    /// How many connections are served at once, and how long a client may
    /// take to send what it must; see [`ConnectionLimits`].
    pub connections: ConnectionLimits,
    /// Anyone may read the badges, signed in or not (the Pact Broker's
    /// `enable_public_badge_access`): READMEs embed them.
    pub public_badge_access: bool,
    /// The shields.io server badges redirect to, as the Pact Broker's do;
    /// `None`: Treaty draws them itself.
    pub shields_io_base_url: Option<String>,
    /// How far back pacts for verification looks for work-in-progress pacts
    /// at most, whatever `includeWipPactsSince` says; `None`: as far as it says.
    pub max_wip_lookback: Option<std::time::Duration>,
}

/// The default bound on the work-in-progress window: 90 days.
pub const MAX_WIP_LOOKBACK_DAYS: u64 = 90;

/// Where the Pact Broker sends badges by default.
pub const SHIELDS_IO: &str = "https://img.shields.io";

/// What one connection may hold, so that slow or many clients cannot make
/// the server wait for ever (slowloris) or run out of file descriptors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Connections open at once; beyond it a new one is answered 503 and closed.
    pub max_connections: usize,
    /// Connections open at once from one client address; beyond it, 429.
    pub max_connections_per_address: usize,
    /// How long a client may take to send a request's headers, on a new
    /// connection or on a kept-alive one between requests (so it is also
    /// how long an idle connection is kept).
    pub header_read_timeout: std::time::Duration,
    /// How long a client may take to send a request's body, from when its
    /// headers arrived; beyond it, 408 and the connection is closed.
    pub body_read_timeout: std::time::Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max_connections: 1000,
            max_connections_per_address: 250,
            header_read_timeout: std::time::Duration::from_secs(10),
            body_read_timeout: std::time::Duration::from_secs(20),
        }
    }
}

/// The Pact Broker's retry schedule: 10 s, 1, 2, 5, 10 and 20 minutes.
pub const PACT_BROKER_RETRY_SCHEDULE: [u64; 6] = [10, 60, 120, 300, 600, 1200];

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            base_url: None,
            max_body_bytes: 10 * 1024 * 1024,
            test_provider_states: false,
            stale_deployment_after: Some(std::time::Duration::from_secs(2 * 60 * 60)),
            create_unknown_versions: false,
            webhook_policy: treaty_domain::webhooks::TargetPolicy::default(),
            webhook_proxy: None,
            webhook_retry_schedule: PACT_BROKER_RETRY_SCHEDULE
                .iter()
                .map(|s| std::time::Duration::from_secs(*s))
                .collect(),
            webhook_poll_interval: std::time::Duration::from_secs(1),
            webhook_delivery_lease: std::time::Duration::from_secs(60),
            secret_key: None,
            auth: crate::access::AuthConfig::default(),
            rate_limit_per_minute: None,
            request_timeout: std::time::Duration::from_secs(30),
            sign_in_failures_per_minute: 20,
            audit_head_log_interval: Some(std::time::Duration::from_secs(15 * 60)),
            connections: ConnectionLimits::default(),
            public_badge_access: false,
            shields_io_base_url: Some(SHIELDS_IO.to_owned()),
            max_wip_lookback: Some(std::time::Duration::from_secs(
                MAX_WIP_LOOKBACK_DAYS * 24 * 60 * 60,
            )),
        }
    }
}
