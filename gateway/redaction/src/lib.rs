//! The redaction stage: both halves of secret redaction on the request path.
//!
//! Owns:
//! - [`Redaction`]: the request half. Every model request body is scanned before it leaves
//!   for the provider, under the rules of the request's policy (one engine per policy that
//!   adds rules or an allowlist, built for a whole policy set before it goes live:
//!   [`Redaction::prepare`] then [`Redaction::install`]); secrets become deterministic
//!   placeholders, minted under the principal's organisation's key (two organisations never
//!   share one). A body that cannot be read is refused, never forwarded unscanned.
//! - [`restore`] and [`Restored`]: the response half, opt-in per policy. Where the model
//!   echoes a placeholder minted for this request, the client gets the original back; generic
//!   over the body it wraps, so it composes with any response chain.
//!
//! Invariants: secret values never reach a log line, a metric label or an error message
//! (rule names and counts only); a body is changed only where a secret was replaced (request)
//! or restored (response); everything else is relayed byte for byte.
//!
//! Not here: detection itself (gateway-redact, the engine), choosing the policy (the app),
//! metering or transcripts (other stages, which see placeholders, never originals).

mod redaction;
mod redactors;
mod restore;

pub use redaction::{Redacted, Redaction, RedactionSetupError};
pub use redactors::Prepared;
pub use restore::{Restored, restore};
