//! The bounded queue and the background writer thread: transcripts are never in the way of a
//! request.
//!
//! The request path calls [`Recorder::record`], which hands the [`Pending`] to a bounded
//! `std::sync::mpsc::sync_channel` with `try_send`: it never blocks and never does I/O. A
//! full queue, or a recorder that is shutting down, drops the record and counts it. One
//! dedicated OS thread, `transcript-writer`, owns the [`Sink`]: it assembles each record
//! ([`crate::assemble::assemble`]), writes batches of up to `batch_max_records` and calls
//! [`Sink::maintain`] at least every `flush_interval`, idle or not. File I/O, fsync and zstd
//! therefore never run on tokio workers.
//!
//! A failed batch stays in a retry buffer (bounded by `retry_max_records`; the oldest records
//! are dropped and counted past it) and is retried every `retry_backoff`. New records keep
//! being collected behind it, and everything retained is written, oldest first, once the sink
//! recovers. Failures are logged at warn with the sink's error (never record contents), the
//! first at once and then at most every [`FAILURE_LOG_INTERVAL`]; recovery is logged at info.
//!
//! # What a crash (`kill -9`) loses
//! The writer wakes as soon as a record is queued and waits at most `batch_linger` (10 ms by
//! default) for more before writing them together (group commit: at 1,000 records/s one
//! fsync serves about ten); `flush_interval` only bounds how long it sleeps when idle (for
//! [`Sink::maintain`]). A record is safe once the [`Sink::write`] of its batch returns (file
//! sink: after fsync). A crash loses exactly the records accepted by `record()` but not yet
//! covered by a returned `write`:
//! - the batch being collected or written (at most `batch_max_records`), and
//! - the records queued behind it (at most `queue_capacity`), which form the next batches.
//!
//! With a healthy sink that keeps up, that is the records handed over during the last
//! `batch_linger` plus two write durations (with the file sink on a local disk, one buffered
//! write plus one `fdatasync` each, a few milliseconds): about 10–20 ms of records, plus, when that write rotated a file, the time to compress it (bounded by
//! `rotate_bytes`: about 0.3 s for 64 MiB at zstd level 3). It is never more than
//! `queue_capacity + batch_max_records` records. While the sink is failing, the retry buffer
//! (at most `retry_max_records`) is lost too. A sink that buffers on its own (the S3 sink)
//! adds its own window: see that sink's docs.
//!
//! Shutdown is an explicit signal ([`WriterHandle::shutdown`]), not the last [`Recorder`]
//! clone going away: in-flight request bodies hold clones.

mod counters;
mod sampling;
mod worker;

#[cfg(test)]
pub(crate) mod tests;

use std::{
    sync::{
        Arc, Mutex, OnceLock, PoisonError,
        atomic::{AtomicUsize, Ordering::Relaxed},
        mpsc::{self, Receiver, SyncSender, TrySendError},
    },
    thread::JoinHandle,
    time::{Duration, Instant, SystemTime},
};

pub use self::{
    counters::{Counters, CountersSnapshot},
    sampling::sampled,
};
use crate::{Pending, assemble::Assembled};

/// Failures are logged at warn at most this often (the first one at once).
pub const FAILURE_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// [`WriterHandle::shutdown`] waits this long past its timeout for the writer to finish the
/// write in progress, call [`Sink::close`] and exit.
pub const SHUTDOWN_JOIN_GRACE: Duration = Duration::from_millis(500);

/// Dropping a [`WriterHandle`] without [`WriterHandle::shutdown`] stops the writer and gives
/// it this long to drain, without waiting for it.
pub const DETACHED_DRAIN_TIMEOUT: Duration = Duration::from_secs(1);

/// The shortest flush interval accepted (shorter values are raised to it): the idle writer
/// must not spin.
pub const MIN_FLUSH_INTERVAL: Duration = Duration::from_millis(1);

/// The longest flush interval accepted (longer values are lowered to it).
pub const MAX_FLUSH_INTERVAL: Duration = Duration::from_secs(60);

/// The longest retry backoff accepted (longer values are lowered to it).
pub const MAX_RETRY_BACKOFF: Duration = Duration::from_secs(60 * 60);

/// The writer thread's name.
pub const THREAD_NAME: &str = "transcript-writer";

/// A sink failed; the writer keeps the batch for a retry (bounded) and counts it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SinkError(pub String);

