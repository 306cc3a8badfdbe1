//! [`Plan`]: one request's attempt loop. The pipeline asks [`Plan::next_attempt`] for an attempt,
//! sends it, and hands what it observed to [`Plan::judge`], until the verdict is to serve
//! that answer or to give up (the client then gets the primary's original failure).
//!
//! Order: a target's keys are picked by weight among those not tried yet for this request and
//! not cooling; a retryable failure retries the same target up to `retries_per_target` times
//! (after the backoff, within the retry budget, unless the client already retried); a
//! rate-limited or revoked key rotates to another key; with none left, or retries spent, the
//! next target (when fallback is on).
//!
//! Breakers: once the model is known ([`Plan::for_model`]), each target's breaker for it is
//! asked once per request as the plan reaches that target. An open one sends the request on
//! to the next target (reason `breaker_open`), unless this is the last target the request may
//! use; a failure that opens it ends the same-target retries. Each attempt's health goes back
//! to the breaker; a probe's slot is freed when its request ends without a verdict.

use std::time::{Duration, Instant, SystemTime};

use gateway_core::{ErrorKind, GatewayError};

use crate::{
    Admit, Class, Exhausted, Health, Observed, Phase, Resilience, State, backoff, classify, lock,
};

/// One attempt to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempt {
    /// Index of the target (0 is the primary).
    pub target: usize,
    /// Index of the key in the target's pool.
    pub key: usize,
    /// Wait this long before sending (backoff or the provider's `retry-after`).
    pub delay: Duration,
}

/// What to do with an attempt's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Relay this answer to the client.
    Serve,
    /// Ask [`Plan::next_attempt`] for another attempt (none left: give up).
    Again,
    /// Stop: the client gets the first failure (the primary's).
    GiveUp,
}

/// One request's state across attempts.
#[derive(Debug)]
pub struct Plan<'a> {
    r: &'a Resilience,
    fallback: bool,
    may_retry: bool,
    target: usize,
    retries: u32,
    tried: Vec<usize>,
    attempts: u32,
    delay: Duration,
    /// Why the current target is being left, for `fallbacks_total{reason}`.
    leaving: &'static str,
    /// Why the primary had no key, when it had none.
    primary_exhausted: Option<Exhausted>,
    /// The model label the breakers are kept by; `None`: breakers are not consulted.
    model: Option<String>,
    /// What the current target's breaker said (`None`: not asked yet).
    admitted: Option<Admit>,
}

impl<'a> Plan<'a> {
    pub(crate) fn new(r: &'a Resilience, fallback: bool, may_retry: bool) -> Self {
        Self {
            r,
            fallback,
            may_retry,
            target: 0,
            retries: 0,
            tried: Vec::new(),
            attempts: 0,
            delay: Duration::ZERO,
            leaving: "no_key",
            primary_exhausted: None,
            model: None,
            admitted: None,
        }
    }

    /// The request's model label (a price-table canonical id or `other`): the targets'
    /// breakers for it decide from here on.
    pub fn for_model(&mut self, model: &str) {
        self.model = Some(model.to_owned());
    }

    /// Attempts handed out so far.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The next attempt, or `None` when every target allowed is spent.
    pub fn next_attempt(&mut self) -> Option<Attempt> {
        loop {
            if self.target > 0 && !self.fallback {
                return None;
            }
            let state = self.r.targets.get(self.target)?;
            if self.admitted.is_none()
                && let Some(model) = &self.model
            {
                let admit = self.r.admit(self.target, model, Instant::now());
                self.admitted = admit;
                if admit == Some(Admit::Bypass) && self.may_leave() {
                    self.leaving = "breaker_open";
                    self.advance();
                    continue;
                }
            }
            let picked = lock(&state.pool).pick(Instant::now(), &self.tried, fastrand::u64(..));
            match picked {
                Ok(key) => {
                    self.attempts += 1;
                    return Some(Attempt {
                        target: self.target,
                        key,
                        delay: std::mem::take(&mut self.delay),
                    });
                }
                Err(exhausted) => {
                    if self.target == 0 {
                        self.primary_exhausted = Some(exhausted);
                    }
                    if self.tried.is_empty() {
                        self.leaving = "no_key";
                    }
                    self.advance();
                }
            }
        }
    }

