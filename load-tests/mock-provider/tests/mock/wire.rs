//! The wire formats: what the SDKs parse.

use mock_provider::{MockConfig, MockProvider};
use serde_json::json;

use crate::client::{events, names, post, send};

const ANTHROPIC_STREAM: &[&str] = &[
    "message_start",
    "content_block_start",
    "ping",
    "content_block_delta",
    "content_block_delta",
    "content_block_delta",
    "content_block_delta",
    "content_block_stop",
    "message_delta",
    "message_stop",
];

#[tokio::test]
async fn anthropic_stream_sends_the_event_sequence_with_usage() {
    let mock = MockProvider::start(MockConfig::default()).await.unwrap();
    let answer = post(
        &mock,
        "/v1/messages?beta=true",
        r#"{"model":"claude-haiku-4-5","stream":true,"messages":[]}"#,
    )
    .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("content-type"), "text/event-stream");
    assert_eq!(answer.header("request-id"), "req_mock_1");
    let events = events(&answer.body);
    assert_eq!(names(&events), ANTHROPIC_STREAM);
    for event in &events {
        assert_eq!(event.json()["type"], event.name.as_deref().unwrap());
    }
    let start = events[0].json();
    assert_eq!(start["message"]["id"], "msg_mock_1");
    assert_eq!(start["message"]["model"], "claude-haiku-4-5");
    assert_eq!(start["message"]["content"], json!([]));
    assert_eq!(
        start["message"]["usage"],
        json!({
            "input_tokens": 12,
            "cache_creation_input_tokens": 20,
            "cache_read_input_tokens": 100,
            "cache_creation": {"ephemeral_5m_input_tokens": 20, "ephemeral_1h_input_tokens": 0},
            "output_tokens": 1,
        })
    );
    let text: String = events[3..7]
        .iter()
        .map(|e| e.json()["delta"]["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(text, "Hello from the mock provider.");
    let delta = events[8].json();
    assert_eq!(delta["delta"]["stop_reason"], "end_turn");
    assert_eq!(delta["usage"]["output_tokens"], 7);
    assert_eq!(delta["usage"]["cache_read_input_tokens"], 100);
}

#[tokio::test]
async fn anthropic_message_carries_reply_and_usage() {
    let mock = MockProvider::start(MockConfig {
        reply: "a \"quoted\" reply".to_owned(),
        ..MockConfig::default()
    })
    .await
    .unwrap();
    let answer = post(&mock, "/v1/messages", r#"{"model":"claude-opus-4-6"}"#).await;
    assert_eq!(answer.status, 200);
    let message = answer.json();
    assert_eq!(message["type"], "message");
    assert_eq!(message["model"], "claude-opus-4-6");
    assert_eq!(message["content"][0]["text"], "a \"quoted\" reply");
    assert_eq!(message["stop_reason"], "end_turn");
    assert_eq!(message["usage"]["output_tokens"], 7);
    assert_eq!(
        message["usage"]["cache_creation"]["ephemeral_5m_input_tokens"],
        20
    );
}

#[tokio::test]
async fn chat_usage_chunk_is_sent_only_when_asked() {
    let mock = MockProvider::start(MockConfig::default()).await.unwrap();
    let plain = post(
        &mock,
        "/v1/chat/completions",
        r#"{"model":"gpt-5","stream":true}"#,
    )
    .await;
    assert!(plain.headers.contains_key("x-request-id"));
    let plain = events(&plain.body);
    assert_eq!(plain.last().unwrap().data, "[DONE]");
    assert!(!plain.iter().any(|e| e.data.contains("usage")));
    // role, four deltas, finish, [DONE]
    assert_eq!(plain.len(), 7);

    let asked = post(
        &mock,
        "/v1/chat/completions",
        r#"{"model":"gpt-5","stream":true,"stream_options":{"include_usage":true}}"#,
    )
    .await;
    let asked = events(&asked.body);
    assert_eq!(asked.len(), 8);
    let (done, chunks) = asked.split_last().unwrap();
    assert_eq!(done.data, "[DONE]");
    let (usage, others) = chunks.split_last().unwrap();
    for chunk in others {
        assert_eq!(chunk.json()["usage"], serde_json::Value::Null);
        assert_eq!(chunk.json()["object"], "chat.completion.chunk");
    }
    assert_eq!(others[0].json()["choices"][0]["delta"]["role"], "assistant");
    assert_eq!(others[5].json()["choices"][0]["finish_reason"], "stop");
    let usage = usage.json();
    assert_eq!(usage["choices"], json!([]));
    assert_eq!(usage["usage"]["prompt_tokens"], 112);
    assert_eq!(usage["usage"]["completion_tokens"], 7);
    assert_eq!(usage["usage"]["total_tokens"], 119);
    assert_eq!(
        usage["usage"]["prompt_tokens_details"]["cached_tokens"],
        100
    );
}

#[tokio::test]
async fn responses_stream_is_numbered_and_completes_with_usage() {
    let mock = MockProvider::start(MockConfig::default()).await.unwrap();
    let answer = post(&mock, "/v1/responses", r#"{"model":"gpt-5","stream":true}"#).await;
    let events = events(&answer.body);
    let mut expected = vec![
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ];
    expected.extend(["response.output_text.delta"; 4]);
    expected.extend([
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]);
    assert_eq!(names(&events), expected);
    for (seq, event) in events.iter().enumerate() {
        assert_eq!(event.json()["type"], event.name.as_deref().unwrap());
        assert_eq!(event.json()["sequence_number"], seq);
    }
    let completed = events.last().unwrap().json();
    assert_eq!(completed["response"]["status"], "completed");
    assert_eq!(completed["response"]["usage"]["input_tokens"], 112);
    assert_eq!(
        completed["response"]["usage"]["input_tokens_details"]["cached_tokens"],
        100
    );
    assert_eq!(
        completed["response"]["output"][0]["content"][0]["text"],
        "Hello from the mock provider."
    );
}

#[tokio::test]
async fn small_routes_and_unknown_paths() {
    let mock = MockProvider::start(MockConfig::default()).await.unwrap();
    let count = post(&mock, "/v1/messages/count_tokens", &"x".repeat(40)).await;
    assert_eq!(count.json(), json!({"input_tokens": 10}));
    let models = send(&mock, "GET", "/v1/models?limit=1000", &[], "").await;
    assert_eq!(models.json()["data"][0]["id"], "claude-sonnet-4-6");
    assert_eq!(models.json()["has_more"], false);
    let missing = post(&mock, "/v2/nothing", "{}").await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["type"], "error");
    assert_eq!(missing.json()["error"]["type"], "not_found_error");
}

#[tokio::test]
async fn wrong_key_gets_each_providers_401() {
    let mock = MockProvider::start(MockConfig {
        expect_api_key: Some("sk-up".to_owned()),
        ..MockConfig::default()
    })
    .await
    .unwrap();
    let anthropic = send(
        &mock,
        "POST",
        "/v1/messages",
        &[("x-api-key", "nope")],
        "{}",
    )
    .await;
    assert_eq!(anthropic.status, 401);
    assert_eq!(anthropic.json()["error"]["type"], "authentication_error");
    assert_eq!(
        anthropic.json()["request_id"],
        anthropic.header("request-id")
    );
    let good = send(
        &mock,
        "POST",
        "/v1/messages",
        &[("x-api-key", "sk-up")],
        "{}",
    )
    .await;
    assert_eq!(good.status, 200);
    let openai = send(
        &mock,
        "POST",
        "/v1/chat/completions",
        &[("x-api-key", "sk-up")],
        "{}",
    )
    .await;
    assert_eq!(openai.status, 401);
    assert_eq!(openai.json()["error"]["code"], "invalid_api_key");
    let bearer = [("authorization", "Bearer sk-up")];
    let good = send(&mock, "POST", "/v1/chat/completions", &bearer, "{}").await;
    assert_eq!(good.json()["object"], "chat.completion");
}
