//! Writer tests: batching, a full queue, a failing sink, the retry buffer, shutdown, health,
//! idle maintenance, sampling. The test sink's writes block on a gate the test opens, so the
//! queue fills deterministically; waits poll observable state with a deadline.

use gateway_core::Usage;
use std::{
    sync::{
        Arc, Condvar, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering::SeqCst},
        mpsc,
    },
    time::{Duration, Instant, SystemTime},
};

use bytes::Bytes;

use super::*;
use crate::{Api, Meta, Mode, ResponseCapture};

const WAIT: Duration = Duration::from_secs(10);

/// Polls `done` until it holds; fails the test after [`WAIT`].
fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::yield_now();
    }
}

pub(crate) fn pending(id: &str, started_at: &str) -> Pending {
    Pending {
        meta: Meta {
            id: id.to_owned(),
            session: Some("s-1".to_owned()),
            agent: None,
            parent_agent: None,
            product: None,
            subject: "alice".to_owned(),
            org: None,
            api: Api::AnthropicMessages,
            model: "claude-x".to_owned(),
            upstream: "anthropic".to_owned(),
            key_id: None,
            attempts: None,
            possibly_billed: Vec::new(),
            started_at: started_at.to_owned(),
            latency_ms: 12,
            ttft_ms: None,
            status: 200,
            complete: true,
            usage: Usage::default(),
            usage_estimated: false,
            cost_micro_usd: 0,
            redactions: Default::default(),
        },
        mode: Mode::Metadata,
        request_body: Bytes::new(),
        response: ResponseCapture::new(false),
    }
}

fn rec(i: usize) -> Pending {
    pending(&format!("r{i}"), "2026-11-26T12:00:00.000Z")
}

/// A sink recording what it got; its failure is toggled, its writes can be held at a gate.
#[derive(Debug, Default)]
struct Probe {
    batches: Mutex<Vec<Vec<String>>>,
    attempts: AtomicU64,
    maintains: AtomicU64,
    fail: AtomicBool,
    /// Fails this many more writes, then succeeds.
    fail_times: AtomicU64,
    closed: AtomicBool,
    gate_closed: Mutex<bool>,
    gate: Condvar,
    entered: Mutex<Option<mpsc::Sender<()>>>,
}

impl Probe {
    fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Holds writes at the gate; returns a receiver of one message per write entered.
    fn hold(&self) -> mpsc::Receiver<()> {
        let (tx, rx) = mpsc::channel();
        *self.entered.lock().unwrap() = Some(tx);
        *self.gate_closed.lock().unwrap() = true;
        rx
    }

    fn release(&self) {
        *self.gate_closed.lock().unwrap() = false;
        self.gate.notify_all();
    }

    fn ids(&self) -> Vec<String> {
        self.batches.lock().unwrap().concat()
    }

    fn sink(self: &Arc<Self>) -> Box<dyn Sink> {
        Box::new(ProbeSink(Arc::clone(self)))
    }
}

#[derive(Debug)]
struct ProbeSink(Arc<Probe>);

impl Sink for ProbeSink {
    fn name(&self) -> &'static str {
        "probe"
    }

    fn write(&mut self, batch: &[Assembled]) -> Result<(), SinkError> {
        let p = &self.0;
        p.attempts.fetch_add(1, SeqCst);
        if let Some(tx) = &*p.entered.lock().unwrap() {
            let _ = tx.send(());
        }
        let mut closed = p.gate_closed.lock().unwrap();
        while *closed {
            closed = p.gate.wait(closed).unwrap();
        }
        drop(closed);
        let countdown = p
            .fail_times
            .fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1));
        if p.fail.load(SeqCst) || countdown.is_ok() {
            return Err(SinkError("disk on fire".to_owned()));
        }
        let ids = batch.iter().map(|a| a.record.meta.id.clone()).collect();
        p.batches.lock().unwrap().push(ids);
        Ok(())
    }

    fn maintain(&mut self, _now: SystemTime) -> Result<(), SinkError> {
        self.0.maintains.fetch_add(1, SeqCst);
        Ok(())
    }

    fn close(&mut self) -> Result<(), SinkError> {
        self.0.closed.store(true, SeqCst);
        Ok(())
    }
}

