//! Forwarding to model providers: one pooled HTTP client (hyper-util over rustls, HTTP/1.1 and
//! HTTP/2), header rewriting, timeouts, and the streaming relay body.
//!
//! Owns:
//! - [`Upstreams`]: the configured providers, each an ordered list of targets with their key
//!   pools, and [`Upstreams::attempt`], which sends one request to the [`Pick`]ed target and
//!   key and returns the provider's answer held until it commits ([`Answer`], `prefix.rs`:
//!   error bodies and a stream's events before its first content event are held, so a failure
//!   the client has not seen can still be retried elsewhere), then relayed by a [`Relay`];
//! - the provider kinds beside the Anthropic Messages API: `bedrock/` (AWS Bedrock) and
//!   `vertex/` (Google Vertex AI, with its service-account token cache);
//! - which headers cross the proxy ([`headers`]): everything but hop-by-hop headers and the
//!   client's credentials crosses unchanged; the provider key is injected here and nowhere else;
//! - time bounds: connect timeout, one deadline for the whole request (streaming included),
//!   `ttft_timeout_ms` until an answer commits, SSE keepalive comments when the provider is
//!   silent (after the commit);
//! - the provider side of the metrics: `upstream_duration_seconds`,
//!   `time_to_first_token_seconds` and `upstream_errors_total{kind}` (transport failures, 429
//!   and 5xx answers, broken streams).
//!
//! Invariants:
//! - the request body is forwarded as the bytes given; response bytes are relayed frame by
//!   frame as received, never re-serialized; only the bounded prefix before the commit is
//!   held (`ERROR_HOLD_MAX_BYTES`, `PRECOMMIT_HOLD_MAX_BYTES`) and replayed unchanged;
//! - provider errors (any status) come back as ordinary responses, unchanged (a Bedrock
//!   or Vertex target's error body excepted: rewritten as the Anthropic error it means, status
//!   and headers kept); only transport failures become [`UpstreamError`];
//! - dropping the relay (client gone) drops the upstream request: the provider sees the
//!   connection or stream closed.
//!
//! Not here: routing (which provider a path goes to), which target and key to try and when
//! (gateway-resilience), authentication, metering.

mod anthropic_error;
mod bedrock;
mod client;
mod error;
mod fetch;
pub mod headers;
mod prefix;
mod relay;
mod vertex;

use std::{sync::Arc, time::Duration};

use bytes::Bytes;
use gateway_config::{Config, TargetKind, Upstream};
use gateway_core::{Provider, Secret, sse};
use gateway_metrics::Metrics;
use http::{HeaderMap, HeaderValue, Method, Request};
use http_body_util::Full;
use tokio::time::Instant;

pub use bedrock::{DecodeError, FRAME_MAX_BYTES};
pub use client::ClientError;
pub use error::UpstreamError;
pub use fetch::{FETCH_BODY_MAX_BYTES, FetchFailure, Fetcher};
pub use prefix::{Answer, ERROR_HOLD_MAX_BYTES, Held, PRECOMMIT_HOLD_MAX_BYTES};
pub use relay::{DeadlineExceeded, Relay};
pub use vertex::TokenError;

/// One request to forward. The body is sent exactly as given, once per attempt.
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
}

/// Which target of the provider's upstream, and which key of its pool, an attempt uses
/// (indexes in config order; gateway-resilience picks them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pick {
    /// 0 is the primary, then the fallbacks in order.
    pub target: usize,
    /// The key's index in the target's pool.
    pub key: usize,
}

#[derive(Debug)]
struct Target {
    /// For `x-gateway-upstream`-style labels in metrics.
    name: String,
    base: String,
    /// The `host` header for `base` (its host, and its port unless the scheme's default), made
    /// once: the client would otherwise format and validate it on every request. Plain targets
    /// only (Bedrock and Vertex requests carry the headers they were signed with).
    host: Option<HeaderValue>,
    keys: Vec<Secret<String>>,
    /// A Bedrock target's wire settings; `None` for the other kinds.
    bedrock: Option<bedrock::Target>,
    /// A Vertex target's wire settings and token; `None` for the other kinds.
    vertex: Option<vertex::Target>,
}