/// Where batches go. Runs on the writer thread only; may block.
pub trait Sink: Send + std::fmt::Debug {
    /// A short name for logs and health (`file`, `s3`).
    fn name(&self) -> &'static str;
    /// Stores a batch: the blocks not yet in their partition, then the records. Returns once
    /// the batch is durable (file sink: after fsync) or accepted into the sink's own bounded
    /// buffer (S3 sink: until its next upload, see that sink's docs). `Err` means "not
    /// accepted": the writer keeps the batch and sends it again after a backoff.
    fn write(&mut self, batch: &[Assembled]) -> Result<(), SinkError>;
    /// Called at least every flush interval, idle or not: rotation by age, retention,
    /// uploads that are due.
    fn maintain(&mut self, now: SystemTime) -> Result<(), SinkError>;
    /// Final flush at shutdown.
    fn close(&mut self) -> Result<(), SinkError>;
    /// Records the sink accepted earlier (its `write` returned `Ok`) and has since lost, e.g.
    /// an S3 sink whose retained objects overflowed while uploads failed; reset on reading.
    /// The writer asks after every call and counts them as dropped.
    fn take_dropped_records(&mut self) -> u64 {
        0
    }
}

/// Settings of the queue and the writer. Every field is a bound.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecorderConfig {
    /// Records waiting for the writer; past it `record()` drops and counts.
    pub queue_capacity: usize,
    /// Content bytes (request bodies and captured responses) waiting for the writer; past
    /// it `record()` drops and counts (a single record always fits an empty queue).
    pub queue_max_bytes: usize,
    /// Most records per [`Sink::write`].
    pub batch_max_records: usize,
    /// How long the writer waits for more records after the first of a batch (group
    /// commit: one write and one fsync for many records). Part of what a crash can lose.
    pub batch_linger: Duration,
    /// Longest idle sleep of the writer: [`Sink::maintain`] runs at least this often.
    pub flush_interval: Duration,
    /// Most records kept for a retry while the sink fails (raised to `batch_max_records` if
    /// lower); past it the oldest are dropped and counted.
    pub retry_max_records: usize,
    /// Wait between retries of a failed write.
    pub retry_backoff: Duration,
}

impl RecorderConfig {
    /// Default [`RecorderConfig::queue_capacity`].
    pub const DEFAULT_QUEUE_CAPACITY: usize = 8192;
    /// Default [`RecorderConfig::queue_max_bytes`]: 256 MiB.
    pub const DEFAULT_QUEUE_MAX_BYTES: usize = 256 << 20;
    /// Default [`RecorderConfig::batch_max_records`].
    pub const DEFAULT_BATCH_MAX_RECORDS: usize = 256;
    /// Default [`RecorderConfig::batch_linger`].
    pub const DEFAULT_BATCH_LINGER: Duration = Duration::from_millis(10);
    /// Default [`RecorderConfig::flush_interval`].
    pub const DEFAULT_FLUSH_INTERVAL: Duration = Duration::from_millis(100);
    /// Default [`RecorderConfig::retry_max_records`] (the queue capacity).
    pub const DEFAULT_RETRY_MAX_RECORDS: usize = Self::DEFAULT_QUEUE_CAPACITY;
    /// Default [`RecorderConfig::retry_backoff`].
    pub const DEFAULT_RETRY_BACKOFF: Duration = Duration::from_secs(1);

    /// Zero sizes raised to one, the retry buffer to one batch, the flush interval into
    /// [`MIN_FLUSH_INTERVAL`]..=[`MAX_FLUSH_INTERVAL`], the backoff to at most
    /// [`MAX_RETRY_BACKOFF`].
    fn normalized(mut self) -> Self {
        self.queue_capacity = self.queue_capacity.max(1);
        self.batch_max_records = self.batch_max_records.max(1);
        self.retry_max_records = self.retry_max_records.max(self.batch_max_records);
        self.flush_interval = self
            .flush_interval
            .clamp(MIN_FLUSH_INTERVAL, MAX_FLUSH_INTERVAL);
        self.retry_backoff = self.retry_backoff.min(MAX_RETRY_BACKOFF);
        self
    }
}

impl Default for RecorderConfig {
    fn default() -> Self {
        Self {
            queue_capacity: Self::DEFAULT_QUEUE_CAPACITY,
            queue_max_bytes: Self::DEFAULT_QUEUE_MAX_BYTES,
            batch_max_records: Self::DEFAULT_BATCH_MAX_RECORDS,
            batch_linger: Self::DEFAULT_BATCH_LINGER,
            flush_interval: Self::DEFAULT_FLUSH_INTERVAL,
            retry_max_records: Self::DEFAULT_RETRY_MAX_RECORDS,
            retry_backoff: Self::DEFAULT_RETRY_BACKOFF,
        }
    }
}

