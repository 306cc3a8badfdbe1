//! Content-addressed blocks: a message's content block (or a tool definition, a system
//! prompt part, a response block) stored once per partition and referenced by its hash.

use std::{collections::HashSet, fmt, sync::Arc, sync::LazyLock};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The first 128 bits of the BLAKE3 hash, in key-derivation mode under [`HASH_CONTEXT`], of a
/// block's canonical JSON (`serde_json`'s compact output of the value: keys sorted, see
/// [`crate::canonical`]), shown as 32 lowercase hex digits.
///
/// Why BLAKE3: block content is chosen by users, so the hash must resist crafted collisions
/// (one block standing in for another in someone's transcript), which rules out fast
/// non-cryptographic hashes (xxh3, ahash); it is SIMD-parallel over 1 KiB chunks, so the large
/// blocks that carry most bytes (system prompts, tool lists, file reads) hash 2× faster than
/// SHA-256 even where the CPU has SHA extensions (below ~2 KiB SHA-NI wins; without SHA-NI
/// BLAKE3 wins at every size — `cargo bench -p gateway-transcript -- block_hash`); and the
/// derive-key mode separates these hashes from any other BLAKE3 use. Readers never recompute
/// hashes, so files written with the earlier SHA-256 addressing (format 1) read the same.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct BlockHash([u8; 16]);

/// Hashes a [`BlockHash`] by its first 8 bytes: it is already uniformly distributed, so
/// sets of them skip SipHash ([`BlockHashSet`]).
impl std::hash::Hash for BlockHash {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let mut first = [0u8; 8];
        first.copy_from_slice(&self.0[..8]);
        state.write_u64(u64::from_le_bytes(first));
    }
}

/// The hasher of [`BlockHashSet`]: passes a [`BlockHash`]'s `u64` through.
#[derive(Default, Clone, Copy, Debug)]
pub struct PassThrough(u64);

impl std::hash::Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Not used by BlockHash; a plain fold keeps it correct for anything else.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// A set of block hashes.
pub type BlockHashSet = HashSet<BlockHash, std::hash::BuildHasherDefault<PassThrough>>;

/// The BLAKE3 key-derivation context of [`BlockHash`].
pub const HASH_CONTEXT: &str = "llm-gateway 2026-12 transcript block v2";

impl BlockHash {
    /// The hash of `value`'s canonical JSON.
    pub fn of(value: &serde_json::Value) -> Self {
        Self::of_canonical(canonical_json(value).as_bytes())
    }

    /// The hash of JSON that is already canonical.
    pub fn of_canonical(json: &[u8]) -> Self {
        /// The hasher with its context key derived, once (deriving it is a hash of its own).
        static KEYED: LazyLock<blake3::Hasher> =
            LazyLock::new(|| blake3::Hasher::new_derive_key(HASH_CONTEXT));
        let mut hasher = KEYED.clone();
        hasher.update(json);
        let mut out = [0u8; 16];
        out.copy_from_slice(&hasher.finalize().as_bytes()[..16]);
        Self(out)
    }

    /// The 32 hex digits.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Appends the 32 hex digits to `out`.
    pub fn write_hex(&self, out: &mut Vec<u8>) {
        let mut digits = [0u8; 32];
        // 16 bytes always fit 32 digits.
        let _ = hex::encode_to_slice(self.0, &mut digits);
        out.extend_from_slice(&digits);
    }

    /// Parses 32 hex digits.
    pub fn from_hex(s: &str) -> Option<Self> {
        let mut out = [0u8; 16];
        hex::decode_to_slice(s, &mut out).ok()?;
        Some(Self(out))
    }
}

/// `serde_json`'s compact output of `value` (its maps keep keys sorted): the canonical JSON.
fn canonical_json(value: &serde_json::Value) -> String {
    // Serializing a Value into a String cannot fail.
    serde_json::to_string(value).unwrap_or_default()
}

impl fmt::Debug for BlockHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlockHash({})", self.to_hex())
    }
}

