//! The append-only, hash-chained audit log: JSON Lines, each line's `prev` the SHA-256 hex of
//! the previous line's bytes (the first line's `prev` is [`GENESIS`]). Any edit, removal or
//! reordering of a line breaks the chain at the line after it, which [`verify_chain`] reports.
//!
//! Entries name who (an admin token id), what, before/after and a reason; never a secret
//! (callers pass records, whose keys are digests only).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// `prev` of the first line.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One audited change or refused attempt.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditEntry {
    /// Unix ms.
    pub at_ms: u64,
    /// The admin token id.
    pub who: String,
    /// `override.create`, `block.delete`, `key.revoke`, …
    pub what: String,
    /// Whether it took effect (`false`: refused, with the reason in `outcome`).
    pub ok: bool,
    /// `applied`, or why it was refused.
    pub outcome: String,
    /// The record before, if any.
    pub before: Option<serde_json::Value>,
    /// The record after, if any.
    pub after: Option<serde_json::Value>,
    /// The admin's reason.
    pub reason: Option<String>,
}

/// A line as written: the entry and the digest of the line before it.
#[derive(Serialize, Deserialize)]
struct Line {
    prev: String,
    #[serde(flatten)]
    entry: AuditEntry,
}

/// Where a chain is broken.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// The line (1-based) is not an audit entry.
    #[error("audit line {line} is not an entry: {why}")]
    Malformed {
        /// 1-based line number.
        line: usize,
        /// The parse error.
        why: String,
    },
    /// The line's `prev` is not the digest of the line before it.
    #[error("audit line {line}: prev does not match the line before it")]
    Broken {
        /// 1-based line number.
        line: usize,
    },
}

/// Appends entries to a chain; holds the digest of the last line written.
#[derive(Debug, Clone)]
pub struct AuditChain {
    last: String,
}

impl Default for AuditChain {
    fn default() -> Self {
        Self {
            last: GENESIS.to_owned(),
        }
    }
}

impl AuditChain {
    /// Continues an existing log whose last line is `last_line` (`None`: an empty log).
    pub fn resume(last_line: Option<&str>) -> Self {
        Self {
            last: last_line.map_or_else(|| GENESIS.to_owned(), line_digest),
        }
    }

    /// The line to append for `entry` (no trailing newline), and advance the chain.
    pub fn line(&mut self, entry: AuditEntry) -> Result<String, serde_json::Error> {
        let line = serde_json::to_string(&Line {
            prev: self.last.clone(),
            entry,
        })?;
        self.last = line_digest(&line);
        Ok(line)
    }
}

/// SHA-256 hex of one line's bytes (without its newline).
pub fn line_digest(line: &str) -> String {
    hex::encode(Sha256::digest(line.as_bytes()))
}

/// Checks every line of a log; the number of entries when the chain holds.
pub fn verify_chain(log: &str) -> Result<usize, ChainError> {
    let mut expected = GENESIS.to_owned();
    let mut count = 0;
    for (i, text) in log.lines().filter(|l| !l.is_empty()).enumerate() {
        let line: Line = serde_json::from_str(text).map_err(|e| ChainError::Malformed {
            line: i + 1,
            why: e.to_string(),
        })?;
        if line.prev != expected {
            return Err(ChainError::Broken { line: i + 1 });
        }
        expected = line_digest(text);
        count += 1;
    }
    Ok(count)
}
