//! The gateway's own refusals: one closed set of kinds, each with its status code, provider
//! error types, retry advice and metric label, and one function that renders them.

use std::{error::Error as StdError, fmt, time::Duration};

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};

use crate::Provider;

/// Why the gateway refused or failed a request. Closed on purpose: status code, error types
/// and labels are matched exhaustively, so they cannot drift apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// No credential, or one the gateway does not accept.
    Authentication,
    /// Authenticated, but not allowed to do this.
    PermissionDenied,
    /// No such route.
    NotFound,
    /// The route exists, with another method.
    MethodNotAllowed,
    /// The body is over the configured limit.
    RequestTooLarge,
    /// The request cannot be processed as sent (unreadable body, bad JSON).
    InvalidRequest,
    /// The body's content encoding is not one the gateway can read.
    UnsupportedMediaType,
    /// A short-term limit was hit; retry after a delay.
    RateLimited,
    /// A money or token budget is spent; retrying will not help.
    BudgetExhausted,
    /// The upstream could not be reached (connect failure, reset before an answer).
    UpstreamUnreachable,
    /// The upstream did not answer in time.
    UpstreamTimeout,
    /// The gateway cannot take the request now (shutting down, overloaded).
    Unavailable,
    /// The route's provider has no upstream on this gateway (its key is not set); retrying
    /// will not help until the operator configures it.
    NotConfigured,
    /// A bug or an unexpected internal failure.
    Internal,
}

impl ErrorKind {
    /// The HTTP status code sent to the client.
    pub fn status(self) -> StatusCode {
        match self {
            Self::Authentication => StatusCode::UNAUTHORIZED,
            Self::PermissionDenied => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::RequestTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::InvalidRequest => StatusCode::BAD_REQUEST,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Self::BudgetExhausted => StatusCode::PAYMENT_REQUIRED,
            Self::UpstreamUnreachable => StatusCode::BAD_GATEWAY,
            Self::UpstreamTimeout => StatusCode::GATEWAY_TIMEOUT,
            Self::Unavailable | Self::NotConfigured => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The `error.type` of Anthropic's envelope.
    pub fn anthropic_type(self) -> &'static str {
        match self {
            Self::Authentication => "authentication_error",
            Self::PermissionDenied => "permission_error",
            Self::NotFound => "not_found_error",
            Self::RequestTooLarge => "request_too_large",
            Self::MethodNotAllowed | Self::InvalidRequest | Self::UnsupportedMediaType => {
                "invalid_request_error"
            }
            Self::RateLimited => "rate_limit_error",
            Self::BudgetExhausted => "billing_error",
            Self::UpstreamTimeout => "timeout_error",
            Self::Unavailable => "overloaded_error",
            Self::UpstreamUnreachable | Self::Internal | Self::NotConfigured => "api_error",
        }
    }

    /// The `error.type` and `error.code` of OpenAI's envelope.
    pub fn openai_type_and_code(self) -> (&'static str, &'static str) {
        match self {
            Self::Authentication => ("invalid_request_error", "invalid_api_key"),
            Self::PermissionDenied => ("invalid_request_error", "permission_denied"),
            Self::NotFound => ("invalid_request_error", "not_found"),
            Self::MethodNotAllowed => ("invalid_request_error", "method_not_allowed"),
            Self::RequestTooLarge => ("invalid_request_error", "request_too_large"),
            Self::InvalidRequest => ("invalid_request_error", "invalid_request"),
            Self::UnsupportedMediaType => ("invalid_request_error", "unsupported_media_type"),
            Self::RateLimited => ("requests", "rate_limit_exceeded"),
            Self::BudgetExhausted => ("insufficient_quota", "insufficient_quota"),
            Self::UpstreamUnreachable => ("server_error", "upstream_unreachable"),
            Self::UpstreamTimeout => ("server_error", "upstream_timeout"),
            Self::Unavailable => ("server_error", "unavailable"),
            Self::NotConfigured => ("server_error", "upstream_not_configured"),
            Self::Internal => ("server_error", "internal_error"),
        }
    }

    /// A stable snake_case label for logs and metrics.
    pub fn as_label(self) -> &'static str {
        match self {
            Self::Authentication => "authentication",
            Self::PermissionDenied => "permission_denied",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::RequestTooLarge => "request_too_large",
            Self::InvalidRequest => "invalid_request",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::RateLimited => "rate_limited",
            Self::BudgetExhausted => "budget_exhausted",
            Self::UpstreamUnreachable => "upstream_unreachable",
            Self::UpstreamTimeout => "upstream_timeout",
            Self::Unavailable => "unavailable",
            Self::NotConfigured => "not_configured",
            Self::Internal => "internal",
        }
    }

    /// Whether a client should retry; `None` leaves it to the client's defaults.
    fn should_retry(self) -> Option<bool> {
        match self {
            Self::BudgetExhausted | Self::PermissionDenied | Self::NotConfigured => Some(false),
            _ => None,
        }
    }
}

