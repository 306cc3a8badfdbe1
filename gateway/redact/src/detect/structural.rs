//! Rules that need a small parser instead of a regex: private-key blocks (full PEM extent),
//! base64-encoded private keys (kubeconfig `client-key-data`), connection-string passwords (only the password goes), and HTTP `Bearer`/`Basic` values.

use super::{check, judge};
use crate::placeholder;

const PEM_MAX: usize = 16 * 1024;

/// Base64 of `-----BEGIN `: where a base64-encoded PEM block starts.
pub(crate) const ENCODED_PEM_ANCHOR: &str = "LS0tLS1CRUdJTi";

/// A base64-encoded PEM private key starting at `p` (kubeconfig `client-key-data`, Helm
/// values, CI variables): the whole base64 run, when its start decodes to
/// `-----BEGIN … PRIVATE KEY`. Certificates and public keys decode to other labels and stay.
pub(crate) fn encoded_private_key(text: &[u8], p: usize) -> Option<(usize, usize)> {
    let b64 = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=');
    let escape_before = p >= 2 && text[p - 2] == b'\\';
    if p > 0 && b64(text[p - 1]) && !escape_before {
        return None;
    }
    let n = text[p..]
        .iter()
        .take(4 * PEM_MAX)
        .take_while(|&&b| b64(b))
        .count();
    let head = &text[p..p + n.min(80) / 4 * 4];
    let decoded = check::base64_decode(head)?;
    let private = decoded.starts_with(b"-----BEGIN ")
        && memchr::memmem::find(&decoded, b"PRIVATE KEY").is_some();
    private.then_some((p, p + n))
}

/// A private key block starting at `p` (`-----BEGIN … PRIVATE KEY-----` through its END
/// line); a truncated block extends over its base64 lines.
pub(crate) fn private_key(text: &[u8], p: usize) -> Option<(usize, usize)> {
    let rest = &text[p..];
    let after_begin = rest.strip_prefix(b"-----BEGIN ")?;
    let label_len = memchr::memmem::find(&after_begin[..after_begin.len().min(64)], b"-----")?;
    let label = &after_begin[..label_len];
    memchr::memmem::find(label, b"PRIVATE KEY")?;
    let body_start = 11 + label_len + 5;
    let window = &rest[body_start..rest.len().min(body_start + PEM_MAX)];
    let mut end_marker = b"-----END ".to_vec();
    end_marker.extend_from_slice(label);
    end_marker.extend_from_slice(b"-----");
    if let Some(at) = memchr::memmem::find(window, &end_marker) {
        return Some((p, p + body_start + at + end_marker.len()));
    }
    // Truncated output: take the armour body (base64, headers, line breaks, escaped breaks).
    let body = window
        .iter()
        .take_while(|&&b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'+' | b'/' | b'=' | b'\r' | b'\n' | b' ' | b':' | b'-' | b',' | b'\\'
                )
        })
        .count();
    (body >= 64).then_some((p, p + body_start + body))
}

/// PuTTY key file from `PuTTY-User-Key-File-` through the `Private-MAC:` line.
pub(crate) fn putty_key(text: &[u8], p: usize) -> Option<(usize, usize)> {
    let rest = &text[p..text.len().min(p + PEM_MAX)];
    if !rest.starts_with(b"PuTTY-User-Key-File-") {
        return None;
    }
    let mac = memchr::memmem::find(rest, b"Private-MAC: ")? + 13;
    let hex = rest[mac..]
        .iter()
        .take_while(|b| b.is_ascii_hexdigit())
        .count();
    Some((p, p + mac + hex))
}

fn is_scheme(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'.' | b'-')
}

