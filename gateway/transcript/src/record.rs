//! The record format: what the request path hands over ([`Pending`]: [`Meta`], the redacted
//! request body and the captured response frames) and what is stored ([`Record`], one per
//! request, referencing [`crate::Block`]s by hash), one JSON object per line ([`Line`]).

use std::collections::BTreeMap;

use bytes::Bytes;
use gateway_core::{Api, Usage};
use serde::{Deserialize, Serialize};

use crate::block::{Block, BlockHash};

/// The format version written in every record (`"v"`).
///
/// - 1: blocks addressed by SHA-256 of their canonical JSON;
/// - 2: blocks addressed by BLAKE3 ([`crate::BlockHash`]). Readers read both the same way.
pub const FORMAT_VERSION: u32 = 2;

/// How much of a request is recorded (per policy).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Metadata and the conversation.
    #[default]
    Full,
    /// Metadata only: no request or response content.
    Metadata,
}

/// Everything about a request except its content, known on the request path when the
/// response ends. Stored as is (flattened) in the [`Record`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    /// The gateway's request id (`x-request-id`).
    pub id: String,
    /// The agent session (`x-claude-code-session-id` or the configured header).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// The agent within the session, when the client says (`x-claude-code-agent-id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// The agent that started this one (`x-claude-code-parent-agent-id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_agent: Option<String>,
    /// The route prefix the client used (`/wizard/v1/messages` → `wizard`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// The authenticated subject. Never a credential.
    pub subject: String,
    /// The subject's organisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    /// The API called.
    pub api: Api,
    /// The model asked for.
    pub model: String,
    /// The target that served (its name, as in `x-gateway-upstream`: `anthropic`, `openai`, or
    /// a fallback's name), or whose failure the client got.
    pub upstream: String,
    /// The id of the key that target was sent with (safe to log, never the key). Absent in
    /// records written before it was recorded, and for upstreams without a key pool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// Attempts made (as in `x-gateway-attempts`). Absent in older records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts: Option<u32>,
    /// Targets of earlier attempts that failed after their request was sent, so the provider
    /// may have billed them; one entry per attempt, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub possibly_billed: Vec<String>,
    /// When the request arrived, RFC 3339 UTC with milliseconds (`2026-11-26T12:00:00.123Z`).
    pub started_at: String,
    /// Arrival to the end of the response body, milliseconds.
    pub latency_ms: u64,
    /// Arrival to the first response body byte, milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttft_ms: Option<u64>,
    /// The status the client got.
    pub status: u16,
    /// Whether the response body reached its end (false: the client left or the stream broke).
    pub complete: bool,
    /// Tokens.
    pub usage: Usage,
    /// True when the provider reported no usage and `usage.input` is the gateway's estimate.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub usage_estimated: bool,
    /// What the request cost, micro-USD.
    pub cost_micro_usd: u64,
    /// Secrets redacted from the request, by rule name. Never a value.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub redactions: BTreeMap<String, u32>,
}

impl Meta {
    /// The day partition of this record: `YYYY-MM-DD` (UTC) of [`Meta::started_at`].
    pub fn day(&self) -> &str {
        self.started_at.get(..10).unwrap_or("unknown-day")
    }
}

/// The response body as relayed, captured frame by frame on the request path (cheap `Bytes`
/// clones) up to [`ResponseCapture::MAX_BYTES`]; parsed only on the writer thread.
#[derive(Clone, Debug, Default)]
pub struct ResponseCapture {
    /// Whether the body is an SSE stream (else one JSON document).
    pub sse: bool,
    frames: Vec<Bytes>,
    bytes: usize,
    truncated: bool,
}

impl ResponseCapture {
    /// Most response bytes kept for one record; the rest is not recorded and the record says
    /// `response_truncated`.
    pub const MAX_BYTES: usize = 4 << 20;

    /// An empty capture.
    pub fn new(sse: bool) -> Self {
        Self {
            sse,
            ..Self::default()
        }
    }

    /// Keeps `frame` if it fits under [`ResponseCapture::MAX_BYTES`].
    pub fn push(&mut self, frame: &Bytes) {
        if self.truncated || self.bytes + frame.len() > Self::MAX_BYTES {
            self.truncated = true;
            return;
        }
        self.bytes += frame.len();
        self.frames.push(frame.clone());
    }

    /// The frames kept, in order.
    pub fn frames(&self) -> &[Bytes] {
        &self.frames
    }

