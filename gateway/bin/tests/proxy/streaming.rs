//! Streams are relayed event by event, kept alive through provider silence, and cancelled
//! upstream when the client goes away.

use std::time::Duration;

use gateway_testkit::http::{self, messages_body, post_json};
use mock_provider::Script;

use super::{BEARER, WAIT, pair, pair_with};

#[tokio::test]
async fn events_arrive_before_the_stream_ends_and_a_client_disconnect_cancels_upstream() {
    let (mock, gw) = pair().await;
    // The provider sends one delta, then stays silent for a minute.
    mock.push_script(Script::Pause {
        after_deltas: 1,
        pause: Duration::from_secs(60),
    });
    let response = http::open(post_json(
        &gw.url("/v1/messages"),
        &[BEARER],
        &messages_body("claude-sonnet-4-6", true),
    ))
    .await;
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();
    // If the gateway buffered, this would wait for the minute and hit the bound instead.
    let seen = http::read_until(&mut body, "content_block_delta", WAIT)
        .await
        .expect("first delta relayed while the provider is mid-stream");
    assert!(seen.starts_with("event: message_start"), "{seen}");
    drop(body);
    assert!(
        mock.wait_for_cancelled_streams(1, WAIT).await,
        "the provider's stream must be cancelled when the client leaves"
    );
}

#[tokio::test]
async fn provider_silence_is_bridged_with_keepalive_comments_between_events() {
    let (mock, gw) = pair_with(mock_provider::MockConfig::default(), |b| {
        b.env("GATEWAY__FORWARDING__STREAM_KEEPALIVE_MS", "100")
    })
    .await;
    mock.push_script(Script::Pause {
        after_deltas: 1,
        pause: Duration::from_millis(1200),
    });
    let reply = http::send(post_json(
        &gw.url("/v1/messages"),
        &[BEARER],
        &messages_body("claude-sonnet-4-6", true),
    ))
    .await;
    let text = reply.text();
    assert!(
        text.contains("\n\n: keepalive\n\n"),
        "keepalive between events: {text}"
    );
    assert!(
        text.trim_end()
            .ends_with("data: {\"type\":\"message_stop\"}"),
        "{text}"
    );
    // Every frame is still a well-formed event or comment.
    for frame in text.split("\n\n").filter(|f| !f.is_empty()) {
        assert!(
            frame.starts_with("event: ") || frame == ": keepalive",
            "malformed frame: {frame:?}"
        );
    }
}

#[tokio::test]
async fn a_client_leaving_before_the_response_head_cancels_upstream_too() {
    let (mock, gw) = pair_with(
        mock_provider::MockConfig {
            latency: Duration::from_secs(30),
            ..Default::default()
        },
        |b| b,
    )
    .await;
    let request = tokio::spawn(http::open(post_json(
        &gw.url("/v1/messages"),
        &[BEARER],
        &messages_body("claude-sonnet-4-6", true),
    )));
    assert!(
        mock.wait_for_hits("/v1/messages", 1, WAIT).await,
        "request reached the provider"
    );
    request.abort();
    let _ = request.await;
    assert!(
        mock.wait_for_cancelled_streams(1, WAIT).await,
        "the provider's request must be cancelled when the client leaves before the head"
    );
}
