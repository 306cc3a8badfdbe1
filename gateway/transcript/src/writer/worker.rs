//! The writer thread: takes records off the queue, assembles them, writes batches, retries a
//! failing sink after a backoff, calls maintenance on time, tracks health, drains at
//! shutdown.
//!
//! Invariants: the retry buffer (`backlog`) never holds more than `retry_max_records`; while
//! the sink is healthy it holds at most one batch, so a slow sink shows as a full queue
//! (`dropped_queue_full`), not as retry-buffer drops; a panic in the sink or in `assemble`
//! is caught and treated as a failure, so the thread never dies while the app runs.

use std::{
    collections::VecDeque,
    panic::{AssertUnwindSafe, catch_unwind},
    sync::{
        Arc,
        mpsc::{Receiver, RecvTimeoutError},
    },
    time::{Instant, SystemTime},
};

use super::{FAILURE_LOG_INTERVAL, Msg, RecorderConfig, Shared, ShutdownReport, Sink, SinkError};
use crate::assemble::{Assembled, BlockMemo, assemble_with};

/// The sink call that failed.
#[derive(Clone, Copy, Debug)]
enum Op {
    Write,
    Maintain,
}

pub(super) struct Worker {
    sink: Box<dyn Sink>,
    rx: Receiver<Msg>,
    shared: Arc<Shared>,
    config: RecorderConfig,
    /// Assembled records not yet written: the next batch, and while the sink fails, the
    /// retry buffer. Oldest first.
    backlog: VecDeque<Assembled>,
    /// Set after a failed write: no write before this instant.
    retry_at: Option<Instant>,
    next_maintain: Instant,
    write_error: Option<String>,
    maintain_error: Option<String>,
    failing_since: Option<Instant>,
    last_warn: Option<Instant>,
    failures_since_warn: u64,
    last_assemble_warn: Option<Instant>,
    /// The blocks built lately, so resent history is not built again (bounded by
    /// [`BlockMemo::MAX_BYTES`]).
    memo: BlockMemo,
}

impl Worker {
    pub(super) fn new(
        sink: Box<dyn Sink>,
        rx: Receiver<Msg>,
        shared: Arc<Shared>,
        config: RecorderConfig,
    ) -> Self {
        let next_maintain = Instant::now() + config.flush_interval;
        Self {
            sink,
            rx,
            shared,
            config,
            backlog: VecDeque::new(),
            retry_at: None,
            next_maintain,
            write_error: None,
            maintain_error: None,
            failing_since: None,
            last_warn: None,
            failures_since_warn: 0,
            last_assemble_warn: None,
            memo: BlockMemo::default(),
        }
    }

    /// Runs until the stop signal, then drains.
    pub(super) fn run(mut self) -> ShutdownReport {
        loop {
            if let Some(&deadline) = self.shared.stop.get() {
                return self.finish(deadline);
            }
            let writable = !self.backlog.is_empty() && self.retry_at.is_none();
            if !writable {
                let wake = self
                    .retry_at
                    .map_or(self.next_maintain, |r| r.min(self.next_maintain));
                match self
                    .rx
                    .recv_timeout(wake.saturating_duration_since(Instant::now()))
                {
                    Ok(msg) => self.accept(msg),
                    Err(RecvTimeoutError::Timeout) => {}
                    // Every sender is gone (the handle too): nothing more can arrive.
                    Err(RecvTimeoutError::Disconnected) => return self.finish(Instant::now()),
                }
            }
            self.collect();
            if self.retry_at.is_some_and(|at| Instant::now() >= at) {
                self.retry_at = None;
            }
            if self.retry_at.is_none() {
                self.write_batch();
            }
            if Instant::now() >= self.next_maintain {
                self.maintain();
            }
        }
    }

    /// Takes what is queued: while healthy, up to one batch (a slow sink backs up the queue),
    /// waiting up to `batch_linger` for more so that one write and one fsync serve many
    /// records (group commit); while backing off, up to one batch more per call (the retry
    /// buffer bounds the rest).
    fn collect(&mut self) {
        let batch = self.config.batch_max_records;
        let (limit, linger_until) = match self.retry_at {
            Some(_) => (self.backlog.len() + batch, None),
            None => (batch, Some(Instant::now() + self.config.batch_linger)),
        };
        while self.backlog.len() < limit {
            match self.rx.try_recv() {
                Ok(msg) => self.accept(msg),
                Err(_) => {
                    let wait = linger_until
                        .filter(|_| !self.backlog.is_empty() && self.shared.stop.get().is_none())
                        .map(|until| until.saturating_duration_since(Instant::now()))
                        .filter(|wait| !wait.is_zero());
                    let Some(wait) = wait else { break };
                    // Parked rather than waiting on the channel: a sender wakes a receiver
                    // that waits on it with a system call per record, while this thread is
                    // unparked only when a batch is full or shutdown begins. Early or
                    // spurious wake-ups just look at the queue again.
                    std::thread::park_timeout(wait);
                }
            }
        }
    }

    fn accept(&mut self, msg: Msg) {
        let Msg::Record(queued) = msg else { return };
        let counters = &self.shared.counters;
        counters.dequeued();
        let Some(pending) = queued.take() else { return };
        let memo = &mut self.memo;
        match catch_unwind(AssertUnwindSafe(|| assemble_with(&pending, memo))) {
            Ok(assembled) => self.backlog.push_back(assembled),
            Err(_) => {
                // Whatever the memo holds was built whole, but start afresh all the same.
                self.memo.clear();
                counters.add_dropped_unassembled(1);
                let now = Instant::now();
                if self
                    .last_assemble_warn
                    .is_none_or(|at| now.duration_since(at) >= FAILURE_LOG_INTERVAL)
                {
                    self.last_assemble_warn = Some(now);
                    tracing::warn!(request_id = %pending.meta.id, "transcript assembly panicked; record dropped");
                }
            }
        }
        let over = self
            .backlog
            .len()
            .saturating_sub(self.config.retry_max_records);
        if over > 0 {
            self.backlog.drain(..over);
            counters.add_dropped_sink(over as u64);
        }
        counters.set_retained(self.backlog.len() as u64);
    }