    /// Bytes kept.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Whether frames were left out.
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// The frames in one buffer of exactly their length (see [`Pending::compact`]).
    fn compact(&mut self) {
        if self.frames.len() == 1 {
            if let Some(frame) = self.frames.pop() {
                self.frames.push(exact(frame));
            }
            return;
        }
        let mut all = Vec::with_capacity(self.bytes);
        for frame in &self.frames {
            all.extend_from_slice(frame);
        }
        self.frames.clear();
        if !all.is_empty() {
            self.frames.push(Bytes::from(all));
        }
    }
}

/// `bytes` in a buffer of its own of exactly its length: kept as it is when it is one already
/// (no other handle shares its allocation and the allocation, from this handle's start, is no
/// longer: a body the intake joined from several reads, a redacted or edited body), else
/// copied (a slice of a connection's read buffer). Keeping it spares the request path a copy
/// and an allocation of the whole body. The check sees the allocation from this handle's
/// start only: a buffer whose head was split off and freed (a read buffer once its header
/// bytes are gone) and whose body ends exactly at its end is kept with that head, an
/// undercount of at most the head's bytes, within `HTTP1_MAX_BUF_BYTES`.
fn exact(bytes: Bytes) -> Bytes {
    match bytes.try_into_mut() {
        Ok(own) if own.capacity() == own.len() => own.freeze(),
        Ok(loose) => Bytes::copy_from_slice(&loose),
        Err(shared) => Bytes::copy_from_slice(&shared),
    }
}

/// What the request path hands to the [`crate::Recorder`].
#[derive(Clone, Debug)]
pub struct Pending {
    /// Everything but the content.
    pub meta: Meta,
    /// Full or metadata only.
    pub mode: Mode,
    /// The request body as forwarded, after redaction. Empty in [`Mode::Metadata`].
    pub request_body: Bytes,
    /// The response as relayed. Empty in [`Mode::Metadata`].
    pub response: ResponseCapture,
}

impl Pending {
    /// The content bytes it holds (request body and captured response), for the queue's
    /// byte bound.
    pub fn content_bytes(&self) -> usize {
        self.request_body.len() + self.response.bytes()
    }

    /// Puts the content in buffers of its own, so that a queued record holds what
    /// [`Pending::content_bytes`] says and no more. The request body and the response frames
    /// may be slices of the connections' read buffers (up to `HTTP1_MAX_BUF_BYTES`, 64 KiB,
    /// each): kept as they are, a queued 10 KB record pinned several times its size, and
    /// the queue's byte bound did not bound memory. Those are copied; a body already alone
    /// in a buffer of its exact length is kept as it is.
    pub fn compact(&mut self) {
        if !self.request_body.is_empty() {
            self.request_body = exact(std::mem::take(&mut self.request_body));
        }
        self.response.compact();
    }
}

/// One message of the request: its role and its content blocks, in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRefs {
    /// `user`, `assistant`, `system`, `tool`, ...
    pub role: String,
    /// The message's content, block by block.
    pub content: Vec<BlockHash>,
}

/// The request's conversation, by reference.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestRefs {
    /// System prompt blocks (Anthropic `system`, Responses `instructions`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub system: Vec<BlockHash>,
    /// Tool definitions, one block each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<BlockHash>,
    /// The messages (Responses: the input items), in order.
    pub messages: Vec<MessageRefs>,
}

/// The assembled response, by reference.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseRefs {
    /// Output blocks in order: text, tool calls, (Anthropic) thinking summaries as sent.
    pub content: Vec<BlockHash>,
}

/// One stored record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// [`FORMAT_VERSION`].
    pub v: u32,
    /// Everything but the content.
    #[serde(flatten)]
    pub meta: Meta,
    /// Full or metadata only.
    pub mode: Mode,
    /// Why generation stopped (`end_turn`, `tool_use`, `stop`, `tool_calls`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_reason: Option<String>,
    /// The request's conversation (absent in metadata mode or when the body was not JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<RequestRefs>,
    /// The assembled response (absent in metadata mode, or for an error response).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<ResponseRefs>,
    /// The response was longer than [`ResponseCapture::MAX_BYTES`]; `response` is partial.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub response_truncated: bool,
}

