//! Per-policy redaction (`[policy.redaction]`) through the real binary: restore in streamed
//! tool calls (Anthropic and OpenAI Chat) only when the policy asks, allowlists, extra rules,
//! scanning switched off, and settings following a hot reload (a bad rule keeps the old set).

use std::path::PathBuf;

use gateway_testkit::{
    TestGateway,
    http::{self, Reply, post_json},
};
use mock_provider::{MockConfig, MockProvider, Script};
use serde_json::{Value, json};

use super::{ALNUM, random};
use crate::{BEARER, WAIT};

fn policy_dir(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "llm-gateway-redaction-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("test.toml"), text).unwrap();
    dir
}

/// A mock and a gateway whose only policy file is `text`, reloaded every 50 ms.
async fn with_policy(name: &str, text: &str) -> (MockProvider, TestGateway, PathBuf) {
    let dir = policy_dir(name, text);
    let mock = MockProvider::start(MockConfig::default()).await.unwrap();
    let gw = crate::gateway()
        .upstream(&mock.base_url())
        .env("GATEWAY__QUOTA__POLICIES_DIR", dir.to_str().unwrap())
        .env("GATEWAY__QUOTA__POLICIES_RELOAD_MS", "50")
        .start()
        .await;
    (mock, gw, dir)
}

fn stripe_key() -> String {
    format!("sk_live_{}", random(ALNUM, 32))
}

async fn send(gw: &TestGateway, path: &str, body: &str) -> Reply {
    let reply = http::send(post_json(&gw.url(path), &[BEARER], body)).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply
}

/// The first placeholder in a body the provider received.
fn placeholder_in(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let at = text
        .find("gwx_")
        .unwrap_or_else(|| panic!("no placeholder in {text}"));
    text[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

fn anthropic_turn(text: &str) -> String {
    json!({"model": "claude-sonnet-4-6", "max_tokens": 256, "stream": true,
           "messages": [{"role": "user", "content": text}]})
    .to_string()
}

fn chat_turn(text: &str) -> String {
    json!({"model": "gpt-5", "stream": true,
           "messages": [{"role": "user", "content": text}]})
    .to_string()
}

fn sse(events: &[Value]) -> Script {
    let body = events
        .iter()
        .map(|e| match e["type"].as_str() {
            Some(name) if !name.is_empty() => format!("event: {name}\ndata: {e}\n\n"),
            _ => format!("data: {e}\n\n"),
        })
        .collect::<String>();
    Script::Status {
        status: 200,
        headers: vec![("content-type".into(), "text/event-stream".into())],
        body,
    }
}

/// An Anthropic stream calling Bash with `STRIPE_KEY=<ph> ./deploy`, the placeholder split
/// across two `input_json_delta` events.
fn anthropic_tool_call(ph: &str) -> Script {
    let (a, b) = ph.split_at(10);
    sse(&[
        json!({"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-6", "content": [], "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 10, "output_tokens": 1}}}),
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {}}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": format!("{{\"command\": \"STRIPE_KEY={a}")}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": format!("{b} ./deploy\"}}")}}),
        json!({"type": "content_block_stop", "index": 0}),
        json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null}, "usage": {"output_tokens": 20}}),
        json!({"type": "message_stop"}),
    ])
}

/// The Bash input the client assembles from the stream's `input_json_delta` events.
fn anthropic_tool_input(stream: &str) -> Value {
    let json: String = stream
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter(|e| e["delta"]["type"] == "input_json_delta")
        .map(|e| e["delta"]["partial_json"].as_str().unwrap().to_owned())
        .collect();
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"))
}

fn provider_never_saw(mock: &MockProvider, value: &str) {
    for r in mock.requests() {
        assert!(
            !String::from_utf8_lossy(&r.body).contains(value),
            "the provider saw a secret"
        );
    }
}

async fn metrics(gw: &TestGateway) -> String {
    http::send(http::bodyless(
        ::http::Method::GET,
        &gw.admin_url("/metrics"),
        &[],
    ))
    .await
    .text()
}

const RESTORE: &str = "[[policy]]\nname = \"all\"\n[policy.redaction]\nrestore = true\n";

#[tokio::test]
async fn with_restore_the_client_gets_the_original_in_a_streamed_tool_call() {
    let (mock, gw, _dir) = with_policy("restore-anthropic", RESTORE).await;
    let key = stripe_key();
    let turn = anthropic_turn(&format!("deploy with STRIPE_KEY={key}"));
    // Turn one shows which placeholder the provider gets for this key.
    send(&gw, "/v1/messages", &turn).await;
    let ph = placeholder_in(&mock.requests()[0].body);
    // The model echoes it in a tool call, split across two events.
    mock.push_script(anthropic_tool_call(&ph));
    let reply = send(&gw, "/v1/messages", &turn).await;
    let text = reply.text();
    assert_eq!(
        anthropic_tool_input(&text)["command"],
        format!("STRIPE_KEY={key} ./deploy")
    );
    assert!(!text.contains(&ph), "{text}");
    assert!(text.contains("event: message_stop"), "{text}");
    provider_never_saw(&mock, &key);
    // Counted and logged by count, never by value.
    assert!(gw.wait_for_log("placeholders restored", 1, WAIT).await);
    assert!(!gw.logs().contains(&key), "a secret reached the logs");
    let m = metrics(&gw).await;
    assert!(
        m.lines().any(|l| l == "llm_gateway_restores_total 1"),
        "{m}"
    );
}

