//! [`BlockMemo`]: the writer's bounded memory of blocks it has built, from the raw bytes a
//! block was built from to the finished [`Block`] (canonical JSON and hash), so a block that
//! comes again — an agent resends its whole history every turn — skips the canonical parser
//! and BLAKE3.
//!
//! - Keyed by a seeded xxh3 of the raw bytes and the kind of build, and verified by comparing
//!   the stored raw bytes: a collision (crafted or not) costs a rebuild, never a wrong block.
//!   xxh3 because the key is computed for every block, hit or miss, and it runs at memory
//!   speed; it needs no collision resistance since the comparison decides. The seed is drawn
//!   per process so that crafted collisions cannot make entries evict each other on purpose.
//! - Bounded by [`BlockMemo::MAX_BYTES`]: two generations of at most half of it each, the
//!   bytes of an entry counted as its raw bytes, its canonical JSON (once when the two are the
//!   same bytes) and [`BlockMemo::ENTRY_OVERHEAD_BYTES`]. When the current generation is full it becomes
//!   the previous one and the old previous is dropped; a hit in the previous generation moves
//!   the entry to the current one, so what keeps coming back stays (an approximate LRU at the
//!   cost of two map lookups).
//! - A memo hit shares the block's JSON (an `Arc`), so it is not copied for the record either.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, RandomState};

use crate::Block;
use crate::block::PassThrough;

/// What a memo entry was built as, part of its key: the same bytes built two ways are two
/// different blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BuildKind {
    /// A JSON value from the body made canonical ([`super::BlockSet::add_raw`]).
    Value = 1,
    /// A JSON string token made a text block.
    Text = 2,
}

/// One memorised block.
#[derive(Debug)]
struct Entry {
    kind: BuildKind,
    /// The raw bytes it was built from; `None` when they are the block's JSON itself (a block
    /// sent in canonical form already).
    raw: Option<Box<[u8]>>,
    block: Block,
}

impl Entry {
    fn matches(&self, kind: BuildKind, raw: &[u8]) -> bool {
        self.kind == kind
            && match &self.raw {
                Some(stored) => **stored == *raw,
                None => self.block.json().as_bytes() == raw,
            }
    }

    fn bytes(&self) -> usize {
        BlockMemo::ENTRY_OVERHEAD_BYTES
            + self.block.json().len()
            + self.raw.as_ref().map_or(0, |r| r.len())
    }
}

type Entries = HashMap<u64, Entry, BuildHasherDefault<PassThrough>>;

/// One generation: its entries and the bytes they count.
#[derive(Debug, Default)]
struct Generation {
    entries: Entries,
    bytes: usize,
}

impl Generation {
    fn take(&mut self, key: u64, kind: BuildKind, raw: &[u8]) -> Option<Entry> {
        if !self.entries.get(&key)?.matches(kind, raw) {
            return None;
        }
        let entry = self.entries.remove(&key)?;
        self.bytes -= entry.bytes();
        Some(entry)
    }

    fn insert(&mut self, key: u64, entry: Entry) {
        self.bytes += entry.bytes();
        if let Some(old) = self.entries.insert(key, entry) {
            self.bytes -= old.bytes();
        }
    }
}

/// The writer's memory of built blocks (see the module docs). One per writer thread; each
/// record's blocks are looked up in it while the record is assembled.
#[derive(Debug)]
pub struct BlockMemo {
    current: Generation,
    previous: Generation,
    seed: u64,
    max_bytes: usize,
}

impl Default for BlockMemo {
    fn default() -> Self {
        Self::with_max_bytes(Self::MAX_BYTES)
    }
}

impl BlockMemo {
    /// Most bytes the memo counts, both generations together (see the module docs for what
    /// is counted). Sized for the recent history of a few dozen agent sessions.
    pub const MAX_BYTES: usize = 8 << 20;

    /// The bytes counted for an entry besides its raw bytes and JSON: the map slot, the
    /// `Arc`'s counts and the boxes' headers, rounded up.
    pub const ENTRY_OVERHEAD_BYTES: usize = 96;

    /// A memo bounded by `max_bytes` instead of [`BlockMemo::MAX_BYTES`] (tests; 0 memorises
    /// nothing).
    pub fn with_max_bytes(max_bytes: usize) -> Self {
        Self {
            current: Generation::default(),
            previous: Generation::default(),
            seed: RandomState::new().hash_one(0x6d65_6d6f_u64),
            max_bytes,
        }
    }

    /// The bytes counted now (at most [`BlockMemo::MAX_BYTES`]).
    pub fn bytes(&self) -> usize {
        self.current.bytes + self.previous.bytes
    }

