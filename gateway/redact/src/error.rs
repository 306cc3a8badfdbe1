//! [`RedactError`]: why a body or a configuration was refused.

/// Why the redactor refused a request body or a configuration.
///
/// Messages never contain a scanned value: a body error names the byte offset and the JSON
/// grammar rule that failed, a rule error names the rule index.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedactError {
    /// The body is not UTF-8; a JSON route must refuse it (400) rather than forward it unscanned.
    #[error("request body is not valid UTF-8 (byte {offset})")]
    InvalidUtf8 {
        /// Offset of the first invalid byte.
        offset: usize,
    },
    /// The body is not one valid JSON value.
    #[error("request body is not valid JSON: {reason} at byte {offset}")]
    InvalidJson {
        /// Offset where parsing failed.
        offset: usize,
        /// The grammar rule that failed, e.g. "expected ':'".
        reason: &'static str,
    },
    /// The body nests arrays/objects deeper than the walker allows.
    #[error("request body nests deeper than {limit} levels")]
    TooDeep {
        /// The nesting limit.
        limit: usize,
    },
    /// The body is larger than the engine's offset type can address (4 GiB).
    #[error("request body is too large to scan ({len} bytes)")]
    TooLarge {
        /// Body length.
        len: usize,
    },
    /// The tenant key is too short to make placeholders unguessable.
    #[error("tenant key must be at least {min} bytes")]
    WeakTenantKey {
        /// Minimum key length in bytes.
        min: usize,
    },
    /// A configured extra rule cannot be used.
    #[error("extra rule #{index}: {reason}")]
    InvalidRule {
        /// Position of the rule in [`crate::RedactorConfig::extra_rules`].
        index: usize,
        /// What is wrong with it (never a scanned value).
        reason: String,
    },
    /// A configured extra rule's pattern does not compile, or matches the empty string.
    #[error("extra rule #{index}: pattern {reason}")]
    InvalidPattern {
        /// Position of the rule in [`crate::RedactorConfig::extra_rules`].
        index: usize,
        /// What is wrong with it (never a scanned value).
        reason: String,
    },
}
