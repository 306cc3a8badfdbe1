//! The wait before a same-target retry: the provider's `retry-after` when it gave one (and it
//! is within the cap), else a jittered backoff.

use std::time::Duration;

/// The wait before retrying, or `None` when the provider asked for longer than `cap` (the
/// request moves to the next target instead of waiting). `roll` is a uniform random number.
pub fn delay(
    base: Duration,
    provider_wait: Option<Duration>,
    cap: Duration,
    roll: u64,
) -> Option<Duration> {
    match provider_wait {
        Some(wait) if wait > cap => None,
        Some(wait) => Some(wait),
        None => Some(jitter(base, roll)),
    }
}

/// Equal jitter: half of `base` plus a random share of the other half, so concurrent retries
/// spread out but never fire at once.
fn jitter(base: Duration, roll: u64) -> Duration {
    let half = u64::try_from(base.as_millis() / 2).unwrap_or(u64::MAX);
    Duration::from_millis(half + roll % (half + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: Duration = Duration::from_millis(200);
    const CAP: Duration = Duration::from_secs(2);

    #[test]
    fn the_providers_wait_is_honoured_up_to_the_cap() {
        let s = Duration::from_secs;
        assert_eq!(delay(BASE, Some(s(1)), CAP, 7), Some(s(1)));
        assert_eq!(delay(BASE, Some(s(2)), CAP, 7), Some(s(2)));
        assert_eq!(delay(BASE, Some(s(3)), CAP, 7), None);
    }

    #[test]
    fn without_a_wait_the_backoff_is_jittered_within_its_base() {
        for roll in [0, 1, 57, 100, u64::MAX] {
            let d = delay(BASE, None, CAP, roll).unwrap();
            assert!(d >= BASE / 2 && d <= BASE, "{d:?}");
        }
        assert_ne!(delay(BASE, None, CAP, 3), delay(BASE, None, CAP, 60));
    }
}
