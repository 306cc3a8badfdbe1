//! The one Redis connection of the gateway, shared by the quota store and the admins'
//! runtime records: one server or a Redis Cluster (`quota.redis_cluster`), `redis://` plain
//! or `rediss://` over TLS (rustls; the host name is the SNI and is verified) with the
//! system's roots or `quota.redis_ca_file`'s certificates.

use std::time::Duration;

use gateway_quota::{RedisConnection, RedisTarget, StoreError};

/// Connects to the configured Redis.
pub(crate) async fn connect(
    url: &str,
    ca_pem: Option<&[u8]>,
    cluster: bool,
    timeout: Duration,
) -> Result<RedisConnection, StoreError> {
    let certs = |pem: &[u8]| redis::TlsCertificates {
        client_tls: None,
        root_cert: Some(pem.to_vec()),
    };
    let target = if cluster {
        let mut builder = redis::cluster::ClusterClient::builder([url])
            .connection_timeout(timeout)
            .response_timeout(timeout);
        if let Some(pem) = ca_pem {
            builder = builder.certs(certs(pem));
        }
        RedisTarget::Cluster(builder.build().map_err(StoreError::Redis)?)
    } else {
        RedisTarget::Single(
            match ca_pem {
                Some(pem) => redis::Client::build_with_tls(url, certs(pem)),
                None => redis::Client::open(url),
            }
            .map_err(StoreError::Redis)?,
        )
    };
    RedisConnection::connect(target, timeout).await
}
