//! A strict RFC 8259 walker over raw bytes. It never builds a tree: it validates the whole
//! body and hands each string value that the field map ([`crate::fields`]) marks as conversation text to a
//! callback, as a raw byte range, with the tagged members the call ↔ result hints need
//! ([`crate::fields::Tag`]) and the [`Owner`] of each.

use crate::error::RedactError;
use gateway_core::Api;

use crate::fields::{Ctx, FieldMap, Slot, Tag};

/// Arrays/objects deeper than this are refused; agent bodies stay well under 32.
pub(crate) const MAX_DEPTH: usize = 256;

/// The raw content of one string value (between its quotes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct StrSpan {
    /// First content byte.
    pub(crate) start: usize,
    /// One past the last content byte (the closing quote's offset).
    pub(crate) end: usize,
    /// Whether the raw content contains a `\` escape.
    pub(crate) escaped: bool,
}

/// The objects a string sits in, as far as tool calls go: its message (an Anthropic or
/// Chat message, a Responses item) and its outermost block (a content block, a Chat tool
/// call). Ordinals count objects in body order from 1; 0 is "none".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) struct Owner {
    pub(crate) message: u32,
    pub(crate) block: u32,
}

/// One string the walk reports: scanned (`scan`), tagged (`tag`), or both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Visit {
    pub(crate) span: StrSpan,
    pub(crate) scan: bool,
    pub(crate) tag: Option<Tag>,
    pub(crate) owner: Owner,
}

#[derive(Clone, Copy)]
struct Frame {
    object: bool,
    ctx: Ctx,
    first: bool,
    owner: Owner,
}

struct Walker<'a> {
    src: &'a [u8],
    pos: usize,
    /// The last [`Owner`] ordinal handed out.
    objects: u32,
}

fn fail(offset: usize, reason: &'static str) -> RedactError {
    RedactError::InvalidJson { offset, reason }
}

/// Validates `src` as one JSON value and calls `visit` for every non-empty string value to
/// scan or tagged.
pub(crate) fn walk(
    src: &[u8],
    surface: Api,
    visit: &mut dyn FnMut(Visit),
) -> Result<(), RedactError> {
    let mut w = Walker {
        src,
        pos: 0,
        objects: 0,
    };
    let mut stack: Vec<Frame> = Vec::with_capacity(16);
    w.ws();
    w.value(surface.root(), &mut stack, visit)?;
    while let Some(top) = stack.last_mut() {
        w.ws();
        let close = if top.object { b'}' } else { b']' };
        let Some(&b) = w.src.get(w.pos) else {
            return Err(fail(w.pos, "unexpected end of input"));
        };
        if b == close {
            w.pos += 1;
            stack.pop();
            continue;
        }
        if top.first {
            top.first = false;
        } else if b == b',' {
            w.pos += 1;
            w.ws();
        } else {
            return Err(fail(w.pos, "expected ',' or closing bracket"));
        }
        let (object, ctx) = (top.object, top.ctx);
        let slot = if object {
            let key = w.key()?;
            surface.member(ctx, key)
        } else {
            surface.element(ctx)
        };
        w.value(slot, &mut stack, visit)?;
    }
    w.ws();
    if w.pos != src.len() {
        return Err(fail(w.pos, "trailing characters after the JSON value"));
    }
    Ok(())
}

impl<'a> Walker<'a> {
    /// The owner of a new object in context `ctx` under `parent`: a message (or Responses
    /// item) starts a fresh one; the outermost block (or Chat tool call) in it gets its own
    /// ordinal, and blocks nested in that block (tool result content) share it.
    fn owner_of(&mut self, ctx: Ctx, parent: Owner) -> Owner {
        match ctx {
            Ctx::Message | Ctx::Item => {
                self.objects += 1;
                Owner {
                    message: self.objects,
                    block: 0,
                }
            }
            Ctx::Block | Ctx::ToolCall if parent.block == 0 => {
                self.objects += 1;
                Owner {
                    block: self.objects,
                    ..parent
                }
            }
            _ => parent,
        }
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.src.get(self.pos) {
            self.pos += 1;
        }
    }

