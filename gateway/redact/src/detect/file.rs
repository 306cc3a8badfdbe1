//! Credential files known by their path: when a tool result holds the output of a call that
//! read a file (see [`crate::json::hints`]), the file's name says what format it is, and a
//! few formats hold secrets that nothing in their content announces:
//! - `.env` files ([`FileKind::Env`]): a random-looking value under a name that is not
//!   sensitive (`STRIPE_LIVE=`, `SESSION_SIGNER=`) is still a secret there;
//! - `.pgpass` ([`FileKind::Pgpass`]): `host:port:db:user:password`, no names at all;
//! - `.htpasswd` ([`FileKind::Htpasswd`]): `user:hash`, crackable hashes;
//! - bare token files ([`FileKind::TokenFile`]: `.vault-token`, `*.token`): the file is the
//!   token;
//! - private-key files ([`FileKind::KeyFile`]: `id_rsa`, `*.pem`, `*.key`, `*.p8`): a read
//!   with an offset shows base64 lines without the `BEGIN` line that announces them;
//! - `.git-credentials` ([`FileKind::GitCredentials`]): `https://TOKEN@host`, a token as the
//!   user name with no password.
//!
//! Everything the content rules find (sensitive names, vendor formats, PEM blocks, URL
//! passwords) is found whatever the path; these rules only add. Lines are read past the
//! per-line prefixes of a file read (line numbers, diff `+`, `>` quotes), in raw and escaped
//! text, and only value bytes are ever reported.

use super::judge;
use super::lines::{next_line, skip_file_prefix};
use super::name::public_name;
use crate::placeholder;

/// The credential-file formats recognised by path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum FileKind {
    Env,
    Pgpass,
    Htpasswd,
    TokenFile,
    KeyFile,
    GitCredentials,
}

/// The rule each kind's findings are reported under: (name, index in [`FILE_RULES`]).
pub(crate) const FILE_RULES: &[(&str, FileKind)] = &[
    ("env-file-value", FileKind::Env),
    ("pgpass-password", FileKind::Pgpass),
    ("htpasswd-hash", FileKind::Htpasswd),
    ("token-file", FileKind::TokenFile),
    ("private-key-body", FileKind::KeyFile),
    ("git-credentials-token", FileKind::GitCredentials),
];

/// `.env.example` and friends hold documentation values, judged by content alone.
const TEMPLATE_SUFFIXES: &[&str] = &[".example", ".sample", ".template", ".dist", ".tmpl"];

/// Paths longer than this are not looked at.
const MAX_PATH: usize = 4096;

impl FileKind {
    /// The kind of the file at `path` (any directory, `/` or `\` separators), if its name is
    /// one of the formats above.
    pub(crate) fn of_path(path: &[u8]) -> Option<Self> {
        if path.len() > MAX_PATH {
            return None;
        }
        let path = std::str::from_utf8(path).ok()?.trim().to_ascii_lowercase();
        let path = path.trim_matches(|c| c == '"' || c == '\'');
        let name = path.rsplit(['/', '\\']).next()?;
        let env = name == ".env"
            || name == ".envrc"
            || name == ".flaskenv"
            || name == ".dev.vars"
            || ((name.starts_with(".env.") || name.ends_with(".env"))
                && !TEMPLATE_SUFFIXES.iter().any(|s| name.ends_with(s)));
        let kind = if env {
            Self::Env
        } else if name == ".pgpass" || name == "pgpass.conf" {
            Self::Pgpass
        } else if name == ".htpasswd" || name == "htpasswd" || name.ends_with(".htpasswd") {
            Self::Htpasswd
        } else if name == ".git-credentials"
            || name == "git-credentials"
            || path.ends_with("git/credentials")
        {
            Self::GitCredentials
        } else if matches!(
            name,
            ".vault-token" | "token" | ".token" | "access_token" | "refresh_token"
        ) || name.ends_with(".token")
        {
            Self::TokenFile
        } else if matches!(
            name,
            "id_rsa" | "id_dsa" | "id_ecdsa" | "id_ed25519" | "id_ecdsa_sk" | "id_ed25519_sk"
        ) || [".pem", ".key", ".p8"].iter().any(|s| name.ends_with(s))
        {
            Self::KeyFile
        } else {
            return None;
        };
        Some(kind)
    }

    /// A byte naming the kind (in cache keys).
    pub(crate) fn code(self) -> u8 {
        match self {
            Self::Env => 1,
            Self::Pgpass => 2,
            Self::Htpasswd => 3,
            Self::TokenFile => 4,
            Self::KeyFile => 5,
            Self::GitCredentials => 6,
        }
    }

