//! The words between the two engines of the attempt loop: what gateway-upstream's answer (or
//! failure) looks like to gateway-resilience, and the gateway's headers on the answer served.
//! The loop itself is in `pipeline.rs`.

use gateway_core::GatewayError;
use gateway_resilience::{Observed, Phase, Transport};
use gateway_upstream::{Answer, Held, UpstreamError};
use http::{HeaderMap, HeaderValue};

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
            UpstreamError::Connect { .. } | UpstreamError::NotConfigured { .. } => {
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
        headers.insert("x-gateway-upstream", v);
    }
    headers.insert("x-gateway-attempts", HeaderValue::from(attempts));
}

/// A request no target answered: the gateway's own 502/504 (or a refusal before any attempt),
/// with the labels for [`label`] when attempts were made.
#[derive(Debug)]
pub(crate) struct Unanswered {
    pub(crate) error: GatewayError,
    /// The target whose failure the client gets (the first), and the attempts made.
    pub(crate) label: Option<(String, u32)>,
}

impl From<GatewayError> for Unanswered {
    fn from(error: GatewayError) -> Self {
        Self { error, label: None }
    }
}
