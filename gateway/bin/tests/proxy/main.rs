//! Integration tests: the real `llm-gateway` binary against the mock provider, on loopback.
//! One test binary with one module per behaviour, so the suite links once.

#![cfg(test)]

mod admin;
mod admin_ui;
mod clients;
mod clients_fallback;
mod config_cli;
mod demo;
mod deploy;
mod identity;
mod memory_bounds;
mod metrics;
mod quota;
mod redaction;
mod refusals;
mod resilience;
mod routes;
mod shutdown;
mod streaming;
mod tls;
mod transcripts;
mod upstream_errors;

use std::time::Duration;

use gateway_testkit::{TestGateway, TestGatewayBuilder};
use mock_provider::{MockConfig, MockProvider};

/// Upper bound for any single wait in these tests.
const WAIT: Duration = Duration::from_secs(20);

/// The gateway binary under test.
fn gateway() -> TestGatewayBuilder {
    TestGateway::builder(env!("CARGO_BIN_EXE_llm-gateway"))
}

/// A mock provider (default behaviour) and a gateway in front of it.
async fn pair() -> (MockProvider, TestGateway) {
    pair_with(MockConfig::default(), |b| b).await
}

/// A mock provider with `config` and a gateway in front of it, customised by `f`.
async fn pair_with(
    config: MockConfig,
    f: impl FnOnce(TestGatewayBuilder) -> TestGatewayBuilder,
) -> (MockProvider, TestGateway) {
    let mock = MockProvider::start(config).await.expect("mock starts");
    let gw = f(gateway().upstream(&mock.base_url())).start().await;
    (mock, gw)
}

/// Credential headers as a client sends the development token.
const BEARER: (&str, &str) = ("authorization", "Bearer gw-dev-token");
