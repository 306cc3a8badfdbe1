//! [`EventStream`]: a Bedrock `application/vnd.amazon.eventstream` body re-emitted as the
//! Anthropic SSE stream it carries.
//!
//! Frames arrive cut at any byte boundary; bytes are buffered until a whole frame is there
//! (at most [`FRAME_MAX_BYTES`]: the length in a frame's prelude is checked before buffering
//! more) and only whole frames are decoded (`aws-smithy-eventstream`, CRCs checked). A
//! `chunk` event's payload is `{"bytes":"<base64>"}`; the decoded bytes are one Anthropic
//! event's JSON and go out as `event: <its type>\ndata: <those bytes>\n\n`. An exception
//! frame becomes the Anthropic `event: error` of the matching type and ends the stream. A
//! frame that cannot be decoded (bad CRC, oversized, bad payload) fails the body, counted in
//! `upstream_eventstream_decode_errors_total`; before the commit that is a broken attempt,
//! after it the relay ends the client's stream with its error event.

use std::{
    pin::Pin,
    task::{Context, Poll},
};

use aws_smithy_eventstream::frame::read_message_from;
use aws_smithy_types::event_stream::{HeaderValue, Message};
use base64::Engine;
use bytes::{Buf, Bytes, BytesMut};
use gateway_core::BoxError;
use gateway_metrics::IntCounter;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use serde::Deserialize;

/// The largest event-stream frame accepted. Bedrock sends one Anthropic event per frame
/// (a text delta, a tool-input delta: bytes to a few KiB); 1 MiB leaves room for large
/// tool inputs and refuses a corrupt length before buffering it.
pub const FRAME_MAX_BYTES: usize = 1024 * 1024;
/// The prelude: total length, headers length (u32 BE each), their CRC32.
const PRELUDE_BYTES: usize = 12;

/// Why a Bedrock stream could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// A frame's prelude announces more than [`FRAME_MAX_BYTES`] (or less than a frame).
    #[error("a Bedrock event-stream frame of {0} bytes is outside the accepted bounds")]
    FrameSize(usize),
    /// The frame failed to decode (CRC mismatch, bad headers).
    #[error("a Bedrock event-stream frame failed to decode")]
    Frame(#[source] aws_smithy_eventstream::error::Error),
    /// A `chunk` payload is not `{"bytes": base64}` of a JSON event with a `type`.
    #[error("a Bedrock chunk event's payload is not a base64 Anthropic event")]
    Chunk,
    /// The stream ended inside a frame.
    #[error("the Bedrock event stream ended inside a frame")]
    Truncated,
}

/// The provider body, decoded and re-framed as SSE.
#[derive(Debug)]
pub(crate) struct EventStream {
    inner: Incoming,
    decoder: Decoder,
    /// The target's `upstream_eventstream_decode_errors_total` series, resolved once per
    /// target (see [`super::Target`]).
    decode_errors: IntCounter,
}

impl EventStream {
    pub(crate) fn new(inner: Incoming, decode_errors: IntCounter) -> Self {
        Self {
            inner,
            decoder: Decoder::default(),
            decode_errors,
        }
    }

    fn fail(&mut self, e: DecodeError) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.decoder.done = true;
        self.decoder.buf.clear();
        self.decode_errors.inc();
        Poll::Ready(Some(Err(Box::new(e))))
    }
}

/// The frame buffer and the re-framing, apart from the body it reads.
#[derive(Debug, Default)]
pub(crate) struct Decoder {
    buf: BytesMut,
    /// The provider's body ended, or an exception ended the stream.
    done: bool,
}

impl Decoder {
    /// Buffers bytes as they arrived.
    pub(crate) fn feed(&mut self, data: &[u8]) {
        if !self.done {
            self.buf.extend_from_slice(data);
        }
    }

    /// Decodes the whole frames buffered into SSE bytes (empty when none is complete).
    pub(crate) fn drain(&mut self) -> Result<Vec<u8>, DecodeError> {
        let mut out = Vec::new();
        while !self.done && self.buf.len() >= PRELUDE_BYTES {
            let total = usize::try_from(self.buf.as_ref().get_u32()).unwrap_or(usize::MAX);
            if !(PRELUDE_BYTES + 4..=FRAME_MAX_BYTES).contains(&total) {
                return Err(DecodeError::FrameSize(total));
            }
            if self.buf.len() < total {
                break;
            }
            let frame = self.buf.split_to(total).freeze();
            let message = read_message_from(frame).map_err(DecodeError::Frame)?;
            self.done |= reframe(&message, &mut out)?;
        }
        Ok(out)
    }
}

