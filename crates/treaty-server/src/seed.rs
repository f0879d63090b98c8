//! Seeds the named provider states of the official clients' contracts.

use treaty_store::{Store, StoreResult};

pub async fn seed(_store: &dyn Store, _state: &str) -> StoreResult<()> {
    Ok(())
}
