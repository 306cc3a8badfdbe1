//! Anthropic Messages answers: JSON message, SSE event sequence, errors and the model list.
//!
//! Stream: `message_start` (empty content, initial usage, `output_tokens` 1),
//! `content_block_start` (text), `ping`, N × `content_block_delta` (`text_delta`),
//! `content_block_stop`, `message_delta` (`end_turn`, cumulative usage), `message_stop`.

use bytes::Bytes;
use serde_json::json;

use crate::config::Usage;
use crate::reply::Reply;
use crate::sse::{self, Frames};

/// Model named in answers when the request names none.
pub(crate) const DEFAULT_MODEL: &str = "claude-sonnet-4-6";

/// `GET /v1/models`.
pub(crate) const MODELS: &str = concat!(
    r#"{"data":["#,
    r#"{"type":"model","id":"claude-sonnet-4-6","display_name":"Claude Sonnet 4.6","created_at":"2026-01-01T00:00:00Z"},"#,
    r#"{"type":"model","id":"claude-haiku-4-5","display_name":"Claude Haiku 4.5","created_at":"2025-10-01T00:00:00Z"},"#,
    r#"{"type":"model","id":"claude-opus-4-6","display_name":"Claude Opus 4.6","created_at":"2026-01-01T00:00:00Z"}"#,
    r#"],"has_more":false,"first_id":"claude-sonnet-4-6","last_id":"claude-opus-4-6"}"#
);

/// The parts of every Anthropic answer that do not depend on the request.
#[derive(Debug)]
pub(crate) struct Canned {
    /// Everything of the JSON message after the model.
    message_tail: String,
    /// `message_start` usage (output 1) and the closing braces.
    start_tail: String,
    head: [Bytes; 2],
    deltas: Vec<Bytes>,
    tail: [Bytes; 3],
}

impl Canned {
    pub(crate) fn new(reply: &Reply, usage: &Usage) -> Self {
        let full_usage = usage_json(usage, usage.output_tokens);
        let deltas = reply
            .deltas
            .iter()
            .map(|text| {
                sse::event(
                    "content_block_delta",
                    &format!(
                        r#"{{"type":"content_block_delta","index":0,"delta":{{"type":"text_delta","text":{text}}}}}"#
                    ),
                )
            })
            .collect();
        let message_delta = format!(
            r#"{{"type":"message_delta","delta":{{"stop_reason":"end_turn","stop_sequence":null}},"usage":{{"input_tokens":{},"cache_creation_input_tokens":{},"cache_read_input_tokens":{},"output_tokens":{}}}}}"#,
            usage.input_tokens,
            usage.cache_creation_input_tokens(),
            usage.cache_read_input_tokens,
            usage.output_tokens,
        );
        Self {
            message_tail: format!(
                r#","content":[{{"type":"text","text":{}}}],"stop_reason":"end_turn","stop_sequence":null,"usage":{full_usage}}}"#,
                reply.full
            ),
            start_tail: format!(
                r#","content":[],"stop_reason":null,"stop_sequence":null,"usage":{}}}}}"#,
                usage_json(usage, 1)
            ),
            head: [
                sse::event(
                    "content_block_start",
                    r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
                ),
                sse::event("ping", r#"{"type":"ping"}"#),
            ],
            deltas,
            tail: [
                sse::event(
                    "content_block_stop",
                    r#"{"type":"content_block_stop","index":0}"#,
                ),
                sse::event("message_delta", &message_delta),
                sse::event("message_stop", r#"{"type":"message_stop"}"#),
            ],
        }
    }

    /// The non-streamed answer.
    pub(crate) fn message(&self, id: u64, model_json: &str) -> Bytes {
        Bytes::from(format!(
            r#"{{"id":"msg_mock_{id}","type":"message","role":"assistant","model":{model_json}{}"#,
            self.message_tail
        ))
    }

    /// The frames of the streamed answer.
    pub(crate) fn stream(&self, id: u64, model_json: &str) -> Frames {
        let start = format!(
            r#"{{"type":"message_start","message":{{"id":"msg_mock_{id}","type":"message","role":"assistant","model":{model_json}{}"#,
            self.start_tail
        );
        let mut head = Vec::with_capacity(self.head.len() + 1);
        head.push(sse::event("message_start", &start));
        head.extend(self.head.iter().cloned());
        Frames {
            head,
            deltas: self.deltas.clone(),
            tail: self.tail.to_vec(),
        }
    }
}

fn usage_json(usage: &Usage, output_tokens: u64) -> String {
    format!(
        r#"{{"input_tokens":{},"cache_creation_input_tokens":{},"cache_read_input_tokens":{},"cache_creation":{{"ephemeral_5m_input_tokens":{},"ephemeral_1h_input_tokens":{}}},"output_tokens":{output_tokens}}}"#,
        usage.input_tokens,
        usage.cache_creation_input_tokens(),
        usage.cache_read_input_tokens,
        usage.cache_write_5m_input_tokens,
        usage.cache_write_1h_input_tokens,
    )
}

/// `event: error` sent after a 200.
pub(crate) fn stream_error(error_type: &str, message: &str) -> Bytes {
    let body = json!({"type": "error", "error": {"type": error_type, "message": message}});
    sse::event("error", &body.to_string())
}

/// `{"type":"error","error":{…},"request_id":…}`.
pub(crate) fn error_body(error_type: &str, message: &str, request_id: &str) -> Bytes {
    let body = json!({
        "type": "error",
        "error": {"type": error_type, "message": message},
        "request_id": request_id,
    });
    Bytes::from(body.to_string())
}

/// The error type and message Anthropic sends with `status`.
pub(crate) fn error_for_status(status: u16) -> (&'static str, &'static str) {
    match status {
        400 => ("invalid_request_error", "Invalid request."),
        401 => ("authentication_error", "invalid x-api-key"),
        402 => (
            "billing_error",
            "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.",
        ),
        403 => (
            "permission_error",
            "Your API key does not have permission to use the specified resource.",
        ),
        404 => (
            "not_found_error",
            "The requested resource could not be found.",
        ),
        413 => (
            "request_too_large",
            "Request exceeds the maximum allowed number of bytes.",
        ),
        429 => (
            "rate_limit_error",
            "Number of request tokens has exceeded your per-minute rate limit (https://docs.claude.com/en/api/rate-limits); see the response headers for current usage. Please reduce the prompt length or the maximum tokens requested, or try again later.",
        ),
        529 => ("overloaded_error", "Overloaded"),
        500..=599 => ("api_error", "Internal server error"),
        _ => ("invalid_request_error", "Invalid request."),
    }
}