/// Appends the SSE event of `message` to `out`; true when the message ends the stream.
fn reframe(message: &Message, out: &mut Vec<u8>) -> Result<bool, DecodeError> {
    let header = |name: &str| {
        message.headers().iter().find_map(|h| match h.value() {
            HeaderValue::String(s) if h.name().as_str() == name => Some(s.as_str().to_owned()),
            _ => None,
        })
    };
    match header(":message-type").as_deref() {
        Some("event") => {
            if header(":event-type").as_deref() == Some("chunk") {
                chunk(message.payload(), out)?;
            }
            Ok(false)
        }
        Some("exception") => {
            let kind = header(":exception-type").unwrap_or_default();
            error_event(&kind, message.payload(), out);
            Ok(true)
        }
        Some("error") => {
            let kind = header(":error-code").unwrap_or_default();
            error_event(&kind, message.payload(), out);
            Ok(true)
        }
        _ => Ok(false),
    }
}

#[derive(Deserialize)]
struct Chunk<'a> {
    #[serde(borrow)]
    bytes: &'a str,
}

#[derive(Deserialize)]
struct Typed<'a> {
    #[serde(borrow, rename = "type")]
    kind: &'a str,
}

fn chunk(payload: &[u8], out: &mut Vec<u8>) -> Result<(), DecodeError> {
    let chunk: Chunk<'_> = serde_json::from_slice(payload).map_err(|_| DecodeError::Chunk)?;
    let mut json = base64::engine::general_purpose::STANDARD
        .decode(chunk.bytes)
        .map_err(|_| DecodeError::Chunk)?;
    let kind = serde_json::from_slice::<Typed<'_>>(&json)
        .map_err(|_| DecodeError::Chunk)?
        .kind
        .to_owned();
    // A raw line break can only be JSON whitespace (never inside a string); it would end the
    // SSE `data:` line, so it becomes a space.
    for b in &mut json {
        if matches!(*b, b'\n' | b'\r') {
            *b = b' ';
        }
    }
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(kind.as_bytes());
    out.extend_from_slice(b"\ndata: ");
    out.extend_from_slice(&json);
    out.extend_from_slice(b"\n\n");
    Ok(())
}

/// The Anthropic error type of a Bedrock exception: overloads and server errors stay
/// retryable, throttling is a rate limit, validation a client error.
pub(crate) fn anthropic_error_type(exception: &str) -> &'static str {
    match exception {
        "throttlingException" | "ThrottlingException" => "rate_limit_error",
        "serviceUnavailableException" | "ServiceUnavailableException" => "overloaded_error",
        "validationException" | "ValidationException" => "invalid_request_error",
        "accessDeniedException" | "AccessDeniedException" => "permission_error",
        "resourceNotFoundException" | "ResourceNotFoundException" => "not_found_error",
        _ => "api_error",
    }
}

fn error_event(exception: &str, payload: &[u8], out: &mut Vec<u8>) {
    #[derive(Deserialize)]
    struct Exception {
        message: Option<String>,
    }
    let message = serde_json::from_slice::<Exception>(payload)
        .ok()
        .and_then(|e| e.message)
        .unwrap_or_else(|| format!("Bedrock {exception}"));
    let data = crate::anthropic_error::body(anthropic_error_type(exception), &message);
    out.extend_from_slice(b"event: error\ndata: ");
    out.extend_from_slice(data.as_bytes());
    out.extend_from_slice(b"\n\n");
}

impl Body for EventStream {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        loop {
            match this.decoder.drain() {
                Ok(sse) if !sse.is_empty() => {
                    return Poll::Ready(Some(Ok(Frame::data(Bytes::from(sse)))));
                }
                Ok(_) => {}
                Err(e) => return this.fail(e),
            }
            if this.decoder.done {
                return Poll::Ready(None);
            }
            match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        this.decoder.feed(&data);
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    this.decoder.done = true;
                    return Poll::Ready(Some(Err(Box::new(e))));
                }
                Poll::Ready(None) => {
                    if !this.decoder.buf.is_empty() {
                        return this.fail(DecodeError::Truncated);
                    }
                    this.decoder.done = true;
                    return Poll::Ready(None);
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.decoder.done
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

#[cfg(test)]
mod tests;
