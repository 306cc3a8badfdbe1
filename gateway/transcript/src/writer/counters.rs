//! The writer's counters: atomics shared by the recorders and the writer thread, read by the
//! app at scrape time through [`Counters::snapshot`].
//!
//! Every record handed to `Recorder::record` ends in exactly one of `written` or one of the
//! `dropped_*` counters (or is still queued or retained); `failed` counts write attempts, so
//! a record retried three times adds three to it.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Counters (relaxed atomics).
#[derive(Debug, Default)]
pub struct Counters {
    written: AtomicU64,
    batches_written: AtomicU64,
    failed: AtomicU64,
    dropped_queue_full: AtomicU64,
    dropped_closed: AtomicU64,
    dropped_sink: AtomicU64,
    dropped_unassembled: AtomicU64,
    queued: AtomicU64,
    retained: AtomicU64,
}

/// A plain copy of [`Counters`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CountersSnapshot {
    /// Records the sink accepted.
    pub written: u64,
    /// Successful sink writes.
    pub batches_written: u64,
    /// Records in failed write attempts (one per record per attempt).
    pub failed: u64,
    /// Records refused because the queue was full.
    pub dropped_queue_full: u64,
    /// Records handed over after shutdown began.
    pub dropped_closed: u64,
    /// Records given up because the sink kept failing: pushed out of the retry buffer, or
    /// still unwritten when shutdown's timeout passed.
    pub dropped_sink: u64,
    /// Records whose assembly panicked (a bug; the record is skipped, the writer lives on).
    pub dropped_unassembled: u64,
    /// Records waiting in the queue.
    pub queue_depth: u64,
    /// Records assembled and waiting for the sink (the batch in progress and the retry
    /// buffer).
    pub retained: u64,
}

impl CountersSnapshot {
    /// All records dropped, whatever the reason.
    pub fn dropped(&self) -> u64 {
        self.dropped_queue_full + self.dropped_closed + self.dropped_sink + self.dropped_unassembled
    }

    /// The values of `llm_gateway_transcript_records_total` by `outcome` label.
    pub fn records_total(&self) -> [(&'static str, u64); 3] {
        [
            ("written", self.written),
            ("dropped", self.dropped()),
            ("failed", self.failed),
        ]
    }
}

impl Counters {
    /// A copy of every counter.
    pub fn snapshot(&self) -> CountersSnapshot {
        CountersSnapshot {
            written: self.written.load(Relaxed),
            batches_written: self.batches_written.load(Relaxed),
            failed: self.failed.load(Relaxed),
            dropped_queue_full: self.dropped_queue_full.load(Relaxed),
            dropped_closed: self.dropped_closed.load(Relaxed),
            dropped_sink: self.dropped_sink.load(Relaxed),
            dropped_unassembled: self.dropped_unassembled.load(Relaxed),
            queue_depth: self.queued.load(Relaxed),
            retained: self.retained.load(Relaxed),
        }
    }

    /// Records in the queue now (one load, for the request path).
    pub(super) fn queue_depth(&self) -> u64 {
        self.queued.load(Relaxed)
    }

    pub(super) fn enqueued(&self) {
        self.queued.fetch_add(1, Relaxed);
    }

    /// Counterpart of [`Counters::enqueued`]: incremented before the send, so never below 0.
    pub(super) fn dequeued(&self) {
        self.queued.fetch_sub(1, Relaxed);
    }

    pub(super) fn add_written(&self, records: u64) {
        self.written.fetch_add(records, Relaxed);
        self.batches_written.fetch_add(1, Relaxed);
    }

    pub(super) fn add_failed(&self, records: u64) {
        self.failed.fetch_add(records, Relaxed);
    }

    pub(super) fn add_dropped_queue_full(&self, records: u64) {
        self.dropped_queue_full.fetch_add(records, Relaxed);
    }

    pub(super) fn add_dropped_closed(&self, records: u64) {
        self.dropped_closed.fetch_add(records, Relaxed);
    }

    pub(super) fn add_dropped_sink(&self, records: u64) {
        self.dropped_sink.fetch_add(records, Relaxed);
    }

    pub(super) fn add_dropped_unassembled(&self, records: u64) {
        self.dropped_unassembled.fetch_add(records, Relaxed);
    }

    pub(super) fn set_retained(&self, records: u64) {
        self.retained.store(records, Relaxed);
    }
}
