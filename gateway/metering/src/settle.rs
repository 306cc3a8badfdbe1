//! Settlement: the exchange's [`Outcome`] computed from what the meter saw, and the
//! reservation settled with it.

use gateway_core::{Outcome, Served, Usage};
use gateway_meter::UsageMeter;
use gateway_quota::{Amounts, Spend};
use http::StatusCode;

use crate::Hold;

impl Hold {
    /// The model the request named.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The price table's canonical id of the model (`other` when unlisted): a bounded metric
    /// label.
    pub fn model_label(&self) -> &str {
        &self.model_label
    }

    /// The principal's organisation, for the opt-in org metric label.
    pub fn org(&self) -> Option<&str> {
        self.org.as_deref()
    }

    /// A meter for the response body (`sse`: an event stream). It strips the usage chunk the
    /// gateway asked for on the client's behalf.
    pub fn meter(&self, sse: bool) -> UsageMeter {
        UsageMeter::new(self.api, sse, self.strip_usage_chunk && sse)
    }

    /// How the exchange ended, from the response status and what `meter` saw (call
    /// [`UsageMeter::finish`] first): the reported usage for a success (the input estimate
    /// when nothing was reported), nothing for a provider error; priced at the model's rates.
    pub fn outcome(&self, status: StatusCode, meter: &UsageMeter) -> Outcome {
        let ok = status.is_success();
        let reported = meter.usage();
        let usage = match (ok, reported) {
            (false, _) => Usage::default(),
            (true, Some(u)) => u,
            (true, None) => Usage {
                input: self.input_estimate_tokens,
                ..Usage::default()
            },
        };
        Outcome {
            status: status.as_u16(),
            complete: meter.complete(),
            usage,
            usage_estimated: ok && reported.is_none(),
            cost_micro_usd: gateway_meter::cost_micro_usd(&usage, &self.price),
        }
    }

    /// Settles the reservation with `outcome` (in the background: settlement survives the
    /// client leaving) and logs the usage, with the target and key that `served`, once the
    /// store has it.
    pub fn settle(mut self, outcome: &Outcome, served: Option<&Served>) {
        let outcome = *outcome;
        let span = tracing::Span::current();
        let model = std::mem::take(&mut self.model);
        let served = served.cloned().unwrap_or_default();
        // Logged once the store has it, so a reader of the log can read the bucket.
        let log = move |span: &tracing::Span| {
            let u = outcome.usage;
            tracing::info!(
                parent: span,
                model = %model,
                upstream = %served.upstream,
                key_id = served.key_id.as_deref(),
                attempts = served.attempts,
                possibly_billed = ?served.possibly_billed,
                input = u.input,
                output = u.output,
                cache_read = u.cache_read,
                cache_write_5m = u.cache_write_5m,
                cache_write_1h = u.cache_write_1h,
                cost_micro_usd = outcome.cost_micro_usd,
                complete = outcome.complete,
                estimated = outcome.usage_estimated,
                "usage settled"
            );
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(parent: &span, "no runtime to settle on; the lease will expire instead");
            return;
        };
        let reservation = self.reservation.take();
        let ledger = self.ledger.take().map(|store| {
            let (subject, org) = (std::mem::take(&mut self.subject), self.org.take());
            (store, subject, org, self.model_label.clone())
        });
        let actual = Amounts {
            requests: 1,
            tokens: outcome.usage.total_tokens(),
            micro_usd: outcome.cost_micro_usd,
        };
        let metrics = self.metrics.clone();
        // In the background: settlement survives the client leaving.
        runtime.spawn(async move {
            if let Some((store, subject, org, model)) = &ledger {
                let spend = Spend {
                    subject,
                    org: org.as_deref(),
                    model,
                    micro_usd: outcome.cost_micro_usd,
                    at_ms: now_ms(),
                };
                if let Err(e) = store.record_spend(spend).await {
                    metrics.quota_store_errors_total.inc();
                    tracing::warn!(parent: &span, error = %gateway_core::ErrorChain(&e), "recording spend in the ledger failed; top spenders and history miss this request");
                }
            }
            let Some((reservation, store)) = reservation else {
                log(&span);
                metrics.quota_settlements_total.inc();
                return;
            };
            match store.settle(&reservation, actual).await {
                Ok(()) => {
                    log(&span);
                    metrics.quota_settlements_total.inc();
                }
                Err(e) => {
                    metrics.quota_store_errors_total.inc();
                    tracing::warn!(parent: &span, error = %gateway_core::ErrorChain(&e), "settlement failed; the reservation will lapse at its lease end");
                }
            }
        });
    }
}

/// Now, in unix milliseconds.
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use gateway_core::Api;
    use gateway_meter::Price;
    use gateway_metrics::Metrics;

    use super::*;

    fn hold() -> Hold {
        Hold {
            reservation: None,
            api: Api::AnthropicMessages,
            model: "claude-test".to_owned(),
            model_label: "claude-test".to_owned(),
            price: Price {
                input: 3_000_000,
                output: 15_000_000,
                cache_write_5m: 0,
                cache_write_1h: 0,
                cache_read: 0,
                max_output_tokens: 1_000,
                long_context: None,
            },
            input_estimate_tokens: 1_000,
            strip_usage_chunk: false,
            org: None,
            subject: "alice".to_owned(),
            ledger: None,
            metrics: Arc::new(Metrics::new().unwrap()),
        }
    }

    fn fed(hold: &Hold, body: &[u8]) -> UsageMeter {
        let mut meter = hold.meter(false);
        let _ = meter.feed(body);
        let _ = meter.finish();
        meter
    }

    #[test]
    fn reported_usage_is_charged_and_priced() {
        let h = hold();
        let meter = fed(
            &h,
            br#"{"type":"message","model":"claude-test","usage":{"input_tokens":10,"output_tokens":20}}"#,
        );
        let o = h.outcome(StatusCode::OK, &meter);
        assert_eq!((o.usage.input, o.usage.output), (10, 20));
        assert!(!o.usage_estimated);
        // 10 × $3 + 20 × $15 per million tokens = 330 micro-USD.
        assert_eq!(o.cost_micro_usd, 330);
        assert_eq!(o.status, 200);
    }

    #[test]
    fn no_report_charges_the_estimate_and_a_provider_error_charges_nothing() {
        let h = hold();
        let silent = fed(&h, b"{}");
        let o = h.outcome(StatusCode::OK, &silent);
        assert_eq!(o.usage.input, 1_000);
        assert!(o.usage_estimated);
        let o = h.outcome(StatusCode::TOO_MANY_REQUESTS, &silent);
        assert_eq!(o.usage, Usage::default());
        assert_eq!(o.cost_micro_usd, 0);
        assert!(!o.usage_estimated);
    }
}
