//! A Vertex error answer in the client's protocol. Google's front end answers
//! `{"error":{"code":429,"message":…,"status":"RESOURCE_EXHAUSTED"}}` (sometimes inside a
//! one-element array); the Anthropic client expects `{"type":"error","error":{"type":…,
//! "message":…}}`. The status and headers stay; only the body is rewritten, from the Google
//! status name (else the HTTP status) and its message. A body that already is an Anthropic
//! error (the model's own refusals come that way) or is not Google-shaped passes unchanged.
//!
//! Whether the client sees it at all is the attempt loop's business: when the primary failed
//! first, the client gets the primary's error, not this one.

use bytes::Bytes;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(untagged)]
enum Shape {
    One(Envelope),
    Many(Vec<Envelope>),
}

#[derive(Deserialize)]
struct Envelope {
    error: GoogleError,
}

#[derive(Deserialize)]
struct GoogleError {
    /// Always present in Google's errors, never in Anthropic's: what tells them apart.
    code: u16,
    message: Option<String>,
    status: Option<String>,
}

/// The Anthropic error body of a Google-shaped Vertex error `body` with HTTP `status`;
/// `None` when the body is not Google-shaped (an Anthropic error included).
pub(crate) fn anthropic_error(status: u16, body: &[u8]) -> Option<Bytes> {
    let error = match serde_json::from_slice::<Shape>(body).ok()? {
        Shape::One(e) => e.error,
        Shape::Many(v) => v.into_iter().next()?.error,
    };
    let kind = error
        .status
        .as_deref()
        .and_then(by_google_status)
        .unwrap_or_else(|| crate::anthropic_error::type_by_status(status));
    let message = error
        .message
        .unwrap_or_else(|| format!("Vertex AI answered {}", error.code));
    Some(Bytes::from(crate::anthropic_error::body(kind, &message)))
}

/// Anthropic's error type for a Google RPC status name.
fn by_google_status(name: &str) -> Option<&'static str> {
    Some(match name {
        "INVALID_ARGUMENT" | "FAILED_PRECONDITION" | "OUT_OF_RANGE" => "invalid_request_error",
        "UNAUTHENTICATED" => "authentication_error",
        "PERMISSION_DENIED" => "permission_error",
        "NOT_FOUND" => "not_found_error",
        "RESOURCE_EXHAUSTED" => "rate_limit_error",
        "UNAVAILABLE" => "overloaded_error",
        "INTERNAL" | "UNKNOWN" | "DEADLINE_EXCEEDED" | "ABORTED" | "CANCELLED" => "api_error",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn translated(status: u16, body: &str) -> Option<String> {
        anthropic_error(status, body.as_bytes()).map(|b| String::from_utf8(b.to_vec()).unwrap())
    }

    #[test]
    fn google_errors_become_the_anthropic_error_of_their_status_name() {
        for (status, name, kind) in [
            (429, "RESOURCE_EXHAUSTED", "rate_limit_error"),
            (503, "UNAVAILABLE", "overloaded_error"),
            (400, "INVALID_ARGUMENT", "invalid_request_error"),
            (403, "PERMISSION_DENIED", "permission_error"),
            (401, "UNAUTHENTICATED", "authentication_error"),
            (500, "INTERNAL", "api_error"),
        ] {
            let body = format!(
                r#"{{"error":{{"code":{status},"message":"why \"{name}\"","status":"{name}"}}}}"#
            );
            assert_eq!(
                translated(status, &body).as_deref(),
                Some(format!(
                    r#"{{"type":"error","error":{{"type":"{kind}","message":"why \"{name}\""}}}}"#
                ))
                .as_deref(),
                "{name}"
            );
        }
    }

    #[test]
    fn an_array_an_unnamed_status_pass_and_anthropic_or_other_bodies_stay() {
        assert_eq!(
            translated(
                429,
                r#"[{"error":{"code":429,"message":"Quota exceeded"}}]"#
            )
            .as_deref(),
            Some(
                r#"{"type":"error","error":{"type":"rate_limit_error","message":"Quota exceeded"}}"#
            )
        );
        let anthropic = r#"{"type":"error","error":{"type":"overloaded_error","message":"x"}}"#;
        assert_eq!(translated(529, anthropic), None);
        assert_eq!(translated(502, "<html>bad gateway</html>"), None);
    }
}