fn config(queue: usize, batch: usize, retry: usize, backoff: Duration) -> RecorderConfig {
    RecorderConfig {
        queue_capacity: queue,
        queue_max_bytes: RecorderConfig::DEFAULT_QUEUE_MAX_BYTES,
        batch_max_records: batch,
        batch_linger: Duration::ZERO,
        flush_interval: Duration::from_millis(5),
        retry_max_records: retry,
        retry_backoff: backoff,
    }
}

fn ids(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("r{i}")).collect()
}

#[test]
fn defaults_are_the_documented_bounds() {
    let c = RecorderConfig::default();
    assert_eq!(c.queue_capacity, 8192);
    assert_eq!(c.queue_max_bytes, 256 << 20);
    assert_eq!(c.batch_max_records, 256);
    assert_eq!(c.flush_interval, Duration::from_millis(100));
    assert_eq!(c.retry_max_records, 8192);
    assert_eq!(c.retry_backoff, Duration::from_secs(1));
}

#[test]
fn records_reach_the_sink_in_order_in_bounded_batches() {
    let probe = Probe::new();
    let entered = probe.hold();
    let (rec_, handle) = Recorder::start(probe.sink(), config(64, 4, 64, WAIT)).unwrap();
    rec_.record(rec(0));
    entered.recv().unwrap();
    for i in 1..11 {
        rec_.record(rec(i));
    }
    probe.release();
    eventually("11 records written", || {
        rec_.counters().snapshot().written == 11
    });
    let batches: Vec<usize> = probe.batches.lock().unwrap().iter().map(Vec::len).collect();
    assert_eq!(batches, [1, 4, 4, 2]);
    assert_eq!(probe.ids(), ids(0..11));
    let s = rec_.counters().snapshot();
    assert_eq!((s.batches_written, s.dropped(), s.failed), (4, 0, 0));
    assert!(handle.shutdown(WAIT).finished);
    assert!(probe.closed.load(SeqCst));
}

#[test]
fn a_full_queue_drops_and_counts_without_blocking() {
    let probe = Probe::new();
    let entered = probe.hold();
    let (rec_, handle) = Recorder::start(probe.sink(), config(4, 256, 256, WAIT)).unwrap();
    rec_.record(rec(0));
    entered.recv().unwrap(); // The writer is stuck in the sink with r0; the queue is empty.
    for i in 1..8 {
        // Returns at once even though nothing is being taken off the queue.
        rec_.record(rec(i));
    }
    let s = rec_.counters().snapshot();
    assert_eq!((s.queue_depth, s.dropped_queue_full), (4, 3));
    assert_eq!(s.records_total()[1], ("dropped", 3));
    probe.release();
    let report = handle.shutdown(WAIT);
    assert_eq!(probe.ids(), ids(0..5));
    assert_eq!((report.dropped, report.finished), (0, true));
    let s = rec_.counters().snapshot();
    assert_eq!((s.written, s.queue_depth, s.dropped()), (5, 0, 3));
}

#[test]
fn records_arriving_within_the_linger_share_one_write() {
    let probe = Probe::new();
    let config = RecorderConfig {
        batch_linger: WAIT,
        ..config(64, 4, 64, WAIT)
    };
    let (rec_, handle) = Recorder::start(probe.sink(), config).unwrap();
    for i in 0..4 {
        rec_.record(rec(i));
    }
    eventually("4 records written", || {
        rec_.counters().snapshot().written == 4
    });
    // The writer woke on the first record and waited for the batch to fill.
    let batches: Vec<usize> = probe.batches.lock().unwrap().iter().map(Vec::len).collect();
    assert_eq!(batches, [4]);
    // A lingering writer still stops at once on shutdown, writing what it holds.
    rec_.record(rec(4));
    let report = handle.shutdown(WAIT);
    assert!(report.finished);
    assert_eq!(probe.ids(), ids(0..5));
}

