//! Where records live: the [`StateStore`] trait and the in-process [`MemoryState`]. Every
//! write bumps one store-wide revision counter and stamps the record with it, so replicas
//! notice a change by reading one number.

use std::{
    collections::BTreeMap,
    fmt,
    future::Future,
    pin::Pin,
    sync::{Mutex, PoisonError},
};

use crate::Record;

/// What a write expects the record's current revision to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// The record must not exist (a create).
    Absent,
    /// The record must exist at this revision (`If-Match`).
    Revision(u64),
    /// The record must exist, at any revision.
    Any,
}

/// Why a write did not happen.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The record's revision is not the expected one.
    #[error("the record is at revision {current}, not the expected one")]
    Conflict {
        /// Its current revision (0: it does not exist).
        current: u64,
    },
    /// No record with that id.
    #[error("no such record")]
    NotFound,
    /// Redis failed or did not answer in time.
    #[error("runtime state store: Redis failed")]
    Redis(#[source] redis::RedisError),
    /// Redis did not answer within the bound.
    #[error("runtime state store: Redis did not answer {what} within {within:?}")]
    Timeout {
        /// The command.
        what: &'static str,
        /// The bound.
        within: std::time::Duration,
    },
    /// A stored record is not readable (written by another version, or edited by hand).
    #[error("runtime state store: unreadable record {id}")]
    Corrupt {
        /// The record id.
        id: String,
    },
}

/// A boxed store future, so stores can be trait objects.
pub type StateFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StateError>> + Send + 'a>>;

/// Records shared by every replica that uses the same store.
pub trait StateStore: Send + Sync + fmt::Debug {
    /// The store-wide revision: changes on every write.
    fn revision(&self) -> StateFuture<'_, u64>;
    /// Every record and the revision they were read at.
    fn load(&self) -> StateFuture<'_, (u64, Vec<Record>)>;
    /// Writes `record` if its current revision is as `expect`ed; returns the new revision
    /// (also stamped on the stored record).
    fn put(&self, record: Record, expect: Expect) -> StateFuture<'_, u64>;
    /// Removes the record `id` if its current revision is as `expect`ed.
    fn delete<'a>(&'a self, id: &'a str, expect: Expect) -> StateFuture<'a, u64>;
}

/// Checks `expect` against a current revision (0 = absent).
pub(crate) fn check(expect: Expect, current: u64) -> Result<(), StateError> {
    match (expect, current) {
        (Expect::Absent, 0) => Ok(()),
        (Expect::Absent, current) => Err(StateError::Conflict { current }),
        (Expect::Any | Expect::Revision(_), 0) => Err(StateError::NotFound),
        (Expect::Revision(r), current) if r != current => Err(StateError::Conflict { current }),
        _ => Ok(()),
    }
}

/// Records in this process only.
#[derive(Debug, Default)]
pub struct MemoryState {
    inner: Mutex<(u64, BTreeMap<String, Record>)>,
}

impl MemoryState {
    fn with<T>(&self, f: impl FnOnce(&mut (u64, BTreeMap<String, Record>)) -> T) -> T {
        f(&mut self.inner.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl StateStore for MemoryState {
    fn revision(&self) -> StateFuture<'_, u64> {
        Box::pin(async move { Ok(self.with(|(rev, _)| *rev)) })
    }

    fn load(&self) -> StateFuture<'_, (u64, Vec<Record>)> {
        Box::pin(async move {
            Ok(self.with(|(rev, records)| (*rev, records.values().cloned().collect())))
        })
    }

    fn put(&self, mut record: Record, expect: Expect) -> StateFuture<'_, u64> {
        Box::pin(async move {
            self.with(|(rev, records)| {
                let current = records.get(record.id()).map_or(0, Record::revision);
                check(expect, current)?;
                *rev += 1;
                record.set_revision(*rev);
                records.insert(record.id().to_owned(), record);
                Ok(*rev)
            })
        })
    }

    fn delete<'a>(&'a self, id: &'a str, expect: Expect) -> StateFuture<'a, u64> {
        Box::pin(async move {
            self.with(|(rev, records)| {
                let current = records.get(id).map_or(0, Record::revision);
                check(expect, current)?;
                *rev += 1;
                records.remove(id);
                Ok(*rev)
            })
        })
    }
}
