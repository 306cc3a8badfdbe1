//! The Anthropic error a foreign provider's error becomes (Bedrock's exceptions, Google's
//! statuses): the error type an HTTP status means when nothing better is named, and the JSON
//! body in Anthropic's key order (a `json!` map would sort the keys).

/// Anthropic's error type for an HTTP status.
pub(crate) fn type_by_status(status: u16) -> &'static str {
    match status {
        400 | 422 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        503 | 529 => "overloaded_error",
        _ => "api_error",
    }
}

/// `{"type":"error","error":{"type":kind,"message":message}}`, the message trimmed.
pub(crate) fn body(kind: &str, message: &str) -> String {
    let message = serde_json::to_string(message.trim_end()).unwrap_or_else(|_| "\"\"".to_owned());
    format!(r#"{{"type":"error","error":{{"type":"{kind}","message":{message}}}}}"#)
}
