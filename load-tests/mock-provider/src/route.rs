//! Which answer a request gets: routes, their provider surface, credentials and headers.

use http::header::{AUTHORIZATION, CONTENT_TYPE, HeaderName, HeaderValue};
use http::{HeaderMap, Method};

/// What a request asks for, from its method and path (the query is ignored).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Route {
    Messages,
    CountTokens,
    Models,
    ChatCompletions,
    Responses,
    /// Bedrock `POST /model/{id}/invoke`: the Anthropic answer to a Bedrock-shaped body.
    BedrockInvoke,
    /// Bedrock `POST /model/{id}/invoke-with-response-stream`: the Anthropic stream as
    /// event-stream frames.
    BedrockStream,
    /// Vertex `POST /v1/projects/{p}/locations/{r}/publishers/anthropic/models/{m}:rawPredict`.
    VertexPredict,
    /// Vertex `…:streamRawPredict`: the Anthropic stream, unchanged.
    VertexStream,
    /// The mock's OAuth token endpoint, `POST /token`.
    VertexToken,
    NotFound,
}

/// The provider whose wire format a route speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Surface {
    Anthropic,
    OpenAi,
}

impl Route {
    pub(crate) fn new(method: &Method, path: &str) -> Self {
        match (method, path) {
            (&Method::POST, "/v1/messages") => Self::Messages,
            (&Method::POST, "/v1/messages/count_tokens") => Self::CountTokens,
            (&Method::GET, "/v1/models") => Self::Models,
            (&Method::POST, "/v1/chat/completions") => Self::ChatCompletions,
            (&Method::POST, "/v1/responses") => Self::Responses,
            (&Method::POST, p) if p.starts_with("/model/") && p.ends_with("/invoke") => {
                Self::BedrockInvoke
            }
            (&Method::POST, p)
                if p.starts_with("/model/") && p.ends_with("/invoke-with-response-stream") =>
            {
                Self::BedrockStream
            }
            (&Method::POST, "/token") => Self::VertexToken,
            (&Method::POST, p) if crate::vertex::route(p) == Some(false) => Self::VertexPredict,
            (&Method::POST, p) if crate::vertex::route(p) == Some(true) => Self::VertexStream,
            _ => Self::NotFound,
        }
    }

    /// Whether the route is Vertex's `rawPredict` or `streamRawPredict`.
    pub(crate) fn vertex(self) -> bool {
        matches!(self, Self::VertexPredict | Self::VertexStream)
    }

    pub(crate) fn surface(self) -> Surface {
        match self {
            Self::ChatCompletions | Self::Responses => Surface::OpenAi,
            Self::Messages
            | Self::CountTokens
            | Self::Models
            | Self::BedrockInvoke
            | Self::BedrockStream
            | Self::VertexPredict
            | Self::VertexStream
            | Self::VertexToken
            | Self::NotFound => Surface::Anthropic,
        }
    }
}

impl Surface {
    /// Whether `headers` carry the expected key the way this provider wants it.
    pub(crate) fn authorized(self, expected: Option<&str>, headers: &HeaderMap) -> bool {
        let Some(expected) = expected else {
            return true;
        };
        match self {
            Self::Anthropic => headers
                .get("x-api-key")
                .is_some_and(|key| key.as_bytes() == expected.as_bytes()),
            Self::OpenAi => headers
                .get(AUTHORIZATION)
                .and_then(|value| value.as_bytes().strip_prefix(b"Bearer "))
                .is_some_and(|key| key == expected.as_bytes()),
        }
    }

    /// Sets this provider's request-id header.
    pub(crate) fn request_id_header(self, headers: &mut HeaderMap, request_id: &str) {
        let name = match self {
            Self::Anthropic => "request-id",
            Self::OpenAi => "x-request-id",
        };
        if let Ok(id) = HeaderValue::try_from(request_id) {
            headers.insert(HeaderName::from_static(name), id);
        }
    }

    /// The headers this provider puts on every normal answer.
    pub(crate) fn answer_headers(self, headers: &mut HeaderMap, request_id: &str) {
        self.request_id_header(headers, request_id);
        match self {
            Self::Anthropic => {
                for (name, value) in [
                    ("anthropic-ratelimit-requests-limit", "4000"),
                    ("anthropic-ratelimit-requests-remaining", "3999"),
                    ("anthropic-ratelimit-tokens-limit", "2000000"),
                    ("anthropic-ratelimit-tokens-remaining", "1999000"),
                ] {
                    headers.insert(
                        HeaderName::from_static(name),
                        HeaderValue::from_static(value),
                    );
                }
            }
            Self::OpenAi => {
                for (name, value) in [
                    ("openai-processing-ms", "1"),
                    ("x-ratelimit-limit-requests", "10000"),
                    ("x-ratelimit-remaining-requests", "9999"),
                    ("x-ratelimit-reset-requests", "6ms"),
                ] {
                    headers.insert(
                        HeaderName::from_static(name),
                        HeaderValue::from_static(value),
                    );
                }
            }
        }
    }
}

/// `content-type: application/json`.
pub(crate) fn json_content_type(headers: &mut HeaderMap) {
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
}

/// `content-type: text/event-stream` and `cache-control: no-cache`.
pub(crate) fn sse_content_type(headers: &mut HeaderMap) {
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(
        http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache"),
    );
}
