//! Content-addressed blocks: a message's content block (or a tool definition, a system
//! prompt part, a response block) stored once per partition and referenced by its hash.

use std::{collections::HashSet, fmt};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

/// The first 128 bits of the SHA-256 of a block's canonical JSON (`serde_json` compact
/// output of the value, keys in the order received), shown as 32 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlockHash([u8; 16]);

impl BlockHash {
    /// The hash of `value`'s compact JSON.
    pub fn of(value: &serde_json::Value) -> Self {
        // Writing into a hasher cannot fail; serialization of a Value cannot either.
        let mut hasher = HashWriter(Sha256::new());
        let _ = serde_json::to_writer(&mut hasher, value);
        let digest = hasher.0.finalize();
        let mut out = [0u8; 16];
        out.copy_from_slice(&digest[..16]);
        Self(out)
    }

    /// The 32 hex digits.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 32 hex digits.
    pub fn from_hex(s: &str) -> Option<Self> {
        let mut out = [0u8; 16];
        hex::decode_to_slice(s, &mut out).ok()?;
        Some(Self(out))
    }
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
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for BlockHash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::from_hex(&s).ok_or_else(|| serde::de::Error::custom("a block hash is 32 hex digits"))
    }
}

struct HashWriter(Sha256);

impl std::io::Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One stored block (line `{"t":"block","h":"…","v":…}`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Block {
    /// [`BlockHash::of`] `v`.
    pub h: BlockHash,
    /// The block itself, as JSON.
    pub v: serde_json::Value,
}

impl Block {
    /// A block and its hash.
    pub fn new(v: serde_json::Value) -> Self {
        Self {
            h: BlockHash::of(&v),
            v,
        }
    }
}

/// The hashes already written to one partition (a day of files, a day/org prefix of
/// objects), so each block is written there once. Bounded: past [`BlockLedger::MAX_ENTRIES`]
/// it forgets everything, which only means some blocks are written again (never lost).
#[derive(Debug, Default)]
pub struct BlockLedger {
    seen: HashSet<BlockHash>,
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