    /// Reads `"key"` and the `:` after it; returns the raw key bytes.
    fn key(&mut self) -> Result<&'a [u8], RedactError> {
        if self.src.get(self.pos) != Some(&b'"') {
            return Err(fail(self.pos, "expected a string key"));
        }
        let span = self.string()?;
        self.ws();
        if self.src.get(self.pos) != Some(&b':') {
            return Err(fail(self.pos, "expected ':'"));
        }
        self.pos += 1;
        self.ws();
        Ok(&self.src[span.start..span.end])
    }

    fn value(
        &mut self,
        slot: Slot,
        stack: &mut Vec<Frame>,
        visit: &mut dyn FnMut(Visit),
    ) -> Result<(), RedactError> {
        let Some(&b) = self.src.get(self.pos) else {
            return Err(fail(self.pos, "expected a value"));
        };
        let parent = stack.last().map_or(Owner::default(), |f| f.owner);
        match b {
            b'{' | b'[' => {
                if stack.len() >= MAX_DEPTH {
                    return Err(RedactError::TooDeep { limit: MAX_DEPTH });
                }
                self.pos += 1;
                let object = b == b'{';
                let owner = if object {
                    self.owner_of(slot.ctx, parent)
                } else {
                    parent
                };
                stack.push(Frame {
                    object,
                    ctx: slot.ctx,
                    first: true,
                    owner,
                });
                Ok(())
            }
            b'"' => {
                let span = self.string()?;
                if (slot.scan || slot.tag.is_some()) && span.end > span.start {
                    visit(Visit {
                        span,
                        scan: slot.scan,
                        tag: slot.tag,
                        owner: parent,
                    });
                }
                Ok(())
            }
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.number(),
            _ => Err(fail(self.pos, "expected a value")),
        }
    }

    fn literal(&mut self, word: &[u8]) -> Result<(), RedactError> {
        if self.src[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(fail(self.pos, "invalid literal"))
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while let Some(b'0'..=b'9') = self.src.get(self.pos) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Result<(), RedactError> {
        if self.src.get(self.pos) == Some(&b'-') {
            self.pos += 1;
        }
        match self.src.get(self.pos) {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(fail(self.pos, "invalid number")),
        }
        if self.src.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return Err(fail(self.pos, "invalid number fraction"));
            }
        }
        if let Some(b'e' | b'E') = self.src.get(self.pos) {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.src.get(self.pos) {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(fail(self.pos, "invalid number exponent"));
            }
        }
        Ok(())
    }

    /// Reads a string starting at the opening quote; validates escapes and control bytes.
    fn string(&mut self) -> Result<StrSpan, RedactError> {
        let start = self.pos + 1;
        let mut i = start;
        let mut escaped = false;
        loop {
            let Some(off) = find_special(&self.src[i..]) else {
                return Err(fail(self.src.len(), "unterminated string"));
            };
            i += off;
            match self.src[i] {
                b'"' => {
                    self.pos = i + 1;
                    return Ok(StrSpan {
                        start,
                        end: i,
                        escaped,
                    });
                }
                b'\\' => {}
                _ => return Err(fail(i, "control character in string")),
            }
            escaped = true;
            match self.src.get(i + 1) {
                Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => i += 2,
                Some(b'u') => {
                    let hex = self.src.get(i + 2..i + 6);
                    if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                        return Err(fail(i, "invalid \\u escape"));
                    }
                    i += 6;
                }
                _ => return Err(fail(i, "invalid escape")),
            }
        }
    }
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// High bit set in each byte of `x` equal to `b`. Exact up to the first such byte (a borrow
/// can only mark bytes above a real match), so the lowest set bit is always right.
pub(crate) fn eq_mask(x: u64, b: u8) -> u64 {
    let y = x ^ (LO * u64::from(b));
    y.wrapping_sub(LO) & !y & HI
}

