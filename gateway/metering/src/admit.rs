//! [`Metering::admit`]: price the request, check its policy, reserve on every bucket.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use bytes::Bytes;
use gateway_core::Api;
use gateway_core::{ErrorKind, GatewayError, Principal};
use gateway_meter::{Price, PriceTable, RequestFacts};
use gateway_metrics::Metrics;
use gateway_policy::{OnStoreError, Policy};
use gateway_quota::{Amounts, MemoryStore, Reservation, ReserveOutcome, ReserveRequest, Store};
use gateway_runtime_state::RuntimeState;

use crate::{buckets, refusal};

/// Fewest output tokens a clamped request may keep; below this the request is refused.
const CLAMP_MIN_OUTPUT_TOKENS: u64 = 256;
/// How long a client is asked to wait when the shared store is down and the policy denies.
const STORE_DOWN_RETRY_AFTER: Duration = Duration::from_secs(2);

/// A request the quota stage let through: the (possibly rewritten) body and the hold to
/// settle when the response ends.
#[derive(Debug)]
pub struct Admission {
    /// The body to forward: the client's, or with `max_tokens` clamped / usage requested.
    pub body: Bytes,
    /// The reservation, settled from the exchange's outcome.
    pub hold: Hold,
    /// Lowest remaining money budget after this reservation, micro-USD.
    pub remaining_micro_usd: Option<u64>,
}

/// What settlement needs to know about a reservation.
#[derive(Debug)]
pub struct Hold {
    pub(crate) reservation: Option<(Reservation, Arc<dyn Store>)>,
    pub(crate) api: Api,
    pub(crate) model: String,
    /// The price table's canonical id of `model`, for bounded metric labels.
    pub(crate) model_label: String,
    pub(crate) price: Price,
    pub(crate) input_estimate_tokens: u64,
    /// The gateway added `include_usage`: strip the usage chunk the client did not ask for.
    pub(crate) strip_usage_chunk: bool,
    /// The principal's organisation, for the opt-in org metric label and the spend ledger.
    pub(crate) org: Option<String>,
    /// The principal's subject, for the spend ledger.
    pub(crate) subject: String,
    /// Where the spend ledger lives (the configured store, even when the reservation fell
    /// back to the local one).
    pub(crate) ledger: Option<Arc<dyn Store>>,
    pub(crate) metrics: Arc<Metrics>,
}

impl Drop for Hold {
    /// A hold dropped without settlement (the provider was never reached) releases its
    /// reservation, charging only the request itself.
    fn drop(&mut self) {
        let Some((reservation, store)) = self.reservation.take() else {
            return;
        };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let actual = Amounts {
                requests: 1,
                ..Amounts::default()
            };
            runtime.spawn(async move {
                if let Err(e) = store.settle(&reservation, actual).await {
                    tracing::warn!(
                        error = %gateway_core::ErrorChain(&e),
                        "releasing a reservation failed; it lapses at its lease end"
                    );
                }
            });
        }
    }
}

/// The stage's state: prices and the stores. The policy of each request is the caller's to
/// choose (the app holds the live set).
#[derive(Debug)]
pub struct Metering {
    prices: PriceTable,
    store: Arc<dyn Store>,
    shared_store: bool,
    local: Arc<MemoryStore>,
    lease: Duration,
    degraded: AtomicBool,
    store_errors: AtomicU64,
    metrics: Arc<Metrics>,
    /// The admins' runtime overrides, read per request from the current snapshot.
    overrides: Option<Arc<RuntimeState>>,
    /// The fallback targets' own price tables, for the exchanges they serve.
    pub(crate) target_prices: crate::TargetPrices,
}

