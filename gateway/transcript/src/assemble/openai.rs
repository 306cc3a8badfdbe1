//! Reassembling OpenAI responses.
//!
//! Chat stream: `data:` chunks (`[DONE]` ignored); `choices[0].delta.content` concatenated
//! into one text block, `delta.tool_calls` merged by `index` into `tool_call` blocks
//! (`arguments` concatenated, kept a string as in requests), `finish_reason` the stop
//! reason, a chunk with `error` a block. Chat document: `choices[0].message` the same way.
//!
//! Responses stream: the `output[]` of the terminal `response.completed`,
//! `response.incomplete` or `response.failed` event, one block per item; without one, the
//! `response.output_item.done` items. Stop reason: `incomplete_details.reason`, else the
//! status. Responses document: `output[]` and status the same way.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::request::{text_block, tool_call_block};
use super::{Reassembled, sse};

/// A Chat tool call being streamed.
#[derive(Debug, Default)]
struct Call {
    id: String,
    name: String,
    arguments: String,
}

/// The first choice (`index` 0, or the first listed when unnumbered).
fn first_choice(chunk: &Value) -> Option<&Value> {
    let choices = chunk.get("choices")?.as_array()?;
    choices
        .iter()
        .find(|c| c.get("index").and_then(Value::as_u64) == Some(0))
        .or_else(|| choices.first().filter(|c| c.get("index").is_none()))
}

fn str_at<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value.pointer(pointer).and_then(Value::as_str)
}

/// The response of a Chat SSE body; `None` when no chunk was JSON.
pub(super) fn chat_stream(body: &[u8]) -> Option<Reassembled> {
    let mut text = String::new();
    let mut refusal = String::new();
    let mut calls: BTreeMap<u64, Call> = BTreeMap::new();
    let mut errors = Vec::new();
    let mut stop_reason = None;
    let mut any = false;
    sse::for_each_event(body, |_, data| {
        let Ok(chunk) = serde_json::from_str::<Value>(data) else {
            return;
        };
        any = true;
        if let Some(error) = chunk.get("error") {
            errors.push(json!({"type": "error", "error": error}));
        }
        let Some(choice) = first_choice(&chunk) else {
            return;
        };
        text.push_str(str_at(choice, "/delta/content").unwrap_or_default());
        refusal.push_str(str_at(choice, "/delta/refusal").unwrap_or_default());
        let deltas = choice
            .pointer("/delta/tool_calls")
            .and_then(Value::as_array);
        for (position, delta) in deltas.into_iter().flatten().enumerate() {
            let index = delta.get("index").and_then(Value::as_u64);
            let call = calls.entry(index.unwrap_or(position as u64)).or_default();
            if let Some(id) = str_at(delta, "/id") {
                id.clone_into(&mut call.id);
            }
            call.name
                .push_str(str_at(delta, "/function/name").unwrap_or_default());
            call.arguments
                .push_str(str_at(delta, "/function/arguments").unwrap_or_default());
        }
        if let Some(reason) = str_at(choice, "/finish_reason") {
            stop_reason = Some(reason.to_owned());
        }
    });
    if !any {
        return None;
    }
    let mut content = Vec::new();
    if !text.is_empty() {
        content.push(text_block(&text));
    }
    if !refusal.is_empty() {
        content.push(json!({"type": "refusal", "refusal": refusal}));
    }
    content.extend(calls.into_values().map(|call| {
        json!({"type": "tool_call", "id": call.id, "name": call.name, "arguments": call.arguments})
    }));
    content.extend(errors);
    Some(Reassembled {
        content,
        stop_reason,
    })
}

/// The response of a Chat JSON body.
pub(super) fn chat_document(body: Value) -> Option<Reassembled> {
    if let Some(error) = body.get("error") {
        return Some(Reassembled {
            content: vec![json!({"type": "error", "error": error})],
            stop_reason: None,
        });
    }
    let choice = first_choice(&body)?;
    let mut content = Vec::new();
    if let Some(text) = str_at(choice, "/message/content").filter(|t| !t.is_empty()) {
        content.push(text_block(text));
    }
    if let Some(refusal) = str_at(choice, "/message/refusal").filter(|t| !t.is_empty()) {
        content.push(json!({"type": "refusal", "refusal": refusal}));
    }
    let calls = choice
        .pointer("/message/tool_calls")
        .and_then(Value::as_array);
    content.extend(calls.into_iter().flatten().map(tool_call_block));
    Some(Reassembled {
        content,
        stop_reason: str_at(choice, "/finish_reason").map(str::to_owned),
    })
}

/// The response of a Responses SSE body; `None` when no event was JSON.
pub(super) fn responses_stream(body: &[u8]) -> Option<Reassembled> {
    let mut terminal = None;
    let mut done_items = Vec::new();
    let mut errors = Vec::new();
    let mut any = false;
    sse::for_each_event(body, |name, data| {
        let Ok(mut event) = serde_json::from_str::<Value>(data) else {
            return;
        };
        any = true;
        let kind = event.get("type").and_then(Value::as_str).unwrap_or(name);
        match kind {
            "response.completed" | "response.incomplete" | "response.failed" => {
                terminal = event.get_mut("response").map(Value::take);
            }
            "response.output_item.done" => {
                if let Some(item) = event.get_mut("item").map(Value::take) {
                    done_items.push(item);
                }
            }
            "error" => errors.push(event),
            _ => {}
        }
    });
    if !any {
        return None;
    }
    let mut reassembled = match terminal {
        Some(response) => responses_document(response).unwrap_or_default(),
        None => Reassembled {
            content: done_items,
            stop_reason: None,
        },
    };
    reassembled.content.extend(errors);
    Some(reassembled)
}

/// The response of a Responses JSON body (or the `response` of a terminal event).
pub(super) fn responses_document(mut body: Value) -> Option<Reassembled> {
    let Value::Object(response) = &mut body else {
        return None;
    };
    let mut content = match response.remove("output") {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    };
    if let Some(error) = response.get("error").filter(|e| !e.is_null()) {
        content.push(json!({"type": "error", "error": error}));
    }
    let stop_reason = str_at(&body, "/incomplete_details/reason")
        .or_else(|| str_at(&body, "/status"))
        .map(str::to_owned);
    Some(Reassembled {
        content,
        stop_reason,
    })
}