/// The providers and the shared client.
#[derive(Debug)]
pub struct Upstreams {
    anthropic: Vec<Target>,
    openai: Vec<Target>,
    client: client::Client,
    request_timeout: Duration,
    ttft_timeout: Option<Duration>,
    stream_keepalive: Option<Duration>,
    metrics: Arc<Metrics>,
    /// Per-provider timing series, in [`Provider::ALL`] order.
    timers: [Arc<relay::Timers>; 2],
}

impl Upstreams {
    /// Builds the client (TLS roots, pool, timeouts) and the provider table; provider calls
    /// are counted in `metrics`.
    pub fn new(config: &Config, metrics: Arc<Metrics>) -> Result<Self, ClientError> {
        let targets = |u: &Option<Upstream>| {
            u.iter()
                .flat_map(Upstream::targets)
                .map(|t| {
                    Ok(Target {
                        name: t.name.clone(),
                        base: t.base_url.as_str().trim_end_matches('/').to_owned(),
                        host: headers::host_header(t.base_url.as_str()),
                        keys: t.keys.iter().map(|k| k.secret.clone()).collect(),
                        bedrock: match &t.kind {
                            TargetKind::Bedrock(b) => {
                                Some(bedrock::Target::new(b, &t.name, &metrics))
                            }
                            _ => None,
                        },
                        vertex: match &t.kind {
                            TargetKind::Vertex(v) => Some(vertex::Target::new(v, &t.name)?),
                            _ => None,
                        },
                    })
                })
                .collect::<Result<Vec<_>, ClientError>>()
        };
        let f = &config.forwarding;
        Ok(Self {
            anthropic: targets(&config.upstreams.anthropic)?,
            openai: targets(&config.upstreams.openai)?,
            client: client::build(f)?,
            request_timeout: f.request_timeout,
            ttft_timeout: f.retry.ttft_timeout,
            stream_keepalive: (!f.stream_keepalive.is_zero()).then_some(f.stream_keepalive),
            timers: Provider::ALL
                .map(|p| Arc::new(relay::Timers::new(metrics.clone(), p.as_label()))),
            metrics,
        })
    }

    fn timers(&self, provider: Provider) -> &Arc<relay::Timers> {
        match provider {
            Provider::Anthropic => &self.timers[0],
            Provider::OpenAi => &self.timers[1],
        }
    }

    /// A client for the gateway's own complete requests (JWKS, introspection).
    pub fn fetcher(&self) -> Fetcher {
        Fetcher {
            client: self.client.clone(),
        }
    }

    /// Whether `provider` is configured.
    pub fn has(&self, provider: Provider) -> bool {
        !self.targets(provider).is_empty()
    }

