use serde_json::{Value, json};

use super::fixtures::{capture, event, meta, pending};
use super::*;

/// Chunk sizes every stream is replayed with (the fixtures cycle through more after it).
const CHUNKINGS: [usize; 5] = [1, 2, 5, 64, usize::MAX];

fn resolve(a: &Assembled, hashes: &[BlockHash]) -> Vec<Value> {
    let find = |h: &BlockHash| a.blocks.iter().find(|b| b.h == *h).unwrap().value();
    hashes.iter().map(find).collect()
}

fn messages(a: &Assembled) -> Vec<(String, Vec<Value>)> {
    let request = a.record.request.as_ref().unwrap();
    let each = |m: &crate::record::MessageRefs| (m.role.clone(), resolve(a, &m.content));
    request.messages.iter().map(each).collect()
}

fn response(a: &Assembled) -> Vec<Value> {
    resolve(a, &a.record.response.as_ref().unwrap().content)
}

fn data(chunk: &Value) -> String {
    format!("data: {chunk}\n\n")
}

fn chat_request() -> Value {
    json!({"model": "gpt-5", "stream": true, "messages": [
        {"role": "developer", "content": "Be terse."},
        {"role": "user", "content": [
            {"type": "text", "text": "What is in /tmp? ✓"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
        ]},
        {"role": "assistant", "content": null, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "ls", "arguments": "{\"path\":\"/tmp\"}"}},
        ]},
        {"role": "tool", "tool_call_id": "call_1", "content": "a.txt\nb.txt"},
    ], "tools": [{"type": "function", "function": {"name": "ls", "parameters": {"type": "object"}}}]})
}

fn chat_chunk(choice: &Value) -> Value {
    json!({"id": "c1", "object": "chat.completion.chunk", "choices": [choice], "usage": null})
}

#[test]
fn chat_stream_merges_content_and_tool_call_deltas() {
    let mut body = data(&chat_chunk(
        &json!({"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": null}),
    ));
    for piece in ["Two files — ", "déjà ", "vu ✓"] {
        body += &data(&chat_chunk(
            &json!({"index": 0, "delta": {"content": piece}}),
        ));
    }
    let calls = [
        json!({"index": 0, "id": "call_2", "type": "function", "function": {"name": "cat", "arguments": ""}}),
        json!({"index": 0, "function": {"arguments": "{\"pa"}}),
        json!({"index": 0, "function": {"arguments": "th\":\"a.txt\"}"}}),
    ];
    for call in calls {
        body += &data(&chat_chunk(
            &json!({"index": 0, "delta": {"tool_calls": [call]}}),
        ));
    }
    body += &data(&chat_chunk(
        &json!({"index": 0, "delta": {}, "finish_reason": "tool_calls"}),
    ));
    body += &data(&json!({"id": "c1", "choices": [], "usage": {"prompt_tokens": 9}}));
    body += "data: [DONE]\n\n";
    for chunk in CHUNKINGS {
        let p = pending(
            meta(Api::OpenAiChat, "r"),
            &chat_request(),
            capture(true, body.as_bytes(), chunk),
        );
        let a = assemble(&p);
        assert_eq!(a.record.stop_reason.as_deref(), Some("tool_calls"));
        assert_eq!(
            response(&a),
            [
                json!({"type": "text", "text": "Two files — déjà vu ✓"}),
                json!({"type": "tool_call", "id": "call_2", "name": "cat",
                    "arguments": "{\"path\":\"a.txt\"}"}),
            ]
        );
        let request = a.record.request.as_ref().unwrap();
        assert!(request.system.is_empty());
        assert_eq!(request.tools.len(), 1);
        assert_eq!(
            messages(&a),
            [
                (
                    "developer".into(),
                    vec![json!({"type": "text", "text": "Be terse."})]
                ),
                (
                    "user".into(),
                    vec![
                        json!({"type": "text", "text": "What is in /tmp? ✓"}),
                        json!({"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}),
                    ]
                ),
                (
                    "assistant".into(),
                    vec![json!({"type": "tool_call", "id": "call_1",
                    "name": "ls", "arguments": "{\"path\":\"/tmp\"}"})]
                ),
                (
                    "tool".into(),
                    vec![json!({"type": "tool_result", "tool_call_id": "call_1",
                    "content": "a.txt\nb.txt"})]
                ),
            ]
        );
    }
}

#[test]
fn chat_json_response_gives_text_and_tool_calls() {
    let body = json!({"id": "c1", "object": "chat.completion", "choices": [{"index": 0,
        "message": {"role": "assistant", "content": "Reading it.", "refusal": null,
            "tool_calls": [{"id": "call_3", "type": "function",
                "function": {"name": "cat", "arguments": "{}"}}]},
        "finish_reason": "tool_calls"}]});
    let p = pending(
        meta(Api::OpenAiChat, "r"),
        &chat_request(),
        capture(false, body.to_string().as_bytes(), 10),
    );
    let a = assemble(&p);
    assert_eq!(
        response(&a),
        [
            json!({"type": "text", "text": "Reading it."}),
            json!({"type": "tool_call", "id": "call_3", "name": "cat", "arguments": "{}"}),
        ]
    );
    assert_eq!(a.record.stop_reason.as_deref(), Some("tool_calls"));
}

fn responses_request() -> Value {
    json!({"model": "gpt-5", "instructions": "You are helpful.", "input": [
        {"role": "user", "content": "List files"},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "in /tmp"}]},
        {"type": "reasoning", "id": "rs_1", "summary": []},
        {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "ls", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "call_1", "output": "a.txt"},
    ], "tools": [{"type": "function", "name": "ls", "parameters": {}}]})
}