    fn rule_index(self) -> usize {
        FILE_RULES
            .iter()
            .position(|(_, k)| *k == self)
            .unwrap_or_default()
    }
}

/// The lines of `text` as (start, end) byte ranges, each past its per-line prefix; breaks
/// are real (`\n`, `\r\n`, `\r`) or escaped (`\n` as two bytes, at any depth).
fn lines(text: &[u8]) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut at = Some(0);
    std::iter::from_fn(move || {
        let start = at?;
        let mut p = start;
        let end = loop {
            match memchr::memchr3(b'\n', b'\r', b'\\', &text[p..]) {
                None => {
                    at = None;
                    break text.len();
                }
                Some(i) => {
                    let q = p + i;
                    if let Some(next) = next_line(text, q) {
                        at = Some(next);
                        break q;
                    }
                    p = q + 1;
                }
            }
        };
        Some((skip_file_prefix(text, start, end), end))
    })
}

/// Appends (start, end, rule index in [`FILE_RULES`]) for each secret of a `kind` file.
pub(crate) fn find(text: &[u8], kind: FileKind, out: &mut Vec<(usize, usize, usize)>) {
    let rule = kind.rule_index();
    let public = matches!(kind, FileKind::KeyFile) && public_material(text);
    for (s, e) in lines(text) {
        // A line holding one of our placeholders was redacted already: judging what is left
        // of it again could find a different field (and a second pass must change nothing).
        if placeholder::appears_in(&text[s..e]) {
            continue;
        }
        let span = match kind {
            FileKind::Env => env_value(text, s, e),
            FileKind::Pgpass => pgpass_password(text, s, e),
            FileKind::Htpasswd => htpasswd_hash(text, s, e),
            FileKind::TokenFile => token_line(text, s, e),
            FileKind::KeyFile if !public => key_body_line(text, s, e),
            FileKind::KeyFile => None,
            FileKind::GitCredentials => git_credentials_user(text, s, e),
        };
        if let Some((vs, ve)) = span {
            out.push((vs, ve, rule));
        }
    }
}

/// A value at `[s, e)` without its quotes (`"…"`, `'…'`, or `\"…\"` in escaped text).
fn unquote(text: &[u8], s: usize, e: usize) -> (usize, usize) {
    let v = &text[s..e];
    let lead = v.iter().take_while(|&&b| b == b'\\').count();
    let Some(&q) = v.get(lead) else {
        return (s, e);
    };
    if q != b'"' && q != b'\'' {
        return (s, e);
    }
    let inner = s + lead + 1;
    let close = text[inner..e]
        .iter()
        .position(|&b| b == q)
        .map(|i| inner + i);
    let Some(mut close) = close else {
        return (s, e);
    };
    while close > inner && text[close - 1] == b'\\' {
        close -= 1;
    }
    (inner, close)
}

/// `[export ][- ]NAME=value`: the value, when it looks random.
fn env_value(text: &[u8], s: usize, e: usize) -> Option<(usize, usize)> {
    let mut p = s;
    for lead in [&b"export "[..], b"- "] {
        if text[p..e].starts_with(lead) {
            p += lead.len();
        }
    }
    let name = text[p..e]
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        .count();
    if name == 0 || text[p].is_ascii_digit() || public_name(&text[p..p + name]) {
        return None;
    }
    p += name;
    while p < e && text[p] == b' ' {
        p += 1;
    }
    if text.get(p) != Some(&b'=') {
        return None;
    }
    p += 1;
    while p < e && text[p] == b' ' {
        p += 1;
    }
    let end = text[p..e]
        .iter()
        .position(|&b| b == b' ' || b == b'#')
        .map_or(e, |i| p + i);
    let (vs, ve) = unquote(
        text,
        p,
        if text[p..e].first() == Some(&b'"') {
            e
        } else {
            end
        },
    );
    // A JWT is judged by its own rule (which knows public-by-design anon keys).
    let jwt = text[vs..ve].starts_with(b"eyJ");
    (!jwt && random_token(&text[vs..ve])).then_some((vs, ve))
}

/// The fifth `:`-separated field of a `.pgpass` line (`\:` escapes a colon), when the
/// line has the format's shape: a port (or `*`) second, no blanks, `@` or `://` before it.
fn pgpass_password(text: &[u8], s: usize, e: usize) -> Option<(usize, usize)> {
    if text.get(s) == Some(&b'#') {
        return None;
    }
    let mut cuts = [0usize; 4];
    let mut fields = 0;
    let mut i = s;
    while i < e && fields < 4 {
        match text[i] {
            b'\\' => i += 1,
            b':' => {
                cuts[fields] = i;
                fields += 1;
            }
            b' ' | b'\t' | b'@' => return None,
            _ => {}
        }
        i += 1;
    }
    if fields < 4 {
        return None;
    }
    let port = &text[cuts[0] + 1..cuts[1]];
    let port_ok = port == b"*" || (!port.is_empty() && port.iter().all(u8::is_ascii_digit));
    let value = &text[cuts[3] + 1..e];
    (port_ok && !value.is_empty() && value != b"*").then_some((cuts[3] + 1, e))
}

