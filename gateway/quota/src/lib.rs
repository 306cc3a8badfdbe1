//! Quota buckets: reserve before a request, settle after it, exactly, in one process or
//! across replicas.
//!
//! Owns: [`Window`] arithmetic (UTC minute, calendar day and month, lifetime), bucket specs,
//! the spend ledger (what each subject and organisation spent per day and month, ranked, and
//! the daily totals: [`Spend`], [`SpendPage`], [`DayTotal`]), and the two [`Store`]s: [`MemoryStore`] (one process, no services) and [`RedisStore`] (one
//! Lua script call per reserve and one per settle, Redis server time, keys of one request
//! sharing a hash tag so Redis Cluster works).
//!
//! Invariants:
//! - a reservation checks and debits every bucket of a request in one atomic step: either all
//!   buckets take it or none does, so concurrent requests cannot overshoot a limit;
//! - `spent + reserved ≤ limit` holds after every reservation; settling replaces a
//!   reservation by the real amount (which may be lower, or higher if the estimate was wrong:
//!   the truth is always charged);
//! - reservations are leases: one not settled within its lease (a crashed gateway) stops
//!   counting;
//! - money is integer micro-USD, tokens and requests are integers.
//!
//! Not here: which buckets apply to whom (policies, the app), prices and usage parsing
//! (gateway-meter), what to do when the store is down (the app applies the policy's
//! `on_store_error` using a [`MemoryStore`] as the local fallback).

mod memory;
mod redis_conn;
mod redis_index;
mod redis_spend;
mod redis_store;
mod spend;
mod window;

use std::{fmt, future::Future, pin::Pin, sync::Arc, time::Duration};

pub use memory::{Clock, MemoryStore, SystemClock};
pub use redis_conn::{RedisConnection, RedisTarget};
pub use redis_store::RedisStore;
pub use spend::{
    DayTotal, SPEND_DAY_RETENTION, SPEND_HISTORY_MAX_DAYS, SPEND_MONTH_RETENTION, Spend, SpendPage,
    SpendScope, SpendWindow,
};
pub use window::Window;

/// What a bucket counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Measure {
    /// Requests.
    Requests,
    /// Tokens (input + output, cache reads and writes included).
    Tokens,
    /// Money in micro-USD.
    MicroUsd,
}

/// An amount for each measure.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Amounts {
    /// Requests.
    pub requests: u64,
    /// Tokens.
    pub tokens: u64,
    /// Micro-USD.
    pub micro_usd: u64,
}

impl Amounts {
    /// The amount of `measure`.
    pub fn of(&self, measure: Measure) -> u64 {
        match measure {
            Measure::Requests => self.requests,
            Measure::Tokens => self.tokens,
            Measure::MicroUsd => self.micro_usd,
        }
    }
}

/// One limit on one entity: e.g. alice's `usd_per_day`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bucket {
    /// Store key, built by [`Bucket::key`].
    pub key: String,
    /// The limit's name, for messages and metrics (`usd_per_day`).
    pub label: &'static str,
    /// The window it resets on.
    pub window: Window,
    /// What it counts.
    pub measure: Measure,
    /// The limit.
    pub limit: u64,
}

impl Bucket {
    /// The store key of a bucket: every bucket of one request shares `tenant` as its Redis
    /// hash tag (`{org:acme}` or `{sub:alice}`), so one script call can touch them all.
    pub fn key(tenant: &str, scope: &str, id: &str, label: &str) -> String {
        // One allocation of the exact length, without the formatting machinery: two per
        // request are built on the request path.
        ["lgw:{", tenant, "}:", scope, ":", id, ":", label].concat()
    }
}

/// A reservation request: every bucket, the amounts to hold, the lease.
#[derive(Clone, Debug)]
pub struct ReserveRequest {
    /// Every applicable bucket (shared with the [`Reservation`] it grants: built once per
    /// request, never copied).
    pub buckets: Arc<[Bucket]>,
    /// What to hold.
    pub amounts: Amounts,
    /// How long the hold lasts if never settled.
    pub lease: Duration,
}

/// A granted reservation, to be settled exactly once.
#[derive(Clone, Debug)]
pub struct Reservation {
    /// Unique id of this hold.
    pub id: String,
    /// The buckets it holds on.
    pub buckets: Arc<[Bucket]>,
    /// What it holds.
    pub amounts: Amounts,
    /// Per bucket: limit minus (spent + reserved) after this reservation.
    pub remaining: Vec<u64>,
}

