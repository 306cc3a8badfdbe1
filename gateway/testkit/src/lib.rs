//! Test harness for integration tests (dev only): runs the real `llm-gateway` binary on
//! loopback ports chosen by the OS, captures its logs, and offers a small HTTP client.
//!
//! Owns: [`TestGateway`] (spawn, wait until listening, signal, collect logs), [`http`] (plain
//! and streaming requests), [`tools`] (finding the real clients installed by
//! `scripts/setup-clients`, skipping loudly locally and failing in CI when they are missing),
//! real `redis-server` and Prometheus/promtool processes ([`redis_server`], [`prometheus`]),
//! and the one way to wait for a condition ([`poll`]).
//!
//! Invariants: nothing here sleeps to synchronise; waits are on events (a log line, a process
//! exit, a frame) or polls of a condition ([`poll`]), always with an upper bound.
//!
//! Not here: the mock provider (load-tests/mock-provider).

#![expect(
    clippy::expect_used,
    clippy::panic,
    reason = "a test harness fails loudly"
)]

pub mod http;
pub mod idp;
pub mod jwt;
pub mod moto;
pub mod poll;
mod process;
pub mod prometheus;
pub mod redis_cluster;
pub mod redis_server;
pub mod tools;

pub use process::{TestGateway, TestGatewayBuilder};

use std::path::PathBuf;

/// The repository root.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

/// SHA-256 hex of a token, as `[[auth.keys]] sha256` wants it.
pub fn sha256_hex(token: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(token.as_bytes()))
}

/// The token of the development key in `config/gateway.toml`.
pub const DEV_TOKEN: &str = "gw-dev-token";
