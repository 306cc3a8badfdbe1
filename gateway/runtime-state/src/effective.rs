//! The one precedence rule, field by field and scope by scope: block > active override > policy
//! file > defaults.
//! Every effective value carries its [`Source`], so `GET` of a subject's limits can show it.

use gateway_core::Principal;
use serde::Serialize;

use crate::record::Scope;
use crate::snapshot::Snapshot;

/// Where a policy file set a value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FileValue {
    /// The value, micro-USD for money, else a count.
    pub value: u64,
    /// The policy file.
    pub file: String,
    /// Its line.
    pub line: u32,
}

/// Where an effective value came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum Source {
    /// A block refuses every request: the limit is zero.
    Block {
        /// The block's id.
        id: String,
    },
    /// An active override.
    Override {
        /// The override's id.
        id: String,
        /// Subject or org override.
        scope: Scope,
    },
    /// A policy file.
    File {
        /// The file.
        file: String,
        /// Its line.
        line: u32,
    },
    /// The gateway's default.
    Default,
}

/// One limit's effective value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Effective {
    /// The value in force; `None` is unlimited.
    pub value: Option<u64>,
    /// Why.
    pub source: Source,
}

/// The effective value of `limit` on `who`'s `scope` bucket (its subject's, or its
/// organisation's) at `now_ms`: a block of `who` makes it zero; else the newest active
/// override of that subject or org that names `limit`; else `file` (the policy's value for
/// that scope); else `default`. An org override changes the org's shared bucket, never its
/// members' own limits.
pub fn effective_limit(
    snapshot: &Snapshot,
    who: &Principal,
    scope: Scope,
    limit: &str,
    file: Option<&FileValue>,
    default: Option<u64>,
    now_ms: u64,
) -> Effective {
    if let Some(block) = snapshot.blocked(who, now_ms) {
        return Effective {
            value: Some(0),
            source: Source::Block {
                id: block.id.clone(),
            },
        };
    }
    let target = match scope {
        Scope::Subject => Some(who.subject.as_str()),
        Scope::Org => who.org.as_deref(),
    };
    if let Some((o, value)) = target.and_then(|t| snapshot.override_value(scope, t, limit, now_ms))
    {
        return Effective {
            value: Some(value),
            source: Source::Override {
                id: o.id.clone(),
                scope,
            },
        };
    }
    match file {
        Some(f) => Effective {
            value: Some(f.value),
            source: Source::File {
                file: f.file.clone(),
                line: f.line,
            },
        },
        None => Effective {
            value: default,
            source: Source::Default,
        },
    }
}
