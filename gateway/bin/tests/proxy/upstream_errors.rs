//! Provider failures: error responses pass through unchanged; transport failures become
//! provider-shaped 502/504; a stream broken mid-way ends with an error event.

use gateway_testkit::http::{self, messages_body, post_json};
use mock_provider::{MockConfig, Script};

use super::{BEARER, pair, pair_with};

#[tokio::test]
async fn provider_errors_pass_through_with_status_body_and_retry_headers() {
    let (mock, gw) = pair().await;
    let body = r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_abc"}"#;
    mock.push_script(Script::Status {
        status: 529,
        // Beyond `forwarding.retry_after_max_ms` (2 s): the gateway does not wait it out
        // and, with no fallback, passes the answer on after one attempt.
        headers: vec![
            ("retry-after".into(), "5".into()),
            ("x-should-retry".into(), "true".into()),
        ],
        body: body.into(),
    });
    let reply = http::send(post_json(
        &gw.url("/v1/messages"),
        &[BEARER],
        &messages_body("claude-sonnet-4-6", false),
    ))
    .await;
    assert_eq!(reply.status, 529);
    assert_eq!(reply.body.as_ref(), body.as_bytes(), "body unchanged");
    assert_eq!(reply.header("retry-after"), Some("5"));
    assert_eq!(reply.header("x-gateway-attempts"), Some("1"));
    assert_eq!(reply.header("x-gateway-upstream"), Some("anthropic"));
    assert_eq!(reply.header("x-should-retry"), Some("true"));
    assert_eq!(
        reply.header("request-id"),
        Some("req_mock_1"),
        "the provider's request id"
    );

    // OpenAI errors pass through unchanged too. A 5xx is retried once on the same target
    // (both answers scripted here), then the first one is what the client gets; the 401
    // comes last because it takes the only key out until restart.
    for (status, tries) in [(400u16, 1usize), (429, 1), (500, 2), (401, 1)] {
        let body = format!(
            r#"{{"error":{{"message":"status {status}","type":"x","param":null,"code":null}}}}"#
        );
        for _ in 0..tries {
            mock.push_script(Script::Status {
                status,
                headers: vec![],
                body: body.clone(),
            });
        }
        let reply = http::send(post_json(
            &gw.url("/v1/chat/completions"),
            &[BEARER],
            &gateway_testkit::http::chat_body("gpt-5.4", false),
        ))
        .await;
        assert_eq!(reply.status.as_u16(), status);
        assert_eq!(reply.text(), body);
        assert_eq!(
            reply.header("x-gateway-attempts"),
            Some(tries.to_string().as_str())
        );
    }
}

#[tokio::test]
async fn mid_stream_error_events_are_relayed() {
    let (mock, gw) = pair().await;
    mock.push_script(Script::MidStreamError {
        after_deltas: 2,
        error_type: "overloaded_error".into(),
        message: "Overloaded".into(),
    });
    let reply = http::send(post_json(
        &gw.url("/v1/messages"),
        &[BEARER],
        &messages_body("claude-sonnet-4-6", true),
    ))
    .await;
    assert_eq!(reply.status, 200);
    let text = reply.text();
    assert!(text.contains("event: error"), "{text}");
    assert!(text.contains("overloaded_error"), "{text}");
    assert!(!text.contains("message_stop"), "{text}");
}

#[tokio::test]
async fn a_reset_mid_stream_ends_with_an_anthropic_error_event() {
    let (mock, gw) = pair().await;
    mock.push_script(Script::Reset { after_deltas: 2 });
    let reply = http::send(post_json(
        &gw.url("/v1/messages"),
        &[BEARER],
        &messages_body("claude-sonnet-4-6", true),
    ))
    .await;
    assert_eq!(reply.status, 200);
    let text = reply.text();
    assert!(text.contains("content_block_delta"), "{text}");
    let last = text.trim_end().rsplit("\n\n").next().unwrap();
    assert!(last.starts_with("event: error"), "last event: {last}");
    assert!(last.contains("\"api_error\""), "{last}");
}

#[tokio::test]
async fn unreachable_upstream_is_a_502_in_the_routes_shape() {
    // A port with nothing listening: bind, read the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let gw = super::gateway()
        .upstream(&format!("http://127.0.0.1:{port}"))
        .start()
        .await;
    let reply = http::send(post_json(
        &gw.url("/v1/messages"),
        &[BEARER],
        &messages_body("claude-sonnet-4-6", false),
    ))
    .await;
    assert_eq!(reply.status, 502);
    assert_eq!(reply.json()["error"]["type"], "api_error");
    let reply = http::send(post_json(
        &gw.url("/v1/responses"),
        &[BEARER],
        &gateway_testkit::http::responses_body("gpt-5.4", false),
    ))
    .await;
    assert_eq!(reply.status, 502);
    assert_eq!(reply.json()["error"]["type"], "server_error");
}

#[tokio::test]
async fn a_silent_upstream_is_a_504_after_the_request_timeout() {
    let (_mock, gw) = pair_with(
        MockConfig {
            latency: std::time::Duration::from_secs(30),
            ..MockConfig::default()
        },
        |b| b.env("GATEWAY__FORWARDING__REQUEST_TIMEOUT_MS", "300"),
    )
    .await;
    let reply = http::send(post_json(
        &gw.url("/v1/messages"),
        &[BEARER],
        &messages_body("claude-sonnet-4-6", false),
    ))
    .await;
    assert_eq!(reply.status, 504);
    assert_eq!(reply.json()["error"]["type"], "timeout_error");
}
