use bytes::Bytes;
use serde_json::{Value, json};

use super::fixtures::{ClaudeCodeSession, capture, event, meta, pending};
use super::*;
use crate::ResponseCapture;

/// Chunk sizes every stream is replayed with (the fixtures cycle through more after it).
const CHUNKINGS: [usize; 6] = [1, 2, 3, 7, 64, usize::MAX];

/// The block's value. Leaked so the assertions below can compare references (a test's
/// blocks are small and few).
fn block(assembled: &Assembled, hash: &BlockHash) -> &'static Value {
    let value = assembled
        .blocks
        .iter()
        .find(|b| b.h == *hash)
        .unwrap()
        .value();
    Box::leak(Box::new(value))
}

fn response(assembled: &Assembled) -> Vec<&Value> {
    let refs = assembled.record.response.as_ref().unwrap();
    refs.content.iter().map(|h| block(assembled, h)).collect()
}

fn message(assembled: &Assembled, index: usize) -> (&str, Vec<&Value>) {
    let m = &assembled.record.request.as_ref().unwrap().messages[index];
    let content = m.content.iter().map(|h| block(assembled, h)).collect();
    (m.role.as_str(), content)
}

/// Every referenced hash has its block, each block is listed once.
fn assert_self_contained(assembled: &Assembled) {
    let mut hashes: Vec<_> = assembled.blocks.iter().map(|b| b.h).collect();
    for b in &assembled.blocks {
        assert_eq!(b.h, BlockHash::of(&b.value()));
    }
    let request = assembled.record.request.iter().flat_map(|r| {
        let messages = r.messages.iter().flat_map(|m| m.content.iter());
        r.system.iter().chain(r.tools.iter()).chain(messages)
    });
    let response = assembled
        .record
        .response
        .iter()
        .flat_map(|r| r.content.iter());
    for h in request.chain(response) {
        assert!(hashes.contains(h), "missing block {h}");
    }
    hashes.sort();
    hashes.dedup();
    assert_eq!(hashes.len(), assembled.blocks.len());
}

#[test]
fn claude_code_stream_turn_decomposes_request_and_reassembles_split_stream() {
    let mut session = ClaudeCodeSession::new("Fix the bug ✓", 15);
    session.next_turn(3000);
    let turn = session.next_turn(3000);
    let next = session.next_turn(3000);
    for chunk in CHUNKINGS {
        let frames = capture(true, turn.response_sse.as_bytes(), chunk);
        let p = pending(meta(Api::AnthropicMessages, "r1"), &turn.request, frames);
        let a = assemble(&p);
        assert_self_contained(&a);
        assert_eq!(a.record.v, FORMAT_VERSION);
        assert_eq!(a.record.meta, p.meta);
        assert_eq!(a.record.stop_reason.as_deref(), Some("tool_use"));
        let request = a.record.request.as_ref().unwrap();
        assert_eq!(request.system.len(), 3);
        assert_eq!(request.tools.len(), 15);
        let roles: Vec<_> = request.messages.iter().map(|m| m.role.as_str()).collect();
        assert_eq!(roles, ["user", "assistant", "user"]);
        assert_eq!(message(&a, 1).1[1]["type"], "tool_use");
        let (_, last) = message(&a, 2);
        assert_eq!(last[0]["type"], "tool_result");
        assert!(
            last[0].get("cache_control").is_none(),
            "breakpoint stripped"
        );
        assert!(block(&a, &request.system[2]).get("cache_control").is_none());
        let out = response(&a);
        assert_eq!(
            out[0],
            &json!({"type": "text", "text": "Step 1: I’ll run the command — ✓ déjà vu 🙂"})
        );
        assert_eq!(
            out[1],
            &json!({"type": "tool_use", "id": "toolu_0001", "name": "Bash",
                "input": {"command": "ls -la src/module_1", "timeout": 120000}})
        );
        // The next turn resends this answer: same blocks, same hashes.
        let next_a = assemble(&pending(
            meta(Api::AnthropicMessages, "r2"),
            &next.request,
            ResponseCapture::new(true),
        ));
        let resent = &next_a.record.request.as_ref().unwrap().messages[3].content;
        assert_eq!(resent, &a.record.response.as_ref().unwrap().content);
    }
}

