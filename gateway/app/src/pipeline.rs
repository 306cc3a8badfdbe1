//! The request lifecycle, in order. Generic concerns (request id, sensitive headers, tracing)
//! sit in `stack.rs`; everything that depends on who is calling and what they ask for is here,
//! one stage per line, each with the reason it sits where it does.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use gateway_core::{ErrorKind, GatewayError, Provider};
use gateway_upstream::Outbound;
use http::{HeaderMap, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Incoming;
use tokio::time::Instant;

use crate::{
    Gateway, ResponseBody,
    body::{InFlight, Measured},
    routes::{self, Endpoint, Resolved},
    transcripts::{Outcome as TranscriptOutcome, PolicyMode, RequestFacts as TranscriptFacts},
};

/// Handles one client request. Never fails: every refusal becomes a response in the
/// provider's error envelope.
pub(crate) async fn handle(
    gw: &Gateway,
    req: Request<Incoming>,
    peer: std::net::SocketAddr,
) -> Response<Measured> {
    // First: counted from arrival, so durations and the in-flight gauge cover every stage
    // (and a client leaving mid-way still ends the count, on drop).
    let mut in_flight = InFlight::start(gw.metrics.clone(), Instant::now());
    let mut upstream_wait = Duration::ZERO;
    let response = respond(gw, req, peer, &mut in_flight, &mut upstream_wait).await;
    in_flight.respond(response, upstream_wait)
}

/// Resolves the route and runs the stages; `upstream_wait` receives the time spent waiting
/// for the provider's response head, which is not the gateway's overhead.
async fn respond(
    gw: &Gateway,
    req: Request<Incoming>,
    peer: std::net::SocketAddr,
    in_flight: &mut InFlight,
    upstream_wait: &mut Duration,
) -> Response<ResponseBody> {
    let request_id = crate::stack::request_id(req.headers()).to_owned();
    let resolved = routes::resolve(req.method(), req.uri().path(), &gw.prefixes);
    in_flight.route(match &resolved {
        Resolved::Probe => "probe",
        Resolved::Route { endpoint, .. } | Resolved::WrongMethod(endpoint) => endpoint.as_label(),
        Resolved::NotFound => "not_found",
    });
    let (endpoint, product) = match resolved {
        // Startup probes: no credential, no upstream, no body.
        Resolved::Probe => return Response::new(ResponseBody::empty()),
        Resolved::Route { endpoint, product } => (endpoint, product.map(str::to_owned)),
        Resolved::WrongMethod(endpoint) => {
            let e = GatewayError::new(
                ErrorKind::MethodNotAllowed,
                format!(
                    "{} {} is not served; use {} {}",
                    req.method(),
                    endpoint.path(),
                    endpoint.method(),
                    endpoint.path()
                ),
            );
            let mut r = refusal(&e, endpoint.provider(), &request_id);
            if let Ok(allow) = endpoint.method().as_str().parse() {
                r.headers_mut().insert(header::ALLOW, allow);
            }
            return r;
        }
        Resolved::NotFound => {
            let e = GatewayError::new(
                ErrorKind::NotFound,
                format!(
                    "no route for {} {}: this gateway serves /v1/messages, /v1/messages/count_tokens, /v1/models, /v1/chat/completions and /v1/responses; check the base URL",
                    req.method(),
                    req.uri().path()
                ),
            );
            return refusal(&e, Provider::Anthropic, &request_id);
        }
    };
    let span = tracing::Span::current();
    span.record("route", endpoint.as_label());
    if let Some(p) = &product {
        span.record("product", p.as_str());
    }
    let request = RequestContext {
        endpoint,
        peer,
        request_id: &request_id,
        product: product.as_deref(),
        arrival: in_flight.started(),
    };
    match proxy(gw, request, req, upstream_wait).await {
        Ok(response) => response,
        Err(e) => {
            log_refusal(&e);
            refusal(&e, endpoint.provider(), &request_id)
        }
    }
}

/// What is known about a request before its stages run.
#[derive(Clone, Copy, Debug)]
struct RequestContext<'a> {
    endpoint: Endpoint,
    peer: std::net::SocketAddr,
    request_id: &'a str,
    product: Option<&'a str>,
    arrival: Instant,
}

