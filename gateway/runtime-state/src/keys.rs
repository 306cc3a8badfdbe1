//! Issuing virtual keys: the plaintext token is returned once and only its SHA-256 is kept.

use sha2::{Digest, Sha256};

use crate::record::{VirtualKey, new_id};

/// Prefix of every virtual key token, so a leaked one is recognisable.
pub const KEY_TOKEN_PREFIX: &str = "gwk_";

/// SHA-256 of a presented token: what [`crate::Snapshot::key`] looks up.
pub fn token_digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// What the admin asks for when creating a key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyRequest {
    /// The principal's subject.
    pub subject: String,
    /// The principal's organisation.
    pub org: Option<String>,
    /// The principal's plan.
    pub plan: Option<String>,
    /// Lifetime budget, micro-USD.
    pub budget_micro_usd: Option<u64>,
    /// Free text.
    pub description: Option<String>,
    /// Unix ms, if it lapses by itself.
    pub expires_at_ms: Option<u64>,
}

/// A new key: the record to store (digest only) and the plaintext to show once.
pub fn issue_key(request: KeyRequest, by: &str, now_ms: u64) -> (VirtualKey, String) {
    let token = format!(
        "{KEY_TOKEN_PREFIX}{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let key = VirtualKey {
        id: new_id("key"),
        sha256: hex::encode(token_digest(&token)),
        subject: request.subject,
        org: request.org,
        plan: request.plan,
        budget_micro_usd: request.budget_micro_usd,
        description: request.description,
        by: by.to_owned(),
        created_at_ms: now_ms,
        expires_at_ms: request.expires_at_ms,
        revision: 0,
    };
    (key, token)
}
