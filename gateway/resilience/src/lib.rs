//! Upstream resilience decisions: which target and key an attempt uses, what its result
//! means, whether and when to try again. Pure decisions over shared state; no I/O.
//!
//! Owns:
//! - [`classify`]: an attempt's result ([`Observed`]) → [`Class`] (success, retry, rate-limited
//!   key, revoked key, terminal), and the provider's waits (`retry-after-ms`, `retry-after`,
//!   `anthropic-ratelimit-*-reset`);
//! - [`Pool`]: one target's keys (weights, cooldowns, revocations), ids only;
//! - [`Budget`]: same-target retries as a share of recent requests;
//! - [`Breaker`]: the circuit breaker of one (target, model), kept here per target and
//!   model label (a price-table canonical id or `other`, so the set is bounded);
//! - [`backoff`]: the wait before a same-target retry;
//! - [`Plan`]: one request's attempt loop state (target, keys tried, retries used), built by
//!   [`Resilience::plan`] from the request's `x-gateway-fallback` /
//!   `x-posthog-use-bedrock-fallback` and `x-stainless-retry-count` headers;
//! - the resilience metrics: attempts, fallbacks, key cooldowns, budget exhaustion, breaker
//!   states and transitions.
//!
//! Invariants:
//! - a wait comes only from the provider's signals or the configured backoff: no invented
//!   cooldown; a `retry-after` beyond `retry_after_max_ms` moves on instead of waiting;
//! - secrets never reach this crate: keys are indexes and ids;
//! - a request whose client already retried (`x-stainless-retry-count` > 0) gets no
//!   same-target retry; key rotation and fallback still apply;
//! - a breaker only reroutes: an open one sends a request to the next target, but the last
//!   target a request may use is tried whatever its breaker says.
//!
//! Not here: sending (gateway-upstream does it with the key at the index picked here), holding
//! a stream until it commits (gateway-upstream), the loop itself (the app's pipeline).

pub mod backoff;
mod breaker;
mod budget;
mod classify;
mod plan;
mod pool;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::Instant,
};

use gateway_config::{Retry, Upstream};
use gateway_core::{ErrorKind, GatewayError};
use gateway_metrics::Metrics;
use http::HeaderMap;

pub use breaker::{Admit, BREAKER_BUCKETS, BREAKER_PROBES_IN_FLIGHT, Breaker, Health, State};
pub use budget::{BUDGET_MIN_RETRIES, BUDGET_WINDOW, Budget};
pub use classify::{Class, Observed, Phase, Transport, classify, cooldown, retry_after};
pub use plan::{Attempt, Plan, Verdict};
pub use pool::{Exhausted, Pool};

/// The per-call opt-in/opt-out header for fallback.
pub const FALLBACK_HEADER: &str = "x-gateway-fallback";
/// Its alias, sent by clients built for PostHog's gateway.
pub const FALLBACK_HEADER_ALIAS: &str = "x-posthog-use-bedrock-fallback";
/// Sent by the Stainless SDKs: how many times the client already retried this request.
pub const CLIENT_RETRY_HEADER: &str = "x-stainless-retry-count";

#[derive(Debug)]
struct TargetState {
    name: String,
    pool: Mutex<Pool>,
    /// By model label: bounded by the price table's canonical ids plus `other`.
    breakers: Mutex<HashMap<String, Breaker>>,
}

/// The shared resilience state of one API family's upstream.
#[derive(Debug)]
pub struct Resilience {
    targets: Vec<TargetState>,
    retry: Retry,
    budget: Mutex<Budget>,
    metrics: Arc<Metrics>,
}

/// One breaker as `/readyz` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakerReport {
    /// The target's name.
    pub target: String,
    /// The model label.
    pub model: String,
    /// Its state now.
    pub state: State,
}

impl Resilience {
    /// The targets of `upstream` in order, each with its key pool.
    pub fn new(upstream: &Upstream, retry: &Retry, metrics: Arc<Metrics>) -> Self {
        Self {
            targets: upstream
                .targets()
                .map(|t| TargetState {
                    name: t.name.clone(),
                    pool: Mutex::new(Pool::new(t.keys.iter().map(|k| (k.id.as_str(), k.weight)))),
                    breakers: Mutex::default(),
                })
                .collect(),
            retry: retry.clone(),
            budget: Mutex::new(Budget::new(retry.budget_percent, Instant::now())),
            metrics,
        }
    }

    /// The name of target `index` (for `x-gateway-upstream`).
    pub fn target_name(&self, index: usize) -> &str {
        self.targets.get(index).map_or("", |t| t.name.as_str())
    }

    /// The id of key `key` of target `target` (for logs).
    pub fn key_id(&self, target: usize, key: usize) -> String {
        self.targets
            .get(target)
            .map(|t| lock(&t.pool).id(key).to_owned())
            .unwrap_or_default()
    }

    /// The attempt plan of one request; refuses an invalid fallback header.
    pub fn plan(&self, headers: &HeaderMap) -> Result<Plan<'_>, GatewayError> {
        let fallback = fallback_choice(headers)?.unwrap_or(true);
        let client_retried = headers
            .get(CLIENT_RETRY_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .is_some_and(|n| n > 0);
        lock(&self.budget).request(Instant::now());
        Ok(Plan::new(self, fallback, !client_retried))
    }
}

