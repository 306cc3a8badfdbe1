//! [`RedisStore`]: buckets in Redis, shared by every replica. One `EVALSHA` per reserve and one
//! per settle (`quota.lua`), Redis server time, bounded by a timeout; on a bucket's first
//! reservation by a replica, one pipelined `SADD` to its owner's index first
//! (`redis_index.rs`), so usage reads never scan.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use redis::Script;

use crate::redis_conn::{RedisConnection, RedisTarget};

use crate::{
    Amounts, BucketUsage, DayTotal, Refusal, Reservation, ReserveOutcome, ReserveRequest, Spend,
    SpendPage, SpendScope, SpendWindow, Store, StoreError, StoreFuture,
};

/// The reserve and settle logic, run atomically inside Redis.
const SCRIPT: &str = include_str!("quota.lua");

/// Buckets in Redis.
#[derive(Clone)]
pub struct RedisStore {
    connection: RedisConnection,
    script: Script,
    timeout: Duration,
    /// Reservation ids: a random prefix drawn once per store, so replicas never collide, and
    /// a counter, so reserving makes no `getrandom` call.
    ids: Arc<ReservationIds>,
    /// The bucket keys this replica has indexed.
    indexed: Arc<crate::redis_index::Indexed>,
}

#[derive(Debug)]
struct ReservationIds {
    prefix: String,
    next: AtomicU64,
}

impl ReservationIds {
    fn new() -> Self {
        Self {
            prefix: uuid::Uuid::new_v4().simple().to_string(),
            next: AtomicU64::new(0),
        }
    }

    fn next(&self) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        format!("{}-{n:x}", self.prefix)
    }
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("timeout", &self.timeout)
            .finish()
    }
}

fn error(e: redis::RedisError) -> StoreError {
    StoreError::Redis(e)
}

impl RedisStore {
    /// Connects to `url` (reconnecting by itself after failures); every call is bounded by
    /// `timeout`.
    pub async fn connect(url: &str, timeout: Duration) -> Result<Self, StoreError> {
        Self::connect_client(redis::Client::open(url).map_err(error)?, timeout).await
    }

    /// Connects with `client` (built by the caller: TLS roots); every call is bounded by
    /// `timeout`.
    pub async fn connect_client(
        client: redis::Client,
        timeout: Duration,
    ) -> Result<Self, StoreError> {
        let connection = RedisConnection::connect(RedisTarget::Single(client), timeout).await?;
        Ok(Self::with_connection(connection, timeout))
    }

    /// A store on an open `connection` (one server or a cluster), shared with other users of
    /// the same Redis (the runtime records).
    pub fn with_connection(connection: RedisConnection, timeout: Duration) -> Self {
        Self {
            connection,
            script: Script::new(SCRIPT),
            timeout,
            ids: Arc::new(ReservationIds::new()),
            indexed: Arc::default(),
        }
    }

    pub(crate) fn connection(&self) -> RedisConnection {
        self.connection.clone()
    }

    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    pub(crate) fn indexed(&self) -> &crate::redis_index::Indexed {
        &self.indexed
    }

    async fn run<T: redis::FromRedisValue>(
        &self,
        invocation: redis::ScriptInvocation<'_>,
    ) -> Result<T, StoreError> {
        let mut connection = self.connection.clone();
        let result = tokio::time::timeout(self.timeout, invocation.invoke_async(&mut connection))
            .await
            .map_err(|_| StoreError::Timeout {
                what: "the quota script",
                within: self.timeout,
            })
            .and_then(|r| r.map_err(error));
        if result.is_err() {
            // Redis may come back empty (a restart, a failover): index everything again.
            self.indexed.forget_all();
        }
        result
    }

    /// Every bucket key of `subject`.
    async fn subject_keys(&self, subject: &str) -> Result<Vec<String>, StoreError> {
        self.scope_keys("sub", subject).await
    }

    /// Every bucket key of scope `part` (`sub`, `org`) and `id`, from its index (a key is
    /// indexed on a replica's first reservation of it, so after an upgrade a bucket shows once
    /// its owner calls again).
    async fn scope_keys(&self, part: &str, id: &str) -> Result<Vec<String>, StoreError> {
        self.indexed_keys(part, id).await
    }

    /// The state of each of `keys`.
    async fn usage_of(&self, mut keys: Vec<String>) -> Result<Vec<BucketUsage>, StoreError> {
        let mut connection = self.connection.clone();
        keys.sort();
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(0));
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            let fields: std::collections::HashMap<String, String> = tokio::time::timeout(
                self.timeout,
                redis::cmd("HGETALL").arg(&key).query_async(&mut connection),
            )
            .await
            .map_err(|_| StoreError::Timeout {
                what: "HGETALL",
                within: self.timeout,
            })?
            .map_err(error)?;
            // An indexed key that has expired since.
            if fields.is_empty() {
                continue;
            }
            let number = |f: &str| {
                fields
                    .get(f)
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0)
            };
            let reserved = fields
                .iter()
                .filter(|(k, _)| k.starts_with("h:"))
                .filter_map(|(_, v)| v.split_once(':'))
                .filter(|(_, until)| until.parse::<u64>().is_ok_and(|u| u > now_ms))
                .filter_map(|(amount, _)| amount.parse::<u64>().ok())
                .sum();
            let window = match fields.get("kind").map(String::as_str) {
                Some("minute") => Some(crate::Window::Minute),
                Some("day") => Some(crate::Window::Day),
                Some("month") => Some(crate::Window::Month),
                _ => None,
            };
            out.push(BucketUsage {
                label: fields.get("label").cloned().unwrap_or_default(),
                spent: number("spent"),
                reserved,
                limit: number("limit"),
                resets_at_ms: window.and_then(|w| w.at(now_ms).1),
                key,
            });
        }
        Ok(out)
    }

    /// Checks that Redis answers (for readiness).
    pub async fn ping(&self) -> Result<(), StoreError> {
        let mut connection = self.connection.clone();
        tokio::time::timeout(
            self.timeout,
            redis::cmd("PING").query_async::<String>(&mut connection),
        )
        .await
        .map_err(|_| StoreError::Timeout {
            what: "PING",
            within: self.timeout,
        })?
        .map(|_| ())
        .map_err(error)
    }
}

