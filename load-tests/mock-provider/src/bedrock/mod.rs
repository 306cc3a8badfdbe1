//! The mock Bedrock: who may call it (`auth.rs`, SigV4 verified by `sigv4.rs`, or a Bedrock
//! API key) and its streamed answer: each Anthropic SSE event the mock would send, as an
//! AWS event-stream `chunk` frame (`{"bytes": base64 of the event's JSON}`), and a stream
//! error as an `exception` frame. Frames are encoded here (prelude, string headers, both
//! CRC32s), independently of the gateway's decoder.

mod auth;
mod sigv4;

use std::time::SystemTime;

use auth::check;
use base64::Engine;
use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::{Response, StatusCode};
use sigv4::Received;

use crate::body::MockBody;
use crate::config::BedrockCredentials;
use crate::route;

use crate::script::{InterruptKind, Interruption};
use crate::sse::Frames;

/// A Bedrock error answer's exception name (for `x-amzn-errortype`) and JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ErrorAnswer {
    /// E.g. `InvalidSignatureException`.
    pub(crate) error_type: &'static str,
    /// `{"message": …}` (`{"Message": …}` for a bad API key, as Bedrock sends it).
    pub(crate) body: String,
}

impl ErrorAnswer {
    pub(crate) fn new(error_type: &'static str, field: &str, message: &str) -> Self {
        Self {
            error_type,
            body: serde_json::json!({ field: message }).to_string(),
        }
    }
}

/// Checks a Bedrock request's credentials (`auth.rs`); the refusal, if any.
pub(crate) fn authorize(
    creds: &BedrockCredentials,
    parts: &http::request::Parts,
    path_and_query: &str,
    body: &[u8],
) -> Option<ErrorAnswer> {
    let received = Received {
        method: parts.method.as_str(),
        path_and_query,
        headers: &parts.headers,
        authority: parts.uri.authority().map(http::uri::Authority::as_str),
        body,
    };
    check(creds, &received, SystemTime::now()).err()
}

