//! [`HttpFetch`]: the HTTP calls authentication makes (JWKS, introspection), behind a trait so
//! this crate stays free of an HTTP client; the app passes the gateway's pooled client.

use std::{future::Future, pin::Pin, time::Duration};

use bytes::Bytes;

/// One outgoing request.
#[derive(Debug)]
pub struct FetchRequest {
    /// `GET` or `POST`.
    pub method: http::Method,
    /// Where.
    pub url: url::Url,
    /// Headers; secret values are marked sensitive.
    pub headers: http::HeaderMap,
    /// Body bytes (empty for GET).
    pub body: Bytes,
    /// Whole-request budget.
    pub timeout: Duration,
}

/// A complete answer.
#[derive(Debug)]
pub struct FetchReply {
    /// Status code.
    pub status: u16,
    /// Body (bounded by the implementation).
    pub body: Bytes,
}

/// The request got no answer (connect failure, timeout, body over the bound).
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct FetchError(pub Box<dyn std::error::Error + Send + Sync>);

/// A boxed future, so the trait can be used as an object.
pub type FetchFuture<'a> =
    Pin<Box<dyn Future<Output = Result<FetchReply, FetchError>> + Send + 'a>>;

/// Sends HTTP requests for authentication.
pub trait HttpFetch: Send + Sync + std::fmt::Debug {
    /// Sends `request` and reads the whole answer.
    fn fetch(&self, request: FetchRequest) -> FetchFuture<'_>;
}
