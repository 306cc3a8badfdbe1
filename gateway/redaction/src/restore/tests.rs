//! Restore on every wire format, at every split of the byte stream.

use std::sync::Arc;

use bytes::Bytes;
use gateway_core::Api;
use gateway_redact::{HistoryCache, Redactor, RedactorConfig, RestoreMap, TenantKey};
use serde_json::{Value, json};

use super::{Restored, json::JsonRestore, sse::SseRestore};

/// A secret with a quote, so JSON escaping shows.
const SECRET: &str = "Sup3r\\Secret-42xyz";

/// A restore map holding the placeholder of [`SECRET`], and that placeholder.
fn map() -> (Arc<RestoreMap>, String) {
    let key = TenantKey::new(b"0123456789abcdef0123456789abcdef".to_vec()).unwrap();
    let redactor = Redactor::new(RedactorConfig::new(key)).unwrap();
    let body =
        json!({"messages": [{"role": "user", "content": format!("DB_PASSWORD={SECRET}\n")}]})
            .to_string();
    let out = redactor
        .redact_request(
            body.as_bytes(),
            Api::AnthropicMessages,
            &HistoryCache::new(0),
        )
        .unwrap();
    let (_, _, map) = out.into_parts();
    let ph = map.placeholders().next().unwrap().to_owned();
    (Arc::new(map), ph)
}

fn event(name: &str, data: &Value) -> String {
    format!("event: {name}\ndata: {data}\n\n")
}

/// Runs `stream` through a restorer cut at `cut`, then at every byte.
fn run(api: Api, map: &Arc<RestoreMap>, stream: &str, cut: usize) -> (String, u64) {
    let mut r = SseRestore::new(api, map.clone());
    let mut out = Vec::new();
    out.extend_from_slice(&r.feed(Bytes::copy_from_slice(&stream.as_bytes()[..cut])));
    out.extend_from_slice(&r.feed(Bytes::copy_from_slice(&stream.as_bytes()[cut..])));
    out.extend_from_slice(&r.finish());
    (String::from_utf8(out).unwrap(), r.restored())
}

/// The data of every event, parsed.
fn events(text: &str) -> Vec<Value> {
    text.split("\n\n")
        .filter_map(|e| e.lines().find_map(|l| l.strip_prefix("data: ")))
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).unwrap())
        .collect()
}

fn anthropic_stream(ph: &str) -> (String, usize) {
    let (a, b) = ph.split_at(9);
    let start = event(
        "message_start",
        &json!({"type":"message_start","message":{"id":"m","content":[]}}),
    );
    let thinking = event(
        "content_block_delta",
        &json!({"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":format!("echo {ph}")}}),
    );
    let tool = [
        event(
            "content_block_start",
            &json!({"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"t","name":"Bash","input":{}}}),
        ),
        event(
            "content_block_delta",
            &json!({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":format!("{{\"command\": \"PGPASSWORD={a}")}}),
        ),
        event(
            "content_block_delta",
            &json!({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":format!("{b} psql\"}}")}}),
        ),
        event(
            "content_block_stop",
            &json!({"type":"content_block_stop","index":1}),
        ),
    ]
    .concat();
    // A text block ending in a partial placeholder prefix that never completes.
    let text = [
        event(
            "content_block_delta",
            &json!({"type":"content_block_delta","index":2,"delta":{"type":"text_delta","text":format!("done: {ph} gw")}}),
        ),
        event(
            "content_block_stop",
            &json!({"type":"content_block_stop","index":2}),
        ),
        event("message_stop", &json!({"type":"message_stop"})),
    ]
    .concat();
    let untouched = start.len() + thinking.len();
    (format!("{start}{thinking}{tool}{text}"), untouched)
}