/// One line of a transcript file or object.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum Line {
    /// A content block, written before the first record that references it in its partition.
    Block(Block),
    /// A request.
    Record(Box<Record>),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record line as written before the serving key and attempts were recorded.
    const OLD_LINE: &str = r#"{"t":"record","v":2,"id":"r1","subject":"alice","api":"anthropic_messages","model":"claude-x","upstream":"anthropic","started_at":"2026-11-26T12:00:00.000Z","latency_ms":1,"status":200,"complete":true,"usage":{"input":1,"output":2,"cache_read":0,"cache_write_5m":0,"cache_write_1h":0},"cost_micro_usd":3,"mode":"metadata"}"#;

    #[test]
    fn compacting_keeps_the_content_and_drops_the_shared_buffers() {
        // Slices of one larger buffer, as hyper hands out a connection's reads.
        let read_buffer = Bytes::from(vec![b'x'; 64 << 10]);
        let mut response = ResponseCapture::new(true);
        for frame in ["data: a\n", "\ndata: b", "\n\n"] {
            response.push(&Bytes::from(frame));
        }
        let mut pending = Pending {
            meta: serde_json::from_str::<Line>(OLD_LINE)
                .map(|l| match l {
                    Line::Record(r) => r.meta,
                    Line::Block(_) => unreachable!(),
                })
                .unwrap(),
            mode: Mode::Full,
            request_body: read_buffer.slice(100..10_340),
            response,
        };
        let before = (pending.request_body.to_vec(), pending.content_bytes());
        assert!(!read_buffer.is_unique());
        pending.compact();
        assert!(
            read_buffer.is_unique(),
            "the record no longer pins the read buffer"
        );
        assert_eq!(
            (pending.request_body.to_vec(), pending.content_bytes()),
            before
        );
        assert_eq!(
            pending.response.frames(),
            [Bytes::from("data: a\n\ndata: b\n\n")]
        );
        assert!(!pending.response.truncated());
        let mut empty = ResponseCapture::new(false);
        empty.compact();
        assert!(empty.frames().is_empty());
    }

    #[test]
    fn a_body_alone_in_a_buffer_of_its_length_is_kept_and_any_other_is_copied() {
        // The intake's joined body: its own buffer, exactly its length.
        let joined = Bytes::from(vec![b'j'; 10_240]);
        let at = joined.as_ptr();
        let kept = exact(joined);
        assert_eq!(
            (kept.as_ptr(), kept.len()),
            (at, 10_240),
            "kept, not copied"
        );
        // Shared with another handle: copied, and the other handle alone holds the original.
        let shared = Bytes::from(vec![b's'; 4_096]);
        let other = shared.clone();
        let copied = exact(shared);
        assert_ne!(copied.as_ptr(), other.as_ptr());
        assert_eq!(copied, other);
        assert!(other.is_unique());
        // Alone but in a larger buffer (a read buffer's tail): copied to its length.
        let mut loose = bytes::BytesMut::with_capacity(64 << 10);
        loose.extend_from_slice(&[b'l'; 1_000]);
        let loose = loose.freeze();
        let loose_at = loose.as_ptr();
        let copied = exact(loose);
        assert_ne!(copied.as_ptr(), loose_at);
        assert_eq!(copied.len(), 1_000);
        // A capture of one frame alone in its buffer is kept too.
        let frame = Bytes::from(b"{\"id\":\"msg_1\"}".to_vec());
        let frame_at = frame.as_ptr();
        let mut response = ResponseCapture::new(false);
        response.push(&frame);
        drop(frame);
        response.compact();
        assert_eq!(response.frames()[0].as_ptr(), frame_at);
    }

    #[test]
    fn older_records_read_without_the_serving_key_and_new_ones_round_trip() {
        let Line::Record(mut record) = serde_json::from_str::<Line>(OLD_LINE).unwrap() else {
            panic!("not a record")
        };
        assert_eq!((&record.meta.key_id, record.meta.attempts), (&None, None));
        assert!(record.meta.possibly_billed.is_empty());
        let again = serde_json::to_string(&Line::Record(record.clone())).unwrap();
        assert!(
            !again.contains("key_id") && !again.contains("possibly_billed"),
            "{again}"
        );
        record.meta.upstream = "bedrock".to_owned();
        record.meta.key_id = Some("AWS_ID".to_owned());
        record.meta.attempts = Some(2);
        record.meta.possibly_billed = vec!["anthropic".to_owned()];
        let line = serde_json::to_string(&Line::Record(record.clone())).unwrap();
        assert!(
            line.contains(r#""upstream":"bedrock","key_id":"AWS_ID","attempts":2,"possibly_billed":["anthropic"]"#),
            "{line}"
        );
        assert_eq!(
            serde_json::from_str::<Line>(&line).unwrap(),
            Line::Record(record)
        );
    }
}
