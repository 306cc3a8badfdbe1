//! [`Exchange`]: the provider's body of a metered request, as relayed. Every data frame goes
//! first to the transcript tee (as the provider sent it), then through the usage meter (which
//! may drop the usage chunk the gateway asked for on the client's behalf). When the body ends,
//! fails, or is dropped because the client left, the exchange's one [`Outcome`] is computed
//! and handed to [`crate::pipeline::conclude`]; a stream dropped before its end counts as a
//! client disconnect.

use std::{
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use bytes::Bytes;
use gateway_capture::Tee;
use gateway_core::{BoxError, Outcome, Served};
use gateway_meter::UsageMeter;
use gateway_metering::Hold;
use gateway_metrics::Metrics;
use gateway_upstream::Relay;
use http::StatusCode;
use http_body::{Body, Frame, SizeHint};

/// A relayed, metered, recorded response body.
#[derive(Debug)]
pub(crate) struct Exchange {
    inner: Relay,
    meter: UsageMeter,
    status: StatusCode,
    sse: bool,
    /// Until the outcome is known.
    open: Option<Open>,
    metrics: Arc<Metrics>,
    span: tracing::Span,
}

/// What the outcome goes to.
#[derive(Debug)]
pub(crate) struct Open {
    pub(crate) hold: Hold,
    pub(crate) tee: Option<Tee>,
    pub(crate) recent: RecentStart,
    /// Which target and key served (`None`: the upstream has no attempt loop).
    pub(crate) served: Option<Served>,
}

/// What the admin API's recent-requests entry needs that only the request knew.
#[derive(Debug)]
pub(crate) struct RecentStart {
    pub(crate) ring: Arc<gateway_admin::RecentRequests>,
    pub(crate) at: std::time::SystemTime,
    pub(crate) arrival: tokio::time::Instant,
    pub(crate) request_id: String,
    pub(crate) session: Option<String>,
    pub(crate) subject: String,
    pub(crate) org: Option<String>,
    pub(crate) api: &'static str,
    /// The provider's name, the upstream of an exchange without a [`Served`].
    pub(crate) provider: &'static str,
}

impl RecentStart {
    /// Adds the finished exchange, and the target and key that `served` it, to the ring.
    pub(crate) fn finish(self, model: &str, outcome: &Outcome, served: Option<&Served>) {
        let u = outcome.usage;
        self.ring.push(gateway_admin::RecentRequest {
            at: self.at,
            request_id: self.request_id,
            session: self.session,
            subject: self.subject,
            org: self.org,
            model: model.to_owned(),
            api: self.api,
            upstream: served.map_or_else(|| self.provider.to_owned(), |s| s.upstream.clone()),
            key_id: served.and_then(|s| s.key_id.clone()),
            attempts: served.map_or(1, |s| s.attempts),
            status: outcome.status,
            input_tokens: u.input + u.cache_read + u.cache_write_5m + u.cache_write_1h,
            output_tokens: u.output,
            cost_micro_usd: outcome.cost_micro_usd,
            complete: outcome.complete,
            duration_ms: u64::try_from(self.arrival.elapsed().as_millis()).unwrap_or(u64::MAX),
        });
    }
}

impl Exchange {
    pub(crate) fn new(
        inner: Relay,
        status: StatusCode,
        sse: bool,
        open: Open,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            meter: open.hold.meter(sse),
            inner,
            status,
            sse,
            open: Some(open),
            metrics,
            span: tracing::Span::current(),
        }
    }

    /// Once: the outcome, fanned out.
    fn end(&mut self) {
        let Some(open) = self.open.take() else {
            return;
        };
        // A JSON body may end without a final poll (its size was known): parse it now.
        let _ = self.meter.finish();
        let outcome: Outcome = open.hold.outcome(self.status, &self.meter);
        let _entered = self.span.enter();
        crate::pipeline::conclude(open, &outcome, &self.metrics);
    }
}

impl Body for Exchange {
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
                    if let Some(tee) = this.open.as_mut().and_then(|o| o.tee.as_mut()) {
                        tee.frame(data);
                    }
                    match this.meter.feed(data) {
                        None => Poll::Ready(Some(Ok(frame))),
                        Some(replacement) if replacement.is_empty() => continue,
                        Some(replacement) => Poll::Ready(Some(Ok(Frame::data(replacement)))),
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    this.end();
                    Poll::Ready(Some(Err(e)))
                }
                Poll::Ready(None) => match this.meter.finish() {
                    // A held-back partial frame goes out before the end.
                    Some(rest) if !rest.is_empty() => Poll::Ready(Some(Ok(Frame::data(rest)))),
                    _ => {
                        this.end();
                        Poll::Ready(None)
                    }
                },
                Poll::Pending => Poll::Pending,
            };
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream() && self.open.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for Exchange {
    fn drop(&mut self) {
        // Still open means the body never reached its end: the client left.
        if self.open.is_some() && self.sse {
            self.metrics.stream_client_disconnects_total.inc();
        }
        self.end();
    }
}
