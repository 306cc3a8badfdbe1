//! Turning a [`Pending`] into a [`Record`] and its [`Block`]s. Runs on the writer thread,
//! never on the request path.
//!
//! Never fails and never panics: a request body that is not JSON leaves `request` out, a
//! response that cannot be reassembled leaves `response` out, and the metadata is always
//! recorded.
//!
//! - [`Mode::Metadata`] records no content at all: no request, no response and no
//!   `stop_reason` (the stop reason is read from the response content, which this mode
//!   promises not to look at).
//! - Blocks are hashed after removing a top-level `cache_control` key: Claude Code moves its
//!   cache breakpoint to the last block every turn, and the same content must hash the same
//!   on every turn for a session to cost one copy of its history. The stored block is the
//!   stripped one (the breakpoint is a caching hint, not conversation content).
//! - Thinking blocks are stored without their `signature` (request and response alike), so
//!   the thinking a response produced and its copy resent in the next request are one block.
//! - A response with a non-2xx status is one block: the error body as JSON when it parses,
//!   else `{"type":"error_text","text":…}` (lossy UTF-8, at most [`ERROR_TEXT_MAX_BYTES`]).
//!
//! The request decomposition per API is in `request`, the response reassembly in
//! `anthropic` and `openai`, SSE framing in `sse`. An Anthropic JSON response is read from
//! raw slices (`anthropic::raw_document`: its blocks made canonical from the bytes, like the
//! request's), falling back to the `serde_json::Value` reading for what that does not take.

mod anthropic;
mod memo;
mod openai;
#[cfg(test)]
mod reference;
mod request;
mod sse;

#[cfg(test)]
pub(crate) mod fixtures;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_dedup;
#[cfg(test)]
mod tests_memo;
#[cfg(test)]
mod tests_openai;
#[cfg(test)]
mod tests_raw;
#[cfg(test)]
mod tests_reference;
#[cfg(test)]
mod tests_robust;

use std::borrow::Cow;

use serde_json::{Value, json};

pub use memo::BlockMemo;
use memo::BuildKind;

use crate::block::BlockHashSet;
use crate::record::{FORMAT_VERSION, ResponseRefs};
use crate::{Api, Block, BlockHash, BlockLedger, Mode, Pending, Record};

/// Most bytes of a non-JSON error body kept in its `error_text` block.
pub const ERROR_TEXT_MAX_BYTES: usize = 4 << 10;

/// The key removed from the top level of every block before hashing.
const CACHE_CONTROL: &str = "cache_control";
/// The block type whose [`SIGNATURE`] is removed before hashing.
const THINKING: &str = "thinking";
/// The opaque integrity token of a thinking block: not conversation content, often larger
/// than the thinking, and absent from the streamed deltas the response is rebuilt from.
const SIGNATURE: &str = "signature";

/// A record and the blocks it references (each at most once, in first-reference order).
#[derive(Clone, Debug, PartialEq)]
pub struct Assembled {
    /// The record.
    pub record: Record,
    /// The blocks it references.
    pub blocks: Vec<Block>,
}

impl Assembled {
    /// Appends this record's lines to `out`: each block `ledger` has not seen in the
    /// partition (pre-encoded bytes), then the record line. If the record cannot be
    /// serialized (impossible for these types), `out` is left as it was and the ledger is
    /// cleared, so no block is wrongly thought written (blocks are written again, never lost).
    pub fn write_lines(
        &self,
        ledger: &mut BlockLedger,
        out: &mut Vec<u8>,
    ) -> Result<(), serde_json::Error> {
        let mark = out.len();
        for block in &self.blocks {
            if ledger.first_time(block.h) {
                block.write_line(out);
            }
        }
        match serde_json::to_writer(&mut *out, &RecordLine::Record(&self.record)) {
            Ok(()) => {
                out.push(b'\n');
                Ok(())
            }
            Err(e) => {
                out.truncate(mark);
                ledger.clear();
                Err(e)
            }
        }
    }
}

/// A record line borrowing its record: serializes exactly like [`crate::Line::Record`].
#[derive(serde::Serialize)]
#[serde(tag = "t", rename_all = "snake_case")]
enum RecordLine<'a> {
    Record(&'a Record),
}

