use std::sync::Arc;

use treaty_store::Store;

use crate::ServerConfig;

/// Shared by every handler: the store and the configuration.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub config: Arc<ServerConfig>,
    /// Sends webhooks for test executions (deliveries go through the background worker).
    pub webhooks: crate::webhook_sender::Sender,
    sealer: Arc<tokio::sync::OnceCell<crate::secrets::Sealer>>,
    audit_key: Arc<tokio::sync::OnceCell<treaty_domain::access::AuditKey>>,
    session_key: Arc<tokio::sync::OnceCell<crate::ui::session::SessionKey>>,
    pub rate_limiter: Option<Arc<crate::rate_limit::RateLimiter>>,
    /// Slows down guessing: failed sign-ins per address and per user name.
    pub sign_in_throttle: Arc<crate::rate_limit::SignInThrottle>,
    /// Writes audit entries in batches, and samples refusals.
    pub audit_log: crate::audit_log::AuditLog,
    /// Request rate and latency by route, for `/metrics`.
    pub metrics: Arc<crate::metrics::RequestMetrics>,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, config: ServerConfig) -> Self {
        Self {
            store,
            webhooks: crate::webhook_sender::Sender::new(
                config.webhook_policy.clone(),
                config.webhook_proxy.as_ref(),
            ),
            sealer: Arc::default(),
            audit_key: Arc::default(),
            session_key: Arc::default(),
            audit_log: crate::audit_log::AuditLog::default(),
            metrics: Arc::default(),
            sign_in_throttle: Arc::new(crate::rate_limit::SignInThrottle::new(
                config.sign_in_failures_per_minute,
            )),
            rate_limiter: config
                .rate_limit_per_minute
                .map(|n| Arc::new(crate::rate_limit::RateLimiter::new(n))),
            config: Arc::new(config),
        }
    }

    /// The key that seals the audit chain (read once).
    pub async fn audit_key(&self) -> treaty_store::StoreResult<&treaty_domain::access::AuditKey> {
        self.audit_key
            .get_or_try_init(|| async {
                let secret = crate::secrets::server_secret(
                    self.store.as_ref(),
                    self.config
                        .secret_key
                        .as_ref()
                        .map(secrecy::ExposeSecret::expose_secret),
                )
                .await?;
                Ok(treaty_domain::access::AuditKey::derive(&secret))
            })
            .await
    }

    /// The key that signs the UI's session cookies and CSRF tokens (read once).
    pub async fn session_key(&self) -> treaty_store::StoreResult<&crate::ui::session::SessionKey> {
        self.session_key
            .get_or_try_init(|| async {
                let secret = crate::secrets::server_secret(
                    self.store.as_ref(),
                    self.config
                        .secret_key
                        .as_ref()
                        .map(secrecy::ExposeSecret::expose_secret),
                )
                .await?;
                Ok(crate::ui::session::SessionKey::derive(&secret))
            })
            .await
    }

    /// Seals and opens webhook secrets (its key is read once).
    pub async fn sealer(&self) -> treaty_store::StoreResult<&crate::secrets::Sealer> {
        self.sealer
            .get_or_try_init(|| {
                crate::secrets::Sealer::for_store(
                    self.store.as_ref(),
                    self.config
                        .secret_key
                        .as_ref()
                        .map(secrecy::ExposeSecret::expose_secret),
                )
            })
            .await
    }
}
