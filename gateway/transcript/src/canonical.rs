//! The canonical JSON of a block, written straight from the request's bytes: exactly what
//! `serde_json::to_vec(&serde_json::from_str::<Value>(raw))` gives (compact, object keys
//! sorted, the last of duplicate keys kept, strings escaped the way `serde_json` escapes
//! them), without building a `Value` tree.
//!
//! Most of a block is string content: a string without a backslash is copied as it is (its
//! raw bytes are already what `serde_json` would write), so the work per byte is finding the
//! closing quote (`memchr`). Strings with escapes, numbers and object keys with escapes go
//! through `serde_json` to get its exact spelling.
//!
//! The input is JSON that `serde_json` already parsed (a `&RawValue`); anything else is
//! refused with [`Invalid`] and the caller falls back to leaving the part out.

use std::borrow::Cow;

/// The input was not one well-formed JSON value (or nested deeper than [`MAX_DEPTH`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Invalid;

/// Deepest nesting accepted (as `serde_json`'s own recursion limit).
pub(crate) const MAX_DEPTH: usize = 128;

/// What [`write_block`] leaves out of a block's top-level object.
const CACHE_CONTROL: &str = "cache_control";
const SIGNATURE: &str = "signature";
/// The canonical `"type"` value of a thinking block, whose signature is left out.
const THINKING_TYPE: &[u8] = b"\"thinking\"";

/// Appends the canonical form of `raw` to `out`.
pub(crate) fn write_value(raw: &str, out: &mut Vec<u8>) -> Result<(), Invalid> {
    let mut p = Parser::new(raw);
    p.value(out, 0, Filter::None)?;
    p.end()
}

/// Appends the canonical form of the block `raw` to `out`: a top-level object loses its
/// `cache_control` member and, when its `type` is `thinking`, its `signature`.
pub(crate) fn write_block(raw: &str, out: &mut Vec<u8>) -> Result<(), Invalid> {
    let mut p = Parser::new(raw);
    p.value(out, 0, Filter::Block)?;
    p.end()
}

/// Appends the canonical form of the JSON string token `raw` (with its quotes).
pub(crate) fn write_string(raw: &str, out: &mut Vec<u8>) -> Result<(), Invalid> {
    let mut p = Parser::new(raw);
    p.skip_ws();
    if p.peek() != Some(b'"') {
        return Err(Invalid);
    }
    p.string(out)?;
    p.end()
}

/// The decoded text of the JSON string token `raw`, borrowed when it has no escapes.
pub(crate) fn decode_string(raw: &str) -> Option<Cow<'_, str>> {
    let inner = raw.trim().strip_prefix('"')?.strip_suffix('"')?;
    if !inner.contains('\\') {
        return Some(Cow::Borrowed(inner));
    }
    serde_json::from_str::<String>(raw).ok().map(Cow::Owned)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Filter {
    None,
    Block,
}

struct Parser<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
}

/// One member of an object being canonicalized: its decoded key and where its canonical
/// value sits in the output buffer.
struct Member<'a> {
    key: Cow<'a, str>,
    start: usize,
    end: usize,
}

impl<'a> Parser<'a> {
    fn new(s: &'a str) -> Self {
        Self {
            s,
            b: s.as_bytes(),
            i: 0,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.peek() {
            self.i += 1;
        }
    }

    fn expect(&mut self, byte: u8) -> Result<(), Invalid> {
        self.skip_ws();
        if self.peek() == Some(byte) {
            self.i += 1;
            Ok(())
        } else {
            Err(Invalid)
        }
    }

    fn end(&mut self) -> Result<(), Invalid> {
        self.skip_ws();
        if self.i == self.b.len() {
            Ok(())
        } else {
            Err(Invalid)
        }
    }

    fn value(&mut self, out: &mut Vec<u8>, depth: usize, filter: Filter) -> Result<(), Invalid> {
        if depth >= MAX_DEPTH {
            return Err(Invalid);
        }
        self.skip_ws();
        match self.peek().ok_or(Invalid)? {
            b'{' => self.object(out, depth, filter),
            b'[' => self.array(out, depth),
            b'"' => self.string(out),
            b't' => self.literal(out, "true"),
            b'f' => self.literal(out, "false"),
            b'n' => self.literal(out, "null"),
            b'-' | b'0'..=b'9' => self.number(out),
            _ => Err(Invalid),
        }
    }

    fn literal(&mut self, out: &mut Vec<u8>, word: &str) -> Result<(), Invalid> {
        if self.s.get(self.i..self.i + word.len()) != Some(word) {
            return Err(Invalid);
        }
        self.i += word.len();
        out.extend_from_slice(word.as_bytes());
        Ok(())
    }

    fn number(&mut self, out: &mut Vec<u8>) -> Result<(), Invalid> {
        let start = self.i;
        while let Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') = self.peek() {
            self.i += 1;
        }
        let token = self.s.get(start..self.i).ok_or(Invalid)?;
        // serde_json's own reading (as a value in a document) and spelling: integers stay
        // integers, floats are read exactly (`float_roundtrip`) and written shortest (ryu).
        let number: serde_json::Value = serde_json::from_str(token).map_err(|_| Invalid)?;
        if !number.is_number() {
            return Err(Invalid);
        }
        serde_json::to_writer(&mut *out, &number).map_err(|_| Invalid)
    }

