//! The request-body budget: bodies in flight together stay within
//! `server.inflight_body_max_bytes`; one that does not fit is a 503 in the provider's shape
//! with `retry-after`, and the bytes come back when the holding response ends.

use std::time::Duration;

use gateway_testkit::http::{self, messages_body, post_json};
use mock_provider::Script;

use super::{BEARER, WAIT, pair_with};

#[tokio::test]
async fn a_body_that_does_not_fit_the_budget_is_a_503_until_the_holder_ends() {
    let body = messages_body("claude-sonnet-4-6", true);
    // Room for one such body, not two; no waiting for room.
    let budget = body.len() + body.len() / 2;
    let (mock, gw) = pair_with(mock_provider::MockConfig::default(), |b| {
        b.env(
            "GATEWAY__SERVER__REQUEST_BODY_MAX_BYTES",
            budget.to_string(),
        )
        .env(
            "GATEWAY__SERVER__INFLIGHT_BODY_MAX_BYTES",
            budget.to_string(),
        )
        .env("GATEWAY__SERVER__INFLIGHT_BODY_WAIT_MS", "0")
    })
    .await;
    // The first request holds its body while its stream is open.
    mock.push_script(Script::Pause {
        after_deltas: 1,
        pause: Duration::from_secs(60),
    });
    let held = http::open(post_json(&gw.url("/v1/messages"), &[BEARER], &body)).await;
    assert_eq!(held.status(), 200);
    let mut held = held.into_body();
    http::read_until(&mut held, "content_block_delta", WAIT)
        .await
        .expect("first delta");
    assert_eq!(
        gw.metric("llm_gateway_request_body_inflight_bytes").await,
        body.len() as f64
    );
    assert_eq!(
        gw.metric("llm_gateway_request_body_budget_bytes").await,
        budget as f64
    );

    let refused = http::send(post_json(&gw.url("/v1/messages"), &[BEARER], &body)).await;
    assert_eq!(refused.status, 503, "{}", refused.text());
    assert_eq!(refused.header("retry-after"), Some("1"));
    let v = refused.json();
    assert_eq!(v["type"], "error");
    assert_eq!(v["error"]["type"], "overloaded_error");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("retry in a moment"),
        "{v}"
    );
    assert_eq!(
        gw.metric("llm_gateway_request_body_budget_refusals_total")
            .await,
        1.0
    );
    assert_eq!(mock.hits("/v1/messages"), 1, "the refused body never left");

    // The holder leaves: its bytes return, and the same request now goes through.
    drop(held);
    assert!(mock.wait_for_cancelled_streams(1, WAIT).await);
    gateway_testkit::poll::poll_until("the held body's bytes returned", WAIT, || async {
        let v = gw.metric("llm_gateway_request_body_inflight_bytes").await;
        (v == 0.0).then_some(())
    })
    .await;
    let again = http::send(post_json(&gw.url("/v1/messages"), &[BEARER], &body)).await;
    assert_eq!(again.status, 200, "{}", again.text());
}

#[tokio::test]
async fn a_request_head_over_the_connection_buffer_bound_is_refused() {
    let (mock, gw) = pair_with(mock_provider::MockConfig::default(), |b| b).await;
    // Past gateway-server's HTTP1_MAX_BUF_BYTES (64 KiB): refused before any stage runs.
    let big = "x".repeat(70 * 1024);
    let reply = http::send(post_json(
        &gw.url("/v1/messages"),
        &[BEARER, ("x-padding", big.as_str())],
        &messages_body("claude-sonnet-4-6", false),
    ))
    .await;
    assert_eq!(reply.status, 431, "{}", reply.text());
    assert_eq!(mock.hits("/v1/messages"), 0);

    // A head well inside the bound is served as usual.
    let fits = "x".repeat(16 * 1024);
    let reply = http::send(post_json(
        &gw.url("/v1/messages"),
        &[BEARER, ("x-padding", fits.as_str())],
        &messages_body("claude-sonnet-4-6", false),
    ))
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
}
