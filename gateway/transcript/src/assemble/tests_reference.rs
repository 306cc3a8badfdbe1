//! The request decomposition from raw bytes against the `Value` decomposition it replaced
//! (`reference`): on a corpus of bodies, spelled in many ways (whitespace, escapes, key
//! order, duplicates), both give the same record and the same blocks.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::fixtures::ClaudeCodeSession;
use super::{BlockSet, reference, request};
use crate::Api;
use crate::canonical::tests::{Choices, arb_value, spell};

pub(super) const APIS: [Api; 3] = [
    Api::AnthropicMessages,
    Api::OpenAiChat,
    Api::OpenAiResponses,
];

/// Decomposes `raw` both ways and checks they agree.
fn agree(api: Api, raw: &str) -> Result<(), TestCaseError> {
    let mut new_blocks = BlockSet::default();
    let new = request::decompose(api, raw.as_bytes(), &mut new_blocks);
    let mut old_blocks = reference::BlockSet::default();
    let old = serde_json::from_str::<Value>(raw)
        .ok()
        .and_then(|v| reference::decompose(api, v, &mut old_blocks));
    prop_assert_eq!(new, old, "record of {:?} {}", api, raw);
    let new_values: Vec<Value> = new_blocks.blocks.iter().map(crate::Block::value).collect();
    prop_assert_eq!(new_values, old_blocks.blocks, "blocks of {:?} {}", api, raw);
    Ok(())
}

pub(super) fn spelled(value: &Value, seed: u64) -> String {
    let mut raw = String::new();
    spell(value, &mut Choices(seed), &mut raw);
    raw
}

pub(super) fn corpus() -> Vec<Value> {
    let mut bodies = vec![
        json!({"model": "gpt-5", "messages": [
            {"role": "developer", "content": "Be terse."},
            {"role": "user", "content": [
                {"type": "text", "text": "What is in /tmp? ✓", "cache_control": {"type": "ephemeral"}},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
            ]},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "ls", "arguments": "{\"path\":\"/tmp\"}"}},
                {"id": "call_2", "type": "custom", "custom": {"name": "grep", "input": "x"}},
                {"id": "call_3", "function": null, "custom": {"name": "n"}},
                7,
            ]},
            {"role": "tool", "tool_call_id": "call_1", "content": "a.txt\nb.txt"},
            {"role": "tool"},
            "not an object",
            {"content": ""},
            {"role": 3, "content": {"type": "odd"}},
        ], "tools": [{"type": "function", "function": {"name": "ls", "parameters": {"type": "object"}}}]}),
        json!({"model": "claude", "system": [{"type": "text", "text": "sys", "cache_control": {"type": "ephemeral"}}],
        "messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "hm", "signature": "c2ln"},
                {"type": "redacted_thinking", "data": "abc", "signature": "kept"},
                {"type": "tool_use", "id": "t1", "name": "Read", "input": {"file_path": "/a"}},
            ]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": [{"type": "text", "text": "1\tx"}]}]},
            {"role": "user", "content": 12},
            {"role": "user", "content": true},
        ]}),
        json!({"model": "gpt-5", "instructions": "be brief", "input": [
            {"role": "user", "content": "hi"},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "yo"}]},
            {"type": "function_call", "call_id": "c1", "name": "ls", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": "ok"},
            {"type": 5, "role": "user"},
            {"role": 1},
            "bare",
        ], "tools": [{"type": "function", "name": "ls"}]}),
        json!({"input": "just a prompt"}),
        json!({"input": ""}),
        json!({"system": "", "messages": "not an array", "tools": {"not": "an array"}}),
        json!([1, 2]),
        json!("string body"),
        json!(null),
    ];
    let mut session = ClaudeCodeSession::new("Refactor the parser ✓", 4);
    for _ in 0..4 {
        bodies.push(session.next_turn(300).request);
    }
    bodies
}

#[test]
fn the_corpus_decomposes_as_before_in_every_spelling() {
    for body in corpus() {
        for api in APIS {
            agree(api, &body.to_string()).unwrap();
            agree(api, &serde_json::to_string_pretty(&body).unwrap()).unwrap();
            for seed in 1..40 {
                agree(api, &spelled(&body, seed)).unwrap();
            }
        }
    }
}

#[test]
fn duplicate_keys_take_the_last_as_before() {
    let raw = r#"{"messages": [{"role": "user", "content": "a", "content": [{"type":"text","text":"b","text":"c"}]}],
        "messages": [{"role": "assistant", "role": "user", "content": "d"}]}"#;
    for api in APIS {
        agree(api, raw).unwrap();
    }
}

#[test]
fn bodies_that_are_not_json_have_no_request() {
    for raw in ["", "{", "not json", "{\"messages\": [}", "\u{feff}{}"] {
        for api in APIS {
            agree(api, raw).unwrap();
        }
    }
    let mut blocks = BlockSet::default();
    assert_eq!(
        request::decompose(Api::OpenAiChat, b"\xff{}", &mut blocks),
        None
    );
}

/// A message-shaped value: mostly what clients send, sometimes not.
pub(super) fn arb_message() -> impl Strategy<Value = Value> {
    let text = "[a-z é\"\\\\/\n]{0,8}";
    let block = prop_oneof![
        text.prop_map(|t| json!({"type": "text", "text": t})),
        (text, any::<bool>()).prop_map(|(t, c)| if c {
            json!({"type": "text", "text": t, "cache_control": {"type": "ephemeral"}})
        } else {
            json!({"text": t, "type": "text"})
        }),
        text.prop_map(|t| json!({"type": "thinking", "thinking": t, "signature": "sig"})),
        arb_value(),
    ];
    let content = prop_oneof![
        text.prop_map(Value::String),
        prop::collection::vec(block, 0..4).prop_map(Value::Array),
        Just(Value::Null),
        arb_value(),
    ];
    let role = prop_oneof![
        Just(json!("user")),
        Just(json!("assistant")),
        Just(json!("tool")),
        Just(json!("function_call")),
        arb_value(),
    ];
    let call = prop_oneof![
        text.prop_map(
            |a| json!({"id": "c", "type": "function", "function": {"name": "f", "arguments": a}})
        ),
        arb_value(),
    ];
    (
        role,
        content,
        prop::collection::vec(call, 0..3),
        any::<u8>(),
    )
        .prop_map(|(role, content, calls, shape)| match shape % 5 {
            0 => json!({"role": role, "content": content}),
            1 => {
                json!({"role": role, "content": content, "tool_calls": calls, "tool_call_id": "c"})
            }
            2 => json!({"type": "message", "role": role, "content": content}),
            3 => json!({"type": role, "content": content}),
            _ => content,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bodies_decompose_as_before(
        messages in prop::collection::vec(arb_message(), 0..5),
        system in arb_message(),
        tools in prop::collection::vec(arb_value(), 0..3),
        seed in 1u64..,
    ) {
        let body = json!({"system": system, "instructions": system, "messages": messages,
            "input": messages, "tools": tools});
        for api in APIS {
            agree(api, &spelled(&body, seed))?;
        }
    }
}