/// The password of `scheme://user:password@host…` where `://` starts at `p`.
pub(crate) fn url_password(text: &[u8], p: usize) -> Option<(usize, usize)> {
    let mut s = p;
    while s > 0 && is_scheme(text[s - 1]) && p - s < 32 {
        s -= 1;
    }
    if p - s < 2 || !text[s].is_ascii_alphabetic() {
        // A prefix ran into the scheme (`app/.env-2-https://…`, a search tool's context
        // line): take the scheme without `-` and `.`, which real schemes rarely use.
        s = p;
        while s > 0 && (text[s - 1].is_ascii_alphanumeric() || text[s - 1] == b'+') && p - s < 32 {
            s -= 1;
        }
        if p - s < 2 || !text[s].is_ascii_alphabetic() {
            return None;
        }
    }
    // A scheme glued to an identifier (`MY_postgres://`, or one of our placeholders right
    // before `://`) is no URL's: judging it would make a second pass find new passwords.
    if s > 0 && text[s - 1] == b'_' {
        return None;
    }
    let a = p + 3;
    let authority = text[a..]
        .iter()
        .take(512)
        .take_while(|&&b| {
            !(b.is_ascii_whitespace()
                || matches!(
                    b,
                    b'/' | b'?' | b'#' | b'"' | b'\'' | b'<' | b'>' | b'\\' | b'`'
                ))
        })
        .count();
    let auth = &text[a..a + authority];
    // Holding one of our placeholders, the authority was redacted already (its password, or
    // text that decided where it ends): judged again it could end elsewhere.
    if placeholder::appears_in(auth) {
        return None;
    }
    let at = auth.iter().rposition(|&b| b == b'@')?;
    let colon = auth[..at].iter().position(|&b| b == b':')?;
    let (ps, pe) = (a + colon + 1, a + at);
    if pe <= ps || at + 1 >= auth.len() {
        return None;
    }
    let pw = &text[ps..pe];
    let host = &auth[at + 1..];
    if pw.len() < URL_PASSWORD_MIN_BYTES || placeholder_password(pw) || documentation_host(host) {
        return None;
    }
    Some((ps, pe))
}

/// Shorter URL passwords (`letme:in@`, `u:pw@`) are test fixtures in practice, and carry too
/// little to be worth a placeholder.
const URL_PASSWORD_MIN_BYTES: usize = 4;

/// Passwords that only ever appear in documentation and tests (with optional digits).
#[rustfmt::skip]
const PLACEHOLDER_PASSWORDS: &[&[u8]] = &[
    b"password", b"pass", b"passwd", b"pwd", b"secret", b"pw", b"p", b"foo", b"bar", b"baz",
    b"qux", b"test",
];

/// `password`, `pass`, `secret1`, `${DB_PASS}`, `<password>`, `sentinel_pass`: a
/// placeholder, not a value.
fn placeholder_password(pw: &[u8]) -> bool {
    let digits = pw.iter().rev().take_while(|b| b.is_ascii_digit()).count();
    let stem = &pw[..pw.len() - digits];
    let is_placeholder = |w: &[u8]| {
        PLACEHOLDER_PASSWORDS
            .iter()
            .any(|p| w.eq_ignore_ascii_case(p))
    };
    judge::placeholder_or_reference(pw) || is_placeholder(stem) || named_placeholder(stem)
}

/// A lowercase `snake_case` name whose last word is a password word (`sentinel_pass`,
/// `my_password`, `db_secret`): documentation naming the slot, never a chosen password.
fn named_placeholder(stem: &[u8]) -> bool {
    let Some(cut) = stem.iter().rposition(|&b| b == b'_') else {
        return false;
    };
    let last = &stem[cut + 1..];
    cut > 0
        && stem.iter().all(|&b| b.is_ascii_lowercase() || b == b'_')
        && [&b"password"[..], b"pass", b"passwd", b"pwd", b"secret"].contains(&last)
}

/// RFC 2606 documentation hosts (`example.com`, `*.example`): URLs in docs and tests.
fn documentation_host(host: &[u8]) -> bool {
    let name = host.split(|&b| b == b':').next().unwrap_or(host);
    let name = name.to_ascii_lowercase();
    [
        &b"example.com"[..],
        b"example.org",
        b"example.net",
        b".example",
    ]
    .iter()
    .any(|d| name.ends_with(d))
}

fn token_len(text: &[u8], from: usize, ok: fn(u8) -> bool) -> usize {
    text[from..]
        .iter()
        .take(4096)
        .take_while(|&&b| ok(b))
        .count()
}

fn value_start(text: &[u8], hit: usize, word: usize) -> Option<usize> {
    if hit > 0 && text[hit - 1].is_ascii_alphanumeric() {
        return None;
    }
    let mut p = hit + word;
    let spaces = text[p..].iter().take_while(|&&b| b == b' ').count();
    if spaces == 0 {
        return None;
    }
    p += spaces;
    Some(p)
}

/// `Bearer <token>` (headers, curl commands, logs).
pub(crate) fn bearer(text: &[u8], hit: usize) -> Option<(usize, usize)> {
    let p = value_start(text, hit, 6)?;
    let n = token_len(text, p, |b| {
        b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'~' | b'+' | b'/' | b'=' | b'-')
    });
    let v = &text[p..p + n];
    (n >= 16 && judge::propagatable(v) && !judge::placeholder_or_reference(v)).then_some((p, p + n))
}

