//! The fault matrix: failure × phase (before the response head, after it but before the
//! stream's first content event, after that) → attempts, target served, client bytes, charge.

use std::time::Duration;

use mock_provider::Script;

use super::{
    JSON_OK, OVERLOADED, Pair, SONNET_CALL, STREAM_OK, gateway, scrape, send, served, spent, status,
};

/// A port nothing listens on.
pub(super) fn dead_url() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("http://127.0.0.1:{port}")
}

#[tokio::test]
async fn before_headers_a_refused_connection_is_retried_once_then_falls_back() {
    let pair = Pair::start().await;
    let section = pair
        .section()
        .replace(&pair.primary.base_url(), &dead_url());
    let gw = gateway(&section, "connect").start().await;
    pair.second.push_script(served(false));
    let reply = send(&gw, false, &[]).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.text(), JSON_OK, "the fallback's bytes, unchanged");
    assert_eq!(reply.header("x-gateway-upstream"), Some("second"));
    assert_eq!(reply.header("x-gateway-attempts"), Some("3"));
    assert_eq!(pair.second.hits("/v1/messages"), 1);
    let sent = &pair.second.requests()[0];
    assert_eq!(
        sent.headers["x-api-key"],
        super::SECOND_KEY,
        "the fallback's own key"
    );
    assert_eq!(spent(&gw, 1).await, SONNET_CALL, "charged once");
    let m = scrape(&gw).await;
    assert!(m.contains(r#"llm_gateway_upstream_fallbacks_total{from="anthropic",reason="connect",to="second"} 1"#), "{m}");
    assert!(m.contains(r#"llm_gateway_upstream_attempts_total{model="claude-sonnet-4-6",outcome="retryable",phase="head",target="anthropic"} 2"#), "{m}");
    assert!(m.contains(r#"llm_gateway_upstream_attempts_total{model="claude-sonnet-4-6",outcome="served",phase="committed",target="second"} 1"#), "{m}");
}

#[tokio::test]
async fn before_headers_an_overload_is_retried_then_falls_back_and_a_529_then_200_stays_home() {
    let pair = Pair::start().await;
    let gw = gateway(&pair.section(), "overload").start().await;
    // 529 twice: the retry fails too, the fallback serves.
    pair.primary.push_script(status(529, OVERLOADED, &[]));
    pair.primary.push_script(status(529, OVERLOADED, &[]));
    pair.second.push_script(served(true));
    let reply = send(&gw, true, &[]).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.text(), STREAM_OK);
    assert_eq!(reply.header("x-gateway-upstream"), Some("second"));
    assert_eq!(reply.header("x-gateway-attempts"), Some("3"));
    assert_eq!(pair.hits(), (2, 1));
    // 529 then 200: the same-target retry serves.
    pair.primary
        .push_script(status(529, OVERLOADED, &[("retry-after-ms", "30")]));
    pair.primary.push_script(served(false));
    let reply = send(&gw, false, &[]).await;
    assert_eq!(reply.text(), JSON_OK);
    assert_eq!(reply.header("x-gateway-upstream"), Some("anthropic"));
    assert_eq!(reply.header("x-gateway-attempts"), Some("2"));
    assert_eq!(pair.hits(), (4, 1));
    assert_eq!(
        spent(&gw, 2).await,
        2 * SONNET_CALL,
        "each request charged once"
    );
}

#[tokio::test]
async fn before_headers_a_stall_past_the_ttft_bound_falls_back() {
    let pair = Pair::start().await;
    let gw = gateway(&pair.section(), "stall")
        .env("GATEWAY__FORWARDING__TTFT_TIMEOUT_MS", "300")
        .env("GATEWAY__FORWARDING__RETRIES_PER_TARGET", "0")
        .start()
        .await;
    pair.primary.push_script(Script::StallBeforeHead {
        pause: Duration::from_secs(30),
    });
    pair.second.push_script(served(true));
    let reply = send(&gw, true, &[]).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.text(), STREAM_OK);
    assert_eq!(reply.header("x-gateway-upstream"), Some("second"));
    assert_eq!(reply.header("x-gateway-attempts"), Some("2"));
    assert_eq!(spent(&gw, 1).await, SONNET_CALL);
    // The primary saw its request dropped.
    assert!(
        pair.primary
            .wait_for_hits("/v1/messages", 1, super::WAIT)
            .await
    );
}

#[tokio::test]
async fn before_headers_client_errors_and_should_retry_false_are_answered_as_they_are() {
    let pair = Pair::start().await;
    let gw = gateway(&pair.section(), "terminal").start().await;
    let thinking = r#"{"type":"error","error":{"type":"invalid_request_error","message":"messages.1.content.0: Invalid `signature` in `thinking` block"},"request_id":"req_x"}"#;
    pair.primary.push_script(status(400, thinking, &[]));
    let reply = send(&gw, true, &[]).await;
    assert_eq!(
        (reply.status.as_u16(), reply.text()),
        (400, thinking.to_owned())
    );
    assert_eq!(reply.header("x-gateway-attempts"), Some("1"));
    pair.primary
        .push_script(status(529, OVERLOADED, &[("x-should-retry", "false")]));
    let reply = send(&gw, false, &[]).await;
    assert_eq!(
        (reply.status.as_u16(), reply.text()),
        (529, OVERLOADED.to_owned())
    );
    assert_eq!(reply.header("x-should-retry"), Some("false"));
    assert_eq!(reply.header("x-gateway-upstream"), Some("anthropic"));
    assert_eq!(pair.hits(), (2, 0), "never retried, never fallen back");
    assert_eq!(spent(&gw, 2).await, 0);
}

#[tokio::test]
async fn when_every_target_fails_the_client_gets_the_primarys_original_error() {
    let pair = Pair::start().await;
    let gw = gateway(&pair.section(), "all-fail").start().await;
    pair.primary
        .push_script(status(529, OVERLOADED, &[("x-should-retry", "true")]));
    pair.primary
        .push_script(status(500, "{\"second\":\"attempt\"}", &[]));
    pair.second
        .push_script(status(503, "{\"fallback\":1}", &[]));
    pair.second
        .push_script(status(503, "{\"fallback\":2}", &[]));
    let reply = send(&gw, false, &[]).await;
    assert_eq!(reply.status, 529);
    assert_eq!(
        reply.text(),
        OVERLOADED,
        "the primary's first error, byte for byte"
    );
    assert_eq!(reply.header("x-should-retry"), Some("true"));
    assert_eq!(reply.header("x-gateway-upstream"), Some("anthropic"));
    assert_eq!(reply.header("x-gateway-attempts"), Some("4"));
    assert_eq!(pair.hits(), (2, 2));
    assert_eq!(spent(&gw, 1).await, 0, "nothing charged");
}

#[tokio::test]
async fn the_client_chooses_per_call_and_an_sdk_retry_gets_no_gateway_retry() {
    let pair = Pair::start().await;
    let gw = gateway(&pair.section(), "per-call").start().await;
    // Opted out: retried on the primary, never sent to the fallback.
    for alias in ["x-gateway-fallback", "x-posthog-use-bedrock-fallback"] {
        pair.primary.push_script(status(529, OVERLOADED, &[]));
        pair.primary.push_script(status(529, OVERLOADED, &[]));
        let reply = send(&gw, false, &[(alias, "false")]).await;
        assert_eq!(
            (reply.status.as_u16(), reply.text()),
            (529, OVERLOADED.to_owned())
        );
        assert_eq!(reply.header("x-gateway-attempts"), Some("2"));
    }
    assert_eq!(pair.hits(), (4, 0));
    // A bad value: 400 in Anthropic's shape, nothing sent.
    let reply = send(&gw, false, &[("x-posthog-use-bedrock-fallback", "yes")]).await;
    assert_eq!(reply.status, 400);
    let error = reply.json();
    assert_eq!(error["type"], "error");
    assert_eq!(error["error"]["type"], "invalid_request_error");
    let message = error["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("x-posthog-use-bedrock-fallback") && message.contains("`true` or `false`"),
        "{message}"
    );
    assert_eq!(pair.hits(), (4, 0));
    // The SDK already retried: no same-target retry, straight to the fallback.
    pair.primary.push_script(status(529, OVERLOADED, &[]));
    pair.second.push_script(served(false));
    let reply = send(&gw, false, &[("x-stainless-retry-count", "1")]).await;
    assert_eq!(reply.text(), JSON_OK);
    assert_eq!(reply.header("x-gateway-attempts"), Some("2"));
    assert_eq!(pair.hits(), (5, 1));
}

#[tokio::test]
async fn before_commit_an_error_event_or_a_reset_after_message_start_falls_back_unseen() {
    let pair = Pair::start().await;
    let gw = gateway(&pair.section(), "precommit").start().await;
    pair.primary.push_script(Script::ErrorBeforeContent {
        error_type: "overloaded_error".into(),
        message: "Overloaded".into(),
    });
    pair.primary.push_script(Script::ResetBeforeContent);
    pair.second.push_script(served(true));
    let reply = send(&gw, true, &[]).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.text(),
        STREAM_OK,
        "no byte of the primary's held events"
    );
    assert_eq!(reply.header("x-gateway-upstream"), Some("second"));
    assert_eq!(reply.header("x-gateway-attempts"), Some("3"));
    assert_eq!(pair.hits(), (2, 1));
    assert_eq!(
        spent(&gw, 1).await,
        SONNET_CALL,
        "only the served stream is charged"
    );
    let m = scrape(&gw).await;
    assert!(m.contains(r#"llm_gateway_upstream_attempts_total{model="claude-sonnet-4-6",outcome="retryable",phase="before_commit",target="anthropic"} 2"#), "{m}");
    // Both were sent and started answering: the provider may bill them.
    for reason in ["error_event", "broken"] {
        let line = format!(
            r#"llm_gateway_upstream_possibly_billed_total{{reason="{reason}",target="anthropic"}} 1"#
        );
        assert!(m.contains(&line), "{line} missing from\n{m}");
    }
}

#[tokio::test]
async fn before_commit_a_failure_everywhere_returns_the_primarys_held_events() {
    let pair = Pair::start().await;
    let gw = gateway(&pair.section(), "precommit-all").start().await;
    let original = concat!(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_p\",\"usage\":{\"input_tokens\":12,\"output_tokens\":1}}}\n\n",
        "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n",
    );
    let sse = [("content-type", "text/event-stream")];
    pair.primary.push_script(status(200, original, &sse));
    pair.primary.push_script(status(200, original, &sse));
    for _ in 0..2 {
        pair.second.push_script(Script::ErrorBeforeContent {
            error_type: "api_error".into(),
            message: "Internal".into(),
        });
    }
    let reply = send(&gw, true, &[]).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.text(), original);
    assert_eq!(reply.header("x-gateway-upstream"), Some("anthropic"));
    assert_eq!(reply.header("x-gateway-attempts"), Some("4"));
    assert_eq!(pair.hits(), (2, 2));
}

#[tokio::test]
async fn after_commit_nothing_is_replayed_and_the_stream_ends_with_an_error_event() {
    let pair = Pair::start().await;
    let gw = gateway(&pair.section(), "aftercommit").start().await;
    // The provider's own error event after content: relayed as sent, no fallback.
    pair.primary.push_script(Script::MidStreamError {
        after_deltas: 2,
        error_type: "overloaded_error".into(),
        message: "Overloaded".into(),
    });
    let reply = send(&gw, true, &[]).await;
    let text = reply.text();
    assert_eq!(reply.header("x-gateway-attempts"), Some("1"));
    assert_eq!(text.matches("event: message_start").count(), 1, "{text}");
    let last = text.trim_end().rsplit("\n\n").next().unwrap();
    assert_eq!(
        last,
        "event: error\ndata: {\"error\":{\"message\":\"Overloaded\",\"type\":\"overloaded_error\"},\"type\":\"error\"}"
    );
    // A reset after content: the gateway's Anthropic error event, no fallback.
    pair.primary.push_script(Script::Reset { after_deltas: 2 });
    let reply = send(&gw, true, &[]).await;
    let text = reply.text();
    assert_eq!(
        text.matches("event: content_block_delta").count(),
        2,
        "{text}"
    );
    assert!(
        text.ends_with(
            std::str::from_utf8(&gateway_core::sse::error_frame(
                gateway_core::Api::AnthropicMessages
            ))
            .unwrap()
        ),
        "{text}"
    );
    assert_eq!(pair.hits(), (2, 0), "never replayed elsewhere");
    spent(&gw, 2).await;
}
