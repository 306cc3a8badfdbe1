//! [`HistoryCache`]: remembers the findings of long string values by keyed hash, so history
//! resent on every turn costs one SHA-256 per block instead of a scan.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use crate::detect::RuleId;
use crate::report::SecretValue;

/// A finding in raw string coordinates, as cached.
#[derive(Clone, Debug)]
pub(crate) struct CachedFinding {
    pub(crate) start: u32,
    pub(crate) end: u32,
    pub(crate) rule: RuleId,
    pub(crate) value: SecretValue,
}

pub(crate) type Key = [u8; 16];
pub(crate) type Entry = Arc<[CachedFinding]>;

/// A bounded cache of per-string scan results, keyed by a hash of (tenant key epoch, rule
/// set, raw bytes). Hold one per tenant (or conversation) and pass it `&mut`; wrap it in a
/// `Mutex` if several tasks share it. Eviction is two-generation: the cache keeps between
/// `capacity / 2` and `capacity` entries, and a hit moves an entry to the young generation.
///
/// It holds original values of cached findings in memory (zeroized on drop); `Debug` shows
/// only counts.
pub struct HistoryCache {
    young: HashMap<Key, Entry>,
    old: HashMap<Key, Entry>,
    half: usize,
    hits: u64,
    misses: u64,
}

impl HistoryCache {
    /// A cache remembering up to `capacity` string values; 0 disables caching.
    pub fn new(capacity: usize) -> Self {
        Self {
            young: HashMap::new(),
            old: HashMap::new(),
            half: capacity / 2,
            hits: 0,
            misses: 0,
        }
    }

    /// A cache that never remembers anything.
    pub fn disabled() -> Self {
        Self::new(0)
    }

    pub(crate) fn enabled(&self) -> bool {
        self.half > 0
    }

    pub(crate) fn get(&mut self, key: &Key) -> Option<Entry> {
        if let Some(e) = self.young.get(key) {
            self.hits += 1;
            return Some(Arc::clone(e));
        }
        match self.old.remove(key) {
            Some(e) => {
                self.hits += 1;
                self.insert(*key, Arc::clone(&e));
                Some(e)
            }
            None => {
                self.misses += 1;
                None
            }
        }
    }

    pub(crate) fn insert(&mut self, key: Key, entry: Entry) {
        if !self.enabled() {
            return;
        }
        if self.young.len() >= self.half {
            self.old = std::mem::take(&mut self.young);
        }
        self.young.insert(key, entry);
    }

    /// Entries currently held.
    pub fn len(&self) -> usize {
        self.young.len() + self.old.len()
    }

    /// Whether the cache holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Lookups answered from the cache.
    pub fn hits(&self) -> u64 {
        self.hits
    }

    /// Lookups that had to scan.
    pub fn misses(&self) -> u64 {
        self.misses
    }

    /// Forgets everything (e.g. after a key rotation).
    pub fn clear(&mut self) {
        self.young.clear();
        self.old.clear();
    }
}

impl fmt::Debug for HistoryCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HistoryCache")
            .field("entries", &self.len())
            .field("capacity", &(self.half * 2))
            .field("hits", &self.hits)
            .field("misses", &self.misses)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stays_bounded_and_keeps_recently_used_entries() {
        let mut c = HistoryCache::new(4);
        let empty: Entry = Arc::from(Vec::new());
        for i in 0..10u8 {
            c.insert([i; 16], Arc::clone(&empty));
            assert!(c.len() <= 4);
            // Entry 0 is touched every round, so it survives.
            assert!(c.get(&[0; 16]).is_some(), "round {i}");
        }
        assert!(c.get(&[1; 16]).is_none());
        let mut off = HistoryCache::disabled();
        off.insert([1; 16], empty);
        assert!(off.is_empty());
    }
}
