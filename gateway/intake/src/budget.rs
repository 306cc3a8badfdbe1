//! [`BodyBudget`]: the request-body bytes all requests in flight may hold together, so the
//! gateway's memory has a bound whatever the load (`server.inflight_body_max_bytes`).
//!
//! A request whose body declares its length reserves it whole before a byte is read, waiting
//! at most `server.inflight_body_wait_ms` (the client's bytes stay in its socket meanwhile: backpressure, not
//! buffering); a body without a declared length reserves chunk by chunk and never waits (two
//! such bodies waiting for each other's bytes could otherwise deadlock). The reservation is a
//! [`BodyPermit`] that the request keeps until its response ends, since later stages (the
//! transcript record, the upstream request) hold the body until then.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use gateway_core::{ErrorKind, GatewayError};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// What the 503 asks the client to wait before retrying.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// The shared budget of request-body bytes. Cheap to clone (one `Arc`).
#[derive(Clone, Debug)]
pub struct BodyBudget {
    permits: Arc<Semaphore>,
    max_bytes: u32,
    /// Longest a declared body waits to fit before its 503.
    wait: Duration,
    refusals: Arc<AtomicU64>,
}

impl BodyBudget {
    /// A budget of `max_bytes` (capped at `u32::MAX`, the most one reservation can name);
    /// a declared body waits up to `wait` for room.
    pub fn new(max_bytes: usize, wait: Duration) -> Self {
        let max_bytes = u32::try_from(max_bytes).unwrap_or(u32::MAX);
        Self {
            permits: Arc::new(Semaphore::new(max_bytes as usize)),
            max_bytes,
            wait,
            refusals: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Bytes reserved by requests in flight now.
    pub fn in_use(&self) -> usize {
        (self.max_bytes as usize).saturating_sub(self.permits.available_permits())
    }

    /// Requests refused so far because their body did not fit.
    pub fn refusals(&self) -> u64 {
        self.refusals.load(Ordering::Relaxed)
    }

    /// The whole budget.
    pub fn max_bytes(&self) -> usize {
        self.max_bytes as usize
    }

    /// Reserves `bytes` for a body that declared its length, waiting a bounded time.
    pub(crate) async fn reserve_declared(&self, bytes: usize) -> Result<BodyPermit, GatewayError> {
        let n = self.count(bytes)?;
        match tokio::time::timeout(self.wait, self.permits.clone().acquire_many_owned(n)).await {
            Ok(Ok(permit)) => Ok(BodyPermit(Some(permit))),
            // The semaphore is never closed; a timeout and a closed budget answer alike.
            Ok(Err(_)) | Err(_) => Err(self.busy(bytes)),
        }
    }

    /// Adds `bytes` to `permit` without waiting (undeclared bodies, decoded growth).
    pub(crate) fn grow(&self, permit: &mut BodyPermit, bytes: usize) -> Result<(), GatewayError> {
        if bytes == 0 {
            return Ok(());
        }
        let n = self.count(bytes)?;
        let more = self
            .permits
            .clone()
            .try_acquire_many_owned(n)
            .map_err(|_| self.busy(bytes))?;
        match &mut permit.0 {
            Some(held) => held.merge(more),
            None => permit.0 = Some(more),
        }
        Ok(())
    }

    fn count(&self, bytes: usize) -> Result<u32, GatewayError> {
        u32::try_from(bytes)
            .ok()
            .filter(|&n| n <= self.max_bytes)
            .ok_or_else(|| self.busy(bytes))
    }

    fn busy(&self, bytes: usize) -> GatewayError {
        self.refusals.fetch_add(1, Ordering::Relaxed);
        GatewayError::new(
            ErrorKind::Unavailable,
            format!(
                "the gateway is holding as many request bodies as its memory budget allows ({} bytes in flight, this body needs {bytes} more); retry in a moment",
                self.in_use()
            ),
        )
        .with_retry_after(RETRY_AFTER)
    }
}

/// Body bytes reserved in a [`BodyBudget`]; returned when dropped.
#[derive(Debug, Default)]
#[must_use = "the reservation is returned when the permit is dropped"]
pub struct BodyPermit(Option<OwnedSemaphorePermit>);

impl BodyPermit {
    /// Bytes this permit holds.
    pub fn bytes(&self) -> usize {
        self.0.as_ref().map_or(0, OwnedSemaphorePermit::num_permits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WAIT: Duration = Duration::from_secs(10);

    #[tokio::test]
    async fn reservations_add_up_and_return_on_drop() {
        let budget = BodyBudget::new(100, WAIT);
        let mut a = budget.reserve_declared(60).await.unwrap();
        budget.grow(&mut a, 10).unwrap();
        assert_eq!((a.bytes(), budget.in_use()), (70, 70));
        let mut b = BodyPermit::default();
        let e = budget.grow(&mut b, 31).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unavailable);
        assert!(
            e.message().contains("70 bytes in flight"),
            "{}",
            e.message()
        );
        budget.grow(&mut b, 30).unwrap();
        assert_eq!(budget.refusals(), 1);
        drop(a);
        assert_eq!(budget.in_use(), 30);
        drop(b);
        assert_eq!(budget.in_use(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_declared_body_waits_for_room_then_gives_up() {
        let budget = BodyBudget::new(100, WAIT);
        let held = budget.reserve_declared(80).await.unwrap();
        // Room appears while the second request waits: it gets its bytes.
        let waiting = tokio::spawn({
            let budget = budget.clone();
            async move { budget.reserve_declared(50).await.map(|p| p.bytes()) }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        drop(held);
        assert_eq!(waiting.await.unwrap().unwrap(), 50);

        // No room within the bound: a 503 (the paused clock jumps the wait).
        let _held = budget.reserve_declared(100).await.unwrap();
        let e = budget.reserve_declared(1).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unavailable);
        // More than the whole budget never fits: refused at once.
        let e = BodyBudget::new(10, WAIT)
            .reserve_declared(11)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unavailable);
    }
}