impl fmt::Display for BlockHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Serialize for BlockHash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut digits = Vec::with_capacity(32);
        self.write_hex(&mut digits);
        s.serialize_str(std::str::from_utf8(&digits).map_err(serde::ser::Error::custom)?)
    }
}

impl<'de> Deserialize<'de> for BlockHash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::from_hex(&s).ok_or_else(|| serde::de::Error::custom("a block hash is 32 hex digits"))
    }
}

/// One stored block (line `{"t":"block","h":"…","v":…}`), held as its canonical JSON text so
/// the writer copies bytes instead of serializing a tree. The text is shared (`Arc`): a block
/// the writer remembers ([`crate::assemble::BlockMemo`]) is not copied into each record.
#[derive(Clone, PartialEq, Eq)]
pub struct Block {
    /// [`BlockHash::of_canonical`] of the JSON.
    pub h: BlockHash,
    json: Arc<str>,
}

impl Block {
    /// The block of `value`.
    pub fn new(value: serde_json::Value) -> Self {
        Self::from_canonical(canonical_json(&value))
    }

    /// The block whose canonical JSON is `json` (the caller guarantees it is canonical).
    pub(crate) fn from_canonical(json: String) -> Self {
        Self {
            h: BlockHash::of_canonical(json.as_bytes()),
            json: json.into(),
        }
    }

    /// The block of canonical `json` whose hash `h` the caller computed.
    pub(crate) fn from_parts(h: BlockHash, json: Arc<str>) -> Self {
        Self { h, json }
    }

    /// The canonical JSON.
    pub fn json(&self) -> &str {
        &self.json
    }

    /// The block as a value (parsed on each call: for readers and tests).
    pub fn value(&self) -> serde_json::Value {
        serde_json::from_str(&self.json).unwrap_or_default()
    }

    /// Appends the block's line, `{"t":"block","h":"…","v":…}` and a newline, to `out`:
    /// pre-encoded bytes, no serializer.
    pub fn write_line(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(br#"{"t":"block","h":""#);
        self.h.write_hex(out);
        out.extend_from_slice(br#"","v":"#);
        out.extend_from_slice(self.json.as_bytes());
        out.extend_from_slice(b"}\n");
    }
}

impl fmt::Debug for Block {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Block")
            .field("h", &self.h)
            .field("bytes", &self.json.len())
            .finish()
    }
}

impl Serialize for Block {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let raw = serde_json::value::RawValue::from_string(self.json.to_string())
            .map_err(serde::ser::Error::custom)?;
        let mut out = s.serialize_struct("Block", 2)?;
        out.serialize_field("h", &self.h)?;
        out.serialize_field("v", &raw)?;
        out.end()
    }
}

impl<'de> Deserialize<'de> for Block {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        /// The line as written; the value is read as a tree (lines may come through an
        /// internally tagged enum, where raw values are not available) and made canonical.
        #[derive(Deserialize)]
        struct Stored {
            h: BlockHash,
            v: serde_json::Value,
        }
        let stored = Stored::deserialize(d)?;
        Ok(Self {
            h: stored.h,
            json: canonical_json(&stored.v).into(),
        })
    }
}

/// The hashes already written to one partition (a day of files, a day/org prefix of
/// objects), so each block is written there once. Bounded: past [`BlockLedger::MAX_ENTRIES`]
/// it forgets everything, which only means some blocks are written again (never lost).
#[derive(Debug, Default)]
pub struct BlockLedger {
    seen: BlockHashSet,
}

impl BlockLedger {
    /// Most hashes remembered per partition (16 bytes each, ~40 MiB with the table).
    pub const MAX_ENTRIES: usize = 1 << 20;

    /// True the first time `h` is offered (the caller writes the block), false after.
    pub fn first_time(&mut self, h: BlockHash) -> bool {
        if self.seen.len() >= Self::MAX_ENTRIES {
            self.seen.clear();
        }
        self.seen.insert(h)
    }

    /// Forgets everything: after a failed write, blocks thought written may not be.
    pub fn clear(&mut self) {
        self.seen.clear();
    }

    /// How many hashes are remembered.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}
