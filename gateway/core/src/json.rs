//! A JSON object read as borrowed raw members, with byte spans into the original body, and
//! splicing of edits: the basis of byte-faithful request edits (the meter's `max_tokens`
//! clamp, the Bedrock body transform).

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

/// One member of an object: its (unescaped) key and its value exactly as written.
#[derive(Debug)]
pub struct Member<'a> {
    pub key: Cow<'a, str>,
    pub value: &'a RawValue,
}

/// An object's members in source order, duplicates kept.
#[derive(Debug)]
pub struct Object<'a> {
    pub members: Vec<Member<'a>>,
}

impl<'a> Object<'a> {
    /// Parses `text` (a whole document or a raw value) as one object.
    pub fn parse(text: &'a [u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(text)
    }

    /// The last member named `key` (the one most parsers keep).
    pub fn last(&self, key: &str) -> Option<&'a RawValue> {
        self.members
            .iter()
            .rev()
            .find(|m| m.key == key)
            .map(|m| m.value)
    }

    /// Every member named `key`, in source order.
    pub fn all<'s>(&'s self, key: &'s str) -> impl Iterator<Item = &'a RawValue> + 's {
        self.members
            .iter()
            .filter(move |m| m.key == key)
            .map(|m| m.value)
    }
}

struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

impl<'de> Deserialize<'de> for Object<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ObjectVisitor;
        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = Object<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut members = Vec::with_capacity(map.size_hint().unwrap_or(16));
                while let Some(Key(key)) = map.next_key()? {
                    let value: &'de RawValue = map.next_value()?;
                    members.push(Member { key, value });
                }
                Ok(Object { members })
            }
        }
        d.deserialize_map(ObjectVisitor)
    }
}

/// The byte range of `raw` inside `body`, if `raw` was borrowed from it.
pub fn span(body: &[u8], raw: &RawValue) -> Option<Range<usize>> {
    let text = raw.get().as_bytes();
    let start = text.as_ptr().addr().checked_sub(body.as_ptr().addr())?;
    let end = start.checked_add(text.len())?;
    (body.get(start..end)? == text).then_some(start..end)
}

/// Where a new first member goes: just after the opening brace of the object at `object`
/// (leading whitespace allowed, as in a whole document).
pub fn after_open_brace(body: &[u8], object: Range<usize>) -> Option<usize> {
    let start = object.start;
    let rel = body
        .get(object)?
        .iter()
        .position(|b| !b.is_ascii_whitespace())?;
    (body.get(start + rel) == Some(&b'{')).then_some(start + rel + 1)
}

/// Edits to apply to a body: each replaces a range (empty for an insertion) with new bytes.
#[derive(Debug, Default)]
pub struct Edits {
    edits: Vec<(Range<usize>, Vec<u8>)>,
}

impl Edits {
    pub fn replace(&mut self, range: Range<usize>, with: impl Into<Vec<u8>>) {
        self.edits.push((range, with.into()));
    }

    pub fn insert(&mut self, at: usize, text: impl Into<Vec<u8>>) {
        self.replace(at..at, text);
    }

    pub fn is_empty(&self) -> bool {
        self.edits.is_empty()
    }

    /// Applies the edits; `None` if two overlap or one lies outside `body`.
    pub fn apply(mut self, body: &[u8]) -> Option<Vec<u8>> {
        self.edits.sort_by_key(|(r, _)| (r.start, r.end));
        let extra: usize = self.edits.iter().map(|(_, t)| t.len()).sum();
        let mut out = Vec::with_capacity(body.len().saturating_add(extra));
        let mut at = 0;
        for (range, text) in &self.edits {
            if range.end < range.start {
                return None;
            }
            out.extend_from_slice(body.get(at..range.start)?);
            out.extend_from_slice(text);
            at = range.end;
        }
        out.extend_from_slice(body.get(at..)?);
        Some(out)
    }
}