impl Store for RedisStore {
    fn reserve<'a>(&'a self, request: &'a ReserveRequest) -> StoreFuture<'a, ReserveOutcome> {
        Box::pin(async move {
            let id = self.ids.next();
            self.index_buckets(&request.buckets).await;
            let mut invocation = self.script.prepare_invoke();
            invocation
                .arg("reserve")
                .arg(u64::try_from(request.lease.as_millis()).unwrap_or(u64::MAX))
                .arg(&id);
            for b in request.buckets.iter() {
                invocation
                    .key(&b.key)
                    .arg(b.window.as_str())
                    .arg(b.limit)
                    .arg(request.amounts.of(b.measure))
                    .arg(b.label);
            }
            let answer: Vec<i64> = self.run(invocation).await?;
            let as_u64 = |v: Option<&i64>| v.copied().and_then(|v| u64::try_from(v).ok());
            match answer.first() {
                Some(1) => Ok(ReserveOutcome::Granted(Reservation {
                    id,
                    buckets: Arc::clone(&request.buckets),
                    amounts: request.amounts,
                    remaining: answer[1..]
                        .iter()
                        .map(|v| u64::try_from(*v).unwrap_or(0))
                        .collect(),
                })),
                Some(0) => {
                    let index = as_u64(answer.get(1))
                        .and_then(|i| usize::try_from(i).ok())
                        .and_then(|i| i.checked_sub(1))
                        .ok_or_else(|| {
                            StoreError::Protocol("malformed refusal from the quota script")
                        })?;
                    let bucket = request
                        .buckets
                        .get(index)
                        .ok_or_else(|| StoreError::Protocol("refusal names an unknown bucket"))?;
                    Ok(ReserveOutcome::Refused(Refusal {
                        label: bucket.label,
                        window: bucket.window,
                        measure: bucket.measure,
                        limit: bucket.limit,
                        used: as_u64(answer.get(2)).unwrap_or(bucket.limit),
                        requested: request.amounts.of(bucket.measure),
                        resets_at_ms: as_u64(answer.get(3)),
                    }))
                }
                _ => Err(StoreError::Protocol(
                    "unexpected answer from the quota script",
                )),
            }
        })
    }

    fn settle<'a>(&'a self, reservation: &'a Reservation, actual: Amounts) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut invocation = self.script.prepare_invoke();
            invocation.arg("settle").arg(&reservation.id);
            for b in reservation.buckets.iter() {
                invocation
                    .key(&b.key)
                    .arg(b.window.as_str())
                    .arg(actual.of(b.measure));
            }
            let _: Vec<i64> = self.run(invocation).await?;
            Ok(())
        })
    }

    fn reset<'a>(&'a self, subject: &'a str) -> StoreFuture<'a, u64> {
        Box::pin(async move {
            let keys = self.subject_keys(subject).await?;
            if keys.is_empty() {
                return Ok(0);
            }
            let mut connection = self.connection.clone();
            let mut removed = 0u64;
            // One key per DEL: a subject's keys may sit in different cluster slots.
            for key in keys {
                let n: u64 = tokio::time::timeout(
                    self.timeout,
                    redis::cmd("DEL").arg(&key).query_async(&mut connection),
                )
                .await
                .map_err(|_| StoreError::Timeout {
                    what: "DEL",
                    within: self.timeout,
                })?
                .map_err(error)?;
                removed += n;
            }
            Ok(removed)
        })
    }

    fn usage<'a>(&'a self, subject: &'a str) -> StoreFuture<'a, Vec<BucketUsage>> {
        Box::pin(async move {
            let keys = self.subject_keys(subject).await?;
            self.usage_of(keys).await
        })
    }

    fn org_usage<'a>(&'a self, org: &'a str) -> StoreFuture<'a, Vec<BucketUsage>> {
        Box::pin(async move {
            let keys = self.scope_keys("org", org).await?;
            self.usage_of(keys).await
        })
    }

    fn record_spend<'a>(&'a self, spend: Spend<'a>) -> StoreFuture<'a, ()> {
        Box::pin(self.record_spend_now(spend))
    }

    fn top_spenders<'a>(
        &'a self,
        scope: SpendScope,
        window: SpendWindow,
        at_ms: u64,
        offset: usize,
        limit: usize,
    ) -> StoreFuture<'a, SpendPage> {
        Box::pin(self.top_spenders_now(scope, window, at_ms, offset, limit))
    }

    fn spent<'a>(
        &'a self,
        scope: SpendScope,
        window: SpendWindow,
        id: &'a str,
        at_ms: u64,
    ) -> StoreFuture<'a, u64> {
        Box::pin(self.spent_now(scope, window, id, at_ms))
    }

    fn spend_by_model<'a>(
        &'a self,
        scope: SpendScope,
        window: SpendWindow,
        id: &'a str,
        at_ms: u64,
    ) -> StoreFuture<'a, Vec<(String, u64)>> {
        Box::pin(self.by_model_now(scope, window, id, at_ms))
    }

    fn spend_history(&self, days: usize, at_ms: u64) -> StoreFuture<'_, Vec<DayTotal>> {
        Box::pin(self.spend_history_now(days, at_ms))
    }
}