    /// The model id target `target` of `provider` is sent for the client's `model`: a Bedrock
    /// target's own id (mapped, or the model when it already is one), the model as named for
    /// the others; `None` when the target has none (it is skipped) or does not exist.
    pub fn model_id<'a>(
        &'a self,
        provider: Provider,
        target: usize,
        model: &'a str,
    ) -> Option<&'a str> {
        let t = self.targets(provider).get(target)?;
        match (&t.bedrock, &t.vertex) {
            (Some(b), _) => b.model_id(model),
            (None, Some(v)) => v.model_id(model),
            (None, None) => Some(model),
        }
    }

    fn targets(&self, provider: Provider) -> &[Target] {
        match provider {
            Provider::Anthropic => &self.anthropic,
            Provider::OpenAi => &self.openai,
        }
    }

    /// Sends `out` to the picked target with the picked key and holds the answer until it
    /// commits (see [`Answer`]); transport failures, stalls past `ttft_timeout_ms` and streams
    /// broken before their first content event are errors. Error answers are held (bounded)
    /// for judging; a success commits at its head, except an Anthropic stream, held to its
    /// first content event.
    pub async fn attempt(&self, out: &Outbound<'_>, pick: Pick) -> Result<Answer, UpstreamError> {
        let provider = out.provider;
        let start = Instant::now();
        let target = self.targets(provider).get(pick.target);
        let bedrock = target.is_some_and(|t| t.bedrock.is_some());
        let vertex = target.and_then(|t| t.vertex.as_ref());
        let attempt = async {
            let (mut head, mut relay) = self.send(out, pick, start).await?;
            // A service account's cached token Vertex refuses (revoked, expired early) is
            // exchanged anew and the request sent once more; a second 401 stands.
            if head.status == http::StatusCode::UNAUTHORIZED
                && let Some(v) = vertex
                && v.forget_token().await
            {
                drop(relay);
                (head, relay) = self.send(out, pick, start).await?;
            }
            let anthropic_stream =
                provider == Provider::Anthropic && sse::is_event_stream(&head.headers);
            // Error answers of every provider are held (bounded) to be judged; successes
            // commit at the head except Anthropic streams, held to their first content event.
            let mut answer = prefix::hold(head, relay, anthropic_stream, self.stream_keepalive)
                .await
                .map_err(|e| UpstreamError::BrokeBeforeCommit {
                    provider,
                    source: e.0,
                })?;
            // Bedrock's errors in the client's protocol, before they are judged or served.
            if bedrock
                && let Held::ErrorBody { complete: true } = answer.held()
                && let Some(body) = bedrock::anthropic_error(
                    answer.status().as_u16(),
                    answer.headers(),
                    &answer.held_body(),
                )
            {
                answer.replace_error_body(body);
            }
            // Vertex's Google-shaped errors likewise.
            if vertex.is_some()
                && let Held::ErrorBody { complete: true } = answer.held()
                && let Some(body) =
                    vertex::anthropic_error(answer.status().as_u16(), &answer.held_body())
            {
                answer.replace_error_body(body);
            }
            Ok(answer)
        };
        let result =
            match self
                .ttft_timeout
                .filter(|_| provider == Provider::Anthropic)
            {
                Some(ttft) => tokio::time::timeout(ttft, attempt).await.unwrap_or(Err(
                    UpstreamError::Stalled {
                        provider,
                        after: ttft,
                    },
                )),
                None => attempt.await,
            };
        result.inspect_err(|e| {
            self.metrics
                .upstream_errors_total
                .with_label_values(&[provider.as_label(), e.as_label()])
                .inc();
            self.timers(provider)
                .observe_duration(start.elapsed().as_secs_f64());
        })
    }

    async fn send(
        &self,
        out: &Outbound<'_>,
        pick: Pick,
        start: Instant,
    ) -> Result<(http::response::Parts, Relay), UpstreamError> {
        let provider = out.provider;
        let target = self
            .targets(provider)
            .get(pick.target)
            .ok_or(UpstreamError::NotConfigured { provider })?;
        let key = target
            .keys
            .get(pick.key)
            .ok_or(UpstreamError::NotConfigured { provider })?;
        let prepared = match (&target.bedrock, &target.vertex) {
            (Some(b), _) => Some(b.prepare(&target.base, out, key, &self.metrics, &target.name)?),
            (None, Some(v)) => Some(v.prepare(&target.base, out, key, &self.fetcher()).await?),
            (None, None) => None,
        };
        let request = match prepared {
            Some(p) => {
                let mut request = Request::builder()
                    .method(Method::POST)
                    .uri(p.uri)
                    .body(Full::new(p.body))
                    .map_err(|e| UpstreamError::Request {
                        provider,
                        source: Box::new(e),
                    })?;
                *request.headers_mut() = p.headers;
                request
            }
            None => {
                let uri = match out.query {
                    Some(q) => [target.base.as_str(), out.path, "?", q].concat(),
                    None => [target.base.as_str(), out.path].concat(),
                };
                let mut request = Request::builder()
                    .method(out.method.clone())
                    .uri(uri)
                    .body(Full::new(out.body.clone()))
                    .map_err(|e| UpstreamError::Request {
                        provider,
                        source: Box::new(e),
                    })?;
                *request.headers_mut() = headers::outbound(out.headers, provider, key);
                if let Some(host) = &target.host {
                    request
                        .headers_mut()
                        .insert(http::header::HOST, host.clone());
                }
                request
            }
        };
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
        // A Bedrock stream is relayed as the Anthropic SSE it carries.
        let body = match &target.bedrock {
            Some(b) if head.status.is_success() && bedrock::is_event_stream(&head.headers) => {
                head.headers.insert(
                    http::header::CONTENT_TYPE,
                    http::HeaderValue::from_static("text/event-stream"),
                );
                relay::Source::Bedrock(Box::new(b.event_stream(body)))
            }
            _ => relay::Source::Provider(body),
        };
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
            relay::Timing {
                timers: self.timers(provider).clone(),
                start,
                sse,
                first_frame_seen: false,
            },
        );
        Ok((head, relay))
    }
}
