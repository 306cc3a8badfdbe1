//! [`Breaker`]: the circuit breaker of one (target, model). A pure state machine: every
//! method takes the time it is called at, so tests drive it with a made-up clock.
//!
//! - **Closed**: every attempt's health ([`Health`]) is counted in [`BREAKER_BUCKETS`]
//!   buckets spanning the configured window; with at least `min_requests` attempts in the
//!   window and `failure_percent` of them failed, it opens.
//! - **Open**: for `open`, [`Breaker::admit`] says [`Admit::Bypass`]: the request goes
//!   straight to the next target.
//! - **Half-open** (entered by the first admission after the open interval): at most
//!   [`BREAKER_PROBES_IN_FLIGHT`] requests at a time are let through as probes, the rest still
//!   bypass; `probe_successes` successful probes in a row close it (with an empty window), a
//!   failed probe opens it again.
//!
//! Every admitted probe must be answered by [`Breaker::record`] or [`Breaker::release`]
//! (a probe whose request ended without a verdict on the target's health), or no other probe
//! is let through. The methods that change the state return the state entered, for metrics.

use std::time::{Duration, Instant};

use gateway_config::Breaker as Settings;

/// Buckets the window is counted in: the window slides by a tenth of its length.
pub const BREAKER_BUCKETS: usize = 10;
/// Probes let through at once while half-open.
pub const BREAKER_PROBES_IN_FLIGHT: u32 = 1;

/// A breaker's state, as reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Traffic flows; failures are counted.
    Closed,
    /// Probes pass one at a time; the rest bypass.
    HalfOpen,
    /// Everything bypasses.
    Open,
}

impl State {
    /// `closed`, `half_open`, `open`: the `to` label and the `/readyz` value.
    pub fn as_label(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::HalfOpen => "half_open",
            Self::Open => "open",
        }
    }

    /// The `llm_gateway_breaker_state` value: 0 closed, 1 half-open, 2 open.
    pub fn gauge(self) -> i64 {
        match self {
            Self::Closed => 0,
            Self::HalfOpen => 1,
            Self::Open => 2,
        }
    }
}

/// What a request may do with this target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    /// Closed: use it; its result counts in the window.
    Pass,
    /// Half-open: use it as a probe; its result decides the state.
    Probe,
    /// Open, or half-open with a probe in flight: use the next target.
    Bypass,
}

/// What an attempt said about the target's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// It answered (served, or a client error that it judged correctly).
    Up,
    /// It failed (5xx, 529, connect error, timeout, stall, broken before commit).
    Down,
}

#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    attempts: u64,
    failures: u64,
}

#[derive(Debug, Clone, Copy)]
enum Inner {
    Closed,
    Open { until: Instant },
    HalfOpen { in_flight: u32, successes: u32 },
}

/// One (target, model)'s breaker.
#[derive(Debug, Clone)]
pub struct Breaker {
    settings: Settings,
    inner: Inner,
    buckets: [Counts; BREAKER_BUCKETS],
    /// Index of the current bucket and when it began.
    current: usize,
    current_start: Instant,
}

impl Breaker {
    /// Closed, with an empty window.
    pub fn new(settings: Settings, now: Instant) -> Self {
        Self {
            settings,
            inner: Inner::Closed,
            buckets: [Counts::default(); BREAKER_BUCKETS],
            current: 0,
            current_start: now,
        }
    }

    /// The state at `now`: an open breaker whose interval is over reads as half-open (the
    /// next admission enters it).
    pub fn state(&self, now: Instant) -> State {
        match self.inner {
            Inner::Closed => State::Closed,
            Inner::Open { until } if now < until => State::Open,
            Inner::Open { .. } | Inner::HalfOpen { .. } => State::HalfOpen,
        }
    }

