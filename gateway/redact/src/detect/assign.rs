//! The `KEY=VALUE` lexer behind tier T3: one grammar for `.env` (with `export`, quotes,
//! ` #` comments), YAML, INI (`~/.aws/credentials`), JSON/dict keys, shell, `printenv`,
//! `docker inspect`, Kubernetes `env:` (name and value on separate lines), `.npmrc`, `.netrc`,
//! XML elements, header lines and CLI flags. It judges by the variable name first and the
//! value's shape second; unquoted values count only where config files put them (line
//! start, after `;`/`&`/`?`/`:`, inside one quoted `"NAME=value"` string), so code such as
//! `let token = config.token;` is left alone.

use super::judge;
use super::lines::{self, line_start};
use super::name::sensitive_name;
use crate::placeholder;

const MAX_NAME: usize = 96;
const MAX_VALUE: usize = 1024;

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')
}

fn is_quote(b: u8) -> bool {
    matches!(b, b'"' | b'\'' | b'`')
}

fn skip_blanks(text: &[u8], mut p: usize) -> usize {
    while let Some(b' ' | b'\t') = text.get(p) {
        p += 1;
    }
    p
}

fn trim(s: &[u8]) -> &[u8] {
    s.trim_ascii()
}

/// Whether the name at `k` starts a config line (after the line's prefix, indentation and an
/// optional keyword).
fn starts_line(text: &[u8], k: usize) -> bool {
    const LEADS: &[&[u8]] = &[
        b"",
        b"export",
        b"set",
        b"-",
        b"ENV",
        b"ARG",
        b"readonly",
        b"declare -x",
        b"local",
        b"setenv",
        b"$env:",
    ];
    line_start(text, k).is_some_and(|ls| {
        let p = lines::skip_prefix(text, ls, k);
        LEADS.contains(&trim(&text[p..k]))
    })
}

/// Finds the value of a sensitive-looking assignment whose name contains byte `hit`.
/// Returns the value span (if any) and where the name ends (so callers skip other anchors
/// inside the same name).
pub(crate) fn assignment(text: &[u8], hit: usize) -> (Option<(usize, usize)>, usize) {
    let mut s = hit;
    // Stop at an escaped line break (`\n` in text that holds JSON) as at a real one.
    while s > 0 && is_ident(text[s - 1]) && !(s >= 2 && text[s - 2] == b'\\') {
        if hit - s > MAX_NAME {
            return (None, hit + 1);
        }
        s -= 1;
    }
    let mut e = hit;
    while e < text.len() && is_ident(text[e]) && e - s <= MAX_NAME {
        e += 1;
    }
    let name_end = e;
    while e > s && matches!(text[e - 1], b'.' | b'-') {
        e -= 1;
    }
    // A search tool's context line (`app/.env-3-NAME=…`): the name starts after the prefix.
    if text[s..e].contains(&b'-')
        && let Some(ls) = line_start(text, s)
    {
        let p = lines::skip_prefix(text, ls, e);
        if s < p && p < e {
            s = p;
        }
    }
    let name = &text[s..e];
    // Cheapest test first: most anchor hits in code have no assignment after the name.
    let span = value_after(text, s, e)
        // A name holding one of our placeholders is text redacted already (a value found
        // elsewhere and replaced inside it): judged again, its value would be new.
        .filter(|_| !placeholder::appears_in(name) && sensitive_name(name))
        .filter(|&(vs, ve)| {
            let quoted = vs > 0 && is_quote(text[vs - 1]);
            judge::secret_value(&text[vs..ve], quoted)
        })
        .filter(|&(vs, ve)| {
            !(names_basic_auth(name)
                && super::structural::encoded_user_pass(&text[vs..ve]) == Some(false))
        });
    (span, name_end)
}

/// `auth` / `_auth` (Docker `config.json`, `.npmrc`): the value is base64 `user:password`,
/// judged decoded, so a documentation placeholder stays.
fn names_basic_auth(name: &[u8]) -> bool {
    let last = name
        .rsplit(|&b| matches!(b, b'_' | b'-' | b'.'))
        .next()
        .unwrap_or(name);
    last.eq_ignore_ascii_case(b"auth")
}

