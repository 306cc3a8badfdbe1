//! Configuration: one TOML file plus `GATEWAY__SECTION__KEY` environment overrides, parsed into
//! validated types.
//!
//! Owns: the config file's schema ([`raw`], `deny_unknown_fields`), the override rules, and the
//! validated [`Config`] whose values cannot be wrong (socket addresses, URLs, durations,
//! resolved secrets).
//!
//! Invariants:
//! - every problem is reported at once, each with its key path and, for an override, the
//!   environment variable it came from ([`ConfigErrors`]);
//! - secrets appear in the file only by reference (`api_key_env`, `api_key_file`) and are held
//!   as [`gateway_core::Secret`] once resolved;
//! - this is the only crate that reads the process environment, through [`Environment`] so
//!   tests can pass their own.
//!
//! Not here: policies (run-time, hot-reloaded, their own crate), sockets, TLS parsing.

mod env;
mod problems;
pub mod raw;
mod validate;

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use gateway_core::Secret;

pub use env::{Environment, MapEnvironment, ProcessEnvironment};
pub use problems::{ConfigErrors, Problem};

/// The validated configuration. Restart-time: it never changes while the gateway runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// The client-facing listener.
    pub server: Server,
    /// The operators' listener (health, later metrics and admin API).
    pub admin: Admin,
    /// Model providers the gateway pays and forwards to.
    pub upstreams: Upstreams,
    /// How requests are forwarded: timeouts, pool, trust roots.
    pub forwarding: Forwarding,
    /// Who may call the gateway.
    pub auth: Auth,
    /// Log output.
    pub log: Log,
}

/// The client-facing listener.
#[derive(Debug, Clone)]
pub struct Server {
    /// Address to bind.
    pub listen: SocketAddr,
    /// Product prefixes (`/wizard`), stripped before routing and recorded as the product.
    pub path_prefixes: Vec<String>,
    /// HTTPS instead of plain HTTP, when set.
    pub tls: Option<TlsFiles>,
    /// Largest request body accepted; larger ones get 413.
    pub request_body_max_bytes: usize,
    /// How long in-flight requests may run on after a shutdown signal.
    pub drain_timeout: Duration,
    /// Most client connections served at once; more wait in the kernel's accept queue.
    pub max_connections: usize,
}

/// PEM files for the server's certificate chain and private key.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// Certificate chain, leaf first.
    pub cert_file: PathBuf,
    /// Private key (PKCS#8, PKCS#1 or SEC1).
    pub key_file: PathBuf,
}

/// The admin listener.
#[derive(Debug, Clone)]
pub struct Admin {
    /// Address to bind.
    pub listen: SocketAddr,
}

/// The providers, by API family.
#[derive(Debug, Clone, Default)]
pub struct Upstreams {
    /// The Anthropic Messages upstream.
    pub anthropic: Option<Upstream>,
    /// The OpenAI Chat Completions / Responses upstream.
    pub openai: Option<Upstream>,
}

/// One provider endpoint and the key the gateway pays it with.
#[derive(Debug, Clone)]
pub struct Upstream {
    /// Scheme, host, port and optional path prefix; route paths are appended to it.
    pub base_url: url::Url,
    /// The gateway's own provider key.
    pub api_key: Secret<String>,
}

/// Forwarding behaviour shared by all upstreams.
#[derive(Debug, Clone)]
pub struct Forwarding {
    /// TCP + TLS connect budget.
    pub connect_timeout: Duration,
    /// Whole-request budget, streaming included.
    pub request_timeout: Duration,
    /// Upstream silence after which an SSE comment keeps the client's connection alive.
    pub stream_keepalive: Duration,
    /// Idle pooled connections are closed after this long.
    pub pool_idle_timeout: Duration,
    /// Idle pooled connections kept per upstream host.
    pub pool_max_idle_per_host: usize,
    /// An extra CA certificate file (PEM) trusted for upstreams, beside the web PKI roots.
    pub extra_ca_file: Option<PathBuf>,
}

/// Authentication settings.
#[derive(Debug, Clone, Default)]
pub struct Auth {
    /// Static keys, by SHA-256 digest.
    pub keys: Vec<StaticKey>,
}

/// A static API key, known only by its SHA-256 digest.
#[derive(Debug, Clone)]
pub struct StaticKey {
    /// SHA-256 of the key.
    pub sha256: [u8; 32],
    /// The principal's subject.
    pub subject: String,
    /// The principal's organisation.
    pub org: Option<String>,
    /// The principal's plan.
    pub plan: Option<String>,
}

/// Log output.
#[derive(Debug, Clone)]
pub struct Log {
    /// A `tracing` filter directive, e.g. `info` or `info,gateway_upstream=debug`.
    pub level: String,
    /// Line format.
    pub format: LogFormat,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

impl Config {
    /// Reads `path`, applies overrides from `env`, validates. Every problem is reported.
    pub fn load(path: &std::path::Path, env: &dyn Environment) -> Result<Config, ConfigErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigErrors::one(Problem::new(
                "",
                format!("cannot read config file {}: {e}", path.display()),
            ))
        })?;
        Self::parse(&text, env)
    }

    /// Parses TOML text, applies overrides from `env`, validates.
    pub fn parse(text: &str, env: &dyn Environment) -> Result<Config, ConfigErrors> {
        let mut table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            ConfigErrors::one(Problem::new("", format!("not valid TOML: {e}")))
        })?;
        let sources = env::apply_overrides(&mut table, env)?;
        validate::validate(table, env, &sources)
    }
}

#[cfg(test)]
mod tests;
