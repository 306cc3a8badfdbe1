//! Authentication: turns the credential a client sent into a [`Principal`], cheaply.
//!
//! Owns:
//! - reading the credential from `Authorization: Bearer` or `x-api-key` ([`presented_credential`]);
//! - the sources, tried in order: static keys (SHA-256, constant time), JWTs (HS256 shared
//!   secret; RS/PS/ES/EdDSA from a JWKS file or URL, refreshed in the background and re-fetched
//!   on an unknown `kid`), opaque tokens via OAuth 2.0 introspection (RFC 7662);
//! - the token cache (verified until expiry, rejected briefly) and the failed-attempt limiter
//!   per client address (governor; 429 past the limit);
//! - [`mint_hs256`] for `llm-gateway token mint`.
//!
//! Invariants:
//! - a credential is held as a [`Secret`] and only its SHA-256 is stored; it never appears in an
//!   error, a log line or a metric label ([`AuthError`] carries reasons, not values);
//! - two different credentials in the two headers are refused, never guessed between;
//! - an algorithm is accepted only from its own key source: HS256 only with the shared secret,
//!   asymmetric ones only from the allowlist and only with a JWKS key of the matching type;
//!   `none` never;
//! - an unreachable identity service yields 503, never an accept.
//!
//! Not here: removing credential headers before forwarding (gateway-upstream), quota on the
//! principal's budgets (the quota stage), the HTTP client (passed in as [`HttpFetch`]).

mod cache;
mod credential;
mod error;
mod fetch;
mod introspection;
mod jwks;
mod jwt;
mod limiter;
mod mint;
mod static_keys;

