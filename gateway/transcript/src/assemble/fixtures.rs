//! Test fixtures: metadata, captures split at awkward byte positions, SSE builders and a
//! Claude Code-shaped session generator (system array, tools, tool_use/tool_result history,
//! a cache breakpoint moving to the last block every turn).

use bytes::Bytes;
use gateway_core::Usage;
use serde_json::{Value, json};

use crate::{Api, Meta, Mode, Pending, ResponseCapture};

/// Metadata of a successful request in session `sess-1`.
pub(crate) fn meta(api: Api, id: &str) -> Meta {
    Meta {
        id: id.to_owned(),
        session: Some("sess-1".to_owned()),
        agent: None,
        parent_agent: None,
        product: Some("wizard".to_owned()),
        subject: "alice".to_owned(),
        org: Some("acme".to_owned()),
        api,
        model: "claude-sonnet-4-5".to_owned(),
        upstream: "anthropic".to_owned(),
        key_id: None,
        attempts: None,
        possibly_billed: Vec::new(),
        started_at: "2026-11-26T12:00:01.234Z".to_owned(),
        latency_ms: 1234,
        ttft_ms: Some(321),
        status: 200,
        complete: true,
        usage: Usage {
            input: 300,
            output: 85,
            cache_read: 900,
            cache_write_5m: 0,
            cache_write_1h: 0,
        },
        usage_estimated: false,
        cost_micro_usd: 4213,
        redactions: Default::default(),
    }
}

/// `body` captured as frames of cycling awkward sizes starting at `first_chunk` bytes
/// (so SSE lines and UTF-8 sequences are split anywhere).
pub(crate) fn capture(sse: bool, body: &[u8], first_chunk: usize) -> ResponseCapture {
    let mut capture = ResponseCapture::new(sse);
    let sizes = [first_chunk.max(1), 1, 2, 3, 5, 7, 11];
    let mut rest = body;
    for size in sizes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (frame, next) = rest.split_at((*size).min(rest.len()));
        capture.push(&Bytes::copy_from_slice(frame));
        rest = next;
    }
    capture
}

/// A full-mode pending record.
pub(crate) fn pending(meta: Meta, request: &Value, response: ResponseCapture) -> Pending {
    Pending {
        meta,
        mode: Mode::Full,
        request_body: Bytes::from(request.to_string()),
        response,
    }
}

/// `event: name\ndata: json\n\n`.
pub(crate) fn event(name: &str, data: &Value) -> String {
    format!("event: {name}\ndata: {data}\n\n")
}

/// The Claude Code system prompt: attribution block, ~10 KB of instructions, environment.
pub(crate) fn claude_code_system() -> Value {
    let instructions = "You are Claude Code, Anthropic's official CLI for Claude. Use the \
                        tools available to you to assist the user with software engineering \
                        tasks. "
        .repeat(60);
    json!([
        {"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1.332; cc_entrypoint=sdk-cli"},
        {"type": "text", "text": instructions},
        {"type": "text", "text": "<env>Working directory: /work/app\nPlatform: linux</env>",
         "cache_control": {"type": "ephemeral"}},
    ])
}

/// Claude Code-shaped tool definitions (~700 bytes each).
pub(crate) fn claude_code_tools(count: usize) -> Vec<Value> {
    (0..count)
        .map(|i| {
            json!({
                "name": format!("Tool{i}"),
                "description": format!("Tool number {i}. ").repeat(25),
                "input_schema": {
                    "type": "object",
                    "properties": {
                        "command": {"type": "string", "description": "The command to run"},
                        "timeout": {"type": "number", "description": "Timeout in ms"},
                    },
                    "required": ["command"],
                    "additionalProperties": false,
                    "$schema": "http://json-schema.org/draft-07/schema#",
                },
            })
        })
        .collect()
}

/// A Claude Code-shaped session: every turn resends the whole history, the cache breakpoint
/// on its last block.
#[derive(Debug)]
pub(crate) struct ClaudeCodeSession {
    history: Vec<Value>,
    tools: Vec<Value>,
    turn: usize,
}