/// Why a reservation was refused: the first bucket that could not take it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The bucket's limit name.
    pub label: &'static str,
    /// Its window.
    pub window: Window,
    /// What it counts.
    pub measure: Measure,
    /// Its limit.
    pub limit: u64,
    /// Spent plus reserved when refused.
    pub used: u64,
    /// What this request asked for.
    pub requested: u64,
    /// When the window resets (unix ms), `None` for lifetime buckets.
    pub resets_at_ms: Option<u64>,
}

/// The outcome of a reservation.
#[derive(Clone, Debug)]
pub enum ReserveOutcome {
    /// Every bucket took it.
    Granted(Reservation),
    /// A bucket is full.
    Refused(Refusal),
}

/// The current state of one bucket, for the admin API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BucketUsage {
    /// Store key.
    pub key: String,
    /// Limit name.
    pub label: String,
    /// Spent in the current window.
    pub spent: u64,
    /// Held by live reservations.
    pub reserved: u64,
    /// The limit last applied.
    pub limit: u64,
    /// When the window resets (unix ms), `None` for lifetime buckets.
    pub resets_at_ms: Option<u64>,
}

/// The store could not answer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Redis answered with an error, or the connection failed.
    #[error("quota store: Redis failed")]
    Redis(#[source] redis::RedisError),
    /// Redis did not answer `what` within the store's bound.
    #[error("quota store: Redis did not answer {what} within {within:?}")]
    Timeout {
        /// The command or step that timed out.
        what: &'static str,
        /// The bound it exceeded.
        within: std::time::Duration,
    },
    /// Redis answered something the quota script never sends.
    #[error("quota store: {0}")]
    Protocol(&'static str),
}

/// A boxed future, so stores can be used as trait objects.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Where buckets live.
pub trait Store: Send + Sync + fmt::Debug {
    /// Checks and holds `request` on every bucket atomically.
    fn reserve<'a>(&'a self, request: &'a ReserveRequest) -> StoreFuture<'a, ReserveOutcome>;
    /// Replaces the hold of `reservation` by `actual`.
    fn settle<'a>(&'a self, reservation: &'a Reservation, actual: Amounts) -> StoreFuture<'a, ()>;
    /// Every bucket of `subject` (keys with `:sub:<subject>:`).
    fn usage<'a>(&'a self, subject: &'a str) -> StoreFuture<'a, Vec<BucketUsage>>;
    /// Every bucket of organisation `org` (keys with `:org:<org>:`).
    fn org_usage<'a>(&'a self, org: &'a str) -> StoreFuture<'a, Vec<BucketUsage>>;
    /// Forgets every bucket of `subject` (what it spent and holds); returns how many. An
    /// explicit admin action: nothing else ever resets usage.
    fn reset<'a>(&'a self, subject: &'a str) -> StoreFuture<'a, u64>;
    /// Adds a settled request's cost to the spend ledger.
    fn record_spend<'a>(&'a self, spend: Spend<'a>) -> StoreFuture<'a, ()>;
    /// Spenders of the period containing `at_ms`, highest first.
    fn top_spenders<'a>(
        &'a self,
        scope: SpendScope,
        window: SpendWindow,
        at_ms: u64,
        offset: usize,
        limit: usize,
    ) -> StoreFuture<'a, SpendPage>;
    /// What `id` spent in the period containing `at_ms`, micro-USD.
    fn spent<'a>(
        &'a self,
        scope: SpendScope,
        window: SpendWindow,
        id: &'a str,
        at_ms: u64,
    ) -> StoreFuture<'a, u64>;
    /// What `id` spent on each model in the period containing `at_ms`, highest first.
    fn spend_by_model<'a>(
        &'a self,
        scope: SpendScope,
        window: SpendWindow,
        id: &'a str,
        at_ms: u64,
    ) -> StoreFuture<'a, Vec<(String, u64)>>;
    /// The gateway's totals of the `days` days ending with the one containing `at_ms`,
    /// oldest first (at most [`SPEND_HISTORY_MAX_DAYS`]).
    fn spend_history(&self, days: usize, at_ms: u64) -> StoreFuture<'_, Vec<DayTotal>>;
}
