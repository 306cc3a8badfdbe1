//! [`Jwks`]: the JSON Web Key Set from a file and/or a URL, cached, refreshed in the
//! background, re-fetched (rate-limited) when a token names an unknown `kid`.

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Arc, PoisonError, RwLock},
    time::Duration,
};

use http::Method;
use jsonwebtoken::{
    Algorithm, DecodingKey,
    jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm},
};
use tokio::time::Instant;

use crate::{
    AuthError,
    fetch::{FetchRequest, HttpFetch},
};

/// Largest JWKS document accepted.
pub(crate) const JWKS_FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// The key families a JWS algorithm can be verified with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    Rsa,
    EcP256,
    EcP384,
    Ed25519,
}

impl Family {
    pub(crate) fn for_algorithm(alg: Algorithm) -> Option<Self> {
        Some(match alg {
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512 => Self::Rsa,
            Algorithm::ES256 => Self::EcP256,
            Algorithm::ES384 => Self::EcP384,
            Algorithm::EdDSA => Self::Ed25519,
            _ => return None,
        })
    }

    fn of(jwk: &Jwk) -> Option<Self> {
        Some(match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => Self::Rsa,
            AlgorithmParameters::EllipticCurve(p) => match p.curve {
                EllipticCurve::P256 => Self::EcP256,
                EllipticCurve::P384 => Self::EcP384,
                _ => return None,
            },
            AlgorithmParameters::OctetKeyPair(p) => match p.curve {
                EllipticCurve::Ed25519 => Self::Ed25519,
                _ => return None,
            },
            // Symmetric keys never come from a JWKS: that is how HS/RS confusion starts.
            _ => return None,
        })
    }
}

#[derive(Clone)]
struct Key {
    key: DecodingKey,
    family: Family,
    declared: Option<KeyAlgorithm>,
}

/// The usable keys of one JWKS load.
#[derive(Default, Clone)]
struct KeySet {
    by_kid: HashMap<String, Key>,
    without_kid: Vec<Key>,
    fingerprint: Vec<u8>,
}

/// Where keys come from and the current set.
pub(crate) struct Jwks {
    file: Option<PathBuf>,
    url: Option<url::Url>,
    fetch: Arc<dyn HttpFetch>,
    keys: RwLock<Arc<KeySet>>,
    last_load: tokio::sync::Mutex<Option<Instant>>,
    refetch_min_interval: Duration,
}

impl std::fmt::Debug for Jwks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys = self.current();
        f.debug_struct("Jwks")
            .field("file", &self.file)
            .field("url", &self.url.as_ref().map(url::Url::as_str))
            .field("keys", &(keys.by_kid.len() + keys.without_kid.len()))
            .finish()
    }
}

impl Jwks {
    pub(crate) fn new(
        file: Option<PathBuf>,
        url: Option<url::Url>,
        fetch: Arc<dyn HttpFetch>,
        refetch_min_interval: Duration,
    ) -> Self {
        Self {
            file,
            url,
            fetch,
            keys: RwLock::new(Arc::new(KeySet::default())),
            last_load: tokio::sync::Mutex::new(None),
            refetch_min_interval,
        }
    }

    fn current(&self) -> Arc<KeySet> {
        self.keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Loads every source now. Returns whether the key set changed. A source that fails keeps
    /// the gateway on its previous keys (logged).
    pub(crate) async fn load(&self) -> bool {
        let mut last = self.last_load.lock().await;
        self.load_locked(&mut last).await
    }

    async fn load_locked(&self, last: &mut Option<Instant>) -> bool {
        *last = Some(Instant::now());
        let mut docs: Vec<Vec<u8>> = Vec::new();
        if let Some(file) = &self.file {
            match tokio::fs::read(file).await {
                Ok(bytes) => docs.push(bytes),
                Err(e) => {
                    tracing::warn!(file = %file.display(), error = %e, "cannot read the JWKS file; keeping the previous keys");
                    return false;
                }
            }
        }
        if let Some(url) = &self.url {
            let request = FetchRequest {
                method: Method::GET,
                url: url.clone(),
                headers: http::HeaderMap::new(),
                body: bytes::Bytes::new(),
                timeout: JWKS_FETCH_TIMEOUT,
            };
            match self.fetch.fetch(request).await {
                Ok(reply) if reply.status == 200 => docs.push(reply.body.to_vec()),
                Ok(reply) => {
                    tracing::warn!(url = %url, status = reply.status, "JWKS URL answered with an error; keeping the previous keys");
                    return false;
                }
                Err(e) => {
                    tracing::warn!(url = %url, error = %gateway_core::ErrorChain(&e), "cannot fetch the JWKS URL; keeping the previous keys");
                    return false;
                }
            }
        }
        let fingerprint: Vec<u8> = docs.concat();
        if fingerprint == self.current().fingerprint {
            return false;
        }
        let mut set = KeySet {
            fingerprint,
            ..KeySet::default()
        };
        for doc in &docs {
            let parsed: JwkSet = match serde_json::from_slice(doc) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "the JWKS is not valid JSON Web Key Set JSON; keeping the previous keys");
                    return false;
                }
            };
            for jwk in &parsed.keys {
                let (Some(family), Ok(key)) = (Family::of(jwk), DecodingKey::from_jwk(jwk)) else {
                    tracing::warn!(kid = ?jwk.common.key_id, "skipping a JWKS key of an unsupported or symmetric type");
                    continue;
                };
                let key = Key {
                    key,
                    family,
                    declared: jwk.common.key_algorithm,
                };
                match &jwk.common.key_id {
                    Some(kid) => {
                        set.by_kid.insert(kid.clone(), key);
                    }
                    None => set.without_kid.push(key),
                }
            }
        }
        let count = set.by_kid.len() + set.without_kid.len();
        *self.keys.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(set);
        tracing::info!(keys = count, "loaded JWKS");
        true
    }

    /// Loads again if the last load is older than the refetch interval (an unknown `kid` may
    /// mean the keys rotated). Returns whether the key set changed.
    pub(crate) async fn refetch_for_unknown_kid(&self) -> bool {
        let mut last = self.last_load.lock().await;
        if last.is_some_and(|t| t.elapsed() < self.refetch_min_interval) {
            return false;
        }
        self.load_locked(&mut last).await
    }

    /// The key for a token's `kid` and algorithm.
    pub(crate) fn find(&self, kid: Option<&str>, alg: Algorithm) -> Result<DecodingKey, AuthError> {
        let set = self.current();
        let family = Family::for_algorithm(alg).ok_or(AuthError::DisallowedAlgorithm)?;
        let key = match kid {
            Some(kid) => set.by_kid.get(kid).ok_or(AuthError::UnknownKid)?,
            None => {
                let mut candidates = set
                    .without_kid
                    .iter()
                    .chain(set.by_kid.values())
                    .filter(|k| k.family == family);
                match (candidates.next(), candidates.next()) {
                    (Some(only), None) => only,
                    _ => return Err(AuthError::UnknownKid),
                }
            }
        };
        if key.family != family {
            return Err(AuthError::DisallowedAlgorithm);
        }
        if let Some(declared) = key.declared
            && format!("{declared:?}") != format!("{alg:?}")
        {
            return Err(AuthError::DisallowedAlgorithm);
        }
        Ok(key.key.clone())
    }
}