    /// Whether a request may use the target, and the state entered if that changed it.
    pub fn admit(&mut self, now: Instant) -> (Admit, Option<State>) {
        let mut entered = None;
        if let Inner::Open { until } = self.inner
            && now >= until
        {
            self.inner = Inner::HalfOpen {
                in_flight: 0,
                successes: 0,
            };
            entered = Some(State::HalfOpen);
        }
        let admit = match &mut self.inner {
            Inner::Closed => Admit::Pass,
            Inner::Open { .. } => Admit::Bypass,
            Inner::HalfOpen { in_flight, .. } if *in_flight < BREAKER_PROBES_IN_FLIGHT => {
                *in_flight += 1;
                Admit::Probe
            }
            Inner::HalfOpen { .. } => Admit::Bypass,
        };
        (admit, entered)
    }

    /// Records the health an attempt admitted as `admit` showed; the state entered, if any.
    /// A result from before the state changed (a `Pass` while open or half-open) is ignored.
    pub fn record(&mut self, admit: Admit, health: Health, now: Instant) -> Option<State> {
        match (admit, self.inner) {
            (Admit::Pass, Inner::Closed) => {
                self.roll(now);
                let bucket = &mut self.buckets[self.current];
                bucket.attempts += 1;
                if health == Health::Down {
                    bucket.failures += 1;
                }
                self.tripped().then(|| self.open(now))
            }
            (
                Admit::Probe,
                Inner::HalfOpen {
                    in_flight,
                    successes,
                },
            ) => match health {
                Health::Down => Some(self.open(now)),
                Health::Up if successes + 1 >= self.settings.probe_successes => {
                    Some(self.close(now))
                }
                Health::Up => {
                    self.inner = Inner::HalfOpen {
                        in_flight: in_flight.saturating_sub(1),
                        successes: successes + 1,
                    };
                    None
                }
            },
            _ => None,
        }
    }

    /// A probe ended without saying anything about the target's health (the client left, a
    /// key was rate limited): its slot is free for the next probe.
    pub fn release(&mut self, admit: Admit) {
        if let (Admit::Probe, Inner::HalfOpen { in_flight, .. }) = (admit, &mut self.inner) {
            *in_flight = in_flight.saturating_sub(1);
        }
    }

    fn open(&mut self, now: Instant) -> State {
        self.inner = Inner::Open {
            until: now + self.settings.open,
        };
        State::Open
    }

    fn close(&mut self, now: Instant) -> State {
        self.inner = Inner::Closed;
        self.buckets = [Counts::default(); BREAKER_BUCKETS];
        self.current_start = now;
        State::Closed
    }

    fn tripped(&self) -> bool {
        let (attempts, failures) = self
            .buckets
            .iter()
            .fold((0, 0), |(a, f), b| (a + b.attempts, f + b.failures));
        attempts >= u64::from(self.settings.min_requests)
            && failures * 100 >= attempts * u64::from(self.settings.failure_percent)
    }

    /// Moves the current bucket to the one `now` falls in, emptying those it passes.
    fn roll(&mut self, now: Instant) {
        let width = self.bucket_width();
        let elapsed = now.saturating_duration_since(self.current_start);
        let steps =
            usize::try_from(elapsed.as_nanos() / width.as_nanos().max(1)).unwrap_or(usize::MAX);
        if steps == 0 {
            return;
        }
        if steps >= BREAKER_BUCKETS {
            self.buckets = [Counts::default(); BREAKER_BUCKETS];
            self.current_start = now;
            return;
        }
        for _ in 0..steps {
            self.current = (self.current + 1) % BREAKER_BUCKETS;
            self.buckets[self.current] = Counts::default();
        }
        // `steps` < BREAKER_BUCKETS: no overflow.
        self.current_start += width * u32::try_from(steps).unwrap_or(0);
    }

    fn bucket_width(&self) -> Duration {
        self.settings.window / u32::try_from(BREAKER_BUCKETS).unwrap_or(1)
    }
}

#[cfg(test)]
mod tests;
