//! Reading credentials from request headers.

use gateway_core::Secret;
use http::{HeaderMap, header};

/// The distinct credentials a request presents: the `Authorization: Bearer` token first, then
/// `x-api-key`. The same value in both counts once. Empty values and other schemes are ignored.
pub fn presented_credentials(headers: &HeaderMap) -> Vec<Secret<String>> {
    let mut out: Vec<Secret<String>> = Vec::with_capacity(2);
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
    let api_key = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim);
    for token in [bearer, api_key].into_iter().flatten() {
        if !token.is_empty() && !out.iter().any(|t| t.expose() == token) {
            out.push(Secret::new(token.to_owned()));
        }
    }
    out
}
