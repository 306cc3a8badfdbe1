//! The mock Vertex AI: its token endpoint (`token.rs`: `POST /token`, the JWT-bearer grant
//! whose RS256 assertion is verified against the test service account's public key, and the
//! short-lived tokens it issued) and who may call its `rawPredict` / `streamRawPredict`
//! routes (a token it issued and has not expired, or [`VERTEX_ACCESS_TOKEN`]), the body
//! contract of those routes (no `model`, `anthropic_version` = `vertex-2023-10-16`) and its
//! errors in Google's shape (`{"error":{"code","message","status"}}`).
//!
//! Its answers are the canned Anthropic message and SSE stream, unchanged: Vertex streams
//! plain Anthropic SSE.

mod token;

use bytes::Bytes;
use http::header::AUTHORIZATION;
use http::{HeaderMap, Response, StatusCode};

use crate::body::MockBody;
use crate::route::{self, Route};
use crate::state::Shared;

pub use token::ISSUED_TOKENS_MAX;
pub(crate) use token::{Tokens, answer_token_request};

/// The test service account's email (the assertion's issuer the mock accepts).
pub const VERTEX_CLIENT_EMAIL: &str = "llm-gateway-test@mock-project.iam.gserviceaccount.com";
/// The test service account's RSA private key (PKCS#8 PEM): generated for these tests and
/// published with them, not a secret. The mock verifies assertions with its public half.
pub const VERTEX_PRIVATE_KEY_PEM: &str =
    include_str!("../../fixtures/vertex-test-service-account.pem");
/// A ready access token the mock Vertex always accepts (for `access_token_env` setups).
pub const VERTEX_ACCESS_TOKEN: &str = "ya29.mock-static-access-token";
/// What the mock's token endpoint says its tokens are good for, seconds.
pub const VERTEX_TOKEN_EXPIRES_IN_SECS: u64 = 300;
/// The `anthropic_version` a Vertex body must carry.
const VERTEX_ANTHROPIC_VERSION: &str = "vertex-2023-10-16";

/// A service-account key file (as Google issues them) for the test account, exchanging at
/// `token_uri` (e.g. `http://127.0.0.1:PORT/token`).
pub fn vertex_service_account_json(token_uri: &str) -> String {
    serde_json::json!({
        "type": "service_account",
        "project_id": "mock-project",
        "private_key_id": "0123456789abcdef",
        "private_key": VERTEX_PRIVATE_KEY_PEM,
        "client_email": VERTEX_CLIENT_EMAIL,
        "client_id": "100000000000000000000",
        "token_uri": token_uri,
    })
    .to_string()
}

/// Whether `path` is a Vertex route: `Some(true)` for `:streamRawPredict`, `Some(false)` for
/// `:rawPredict`.
pub(crate) fn route(path: &str) -> Option<bool> {
    let rest = path.strip_prefix("/v1/projects/")?;
    let (_, rest) = rest.split_once("/locations/")?;
    let (_, model) = rest.split_once("/publishers/anthropic/models/")?;
    if model.ends_with(":streamRawPredict") {
        Some(true)
    } else if model.ends_with(":rawPredict") {
        Some(false)
    } else {
        None
    }
}

/// The model id in a Vertex route's path (`claude-sonnet-4-6@20250929`).
pub(crate) fn model_of(path: &str) -> &str {
    let model = path.rsplit('/').next().unwrap_or_default();
    model.split_once(':').map_or(model, |(m, _)| m)
}

/// What the Vertex side decides of a request before it is recorded.
#[derive(Debug)]
pub(crate) enum Early {
    /// Nothing: the handler answers as usual.
    Normal,
    /// A Vertex route without a valid token: this refusal.
    Denied(StatusCode, Bytes),
    /// A token request; `host` makes the audience its assertion must name.
    Token { host: String },
}

/// What `route` with `headers` gets from the Vertex side.
pub(crate) fn early(shared: &Shared, route: Route, headers: &HeaderMap) -> Early {
    if route == Route::VertexToken {
        let host = headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default();
        return Early::Token {
            host: host.to_owned(),
        };
    }
    match route.vertex().then(|| authorize(shared, headers)).flatten() {
        Some((status, body)) => Early::Denied(status, body),
        None => Early::Normal,
    }
}

/// The refusal of a Vertex request without a valid bearer token, if any.
fn authorize(shared: &Shared, headers: &HeaderMap) -> Option<(StatusCode, Bytes)> {
    let token = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match token {
        Some(t) if t == VERTEX_ACCESS_TOKEN || shared.tokens.valid(t) => None,
        _ => Some((
            StatusCode::UNAUTHORIZED,
            error_body(
                401,
                "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
            ),
        )),
    }
}

/// The body contract's violation, if any: `model` must be absent (it is in the path) and
/// `anthropic_version` must be Vertex's.
pub(crate) fn contract(body: &[u8]) -> Option<&'static str> {
    #[derive(serde::Deserialize)]
    struct Fields {
        model: Option<serde_json::Value>,
        anthropic_version: Option<String>,
    }
    match serde_json::from_slice::<Fields>(body) {
        Ok(f)
            if f.model.is_none()
                && f.anthropic_version.as_deref() == Some(VERTEX_ANTHROPIC_VERSION) =>
        {
            None
        }
        _ => Some("Vertex bodies carry anthropic_version \"vertex-2023-10-16\" and no model"),
    }
}

/// Google's error body for `status`, with `message`.
pub(crate) fn error_body(status: u16, message: &str) -> Bytes {
    let name = match status {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        429 => "RESOURCE_EXHAUSTED",
        503 | 529 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ => "INTERNAL",
    };
    Bytes::from(
        serde_json::json!({ "error": { "code": status, "message": message, "status": name } })
            .to_string(),
    )
}

/// Google's usual message for `status`.
pub(crate) fn default_message(status: u16) -> &'static str {
    match status {
        429 => {
            "Quota exceeded for aiplatform.googleapis.com/online_prediction_requests_per_base_model with base model: anthropic-claude-sonnet-4-6. Please submit a quota increase request."
        }
        503 | 529 => "The service is currently unavailable.",
        404 => "Publisher Model was not found or your project does not have access to it.",
        400 => "Invalid request.",
        _ => "Internal error encountered.",
    }
}

/// A Google-shaped error answer.
pub(crate) fn error_response(
    status: StatusCode,
    body: Bytes,
    request_id: &str,
) -> Response<MockBody> {
    let mut response = Response::new(MockBody::full(body));
    *response.status_mut() = status;
    route::json_content_type(response.headers_mut());
    route::Surface::Anthropic.request_id_header(response.headers_mut(), request_id);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_and_model_ids_are_read_from_the_path() {
        let p = "/v1/projects/p/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-6@20250929:streamRawPredict";
        assert_eq!(route(p), Some(true));
        assert_eq!(model_of(p), "claude-sonnet-4-6@20250929");
        assert_eq!(
            route(&p.replace(":streamRawPredict", ":rawPredict")),
            Some(false)
        );
        assert_eq!(route("/v1/messages"), None);
        assert_eq!(
            contract(br#"{"anthropic_version":"vertex-2023-10-16","messages":[]}"#),
            None
        );
        assert!(contract(br#"{"anthropic_version":"vertex-2023-10-16","model":"m"}"#).is_some());
        assert!(contract(br#"{"messages":[]}"#).is_some());
    }
}
