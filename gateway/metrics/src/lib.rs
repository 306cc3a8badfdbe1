//! The gateway's Prometheus metrics: one [`Metrics`] struct of typed handles, registered into
//! one private [`prometheus::Registry`] that the app builds and hands to every stage.
//!
//! Owns: every family's name, help text, labels and buckets (all prefixed `llm_gateway_`), the
//! label vocabularies that keep cardinality bounded, and rendering the text format for
//! `GET /metrics`.
//!
//! Invariants:
//! - no global registry and no `register_*` macros: tests build private instances;
//! - no per-user label: `route` comes from the route table, `model` from the price table's
//!   canonical ids (callers pass [`OTHER`] otherwise), `policy` from policy files, `reason`,
//!   `kind`, `limit`, `outcome` and `type` from closed sets;
//! - counters that exist before their first event (transcript outcomes, token types) are
//!   pre-registered at 0 so alerts and `rate()` see them from the first scrape.
//!
//! Not here: what is counted where (the stages), serving the admin listener (gateway-admin).
//! A leaf crate: it depends on `prometheus` only, so every stage may use it.

mod admin;
mod org;
mod resilience;
mod settled;

use std::sync::{Mutex, OnceLock, PoisonError};

pub use admin::{ADMIN_CHANGE_KINDS, AdminMetrics};
pub use org::{NO_ORG, OTHER_ORG};
pub use resilience::ResilienceMetrics;

use gateway_core::Usage;
use prometheus::{
    CounterVec, Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

pub use prometheus::{Error, Histogram, IntCounter};

/// Prefix of every family.
pub const NAMESPACE: &str = "llm_gateway";
/// The `model` label of a model the price table does not know.
pub const OTHER: &str = "other";
/// Token types of `tokens_total{type}`, in the order of [`Usage`].
pub const TOKEN_TYPES: [&str; 5] = [
    "input",
    "output",
    "cache_read",
    "cache_write_5m",
    "cache_write_1h",
];
/// The counts of `usage`, one per type of [`TOKEN_TYPES`], in that order.
pub(crate) fn token_counts(usage: &Usage) -> [u64; 5] {
    [
        usage.input,
        usage.output,
        usage.cache_read,
        usage.cache_write_5m,
        usage.cache_write_1h,
    ]
}
/// Outcomes of `transcript_records_total{outcome}`.
pub const TRANSCRIPT_OUTCOMES: [&str; 3] = ["written", "dropped", "failed"];

/// Whole requests and upstream calls, 5 ms to 10 min (streams last minutes).
const DURATION_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
];
/// The gateway's own time: from 50 µs, where a healthy proxy sits, to 1 s.
const OVERHEAD_BUCKETS: &[f64] = &[
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
];
/// Time to first token: 10 ms to 1 min.
const TTFT_BUCKETS: &[f64] = &[
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0, 60.0,
];

/// Outcomes of `policy_reloads_total`.
pub const POLICY_RELOAD_OUTCOMES: [&str; 2] = ["applied", "refused"];