    /// The raw string token at the cursor (quotes included). One `memchr` per quote: a quote
    /// ends the string unless an odd run of backslashes precedes it.
    fn string_token(&mut self) -> Result<&'a str, Invalid> {
        let start = self.i;
        let mut at = self.i + 1;
        loop {
            let rest = self.b.get(at..).ok_or(Invalid)?;
            at += memchr::memchr(b'"', rest).ok_or(Invalid)?;
            let mut run = at;
            while run > start + 1 && self.b[run - 1] == b'\\' {
                run -= 1;
            }
            if (at - run).is_multiple_of(2) {
                break;
            }
            at += 1;
        }
        self.i = at + 1;
        self.s.get(start..self.i).ok_or(Invalid)
    }

    /// Writes the string token at the cursor as `serde_json` would write its text: escapes
    /// that are already in that spelling are copied, the others (`\/`, `\uXXXX`) rewritten.
    fn string(&mut self, out: &mut Vec<u8>) -> Result<(), Invalid> {
        let token = self.string_token()?;
        let t = token.as_bytes();
        // Fast path: no escape that serde_json spells differently (`\/`, `\uXXXX`), so the
        // token is already its canonical spelling (clients that do not escape `/` or
        // non-ASCII: nearly all agent traffic).
        let inner = &t[1..t.len() - 1];
        if !needs_respelling(inner) {
            out.extend_from_slice(t);
            return Ok(());
        }
        out.push(b'"');
        let mut i = 0;
        while let Some(found) = memchr::memchr(b'\\', &inner[i..]) {
            out.extend_from_slice(&inner[i..i + found]);
            i += found;
            match inner.get(i + 1).ok_or(Invalid)? {
                // Already how serde_json writes them.
                b'"' | b'\\' | b'n' | b'r' | b't' | b'b' | b'f' => {
                    out.extend_from_slice(&inner[i..i + 2]);
                    i += 2;
                }
                b'/' => {
                    out.push(b'/');
                    i += 2;
                }
                b'u' => i = unicode_escape(inner, i, out)?,
                _ => return Err(Invalid),
            }
        }
        out.extend_from_slice(&inner[i..]);
        out.push(b'"');
        Ok(())
    }

    /// The decoded key at the cursor: borrowed (and then also its canonical spelling) unless
    /// it has escapes.
    fn key(&mut self) -> Result<Cow<'a, str>, Invalid> {
        self.skip_ws();
        if self.peek() != Some(b'"') {
            return Err(Invalid);
        }
        let token = self.string_token()?;
        let inner = &token[1..token.len() - 1];
        if memchr::memchr(b'\\', inner.as_bytes()).is_none() {
            return Ok(Cow::Borrowed(inner));
        }
        serde_json::from_str::<String>(token)
            .map(Cow::Owned)
            .map_err(|_| Invalid)
    }

    fn array(&mut self, out: &mut Vec<u8>, depth: usize) -> Result<(), Invalid> {
        self.i += 1;
        out.push(b'[');
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            out.push(b']');
            return Ok(());
        }
        loop {
            self.value(out, depth + 1, Filter::None)?;
            self.skip_ws();
            match self.peek() {
                Some(b',') => {
                    self.i += 1;
                    out.push(b',');
                }
                Some(b']') => {
                    self.i += 1;
                    out.push(b']');
                    return Ok(());
                }
                _ => return Err(Invalid),
            }
        }
    }

    /// Writes the member values in source order after `out`'s end, then the sorted object
    /// after them, and moves that object back over both.
    fn object(&mut self, out: &mut Vec<u8>, depth: usize, filter: Filter) -> Result<(), Invalid> {
        self.i += 1;
        let base = out.len();
        let mut members: Vec<Member<'a>> = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
        } else {
            loop {
                let key = self.key()?;
                self.expect(b':')?;
                let start = out.len();
                self.value(out, depth + 1, Filter::None)?;
                members.push(Member {
                    key,
                    start,
                    end: out.len(),
                });
                self.skip_ws();
                match self.peek() {
                    Some(b',') => self.i += 1,
                    Some(b'}') => {
                        self.i += 1;
                        break;
                    }
                    _ => return Err(Invalid),
                }
            }
        }
        // Sorted by key; of equal keys the last one (a stable sort keeps source order).
        if !members.is_sorted_by(|a, b| a.key < b.key) {
            members.sort_by(|a, b| a.key.cmp(&b.key));
        }
        members.dedup_by(|later, earlier| {
            if later.key == earlier.key {
                std::mem::swap(later, earlier);
                true
            } else {
                false
            }
        });
        if filter == Filter::Block {
            let thinking = members
                .iter()
                .any(|m| m.key == "type" && out.get(m.start..m.end) == Some(THINKING_TYPE));
            members.retain(|m| m.key != CACHE_CONTROL && !(thinking && m.key == SIGNATURE));
        }
        let values_end = out.len();
        out.push(b'{');
        for (n, m) in members.iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            match &m.key {
                // A key without escapes is spelled as it came.
                Cow::Borrowed(key) => {
                    out.push(b'"');
                    out.extend_from_slice(key.as_bytes());
                    out.push(b'"');
                }
                Cow::Owned(key) => serde_json::to_writer(&mut *out, key).map_err(|_| Invalid)?,
            }
            out.push(b':');
            out.extend_from_within(m.start..m.end);
        }
        out.push(b'}');
        out.copy_within(values_end.., base);
        out.truncate(base + (out.len() - values_end));
        Ok(())
    }
}

