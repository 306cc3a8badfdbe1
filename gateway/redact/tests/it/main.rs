//! Integration tests of gateway-redact: recall on generated secrets in every context and
//! encoding, the negative corpus, the pinned real-code false-positive scan, properties, and
//! behaviour of the public API.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test fixtures and helpers fail loudly on broken setup"
)]

mod common;

mod api;
mod file_hints;
mod negatives;
mod properties;
mod recall;
mod registry;
