//! [`JwtVerifier`]: JWT users. HS256 with the shared secret; asymmetric algorithms only with
//! JWKS keys of the matching type, from an explicit allowlist.

use std::{
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use base64::Engine;
use gateway_config::ClaimNames;
use gateway_core::Principal;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, errors::ErrorKind as JwtErrorKind};
use serde_json::{Map, Value};

use crate::{AuthError, jwks::Jwks};

/// Longest a verified JWT is trusted from the cache, whatever its `exp`.
const VERIFIED_TTL_MAX: Duration = Duration::from_secs(3600);

/// JWT verification settings and key sources.
pub(crate) struct JwtVerifier {
    hs256: Option<DecodingKey>,
    pub(crate) jwks: Option<Arc<Jwks>>,
    allowed: Vec<Algorithm>,
    issuer: Option<String>,
    audience: Option<String>,
    leeway: Duration,
    claims: ClaimNames,
}

impl std::fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The HS256 key is the shared secret: never printed.
        f.debug_struct("JwtVerifier")
            .field("hs256", &self.hs256.is_some())
            .field("jwks", &self.jwks)
            .field("allowed", &self.allowed)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish()
    }
}

/// Whether a token has the shape of a JWS compact serialization (`eyJ….….…`).
pub(crate) fn looks_like_jwt(token: &str) -> bool {
    token.starts_with("eyJ") && token.bytes().filter(|b| *b == b'.').count() == 2
}

fn parse_algorithm(name: &str) -> Option<Algorithm> {
    name.parse().ok()
}

impl JwtVerifier {
    pub(crate) fn new(config: &gateway_config::Jwt, jwks: Option<Arc<Jwks>>) -> Self {
        Self {
            hs256: config
                .hs256_secret
                .as_ref()
                .map(|s| DecodingKey::from_secret(s.expose())),
            jwks,
            allowed: config
                .algorithms
                .iter()
                .filter_map(|a| parse_algorithm(a))
                .filter(|a| *a != Algorithm::HS256)
                .collect(),
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
            leeway: config.leeway,
            claims: config.claims.clone(),
        }
    }

    /// Verifies `token`; on success returns the principal and how long it may be cached.
    pub(crate) async fn verify(&self, token: &str) -> Result<(Principal, Duration), AuthError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| header_error(token))?;
        let key = match header.alg {
            Algorithm::HS256 => self.hs256.clone().ok_or(AuthError::DisallowedAlgorithm)?,
            alg if self.allowed.contains(&alg) => {
                let jwks = self.jwks.as_ref().ok_or(AuthError::DisallowedAlgorithm)?;
                match jwks.find(header.kid.as_deref(), alg) {
                    Err(AuthError::UnknownKid) => {
                        // Keys may have rotated: look again (rate-limited inside).
                        jwks.refetch_for_unknown_kid().await;
                        jwks.find(header.kid.as_deref(), alg)?
                    }
                    other => other?,
                }
            }
            _ => return Err(AuthError::DisallowedAlgorithm),
        };
        let mut validation = Validation::new(header.alg);
        validation.algorithms = vec![header.alg];
        validation.leeway = self.leeway.as_secs();
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp"]);
        match &self.issuer {
            Some(iss) => validation.set_issuer(&[iss]),
            None => validation.iss = None,
        }
        match &self.audience {
            Some(aud) => validation.set_audience(&[aud]),
            None => validation.validate_aud = false,
        }
        let data =
            jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation).map_err(|e| {
                match e.kind() {
                    JwtErrorKind::ExpiredSignature => AuthError::Expired {
                        at: expiry_of(token).unwrap_or(UNIX_EPOCH),
                    },
                    JwtErrorKind::ImmatureSignature => AuthError::NotYetValid,
                    JwtErrorKind::InvalidIssuer => AuthError::WrongIssuer,
                    JwtErrorKind::InvalidAudience => AuthError::WrongAudience,
                    JwtErrorKind::InvalidSignature => AuthError::BadSignature,
                    JwtErrorKind::InvalidAlgorithm | JwtErrorKind::InvalidAlgorithmName => {
                        AuthError::DisallowedAlgorithm
                    }
                    _ => AuthError::Malformed,
                }
            })?;
        let principal = principal_from_claims(&data.claims, &self.claims)?;
        let ttl = data
            .claims
            .get("exp")
            .and_then(Value::as_u64)
            .map(seconds_until)
            .unwrap_or_default()
            .min(VERIFIED_TTL_MAX);
        Ok((principal, ttl))
    }
}

/// A header that does not parse: name `alg: none` for what it is.
fn header_error(token: &str) -> AuthError {
    let alg = token
        .split('.')
        .next()
        .and_then(|h| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(h)
                .ok()
        })
        .and_then(|h| serde_json::from_slice::<Map<String, Value>>(&h).ok())
        .and_then(|h| h.get("alg").and_then(Value::as_str).map(str::to_owned));
    match alg {
        Some(a) if a.eq_ignore_ascii_case("none") || parse_algorithm(&a).is_none() => {
            AuthError::DisallowedAlgorithm
        }
        _ => AuthError::Malformed,
    }
}

/// `exp` of a token whose signature already verified, for the error message.
fn expiry_of(token: &str) -> Option<SystemTime> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    let claims: Map<String, Value> = serde_json::from_slice(&bytes).ok()?;
    let exp = claims.get("exp")?.as_u64()?;
    Some(UNIX_EPOCH + Duration::from_secs(exp))
}

pub(crate) fn seconds_until(unix_secs: u64) -> Duration {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    Duration::from_secs(unix_secs.saturating_sub(now))
}

fn claim_string(claims: &Map<String, Value>, name: &str) -> Option<String> {
    match claims.get(name)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Maps claims to a principal. `sub` is required; `max_usd` must be a non-negative number.
pub(crate) fn principal_from_claims(
    claims: &Map<String, Value>,
    names: &ClaimNames,
) -> Result<Principal, AuthError> {
    let subject = claim_string(claims, &names.subject).ok_or(AuthError::Malformed)?;
    let run_budget_micro_usd = match claims.get(&names.max_usd) {
        None | Some(Value::Null) => None,
        Some(v) => {
            let usd = v
                .as_f64()
                .filter(|f| f.is_finite() && *f >= 0.0)
                .ok_or(AuthError::Malformed)?;
            Some(usd_to_micro(usd))
        }
    };
    Ok(Principal {
        subject,
        org: claim_string(claims, &names.org),
        plan: claim_string(claims, &names.plan),
        token_id: claim_string(claims, &names.token_id),
        run_budget_micro_usd,
    })
}

/// Whole micro-USD, rounded to nearest.
#[expect(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "the value is finite, non-negative and clamped to u64 range first"
)]
fn usd_to_micro(usd: f64) -> u64 {
    (usd * 1_000_000.0).round().min(u64::MAX as f64) as u64
}
