//! Minting HS256 tokens with the configured shared secret, for operators and local testing
//! (`llm-gateway token mint`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use gateway_config::ClaimNames;
use gateway_core::Secret;
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Map, Value};

/// What to put in a minted token.
#[derive(Debug, Clone)]
pub struct MintRequest {
    /// `sub`.
    pub subject: String,
    /// Organisation claim.
    pub org: Option<String>,
    /// Plan claim.
    pub plan: Option<String>,
    /// Lifetime from now.
    pub ttl: Duration,
    /// Run spending cap in USD (`max_usd`), making it a run-scoped token.
    pub max_usd: Option<f64>,
    /// `iss`, when the gateway requires one.
    pub issuer: Option<String>,
    /// `aud`, when the gateway requires one.
    pub audience: Option<String>,
    /// Claim names, as the gateway reads them.
    pub claims: ClaimNames,
}

/// The token could not be minted.
#[derive(Debug, thiserror::Error)]
#[error("cannot mint the token: {0}")]
pub struct MintError(String);

/// Signs `request` with `secret` (HS256). A fresh `jti` identifies the run.
pub fn mint_hs256(secret: &Secret<Vec<u8>>, request: &MintRequest) -> Result<String, MintError> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| MintError(e.to_string()))?
        .as_secs();
    let mut claims = Map::new();
    let names = &request.claims;
    claims.insert(names.subject.clone(), Value::from(request.subject.clone()));
    if let Some(org) = &request.org {
        claims.insert(names.org.clone(), Value::from(org.clone()));
    }
    if let Some(plan) = &request.plan {
        claims.insert(names.plan.clone(), Value::from(plan.clone()));
    }
    if let Some(usd) = request.max_usd {
        if !(usd.is_finite() && usd >= 0.0) {
            return Err(MintError("--max-usd must be a non-negative number".into()));
        }
        claims.insert(names.max_usd.clone(), Value::from(usd));
    }
    claims.insert(
        names.token_id.clone(),
        Value::from(uuid::Uuid::new_v4().to_string()),
    );
    claims.insert("iat".into(), Value::from(now));
    claims.insert("exp".into(), Value::from(now + request.ttl.as_secs()));
    if let Some(iss) = &request.issuer {
        claims.insert("iss".into(), Value::from(iss.clone()));
    }
    if let Some(aud) = &request.audience {
        claims.insert("aud".into(), Value::from(aud.clone()));
    }
    jsonwebtoken::encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(secret.expose()),
    )
    .map_err(|e| MintError(e.to_string()))
}
