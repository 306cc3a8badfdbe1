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
//! Also here, as pure logic: the one precedence rule ([`effective_limit`]: block > active
//! override > policy file > defaults, each value with its [`Source`]), issuing virtual keys
//! ([`issue_key`]) and the hash-chained audit log's lines ([`AuditChain`], [`verify_chain`]).
//!
//! Not here: which limit keys and values are valid (the admin stage checks them against the
//! policy vocabulary), where the audit log is written and admin identity (gateway-admin),
//! usage (gateway-quota).

mod audit;
mod effective;
mod keys;
mod live;
mod record;
mod redis_state;
mod snapshot;
mod store;

pub use audit::{AuditChain, AuditEntry, ChainError, GENESIS, line_digest, verify_chain};
pub use effective::{Effective, FileValue, Source, effective_limit, effective_value};
pub use keys::{KEY_TOKEN_PREFIX, KeyRequest, issue_key, token_digest};
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
#[cfg(test)]
mod tests_engine;