#[derive(Clone, Copy)]
struct Ctx {
    /// Unquoted values are acceptable here.
    unquoted_ok: bool,
    /// The quote that opened a `"NAME=value"` string, ending the value.
    enclosing: Option<u8>,
    /// `;`/`&` end the value (connection strings, query strings).
    list: bool,
}

fn value_after(text: &[u8], s: usize, e: usize) -> Option<(usize, usize)> {
    let before = if s > 0 { text[s - 1] } else { b'\n' };
    let quote_before = is_quote(before);
    let mut p = e;
    // `\"key\": \"value\"`: JSON shown inside JSON that was not decoded as often as it was
    // encoded (`\\\"` one level deeper); the same run of backslashes closes the key.
    let depth = if before == b'"' {
        text[..s - 1]
            .iter()
            .rev()
            .take_while(|&&b| b == b'\\')
            .count()
    } else {
        0
    };
    let escaped_key = depth > 0;
    let key_quoted = if escaped_key {
        escaped_quote(text, p) == Some(depth)
    } else {
        quote_before && text.get(p) == Some(&before)
    };
    if key_quoted {
        p += depth + 1;
    }
    if before == b'<' && text.get(p) == Some(&b'>') {
        return xml_value(text, p + 1);
    }
    let name_at = if escaped_key {
        s - 1 - depth
    } else if quote_before {
        s - 1
    } else {
        s
    };
    let flag = text[s..e].starts_with(b"--");
    let after_name = p;
    p = skip_blanks(text, p);
    let op = match (text.get(p), text.get(p + 1)) {
        (Some(b'='), Some(b'=' | b'~')) | (Some(b':'), Some(b':')) => return None,
        (Some(b'='), Some(b'>')) if key_quoted => 2,
        (Some(b'='), Some(b'>')) => return None,
        (Some(b':'), Some(b'=')) => 2,
        (Some(b'=' | b':'), _) => 1,
        _ => 0,
    };
    // `;`/`&`/`?` separate connection-string and query parameters; `/:_authToken=` is .npmrc.
    let list = matches!(before, b';' | b'&' | b'?');
    let npmrc = before == b':' && text.get(p) == Some(&b'=');
    let enclosing = (quote_before && !key_quoted).then_some(before);
    let mut ctx = Ctx {
        unquoted_ok: flag || list || npmrc || enclosing.is_some() || starts_line(text, name_at),
        enclosing,
        list,
    };
    if op == 0 {
        if p > after_name && (flag || netrc_password(text, s, e)) {
            ctx.unquoted_ok = true;
            return value_at(text, p, ctx);
        }
        return k8s_value(text, name_at, after_name);
    }
    p = skip_blanks(text, p + op);
    value_at(text, p, ctx)
}

fn value_at(text: &[u8], p: usize, ctx: Ctx) -> Option<(usize, usize)> {
    let &first = text.get(p)?;
    if Some(first) == ctx.enclosing {
        return None;
    }
    if is_quote(first) {
        return quoted(text, p);
    }
    if let Some(depth) = escaped_quote(text, p) {
        // `\"value\"` (or `\\\"value\\\"` one level deeper): an escaped quote pair in text
        // that holds JSON.
        let open = p + depth + 1;
        let rest = &text[open..text.len().min(open + MAX_VALUE)];
        let end = memchr::memchr_iter(b'"', rest)
            .find(|&i| escaped_quote(rest, i.saturating_sub(depth)) == Some(depth) && i >= depth)?
            - depth;
        let stop = rest[..end]
            .iter()
            .any(|&b| b == b'\n' || b == b'\r' || b == b'"');
        return (end > 0 && !stop).then_some((open, open + end));
    }
    if !ctx.unquoted_ok {
        return None;
    }
    let mut q = p;
    while let Some(&b) = text.get(q) {
        let stop = b.is_ascii_whitespace()
            || is_quote(b)
            || matches!(b, b',' | b')' | b']' | b'}' | b'<')
            || (ctx.list && matches!(b, b';' | b'&'))
            || (b == b'\\' && escape_ends_value(text, q));
        if stop || q - p > MAX_VALUE {
            break;
        }
        q += 1;
    }
    // `field: value,` / `x = y;` / `f(a: b)` / `T<U>`: code, not a config line (`;` lists
    // excepted).
    if !ctx.list
        && matches!(
            text.get(q),
            Some(b',' | b';' | b')' | b'(' | b'<' | b'[' | b']' | b'{' | b'}')
        )
    {
        return None;
    }
    (q > p).then_some((p, q))
}

