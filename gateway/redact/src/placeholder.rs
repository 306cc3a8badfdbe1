//! Deterministic placeholders: `gwx_<kind>_<16 Crockford base32>` where the id is
//! HMAC-SHA256(tenant key, kind ‖ 0x00 ‖ secret) truncated to 80 bits. Same secret, same
//! tenant key → same placeholder across turns, processes and restarts, so the provider's
//! prompt cache keeps hitting. Only `[A-Za-z0-9_]`: safe in JSON, URLs and shells.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The family code in a placeholder. Never a vendor prefix or a sensitive word, so a
/// placeholder cannot re-trigger a rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    Aws,
    Gcp,
    Azure,
    Github,
    Gitlab,
    Slack,
    Stripe,
    OpenAi,
    Anthropic,
    Llm,
    Pem,
    Jwt,
    UrlPassword,
    Header,
    Npm,
    Pypi,
    Docker,
    Saas,
    Env,
    Custom,
}

impl Kind {
    pub(crate) fn code(self) -> &'static str {
        match self {
            Self::Aws => "aws",
            Self::Gcp => "gcp",
            Self::Azure => "azr",
            Self::Github => "gh",
            Self::Gitlab => "gl",
            Self::Slack => "slk",
            Self::Stripe => "stp",
            Self::OpenAi => "oai",
            Self::Anthropic => "ant",
            Self::Llm => "llm",
            Self::Pem => "pem",
            Self::Jwt => "jwt",
            Self::UrlPassword => "url",
            Self::Header => "hdr",
            Self::Npm => "npm",
            Self::Pypi => "pypi",
            Self::Docker => "dkr",
            Self::Saas => "saas",
            Self::Env => "env",
            Self::Custom => "cst",
        }
    }
}

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const PREFIX: &[u8] = b"gwx_";
const ID_LEN: usize = 16;
const KIND_MAX: usize = 4;

/// The longest placeholder this crate mints.
pub(crate) const MAX_LEN: usize = PREFIX.len() + KIND_MAX + 1 + ID_LEN;

/// Mints placeholders under one tenant key.
#[derive(Clone)]
pub(crate) struct Minter {
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for Minter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Minter(***)")
    }
}

impl Minter {
    #[expect(
        clippy::expect_used,
        reason = "HMAC accepts keys of any length, so new_from_slice cannot fail"
    )]
    pub(crate) fn new(key: &[u8]) -> Self {
        let mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
        Self { mac }
    }

    /// A keyed digest of `parts` (used for cache fingerprints too).
    pub(crate) fn digest(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut m = self.mac.clone();
        for p in parts {
            m.update(p);
        }
        m.finalize().into_bytes().into()
    }

    /// A minter keyed by this one's digest of `label ‖ 0x00 ‖ name`: a sub-key that cannot be
    /// computed without this key, and that no placeholder reveals (ids are truncated digests
    /// of a different input shape).
    pub(crate) fn derive(&self, label: &[u8], name: &[u8]) -> Self {
        Self::new(&self.digest(&[label, &[0], name]))
    }

    /// The placeholder for `value` of family `kind`.
    pub(crate) fn mint(&self, kind: Kind, value: &[u8]) -> String {
        let d = self.digest(&[kind.code().as_bytes(), &[0], value]);
        let mut bits = [0u8; 16];
        bits[6..].copy_from_slice(&d[..10]);
        let v = u128::from_be_bytes(bits);
        let mut out = String::with_capacity(MAX_LEN);
        out.push_str("gwx_");
        out.push_str(kind.code());
        out.push('_');
        for i in 0..ID_LEN {
            let idx = (v >> (5 * (ID_LEN - 1 - i))) & 31;
            out.push(char::from(CROCKFORD[idx as usize]));
        }
        out
    }
}

fn is_id_char(b: u8) -> bool {
    CROCKFORD.contains(&b)
}

/// Whether `text` holds the start of one of our placeholders: text redacted already, which
/// the rules must not judge again (a second pass has to change nothing).
pub(crate) fn appears_in(text: &[u8]) -> bool {
    memchr::memmem::find(text, PREFIX).is_some()
}

/// Length of the placeholder-shaped token at the start of `s`, if there is one.
pub(crate) fn token_len(s: &[u8]) -> Option<usize> {
    let rest = s.strip_prefix(PREFIX)?;
    let kind = rest
        .iter()
        .take(KIND_MAX + 1)
        .take_while(|b| b.is_ascii_lowercase())
        .count();
    if !(2..=KIND_MAX).contains(&kind) || rest.get(kind) != Some(&b'_') {
        return None;
    }
    let id = rest.get(kind + 1..kind + 1 + ID_LEN)?;
    id.iter()
        .all(|&b| is_id_char(b))
        .then_some(PREFIX.len() + kind + 1 + ID_LEN)
}

/// Whether `s` (a stream tail) could still grow into a placeholder-shaped token.
pub(crate) fn viable_prefix(s: &[u8]) -> bool {
    if s.len() <= PREFIX.len() {
        return PREFIX.starts_with(s);
    }
    let Some(rest) = s.strip_prefix(PREFIX) else {
        return false;
    };
    let kind = rest.iter().take_while(|b| b.is_ascii_lowercase()).count();
    if kind == rest.len() {
        return kind <= KIND_MAX;
    }
    if !(2..=KIND_MAX).contains(&kind) || rest[kind] != b'_' {
        return false;
    }
    let id = &rest[kind + 1..];
    id.len() < ID_LEN && id.iter().all(|&b| is_id_char(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_deterministic_and_keyed() {
        let a = Minter::new(b"tenant-a-key-0123456789");
        let b = Minter::new(b"tenant-b-key-0123456789");
        let p1 = a.mint(Kind::Github, b"value");
        assert_eq!(p1, a.mint(Kind::Github, b"value"));
        assert_ne!(p1, b.mint(Kind::Github, b"value"));
        assert_ne!(p1, a.mint(Kind::Github, b"value2"));
        assert!(p1.starts_with("gwx_gh_"), "{p1}");
        assert_eq!(token_len(p1.as_bytes()), Some(p1.len()));
        assert!(p1.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_'));
    }

    #[test]
    fn every_proper_prefix_is_viable() {
        let p = Minter::new(b"k").mint(Kind::Saas, b"v");
        for i in 0..p.len() {
            assert!(viable_prefix(&p.as_bytes()[..i]), "{}", &p[..i]);
        }
        assert!(!viable_prefix(p.as_bytes()));
        assert!(!viable_prefix(b"gwx_Ab"));
        assert!(!viable_prefix(b"gwy"));
        assert!(!viable_prefix(b"gwx_toolong"));
    }
}
