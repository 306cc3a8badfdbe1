//! Reassembling an Anthropic Messages response.
//!
//! Stream: each `content_block_start` opens a block; its deltas are concatenated (text,
//! thinking, tool input JSON parsed at the end; `signature_delta` dropped) and blocks come
//! out in the order they started. `message_delta.delta.stop_reason` is the stop reason; an
//! `error` event becomes a block (the event as sent: `{"type":"error","error":{…}}`).
//! Document: `content[]` as is. (Thinking signatures are dropped when blocks are added.)

use std::borrow::Cow;

use serde_json::{Map, Value, value::RawValue};

use super::{Reassembled, sse};

/// A content block being streamed.
#[derive(Debug)]
struct Open {
    /// The block's `index` (`None` for error events, which no delta refers to).
    index: Option<u64>,
    /// The block as `content_block_start` gave it.
    block: Value,
    text: String,
    thinking: String,
    input_json: String,
    citations: Vec<Value>,
}

impl Open {
    fn new(index: Option<u64>, block: Value) -> Self {
        Self {
            index,
            block,
            text: String::new(),
            thinking: String::new(),
            input_json: String::new(),
            citations: Vec::new(),
        }
    }

    fn apply(&mut self, delta: &Value) {
        let str_field = |name: &str| delta.get(name).and_then(Value::as_str).unwrap_or("");
        match delta.get("type").and_then(Value::as_str) {
            Some("text_delta") => self.text.push_str(str_field("text")),
            Some("thinking_delta") => self.thinking.push_str(str_field("thinking")),
            Some("input_json_delta") => self.input_json.push_str(str_field("partial_json")),
            Some("citations_delta") => {
                if let Some(citation) = delta.get("citation") {
                    self.citations.push(citation.clone());
                }
            }
            // signature_delta and unknown deltas carry no conversation content.
            _ => {}
        }
    }

    fn finish(self) -> Value {
        let Value::Object(mut block) = self.block else {
            return self.block;
        };
        append_str(&mut block, "text", &self.text);
        append_str(&mut block, "thinking", &self.thinking);
        if !self.citations.is_empty() {
            let citations = block
                .entry("citations")
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(list) = citations {
                list.extend(self.citations);
            } else {
                *citations = Value::Array(self.citations);
            }
        }
        if !self.input_json.is_empty() {
            match serde_json::from_str::<Value>(&self.input_json) {
                Ok(input) => {
                    block.insert("input".to_owned(), input);
                }
                Err(_) => {
                    block.remove("input");
                    block.insert("input_raw".to_owned(), Value::String(self.input_json));
                }
            }
        }
        Value::Object(block)
    }
}

fn append_str(block: &mut Map<String, Value>, key: &str, tail: &str) {
    if tail.is_empty() {
        return;
    }
    let mut text = block
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    text.push_str(tail);
    block.insert(key.to_owned(), Value::String(text));
}

/// The response of an SSE body; `None` when no event was JSON.
pub(super) fn stream(body: &[u8]) -> Option<Reassembled> {
    let mut open: Vec<Open> = Vec::new();
    let mut stop_reason = None;
    let mut any = false;
    sse::for_each_event(body, |_, data| {
        let Ok(event) = serde_json::from_str::<Value>(data) else {
            return;
        };
        any = true;
        let index = event.get("index").and_then(Value::as_u64);
        match event.get("type").and_then(Value::as_str) {
            Some("content_block_start") => {
                if let Some(block) = event.get("content_block") {
                    open.push(Open::new(index, block.clone()));
                }
            }
            Some("content_block_delta") => {
                let target = open.iter_mut().rev().find(|o| o.index == index);
                if let (Some(target), Some(delta), Some(_)) = (target, event.get("delta"), index) {
                    target.apply(delta);
                }
            }
            Some("message_delta") => {
                let reason = event.pointer("/delta/stop_reason").and_then(Value::as_str);
                if let Some(reason) = reason {
                    stop_reason = Some(reason.to_owned());
                }
            }
            Some("error") => open.push(Open::new(None, event)),
            _ => {}
        }
    });
    any.then(|| Reassembled {
        content: open.into_iter().map(Open::finish).collect(),
        stop_reason,
    })
}

/// The response of a JSON body.
pub(super) fn document(body: Value) -> Option<Reassembled> {
    let Value::Object(mut body) = body else {
        return None;
    };
    if body.get("type").and_then(Value::as_str) == Some("error") {
        return Some(Reassembled {
            content: vec![Value::Object(body)],
            stop_reason: None,
        });
    }
    let content = match body.remove("content") {
        Some(Value::Array(blocks)) => blocks,
        _ => Vec::new(),
    };
    Some(Reassembled {
        content,
        stop_reason: body
            .get("stop_reason")
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}

/// A JSON body read without building values: its `content` blocks as the raw JSON they were
/// sent as (made canonical when added, like request blocks), its `stop_reason`.
#[derive(serde::Deserialize)]
struct RawDocumentFields<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    content: Option<Vec<&'a RawValue>>,
    #[serde(borrow, default)]
    stop_reason: Option<Cow<'a, str>>,
}

/// The response of a JSON body, borrowed from it: `None` when the fast reading does not
/// apply (not an object, an `error` document, a field of another type, a duplicate field),
/// and then [`document`] reads it. What it yields is what [`document`] yields.
pub(super) fn raw_document(body: &[u8]) -> Option<(Vec<&RawValue>, Option<String>)> {
    let fields: RawDocumentFields<'_> = serde_json::from_slice(body).ok()?;
    if fields.kind.as_deref() == Some("error") {
        return None;
    }
    Some((
        fields.content.unwrap_or_default(),
        fields.stop_reason.map(Cow::into_owned),
    ))
}
