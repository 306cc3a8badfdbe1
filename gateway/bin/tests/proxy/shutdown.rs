//! SIGTERM: stop accepting, let in-flight streams finish, exit 0.

use std::time::Duration;

use gateway_testkit::http::{self, messages_body, post_json};
use http_body_util::BodyExt;
use mock_provider::Script;

use super::{BEARER, WAIT, pair};

#[tokio::test]
async fn sigterm_drains_in_flight_streams_then_exits_zero() {
    let (mock, mut gw) = pair().await;
    mock.push_script(Script::Pause {
        after_deltas: 1,
        pause: Duration::from_millis(800),
    });
    let response = http::open(post_json(
        &gw.url("/v1/messages"),
        &[BEARER],
        &messages_body("claude-sonnet-4-6", true),
    ))
    .await;
    assert_eq!(response.status(), 200);

    gw.terminate();
    // The stream in flight still completes.
    let text = tokio::time::timeout(WAIT, response.into_body().collect())
        .await
        .expect("stream finishes")
        .expect("stream intact")
        .to_bytes();
    let text = String::from_utf8_lossy(&text);
    assert!(text.contains("message_stop"), "{text}");

    let status = gw
        .wait_exit(WAIT)
        .await
        .expect("gateway exits after draining");
    assert!(status.success(), "exit status {status:?}");
    // And nothing listens any more.
    assert!(std::net::TcpStream::connect(gw.proxy).is_err());
    assert!(gw.logs().contains("shutdown signal received"));
}
