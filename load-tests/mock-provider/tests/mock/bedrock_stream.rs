//! The mock Bedrock's event stream and its faults, read with a reference decoder
//! (`aws-smithy-eventstream`): cut streams carry the same frames in small pieces, an
//! exception frame after content, a frame with a bad CRC, an oversized frame.

use aws_smithy_eventstream::frame::read_message_from;
use aws_smithy_types::event_stream::{HeaderValue, Message};
use base64::Engine;
use bytes::{Buf, Bytes};
use http::Request;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use mock_provider::{BEDROCK_API_KEY, CUT_PIECE_MAX_BYTES, MockConfig, MockProvider, Script};

use crate::client::send;

const STREAM: &str =
    "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke-with-response-stream";
const BODY: &str = r#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":5,"messages":[]}"#;

/// A Bedrock stream request with the mock's API key; the body's data frames as received.
async fn pieces(mock: &MockProvider, scenario: Option<&str>) -> Vec<Bytes> {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut request = Request::post(format!("{}{STREAM}", mock.base_url()))
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {BEDROCK_API_KEY}"));
    if let Some(scenario) = scenario {
        request = request.header("x-mock-scenario", scenario);
    }
    let response = client
        .request(
            request
                .body(Full::new(Bytes::from_static(BODY.as_bytes())))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.unwrap().into_data() {
            out.push(data);
        }
    }
    out
}

fn concat(pieces: &[Bytes]) -> Bytes {
    Bytes::from(pieces.concat())
}

/// Decodes frames until the bytes end or a frame fails; the frames and the failure.
fn decode(mut bytes: Bytes) -> (Vec<Message>, Option<String>) {
    let mut messages = Vec::new();
    while bytes.has_remaining() {
        match read_message_from(&mut bytes) {
            Ok(message) => messages.push(message),
            Err(error) => return (messages, Some(error.to_string())),
        }
    }
    (messages, None)
}

fn header(message: &Message, name: &str) -> String {
    message
        .headers()
        .iter()
        .find(|h| h.name().as_str() == name)
        .and_then(|h| match h.value() {
            HeaderValue::String(s) => Some(s.as_str().to_owned()),
            _ => None,
        })
        .unwrap_or_default()
}

/// The Anthropic event types the `chunk` frames carry; other frames by message type.
fn kinds(messages: &[Message]) -> Vec<String> {
    messages
        .iter()
        .map(|m| {
            if header(m, ":message-type") != "event" {
                return format!(
                    "{}:{}",
                    header(m, ":message-type"),
                    header(m, ":exception-type")
                );
            }
            let chunk: serde_json::Value = serde_json::from_slice(m.payload()).unwrap();
            let json = base64::engine::general_purpose::STANDARD
                .decode(chunk["bytes"].as_str().unwrap())
                .unwrap();
            let event: serde_json::Value = serde_json::from_slice(&json).unwrap();
            event["type"].as_str().unwrap().to_owned()
        })
        .collect()
}

