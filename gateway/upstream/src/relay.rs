//! [`Relay`]: the provider's response body, relayed frame by frame, with an SSE keepalive and
//! the request deadline.

use std::{
    collections::VecDeque,
    pin::Pin,
    sync::{Arc, OnceLock},
    task::{Context, Poll, ready},
    time::Duration,
};

use bytes::Bytes;
use gateway_core::{BoxError, sse::Boundaries};
use gateway_metrics::{Histogram, Metrics};
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use tokio::time::{Instant, Sleep};

use crate::bedrock::EventStream;

/// The SSE comment sent when the provider has been silent for the keepalive interval.
const KEEPALIVE_FRAME: &[u8] = b": keepalive\n\n";

/// The provider's body, relayed as it arrives. For SSE it sends `: keepalive` comments during
/// silences (only between events, so frames are never corrupted), and when the provider's
/// stream breaks between events it sends the configured error event before ending. The
/// request's deadline bounds the whole body.
#[derive(Debug)]
pub struct Relay {
    /// Frames read while the answer was held (see `prefix`), sent before `inner`'s next ones.
    held: VecDeque<Bytes>,
    inner: Source,
    deadline: Pin<Box<Sleep>>,
    keepalive: Option<(Duration, Pin<Box<Sleep>>)>,
    error_frame: Option<Bytes>,
    /// Event framing of an SSE body, to tell whether we sit between two events; `None` for
    /// other bodies (nothing is ever inserted into them).
    events: Option<Boundaries>,
    finished: bool,
    timing: Option<Timing>,
}

/// What the relay reads: the provider's body, or a Bedrock event stream re-framed as SSE.
#[derive(Debug)]
pub(crate) enum Source {
    Provider(Incoming),
    Bedrock(Box<EventStream>),
}

impl Body for Source {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.get_mut() {
            Self::Provider(b) => Pin::new(b)
                .poll_frame(cx)
                .map(|f| f.map(|r| r.map_err(|e| Box::new(e) as BoxError))),
            Self::Bedrock(b) => Pin::new(b).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Provider(b) => b.is_end_stream(),
            Self::Bedrock(b) => b.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Provider(b) => b.size_hint(),
            Self::Bedrock(b) => b.size_hint(),
        }
    }
}

/// One provider's `upstream_duration_seconds` and `time_to_first_token_seconds` series,
/// each resolved on its first use, so a provider call looks no label up.
#[derive(Debug)]
pub(crate) struct Timers {
    metrics: Arc<Metrics>,
    upstream: &'static str,
    duration: OnceLock<Histogram>,
    ttft: OnceLock<Histogram>,
}

impl Timers {
    pub(crate) fn new(metrics: Arc<Metrics>, upstream: &'static str) -> Self {
        Self {
            metrics,
            upstream,
            duration: OnceLock::new(),
            ttft: OnceLock::new(),
        }
    }

    pub(crate) fn observe_duration(&self, seconds: f64) {
        self.duration
            .get_or_init(|| {
                self.metrics
                    .upstream_duration_seconds
                    .with_label_values(&[self.upstream])
            })
            .observe(seconds);
    }

    fn observe_ttft(&self, seconds: f64) {
        self.ttft
            .get_or_init(|| {
                self.metrics
                    .time_to_first_token_seconds
                    .with_label_values(&[self.upstream])
            })
            .observe(seconds);
    }
}

/// Measures one provider call for `upstream_duration_seconds`, `time_to_first_token_seconds`
/// and the mid-stream kinds of `upstream_errors_total`.
#[derive(Debug)]
pub(crate) struct Timing {
    pub(crate) timers: Arc<Timers>,
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
            self.timers.observe_ttft(self.start.elapsed().as_secs_f64());
        }
    }

    fn finish(self, error_kind: Option<&str>) {
        let t = &self.timers;
        t.observe_duration(self.start.elapsed().as_secs_f64());
        if let Some(kind) = error_kind {
            t.metrics
                .upstream_errors_total
                .with_label_values(&[t.upstream, kind])
                .inc();
        }
    }
}

impl Relay {
    /// A relay that inserts nothing until [`Relay::commit`]: while an answer is held, a
    /// keepalive or error event of ours would only be thrown away with it.
    pub(crate) fn new(inner: Source, deadline: Instant, timing: Timing) -> Self {
        Self {
            held: VecDeque::new(),
            inner,
            deadline: Box::pin(tokio::time::sleep_until(deadline)),
            keepalive: None,
            error_frame: None,
            events: timing.sse.then(Boundaries::default),
            finished: false,
            timing: Some(timing),
        }
    }

    /// The answer goes to the client: `held` is sent first, then the rest of the body with
    /// keepalives every `keepalive` and `error_frame` if the stream breaks (SSE only).
    pub(crate) fn commit(
        &mut self,
        held: VecDeque<Bytes>,
        keepalive: Option<Duration>,
        error_frame: Option<Bytes>,
    ) {
        self.held = held;
        if self.events.is_some() {
            self.keepalive = keepalive.map(|d| (d, Box::pin(tokio::time::sleep(d))));
            self.error_frame = error_frame;
        }
    }

    /// The next data frame while the answer is held (other frames are skipped).
    pub(crate) async fn frame(&mut self) -> Option<Result<Bytes, BoxError>> {
        loop {
            match http_body_util::BodyExt::frame(self).await? {
                Ok(frame) => match frame.into_data() {
                    Ok(data) => return Some(Ok(data)),
                    Err(_) => continue,
                },
                Err(e) => return Some(Err(e)),
            }
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
        if let Some(data) = this.held.pop_front() {
            return Poll::Ready(Some(Ok(Frame::data(data))));
        }
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
            Poll::Ready(Some(Err(e))) => return this.fail(e, "stream_broken"),
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
        self.held.is_empty()
            && (self.finished || (self.inner.is_end_stream() && self.error_frame.is_none()))
    }

    fn size_hint(&self) -> SizeHint {
        if self.keepalive.is_some() || self.error_frame.is_some() {
            return SizeHint::default();
        }
        let held: u64 = self.held.iter().map(|b| b.len() as u64).sum();
        let rest = if self.finished {
            SizeHint::with_exact(0)
        } else {
            self.inner.size_hint()
        };
        let mut hint = SizeHint::new();
        hint.set_lower(rest.lower() + held);
        if let Some(upper) = rest.upper() {
            hint.set_upper(upper + held);
        }
        hint
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
