use proptest::prelude::*;

use super::*;

const ANTHROPIC_SSE: &str = concat!(
    "event: message_start\n",
    "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"claude-sonnet-4-6\",\"content\":[],",
    "\"usage\":{\"input_tokens\":12,\"cache_creation_input_tokens\":2048,\"cache_read_input_tokens\":18000,",
    "\"cache_creation\":{\"ephemeral_5m_input_tokens\":2000,\"ephemeral_1h_input_tokens\":48},\"output_tokens\":1}}}\n\n",
    "event: ping\ndata: {\"type\":\"ping\"}\n\n",
    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
    ": keepalive\n\n",
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"h\u{e9}llo \\\"message_delta\\\" \u{1F600}\"}}\n\n",
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
    "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":null},\"usage\":{\"output_tokens\":40}}\n\n",
    "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},",
    "\"usage\":{\"input_tokens\":null,\"output_tokens\":87,\"cache_read_input_tokens\":18001}}\n\n",
    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
);

const ANTHROPIC_USAGE: Usage = Usage {
    input: 12,
    output: 87,
    cache_read: 18001,
    cache_write_5m: 2000,
    cache_write_1h: 48,
};

const CHAT_USAGE_FRAME: &str = "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-5-2025-08-07\",\"choices\":[],\"usage\":{\"prompt_tokens\":100,\"completion_tokens\":7,\"total_tokens\":107,\"prompt_tokens_details\":{\"cached_tokens\":60}}}\r\n\r\n";

fn chat_stream() -> (String, String) {
    let before = concat!(
        "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-5-2025-08-07\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}],\"usage\":null}\r\n\r\n",
        "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-5-2025-08-07\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"h\u{e9}\\\"usage\\\": {\"}}],\"usage\":null}\r\n\r\n",
        "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-5-2025-08-07\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":null}\r\n\r\n",
    );
    let after = "data: [DONE]\r\n\r\n";
    (
        format!("{before}{CHAT_USAGE_FRAME}{after}"),
        format!("{before}{after}"),
    )
}

const CHAT_USAGE: Usage = Usage {
    input: 40,
    output: 7,
    cache_read: 60,
    cache_write_5m: 0,
    cache_write_1h: 0,
};

const RESPONSES_SSE: &str = concat!(
    "event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"r1\",\"model\":\"gpt-5.4\",\"output\":[],\"usage\":null}}\n\n",
    "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"sequence_number\":1,\"delta\":\"response.completed\"}\n\n",
    "event: response.completed\ndata: {\"type\":\"response.completed\",\"sequence_number\":2,\"response\":{\"id\":\"r1\",\"model\":\"gpt-5.4\",\"output\":[{\"type\":\"message\",\"content\":[{\"type\":\"output_text\",\"text\":\"hi\"}]}],",
    "\"usage\":{\"input_tokens\":500,\"input_tokens_details\":{\"cached_tokens\":128},\"output_tokens\":30,\"output_tokens_details\":{\"reasoning_tokens\":10},\"total_tokens\":530}}}\n\n",
);

const RESPONSES_USAGE: Usage = Usage {
    input: 372,
    output: 30,
    cache_read: 128,
    cache_write_5m: 0,
    cache_write_1h: 0,
};

/// Feeds `stream` cut at `cuts`; returns the meter and what the client received.
fn run(mut meter: UsageMeter, stream: &[u8], cuts: &[usize]) -> (UsageMeter, Vec<u8>) {
    let mut seen = Vec::new();
    let mut at = 0;
    for &cut in cuts.iter().chain(std::iter::once(&stream.len())) {
        let piece = &stream[at..cut.max(at)];
        match meter.feed(piece) {
            Some(bytes) => seen.extend_from_slice(&bytes),
            None => seen.extend_from_slice(piece),
        }
        at = cut.max(at);
    }
    if let Some(rest) = meter.finish() {
        seen.extend_from_slice(&rest);
    }
    (meter, seen)
}

fn anthropic() -> UsageMeter {
    UsageMeter::new(Api::AnthropicMessages, true, false)
}

#[test]
fn anthropic_delta_overwrites_present_fields_and_keeps_the_ttl_split() {
    let (meter, seen) = run(anthropic(), ANTHROPIC_SSE.as_bytes(), &[]);
    assert_eq!(meter.usage(), Some(ANTHROPIC_USAGE));
    assert!(meter.complete());
    assert_eq!(meter.model(), Some("claude-sonnet-4-6"));
    assert_eq!(seen, ANTHROPIC_SSE.as_bytes());
}

