//! [`ResponseBody`]: what the gateway sends back — its own small answers, a relayed provider
//! body, or a metered exchange; [`InFlight`] and [`Measured`]: the in-flight accounting, a
//! client-facing body counted in the request metrics when it ends or is dropped.

use std::{
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use bytes::Bytes;
use gateway_core::BoxError;
use gateway_redaction::Restored;
use gateway_upstream::Relay;
use http_body::{Body, Frame, SizeHint};
use tokio::time::Instant;

use crate::route_meters::{RouteLabel, RouteMeters};

/// The body of every client-facing response.
#[derive(Debug)]
pub(crate) enum ResponseBody {
    /// A complete body the gateway produced (errors, probes).
    Full(Option<Bytes>),
    /// The provider's body, relayed as it arrives.
    Relay(Relay),
    /// A metered exchange: the provider's body metered and recorded, then (when the policy
    /// restores) with this request's placeholders restored for the client.
    Exchange(Box<Restored<crate::exchange::Exchange>>),
}

impl ResponseBody {
    /// An empty body.
    pub(crate) fn empty() -> Self {
        Self::Full(None)
    }
}

impl From<Bytes> for ResponseBody {
    fn from(b: Bytes) -> Self {
        Self::Full((!b.is_empty()).then_some(b))
    }
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.get_mut() {
            Self::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            Self::Relay(r) => Pin::new(r).poll_frame(cx),
            Self::Exchange(e) => Pin::new(e.as_mut()).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Full(b) => b.is_none(),
            Self::Relay(r) => r.is_end_stream(),
            Self::Exchange(e) => e.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Full(b) => SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64)),
            Self::Relay(r) => r.size_hint(),
            Self::Exchange(e) => e.size_hint(),
        }
    }
}

/// A client request in flight: counted in `inflight_requests` from [`InFlight::start`] until
/// dropped, then in `requests_total` and `request_duration_seconds`.
#[derive(Debug)]
pub(crate) struct InFlight {
    meters: Arc<RouteMeters>,
    /// The request body's bytes in the shared budget, returned with the count.
    body: gateway_intake::BodyPermit,
    route: RouteLabel,
    status: Option<http::StatusCode>,
    start: Instant,
}

impl InFlight {
    pub(crate) fn start(meters: Arc<RouteMeters>, start: Instant) -> Self {
        meters.metrics.inflight_requests.inc();
        Self {
            meters,
            body: gateway_intake::BodyPermit::default(),
            route: RouteLabel::Unknown,
            status: None,
            start,
        }
    }

    /// When the request arrived.
    pub(crate) fn started(&self) -> Instant {
        self.start
    }

    pub(crate) fn route(&mut self, route: RouteLabel) {
        self.route = route;
    }

    /// Keeps the request body's reservation until the response ends.
    pub(crate) fn hold_body(&mut self, permit: gateway_intake::BodyPermit) {
        self.body = permit;
    }

    /// Records the gateway's own time so far, minus `upstream_wait`, and the status, then
    /// wraps `body` so the request is counted when its body ends.
    pub(crate) fn respond(
        mut self,
        response: http::Response<ResponseBody>,
        upstream_wait: std::time::Duration,
    ) -> http::Response<Measured> {
        let overhead = self.start.elapsed().saturating_sub(upstream_wait);
        self.meters
            .observe_overhead(self.route, overhead.as_secs_f64());
        self.status = Some(response.status());
        response.map(|inner| Measured {
            inner,
            _in_flight: self,
        })
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.meters.metrics.inflight_requests.dec();
        self.meters
            .finish(self.route, self.status, self.start.elapsed().as_secs_f64());
    }
}

/// The client-facing body: counted when dropped (after its end, or when the client left).
#[derive(Debug)]
pub(crate) struct Measured {
    inner: ResponseBody,
    _in_flight: InFlight,
}

impl Body for Measured {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
