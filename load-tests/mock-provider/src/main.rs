//! `mock-provider`: the mock model provider as a process, for load tests.
//!
//! Prints exactly one line, `listening on 127.0.0.1:PORT`, once bound, then serves until
//! SIGINT or SIGTERM.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use mock_provider::{BedrockCredentials, MockConfig, MockProvider};
use tokio::net::TcpListener;

/// A stand-in model provider speaking the Anthropic and OpenAI wire formats.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Address to listen on (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Delay before the response headers of every answer, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Number of text deltas a streamed reply is split into.
    #[arg(long)]
    deltas: Option<usize>,
    /// Delay between two text deltas, in milliseconds.
    #[arg(long, default_value_t = 0)]
    inter_token_ms: u64,
    /// The assistant's reply.
    #[arg(long)]
    reply: Option<String>,
    /// Require this key (`x-api-key` on Anthropic routes, Bearer on OpenAI routes).
    #[arg(long)]
    expect_api_key: Option<String>,
    /// An `x-mock-scenario` value for every request without one, e.g. `status=529`.
    #[arg(long)]
    scenario: Option<String>,
    /// The access key id the Bedrock routes accept in SigV4 signatures.
    #[arg(long, default_value = mock_provider::BEDROCK_ACCESS_KEY_ID)]
    bedrock_access_key_id: String,
    /// The secret access key the Bedrock routes verify signatures with.
    #[arg(long, default_value = mock_provider::BEDROCK_SECRET_ACCESS_KEY)]
    bedrock_secret_access_key: String,
    /// The region Bedrock signatures must be scoped to.
    #[arg(long, default_value = mock_provider::BEDROCK_REGION)]
    bedrock_region: String,
    /// The Bedrock API key the Bedrock routes accept as a bearer token.
    #[arg(long, default_value = mock_provider::BEDROCK_API_KEY)]
    bedrock_api_key: String,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let defaults = MockConfig::default();
    let config = MockConfig {
        reply: args.reply.unwrap_or(defaults.reply),
        deltas: args.deltas.unwrap_or(defaults.deltas),
        latency: Duration::from_millis(args.latency_ms),
        inter_token_delay: Duration::from_millis(args.inter_token_ms),
        usage: defaults.usage,
        expect_api_key: args.expect_api_key,
        scenario: args.scenario,
        bedrock: BedrockCredentials {
            access_key_id: args.bedrock_access_key_id,
            secret_access_key: args.bedrock_secret_access_key,
            region: args.bedrock_region,
            api_key: args.bedrock_api_key,
        },
    };
    let listener = match TcpListener::bind(args.listen).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("mock-provider: cannot listen on {}: {error}", args.listen);
            return ExitCode::FAILURE;
        }
    };
    let announced = listener.local_addr().and_then(|addr| {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "listening on {addr}")?;
        stdout.flush()
    });
    if let Err(error) = announced {
        eprintln!("mock-provider: cannot announce the address: {error}");
        return ExitCode::FAILURE;
    }
    match MockProvider::serve(listener, config, terminated()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("mock-provider: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Completes on SIGINT or SIGTERM.
async fn terminated() {
    let mut sigterm =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let on_sigterm = async {
        match sigterm.as_mut() {
            Some(sigterm) => drop(sigterm.recv().await),
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = on_sigterm => {}
    }
}
