//! Building the S3 client from an [`S3SinkConfig`] and bounding every call in time.

use std::{future::Future, sync::Arc, time::Duration};

use object_store::{BackoffConfig, ClientOptions, RetryConfig, aws::AmazonS3Builder};

use crate::{S3Error, S3SinkConfig};

/// Most time to open a TCP (and TLS) connection, within `request_timeout`.
const CONNECT_TIMEOUT_MAX: Duration = Duration::from_secs(5);
/// Retries the client makes inside one call; the sink's own retry (with its backoff) does
/// the rest, so an outage costs one short call per attempt, not minutes of retrying.
const CLIENT_MAX_RETRIES: usize = 1;
/// The client's first backoff between its retries.
const CLIENT_RETRY_BACKOFF: Duration = Duration::from_millis(100);
/// The client's longest backoff between its retries.
const CLIENT_RETRY_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// An S3 client for `config` (validated). Installs ring as rustls's process-wide default
/// crypto provider if none is installed yet: the client's TLS uses it, like the rest of the
/// gateway (`reqwest` is built without a provider of its own).
pub(crate) fn build(config: &S3SinkConfig) -> Result<Arc<dyn object_store::ObjectStore>, S3Error> {
    config.validate()?;
    // Err means another provider is installed already, which the client then uses.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = ClientOptions::new()
        .with_allow_http(config.allow_http)
        .with_timeout(config.request_timeout)
        .with_connect_timeout(config.request_timeout.min(CONNECT_TIMEOUT_MAX));
    let retry = RetryConfig {
        backoff: BackoffConfig {
            init_backoff: CLIENT_RETRY_BACKOFF,
            max_backoff: CLIENT_RETRY_BACKOFF_MAX,
            base: 2.0,
        },
        max_retries: CLIENT_MAX_RETRIES,
        retry_timeout: config.request_timeout,
    };
    let mut builder = AmazonS3Builder::new()
        .with_region(&config.region)
        .with_bucket_name(&config.bucket)
        .with_allow_http(config.allow_http)
        .with_client_options(client)
        .with_retry(retry);
    if let Some(endpoint) = &config.endpoint {
        // S3-compatible servers (MinIO, moto, Ceph) want `{endpoint}/{bucket}/{key}`.
        builder = builder
            .with_endpoint(endpoint)
            .with_virtual_hosted_style_request(false);
    }
    if let (Some(id), Some(secret)) = (&config.access_key_id, &config.secret_access_key) {
        builder = builder
            .with_access_key_id(id.expose())
            .with_secret_access_key(secret.expose());
    }
    let store = builder.build().map_err(S3Error::Client)?;
    Ok(Arc::new(store))
}

/// Runs one S3 call, bounded by `after`.
pub(crate) async fn bounded<T>(
    op: &'static str,
    key: &str,
    after: Duration,
    call: impl Future<Output = object_store::Result<T>>,
) -> Result<T, S3Error> {
    match tokio::time::timeout(after, call).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(source)) => Err(S3Error::Request {
            op,
            key: key.to_owned(),
            source,
        }),
        Err(_) => Err(S3Error::Timeout {
            op,
            key: key.to_owned(),
            after,
        }),
    }
}
