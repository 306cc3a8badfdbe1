//! The idle-stream soak (`--hold N`): N streamed requests open at once, one per connection,
//! each read to its end.
//!
//! A stream is *open* from its answer's 2xx head until its body ends. How long streams stay
//! open is the server's doing (the load test asks the mock to pause each one after its first
//! delta); this side opens them, keeps the most open at once, says on stderr when every
//! stream has its head (`open K/N streams after S s`: the line the load test waits for
//! before it reads the gateway's memory) and counts how many finished OK.
//!
//! Bounds: at most [`OPENING_MAX`] streams waiting for their head at once; the whole soak
//! `timeout`, after which unfinished streams count as `timeout` errors.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::tally::Tally;
use crate::target::{Connection, Exchanged, Outcome, Target, read_answer};

/// Streams being opened (connect, send, wait for the head) at once, at most: half the accept
/// queue of a listener bound by std or tokio (128). A burst of connects beyond it overflows
/// the queue and costs the dropped ones a SYN retry a second later.
const OPENING_MAX: usize = 64;

/// What a soak measured.
#[derive(Debug)]
pub(crate) struct Held {
    /// Per stream: latency = from the send to the end, first byte = from the send.
    pub(crate) tally: Tally,
    /// Answers with a 2xx head.
    pub(crate) opened: u64,
    /// The most streams open at the same moment.
    pub(crate) open_peak: u64,
    /// From the start to the moment every stream had its head (or had failed).
    pub(crate) heads_after: Duration,
}

/// Streams open now, the most open at once, and heads seen so far.
#[derive(Debug)]
struct Gauge {
    streams: u64,
    started: Instant,
    open: AtomicU64,
    peak: AtomicU64,
    opened: AtomicU64,
    heads: AtomicU64,
    /// Microseconds from `started` to the last head.
    heads_after_us: AtomicU64,
}

impl Gauge {
    /// One stream got its head (`open`: a 2xx one) or failed before it.
    fn headed(&self, open: bool) {
        let now_open = if open {
            self.opened.fetch_add(1, Ordering::Relaxed);
            let now_open = self.open.fetch_add(1, Ordering::Relaxed) + 1;
            self.peak.fetch_max(now_open, Ordering::Relaxed);
            now_open
        } else {
            self.open.load(Ordering::Relaxed)
        };
        if self.heads.fetch_add(1, Ordering::Relaxed) + 1 == self.streams {
            let after = self.started.elapsed();
            let micros = u64::try_from(after.as_micros()).unwrap_or(u64::MAX);
            self.heads_after_us.store(micros, Ordering::Relaxed);
            eprintln!(
                "open {now_open}/{} streams after {:.3} s",
                self.streams,
                after.as_secs_f64()
            );
        }
    }

    fn closed(&self) {
        self.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Opens `streams` streams to `target` (a streaming request each, on its own connection) and
/// reads them all to their ends, for at most `timeout` in all.
pub(crate) async fn hold(
    target: Arc<Target>,
    streams: u32,
    timeout: Duration,
) -> anyhow::Result<Held> {
    let started = Instant::now();
    let deadline = tokio::time::Instant::from_std(started + timeout);
    let gauge = Arc::new(Gauge {
        streams: u64::from(streams),
        started,
        open: AtomicU64::new(0),
        peak: AtomicU64::new(0),
        opened: AtomicU64::new(0),
        heads: AtomicU64::new(0),
        heads_after_us: AtomicU64::new(0),
    });
    let opening = Arc::new(Semaphore::new(OPENING_MAX));
    let mut tasks = JoinSet::new();
    for _ in 0..streams {
        tasks.spawn(one_stream(
            target.clone(),
            opening.clone(),
            gauge.clone(),
            deadline,
        ));
    }
    let mut tally = Tally::new()?;
    while let Some(stream) = tasks.join_next().await {
        let (sent, exchanged) = stream.context("a stream task failed")?;
        let done = Instant::now();
        let lifetime = done.saturating_duration_since(sent);
        let first_byte = exchanged
            .first_byte
            .map(|at| at.saturating_duration_since(sent));
        tally.record(lifetime, lifetime, first_byte, exchanged.outcome, done);
    }
    Ok(Held {
        tally,
        opened: gauge.opened.load(Ordering::Relaxed),
        open_peak: gauge.peak.load(Ordering::Relaxed),
        heads_after: Duration::from_micros(gauge.heads_after_us.load(Ordering::Relaxed)),
    })
}

/// One stream, from the connect to the end of its answer (or `deadline`); returns when it
/// was sent and how it ended.
async fn one_stream(
    target: Arc<Target>,
    opening: Arc<Semaphore>,
    gauge: Arc<Gauge>,
    deadline: tokio::time::Instant,
) -> (Instant, Exchanged) {
    let mut sent = Instant::now();
    let head = tokio::time::timeout_at(deadline, async {
        let _opening = opening.acquire().await.map_err(|_| "connect")?;
        let mut connection = Connection::open(target.addr).await.map_err(|_| "connect")?;
        sent = Instant::now();
        let response = connection.send(&target).await?;
        Ok::<_, &'static str>((connection, response))
    })
    .await
    .unwrap_or(Err("timeout"));
    let (connection, response) = match head {
        Ok(head) => head,
        Err(kind) => {
            gauge.headed(false);
            return (sent, failed(kind));
        }
    };
    let open = response.status().is_success();
    gauge.headed(open);
    let mut first_byte = None;
    let read = tokio::time::timeout_at(deadline, read_answer(response, &target, &mut first_byte))
        .await
        .unwrap_or(Err("timeout"));
    if open {
        gauge.closed();
    }
    // The connection lives until its answer is read.
    drop(connection);
    let outcome = match read {
        Ok(status) => Outcome::Answered(status),
        Err(kind) => Outcome::Failed(kind),
    };
    (
        sent,
        Exchanged {
            outcome,
            first_byte,
        },
    )
}

fn failed(kind: &'static str) -> Exchanged {
    Exchanged {
        outcome: Outcome::Failed(kind),
        first_byte: None,
    }
}
