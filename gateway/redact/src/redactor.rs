//! [`Redactor`]: walk → (cache | decode → detect) → propagate → mint → splice.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::cache::{CachedFinding, Entry, HistoryCache, Key};
use crate::config::RedactorConfig;
use crate::detect::Engine;
use crate::detect::file::FileKind;
use crate::error::RedactError;
use crate::json::hints::{self, Tagged};
use crate::json::{self, StrSpan};
use crate::placeholder::{Kind, Minter};
use crate::report::{Report, RestoreMap, SecretValue};
use gateway_core::Api;

mod propagate;
mod scratch;

use scratch::Scratch;

/// Bump when detection changes, so cached results from an older rule set are not reused.
const RULESET_VERSION: &[u8] = b"gateway-redact rules v1";

/// Domain label of per-organisation placeholder keys (see [`Scope`]).
const ORG_SCOPE_LABEL: &[u8] = b"gateway-redact placeholder scope: org v1";

/// Whose key placeholders are minted under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope<'a> {
    /// The tenant key itself: principals without an organisation.
    Gateway,
    /// A key derived from the tenant key and the organisation's name (HMAC-SHA256 under the
    /// tenant key, domain-separated): stable for the organisation across turns, restarts and
    /// replicas, and different from every other organisation's.
    Org(&'a str),
}

impl<'a> Scope<'a> {
    /// `Org` for a principal with an organisation, `Gateway` otherwise.
    pub fn for_org(org: Option<&'a str>) -> Self {
        org.map_or(Self::Gateway, Self::Org)
    }
}

/// Strings shorter than this are scanned directly; hashing them would cost as much.
const CACHE_MIN_BYTES: usize = 512;

/// The redaction engine for one configuration (tenant key, extra rules, allowlist).
/// Build it once per policy; it is `Send + Sync` and every call takes `&self`.
pub struct Redactor {
    engine: Engine,
    minter: Minter,
    allow: HashSet<Vec<u8>>,
    cache_salt: [u8; 32],
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redactor")
            .field("allowlist", &self.allow.len())
            .finish_non_exhaustive()
    }
}

/// The outcome of one redaction: the body to forward, what was replaced, and the map that
/// restore needs. `Debug` shows sizes and counts only.
pub struct Redaction<'a> {
    body: Cow<'a, [u8]>,
    report: Report,
    restore: RestoreMap,
}

impl fmt::Debug for Redaction<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redaction")
            .field("unchanged", &self.is_unchanged())
            .field("body_len", &self.body.len())
            .field("report", &self.report)
            .field("restore", &self.restore)
            .finish()
    }
}

impl<'a> Redaction<'a> {
    /// The body to forward (the input itself when nothing was found).
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Whether the body is the input, untouched and uncopied.
    pub fn is_unchanged(&self) -> bool {
        matches!(self.body, Cow::Borrowed(_))
    }

    /// Counts by rule; never values.
    pub fn report(&self) -> &Report {
        &self.report
    }

    /// Placeholder → original for the placeholders in this body.
    pub fn restore_map(&self) -> &RestoreMap {
        &self.restore
    }

    /// Splits into (body, report, restore map).
    pub fn into_parts(self) -> (Cow<'a, [u8]>, Report, RestoreMap) {
        (self.body, self.report, self.restore)
    }
}

fn u32_of(v: usize) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

impl Redactor {
    /// Compiles the rule set and keys the placeholder minter.
    pub fn new(config: RedactorConfig) -> Result<Self, RedactError> {
        let engine = Engine::new(&config.extra_rules)?;
        let minter = Minter::new(config.tenant_key.bytes());
        let mut cfg = Sha256::new();
        for r in &config.extra_rules {
            cfg.update(r.pattern.as_bytes());
            cfg.update([0]);
            for a in &r.anchors {
                cfg.update(a.as_bytes());
                cfg.update([1]);
            }
        }
        let mut allow: Vec<&String> = config.allowlist.iter().collect();
        allow.sort();
        for a in &allow {
            cfg.update(a.as_bytes());
            cfg.update([2]);
        }
        let cfg: [u8; 32] = cfg.finalize().into();
        let cache_salt = minter.digest(&[b"history-cache", RULESET_VERSION, &cfg]);
        Ok(Self {
            engine,
            minter,
            allow: config
                .allowlist
                .into_iter()
                .map(String::into_bytes)
                .collect(),
            cache_salt,
        })
    }

