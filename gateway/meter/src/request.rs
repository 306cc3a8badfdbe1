//! What the meter reads from a request body ([`inspect_request`]) and the two edits it makes
//! ([`set_max_output_tokens`], [`request_usage_in_stream`]).
//!
//! Edits are byte-faithful: the body is read as raw members with their spans and only the
//! edited number or member is spliced; every other byte (whitespace, key order, escapes,
//! thinking signatures) is kept. Duplicate keys are all edited; reads take the last one, as
//! most JSON parsers do.

use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use crate::error::MeterError;
use gateway_core::Api;
use gateway_core::json::{Edits, Object, after_open_brace, span};

/// Bytes of request body counted as one input token by [`estimate_input_tokens`].
///
/// Three leans high on purpose: English prose runs near four bytes a token and JSON framing
/// (keys, quotes, escapes) adds bytes that are not tokens, while dense text (CJK at three UTF-8
/// bytes a character, digits, identifiers) rarely gets below three. A reservation that is
/// too high is released at settlement; one that is too low lets a burst overshoot a budget.
pub const INPUT_BYTES_PER_TOKEN: u64 = 3;

/// An upper-leaning estimate of a request's input tokens from its body size:
/// `ceil(body_len / INPUT_BYTES_PER_TOKEN)`. Large base64 images and documents are over-
/// counted (they bill far fewer tokens than bytes / 3); settlement corrects that.
pub fn estimate_input_tokens(body_len: usize) -> u64 {
    u64::try_from(body_len)
        .unwrap_or(u64::MAX)
        .div_ceil(INPUT_BYTES_PER_TOKEN)
}

/// What a reservation needs to know about a request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestFacts {
    /// The `model` field, if present.
    pub model: Option<String>,
    /// `"stream": true`.
    pub stream: bool,
    /// The output cap the client asked for: Anthropic `max_tokens`; OpenAI chat
    /// `max_completion_tokens` or `max_tokens` (the larger if both); Responses
    /// `max_output_tokens`. `None` when absent or null: reserve the model's maximum.
    pub max_output_tokens: Option<u64>,
    /// [`estimate_input_tokens`] of the body.
    pub input_estimate_tokens: u64,
    /// The client will see a usage report without help: always for Anthropic and Responses;
    /// for OpenAI chat only when `stream` is false or `stream_options.include_usage` is true.
    /// When false, the gateway asks for usage itself ([`request_usage_in_stream`]) and strips
    /// the usage chunk from the response ([`crate::UsageMeter::new`]).
    pub client_wants_usage: bool,
}

/// Reads the facts of a request body of `api`.
pub fn inspect_request(api: Api, body: &[u8]) -> Result<RequestFacts, MeterError> {
    let obj = Object::parse(body).map_err(MeterError::json)?;
    let model = field::<String>(&obj, "model", "a string")?;
    let stream = field::<bool>(&obj, "stream", "true or false")?.unwrap_or(false);
    let max_output_tokens = match api {
        Api::AnthropicMessages => token_count(&obj, "max_tokens")?,
        Api::OpenAiChat => {
            let completion = token_count(&obj, "max_completion_tokens")?;
            let legacy = token_count(&obj, "max_tokens")?;
            completion.max(legacy)
        }
        Api::OpenAiResponses => token_count(&obj, "max_output_tokens")?,
    };
    let client_wants_usage = match api {
        Api::OpenAiChat if stream => include_usage(&obj)? == Some(true),
        _ => true,
    };
    Ok(RequestFacts {
        model,
        stream,
        max_output_tokens,
        input_estimate_tokens: estimate_input_tokens(body.len()),
        client_wants_usage,
    })
}

