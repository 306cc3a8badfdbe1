//! JSON side of restore: finding the string values to restore in a response document (by
//! path), and rewriting exactly those string tokens in the original text, so every other byte
//! (key order, number spelling, whitespace) stays as the provider sent it.

use std::{borrow::Cow, collections::HashMap, ops::Range, sync::Arc};

use bytes::Bytes;
use gateway_redact::{RestoreMap, Target};
use serde_json::{Value, value::RawValue};

use gateway_core::Api;

use super::{HOLD_MAX_BYTES, restore_all};

/// One step of a path into a JSON document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Step {
    Key(Cow<'static, str>),
    Index(usize),
}

/// A member step with a fixed name.
pub(super) fn key(name: &'static str) -> Step {
    Step::Key(Cow::Borrowed(name))
}

/// A string value to restore: where it is and how values are written into it.
#[derive(Clone, Debug)]
pub(super) struct Spot {
    pub(super) path: Vec<Step>,
    pub(super) target: Target,
}

fn child(path: &[Step], more: &[Step]) -> Vec<Step> {
    path.iter().chain(more).cloned().collect()
}

/// Byte range of the value at `path` in `json`.
fn locate(json: &str, path: &[Step]) -> Option<Range<usize>> {
    let mut cur: &str = json;
    for step in path {
        cur = match step {
            Step::Key(k) => {
                let map: HashMap<String, &RawValue> = serde_json::from_str(cur).ok()?;
                map.get(k.as_ref())?.get()
            }
            Step::Index(i) => {
                let list: Vec<&RawValue> = serde_json::from_str(cur).ok()?;
                list.get(*i)?.get()
            }
        };
    }
    let start = (cur.as_ptr() as usize).checked_sub(json.as_ptr() as usize)?;
    Some(start..start + cur.len())
}

/// Replaces the string values at `edits` (path, new text) in `json`; `None` if one cannot be
/// found (the caller keeps the original).
pub(super) fn splice(json: &str, edits: &[(Vec<Step>, String)]) -> Option<String> {
    let mut ranges = Vec::with_capacity(edits.len());
    for (path, text) in edits {
        let range = locate(json, path)?;
        let token = serde_json::to_string(text).ok()?;
        ranges.push((range, token));
    }
    ranges.sort_by_key(|(r, _)| r.start);
    let mut out = String::with_capacity(json.len() + 64);
    let mut at = 0;
    for (range, token) in ranges {
        if range.start < at {
            return None;
        }
        out.push_str(json.get(at..range.start)?);
        out.push_str(&token);
        at = range.end;
    }
    out.push_str(json.get(at..)?);
    Some(out)
}

/// The string at `path` in `v`.
pub(super) fn string_at<'v>(v: &'v Value, path: &[Step]) -> Option<&'v str> {
    let mut cur = v;
    for step in path {
        cur = match step {
            Step::Key(k) => cur.get(k.as_ref())?,
            Step::Index(i) => cur.get(*i)?,
        };
    }
    cur.as_str()
}

/// Every string value inside `v` (tool input objects), with `target` plain text (they are
/// decoded strings; re-encoding escapes them).
fn all_strings(v: &Value, path: &[Step], out: &mut Vec<Spot>) {
    match v {
        Value::String(_) => out.push(Spot {
            path: path.to_vec(),
            target: Target::Text,
        }),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                all_strings(item, &child(path, &[Step::Index(i)]), out);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                all_strings(item, &child(path, &[Step::Key(Cow::Owned(k.clone()))]), out);
            }
        }
        _ => {}
    }
}

/// The places of a Responses output item where restore applies (`item` is at `path`).
pub(super) fn response_item(item: &Value, path: &[Step], out: &mut Vec<Spot>) {
    match item.get("type").and_then(Value::as_str) {
        Some("message") => {
            for (j, part) in item
                .get("content")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                if part.get("type").and_then(Value::as_str) == Some("output_text") {
                    let p = child(path, &[key("content"), Step::Index(j), key("text")]);
                    out.push(Spot {
                        path: p,
                        target: Target::Text,
                    });
                }
            }
        }
        Some("function_call") => out.push(Spot {
            path: child(path, &[key("arguments")]),
            target: Target::JsonFragment,
        }),
        Some("custom_tool_call") => out.push(Spot {
            path: child(path, &[key("input")]),
            target: Target::Text,
        }),
        _ => {}
    }
}

