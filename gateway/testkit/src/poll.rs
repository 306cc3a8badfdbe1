//! Waiting for a condition with a deadline: the one polling helper of the test suite. A probe
//! is asked again every interval until it yields a value; nothing waits a fixed time.

use std::{future::Future, time::Duration};

/// How often [`poll_until`] asks again.
pub const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// Asks `probe` every [`POLL_INTERVAL`] until it yields a value, for at most `within`; panics
/// naming `what` after that.
pub async fn poll_until<T, F>(what: &str, within: Duration, probe: impl FnMut() -> F) -> T
where
    F: Future<Output = Option<T>>,
{
    match poll_every(POLL_INTERVAL, within, probe).await {
        Some(v) => v,
        None => panic!("{what}: not within {within:?}"),
    }
}

/// Asks `probe` every `interval` until it yields a value; `None` after `within`.
pub async fn poll_every<T, F>(
    interval: Duration,
    within: Duration,
    mut probe: impl FnMut() -> F,
) -> Option<T>
where
    F: Future<Output = Option<T>>,
{
    tokio::time::timeout(within, async {
        loop {
            if let Some(v) = probe().await {
                return v;
            }
            tokio::time::sleep(interval).await;
        }
    })
    .await
    .ok()
}

/// [`poll_every`] for code without a runtime (a server started from a blocking test).
pub fn poll_blocking<T>(
    interval: Duration,
    within: Duration,
    mut probe: impl FnMut() -> Option<T>,
) -> Option<T> {
    let deadline = std::time::Instant::now() + within;
    loop {
        if let Some(v) = probe() {
            return Some(v);
        }
        if std::time::Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(interval);
    }
}
