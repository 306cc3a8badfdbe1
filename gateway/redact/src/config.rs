//! [`RedactorConfig`]: the tenant key, extra rules and allowlist a policy hands the redactor.

use std::fmt;

use zeroize::Zeroizing;

/// The per-tenant HMAC key placeholders are derived from. Rotating it starts a new epoch:
/// every placeholder changes once (and prompt caches miss once).
///
/// Its `Debug` is masked and it has no `Display`.
#[derive(Clone)]
pub struct TenantKey(Zeroizing<Vec<u8>>);

impl TenantKey {
    /// Minimum key length in bytes.
    pub const MIN_LEN: usize = gateway_core::REDACTION_KEY_MIN_BYTES;

    /// Wraps key bytes (at least [`Self::MIN_LEN`]).
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self, crate::RedactError> {
        let bytes = Zeroizing::new(bytes.into());
        if bytes.len() < Self::MIN_LEN {
            return Err(crate::RedactError::WeakTenantKey { min: Self::MIN_LEN });
        }
        Ok(Self(bytes))
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for TenantKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TenantKey(***)")
    }
}

/// An operator-supplied detection rule: prefilter anchors plus a bytes-mode regex (Unicode
/// off) whose whole match is the secret. Findings are counted under the rule name `custom`
/// and get placeholders of kind `cst`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtraRule {
    /// Literal strings (≥ 3 ASCII bytes, matched case-insensitively) at least one of which
    /// occurs inside every match.
    pub anchors: Vec<String>,
    /// The regex; it is searched within 256 bytes before and 1 KiB after an anchor hit.
    pub pattern: String,
}

/// Everything a [`crate::Redactor`] is built from. Its `Debug` shows counts, not values.
#[derive(Clone)]
pub struct RedactorConfig {
    /// The tenant key placeholders are derived from.
    pub tenant_key: TenantKey,
    /// Extra rules on top of the built-in set.
    pub extra_rules: Vec<ExtraRule>,
    /// Exact values never redacted (known test keys, shared sandbox credentials).
    pub allowlist: Vec<String>,
}

impl RedactorConfig {
    /// A configuration with only the built-in rules and no allowlist.
    pub fn new(tenant_key: TenantKey) -> Self {
        Self {
            tenant_key,
            extra_rules: Vec::new(),
            allowlist: Vec::new(),
        }
    }
}

impl fmt::Debug for RedactorConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedactorConfig")
            .field("tenant_key", &self.tenant_key)
            .field("extra_rules", &self.extra_rules.len())
            .field("allowlist", &self.allowlist.len())
            .finish()
    }
}
