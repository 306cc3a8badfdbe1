//! [`RuntimeState`]: the current [`Snapshot`] of a store, kept fresh by polling its revision,
//! and the writes that change it.

use std::{
    sync::{
        Arc, PoisonError, RwLock,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use crate::{Expect, Record, Snapshot, StateError, StateStore};

/// How often a replica asks the store whether anything changed: one `GET` of the revision
/// counter. A change made on any replica is in force everywhere within this plus one load.
pub const SYNC_INTERVAL: Duration = Duration::from_millis(250);

/// A store and its current snapshot.
#[derive(Debug)]
pub struct RuntimeState {
    store: Arc<dyn StateStore>,
    snapshot: RwLock<Arc<Snapshot>>,
    errors: AtomicU64,
}

impl RuntimeState {
    /// Loads every record of `store`.
    pub async fn load(store: Arc<dyn StateStore>) -> Result<Self, StateError> {
        let (revision, records) = store.load().await?;
        Ok(Self {
            store,
            snapshot: RwLock::new(Arc::new(Snapshot::new(revision, records))),
            errors: AtomicU64::new(0),
        })
    }

    /// The records in force now. Cheap: an `Arc` clone under a read lock.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Store failures of the sync so far.
    pub fn sync_errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }

    /// Reloads the records if the store's revision moved; whether it did.
    pub async fn refresh(&self) -> Result<bool, StateError> {
        let current = self.snapshot().revision;
        if self.store.revision().await? == current {
            return Ok(false);
        }
        let (revision, records) = self.store.load().await?;
        let mut slot = self
            .snapshot
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        // Never go back: a concurrent refresh may have installed a newer one.
        if revision >= slot.revision {
            *slot = Arc::new(Snapshot::new(revision, records));
        }
        Ok(true)
    }

    /// Polls the store every `every` for as long as the state is in use.
    pub fn spawn_sync(self: &Arc<Self>, every: Duration) {
        let weak = Arc::downgrade(self);
        // Ends when the state is dropped.
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(this) = weak.upgrade() else { break };
                if let Err(e) = this.refresh().await {
                    this.errors.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(error = %gateway_core::ErrorChain(&e), "runtime state sync failed; the last snapshot stays in force");
                }
            }
        });
    }

    /// Writes `record` if its revision is as `expect`ed, and brings this replica's snapshot
    /// up to date; returns the record as stored.
    pub async fn put(&self, mut record: Record, expect: Expect) -> Result<Record, StateError> {
        let revision = self.store.put(record.clone(), expect).await?;
        record.set_revision(revision);
        self.after_write().await;
        Ok(record)
    }

    /// Removes the record `id` if its revision is as `expect`ed; returns it as it was.
    pub async fn delete(&self, id: &str, expect: Expect) -> Result<Option<Record>, StateError> {
        let before = self.snapshot().get(id).cloned();
        self.store.delete(id, expect).await?;
        self.after_write().await;
        Ok(before)
    }

    async fn after_write(&self) {
        if let Err(e) = self.refresh().await {
            self.errors.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(error = %gateway_core::ErrorChain(&e), "runtime state reload after a write failed; the sync retries");
        }
    }
}
