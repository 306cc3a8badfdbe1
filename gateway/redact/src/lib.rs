//! # gateway-redact
//!
//! The pure secret-redaction engine of the gateway: it takes a provider request body and
//! returns the same body with every credential inside conversation text replaced by a
//! deterministic placeholder, plus a value-free report and the map restore needs.
//!
//! ## What it owns
//! - **Walking** Anthropic Messages, OpenAI Chat and OpenAI Responses bodies with a strict,
//!   zero-copy JSON walker (a field map per [`gateway_core::Api`] decides which string values are conversation text:
//!   user/assistant text, system, tool results, past tool-call arguments; never thinking,
//!   signatures, images, documents, ids or `cache_control`).
//! - **Detection** on decoded text (JSON unescape with an offset map, one bounded nested
//!   decode for JSON inside JSON): one Aho-Corasick prefilter over rule anchors, vendor
//!   formats confirmed by ASCII regexes and validators (CRC32 tails, JWT headers, PEM
//!   extent, base64-encoded private keys…), connection-string passwords, HTTP auth, and a
//!   `KEY=VALUE` lexer judging by variable name and value shape, which looks past per-line
//!   prefixes (line numbers of file reads, diff `+`, `>` quotes) in raw and escaped text.
//!   A tool result is also judged as the file its call read (the walk ties results to calls
//!   by id; `.env`, `.pgpass`, `.htpasswd`, token, key and `.git-credentials` files have
//!   rules of their own). Confirmed values are redacted everywhere in the request.
//! - **Placeholders** `gwx_<kind>_<16 base32>`, HMAC-SHA256 of the value under the tenant
//!   key, or under a key derived from it per organisation ([`Scope`]): stable across turns
//!   and restarts so prompt caches keep hitting, never shared between two organisations.
//! - **Restore**: [`Restorer`], a streaming state machine putting originals back where the
//!   model echoes placeholders, robust to any chunk split.
//! - **History cache**: [`HistoryCache`] remembers findings of long strings by keyed hash;
//!   one cache serves concurrent requests (`&self`, sharded locks held only for a lookup).
//!
//! ## Invariants
//! - The output is valid JSON and differs from the input only inside redacted string values;
//!   when nothing is found it *is* the input (borrowed, not copied).
//! - Same value + same tenant key + same [`Scope`] → same placeholder; redacting twice changes nothing more.
//! - Values never appear in errors, [`Report`]s or any `Debug` output; [`RestoreMap`] and
//!   [`SecretValue`] have no `Display`/`Serialize` and mask `Debug`.
//! - Invalid UTF-8/JSON is an error, never a pass-through.
//!
//! ## Not here
//! HTTP, content-encoding, SSE parsing, per-tenant storage of restore maps, metrics
//! registration and policy parsing live in the gateway crates; this crate does no I/O, has
//! no async and spawns nothing.
//!
//! ```
//! use gateway_core::Api;
//! use gateway_redact::{HistoryCache, Redactor, RedactorConfig, Restorer, Target, TenantKey};
//!
//! let key = TenantKey::new(b"0123456789abcdef0123456789abcdef".to_vec())?;
//! let redactor = Redactor::new(RedactorConfig::new(key))?;
//! let cache = HistoryCache::new(1024);
//! let body = br#"{"messages":[{"role":"user","content":"DB_PASSWORD=Sup3r-Secret-42\nPORT=3000"}]}"#;
//! let out = redactor.redact_request(body, Api::AnthropicMessages, &cache)?;
//! let text = std::str::from_utf8(out.body()).unwrap_or_default();
//! assert!(text.contains("DB_PASSWORD=gwx_env_") && text.contains("PORT=3000"));
//! assert_eq!(out.report().count("sensitive-assignment"), 1);
//!
//! let mut restorer = Restorer::new(out.restore_map());
//! let mut back = restorer.push(text, Target::JsonFragment);
//! back.push_str(&restorer.finish());
//! assert_eq!(back.as_bytes(), body);
//! # Ok::<(), gateway_redact::RedactError>(())
//! ```

mod cache;
mod config;
mod detect;
mod error;
mod fields;
mod json;
mod placeholder;
mod redactor;
mod report;
mod restore;

pub use cache::HistoryCache;
pub use config::{ExtraRule, RedactorConfig, TenantKey};
pub use error::RedactError;
pub use redactor::{Redaction, Redactor, Scope};
pub use report::{Report, RestoreMap, SecretValue};
pub use restore::{Restorer, Target};