#[test]
fn anthropic_stream_keeps_thinking_without_signature_and_raw_unparseable_input() {
    let mut body = event(
        "content_block_start",
        &json!({"type": "content_block_start", "index": 0,
            "content_block": {"type": "thinking", "thinking": "", "signature": ""}}),
    );
    for delta in [
        json!({"type": "thinking_delta", "thinking": "Let me think… "}),
        json!({"type": "thinking_delta", "thinking": "done."}),
        json!({"type": "signature_delta", "signature": "EqQBCkgIARABGAIiQL"}),
    ] {
        body += &event(
            "content_block_delta",
            &json!({"type": "content_block_delta", "index": 0, "delta": delta}),
        );
    }
    body += &event(
        "content_block_start",
        &json!({"type": "content_block_start", "index": 1,
            "content_block": {"type": "tool_use", "id": "t1", "name": "Read", "input": {}}}),
    );
    body += &event(
        "content_block_delta",
        &json!({"type": "content_block_delta", "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": "{\"path\": \"/x"}}),
    );
    body += &event(
        "error",
        &json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
    );
    for chunk in CHUNKINGS {
        let p = pending(
            meta(Api::AnthropicMessages, "r"),
            &json!({"messages": []}),
            capture(true, body.as_bytes(), chunk),
        );
        let a = assemble(&p);
        assert_eq!(
            response(&a),
            [
                &json!({"type": "thinking", "thinking": "Let me think… done."}),
                &json!({"type": "tool_use", "id": "t1", "name": "Read", "input_raw": "{\"path\": \"/x"}),
                &json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
            ]
        );
        assert_eq!(a.record.stop_reason, None);
        // Resent with its signature in the next request, the thinking is the same block.
        let resent = json!({"messages": [{"role": "assistant", "content": [
            {"type": "thinking", "thinking": "Let me think… done.", "signature": "EqQBCkgIARABGAIiQL"},
        ]}]});
        let next = assemble(&pending(
            meta(Api::AnthropicMessages, "r2"),
            &resent,
            ResponseCapture::new(true),
        ));
        assert_eq!(
            next.record.request.as_ref().unwrap().messages[0].content[0],
            a.record.response.as_ref().unwrap().content[0]
        );
    }
}

#[test]
fn anthropic_json_response_keeps_content_minus_signatures() {
    let body = json!({"id": "msg_1", "type": "message", "role": "assistant",
        "content": [
            {"type": "thinking", "thinking": "hmm", "signature": "sig"},
            {"type": "redacted_thinking", "data": "opaque"},
            {"type": "text", "text": "Hello ✓"},
        ],
        "stop_reason": "end_turn", "usage": {"input_tokens": 3, "output_tokens": 2}});
    let request = json!({"model": "m", "system": "Be brief.",
        "messages": [{"role": "user", "content": "hi"}]});
    let p = pending(
        meta(Api::AnthropicMessages, "r"),
        &request,
        capture(false, body.to_string().as_bytes(), 5),
    );
    let a = assemble(&p);
    assert_self_contained(&a);
    let req = a.record.request.as_ref().unwrap();
    assert_eq!(
        block(&a, &req.system[0]),
        &json!({"type": "text", "text": "Be brief."})
    );
    assert_eq!(
        message(&a, 0),
        ("user", vec![&json!({"type": "text", "text": "hi"})])
    );
    assert_eq!(
        response(&a),
        [
            &json!({"type": "thinking", "thinking": "hmm"}),
            &json!({"type": "redacted_thinking", "data": "opaque"}),
            &json!({"type": "text", "text": "Hello ✓"}),
        ]
    );
    assert_eq!(a.record.stop_reason.as_deref(), Some("end_turn"));
}

