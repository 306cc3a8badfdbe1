//! The families of upstream resilience: attempts, fallbacks, key cooldowns, retry budget,
//! circuit breakers, and what adapting a request to a target cost (stripped parameters,
//! event-stream errors).
//!
//! Labels: `target` and `from` are target names from the config (`to` too, except on
//! breaker transitions, where it is the state entered), `model` a price-table canonical id or
//! `other`, `key` a key's configured id (never the key), `outcome`, `phase`, `reason` and
//! `kind` closed sets (gateway-resilience names them).

use prometheus::{IntCounter, IntCounterVec, IntGaugeVec, Opts, Registry};

use crate::{Error, NAMESPACE};

/// Handles of the resilience families.
#[derive(Debug, Clone)]
pub struct ResilienceMetrics {
    /// `upstream_attempts_total{target,model,outcome,phase}`: every call to a target, by how it
    /// ended and in which phase that was decided.
    pub attempts_total: IntCounterVec,
    /// `upstream_fallbacks_total{from,to,reason}`: a request moved to the next target.
    pub fallbacks_total: IntCounterVec,
    /// `upstream_key_cooldowns_total{target,key,kind}`: a key cooled (`cooling`, until the
    /// provider's reset) or taken out (`revoked`).
    pub key_cooldowns_total: IntCounterVec,
    /// `retry_budget_exhausted_total`: same-target retries refused by the retry budget.
    pub retry_budget_exhausted_total: IntCounter,
    /// `upstream_params_stripped_total{target,param}`: request fields (and beta values) a
    /// target does not take, removed before sending; `param` from a closed set.
    pub params_stripped_total: IntCounterVec,
    /// `upstream_eventstream_decode_errors_total{target}`: Bedrock event-stream frames that
    /// could not be decoded (bad CRC, oversized, bad payload).
    pub eventstream_decode_errors_total: IntCounterVec,
    /// `upstream_possibly_billed_total{target,reason}`: attempts that failed after their
    /// request was sent (a stall, a timeout, a connection or stream broken after sending, an
    /// error event before the first content): the provider may have billed them though the
    /// client was served elsewhere or not at all.
    pub possibly_billed_total: IntCounterVec,
    /// `breaker_state{target,model}`: 0 closed, 1 half-open, 2 open; `model` a price-table
    /// canonical id or `other`.
    pub breaker_state: IntGaugeVec,
    /// `breaker_transitions_total{target,to}`: a breaker entered `closed`, `half_open` or
    /// `open`.
    pub breaker_transitions_total: IntCounterVec,
}

impl ResilienceMetrics {
    pub(crate) fn register(registry: &Registry) -> Result<Self, Error> {
        let opts = |name: &str, help: &str| Opts::new(name, help).namespace(NAMESPACE);
        let counter_vec = |name: &str, help: &str, labels: &[&str]| {
            let c = IntCounterVec::new(opts(name, help), labels)?;
            registry.register(Box::new(c.clone()))?;
            Ok::<_, Error>(c)
        };
        let retry_budget_exhausted_total = IntCounter::with_opts(opts(
            "retry_budget_exhausted_total",
            "Same-target retries refused because the retry budget was spent.",
        ))?;
        registry.register(Box::new(retry_budget_exhausted_total.clone()))?;
        let breaker_state = IntGaugeVec::new(
            opts(
                "breaker_state",
                "Circuit breaker of an upstream target and model: 0 closed, 1 half-open, 2 open.",
            ),
            &["target", "model"],
        )?;
        registry.register(Box::new(breaker_state.clone()))?;
        Ok(Self {
            attempts_total: counter_vec(
                "upstream_attempts_total",
                "Calls to an upstream target by model (the price table's id, or other), outcome and the phase it was decided in.",
                &["target", "model", "outcome", "phase"],
            )?,
            fallbacks_total: counter_vec(
                "upstream_fallbacks_total",
                "Requests moved from one upstream target to the next, by reason.",
                &["from", "to", "reason"],
            )?,
            key_cooldowns_total: counter_vec(
                "upstream_key_cooldowns_total",
                "Provider keys cooled until the provider's reset, or revoked, by key id.",
                &["target", "key", "kind"],
            )?,
            retry_budget_exhausted_total,
            params_stripped_total: counter_vec(
                "upstream_params_stripped_total",
                "Request fields and beta values removed because the target does not take them.",
                &["target", "param"],
            )?,
            eventstream_decode_errors_total: counter_vec(
                "upstream_eventstream_decode_errors_total",
                "AWS event-stream frames from a Bedrock target that could not be decoded.",
                &["target"],
            )?,
            possibly_billed_total: counter_vec(
                "upstream_possibly_billed_total",
                "Upstream attempts that failed after their request was sent, which the provider may bill.",
                &["target", "reason"],
            )?,
            breaker_state,
            breaker_transitions_total: counter_vec(
                "breaker_transitions_total",
                "Circuit breaker transitions of an upstream target, by the state entered.",
                &["target", "to"],
            )?,
        })
    }
}
