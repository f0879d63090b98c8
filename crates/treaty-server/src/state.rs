use std::sync::Arc;

use treaty_store::Store;

use crate::ServerConfig;

/// Shared by every handler: the store and the configuration.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub config: Arc<ServerConfig>,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, config: ServerConfig) -> Self {
        Self {
            store,
            config: Arc::new(config),
        }
    }
}