/// Every metric handle of the gateway. Cheap to share behind an `Arc`; every handle is
/// lock-free to update.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// `requests_total{route,status}`: client requests by route and final status.
    pub requests_total: IntCounterVec,
    /// `request_duration_seconds{route}`: from the request's arrival to its body's end.
    pub request_duration_seconds: HistogramVec,
    /// `overhead_seconds{route}`: the gateway's own time before the response head, excluding
    /// the wait for the provider's response head.
    pub overhead_seconds: HistogramVec,
    /// `upstream_duration_seconds{upstream}`: from sending to the provider's body end.
    pub upstream_duration_seconds: HistogramVec,
    /// `time_to_first_token_seconds{upstream}`: from sending to the first streamed frame.
    pub time_to_first_token_seconds: HistogramVec,
    /// `upstream_errors_total{upstream,kind}`: transport failures, provider 429/5xx answers,
    /// streams broken mid-way.
    pub upstream_errors_total: IntCounterVec,
    /// `tokens_total{model,type}`: settled tokens.
    pub tokens_total: IntCounterVec,
    /// `cost_usd_total{model}`: settled cost in USD.
    pub cost_usd_total: CounterVec,
    /// `quota_rejections_total{policy,limit}`: requests refused by a quota or policy.
    pub quota_rejections_total: IntCounterVec,
    /// `quota_store_errors_total`: failed calls to the shared quota store.
    pub quota_store_errors_total: IntCounter,
    /// `quota_degraded`: 1 while the shared store is unreachable.
    pub quota_degraded: IntGauge,
    /// `quota_settlements_total`: metered exchanges whose usage is settled (in the store, when
    /// the request held a reservation).
    pub quota_settlements_total: IntCounter,
    /// `policy_reloads_total{outcome}`: policy directory edits applied or refused.
    pub policy_reloads_total: IntCounterVec,
    /// `auth_failures_total{reason}`: refused credentials by reason (see [`Metrics::sync_auth_failures`]).
    pub auth_failures_total: IntCounterVec,
    /// `redactions_total{rule}`: secrets replaced before forwarding.
    pub redactions_total: IntCounterVec,
    /// `restores_total`: placeholders restored in responses.
    pub restores_total: IntCounter,
    /// `transcript_records_total{outcome}`: transcript records written, dropped or failed.
    pub transcript_records_total: IntCounterVec,
    /// `transcript_queue_records`: records waiting for the transcript writer.
    pub transcript_queue_records: IntGauge,
    /// `inflight_requests`: client requests whose response has not ended.
    pub inflight_requests: IntGauge,
    /// `request_body_inflight_bytes`: request-body bytes reserved by requests in flight.
    pub request_body_inflight_bytes: IntGauge,
    /// `request_body_budget_bytes`: the budget those bytes are held to.
    pub request_body_budget_bytes: IntGauge,
    /// `request_body_budget_refusals_total`: requests refused (503) because their body did
    /// not fit the budget in time.
    pub request_body_budget_refusals_total: IntCounter,
    /// `stream_client_disconnects_total`: streamed responses the client left before their end.
    pub stream_client_disconnects_total: IntCounter,
    /// Attempts, fallbacks, key cooldowns and the retry budget.
    pub resilience: ResilienceMetrics,
    /// Admin changes and the runtime records in force.
    pub admin: AdminMetrics,
    /// The opt-in per-organisation families, once [`Metrics::enable_org_label`] ran.
    org: OnceLock<org::OrgMetrics>,
    /// Serialises the `sync_*` methods so two scrapes never add the same delta.
    sync_lock: Mutex<()>,
    /// `tokens_total` and `cost_usd_total` handles per model, for [`Metrics::settled`].
    settled_series: settled::SettledSeries,
}

