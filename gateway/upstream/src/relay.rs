//! [`Relay`]: the provider's response body, relayed frame by frame, with an SSE keepalive and
//! the request deadline.

use std::{
    pin::Pin,
    sync::Arc,
    task::{Context, Poll, ready},
    time::Duration,
};

use bytes::Bytes;
use gateway_core::{BoxError, sse::Boundaries};
use gateway_metrics::Metrics;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use tokio::time::{Instant, Sleep};

/// The SSE comment sent when the provider has been silent for the keepalive interval.
const KEEPALIVE_FRAME: &[u8] = b": keepalive\n\n";

/// The provider's body, relayed as it arrives. For SSE it sends `: keepalive` comments during
/// silences (only between events, so frames are never corrupted), and when the provider's
/// stream breaks between events it sends the configured error event before ending. The
/// request's deadline bounds the whole body.
#[derive(Debug)]
pub struct Relay {
    inner: Incoming,
    deadline: Pin<Box<Sleep>>,
    keepalive: Option<(Duration, Pin<Box<Sleep>>)>,
    error_frame: Option<Bytes>,
    /// Event framing of an SSE body, to tell whether we sit between two events; `None` for
    /// other bodies (nothing is ever inserted into them).
    events: Option<Boundaries>,
    finished: bool,
    timing: Option<Timing>,
}

/// Measures one provider call for `upstream_duration_seconds`, `time_to_first_token_seconds`
/// and the mid-stream kinds of `upstream_errors_total`.
#[derive(Debug)]
pub(crate) struct Timing {
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) upstream: &'static str,
    /// When the request was sent.
    pub(crate) start: Instant,
    /// Whether the body is a stream (TTFT is only meaningful there).
    pub(crate) sse: bool,
    pub(crate) first_frame_seen: bool,
}

impl Timing {
    fn first_frame(&mut self) {
        if self.sse && !self.first_frame_seen {
            self.first_frame_seen = true;
            self.metrics
                .time_to_first_token_seconds
                .with_label_values(&[self.upstream])
                .observe(self.start.elapsed().as_secs_f64());
        }
    }

    fn finish(self, error_kind: Option<&str>) {
        self.metrics
            .upstream_duration_seconds
            .with_label_values(&[self.upstream])
            .observe(self.start.elapsed().as_secs_f64());
        if let Some(kind) = error_kind {
            self.metrics
                .upstream_errors_total
                .with_label_values(&[self.upstream, kind])
                .inc();
        }
    }
}

impl Relay {
    pub(crate) fn new(
        inner: Incoming,
        deadline: Instant,
        keepalive: Option<Duration>,
        error_frame: Option<Bytes>,
        timing: Timing,
    ) -> Self {
        Self {
            inner,
            deadline: Box::pin(tokio::time::sleep_until(deadline)),
            keepalive: keepalive.map(|d| (d, Box::pin(tokio::time::sleep(d)))),
            error_frame,
            events: timing.sse.then(Boundaries::default),
            finished: false,
            timing: Some(timing),
        }
    }

    /// Between two SSE events (or before the first): a comment or error event may go here.
    fn at_event_boundary(&self) -> bool {
        self.events.as_ref().is_some_and(Boundaries::at_end)
    }

    fn remember_framing(&mut self, data: &Bytes) {
        if let Some(events) = &mut self.events {
            events.skip(data);
        }
    }

    /// The stream cannot go on: end with the error event if we can place one, else fail.
    fn fail(
        &mut self,
        error: BoxError,
        kind: &'static str,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.finished = true;
        if let Some(t) = self.timing.take() {
            t.finish(Some(kind));
        }
        match self.error_frame.take() {
            Some(frame) if self.at_event_boundary() => Poll::Ready(Some(Ok(Frame::data(frame)))),
            _ => Poll::Ready(Some(Err(error))),
        }
    }
}

/// The request deadline passed while the body was still streaming.
#[derive(Debug, thiserror::Error)]
#[error("the upstream response did not finish before the request deadline")]
pub struct DeadlineExceeded;

impl Body for Relay {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        if this.finished {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.remember_framing(data);
                    if let Some(t) = &mut this.timing {
                        t.first_frame();
                    }
                    if let Some((every, sleep)) = &mut this.keepalive {
                        sleep.as_mut().reset(Instant::now() + *every);
                    }
                }
                return Poll::Ready(Some(Ok(frame)));
            }
            Poll::Ready(Some(Err(e))) => return this.fail(Box::new(e), "stream_broken"),
            Poll::Ready(None) => {
                this.finished = true;
                if let Some(t) = this.timing.take() {
                    t.finish(None);
                }
                return Poll::Ready(None);
            }
            Poll::Pending => {}
        }
        if this.deadline.as_mut().poll(cx).is_ready() {
            return this.fail(Box::new(DeadlineExceeded), "deadline");
        }
        let at_boundary = this.at_event_boundary();
        if let Some((every, sleep)) = &mut this.keepalive {
            ready!(sleep.as_mut().poll(cx));
            sleep.as_mut().reset(Instant::now() + *every);
            if at_boundary {
                // Registers the timer's waker again for the next interval.
                let _ = sleep.as_mut().poll(cx);
                return Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(KEEPALIVE_FRAME)))));
            }
            let _ = sleep.as_mut().poll(cx);
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.finished || (self.inner.is_end_stream() && self.error_frame.is_none())
    }

    fn size_hint(&self) -> SizeHint {
        if self.keepalive.is_some() || self.error_frame.is_some() {
            SizeHint::default()
        } else {
            self.inner.size_hint()
        }
    }
}

impl Drop for Relay {
    /// A body dropped before its end (the client left) still counts the call's duration.
    fn drop(&mut self) {
        if let Some(t) = self.timing.take() {
            t.finish(None);
        }
    }
}
