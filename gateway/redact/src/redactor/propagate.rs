//! Propagation (secrets.md §1 step 8): a value confirmed anywhere in the request is redacted
//! wherever else it appears bare, e.g. a password found in `.env` text and echoed later in a
//! shell command.
//!
//! The known values are searched by their first 8 bytes: one unaligned `u64` load, a
//! multiply and a bit test in an 8 KiB filter per position, then an exact comparison on the
//! rare filter hits. Building an Aho-Corasick automaton over hundreds of values on every
//! request (and running its NFA) made secret-dense bodies ~10× slower.

use std::cmp::Reverse;
use std::collections::HashMap;

use crate::cache::CachedFinding;
use crate::detect::{RuleId, judge};
use crate::json::StrSpan;
use crate::placeholder::Kind;
use crate::report::SecretValue;

use super::{Redactor, Scratch, u32_of};

/// Values shorter than this are never propagated (they would hit ordinary words).
const MIN_LEN: usize = 8;
/// The filter has `2^FILTER_BITS` bits.
const FILTER_BITS: u32 = 16;
const FILTER_WORDS: usize = (1 << FILTER_BITS) / 64;

/// The distinct confirmed values of one request, indexed by their first [`MIN_LEN`] bytes.
struct Known {
    values: Vec<(RuleId, SecretValue)>,
    /// First 8 bytes → indexes into `values`, longest value first.
    heads: HashMap<u64, Vec<usize>>,
    filter: Vec<u64>,
}

fn head(v: &[u8]) -> Option<u64> {
    let h: [u8; MIN_LEN] = v.get(..MIN_LEN)?.try_into().ok()?;
    Some(u64::from_le_bytes(h))
}

fn slot(x: u64) -> (usize, u64) {
    let h = (x.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - FILTER_BITS)) as usize;
    (h / 64, 1 << (h % 64))
}

impl Known {
    fn new() -> Self {
        Self {
            values: Vec::new(),
            heads: HashMap::new(),
            filter: vec![0; FILTER_WORDS],
        }
    }

    /// Adds `value` unless it is already known (the first rule to find a value keeps it).
    fn insert(&mut self, rule: RuleId, value: SecretValue) {
        let Some(x) = head(value.expose().as_bytes()) else {
            return;
        };
        let list = self.heads.entry(x).or_default();
        let values = &mut self.values;
        if list.iter().any(|&i| values[i].1 == value) {
            return;
        }
        list.push(values.len());
        values.push((rule, value));
        list.sort_by_key(|&i| Reverse(values[i].1.expose().len()));
        let (w, b) = slot(x);
        self.filter[w] |= b;
    }

    /// Calls `f(start, end, value index)` for each leftmost-longest, non-overlapping
    /// occurrence of a known value in `text`.
    fn find(&self, text: &[u8], mut f: impl FnMut(usize, usize, usize)) {
        let mut p = 0;
        while let Some(x) = text.get(p..).and_then(head) {
            let (w, b) = slot(x);
            if self.filter[w] & b != 0
                && let Some(&i) = self.heads.get(&x).and_then(|list| {
                    list.iter()
                        .find(|&&i| text[p..].starts_with(self.values[i].1.expose().as_bytes()))
                })
            {
                let end = p + self.values[i].1.expose().len();
                f(p, end, i);
                p = end;
                continue;
            }
            p += 1;
        }
    }
}

impl Redactor {
    /// Redacts bare copies of confirmed values everywhere else in the request.
    pub(super) fn propagate(
        &self,
        src: &[u8],
        units: &[StrSpan],
        json: bool,
        per_unit: &mut [Vec<CachedFinding>],
        scratch: &mut Scratch,
    ) {
        let mut known = Known::new();
        for f in per_unit.iter().flatten() {
            let v = f.value.expose().as_bytes();
            let info = self.engine.rule(f.rule);
            let strong = !matches!(info.kind, Kind::Env | Kind::UrlPassword | Kind::Header)
                || judge::propagatable(v);
            if !strong || v.len() < MIN_LEN {
                continue;
            }
            known.insert(f.rule, f.value.clone());
            if info.kind == Kind::UrlPassword && v.contains(&b'%') {
                let d = percent_decode(v);
                if d.len() >= MIN_LEN && judge::propagatable(&d) {
                    let value = SecretValue::new(String::from_utf8_lossy(&d).into_owned());
                    known.insert(f.rule, value);
                }
            }
        }
        if known.values.is_empty() {
            return;
        }
        for (u, found) in units.iter().zip(per_unit.iter_mut()) {
            let raw = &src[u.start..u.end];
            let layers = scratch.decode(raw, json && u.escaped);
            let text = scratch.text(raw, layers);
            // Findings from detection are sorted and disjoint: overlap is a binary search.
            let base = found.len();
            known.find(text, |s, e, i| {
                let glued = |a: Option<&u8>, b: Option<&u8>| {
                    a.zip(b).is_some_and(|(x, y)| {
                        x.is_ascii_alphanumeric() && y.is_ascii_alphanumeric()
                    })
                };
                let (rule, value) = &known.values[i];
                let v = value.expose().as_bytes();
                if glued(s.checked_sub(1).and_then(|i| text.get(i)), v.first())
                    || glued(v.last(), text.get(e))
                {
                    return;
                }
                let (rs, re) = scratch.to_raw(s, e, layers);
                let (rs, re) = (u32_of(rs), u32_of(re));
                let idx = found[..base].partition_point(|f| f.end <= rs);
                if found[..base].get(idx).is_some_and(|f| f.start < re) {
                    return;
                }
                found.push(CachedFinding {
                    start: rs,
                    end: re,
                    rule: *rule,
                    value: value.clone(),
                });
            });
            if found.len() > base {
                found.sort_by_key(|f| f.start);
            }
        }
    }
}

fn percent_decode(v: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len());
    let mut i = 0;
    while i < v.len() {
        let hex = v.get(i + 1..i + 3).and_then(|h| {
            let h = std::str::from_utf8(h).ok()?;
            u8::from_str_radix(h, 16).ok()
        });
        match (v[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_leftmost_longest_occurrences_only() {
        let mut k = Known::new();
        let rule = RuleId::for_tests();
        for v in [
            "hunter22-long",
            "hunter22",
            "hunter22-longer!",
            "short",
            "zzzzzzzz",
        ] {
            k.insert(rule, SecretValue::new(v.into()));
        }
        k.insert(rule, SecretValue::new("hunter22".into()));
        assert_eq!(k.values.len(), 4);
        let text = b"a hunter22-longer! b hunter22-long hunter22 zzzzzzzzzzzz";
        let mut got = Vec::new();
        k.find(text, |s, e, _| {
            got.push(String::from_utf8_lossy(&text[s..e]).into_owned())
        });
        assert_eq!(
            got,
            ["hunter22-longer!", "hunter22-long", "hunter22", "zzzzzzzz"]
        );
    }
}