/// Builds the record: decomposes the redacted request into blocks, reassembles the response
/// from its frames (SSE events or one JSON document). Never fails: what cannot be parsed is
/// left out and the metadata is still recorded. Builds every block afresh; the writer uses
/// [`assemble_with`].
pub fn assemble(pending: &Pending) -> Assembled {
    assemble_blocks(pending, BlockSet::default())
}

/// [`assemble`], looking blocks up in `memo` first and remembering those it builds: the same
/// record, cheaper when its blocks came before.
pub fn assemble_with(pending: &Pending, memo: &mut BlockMemo) -> Assembled {
    assemble_blocks(
        pending,
        BlockSet {
            memo: Some(memo),
            ..BlockSet::default()
        },
    )
}

fn assemble_blocks(pending: &Pending, mut blocks: BlockSet<'_>) -> Assembled {
    let mut record = Record {
        v: FORMAT_VERSION,
        meta: pending.meta.clone(),
        mode: pending.mode,
        stop_reason: None,
        request: None,
        response: None,
        response_truncated: pending.response.truncated(),
    };
    if pending.mode == Mode::Full {
        let api = pending.meta.api;
        record.request = request::decompose(api, &pending.request_body, &mut blocks);
        let body = concat(pending.response.frames());
        let response = if (200..300).contains(&pending.meta.status) {
            reassemble(api, pending.response.sse, &body, &mut blocks)
        } else {
            Some((vec![blocks.add(error_block(&body))], None))
        };
        if let Some((content, stop_reason)) = response {
            record.stop_reason = stop_reason;
            record.response = Some(ResponseRefs { content });
        }
    }
    Assembled {
        record,
        blocks: blocks.blocks,
    }
}

/// What was reassembled from a response body.
#[derive(Debug, Default)]
struct Reassembled {
    /// The output blocks, in order.
    content: Vec<Value>,
    /// Why generation stopped, when the response said.
    stop_reason: Option<String>,
}

/// The response of `api` from its whole body, its blocks added to `blocks`: their hashes in
/// order and the stop reason; `None` when nothing in it could be read. An Anthropic JSON
/// document is read from raw slices when it can be, else through `serde_json::Value`.
fn reassemble(
    api: Api,
    sse: bool,
    body: &[u8],
    blocks: &mut BlockSet<'_>,
) -> Option<(Vec<BlockHash>, Option<String>)> {
    if (api, sse) == (Api::AnthropicMessages, false)
        && let Some((content, stop_reason)) = anthropic::raw_document(body)
    {
        let content = content.into_iter().map(|raw| blocks.add_json(raw));
        return Some((content.collect(), stop_reason));
    }
    let reassembled = match (api, sse) {
        (Api::AnthropicMessages, true) => anthropic::stream(body),
        (Api::AnthropicMessages, false) => anthropic::document(parse(body)?),
        (Api::OpenAiChat, true) => openai::chat_stream(body),
        (Api::OpenAiChat, false) => openai::chat_document(parse(body)?),
        (Api::OpenAiResponses, true) => openai::responses_stream(body),
        (Api::OpenAiResponses, false) => openai::responses_document(parse(body)?),
    }?;
    let content = reassembled.content.into_iter().map(|b| blocks.add(b));
    Some((content.collect(), reassembled.stop_reason))
}

fn parse(body: &[u8]) -> Option<Value> {
    serde_json::from_slice(body).ok()
}

/// The captured frames as one buffer: frames split SSE lines and UTF-8 sequences anywhere.
/// Bounded by [`crate::ResponseCapture::MAX_BYTES`], which the capture enforces. A queued
/// record's frames are one already ([`Pending::compact`]): then no copy.
fn concat(frames: &[bytes::Bytes]) -> Cow<'_, [u8]> {
    if let [one] = frames {
        return Cow::Borrowed(one);
    }
    let mut body = Vec::with_capacity(frames.iter().map(|f| f.len()).sum());
    for frame in frames {
        body.extend_from_slice(frame);
    }
    Cow::Owned(body)
}

