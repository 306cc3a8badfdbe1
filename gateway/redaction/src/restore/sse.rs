//! Streamed answers: the SSE byte stream is cut into events (whatever the frame split), each
//! event is classified for its wire format, and only events whose restored text differs are
//! rebuilt. One [`Restorer`] per content block / tool call holds back a partial placeholder
//! and carries it into that block's next delta; when the block ends, held text goes out in an
//! event of its own just before the end (or inside the closing event, when that event carries
//! the block's last delta).

use std::{collections::HashMap, sync::Arc};

use bytes::Bytes;
use gateway_redact::{RestoreMap, Restorer};
use serde_json::{Value, json};

use gateway_core::{Api, sse};

use super::{
    HOLD_MAX_BYTES,
    events::{Close, Key, classify},
    json::{Step, restore_doc, splice, string_at},
};

/// The last delta event of a block, copied when held text must go out on its own.
#[derive(Debug)]
struct Template {
    name: Option<String>,
    data: String,
    path: Vec<Step>,
}

#[derive(Debug)]
struct Block {
    restorer: Restorer<Arc<RestoreMap>>,
    template: Template,
}

/// Restores one SSE response.
#[derive(Debug)]
pub(super) struct SseRestore {
    api: Api,
    map: Arc<RestoreMap>,
    buf: Vec<u8>,
    /// Event framing of `buf`; `scanned` bytes of it were passed to `bounds` already.
    bounds: sse::Boundaries,
    scanned: usize,
    /// An event too large to hold: relayed as is from here on.
    passthrough: bool,
    blocks: HashMap<Key, Block>,
    restored: u64,
}

impl SseRestore {
    pub(super) fn new(api: Api, map: Arc<RestoreMap>) -> Self {
        Self {
            api,
            map,
            buf: Vec::new(),
            bounds: sse::Boundaries::default(),
            scanned: 0,
            passthrough: false,
            blocks: HashMap::new(),
            restored: 0,
        }
    }

    pub(super) fn restored(&self) -> u64 {
        self.restored
    }

    /// Takes the next bytes; returns every complete event, restored.
    pub(super) fn feed(&mut self, data: Bytes) -> Bytes {
        if self.passthrough {
            return data;
        }
        self.buf.extend_from_slice(&data);
        let mut out = Vec::with_capacity(self.buf.len());
        let mut start = 0;
        while let Some(end) = self.bounds.next_end(&self.buf, self.scanned) {
            self.scanned = end;
            let event = self.buf[start..end].to_vec();
            self.event(&event, &mut out);
            start = end;
        }
        self.scanned = self.buf.len() - start;
        self.buf.drain(..start);
        if self.buf.len() > HOLD_MAX_BYTES {
            self.passthrough = true;
            tracing::warn!(
                limit = HOLD_MAX_BYTES,
                "stream event too large to restore placeholders in; the rest is relayed as is"
            );
            self.flush_all(&mut out);
            out.append(&mut self.buf);
        }
        Bytes::from(out)
    }

    /// The end of the stream: held text of open blocks, then any incomplete last event.
    pub(super) fn finish(&mut self) -> Bytes {
        let mut out = Vec::new();
        self.flush_all(&mut out);
        out.append(&mut self.buf);
        Bytes::from(out)
    }

    fn flush_all(&mut self, out: &mut Vec<u8>) {
        let mut keys: Vec<Key> = self.blocks.keys().copied().collect();
        keys.sort_by_key(|k| format!("{k:?}"));
        for k in keys {
            self.flush(k, out);
        }
    }

    /// Ends block `k`: its held text, if any, as an event of its own.
    fn flush(&mut self, k: Key, out: &mut Vec<u8>) {
        let Some(mut block) = self.blocks.remove(&k) else {
            return;
        };
        let held = block.restorer.finish();
        if !held.is_empty()
            && let Some(event) = self.synthesize(k, &block.template, held)
        {
            out.extend_from_slice(&event);
        }
    }

    fn synthesize(&self, k: Key, t: &Template, held: String) -> Option<Vec<u8>> {
        let data = match (self.api, k) {
            // A fresh chunk: a copy of the last one could repeat other choices' deltas or
            // a tool call's id and name.
            (Api::OpenAiChat, Key::ChatContent(c) | Key::ChatTool(c, _)) => {
                let last: Value = serde_json::from_str(&t.data).ok()?;
                let delta = match k {
                    Key::ChatTool(_, i) => {
                        json!({"tool_calls": [{"index": i, "function": {"arguments": held}}]})
                    }
                    _ => json!({"content": held}),
                };
                let mut chunk = serde_json::Map::new();
                for field in ["id", "object", "created", "model", "system_fingerprint"] {
                    if let Some(v) = last.get(field) {
                        chunk.insert(field.to_owned(), v.clone());
                    }
                }
                chunk.insert(
                    "choices".to_owned(),
                    json!([{"index": c, "delta": delta, "finish_reason": null}]),
                );
                Value::Object(chunk).to_string()
            }
            _ => splice(&t.data, &[(t.path.clone(), held)])?,
        };
        Some(frame(t.name.as_deref(), &data))
    }

