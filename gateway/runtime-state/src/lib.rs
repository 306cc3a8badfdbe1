//! Runtime admin state: what admins change while the gateway runs, shared by every replica.
//!
//! Owns: the records ([`Override`]: limits raised or lowered for a subject or organisation
//! until an expiry, with a reason; [`Block`]: a subject, organisation, token `jti` or virtual
//! key refused; [`VirtualKey`]: a gateway key created at run time, stored as SHA-256 only), the
//! two stores behind [`StateStore`] ([`MemoryState`] for one process, [`RedisState`] beside
//! the quota buckets), compare-and-set writes by revision ([`Expect`], the `If-Match` of the
//! admin API), the indexed [`Snapshot`] the request path reads, and [`RuntimeState`], which
//! keeps the snapshot fresh by polling the store's revision every [`SYNC_INTERVAL`].
//!
//! Invariants:
//! - every write bumps one store-wide revision and stamps its record with it; a write whose
//!   expected revision is not the current one changes nothing ([`StateError::Conflict`]);
//! - a change made on any replica is in force on every replica within [`SYNC_INTERVAL`] plus
//!   one load; the writing replica sees it at once;
//! - a virtual key's token is never stored, only its SHA-256;
//! - expired records stop applying at their expiry, wherever they are read.
//!
//! Not here: which limit keys and values are valid (the admin stage checks them against the
//! policy vocabulary), the precedence of blocks, overrides and policy files (the app, once),
//! the audit log and admin identity (gateway-admin), usage (gateway-quota).

mod live;
mod record;
mod redis_state;
mod snapshot;
mod store;

pub use live::{RuntimeState, SYNC_INTERVAL};
pub use record::{Block, BlockKind, Override, Record, Scope, VirtualKey, new_id};
pub use redis_state::RedisState;
pub use snapshot::{Counts, Snapshot};
pub use store::{Expect, MemoryState, StateError, StateFuture, StateStore};

/// Now, in unix milliseconds.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests;
