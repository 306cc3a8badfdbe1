//! A streamed Bedrock fallback whose event stream misbehaves: frames cut at random byte
//! boundaries, an exception after the answer committed or before it, a frame with a bad
//! CRC, an oversized frame. The primary always overloads twice (one retry), so Bedrock is
//! the last target.

use gateway_testkit::TestGateway;
use mock_provider::Script;

use super::bedrock::{Auth, STREAM, bedrock_gateway, without_mock_id};
use super::{OVERLOADED, Pair, SONNET_CALL, send, spent, status};

/// The decode-error series of the Bedrock target.
const DECODE_ERRORS: &str =
    r#"llm_gateway_upstream_eventstream_decode_errors_total{target="bedrock"}"#;

/// The gateway's bound on one event-stream frame (`gateway_upstream::FRAME_MAX_BYTES`).
const FRAME_MAX_BYTES: usize = 1024 * 1024;

/// Makes the next request reach Bedrock: the primary overloads on the try and the retry.
fn overload_primary(pair: &Pair) {
    pair.primary.push_script(status(529, OVERLOADED, &[]));
    pair.primary.push_script(status(529, OVERLOADED, &[]));
}

/// A streamed request through the primary's two overloads to Bedrock; the client's SSE.
async fn streamed(gw: &TestGateway, pair: &Pair) -> String {
    overload_primary(pair);
    let reply = send(gw, true, &[]).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("x-gateway-upstream"), Some("bedrock"));
    reply.text()
}

/// The SSE event names of a client stream, in order.
fn names(sse: &str) -> Vec<&str> {
    sse.split("\n\n")
        .filter_map(|e| e.lines().find_map(|l| l.strip_prefix("event: ")))
        .collect()
}

/// The `error` object of the stream's last event, which must be an Anthropic `event: error`.
fn final_error(sse: &str) -> serde_json::Value {
    let last = sse.trim_end().rsplit("\n\n").next().unwrap();
    let data = last
        .strip_prefix("event: error\ndata: ")
        .unwrap_or_else(|| panic!("the stream does not end with an error event: {sse}"));
    let json: serde_json::Value = serde_json::from_str(data).unwrap();
    assert_eq!(json["type"], "error", "{data}");
    json["error"].clone()
}