/// A refusal or failure produced by the gateway itself (never an upstream error, which is
/// relayed unchanged). `message` is shown to the client; `source` only goes to logs.
#[derive(Debug)]
pub struct GatewayError {
    kind: ErrorKind,
    message: String,
    retry_after: Option<Duration>,
    source: Option<Box<dyn StdError + Send + Sync>>,
}

impl GatewayError {
    /// A refusal with a client-facing message that says what to do next.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            retry_after: None,
            source: None,
        }
    }

    /// Attaches the underlying cause (logged, never sent to the client).
    pub fn with_source(mut self, source: impl StdError + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// Advises the client when to retry (`retry-after` and `retry-after-ms`).
    pub fn with_retry_after(mut self, after: Duration) -> Self {
        self.retry_after = Some(after);
        self
    }

    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The client-facing message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// When the client is advised to retry, if at all.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// Renders the error in the envelope of `provider`, with the gateway's request id.
    pub fn to_response(&self, provider: Provider, request_id: &str) -> Response<Bytes> {
        let body = match provider {
            Provider::Anthropic => serde_json::json!({
                "type": "error",
                "error": { "type": self.kind.anthropic_type(), "message": self.message },
                "request_id": request_id,
            }),
            Provider::OpenAi => {
                let (kind, code) = self.kind.openai_type_and_code();
                serde_json::json!({
                    "error": { "message": self.message, "type": kind, "param": null, "code": code },
                })
            }
        };
        let mut response = Response::new(Bytes::from(body.to_string()));
        *response.status_mut() = self.kind.status();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(after) = self.retry_after {
            let secs = after.as_secs() + u64::from(after.subsec_nanos() > 0);
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
            headers.insert(
                "retry-after-ms",
                HeaderValue::from(u64::try_from(after.as_millis()).unwrap_or(u64::MAX)),
            );
        }
        if let Some(retry) = self.kind.should_retry() {
            headers.insert(
                "x-should-retry",
                HeaderValue::from_static(if retry { "true" } else { "false" }),
            );
        }
        response
    }
}

impl fmt::Display for GatewayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.as_label(), self.message)
    }
}

impl StdError for GatewayError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn StdError + 'static))
    }
}

/// Displays an error with all its sources, `top: cause: root cause`, for one log field: the
/// JSON log format records only an error's own message, so a typed error whose cause is its
/// `source` would otherwise lose it.
#[derive(Clone, Copy, Debug)]
pub struct ErrorChain<'a>(pub &'a (dyn StdError + 'static));

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut next = self.0.source();
        while let Some(cause) = next {
            write!(f, ": {cause}")?;
            next = cause.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(r: &Response<Bytes>) -> serde_json::Value {
        serde_json::from_slice(r.body()).unwrap()
    }

    #[test]
    fn anthropic_envelope_has_type_error_and_request_id() {
        let e = GatewayError::new(ErrorKind::Authentication, "send a gateway token");
        let r = e.to_response(Provider::Anthropic, "gw_1");
        assert_eq!(r.status(), 401);
        let v = json(&r);
        assert_eq!(v["type"], "error");
        assert_eq!(v["error"]["type"], "authentication_error");
        assert_eq!(v["error"]["message"], "send a gateway token");
        assert_eq!(v["request_id"], "gw_1");
    }

    #[test]
    fn openai_envelope_has_message_type_param_code() {
        let e = GatewayError::new(ErrorKind::RequestTooLarge, "too big");
        let r = e.to_response(Provider::OpenAi, "gw_1");
        assert_eq!(r.status(), 413);
        let v = json(&r);
        assert_eq!(v["error"]["message"], "too big");
        assert_eq!(v["error"]["type"], "invalid_request_error");
        assert!(v["error"]["param"].is_null());
        assert_eq!(v["error"]["code"], "request_too_large");
    }

    #[test]
    fn retry_after_rounds_up_and_budget_says_do_not_retry() {
        let e = GatewayError::new(ErrorKind::RateLimited, "slow down")
            .with_retry_after(Duration::from_millis(1500));
        let r = e.to_response(Provider::Anthropic, "x");
        assert_eq!(r.headers()["retry-after"], "2");
        assert_eq!(r.headers()["retry-after-ms"], "1500");
        let r = GatewayError::new(ErrorKind::BudgetExhausted, "spent")
            .to_response(Provider::Anthropic, "x");
        assert_eq!(r.status(), 402);
        assert_eq!(r.headers()["x-should-retry"], "false");
    }

    #[test]
    fn error_chain_shows_every_source() {
        #[derive(Debug, thiserror::Error)]
        #[error("quota store: Redis failed")]
        struct Outer(#[source] std::io::Error);
        let e = Outer(std::io::Error::other("connection refused"));
        assert_eq!(
            ErrorChain(&e).to_string(),
            "quota store: Redis failed: connection refused"
        );
    }
}