fn message_item(status: &str) -> Value {
    json!({"id": "msg_1", "type": "message", "status": status, "role": "assistant",
        "content": [{"type": "output_text", "annotations": [], "text": "One file: a.txt ✓"}]})
}

fn responses_stream(terminal: Option<(&str, Value)>) -> String {
    let reasoning = json!({"type": "reasoning", "id": "rs_2", "summary": []});
    let mut body = event(
        "response.created",
        &json!({"type": "response.created",
        "response": {"status": "in_progress", "output": []}}),
    );
    body += &event(
        "response.output_item.added",
        &json!({"type": "response.output_item.added",
        "output_index": 0, "item": message_item("in_progress")}),
    );
    for delta in ["One file: ", "a.txt ✓"] {
        body += &event(
            "response.output_text.delta",
            &json!({
            "type": "response.output_text.delta", "output_index": 0, "delta": delta}),
        );
    }
    body += &event(
        "response.output_item.done",
        &json!({"type": "response.output_item.done",
        "output_index": 0, "item": message_item("completed")}),
    );
    if let Some((kind, details)) = terminal {
        body += &event(
            kind,
            &json!({"type": kind, "response": {"status": kind.trim_start_matches("response."),
            "incomplete_details": details, "output": [reasoning, message_item("completed")]}}),
        );
    }
    body
}

#[test]
fn responses_stream_prefers_the_terminal_event_output() {
    let body = responses_stream(Some(("response.completed", Value::Null)));
    for chunk in CHUNKINGS {
        let p = pending(
            meta(Api::OpenAiResponses, "r"),
            &responses_request(),
            capture(true, body.as_bytes(), chunk),
        );
        let a = assemble(&p);
        assert_eq!(a.record.stop_reason.as_deref(), Some("completed"));
        let out = response(&a);
        assert_eq!(out.len(), 2);
        assert_eq!(out[1], message_item("completed"));
        let request = a.record.request.as_ref().unwrap();
        assert_eq!(
            resolve(&a, &request.system),
            [json!({"type": "text", "text": "You are helpful."})]
        );
        let roles: Vec<_> = messages(&a).into_iter().map(|(r, _)| r).collect();
        assert_eq!(
            roles,
            [
                "user",
                "user",
                "reasoning",
                "function_call",
                "function_call_output"
            ]
        );
        let m = messages(&a);
        assert_eq!(m[0].1, [json!({"type": "text", "text": "List files"})]);
        assert_eq!(m[1].1, [json!({"type": "input_text", "text": "in /tmp"})]);
        assert_eq!(m[3].1[0]["call_id"], "call_1");
    }
}

#[test]
fn responses_stream_without_terminal_event_uses_done_items() {
    let p = pending(
        meta(Api::OpenAiResponses, "r"),
        &json!({"input": "hi"}),
        capture(true, responses_stream(None).as_bytes(), 3),
    );
    let a = assemble(&p);
    assert_eq!(response(&a), [message_item("completed")]);
    assert_eq!(a.record.stop_reason, None);
    assert_eq!(
        messages(&a),
        [("user".into(), vec![json!({"type": "text", "text": "hi"})])]
    );
}

#[test]
fn responses_incomplete_reason_is_the_stop_reason() {
    let details = json!({"reason": "max_output_tokens"});
    let body = responses_stream(Some(("response.incomplete", details)));
    let p = pending(
        meta(Api::OpenAiResponses, "r"),
        &responses_request(),
        capture(true, body.as_bytes(), 7),
    );
    assert_eq!(
        assemble(&p).record.stop_reason.as_deref(),
        Some("max_output_tokens")
    );
}

#[test]
fn responses_json_gives_output_items_and_status() {
    let body = json!({"id": "resp_1", "object": "response", "status": "completed",
        "incomplete_details": null, "error": null, "output": [message_item("completed")]});
    let p = pending(
        meta(Api::OpenAiResponses, "r"),
        &responses_request(),
        capture(false, body.to_string().as_bytes(), 8),
    );
    let a = assemble(&p);
    assert_eq!(response(&a), [message_item("completed")]);
    assert_eq!(a.record.stop_reason.as_deref(), Some("completed"));
}