#[tokio::test]
async fn without_restore_the_client_sees_the_placeholder() {
    let (mock, gw, _dir) = with_policy("restore-off", "[[policy]]\nname = \"all\"\n").await;
    let key = stripe_key();
    let turn = anthropic_turn(&format!("deploy with STRIPE_KEY={key}"));
    send(&gw, "/v1/messages", &turn).await;
    let ph = placeholder_in(&mock.requests()[0].body);
    mock.push_script(anthropic_tool_call(&ph));
    let text = send(&gw, "/v1/messages", &turn).await.text();
    assert_eq!(
        anthropic_tool_input(&text)["command"],
        format!("STRIPE_KEY={ph} ./deploy")
    );
    assert!(!text.contains(&key));
    provider_never_saw(&mock, &key);
}

#[tokio::test]
async fn with_restore_an_openai_chat_tool_call_delta_gets_the_original() {
    let (mock, gw, _dir) = with_policy("restore-chat", RESTORE).await;
    let key = stripe_key();
    let turn = chat_turn(&format!("charge with {key}"));
    send(&gw, "/v1/chat/completions", &turn).await;
    let ph = placeholder_in(&mock.requests()[0].body);
    let (a, b) = ph.split_at(7);
    let chunk = |delta: Value, finish: Value| {
        json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-5",
               "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    };
    let mut script = sse(&[
        chunk(
            json!({"role": "assistant", "content": null, "tool_calls": [{"index": 0, "id": "call_1", "type": "function", "function": {"name": "charge", "arguments": ""}}]}),
            Value::Null,
        ),
        chunk(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": format!("{{\"key\":\"{a}")}}]}),
            Value::Null,
        ),
        chunk(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": format!("{b}\"}}")}}]}),
            Value::Null,
        ),
        chunk(json!({}), json!("tool_calls")),
    ]);
    if let Script::Status { body, .. } = &mut script {
        body.push_str("data: [DONE]\n\n");
    }
    mock.push_script(script);
    let text = send(&gw, "/v1/chat/completions", &turn).await.text();
    let args: String = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter_map(|c| {
            c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    let args: Value = serde_json::from_str(&args).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(args["key"], key.as_str());
    assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
    provider_never_saw(&mock, &key);
}

#[tokio::test]
async fn allowlisted_values_pass_extra_rules_redact_and_both_follow_reloads() {
    let sandbox = stripe_key();
    let live = stripe_key();
    let acme = format!("acmetok_{}", random(ALNUM, 32));
    let policy = |allow: &str, pattern: &str| {
        format!(
            "[[policy]]\nname = \"all\"\n[policy.redaction]\nallow = [{allow}]\n\
             [[policy.redaction.rules]]\nname = \"acme-internal-token\"\n\
             anchors = [\"acmetok_\"]\npattern = \"{pattern}\"\n"
        )
    };
    let good = "acmetok_[A-Za-z0-9]{32}";
    let (mock, gw, dir) =
        with_policy("allow-rules", &policy(&format!("\"{sandbox}\""), good)).await;
    let turn = anthropic_turn(&format!("sandbox {sandbox}, live {live}, internal {acme}"));
    send(&gw, "/v1/messages", &turn).await;
    let seen = String::from_utf8_lossy(&mock.requests()[0].body).into_owned();
    assert!(seen.contains(&sandbox), "allowlisted: {seen}");
    assert!(!seen.contains(&live) && !seen.contains(&acme), "{seen}");
    assert!(
        seen.contains("gwx_cst_"),
        "the extra rule's placeholder: {seen}"
    );
    let m = metrics(&gw).await;
    assert!(
        m.lines()
            .any(|l| l.starts_with("llm_gateway_redactions_total{rule=\"custom\"} ")),
        "{m}"
    );

    // A rule that does not compile: the edit is refused, the old rules stay.
    std::fs::write(dir.join("test.toml"), policy("", "acmetok_[A-Z")).unwrap();
    assert!(gw.wait_for_log("policy edit refused", 1, WAIT).await);
    assert!(gw.logs().contains("policy[0].redaction.rules[0].pattern"));
    send(&gw, "/v1/messages", &turn).await;
    let seen = String::from_utf8_lossy(&mock.requests()[1].body).into_owned();
    assert!(seen.contains(&sandbox) && !seen.contains(&acme), "{seen}");

    // A good edit without the allowlist: the sandbox key is redacted from now on.
    std::fs::write(dir.join("test.toml"), policy("", good)).unwrap();
    gw.wait_for_metric(
        r#"llm_gateway_policy_reloads_total{outcome="applied"}"#,
        1.0,
        WAIT,
    )
    .await;
    send(&gw, "/v1/messages", &turn).await;
    let seen = String::from_utf8_lossy(&mock.requests()[2].body).into_owned();
    assert!(!seen.contains(&sandbox) && !seen.contains(&acme), "{seen}");
}

#[tokio::test]
async fn a_policy_with_redaction_off_forwards_unscanned_and_says_so() {
    let (mock, gw, _dir) = with_policy(
        "off",
        "[[policy]]\nname = \"trusted\"\nredaction = { enabled = false }\n",
    )
    .await;
    let key = stripe_key();
    send(&gw, "/v1/messages", &anthropic_turn(&format!("key {key}"))).await;
    let seen = String::from_utf8_lossy(&mock.requests()[0].body).into_owned();
    assert!(seen.contains(&key), "forwarded as sent: {seen}");
    assert!(
        gw.logs()
            .contains("secret redaction is OFF for this policy")
    );
    assert!(
        gw.wait_for_log("redaction is off for this policy", 1, WAIT)
            .await
    );
}