/// Sets the output cap of a request body of `api` to `n`, changing nothing else.
///
/// Anthropic: `max_tokens`. OpenAI chat: `max_completion_tokens` and/or `max_tokens`, whichever
/// are present, else `max_completion_tokens` is inserted. Responses: `max_output_tokens`.
/// An absent field is inserted as the object's first member.
pub fn set_max_output_tokens(api: Api, body: &[u8], n: u64) -> Result<Vec<u8>, MeterError> {
    let obj = Object::parse(body).map_err(MeterError::json)?;
    let keys: &[&str] = match api {
        Api::AnthropicMessages => &["max_tokens"],
        Api::OpenAiChat => &["max_completion_tokens", "max_tokens"],
        Api::OpenAiResponses => &["max_output_tokens"],
    };
    let number = n.to_string();
    let mut edits = Edits::default();
    for key in keys {
        for raw in obj.all(key) {
            edits.replace(
                span(body, raw).ok_or(MeterError::Internal)?,
                number.as_bytes(),
            );
        }
    }
    if edits.is_empty() {
        let at = after_open_brace(body, 0..body.len()).ok_or(MeterError::Internal)?;
        let comma = if obj.members.is_empty() { "" } else { "," };
        let key = keys.first().copied().unwrap_or("max_tokens");
        edits.insert(at, format!("\"{key}\":{number}{comma}"));
    }
    edits.apply(body).ok_or(MeterError::Internal)
}

/// For an OpenAI chat body with `"stream": true` whose client did not ask for usage: the body
/// with `"stream_options":{"include_usage":true}` added (or `include_usage` set to true in an
/// existing `stream_options`), every other byte unchanged. `None` when there is nothing to
/// change (not streaming, or usage already requested).
pub fn request_usage_in_stream(body: &[u8]) -> Result<Option<Vec<u8>>, MeterError> {
    let obj = Object::parse(body).map_err(MeterError::json)?;
    let stream = field::<bool>(&obj, "stream", "true or false")?.unwrap_or(false);
    if !stream || include_usage(&obj)? == Some(true) {
        return Ok(None);
    }
    let mut edits = Edits::default();
    for raw in obj.all("stream_options") {
        let at = span(body, raw).ok_or(MeterError::Internal)?;
        if raw.get() == "null" {
            edits.replace(at, &br#"{"include_usage":true}"#[..]);
            continue;
        }
        let options = stream_options(raw)?;
        let mut found = false;
        for flag in options.all("include_usage") {
            edits.replace(span(body, flag).ok_or(MeterError::Internal)?, &b"true"[..]);
            found = true;
        }
        if !found {
            let inside = after_open_brace(body, at).ok_or(MeterError::Internal)?;
            let comma = if options.members.is_empty() { "" } else { "," };
            edits.insert(inside, format!("\"include_usage\":true{comma}"));
        }
    }
    if edits.is_empty() {
        let at = after_open_brace(body, 0..body.len()).ok_or(MeterError::Internal)?;
        let comma = if obj.members.is_empty() { "" } else { "," };
        edits.insert(
            at,
            format!("\"stream_options\":{{\"include_usage\":true}}{comma}"),
        );
    }
    edits.apply(body).ok_or(MeterError::Internal).map(Some)
}

/// The last `key` of `obj` as a `T`; `None` when absent or null.
fn field<T: DeserializeOwned>(
    obj: &Object<'_>,
    key: &'static str,
    expected: &'static str,
) -> Result<Option<T>, MeterError> {
    match obj.last(key) {
        None => Ok(None),
        Some(raw) => {
            serde_json::from_str::<Option<T>>(raw.get()).map_err(|_| MeterError::InvalidField {
                field: key,
                expected,
            })
        }
    }
}

fn token_count(obj: &Object<'_>, key: &'static str) -> Result<Option<u64>, MeterError> {
    field::<u64>(obj, key, "a non-negative integer")
}

fn stream_options<'a>(raw: &'a RawValue) -> Result<Object<'a>, MeterError> {
    Object::parse(raw.get().as_bytes()).map_err(|_| MeterError::InvalidField {
        field: "stream_options",
        expected: "an object, like {\"include_usage\": true}",
    })
}

/// `stream_options.include_usage` of the last `stream_options`.
fn include_usage(obj: &Object<'_>) -> Result<Option<bool>, MeterError> {
    match obj.last("stream_options") {
        Some(raw) if raw.get() != "null" => {
            let options = stream_options(raw)?;
            match options.last("include_usage") {
                None => Ok(None),
                Some(flag) => serde_json::from_str::<Option<bool>>(flag.get()).map_err(|_| {
                    MeterError::InvalidField {
                        field: "stream_options.include_usage",
                        expected: "true or false",
                    }
                }),
            }
        }
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests;