impl Metrics {
    /// Builds every family in a fresh private registry.
    pub fn new() -> Result<Self, Error> {
        let registry = Registry::new();
        let opts = |name: &str, help: &str| Opts::new(name, help).namespace(NAMESPACE);
        let hist = |name: &str, help: &str, buckets: &[f64]| {
            HistogramOpts::new(name, help)
                .namespace(NAMESPACE)
                .buckets(buckets.to_vec())
        };
        let counter_vec = |name: &str, help: &str, labels: &[&str]| {
            let c = IntCounterVec::new(opts(name, help), labels)?;
            registry.register(Box::new(c.clone()))?;
            Ok::<_, Error>(c)
        };
        let histogram_vec = |name: &str, help: &str, buckets: &[f64], labels: &[&str]| {
            let h = HistogramVec::new(hist(name, help, buckets), labels)?;
            registry.register(Box::new(h.clone()))?;
            Ok::<_, Error>(h)
        };
        let counter = |name: &str, help: &str| {
            let c = IntCounter::with_opts(opts(name, help))?;
            registry.register(Box::new(c.clone()))?;
            Ok::<_, Error>(c)
        };
        let gauge = |name: &str, help: &str| {
            let g = IntGauge::with_opts(opts(name, help))?;
            registry.register(Box::new(g.clone()))?;
            Ok::<_, Error>(g)
        };
        let cost_usd_total = CounterVec::new(
            opts("cost_usd_total", "Settled cost of provider calls, USD."),
            &["model"],
        )?;
        registry.register(Box::new(cost_usd_total.clone()))?;
        let tokens_total = counter_vec(
            "tokens_total",
            "Settled tokens by model and type.",
            &["model", "type"],
        )?;
        let m = Self {
            requests_total: counter_vec(
                "requests_total",
                "Client requests by route and final HTTP status.",
                &["route", "status"],
            )?,
            request_duration_seconds: histogram_vec(
                "request_duration_seconds",
                "Client request duration, arrival to end of the response body.",
                DURATION_BUCKETS,
                &["route"],
            )?,
            overhead_seconds: histogram_vec(
                "overhead_seconds",
                "Time spent in the gateway before the response head, excluding the wait for the provider.",
                OVERHEAD_BUCKETS,
                &["route"],
            )?,
            upstream_duration_seconds: histogram_vec(
                "upstream_duration_seconds",
                "Provider call duration, sending to end of the provider's body.",
                DURATION_BUCKETS,
                &["upstream"],
            )?,
            time_to_first_token_seconds: histogram_vec(
                "time_to_first_token_seconds",
                "Streamed provider calls: sending to the first frame of the stream.",
                TTFT_BUCKETS,
                &["upstream"],
            )?,
            upstream_errors_total: counter_vec(
                "upstream_errors_total",
                "Provider failures: transport errors, 429 and 5xx answers, broken streams.",
                &["upstream", "kind"],
            )?,
            settled_series: settled::SettledSeries::new(
                tokens_total.clone(),
                cost_usd_total.clone(),
            ),
            tokens_total,
            cost_usd_total,
            quota_rejections_total: counter_vec(
                "quota_rejections_total",
                "Requests refused by a quota limit or a policy, by policy and limit.",
                &["policy", "limit"],
            )?,
            quota_store_errors_total: counter(
                "quota_store_errors_total",
                "Failed calls to the shared quota store (reserve or settle).",
            )?,
            quota_degraded: gauge(
                "quota_degraded",
                "1 while the shared quota store is unreachable and policies run on on_store_error.",
            )?,
            quota_settlements_total: counter(
                "quota_settlements_total",
                "Metered exchanges whose usage is settled (in the quota store when reserved).",
            )?,
            policy_reloads_total: counter_vec(
                "policy_reloads_total",
                "Edits of the policy directory, applied or refused (the previous set stays).",
                &["outcome"],
            )?,
            auth_failures_total: counter_vec(
                "auth_failures_total",
                "Refused credentials by reason.",
                &["reason"],
            )?,
            redactions_total: counter_vec(
                "redactions_total",
                "Secrets replaced by placeholders before forwarding, by rule.",
                &["rule"],
            )?,
            restores_total: counter(
                "restores_total",
                "Placeholders restored to their secret in responses.",
            )?,
            transcript_records_total: counter_vec(
                "transcript_records_total",
                "Transcript records by outcome.",
                &["outcome"],
            )?,
            transcript_queue_records: gauge(
                "transcript_queue_records",
                "Transcript records waiting for the writer (queued or retained for a retry).",
            )?,
            inflight_requests: gauge(
                "inflight_requests",
                "Client requests whose response has not ended yet.",
            )?,
            request_body_inflight_bytes: gauge(
                "request_body_inflight_bytes",
                "Request-body bytes reserved by requests in flight (raw, then decoded).",
            )?,
            request_body_budget_bytes: gauge(
                "request_body_budget_bytes",
                "The budget of request-body bytes in flight (server.inflight_body_max_bytes).",
            )?,
            request_body_budget_refusals_total: counter(
                "request_body_budget_refusals_total",
                "Requests refused with 503 because their body did not fit the budget in time.",
            )?,
            stream_client_disconnects_total: counter(
                "stream_client_disconnects_total",
                "Streamed responses whose client left before the end.",
            )?,
            resilience: ResilienceMetrics::register(&registry)?,
            admin: AdminMetrics::register(&registry)?,
            sync_lock: Mutex::new(()),
            org: OnceLock::new(),
            registry,
        };
        for outcome in TRANSCRIPT_OUTCOMES {
            let _ = m.transcript_records_total.with_label_values(&[outcome]);
        }
        for outcome in POLICY_RELOAD_OUTCOMES {
            let _ = m.policy_reloads_total.with_label_values(&[outcome]);
        }
        Ok(m)
    }

    /// The registry, for extra collectors.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Every family in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        // Encoding into a Vec only fails on an invalid family, which `new` rules out.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }

    /// Registers `org_tokens_total{org,type}` and `org_cost_usd_total{org}` (opt-in: the
    /// label takes at most `max_values` organisations, later ones count as [`OTHER_ORG`]).
    /// A second call changes nothing.
    pub fn enable_org_label(&self, max_values: usize) -> Result<(), Error> {
        if self.org.get().is_none() {
            let org = org::OrgMetrics::register(&self.registry, max_values)?;
            let _ = self.org.set(org);
        }
        Ok(())
    }

