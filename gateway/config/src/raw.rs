//! The config file's schema as written: every section denies unknown keys, values are kept in
//! their written form (strings, integers) and checked in `validate`.

use std::{collections::BTreeMap, path::PathBuf};

use serde::Deserialize;

/// `[server]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Server {
    /// `listen = "127.0.0.1:8080"`
    pub listen: String,
    /// `path_prefixes = ["/wizard"]`
    #[serde(default)]
    pub path_prefixes: Vec<String>,
    /// `[server.tls]`
    pub tls: Option<Tls>,
    /// Default 32 MiB.
    pub request_body_max_bytes: Option<u64>,
    /// Default 30 000.
    pub drain_timeout_ms: Option<u64>,
    /// Default 10 000.
    pub max_connections: Option<u64>,
}

/// `[server.tls]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tls {
    /// PEM certificate chain.
    pub cert_file: PathBuf,
    /// PEM private key.
    pub key_file: PathBuf,
}

/// `[admin]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Admin {
    /// `listen = "127.0.0.1:9090"`
    pub listen: String,
}

/// `[upstreams.<name>]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Upstream {
    /// `base_url = "https://api.anthropic.com"`
    pub base_url: String,
    /// Name of the environment variable holding the provider key.
    pub api_key_env: Option<String>,
    /// Path of a file holding the provider key.
    pub api_key_file: Option<PathBuf>,
}

/// `[forwarding]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Forwarding {
    /// Default 10 000.
    pub connect_timeout_ms: Option<u64>,
    /// Default 600 000 (10 minutes).
    pub request_timeout_ms: Option<u64>,
    /// Default 10 000; 0 turns keepalive comments off.
    pub stream_keepalive_ms: Option<u64>,
    /// Default 90 000.
    pub pool_idle_timeout_ms: Option<u64>,
    /// Default 256.
    pub pool_max_idle_per_host: Option<u64>,
    /// Extra trusted CA (PEM).
    pub extra_ca_file: Option<PathBuf>,
}

/// `[auth]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Auth {
    /// `[[auth.keys]]`
    #[serde(default)]
    pub keys: Vec<toml::Value>,
}

/// `[[auth.keys]]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticKey {
    /// SHA-256 hex of the key.
    pub sha256: String,
    /// Principal subject.
    pub subject: String,
    /// Principal organisation.
    pub org: Option<String>,
    /// Principal plan.
    pub plan: Option<String>,
}

/// `[log]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Log {
    /// Default `info`.
    pub level: Option<String>,
    /// `text` (default) or `json`.
    pub format: Option<String>,
}

/// Top-level sections, each deserialized on its own so that problems in several sections are
/// all reported.
pub const SECTIONS: &[&str] = &["server", "admin", "upstreams", "forwarding", "auth", "log"];

/// Known upstream names.
pub const UPSTREAMS: &[&str] = &["anthropic", "openai"];

/// `[upstreams]` as a map, checked against [`UPSTREAMS`].
pub type Upstreams = BTreeMap<String, toml::Value>;
