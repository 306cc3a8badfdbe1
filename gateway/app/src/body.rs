//! [`ResponseBody`]: what the gateway sends back — its own small answers, or a relayed
//! provider stream.

use std::{
    pin::Pin,
    task::{Context, Poll},
};

use bytes::Bytes;
use gateway_upstream::{BoxError, Relay};
use http_body::{Body, Frame, SizeHint};

/// The body of every client-facing response.
#[derive(Debug)]
pub(crate) enum ResponseBody {
    /// A complete body the gateway produced (errors, probes).
    Full(Option<Bytes>),
    /// The provider's body, relayed as it arrives.
    Relay(Relay),
    /// The provider's body, relayed and metered.
    Observed(Box<crate::metering::Observed>),
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
            Self::Observed(o) => Pin::new(o.as_mut()).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Full(b) => b.is_none(),
            Self::Relay(r) => r.is_end_stream(),
            Self::Observed(o) => o.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Full(b) => SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64)),
            Self::Relay(r) => r.size_hint(),
            Self::Observed(o) => o.size_hint(),
        }
    }
}
