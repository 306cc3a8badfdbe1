//! Metering: what a request may cost before it is sent, and what it did cost after.
//!
//! Owns:
//! - [`inspect_request`]: the facts a reservation needs from a request body (model, stream,
//!   output cap, an upper-leaning input estimate);
//! - [`set_max_output_tokens`] and [`request_usage_in_stream`]: byte-faithful edits of a request
//!   body (only the edited number or member changes; thinking signatures stay intact);
//! - [`UsageMeter`]: usage as the upstream reports it, from Anthropic Messages, OpenAI Chat
//!   Completions and OpenAI Responses, as JSON or SSE, fed the relayed bytes chunk by chunk;
//!   for OpenAI chat it can remove the usage-only chunk a client did not ask for;
//! - [`PriceTable`] (from `config/prices.toml`) and [`cost_micro_usd`] /
//!   [`reservation_micro_usd`]: money in integer micro-USD.
//!
//! Invariants:
//! - money is integer micro-USD; a sum of `tokens × rate` is divided once and rounded up, so a
//!   cost is never under the exact price;
//! - the meter never changes what the client sees except the one usage chunk it was asked to
//!   strip; SSE input may be split anywhere (inside UTF-8, inside `\r\n`);
//! - every buffer is bounded ([`DEFAULT_MAX_BUFFER_BYTES`]); nothing here panics on input.
//!
//! The vocabulary ([`gateway_core::Api`], [`gateway_core::Usage`], SSE framing) is core's.
//!
//! Not here: I/O (apart from [`PriceTable::load`]), budgets, reservations and their stores,
//! HTTP. The caller decides when a usage is final and what to charge a cut stream.

mod cost;
mod error;
mod meter;
mod price;
mod report;
mod request;

pub use cost::{cost_micro_usd, max_affordable_output_tokens, reservation_micro_usd};
pub use error::MeterError;
pub use meter::{DEFAULT_MAX_BUFFER_BYTES, UsageMeter};
pub use price::{
    LongContext, Price, PriceErrors, PriceProblem, PriceTable, UnknownModel, UnknownModelAnswer,
};
pub use request::{
    INPUT_BYTES_PER_TOKEN, RequestFacts, estimate_input_tokens, inspect_request,
    request_usage_in_stream, set_max_output_tokens,
};