/// Where restore applies in a whole (non-streamed) answer.
fn spots(api: Api, v: &Value) -> Vec<Spot> {
    let mut out = Vec::new();
    let list = |key: &'static str| {
        v.get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
    };
    match api {
        Api::AnthropicMessages => {
            for (i, block) in list("content") {
                let at = [key("content"), Step::Index(i)];
                match block.get("type").and_then(Value::as_str) {
                    Some("text") => out.push(Spot {
                        path: child(&at, &[key("text")]),
                        target: Target::Text,
                    }),
                    Some("tool_use") => {
                        if let Some(input) = block.get("input") {
                            all_strings(input, &child(&at, &[key("input")]), &mut out);
                        }
                    }
                    _ => {}
                }
            }
        }
        Api::OpenAiChat => {
            for (i, choice) in list("choices") {
                let msg = [key("choices"), Step::Index(i), key("message")];
                let Some(message) = choice.get("message") else {
                    continue;
                };
                if message.get("content").is_some_and(Value::is_string) {
                    out.push(Spot {
                        path: child(&msg, &[key("content")]),
                        target: Target::Text,
                    });
                }
                for (j, _) in message
                    .get("tool_calls")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .enumerate()
                {
                    out.push(Spot {
                        path: child(
                            &msg,
                            &[
                                key("tool_calls"),
                                Step::Index(j),
                                key("function"),
                                key("arguments"),
                            ],
                        ),
                        target: Target::JsonFragment,
                    });
                }
            }
        }
        Api::OpenAiResponses => {
            for (i, item) in list("output") {
                response_item(item, &[key("output"), Step::Index(i)], &mut out);
            }
        }
    }
    out
}

/// Restores `spots` of `doc` (the JSON text `text`); the rewritten text, or `None` when
/// nothing changed. Adds the restores to `count`.
pub(super) fn restore_doc(
    map: &Arc<RestoreMap>,
    text: &str,
    doc: &Value,
    spots: &[Spot],
    count: &mut u64,
) -> Option<String> {
    let mut edits = Vec::new();
    for spot in spots {
        let Some(s) = string_at(doc, &spot.path) else {
            continue;
        };
        let (restored, n) = restore_all(map, s, spot.target);
        if n > 0 {
            *count += n;
            edits.push((spot.path.clone(), restored));
        }
    }
    if edits.is_empty() {
        return None;
    }
    splice(text, &edits)
}

/// A non-streamed answer: held whole (up to [`HOLD_MAX_BYTES`]) and restored at its end.
#[derive(Debug)]
pub(super) struct JsonRestore {
    api: Api,
    map: Arc<RestoreMap>,
    buf: Vec<u8>,
    /// Too large to hold: relayed as is from here on.
    passthrough: bool,
    restored: u64,
}

impl JsonRestore {
    pub(super) fn new(api: Api, map: Arc<RestoreMap>) -> Self {
        Self {
            api,
            map,
            buf: Vec::new(),
            passthrough: false,
            restored: 0,
        }
    }

    /// Holds `data`; returns what must go out now (only once the body is too large to hold).
    pub(super) fn feed(&mut self, data: Bytes) -> Bytes {
        if self.passthrough {
            return data;
        }
        if self.buf.len() + data.len() > HOLD_MAX_BYTES {
            self.passthrough = true;
            tracing::warn!(
                limit = HOLD_MAX_BYTES,
                "response too large to restore placeholders in; relayed as is"
            );
            let mut out = std::mem::take(&mut self.buf);
            out.extend_from_slice(&data);
            return Bytes::from(out);
        }
        self.buf.extend_from_slice(&data);
        Bytes::new()
    }

    /// The whole answer, restored (unchanged when it is not the JSON expected).
    pub(super) fn finish(&mut self) -> Bytes {
        let buf = std::mem::take(&mut self.buf);
        let Ok(text) = std::str::from_utf8(&buf) else {
            return Bytes::from(buf);
        };
        let Ok(doc) = serde_json::from_str::<Value>(text) else {
            return Bytes::from(buf);
        };
        match restore_doc(
            &self.map,
            text,
            &doc,
            &spots(self.api, &doc),
            &mut self.restored,
        ) {
            Some(restored) => Bytes::from(restored),
            None => Bytes::from(buf),
        }
    }

    pub(super) fn restored(&self) -> u64 {
        self.restored
    }
}
