//! A service account's OAuth access token: the RS256 JWT of the JWT-bearer grant
//! ([`assertion`]), the exchange's answer ([`parse_answer`]) and the [`TokenCache`] that keeps
//! the token until [`TOKEN_REFRESH_MARGIN`] before it expires.
//!
//! Invariants:
//! - one exchange at a time per target (single flight): requests that waited for an exchange
//!   share its outcome, success or failure, instead of starting their own;
//! - a failed exchange is not cached (the next request tries again) and never carries the
//!   assertion or a token in its error;
//! - the cache's clock is the caller's, so expiry is tested without sleeping.
//!
//! Not here: sending the exchange (`mod.rs`, over the shared client).

use std::{
    future::Future,
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use gateway_config::ServiceAccount;
use gateway_core::Secret;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

/// The OAuth scope Vertex AI calls need.
pub(crate) const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
/// The `grant_type` of the JWT-bearer exchange (form-encoded).
pub(crate) const GRANT_TYPE: &str = "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer";
/// The lifetime of the JWT sent to the token endpoint (Google allows at most an hour).
pub(crate) const JWT_LIFETIME: Duration = Duration::from_secs(3600);
/// How long before the token's expiry it is replaced, so no request carries a token that
/// expires on the way.
pub(crate) const TOKEN_REFRESH_MARGIN: Duration = Duration::from_secs(60);
/// The longest a token is kept, whatever `expires_in` says.
pub(crate) const TOKEN_LIFETIME_MAX: Duration = Duration::from_secs(3600);
/// The most one exchange may take.
pub(crate) const TOKEN_FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// Why no token could be had. Carries no token, assertion or answer body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The JWT could not be signed with the service account's key.
    #[error("cannot sign the service account's token request")]
    Sign,
    /// The token endpoint could not be reached or did not answer in time.
    #[error("the token endpoint did not answer ({0})")]
    Unreachable(&'static str),
    /// The token endpoint refused the exchange.
    #[error("the token endpoint refused the exchange with status {0}")]
    Refused(u16),
    /// The answer has no usable `access_token`.
    #[error("the token endpoint's answer has no usable access_token")]
    Malformed,
}

/// The JWT-bearer grant's claims.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Claims {
    pub(crate) iss: String,
    pub(crate) scope: String,
    pub(crate) aud: String,
    pub(crate) iat: u64,
    pub(crate) exp: u64,
}

impl Claims {
    /// The claims of `account`'s assertion at wall-clock `now`.
    pub(crate) fn new(account: &ServiceAccount, now: SystemTime) -> Self {
        let iat = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        Self {
            iss: account.client_email.clone(),
            scope: SCOPE.to_owned(),
            aud: account.token_uri.as_str().to_owned(),
            iat,
            exp: iat + JWT_LIFETIME.as_secs(),
        }
    }
}

/// The signed JWT of `account`'s grant at `now`.
pub(crate) fn assertion(
    account: &ServiceAccount,
    key: &jsonwebtoken::EncodingKey,
    now: SystemTime,
) -> Result<Secret<String>, TokenError> {
    let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    jsonwebtoken::encode(&header, &Claims::new(account, now), key)
        .map(Secret::new)
        .map_err(|_| TokenError::Sign)
}

/// A token with how long it is good for.
#[derive(Debug)]
pub(crate) struct Fresh {
    pub(crate) token: Secret<String>,
    pub(crate) expires_in: Duration,
}

#[derive(Deserialize)]
struct Answer {
    access_token: Option<String>,
    expires_in: Option<u64>,
}

/// The token of a successful exchange's JSON answer.
pub(crate) fn parse_answer(body: &[u8]) -> Result<Fresh, TokenError> {
    let answer: Answer = serde_json::from_slice(body).map_err(|_| TokenError::Malformed)?;
    let token = answer
        .access_token
        .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or(TokenError::Malformed)?;
    Ok(Fresh {
        token: Secret::new(token),
        expires_in: Duration::from_secs(answer.expires_in.unwrap_or(0)),
    })
}

#[derive(Debug)]
struct Cached {
    token: Secret<String>,
    /// From then on the token is replaced.
    refresh_at: Instant,
}

#[derive(Debug, Default)]
struct State {
    cached: Option<Cached>,
    /// The outcome of the last exchange when it failed.
    failed: Option<TokenError>,
}

/// One target's access token, exchanged at most once at a time.
#[derive(Debug, Default)]
pub(crate) struct TokenCache {
    state: tokio::sync::Mutex<State>,
    /// Exchanges finished, successful or not.
    exchanges: AtomicU64,
}

impl TokenCache {
    /// The cached token while it is fresh at `now()`, else the outcome of one `exchange`:
    /// kept until [`TOKEN_REFRESH_MARGIN`] before its `expires_in` (at most
    /// [`TOKEN_LIFETIME_MAX`]). A caller that waited for another's exchange gets its outcome.
    pub(crate) async fn token<F, Fut>(
        &self,
        now: impl Fn() -> Instant,
        exchange: F,
    ) -> Result<Secret<String>, TokenError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Fresh, TokenError>>,
    {
        let seen = self.exchanges.load(Ordering::Acquire);
        let mut state = self.state.lock().await;
        if let Some(c) = &state.cached
            && now() < c.refresh_at
        {
            return Ok(c.token.clone());
        }
        // An exchange finished while this caller waited, and left no fresh token: it failed.
        if self.exchanges.load(Ordering::Acquire) != seen
            && let Some(e) = &state.failed
        {
            return Err(e.clone());
        }
        let result = exchange().await;
        self.exchanges.fetch_add(1, Ordering::Release);
        match result {
            Ok(fresh) => {
                let keep = fresh
                    .expires_in
                    .min(TOKEN_LIFETIME_MAX)
                    .saturating_sub(TOKEN_REFRESH_MARGIN);
                state.failed = None;
                state.cached = Some(Cached {
                    token: fresh.token.clone(),
                    refresh_at: now() + keep,
                });
                Ok(fresh.token)
            }
            Err(e) => {
                state.cached = None;
                state.failed = Some(e.clone());
                Err(e)
            }
        }
    }

    /// Forgets the token (the provider refused it).
    pub(crate) async fn forget(&self) {
        self.state.lock().await.cached = None;
    }
}

#[cfg(test)]
mod tests;
