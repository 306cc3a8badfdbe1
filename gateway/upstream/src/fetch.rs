//! [`Fetcher`]: small complete request/response exchanges over the gateway's pooled client,
//! for the gateway's own calls (JWKS, token introspection), never for proxied traffic.

use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full, Limited};

/// Largest answer body read by [`Fetcher::send`].
pub const FETCH_BODY_MAX_BYTES: usize = 1024 * 1024;

/// A complete exchange failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchFailure {
    /// No answer in time.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// Connecting or sending failed.
    #[error("request failed")]
    Request(#[source] hyper_util::client::legacy::Error),
    /// The answer body could not be read, or is over [`FETCH_BODY_MAX_BYTES`].
    #[error("cannot read the answer")]
    Body(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Sends complete requests with the shared client (same TLS roots and pool).
#[derive(Clone, Debug)]
pub struct Fetcher {
    pub(crate) client: crate::client::Client,
}

impl Fetcher {
    /// Sends `request` and reads the whole answer, within `timeout`.
    pub async fn send(
        &self,
        request: Request<Bytes>,
        timeout: Duration,
    ) -> Result<(StatusCode, Bytes), FetchFailure> {
        let exchange = async {
            let response = self
                .client
                .request(request.map(Full::new))
                .await
                .map_err(FetchFailure::Request)?;
            let (head, body) = response.into_parts();
            let body = Limited::new(body, FETCH_BODY_MAX_BYTES)
                .collect()
                .await
                .map_err(FetchFailure::Body)?
                .to_bytes();
            Ok((head.status, body))
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| FetchFailure::Timeout(timeout))?
    }
}
