//! The two load shapes: open-loop fixed rate and closed-loop max throughput.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::sync::{Mutex, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::tally::Tally;
use crate::target::{Connection, Target, exchange};

/// Scheduled requests waiting for a free connection, at most. When it is full the schedule
/// thread waits; latencies still count from the scheduled times, so nothing is hidden.
const QUEUE_MAX: usize = 65_536;
/// Time between opening the connections and the first scheduled request.
const LEAD_IN: Duration = Duration::from_millis(20);

/// When and for how long to measure.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    /// Load before measuring: recorded nowhere, lets pools and caches fill.
    pub(crate) warmup: Duration,
    pub(crate) duration: Duration,
    /// Longest wait for one answer; also how long answers may run on after the window.
    pub(crate) timeout: Duration,
}

/// What a run measured.
#[derive(Debug)]
pub(crate) struct Measured {
    pub(crate) tally: Tally,
    /// Requests scheduled inside the window (fixed rate), or sent in it (max).
    pub(crate) scheduled: u64,
    pub(crate) achieved_rate: f64,
}

/// One scheduled request.
#[derive(Debug, Clone, Copy)]
struct Job {
    scheduled: Instant,
}

/// Opens `connections` connections to `target`, all before the run starts.
async fn open_all(target: &Target, connections: usize) -> anyhow::Result<Vec<Connection>> {
    let mut opened = Vec::with_capacity(connections);
    for _ in 0..connections {
        opened.push(
            Connection::open(target.addr)
                .await
                .with_context(|| format!("cannot connect to {}", target.addr))?,
        );
    }
    Ok(opened)
}

/// Open loop: `rate` requests a second on a fixed schedule, each latency counted from its
/// scheduled send time (so a stall is charged to every request it delayed: no coordinated
/// omission). A dedicated thread keeps the schedule with the OS's fine-grained sleep, since
/// tokio's timer only has millisecond resolution.
pub(crate) async fn fixed_rate(
    target: Arc<Target>,
    connections: usize,
    rate: u32,
    window: Window,
) -> anyhow::Result<Measured> {
    let opened = open_all(&target, connections).await?;
    let start = Instant::now() + LEAD_IN;
    let measure_from = start + window.warmup;
    let end = measure_from + window.duration;
    let period_ns = 1e9 / f64::from(rate);
    let total = ((window.warmup + window.duration).as_secs_f64() * f64::from(rate)).round() as u64;

    let (queue_tx, queue_rx) = mpsc::channel::<Job>(QUEUE_MAX);
    let queue = Arc::new(Mutex::new(queue_rx));
    let scheduled_in_window = Arc::new(AtomicU64::new(0));
    let counter = scheduled_in_window.clone();
    std::thread::Builder::new()
        .name("loadgen-schedule".to_owned())
        .spawn(move || {
            for i in 0..total {
                let scheduled = start + Duration::from_nanos((i as f64 * period_ns) as u64);
                if let Some(wait) = scheduled.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
                if queue_tx.blocking_send(Job { scheduled }).is_err() {
                    // The run was cut short.
                    return;
                }
                if scheduled >= measure_from {
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
        .context("cannot start the schedule thread")?;

    let cancel = CancellationToken::new();
    let mut workers = JoinSet::new();
    for connection in opened {
        workers.spawn(rate_worker(
            queue.clone(),
            target.clone(),
            connection,
            window.timeout,
            measure_from,
            cancel.clone(),
        ));
    }
    drop(queue);
    let tally = collect(workers, end + window.timeout, cancel).await?;
    let achieved_rate = tally.achieved_rate(measure_from, window.duration);
    Ok(Measured {
        tally,
        scheduled: scheduled_in_window.load(Ordering::Relaxed),
        achieved_rate,
    })
}

async fn rate_worker(
    queue: Arc<Mutex<mpsc::Receiver<Job>>>,
    target: Arc<Target>,
    connection: Connection,
    timeout: Duration,
    measure_from: Instant,
    cancel: CancellationToken,
) -> anyhow::Result<Tally> {
    let mut tally = Tally::new()?;
    let mut slot = Some(connection);
    loop {
        let job = tokio::select! {
            biased;
            () = cancel.cancelled() => break,
            job = async { queue.lock().await.recv().await } => job,
        };
        let Some(job) = job else { break };
        let sent = Instant::now();
        let exchanged = tokio::select! {
            biased;
            () = cancel.cancelled() => break,
            exchanged = exchange(&mut slot, &target, timeout) => exchanged,
        };
        let done = Instant::now();
        if job.scheduled >= measure_from {
            let first_byte = exchanged
                .first_byte
                .map(|at| at.saturating_duration_since(job.scheduled));
            tally.record(
                done - job.scheduled,
                done - sent,
                first_byte,
                exchanged.outcome,
                done,
            );
        } else {
            tally.skip();
        }
    }
    Ok(tally)
}

/// Closed loop: every connection sends its next request as soon as the previous answer is
/// read, for the whole window.
pub(crate) async fn max_throughput(
    target: Arc<Target>,
    connections: usize,
    window: Window,
) -> anyhow::Result<Measured> {
    let opened = open_all(&target, connections).await?;
    let measure_from = Instant::now() + window.warmup;
    let end = measure_from + window.duration;
    let cancel = CancellationToken::new();
    let mut workers = JoinSet::new();
    for connection in opened {
        workers.spawn(max_worker(
            target.clone(),
            connection,
            window.timeout,
            measure_from,
            end,
            cancel.clone(),
        ));
    }
    let tally = collect(workers, end + window.timeout, cancel).await?;
    let achieved_rate = tally.achieved_rate(measure_from, window.duration);
    Ok(Measured {
        scheduled: tally.completed(),
        tally,
        achieved_rate,
    })
}

async fn max_worker(
    target: Arc<Target>,
    connection: Connection,
    timeout: Duration,
    measure_from: Instant,
    end: Instant,
    cancel: CancellationToken,
) -> anyhow::Result<Tally> {
    let mut tally = Tally::new()?;
    let mut slot = Some(connection);
    loop {
        let sent = Instant::now();
        if sent >= end {
            break;
        }
        let exchanged = tokio::select! {
            biased;
            () = cancel.cancelled() => break,
            exchanged = exchange(&mut slot, &target, timeout) => exchanged,
        };
        let done = Instant::now();
        if sent >= measure_from {
            let first_byte = exchanged
                .first_byte
                .map(|at| at.saturating_duration_since(sent));
            tally.record(
                done - sent,
                done - sent,
                first_byte,
                exchanged.outcome,
                done,
            );
        } else {
            tally.skip();
        }
    }
    Ok(tally)
}

/// Waits for the workers until `deadline`, then cancels those still busy (their requests in
/// flight are not counted) and merges what every worker recorded.
async fn collect(
    mut workers: JoinSet<anyhow::Result<Tally>>,
    deadline: Instant,
    cancel: CancellationToken,
) -> anyhow::Result<Tally> {
    let deadline = tokio::time::Instant::from_std(deadline);
    let mut merged = Tally::new()?;
    loop {
        let joined = tokio::select! {
            () = tokio::time::sleep_until(deadline), if !cancel.is_cancelled() => {
                cancel.cancel();
                continue;
            }
            joined = workers.join_next() => joined,
        };
        match joined {
            Some(worker) => merged.merge(&worker.context("a worker task failed")??)?,
            None => return Ok(merged),
        }
    }
}