/// Rewrites the `\uXXXX` escape (or surrogate pair) at `inner[at..]` as `serde_json` writes
/// the character it stands for; returns the index after it.
fn unicode_escape(inner: &[u8], at: usize, out: &mut Vec<u8>) -> Result<usize, Invalid> {
    let unit = |i: usize| -> Result<u32, Invalid> {
        let digits = inner.get(i..i + 4).ok_or(Invalid)?;
        let digits = std::str::from_utf8(digits).map_err(|_| Invalid)?;
        u32::from_str_radix(digits, 16).map_err(|_| Invalid)
    };
    let first = unit(at + 2)?;
    let (code, next) = match first {
        0xD800..=0xDBFF => {
            if inner.get(at + 6..at + 8) != Some(b"\\u") {
                return Err(Invalid);
            }
            let low = unit(at + 8)?;
            if !(0xDC00..=0xDFFF).contains(&low) {
                return Err(Invalid);
            }
            (0x10000 + ((first - 0xD800) << 10) + (low - 0xDC00), at + 12)
        }
        0xDC00..=0xDFFF => return Err(Invalid),
        code => (code, at + 6),
    };
    let ch = char::from_u32(code).ok_or(Invalid)?;
    match ch {
        '"' => out.extend_from_slice(b"\\\""),
        '\\' => out.extend_from_slice(b"\\\\"),
        '\n' => out.extend_from_slice(b"\\n"),
        '\r' => out.extend_from_slice(b"\\r"),
        '\t' => out.extend_from_slice(b"\\t"),
        '\u{8}' => out.extend_from_slice(b"\\b"),
        '\u{c}' => out.extend_from_slice(b"\\f"),
        _ if code < 0x20 => {
            out.extend_from_slice(b"\\u00");
            out.extend_from_slice(&[HEX[(code >> 4) as usize], HEX[(code & 0xF) as usize]]);
        }
        c => {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
    }
    Ok(next)
}

/// Whether a string token's text (quotes excluded) has an escape that `serde_json` spells
/// differently (`\/`, `\uXXXX`). One `memchr` pass from escape to escape: the character
/// after a backslash is the escape's (so `\\u` is an escaped backslash, then `u`).
fn needs_respelling(inner: &[u8]) -> bool {
    let mut i = 0;
    while let Some(found) = inner.get(i..).and_then(|rest| memchr::memchr(b'\\', rest)) {
        match inner.get(i + found + 1) {
            Some(b'u' | b'/') => return true,
            _ => i += found + 2,
        }
    }
    false
}

/// Lowercase hex digits, as `serde_json` writes `\u00XX`.
const HEX: &[u8; 16] = b"0123456789abcdef";

mod scan;
#[cfg(test)]
pub(crate) mod tests;

pub(crate) use scan::{elements, members};