/// First `"`, `\\` or control byte in `s`, 8 bytes at a time (SWAR): the lowest set bit of
/// the word mask is the answer, so a hit costs one `trailing_zeros`, not a byte loop.
fn find_special(s: &[u8]) -> Option<usize> {
    let mut chunks = s.chunks_exact(8);
    let mut i = 0;
    for chunk in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        let x = u64::from_le_bytes(w);
        let control = x.wrapping_sub(LO * 0x20) & !x & HI;
        let hit = eq_mask(x, b'"') | eq_mask(x, b'\\') | control;
        if hit != 0 {
            return Some(i + (hit.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
        .map(|p| i + p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scanned(body: &str, surface: Api) -> Result<Vec<String>, RedactError> {
        let mut out = Vec::new();
        walk(body.as_bytes(), surface, &mut |v| {
            if v.scan {
                out.push(body[v.span.start..v.span.end].to_owned());
            }
        })?;
        Ok(out)
    }

    #[test]
    fn anthropic_body_visits_text_tool_results_and_inputs_only() {
        let body = r#"{"model":"m","system":[{"type":"text","text":"sys","cache_control":{"type":"ephemeral"}}],
          "messages":[{"role":"user","content":"hi"},
            {"role":"assistant","content":[{"type":"thinking","thinking":"hmm","signature":"sig"},
              {"type":"tool_use","id":"toolu_1","name":"Bash","input":{"command":"cat .env","n":[1,"x"]}}]},
            {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":[{"type":"text","text":"A=1"},
              {"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBOR"}}]},
              {"type":"tool_result","tool_use_id":"t2","content":"out"}]}],
          "tools":[{"name":"Bash","description":"desc"}]}"#;
        let got = scanned(body, Api::AnthropicMessages).unwrap();
        assert_eq!(got, ["sys", "hi", "cat .env", "x", "A=1", "out"]);
    }

    #[test]
    fn openai_chat_visits_content_and_arguments() {
        let body = r#"{"messages":[{"role":"system","content":"s"},
            {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},
            {"role":"tool","tool_call_id":"c1","content":"res"},
            {"role":"user","content":[{"type":"text","text":"t"},{"type":"image_url","image_url":{"url":"data:x"}}]}]}"#;
        let got = scanned(body, Api::OpenAiChat).unwrap();
        assert_eq!(got, ["s", r#"{\"a\":1}"#, "res", "t"]);
    }

    #[test]
    fn openai_responses_visits_items() {
        let body = r#"{"instructions":"i","input":[{"role":"user","content":[{"type":"input_text","text":"u"}]},
            {"type":"function_call","call_id":"c","name":"n","arguments":"{}"},
            {"type":"function_call_output","call_id":"c","output":"o"},
            {"type":"reasoning","encrypted_content":"enc","summary":[{"type":"summary_text","text":"r"}]}]}"#;
        let got = scanned(body, Api::OpenAiResponses).unwrap();
        assert_eq!(got, ["i", "u", "{}", "o"]);
    }

    #[test]
    fn invalid_json_is_refused_with_an_offset() {
        for bad in [
            "",
            "{",
            "{\"a\":}",
            "[1,]",
            "{\"a\" 1}",
            "\"\\x\"",
            "\"a\u{1}\"",
            "01",
            "1.",
            "[1] x",
            "{\"a\":tru}",
            "\"\\u12\"",
            "-",
            "[",
            "{\"a\":1,}",
        ] {
            let err = scanned(bad, Api::AnthropicMessages);
            assert!(err.is_err(), "accepted {bad:?}");
        }
        for good in [
            "1",
            "-0.5e+3",
            "\"\\u00e9\\n\"",
            "[]",
            "{}",
            " [ null , true ] ",
        ] {
            assert!(scanned(good, Api::AnthropicMessages).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn special_byte_search_matches_a_plain_scan() {
        let mut data: Vec<u8> = (0u8..=255).cycle().take(600).collect();
        for start in 0..40 {
            for cut in [start, start + 7, start + 8, start + 9, 599] {
                data[cut] = b'a';
                let s = &data[start..];
                let plain = s.iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20);
                assert_eq!(find_special(s), plain);
            }
        }
        // Every byte value at every lane, after bytes that borrow (0x00, 0x01, 0x20, 0x21).
        for v in 0u8..=255 {
            for lane in 0..8 {
                for fill in [0x00, 0x01, 0x20, 0x21, 0x23, 0x5d, 0xff] {
                    let mut w = [b'a'; 16];
                    w[lane] = v;
                    w[lane + 1] = fill;
                    let plain = w.iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20);
                    assert_eq!(find_special(&w), plain, "{v:#x} at {lane} then {fill:#x}");
                }
            }
        }
        assert_eq!(find_special(b"abcdefghijklmnop\"x"), Some(16));
        assert_eq!(find_special(b"abcdefgh"), None);
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        assert_eq!(
            scanned(&deep, Api::OpenAiChat),
            Err(RedactError::TooDeep { limit: MAX_DEPTH })
        );
    }
}