/// The stages of a proxied request.
async fn proxy(
    gw: &Gateway,
    request: RequestContext<'_>,
    req: Request<Incoming>,
    upstream_wait: &mut Duration,
) -> Result<Response<ResponseBody>, GatewayError> {
    let RequestContext { endpoint, peer, .. } = request;
    let (mut head, body) = req.into_parts();

    // 1. Authenticate first: budgets belong to principals, and a stranger must not make us
    //    read a 32 MiB body or reach the provider.
    //    Failures are limited per client address.
    let principal = gw.auth.authenticate(&head.headers, Some(peer.ip())).await?;
    tracing::Span::current().record("subject", principal.subject.as_str());

    // 2. Read the body, bounded: later stages (quota estimate, redaction, transcripts) need
    //    the whole request before anything leaves for the provider.
    let body = read_body(body, &head.headers, gw.body_max_bytes).await?;
    //    Compressed bodies are decoded here (bounded on the decoded size) and forwarded
    //    decoded: every later stage reads JSON.
    let body = crate::encoding::decode(body, &mut head.headers, gw.body_max_bytes)?;

    // 3. Meter and reserve: after authentication (budgets belong to principals), before
    //    anything leaves for the provider (nothing is spent unreserved). All buckets of the
    //    request are checked and held in one atomic step.
    let admission = match endpoint.metered_api() {
        Some(api) => Some(gw.metering.admit(&principal, api, body.clone()).await?),
        None => None,
    };
    let body = admission.as_ref().map_or(body, |a| a.body.clone());

    // 4. Redact: after the quota stage (a refused request needs no scan), before anything
    //    leaves for the provider. A body that cannot be read is refused, never forwarded
    //    unscanned. The request's policy picks rules, allowlist, on/off and restore.
    let policy = admission
        .as_ref()
        .map_or_else(|| gw.metering.policy_for(&principal), |a| a.policy.clone());
    let redacted = match &gw.redaction {
        Some(r) => r.redact(endpoint, policy.as_deref(), body, &gw.metrics)?,
        None => crate::redaction::Redacted::unscanned(body),
    };
    let body = redacted.body.clone();

    // 5. Begin the transcript record: after redaction (the recorder only ever sees the body
    //    as forwarded), before forwarding (the record times the whole exchange). Only a
    //    handle and `Bytes` clones here; parsing and writing happen on the writer thread.
    let mut tee = match (&gw.transcripts, &admission) {
        (Some(transcripts), Some(admission)) => transcripts.begin(TranscriptFacts {
            endpoint,
            headers: &head.headers,
            request_id: request.request_id,
            product: request.product,
            principal: &principal,
            model: &admission.hold.model,
            body: &body,
            scanned: redacted.scanned,
            redactions: &redacted.redactions,
            policy_mode: PolicyMode::of(policy.as_deref()),
            arrival: request.arrival,
            started_at: SystemTime::now()
                .checked_sub(request.arrival.elapsed())
                .unwrap_or_else(SystemTime::now),
        }),
        _ => None,
    };

    // 6. Forward: the body's bytes (changed only where a stage had to: max_tokens clamp,
    //    include_usage), the client's headers minus credentials and hop-by-hop headers, the
    //    provider key injected. Provider errors come back as ordinary responses, unchanged.
    let sent = Instant::now();
    let response = gw
        .upstreams
        .forward(Outbound {
            provider: endpoint.provider(),
            method: head.method,
            path: endpoint.path(),
            query: head.uri.query(),
            headers: &head.headers,
            body,
            stream_error_frame: Some(stream_error_frame(endpoint)),
        })
        .await;
    *upstream_wait = sent.elapsed();
    let response = match response.map_err(GatewayError::from) {
        Ok(response) => response,
        Err(e) => {
            // The provider was not reached or did not answer: still one record, no content.
            if let Some(tee) = tee.take() {
                tee.finish(TranscriptOutcome::refused(e.kind().status()));
            }
            return Err(e);
        }
    };

    // 7. Relay the response as it arrives; metered responses settle their reservation from
    //    the reported usage when the body ends or the client leaves, and complete their
    //    transcript record.
    let Some(admission) = admission else {
        return Ok(response.map(ResponseBody::Relay));
    };
    let status = response.status();
    let sse = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    if let Some(tee) = &mut tee {
        tee.response_started(sse);
    }
    let mut response = response.map(|relay| {
        ResponseBody::Observed(Box::new(crate::metering::Observed::new(
            relay,
            admission.hold,
            sse,
            status,
            gw.metrics.clone(),
            tee,
        )))
    });
    // Restore (policy opt-in) wraps Observed: metering and transcripts see the provider's
    // frames with placeholders; only the client gets the originals back.
    response = crate::restore::wrap(response, redacted.restore, endpoint, &gw.metrics);
    if let Some(remaining) = admission.remaining_micro_usd
        && let Ok(v) = format!("{}.{:06}", remaining / 1_000_000, remaining % 1_000_000).parse()
    {
        response
            .headers_mut()
            .insert("x-gateway-budget-remaining-usd", v);
    }
    Ok(response)
}