    /// How many blocks are memorised.
    pub fn len(&self) -> usize {
        self.current.entries.len() + self.previous.entries.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets everything (after an assembly panicked midway, say).
    pub fn clear(&mut self) {
        self.current = Generation::default();
        self.previous = Generation::default();
    }

    /// The most one generation counts.
    fn generation_bytes(&self) -> usize {
        self.max_bytes / 2
    }

    fn key(&self, kind: BuildKind, raw: &[u8]) -> u64 {
        xxhash_rust::xxh3::xxh3_64_with_seed(raw, self.seed ^ kind as u64)
    }

    /// The block built as `kind` from `raw`, if memorised; or else the one `build` makes from
    /// it (`None` when it cannot), memorised when it fits.
    pub(crate) fn get_or_build(
        &mut self,
        kind: BuildKind,
        raw: &[u8],
        build: impl FnOnce() -> Option<Block>,
    ) -> Option<Block> {
        let key = self.key(kind, raw);
        if let Some(entry) = self.current.entries.get(&key)
            && entry.matches(kind, raw)
        {
            return Some(entry.block.clone());
        }
        if let Some(entry) = self.previous.take(key, kind, raw) {
            let block = entry.block.clone();
            self.keep(key, entry);
            return Some(block);
        }
        let block = build()?;
        let raw = (block.json().as_bytes() != raw).then(|| Box::from(raw));
        self.keep(
            key,
            Entry {
                kind,
                raw,
                block: block.clone(),
            },
        );
        Some(block)
    }

    /// Puts `entry` in the current generation, turning generations over first if it would
    /// not fit; an entry larger than a generation is not kept.
    fn keep(&mut self, key: u64, entry: Entry) {
        let bytes = entry.bytes();
        if bytes > self.generation_bytes() {
            return;
        }
        if self.current.bytes + bytes > self.generation_bytes() {
            self.previous = std::mem::take(&mut self.current);
        }
        self.current.insert(key, entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BlockHash;

    fn block(json: &str) -> Block {
        Block::from_parts(BlockHash::of_canonical(json.as_bytes()), json.into())
    }

    /// `get_or_build`, and whether `build` ran.
    fn get(memo: &mut BlockMemo, kind: BuildKind, raw: &str, json: &str) -> (Block, bool) {
        let mut built = false;
        let got = memo.get_or_build(kind, raw.as_bytes(), || {
            built = true;
            Some(block(json))
        });
        (got.unwrap(), built)
    }

    #[test]
    fn a_hit_is_the_same_block_shared_and_a_miss_builds() {
        let mut memo = BlockMemo::default();
        let raw = r#"{"type":"text","text":"hi"}"#;
        let json = r#"{"text":"hi","type":"text"}"#;
        let (first, built) = get(&mut memo, BuildKind::Value, raw, json);
        assert!(built);
        let (again, built) = get(&mut memo, BuildKind::Value, raw, "unused");
        assert!(!built);
        assert_eq!(again, first);
        assert!(std::ptr::eq(again.json().as_ptr(), first.json().as_ptr()));
        // Raw bytes differing by one space are another entry.
        let (_, built) = get(&mut memo, BuildKind::Value, &format!("{raw} "), json);
        assert!(built);
        assert_eq!(memo.len(), 2);
    }

    #[test]
    fn the_same_bytes_built_as_another_kind_are_another_block() {
        let mut memo = BlockMemo::default();
        let (value, _) = get(&mut memo, BuildKind::Value, r#""hi""#, r#""hi""#);
        let (text, built) = get(
            &mut memo,
            BuildKind::Text,
            r#""hi""#,
            r#"{"text":"hi","type":"text"}"#,
        );
        assert!(built);
        assert_ne!(value.h, text.h);
        // Canonical raw bytes are stored once (as the JSON).
        assert_eq!(
            memo.bytes(),
            2 * BlockMemo::ENTRY_OVERHEAD_BYTES + 4 + 4 + 27
        );
    }

    #[test]
    fn a_key_collision_rebuilds_instead_of_answering_the_other_block() {
        let mut memo = BlockMemo::default();
        let (a, b) = (r#"{"a":1}"#, r#"{"b":2}"#);
        // Plant `a`'s block under the key of `b`, as a colliding hash would.
        let key = memo.key(BuildKind::Value, b.as_bytes());
        memo.keep(
            key,
            Entry {
                kind: BuildKind::Value,
                raw: None,
                block: block(a),
            },
        );
        let (got, built) = get(&mut memo, BuildKind::Value, b, b);
        assert!(built);
        assert_eq!(got.json(), b);
        // And now `b` is what that key holds.
        assert!(!get(&mut memo, BuildKind::Value, b, "unused").1);
        assert!(memo.bytes() <= BlockMemo::MAX_BYTES);
    }

    #[test]
    fn it_stays_within_its_bound_and_keeps_what_comes_back() {
        const MAX: usize = 8 << 10;
        let mut memo = BlockMemo::with_max_bytes(MAX);
        let hot = r#"{"hot":true}"#;
        get(&mut memo, BuildKind::Value, hot, hot);
        for n in 0..1000 {
            let raw = format!(r#"{{"n":{n},"pad":"{}"}}"#, "x".repeat(n % 300));
            get(&mut memo, BuildKind::Value, &raw, &raw);
            assert!(memo.bytes() <= MAX, "{} bytes after {n}", memo.bytes());
            if n % 10 == 0 {
                // Asked for often, it moves to each new generation and is never rebuilt.
                assert!(
                    !get(&mut memo, BuildKind::Value, hot, hot).1,
                    "rebuilt at {n}"
                );
            }
        }
        // An entry larger than a generation is built every time and not kept.
        let big = format!(r#""{}""#, "y".repeat(MAX));
        assert!(get(&mut memo, BuildKind::Value, &big, &big).1);
        assert!(get(&mut memo, BuildKind::Value, &big, &big).1);
        assert!(memo.bytes() <= MAX);
        memo.clear();
        assert!(memo.is_empty());
        assert_eq!(memo.bytes(), 0);
    }

    #[test]
    fn a_zero_bound_memorises_nothing() {
        let mut memo = BlockMemo::with_max_bytes(0);
        assert!(get(&mut memo, BuildKind::Value, "1", "1").1);
        assert!(get(&mut memo, BuildKind::Value, "1", "1").1);
        assert!(memo.is_empty());
    }
}