#[test]
fn the_queue_is_bounded_in_bytes_too() {
    let probe = Probe::new();
    let entered = probe.hold();
    let body = |i: usize| {
        let mut p = rec(i);
        p.request_body = bytes::Bytes::from(vec![b'x'; 1000]);
        p
    };
    let config = RecorderConfig {
        queue_max_bytes: 2500,
        ..config(64, 256, 256, WAIT)
    };
    let (rec_, handle) = Recorder::start(probe.sink(), config).unwrap();
    rec_.record(body(0));
    entered.recv().unwrap(); // r0 left the queue: its bytes are given back.
    for i in 1..6 {
        rec_.record(body(i));
    }
    // Two of 1000 bytes fit under 2500; the other three are dropped at once.
    let s = rec_.counters().snapshot();
    assert_eq!((s.queue_depth, s.dropped_queue_full), (2, 3));
    probe.release();
    let report = handle.shutdown(WAIT);
    assert_eq!(probe.ids(), ids(0..3));
    assert!(report.finished);
}

#[test]
fn a_failing_sink_keeps_records_and_writes_them_after_recovery() {
    let probe = Probe::new();
    probe.fail.store(true, SeqCst);
    let backoff = Duration::from_millis(5);
    let (rec_, handle) = Recorder::start(probe.sink(), config(64, 256, 64, backoff)).unwrap();
    let before = SystemTime::now();
    for i in 0..3 {
        rec_.record(rec(i));
    }
    eventually("a failed write", || rec_.counters().snapshot().failed >= 3);
    eventually("unhealthy", || !rec_.health().healthy);
    let health = rec_.health();
    assert_eq!(health.sink, "probe");
    assert_eq!(health.last_error.as_deref(), Some("disk on fire"));
    assert!(health.failing_since.is_some_and(|t| t >= before));
    for i in 3..5 {
        rec_.record(rec(i));
    }
    eventually("all five retained", || {
        rec_.counters().snapshot().retained == 5
    });
    probe.fail.store(false, SeqCst);
    eventually("recovery", || rec_.counters().snapshot().written == 5);
    assert_eq!(probe.ids(), ids(0..5));
    eventually("healthy again", || rec_.health().healthy);
    let health = rec_.health();
    assert_eq!((health.last_error, health.failing_since), (None, None));
    let s = rec_.counters().snapshot();
    assert_eq!((s.dropped(), s.retained), (0, 0));
    assert!(s.failed >= 3);
    assert!(handle.shutdown(WAIT).finished);
}

#[test]
fn retries_wait_for_the_backoff_and_shutdown_gives_up_at_its_timeout() {
    let probe = Probe::new();
    probe.fail.store(true, SeqCst);
    let (rec_, handle) = Recorder::start(probe.sink(), config(64, 256, 64, WAIT * 100)).unwrap();
    rec_.record(rec(0));
    eventually("a failed write", || rec_.counters().snapshot().failed == 1);
    for i in 1..4 {
        rec_.record(rec(i));
    }
    // New records are collected behind the failed batch without an early retry.
    eventually("four retained", || rec_.counters().snapshot().retained == 4);
    assert_eq!(probe.attempts.load(SeqCst), 1);
    let timeout = Duration::from_millis(200);
    let started = Instant::now();
    let report = handle.shutdown(timeout);
    assert!(started.elapsed() < timeout + SHUTDOWN_JOIN_GRACE);
    assert_eq!(
        (report.written, report.dropped, report.finished),
        (0, 4, true)
    );
    let s = rec_.counters().snapshot();
    assert_eq!((s.written, s.dropped_sink, s.retained), (0, 4, 0));
    assert!(probe.closed.load(SeqCst));
}

#[test]
fn shutdown_with_a_permanently_failing_sink_counts_everything_dropped() {
    let probe = Probe::new();
    probe.fail.store(true, SeqCst);
    let backoff = Duration::from_millis(5);
    let (rec_, handle) = Recorder::start(probe.sink(), config(64, 2, 64, backoff)).unwrap();
    for i in 0..5 {
        rec_.record(rec(i));
    }
    let timeout = Duration::from_millis(100);
    let started = Instant::now();
    let report = handle.shutdown(timeout);
    assert!(started.elapsed() < timeout + SHUTDOWN_JOIN_GRACE);
    assert_eq!((report.dropped, report.written), (5, 0));
    let s = rec_.counters().snapshot();
    assert_eq!((s.dropped_sink, s.written, s.queue_depth), (5, 0, 0));
    assert!(probe.attempts.load(SeqCst) >= 1);
}

