//! OpenAI answers: Chat Completions and Responses, plus the error envelope they share.

pub(crate) mod chat;
pub(crate) mod responses;

use bytes::Bytes;
use serde_json::json;

/// Model named in answers when the request names none.
pub(crate) const DEFAULT_MODEL: &str = "gpt-5-mini";

/// What every OpenAI answer of one request names.
#[derive(Debug)]
pub(crate) struct Ids<'a> {
    /// The request's number, used in every id.
    pub(crate) id: u64,
    /// Unix seconds.
    pub(crate) created: u64,
    /// The model as a JSON string literal.
    pub(crate) model_json: &'a str,
}

/// `{"error":{"message","type","param","code"}}`.
pub(crate) fn error_body(message: &str, error_type: &str, code: Option<&str>) -> Bytes {
    let body = json!({
        "error": {"message": message, "type": error_type, "param": null, "code": code},
    });
    Bytes::from(body.to_string())
}

/// The message, type and code OpenAI sends with `status`.
pub(crate) fn error_for_status(status: u16) -> (&'static str, &'static str, Option<&'static str>) {
    match status {
        401 => (
            "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.",
            "invalid_request_error",
            Some("invalid_api_key"),
        ),
        402 => (
            "You exceeded your current quota, please check your plan and billing details.",
            "insufficient_quota",
            Some("insufficient_quota"),
        ),
        403 => (
            "You are not allowed to use this resource.",
            "invalid_request_error",
            Some("permission_denied"),
        ),
        404 => (
            "The model does not exist or you do not have access to it.",
            "invalid_request_error",
            Some("model_not_found"),
        ),
        413 => (
            "Request too large.",
            "invalid_request_error",
            Some("request_too_large"),
        ),
        429 => (
            "Rate limit reached for requests. Please try again later.",
            "requests",
            Some("rate_limit_exceeded"),
        ),
        500 => (
            "The server had an error while processing your request. Sorry about that!",
            "server_error",
            None,
        ),
        501..=599 => (
            "The server is overloaded or not ready yet.",
            "server_error",
            None,
        ),
        _ => ("Invalid request.", "invalid_request_error", None),
    }
}
