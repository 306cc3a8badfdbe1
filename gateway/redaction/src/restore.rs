//! Reversible redaction, opt-in per policy (`[policy.redaction] restore = true`): where the
//! model echoes a placeholder minted for *this request* (its [`RestoreMap`]), the client gets
//! the original value back. Only in answer text and tool-call arguments, never in thinking:
//! Anthropic `text_delta.text` / `input_json_delta.partial_json` and non-streamed `text` /
//! `tool_use.input`; OpenAI Chat `delta.content` / `delta.tool_calls[].function.arguments`
//! and their non-streamed `message` fields; Responses `response.output_text.*`,
//! `response.function_call_arguments.*`, finished items and the final response.
//!
//! [`Restored`] wraps the metered body (any `B`), so metering and transcripts see the
//! provider's frames with placeholders and only the client sees originals. Events that need
//! no change pass through byte for byte; a rewritten event changes only the restored JSON
//! string. A placeholder split across events is held back (the engine's `Restorer`) and
//! carried into the next delta of the same block, or flushed in an event of its own before
//! the block ends. Restores are counted (`llm_gateway_restores_total`) and logged by count,
//! never by value.

mod events;
mod json;
mod sse;

use std::{
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use bytes::Bytes;
use gateway_core::{Api, BoxError};
use gateway_metrics::Metrics;
use gateway_redact::{RestoreMap, Restorer, Target};
use http::{Response, header};
use http_body::{Body, Frame, SizeHint};

/// Largest SSE event, or non-streamed JSON body, held for restoring. Past it the rest of the
/// response is relayed as is (placeholders stay placeholders: nothing leaks, restore stops).
const HOLD_MAX_BYTES: usize = 16 * 1024 * 1024;

/// `response` with placeholders restored, when the request has a restore map and the
/// response is a successful JSON or SSE answer; otherwise relayed unchanged (still wrapped, so
/// the response chain has one type).
pub fn restore<B>(
    response: Response<B>,
    map: Option<Arc<RestoreMap>>,
    api: Api,
    metrics: &Arc<Metrics>,
) -> Response<Restored<B>> {
    let rewriter = map.and_then(|map| {
        // Provider errors pass through untouched.
        if !response.status().is_success() {
            return None;
        }
        if gateway_core::sse::is_event_stream(response.headers()) {
            return Some(Rewriter::Sse(sse::SseRestore::new(api, map)));
        }
        let json = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"));
        json.then(|| Rewriter::Json(json::JsonRestore::new(api, map)))
    });
    let (mut parts, inner) = response.into_parts();
    if rewriter.is_some() {
        // The length changes with every restore.
        parts.headers.remove(header::CONTENT_LENGTH);
    }
    let body = Restored {
        inner,
        rewriter,
        done: false,
        counted: 0,
        metrics: metrics.clone(),
        span: tracing::Span::current(),
    };
    Response::from_parts(parts, body)
}

/// Restores every placeholder of `map` in a complete string.
fn restore_all(map: &Arc<RestoreMap>, text: &str, target: Target) -> (String, u64) {
    let mut r = Restorer::new(map.clone());
    let mut out = r.push(text, target);
    out.push_str(&r.finish());
    (out, r.restored())
}

#[derive(Debug)]
enum Rewriter {
    Sse(sse::SseRestore),
    Json(json::JsonRestore),
}

impl Rewriter {
    fn feed(&mut self, data: Bytes) -> Bytes {
        match self {
            Self::Sse(s) => s.feed(data),
            Self::Json(j) => j.feed(data),
        }
    }

    fn finish(&mut self) -> Bytes {
        match self {
            Self::Sse(s) => s.finish(),
            Self::Json(j) => j.finish(),
        }
    }

    fn restored(&self) -> u64 {
        match self {
            Self::Sse(s) => s.restored(),
            Self::Json(j) => j.restored(),
        }
    }
}

/// A response body with this request's placeholders restored (see the module docs); without
/// a rewriter, `inner` relayed frame for frame.
#[derive(Debug)]
pub struct Restored<B> {
    inner: B,
    rewriter: Option<Rewriter>,
    done: bool,
    /// Restores already added to the counter.
    counted: u64,
    metrics: Arc<Metrics>,
    span: tracing::Span,
}

/// Adds restores beyond those already `counted` (`now` is the rewriter's running total).
fn add_count(counted: &mut u64, metrics: &Metrics, now: u64) {
    if now > *counted {
        metrics.restores_total.inc_by(now - *counted);
        *counted = now;
    }
}

impl<B> Body for Restored<B>
where
    B: Body<Data = Bytes, Error = BoxError> + Unpin,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        let Some(rewriter) = &mut this.rewriter else {
            return Pin::new(&mut this.inner).poll_frame(cx);
        };
        loop {
            if this.done {
                return Poll::Ready(None);
            }
            return match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) => {
                        let out = rewriter.feed(data);
                        let now = rewriter.restored();
                        add_count(&mut this.counted, &this.metrics, now);
                        if out.is_empty() {
                            continue;
                        }
                        Poll::Ready(Some(Ok(Frame::data(out))))
                    }
                    Err(frame) => Poll::Ready(Some(Ok(frame))),
                },
                Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
                Poll::Ready(None) => {
                    this.done = true;
                    let out = rewriter.finish();
                    let now = rewriter.restored();
                    add_count(&mut this.counted, &this.metrics, now);
                    if out.is_empty() {
                        Poll::Ready(None)
                    } else {
                        Poll::Ready(Some(Ok(Frame::data(out))))
                    }
                }
                Poll::Pending => Poll::Pending,
            };
        }
    }

    fn is_end_stream(&self) -> bool {
        match self.rewriter {
            Some(_) => self.done,
            None => self.inner.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self.rewriter {
            Some(_) => SizeHint::default(),
            None => self.inner.size_hint(),
        }
    }
}

impl<B> Drop for Restored<B> {
    fn drop(&mut self) {
        if self.counted > 0 {
            // Counts only: which values were restored is never logged.
            tracing::info!(parent: &self.span, restored = self.counted, "placeholders restored in the response");
        }
    }
}

#[cfg(test)]
mod tests;
