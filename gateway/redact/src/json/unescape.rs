//! JSON string unescaping with an offset map, so a finding in decoded text maps back to an
//! exact raw byte range that starts and ends on escape boundaries.

use super::walk::eq_mask;

/// How strictly to decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// The raw content of a string the walker validated: every `\` starts a valid escape.
    Strict,
    /// Text that may or may not be JSON (a decoded string holding JSON): valid escapes are
    /// decoded, anything else is kept literally.
    Lenient,
}

/// One decoded escape sequence; bytes between escapes are copied one to one.
#[derive(Clone, Copy, Debug)]
struct Seg {
    /// Offset in the decoded text where the escape's output starts.
    dec: u32,
    /// Offset in the raw text where the escape starts.
    raw: u32,
    /// Length of the escape in raw bytes (2, 6 or 12).
    raw_len: u8,
    /// Length of its output in decoded bytes (1 to 4).
    dec_len: u8,
}

/// A decoded string and the map back to its raw bytes. Reused across strings as scratch.
#[derive(Debug, Default)]
pub(crate) struct Decoded {
    pub(crate) text: Vec<u8>,
    segs: Vec<Seg>,
}

fn hex4(b: &[u8]) -> Option<u32> {
    let mut v = 0u32;
    for &c in b.get(..4)? {
        v = v * 16 + char::from(c).to_digit(16)?;
    }
    Some(v)
}

/// Offsets are stored as u32; the redactor refuses bodies over 4 GiB before decoding.
fn off(v: usize) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

impl Decoded {
    /// Decodes `raw` into `self`; returns how many escapes were decoded.
    pub(crate) fn decode(&mut self, raw: &[u8], mode: Mode) -> usize {
        self.text.clear();
        self.segs.clear();
        self.text.reserve(raw.len());
        let mut i = 0;
        while let Some(at) = self.copy_to_backslash(raw, i) {
            match Self::escape(&raw[at..]) {
                Some((ch, len)) => {
                    let mut buf = [0u8; 4];
                    let out = ch.encode_utf8(&mut buf).as_bytes();
                    self.segs.push(Seg {
                        dec: off(self.text.len()),
                        raw: off(at),
                        raw_len: u8::try_from(len).unwrap_or(u8::MAX),
                        dec_len: u8::try_from(out.len()).unwrap_or(u8::MAX),
                    });
                    self.text.extend_from_slice(out);
                    i = at + len;
                }
                None => {
                    // Lenient mode (or a malformed strict input): keep the backslash as text.
                    debug_assert!(mode == Mode::Lenient, "walker validated escapes");
                    self.text.push(b'\\');
                    i = at + 1;
                }
            }
        }
        self.segs.len()
    }

    /// Copies `raw[from..]` into the text up to the next backslash and returns its offset, or
    /// copies everything and returns `None`. Eight bytes at a time: runs between escapes in
    /// code are ~20 bytes, too short for a `memchr` + `memcpy` call pair to pay off.
    fn copy_to_backslash(&mut self, raw: &[u8], from: usize) -> Option<usize> {
        let mut i = from;
        while let Some(chunk) = raw.get(i..i + 8) {
            let mut w = [0u8; 8];
            w.copy_from_slice(chunk);
            self.text.extend_from_slice(&w);
            let hit = eq_mask(u64::from_le_bytes(w), b'\\');
            if hit != 0 {
                let k = (hit.trailing_zeros() / 8) as usize;
                self.text.truncate(self.text.len() - 8 + k);
                return Some(i + k);
            }
            i += 8;
        }
        let rest = &raw[i..];
        let k = memchr::memchr(b'\\', rest);
        self.text
            .extend_from_slice(&rest[..k.unwrap_or(rest.len())]);
        k.map(|k| i + k)
    }

    /// Decodes one escape at the start of `s` (which begins with `\`): (char, raw length).
    fn escape(s: &[u8]) -> Option<(char, usize)> {
        let c = match s.get(1)? {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let hi = hex4(s.get(2..)?)?;
                if (0xD800..0xDC00).contains(&hi) {
                    let lo = match s.get(6..8) {
                        Some(b"\\u") => s.get(8..).and_then(hex4),
                        _ => None,
                    };
                    if let Some(lo @ 0xDC00..0xE000) = lo {
                        let cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                        return Some((char::from_u32(cp).unwrap_or('\u{FFFD}'), 12));
                    }
                }
                return Some((char::from_u32(hi).unwrap_or('\u{FFFD}'), 6));
            }
            _ => return None,
        };
        Some((c, 2))
    }

    /// The raw offset of decoded byte `d` and whether it lies inside an escape's output
    /// (then the offset is the escape's start).
    fn locate(&self, d: usize) -> (usize, Option<&Seg>) {
        let i = self.segs.partition_point(|s| s.dec as usize <= d);
        let Some(s) = i.checked_sub(1).and_then(|i| self.segs.get(i)) else {
            return (d, None);
        };
        let out_end = s.dec as usize + usize::from(s.dec_len);
        if d < out_end {
            (s.raw as usize, Some(s))
        } else {
            (
                s.raw as usize + usize::from(s.raw_len) + (d - out_end),
                None,
            )
        }
    }

    /// Raw offset where decoded byte `d` starts (the escape start if `d` is inside one).
    pub(crate) fn raw_start(&self, d: usize) -> usize {
        self.locate(d).0
    }

    /// Raw offset one past decoded byte `d - 1` (the escape end if it is inside one).
    pub(crate) fn raw_end(&self, d: usize) -> usize {
        let Some(last) = d.checked_sub(1) else {
            return 0;
        };
        match self.locate(last) {
            (raw, Some(s)) => raw + usize::from(s.raw_len),
            (raw, None) => raw + 1,
        }
    }
}

/// Whether decoded text holds escapes worth a second, lenient decode (JSON inside JSON).
pub(crate) fn has_nested_escapes(text: &[u8]) -> bool {
    memchr::memchr_iter(b'\\', text).any(|i| {
        matches!(
            text.get(i + 1),
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' | b'u')
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_map_back_to_escape_boundaries() {
        let raw = br#"a\"b\u00e9c\ud83d\ude00d\\e"#;
        let mut d = Decoded::default();
        assert_eq!(d.decode(raw, Mode::Strict), 4);
        assert_eq!(d.text, "a\"béc\u{1F600}d\\e".as_bytes());
        let text = String::from_utf8(d.text.clone()).unwrap();
        let c = text.find('c').unwrap();
        assert_eq!(&raw[d.raw_start(c)..d.raw_end(c + 1)], b"c");
        // The whole decoded text maps to the whole raw text.
        assert_eq!(d.raw_start(0), 0);
        assert_eq!(d.raw_end(d.text.len()), raw.len());
        // A span covering the emoji covers its whole surrogate pair.
        let e = text.find('\u{1F600}').unwrap();
        assert_eq!(&raw[d.raw_start(e)..d.raw_end(e + 4)], br"\ud83d\ude00");
        // Inside a multi-byte output, start and end snap outwards.
        assert_eq!(&raw[d.raw_start(e + 1)..d.raw_end(e + 2)], br"\ud83d\ude00");
    }

    #[test]
    fn lenient_mode_keeps_invalid_escapes() {
        let mut d = Decoded::default();
        assert_eq!(d.decode(br"C:\x\n\u12", Mode::Lenient), 1);
        assert_eq!(d.text, b"C:\\x\n\\u12");
        assert_eq!(d.raw_end(d.text.len()), 10);
        assert!(has_nested_escapes(br#"{\"a\":1}"#));
        assert!(!has_nested_escapes(br"C:\x"));
    }
}
