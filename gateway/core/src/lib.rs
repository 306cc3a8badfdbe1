//! Shared vocabulary of the gateway: the types every stage speaks.
//!
//! Owns:
//! - [`Secret`]: a value that cannot be printed, logged or serialized by accident;
//! - [`Principal`]: who a request is from, as established by authentication;
//! - [`Surface`]: which provider API a route belongs to, which fixes the error envelope;
//! - [`GatewayError`] and [`ErrorKind`]: the gateway's own refusals, with their status
//!   codes, provider error types and metric labels decided in one place.
//!
//! Invariants: an error message is shown to the client, so it never contains a credential or
//! a secret value; it always tells the user what to do next.
//!
//! Not here: I/O of any kind, configuration, HTTP serving.

mod error;
mod principal;
mod secret;
mod surface;

pub use error::{ErrorKind, GatewayError, Side};
pub use principal::Principal;
pub use secret::Secret;
pub use surface::Surface;