/// `answer` as a response: its JSON body, `x-amzn-errortype` and `x-amzn-requestid`.
pub(crate) fn error_response(
    status: StatusCode,
    answer: ErrorAnswer,
    request_id: &str,
) -> Response<MockBody> {
    let mut response = Response::new(MockBody::full(answer.body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    route::json_content_type(headers);
    headers.insert(
        HeaderName::from_static("x-amzn-errortype"),
        HeaderValue::from_static(answer.error_type),
    );
    if let Ok(id) = HeaderValue::try_from(request_id) {
        headers.insert(HeaderName::from_static("x-amzn-requestid"), id);
    }
    response
}

/// Bedrock's error for `status`, with its usual message unless `message` is given.
pub(crate) fn error_for_status(status: u16, message: Option<&str>) -> ErrorAnswer {
    let (error_type, default) = match status {
        400 => (
            "ValidationException",
            "Malformed input request, please reformat your input and try again.",
        ),
        403 => (
            "AccessDeniedException",
            "You don't have access to the model with the specified model ID.",
        ),
        404 => (
            "ResourceNotFoundException",
            "Could not resolve the foundation model from the provided model identifier.",
        ),
        408 => (
            "ModelTimeoutException",
            "Model has timed out in processing the request.",
        ),
        429 => (
            "ThrottlingException",
            "Too many requests, please wait before trying again.",
        ),
        503 | 529 => (
            "ServiceUnavailableException",
            "Bedrock is unable to process your request.",
        ),
        _ => (
            "InternalServerException",
            "The system encountered an unexpected error during processing. Try your request again.",
        ),
    };
    ErrorAnswer::new(error_type, "message", message.unwrap_or(default))
}

/// The content type of Bedrock's streamed answers.
pub(crate) const EVENT_STREAM_CONTENT_TYPE: &str = "application/vnd.amazon.eventstream";

/// One event-stream frame with string headers.
pub(crate) fn frame(headers: &[(&str, &str)], payload: &[u8]) -> Bytes {
    let mut head = Vec::new();
    for (name, value) in headers {
        // Names are short literals; values are at most a few hundred bytes.
        head.push(u8::try_from(name.len()).unwrap_or(u8::MAX));
        head.extend_from_slice(name.as_bytes());
        head.push(7);
        head.extend_from_slice(&u16::try_from(value.len()).unwrap_or(u16::MAX).to_be_bytes());
        head.extend_from_slice(value.as_bytes());
    }
    let total = 12 + head.len() + payload.len() + 4;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&u32::try_from(total).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(&u32::try_from(head.len()).unwrap_or(u32::MAX).to_be_bytes());
    let prelude_crc = crc32fast::hash(&out);
    out.extend_from_slice(&prelude_crc.to_be_bytes());
    out.extend_from_slice(&head);
    out.extend_from_slice(payload);
    let message_crc = crc32fast::hash(&out);
    out.extend_from_slice(&message_crc.to_be_bytes());
    Bytes::from(out)
}

/// The `chunk` frame of one SSE event (`event: …\ndata: {json}\n\n`); other bytes (a
/// comment, a bare `data:` line) carry no event and pass as an empty chunk list.
pub(crate) fn chunk(sse: &[u8]) -> Bytes {
    let Some(json) = data_of(sse) else {
        return Bytes::new();
    };
    let b64 = base64::engine::general_purpose::STANDARD.encode(json);
    chunk_frame(&format!(r#"{{"bytes":"{b64}","p":"abcdefghij"}}"#))
}

/// The Bedrock stream of an Anthropic stream's `frames`, with a frame fault of
/// `interruption` resolved to the bytes it sends.
pub(crate) fn stream(
    frames: &Frames,
    interruption: Option<&Interruption>,
) -> (Frames, Option<Interruption>) {
    let frames = Frames {
        head: frames.head.iter().map(|f| chunk(f)).collect(),
        deltas: frames.deltas.iter().map(|f| chunk(f)).collect(),
        tail: frames.tail.iter().map(|f| chunk(f)).collect(),
    };
    let resolved = interruption.map(|i| {
        let kind = match &i.kind {
            InterruptKind::BadCrc => {
                // Before content: the frame after `message_start` (the first of the plan).
                let next = if i.before_content {
                    frames.head.get(1)
                } else {
                    frames
                        .deltas
                        .get(i.after_deltas)
                        .or_else(|| frames.tail.first())
                };
                InterruptKind::Frame(corrupt_crc(next.map_or(&[][..], |f| f.as_ref())))
            }
            InterruptKind::Oversized(total) => InterruptKind::Frame(oversized(*total)),
            other => other.clone(),
        };
        Interruption { kind, ..i.clone() }
    });
    (frames, resolved)
}

/// `frame` with its message CRC (the last four bytes) wrong.
pub(crate) fn corrupt_crc(frame: &[u8]) -> Bytes {
    let mut bytes = frame.to_vec();
    if let Some(last) = bytes.last_mut() {
        *last ^= 0xff;
    }
    Bytes::from(bytes)
}

/// A valid `chunk` frame of a `ping` event, padded (in the `p` field, as Bedrock pads) to
/// `total` bytes when that is more than the unpadded frame.
pub(crate) fn oversized(total: usize) -> Bytes {
    let b64 = base64::engine::general_purpose::STANDARD.encode(br#"{"type":"ping"}"#);
    let empty = chunk_frame(&format!(r#"{{"bytes":"{b64}","p":""}}"#));
    let padding = "x".repeat(total.saturating_sub(empty.len()));
    chunk_frame(&format!(r#"{{"bytes":"{b64}","p":"{padding}"}}"#))
}

fn chunk_frame(payload: &str) -> Bytes {
    frame(
        &[
            (":event-type", "chunk"),
            (":content-type", "application/json"),
            (":message-type", "event"),
        ],
        payload.as_bytes(),
    )
}

/// The exception frame Bedrock sends for a stream error of Anthropic type `kind`.
pub(crate) fn exception(kind: &str, message: &str) -> Bytes {
    let exception = match kind {
        "overloaded_error" => "serviceUnavailableException",
        "rate_limit_error" => "throttlingException",
        "invalid_request_error" => "validationException",
        _ => "internalServerException",
    };
    let payload = serde_json::json!({ "message": message }).to_string();
    frame(
        &[
            (":exception-type", exception),
            (":content-type", "application/json"),
            (":message-type", "exception"),
        ],
        payload.as_bytes(),
    )
}

fn data_of(sse: &[u8]) -> Option<&[u8]> {
    let start = sse.windows(6).position(|w| w == b"data: ")? + 6;
    let rest = &sse[start..];
    let end = rest.iter().position(|b| *b == b'\n').unwrap_or(rest.len());
    Some(&rest[..end])
}
