//! The writer's request decomposition as it was before blocks were read from raw bytes: it
//! parsed the body into a `Value` and added one `Value` per block. Kept only as the oracle of
//! `tests_reference`, which checks that the raw decomposition yields the same record and the
//! same blocks.
//!
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
//! API. Empty strings make no block.

use std::collections::HashSet;

use serde_json::{Map, Value, json};

use crate::record::{MessageRefs, RequestRefs};
use crate::{Api, BlockHash};

/// The old writer's blocks: values, stripped as it stripped them, each once.
#[derive(Debug, Default)]
pub(super) struct BlockSet {
    pub(super) blocks: Vec<Value>,
    seen: HashSet<BlockHash>,
}

impl BlockSet {
    fn add(&mut self, mut value: Value) -> BlockHash {
        if let Value::Object(map) = &mut value {
            map.remove("cache_control");
            if map.get("type").and_then(Value::as_str) == Some("thinking") {
                map.remove("signature");
            }
        }
        let h = BlockHash::of(&value);
        if self.seen.insert(h) {
            self.blocks.push(value);
        }
        h
    }
}
/// The role recorded when a message has none.
const UNKNOWN_ROLE: &str = "unknown";

/// The conversation of a request body; `None` when the body is not a JSON object.
pub(super) fn decompose(api: Api, body: Value, blocks: &mut BlockSet) -> Option<RequestRefs> {
    let Value::Object(mut body) = body else {
        return None;
    };
    let mut refs = RequestRefs {
        system: match api {
            Api::AnthropicMessages => content(body.remove("system"), blocks),
            Api::OpenAiResponses => content(body.remove("instructions"), blocks),
            Api::OpenAiChat => Vec::new(),
        },
        ..RequestRefs::default()
    };
    refs.tools = array(body.remove("tools"))
        .into_iter()
        .map(|tool| blocks.add(tool))
        .collect();
    refs.messages = match api {
        Api::AnthropicMessages => array(body.remove("messages"))
            .into_iter()
            .map(|m| anthropic_message(m, blocks))
            .collect(),
        Api::OpenAiChat => array(body.remove("messages"))
            .into_iter()
            .map(|m| chat_message(m, blocks))
            .collect(),
        Api::OpenAiResponses => responses_input(body.remove("input"), blocks),
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

/// Content: a string is one text block, an array one block per element, anything else
/// (other than null) one block.
fn content(value: Option<Value>, blocks: &mut BlockSet) -> Vec<crate::BlockHash> {
    match value {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(text)) if text.is_empty() => Vec::new(),
        Some(Value::String(text)) => vec![blocks.add(text_block(&text))],
        Some(Value::Array(items)) => items.into_iter().map(|b| blocks.add(b)).collect(),
        Some(other) => vec![blocks.add(other)],
    }
}

fn array(value: Option<Value>) -> Vec<Value> {
    match value {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    }
}

fn role(message: &mut Map<String, Value>) -> String {
    match message.remove("role") {
        Some(Value::String(role)) => role,
        _ => UNKNOWN_ROLE.to_owned(),
    }
}

fn anthropic_message(message: Value, blocks: &mut BlockSet) -> MessageRefs {
    let Value::Object(mut message) = message else {
        return MessageRefs {
            role: UNKNOWN_ROLE.to_owned(),
            content: vec![blocks.add(message)],
        };
    };
    MessageRefs {
        role: role(&mut message),
        content: content(message.remove("content"), blocks),
    }
}

fn chat_message(message: Value, blocks: &mut BlockSet) -> MessageRefs {
    let Value::Object(mut message) = message else {
        return MessageRefs {
            role: UNKNOWN_ROLE.to_owned(),
            content: vec![blocks.add(message)],
        };
    };
    let role = role(&mut message);
    if role == "tool" {
        let result = json!({
            "type": "tool_result",
            "tool_call_id": message.remove("tool_call_id").unwrap_or_default(),
            "content": message.remove("content").unwrap_or_default(),
        });
        return MessageRefs {
            role,
            content: vec![blocks.add(result)],
        };
    }
    let mut refs = content(message.remove("content"), blocks);
    for call in array(message.remove("tool_calls")) {
        refs.push(blocks.add(tool_call_block(&call)));
    }
    MessageRefs {
        role,
        content: refs,
    }
}

fn responses_input(input: Option<Value>, blocks: &mut BlockSet) -> Vec<MessageRefs> {
    match input {
        Some(Value::String(text)) => vec![MessageRefs {
            role: "user".to_owned(),
            content: content(Some(Value::String(text)), blocks),
        }],
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|item| responses_item(item, blocks))
            .collect(),
        _ => Vec::new(),
    }
}

fn responses_item(item: Value, blocks: &mut BlockSet) -> MessageRefs {
    let is_message = item.get("role").is_some_and(Value::is_string)
        && item
            .get("type")
            .is_none_or(|t| t.as_str() == Some("message"));
    match item {
        Value::Object(mut message) if is_message => MessageRefs {
            role: role(&mut message),
            content: content(message.remove("content"), blocks),
        },
        other => MessageRefs {
            role: other
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or(UNKNOWN_ROLE)
                .to_owned(),
            content: vec![blocks.add(other)],
        },
    }
}