#[test]
fn anthropic_writes_without_a_ttl_split_are_5_minute_writes() {
    let stream = ANTHROPIC_SSE.replace(
        ",\"cache_creation\":{\"ephemeral_5m_input_tokens\":2000,\"ephemeral_1h_input_tokens\":48}",
        "",
    );
    let (meter, _) = run(anthropic(), stream.as_bytes(), &[]);
    let want = Usage {
        cache_write_5m: 2048,
        cache_write_1h: 0,
        ..ANTHROPIC_USAGE
    };
    assert_eq!(meter.usage(), Some(want));
}

#[test]
fn a_cut_anthropic_stream_reports_what_was_seen() {
    let cut = ANTHROPIC_SSE.find("event: message_delta").unwrap();
    let (meter, _) = run(anthropic(), &ANTHROPIC_SSE.as_bytes()[..cut], &[]);
    assert!(!meter.complete());
    assert_eq!(
        meter.usage(),
        Some(Usage {
            output: 1,
            cache_read: 18000,
            ..ANTHROPIC_USAGE
        })
    );
    let (meter, _) = run(anthropic(), &ANTHROPIC_SSE.as_bytes()[..40], &[]);
    assert_eq!(meter.usage(), None);
}

#[test]
fn anthropic_usage_survives_a_split_at_every_byte() {
    let stream = ANTHROPIC_SSE.replace('\n', "\r\n");
    for text in [ANTHROPIC_SSE, stream.as_str()] {
        let bytes = text.as_bytes();
        for cut in 0..=bytes.len() {
            let (meter, seen) = run(anthropic(), bytes, &[cut]);
            assert_eq!(meter.usage(), Some(ANTHROPIC_USAGE), "cut at {cut}");
            assert!(meter.complete(), "cut at {cut}");
            assert_eq!(seen, bytes);
        }
        let every: Vec<usize> = (1..bytes.len()).collect();
        let (meter, _) = run(anthropic(), bytes, &every);
        assert_eq!(meter.usage(), Some(ANTHROPIC_USAGE));
    }
}

fn chat(strip: bool) -> UsageMeter {
    UsageMeter::new(Api::OpenAiChat, true, strip)
}

#[test]
fn injected_chat_usage_chunk_is_stripped_and_done_kept() {
    let (stream, want) = chat_stream();
    let bytes = stream.as_bytes();
    for cut in 0..=bytes.len() {
        let (meter, seen) = run(chat(true), bytes, &[cut]);
        assert_eq!(
            String::from_utf8_lossy(&seen),
            want,
            "cut at {cut} ({:?})",
            &stream[..cut.min(stream.len())].get(cut.saturating_sub(4)..)
        );
        assert_eq!(meter.usage(), Some(CHAT_USAGE), "cut at {cut}");
        assert!(meter.complete());
        assert_eq!(meter.model(), Some("gpt-5-2025-08-07"));
    }
    let every: Vec<usize> = (1..bytes.len()).collect();
    let (_, seen) = run(chat(true), bytes, &every);
    assert_eq!(seen, want.as_bytes());
}

#[test]
fn chat_usage_is_read_but_kept_when_the_client_asked() {
    let (stream, _) = chat_stream();
    let mut meter = chat(false);
    assert!(meter.feed(stream.as_bytes()).is_none());
    assert_eq!(meter.usage(), Some(CHAT_USAGE));
    assert!(meter.complete());
}

#[test]
fn whole_frames_pass_without_a_copy_when_stripping() {
    let (stream, _) = chat_stream();
    let first_frame_end = stream.find("\r\n\r\n").unwrap() + 4;
    let mut meter = chat(true);
    assert!(meter.feed(&stream.as_bytes()[..first_frame_end]).is_none());
    assert!(meter.carry.is_empty());
}

#[test]
fn responses_usage_comes_from_the_terminal_event() {
    let bytes = RESPONSES_SSE.as_bytes();
    for cut in 0..=bytes.len() {
        let mut meter = UsageMeter::new(Api::OpenAiResponses, true, true);
        let (a, b) = bytes.split_at(cut);
        assert!(meter.feed(a).is_none() && meter.feed(b).is_none());
        assert_eq!(meter.usage(), Some(RESPONSES_USAGE), "cut at {cut}");
        assert!(meter.complete());
        assert_eq!(meter.model(), Some("gpt-5.4"));
    }
}

#[test]
fn uninteresting_split_frames_are_not_buffered() {
    let frame = format!(
        "event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"delta\":{{\"text\":\"{}\"}}}}\n\n",
        "x".repeat(10_000)
    );
    let mut meter = anthropic();
    assert!(meter.feed(&frame.as_bytes()[..10]).is_none());
    assert!(meter.feed(&frame.as_bytes()[10..5_000]).is_none());
    assert!(meter.carry.is_empty());
    assert!(meter.feed(&frame.as_bytes()[5_000..]).is_none());
    let (meter, _) = run(meter, ANTHROPIC_SSE.as_bytes(), &[]);
    assert_eq!(meter.usage(), Some(ANTHROPIC_USAGE));
}

