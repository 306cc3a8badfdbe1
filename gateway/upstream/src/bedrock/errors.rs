//! A Bedrock error answer in the client's protocol: Bedrock says `{"message": …}` (or
//! `{"Message": …}`) with the exception's name in `x-amzn-errortype`; the Anthropic client
//! expects `{"type":"error","error":{"type":…,"message":…}}`. The status and headers stay;
//! only the body is rewritten, from the exception's name (else the status) and its message.
//!
//! Whether the client sees it at all is the attempt loop's business: when the primary failed
//! first, the client gets the primary's error, not this one.

use bytes::Bytes;
use http::HeaderMap;
use serde::Deserialize;

use super::events::anthropic_error_type;

/// The header naming a Bedrock error's exception (`ThrottlingException`, sometimes with a
/// `:http://…` suffix).
const ERROR_TYPE_HEADER: &str = "x-amzn-errortype";

#[derive(Deserialize)]
struct BedrockError {
    #[serde(alias = "Message")]
    message: Option<String>,
    /// Present when the body already is an Anthropic error.
    #[serde(rename = "type")]
    kind: Option<String>,
}

/// The Anthropic error body of a Bedrock error answer `body` with `status` and `headers`;
/// `None` when it already is one.
pub(crate) fn anthropic_error(status: u16, headers: &HeaderMap, body: &[u8]) -> Option<Bytes> {
    let parsed = serde_json::from_slice::<BedrockError>(body).ok();
    if parsed.as_ref().and_then(|e| e.kind.as_deref()) == Some("error") {
        return None;
    }
    let exception = headers
        .get(ERROR_TYPE_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(':').next().unwrap_or(v));
    let kind = match exception {
        Some(name) => anthropic_error_type(name),
        None => crate::anthropic_error::type_by_status(status),
    };
    let message = parsed
        .and_then(|e| e.message)
        .unwrap_or_else(|| format!("Bedrock answered {status} {}", exception.unwrap_or("")));
    Some(Bytes::from(crate::anthropic_error::body(kind, &message)))
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn headers(exception: Option<&'static str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(e) = exception {
            h.insert(ERROR_TYPE_HEADER, HeaderValue::from_static(e));
        }
        h
    }

    fn translated(status: u16, exception: Option<&'static str>, body: &str) -> String {
        let out = anthropic_error(status, &headers(exception), body.as_bytes()).unwrap();
        String::from_utf8(out.to_vec()).unwrap()
    }

    #[test]
    fn each_exception_becomes_its_anthropic_type_with_bedrocks_message() {
        for (status, exception, kind) in [
            (429, "ThrottlingException", "rate_limit_error"),
            (400, "ValidationException", "invalid_request_error"),
            (503, "ServiceUnavailableException", "overloaded_error"),
            (403, "AccessDeniedException", "permission_error"),
            (500, "InternalServerException", "api_error"),
        ] {
            assert_eq!(
                translated(status, Some(exception), r#"{"message":"why"}"#),
                format!(r#"{{"type":"error","error":{{"type":"{kind}","message":"why"}}}}"#),
                "{exception}"
            );
        }
    }

    #[test]
    fn the_header_suffix_the_capitalised_field_and_a_missing_header_are_handled() {
        let coral = "ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/";
        assert_eq!(
            translated(400, Some(coral), r#"{"Message":"bad input"}"#),
            r#"{"type":"error","error":{"type":"invalid_request_error","message":"bad input"}}"#
        );
        assert_eq!(
            translated(429, None, "not json"),
            r#"{"type":"error","error":{"type":"rate_limit_error","message":"Bedrock answered 429"}}"#
        );
        let anthropic = r#"{"type":"error","error":{"type":"overloaded_error","message":"x"}}"#;
        assert_eq!(
            anthropic_error(529, &headers(None), anthropic.as_bytes()),
            None
        );
    }
}