/// The sink's state for `/readyz`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SinkHealth {
    /// [`Sink::name`].
    pub sink: &'static str,
    /// False while the latest write or the latest maintenance failed.
    pub healthy: bool,
    /// The error of the failure in progress (none once healthy again).
    pub last_error: Option<String>,
    /// When the failure in progress began.
    pub failing_since: Option<SystemTime>,
}

/// What [`WriterHandle::shutdown`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ShutdownReport {
    /// Records written after shutdown began (the queue and the retry buffer drained).
    pub written: u64,
    /// Records given up at shutdown (also counted in [`CountersSnapshot::dropped_sink`]).
    pub dropped: u64,
    /// The error of [`Sink::close`], if it failed.
    pub close_error: Option<String>,
    /// False when the writer did not finish within the timeout plus [`SHUTDOWN_JOIN_GRACE`]
    /// (a sink call hung); it was left running, detached, and `dropped` is the estimate of
    /// records still queued or retained.
    pub finished: bool,
}

/// State shared by the recorders, the handle and the writer thread.
#[derive(Debug)]
struct Shared {
    counters: Arc<Counters>,
    /// Set once when shutdown begins: the instant the writer stops retrying.
    stop: OnceLock<Instant>,
    health: Mutex<SinkHealth>,
    /// Content bytes of the records in the queue.
    queued_bytes: AtomicUsize,
    /// The writer thread, unparked when a batch is full or shutdown begins: while it lingers
    /// for a batch it is parked, not waiting on the channel, so senders make no system call.
    writer: OnceLock<std::thread::Thread>,
    /// Records that fill a batch: a send that leaves this many queued ends the linger.
    batch_max_records: u64,
}

impl Shared {
    /// Ends the writer's linger (no system call unless it is parked).
    fn wake_writer(&self) {
        if let Some(writer) = self.writer.get() {
            writer.unpark();
        }
    }

    fn health(&self) -> std::sync::MutexGuard<'_, SinkHealth> {
        self.health.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A message to the writer.
enum Msg {
    Record(Queued),
    /// Look at the stop signal now.
    Wake,
}

/// A record in the queue. If it is dropped unread (the writer exited while a record raced in
/// behind shutdown), its drop counts it, so every record handed over is accounted for.
struct Queued {
    pending: Option<Box<Pending>>,
    shared: Arc<Shared>,
    /// Its share of [`Shared::queued_bytes`], given back when it leaves the queue.
    bytes: usize,
}

impl Queued {
    fn take(mut self) -> Option<Box<Pending>> {
        self.shared.queued_bytes.fetch_sub(self.bytes, Relaxed);
        self.bytes = 0;
        self.pending.take()
    }
}

impl Drop for Queued {
    fn drop(&mut self) {
        self.shared.queued_bytes.fetch_sub(self.bytes, Relaxed);
        if self.pending.take().is_some() {
            self.shared.counters.dequeued();
            self.shared.counters.add_dropped_closed(1);
        }
    }
}

/// The request path's handle: cheap to clone, never blocks.
#[derive(Clone, Debug)]
pub struct Recorder {
    tx: SyncSender<Msg>,
    shared: Arc<Shared>,
    max_bytes: usize,
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Record(_) => "Record",
            Self::Wake => "Wake",
        })
    }
}

impl Recorder {
    /// Starts the writer thread with `sink`. Fails only if the thread cannot be spawned.
    pub fn start(
        sink: Box<dyn Sink>,
        config: RecorderConfig,
    ) -> std::io::Result<(Recorder, WriterHandle)> {
        let config = config.normalized();
        let max_bytes = config.queue_max_bytes;
        let (tx, rx) = mpsc::sync_channel(config.queue_capacity);
        let shared = Arc::new(Shared {
            counters: Arc::new(Counters::default()),
            queued_bytes: AtomicUsize::new(0),
            stop: OnceLock::new(),
            writer: OnceLock::new(),
            batch_max_records: config.batch_max_records as u64,
            health: Mutex::new(SinkHealth {
                sink: sink.name(),
                healthy: true,
                last_error: None,
                failing_since: None,
            }),
        });
        let (done_tx, done_rx) = mpsc::sync_channel(1);
        let worker = worker::Worker::new(sink, rx, Arc::clone(&shared), config);
        let thread = std::thread::Builder::new()
            .name(THREAD_NAME.to_owned())
            .spawn(move || {
                let report = worker.run();
                let _ = done_tx.send(report);
            })?;
        let _ = shared.writer.set(thread.thread().clone());
        let recorder = Recorder {
            tx: tx.clone(),
            shared: Arc::clone(&shared),
            max_bytes,
        };
        let handle = WriterHandle {
            wake: tx,
            shared,
            done: done_rx,
            thread: Some(thread),
        };
        Ok((recorder, handle))
    }

