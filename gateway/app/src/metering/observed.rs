//! [`Observed`]: the provider's response body as relayed to the client, metered on the way.
//! It feeds every frame to the usage meter (which may drop a usage chunk the client did not
//! ask for) and settles the reservation when the body ends, fails, or is dropped because the
//! client went away: usage settles even on disconnect. Settled tokens and cost are counted by
//! model; a stream dropped before its end counts as a client disconnect. When the request is
//! recorded, every frame as the provider sent it goes to the transcript [`Tee`] too (before
//! anything rewrites it: placeholders stay placeholders), and the record is completed with the
//! settled usage.

use std::{
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use bytes::Bytes;
use gateway_core::Usage;
use gateway_meter::UsageMeter;
use gateway_metrics::Metrics;
use gateway_quota::Amounts;
use gateway_upstream::{BoxError, Relay};
use http_body::{Body, Frame, SizeHint};

use super::Hold;
use crate::transcripts::{Outcome, Tee};

/// A relayed, metered response body.
#[derive(Debug)]
pub(crate) struct Observed {
    inner: Relay,
    meter: UsageMeter,
    hold: Option<Hold>,
    ok_status: bool,
    status: u16,
    sse: bool,
    span: tracing::Span,
    metrics: Arc<Metrics>,
    tee: Option<Tee>,
}

impl Observed {
    pub(crate) fn new(
        inner: Relay,
        hold: Hold,
        sse: bool,
        status: http::StatusCode,
        metrics: Arc<Metrics>,
        tee: Option<Tee>,
    ) -> Self {
        Self {
            meter: hold.meter(sse),
            inner,
            hold: Some(hold),
            ok_status: status.is_success(),
            status: status.as_u16(),
            sse,
            span: tracing::Span::current(),
            metrics,
            tee,
        }
    }

    /// Settles once: the reported usage (or the input estimate if nothing was reported) for a
    /// success, nothing but the request for a provider error.
    fn settle(&mut self) {
        let Some(mut hold) = self.hold.take() else {
            return;
        };
        // A JSON body may end without a final poll (its size was known): parse it now.
        let _ = self.meter.finish();
        let reported = self.meter.usage();
        let complete = self.meter.complete();
        let usage = match (self.ok_status, reported) {
            (false, _) => Usage::default(),
            (true, Some(u)) => u,
            (true, None) => Usage {
                input: hold.input_estimate_tokens,
                ..Usage::default()
            },
        };
        let cost = gateway_meter::cost_micro_usd(&usage, &hold.price);
        if let Some(tee) = self.tee.take() {
            tee.finish(Outcome {
                status: self.status,
                complete,
                usage,
                usage_estimated: reported.is_none() && self.ok_status,
                cost_micro_usd: cost,
            });
        }
        self.metrics
            .settled(&hold.model_label, hold.org.as_deref(), usage, cost);
        let actual = Amounts {
            requests: 1,
            tokens: usage.total_tokens(),
            micro_usd: cost,
        };
        let span = self.span.clone();
        let model = hold.model.clone();
        let estimated = reported.is_none() && self.ok_status;
        // Logged once the store has it, so a reader of the log can read the bucket.
        let log = move || {
            tracing::info!(
                parent: &span,
                model = %model,
                input = usage.input,
                output = usage.output,
                cache_read = usage.cache_read,
                cache_write_5m = usage.cache_write_5m,
                cache_write_1h = usage.cache_write_1h,
                cost_micro_usd = cost,
                complete,
                estimated,
                "usage settled"
            );
        };
        let Some((reservation, store)) = hold.reservation.take() else {
            log();
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(parent: &self.span, "no runtime to settle on; the lease will expire instead");
            return;
        };
        let span = self.span.clone();
        let metrics = self.metrics.clone();
        // Settlement must survive the client leaving; it ends with the store call.
        runtime.spawn(async move {
            match store.settle(&reservation, actual).await {
                Ok(()) => log(),
                Err(e) => {
                    metrics.quota_store_errors_total.inc();
                    tracing::warn!(parent: &span, error = %e, "settlement failed; the reservation will lapse at its lease end");
                }
            }
        });
    }
}

impl Body for Observed {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        loop {
            return match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    let Some(data) = frame.data_ref() else {
                        return Poll::Ready(Some(Ok(frame)));
                    };
                    if let Some(tee) = &mut this.tee {
                        tee.frame(data);
                    }
                    match this.meter.feed(data) {
                        None => Poll::Ready(Some(Ok(frame))),
                        Some(replacement) if replacement.is_empty() => continue,
                        Some(replacement) => Poll::Ready(Some(Ok(Frame::data(replacement)))),
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    this.settle();
                    Poll::Ready(Some(Err(e)))
                }
                Poll::Ready(None) => match this.meter.finish() {
                    // A held-back partial frame goes out before the end.
                    Some(rest) if !rest.is_empty() => Poll::Ready(Some(Ok(Frame::data(rest)))),
                    _ => {
                        this.settle();
                        Poll::Ready(None)
                    }
                },
                Poll::Pending => Poll::Pending,
            };
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream() && self.hold.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for Observed {
    fn drop(&mut self) {
        // Still holding means the body never reached its end: the client left.
        if self.hold.is_some() && self.sse {
            self.metrics.stream_client_disconnects_total.inc();
        }
        self.settle();
    }
}
