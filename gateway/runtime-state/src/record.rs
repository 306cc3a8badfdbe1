//! The records admins create at run time: [`Override`], [`Block`], [`VirtualKey`], each
//! carrying the revision of its last write.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Whose limits an override changes, or whose requests a block refuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// One subject's buckets.
    Subject,
    /// One organisation's buckets.
    Org,
}

impl Scope {
    /// As written in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Subject => "subject",
            Self::Org => "org",
        }
    }
}

/// Limits raised or lowered for one subject or organisation until it expires. Fields it does
/// not name keep the policy file's value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Override {
    /// `ovr_…`.
    pub id: String,
    /// Subject or org.
    pub scope: Scope,
    /// The subject or org id.
    pub target: String,
    /// Policy limit key (`usd_per_day`) → value (micro-USD for money, else a count); > 0.
    pub limits: BTreeMap<String, u64>,
    /// Why (required).
    pub reason: String,
    /// The admin token id that last wrote it.
    pub by: String,
    /// Unix ms.
    pub created_at_ms: u64,
    /// Unix ms; after this it no longer applies.
    pub expires_at_ms: u64,
    /// What the policy files said for each limit it names when it was written (`None`: no
    /// limit there). A reload that changes one of these makes the override stale.
    #[serde(default)]
    pub file_values: BTreeMap<String, Option<u64>>,
    /// The store revision of its last write.
    #[serde(default)]
    pub revision: u64,
}

/// What a block matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockKind {
    /// A principal's subject.
    Subject,
    /// A principal's organisation.
    Org,
    /// A token's `jti`.
    Jti,
    /// A virtual key's id.
    Key,
}

impl BlockKind {
    /// As written in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Subject => "subject",
            Self::Org => "org",
            Self::Jti => "jti",
            Self::Key => "key",
        }
    }
}

/// Requests matching it are refused before their body is read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Block {
    /// `blk_…`.
    pub id: String,
    /// What it matches.
    pub kind: BlockKind,
    /// The subject, org, `jti` or key id.
    pub value: String,
    /// Why (required).
    pub reason: String,
    /// The admin token id that wrote it.
    pub by: String,
    /// Unix ms.
    pub created_at_ms: u64,
    /// Unix ms, if it lapses by itself.
    pub expires_at_ms: Option<u64>,
    /// The store revision of its last write.
    #[serde(default)]
    pub revision: u64,
}

/// A gateway key created at run time. Only the SHA-256 of its token is stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VirtualKey {
    /// `key_…`, also the principal's token id (run budget, `jti` blocks).
    pub id: String,
    /// SHA-256 hex of the token.
    pub sha256: String,
    /// The principal's subject.
    pub subject: String,
    /// The principal's organisation.
    pub org: Option<String>,
    /// The principal's plan.
    pub plan: Option<String>,
    /// Lifetime budget of the key, micro-USD.
    pub budget_micro_usd: Option<u64>,
    /// Free text.
    pub description: Option<String>,
    /// The admin token id that created it.
    pub by: String,
    /// Unix ms.
    pub created_at_ms: u64,
    /// Unix ms, if it lapses by itself.
    pub expires_at_ms: Option<u64>,
    /// The store revision of its last write.
    #[serde(default)]
    pub revision: u64,
}

/// Any record, as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case")]
pub enum Record {
    /// An override.
    Override(Override),
    /// A block.
    Block(Block),
    /// A virtual key.
    Key(VirtualKey),
}

impl Record {
    /// Its id.
    pub fn id(&self) -> &str {
        match self {
            Self::Override(o) => &o.id,
            Self::Block(b) => &b.id,
            Self::Key(k) => &k.id,
        }
    }

    /// Its revision.
    pub fn revision(&self) -> u64 {
        match self {
            Self::Override(o) => o.revision,
            Self::Block(b) => b.revision,
            Self::Key(k) => k.revision,
        }
    }

    pub(crate) fn set_revision(&mut self, revision: u64) {
        match self {
            Self::Override(o) => o.revision = revision,
            Self::Block(b) => b.revision = revision,
            Self::Key(k) => k.revision = revision,
        }
    }

    /// Whether it still applies at `now_ms`.
    pub fn active(&self, now_ms: u64) -> bool {
        let until = match self {
            Self::Override(o) => Some(o.expires_at_ms),
            Self::Block(b) => b.expires_at_ms,
            Self::Key(k) => k.expires_at_ms,
        };
        until.is_none_or(|u| u > now_ms)
    }
}

/// A fresh record id: `prefix` and 16 random hex digits.
pub fn new_id(prefix: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}_{}", &id[..16])
}
