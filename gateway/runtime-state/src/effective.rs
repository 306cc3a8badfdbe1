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

/// Why a limit has its value: the rule's decision, borrowed from the snapshot.
enum Decision<'a> {
    Block(&'a crate::Block),
    Override(&'a crate::Override, u64),
    File,
    Default,
}

/// The rule itself: a block of `who`; else the newest active override of that subject or org
/// naming `limit`; else the file's value (`has_file`); else the default.
fn decide<'a>(
    snapshot: &'a Snapshot,
    who: &Principal,
    scope: Scope,
    limit: &str,
    has_file: bool,
    now_ms: u64,
) -> Decision<'a> {
    if let Some(block) = snapshot.blocked(who, now_ms) {
        return Decision::Block(block);
    }
    let target = match scope {
        Scope::Subject => Some(who.subject.as_str()),
        Scope::Org => who.org.as_deref(),
    };
    if let Some((o, value)) = target.and_then(|t| snapshot.override_value(scope, t, limit, now_ms))
    {
        return Decision::Override(o, value);
    }
    if has_file {
        Decision::File
    } else {
        Decision::Default
    }
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
    match (
        decide(snapshot, who, scope, limit, file.is_some(), now_ms),
        file,
    ) {
        (Decision::Block(block), _) => Effective {
            value: Some(0),
            source: Source::Block {
                id: block.id.clone(),
            },
        },
        (Decision::Override(o, value), _) => Effective {
            value: Some(value),
            source: Source::Override {
                id: o.id.clone(),
                scope,
            },
        },
        (Decision::File, Some(f)) => Effective {
            value: Some(f.value),
            source: Source::File {
                file: f.file.clone(),
                line: f.line,
            },
        },
        (Decision::File | Decision::Default, _) => Effective {
            value: default,
            source: Source::Default,
        },
    }
}

/// [`effective_limit`]'s value alone, for the request path: nothing is allocated.
pub fn effective_value(
    snapshot: &Snapshot,
    who: &Principal,
    scope: Scope,
    limit: &str,
    file: Option<u64>,
    default: Option<u64>,
    now_ms: u64,
) -> Option<u64> {
    match decide(snapshot, who, scope, limit, file.is_some(), now_ms) {
        Decision::Block(_) => Some(0),
        Decision::Override(_, value) => Some(value),
        Decision::File => file,
        Decision::Default => default,
    }
}