#[tokio::test]
async fn a_stream_cut_at_random_byte_boundaries_reaches_the_client_as_the_uncut_one() {
    let pair = Pair::start().await;
    let gw = bedrock_gateway(&pair, Auth::SigV4, "bedrock-cut")
        .start()
        .await;
    let whole = without_mock_id(&streamed(&gw, &pair).await);
    assert!(whole.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"));
    for seed in [1, 7, 42, 1234, 99_999] {
        pair.second.push_script(Script::Cut { seed });
        let cut = without_mock_id(&streamed(&gw, &pair).await);
        assert_eq!(cut, whole, "seed {seed}");
    }
    assert_eq!(pair.second.hits(STREAM), 6, "one Bedrock call per request");
    assert_eq!(gw.metric(DECODE_ERRORS).await, 0.0);
    assert_eq!(spent(&gw, 6).await, 6 * SONNET_CALL, "each charged once");
}

#[tokio::test]
async fn an_exception_after_the_commit_ends_the_stream_with_an_error_event_charged_once() {
    let pair = Pair::start().await;
    let gw = bedrock_gateway(&pair, Auth::SigV4, "bedrock-exception")
        .start()
        .await;
    pair.second.push_script(Script::MidStreamError {
        after_deltas: 2,
        error_type: "overloaded_error".to_owned(),
        message: "Bedrock is busy".to_owned(),
    });
    let sse = streamed(&gw, &pair).await;
    let error = final_error(&sse);
    assert_eq!(error["type"], "overloaded_error");
    assert_eq!(error["message"], "Bedrock is busy");
    assert_eq!(
        names(&sse),
        [
            "message_start",
            "content_block_start",
            "ping",
            "content_block_delta",
            "content_block_delta",
            "error"
        ],
        "no replay, no clean end: {sse}"
    );
    assert_eq!(
        pair.second.hits(STREAM),
        1,
        "never retried after the commit"
    );
    // Charged once, from what the stream reported before it broke: message_start's usage
    // (its one output token, $15/M: 15 µUSD, where the whole answer's 7 cost 105).
    assert_eq!(spent(&gw, 1).await, SONNET_CALL - 90);
    assert_eq!(
        gw.metric("llm_gateway_quota_settlements_total").await,
        1.0,
        "settled once"
    );
    assert_eq!(
        gw.metric(DECODE_ERRORS).await,
        0.0,
        "an exception decodes fine"
    );
}

#[tokio::test]
async fn a_bad_crc_or_an_oversized_frame_ends_the_stream_with_an_error_event_and_is_counted() {
    let pair = Pair::start().await;
    let gw = bedrock_gateway(&pair, Auth::SigV4, "bedrock-corrupt")
        .start()
        .await;
    let faults = [
        Script::BadCrc {
            after_deltas: 1,
            before_content: false,
        },
        Script::OversizedFrame {
            after_deltas: 1,
            bytes: FRAME_MAX_BYTES + 1,
        },
    ];
    for (n, fault) in faults.into_iter().enumerate() {
        pair.second.push_script(fault.clone());
        let sse = streamed(&gw, &pair).await;
        let error = final_error(&sse);
        assert_eq!(error["type"], "api_error", "{fault:?}: {sse}");
        assert_eq!(
            names(&sse)[..4],
            [
                "message_start",
                "content_block_start",
                "ping",
                "content_block_delta"
            ],
            "{fault:?}: the intact frames first"
        );
        assert!(!sse.contains("message_stop"), "{fault:?}: {sse}");
        let counted = gw.wait_for_metric(DECODE_ERRORS, (n + 1) as f64, super::WAIT);
        assert_eq!(counted.await, (n + 1) as f64, "{fault:?}");
    }
    assert_eq!(
        pair.second.hits(STREAM),
        2,
        "never retried after the commit"
    );
    assert!(spent(&gw, 2).await > 0, "both charged");
}

#[tokio::test]
async fn an_exception_before_the_first_content_event_is_retried_on_bedrock() {
    let pair = Pair::start().await;
    let gw = bedrock_gateway(&pair, Auth::SigV4, "bedrock-early")
        .start()
        .await;
    let whole = without_mock_id(&streamed(&gw, &pair).await);
    pair.second.push_script(Script::ErrorBeforeContent {
        error_type: "overloaded_error".to_owned(),
        message: "Overloaded".to_owned(),
    });
    overload_primary(&pair);
    let reply = send(&gw, true, &[]).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("x-gateway-upstream"), Some("bedrock"));
    assert_eq!(reply.header("x-gateway-attempts"), Some("4"));
    assert_eq!(
        without_mock_id(&reply.text()),
        whole,
        "the held message_start and exception never reached the client"
    );
    assert_eq!(pair.second.hits(STREAM), 3);
    assert_eq!(
        spent(&gw, 2).await,
        2 * SONNET_CALL,
        "the failed attempt is not charged"
    );
}

#[tokio::test]
async fn when_bedrock_also_fails_before_the_commit_the_client_gets_the_primarys_error() {
    let pair = Pair::start().await;
    let gw = bedrock_gateway(&pair, Auth::SigV4, "bedrock-early-twice")
        .start()
        .await;
    for _ in 0..2 {
        pair.second.push_script(Script::ErrorBeforeContent {
            error_type: "overloaded_error".to_owned(),
            message: "Bedrock overloaded".to_owned(),
        });
    }
    overload_primary(&pair);
    let reply = send(&gw, true, &[]).await;
    assert_eq!(reply.status, 529, "{}", reply.text());
    assert_eq!(
        reply.text(),
        OVERLOADED,
        "the primary's first error, byte for byte"
    );
    assert_eq!(pair.second.hits(STREAM), 2);
    assert_eq!(spent(&gw, 1).await, 0, "nothing served, nothing charged");
}

#[tokio::test]
async fn a_bad_crc_before_the_first_content_event_is_counted_and_retried_unseen() {
    let pair = Pair::start().await;
    let gw = bedrock_gateway(&pair, Auth::SigV4, "bedrock-early-crc")
        .start()
        .await;
    let whole = without_mock_id(&streamed(&gw, &pair).await);
    pair.second.push_script(Script::BadCrc {
        after_deltas: 0,
        before_content: true,
    });
    overload_primary(&pair);
    let reply = send(&gw, true, &[]).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("x-gateway-attempts"), Some("4"));
    assert_eq!(
        without_mock_id(&reply.text()),
        whole,
        "the broken attempt's held message_start never reached the client"
    );
    assert_eq!(pair.second.hits(STREAM), 3);
    assert_eq!(gw.metric(DECODE_ERRORS).await, 1.0);
    assert_eq!(spent(&gw, 2).await, 2 * SONNET_CALL);
}
