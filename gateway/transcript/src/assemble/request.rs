//! Decomposing a request body into blocks, per API, straight from its bytes: the body is read
//! with borrowed `&str`s (no `Value` tree), and each block is written in its canonical
//! form by [`crate::canonical`].
//!
//! - Anthropic Messages: `system` (a string is one text block, an array one block per
//!   element), `messages[]` (string content is one text block, an array one block per
//!   element), `tools[]` one block each.
//! - OpenAI Chat: each message keeps its role; string content is a text block, an array one
//!   block per part, each `tool_calls[]` entry a `tool_call` block, a `tool` message one
//!   `tool_result` block. `tools[]` one block each.
//! - OpenAI Responses: `instructions` is the system prompt, a string `input` one user
//!   message; input items with a role are messages, any other item (`function_call`,
//!   `function_call_output`, `reasoning`, …) is a message whose role is the item type and
//!   whose one block is the item. `tools[]` one block each.
//!
//! Text is always `{"type":"text","text":…}`, so the same text hashes the same whatever the
//! API. Empty strings make no block. Of duplicate keys the last counts, as in a `Value`.

use std::borrow::Cow;

use serde_json::{Value, json};

use super::BlockSet;
use super::memo::BuildKind;
use crate::Api;
use crate::canonical;
use crate::record::{MessageRefs, RequestRefs};

/// The role recorded when a message has none.
const UNKNOWN_ROLE: &str = "unknown";
/// The canonical JSON of `null`, for a missing field of a built block.
const NULL: &[u8] = b"null";

/// The conversation of a request body; `None` when the body is not a JSON object.
pub(super) fn decompose(api: Api, body: &[u8], blocks: &mut BlockSet<'_>) -> Option<RequestRefs> {
    let body = std::str::from_utf8(body).ok()?;
    let body = Members::of(body)?;
    let mut refs = RequestRefs {
        system: match api {
            Api::AnthropicMessages => content(body.get("system"), blocks),
            Api::OpenAiResponses => content(body.get("instructions"), blocks),
            Api::OpenAiChat => Vec::new(),
        },
        ..RequestRefs::default()
    };
    refs.tools = array(body.get("tools"))
        .into_iter()
        .filter_map(|tool| blocks.add_raw(tool))
        .collect();
    refs.messages = match api {
        Api::AnthropicMessages => array(body.get("messages"))
            .into_iter()
            .map(|m| anthropic_message(m, blocks))
            .collect(),
        Api::OpenAiChat => array(body.get("messages"))
            .into_iter()
            .map(|m| chat_message(m, blocks))
            .collect(),
        Api::OpenAiResponses => responses_input(body.get("input"), blocks),
    };
    Some(refs)
}

/// `{"type":"text","text":text}`.
pub(super) fn text_block(text: &str) -> Value {
    json!({"type": "text", "text": text})
}

/// A Chat `tool_calls[]` entry as a `tool_call` block (`arguments` as sent, a string).
/// Custom tools (`{"type":"custom","custom":{"name","input"}}`) keep their input there.
pub(super) fn tool_call_block(call: &Value) -> Value {
    let function = call.get("function").or_else(|| call.get("custom"));
    let field = |name: &str| function.and_then(|f| f.get(name)).cloned();
    json!({
        "type": "tool_call",
        "id": call.get("id").cloned().unwrap_or_default(),
        "name": field("name").unwrap_or_default(),
        "arguments": field("arguments").or_else(|| field("input")).unwrap_or_default(),
    })
}

/// The members of a JSON object, borrowed from the body, in order (duplicates kept; lookups
/// take the last, as a `Value` map would).
struct Members<'a>(Vec<(Cow<'a, str>, &'a str)>);

impl<'a> Members<'a> {
    /// `None` unless `raw` is an object.
    fn of(raw: &'a str) -> Option<Self> {
        canonical::members(raw).map(Self)
    }

    fn get(&self, key: &str) -> Option<&'a str> {
        self.0.iter().rev().find(|(k, _)| k == key).map(|(_, v)| *v)
    }
}

/// The first byte of a raw value: its kind.
fn kind(raw: &str) -> u8 {
    raw.trim_start().bytes().next().unwrap_or(b'n')
}

/// The canonical JSON of `raw`, or `null` when absent.
fn canonical_or_null(raw: Option<&str>, out: &mut Vec<u8>) -> bool {
    match raw {
        Some(raw) => canonical::write_value(raw, out).is_ok(),
        None => {
            out.extend_from_slice(NULL);
            true
        }
    }
}

