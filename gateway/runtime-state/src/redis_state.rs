//! [`RedisState`]: records in Redis, shared by every replica. One hash of records (`id` →
//! `revision:json`) and one revision counter, both under the `{lgw-admin}` hash tag; every
//! write is one compare-and-set script call (`state.lua`).

use std::time::Duration;

use redis::{
    Script,
    aio::{ConnectionLike, ConnectionManager},
};

use crate::{Expect, Record, StateError, StateFuture, StateStore};

const SCRIPT: &str = include_str!("state.lua");
/// The records hash.
const RECORDS_KEY: &str = "lgw:{lgw-admin}:records";
/// The store-wide revision counter.
const REVISION_KEY: &str = "lgw:{lgw-admin}:revision";

/// Records in Redis, over one server's connection (the default) or any other
/// `ConnectionLike` (the app passes its cluster-aware one).
#[derive(Clone)]
pub struct RedisState<C = ConnectionManager> {
    connection: C,
    script: Script,
    timeout: Duration,
}

impl<C> std::fmt::Debug for RedisState<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisState")
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl RedisState {
    /// Connects to `url` (the quota store's; reconnecting by itself); every call is bounded
    /// by `timeout`.
    pub async fn connect(url: &str, timeout: Duration) -> Result<Self, StateError> {
        Self::connect_client(
            redis::Client::open(url).map_err(StateError::Redis)?,
            timeout,
        )
        .await
    }

    /// Connects with `client` (the quota store's, built by the caller); every call is bounded
    /// by `timeout`.
    pub async fn connect_client(
        client: redis::Client,
        timeout: Duration,
    ) -> Result<Self, StateError> {
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1);
        let connection = tokio::time::timeout(
            timeout * 4,
            ConnectionManager::new_with_config(client, config),
        )
        .await
        .map_err(|_| StateError::Timeout {
            what: "the connection",
            within: timeout * 4,
        })?
        .map_err(StateError::Redis)?;
        Ok(Self::with_connection(connection, timeout))
    }
}

impl<C> RedisState<C>
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    /// Records over an open `connection` (shared with the quota store); every call bounded by
    /// `timeout`. Both keys share the `{lgw-admin}` hash tag, so a cluster works.
    pub fn with_connection(connection: C, timeout: Duration) -> Self {
        Self {
            connection,
            script: Script::new(SCRIPT),
            timeout,
        }
    }

    async fn bounded<T>(
        &self,
        what: &'static str,
        f: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, StateError> {
        tokio::time::timeout(self.timeout, f)
            .await
            .map_err(|_| StateError::Timeout {
                what,
                within: self.timeout,
            })?
            .map_err(StateError::Redis)
    }

    async fn write(
        &self,
        op: &str,
        id: &str,
        expect: Expect,
        json: &str,
    ) -> Result<u64, StateError> {
        let expected = match expect {
            Expect::Absent => "absent".to_owned(),
            Expect::Any => "any".to_owned(),
            Expect::Revision(r) => r.to_string(),
        };
        let mut invocation = self.script.prepare_invoke();
        invocation
            .key(RECORDS_KEY)
            .key(REVISION_KEY)
            .arg(op)
            .arg(id)
            .arg(expected)
            .arg(json);
        let mut connection = self.connection.clone();
        let answer: Vec<u64> = self
            .bounded("the state script", invocation.invoke_async(&mut connection))
            .await?;
        match answer.as_slice() {
            [1, rev] => Ok(*rev),
            [0, 0] if expect != Expect::Absent => Err(StateError::NotFound),
            [0, current] => Err(StateError::Conflict { current: *current }),
            _ => Err(StateError::Corrupt { id: id.to_owned() }),
        }
    }
}

impl<C> StateStore for RedisState<C>
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    fn revision(&self) -> StateFuture<'_, u64> {
        Box::pin(async move {
            let mut connection = self.connection.clone();
            let rev: Option<u64> = self
                .bounded(
                    "GET revision",
                    redis::cmd("GET")
                        .arg(REVISION_KEY)
                        .query_async(&mut connection),
                )
                .await?;
            Ok(rev.unwrap_or(0))
        })
    }

    fn load(&self) -> StateFuture<'_, (u64, Vec<Record>)> {
        Box::pin(async move {
            // The revision first: a write landing in between makes it older than the records,
            // which only costs the next poll one more load.
            let revision = self.revision().await?;
            let mut connection = self.connection.clone();
            let all: std::collections::HashMap<String, String> = self
                .bounded(
                    "HGETALL records",
                    redis::cmd("HGETALL")
                        .arg(RECORDS_KEY)
                        .query_async(&mut connection),
                )
                .await?;
            let mut records = Vec::with_capacity(all.len());
            for (id, value) in all {
                let parsed = value.split_once(':').and_then(|(rev, json)| {
                    let rev = rev.parse::<u64>().ok()?;
                    let mut record: Record = serde_json::from_str(json).ok()?;
                    record.set_revision(rev);
                    Some(record)
                });
                match parsed {
                    Some(r) => records.push(r),
                    None => tracing::warn!(id, "unreadable runtime state record skipped"),
                }
            }
            Ok((revision, records))
        })
    }

    fn put(&self, record: Record, expect: Expect) -> StateFuture<'_, u64> {
        Box::pin(async move {
            let json = serde_json::to_string(&record).map_err(|_| StateError::Corrupt {
                id: record.id().to_owned(),
            })?;
            self.write("put", record.id(), expect, &json).await
        })
    }

    fn delete<'a>(&'a self, id: &'a str, expect: Expect) -> StateFuture<'a, u64> {
        Box::pin(async move { self.write("del", id, expect, "").await })
    }
}
