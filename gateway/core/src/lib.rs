//! Shared vocabulary of the gateway: the types every stage and engine speaks, defined once.
//!
//! Owns:
//! - [`Api`] and [`Provider`]: which model API a body belongs to, and the provider family
//!   behind it (which fixes the upstream and the error envelope);
//! - [`Usage`]: a response's tokens by price class; [`MicroUsd`]: money as it is shown;
//! - [`json`]: a JSON object as raw members with byte spans, and byte-faithful edits;
//! - [`sse`]: the one server-sent-events framing (event ends, names, data), the event-stream
//!   content-type check and the stream error event;
//! - [`Outcome`]: how one proxied exchange ended, the single value the pipeline fans out to
//!   quota settlement, metrics and transcripts;
//! - [`Secret`]: a value that cannot be printed, logged or serialized by accident;
//! - [`Principal`]: who a request is from, as established by authentication;
//! - [`GatewayError`] and [`ErrorKind`]: the gateway's own refusals, with their status
//!   codes, provider error types and metric labels decided in one place.
//!
//! Invariants: pure (no I/O, no configuration, no async); an error message is shown to the
//! client, so it never contains a credential or a secret value and always tells the user what
//! to do next.
//!
//! Not here: configuration (gateway-config), HTTP serving (gateway-server), any engine.

mod api;
mod error;
pub mod json;
mod money;
mod outcome;
mod principal;
mod secret;
pub mod sse;
mod usage;

pub use api::{Api, Provider};
pub use error::{ErrorChain, ErrorKind, GatewayError};
pub use money::MicroUsd;
pub use outcome::{Outcome, Served};
pub use principal::Principal;
pub use secret::{REDACTION_ANCHOR_MIN_BYTES, REDACTION_KEY_MIN_BYTES, Secret};
pub use usage::Usage;

/// The error type of response bodies across the gateway (hyper's body errors are boxed).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
