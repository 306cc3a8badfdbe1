//! [`MemoryStore`]: buckets in this process, behind one lock, so a reservation over several
//! buckets is atomic. The embedded default, and the local fallback when Redis is down.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    time::{SystemTime, UNIX_EPOCH},
};

use crate::{
    Amounts, BucketUsage, DayTotal, Refusal, Reservation, ReserveOutcome, ReserveRequest, Spend,
    SpendPage, SpendScope, SpendWindow, Store, StoreFuture, Window,
};

/// Where the memory store reads the time (tests move it by hand).
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Now, in unix milliseconds.
    fn now_ms(&self) -> u64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
}

#[derive(Debug)]
struct BucketState {
    label: String,
    window: Option<Window>,
    window_id: u64,
    resets_at_ms: Option<u64>,
    limit: u64,
    spent: u64,
    /// Live holds: reservation number (see [`hold_number`]) → (amount, lease end in unix
    /// ms). Keyed by the number, so a hold costs no copy of its id.
    holds: HashMap<u64, (u64, u64)>,
    /// The sum of the amounts in `holds`, kept as holds come and go.
    reserved: u64,
    /// No hold expires before this (unix ms): until then, refreshing skips the scan of
    /// `holds`. A lower bound, so a settled hold can leave it early, never late.
    next_expiry_ms: u64,
}

impl Default for BucketState {
    fn default() -> Self {
        Self {
            label: String::new(),
            window: None,
            window_id: 0,
            resets_at_ms: None,
            limit: 0,
            spent: 0,
            holds: HashMap::new(),
            reserved: 0,
            next_expiry_ms: u64::MAX,
        }
    }
}

impl BucketState {
    /// Moves to the window containing `now`, and drops expired holds.
    fn refresh(&mut self, window: Window, now: u64) {
        let (id, resets) = window.at(now);
        if self.window != Some(window) || self.window_id != id {
            self.window = Some(window);
            self.window_id = id;
            self.spent = 0;
        }
        self.resets_at_ms = resets;
        if now >= self.next_expiry_ms {
            self.holds.retain(|_, (_, until)| *until > now);
            self.reserved = self.holds.values().map(|(a, _)| *a).sum();
            self.next_expiry_ms = self
                .holds
                .values()
                .map(|(_, u)| *u)
                .min()
                .unwrap_or(u64::MAX);
        }
    }

    fn reserved(&self) -> u64 {
        self.reserved
    }

    fn hold(&mut self, number: u64, amount: u64, until: u64) {
        if let Some((old, _)) = self.holds.insert(number, (amount, until)) {
            self.reserved = self.reserved.saturating_sub(old);
        }
        self.reserved = self.reserved.saturating_add(amount);
        self.next_expiry_ms = self.next_expiry_ms.min(until);
    }

    fn release(&mut self, number: u64) {
        if let Some((amount, _)) = self.holds.remove(&number) {
            self.reserved = self.reserved.saturating_sub(amount);
        }
    }
}

/// How the memory store's reservation ids begin: `mem-<number>`.
const ID_PREFIX: &str = "mem-";

/// The number of a reservation id this store made; `None` for any other id (whose settle
/// then releases nothing, as no hold was taken under it here).
fn hold_number(id: &str) -> Option<u64> {
    id.strip_prefix(ID_PREFIX)?.parse().ok()
}

/// The state of `key`, created empty on first use; the key is copied only then. (Always
/// `Some`: the `Option` only spares the borrow checker a second lookup's `expect`.)
fn bucket_mut<'a>(
    buckets: &'a mut HashMap<String, BucketState>,
    key: &str,
) -> Option<&'a mut BucketState> {
    if !buckets.contains_key(key) {
        buckets.insert(key.to_owned(), BucketState::default());
    }
    buckets.get_mut(key)
}

/// Buckets in memory.
#[derive(Debug)]
pub struct MemoryStore {
    buckets: Mutex<HashMap<String, BucketState>>,
    clock: Box<dyn Clock>,
    /// Reservation ids: unique in this process, made without a system call or the lock.
    next_id: AtomicU64,
    ledger: crate::spend::MemoryLedger,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new(Box::new(SystemClock))
    }
}

impl MemoryStore {
    /// A store reading time from `clock`.
    pub fn new(clock: Box<dyn Clock>) -> Self {
        Self {
            buckets: Mutex::new(HashMap::new()),
            clock,
            next_id: AtomicU64::new(1),
            ledger: crate::spend::MemoryLedger::default(),
        }
    }

