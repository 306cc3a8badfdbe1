//! The request body: a realistic Anthropic Messages request of a given size, streaming or not.

use bytes::Bytes;
use serde_json::json;

/// The model named in the request.
const MODEL: &str = "claude-sonnet-4-6";
/// A short system prompt, as coding agents send.
const SYSTEM: &str =
    "You are a careful coding assistant. Answer concisely and show code when it helps.";
/// Text repeated to pad the user turn. ASCII without quotes, backslashes or control
/// characters, so every character is one byte of JSON.
const FILLER: &str = "Please review the following change to the request router. It moves the prefix \
    stripping before authentication, keeps the query string intact and adds a test for the \
    prefixed count_tokens route. Point out anything that could break streaming clients, and \
    suggest a smaller diff if there is one. ";

/// A `POST /v1/messages` body with `"stream": stream` whose size is `bytes`, or the smallest
/// such body if `bytes` is smaller than that.
pub(crate) fn anthropic_messages(bytes: usize, stream: bool) -> serde_json::Result<Bytes> {
    let build = |text: &str| {
        serde_json::to_vec(&json!({
            "model": MODEL,
            "max_tokens": 1024,
            "stream": stream,
            "system": SYSTEM,
            "messages": [
                { "role": "user", "content": [{ "type": "text", "text": text }] }
            ],
        }))
    };
    let empty = build("")?.len();
    let text: String = FILLER
        .chars()
        .cycle()
        .take(bytes.saturating_sub(empty))
        .collect();
    build(&text).map(Bytes::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_has_the_requested_size_and_is_a_non_streaming_request() {
        for size in [400, 1000, 10_240, 100_000] {
            let body = anthropic_messages(size, false).unwrap();
            assert_eq!(body.len(), size);
            let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(value["stream"], false);
            assert_eq!(value["model"], MODEL);
        }
    }

    #[test]
    fn stream_flag_gives_a_streaming_request_of_the_same_size() {
        for size in [400, 10_240] {
            let body = anthropic_messages(size, true).unwrap();
            assert_eq!(body.len(), size);
            let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(value["stream"], true);
            assert_eq!(value["model"], MODEL);
        }
    }

    #[test]
    fn tiny_sizes_give_the_smallest_valid_body() {
        for stream in [false, true] {
            let body = anthropic_messages(1, stream).unwrap();
            assert!(serde_json::from_slice::<serde_json::Value>(&body).is_ok());
        }
    }
}
