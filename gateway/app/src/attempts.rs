//! Step 7 of the pipeline, the attempt loop ([`forward`]), and the words between its two
//! engines: what gateway-upstream's answer (or failure) looks like to gateway-resilience, and
//! the gateway's headers on what the client gets, and which target and key served
//! ([`Served`], for the outcome's consumers).

use gateway_core::{GatewayError, Served};
use gateway_resilience::{Observed, Phase, Plan, Transport, Verdict};
use gateway_upstream::{Answer, Held, Outbound, Pick, Relay, UpstreamError};
use http::{HeaderMap, HeaderName, HeaderValue, Response};

use crate::Gateway;

/// What the plan judges of one attempt's result. `body` is the held error body
/// ([`error_body`]).
pub(crate) fn observed<'a>(
    result: &'a Result<Answer, UpstreamError>,
    body: &'a [u8],
) -> Observed<'a> {
    match result {
        Ok(answer) => match answer.held() {
            Held::Committed => Observed::Committed,
            Held::ErrorBody { .. } => Observed::Status {
                status: answer.status().as_u16(),
                headers: answer.headers(),
                body,
            },
            Held::ErrorEvent(data) => Observed::ErrorEvent { data },
        },
        Err(e) => match e {
            // Nothing was sent: like a refused connection (retryable, not billed).
            UpstreamError::Connect { .. }
            | UpstreamError::NotConfigured { .. }
            | UpstreamError::Credentials { .. } => {
                Observed::Failed(Transport::Connect, Phase::Head)
            }
            UpstreamError::Timeout { .. } => Observed::Failed(Transport::Timeout, Phase::Head),
            UpstreamError::Stalled { .. } => Observed::Failed(Transport::Stall, Phase::Head),
            UpstreamError::Request { .. } => Observed::Failed(Transport::Broken, Phase::Head),
            UpstreamError::BrokeBeforeCommit { .. } => {
                Observed::Failed(Transport::Broken, Phase::BeforeCommit)
            }
            UpstreamError::Skipped { reason, .. } => Observed::Skipped(reason),
        },
    }
}

/// The held body of an error answer (empty for anything else).
pub(crate) fn error_body(result: &Result<Answer, UpstreamError>) -> bytes::Bytes {
    match result {
        Ok(answer) if matches!(answer.held(), Held::ErrorBody { .. }) => answer.held_body(),
        _ => bytes::Bytes::new(),
    }
}

/// `x-gateway-upstream` (the target that answered, or whose failure the client gets) and
/// `x-gateway-attempts` on what the client gets.
pub(crate) fn label(headers: &mut HeaderMap, target: &str, attempts: u32) {
    if let Ok(v) = HeaderValue::from_str(target) {
        headers.insert(UPSTREAM_HEADER, v);
    }
    headers.insert(ATTEMPTS_HEADER, HeaderValue::from(attempts));
}

/// The header naming the target that answered (a name, not parsed per request).
const UPSTREAM_HEADER: HeaderName = HeaderName::from_static("x-gateway-upstream");
/// The header counting the attempts made.
const ATTEMPTS_HEADER: HeaderName = HeaderName::from_static("x-gateway-attempts");

/// A request no target answered: the gateway's own 502/504 (or a refusal before any attempt),
/// with the target whose failure the client gets (the first) when attempts were made.
#[derive(Debug)]
pub(crate) struct Unanswered {
    pub(crate) error: GatewayError,
    /// For [`label`] and the transcript record: the failing target, its key, the attempts.
    pub(crate) served: Option<Served>,
}

impl From<GatewayError> for Unanswered {
    fn from(error: GatewayError) -> Self {
        Self {
            error,
            served: None,
        }
    }
}

/// An answer that committed: the response, the index of the target that gave it (for its
/// prices) and, when the attempt loop ran, which target and key served.
#[derive(Debug)]
pub(crate) struct Forwarded {
    pub(crate) response: Response<Relay>,
    pub(crate) target: usize,
    pub(crate) served: Option<Served>,
}

/// Step 7's attempt loop: gateway-resilience picks the target and key and judges each
/// answer; gateway-upstream sends and holds it until it commits. The first failure is kept:
/// when every target failed, the client gets it (the primary's error, bytes unchanged).
pub(crate) async fn forward(
    gw: &Gateway,
    plan: Option<Plan<'_>>,
    out: &Outbound<'_>,
    error_frame: Option<bytes::Bytes>,
) -> Result<Forwarded, Unanswered> {
    let Some(mut plan) = plan else {
        let answer = gw
            .upstreams
            .attempt(out, Pick { target: 0, key: 0 })
            .await
            .map_err(GatewayError::from)?;
        return Ok(Forwarded {
            response: answer.into_response(error_frame),
            target: 0,
            served: None,
        });
    };
    let names = |target: usize, key: usize| {
        gw.resilience(out.provider)
            .map(|r| (r.target_name(target).to_owned(), r.key_id(target, key)))
            .unwrap_or_default()
    };
    let mut first_failure = None;
    let mut served = None;
    // Targets of the attempts that failed after their request was sent, in order.
    let mut possibly_billed = Vec::new();
    while let Some(attempt) = plan.next_attempt() {
        // The backoff or the provider's `retry-after` (bounded by `retry_after_max_ms`).
        if !attempt.delay.is_zero() {
            tokio::time::sleep(attempt.delay).await;
        }
        let pick = Pick {
            target: attempt.target,
            key: attempt.key,
        };
        let result = gw.upstreams.attempt(out, pick).await;
        let body = error_body(&result);
        let seen = observed(&result, &body);
        let billed = seen.possibly_billed().is_some();
        let verdict = plan.judge(&attempt, seen);
        if verdict != Verdict::Serve && billed {
            possibly_billed.push(names(attempt.target, attempt.key).0);
        }
        if verdict != Verdict::Serve {
            tracing::info!(
                target_name = gw
                    .resilience(out.provider)
                    .map(|r| r.target_name(attempt.target)),
                key_id = gw
                    .resilience(out.provider)
                    .map(|r| r.key_id(attempt.target, attempt.key)),
                status = result.as_ref().ok().map(|a| a.status().as_u16()),
                error = result
                    .as_ref()
                    .err()
                    .map(gateway_upstream::UpstreamError::as_label),
                "upstream attempt failed"
            );
        }
        match verdict {
            Verdict::Serve => {
                served = Some((attempt, result));
                break;
            }
            Verdict::Again => {
                first_failure.get_or_insert((attempt, result));
            }
            Verdict::GiveUp => {
                first_failure.get_or_insert((attempt, result));
                break;
            }
        }
    }
    let Some((attempt, result)) = served.or(first_failure) else {
        return Err(plan.unavailable().into());
    };
    let (upstream, key_id) = names(attempt.target, attempt.key);
    let served = Served {
        upstream,
        key_id: Some(key_id),
        attempts: plan.attempts(),
        possibly_billed,
    };
    let mut answer = match result {
        Ok(answer) => answer,
        Err(e) => {
            return Err(Unanswered {
                error: e.into(),
                served: Some(served),
            });
        }
    };
    label(answer.headers_mut(), &served.upstream, served.attempts);
    Ok(Forwarded {
        response: answer.into_response(error_frame),
        target: attempt.target,
        served: Some(served),
    })
}
