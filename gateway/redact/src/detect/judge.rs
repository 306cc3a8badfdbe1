//! Judging the value of a `NAME = value` pair whose name [`super::name`] found sensitive, by
//! its shape: mixed character classes, not a number, path, plain URL, email, placeholder or
//! reference. Short passwords are judged by shape, never by an entropy floor.

use std::sync::LazyLock;

use aho_corasick::AhoCorasick;

use super::words::{PLACEHOLDER_WORDS, PUBLIC_PREFIXES, REFERENCE_MARKS};

const REFERENCE_STARTS: &[u8] = b"$%{<[(@!&*#=";

/// One case-insensitive automaton over the placeholder and reference markers.
static MARKERS: LazyLock<Option<AhoCorasick>> = LazyLock::new(|| {
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(PLACEHOLDER_WORDS.iter().chain(REFERENCE_MARKS))
        .ok()
});

fn has_marker(v: &[u8]) -> bool {
    match MARKERS.as_ref() {
        Some(ac) => ac.is_match(v),
        None => PLACEHOLDER_WORDS
            .iter()
            .chain(REFERENCE_MARKS)
            .any(|m| v.windows(m.len()).any(|w| w.eq_ignore_ascii_case(m))),
    }
}

/// Documentation placeholder or reference, not a value (`${DB_PASS}`, `<token>`, `op://…`).
pub(crate) fn placeholder_or_reference(v: &[u8]) -> bool {
    placeholder_or_reference_in(v, false)
}

/// A first byte that makes a value a reference, template, tag or code rather than a literal.
/// Inside quotes a shell or printf metacharacter is just the first character of a password
/// (`'*Xk9…'`, `"%=ab…"`, `'!Tr0ub…'`), so only `$ { < [ (`, globs (`*.`), `#{…}`
/// interpolation and a Windows `%VAR%` / Python `%(name)s` count there.
fn reference_start(v: &[u8], quoted: bool) -> bool {
    let Some(&first) = v.first() else {
        return true;
    };
    if !quoted {
        return REFERENCE_STARTS.contains(&first);
    }
    match first {
        b'$' | b'{' | b'<' | b'[' | b'(' => true,
        b'*' => v.get(1) == Some(&b'.'),
        b'#' => v.get(1) == Some(&b'{'),
        b'%' => {
            let inner = &v[1..v.len() - 1];
            v.get(1) == Some(&b'(')
                || (v.ends_with(b"%")
                    && inner
                        .iter()
                        .all(|b| b.is_ascii_alphanumeric() || *b == b'_'))
        }
        _ => false,
    }
}

fn placeholder_or_reference_in(v: &[u8], quoted: bool) -> bool {
    if reference_start(v, quoted)
        || PUBLIC_PREFIXES.iter().any(|p| v.starts_with(p))
        || has_marker(v)
    {
        return true;
    }
    let core: Vec<u8> = v
        .iter()
        .copied()
        .filter(u8::is_ascii_alphanumeric)
        .collect();
    core.windows(2).all(|w| w[0] == w[1])
}

/// Character classes present: (lower, upper, digit, other).
fn classes(v: &[u8]) -> (bool, bool, bool, bool) {
    let mut c = (false, false, false, false);
    for &b in v {
        match b {
            b'a'..=b'z' => c.0 = true,
            b'A'..=b'Z' => c.1 = true,
            b'0'..=b'9' => c.2 = true,
            _ => c.3 = true,
        }
    }
    c
}

/// A number, version, date, time or IP: digits and `. - _ : + /` only.
fn numberish(v: &[u8]) -> bool {
    if let Some(hex) = v.strip_prefix(b"0x").or_else(|| v.strip_prefix(b"0X")) {
        return hex.iter().all(|b| b.is_ascii_hexdigit() || *b == b'_');
    }
    v.iter()
        .all(|&b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'_' | b':' | b'+' | b'/'))
}

/// Standard base64 that happens to start with `/`: long, only the base64 alphabet, and padded,
/// holding a `+`, or with a `/`-separated piece no directory name looks like (≥ 12 bytes of
/// upper, lower and digits).
fn base64ish(v: &[u8]) -> bool {
    let alphabet = v
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='));
    let odd_piece = v.split(|&b| b == b'/').any(|p| {
        let (lower, upper, digit, _) = classes(p);
        p.len() >= 12 && lower && upper && digit
    });
    v.len() >= 16 && alphabet && (v.ends_with(b"=") || v.contains(&b'+') || odd_piece)
}

fn pathish(v: &[u8]) -> bool {
    if v.starts_with(b"./") || v.starts_with(b"../") || v.starts_with(b"~/") {
        return true;
    }
    if v.starts_with(b"/") {
        return !base64ish(v);
    }
    if v.len() > 2 && v[0].is_ascii_alphabetic() && &v[1..3] == b":\\" {
        return true;
    }
    if let Some(dot) = v
        .iter()
        .rposition(|&b| b == b'.')
        .filter(|_| v.contains(&b'/'))
    {
        let ext = &v[dot + 1..];
        return (1..=5).contains(&ext.len()) && ext.iter().all(u8::is_ascii_lowercase);
    }
    false
}