    /// Judges `attempt`'s result; updates the key pool and the plan.
    pub fn judge(&mut self, attempt: &Attempt, observed: Observed<'_>) -> Verdict {
        let phase = match observed {
            Observed::Committed => "committed",
            Observed::Failed(_, phase) => phase.as_label(),
            Observed::Status { .. } | Observed::Skipped(_) => Phase::Head.as_label(),
            Observed::ErrorEvent { .. } => Phase::BeforeCommit.as_label(),
        };
        let possibly_billed = observed.possibly_billed();
        let class = classify(observed, SystemTime::now());
        let Some(state) = self.r.targets.get(attempt.target) else {
            return Verdict::GiveUp;
        };
        let m = &self.r.metrics.resilience;
        m.attempts_total
            .with_label_values(&[
                state.name.as_str(),
                self.model.as_deref().unwrap_or(gateway_metrics::OTHER),
                class.as_label(),
                phase,
            ])
            .inc();
        if let Some(reason) = possibly_billed {
            m.possibly_billed_total
                .with_label_values(&[state.name.as_str(), reason])
                .inc();
        }
        let now = Instant::now();
        let opened = self.breaker_verdict(attempt.target, class, now) == Some(State::Open);
        match class {
            Class::Success => Verdict::Serve,
            Class::Terminal => Verdict::GiveUp,
            Class::Skip { reason } => {
                // Nothing was sent: not an attempt in `x-gateway-attempts`.
                self.attempts = self.attempts.saturating_sub(1);
                self.leaving = reason;
                self.advance();
                Verdict::Again
            }
            Class::Retry { reason, after } => {
                self.leaving = reason;
                if self.retries < self.r.retry.per_target
                    && self.may_retry
                    && !(opened && self.may_leave())
                    && let Some(delay) = backoff::delay(
                        self.r.retry.backoff,
                        after,
                        self.r.retry.retry_after_max,
                        fastrand::u64(..),
                    )
                {
                    if lock(&self.r.budget).try_retry(now) {
                        self.retries += 1;
                        self.delay = delay;
                        return Verdict::Again;
                    }
                    m.retry_budget_exhausted_total.inc();
                }
                self.advance();
                Verdict::Again
            }
            Class::RateLimited { cooldown } => {
                let mut pool = lock(&state.pool);
                if let Some(cooldown) = cooldown {
                    pool.cool(attempt.key, now, cooldown);
                    m.key_cooldowns_total
                        .with_label_values(&[state.name.as_str(), pool.id(attempt.key), "cooling"])
                        .inc();
                }
                self.tried.push(attempt.key);
                self.leaving = "rate_limited";
                Verdict::Again
            }
            Class::Revoked { reason } => {
                let mut pool = lock(&state.pool);
                pool.revoke(attempt.key);
                m.key_cooldowns_total
                    .with_label_values(&[state.name.as_str(), pool.id(attempt.key), "revoked"])
                    .inc();
                self.tried.push(attempt.key);
                self.leaving = reason;
                Verdict::Again
            }
        }
    }

    /// The refusal when no attempt could be made at all (every key cooling or revoked).
    pub fn unavailable(&self) -> GatewayError {
        match self.primary_exhausted {
            Some(Exhausted::Cooling(wait)) => GatewayError::new(
                ErrorKind::RateLimited,
                format!(
                    "every provider key of this gateway is rate limited; retry in {} s",
                    wait.as_secs().max(1)
                ),
            )
            .with_retry_after(wait.max(Duration::from_secs(1))),
            _ => GatewayError::new(
                ErrorKind::Unavailable,
                "the provider refused every key of this gateway (revoked or over its spend limit); tell the gateway operator",
            ),
        }
    }

    /// Whether there is a target after this one the request may use.
    fn may_leave(&self) -> bool {
        self.fallback && self.target + 1 < self.r.targets.len()
    }

    /// Gives the attempt's health to the breaker that admitted the target; the state it
    /// entered. After a probe's verdict, later attempts on the target count as passes.
    fn breaker_verdict(&mut self, target: usize, class: Class, now: Instant) -> Option<State> {
        let (Some(model), Some(admit)) = (&self.model, self.admitted) else {
            return None;
        };
        if target != self.target {
            return None;
        }
        self.admitted = Some(Admit::Pass);
        let health = match class {
            Class::Success | Class::Terminal => Health::Up,
            Class::Retry { .. } => Health::Down,
            Class::RateLimited { .. } | Class::Revoked { .. } | Class::Skip { .. } => {
                self.r.release(target, model, admit);
                return None;
            }
        };
        self.r.record(target, model, admit, health, now)
    }

    /// Frees the current target's probe slot if a probe was admitted and never judged.
    fn release_probe(&mut self) {
        if let (Some(model), Some(Admit::Probe)) = (&self.model, self.admitted) {
            self.r.release(self.target, model, Admit::Probe);
        }
        self.admitted = None;
    }

    /// Moves to the next target, counting the fallback when there is one to go to.
    fn advance(&mut self) {
        self.release_probe();
        let from = self.target;
        self.target += 1;
        self.retries = 0;
        self.tried.clear();
        self.delay = Duration::ZERO;
        if self.fallback
            && let (Some(from), Some(to)) =
                (self.r.targets.get(from), self.r.targets.get(self.target))
        {
            self.r
                .metrics
                .resilience
                .fallbacks_total
                .with_label_values(&[from.name.as_str(), to.name.as_str(), self.leaving])
                .inc();
        }
    }
}

impl Drop for Plan<'_> {
    /// A request that ends (or is dropped: the client left) with a probe unjudged frees its
    /// slot, or the breaker would never let another probe through.
    fn drop(&mut self) {
        self.release_probe();
    }
}

#[cfg(test)]
mod tests;
