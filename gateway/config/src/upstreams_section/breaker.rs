//! `[forwarding.breaker]` → [`Breaker`]: the circuit breaker settings shared by every
//! (target, model) of the Anthropic upstream. Defaults follow what the peers found workable
//! (a minute's window, at least 20 attempts, half of them failing); bounds keep a typo from
//! turning the breaker into an outage (a window of at least a second, an open interval of at
//! most [`BREAKER_OPEN_MAX_MS`]).

use std::time::Duration;

use crate::{raw, validate::Collector};

/// The shortest `window_ms` accepted: below it a rate means nothing.
const BREAKER_WINDOW_MIN_MS: u64 = 1_000;
/// The longest `open_ms` accepted: a target is never shunned for longer without a probe.
const BREAKER_OPEN_MAX_MS: u64 = 600_000;
/// The most `probe_successes` accepted (probes go one at a time).
const BREAKER_PROBES_MAX: u64 = 100;

/// When a (target, model) is taken out of the rotation, and how it comes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Breaker {
    /// The failure rate is counted over this window (in ten buckets).
    pub window: Duration,
    /// Attempts in the window before the rate can open the breaker.
    pub min_requests: u32,
    /// The failure rate (percent of attempts) that opens it.
    pub failure_percent: u32,
    /// How long it stays open (requests go to the next target) before a probe may pass.
    pub open: Duration,
    /// Successful probes in a row that close it.
    pub probe_successes: u32,
}

/// `None`: the breaker is off (`enabled = false`).
pub(crate) fn breaker(c: &mut Collector<'_>, b: Option<&raw::Breaker>) -> Option<Breaker> {
    let default = raw::Breaker::default();
    let b = b.unwrap_or(&default);
    let window = c.millis(
        "forwarding.breaker.window_ms",
        b.window_ms,
        60_000,
        BREAKER_WINDOW_MIN_MS,
    );
    let min_requests = b.min_requests.unwrap_or(20);
    if min_requests == 0 {
        c.push("forwarding.breaker.min_requests", "must be at least 1");
    }
    let failure_percent = b.failure_percent.unwrap_or(50);
    if !(1..=100).contains(&failure_percent) {
        c.push(
            "forwarding.breaker.failure_percent",
            format!("is a percentage (1 to 100), got {failure_percent}"),
        );
    }
    let open = c.millis("forwarding.breaker.open_ms", b.open_ms, 30_000, 1);
    if open > Duration::from_millis(BREAKER_OPEN_MAX_MS) {
        c.push(
            "forwarding.breaker.open_ms",
            format!(
                "must be at most {BREAKER_OPEN_MAX_MS} ms, got {}",
                open.as_millis()
            ),
        );
    }
    let probe_successes = b.probe_successes.unwrap_or(3);
    if !(1..=BREAKER_PROBES_MAX).contains(&probe_successes) {
        c.push(
            "forwarding.breaker.probe_successes",
            format!("must be between 1 and {BREAKER_PROBES_MAX}, got {probe_successes}"),
        );
    }
    b.enabled.unwrap_or(true).then(|| Breaker {
        window,
        min_requests: u32::try_from(min_requests).unwrap_or(u32::MAX),
        failure_percent: u32::try_from(failure_percent.min(100)).unwrap_or(50),
        open,
        probe_successes: u32::try_from(probe_successes.min(BREAKER_PROBES_MAX)).unwrap_or(3),
    })
}
