use super::*;

/// An Anthropic body as Claude Code sends it, with odd whitespace, escapes and a thinking
/// signature that must survive byte for byte.
const ANTHROPIC: &str = "{ \"model\" :\"claude-sonnet-4-6\",\n\t\"max_tokens\" :  32000 ,\"messages\":[{\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\",\"thinking\":\"caf\\u00e9 \\\"quoted\\\"\\n\",\"signature\":\"EqQBCkYIBxgCKkDx+/=sig==\"},{\"type\":\"text\",\"text\":\"h\u{e9}llo\"}]}],\r\n \"stream\":true ,\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":1024}}  \n";

#[test]
fn anthropic_facts_are_read() {
    let facts = inspect_request(Api::AnthropicMessages, ANTHROPIC.as_bytes()).unwrap();
    assert_eq!(facts.model.as_deref(), Some("claude-sonnet-4-6"));
    assert!(facts.stream);
    assert_eq!(facts.max_output_tokens, Some(32000));
    assert_eq!(
        facts.input_estimate_tokens,
        (ANTHROPIC.len() as u64).div_ceil(3)
    );
    assert!(facts.client_wants_usage);
}

#[test]
fn chat_facts_take_the_larger_cap_and_the_usage_request() {
    let body = br#"{"model":"gpt-5","stream":true,"max_tokens":10,"max_completion_tokens":20,"stream_options":{"include_usage":true}}"#;
    let facts = inspect_request(Api::OpenAiChat, body).unwrap();
    assert_eq!(facts.max_output_tokens, Some(20));
    assert!(facts.client_wants_usage);
    let body = br#"{"model":"gpt-5","stream":true,"stream_options":{"include_obfuscation":false}}"#;
    let facts = inspect_request(Api::OpenAiChat, body).unwrap();
    assert_eq!(facts.max_output_tokens, None);
    assert!(!facts.client_wants_usage);
    let facts = inspect_request(Api::OpenAiChat, br#"{"model":"gpt-5"}"#).unwrap();
    assert!(!facts.stream);
    assert!(facts.client_wants_usage, "a JSON answer always has usage");
}

#[test]
fn responses_facts_read_max_output_tokens() {
    let body = br#"{"model":"gpt-5.4","input":"hi","max_output_tokens":null,"stream":false}"#;
    let facts = inspect_request(Api::OpenAiResponses, body).unwrap();
    assert_eq!(facts.max_output_tokens, None);
    let body = br#"{"model":"gpt-5.4","input":"hi","max_output_tokens":77}"#;
    let facts = inspect_request(Api::OpenAiResponses, body).unwrap();
    assert_eq!(facts.max_output_tokens, Some(77));
}

#[test]
fn bad_bodies_say_what_to_fix() {
    let err = inspect_request(Api::AnthropicMessages, b"{\"model\":\n}").unwrap_err();
    assert!(
        matches!(err, MeterError::InvalidJson { line: 2, .. }),
        "{err:?}"
    );
    let err = inspect_request(Api::AnthropicMessages, b"[1]").unwrap_err();
    assert!(matches!(err, MeterError::NotAnObject), "{err:?}");
    let err = inspect_request(Api::AnthropicMessages, br#"{"max_tokens":-1}"#).unwrap_err();
    assert_eq!(
        err.to_string(),
        "request field `max_tokens` must be a non-negative integer"
    );
    let err = inspect_request(Api::OpenAiChat, br#"{"stream":"yes"}"#).unwrap_err();
    assert!(matches!(
        err,
        MeterError::InvalidField {
            field: "stream",
            ..
        }
    ));
    let body = br#"{"stream":true,"stream_options":{"include_usage":1}}"#;
    let err = inspect_request(Api::OpenAiChat, body).unwrap_err();
    let field = "stream_options.include_usage";
    assert!(matches!(err, MeterError::InvalidField { field: f, .. } if f == field));
}

fn edited(api: Api, body: &str, n: u64) -> String {
    let out = set_max_output_tokens(api, body.as_bytes(), n).unwrap();
    let text = String::from_utf8(out).unwrap();
    serde_json::from_str::<serde_json::Value>(&text).expect("edited body parses");
    text
}

#[test]
fn anthropic_max_tokens_edit_changes_only_the_number() {
    let out = edited(Api::AnthropicMessages, ANTHROPIC, 16000);
    assert_eq!(out, ANTHROPIC.replacen("32000", "16000", 1));
    assert!(out.contains("\"signature\":\"EqQBCkYIBxgCKkDx+/=sig==\""));
}

#[test]
fn missing_caps_are_inserted_first() {
    let out = edited(Api::AnthropicMessages, " {\"model\":\"x\"}", 5);
    assert_eq!(out, " {\"max_tokens\":5,\"model\":\"x\"}");
    assert_eq!(
        edited(Api::OpenAiChat, "{}", 5),
        "{\"max_completion_tokens\":5}"
    );
    assert_eq!(
        edited(Api::OpenAiResponses, "{ \"input\": \"hi\" }", 5),
        "{\"max_output_tokens\":5, \"input\": \"hi\" }"
    );
}

#[test]
fn chat_edits_whichever_caps_are_present() {
    let body = r#"{"max_tokens" : null, "x":"max_tokens", "max_completion_tokens":9000}"#;
    assert_eq!(
        edited(Api::OpenAiChat, body, 42),
        r#"{"max_tokens" : 42, "x":"max_tokens", "max_completion_tokens":42}"#
    );
    let body = r#"{"max_tokens":100}"#;
    assert_eq!(edited(Api::OpenAiChat, body, 7), r#"{"max_tokens":7}"#);
}

#[test]
fn duplicate_and_escaped_keys_are_all_edited() {
    let body = r#"{"max_tokens":1,"m\u0061x_tokens":2}"#;
    assert_eq!(
        edited(Api::AnthropicMessages, body, 3),
        r#"{"max_tokens":3,"m\u0061x_tokens":3}"#
    );
}

fn with_usage(body: &str) -> Option<String> {
    request_usage_in_stream(body.as_bytes())
        .unwrap()
        .map(|b| String::from_utf8(b).unwrap())
}

#[test]
fn usage_request_is_added_byte_faithfully() {
    let body = "{\"model\":\"gpt-5\", \"stream\" : true,\n \"messages\":[{\"role\":\"user\",\"content\":\"\\u00e9\"}]}";
    let out = with_usage(body).unwrap();
    assert_eq!(
        out,
        format!(
            "{{\"stream_options\":{{\"include_usage\":true}},{}",
            &body[1..]
        )
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["stream_options"]["include_usage"], true);
    assert_eq!(
        inspect_request(Api::OpenAiChat, out.as_bytes()).unwrap(),
        RequestFacts {
            client_wants_usage: true,
            ..inspect_request(Api::OpenAiChat, body.as_bytes()).unwrap()
        }
        .with_estimate(out.len())
    );
}

impl RequestFacts {
    fn with_estimate(mut self, len: usize) -> Self {
        self.input_estimate_tokens = estimate_input_tokens(len);
        self
    }
}

#[test]
fn existing_stream_options_are_completed_in_place() {
    let cases = [
        (
            r#"{"stream":true,"stream_options":{}}"#,
            r#"{"stream":true,"stream_options":{"include_usage":true}}"#,
        ),
        (
            r#"{"stream":true,"stream_options": { "include_obfuscation":false }}"#,
            r#"{"stream":true,"stream_options": {"include_usage":true, "include_obfuscation":false }}"#,
        ),
        (
            r#"{"stream":true,"stream_options":{"include_usage" : false}}"#,
            r#"{"stream":true,"stream_options":{"include_usage" : true}}"#,
        ),
        (
            r#"{"stream":true,"stream_options":null}"#,
            r#"{"stream":true,"stream_options":{"include_usage":true}}"#,
        ),
    ];
    for (body, want) in cases {
        assert_eq!(with_usage(body).as_deref(), Some(want), "{body}");
    }
}

#[test]
fn nothing_to_change_gives_none() {
    assert_eq!(with_usage(r#"{"stream":false}"#), None);
    assert_eq!(with_usage(r#"{"model":"gpt-5"}"#), None);
    let body = r#"{"stream":true,"stream_options":{"include_usage":true}}"#;
    assert_eq!(with_usage(body), None);
    let err = request_usage_in_stream(br#"{"stream":true,"stream_options":3}"#).unwrap_err();
    assert!(matches!(
        err,
        MeterError::InvalidField {
            field: "stream_options",
            ..
        }
    ));
}
