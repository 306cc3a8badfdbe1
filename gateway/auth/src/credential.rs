//! Reading the credential from request headers.

use gateway_core::Secret;
use http::{HeaderMap, header};

use crate::AuthError;

/// Longest credential accepted; longer ones are refused before any hashing or parsing.
pub const TOKEN_MAX_BYTES: usize = 8 * 1024;

/// The credential a request presents, from `Authorization: Bearer` or `x-api-key`. The same
/// value in both is one credential; two different values are refused (a client sending two
/// identities is misconfigured, and guessing which one it meant would be unsafe). Empty values
/// and other schemes count as absent.
pub fn presented_credential(headers: &HeaderMap) -> Result<Secret<String>, AuthError> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .filter(|t| !t.is_empty());
    let api_key = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|t| !t.is_empty());
    match (bearer, api_key) {
        (Some(a), Some(b)) if a != b => Err(AuthError::Conflicting),
        (Some(t), _) | (None, Some(t)) if t.len() > TOKEN_MAX_BYTES => Err(AuthError::Malformed),
        (Some(t), _) | (None, Some(t)) => Ok(Secret::new(t.to_owned())),
        (None, None) => Err(AuthError::Missing),
    }
}
