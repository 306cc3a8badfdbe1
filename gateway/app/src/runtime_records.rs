//! The admins' runtime records in the gateway: the store they live in (this process's memory,
//! or Redis beside the quota buckets with `quota.store = "redis"`), the sync that keeps every
//! replica's snapshot fresh, and the virtual keys as a credential source for gateway-auth.

use std::sync::Arc;

use gateway_core::Principal;
use gateway_runtime_state::{
    MemoryState, RedisState, RuntimeState, SYNC_INTERVAL, StateStore, now_ms,
};

use crate::StartError;

/// Loads the records (in Redis beside the quota buckets when `redis` is the shared store's
/// connection, else in this process) and starts their sync.
pub(crate) async fn start(
    redis: Option<gateway_quota::RedisConnection>,
    timeout: std::time::Duration,
) -> Result<Arc<RuntimeState>, StartError> {
    let store: Arc<dyn StateStore> = match redis {
        None => Arc::new(MemoryState::default()),
        Some(connection) => Arc::new(RedisState::with_connection(connection, timeout)),
    };
    let state = Arc::new(
        RuntimeState::load(store)
            .await
            .map_err(StartError::RuntimeState)?,
    );
    state.spawn_sync(SYNC_INTERVAL);
    Ok(state)
}

/// Virtual keys, looked up in the current snapshot on every request (never cached: a revoked
/// key stops on every replica within one sync).
#[derive(Debug)]
pub(crate) struct VirtualKeys(pub(crate) Arc<RuntimeState>);

impl gateway_auth::KeySource for VirtualKeys {
    fn principal(&self, sha256: &[u8; 32]) -> Option<Principal> {
        let snapshot = self.0.snapshot();
        let key = snapshot.key(sha256, now_ms())?;
        Some(Principal {
            subject: key.subject.clone(),
            org: key.org.clone(),
            plan: key.plan.clone(),
            // The key id: its lifetime budget's bucket, and what a `key` or `jti` block names.
            token_id: Some(key.id.clone()),
            run_budget_micro_usd: key.budget_micro_usd,
        })
    }
}
