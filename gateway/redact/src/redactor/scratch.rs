//! Decoding scratch for one redaction call: the JSON unescape of a string value, and one
//! lenient nested decode for JSON documents carried in a string, with the map back to raw.

use crate::detect::{Finding, prefilter};
use crate::json::{self, Decoded, Mode};

/// Decoding scratch reused across the strings of one call.
#[derive(Default)]
pub(super) struct Scratch {
    l1: Decoded,
    l2: Decoded,
    pub(super) found: Vec<Finding>,
    pub(super) anchors: prefilter::Scratch,
}

/// Which decode layers a string went through.
#[derive(Clone, Copy)]
pub(super) struct Layers {
    json: bool,
    nested: bool,
}

impl Scratch {
    /// Decodes `raw` (JSON-unescaping if `json`, then one lenient nested decode if the text
    /// still holds escapes) and returns the layers used.
    pub(super) fn decode(&mut self, raw: &[u8], json: bool) -> Layers {
        if json {
            self.l1.decode(raw, Mode::Strict);
        }
        let t1: &[u8] = if json { &self.l1.text } else { raw };
        // The second decode is for JSON documents carried in a string (tool arguments, a
        // JSON file in a tool result); escaped line breaks and quotes in other text are
        // handled by the rules themselves.
        let nested = looks_like_json(t1)
            && json::has_nested_escapes(t1)
            && self.l2.decode(t1, Mode::Lenient) > 0;
        Layers { json, nested }
    }

    pub(super) fn text<'s>(&'s self, raw: &'s [u8], l: Layers) -> &'s [u8] {
        if l.nested {
            &self.l2.text
        } else if l.json {
            &self.l1.text
        } else {
            raw
        }
    }

    pub(super) fn to_raw(&self, s: usize, e: usize, l: Layers) -> (usize, usize) {
        let (s, e) = if l.nested {
            (self.l2.raw_start(s), self.l2.raw_end(e))
        } else {
            (s, e)
        };
        if l.json {
            (self.l1.raw_start(s), self.l1.raw_end(e))
        } else {
            (s, e)
        }
    }
}

fn looks_like_json(text: &[u8]) -> bool {
    matches!(text.trim_ascii_start().first(), Some(b'{' | b'['))
}
