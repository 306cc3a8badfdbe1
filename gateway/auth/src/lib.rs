//! Authentication: turns the credential a client sent into a [`Principal`].
//!
//! Owns: reading credentials from `Authorization: Bearer` and `x-api-key` (either, or both),
//! and checking them against the configured sources. Today: static keys known only by their
//! SHA-256 digest, compared in constant time.
//!
//! Invariants:
//! - a credential is only ever held as a [`Secret`] and never appears in an error, a log line
//!   or a metric label;
//! - when both headers are present, each is checked; the request passes if either names a
//!   valid credential (Bearer first). Clients configured with a stray provider key beside the
//!   gateway token keep working, and an attacker gains nothing: every candidate is checked on
//!   its own;
//! - there is no anonymous mode: no credential, no principal.
//!
//! Not here: removing the credential headers before forwarding (the upstream stage does that),
//! JWT and introspection (later sources behind the same [`Authenticator::authenticate`]).

mod credential;
mod static_keys;

use gateway_core::{ErrorKind, GatewayError, Principal, Secret};
use http::HeaderMap;

pub use credential::presented_credentials;
pub use static_keys::StaticKeys;

/// Why a request was not authenticated. Carries no credential material.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// Neither header carried a credential.
    #[error("no credential")]
    Missing,
    /// A credential was sent, and no source accepts it.
    #[error("credential not accepted")]
    Invalid,
}

impl AuthError {
    /// A stable label for logs and the `auth_failures_total{reason}` metric.
    pub fn as_label(self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Invalid => "invalid",
        }
    }
}

impl From<AuthError> for GatewayError {
    fn from(e: AuthError) -> Self {
        let message = match e {
            AuthError::Missing => {
                "no credential: send your gateway token as `Authorization: Bearer <token>` or `x-api-key: <token>`"
            }
            AuthError::Invalid => {
                "the gateway did not accept this token: check that it is the current gateway token (not a provider key), or ask your administrator for a new one"
            }
        };
        GatewayError::new(ErrorKind::Authentication, message).with_source(e)
    }
}

/// Every credential source the gateway accepts, checked in order.
#[derive(Debug)]
pub struct Authenticator {
    static_keys: StaticKeys,
}

impl Authenticator {
    /// Builds the authenticator from the validated config.
    pub fn new(config: &gateway_config::Auth) -> Self {
        Self {
            static_keys: StaticKeys::new(&config.keys),
        }
    }

    /// Establishes who sent a request from its headers.
    pub async fn authenticate(&self, headers: &HeaderMap) -> Result<Principal, AuthError> {
        let candidates = presented_credentials(headers);
        if candidates.is_empty() {
            return Err(AuthError::Missing);
        }
        candidates
            .iter()
            .find_map(|token: &Secret<String>| self.static_keys.verify(token))
            .ok_or(AuthError::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Digest;

    fn authenticator() -> Authenticator {
        let key = |token: &str, subject: &str| gateway_config::StaticKey {
            sha256: sha2::Sha256::digest(token.as_bytes()).into(),
            subject: subject.to_owned(),
            org: Some("acme".into()),
            plan: None,
        };
        Authenticator::new(&gateway_config::Auth {
            keys: vec![key("good-token", "alice"), key("other-token", "bob")],
        })
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    #[tokio::test]
    async fn bearer_or_api_key_identifies_the_subject() {
        let a = authenticator();
        let p = a
            .authenticate(&headers(&[("authorization", "Bearer good-token")]))
            .await
            .unwrap();
        assert_eq!(
            (p.subject.as_str(), p.org.as_deref()),
            ("alice", Some("acme"))
        );
        let p = a
            .authenticate(&headers(&[("x-api-key", "other-token")]))
            .await
            .unwrap();
        assert_eq!(p.subject, "bob");
    }

    #[tokio::test]
    async fn both_headers_pass_if_either_is_valid_bearer_first() {
        let a = authenticator();
        let both = |bearer: &str, key: &str| {
            headers(&[
                ("authorization", &format!("Bearer {bearer}")),
                ("x-api-key", key),
            ])
        };
        let p = a
            .authenticate(&both("good-token", "other-token"))
            .await
            .unwrap();
        assert_eq!(p.subject, "alice");
        let p = a
            .authenticate(&both("sk-ant-stray", "other-token"))
            .await
            .unwrap();
        assert_eq!(p.subject, "bob");
        assert_eq!(
            a.authenticate(&both("nope", "nope2")).await,
            Err(AuthError::Invalid)
        );
    }

    #[tokio::test]
    async fn missing_and_wrong_credentials_are_told_apart() {
        let a = authenticator();
        assert_eq!(
            a.authenticate(&HeaderMap::new()).await,
            Err(AuthError::Missing)
        );
        assert_eq!(
            a.authenticate(&headers(&[("authorization", "Basic Zm9vOmJhcg==")]))
                .await,
            Err(AuthError::Missing)
        );
        assert_eq!(
            a.authenticate(&headers(&[("x-api-key", "good-tokenx")]))
                .await,
            Err(AuthError::Invalid)
        );
    }

    #[test]
    fn refusal_messages_never_echo_the_token() {
        for e in [AuthError::Missing, AuthError::Invalid] {
            let g = GatewayError::from(e);
            assert_eq!(g.kind(), ErrorKind::Authentication);
            assert!(!g.message().contains("good-token"));
        }
    }
}
