//! [`TokenCache`]: verified and rejected tokens by SHA-256, so repeat requests skip signature
//! checks and network calls.

use std::{
    collections::HashMap,
    sync::{PoisonError, RwLock},
    time::Duration,
};

use gateway_core::{Principal, Secret};
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use crate::AuthError;

/// The cache key: a token's SHA-256. The token itself is never stored.
pub(crate) type TokenKey = [u8; 32];

pub(crate) fn key_of(token: &Secret<String>) -> TokenKey {
    Sha256::digest(token.expose().as_bytes()).into()
}

#[derive(Debug)]
struct Entry {
    outcome: Result<Principal, AuthError>,
    until: Instant,
}

/// A bounded map from token hash to outcome, each with its own expiry.
#[derive(Debug)]
pub(crate) struct TokenCache {
    entries: RwLock<HashMap<TokenKey, Entry>>,
    max_entries: usize,
}

impl TokenCache {
    pub(crate) fn new(max_entries: usize) -> Self {
        Self {
            entries: RwLock::new(HashMap::new()),
            max_entries,
        }
    }

    /// The remembered outcome for `key`, if still fresh.
    pub(crate) fn get(&self, key: &TokenKey) -> Option<Result<Principal, AuthError>> {
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        entries
            .get(key)
            .filter(|e| e.until > Instant::now())
            .map(|e| e.outcome.clone())
    }

    /// Remembers `outcome` for `ttl`. When full, expired entries go first, then everything:
    /// the bound holds, and a cleared cache only costs re-verification.
    pub(crate) fn insert(
        &self,
        key: TokenKey,
        outcome: Result<Principal, AuthError>,
        ttl: Duration,
    ) {
        if ttl.is_zero() {
            return;
        }
        let now = Instant::now();
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= self.max_entries && !entries.contains_key(&key) {
            entries.retain(|_, e| e.until > now);
            if entries.len() >= self.max_entries {
                entries.clear();
            }
        }
        entries.insert(
            key,
            Entry {
                outcome,
                until: now + ttl,
            },
        );
    }

    /// Forgets every outcome (the key set changed).
    pub(crate) fn clear(&self) {
        self.entries
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}