    /// The synchronous core of [`Store::reserve`].
    pub fn reserve_now(&self, request: &ReserveRequest) -> ReserveOutcome {
        let now = self.clock.now_ms();
        let lease_end =
            now.saturating_add(u64::try_from(request.lease.as_millis()).unwrap_or(u64::MAX));
        // The id is made before the lock: nothing under it makes a system call.
        let number = self.next_id.fetch_add(1, Ordering::Relaxed);
        let id = format!("{ID_PREFIX}{number}");
        let mut remaining = Vec::with_capacity(request.buckets.len());
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        for bucket in request.buckets.iter() {
            let Some(state) = bucket_mut(&mut buckets, &bucket.key) else {
                continue;
            };
            state.refresh(bucket.window, now);
            let used = state.spent.saturating_add(state.reserved());
            let wanted = request.amounts.of(bucket.measure);
            if used.saturating_add(wanted) > bucket.limit {
                return ReserveOutcome::Refused(Refusal {
                    label: bucket.label,
                    window: bucket.window,
                    measure: bucket.measure,
                    limit: bucket.limit,
                    used,
                    requested: wanted,
                    resets_at_ms: state.resets_at_ms,
                });
            }
            remaining.push(bucket.limit - used - wanted);
        }
        for bucket in request.buckets.iter() {
            if let Some(state) = buckets.get_mut(&bucket.key) {
                if state.label != bucket.label {
                    bucket.label.clone_into(&mut state.label);
                }
                state.limit = bucket.limit;
                state.hold(number, request.amounts.of(bucket.measure), lease_end);
            }
        }
        drop(buckets);
        ReserveOutcome::Granted(Reservation {
            id,
            buckets: Arc::clone(&request.buckets),
            amounts: request.amounts,
            remaining,
        })
    }

    /// The synchronous core of [`Store::settle`].
    pub fn settle_now(&self, reservation: &Reservation, actual: Amounts) {
        let now = self.clock.now_ms();
        let number = hold_number(&reservation.id);
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        for bucket in reservation.buckets.iter() {
            let Some(state) = bucket_mut(&mut buckets, &bucket.key) else {
                continue;
            };
            state.refresh(bucket.window, now);
            if let Some(number) = number {
                state.release(number);
            }
            state.spent = state.spent.saturating_add(actual.of(bucket.measure));
        }
    }

    /// The synchronous core of [`Store::usage`].
    pub fn usage_now(&self, subject: &str) -> Vec<BucketUsage> {
        self.usage_matching(&format!(":sub:{subject}:"))
    }

    fn usage_matching(&self, needle: &str) -> Vec<BucketUsage> {
        let now = self.clock.now_ms();
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out: Vec<BucketUsage> = buckets
            .iter_mut()
            .filter(|(key, _)| key.contains(needle))
            .filter_map(|(key, state)| {
                let window = state.window?;
                state.refresh(window, now);
                Some(BucketUsage {
                    key: key.clone(),
                    label: state.label.clone(),
                    spent: state.spent,
                    reserved: state.reserved(),
                    limit: state.limit,
                    resets_at_ms: state.resets_at_ms,
                })
            })
            .collect();
        out.sort_by(|a, b| a.key.cmp(&b.key));
        out
    }
}

impl Store for MemoryStore {
    fn reserve<'a>(&'a self, request: &'a ReserveRequest) -> StoreFuture<'a, ReserveOutcome> {
        Box::pin(async move { Ok(self.reserve_now(request)) })
    }

    fn settle<'a>(&'a self, reservation: &'a Reservation, actual: Amounts) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            self.settle_now(reservation, actual);
            Ok(())
        })
    }

    fn usage<'a>(&'a self, subject: &'a str) -> StoreFuture<'a, Vec<BucketUsage>> {
        Box::pin(async move { Ok(self.usage_now(subject)) })
    }

    fn org_usage<'a>(&'a self, org: &'a str) -> StoreFuture<'a, Vec<BucketUsage>> {
        Box::pin(async move { Ok(self.usage_matching(&format!(":org:{org}:"))) })
    }

    fn reset<'a>(&'a self, subject: &'a str) -> StoreFuture<'a, u64> {
        Box::pin(async move {
            let needle = format!(":sub:{subject}:");
            let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
            let before = buckets.len();
            buckets.retain(|key, _| !key.contains(&needle));
            Ok((before - buckets.len()) as u64)
        })
    }

    fn record_spend<'a>(&'a self, spend: Spend<'a>) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            self.ledger.record(&spend);
            Ok(())
        })
    }

    fn top_spenders<'a>(
        &'a self,
        scope: SpendScope,
        window: SpendWindow,
        at_ms: u64,
        offset: usize,
        limit: usize,
    ) -> StoreFuture<'a, SpendPage> {
        Box::pin(async move { Ok(self.ledger.top(scope, window, at_ms, offset, limit)) })
    }

    fn spent<'a>(
        &'a self,
        scope: SpendScope,
        window: SpendWindow,
        id: &'a str,
        at_ms: u64,
    ) -> StoreFuture<'a, u64> {
        Box::pin(async move { Ok(self.ledger.spent(scope, window, id, at_ms)) })
    }

    fn spend_by_model<'a>(
        &'a self,
        scope: SpendScope,
        window: SpendWindow,
        id: &'a str,
        at_ms: u64,
    ) -> StoreFuture<'a, Vec<(String, u64)>> {
        Box::pin(async move { Ok(self.ledger.by_model(scope, window, id, at_ms)) })
    }

    fn spend_history(&self, days: usize, at_ms: u64) -> StoreFuture<'_, Vec<DayTotal>> {
        Box::pin(async move { Ok(self.ledger.history(days, at_ms)) })
    }
}

#[cfg(test)]
mod tests;
