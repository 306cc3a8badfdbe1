//! What an SSE event means for restore, per wire format: which string fields carry streamed
//! text ([`Delta`], with the block they belong to), which blocks the event ends ([`Close`]),
//! and which complete strings it carries (`.done` events, finished items). Thinking and
//! reasoning fields never appear here.

use gateway_core::Api;
use gateway_redact::Target;
use serde_json::Value;

use super::json::{Spot, Step, key, response_item};

/// One content block (Anthropic), message content or tool call of a choice (Chat), or output
/// text part or function call (Responses).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Key {
    Block(u64),
    ChatContent(u64),
    ChatTool(u64, u64),
    Text(u64, u64),
    Args(u64),
}

impl Key {
    /// The choice (Chat) or output item (Responses) the key belongs to.
    pub(super) fn owner(self) -> Option<u64> {
        match self {
            Key::ChatContent(c) | Key::ChatTool(c, _) | Key::Text(c, _) | Key::Args(c) => Some(c),
            Key::Block(_) => None,
        }
    }
}

/// Keys an event ends.
#[derive(Debug)]
pub(super) enum Close {
    Key(Key),
    Owner(u64),
    All,
}

/// A streamed string field of an event.
#[derive(Debug)]
pub(super) struct Delta {
    pub(super) key: Key,
    pub(super) path: Vec<Step>,
    pub(super) target: Target,
}

/// What one event means for restore.
#[derive(Debug, Default)]
pub(super) struct Plan {
    pub(super) deltas: Vec<Delta>,
    pub(super) close: Vec<Close>,
    pub(super) whole: Vec<Spot>,
}

fn u64_at(v: &Value, field: &str) -> Option<u64> {
    v.get(field).and_then(Value::as_u64)
}

fn type_of(v: &Value) -> &str {
    v.get("type").and_then(Value::as_str).unwrap_or_default()
}

/// Which fields of an event are streamed text, which blocks it ends, which complete strings
/// it carries.
pub(super) fn classify(api: Api, v: &Value) -> Plan {
    let mut plan = Plan::default();
    match api {
        Api::AnthropicMessages => match type_of(v) {
            "content_block_delta" => {
                let Some(index) = u64_at(v, "index") else {
                    return plan;
                };
                let delta = v.get("delta").unwrap_or(&Value::Null);
                let (field, target) = match type_of(delta) {
                    "text_delta" => ("text", Target::Text),
                    "input_json_delta" => ("partial_json", Target::JsonFragment),
                    // thinking_delta, signature_delta, citations: never touched.
                    _ => return plan,
                };
                plan.deltas.push(Delta {
                    key: Key::Block(index),
                    path: vec![key("delta"), key(field)],
                    target,
                });
            }
            "content_block_stop" => {
                if let Some(index) = u64_at(v, "index") {
                    plan.close.push(Close::Key(Key::Block(index)));
                }
            }
            "message_stop" => plan.close.push(Close::All),
            _ => {}
        },
        Api::OpenAiChat => {
            let choices = v.get("choices").and_then(Value::as_array);
            for (ci, choice) in choices.into_iter().flatten().enumerate() {
                let c = u64_at(choice, "index").unwrap_or(ci as u64);
                let at = [key("choices"), Step::Index(ci), key("delta")];
                let delta = choice.get("delta").unwrap_or(&Value::Null);
                if delta.get("content").is_some_and(Value::is_string) {
                    plan.deltas.push(Delta {
                        key: Key::ChatContent(c),
                        path: [&at[..], &[key("content")]].concat(),
                        target: Target::Text,
                    });
                }
                let calls = delta.get("tool_calls").and_then(Value::as_array);
                for (ti, call) in calls.into_iter().flatten().enumerate() {
                    let t = u64_at(call, "index").unwrap_or(ti as u64);
                    let args = call.get("function").and_then(|f| f.get("arguments"));
                    if args.is_some_and(Value::is_string) {
                        let more = [
                            key("tool_calls"),
                            Step::Index(ti),
                            key("function"),
                            key("arguments"),
                        ];
                        plan.deltas.push(Delta {
                            key: Key::ChatTool(c, t),
                            path: [&at[..], &more[..]].concat(),
                            target: Target::JsonFragment,
                        });
                    }
                }
                if choice.get("finish_reason").is_some_and(|f| !f.is_null()) {
                    plan.close.push(Close::Owner(c));
                }
            }
        }
        Api::OpenAiResponses => {
            let oi = u64_at(v, "output_index").unwrap_or(0);
            let ci = u64_at(v, "content_index").unwrap_or(0);
            match type_of(v) {
                "response.output_text.delta" => plan.deltas.push(Delta {
                    key: Key::Text(oi, ci),
                    path: vec![key("delta")],
                    target: Target::Text,
                }),
                "response.function_call_arguments.delta" => plan.deltas.push(Delta {
                    key: Key::Args(oi),
                    path: vec![key("delta")],
                    target: Target::JsonFragment,
                }),
                "response.output_text.done" => {
                    plan.close.push(Close::Key(Key::Text(oi, ci)));
                    plan.whole.push(Spot {
                        path: vec![key("text")],
                        target: Target::Text,
                    });
                }
                "response.function_call_arguments.done" => {
                    plan.close.push(Close::Key(Key::Args(oi)));
                    plan.whole.push(Spot {
                        path: vec![key("arguments")],
                        target: Target::JsonFragment,
                    });
                }
                "response.content_part.done" => {
                    plan.close.push(Close::Key(Key::Text(oi, ci)));
                    if v.get("part").is_some_and(|p| type_of(p) == "output_text") {
                        plan.whole.push(Spot {
                            path: vec![key("part"), key("text")],
                            target: Target::Text,
                        });
                    }
                }
                "response.output_item.done" => {
                    plan.close.push(Close::Owner(oi));
                    if let Some(item) = v.get("item") {
                        response_item(item, &[key("item")], &mut plan.whole);
                    }
                }
                "response.completed" | "response.incomplete" | "response.failed" => {
                    plan.close.push(Close::All);
                    let output = v
                        .get("response")
                        .and_then(|r| r.get("output"))
                        .and_then(Value::as_array);
                    for (i, item) in output.into_iter().flatten().enumerate() {
                        let at = [key("response"), key("output"), Step::Index(i)];
                        response_item(item, &at, &mut plan.whole);
                    }
                }
                _ => {}
            }
        }
    }
    plan
}