    /// Hands `pending` to the writer. Never blocks, never does I/O: when the queue is full or
    /// shutdown has begun, the record is dropped and counted.
    pub fn record(&self, mut pending: Pending) {
        let counters = &self.shared.counters;
        if self.shared.stop.get().is_some() {
            counters.add_dropped_closed(1);
            return;
        }
        pending.compact();
        let bytes = pending.content_bytes();
        let before = self.shared.queued_bytes.fetch_add(bytes, Relaxed);
        if before > 0 && before + bytes > self.max_bytes {
            self.shared.queued_bytes.fetch_sub(bytes, Relaxed);
            counters.add_dropped_queue_full(1);
            return;
        }
        counters.enqueued();
        let msg = Msg::Record(Queued {
            pending: Some(Box::new(pending)),
            shared: Arc::clone(&self.shared),
            bytes,
        });
        match self.tx.try_send(msg) {
            Ok(()) => {
                if counters.queue_depth() >= self.shared.batch_max_records {
                    self.shared.wake_writer();
                }
            }
            Err(TrySendError::Full(msg)) => {
                discard(msg);
                counters.dequeued();
                counters.add_dropped_queue_full(1);
            }
            Err(TrySendError::Disconnected(msg)) => {
                discard(msg);
                counters.dequeued();
                counters.add_dropped_closed(1);
            }
        }
    }

    /// The counters, for export at scrape time.
    pub fn counters(&self) -> Arc<Counters> {
        Arc::clone(&self.shared.counters)
    }

    /// The sink's state, for `/readyz`.
    pub fn health(&self) -> SinkHealth {
        self.shared.health().clone()
    }
}

/// Drops a message that was not sent, without counting it as dropped-at-shutdown.
fn discard(msg: Msg) {
    if let Msg::Record(queued) = msg {
        drop(queued.take());
    }
}

/// Owns the writer thread; [`WriterHandle::shutdown`] stops it.
#[derive(Debug)]
pub struct WriterHandle {
    wake: SyncSender<Msg>,
    shared: Arc<Shared>,
    done: Receiver<ShutdownReport>,
    thread: Option<JoinHandle<()>>,
}

impl WriterHandle {
    /// Stops accepting records, drains the queue and the retry buffer (retrying a failing
    /// sink until `timeout`), calls [`Sink::close`] and joins the thread. Records that could
    /// not be written are counted as dropped. Returns within `timeout` plus
    /// [`SHUTDOWN_JOIN_GRACE`] even if a sink call hangs (the thread is then left detached).
    pub fn shutdown(mut self, timeout: Duration) -> ShutdownReport {
        self.signal_stop(timeout);
        match self
            .done
            .recv_timeout(timeout.saturating_add(SHUTDOWN_JOIN_GRACE))
        {
            Ok(report) => {
                if let Some(thread) = self.thread.take() {
                    let _ = thread.join();
                }
                report
            }
            Err(_) => {
                // Detached: the thread keeps its sink until its call returns.
                self.thread = None;
                let snapshot = self.shared.counters.snapshot();
                ShutdownReport {
                    written: 0,
                    dropped: snapshot.queue_depth + snapshot.retained,
                    close_error: None,
                    finished: false,
                }
            }
        }
    }

    /// The counters (the same as [`Recorder::counters`]).
    pub fn counters(&self) -> Arc<Counters> {
        Arc::clone(&self.shared.counters)
    }

    fn signal_stop(&self, timeout: Duration) {
        let now = Instant::now();
        let deadline = now.checked_add(timeout).unwrap_or(now);
        let _ = self.shared.stop.set(deadline);
        // A full queue means the writer is busy; it checks the signal every iteration. A
        // lingering writer is parked: unpark it too.
        let _ = self.wake.try_send(Msg::Wake);
        self.shared.wake_writer();
    }
}

impl Drop for WriterHandle {
    fn drop(&mut self) {
        if self.thread.is_some() {
            self.signal_stop(DETACHED_DRAIN_TIMEOUT);
        }
    }
}