const EVENTS: &[&str] = &[
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
async fn a_cut_stream_carries_the_same_frames_in_small_pieces_across_frame_boundaries() {
    let mock = MockProvider::start(MockConfig::default()).await.unwrap();
    let whole = pieces(&mock, None).await;
    let (frames, failure) = decode(concat(&whole));
    assert_eq!(failure, None);
    assert_eq!(kinds(&frames), EVENTS);

    let cut = pieces(&mock, Some("cut=7")).await;
    assert!(
        cut.iter().all(|p| p.len() <= CUT_PIECE_MAX_BYTES),
        "{cut:?}"
    );
    assert!(cut.len() > 2 * EVENTS.len(), "{} pieces", cut.len());
    let (cut_frames, failure) = decode(concat(&cut));
    assert_eq!(failure, None);
    assert_eq!(kinds(&cut_frames), EVENTS);
    assert_eq!(
        concat(&cut).len(),
        concat(&whole).len(),
        "ids of equal length"
    );

    // Queued, for the next Bedrock stream.
    mock.push_script(Script::Cut { seed: 1 });
    let cut = pieces(&mock, None).await;
    assert!(cut.len() > 2 * EVENTS.len());
    assert_eq!(kinds(&decode(concat(&cut)).0), EVENTS);
}

#[tokio::test]
async fn an_exception_after_content_is_an_exception_frame_and_ends_the_stream() {
    let mock = MockProvider::start(MockConfig::default()).await.unwrap();
    let (frames, failure) = decode(concat(&pieces(&mock, Some("midstream-error=2")).await));
    assert_eq!(failure, None);
    assert_eq!(
        kinds(&frames),
        [&EVENTS[..5], &["exception:serviceUnavailableException"][..]].concat()
    );
    let last = frames.last().unwrap();
    let payload: serde_json::Value = serde_json::from_slice(last.payload()).unwrap();
    assert_eq!(payload["message"], "Overloaded");
}

#[tokio::test]
async fn a_bad_crc_frame_fails_the_reference_decoder_after_the_intact_ones() {
    let mock = MockProvider::start(MockConfig::default()).await.unwrap();
    let (frames, failure) = decode(concat(&pieces(&mock, Some("bad-crc=1")).await));
    assert_eq!(kinds(&frames), &EVENTS[..4]);
    assert!(failure.unwrap().contains("message checksum"));

    mock.push_script(Script::BadCrc {
        after_deltas: 0,
        before_content: false,
    });
    let (frames, failure) = decode(concat(&pieces(&mock, None).await));
    assert_eq!(kinds(&frames), &EVENTS[..3]);
    assert!(failure.is_some());

    let early = pieces(&mock, Some("bad-crc=0;before-content=true")).await;
    let (frames, failure) = decode(concat(&early));
    assert_eq!(
        kinds(&frames),
        ["message_start"],
        "only message_start is intact"
    );
    assert!(failure.is_some());
}

#[tokio::test]
async fn an_oversized_frame_is_valid_and_exactly_as_long_as_asked() {
    let mock = MockProvider::start(MockConfig::default()).await.unwrap();
    let bytes = concat(&pieces(&mock, Some("oversized-frame=1;bytes=100000")).await);
    let (frames, failure) = decode(bytes.clone());
    assert_eq!(failure, None);
    assert_eq!(kinds(&frames), [&EVENTS[..4], &["ping"][..]].concat());
    let last_len = bytes.len() - decode_len(&bytes, frames.len() - 1);
    assert_eq!(last_len, 100_000);
    // Twice the gateway's 1 MiB bound by default.
    let (frames, _) = decode(concat(&pieces(&mock, Some("oversized-frame=0")).await));
    assert_eq!(frames.len(), 4);
    assert!(frames[3].payload().len() > 2 * 1024 * 1024 - 200);
}

/// The byte length of the first `n` frames of `bytes`.
fn decode_len(bytes: &[u8], n: usize) -> usize {
    let mut at = 0;
    for _ in 0..n {
        let total = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
        at += total as usize;
    }
    at
}

#[tokio::test]
async fn frame_faults_are_refused_on_other_streams_and_left_queued_for_bedrock() {
    let mock = MockProvider::start(MockConfig::default()).await.unwrap();
    let sse = r#"{"model":"claude-sonnet-4-6","stream":true}"#;
    let refused = send(
        &mock,
        "POST",
        "/v1/messages",
        &[("x-mock-scenario", "bad-crc=1")],
        sse,
    )
    .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    mock.push_script(Script::OversizedFrame {
        after_deltas: 0,
        bytes: 5000,
    });
    let normal = send(&mock, "POST", "/v1/messages", &[], sse).await;
    assert!(
        normal
            .body
            .ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
    );
    let (frames, _) = decode(concat(&pieces(&mock, None).await));
    assert_eq!(kinds(&frames), [&EVENTS[..3], &["ping"][..]].concat());
}