/// `Basic <base64(user:password)>`.
pub(crate) fn basic(text: &[u8], hit: usize) -> Option<(usize, usize)> {
    let p = value_start(text, hit, 5)?;
    let n = token_len(text, p, |b| {
        b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=')
    });
    (encoded_user_pass(&text[p..p + n]) == Some(true)).then_some((p, p + n))
}

/// For a base64 `user:password` (HTTP Basic, Docker `config.json` `auth`, `.npmrc`
/// `_auth`): `Some(true)` for a real credential, `Some(false)` for a documentation
/// placeholder (`user:password`, `me:${PASS}`), `None` when it decodes to no `user:pass`.
pub(crate) fn encoded_user_pass(v: &[u8]) -> Option<bool> {
    if !(8..=1024).contains(&v.len()) {
        return None;
    }
    let decoded = check::base64_decode(v)?;
    let colon = decoded.iter().position(|&b| b == b':')?;
    let printable = decoded.iter().all(|b| b.is_ascii_graphic() || *b == b' ');
    let password = decoded.get(colon + 1..).unwrap_or_default();
    (printable && colon > 0 && !password.is_empty()).then(|| !placeholder_password(password))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Option<&str> {
        let p = s.find("://")?;
        url_password(s.as_bytes(), p).map(|(a, b)| &s[a..b])
    }

    #[test]
    fn connection_strings_lose_only_the_password() {
        assert_eq!(url("postgres://app:s3cr%40t@db:5432/x"), Some("s3cr%40t"));
        assert_eq!(url("mongodb+srv://u:p@ss@h1,h2/db"), Some("p@ss"));
        assert_eq!(url("redis://:tok3n@[::1]:6379"), Some("tok3n"));
        assert_eq!(url("https://user@sentry.io/1"), None);
        assert_eq!(url("https://example.com/a:b@c"), None);
        assert_eq!(url("postgres://u:${DB_PASS}@h/db"), None);
        assert_eq!(url("postgres://u:password@h/db"), None);
        assert_eq!(url("redis://:password1@127.0.0.1:6379"), None);
        assert_eq!(url("ftp://rms:secret123@example.com"), None);
        assert_eq!(url("x://u:p@"), None);
        // Too short to be a credential worth a placeholder (reqwest's proxy tests).
        assert_eq!(url("https://letme:in@yo.local"), None);
        assert_eq!(url("http://:in@yo.local"), None);
        assert_eq!(url("http://u:abcd@yo.local"), Some("abcd"));
        // A slot's name in documentation (redis's sentinel docs), not a chosen password.
        assert_eq!(url("redis://sentinel_user:sentinel_pass@127.0.0.1"), None);
        assert_eq!(url("postgres://u:my_password@h/db"), None);
        assert_eq!(url("postgres://u:s3cr3t_pass@h/db"), Some("s3cr3t_pass"));
        assert_eq!(url("postgres://u:Prod_Pass@h/db"), Some("Prod_Pass"));
    }

    #[test]
    fn encoded_private_keys_go_and_encoded_certificates_stay() {
        let key = "LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpNSUlF";
        let cert = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUQ=";
        let text = format!("client-certificate-data: {cert}\n    client-key-data: {key}\n");
        let at = |s: &str| text.find(s).unwrap();
        assert_eq!(encoded_private_key(text.as_bytes(), at(cert)), None);
        let found = encoded_private_key(text.as_bytes(), at(key)).map(|(s, e)| &text[s..e]);
        assert_eq!(found, Some(key));
    }

    #[test]
    fn private_keys_cover_the_whole_block() {
        let k =
            "x\n-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\ny";
        let p = k.find("-----BEGIN").unwrap();
        let (s, e) = private_key(k.as_bytes(), p).unwrap();
        assert!(k[s..e].ends_with("KEY-----") && k[e..].starts_with("\ny"));
        let public = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----";
        assert_eq!(private_key(public.as_bytes(), 0), None);
    }

    #[test]
    fn http_auth_values() {
        let t = b"Authorization: Bearer abcDEF123456ghiJKL";
        assert_eq!(bearer(t, 15), Some((22, t.len())));
        assert_eq!(bearer(b"a bearer token is", 2), None);
        let b = b"Authorization: Basic dXNlcjpodW50ZXIyMg==";
        assert_eq!(basic(b, 15), Some((21, b.len())));
        assert_eq!(basic(b"basic usage of the tool", 0), None);
        // base64("user:password"): a documentation placeholder.
        assert_eq!(basic(b"Basic dXNlcjpwYXNzd29yZA==", 0), None);
    }
}