    /// Redacts a provider request body. Invalid UTF-8 or JSON is refused (answer 400, never
    /// forward it unscanned). Only string values the API's field map marks as conversation text
    /// change; when nothing is found the body is returned borrowed.
    pub fn redact_request<'a>(
        &self,
        body: &'a [u8],
        api: Api,
        cache: &HistoryCache,
    ) -> Result<Redaction<'a>, RedactError> {
        self.redact_request_in(body, api, cache, Scope::Gateway)
    }

    /// [`Self::redact_request`] with placeholders minted under `scope`'s key: two
    /// organisations never share a placeholder for the same value. Detection (and the
    /// history cache) is the same for every scope; only the minted ids differ.
    pub fn redact_request_in<'a>(
        &self,
        body: &'a [u8],
        api: Api,
        cache: &HistoryCache,
        scope: Scope<'_>,
    ) -> Result<Redaction<'a>, RedactError> {
        if u32::try_from(body.len()).is_err() {
            return Err(RedactError::TooLarge { len: body.len() });
        }
        if let Err(e) = std::str::from_utf8(body) {
            return Err(RedactError::InvalidUtf8 {
                offset: e.valid_up_to(),
            });
        }
        let mut units = Vec::new();
        let mut owners = Vec::new();
        let mut tags = Vec::new();
        json::walk(body, api, &mut |v| {
            if v.scan {
                units.push(v.span);
                owners.push(v.owner);
            }
            if let Some(tag) = v.tag {
                tags.push(Tagged {
                    tag,
                    span: v.span,
                    owner: v.owner,
                });
            }
        })?;
        let files = hints::file_kinds(body, &owners, &tags);
        Ok(self.run(body, &units, &files, true, Some(cache), scope))
    }

    /// Redacts plain text (an SSE text delta, a log line). No JSON decoding; text holding
    /// escaped JSON is still decoded once for detection. Placeholders match the ones
    /// [`Self::redact_request`] mints for the same values.
    pub fn redact_text<'a>(&self, text: &'a str) -> Redaction<'a> {
        self.redact_text_in(text, Scope::Gateway)
    }

    /// [`Self::redact_text`] under `scope`'s placeholder key (matching
    /// [`Self::redact_request_in`] with the same scope).
    pub fn redact_text_in<'a>(&self, text: &'a str, scope: Scope<'_>) -> Redaction<'a> {
        let unit = StrSpan {
            start: 0,
            end: text.len(),
            escaped: false,
        };
        self.run(text.as_bytes(), &[unit], &[], false, None, scope)
    }

    /// Keyed BLAKE3 (the key derived from the tenant key and the rule set): unguessable, so
    /// nobody can craft a string that collides with another's cached (empty) result, and
    /// several times faster than SHA-256 on long history blocks.
    /// The file kind (when the string is a credential file's content) is part of the key:
    /// the same text read from `.env` and from `notes.txt` is judged differently.
    fn cache_key(&self, raw: &[u8], file: Option<FileKind>) -> Key {
        let d = match file {
            None => blake3::keyed_hash(&self.cache_salt, raw),
            Some(kind) => blake3::Hasher::new_keyed(&self.cache_salt)
                .update(&[0, kind.code()])
                .update(raw)
                .finalize(),
        };
        let mut k = [0u8; 16];
        k.copy_from_slice(&d.as_bytes()[..16]);
        k
    }

    /// Detection on one string value; findings in raw coordinates of that value.
    fn scan(
        &self,
        raw: &[u8],
        json: bool,
        file: Option<FileKind>,
        scratch: &mut Scratch,
    ) -> Vec<CachedFinding> {
        let layers = scratch.decode(raw, json);
        let mut found = std::mem::take(&mut scratch.found);
        found.clear();
        let mut anchors = std::mem::take(&mut scratch.anchors);
        let text = scratch.text(raw, layers);
        match file {
            None => self.engine.detect(text, &mut anchors, &mut found),
            Some(kind) => self
                .engine
                .detect_in_file(text, kind, &mut anchors, &mut found),
        }
        let mut out = Vec::with_capacity(found.len());
        for f in &found {
            let value = &text[f.start..f.end];
            if self.allow.contains(value) {
                continue;
            }
            let (s, e) = scratch.to_raw(f.start, f.end, layers);
            out.push(CachedFinding {
                start: u32_of(s),
                end: u32_of(e),
                rule: f.rule,
                value: SecretValue::new(String::from_utf8_lossy(value).into_owned()),
            });
        }
        scratch.found = found;
        scratch.anchors = anchors;
        out
    }

    fn run<'a>(
        &self,
        src: &'a [u8],
        units: &[StrSpan],
        files: &[Option<FileKind>],
        json: bool,
        cache: Option<&HistoryCache>,
        scope: Scope<'_>,
    ) -> Redaction<'a> {
        let mut report = Report::default();
        let mut scratch = Scratch::default();
        let mut results: Vec<Entry> = Vec::with_capacity(units.len());
        let empty: Entry = Arc::from(Vec::new());
        for (i, u) in units.iter().enumerate() {
            let raw = &src[u.start..u.end];
            let file = files.get(i).copied().flatten();
            report.strings_scanned += 1;
            let key = match cache {
                Some(c) if c.enabled() && raw.len() >= CACHE_MIN_BYTES => {
                    Some(self.cache_key(raw, file))
                }
                _ => None,
            };
            let hit = match (&key, cache) {
                (Some(k), Some(c)) => c.get(k),
                _ => None,
            };
            if let Some(hit) = hit {
                report.bytes_cached += raw.len() as u64;
                results.push(hit);
                continue;
            }
            report.bytes_scanned += raw.len() as u64;
            let found = self.scan(raw, json && u.escaped, file, &mut scratch);
            let entry: Entry = if found.is_empty() {
                Arc::clone(&empty)
            } else {
                Arc::from(found)
            };
            if let (Some(k), Some(c)) = (key, cache) {
                c.insert(k, Arc::clone(&entry));
            }
            results.push(entry);
        }
        let mut per_unit: Vec<Vec<CachedFinding>> = results.iter().map(|e| e.to_vec()).collect();
        self.propagate(src, units, json, &mut per_unit, &mut scratch);
        self.splice(src, units, per_unit, report, scope)
    }

    /// Mints placeholders and builds the output body.
    fn splice<'a>(
        &self,
        src: &'a [u8],
        units: &[StrSpan],
        per_unit: Vec<Vec<CachedFinding>>,
        mut report: Report,
        scope: Scope<'_>,
    ) -> Redaction<'a> {
        let mut restore = RestoreMap::new();
        // Derived only when there is something to mint: the clean path pays nothing.
        let scoped = match scope {
            Scope::Org(org) if per_unit.iter().any(|f| !f.is_empty()) => {
                Some(self.minter.derive(ORG_SCOPE_LABEL, org.as_bytes()))
            }
            _ => None,
        };
        let minter = scoped.as_ref().unwrap_or(&self.minter);
        let mut minted: HashMap<(Kind, Vec<u8>), String> = HashMap::new();
        let mut edits: Vec<(usize, usize, String)> = Vec::new();
        for (u, found) in units.iter().zip(per_unit) {
            for f in found {
                let info = self.engine.rule(f.rule);
                let value = f.value.expose().as_bytes();
                let ph = minted
                    .entry((info.kind, value.to_vec()))
                    .or_insert_with(|| minter.mint(info.kind, value))
                    .clone();
                restore.insert(ph.clone(), f.value.clone());
                report.add(info.name);
                edits.push((u.start + f.start as usize, u.start + f.end as usize, ph));
            }
        }
        if edits.is_empty() {
            return Redaction {
                body: Cow::Borrowed(src),
                report,
                restore,
            };
        }
        edits.sort_by_key(|e| e.0);
        let mut out = Vec::with_capacity(src.len());
        let mut at = 0;
        for (s, e, ph) in edits {
            if s < at {
                // Two spans met inside one escape sequence: the earlier edit already covers it.
                out.extend_from_slice(ph.as_bytes());
                at = at.max(e);
                continue;
            }
            out.extend_from_slice(&src[at..s]);
            out.extend_from_slice(ph.as_bytes());
            at = e;
        }
        out.extend_from_slice(&src[at..]);
        Redaction {
            body: Cow::Owned(out),
            report,
            restore,
        }
    }
}
