//! Forwarding to model providers: one pooled HTTP client (hyper-util over rustls, HTTP/1.1 and
//! HTTP/2), header rewriting, timeouts, and the streaming relay body.
//!
//! Owns:
//! - [`Upstreams`]: the configured providers and [`Upstreams::forward`], which sends one
//!   request and returns the provider's response head with a [`Relay`] body;
//! - which headers cross the proxy ([`headers`]): everything but hop-by-hop headers and the
//!   client's credentials crosses unchanged; the provider key is injected here and nowhere else;
//! - time bounds: connect timeout, one deadline for the whole request (streaming included),
//!   SSE keepalive comments when the provider is silent;
//! - the provider side of the metrics: `upstream_duration_seconds`,
//!   `time_to_first_token_seconds` and `upstream_errors_total{kind}` (transport failures, 429
//!   and 5xx answers, broken streams).
//!
//! Invariants:
//! - the request body is forwarded as the bytes given; response bytes are relayed frame by
//!   frame as received, never buffered or re-serialized;
//! - provider errors (any status) come back as ordinary responses, unchanged; only transport
//!   failures become [`UpstreamError`];
//! - dropping the relay (client gone) drops the upstream request: the provider sees the
//!   connection or stream closed.
//!
//! Not here: routing (which provider a path goes to), authentication, metering.

mod client;
mod error;
mod fetch;
pub mod headers;
mod relay;

use std::{sync::Arc, time::Duration};

use bytes::Bytes;
use gateway_config::{Config, Upstream};
use gateway_core::{Provider, Secret, sse};
use gateway_metrics::Metrics;
use http::{HeaderMap, Method, Request, Response};
use http_body_util::Full;
use tokio::time::Instant;

pub use client::ClientError;
pub use error::UpstreamError;
pub use fetch::{FETCH_BODY_MAX_BYTES, FetchFailure, Fetcher};
pub use relay::{DeadlineExceeded, Relay};

/// One request to forward. The body is sent exactly as given.
#[derive(Debug)]
pub struct Outbound<'a> {
    /// Provider to send to.
    pub provider: Provider,
    /// HTTP method, unchanged from the client.
    pub method: Method,
    /// Route path after any product prefix, e.g. `/v1/messages`.
    pub path: &'a str,
    /// The client's query string, forwarded unchanged.
    pub query: Option<&'a str>,
    /// The client's headers; filtered by [`headers::outbound`].
    pub headers: &'a HeaderMap,
    /// The body bytes.
    pub body: Bytes,
    /// An SSE frame to send if the provider's stream breaks at an event boundary, in the
    /// client's protocol, so it sees an error event rather than a silent truncation.
    pub stream_error_frame: Option<Bytes>,
}

#[derive(Debug)]
struct Target {
    base: String,
    api_key: Secret<String>,
}

/// The providers and the shared client.
#[derive(Debug)]
pub struct Upstreams {
    anthropic: Option<Target>,
    openai: Option<Target>,
    client: client::Client,
    request_timeout: Duration,
    stream_keepalive: Option<Duration>,
    metrics: Arc<Metrics>,
}

impl Upstreams {
    /// Builds the client (TLS roots, pool, timeouts) and the provider table; provider calls
    /// are counted in `metrics`.
    pub fn new(config: &Config, metrics: Arc<Metrics>) -> Result<Self, ClientError> {
        let target = |u: &Option<Upstream>| {
            u.as_ref().map(|u| Target {
                base: u.base_url.as_str().trim_end_matches('/').to_owned(),
                api_key: u.api_key.clone(),
            })
        };
        let f = &config.forwarding;
        Ok(Self {
            anthropic: target(&config.upstreams.anthropic),
            openai: target(&config.upstreams.openai),
            client: client::build(f)?,
            request_timeout: f.request_timeout,
            stream_keepalive: (!f.stream_keepalive.is_zero()).then_some(f.stream_keepalive),
            metrics,
        })
    }

    /// A client for the gateway's own complete requests (JWKS, introspection).
    pub fn fetcher(&self) -> Fetcher {
        Fetcher {
            client: self.client.clone(),
        }
    }

    /// Whether `provider` is configured.
    pub fn has(&self, provider: Provider) -> bool {
        self.target(provider).is_some()
    }

    fn target(&self, provider: Provider) -> Option<&Target> {
        match provider {
            Provider::Anthropic => self.anthropic.as_ref(),
            Provider::OpenAi => self.openai.as_ref(),
        }
    }

    /// Sends `out` and returns the provider's response (any status) once its head arrives.
    pub async fn forward(&self, out: Outbound<'_>) -> Result<Response<Relay>, UpstreamError> {
        let provider = out.provider;
        let start = Instant::now();
        self.send(out, start).await.inspect_err(|e| {
            self.metrics
                .upstream_errors_total
                .with_label_values(&[provider.as_label(), e.as_label()])
                .inc();
            self.metrics
                .upstream_duration_seconds
                .with_label_values(&[provider.as_label()])
                .observe(start.elapsed().as_secs_f64());
        })
    }

    async fn send(
        &self,
        out: Outbound<'_>,
        start: Instant,
    ) -> Result<Response<Relay>, UpstreamError> {
        let provider = out.provider;
        let target = self
            .target(provider)
            .ok_or(UpstreamError::NotConfigured { provider })?;
        let uri = match out.query {
            Some(q) => format!("{}{}?{q}", target.base, out.path),
            None => format!("{}{}", target.base, out.path),
        };
        let mut request = Request::builder()
            .method(out.method)
            .uri(uri)
            .body(Full::new(out.body))
            .map_err(|e| UpstreamError::Request {
                provider,
                source: Box::new(e),
            })?;
        *request.headers_mut() = headers::outbound(out.headers, provider, &target.api_key);

        let deadline = start + self.request_timeout;
        let response = tokio::time::timeout_at(deadline, self.client.request(request))
            .await
            .map_err(|_| UpstreamError::Timeout {
                provider,
                after: self.request_timeout,
            })?
            .map_err(|e| UpstreamError::from_client(provider, e))?;

        let (mut head, body) = response.into_parts();
        headers::strip_inbound(&mut head.headers);
        let sse = sse::is_event_stream(&head.headers);
        // Provider answers operators should see as failures: rate limits and server errors.
        let status = head.status.as_u16();
        let answered_kind = match status {
            429 => Some("status_429"),
            500.. => Some("status_5xx"),
            _ => None,
        };
        if let Some(kind) = answered_kind {
            self.metrics
                .upstream_errors_total
                .with_label_values(&[provider.as_label(), kind])
                .inc();
        }
        let relay = Relay::new(
            body,
            deadline,
            sse.then_some(self.stream_keepalive).flatten(),
            if sse { out.stream_error_frame } else { None },
            relay::Timing {
                metrics: self.metrics.clone(),
                upstream: provider.as_label(),
                start,
                sse,
                first_frame_seen: false,
            },
        );
        Ok(Response::from_parts(head, relay))
    }
}