/// The number of backslashes of an escaped quote (`\"`, `\\\"`, …) starting at `p`.
fn escaped_quote(text: &[u8], p: usize) -> Option<usize> {
    lines::escaped(text, p, b'"').map(|len| len - 1)
}

/// Whether the backslashes at `q` escape a line break, tab or quote at any nesting depth
/// (`\n`, `\\n`, `\\\"`…): the end of an unquoted value.
fn escape_ends_value(text: &[u8], q: usize) -> bool {
    [b'n', b'r', b't', b'"']
        .iter()
        .any(|&b| lines::escaped(text, q, b).is_some())
}

/// A quoted value on one line; `"` honours backslash escapes.
fn quoted(text: &[u8], open: usize) -> Option<(usize, usize)> {
    let q = text[open];
    let mut i = open + 1;
    while let Some(&b) = text.get(i) {
        if b == q {
            return (i > open + 1).then_some((open + 1, i));
        }
        if b == b'\n' || b == b'\r' || i - open > MAX_VALUE {
            return None;
        }
        if b == b'\\' && q == b'"' {
            // `\n` etc. inside nested JSON text ends the value as a line break would.
            if matches!(text.get(i + 1), Some(b'n' | b'r')) {
                return None;
            }
            i += 1;
        }
        i += 1;
    }
    None
}

fn xml_value(text: &[u8], p: usize) -> Option<(usize, usize)> {
    let rest = text.get(p..)?;
    let end = rest.iter().take(MAX_VALUE).position(|&b| b == b'<')?;
    let v = &rest[..end];
    let lead = v.len() - v.trim_ascii_start().len();
    let tail = v.len() - v.trim_ascii_end().len();
    (end > lead + tail).then_some((p + lead, p + end - tail))
}

/// `.netrc`: `machine h login u password p`, on one line or several (the word two before
/// must be `login`/`machine`/`account`; line-number prefixes and escaped breaks are not words).
fn netrc_password(text: &[u8], s: usize, e: usize) -> bool {
    let name = &text[s..e];
    if !(name.eq_ignore_ascii_case(b"password") || name.eq_ignore_ascii_case(b"passwd")) {
        return false;
    }
    let head = lines::words_before(text, s, 160);
    let mut words = head
        .split(u8::is_ascii_whitespace)
        .rev()
        .filter(|w| !w.is_empty() && !lines::is_line_number(w));
    let _value_of_previous = words.next();
    matches!(words.next(), Some(b"login" | b"machine" | b"account"))
}

/// Kubernetes / compose list form: `- name: DB_PASSWORD` then `value: "…"` on the next line.
fn k8s_value(text: &[u8], name_at: usize, after_name: usize) -> Option<(usize, usize)> {
    // Only the bytes right before the name count, so the result never depends on how long
    // the rest of the line is (a redacted line gets shorter; redaction must be idempotent).
    let before = trim(&text[name_at.saturating_sub(16)..name_at]);
    if !(before.ends_with(b"name:") || before.ends_with(b"\"name\":")) {
        return None;
    }
    let p = lines::next_line(text, skip_blanks(text, after_name))?;
    let p = lines::skip_prefix(text, p, text.len());
    let rest = text.get(p..)?;
    let label = if rest.starts_with(b"value:") {
        6
    } else if rest.starts_with(b"\"value\":") {
        8
    } else {
        return None;
    };
    let ctx = Ctx {
        unquoted_ok: true,
        enclosing: None,
        list: false,
    };
    value_at(text, skip_blanks(text, p + label), ctx)
}

#[cfg(test)]
mod tests;