    /// Counts the tokens and cost of one settled response under `model` (a canonical price
    /// table id, or [`OTHER`]), and under `org` when the org label is enabled.
    pub fn settled(&self, model: &str, org: Option<&str>, tokens: Usage, cost_micro_usd: u64) {
        #[expect(
            clippy::cast_precision_loss,
            reason = "a single response's cost is far below 2^53 micro-USD"
        )]
        let usd = cost_micro_usd as f64 / 1_000_000.0;
        self.settled_series.add(model, &tokens, usd);
        if let Some(by_org) = self.org.get() {
            by_org.settled(org, &tokens, usd);
        }
    }

    /// Brings `auth_failures_total` up to counts kept elsewhere (the authenticator's own
    /// atomics, read at scrape time). Counts only grow, so this adds the difference.
    pub fn sync_auth_failures(&self, counts: &[(&str, u64)]) {
        let _one_at_a_time = self
            .sync_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for (reason, total) in counts {
            let c = self.auth_failures_total.with_label_values(&[reason]);
            c.inc_by(total.saturating_sub(c.get()));
        }
    }

    /// Brings `transcript_records_total` up to the transcript writer's own counts (by
    /// outcome, as in [`TRANSCRIPT_OUTCOMES`]) and sets the queue gauge.
    pub fn sync_transcripts(&self, counts: &[(&str, u64)], queued: u64) {
        let _one_at_a_time = self
            .sync_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for (outcome, total) in counts {
            let c = self.transcript_records_total.with_label_values(&[outcome]);
            c.inc_by(total.saturating_sub(c.get()));
        }
        self.transcript_queue_records
            .set(i64::try_from(queued).unwrap_or(i64::MAX));
    }

    /// Sets the request-body budget gauges and brings its refusal counter up to `refusals`.
    pub fn sync_body_budget(&self, in_use: usize, budget: usize, refusals: u64) {
        let _one_at_a_time = self
            .sync_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let gauge = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        self.request_body_inflight_bytes.set(gauge(in_use));
        self.request_body_budget_bytes.set(gauge(budget));
        let c = &self.request_body_budget_refusals_total;
        c.inc_by(refusals.saturating_sub(c.get()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_is_exported_with_the_prefix_and_transcript_outcomes_start_at_zero() {
        let m = Metrics::new().unwrap();
        m.requests_total
            .with_label_values(&["messages", "200"])
            .inc();
        m.enable_org_label(1).unwrap();
        for org in [Some("acme"), Some("globex"), None] {
            m.settled(
                "gpt-5-mini",
                org,
                Usage {
                    input: 1,
                    output: 1,
                    cache_read: 0,
                    cache_write_5m: 0,
                    cache_write_1h: 0,
                },
                1_000_000,
            );
        }
        let text = m.render();
        for series in [
            "llm_gateway_org_cost_usd_total{org=\"acme\"} 1",
            "llm_gateway_org_cost_usd_total{org=\"other\"} 1",
            "llm_gateway_org_cost_usd_total{org=\"none\"} 1",
            "llm_gateway_org_tokens_total{org=\"acme\",type=\"output\"} 1",
        ] {
            assert!(text.contains(series), "{series} missing:\n{text}");
        }
        assert!(
            !text.contains("globex"),
            "organisations past the cap are `other`"
        );
        m.settled(
            "claude-sonnet-4-6",
            None,
            Usage {
                input: 12,
                output: 7,
                cache_read: 100,
                cache_write_5m: 20,
                cache_write_1h: 0,
            },
            246,
        );
        let text = m.render();
        for family in [
            "requests_total",
            "tokens_total",
            "cost_usd_total",
            "quota_store_errors_total",
            "quota_degraded",
            "quota_settlements_total",
            "policy_reloads_total",
            "restores_total",
            "transcript_records_total",
            "transcript_queue_records",
            "inflight_requests",
            "request_body_inflight_bytes",
            "request_body_budget_bytes",
            "request_body_budget_refusals_total",
            "stream_client_disconnects_total",
        ] {
            assert!(
                text.contains(&format!("# TYPE llm_gateway_{family} ")),
                "{family} missing:\n{text}"
            );
        }
        assert!(text.contains(r#"llm_gateway_transcript_records_total{outcome="dropped"} 0"#));
        assert!(text.contains(
            r#"llm_gateway_tokens_total{model="claude-sonnet-4-6",type="cache_read"} 100"#
        ));
        assert!(text.contains(r#"llm_gateway_cost_usd_total{model="claude-sonnet-4-6"} 0.000246"#));
    }

    #[test]
    fn auth_failures_sync_adds_only_the_difference() {
        let m = Metrics::new().unwrap();
        m.sync_auth_failures(&[("invalid", 3), ("expired", 0)]);
        m.sync_auth_failures(&[("invalid", 5), ("expired", 0)]);
        assert_eq!(
            m.auth_failures_total.with_label_values(&["invalid"]).get(),
            5
        );
        assert_eq!(
            m.auth_failures_total.with_label_values(&["expired"]).get(),
            0
        );
    }

    #[test]
    fn two_instances_do_not_share_series() {
        let a = Metrics::new().unwrap();
        let b = Metrics::new().unwrap();
        a.restores_total.inc();
        assert_eq!(b.restores_total.get(), 0);
    }
}
