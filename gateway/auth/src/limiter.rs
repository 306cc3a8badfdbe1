//! [`FailedAttempts`]: failed authentications per client address, limited with `governor`.

use std::{
    collections::HashMap,
    net::IpAddr,
    num::NonZeroU32,
    sync::{Mutex, PoisonError},
    time::Duration,
};

use governor::{
    DefaultKeyedRateLimiter, Quota, RateLimiter,
    clock::{Clock, DefaultClock},
};
use tokio::time::Instant;

/// Most addresses remembered as blocked; past this the oldest blocks are dropped early.
const BLOCKED_MAX_ENTRIES: usize = 100_000;

/// Counts failed attempts per address. Only failures consume the budget, so a valid token is
/// never refused because others behind the same address failed; once an address is over its
/// budget, its unknown tokens are refused with 429 before any verification work.
#[derive(Debug)]
pub(crate) struct FailedAttempts {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    clock: DefaultClock,
    blocked: Mutex<HashMap<IpAddr, Instant>>,
}

impl FailedAttempts {
    pub(crate) fn new(per_minute: NonZeroU32, burst: NonZeroU32) -> Self {
        let quota = Quota::per_minute(per_minute).allow_burst(burst);
        Self {
            limiter: RateLimiter::keyed(quota),
            clock: DefaultClock::default(),
            blocked: Mutex::new(HashMap::new()),
        }
    }

    /// How long `ip` must still wait, if it is over its budget.
    pub(crate) fn blocked_for(&self, ip: IpAddr) -> Option<Duration> {
        let blocked = self.blocked.lock().unwrap_or_else(PoisonError::into_inner);
        let until = *blocked.get(&ip)?;
        let now = Instant::now();
        (until > now).then(|| until - now)
    }

    /// Records one failure from `ip`; returns the wait when this puts it over its budget.
    pub(crate) fn record_failure(&self, ip: IpAddr) -> Option<Duration> {
        match self.limiter.check_key(&ip) {
            Ok(()) => None,
            Err(not_until) => {
                let wait = not_until.wait_time_from(self.clock.now());
                let mut blocked = self.blocked.lock().unwrap_or_else(PoisonError::into_inner);
                if blocked.len() >= BLOCKED_MAX_ENTRIES {
                    let now = Instant::now();
                    blocked.retain(|_, until| *until > now);
                    if blocked.len() >= BLOCKED_MAX_ENTRIES {
                        blocked.clear();
                    }
                }
                blocked.insert(ip, Instant::now() + wait);
                Some(wait)
            }
        }
    }

    /// Drops state of addresses that have been quiet long enough to be back at full budget.
    pub(crate) fn prune(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
        let now = Instant::now();
        self.blocked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|_, until| *until > now);
    }
}
