//! JSON string unescaping with an offset map, so a finding in decoded text maps back to an
//! exact raw byte range that starts and ends on escape boundaries.

/// How strictly to decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// The raw content of a string the walker validated: every `\` starts a valid escape.
    Strict,
    /// Text that may or may not be JSON (a decoded string holding JSON): valid escapes are
    /// decoded, anything else is kept literally.
    Lenient,
}

#[derive(Clone, Copy, Debug)]
struct Seg {
    /// Offset in the decoded text where this segment starts.
    dec: u32,
    /// Offset in the raw text where this segment starts.
    raw: u32,
    /// Whether the segment is one escape sequence (else a run of copied bytes).
    escape: bool,
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
        self.segs.push(Seg {
            dec: 0,
            raw: 0,
            escape: false,
        });
        let mut count = 0;
        let mut i = 0;
        while let Some(rel) = memchr::memchr(b'\\', &raw[i..]) {
            let at = i + rel;
            self.text.extend_from_slice(&raw[i..at]);
            match Self::escape(&raw[at..]) {
                Some((ch, len)) => {
                    count += 1;
                    self.segs.push(Seg {
                        dec: off(self.text.len()),
                        raw: off(at),
                        escape: true,
                    });
                    let mut buf = [0u8; 4];
                    self.text
                        .extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                    self.segs.push(Seg {
                        dec: off(self.text.len()),
                        raw: off(at + len),
                        escape: false,
                    });
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
        self.text.extend_from_slice(&raw[i..]);
        count
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

    fn seg_index(&self, d: usize) -> usize {
        self.segs
            .partition_point(|s| s.dec as usize <= d)
            .saturating_sub(1)
    }

    /// Raw offset where decoded byte `d` starts (the escape start if `d` is inside one).
    pub(crate) fn raw_start(&self, d: usize) -> usize {
        let i = self.seg_index(d);
        let Some(s) = self.segs.get(i) else { return d };
        if s.escape {
            s.raw as usize
        } else {
            s.raw as usize + (d - s.dec as usize)
        }
    }

    /// Raw offset one past decoded byte `d - 1` (the escape end if it is inside one).
    pub(crate) fn raw_end(&self, d: usize) -> usize {
        if d == 0 {
            return 0;
        }
        let i = self.seg_index(d - 1);
        let Some(s) = self.segs.get(i) else { return d };
        if s.escape {
            self.segs.get(i + 1).map_or(d, |n| n.raw as usize)
        } else {
            s.raw as usize + (d - s.dec as usize)
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