/// Reads the request body up to `max` bytes; a declared or actual larger body is a 413.
async fn read_body(body: Incoming, headers: &HeaderMap, max: usize) -> Result<Bytes, GatewayError> {
    let too_large = |size: Option<u64>| {
        let size = size.map_or_else(|| "more than".to_owned(), |n| format!("{n} bytes,"));
        GatewayError::new(
            ErrorKind::RequestTooLarge,
            format!(
                "the request body is {size} over this gateway's limit of {max} bytes; shorten the conversation (e.g. compact it) or attach smaller files"
            ),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(too_large(declared));
    }
    match Limited::new(body, max).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(too_large(None)),
        Err(e) => Err(GatewayError::new(
            ErrorKind::InvalidRequest,
            "the request body could not be read completely; retry the request",
        )
        .with_source(BodyReadError(e.to_string()))),
    }
}

/// The client's body stream failed while we read it.
#[derive(Debug, thiserror::Error)]
#[error("reading the request body: {0}")]
struct BodyReadError(String);

/// The SSE event a client sees if the provider's stream breaks between events, in the
/// client's own protocol.
fn stream_error_frame(endpoint: Endpoint) -> Bytes {
    // Static frames: built once, shared by every request (no allocation on the hot path).
    const ANTHROPIC: &str = "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"the connection to the model provider was lost mid-stream; retry the request\"}}\n\n";
    const RESPONSES: &str = "event: error\ndata: {\"type\":\"error\",\"code\":\"upstream_disconnected\",\"message\":\"the connection to the model provider was lost mid-stream; retry the request\",\"param\":null}\n\n";
    const CHAT: &str = "data: {\"error\":{\"message\":\"the connection to the model provider was lost mid-stream; retry the request\",\"type\":\"server_error\",\"param\":null,\"code\":\"upstream_disconnected\"}}\n\n";
    Bytes::from_static(match endpoint.provider() {
        Provider::Anthropic => ANTHROPIC.as_bytes(),
        Provider::OpenAi if endpoint == Endpoint::Responses => RESPONSES.as_bytes(),
        Provider::OpenAi => CHAT.as_bytes(),
    })
}

fn refusal(e: &GatewayError, provider: Provider, request_id: &str) -> Response<ResponseBody> {
    e.to_response(provider, request_id).map(ResponseBody::from)
}

fn log_refusal(e: &GatewayError) {
    let cause = std::error::Error::source(e).map(|s| {
        let mut chain = s.to_string();
        let mut next = s.source();
        while let Some(c) = next {
            chain.push_str(": ");
            chain.push_str(&c.to_string());
            next = c.source();
        }
        chain
    });
    let status = e.kind().status();
    if status.is_server_error() {
        tracing::warn!(
            kind = e.kind().as_label(),
            status = status.as_u16(),
            cause,
            "request failed"
        );
    } else if status != StatusCode::NOT_FOUND {
        tracing::info!(
            kind = e.kind().as_label(),
            status = status.as_u16(),
            cause,
            "request refused"
        );
    }
}