/// The hash of a `user:hash` line (bcrypt, `$apr1$`, `{SHA}`, crypt).
fn htpasswd_hash(text: &[u8], s: usize, e: usize) -> Option<(usize, usize)> {
    let colon = text[s..e].iter().position(|&b| b == b':')? + s;
    let user = &text[s..colon];
    let hash = &text[colon + 1..e];
    let user_ok = |b: &u8| b.is_ascii_alphanumeric() || b"._@-".contains(b);
    // crypt, bcrypt and `{SHA}` base64 alphabets.
    let hash_ok = |b: &u8| b.is_ascii_alphanumeric() || b"./$=+{}".contains(b);
    let plausible = !user.is_empty()
        && user.iter().all(user_ok)
        && hash.len() >= 13
        && hash.iter().all(hash_ok)
        && (hash.starts_with(b"$") || hash.starts_with(b"{") || hash.len() == 13);
    plausible.then_some((colon + 1, e))
}

/// A line that is one token and nothing else.
fn token_line(text: &[u8], s: usize, e: usize) -> Option<(usize, usize)> {
    let v = text[s..e].trim_ascii_end();
    let ve = s + v.len();
    random_token(v).then_some((s, ve))
}

/// A line of a private key's base64 body (PEM armour lines are 64 wide, OpenSSH's 70).
fn key_body_line(text: &[u8], s: usize, e: usize) -> Option<(usize, usize)> {
    let v = text[s..e].trim_ascii_end();
    let b64 = v.len() >= 40
        && v.iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='));
    b64.then_some((s, s + v.len()))
}

/// Certificates and public keys share the extensions: their base64 is not secret.
fn public_material(text: &[u8]) -> bool {
    let has = |n: &[u8]| memchr::memmem::find(text, n).is_some();
    (has(b"BEGIN CERTIFICATE") || has(b"PUBLIC KEY-----") || has(b"ssh-rsa AAAA"))
        && !has(b"PRIVATE KEY")
}

/// `scheme://USER@host` with no password: the user is the token.
fn git_credentials_user(text: &[u8], s: usize, e: usize) -> Option<(usize, usize)> {
    let line = &text[s..e];
    let start = s + memchr::memmem::find(line, b"://")? + 3;
    let at = text[start..e].iter().position(|&b| b == b'@')? + start;
    let user = &text[start..at];
    // URL-safe bytes only (no `:`: a password after one is the URL rule's).
    let safe = |b: &u8| b.is_ascii_alphanumeric() || b"._~%-".contains(b);
    let token = user.len() >= 8 && user.iter().all(safe) && !judge::placeholder_or_reference(user);
    token.then_some((start, at))
}

