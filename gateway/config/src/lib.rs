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

mod admin_section;
mod auth_section;
mod env;
mod problems;
pub mod raw;
mod transcripts_section;
mod upstreams_section;
mod validate;

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use gateway_core::Secret;

pub use env::{Environment, MapEnvironment, ProcessEnvironment};
pub use problems::{ConfigErrors, Problem};
pub use upstreams_section::{
    AwsCredentials, Bedrock, BedrockAuth, Breaker, DEFAULT_BEDROCK_BETAS, ProviderKey, Retry,
    SERVICE_ACCOUNT_KEY_ID, ServiceAccount, Target, TargetKind, Upstream, Vertex, VertexAuth,
};

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
    /// Metering and quota enforcement.
    pub quota: Quota,
    /// Secret redaction of request bodies.
    pub redaction: Redaction,
    /// Transcript recording.
    pub transcripts: Transcripts,
    /// Opt-in metric labels.
    pub metrics: MetricsLabels,
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
    /// Request body bytes held by all requests in flight together (raw, then decoded); a
    /// request whose declared body does not fit waits a bounded time, then gets 503. At
    /// least `request_body_max_bytes`, at most 4 GiB.
    pub inflight_body_max_bytes: usize,
    /// Longest a request waits for its declared body to fit that budget before its 503.
    pub inflight_body_wait: Duration,
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
    /// Every admin token (`token_sha256` is the editor `admin`); the admin API is off
    /// without one.
    pub tokens: Vec<AdminToken>,
    /// The append-only, hash-chained audit log of admin changes.
    pub audit_path: PathBuf,
}

/// One admin token, known by its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminToken {
    /// Who, in the audit log.
    pub id: String,
    /// SHA-256 of the token.
    pub sha256: [u8; 32],
    /// What it may do.
    pub role: AdminRole,
}

/// What an admin token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminRole {
    /// Reads only.
    Viewer,
    /// Reads and changes.
    Editor,
}

impl AdminRole {
    /// As written in the config (`viewer`, `editor`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Editor => "editor",
        }
    }
}

/// Secret redaction settings.
#[derive(Debug, Clone)]
pub struct Redaction {
    /// Scan every model request (on by default).
    pub enabled: bool,
    /// The key placeholders are derived from; `None` = a random key per process (placeholders
    /// then change on restart and differ between replicas).
    pub key: Option<Secret<Vec<u8>>>,
    /// Entries of the unchanged-history cache.
    pub history_cache_entries: usize,
}

/// Opt-in metric labels (`[metrics]`); the default exports no per-tenant label.
#[derive(Debug, Clone, Default)]
pub struct MetricsLabels {
    /// `Some(max distinct organisations)` when tokens and cost are exported by organisation.
    pub org_label_max_values: Option<usize>,
}

/// Transcript recording settings.
#[derive(Debug, Clone)]
pub struct Transcripts {
    /// Record model requests (per-policy sampling and mode apply).
    pub enabled: bool,
    /// Where records go.
    pub sink: TranscriptSink,
    /// Request header naming the agent session (lowercase).
    pub session_header: String,
    /// Records waiting for the writer; more are dropped and counted.
    pub queue_capacity: usize,
    /// Content bytes (request bodies, captured responses) waiting for the writer.
    pub queue_max_bytes: usize,
    /// The writer's idle tick: age rotation, retention, due S3 uploads.
    pub flush_interval: Duration,
}

/// A transcript sink.
#[derive(Debug, Clone)]
pub enum TranscriptSink {
    /// JSON Lines files under a directory, by day.
    File(TranscriptFiles),
    /// Compressed objects in S3-compatible storage.
    S3(TranscriptS3),
}