#[test]
fn error_status_records_the_error_body_and_no_stop_reason() {
    let mut m = meta(Api::AnthropicMessages, "r");
    m.status = 529;
    let error =
        json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}});
    let p = pending(
        m.clone(),
        &json!({}),
        capture(false, error.to_string().as_bytes(), 3),
    );
    let a = assemble(&p);
    assert_eq!(response(&a), [&error]);
    assert_eq!(a.record.stop_reason, None);

    let html = "<html>bad gateway é</html>".repeat(400);
    let p = pending(m, &json!({}), capture(false, html.as_bytes(), 1000));
    let out = response(&assemble(&p))[0].clone();
    assert_eq!(out["type"], "error_text");
    let text = out["text"].as_str().unwrap();
    assert!(text.len() <= ERROR_TEXT_MAX_BYTES && text.len() > ERROR_TEXT_MAX_BYTES - 4);
    assert!(html.starts_with(text));
}

#[test]
fn metadata_mode_records_no_content() {
    let mut session = ClaudeCodeSession::new("hi", 2);
    let turn = session.next_turn(10);
    let mut p = pending(
        meta(Api::AnthropicMessages, "r"),
        &turn.request,
        capture(true, turn.response_sse.as_bytes(), 9),
    );
    p.mode = Mode::Metadata;
    let a = assemble(&p);
    assert_eq!(a.record.mode, Mode::Metadata);
    assert_eq!(a.record.meta, p.meta);
    assert!(a.record.request.is_none() && a.record.response.is_none());
    assert!(a.record.stop_reason.is_none() && a.blocks.is_empty());
}

#[test]
fn unparseable_bodies_keep_the_metadata() {
    let garbage = Bytes::from_static(b"\xff\xfe{not json \xc3");
    for api in [
        Api::AnthropicMessages,
        Api::OpenAiChat,
        Api::OpenAiResponses,
    ] {
        for sse in [true, false] {
            let mut frames = ResponseCapture::new(sse);
            frames.push(&garbage);
            let p = Pending {
                meta: meta(api, "r"),
                mode: Mode::Full,
                request_body: garbage.clone(),
                response: frames,
            };
            let a = assemble(&p);
            assert_eq!(a.record.meta, p.meta);
            assert!(a.record.request.is_none() && a.record.response.is_none());
            assert!(a.blocks.is_empty());
        }
    }
}

#[test]
fn truncated_streams_keep_what_arrived_and_say_so() {
    let turn = ClaudeCodeSession::new("hi", 1).next_turn(10);
    let sse = turn.response_sse.as_bytes();
    let cut = sse.len() / 2;
    let mut frames = capture(true, sse.get(..cut).unwrap(), 4);
    frames.push(&Bytes::from(vec![b'x'; ResponseCapture::MAX_BYTES]));
    let a = assemble(&pending(
        meta(Api::AnthropicMessages, "r"),
        &turn.request,
        frames,
    ));
    assert!(a.record.response_truncated);
    let out = response_of(&a);
    assert_eq!(out[0]["type"], "text");
    assert_eq!(a.record.stop_reason, None);
}

fn response_of(a: &Assembled) -> Vec<Value> {
    response(a).into_iter().cloned().collect()
}

#[test]
fn non_utf8_in_a_stream_is_replaced_not_fatal() {
    let mut body = event(
        "content_block_start",
        &json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
    )
    .into_bytes();
    body.extend_from_slice(b"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"a\xffb\"}}\n\n");
    let p = pending(
        meta(Api::AnthropicMessages, "r"),
        &json!({}),
        capture(true, &body, 3),
    );
    assert_eq!(response_of(&assemble(&p))[0]["text"], "a\u{fffd}b");
}