/// Letters and digits mixed the way generated tokens mix them: at least 16 bytes of a token
/// alphabet, and one run (between `.`, `-`, `_`, `~`) of ≥ 10 bytes switching between
/// letters and digits at least 3 times. Words, versions, host names, ports, flags and
/// `acme-prod-2024` stay; hex digests, base64 and UUIDs go.
fn random_token(v: &[u8]) -> bool {
    let alphabet = |b: &u8| b.is_ascii_alphanumeric() || b"+/=_-.~".contains(b);
    if v.len() < 16 || v.len() > 4096 || !v.iter().all(alphabet) {
        return false;
    }
    let mixed_run = v.split(|b| b".-_~".contains(b)).any(|run| {
        let switches = run
            .windows(2)
            .filter(|w| w[0].is_ascii_digit() != w[1].is_ascii_digit())
            .count();
        run.len() >= 10 && switches >= 3
    });
    mixed_run && !judge::placeholder_or_reference(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str, kind: FileKind) -> Vec<&str> {
        let mut out = Vec::new();
        find(text.as_bytes(), kind, &mut out);
        out.iter().map(|&(s, e, _)| &text[s..e]).collect()
    }

    #[test]
    fn paths_name_their_kind() {
        let cases: &[(&str, Option<FileKind>)] = &[
            ("/home/u/app/.env", Some(FileKind::Env)),
            ("C:\\work\\app\\.env.local", Some(FileKind::Env)),
            ("./config/prod.env", Some(FileKind::Env)),
            (".envrc", Some(FileKind::Env)),
            ("/app/.env.example", None),
            (".env.sample", None),
            ("~/.pgpass", Some(FileKind::Pgpass)),
            ("/etc/nginx/.htpasswd", Some(FileKind::Htpasswd)),
            ("/root/.vault-token", Some(FileKind::TokenFile)),
            ("/run/secrets/github.token", Some(FileKind::TokenFile)),
            ("/home/u/.ssh/id_ed25519", Some(FileKind::KeyFile)),
            ("/home/u/.ssh/id_ed25519.pub", None),
            ("certs/tls.key", Some(FileKind::KeyFile)),
            ("AuthKey_ABC123.p8", Some(FileKind::KeyFile)),
            ("/home/u/.git-credentials", Some(FileKind::GitCredentials)),
            (
                "/home/u/.config/git/credentials",
                Some(FileKind::GitCredentials),
            ),
            ("src/env.rs", None),
            ("README.md", None),
            ("package.json", None),
        ];
        for (path, kind) in cases {
            assert_eq!(FileKind::of_path(path.as_bytes()), *kind, "{path}");
        }
    }

    #[test]
    fn env_files_lose_random_values_under_any_name() {
        let text = "     1→PORT=3000\n     2→NODE_ENV=production\n     3→STRIPE_LIVE=rk9Xq2Lm7Pz4Wc8Vb3Nd\n\
                    4\texport SESSION_SIGNER=\"a3f9c21e7b4d8e6f0a1b2c3d4e5f6071\"\n\
                    NEXT_PUBLIC_ANALYTICS_ID=G7xK2mQ9pL4vR8tZ3nWc\nSUPABASE_ANON_KEY=eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoiYW5vbiJ9.c2lnbmF0dXJl\n\
                    BUCKET=acme-prod-assets-2024\nREGION=eu-west-1\nAPI_BASE=https://api.example.com/v1\n\
                    - WEBHOOK_SIGNING='wh7Kp2Qx9Rm4Tz8Lb5Nc' # rotate\nVERSION=1.24.3\nEMPTY=\n\
                    REF=${OTHER_VALUE_FROM_ENV_123}";
        assert_eq!(
            found(text, FileKind::Env),
            [
                "rk9Xq2Lm7Pz4Wc8Vb3Nd",
                "a3f9c21e7b4d8e6f0a1b2c3d4e5f6071",
                "wh7Kp2Qx9Rm4Tz8Lb5Nc"
            ]
        );
    }

    #[test]
    fn escaped_lines_and_quotes_keep_only_the_value() {
        let text = r#"A=1\nSTRIPE_LIVE=\"rk9Xq2Lm7Pz4Wc8Vb3Nd\"\r\nB=2"#;
        assert_eq!(found(text, FileKind::Env), ["rk9Xq2Lm7Pz4Wc8Vb3Nd"]);
    }

    #[test]
    fn pgpass_htpasswd_token_and_git_credentials() {
        assert_eq!(
            found(
                "# host:port:db:user:password\nlocalhost:5432:*:postgres:pa\\:ss\ndb:5432:app:app:*\n",
                FileKind::Pgpass
            ),
            ["pa\\:ss"]
        );
        assert_eq!(
            found(
                "admin:$apr1$xyz12345$Qm3kVn9Lp2Rt7Wx8Yz0Ab1\nbob:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n",
                FileKind::Htpasswd
            ),
            [
                "$apr1$xyz12345$Qm3kVn9Lp2Rt7Wx8Yz0Ab1",
                "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g="
            ]
        );
        assert_eq!(
            found("s.8Qx2Lm7Pz4Wc9Vb3NdKt5R\n", FileKind::TokenFile),
            ["s.8Qx2Lm7Pz4Wc9Vb3NdKt5R"]
        );
        assert_eq!(
            found(
                "https://x9Kp2Qw7Lm4Zr8Tb5Nc3Vd@git.example.com\nhttps://user@github.com\n",
                FileKind::GitCredentials
            ),
            ["x9Kp2Qw7Lm4Zr8Tb5Nc3Vd"]
        );
    }

    #[test]
    fn key_bodies_go_unless_the_file_is_public_material() {
        let line = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj";
        let partial = format!("    20→{line}\n    21→{line}\n    22→-----END PRIVATE KEY-----\n");
        assert_eq!(found(&partial, FileKind::KeyFile), [line, line]);
        let cert = format!("-----BEGIN CERTIFICATE-----\n{line}\n-----END CERTIFICATE-----\n");
        assert!(found(&cert, FileKind::KeyFile).is_empty());
    }
}
