//! [`Snapshot`]: every record at one revision, indexed for the request path (blocks by what
//! they match, overrides by target, virtual keys by digest). Immutable; a change builds a new
//! one.

use std::collections::{BTreeMap, HashMap};

use gateway_core::Principal;

use crate::{Block, BlockKind, Override, Record, Scope, VirtualKey};

/// Every record at one store revision.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// The store revision it was read at.
    pub revision: u64,
    records: BTreeMap<String, Record>,
    /// Block ids by what they match, per kind: looked up by `&str`, no allocation per request.
    blocks: HashMap<BlockKind, HashMap<String, Vec<String>>>,
    /// Override ids by scope and target, looked up by `&str`.
    overrides: HashMap<Scope, HashMap<String, Vec<String>>>,
    keys: HashMap<[u8; 32], String>,
}

/// How many records are in force, for the gauges.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Overrides not expired.
    pub overrides_active: u64,
    /// Blocks not expired.
    pub blocks_active: u64,
    /// Virtual keys not expired.
    pub virtual_keys: u64,
}

impl Snapshot {
    /// Indexes `records`.
    pub fn new(revision: u64, records: Vec<Record>) -> Self {
        let mut s = Self {
            revision,
            ..Self::default()
        };
        for r in records {
            let id = r.id().to_owned();
            match &r {
                Record::Override(o) => s
                    .overrides
                    .entry(o.scope)
                    .or_default()
                    .entry(o.target.clone())
                    .or_default()
                    .push(id.clone()),
                Record::Block(b) => s
                    .blocks
                    .entry(b.kind)
                    .or_default()
                    .entry(b.value.clone())
                    .or_default()
                    .push(id.clone()),
                Record::Key(k) => {
                    let mut digest = [0u8; 32];
                    if hex::decode_to_slice(&k.sha256, &mut digest).is_ok() {
                        s.keys.insert(digest, id.clone());
                    }
                }
            }
            s.records.insert(id, r);
        }
        s
    }

    /// The record `id`.
    pub fn get(&self, id: &str) -> Option<&Record> {
        self.records.get(id)
    }

    /// Every record, by id.
    pub fn records(&self) -> impl Iterator<Item = &Record> {
        self.records.values()
    }

    /// The first active block matching `who` (subject, org, or its token id as `jti` or
    /// virtual key id).
    pub fn blocked(&self, who: &Principal, now_ms: u64) -> Option<&Block> {
        if self.blocks.is_empty() {
            return None;
        }
        let token = who.token_id.as_deref();
        let candidates = [
            (BlockKind::Subject, Some(who.subject.as_str())),
            (BlockKind::Org, who.org.as_deref()),
            (BlockKind::Jti, token),
            (BlockKind::Key, token),
        ];
        candidates.into_iter().find_map(|(kind, value)| {
            self.blocks
                .get(&kind)?
                .get(value?)?
                .iter()
                .filter_map(|id| match self.records.get(id) {
                    Some(r @ Record::Block(b)) if r.active(now_ms) => Some(b),
                    _ => None,
                })
                .next()
        })
    }

    /// The active virtual key whose token hashes to `digest`.
    pub fn key(&self, digest: &[u8; 32], now_ms: u64) -> Option<&VirtualKey> {
        match self.records.get(self.keys.get(digest)?) {
            Some(r @ Record::Key(k)) if r.active(now_ms) => Some(k),
            _ => None,
        }
    }

    /// The newest active override of `scope`/`target` that sets `limit`, with its value.
    pub fn override_value(
        &self,
        scope: Scope,
        target: &str,
        limit: &str,
        now_ms: u64,
    ) -> Option<(&Override, u64)> {
        self.overrides
            .get(&scope)?
            .get(target)?
            .iter()
            .filter_map(|id| match self.records.get(id) {
                Some(r @ Record::Override(o)) if r.active(now_ms) => {
                    o.limits.get(limit).map(|v| (o, *v))
                }
                _ => None,
            })
            .max_by_key(|(o, _)| (o.created_at_ms, o.revision))
    }

    /// Whether any override is stored (active or not): the request path's fast check.
    pub fn has_overrides(&self) -> bool {
        !self.overrides.is_empty()
    }

    /// Whether any active override targets `scope`/`target`.
    pub fn has_override(&self, scope: Scope, target: &str, now_ms: u64) -> bool {
        self.overrides
            .get(&scope)
            .and_then(|by_target| by_target.get(target))
            .is_some_and(|ids| {
                ids.iter()
                    .any(|id| self.records.get(id).is_some_and(|r| r.active(now_ms)))
            })
    }

    /// Records in force, for the gauges.
    pub fn counts(&self, now_ms: u64) -> Counts {
        let mut c = Counts::default();
        for r in self.records.values().filter(|r| r.active(now_ms)) {
            match r {
                Record::Override(_) => c.overrides_active += 1,
                Record::Block(_) => c.blocks_active += 1,
                Record::Key(_) => c.virtual_keys += 1,
            }
        }
        c
    }
}