fn emailish(v: &[u8]) -> bool {
    let Some(at) = v.iter().position(|&b| b == b'@') else {
        return false;
    };
    at > 0
        && v[at + 1..].contains(&b'.')
        && v.iter().all(|&b| {
            b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-' | b'@')
        })
}

/// `production`, `my-service_name`, `SOME_ENV_VAR`, `CamelCase`: words, not secrets.
fn wordlike(v: &[u8]) -> bool {
    let (lower, upper, digit, _) = classes(v);
    let seps_only = v
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if !seps_only {
        return false;
    }
    if !digit {
        return true;
    }
    // An environment variable name used as a value: `OPENAI_API_KEY`, `AWS_REGION2`.
    upper && !lower && v[0].is_ascii_uppercase() && v.contains(&b'_')
}

/// Code, not a config value: `Token![:]`, `aead::Key`, `a.b()`, `x -> y`.
fn codeish(v: &[u8]) -> bool {
    v.iter()
        .any(|b| matches!(b, b'[' | b']' | b'{' | b'}' | b'<' | b'>' | b'(' | b')'))
        || [&b"::"[..], b"->", b"=>", b"&&", b"||"]
            .iter()
            .any(|p| memchr::memmem::find(v, p).is_some())
}

/// Whether an assigned value looks like a secret (the name was already judged sensitive).
/// Unquoted values must also not look like code; a trailing `;` is a statement end.
pub(crate) fn secret_value(v: &[u8], quoted: bool) -> bool {
    let v = if quoted {
        v
    } else {
        if codeish(v) {
            return false;
        }
        let v = v.strip_suffix(b";").unwrap_or(v);
        // `session=60` (a cookie pair as the value): judge the part after `=`.
        match v.iter().position(|&b| b == b'=') {
            Some(eq) if v[eq + 1..].iter().any(|&b| b != b'=') => &v[eq + 1..],
            _ => v,
        }
    };
    let len = v.len();
    if !(6..=1024).contains(&len) || v.iter().any(|b| b.is_ascii_whitespace() || *b < 0x20) {
        return false;
    }
    if numberish(v)
        || pathish(v)
        || emailish(v)
        || wordlike(v)
        || placeholder_or_reference_in(v, quoted)
    {
        return false;
    }
    let (lower, upper, digit, other) = classes(v);
    let letters_digits = usize::from(lower) + usize::from(upper) + usize::from(digit);
    if len < 8 {
        // A short password next to a sensitive name: letters with digits or symbols
        // (`hunter2`, `s3cr3t`, `qrhmx#`); all-letter words were ruled out above.
        return (lower || upper) && (digit || other);
    }
    letters_digits >= 2 || (other && letters_digits >= 1)
}

/// Whether a confirmed value is distinctive enough to redact everywhere in the request.
pub(crate) fn propagatable(v: &[u8]) -> bool {
    let (lower, upper, digit, other) = classes(v);
    v.len() >= 8
        && usize::from(lower) + usize::from(upper) + usize::from(digit) + usize::from(other) >= 2
        && !wordlike(v)
        && !numberish(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_shapes() {
        for v in [
            "hunter22",
            "S3cure-Passw0rd",
            "9f86d081884c7d659a2feaa0c55ad015",
            "Pa$$w0",
            "3f2a1c4e-9b7d-4e0f-8a6b-1c2d3e4f5a6b",
            "abc!defgh",
        ] {
            assert!(secret_value(v.as_bytes(), true), "{v}");
        }
        for v in [
            "3000",
            "production",
            "true",
            "1.2.3",
            "/etc/secret.pem",
            "./key.json",
            "${DB_PASS}",
            "$DB_PASS",
            "<your-api-key>",
            "your-api-key-here",
            "op://vault/item/field",
            "OPENAI_API_KEY",
            "changeme123",
            "user@example.com",
            "https://example.com/x",
            "process.env.TOKEN",
            "xxxxxxxxxxxx",
            "sk-...",
            "pk_live_abcdef123456",
            "getToken()",
            "ENC[AES256_GCM,data:abc]",
            "{{ .Values.password }}",
            "short",
            "CamelCaseWord",
            "00000000",
            "gwx_env_0123456789ABCDEF",
            "arn:aws:secretsmanager:us-east-1:1:secret:x",
        ] {
            assert!(!secret_value(v.as_bytes(), true), "{v}");
        }
    }

    #[test]
    fn unquoted_code_is_not_a_value() {
        for v in [
            "Token![:]",
            "aead::LessSafeKey",
            "paren_token;",
            "config.enable_x;",
            "Vec<u8>",
        ] {
            assert!(!secret_value(v.as_bytes(), false), "{v}");
        }
        assert!(secret_value(b"Summer2024!", false));
    }

    #[test]
    fn short_words_never_propagate() {
        assert!(!propagatable(b"default"));
        assert!(!propagatable(b"postgres"));
        assert!(propagatable(b"hunter22"));
    }
}