#[test]
fn an_oversized_frame_passes_through_unmetered() {
    let (stream, _) = chat_stream();
    let meter = chat(true).with_max_buffer_bytes(64);
    let bytes = stream.as_bytes();
    let cuts: Vec<usize> = (10..bytes.len()).step_by(10).collect();
    let (meter, seen) = run(meter, bytes, &cuts);
    assert_eq!(seen, bytes, "nothing stripped that could not be read");
    assert!(meter.complete(), "[DONE] fits");
}

fn json(api: Api, body: &str) -> UsageMeter {
    let mut meter = UsageMeter::new(api, false, true);
    for piece in body.as_bytes().chunks(7) {
        assert!(meter.feed(piece).is_none());
    }
    assert!(meter.finish().is_none());
    meter
}

#[test]
fn json_bodies_of_all_three_apis() {
    let anthropic = json(
        Api::AnthropicMessages,
        r#"{"id":"msg_1","type":"message","model":"claude-haiku-4-5","content":[{"type":"text","text":"hi"}],"usage":{"input_tokens":10,"cache_creation_input_tokens":5,"cache_read_input_tokens":3,"output_tokens":3}}"#,
    );
    let want = Usage {
        input: 10,
        output: 3,
        cache_read: 3,
        cache_write_5m: 5,
        cache_write_1h: 0,
    };
    assert_eq!(anthropic.usage(), Some(want));
    assert!(anthropic.complete());
    assert_eq!(anthropic.model(), Some("claude-haiku-4-5"));

    let chat = json(
        Api::OpenAiChat,
        r#"{"id":"c","object":"chat.completion","model":"gpt-5","choices":[],"usage":{"prompt_tokens":100,"completion_tokens":7,"prompt_tokens_details":{"cached_tokens":60}}}"#,
    );
    assert_eq!(chat.usage(), Some(CHAT_USAGE));
    assert!(chat.complete());

    let responses = json(
        Api::OpenAiResponses,
        r#"{"id":"r","object":"response","model":"gpt-5.4","output":[],"usage":{"input_tokens":500,"input_tokens_details":{"cached_tokens":128},"output_tokens":30}}"#,
    );
    assert_eq!(responses.usage(), Some(RESPONSES_USAGE));
    assert_eq!(responses.model(), Some("gpt-5.4"));
}

#[test]
fn error_and_oversized_json_bodies_are_not_complete() {
    let err = r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
    let meter = json(Api::AnthropicMessages, err);
    assert_eq!(meter.usage(), None);
    assert!(!meter.complete());
    let mut meter = UsageMeter::new(Api::OpenAiChat, false, false).with_max_buffer_bytes(8);
    assert!(meter.feed(b"{\"usage\":{\"prompt_tokens\":1}}").is_none());
    meter.finish();
    assert!(!meter.complete());
    assert_eq!(meter.usage(), None);
}

proptest! {
    #[test]
    fn any_chunking_gives_the_same_usage_and_bytes(mut cuts in proptest::collection::vec(0usize..2000, 0..40)) {
        cuts.sort_unstable();
        let (stream, want) = chat_stream();
        let cuts_chat: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
        let mut sorted = cuts_chat.clone();
        sorted.sort_unstable();
        let (meter, seen) = run(chat(true), stream.as_bytes(), &sorted);
        prop_assert_eq!(seen, want.as_bytes());
        prop_assert_eq!(meter.usage(), Some(CHAT_USAGE));

        let mut cuts_a: Vec<usize> = cuts.iter().map(|c| c % (ANTHROPIC_SSE.len() + 1)).collect();
        cuts_a.sort_unstable();
        let (meter, seen) = run(anthropic(), ANTHROPIC_SSE.as_bytes(), &cuts_a);
        prop_assert_eq!(seen, ANTHROPIC_SSE.as_bytes());
        prop_assert_eq!(meter.usage(), Some(ANTHROPIC_USAGE));
    }
}

#[test]
fn cr_and_lf_line_ends_strip_the_same_way() {
    let (stream, want) = chat_stream();
    for ending in ["\r\r", "\n\n", "\r\n\n"] {
        let stream = stream.replace("\r\n\r\n", ending);
        let want = want.replace("\r\n\r\n", ending);
        for cut in 0..=stream.len() {
            let (meter, seen) = run(chat(true), stream.as_bytes(), &[cut]);
            assert_eq!(seen, want.as_bytes(), "{ending:?} cut at {cut}");
            assert_eq!(meter.usage(), Some(CHAT_USAGE));
            assert!(meter.complete());
        }
    }
}
