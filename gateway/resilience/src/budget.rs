//! [`Budget`]: same-target retries as a share of recent requests, so gateway retries cannot
//! multiply a provider's load when it is failing (clients retry on their own as well).
//!
//! Two fixed windows of [`BUDGET_WINDOW`]: the current one and the last one count together, so
//! the allowance does not reset to zero at a window's edge. At least [`BUDGET_MIN_RETRIES`]
//! retries per window are allowed whatever the traffic, so a quiet gateway still retries.

use std::time::{Duration, Instant};

/// The length of one counting window.
pub const BUDGET_WINDOW: Duration = Duration::from_secs(10);
/// Retries allowed per window even with little traffic.
pub const BUDGET_MIN_RETRIES: u64 = 10;

#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    requests: u64,
    retries: u64,
}

/// The retry budget of one gateway process.
#[derive(Debug, Clone)]
pub struct Budget {
    percent: u64,
    start: Instant,
    current: Counts,
    previous: Counts,
}

impl Budget {
    /// Retries may be `percent` of recent requests.
    pub fn new(percent: u32, now: Instant) -> Self {
        Self {
            percent: u64::from(percent),
            start: now,
            current: Counts::default(),
            previous: Counts::default(),
        }
    }

    fn roll(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.start);
        if elapsed >= BUDGET_WINDOW * 2 {
            self.previous = Counts::default();
            self.current = Counts::default();
            self.start = now;
        } else if elapsed >= BUDGET_WINDOW {
            self.previous = self.current;
            self.current = Counts::default();
            self.start += BUDGET_WINDOW;
        }
    }

    /// Counts one client request.
    pub fn request(&mut self, now: Instant) {
        self.roll(now);
        self.current.requests += 1;
    }

    /// Spends one retry if the budget allows it.
    pub fn try_retry(&mut self, now: Instant) -> bool {
        self.roll(now);
        let requests = self.current.requests + self.previous.requests;
        let retries = self.current.retries + self.previous.retries;
        let allowed = (requests * self.percent / 100).max(BUDGET_MIN_RETRIES);
        if retries < allowed {
            self.current.retries += 1;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_stay_within_the_share_of_requests() {
        let now = Instant::now();
        let mut b = Budget::new(20, now);
        for _ in 0..100 {
            b.request(now);
        }
        let granted = (0..100).filter(|_| b.try_retry(now)).count();
        assert_eq!(granted, 20);
    }

    #[test]
    fn a_quiet_gateway_still_gets_the_minimum_and_windows_roll() {
        let now = Instant::now();
        let mut b = Budget::new(0, now);
        b.request(now);
        let granted = (0..50).filter(|_| b.try_retry(now)).count();
        assert_eq!(granted, usize::try_from(BUDGET_MIN_RETRIES).unwrap());
        assert!(
            !b.try_retry(now + BUDGET_WINDOW),
            "the last window still counts"
        );
        assert!(
            b.try_retry(now + BUDGET_WINDOW * 2),
            "two windows later it is fresh"
        );
    }
}
