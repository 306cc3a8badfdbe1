//! The request lifecycle, both halves, in order. Generic concerns (request id, sensitive
//! headers, tracing) sit in `stack.rs`; everything that depends on who is calling and what
//! they ask for is here, one stage per step, each with the reason it sits where it does:
//!
//! resolve route → authenticate (and plan the attempts) → read body → resolve policy → reserve
//! → redact → begin transcript → forward (the attempt loop: retries and fallback until an
//! answer commits) → response chain (meter + tee → restore) → [`conclude`]: one [`Outcome`]
//! fanned out to metrics, the transcript, the admin API's recent requests and the quota store
//! (settlement and the spend ledger).
//!
//! An admin's block is checked right after authentication (before the body is read); admin
//! overrides take effect in the reserve stage, through the same precedence rule the admin
//! API shows.

use std::time::{Duration, SystemTime};

use gateway_capture::{PolicyMode, RequestFacts as TranscriptFacts};
use gateway_core::{ErrorKind, GatewayError, MicroUsd, Outcome, Provider, sse};
use gateway_metrics::Metrics;
use gateway_redaction::Redacted;
use gateway_upstream::Outbound;
use http::{Request, Response, StatusCode, header};
use hyper::body::Incoming;
use tokio::time::Instant;

use crate::{
    Gateway, ResponseBody, attempts,
    body::{InFlight, Measured},
    exchange::{Exchange, Open, RecentStart},
    route_meters::RouteLabel,
    routes::{self, Endpoint, Resolved},
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
    let mut in_flight = InFlight::start(gw.route_meters.clone(), Instant::now());
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
        Resolved::Probe => RouteLabel::Probe,
        Resolved::Route { endpoint, .. } | Resolved::WrongMethod(endpoint) => {
            RouteLabel::Endpoint(*endpoint)
        }
        Resolved::NotFound => RouteLabel::NotFound,
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
    match proxy(gw, request, req, in_flight, upstream_wait).await {
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
    in_flight: &mut InFlight,
    upstream_wait: &mut Duration,
) -> Result<Response<ResponseBody>, GatewayError> {
    let RequestContext { endpoint, peer, .. } = request;
    let (mut head, body) = req.into_parts();

    // 1. Authenticate first: budgets belong to principals, and a stranger must not make us
    //    read a 32 MiB body or reach the provider. Failures are limited per client address.
    let principal = gw.auth.authenticate(&head.headers, Some(peer.ip())).await?;
    tracing::Span::current().record("subject", principal.subject.as_str());
    //    An admin's block: refused before the body is read, on every replica within a sync.
    if let Some(block) = gw
        .runtime
        .snapshot()
        .blocked(&principal, gateway_runtime_state::now_ms())
    {
        return Err(GatewayError::new(
            ErrorKind::PermissionDenied,
            format!(
                "this {} is blocked by the gateway's administrators (block {}); ask them to lift it",
                block.kind.as_str(),
                block.id
            ),
        ));
    }
    //    A provider this gateway has no key for: a clear 503 before the body is read.
    if !gw.upstreams.has(endpoint.provider()) {
        return Err(not_configured(gw, endpoint.provider()));
    }
    //    The attempt plan, before the body is read: a bad `x-gateway-fallback` is a 400 that
    //    costs nothing. Each provider's upstream has its own targets, pools and budget.
    let mut plan = match gw.resilience(endpoint.provider()) {
        Some(r) => Some(r.plan(&head.headers)?),
        None => None,
    };

    // 2. Read the body, bounded: later stages (quota estimate, redaction, transcripts) need
    //    the whole request before anything leaves for the provider. Compressed bodies are
    //    decoded here (bounded on the decoded size) and forwarded decoded: every later stage
    //    reads JSON. Its bytes are reserved in the shared body budget until the response
    //    ends (the transcript record and the upstream request hold the body until then).
    let (body, mut permit) = gw.intake.read(body, &head.headers).await?;
    let body = gw.intake.decode(body, &mut head.headers, &mut permit);
    in_flight.hold_body(permit);
    let body = body?;

    // 3. Resolve the policy once: quota, redaction and transcripts all follow the policy in
    //    force now, even if a reload swaps the set while the response streams.
    let policy = gw.policies.select(&principal);

    // 4. Meter and reserve: before anything leaves for the provider (nothing is spent
    //    unreserved). All buckets of the request are checked and held in one atomic step;
    //    the body may come back with `max_tokens` clamped or usage requested.
    let admission = match endpoint.metered_api() {
        Some(api) => Some(
            gw.metering
                .admit(&principal, api, policy.as_deref(), body.clone())
                .await?,
        ),
        None => None,
    };
    let body = admission.as_ref().map_or(body, |a| a.body.clone());
    //    The model is known now: the targets' circuit breakers for it join the plan (by its
    //    price-table id, so their number is bounded). Unmetered routes are not broken.
    if let (Some(plan), Some(admission)) = (plan.as_mut(), &admission) {
        plan.for_model(admission.hold.model_label());
    }

    // 5. Redact: after the quota stage (a refused request needs no scan), before anything
    //    leaves for the provider. A body that cannot be read is refused, never forwarded
    //    unscanned. The request's policy picks rules, allowlist, on/off and restore; the
    //    principal's organisation keys the placeholders.
    let redacted = match (&gw.redaction, endpoint.body_api()) {
        (Some(r), Some(api)) => r.redact(
            api,
            policy.as_deref(),
            principal.org.as_deref(),
            body,
            &gw.metrics,
        )?,
        _ => Redacted::unscanned(body),
    };

    // 6. Begin the transcript record: after redaction (the recorder only ever sees the body
    //    as forwarded), before forwarding (the record times the whole exchange). Only a
    //    handle and `Bytes` clones here; parsing and writing happen on the writer thread.
    let mut tee = match (&gw.transcripts, &admission, endpoint.metered_api()) {
        (Some(transcripts), Some(admission), Some(api)) => transcripts.begin(TranscriptFacts {
            api,
            headers: &head.headers,
            request_id: request.request_id,
            product: request.product,
            principal: &principal,
            model: admission.hold.model(),
            body: &redacted.body,
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

    // 7. Forward: the body's bytes (changed only where a stage had to: max_tokens clamp,
    //    include_usage, redacted secrets), the client's headers minus credentials and
    //    hop-by-hop headers, the picked target's key injected. Until an answer commits (its
    //    head; a stream's first content event) nothing reached the client, so a failure is
    //    retried or falls back (`attempts::forward`); the reservation stays held across attempts and
    //    only the answer served is metered. Provider errors come back unchanged.
    let sent = Instant::now();
    let out = Outbound {
        provider: endpoint.provider(),
        method: head.method,
        path: endpoint.path(),
        query: head.uri.query(),
        headers: &head.headers,
        body: redacted.body,
    };
    let error_frame = endpoint.body_api().map(sse::error_frame);
    let response = attempts::forward(gw, plan, &out, error_frame).await;
    *upstream_wait = sent.elapsed();
    let response = match response {
        Ok(response) => response,
        Err(attempts::Unanswered { error, served }) => {
            // The provider was not reached or did not answer: still one record, no content
            // (with the attempts that may have been billed); the hold, dropped, releases its
            // reservation.
            if let Some(tee) = tee.take() {
                tee.finish(&Outcome::unanswered(error.kind().status()), served.as_ref());
            }
            let Some(served) = served else {
                return Err(error);
            };
            // Attempts were made: the 502/504 says which target failed and how often we tried.
            log_refusal(&error);
            let mut r = refusal(&error, endpoint.provider(), request.request_id);
            attempts::label(r.headers_mut(), &served.upstream, served.attempts);
            return Ok(r);
        }
    };
    let attempts::Forwarded {
        response,
        target,
        served,
    } = response;

    // 8. The response chain. Free routes are relayed as they are. A metered response is
    //    relayed as it arrives through its `Exchange` (every frame to the transcript tee as
    //    the provider sent it, then the usage meter; the outcome at its end, see
    //    `conclude`), then restored for the client when the policy restores: metering and
    //    transcripts see placeholders, only the client sees originals.
    let (Some(mut admission), Some(api)) = (admission, endpoint.metered_api()) else {
        return Ok(response.map(ResponseBody::Relay));
    };
    //    The serving target's prices: the reservation was made at the primary's; a fallback
    //    with its own table settles at its price for the model id it was sent.
    let model = admission.hold.model().to_owned();
    let target_model = gw.upstreams.model_id(endpoint.provider(), target, &model);
    gw.metering
        .served_by(&mut admission.hold, target, target_model);
    let (status, sse) = (response.status(), sse::is_event_stream(response.headers()));
    if let Some(tee) = &mut tee {
        tee.response_started(sse);
    }
    let open = Open {
        hold: admission.hold,
        tee,
        recent: RecentStart {
            ring: gw.recent.clone(),
            at: SystemTime::now()
                .checked_sub(request.arrival.elapsed())
                .unwrap_or_else(SystemTime::now),
            arrival: request.arrival,
            request_id: request.request_id.to_owned(),
            session: gw
                .session_header
                .as_ref()
                .and_then(|name| head.headers.get(name))
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            subject: principal.subject.clone(),
            org: principal.org.clone(),
            api: api.as_label(),
            provider: endpoint.provider().as_label(),
        },
        served,
    };
    let mut response = gateway_redaction::restore(
        response.map(|relay| Exchange::new(relay, status, sse, open, gw.metrics.clone())),
        redacted.restore,
        api,
        &gw.metrics,
    )
    .map(|body| ResponseBody::Exchange(Box::new(body)));
    if let Some(remaining) = admission.remaining_micro_usd
        && let Ok(v) = MicroUsd(remaining).to_string().parse()
    {
        response
            .headers_mut()
            .insert("x-gateway-budget-remaining-usd", v);
    }
    Ok(response)
}

/// The end of every metered exchange (its body ended, failed, or the client left): the one
/// outcome, with the target and key that served, goes to metrics, to the transcript record,
/// to the admin API's recent requests, and to the quota store, which settles the reservation
/// (at the serving target's prices, chosen when it served) and logs it.
pub(crate) fn conclude(open: Open, outcome: &Outcome, metrics: &Metrics) {
    let Open {
        hold,
        tee,
        recent,
        served,
    } = open;
    let served = served.as_ref();
    recent.finish(hold.model(), outcome, served);
    metrics.settled(
        hold.model_label(),
        hold.org(),
        outcome.usage,
        outcome.cost_micro_usd,
    );
    if let Some(tee) = tee {
        tee.finish(outcome, served);
    }
    hold.settle(outcome, served);
}

/// The answer of a route whose provider has no upstream: which variable the operator sets.
fn not_configured(gw: &Gateway, provider: Provider) -> GatewayError {
    let name = match provider {
        Provider::Anthropic => "Anthropic",
        Provider::OpenAi => "OpenAI",
    };
    let fix = match gw.keyless.iter().find(|k| k.name == provider.as_label()) {
        Some(k) => format!(
            "set {} on the gateway and restart it (upstreams.{}.api_key_env)",
            k.key_env, k.name
        ),
        None => format!(
            "add an [upstreams.{}] section with its key to the gateway's config",
            provider.as_label()
        ),
    };
    GatewayError::new(
        ErrorKind::NotConfigured,
        format!(
            "this gateway has no {name} upstream configured; {fix}; or use a model of a configured provider"
        ),
    )
}

fn refusal(e: &GatewayError, provider: Provider, request_id: &str) -> Response<ResponseBody> {
    e.to_response(provider, request_id).map(ResponseBody::from)
}

fn log_refusal(e: &GatewayError) {
    let cause = std::error::Error::source(e).map(|s| gateway_core::ErrorChain(s).to_string());
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
