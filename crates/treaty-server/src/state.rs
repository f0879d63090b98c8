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
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, config: ServerConfig) -> Self {
        Self {
            store,
            webhooks: crate::webhook_sender::Sender::new(config.webhook_policy.clone()),
            config: Arc::new(config),
        }
    }
}
