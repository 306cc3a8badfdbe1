//! [`RedisConnection`]: one Redis server (a reconnecting [`ConnectionManager`]) or a Redis
//! Cluster (a [`ClusterConnection`] that follows slot moves and failovers), behind one
//! `ConnectionLike`, so the stores are the same code for both. In a cluster every command
//! and script must touch keys of one slot: the quota script's keys share the request's
//! tenant tag, the runtime records `{lgw-admin}`, and every other write is sent key by key.

use std::time::Duration;

use redis::{
    Cmd, Pipeline, RedisFuture, Value,
    aio::{ConnectionLike, ConnectionManager},
    cluster_async::ClusterConnection,
};

use crate::StoreError;

/// Where the shared store is.
#[derive(Clone, Debug)]
#[expect(
    clippy::large_enum_variant,
    reason = "built once at start and consumed by connect"
)]
pub enum RedisTarget {
    /// One server (or a proxy in front of many).
    Single(redis::Client),
    /// A Redis Cluster, found from its seed nodes.
    Cluster(redis::cluster::ClusterClient),
}

/// A connection to the shared store; cheap to clone (clones share the connection).
#[derive(Clone)]
pub enum RedisConnection {
    /// One server.
    Single(ConnectionManager),
    /// A cluster.
    Cluster(ClusterConnection),
}

impl std::fmt::Debug for RedisConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Single(_) => "RedisConnection::Single",
            Self::Cluster(_) => "RedisConnection::Cluster",
        })
    }
}

impl RedisConnection {
    /// Connects to `target`, each step and each later call bounded by `timeout`.
    pub async fn connect(target: RedisTarget, timeout: Duration) -> Result<Self, StoreError> {
        let connecting = async {
            match target {
                RedisTarget::Single(client) => {
                    let config = redis::aio::ConnectionManagerConfig::new()
                        .set_connection_timeout(Some(timeout))
                        .set_response_timeout(Some(timeout))
                        .set_number_of_retries(1);
                    ConnectionManager::new_with_config(client, config)
                        .await
                        .map(Self::Single)
                }
                RedisTarget::Cluster(client) => {
                    client.get_async_connection().await.map(Self::Cluster)
                }
            }
        };
        tokio::time::timeout(timeout * 4, connecting)
            .await
            .map_err(|_| StoreError::Timeout {
                what: "the connection",
                within: timeout * 4,
            })?
            .map_err(StoreError::Redis)
    }
}

impl RedisConnection {
    /// Sends `groups` (pipelines whose keys share a slot; answers ignored): as one pipeline to
    /// one server, one round trip; group by group, all at once, to a cluster.
    pub(crate) async fn write_groups(&self, groups: &[Pipeline]) -> redis::RedisResult<()> {
        match self {
            Self::Single(c) => {
                let mut all = redis::pipe();
                for cmd in groups.iter().flat_map(Pipeline::cmd_iter) {
                    all.add_command(cmd.clone()).ignore();
                }
                all.query_async::<()>(&mut c.clone()).await
            }
            Self::Cluster(c) => {
                futures_util::future::try_join_all(groups.iter().map(|g| {
                    let mut c = c.clone();
                    async move { g.query_async::<()>(&mut c).await }
                }))
                .await?;
                Ok(())
            }
        }
    }
}

impl ConnectionLike for RedisConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(c) => c.req_packed_command(cmd),
            Self::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Self::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(c) => c.get_db(),
            Self::Cluster(c) => c.get_db(),
        }
    }
}