/// The file sink.
#[derive(Debug, Clone)]
pub struct TranscriptFiles {
    /// Root directory (`transcripts.dir`).
    pub dir: PathBuf,
    /// Rotate the active file past this size.
    pub rotate_bytes: u64,
    /// Rotate the active file after this long.
    pub rotate_age: Duration,
    /// Days kept; 0 keeps everything.
    pub retention_days: u32,
    /// Compress rotated files with zstd.
    pub compress: bool,
}

/// The S3 sink.
#[derive(Debug, Clone)]
pub struct TranscriptS3 {
    /// Bucket name.
    pub bucket: String,
    /// Region.
    pub region: String,
    /// Endpoint of an S3-compatible service; `None` = AWS.
    pub endpoint: Option<String>,
    /// Key prefix.
    pub prefix: String,
    /// Access key id.
    pub access_key_id: Secret<String>,
    /// Secret access key.
    pub secret_access_key: Secret<String>,
    /// Allow a plain-HTTP endpoint.
    pub allow_http: bool,
    /// Upload each partition's object at least this often.
    pub object_max_age: Duration,
    /// Records per object at most.
    pub object_max_records: usize,
    /// Bytes kept while uploads fail.
    pub buffer_max_bytes: usize,
}

/// Where quota buckets live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuotaStore {
    /// In this process (one replica, no services).
    Memory,
    /// In Redis, shared by every replica.
    Redis {
        /// Connection URL (may hold a password: never logged); `rediss://` for TLS.
        url: Secret<String>,
        /// `quota.redis_ca_file`: PEM certificates to trust for `rediss://` instead of the
        /// system's roots (a managed Redis's or a private CA).
        ca_pem: Option<Vec<u8>>,
        /// `quota.redis_cluster`: `redis_url` is a seed node of a Redis Cluster.
        cluster: bool,
    },
}

/// Metering and quota settings.
#[derive(Debug, Clone)]
pub struct Quota {
    /// Where buckets live.
    pub store: QuotaStore,
    /// Bound on every Redis call.
    pub redis_timeout: Duration,
    /// The policy directory (`policies/*.toml`), hot-reloaded.
    pub policies_dir: PathBuf,
    /// How often the policy directory is checked for changes.
    pub policies_reload: Duration,
    /// The price table.
    pub prices_file: PathBuf,
    /// How long a reservation holds if never settled.
    pub lease: Duration,
}

/// The providers, by API family.
#[derive(Debug, Clone, Default)]
pub struct Upstreams {
    /// The Anthropic Messages upstream.
    pub anthropic: Option<Upstream>,
    /// The OpenAI Chat Completions / Responses upstream.
    pub openai: Option<Upstream>,
    /// Upstreams declared with `api_key_env` whose variable is unset or empty: not configured
    /// (their routes answer 503 saying which variable to set), as long as another upstream
    /// has its key.
    pub keyless: Vec<Keyless>,
}

/// A declared upstream left unconfigured because its key variable is unset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keyless {
    /// `anthropic` or `openai`.
    pub name: String,
    /// The variable to set (`upstreams.<name>.api_key_env`).
    pub key_env: String,
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
    /// Retries, fallback and their bounds.
    pub retry: Retry,
}

/// Authentication settings.
#[derive(Debug, Clone, Default)]
pub struct Auth {
    /// Static keys, by SHA-256 digest.
    pub keys: Vec<StaticKey>,
    /// JWT users, when configured.
    pub jwt: Option<Jwt>,
    /// Opaque tokens checked by OAuth 2.0 introspection, when configured.
    pub introspection: Option<Introspection>,
    /// Caches and the failed-attempt limiter.
    pub limits: AuthLimits,
}