#[test]
fn anthropic_tool_input_and_text_are_restored_at_every_split_and_thinking_is_not() {
    let (map, ph) = map();
    let (stream, untouched) = anthropic_stream(&ph);
    for cut in 0..=stream.len() {
        let (out, restored) = run(Api::AnthropicMessages, &map, &stream, cut);
        assert_eq!(restored, 2, "cut {cut}");
        // Events that need nothing are byte for byte the provider's.
        assert_eq!(out[..untouched], stream[..untouched], "cut {cut}");
        let evs = events(&out);
        let json: String = evs
            .iter()
            .filter(|e| e["delta"]["type"] == "input_json_delta")
            .map(|e| e["delta"]["partial_json"].as_str().unwrap())
            .collect();
        let input: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(
            input["command"],
            format!("PGPASSWORD={SECRET} psql"),
            "cut {cut}"
        );
        let text: String = evs
            .iter()
            .filter(|e| e["delta"]["type"] == "text_delta")
            .map(|e| e["delta"]["text"].as_str().unwrap())
            .collect();
        assert_eq!(text, format!("done: {SECRET} gw"), "cut {cut}");
        assert!(evs[1]["delta"]["thinking"].as_str().unwrap().contains(&ph));
        // Held text goes out before its block stops.
        let stop = evs
            .iter()
            .position(|e| e["type"] == "content_block_stop" && e["index"] == 2)
            .unwrap();
        assert!(
            evs[stop - 1]["delta"]["text"]
                .as_str()
                .unwrap()
                .ends_with("gw")
        );
        assert_eq!(evs.last().unwrap()["type"], "message_stop");
    }
}

#[test]
fn chat_content_and_tool_arguments_are_restored_across_chunks() {
    let (map, ph) = map();
    let (a, b) = ph.split_at(12);
    let chunk = |choice: Value| {
        format!(
            "data: {}\n\n",
            json!({"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt","choices":[choice]})
        )
    };
    let stream = [
        chunk(json!({"index":0,"delta":{"role":"assistant","content":"pw is "},"finish_reason":null})),
        chunk(json!({"index":0,"delta":{"content":a},"finish_reason":null})),
        chunk(json!({"index":0,"delta":{"content":b},"finish_reason":null})),
        chunk(json!({"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"sh","arguments":format!("{{\"cmd\":\"x={a}")}}]},"finish_reason":null})),
        chunk(json!({"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":format!("{b}\"}}")}}]},"finish_reason":null})),
        chunk(json!({"index":0,"delta":{"content":" g"},"finish_reason":null})),
        chunk(json!({"index":0,"delta":{},"finish_reason":"tool_calls"})),
        "data: [DONE]\n\n".to_owned(),
    ]
    .concat();
    let first = chunk(
        json!({"index":0,"delta":{"role":"assistant","content":"pw is "},"finish_reason":null}),
    );
    for cut in 0..=stream.len() {
        let (out, restored) = run(Api::OpenAiChat, &map, &stream, cut);
        assert_eq!(restored, 2, "cut {cut}");
        assert!(out.starts_with(&first), "cut {cut}");
        assert!(out.ends_with("data: [DONE]\n\n"), "cut {cut}");
        let evs = events(&out);
        let content: String = evs
            .iter()
            .filter_map(|e| e["choices"][0]["delta"]["content"].as_str())
            .collect();
        assert_eq!(content, format!("pw is {SECRET} g"), "cut {cut}");
        let args: String = evs
            .iter()
            .filter_map(|e| {
                e["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"].as_str()
            })
            .collect();
        let args: Value = serde_json::from_str(&args).unwrap();
        assert_eq!(args["cmd"], format!("x={SECRET}"), "cut {cut}");
        // The held "g" (a possible placeholder start) goes out, in a chunk of its own,
        // before the finishing chunk.
        let finish = evs
            .iter()
            .position(|e| e["choices"][0]["finish_reason"] == "tool_calls")
            .unwrap();
        assert_eq!(evs[finish - 1]["choices"][0]["delta"]["content"], "g");
        assert_eq!(evs[finish - 1]["id"], "c");
    }
}

