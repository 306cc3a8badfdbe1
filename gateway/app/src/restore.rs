//! Reversible redaction, opt-in per policy (`[policy.redaction] restore = true`): where the
//! model echoes a placeholder minted for *this request* (its [`RestoreMap`]), the client gets
//! the original value back. Only in answer text and tool-call arguments, never in thinking:
//! Anthropic `text_delta.text` / `input_json_delta.partial_json` and non-streamed `text` /
//! `tool_use.input`; OpenAI Chat `delta.content` / `delta.tool_calls[].function.arguments`
//! and their non-streamed `message` fields; Responses `response.output_text.*`,
//! `response.function_call_arguments.*`, finished items and the final response.
//!
//! [`Restored`] wraps the metered `Observed` body, so metering and transcripts see the
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
use gateway_metrics::Metrics;
use gateway_redact::{RestoreMap, Restorer, Target};
use gateway_upstream::BoxError;
use http::{Response, header};
use http_body::{Body, Frame, SizeHint};

use crate::{ResponseBody, routes::Endpoint};

/// Largest SSE event, or non-streamed JSON body, held for restoring. Past it the rest of the
/// response is relayed as is (placeholders stay placeholders: nothing leaks, restore stops).
const HOLD_MAX_BYTES: usize = 16 * 1024 * 1024;

/// The response wire format being restored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Api {
    Anthropic,
    Chat,
    Responses,
}

/// `response` with placeholders restored, when the request has a restore map and the
/// response is a successful JSON or SSE answer of a model route; otherwise unchanged.
pub(crate) fn wrap(
    response: Response<ResponseBody>,
    map: Option<Arc<RestoreMap>>,
    endpoint: Endpoint,
    metrics: &Arc<Metrics>,
) -> Response<ResponseBody> {
    let Some(map) = map else {
        return response;
    };
    let api = match endpoint {
        Endpoint::Messages => Api::Anthropic,
        Endpoint::ChatCompletions => Api::Chat,
        Endpoint::Responses => Api::Responses,
        Endpoint::CountTokens | Endpoint::Models => return response,
    };
    // Provider errors pass through untouched.
    if !response.status().is_success() {
        return response;
    }
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let rewriter = if content_type.starts_with("text/event-stream") {
        Rewriter::Sse(sse::SseRestore::new(api, map))
    } else if content_type.starts_with("application/json") {
        Rewriter::Json(json::JsonRestore::new(api, map))
    } else {
        return response;
    };
    let (mut parts, inner) = response.into_parts();
    // The length changes with every restore.
    parts.headers.remove(header::CONTENT_LENGTH);
    let body = Restored {
        inner,
        rewriter,
        done: false,
        counted: 0,
        metrics: metrics.clone(),
        span: tracing::Span::current(),
    };
    Response::from_parts(parts, ResponseBody::Restored(Box::new(body)))
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

/// A response body with this request's placeholders restored (see the module docs).
#[derive(Debug)]
pub(crate) struct Restored {
    inner: ResponseBody,
    rewriter: Rewriter,
    done: bool,
    /// Restores already added to the counter.
    counted: u64,
    metrics: Arc<Metrics>,
    span: tracing::Span,
}

impl Restored {
    fn count(&mut self) {
        let now = self.rewriter.restored();
        if now > self.counted {
            self.metrics.restores_total.inc_by(now - self.counted);
            self.counted = now;
        }
    }
}

impl Body for Restored {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        loop {
            if this.done {
                return Poll::Ready(None);
            }
            return match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) => {
                        let out = this.rewriter.feed(data);
                        this.count();
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
                    let out = this.rewriter.finish();
                    this.count();
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
        self.done
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

impl Drop for Restored {
    fn drop(&mut self) {
        if self.counted > 0 {
            // Counts only: which values were restored is never logged.
            tracing::info!(parent: &self.span, restored = self.counted, "placeholders restored in the response");
        }
    }
}

#[cfg(test)]
mod tests;