/// JWT verification settings.
#[derive(Debug, Clone)]
pub struct Jwt {
    /// HS256 shared secret (at least 32 bytes).
    pub hs256_secret: Option<Secret<Vec<u8>>>,
    /// JWKS file, re-read on refresh.
    pub jwks_file: Option<PathBuf>,
    /// JWKS URL, fetched and refreshed.
    pub jwks_url: Option<url::Url>,
    /// Required issuer.
    pub issuer: Option<String>,
    /// Required audience.
    pub audience: Option<String>,
    /// Algorithms accepted for JWKS keys (never `none`; HS256 only with the shared secret).
    pub algorithms: Vec<String>,
    /// Allowed clock skew.
    pub leeway: Duration,
    /// Background JWKS refresh period.
    pub jwks_refresh: Duration,
    /// Least time between fetches triggered by an unknown `kid`.
    pub jwks_refetch_min_interval: Duration,
    /// Claim names.
    pub claims: ClaimNames,
}

/// Which claims fill which principal fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimNames {
    /// Subject claim.
    pub subject: String,
    /// Organisation claim.
    pub org: String,
    /// Plan claim.
    pub plan: String,
    /// Token id claim.
    pub token_id: String,
    /// Run spending cap claim (USD).
    pub max_usd: String,
}

impl Default for ClaimNames {
    fn default() -> Self {
        Self {
            subject: "sub".into(),
            org: "org".into(),
            plan: "plan".into(),
            token_id: "jti".into(),
            max_usd: "max_usd".into(),
        }
    }
}

/// OAuth 2.0 token introspection (RFC 7662) settings.
#[derive(Debug, Clone)]
pub struct Introspection {
    /// The endpoint.
    pub endpoint: url::Url,
    /// The gateway's client id.
    pub client_id: String,
    /// The gateway's client secret.
    pub client_secret: Secret<String>,
    /// Token prefixes sent to introspection; empty = all non-JWT, non-static tokens.
    pub token_prefixes: Vec<String>,
    /// Request timeout.
    pub timeout: Duration,
    /// How long an inactive answer is remembered.
    pub negative_ttl: Duration,
    /// Longest an active answer is trusted.
    pub max_ttl: Duration,
    /// Claim names.
    pub claims: ClaimNames,
}

/// Caches and the failed-attempt limiter.
#[derive(Debug, Clone)]
pub struct AuthLimits {
    /// Failed authentications allowed per client address per minute.
    pub failed_attempts_per_minute: std::num::NonZeroU32,
    /// Failed authentications allowed in a burst.
    pub failed_attempts_burst: std::num::NonZeroU32,
    /// Entries in the verified/rejected token cache.
    pub cache_max_entries: usize,
    /// How long a rejected token is remembered.
    pub negative_ttl: Duration,
}

impl Default for AuthLimits {
    fn default() -> Self {
        Self {
            failed_attempts_per_minute: std::num::NonZeroU32::MIN.saturating_add(59),
            failed_attempts_burst: std::num::NonZeroU32::MIN.saturating_add(59),
            cache_max_entries: 100_000,
            negative_ttl: Duration::from_secs(30),
        }
    }
}

/// A static API key, known only by its SHA-256 digest.
#[derive(Debug, Clone)]
pub struct StaticKey {
    /// SHA-256 of the key.
    pub sha256: [u8; 32],
    /// Safe to log; what an admin's `key` block names (`id`, default `key-<12 hex digits of
    /// the digest>`).
    pub id: String,
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

    /// Only the `[transcripts]` section of the file at `path`, with the `GATEWAY__TRANSCRIPTS__*`
    /// overrides of `env` applied and validated as [`Config::load`] does, without the rest (a
    /// CLI reading transcripts needs no provider keys). A missing file is an empty one: the
    /// defaults and overrides still apply.
    pub fn load_transcripts(
        path: &std::path::Path,
        env: &dyn Environment,
    ) -> Result<Transcripts, ConfigErrors> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => {
                return Err(ConfigErrors::one(Problem::new(
                    "",
                    format!("cannot read config file {}: {e}", path.display()),
                )));
            }
        };
        let mut table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            ConfigErrors::one(Problem::new("", format!("not valid TOML: {e}")))
        })?;
        let sources = env::apply_overrides(&mut table, env)?;
        validate::validate_transcripts(table, env, &sources)
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