#[test]
fn responses_deltas_done_events_and_final_items_are_restored() {
    let (map, ph) = map();
    let (a, b) = ph.split_at(5);
    let ev = |v: Value| event(v["type"].as_str().unwrap(), &v);
    let args = format!("{{\"cmd\":\"x={ph}\"}}");
    let stream = [
        ev(json!({"type":"response.output_text.delta","output_index":0,"content_index":0,"delta":format!("key {a}")})),
        ev(json!({"type":"response.output_text.delta","output_index":0,"content_index":0,"delta":b})),
        ev(json!({"type":"response.output_text.done","output_index":0,"content_index":0,"text":format!("key {ph}")})),
        ev(json!({"type":"response.function_call_arguments.delta","output_index":1,"delta":format!("{{\"cmd\":\"x={a}")})),
        ev(json!({"type":"response.function_call_arguments.delta","output_index":1,"delta":format!("{b}\"}}")})),
        ev(json!({"type":"response.function_call_arguments.done","output_index":1,"arguments":args})),
        ev(json!({"type":"response.output_item.done","output_index":1,"item":{"type":"function_call","name":"sh","arguments":args}})),
        ev(json!({"type":"response.completed","response":{"output":[
            {"type":"reasoning","summary":[{"type":"summary_text","text":ph}]},
            {"type":"message","content":[{"type":"output_text","text":format!("key {ph}")}]},
            {"type":"function_call","arguments":args}]}})),
    ]
    .concat();
    let want_args = json!({"cmd": format!("x={SECRET}")});
    for cut in (0..=stream.len()).step_by(7) {
        let (out, restored) = run(Api::OpenAiResponses, &map, &stream, cut);
        assert_eq!(restored, 7, "cut {cut}");
        let evs = events(&out);
        let text: String = evs
            .iter()
            .filter(|e| e["type"] == "response.output_text.delta")
            .map(|e| e["delta"].as_str().unwrap())
            .collect();
        assert_eq!(text, format!("key {SECRET}"));
        let streamed: String = evs
            .iter()
            .filter(|e| e["type"] == "response.function_call_arguments.delta")
            .map(|e| e["delta"].as_str().unwrap())
            .collect();
        assert_eq!(serde_json::from_str::<Value>(&streamed).unwrap(), want_args);
        let done = |t: &str| evs.iter().find(|e| e["type"] == t).unwrap().clone();
        assert_eq!(
            done("response.output_text.done")["text"],
            format!("key {SECRET}")
        );
        let parsed = |s: &Value| serde_json::from_str::<Value>(s.as_str().unwrap()).unwrap();
        assert_eq!(
            parsed(&done("response.function_call_arguments.done")["arguments"]),
            want_args
        );
        assert_eq!(
            parsed(&done("response.output_item.done")["item"]["arguments"]),
            want_args
        );
        let final_output = &done("response.completed")["response"]["output"];
        assert_eq!(
            final_output[0]["summary"][0]["text"],
            ph.as_str(),
            "reasoning untouched"
        );
        assert_eq!(
            final_output[1]["content"][0]["text"],
            format!("key {SECRET}")
        );
        assert_eq!(parsed(&final_output[2]["arguments"]), want_args);
    }
}

#[test]
fn events_without_placeholders_pass_byte_for_byte_and_other_maps_are_ignored() {
    let (map, ph) = map();
    // Odd spacing and key order the provider chose, kept as is.
    let stream = "event: content_block_delta\r\ndata: {\"index\":0, \"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"gwx_env_NOTMINTED0000000 plain\"}}\r\n\r\n: keepalive\n\nevent: ping\ndata: {\"type\": \"ping\"}\n\n";
    let (out, restored) = run(Api::AnthropicMessages, &map, stream, 10);
    assert_eq!(out, stream);
    assert_eq!(restored, 0);
    // A rewritten event keeps the provider's other bytes too.
    let stream = format!(
        "event: content_block_delta\ndata: {{\"index\":0, \"type\":\"content_block_delta\",\"delta\":{{\"type\":\"text_delta\",\"text\":\"{ph}\"}}}}\n\n"
    );
    let (out, _) = run(Api::AnthropicMessages, &map, &stream, 0);
    let escaped = serde_json::to_string(SECRET).unwrap();
    assert_eq!(out, stream.replace(&format!("\"{ph}\""), &escaped));
}

