use serde_json::{Value, json};

use super::*;
use crate::assemble::fixtures::meta;
use crate::record::{FORMAT_VERSION, RequestRefs, ResponseRefs};
use crate::{Api, Record};

fn hashes(values: &[Value]) -> Vec<BlockHash> {
    values.iter().map(BlockHash::of).collect()
}

/// A turn built straight from values (refs are their hashes).
fn turn(
    id: &str,
    agent: Option<&str>,
    messages: &[(&str, Vec<Value>)],
    response: Vec<Value>,
) -> Turn {
    let mut m = meta(Api::AnthropicMessages, id);
    m.agent = agent.map(str::to_owned);
    let system =
        vec![json!({"type": "text", "text": format!("System of {}", agent.unwrap_or("main"))})];
    let tools = vec![json!({"name": "Bash", "input_schema": {}})];
    let request = RequestRefs {
        system: hashes(&system),
        tools: hashes(&tools),
        messages: messages
            .iter()
            .map(|(role, content)| MessageRefs {
                role: (*role).to_owned(),
                content: hashes(content),
            })
            .collect(),
    };
    Turn {
        record: Record {
            v: FORMAT_VERSION,
            meta: m,
            mode: Mode::Full,
            stop_reason: Some("end_turn".to_owned()),
            request: Some(request),
            response: Some(ResponseRefs {
                content: hashes(&response),
            }),
            response_truncated: false,
        },
        system,
        tools,
        messages: messages
            .iter()
            .map(|(r, c)| ((*r).to_owned(), c.clone()))
            .collect(),
        response,
    }
}

fn text_block(text: &str) -> Value {
    json!({"type": "text", "text": text})
}

fn rendered(value: &Value) -> String {
    let mut out = String::new();
    block::lines(&mut out, value);
    out
}

#[test]
fn header_names_agent_flags_estimates_and_cache_writes() {
    let mut t = turn("r", Some("sub-1"), &[], vec![]);
    let meta = &mut t.record.meta;
    meta.complete = false;
    meta.usage_estimated = true;
    meta.usage.cache_write_5m = 50;
    meta.cost_micro_usd = 12_345_678;
    t.record.response_truncated = true;
    assert_eq!(
        header(7, &t),
        "── turn 7 · 2026-11-26T12:00:01.234Z · claude-sonnet-4-5 · 200 · end_turn · \
         in ~1250 (cache read 900, cache write 50) / out 85 tokens · $12.345678 · 1.23 s · \
         agent sub-1 · incomplete · response truncated"
    );
}

#[test]
fn blocks_of_every_api_render_readably() {
    let cases = [
        (
            json!({"type": "tool_call", "id": "c1", "name": "ls", "arguments": "{\"path\":\"/\"}"}),
            "    → tool ls {\"path\":\"/\"}\n",
        ),
        (
            json!({"type": "function_call", "call_id": "c1", "name": "ls", "arguments": "{}"}),
            "    → tool ls {}\n",
        ),
        (
            json!({"type": "tool_use", "id": "t", "name": "Read", "input_raw": "{\"pa"}),
            "    → tool Read {\"pa\n",
        ),
        (
            json!({"type": "tool_result", "tool_use_id": "t1", "is_error": true,
            "content": [{"type": "text", "text": "boom"}, {"type": "image", "source": {}}]}),
            "    ← error (t1): boom [image]\n",
        ),
        (
            json!({"type": "tool_result", "tool_call_id": "c1", "content": "a\nb"}),
            "    ← result (c1): a⏎b\n",
        ),
        (
            json!({"type": "function_call_output", "call_id": "c1", "output": "ok"}),
            "    ← result (c1): ok\n",
        ),
        (
            json!({"type": "image_url", "image_url": {"url": "data:"}}),
            "    [image]\n",
        ),
        (
            json!({"type": "document", "source": {}}),
            "    [document]\n",
        ),
        (
            json!({"type": "thinking", "thinking": "hmm"}),
            "    (thinking) hmm\n",
        ),
        (
            json!({"type": "redacted_thinking", "data": "x"}),
            "    [redacted thinking]\n",
        ),
        (
            json!({"type": "message", "role": "assistant",
            "content": [{"type": "output_text", "text": "hi"}]}),
            "    hi\n",
        ),
        (
            json!({"type": "error", "error": {"type": "overloaded_error"}}),
            "    ! error: {\"type\":\"overloaded_error\"}\n",
        ),
        (
            json!({"error": {"code": "x"}}),
            "    ! error: {\"code\":\"x\"}\n",
        ),
        (
            json!({"type": "error_text", "text": "<html>"}),
            "    ! error: <html>\n",
        ),
        (
            json!({"type": "missing_block", "h": "ab"}),
            "    [missing block ab]\n",
        ),
        (
            json!({"type": "web_search_tool_result", "x": 1}),
            "    [web_search_tool_result] {\"type\":\"web_search_tool_result\",\"x\":1}\n",
        ),
    ];
    for (value, expected) in cases {
        assert_eq!(rendered(&value), expected, "{value}");
    }
    let long = rendered(&text_block(&"é".repeat(2500)));
    assert!(long.ends_with("é… (2500 chars)\n"), "{long}");
}