/// The one block of an error response.
fn error_block(body: &[u8]) -> Value {
    if let Some(parsed) = parse(body) {
        return parsed;
    }
    let text = String::from_utf8_lossy(body);
    let end = text.floor_char_boundary(ERROR_TEXT_MAX_BYTES);
    json!({"type": "error_text", "text": text.get(..end).unwrap_or_default()})
}

/// The blocks of one record, each once, in first-reference order. Canonical JSON is written
/// into one reused scratch buffer and hashed there; only a block not yet in the set is copied
/// out. With a memo, a block built from the same raw bytes before is taken from it instead.
#[derive(Debug, Default)]
pub(crate) struct BlockSet<'m> {
    blocks: Vec<Block>,
    seen: BlockHashSet,
    scratch: Vec<u8>,
    memo: Option<&'m mut BlockMemo>,
}

impl BlockSet<'_> {
    /// Adds a response block built as a value (without its top-level `cache_control`, and
    /// without `signature` if it is a thinking block) and returns its hash.
    fn add(&mut self, mut value: Value) -> BlockHash {
        if let Value::Object(map) = &mut value {
            map.remove(CACHE_CONTROL);
            if map.get("type").and_then(Value::as_str) == Some(THINKING) {
                map.remove(SIGNATURE);
            }
        }
        self.insert(Block::new(value))
    }

    /// Adds a response block that is JSON from the body, made canonical like a request block
    /// (the same block as [`BlockSet::add`] of its value).
    fn add_json(&mut self, raw: &serde_json::value::RawValue) -> BlockHash {
        match self.add_raw(raw.get()) {
            Some(hash) => hash,
            // Not reachable for JSON serde_json accepted; the value path keeps it anyway.
            None => self.add(serde_json::from_str(raw.get()).unwrap_or(Value::Null)),
        }
    }

    /// Adds the request block `raw` (JSON from the body), made canonical the same way as
    /// [`BlockSet::add`]; `None` only if `raw` is not JSON.
    pub(crate) fn add_raw(&mut self, raw: &str) -> Option<BlockHash> {
        self.build_from(BuildKind::Value, raw, |out| {
            crate::canonical::write_block(raw, out).is_ok()
        })
    }

    /// Adds the block that `write` writes in canonical form from `raw` alone, built as `kind`
    /// (the memo's key): taken from the memo when it has it.
    pub(crate) fn build_from(
        &mut self,
        kind: BuildKind,
        raw: &str,
        write: impl FnOnce(&mut Vec<u8>) -> bool,
    ) -> Option<BlockHash> {
        let Some(memo) = self.memo.as_deref_mut() else {
            return self.build(write);
        };
        let scratch = &mut self.scratch;
        let block = memo.get_or_build(kind, raw.as_bytes(), || {
            let h = write_canonical(scratch, write)?;
            let json = std::str::from_utf8(scratch).ok()?;
            Some(Block::from_parts(h, json.into()))
        })?;
        Some(self.insert(block))
    }

    /// Adds the block that `write` writes in canonical form (it returns false on failure).
    pub(crate) fn build(&mut self, write: impl FnOnce(&mut Vec<u8>) -> bool) -> Option<BlockHash> {
        let hash = write_canonical(&mut self.scratch, write);
        if let Some(h) = hash
            && !self.seen.contains(&h)
            && let Ok(json) = std::str::from_utf8(&self.scratch)
        {
            self.seen.insert(h);
            self.blocks.push(Block::from_parts(h, json.into()));
        }
        hash
    }

    fn insert(&mut self, block: Block) -> BlockHash {
        let hash = block.h;
        if self.seen.insert(hash) {
            self.blocks.push(block);
        }
        hash
    }
}

/// Writes a block's canonical JSON into `scratch` (emptied first) with `write` and hashes it;
/// `None` when `write` fails.
fn write_canonical(
    scratch: &mut Vec<u8>,
    write: impl FnOnce(&mut Vec<u8>) -> bool,
) -> Option<BlockHash> {
    scratch.clear();
    write(scratch).then(|| BlockHash::of_canonical(scratch))
}