impl Resilience {
    /// Every breaker that has seen traffic, in target order then by model, with its state at
    /// `now`.
    pub fn breakers(&self, now: Instant) -> Vec<BreakerReport> {
        let mut out = Vec::new();
        for t in &self.targets {
            let breakers = lock(&t.breakers);
            let mut models: Vec<_> = breakers.iter().collect();
            models.sort_by(|a, b| a.0.cmp(b.0));
            out.extend(models.into_iter().map(|(model, b)| BreakerReport {
                target: t.name.clone(),
                model: model.clone(),
                state: b.state(now),
            }));
        }
        out
    }

    /// Sets `breaker_state` to each breaker's state at `now` (an open breaker whose interval
    /// is over reads half-open before the next request enters it), before a scrape.
    pub fn sync_breaker_gauges(&self, now: Instant) {
        for b in self.breakers(now) {
            self.metrics
                .resilience
                .breaker_state
                .with_label_values(&[b.target.as_str(), b.model.as_str()])
                .set(b.state.gauge());
        }
    }

    /// Asks target `target`'s breaker for `model` whether a request may use it. `None` when
    /// breakers are off.
    fn admit(&self, target: usize, model: &str, now: Instant) -> Option<Admit> {
        let settings = self.retry.breaker?;
        let t = self.targets.get(target)?;
        let mut breakers = lock(&t.breakers);
        // Looked up by `&str` first: no allocation once the model has been seen.
        if !breakers.contains_key(model) {
            self.metrics
                .resilience
                .breaker_state
                .with_label_values(&[t.name.as_str(), model])
                .set(State::Closed.gauge());
            breakers.insert(model.to_owned(), Breaker::new(settings, now));
        }
        let (admit, entered) = breakers.get_mut(model)?.admit(now);
        self.entered(t, model, entered);
        Some(admit)
    }

    /// Records an attempt's health with the breaker that admitted it; the state entered.
    fn record(
        &self,
        target: usize,
        model: &str,
        admit: Admit,
        health: Health,
        now: Instant,
    ) -> Option<State> {
        let t = self.targets.get(target)?;
        let entered = lock(&t.breakers).get_mut(model)?.record(admit, health, now);
        self.entered(t, model, entered);
        entered
    }

    /// Frees a probe's slot without a verdict.
    fn release(&self, target: usize, model: &str, admit: Admit) {
        if let Some(t) = self.targets.get(target)
            && let Some(b) = lock(&t.breakers).get_mut(model)
        {
            b.release(admit);
        }
    }

    fn entered(&self, t: &TargetState, model: &str, entered: Option<State>) {
        let Some(state) = entered else { return };
        let m = &self.metrics.resilience;
        m.breaker_state
            .with_label_values(&[t.name.as_str(), model])
            .set(state.gauge());
        m.breaker_transitions_total
            .with_label_values(&[t.name.as_str(), state.as_label()])
            .inc();
        if state == State::Open {
            tracing::warn!(target_name = %t.name, model, "circuit breaker opened: requests skip this target");
        } else {
            tracing::info!(target_name = %t.name, model, state = state.as_label(), "circuit breaker changed state");
        }
    }
}

/// `x-gateway-fallback` (or its alias): `Some(true|false)`, `None` when absent; any other
/// value is refused with a 400 that says what is accepted.
pub fn fallback_choice(headers: &HeaderMap) -> Result<Option<bool>, GatewayError> {
    let mut choice = None;
    for name in [FALLBACK_HEADER, FALLBACK_HEADER_ALIAS] {
        for value in headers.get_all(name) {
            let parsed = match value.to_str().map(str::trim) {
                Ok(v) if v.eq_ignore_ascii_case("true") => true,
                Ok(v) if v.eq_ignore_ascii_case("false") => false,
                _ => {
                    return Err(GatewayError::new(
                        ErrorKind::InvalidRequest,
                        format!(
                            "the {name} header must be `true` or `false` (got `{}`); it turns this request's fallback to another upstream on or off, and may be left out (fallback is on by default)",
                            String::from_utf8_lossy(value.as_bytes())
                        ),
                    ));
                }
            };
            if choice.is_some_and(|c| c != parsed) {
                return Err(GatewayError::new(
                    ErrorKind::InvalidRequest,
                    format!(
                        "the {FALLBACK_HEADER} and {FALLBACK_HEADER_ALIAS} headers disagree; send one of them, `true` or `false`"
                    ),
                ));
            }
            choice = Some(parsed);
        }
    }
    Ok(choice)
}

/// Locks, ignoring poisoning: every critical section leaves the data consistent.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn with(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn the_fallback_header_and_its_alias_take_true_or_false_only() {
        assert_eq!(fallback_choice(&HeaderMap::new()).unwrap(), None);
        assert_eq!(
            fallback_choice(&with(&[(FALLBACK_HEADER, "false")])).unwrap(),
            Some(false)
        );
        assert_eq!(
            fallback_choice(&with(&[(FALLBACK_HEADER_ALIAS, "TRUE")])).unwrap(),
            Some(true)
        );
        let e = fallback_choice(&with(&[(FALLBACK_HEADER_ALIAS, "yes")])).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidRequest);
        assert!(e.message().contains("`true` or `false`"), "{}", e.message());
        assert!(e.message().contains("`yes`"), "{}", e.message());
        let both = with(&[(FALLBACK_HEADER, "true"), (FALLBACK_HEADER_ALIAS, "false")]);
        assert!(fallback_choice(&both).is_err());
    }
}