#[test]
fn interleaved_agents_each_show_only_their_new_messages() {
    let ask = ("user", vec![text_block("main task")]);
    let answer = vec![text_block("delegating")];
    let main_1 = turn("1", None, std::slice::from_ref(&ask), answer.clone());
    let sub_1 = turn(
        "2",
        Some("sub"),
        &[("user", vec![text_block("sub task")])],
        vec![text_block("sub done")],
    );
    let main_2 = turn(
        "3",
        None,
        &[
            ask,
            ("assistant", answer),
            ("user", vec![text_block("sub said done")]),
        ],
        vec![text_block("all done")],
    );
    let out = text("s", &[main_1, sub_1, main_2]);
    assert_eq!(out.matches("main task").count(), 1, "{out}");
    assert_eq!(out.matches("delegating").count(), 1, "{out}");
    assert_eq!(out.matches("system (").count(), 2, "{out}");
    assert!(out.contains("System of sub"), "{out}");
    assert!(
        out.contains("sub said done") && out.contains("all done"),
        "{out}"
    );
}

#[test]
fn rewritten_history_is_shown_whole_with_a_note() {
    let first = turn(
        "1",
        None,
        &[("user", vec![text_block("long history")])],
        vec![text_block("ok")],
    );
    let compacted = turn(
        "2",
        None,
        &[("user", vec![text_block("summary of it")])],
        vec![text_block("ok")],
    );
    let out = text("s", &[first, compacted]);
    assert!(
        out.contains("(history differs from the previous turn: all 1 messages shown)"),
        "{out}"
    );
    assert!(out.contains("summary of it"), "{out}");
}

#[test]
fn metadata_only_and_error_turns_are_counted() {
    let mut quiet = turn("1", None, &[], vec![]);
    quiet.record.mode = Mode::Metadata;
    let mut failed = turn(
        "2",
        None,
        &[],
        vec![json!({"type": "error", "error": {"type": "rate_limit_error"}})],
    );
    failed.record.meta.status = 429;
    failed.record.stop_reason = None;
    let out = text("s", &[quiet, failed]);
    assert!(out.contains("  (metadata only)\n"), "{out}");
    assert!(out.contains(" · 429 · in "), "{out}");
    assert!(
        out.contains("! error: {\"type\":\"rate_limit_error\"}"),
        "{out}"
    );
    assert!(out.ends_with("· $0.008426 total · 1 errors\n"), "{out}");
    let doc = json("s", &[]);
    assert_eq!(doc["turns"], json!([]));
    assert_eq!(doc["totals"]["turns"], 0);
}