#[test]
fn shutdown_retries_a_failing_sink_until_it_recovers() {
    let probe = Probe::new();
    probe.fail_times.store(3, SeqCst);
    let backoff = Duration::from_millis(5);
    let (rec_, handle) = Recorder::start(probe.sink(), config(64, 256, 64, backoff)).unwrap();
    for i in 0..5 {
        rec_.record(rec(i));
    }
    let report = handle.shutdown(WAIT);
    assert_eq!((report.dropped, report.finished), (0, true));
    assert_eq!(probe.ids(), ids(0..5));
    assert!(probe.attempts.load(SeqCst) >= 4);
    let s = rec_.counters().snapshot();
    assert_eq!((s.written, s.dropped()), (5, 0));
}

#[test]
fn past_the_retry_buffer_the_oldest_records_are_dropped() {
    let probe = Probe::new();
    probe.fail.store(true, SeqCst);
    let backoff = Duration::from_millis(5);
    let (rec_, handle) = Recorder::start(probe.sink(), config(64, 2, 4, backoff)).unwrap();
    for i in 0..7 {
        rec_.record(rec(i));
    }
    eventually("overflow", || {
        let s = rec_.counters().snapshot();
        s.retained == 4 && s.dropped_sink == 3
    });
    probe.fail.store(false, SeqCst);
    eventually("recovery", || rec_.counters().snapshot().written == 4);
    assert_eq!(probe.ids(), ids(3..7));
    assert!(handle.shutdown(WAIT).finished);
    assert_eq!(rec_.counters().snapshot().dropped(), 3);
}

#[test]
fn shutdown_drains_the_queue_then_refuses_records() {
    let probe = Probe::new();
    let entered = probe.hold();
    let (rec_, handle) = Recorder::start(probe.sink(), config(64, 256, 64, WAIT)).unwrap();
    rec_.record(rec(0));
    entered.recv().unwrap();
    for i in 1..6 {
        rec_.record(rec(i));
    }
    let shutting = std::thread::spawn(move || handle.shutdown(WAIT));
    probe.release();
    let report = shutting.join().unwrap();
    assert_eq!(
        (report.dropped, report.close_error, report.finished),
        (0, None, true)
    );
    assert_eq!(probe.ids(), ids(0..6));
    rec_.record(rec(6));
    let s = rec_.counters().snapshot();
    assert_eq!((s.written, s.dropped_closed, s.queue_depth), (6, 1, 0));
    assert!(probe.closed.load(SeqCst));
}

#[test]
fn an_idle_writer_still_maintains_the_sink() {
    let probe = Probe::new();
    let (_rec, handle) = Recorder::start(probe.sink(), config(4, 4, 4, WAIT)).unwrap();
    eventually("three maintenance calls", || {
        probe.maintains.load(SeqCst) >= 3
    });
    assert_eq!(probe.attempts.load(SeqCst), 0);
    assert!(handle.shutdown(WAIT).finished);
}

#[test]
fn sampling_is_deterministic_by_key() {
    assert!(sampled("s", 1.0) && sampled("s", 7.0));
    assert!(!sampled("s", 0.0) && !sampled("s", -1.0) && !sampled("s", f64::NAN));
    let keys: Vec<String> = (0..10_000).map(|i| format!("session-{i}")).collect();
    let kept = keys.iter().filter(|k| sampled(k, 0.3)).count();
    assert!(
        (2_700..3_300).contains(&kept),
        "kept {kept} of 10000 at 0.3"
    );
    for k in &keys[..100] {
        assert_eq!(sampled(k, 0.3), sampled(k, 0.3));
        // A key kept at a rate is kept at every higher rate.
        assert!(!sampled(k, 0.3) || sampled(k, 0.6));
    }
}
