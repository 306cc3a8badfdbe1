//! The bucket index in Redis: one set per subject and per organisation naming its bucket keys
//! (`lgw:idx:sub:<id>`, `lgw:idx:org:<id>`), so a usage read or a reset touches a handful of
//! keys instead of scanning the keyspace (a SCAN over a million subjects' buckets takes
//! seconds). Written when a replica first reserves on a bucket (a bounded memory of what it
//! indexed; forgetting only costs an idempotent `SADD` again): one extra round trip on a
//! bucket's first reservation per replica, none after. A failed index write is logged and
//! retried on the next reservation; it never fails the request. Keys of an index may have
//! expired since: readers skip them.

use std::{
    collections::HashSet,
    sync::{Mutex, PoisonError},
    time::Duration,
};

use crate::{Bucket, RedisStore, StoreError};

/// Bucket keys a replica remembers having indexed; past this it starts over.
const INDEXED_MAX: usize = 50_000;
/// How long an index lives after its last write (longer than any bucket window).
const INDEX_RETENTION: Duration = Duration::from_secs(400 * 86_400);

/// How long a replica trusts that what it indexed is still there: after this it indexes
/// again (an idempotent `SADD`), so an index lost with a Redis restart it never saw heals.
const INDEXED_TRUST: Duration = Duration::from_secs(600);

/// What this replica indexed already, and since when it trusts that.
#[derive(Debug)]
pub(crate) struct Indexed {
    seen: Mutex<HashSet<String>>,
    since: Mutex<std::time::Instant>,
}

impl Default for Indexed {
    fn default() -> Self {
        Self {
            seen: Mutex::default(),
            since: Mutex::new(std::time::Instant::now()),
        }
    }
}

impl Indexed {
    /// Forgets everything: the next reservation of each bucket indexes it again.
    pub(crate) fn forget_all(&self) {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

/// The index key of a bucket key `lgw:{tenant}:<scope>:<id>:<label>` (`sub` and `org` scopes).
pub(crate) fn index_of(key: &str) -> Option<String> {
    let rest = &key[key.find("}:")? + 2..];
    let (scope, id_label) = rest.split_once(':')?;
    let (id, _label) = id_label.rsplit_once(':')?;
    matches!(scope, "sub" | "org").then(|| index_key(scope, id))
}

/// `lgw:idx:<scope>:<id>`.
pub(crate) fn index_key(scope: &str, id: &str) -> String {
    format!("lgw:idx:{scope}:{id}")
}

impl RedisStore {
    /// Indexes the buckets of a reservation this replica has not indexed yet.
    pub(crate) async fn index_buckets(&self, buckets: &[Bucket]) {
        {
            let mut since = self
                .indexed()
                .since
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if since.elapsed() >= INDEXED_TRUST {
                *since = std::time::Instant::now();
                self.indexed().forget_all();
            }
        }
        let fresh: Vec<(String, String)> = {
            let mut seen = self
                .indexed()
                .seen
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let mut fresh = Vec::new();
            for b in buckets {
                if seen.contains(&b.key) {
                    continue;
                }
                let Some(idx) = index_of(&b.key) else {
                    continue;
                };
                if seen.len() >= INDEXED_MAX {
                    seen.clear();
                }
                seen.insert(b.key.clone());
                fresh.push((idx, b.key.clone()));
            }
            fresh
        };
        if fresh.is_empty() {
            return;
        }
        // One small pipeline per index key (they sit in different slots of a cluster).
        let pipes: Vec<redis::Pipeline> = fresh
            .iter()
            .map(|(idx, key)| {
                let mut pipe = redis::pipe();
                pipe.cmd("SADD")
                    .arg(idx)
                    .arg(key)
                    .ignore()
                    .cmd("EXPIRE")
                    .arg(idx)
                    .arg(INDEX_RETENTION.as_secs())
                    .ignore();
                pipe
            })
            .collect();
        let connection = self.connection();
        let written = tokio::time::timeout(self.timeout(), connection.write_groups(&pipes)).await;
        if !matches!(written, Ok(Ok(()))) {
            // Forget them so the next reservation tries again.
            let mut seen = self
                .indexed()
                .seen
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            for (_, key) in &fresh {
                seen.remove(key);
            }
            tracing::warn!("writing the bucket index failed; retried on the next reservation");
        }
    }

    /// The bucket keys indexed under `scope`/`id`.
    pub(crate) async fn indexed_keys(
        &self,
        scope: &str,
        id: &str,
    ) -> Result<Vec<String>, StoreError> {
        let mut connection = self.connection();
        tokio::time::timeout(
            self.timeout(),
            redis::cmd("SMEMBERS")
                .arg(index_key(scope, id))
                .query_async(&mut connection),
        )
        .await
        .map_err(|_| StoreError::Timeout {
            what: "SMEMBERS",
            within: self.timeout(),
        })?
        .map_err(StoreError::Redis)
    }
}

#[cfg(test)]
mod tests {
    use super::index_of;

    #[test]
    fn a_bucket_key_names_its_subjects_or_orgs_index_and_colons_in_ids_survive() {
        assert_eq!(
            index_of("lgw:{org:acme}:sub:alice:usd_per_day").as_deref(),
            Some("lgw:idx:sub:alice")
        );
        assert_eq!(
            index_of("lgw:{org:acme}:org:acme:usd_per_month").as_deref(),
            Some("lgw:idx:org:acme")
        );
        assert_eq!(
            index_of("lgw:{sub:user:7}:sub:user:7:requests_per_minute").as_deref(),
            Some("lgw:idx:sub:user:7")
        );
        assert_eq!(index_of("lgw:{org:acme}:run:jti-1:run_usd"), None);
        assert_eq!(index_of("not-a-bucket"), None);
    }
}
