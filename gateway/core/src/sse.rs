//! Server-sent events, the one framing every stage uses: where an event ends in a byte stream
//! split anywhere, an event's `event` name and joined `data`, whether a response is an event
//! stream, and the error event the gateway sends when a provider's stream breaks.
//!
//! The boundary rule (WHATWG `text/event-stream`): lines end with `\r\n`, `\n` or a bare `\r`;
//! an event ends at an empty line, so `\n\n`, `\r\n\r\n` and `\r\r` (and mixes) all end one.
//! A `\r\n` split across two pieces is one line end.

use std::borrow::Cow;

use bytes::Bytes;
use http::{HeaderMap, header};

use crate::Api;

/// Finds event ends (empty lines) in a stream fed in arbitrary pieces.
#[derive(Debug, Clone)]
pub struct Boundaries {
    /// Nothing but a line end seen since the last line end (or since the start).
    line_empty: bool,
    /// The last byte seen was `\r`: a `\n` next belongs to the same line end.
    after_cr: bool,
    /// The bytes seen so far end exactly at an event end (or none were seen).
    at_end: bool,
}

impl Default for Boundaries {
    fn default() -> Self {
        Self {
            line_empty: true,
            after_cr: false,
            at_end: true,
        }
    }
}

impl Boundaries {
    /// The offset just past the next event end in `chunk[from..]`, including the `\n` of a
    /// final `\r\n` when it is in `chunk`; `None` if the event continues past `chunk`. Every
    /// byte must be passed exactly once, in order.
    pub fn next_end(&mut self, chunk: &[u8], from: usize) -> Option<usize> {
        let mut i = from;
        while let Some(rest) = chunk.get(i..).filter(|r| !r.is_empty()) {
            if self.after_cr {
                self.after_cr = false;
                if rest.first() == Some(&b'\n') {
                    i += 1;
                    continue;
                }
            }
            self.at_end = false;
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
                self.at_end = true;
                return Some(i);
            }
            self.line_empty = true;
        }
        None
    }

    /// Passes a whole piece, for callers that only ask [`Boundaries::at_end`].
    pub fn skip(&mut self, chunk: &[u8]) {
        let mut at = 0;
        while let Some(end) = self.next_end(chunk, at) {
            at = end;
        }
    }

    /// Whether the bytes passed so far end exactly at an event end, or none were passed: an
    /// event of the gateway's own (an error, a comment) may be inserted here.
    pub fn at_end(&self) -> bool {
        self.at_end
    }

    /// The caller consumed the `\n` that completes a `\r\n` itself.
    pub fn skip_lf(&mut self) {
        self.after_cr = false;
    }

    /// The last byte seen was a `\r`, so a leading `\n` of the next piece completes it.
    pub fn after_cr(&self) -> bool {
        self.after_cr
    }
}

/// The events of a complete buffer, each with its closing empty line; a last event without
/// one (a truncated stream) is yielded too.
pub fn events(body: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut bounds = Boundaries::default();
    let mut at = 0;
    std::iter::from_fn(move || {
        let start = at;
        match bounds.next_end(body, start) {
            Some(end) => {
                at = end;
                Some(body.get(start..end).unwrap_or_default())
            }
            None if start < body.len() => {
                at = body.len();
                Some(body.get(start..).unwrap_or_default())
            }
            None => None,
        }
    })
}

/// The lines of an event, without their line ends; empty lines are skipped.
pub fn lines(event: &[u8]) -> impl Iterator<Item = &[u8]> {
    event
        .split(|&b| b == b'\n' || b == b'\r')
        .filter(|line| !line.is_empty())
}

/// `name: value` of a line (one space after the colon is not part of the value).
pub fn field(line: &[u8]) -> (&[u8], &[u8]) {
    match memchr::memchr(b':', line) {
        None => (line, &[]),
        Some(colon) => {
            let name = line.get(..colon).unwrap_or_default();
            let value = line.get(colon + 1..).unwrap_or_default();
            (name, value.strip_prefix(b" ").unwrap_or(value))
        }
    }
}

/// The `event:` name of an event, looking only at the complete lines before the first
/// `data:` line (every provider names an event before its data; this lets a stage decide on
/// an event before its data has arrived). `None` if there is no such line.
pub fn event_name(event: &[u8]) -> Option<&[u8]> {
    let mut rest = event;
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

/// The `data` of an event: its `data:` lines joined with `\n` (borrowed when there is one);
/// `None` for an event without data (a comment, a keepalive).
pub fn data(event: &[u8]) -> Option<Cow<'_, [u8]>> {
    let mut joined: Option<Cow<'_, [u8]>> = None;
    for line in lines(event) {
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
    joined
}

/// Whether a response's `content-type` is `text/event-stream` (media types are
/// case-insensitive; parameters are ignored).
pub fn is_event_stream(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("text/event-stream"))
}

