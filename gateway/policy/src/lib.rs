//! Quota policies: the files under `policies/*.toml`, parsed and validated into one immutable
//! [`PolicySet`] that says, for each principal, which limits apply.
//!
//! Owns: the policy file format, its validation and problem reports ([`PolicyErrors`],
//! [`report`], [`summary`] for `llm-gateway check-policies`), selection of the policy for a
//! principal ([`PolicySet::select`]), model allowlists ([`Policy::allows_model`]), money
//! as integer micro-USD ([`money`]), and the per-policy redaction and transcript settings
//! ([`RedactionSettings`], [`TranscriptSettings`]; extra rule patterns are compiled by the
//! redaction stage, which refuses a set whose engines cannot be built, at the pattern's line).
//!
//! # The format
//!
//! ```toml
//! [[policy]]
//! name = "free"                     # required, unique across all files
//! match = { plan = "free" }         # subject, org, plan; globs (* ?) allowed; absent or {} = default
//! requests_per_minute = 30          # limits per subject; each optional, each > 0
//! tokens_per_minute = 200_000       # input + output tokens
//! tokens_per_day = 2_000_000
//! usd_per_day = 5.0                 # USD, at most 6 decimals → 5_000_000 micro-USD
//! usd_per_month = 50.0
//! models = ["claude-sonnet-*"]      # allowed model globs; absent = all, [] = none
//! max_tokens_cap = 16000            # larger max_tokens are lowered to this
//! clamp_max_tokens = false          # true: lower max_tokens to what the budget can pay
//! on_store_error = "deny"           # or "allow_local"; default "deny" iff a usd_* limit is set
//! local_share = 0.5                 # 0 < x ≤ 1 of each limit per replica while the store is down
//! priority = 10                     # optional; higher is tried first (absent = 0)
//! description = "…"                 # optional, for admins
//!
//! [policy.org]                      # optional: limits per organisation, on top
//! usd_per_day = 100.0               # same five limit keys
//!
//! [policy.redaction]                # optional: secret scanning of this policy's requests
//! enabled = true                    # false: forwarded unscanned (the gateway warns at load)
//! allow = ["sk-test-shared-key"]    # exact values never redacted
//! restore = false                   # true: originals back where the model echoes placeholders
//! [[policy.redaction.rules]]        # extra detection rules; findings count as rule `custom`
//! name = "acme-token"               # for humans
//! anchors = ["acmetok_"]            # literals (≥ 3 ASCII) found in every match
//! pattern = "acmetok_[A-Za-z0-9]{32}"  # bytes-mode regex; must compile, never match ""
//!
//! [policy.transcripts]              # optional: what is recorded of this policy's requests
//! mode = "full"                     # "full" | "metadata" | "off"
//! sample = 1.0                      # 0 < x ≤ 1: share of sessions, by session id
//! ```
//!
//! Day and month windows are calendar windows in UTC; the quota stage computes them, this
//! crate only carries the limits.
//!
//! # Selection
//!
//! [`PolicySet::select`] returns the first policy, in this order, whose `match` fields all
//! equal (or glob-match) the principal's; a principal without an org or plan never matches
//! a policy that asks for one:
//! 1. higher `priority` first (absent counts as 0);
//! 2. more `match` fields first (`{ org, plan }` before `{ plan }`);
//! 3. more fields without wildcards first (`plan = "pro"` before `plan = "pro*"`);
//! 4. file name order, then order within the file.
//!
//! The default policy (no `match`, at most one in all files, no `priority`) is used only when
//! nothing else matches. Without one, a principal that matches nothing has **no limits**.
//! Two policies with the same `match` and priority are refused: the second could never apply.
//!
//! # Organisation limits
//!
//! `[policy.org]` adds a bucket keyed by the principal's org id, shared by every member of
//! the org; a request must pass both its subject bucket and its org bucket
//! ([`Policy::buckets`]). Buckets are keyed by subject or org id, never by policy name, so
//! moving a subject between plans or editing a limit keeps what was spent. Principals without
//! an org have only the subject bucket. A policy matched by org (`match = { org = "acme" }`)
//! with only `[policy.org]` limits gives an organisation a budget without per-user limits.
//!
//! # Invariants
//!
//! - every problem of every file is reported at once, each with file, line and key path;
//!   an invalid set is never partly applied;
//! - every limit is greater than zero; money is whole micro-USD, converted from the decimal
//!   text (never rounded through a binary float);
//! - a [`PolicySet`] never changes; reload builds a new one.
//!
//! Not here: counting usage, windows, stores (`gateway-quota`), refusals as HTTP answers
//! (`gateway-metering`), file watching and reload (`gateway-app`), compiling rule patterns
//! (`gateway-redact`, through `gateway-redaction`). No async, no network; [`PolicySet::load_dir`] is the only file access.

mod fields;
mod glob;
pub mod money;
mod policy;
mod problems;
mod read;
mod sections;
mod set;

pub use glob::{is_literal as glob_is_literal, matches as glob_matches};
pub use policy::{Limit, Limits, Match, OnStoreError, Origin, Policy, Scope, Who};
pub use problems::{PolicyErrors, PolicyProblem, report};
pub use sections::{RedactionRule, RedactionSettings, TranscriptMode, TranscriptSettings};
pub use set::{PolicySet, summary};

#[cfg(test)]
mod tests;