#[test]
fn whole_json_answers_are_restored_in_text_and_tool_input_only() {
    let (map, ph) = map();
    let body = json!({
        "id": "m", "type": "message",
        "content": [
            {"type": "thinking", "thinking": ph},
            {"type": "text", "text": format!("use {ph}")},
            {"type": "tool_use", "id": "t", "name": "Bash", "input": {"command": format!("PGPASSWORD={ph} psql"), "env": [ph]}}
        ]
    })
    .to_string();
    let mut r = JsonRestore::new(Api::AnthropicMessages, map.clone());
    let mid = body.len() / 2;
    assert!(
        r.feed(Bytes::copy_from_slice(&body.as_bytes()[..mid]))
            .is_empty()
    );
    assert!(
        r.feed(Bytes::copy_from_slice(&body.as_bytes()[mid..]))
            .is_empty()
    );
    let out = r.finish();
    assert_eq!(r.restored(), 3);
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["content"][0]["thinking"], ph.as_str());
    assert_eq!(v["content"][1]["text"], format!("use {SECRET}"));
    assert_eq!(
        v["content"][2]["input"]["command"],
        format!("PGPASSWORD={SECRET} psql")
    );
    assert_eq!(v["content"][2]["input"]["env"][0], SECRET);

    let chat = json!({"choices": [{"index": 0, "message": {"role": "assistant", "content": ph,
        "tool_calls": [{"id": "c", "type": "function", "function": {"name": "sh", "arguments": format!("{{\"cmd\":\"{ph}\"}}")}}]}}]})
    .to_string();
    let mut r = JsonRestore::new(Api::OpenAiChat, map);
    assert!(r.feed(Bytes::from(chat)).is_empty());
    let v: Value = serde_json::from_slice(&r.finish()).unwrap();
    assert_eq!(v["choices"][0]["message"]["content"], SECRET);
    let args: Value = serde_json::from_str(
        v["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(args["cmd"], SECRET);
}

/// `restore` over a whole body type: what the pipeline's response chain does.
mod wrapper {
    use http::{Response, StatusCode, header};
    use http_body_util::{BodyExt, Full};

    use super::*;

    type Plain = http_body_util::combinators::UnsyncBoxBody<Bytes, gateway_core::BoxError>;

    fn response(status: StatusCode, content_type: &str, body: String) -> Response<Plain> {
        let mut r = Response::new(
            Full::new(Bytes::from(body))
                .map_err(|e| match e {})
                .boxed_unsync(),
        );
        *r.status_mut() = status;
        r.headers_mut()
            .insert(header::CONTENT_TYPE, content_type.parse().unwrap());
        r.headers_mut()
            .insert(header::CONTENT_LENGTH, "1".parse().unwrap());
        r
    }

    async fn text(r: Response<Restored<Plain>>) -> String {
        let bytes = r.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn placeholders_are_restored_only_in_successful_answers_with_a_map() {
        let (map, ph) = map();
        let metrics = Arc::new(gateway_metrics::Metrics::new().unwrap());
        let answer = json!({"type": "message", "content": [{"type": "text", "text": format!("it is {ph}")}]}).to_string();

        let r = response(StatusCode::OK, "application/json", answer.clone());
        let r = super::super::restore(r, Some(map.clone()), Api::AnthropicMessages, &metrics);
        assert!(
            r.headers().get(header::CONTENT_LENGTH).is_none(),
            "length changes"
        );
        let out = text(r).await;
        assert!(out.contains("Sup3r"), "{out}");
        assert_eq!(metrics.restores_total.get(), 1);

        // No map, or a provider error: relayed as is, headers untouched.
        for (status, map) in [(StatusCode::OK, None), (StatusCode::BAD_REQUEST, Some(map))] {
            let r = response(status, "application/json", answer.clone());
            let r = super::super::restore(r, map, Api::AnthropicMessages, &metrics);
            assert!(r.headers().get(header::CONTENT_LENGTH).is_some());
            assert_eq!(text(r).await, answer);
        }
        assert_eq!(metrics.restores_total.get(), 1);
    }
}