/// One turn: the request body and the streamed response body.
#[derive(Debug)]
pub(crate) struct Turn {
    pub(crate) request: Value,
    pub(crate) response_sse: String,
}

impl ClaudeCodeSession {
    pub(crate) fn new(prompt: &str, tools: usize) -> Self {
        Self {
            history: vec![json!({"role": "user", "content": [{"type": "text", "text": prompt}]})],
            tools: claude_code_tools(tools),
            turn: 0,
        }
    }

    /// The next request and its answer (text + a Bash tool_use), then records the answer
    /// and a tool result of `result_bytes` in the history.
    pub(crate) fn next_turn(&mut self, result_bytes: usize) -> Turn {
        let mut messages = self.history.clone();
        if let Some(last) = messages
            .last_mut()
            .and_then(|m| m.get_mut("content"))
            .and_then(Value::as_array_mut)
            .and_then(|c| c.last_mut())
            .and_then(Value::as_object_mut)
        {
            last.insert("cache_control".into(), json!({"type": "ephemeral"}));
        }
        let request = json!({
            "model": "claude-sonnet-4-5",
            "max_tokens": 32000,
            "stream": true,
            "system": claude_code_system(),
            "tools": self.tools,
            "messages": messages,
            "metadata": {"user_id": "{\"session_id\":\"sess-1\"}"},
        });
        let n = self.turn;
        let text = format!("Step {n}: I’ll run the command — ✓ déjà vu 🙂");
        let id = format!("toolu_{n:04}");
        let input = json!({"command": format!("ls -la src/module_{n}"), "timeout": 120000});
        let response_sse = anthropic_tool_sse(&text, &id, "Bash", &input);
        self.history.push(json!({"role": "assistant", "content": [
            {"type": "text", "text": text},
            {"type": "tool_use", "id": id, "name": "Bash", "input": input},
        ]}));
        let output =
            format!("line {n} of output: drwxr-xr-x src ✓\n").repeat(result_bytes / 34 + 1);
        self.history.push(json!({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": id, "content": output},
        ]}));
        self.turn += 1;
        Turn {
            request,
            response_sse,
        }
    }
}

/// An Anthropic stream: text block, then a tool_use whose input arrives in pieces.
pub(crate) fn anthropic_tool_sse(text: &str, id: &str, name: &str, input: &Value) -> String {
    let mut out = event(
        "message_start",
        &json!({"type": "message_start", "message": {"id": "msg_1", "type": "message",
            "role": "assistant", "content": [], "usage": {"input_tokens": 12, "output_tokens": 1}}}),
    );
    out += &event(
        "content_block_start",
        &json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
    );
    out += ": keepalive\n\n";
    let chars: Vec<char> = text.chars().collect();
    for piece in chars.chunks(4) {
        let piece: String = piece.iter().collect();
        out += &event(
            "content_block_delta",
            &json!({"type": "content_block_delta", "index": 0,
                "delta": {"type": "text_delta", "text": piece}}),
        );
    }
    out += &event("ping", &json!({"type": "ping"}));
    out += &event(
        "content_block_stop",
        &json!({"type": "content_block_stop", "index": 0}),
    );
    out += &event(
        "content_block_start",
        &json!({"type": "content_block_start", "index": 1,
            "content_block": {"type": "tool_use", "id": id, "name": name, "input": {}}}),
    );
    let json = input.to_string();
    let (a, b) = json.split_at(json.len() / 2);
    for part in ["", a, b] {
        out += &event(
            "content_block_delta",
            &json!({"type": "content_block_delta", "index": 1,
                "delta": {"type": "input_json_delta", "partial_json": part}}),
        );
    }
    out += &event(
        "content_block_stop",
        &json!({"type": "content_block_stop", "index": 1}),
    );
    out += &event(
        "message_delta",
        &json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null},
            "usage": {"output_tokens": 85}}),
    );
    out += &event("message_stop", &json!({"type": "message_stop"}));
    out
}
