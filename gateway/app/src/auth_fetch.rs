//! [`AuthFetch`]: authentication's HTTP calls (JWKS, introspection) over the gateway's pooled
//! upstream client, so one set of TLS roots and one pool serve both.

use gateway_auth::{FetchError, FetchFuture, FetchReply, FetchRequest, HttpFetch};
use gateway_upstream::Fetcher;

/// Adapts [`Fetcher`] to [`HttpFetch`].
#[derive(Debug)]
pub(crate) struct AuthFetch(pub(crate) Fetcher);

impl HttpFetch for AuthFetch {
    fn fetch(&self, request: FetchRequest) -> FetchFuture<'_> {
        Box::pin(async move {
            let mut builder = http::Request::builder()
                .method(request.method)
                .uri(request.url.as_str());
            if let Some(headers) = builder.headers_mut() {
                *headers = request.headers;
            }
            let http_request = builder
                .body(request.body)
                .map_err(|e| FetchError(e.into()))?;
            let (status, body) = self
                .0
                .send(http_request, request.timeout)
                .await
                .map_err(|e| FetchError(e.into()))?;
            Ok(FetchReply {
                status: status.as_u16(),
                body,
            })
        })
    }
}
