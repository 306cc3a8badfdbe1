//! Server-sent events, as far as metering needs them: where a frame ends in a byte stream split
//! anywhere, and a frame's `event` name and joined `data`.

use std::borrow::Cow;

/// Finds frame ends (blank lines) in a stream fed in arbitrary pieces. Lines end with `\r\n`,
/// `\n` or `\r`; a `\r\n` split across two pieces is one line end.
#[derive(Debug, Clone)]
pub(crate) struct Boundaries {
    /// Nothing but a line end seen since the last line end (or since the start).
    line_empty: bool,
    /// The last byte seen was `\r`: a `\n` next belongs to the same line end.
    after_cr: bool,
}

impl Default for Boundaries {
    fn default() -> Self {
        Self {
            line_empty: true,
            after_cr: false,
        }
    }
}

impl Boundaries {
    /// The offset just past the next frame end in `chunk[from..]`, including the `\n` of a
    /// final `\r\n` when it is in `chunk`; `None` if the frame continues past `chunk`.
    pub(crate) fn next_end(&mut self, chunk: &[u8], from: usize) -> Option<usize> {
        let mut i = from;
        while let Some(rest) = chunk.get(i..).filter(|r| !r.is_empty()) {
            if self.after_cr {
                self.after_cr = false;
                if rest.first() == Some(&b'\n') {
                    i += 1;
                    continue;
                }
            }
            let Some(off) = memchr::memchr2(b'\n', b'\r', rest) else {
                self.line_empty = false;
                return None;
            };
            if off > 0 {
                self.line_empty = false;
            }
            let terminator = rest.get(off).copied();
            i += off + 1;
            self.after_cr = terminator == Some(b'\r');
            if self.line_empty {
                if self.after_cr && chunk.get(i) == Some(&b'\n') {
                    self.after_cr = false;
                    i += 1;
                }
                return Some(i);
            }
            self.line_empty = true;
        }
        None
    }

    /// The caller consumed the `\n` that completes a `\r\n` itself.
    pub(crate) fn skip_lf(&mut self) {
        self.after_cr = false;
    }

    /// The last byte seen was a `\r`, so a leading `\n` of the next piece completes it.
    pub(crate) fn after_cr(&self) -> bool {
        self.after_cr
    }
}

/// Lines of a frame, without their line ends.
fn lines(frame: &[u8]) -> impl Iterator<Item = &[u8]> {
    frame
        .split(|&b| b == b'\n' || b == b'\r')
        .filter(|line| !line.is_empty())
}

/// `name: value` of a line (one space after the colon is not part of the value).
fn field(line: &[u8]) -> (&[u8], &[u8]) {
    match memchr::memchr(b':', line) {
        None => (line, &[]),
        Some(colon) => {
            let name = line.get(..colon).unwrap_or_default();
            let value = line.get(colon + 1..).unwrap_or_default();
            (name, value.strip_prefix(b" ").unwrap_or(value))
        }
    }
}

/// The `event:` name of a frame, looking only at the lines before the first `data:` line.
/// `None` if there is no such line (or it is not yet complete in `frame`).
pub(crate) fn event_name(frame: &[u8]) -> Option<&[u8]> {
    let mut rest = frame;
    loop {
        let end = memchr::memchr2(b'\n', b'\r', rest)?;
        let line = rest.get(..end)?;
        rest = rest.get(end + 1..)?;
        if line.is_empty() || line.first() == Some(&b':') {
            continue;
        }
        match field(line) {
            (b"event", value) => return Some(value),
            (b"data", _) => return None,
            _ => {}
        }
    }
}

/// The `data` of a frame: its `data:` lines joined with `\n` (borrowed when there is one).
pub(crate) fn data(frame: &[u8]) -> Cow<'_, [u8]> {
    let mut joined: Option<Cow<'_, [u8]>> = None;
    for line in lines(frame) {
        if line.first() == Some(&b':') {
            continue;
        }
        if let (b"data", value) = field(line) {
            joined = Some(match joined {
                None => Cow::Borrowed(value),
                Some(prev) => {
                    let mut owned = prev.into_owned();
                    owned.push(b'\n');
                    owned.extend_from_slice(value);
                    Cow::Owned(owned)
                }
            });
        }
    }
    joined.unwrap_or(Cow::Borrowed(&[]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ends(pieces: &[&[u8]]) -> Vec<(usize, usize)> {
        let mut b = Boundaries::default();
        let mut out = Vec::new();
        for (n, piece) in pieces.iter().enumerate() {
            let mut at = 0;
            while let Some(end) = b.next_end(piece, at) {
                out.push((n, end));
                at = end;
            }
        }
        out
    }

    #[test]
    fn frames_end_at_blank_lines_of_any_line_ending() {
        assert_eq!(ends(&[b"data: a\n\ndata: b\n\n"]), [(0, 9), (0, 18)]);
        assert_eq!(ends(&[b"data: a\r\n\r\ndata: b\r\r"]), [(0, 11), (0, 20)]);
        assert_eq!(
            ends(&[b"data: a\r\n\r", b"\ndata: b\n\n"]),
            [(0, 10), (1, 10)]
        );
        assert_eq!(ends(&[b"data: a\r", b"\n", b"\r\n"]), [(2, 2)]);
        assert_eq!(ends(&[b"data: a\n", b"data: b\n"]), []);
    }

    #[test]
    fn data_lines_join_and_comments_are_skipped() {
        let frame = b": keepalive\nevent: x\ndata: {\"a\":\r\ndata:1}\n\n";
        assert_eq!(event_name(frame), Some(&b"x"[..]));
        assert_eq!(&*data(frame), b"{\"a\":\n1}");
        assert_eq!(event_name(b"data: x\nevent: y\n\n"), None);
        assert_eq!(&*data(b"data: [DONE]\n\n"), b"[DONE]");
    }
}
