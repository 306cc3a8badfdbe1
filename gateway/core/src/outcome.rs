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
