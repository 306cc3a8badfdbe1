//! [`Outcome`]: how one proxied exchange ended.

use crate::Usage;

/// How a metered exchange ended: computed once when the response body ends, fails or is
/// dropped, then handed to every consumer (quota settlement, metrics, the transcript record)
/// so they cannot disagree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The status sent to the client (the provider's, or the gateway's own refusal).
    pub status: u16,
    /// Whether the provider's response reached its end (a stream's final event, a whole
    /// JSON body).
    pub complete: bool,
    /// Tokens to charge: as reported, the input estimate when nothing was reported, zero for
    /// a provider error.
    pub usage: Usage,
    /// `usage` is the gateway's estimate, not the provider's report.
    pub usage_estimated: bool,
    /// `usage` at the model's prices, micro-USD.
    pub cost_micro_usd: u64,
}

impl Outcome {
    /// An exchange that got no provider response (unreachable, timed out): nothing to charge
    /// but the request itself.
    pub fn unanswered(status: http::StatusCode) -> Self {
        Self {
            status: status.as_u16(),
            complete: false,
            usage: Usage::default(),
            usage_estimated: false,
            cost_micro_usd: 0,
        }
    }
}

/// Which target and key served a metered exchange, from the attempt loop: what the transcript
/// record, the admin API's recent requests and the settlement log say beside the [`Outcome`].
/// When no target answered, the target and key whose failure the client got. Names and ids
/// only, never a key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Served {
    /// The target's name (as in `x-gateway-upstream`).
    pub upstream: String,
    /// The id of the key it was sent with, safe to log; `None` when not known (an upstream
    /// without a key pool).
    pub key_id: Option<String>,
    /// Attempts made (as in `x-gateway-attempts`).
    pub attempts: u32,
    /// The targets of earlier attempts that failed after their request was sent (the provider
    /// may have billed them), one entry per attempt, in order.
    pub possibly_billed: Vec<String>,
}
