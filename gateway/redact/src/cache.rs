//! [`HistoryCache`]: remembers the findings of long string values by keyed hash, so history
//! resent on every turn costs one hash per block instead of a scan.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

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

/// Most shards a cache is split into (each behind its own lock).
const MAX_SHARDS: usize = 16;
/// Fewest entries per shard: small caches stay in one shard, so eviction stays predictable.
const MIN_SHARD_CAPACITY: usize = 64;

/// One lock's worth of the cache, with two-generation eviction.
#[derive(Default)]
struct Shard {
    young: HashMap<Key, Entry>,
    old: HashMap<Key, Entry>,
}

/// A bounded cache of per-string scan results, keyed by a hash of (tenant key epoch, rule
/// set, raw bytes). Share one per tenant (or per conversation) between all requests: every
/// method takes `&self`, and the cache is split into up to 16 shards, each behind its own
/// `Mutex` held only for one lookup or one insert, never while scanning — so concurrent
/// requests do not queue behind each other.
///
/// Eviction is two-generation per shard: a shard keeps between `capacity / 2` and
/// `capacity` entries of its share, and a hit moves an entry to the young generation.
///
/// Keys are 128 bits of keyed BLAKE3 (the key derived from the tenant key and the rule set)
/// over the raw string: a key collision would hand a string containing a secret the (empty)
/// findings of another string, so keys must be unguessable even for strings an attacker
/// chooses. The cache holds original values of cached findings in memory (zeroized on
/// drop); `Debug` shows only counts.
pub struct HistoryCache {
    shards: Box<[Mutex<Shard>]>,
    /// Entries per generation per shard; 0 disables caching.
    half: usize,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl HistoryCache {
    /// A cache remembering up to `capacity` string values; 0 disables caching.
    pub fn new(capacity: usize) -> Self {
        let n = (capacity / MIN_SHARD_CAPACITY).clamp(1, MAX_SHARDS);
        Self {
            shards: (0..n).map(|_| Mutex::new(Shard::default())).collect(),
            half: capacity / n / 2,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// A cache that never remembers anything.
    pub fn disabled() -> Self {
        Self::new(0)
    }

    pub(crate) fn enabled(&self) -> bool {
        self.half > 0
    }

    /// The shard for `key` (keys are uniform hash bytes), locked. A panic while a shard was
    /// locked cannot leave it inconsistent for us (it is only a cache), so poison is ignored.
    fn shard(&self, key: &Key) -> Option<MutexGuard<'_, Shard>> {
        let i = usize::from(key[0]) % self.shards.len().max(1);
        let m = self.shards.get(i)?;
        Some(m.lock().unwrap_or_else(PoisonError::into_inner))
    }

    pub(crate) fn get(&self, key: &Key) -> Option<Entry> {
        let found = self.shard(key).and_then(|mut s| {
            if let Some(e) = s.young.get(key) {
                return Some(Arc::clone(e));
            }
            let e = s.old.remove(key)?;
            s.promote(*key, Arc::clone(&e), self.half);
            Some(e)
        });
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    pub(crate) fn insert(&self, key: Key, entry: Entry) {
        if !self.enabled() {
            return;
        }
        if let Some(mut s) = self.shard(&key) {
            s.promote(key, entry, self.half);
        }
    }

    /// Entries currently held.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|m| {
                let s = m.lock().unwrap_or_else(PoisonError::into_inner);
                s.young.len() + s.old.len()
            })
            .sum()
    }

    /// Whether the cache holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Lookups answered from the cache.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Lookups that had to scan.
    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }

    /// Forgets everything (e.g. after a key rotation).
    pub fn clear(&self) {
        for m in self.shards.iter() {
            let mut s = m.lock().unwrap_or_else(PoisonError::into_inner);
            s.young.clear();
            s.old.clear();
        }
    }
}

impl Shard {
    fn promote(&mut self, key: Key, entry: Entry, half: usize) {
        if self.young.len() >= half {
            self.old = std::mem::take(&mut self.young);
        }
        self.young.insert(key, entry);
    }
}

impl fmt::Debug for HistoryCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HistoryCache")
            .field("entries", &self.len())
            .field("capacity", &(self.half * 2 * self.shards.len()))
            .field("shards", &self.shards.len())
            .field("hits", &self.hits())
            .field("misses", &self.misses())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stays_bounded_and_keeps_recently_used_entries() {
        let c = HistoryCache::new(4);
        let empty: Entry = Arc::from(Vec::new());
        for i in 0..10u8 {
            c.insert([i; 16], Arc::clone(&empty));
            assert!(c.len() <= 4);
            // Entry 0 is touched every round, so it survives.
            assert!(c.get(&[0; 16]).is_some(), "round {i}");
        }
        assert!(c.get(&[1; 16]).is_none());
        let off = HistoryCache::disabled();
        off.insert([1; 16], empty);
        assert!(off.is_empty());
    }

    #[test]
    fn large_caches_are_sharded_and_bounded() {
        let c = HistoryCache::new(4096);
        assert_eq!(c.shards.len(), MAX_SHARDS);
        let empty: Entry = Arc::from(Vec::new());
        for i in 0..20_000u32 {
            let mut k = [0u8; 16];
            k[..4].copy_from_slice(&i.wrapping_mul(2_654_435_761).to_le_bytes());
            c.insert(k, Arc::clone(&empty));
        }
        assert!(
            c.len() <= 4096 && c.len() >= 2048 - MAX_SHARDS,
            "{}",
            c.len()
        );
    }

    #[test]
    fn shared_between_threads() {
        let c = HistoryCache::new(4096);
        let empty: Entry = Arc::from(Vec::new());
        std::thread::scope(|s| {
            for t in 0..4u8 {
                let (c, e) = (&c, Arc::clone(&empty));
                s.spawn(move || {
                    for i in 0..200u8 {
                        c.insert(
                            [i, t, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                            Arc::clone(&e),
                        );
                    }
                });
            }
        });
        assert_eq!(c.len(), 800);
        assert!(
            c.get(&[5, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
                .is_some()
        );
    }
}
