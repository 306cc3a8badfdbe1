//! The mock's OAuth token endpoint (`POST /token`): the JWT-bearer grant as Google's takes
//! it. The assertion must be an RS256 JWT signed by the test service account's key, issued by
//! [`VERTEX_CLIENT_EMAIL`](super::VERTEX_CLIENT_EMAIL), for the cloud-platform scope, with
//! this endpoint's URL as audience and at most an hour between `iat` and `exp`. It answers
//! `{"access_token","expires_in","token_type"}` and remembers the token
//! ([`ISSUED_TOKENS_MAX`] at most, oldest forgotten first) until it expires. Refusals are
//! Google's `{"error":"invalid_grant",…}`; queued failures ([`Tokens::fail_next`]) answer
//! 429/503 in Google's shape.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http::{Response, StatusCode};
use tokio::time::Instant;

use super::{VERTEX_CLIENT_EMAIL, VERTEX_TOKEN_EXPIRES_IN_SECS, error_body, error_response};
use crate::body::MockBody;

/// The most issued tokens remembered.
pub const ISSUED_TOKENS_MAX: usize = 4096;
/// The scope the assertion must ask for.
const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
/// The longest assertion lifetime accepted (Google's rule).
const ASSERTION_LIFETIME_MAX_SECS: u64 = 3600;
/// The test service account's public key.
const PUBLIC_PEM: &str = include_str!("../../fixtures/vertex-test-service-account.pub.pem");

/// Tokens issued and failures queued.
#[derive(Debug, Default)]
pub(crate) struct Tokens {
    issued: Mutex<VecDeque<(String, Instant)>>,
    failures: Mutex<VecDeque<u16>>,
}

impl Tokens {
    /// Whether `token` was issued here and has not expired.
    pub(crate) fn valid(&self, token: &str) -> bool {
        let now = Instant::now();
        lock(&self.issued)
            .iter()
            .any(|(t, expires)| t == token && now < *expires)
    }

    /// The next `count` token requests answer `status` (429 or 503, Google-shaped).
    pub(crate) fn fail_next(&self, count: usize, status: u16) {
        lock(&self.failures).extend(std::iter::repeat_n(status, count));
    }

    fn issue(&self, id: u64) -> String {
        let token = format!("ya29.mock-{id}-{:016x}", fastrand::u64(..));
        let expires = Instant::now() + Duration::from_secs(VERTEX_TOKEN_EXPIRES_IN_SECS);
        let mut issued = lock(&self.issued);
        if issued.len() >= ISSUED_TOKENS_MAX {
            issued.pop_front();
        }
        issued.push_back((token.clone(), expires));
        token
    }
}

#[derive(serde::Deserialize)]
struct Claims {
    scope: String,
    iat: u64,
    exp: u64,
}

/// Answers one token request to `host` with form `body`; `id` numbers the token.
pub(crate) fn answer_token_request(
    tokens: &Tokens,
    host: &str,
    body: &[u8],
    id: u64,
    request_id: &str,
) -> Response<MockBody> {
    if let Some(status) = lock(&tokens.failures).pop_front() {
        let code = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        let message = super::default_message(status);
        return error_response(code, error_body(status, message), request_id);
    }
    match verify(body, &format!("http://{host}/token")) {
        Ok(()) => {
            let answer = serde_json::json!({
                "access_token": tokens.issue(id),
                "expires_in": VERTEX_TOKEN_EXPIRES_IN_SECS,
                "token_type": "Bearer",
            });
            let mut response = Response::new(MockBody::full(Bytes::from(answer.to_string())));
            crate::route::json_content_type(response.headers_mut());
            response
        }
        Err(why) => {
            let answer = serde_json::json!({ "error": "invalid_grant", "error_description": why });
            let mut response = Response::new(MockBody::full(Bytes::from(answer.to_string())));
            *response.status_mut() = StatusCode::BAD_REQUEST;
            crate::route::json_content_type(response.headers_mut());
            response
        }
    }
}

/// Checks the form's grant type and its assertion, for audience `audience`.
fn verify(body: &[u8], audience: &str) -> Result<(), String> {
    let form = std::str::from_utf8(body).map_err(|_| "the form is not UTF-8".to_owned())?;
    let field = |name: &str| {
        form.split('&')
            .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
    };
    if field("grant_type") != Some("urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer") {
        return Err("Invalid grant_type.".to_owned());
    }
    let assertion = field("assertion").ok_or("Missing assertion.")?;
    let key = jsonwebtoken::DecodingKey::from_rsa_pem(PUBLIC_PEM.as_bytes())
        .map_err(|e| format!("the mock's public key: {e}"))?;
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[VERTEX_CLIENT_EMAIL]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud"]);
    let claims = jsonwebtoken::decode::<Claims>(assertion, &key, &validation)
        .map_err(|e| format!("Invalid JWT Signature or claims: {e}"))?
        .claims;
    if claims.scope != SCOPE {
        return Err(format!("Invalid scope: {}", claims.scope));
    }
    if claims.exp.saturating_sub(claims.iat) > ASSERTION_LIFETIME_MAX_SECS
        || claims.exp <= claims.iat
    {
        return Err("Invalid JWT: exp must be within an hour of iat.".to_owned());
    }
    Ok(())
}

/// Locks, ignoring poisoning: every critical section leaves the data consistent.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use std::time::{SystemTime, UNIX_EPOCH};

    use super::*;

    fn form(claims: serde_json::Value) -> String {
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(
            super::super::VERTEX_PRIVATE_KEY_PEM.as_bytes(),
        )
        .unwrap();
        let jwt = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
            &claims,
            &key,
        )
        .unwrap();
        format!("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={jwt}")
    }

    #[test]
    fn only_a_well_formed_assertion_of_the_test_account_is_accepted() {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let aud = "http://127.0.0.1:1/token";
        let good = serde_json::json!({"iss": VERTEX_CLIENT_EMAIL, "scope": SCOPE, "aud": aud, "iat": now, "exp": now + 3600});
        assert_eq!(verify(form(good.clone()).as_bytes(), aud), Ok(()));
        let mut bad = good.clone();
        bad["scope"] = "other".into();
        assert!(verify(form(bad).as_bytes(), aud).is_err());
        let mut long = good.clone();
        long["exp"] = (now + 7200).into();
        assert!(verify(form(long).as_bytes(), aud).is_err());
        assert!(verify(form(good.clone()).as_bytes(), "http://elsewhere/token").is_err());
        let mut someone = good;
        someone["iss"] = "someone@else".into();
        assert!(verify(form(someone).as_bytes(), aud).is_err());
    }
}