/// A text block built from the JSON string token `raw`: `{"text":…,"type":"text"}`
/// (canonical: keys sorted). `None` for an empty string.
fn text(raw: &str, blocks: &mut BlockSet<'_>) -> Option<crate::BlockHash> {
    if raw.trim() == r#""""# {
        return None;
    }
    blocks.build_from(BuildKind::Text, raw, |out| {
        out.extend_from_slice(br#"{"text":"#);
        let ok = canonical::write_string(raw, out).is_ok();
        out.extend_from_slice(br#","type":"text"}"#);
        ok
    })
}

/// Content: a string is one text block, an array one block per element, anything else
/// (other than null) one block.
fn content(value: Option<&str>, blocks: &mut BlockSet<'_>) -> Vec<crate::BlockHash> {
    let Some(value) = value else {
        return Vec::new();
    };
    match kind(value) {
        b'n' => Vec::new(),
        b'"' => text(value, blocks).into_iter().collect(),
        b'[' => array(Some(value))
            .into_iter()
            .filter_map(|b| blocks.add_raw(b))
            .collect(),
        _ => blocks.add_raw(value).into_iter().collect(),
    }
}

fn array(value: Option<&str>) -> Vec<&str> {
    match value {
        Some(raw) => canonical::elements(raw).unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// The role of a message: its `role` when that is a string.
fn role(message: &Members<'_>) -> String {
    message
        .get("role")
        .filter(|r| kind(r) == b'"')
        .and_then(canonical::decode_string)
        .map_or_else(|| UNKNOWN_ROLE.to_owned(), Cow::into_owned)
}

/// A message that is not an object: one block of role `unknown`.
fn opaque_message(message: &str, blocks: &mut BlockSet<'_>) -> MessageRefs {
    MessageRefs {
        role: UNKNOWN_ROLE.to_owned(),
        content: blocks.add_raw(message).into_iter().collect(),
    }
}

fn anthropic_message(message: &str, blocks: &mut BlockSet<'_>) -> MessageRefs {
    let Some(members) = Members::of(message) else {
        return opaque_message(message, blocks);
    };
    MessageRefs {
        role: role(&members),
        content: content(members.get("content"), blocks),
    }
}

fn chat_message(message: &str, blocks: &mut BlockSet<'_>) -> MessageRefs {
    let Some(members) = Members::of(message) else {
        return opaque_message(message, blocks);
    };
    let role = role(&members);
    if role == "tool" {
        let result = blocks.build(|out| {
            out.extend_from_slice(br#"{"content":"#);
            let mut ok = canonical_or_null(members.get("content"), out);
            out.extend_from_slice(br#","tool_call_id":"#);
            ok &= canonical_or_null(members.get("tool_call_id"), out);
            out.extend_from_slice(br#","type":"tool_result"}"#);
            ok
        });
        return MessageRefs {
            role,
            content: result.into_iter().collect(),
        };
    }
    let mut refs = content(members.get("content"), blocks);
    for call in array(members.get("tool_calls")) {
        refs.extend(tool_call(call, blocks));
    }
    MessageRefs {
        role,
        content: refs,
    }
}

/// A Chat `tool_calls[]` entry as a `tool_call` block (as [`tool_call_block`] builds it).
fn tool_call(call: &str, blocks: &mut BlockSet<'_>) -> Option<crate::BlockHash> {
    let call = Members::of(call);
    let function = call
        .as_ref()
        .and_then(|c| c.get("function").or_else(|| c.get("custom")))
        .and_then(Members::of);
    let field = |name: &str| function.as_ref().and_then(|f| f.get(name));
    blocks.build(|out| {
        out.extend_from_slice(br#"{"arguments":"#);
        let mut ok = canonical_or_null(field("arguments").or_else(|| field("input")), out);
        out.extend_from_slice(br#","id":"#);
        ok &= canonical_or_null(call.as_ref().and_then(|c| c.get("id")), out);
        out.extend_from_slice(br#","name":"#);
        ok &= canonical_or_null(field("name"), out);
        out.extend_from_slice(br#","type":"tool_call"}"#);
        ok
    })
}

fn responses_input(input: Option<&str>, blocks: &mut BlockSet<'_>) -> Vec<MessageRefs> {
    match input.map(kind) {
        Some(b'"') => vec![MessageRefs {
            role: "user".to_owned(),
            content: content(input, blocks),
        }],
        Some(b'[') => array(input)
            .into_iter()
            .map(|item| responses_item(item, blocks))
            .collect(),
        _ => Vec::new(),
    }
}

fn responses_item(item: &str, blocks: &mut BlockSet<'_>) -> MessageRefs {
    let members = Members::of(item);
    let string = |m: &Members<'_>, key: &str| {
        m.get(key)
            .filter(|v| kind(v) == b'"')
            .and_then(|v| canonical::decode_string(v).map(Cow::into_owned))
    };
    if let Some(m) = &members {
        let is_message = m.get("role").is_some_and(|r| kind(r) == b'"')
            && m.get("type")
                .is_none_or(|_| string(m, "type").as_deref() == Some("message"));
        if is_message {
            return MessageRefs {
                role: role(m),
                content: content(m.get("content"), blocks),
            };
        }
    }
    MessageRefs {
        role: members
            .as_ref()
            .and_then(|m| string(m, "type"))
            .unwrap_or_else(|| UNKNOWN_ROLE.to_owned()),
        content: blocks.add_raw(item).into_iter().collect(),
    }
}
