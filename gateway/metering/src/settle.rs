//! Settlement: the exchange's [`Outcome`] computed from what the meter saw, and the
//! reservation settled with it.

use gateway_core::{Outcome, Usage};
use gateway_meter::UsageMeter;
use gateway_quota::Amounts;
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
    /// client leaving) and logs the usage once the store has it.
    pub fn settle(mut self, outcome: &Outcome) {
        let outcome = *outcome;
        let span = tracing::Span::current();
        let model = std::mem::take(&mut self.model);
        // Logged once the store has it, so a reader of the log can read the bucket.
        let log = move |span: &tracing::Span| {
            let u = outcome.usage;
            tracing::info!(
                parent: span,
                model = %model,
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
        let Some((reservation, store)) = self.reservation.take() else {
            log(&span);
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(parent: &span, "no runtime to settle on; the lease will expire instead");
            return;
        };
        let actual = Amounts {
            requests: 1,
            tokens: outcome.usage.total_tokens(),
            micro_usd: outcome.cost_micro_usd,
        };
        let metrics = self.metrics.clone();
        runtime.spawn(async move {
            match store.settle(&reservation, actual).await {
                Ok(()) => log(&span),
                Err(e) => {
                    metrics.quota_store_errors_total.inc();
                    tracing::warn!(parent: &span, error = %e, "settlement failed; the reservation will lapse at its lease end");
                }
            }
        });
    }
}
