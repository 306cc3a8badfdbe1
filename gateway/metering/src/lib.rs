//! The metering and quota stage: prices every request, holds each subject, organisation and
//! agent run to its policy's buckets, and settles what the exchange really cost.
//!
//! Owns:
//! - [`Metering::admit`]: before forwarding, the request's facts are read, its policy checked
//!   (allowed models, `max_tokens` cap), and a reservation taken on every bucket in one atomic
//!   store call; a spent budget may clamp `max_tokens` to what is left (at the rates the
//!   reservation uses); refusals are answers clients understand (429 with `retry-after`,
//!   402 `billing_error` naming the limit and its reset);
//! - [`Hold`]: the reservation, the meter for the response, the exchange's
//!   [`gateway_core::Outcome`] ([`Hold::outcome`]) and its settlement ([`Hold::settle`]);
//!   a hold dropped unsettled (the provider was never reached) charges only the request;
//! - [`TargetPrices`] and [`Metering::served_by`]: an exchange a fallback target served
//!   settles at that target's own prices (`prices_file`), not the primary's it was reserved at.
//!
//! Invariants: nothing leaves for the provider unreserved; usage settles even when the client
//! disconnects; usage is keyed by subject and organisation, never by policy, so a policy edit
//! never resets what was spent.
//!
//! Not here: usage parsing and prices (gateway-meter), policy files (gateway-policy), atomic
//! buckets (gateway-quota), choosing the request's policy (the app).

mod admit;
mod buckets;
mod refusal;
mod served;
mod settle;

pub use admit::{Admission, Hold, Metering};
pub use buckets::RUN_LABEL;
pub use served::TargetPrices;
