//! [`Secret`]: a wrapper whose `Debug` is masked and which has no `Display` or `Serialize`.

use std::fmt;

/// A secret value (provider key, user token, redacted original). It can only be read through
/// [`Secret::expose`], which makes every use greppable; printing it shows `Secret(***)`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wraps a secret value.
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// Reads the secret. Call sites are the places where a secret leaves the type: keep them few.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl<T> From<T> for Secret<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

/// Shortest key accepted for minting redaction placeholders (HMAC): config validation and the
/// redaction engine both hold keys to this one number.
pub const REDACTION_KEY_MIN_BYTES: usize = 16;

/// Shortest anchor of an extra redaction rule (the engine's prefilter reads 3-byte prefixes):
/// policy validation and the engine both hold anchors to this one number.
pub const REDACTION_ANCHOR_MIN_BYTES: usize = 3;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_the_value() {
        let s = Secret::new(String::from("sk-ant-api03-very-secret"));
        let shown = format!("{s:?} {:?}", Some(&s));
        assert!(!shown.contains("very-secret"), "{shown}");
        assert_eq!(s.expose(), "sk-ant-api03-very-secret");
    }
}