use std::{
    net::IpAddr,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use gateway_core::{Principal, Secret};
use http::HeaderMap;
use sha2::Digest;

pub use credential::{TOKEN_MAX_BYTES, presented_credential};
pub use error::AuthError;
pub use fetch::{FetchError, FetchFuture, FetchReply, FetchRequest, HttpFetch};
pub use mint::{MintError, MintRequest, mint_hs256};
pub use static_keys::StaticKeys;

/// Keys created while the gateway runs (the admin API's virtual keys), consulted after the
/// static keys. Verified on every request, never cached, so a revoked key stops at once.
pub trait KeySource: Send + Sync + std::fmt::Debug {
    /// The principal of the key whose token hashes to `sha256`, if it is live.
    fn principal(&self, sha256: &[u8; 32]) -> Option<Principal>;
}

/// How long a static key's verification is cached (keys only change with the config).
const STATIC_KEY_TTL: Duration = Duration::from_secs(3600);
/// How often the failed-attempt limiter forgets quiet addresses.
const LIMITER_PRUNE_INTERVAL: Duration = Duration::from_secs(60);

/// Every credential source the gateway accepts, with the caches in front of them.
#[derive(Debug)]
pub struct Authenticator {
    static_keys: StaticKeys,
    jwt: Option<jwt::JwtVerifier>,
    introspection: Option<introspection::Introspector>,
    cache: cache::TokenCache,
    failures: limiter::FailedAttempts,
    negative_ttl: Duration,
    jwks_refresh: Duration,
    failure_counts: Vec<AtomicU64>,
    runtime_keys: Option<Arc<dyn KeySource>>,
}

impl Authenticator {
    /// Builds the authenticator from the validated config. `fetch` carries JWKS and
    /// introspection requests. Call [`Authenticator::start`] before serving.
    pub fn new(config: &gateway_config::Auth, fetch: Arc<dyn HttpFetch>) -> Self {
        let jwt = config.jwt.as_ref().map(|j| {
            let jwks = (j.jwks_file.is_some() || j.jwks_url.is_some()).then(|| {
                Arc::new(jwks::Jwks::new(
                    j.jwks_file.clone(),
                    j.jwks_url.clone(),
                    fetch.clone(),
                    j.jwks_refetch_min_interval,
                ))
            });
            jwt::JwtVerifier::new(j, jwks)
        });
        Self {
            static_keys: StaticKeys::new(&config.keys),
            jwt,
            introspection: config
                .introspection
                .as_ref()
                .map(|i| introspection::Introspector::new(i, fetch.clone())),
            cache: cache::TokenCache::new(config.limits.cache_max_entries),
            failures: limiter::FailedAttempts::new(
                config.limits.failed_attempts_per_minute,
                config.limits.failed_attempts_burst,
            ),
            negative_ttl: config.limits.negative_ttl,
            jwks_refresh: config
                .jwt
                .as_ref()
                .map_or(Duration::from_secs(300), |j| j.jwks_refresh),
            failure_counts: AuthError::LABELS
                .iter()
                .map(|_| AtomicU64::new(0))
                .collect(),
            runtime_keys: None,
        }
    }

    /// Adds the source of keys created at run time, consulted after the static keys.
    #[must_use]
    pub fn with_runtime_keys(mut self, source: Arc<dyn KeySource>) -> Self {
        self.runtime_keys = Some(source);
        self
    }

    /// Loads the JWKS once, then keeps it fresh and the limiter pruned in the background for
    /// as long as the authenticator lives.
    pub async fn start(self: &Arc<Self>) {
        if let Some(jwks) = self.jwt.as_ref().and_then(|j| j.jwks.clone()) {
            jwks.load().await;
        }
        let weak = Arc::downgrade(self);
        let every = self.jwks_refresh.min(LIMITER_PRUNE_INTERVAL);
        // Ends when the authenticator is dropped.
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            let mut since_refresh = Duration::ZERO;
            loop {
                tick.tick().await;
                let Some(this) = weak.upgrade() else { break };
                this.failures.prune();
                since_refresh += every;
                if since_refresh >= this.jwks_refresh {
                    since_refresh = Duration::ZERO;
                    if let Some(jwks) = this.jwt.as_ref().and_then(|j| j.jwks.as_ref())
                        && jwks.load().await
                    {
                        // Removed keys must stop working now, not when cached tokens expire.
                        this.cache.clear();
                    }
                }
            }
        });
    }

    /// Establishes who sent a request from its headers; `client` is the peer address, for the
    /// failed-attempt limiter.
    pub async fn authenticate(
        &self,
        headers: &HeaderMap,
        client: Option<IpAddr>,
    ) -> Result<Principal, AuthError> {
        let token = presented_credential(headers).map_err(|e| self.failed(e, client))?;
        let key = cache::key_of(&token);
        match self.cache.get(&key) {
            Some(Ok(principal)) => return Ok(principal),
            Some(Err(e)) => return Err(self.failed(e, client)),
            None => {}
        }
        // An address over its failure budget still gets local checks (a valid key or JWT from
        // a shared NAT address must keep working), but no more calls to the identity service.
        let blocked = client.and_then(|ip| self.failures.blocked_for(ip));
        match self.verify(&token, blocked).await {
            Ok((principal, ttl)) => {
                self.cache.insert(key, Ok(principal.clone()), ttl);
                Ok(principal)
            }
            Err((e, negative_ttl)) => {
                if e.is_stable() {
                    self.cache.insert(key, Err(e), negative_ttl);
                }
                Err(self.failed(e, client))
            }
        }
    }

    /// Tries each source. Errors come with how long they may be remembered.
    async fn verify(
        &self,
        token: &Secret<String>,
        blocked: Option<Duration>,
    ) -> Result<(Principal, Duration), (AuthError, Duration)> {
        if let Some(principal) = self.static_keys.verify(token) {
            return Ok((principal, STATIC_KEY_TTL));
        }
        if let Some(source) = &self.runtime_keys {
            let digest: [u8; 32] = sha2::Sha256::digest(token.expose().as_bytes()).into();
            if let Some(principal) = source.principal(&digest) {
                // Not cached: revocation and expiry apply to the next request.
                return Ok((principal, Duration::ZERO));
            }
        }
        let negative = self.negative_ttl;
        if jwt::looks_like_jwt(token.expose()) {
            let Some(jwt) = &self.jwt else {
                return Err((AuthError::Invalid, negative));
            };
            return jwt.verify(token.expose()).await.map_err(|e| (e, negative));
        }
        match &self.introspection {
            Some(i) if i.applies_to(token.expose()) => {
                if let Some(retry_after) = blocked {
                    return Err((AuthError::RateLimited { retry_after }, Duration::ZERO));
                }
                i.introspect(token).await.map_err(|e| (e, i.negative_ttl()))
            }
            // An opaque token no source knows. With runtime keys on it is not remembered: a
            // key created on another replica a moment ago must work once the sync brings it
            // (both checks are a hash and a map lookup, so nothing expensive is repeated).
            _ if self.runtime_keys.is_some() => Err((AuthError::Invalid, Duration::ZERO)),
            _ => Err((AuthError::Invalid, negative)),
        }
    }

    /// Counts and logs a failure; past the address's budget it becomes `RateLimited`.
    fn failed(&self, e: AuthError, client: Option<IpAddr>) -> AuthError {
        let e = match (e, client) {
            (AuthError::RateLimited { .. } | AuthError::Unavailable, _) | (_, None) => e,
            (_, Some(ip)) => match self.failures.record_failure(ip) {
                Some(retry_after) => AuthError::RateLimited { retry_after },
                None => e,
            },
        };
        if let Some(i) = AuthError::LABELS.iter().position(|l| *l == e.as_label())
            && let Some(counter) = self.failure_counts.get(i)
        {
            counter.fetch_add(1, Ordering::Relaxed);
        }
        tracing::info!(reason = e.as_label(), "authentication failed");
        e
    }

    /// Failures so far by reason label, for the metrics exporter.
    pub fn failure_counts(&self) -> Vec<(&'static str, u64)> {
        AuthError::LABELS
            .iter()
            .zip(&self.failure_counts)
            .map(|(l, c)| (*l, c.load(Ordering::Relaxed)))
            .collect()
    }
}

#[cfg(test)]
mod tests;
