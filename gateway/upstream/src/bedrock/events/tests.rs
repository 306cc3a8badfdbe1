//! The event-stream decoder: frames cut at any byte boundary, exceptions, bad CRCs, bounds.

use aws_smithy_eventstream::frame::write_message_to;
use aws_smithy_types::event_stream::{Header, HeaderValue, Message};

use super::*;

fn frame(headers: &[(&str, &str)], payload: &[u8]) -> Vec<u8> {
    let mut m = Message::new(Bytes::copy_from_slice(payload));
    for (k, v) in headers {
        m = m.add_header(Header::new(
            (*k).to_owned(),
            HeaderValue::String((*v).to_owned().into()),
        ));
    }
    let mut out = Vec::new();
    write_message_to(&m, &mut out).unwrap();
    out
}

fn chunk_frame(json: &str) -> Vec<u8> {
    let b64 = base64::engine::general_purpose::STANDARD.encode(json);
    frame(
        &[(":message-type", "event"), (":event-type", "chunk")],
        format!(r#"{{"bytes":"{b64}","p":"abcd"}}"#).as_bytes(),
    )
}

const START: &str =
    r#"{"type":"message_start","message":{"id":"m","usage":{"input_tokens":3,"output_tokens":1}}}"#;
const DELTA: &str =
    r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi\n"}}"#;

#[test]
fn chunks_cut_anywhere_come_out_as_the_same_sse_events() {
    let mut wire = chunk_frame(START);
    wire.extend(chunk_frame(DELTA));
    let expected = format!(
        "event: message_start\ndata: {START}\n\nevent: content_block_delta\ndata: {DELTA}\n\n"
    );
    for cut in 1..wire.len() {
        let mut d = Decoder::default();
        let mut out = Vec::new();
        for piece in wire.chunks(cut) {
            d.feed(piece);
            out.extend(d.drain().unwrap());
        }
        assert_eq!(String::from_utf8(out).unwrap(), expected, "cut every {cut}");
    }
}

#[test]
fn an_exception_becomes_the_anthropic_error_event_and_ends_the_stream() {
    let mut wire = frame(
        &[
            (":message-type", "exception"),
            (":exception-type", "serviceUnavailableException"),
        ],
        br#"{"message":"Bedrock is unable to process your request."}"#,
    );
    wire.extend(chunk_frame(START));
    let mut d = Decoder::default();
    d.feed(&wire);
    let out = String::from_utf8(d.drain().unwrap()).unwrap();
    assert_eq!(
        out,
        "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Bedrock is unable to process your request.\"}}\n\n"
    );
    assert!(d.done);
    assert!(d.drain().unwrap().is_empty());
}

#[test]
fn a_bad_crc_or_an_oversized_frame_is_an_error() {
    let mut wire = chunk_frame(START);
    let last = wire.len() - 1;
    wire[last] ^= 0xff;
    let mut d = Decoder::default();
    d.feed(&wire);
    assert!(matches!(d.drain(), Err(DecodeError::Frame(_))));

    let mut huge = Vec::new();
    huge.extend(u32::try_from(FRAME_MAX_BYTES + 1).unwrap().to_be_bytes());
    huge.extend([0u8; 8]);
    let mut d = Decoder::default();
    d.feed(&huge);
    assert!(matches!(d.drain(), Err(DecodeError::FrameSize(_))));
}

/// A small deterministic generator (no RNG dependency): the split points vary per seed.
fn lcg(seed: &mut u64) -> usize {
    *seed = seed
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    usize::try_from(*seed >> 33).unwrap_or(0)
}

#[test]
fn frames_cut_at_random_byte_boundaries_decode_the_same_up_to_a_final_exception() {
    let mut wire = chunk_frame(START);
    wire.extend(chunk_frame(DELTA));
    wire.extend(frame(
        &[(":message-type", "event"), (":event-type", "other")],
        b"{}",
    ));
    wire.extend(frame(
        &[
            (":message-type", "exception"),
            (":exception-type", "throttlingException"),
        ],
        br#"{"message":"Too many tokens"}"#,
    ));
    wire.extend(chunk_frame(DELTA));
    let expected = format!(
        "event: message_start\ndata: {START}\n\nevent: content_block_delta\ndata: {DELTA}\n\n\
         event: error\ndata: {{\"type\":\"error\",\"error\":{{\"type\":\"rate_limit_error\",\
         \"message\":\"Too many tokens\"}}}}\n\n"
    );
    let mut seed = 13;
    for _ in 0..300 {
        let mut d = Decoder::default();
        let mut out = Vec::new();
        let mut rest = wire.as_slice();
        while !rest.is_empty() {
            let n = 1 + lcg(&mut seed) % 40.min(rest.len());
            let (piece, tail) = rest.split_at(n.min(rest.len()));
            d.feed(piece);
            out.extend(d.drain().unwrap());
            rest = tail;
        }
        assert_eq!(String::from_utf8(out).unwrap(), expected);
        assert!(
            d.done,
            "the exception ends the stream; the chunk after it is dropped"
        );
    }
}

#[test]
fn a_bad_prelude_crc_or_a_bad_chunk_payload_is_an_error() {
    let mut wire = chunk_frame(START);
    wire[9] ^= 0x01;
    let mut d = Decoder::default();
    d.feed(&wire);
    assert!(matches!(d.drain(), Err(DecodeError::Frame(_))));

    for payload in [
        &br#"{"bytes":"not base64!"}"#[..],
        b"[]",
        b"{\"bytes\":\"e30=\"}",
    ] {
        let wire = frame(
            &[(":message-type", "event"), (":event-type", "chunk")],
            payload,
        );
        let mut d = Decoder::default();
        d.feed(&wire);
        assert!(
            matches!(d.drain(), Err(DecodeError::Chunk)),
            "{}",
            String::from_utf8_lossy(payload)
        );
    }
}

#[test]
fn a_length_shorter_than_a_frame_is_an_error_and_an_incomplete_frame_waits() {
    let mut short = Vec::new();
    short.extend(8u32.to_be_bytes());
    short.extend([0u8; 8]);
    let mut d = Decoder::default();
    d.feed(&short);
    assert!(matches!(d.drain(), Err(DecodeError::FrameSize(8))));

    let wire = chunk_frame(START);
    let mut d = Decoder::default();
    d.feed(&wire[..wire.len() - 1]);
    assert!(
        d.drain().unwrap().is_empty(),
        "nothing until the frame is whole"
    );
    d.feed(&wire[wire.len() - 1..]);
    assert!(d.drain().unwrap().starts_with(b"event: message_start\n"));
}

#[test]
fn line_breaks_between_json_tokens_cannot_end_the_data_line() {
    let pretty = "{\n  \"type\": \"ping\"\r\n}";
    let mut d = Decoder::default();
    d.feed(&chunk_frame(pretty));
    assert_eq!(
        String::from_utf8(d.drain().unwrap()).unwrap(),
        "event: ping\ndata: {   \"type\": \"ping\"  }\n\n"
    );
}
