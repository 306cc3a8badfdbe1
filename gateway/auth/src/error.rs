//! [`AuthError`]: why a request was not authenticated, as a closed set of reasons.

use std::time::{Duration, SystemTime};

use gateway_core::{ErrorKind, GatewayError};

/// Why a request was not authenticated. Carries no credential material, so it can be logged
/// and counted freely.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// Neither header carried a credential.
    #[error("no credential")]
    Missing,
    /// `Authorization` and `x-api-key` carry two different credentials.
    #[error("two different credentials")]
    Conflicting,
    /// Not a known key, and not a parseable JWT.
    #[error("malformed token")]
    Malformed,
    /// A well-formed credential no source accepts (unknown static key).
    #[error("credential not accepted")]
    Invalid,
    /// The token's `exp` has passed.
    #[error("token expired")]
    Expired {
        /// When it expired.
        at: SystemTime,
    },
    /// The token's `nbf` is in the future.
    #[error("token not yet valid")]
    NotYetValid,
    /// The signature does not verify with the key it names.
    #[error("bad signature")]
    BadSignature,
    /// The token uses an algorithm this gateway does not accept from that key source
    /// (`none`, HS256 without a shared secret, a JWKS key of another type).
    #[error("algorithm not allowed")]
    DisallowedAlgorithm,
    /// No key with the token's `kid`, even after a refetch.
    #[error("unknown key id")]
    UnknownKid,
    /// `iss` is not the configured issuer.
    #[error("wrong issuer")]
    WrongIssuer,
    /// `aud` does not include the configured audience.
    #[error("wrong audience")]
    WrongAudience,
    /// The introspection endpoint says the token is not active.
    #[error("token not active")]
    Inactive,
    /// Too many failed attempts from this client address.
    #[error("too many failed attempts")]
    RateLimited {
        /// When the client may try again.
        retry_after: Duration,
    },
    /// The identity service (introspection, JWKS) could not be reached.
    #[error("identity service unavailable")]
    Unavailable,
}

impl AuthError {
    /// A stable label for logs and `auth_failures_total{reason}`.
    pub fn as_label(self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Conflicting => "conflicting",
            Self::Malformed => "malformed",
            Self::Invalid => "invalid",
            Self::Expired { .. } => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::BadSignature => "bad_signature",
            Self::DisallowedAlgorithm => "disallowed_algorithm",
            Self::UnknownKid => "unknown_kid",
            Self::WrongIssuer => "wrong_issuer",
            Self::WrongAudience => "wrong_audience",
            Self::Inactive => "inactive",
            Self::RateLimited { .. } => "rate_limited",
            Self::Unavailable => "unavailable",
        }
    }

    /// Every reason label, for pre-registering metric series.
    pub const LABELS: &'static [&'static str] = &[
        "missing",
        "conflicting",
        "malformed",
        "invalid",
        "expired",
        "not_yet_valid",
        "bad_signature",
        "disallowed_algorithm",
        "unknown_kid",
        "wrong_issuer",
        "wrong_audience",
        "inactive",
        "rate_limited",
        "unavailable",
    ];

    /// Whether the same token will fail the same way for a while (so it may be cached).
    pub(crate) fn is_stable(self) -> bool {
        !matches!(
            self,
            Self::Missing | Self::Conflicting | Self::RateLimited { .. } | Self::Unavailable
        )
    }
}

/// How long an identity-service outage asks clients to wait.
const UNAVAILABLE_RETRY_AFTER: Duration = Duration::from_secs(5);

impl From<AuthError> for GatewayError {
    fn from(e: AuthError) -> Self {
        let auth = |message: String| GatewayError::new(ErrorKind::Authentication, message);
        let error = match e {
            AuthError::Missing => auth(
                "no credential: send your gateway token as `Authorization: Bearer <token>` or `x-api-key: <token>`".into(),
            ),
            AuthError::Conflicting => auth(
                "the request carries two different credentials in `Authorization` and `x-api-key`; send the gateway token in one of them (check for a stray ANTHROPIC_API_KEY or ANTHROPIC_AUTH_TOKEN in your environment)".into(),
            ),
            AuthError::Malformed => auth(
                "the token is malformed: it is neither a gateway key nor a valid JWT; copy it again, or sign in again to get a new one".into(),
            ),
            AuthError::Invalid => auth(
                "the gateway did not accept this token: check that it is the current gateway token (not a provider key), or ask your administrator for a new one".into(),
            ),
            AuthError::Expired { at } => auth(format!(
                "token expired at {}; sign in again to get a new one",
                humantime::format_rfc3339_seconds(at)
            )),
            AuthError::NotYetValid => auth(
                "the token is not valid yet; check the clock of this machine and of the identity provider, then retry".into(),
            ),
            AuthError::BadSignature => auth(
                "the token's signature does not verify; sign in again (a token issued for another service will not work here)".into(),
            ),
            AuthError::DisallowedAlgorithm => auth(
                "the token is signed with an algorithm this gateway does not accept; sign in again to get a token from the configured identity provider".into(),
            ),
            AuthError::UnknownKid => auth(
                "the token was signed with a key this gateway does not know; sign in again, and tell the gateway operator if it persists".into(),
            ),
            AuthError::WrongIssuer => auth(
                "the token was issued by another identity provider; sign in to this gateway's provider".into(),
            ),
            AuthError::WrongAudience => auth(
                "the token was issued for another service; sign in again to get a token for this gateway".into(),
            ),
            AuthError::Inactive => auth(
                "the token is revoked or expired; sign in again to get a new one".into(),
            ),
            AuthError::RateLimited { retry_after } => GatewayError::new(
                ErrorKind::RateLimited,
                format!(
                    "too many failed authentication attempts from your address; check your token and retry in {} s",
                    retry_after.as_secs().max(1)
                ),
            )
            .with_retry_after(retry_after),
            AuthError::Unavailable => GatewayError::new(
                ErrorKind::Unavailable,
                "the identity service could not be reached to check your token; retry in a few seconds",
            )
            .with_retry_after(UNAVAILABLE_RETRY_AFTER),
        };
        error.with_source(e)
    }
}