/// The event a client sees if the provider's stream breaks between events, in the client's
/// own protocol. Static: no allocation per request.
pub fn error_frame(api: Api) -> Bytes {
    const ANTHROPIC: &str = "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"the connection to the model provider was lost mid-stream; retry the request\"}}\n\n";
    const RESPONSES: &str = "event: error\ndata: {\"type\":\"error\",\"code\":\"upstream_disconnected\",\"message\":\"the connection to the model provider was lost mid-stream; retry the request\",\"param\":null}\n\n";
    const CHAT: &str = "data: {\"error\":{\"message\":\"the connection to the model provider was lost mid-stream; retry the request\",\"type\":\"server_error\",\"param\":null,\"code\":\"upstream_disconnected\"}}\n\n";
    Bytes::from_static(match api {
        Api::AnthropicMessages => ANTHROPIC.as_bytes(),
        Api::OpenAiResponses => RESPONSES.as_bytes(),
        Api::OpenAiChat => CHAT.as_bytes(),
    })
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
    fn events_end_at_empty_lines_of_any_line_ending() {
        assert_eq!(ends(&[b"data: a\n\ndata: b\n\n"]), [(0, 9), (0, 18)]);
        assert_eq!(ends(&[b"data: a\r\n\r\ndata: b\r\r"]), [(0, 11), (0, 20)]);
        assert_eq!(
            ends(&[b"data: a\r\n\r", b"\ndata: b\n\n"]),
            [(0, 10), (1, 10)]
        );
        assert_eq!(ends(&[b"data: a\r", b"\n", b"\r\n"]), [(2, 2)]);
        assert_eq!(ends(&[b"data: a\n", b"data: b\n"]), []);
        assert_eq!(ends(&[b"data: a\n\r\n"]), [(0, 10)]);
    }

    #[test]
    fn at_end_tracks_whether_an_event_may_be_inserted() {
        let mut b = Boundaries::default();
        assert!(b.at_end(), "before the first byte");
        b.skip(b"data: a\n");
        assert!(!b.at_end());
        b.skip(b"\n");
        assert!(b.at_end());
        b.skip(b"data: b\r\r");
        assert!(b.at_end(), "bare CR ends an event");
        b.skip(b"\n");
        assert!(b.at_end(), "a LF completing the CR changes nothing");
        b.skip(b"data");
        assert!(!b.at_end());
    }

    #[test]
    fn whole_buffers_split_into_events_with_a_truncated_tail() {
        let body =
            b"event: a\r\ndata: 1\r\n\r\n: keepalive\n\nevent: b\ndata:2\ndata: 3\r\rdata: x";
        let got: Vec<_> = events(body)
            .map(|e| {
                (
                    event_name(e).map(|n| String::from_utf8_lossy(n).into_owned()),
                    data(e).map(|d| String::from_utf8_lossy(&d).into_owned()),
                )
            })
            .collect();
        let s = |v: &str| Some(v.to_owned());
        assert_eq!(
            got,
            [
                (s("a"), s("1")),
                (None, None),
                (s("b"), s("2\n3")),
                (None, s("x"))
            ]
        );
    }

    #[test]
    fn data_lines_join_and_comments_are_skipped() {
        let frame = b": keepalive\nevent: x\ndata: {\"a\":\r\ndata:1}\n\n";
        assert_eq!(event_name(frame), Some(&b"x"[..]));
        assert_eq!(data(frame).as_deref(), Some(&b"{\"a\":\n1}"[..]));
        assert_eq!(event_name(b"data: x\nevent: y\n\n"), None);
        assert_eq!(data(b"data: [DONE]\n\n").as_deref(), Some(&b"[DONE]"[..]));
    }

    #[test]
    fn event_stream_content_type_is_case_insensitive() {
        let mut h = HeaderMap::new();
        assert!(!is_event_stream(&h));
        for (v, want) in [
            ("text/event-stream", true),
            ("Text/Event-Stream; charset=utf-8", true),
            (" text/event-stream ;x=y", true),
            ("application/json", false),
            ("text/event-streamx", false),
        ] {
            h.insert(header::CONTENT_TYPE, v.parse().unwrap());
            assert_eq!(is_event_stream(&h), want, "{v}");
        }
    }

    #[test]
    fn error_frames_are_one_complete_event_in_each_protocol() {
        for api in [
            Api::AnthropicMessages,
            Api::OpenAiChat,
            Api::OpenAiResponses,
        ] {
            let f = error_frame(api);
            let all: Vec<_> = events(&f).collect();
            assert_eq!(all.len(), 1, "{api:?}");
            let d = data(all[0]).unwrap();
            let v: serde_json::Value = serde_json::from_slice(&d).unwrap();
            assert!(v.get("error").is_some() || v["type"] == "error", "{api:?}");
        }
    }
}