    /// One complete event (terminator included) → `out`.
    fn event(&mut self, raw: &[u8], out: &mut Vec<u8>) {
        let Some(parsed) = Parsed::new(raw) else {
            out.extend_from_slice(raw);
            return;
        };
        if parsed.data.trim() == "[DONE]" {
            self.flush_all(out);
            out.extend_from_slice(raw);
            return;
        }
        let Ok(v) = serde_json::from_str::<Value>(&parsed.data) else {
            out.extend_from_slice(raw);
            return;
        };
        let plan = classify(self.api, &v);
        if plan.deltas.is_empty() && plan.close.is_empty() && plan.whole.is_empty() {
            out.extend_from_slice(raw);
            return;
        }
        let closing = |k: Key| {
            plan.close.iter().any(|c| match c {
                Close::Key(x) => *x == k,
                Close::Owner(o) => k.owner() == Some(*o),
                Close::All => true,
            })
        };
        // Blocks this event ends without a delta of theirs: held text goes out first.
        let mut ended: Vec<Key> = self
            .blocks
            .keys()
            .copied()
            .filter(|k| closing(*k) && !plan.deltas.iter().any(|d| d.key == *k))
            .collect();
        ended.sort_by_key(|k| format!("{k:?}"));
        for k in ended {
            self.flush(k, out);
        }
        let mut edits = Vec::new();
        for d in &plan.deltas {
            let Some(text) = string_at(&v, &d.path) else {
                continue;
            };
            let map = self.map.clone();
            let block = self.blocks.entry(d.key).or_insert_with(|| Block {
                restorer: Restorer::new(map),
                template: Template {
                    name: None,
                    data: String::new(),
                    path: Vec::new(),
                },
            });
            let before = block.restorer.restored();
            let mut emitted = block.restorer.push(text, d.target);
            if closing(d.key) {
                emitted.push_str(&block.restorer.finish());
            } else {
                block.template = Template {
                    name: parsed.name.clone(),
                    data: parsed.data.clone(),
                    path: d.path.clone(),
                };
            }
            self.restored += block.restorer.restored() - before;
            if closing(d.key) {
                self.blocks.remove(&d.key);
            }
            if emitted != text {
                edits.push((d.path.clone(), emitted));
            }
        }
        let whole = restore_doc(&self.map, &parsed.data, &v, &plan.whole, &mut self.restored);
        let data = match (edits.is_empty(), whole) {
            (true, None) => None,
            (true, Some(doc)) => Some(doc),
            (false, None) => splice(&parsed.data, &edits),
            // Both in one event does not occur in these formats; the streamed edits win.
            (false, Some(_)) => splice(&parsed.data, &edits),
        };
        match data {
            Some(data) => out.extend_from_slice(&parsed.rebuild(&data)),
            None => out.extend_from_slice(raw),
        }
    }
}

/// `event: {name}\ndata: {data}\n\n` (no `event:` line without a name).
fn frame(name: Option<&str>, data: &str) -> Vec<u8> {
    let mut f = Vec::with_capacity(data.len() + 32);
    if let Some(name) = name {
        f.extend_from_slice(b"event: ");
        f.extend_from_slice(name.as_bytes());
        f.push(b'\n');
    }
    f.extend_from_slice(b"data: ");
    f.extend_from_slice(data.as_bytes());
    f.extend_from_slice(b"\n\n");
    f
}

/// The fields of one event.
#[derive(Debug)]
struct Parsed<'a> {
    lines: Vec<&'a str>,
    name: Option<String>,
    data: String,
}

impl<'a> Parsed<'a> {
    /// `None` for events without data (comments, keepalives) or not UTF-8.
    fn new(raw: &'a [u8]) -> Option<Self> {
        let text = std::str::from_utf8(raw).ok()?;
        // Split at ASCII line ends, so every line is UTF-8 too.
        let lines: Vec<&str> = sse::lines(text.as_bytes())
            .filter_map(|l| std::str::from_utf8(l).ok())
            .collect();
        let mut name = None;
        let mut data: Option<String> = None;
        for line in &lines {
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "event" => name = Some(value.to_owned()),
                "data" => match &mut data {
                    Some(d) => {
                        d.push('\n');
                        d.push_str(value);
                    }
                    None => data = Some(value.to_owned()),
                },
                _ => {}
            }
        }
        Some(Self {
            lines,
            name,
            data: data?,
        })
    }

    /// The event with its data replaced by `data` (one `data:` line where the first was).
    fn rebuild(&self, data: &str) -> Vec<u8> {
        let mut f = Vec::with_capacity(data.len() + 64);
        let mut wrote = false;
        for line in &self.lines {
            if line.starts_with("data:") || *line == "data" {
                if !wrote {
                    f.extend_from_slice(b"data: ");
                    f.extend_from_slice(data.as_bytes());
                    f.push(b'\n');
                    wrote = true;
                }
            } else {
                f.extend_from_slice(line.as_bytes());
                f.push(b'\n');
            }
        }
        f.push(b'\n');
        f
    }
}