impl Metering {
    /// `shared_store`: `store` is shared by replicas (its failures degrade readiness).
    pub fn new(
        prices: PriceTable,
        store: Arc<dyn Store>,
        shared_store: bool,
        lease: Duration,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            prices,
            store,
            shared_store,
            local: Arc::new(MemoryStore::default()),
            lease,
            degraded: AtomicBool::new(false),
            store_errors: AtomicU64::new(0),
            metrics,
            overrides: None,
            target_prices: crate::TargetPrices::default(),
        }
    }

    /// Puts the runtime overrides of `state` in force on every later admission.
    #[must_use]
    pub fn with_overrides(mut self, state: Arc<RuntimeState>) -> Self {
        self.overrides = Some(state);
        self
    }

    /// Counts a refusal by the policy that made it and the limit that refused.
    fn rejected(&self, policy: Option<&Policy>, limit: &str) {
        let policy = policy.map_or("none", |p| p.name.as_str());
        self.metrics
            .quota_rejections_total
            .with_label_values(&[policy, limit])
            .inc();
    }

    /// The quota store, for reading usage (admin API).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Whether the shared store failed on its last call.
    pub fn degraded(&self) -> bool {
        self.degraded.load(Ordering::Relaxed)
    }

    /// Shared-store failures so far.
    pub fn store_errors(&self) -> u64 {
        self.store_errors.load(Ordering::Relaxed)
    }

    /// Prices the request, checks `policy` (the request's, if it has one) and reserves on
    /// every bucket, atomically.
    pub async fn admit(
        &self,
        who: &Principal,
        api: Api,
        policy: Option<&Policy>,
        body: Bytes,
    ) -> Result<Admission, GatewayError> {
        let facts = gateway_meter::inspect_request(api, &body).map_err(|e| {
            GatewayError::new(ErrorKind::InvalidRequest, e.to_string()).with_source(e)
        })?;
        let model = facts.model.clone().ok_or_else(|| {
            GatewayError::new(
                ErrorKind::InvalidRequest,
                "the request has no `model`; name the model to use",
            )
        })?;
        if let Some(p) = policy
            && !p.allows_model(&model)
        {
            self.rejected(policy, "model_not_allowed");
            return Err(GatewayError::new(
                ErrorKind::PermissionDenied,
                format!(
                    "model `{model}` is not allowed by your plan's policy `{}`; use one of: {}",
                    p.name,
                    p.models.as_deref().unwrap_or_default().join(", ")
                ),
            ));
        }
        let price = self.prices.price(&model).map_err(|e| {
            GatewayError::new(
                ErrorKind::PermissionDenied,
                format!("model `{model}` has no price on this gateway, so it cannot be metered; use a listed model or ask the operator to add it to the price table"),
            )
            .with_source(e)
        })?;

        let mut body = body;
        let mut strip_usage_chunk = false;
        if api == Api::OpenAiChat
            && facts.stream
            && !facts.client_wants_usage
            && let Ok(Some(rewritten)) = gateway_meter::request_usage_in_stream(&body)
        {
            body = Bytes::from(rewritten);
            strip_usage_chunk = true;
        }
        let requested = facts.max_output_tokens.unwrap_or(price.max_output_tokens);
        let capped = policy.map_or(requested, |p| p.cap_max_tokens(requested));
        if capped < requested
            || (facts.max_output_tokens.is_none()
                && policy.is_some_and(|p| p.max_tokens_cap.is_some()))
        {
            body = rewrite_max_tokens(api, &body, capped)?;
        }
        let hold = |reservation| Hold {
            reservation,
            api,
            model: model.clone(),
            price: *price,
            input_estimate_tokens: facts.input_estimate_tokens,
            strip_usage_chunk,
            org: who.org.clone(),
            subject: who.subject.clone(),
            ledger: Some(self.store.clone()),
            model_label: self
                .prices
                .canonical(&model)
                .unwrap_or(gateway_metrics::OTHER)
                .to_owned(),
            metrics: self.metrics.clone(),
        };
        let snapshot = self.overrides.as_ref().map(|s| s.snapshot());
        let buckets: Arc<[gateway_quota::Bucket]> = buckets::for_request(
            policy,
            who,
            snapshot.as_deref(),
            gateway_runtime_state::now_ms(),
        )
        .into();
        if buckets.is_empty() {
            return Ok(Admission {
                body,
                hold: hold(None),
                remaining_micro_usd: None,
            });
        }
        let mut output = capped;
        for attempt in 0..2 {
            let request = ReserveRequest {
                buckets: Arc::clone(&buckets),
                amounts: reservation_amounts(&facts, output, price),
                lease: self.lease,
            };
            let (outcome, store) = self
                .reserve(policy.map(|p| (p.on_store_error, p.local_share)), &request)
                .await
                .inspect_err(|_| self.rejected(policy, "store_unavailable"))?;
            match outcome {
                ReserveOutcome::Granted(r) => {
                    let remaining_micro_usd = r
                        .buckets
                        .iter()
                        .zip(&r.remaining)
                        .filter(|(b, _)| b.measure == gateway_quota::Measure::MicroUsd)
                        .map(|(_, rem)| *rem)
                        .min();
                    if output != capped {
                        body = rewrite_max_tokens(api, &body, output)?;
                        tracing::info!(
                            max_tokens = output,
                            "max_tokens clamped to the remaining budget"
                        );
                    }
                    return Ok(Admission {
                        body,
                        hold: hold(Some((r, store))),
                        remaining_micro_usd,
                    });
                }
                ReserveOutcome::Refused(refusal) => {
                    let clamp = attempt == 0 && policy.is_some_and(|p| p.clamp_max_tokens);
                    match clamp
                        .then(|| refusal::affordable_output(&refusal, &facts, price))
                        .flatten()
                    {
                        Some(n) if n >= CLAMP_MIN_OUTPUT_TOKENS && n < output => output = n,
                        _ => {
                            self.rejected(policy, refusal.label);
                            return Err(refusal::to_error(&refusal, who));
                        }
                    }
                }
            }
        }
        Err(GatewayError::new(
            ErrorKind::Internal,
            "quota retry loop ended",
        ))
    }

    /// Reserves on the shared store, or per the policy's `on_store_error` when it is down.
    async fn reserve(
        &self,
        on_error: Option<(OnStoreError, f64)>,
        request: &ReserveRequest,
    ) -> Result<(ReserveOutcome, Arc<dyn Store>), GatewayError> {
        match self.store.reserve(request).await {
            Ok(outcome) => {
                self.degraded.store(false, Ordering::Relaxed);
                self.metrics.quota_degraded.set(0);
                Ok((outcome, self.store.clone()))
            }
            Err(e) => {
                self.store_errors.fetch_add(1, Ordering::Relaxed);
                self.degraded.store(self.shared_store, Ordering::Relaxed);
                self.metrics.quota_store_errors_total.inc();
                self.metrics
                    .quota_degraded
                    .set(i64::from(self.shared_store));
                match on_error.unwrap_or((OnStoreError::Deny, 1.0)) {
                    (OnStoreError::AllowLocal, share) => {
                        tracing::warn!(
                            error = %gateway_core::ErrorChain(&e),
                            share,
                            "quota store unreachable: using the local limiter"
                        );
                        let local = ReserveRequest {
                            buckets: request
                                .buckets
                                .iter()
                                .map(|b| gateway_quota::Bucket {
                                    limit: scale(b.limit, share),
                                    ..b.clone()
                                })
                                .collect(),
                            ..request.clone()
                        };
                        let store: Arc<dyn Store> = self.local.clone();
                        Ok((self.local.reserve_now(&local), store))
                    }
                    (OnStoreError::Deny, _) => {
                        tracing::warn!(
                            error = %gateway_core::ErrorChain(&e),
                            "quota store unreachable: refusing (on_store_error = deny)"
                        );
                        Err(GatewayError::new(
                            ErrorKind::Unavailable,
                            "the gateway cannot check your budget right now (quota store unreachable); retry in a few seconds",
                        )
                        .with_retry_after(STORE_DOWN_RETRY_AFTER)
                        .with_source(e))
                    }
                }
            }
        }
    }
}

#[expect(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss,
    reason = "share is in (0, 1]; the product is clamped to the u64 range"
)]
fn scale(limit: u64, share: f64) -> u64 {
    ((limit as f64) * share).floor().clamp(0.0, u64::MAX as f64) as u64
}

fn reservation_amounts(facts: &RequestFacts, output: u64, price: &Price) -> Amounts {
    Amounts {
        requests: 1,
        tokens: facts.input_estimate_tokens.saturating_add(output),
        micro_usd: gateway_meter::reservation_micro_usd(facts.input_estimate_tokens, output, price),
    }
}

fn rewrite_max_tokens(api: Api, body: &[u8], n: u64) -> Result<Bytes, GatewayError> {
    gateway_meter::set_max_output_tokens(api, body, n)
        .map(Bytes::from)
        .map_err(|e| GatewayError::new(ErrorKind::InvalidRequest, e.to_string()).with_source(e))
}
