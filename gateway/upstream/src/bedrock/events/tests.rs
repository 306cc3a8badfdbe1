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