    /// Writes the oldest batch. On failure keeps it and backs off.
    fn write_batch(&mut self) {
        if self.backlog.is_empty() {
            return;
        }
        let n = self.backlog.len().min(self.config.batch_max_records);
        let batch = &self.backlog.make_contiguous()[..n];
        let sink = &mut self.sink;
        let result = catch_unwind(AssertUnwindSafe(|| sink.write(batch)))
            .unwrap_or_else(|_| Err(SinkError("the sink panicked".to_owned())));
        let counters = Arc::clone(&self.shared.counters);
        match result {
            // Health first: whoever sees a counter move finds health already updated.
            Ok(()) => {
                self.backlog.drain(..n);
                self.note(Op::Write, None, n);
                counters.add_written(n as u64);
            }
            Err(error) => {
                self.retry_at = Some(Instant::now() + self.config.retry_backoff);
                self.note(Op::Write, Some(error), n);
                counters.add_failed(n as u64);
            }
        }
        counters.set_retained(self.backlog.len() as u64);
        self.count_sink_drops();
    }

    fn maintain(&mut self) {
        let sink = &mut self.sink;
        let result = catch_unwind(AssertUnwindSafe(|| sink.maintain(SystemTime::now())))
            .unwrap_or_else(|_| Err(SinkError("the sink panicked".to_owned())));
        self.note(Op::Maintain, result.err(), 0);
        self.next_maintain = Instant::now() + self.config.flush_interval;
        self.count_sink_drops();
    }

    /// Records the sink lost after accepting them count as dropped.
    fn count_sink_drops(&mut self) {
        let dropped = self.sink.take_dropped_records();
        if dropped > 0 {
            self.shared.counters.add_dropped_sink(dropped);
        }
    }

    /// Updates health after a sink call; logs failures (rate-limited) and recovery.
    fn note(&mut self, op: Op, error: Option<SinkError>, records: usize) {
        let was_failing = self.failing_since.is_some();
        let message = error.map(|e| e.0);
        match op {
            Op::Write => self.write_error = message.clone(),
            Op::Maintain => self.maintain_error = message.clone(),
        }
        let current = self
            .write_error
            .clone()
            .or_else(|| self.maintain_error.clone());
        let sink = self.sink.name();
        let now = Instant::now();
        if let Some(error) = &message {
            self.failures_since_warn += 1;
            if self
                .last_warn
                .is_none_or(|at| now.duration_since(at) >= FAILURE_LOG_INTERVAL)
            {
                tracing::warn!(
                    sink,
                    op = ?op,
                    error = %error,
                    records,
                    failures = self.failures_since_warn,
                    retained = self.backlog.len(),
                    "transcript sink failed; records are kept for a retry"
                );
                self.last_warn = Some(now);
                self.failures_since_warn = 0;
            }
        }
        let mut health = self.shared.health();
        match current {
            Some(error) => {
                if !was_failing {
                    self.failing_since = Some(now);
                    health.failing_since = Some(SystemTime::now());
                }
                health.healthy = false;
                health.last_error = Some(error);
            }
            None => {
                if let Some(since) = self.failing_since.take() {
                    tracing::info!(
                        sink,
                        failed_for = ?now.duration_since(since),
                        "transcript sink recovered"
                    );
                }
                health.healthy = true;
                health.last_error = None;
                health.failing_since = None;
            }
        }
    }

    /// Drains the queue and the retry buffer until `deadline`, closes the sink.
    fn finish(mut self, deadline: Instant) -> ShutdownReport {
        let counters = Arc::clone(&self.shared.counters);
        let written_before = counters.snapshot().written;
        // `record()` refuses new records now; take what made it in.
        while let Ok(msg) = self.rx.try_recv() {
            self.accept(msg);
        }
        while !self.backlog.is_empty() {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            if let Some(at) = self.retry_at.filter(|&at| now < at) {
                // Sleeps until the retry (or the deadline); a record racing in is kept.
                if let Ok(msg) = self.rx.recv_timeout(at.min(deadline) - now) {
                    self.accept(msg);
                }
                continue;
            }
            self.retry_at = None;
            self.write_batch();
        }
        let dropped = self.backlog.len() as u64;
        if dropped > 0 {
            counters.add_dropped_sink(dropped);
            tracing::warn!(
                sink = self.sink.name(),
                records = dropped,
                "transcript records not written before the shutdown timeout"
            );
        }
        self.backlog.clear();
        counters.set_retained(0);
        let sink = &mut self.sink;
        let close_error = match catch_unwind(AssertUnwindSafe(|| sink.close())) {
            Ok(Ok(())) => None,
            Ok(Err(error)) => Some(error.0),
            Err(_) => Some("the sink panicked".to_owned()),
        };
        if let Some(error) = &close_error {
            tracing::warn!(sink = self.sink.name(), error = %error, "transcript sink close failed");
        }
        self.count_sink_drops();
        ShutdownReport {
            written: counters.snapshot().written - written_before,
            dropped,
            close_error,
            finished: true,
        }
    }
}
