//! What a redaction produced besides the body: a value-free [`Report`] (counts by rule) and
//! the [`RestoreMap`] (placeholder → original) that restore needs. The map is the only type
//! here holding secrets: no `Display`, no `Serialize`, a masked `Debug`, zeroized on drop.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use zeroize::Zeroizing;

/// Counts by rule, safe to log, export as metrics or store in a transcript.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    counts: BTreeMap<&'static str, u32>,
    pub(crate) strings_scanned: u32,
    pub(crate) bytes_scanned: u64,
    pub(crate) bytes_cached: u64,
}

impl Report {
    pub(crate) fn add(&mut self, rule: &'static str) {
        *self.counts.entry(rule).or_default() += 1;
    }

    /// Replacements per rule name (e.g. `github-token`, `sensitive-assignment`), counting
    /// every occurrence, including repeats of an already confirmed value.
    pub fn counts(&self) -> impl Iterator<Item = (&'static str, u32)> + '_ {
        self.counts.iter().map(|(k, v)| (*k, *v))
    }

    /// Replacements for one rule.
    pub fn count(&self, rule: &str) -> u32 {
        self.counts.get(rule).copied().unwrap_or(0)
    }

    /// Total replacements.
    pub fn total(&self) -> u32 {
        self.counts.values().sum()
    }

    /// String values that were eligible for scanning.
    pub fn strings_scanned(&self) -> u32 {
        self.strings_scanned
    }

    /// Bytes run through detection in this call.
    pub fn bytes_scanned(&self) -> u64 {
        self.bytes_scanned
    }

    /// Bytes answered from the [`crate::HistoryCache`] instead of being scanned.
    pub fn bytes_cached(&self) -> u64 {
        self.bytes_cached
    }
}

/// An original value. No `Display`/`Serialize`; `Debug` is masked; zeroized on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(Zeroizing<String>);

impl SecretValue {
    pub(crate) fn new(value: String) -> Self {
        Self(Zeroizing::new(value))
    }

    /// The original text. Call sites are where a secret leaves the type: keep them few.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretValue(***)")
    }
}

/// Placeholder → original value, for the placeholders minted in a request (merge maps to
/// keep a conversation's or a tenant's). Restore only ever replaces exact keys of this map.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RestoreMap {
    map: HashMap<String, SecretValue>,
}

impl RestoreMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    pub(crate) fn insert(&mut self, placeholder: String, value: SecretValue) {
        self.map.entry(placeholder).or_insert(value);
    }

    /// Adds every entry of `other` (placeholders are deterministic, so entries agree).
    pub fn merge(&mut self, other: &Self) {
        for (k, v) in &other.map {
            self.map.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }

    /// The original behind `placeholder`, if this map minted it.
    pub fn get(&self, placeholder: &str) -> Option<&SecretValue> {
        self.map.get(placeholder)
    }

    /// The placeholders in this map (safe to log: they are what the provider saw).
    pub fn placeholders(&self) -> impl Iterator<Item = &str> {
        self.map.keys().map(String::as_str)
    }

    /// Number of distinct placeholders.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether nothing was redacted.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

impl fmt::Debug for RestoreMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RestoreMap({} entries, values masked)", self.map.len())
    }
}

impl AsRef<RestoreMap> for RestoreMap {
    fn as_ref(&self) -> &RestoreMap {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_values() {
        let mut m = RestoreMap::new();
        m.insert(
            "gwx_env_0000000000000000".into(),
            SecretValue::new("hunter22".into()),
        );
        let shown = format!("{m:?} {:?}", m.get("gwx_env_0000000000000000"));
        assert!(!shown.contains("hunter22"), "{shown}");
    }
}
