//! [`Restorer`]: a pure streaming state machine that puts original values back where the
//! model echoed placeholders this tenant was given. It holds back a possible placeholder
//! prefix at the end of a chunk, so a placeholder split across chunks (or SSE events) still
//! matches, and output never depends on where the stream was split.

use crate::json::escape_into;
use crate::placeholder;
use crate::report::RestoreMap;

/// How a restored value is written into the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// Plain text (a text delta): the value as is.
    Text,
    /// Inside a JSON string (tool-call argument fragments such as Anthropic
    /// `input_json_delta.partial_json` or OpenAI `function.arguments` deltas): the value is
    /// JSON-escaped.
    JsonFragment,
}

/// Restores placeholders in one stream (use one per content block / tool call, so hold-back
/// never crosses blocks). Only exact placeholders present in the map are replaced; anything
/// else that merely looks like one passes through untouched.
#[derive(Debug)]
pub struct Restorer<M: AsRef<RestoreMap>> {
    map: M,
    pending: String,
    restored: u64,
}

impl<M: AsRef<RestoreMap>> Restorer<M> {
    /// A restorer over `map` (`&RestoreMap`, `Arc<RestoreMap>` or an owned map).
    pub fn new(map: M) -> Self {
        Self {
            map,
            pending: String::new(),
            restored: 0,
        }
    }

    /// Feeds the next chunk; returns what can be emitted now. At most
    /// `placeholder length − 1` bytes are held back, and only while they could still grow
    /// into a placeholder.
    pub fn push(&mut self, chunk: &str, target: Target) -> String {
        self.pending.push_str(chunk);
        let buf = std::mem::take(&mut self.pending);
        let bytes = buf.as_bytes();
        let mut out = String::with_capacity(buf.len());
        let (mut copied, mut i) = (0, 0);
        while let Some(rel) = memchr::memchr(b'g', &bytes[i..]) {
            let at = i + rel;
            let tail = &bytes[at..];
            if let Some(len) = placeholder::token_len(tail) {
                if let Some(value) = self.map.as_ref().get(&buf[at..at + len]) {
                    out.push_str(&buf[copied..at]);
                    match target {
                        Target::Text => out.push_str(value.expose()),
                        Target::JsonFragment => escape_into(&mut out, value.expose()),
                    }
                    self.restored += 1;
                    copied = at + len;
                    i = copied;
                    continue;
                }
            } else if placeholder::viable_prefix(tail) {
                out.push_str(&buf[copied..at]);
                self.pending.push_str(&buf[at..]);
                return out;
            }
            i = at + 1;
        }
        out.push_str(&buf[copied..]);
        out
    }

    /// Ends the stream (block stop): returns whatever was held back, verbatim.
    pub fn finish(&mut self) -> String {
        std::mem::take(&mut self.pending)
    }

    /// Placeholders restored so far (for the restore counter; never log values).
    pub fn restored(&self) -> u64 {
        self.restored
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::SecretValue;

    fn map() -> (RestoreMap, String) {
        let ph = crate::placeholder::Minter::new(b"k").mint(crate::placeholder::Kind::Env, b"v");
        let mut m = RestoreMap::new();
        m.insert(ph.clone(), SecretValue::new("pa\"ss".into()));
        (m, ph)
    }

    #[test]
    fn split_placeholders_are_restored_at_every_split() {
        let (m, ph) = map();
        let stream = format!("{{\"cmd\":\"export P={ph}; gwx_env_NOTMINTED000000 g\"}}");
        let want = stream.replace(&ph, "pa\\\"ss");
        for cut in 0..=stream.len() {
            let mut r = Restorer::new(&m);
            let mut got = r.push(&stream[..cut], Target::JsonFragment);
            got += &r.push(&stream[cut..], Target::JsonFragment);
            got += &r.finish();
            assert_eq!(got, want, "cut at {cut}");
            assert_eq!(r.restored(), 1);
        }
    }

    #[test]
    fn text_target_inserts_raw_value_and_holds_back_little() {
        let (m, ph) = map();
        let mut r = Restorer::new(&m);
        assert_eq!(r.push("hello g", Target::Text), "hello ");
        assert_eq!(r.push("o on", Target::Text), "go on");
        assert_eq!(r.push(&ph[..10], Target::Text), "");
        assert_eq!(r.push(&ph[10..], Target::Text), "pa\"ss");
        assert_eq!(r.finish(), "");
    }
}
