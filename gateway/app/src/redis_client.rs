//! The one Redis client of the gateway, shared by the quota store and the admins' runtime
//! records: `redis://` plain, `rediss://` over TLS (rustls; the host name is the SNI and is
//! verified) with the system's roots or `quota.redis_ca_file`'s certificates.

/// A client for `url`, trusting `ca_pem` (PEM certificates) when given.
pub(crate) fn client(url: &str, ca_pem: Option<&[u8]>) -> Result<redis::Client, redis::RedisError> {
    match ca_pem {
        Some(pem) => redis::Client::build_with_tls(
            url,
            redis::TlsCertificates {
                client_tls: None,
                root_cert: Some(pem.to_vec()),
            },
        ),
        None => redis::Client::open(url),
    }
}
