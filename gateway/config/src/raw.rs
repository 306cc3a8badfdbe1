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
    /// Default 8 × `request_body_max_bytes`.
    pub inflight_body_max_bytes: Option<u64>,
    /// Default 10 000.
    pub inflight_body_wait_ms: Option<u64>,
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
    /// SHA-256 hex of the admin token (sent as `Authorization: Bearer`); an editor with id
    /// `admin`.
    pub token_sha256: Option<String>,
    /// `[[admin.tokens]]`: more admin tokens, each with an id and a role.
    #[serde(default)]
    pub tokens: Vec<toml::Value>,
    /// The audit log (JSON Lines). Default `admin-audit.jsonl`.
    pub audit_path: Option<PathBuf>,
}

/// `[[admin.tokens]]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminToken {
    /// Who, in the audit log (never the token).
    pub id: String,
    /// SHA-256 hex of the token.
    pub sha256: String,
    /// `viewer` (reads) or `editor` (reads and changes).
    pub role: String,
}

/// `[redaction]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Redaction {
    /// Default true: every model route is scanned.
    pub enabled: Option<bool>,
    /// Environment variable holding the placeholder key (at least 16 bytes).
    pub key_env: Option<String>,
    /// Unchanged content blocks remembered so history is not rescanned. Default 10 000.
    pub history_cache_entries: Option<u64>,
}

/// `[transcripts]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transcripts {
    /// Default true: every model request is recorded (per-policy sampling and mode apply).
    pub enabled: Option<bool>,
    /// `file` (default) or `s3`.
    pub sink: Option<String>,
    /// File sink root. Default `transcripts`.
    pub dir: Option<PathBuf>,
    /// Request header naming the agent session. Default `x-claude-code-session-id`.
    pub session_header: Option<String>,
    /// Rotate the active file past this size. Default 64 MiB.
    pub rotate_bytes: Option<u64>,
    /// Rotate the active file after this long. Default 1 h.
    pub rotate_age_ms: Option<u64>,
    /// Delete day directories older than this; 0 keeps everything. Default 30.
    pub retention_days: Option<u64>,
    /// Compress rotated files with zstd. Default true.
    pub compress: Option<bool>,
    /// Records waiting for the writer; more are dropped and counted. Default 8192.
    pub queue_capacity: Option<u64>,
    /// Content bytes waiting for the writer; more are dropped and counted. Default 256 MiB.
    pub queue_max_bytes: Option<u64>,
    /// How often the writer does its periodic work when idle (age rotation, retention, due
    /// S3 uploads). Records themselves are written as soon as they arrive. Default 100.
    pub flush_ms: Option<u64>,
    /// `[transcripts.s3]`, with `sink = "s3"`.
    pub s3: Option<TranscriptsS3>,
}

/// `[transcripts.s3]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TranscriptsS3 {
    /// Bucket name.
    pub bucket: String,
    /// Region. Default `us-east-1`.
    pub region: Option<String>,
    /// Endpoint of an S3-compatible service (MinIO, R2, moto); default AWS.
    pub endpoint: Option<String>,
    /// Key prefix. Default `transcripts`.
    pub prefix: Option<String>,
    /// Environment variable holding the access key id. Default `AWS_ACCESS_KEY_ID`.
    pub access_key_id_env: Option<String>,
    /// Environment variable holding the secret key. Default `AWS_SECRET_ACCESS_KEY`.
    pub secret_access_key_env: Option<String>,
    /// Allow a plain-HTTP endpoint (loopback test servers). Default false.
    pub allow_http: Option<bool>,
    /// Upload a partition's object at least this often. Default 10 000.
    pub object_max_age_ms: Option<u64>,
    /// Records per object at most. Default 5000.
    pub object_max_records: Option<u64>,
    /// Bytes kept while uploads fail; older objects are dropped and counted. Default 256 MiB.
    pub buffer_max_bytes: Option<u64>,
}

/// `[metrics]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metrics {
    /// Export tokens and cost by organisation too. Default false.
    pub org_label: Option<bool>,
    /// Most organisations the label takes; later ones count as `other`. Default 200.
    pub org_label_max_values: Option<u64>,
}

/// `[quota]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quota {
    /// `memory` (default) or `redis`.
    pub store: Option<String>,
    /// `redis://host:port/db`, with `store = "redis"`.
    pub redis_url: Option<String>,
    /// PEM CA file for `rediss://`.
    pub redis_ca_file: Option<std::path::PathBuf>,
    /// `redis_url` names a seed node of a Redis Cluster.
    pub redis_cluster: Option<bool>,
    /// Default 250.
    pub redis_timeout_ms: Option<u64>,
    /// Default `policies`.
    pub policies_dir: Option<PathBuf>,
    /// Default 1 000.
    pub policies_reload_ms: Option<u64>,
    /// Default `config/prices.toml`.
    pub prices_file: Option<PathBuf>,
    /// Default 660 000 (the request timeout plus a minute).
    pub lease_ms: Option<u64>,
}

/// `[upstreams.<name>]`: the primary target of an API family.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Upstream {
    /// The target's name in `x-gateway-upstream`, logs and metrics; default the upstream's.
    pub name: Option<String>,
    /// `base_url = "https://api.anthropic.com"`
    pub base_url: String,
    /// Name of the environment variable holding the provider key.
    pub api_key_env: Option<String>,
    /// Path of a file holding the provider key.
    pub api_key_file: Option<PathBuf>,
    /// `[[upstreams.<name>.keys]]`: a key pool instead of one key.
    #[serde(default)]
    pub keys: Vec<toml::Value>,
    /// `[[upstreams.<name>.fallbacks]]`, tried in order.
    #[serde(default)]
    pub fallbacks: Vec<toml::Value>,
}

/// `[[upstreams.<name>.fallbacks]]`: a target tried when the ones before it failed.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fallback {
    /// Unique among the upstream's targets.
    pub name: String,
    /// `anthropic`, `bedrock` or `vertex`.
    pub kind: String,
    /// As for the primary; for `bedrock` optional (default
    /// `https://bedrock-runtime.{region}.amazonaws.com`).
    pub base_url: Option<String>,
    /// As for the primary; for `bedrock`, a Bedrock API key sent as a bearer token.
    pub api_key_env: Option<String>,
    /// As for the primary.
    pub api_key_file: Option<PathBuf>,
    /// As for the primary.
    #[serde(default)]
    pub keys: Vec<toml::Value>,
    /// `bedrock`: the AWS region, e.g. `us-east-1`; `vertex`: the Google Cloud region, e.g.
    /// `us-east5` or `global`.
    pub region: Option<String>,
    /// `vertex`: the Google Cloud project id.
    pub project: Option<String>,
    /// `vertex`: a Google service-account JSON key file (`client_email`, `private_key`,
    /// `token_uri`).
    pub credentials_file: Option<PathBuf>,
    /// `vertex`: the variable holding a ready OAuth access token (instead of a key file).
    pub access_token_env: Option<String>,
    /// `bedrock` with SigV4: the variable holding the access key id.
    pub aws_access_key_id_env: Option<String>,
    /// `bedrock` with SigV4: the variable holding the secret access key.
    pub aws_secret_access_key_env: Option<String>,
    /// `bedrock` with SigV4 and temporary credentials: the variable holding the session token.
    pub aws_session_token_env: Option<String>,
    /// `bedrock`, `vertex`: the client's model name → the target's model id.
    pub models: Option<BTreeMap<String, String>>,
    /// `bedrock`: the `anthropic-beta` values passed on (default: the ones Bedrock accepts).
    pub anthropic_betas: Option<Vec<String>>,
    /// The target's own price table (the format of `quota.prices_file`); default: the main one.
    pub prices_file: Option<PathBuf>,
}

/// `[[upstreams.<name>.keys]]` or `[[upstreams.<name>.fallbacks.keys]]`: one provider key.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Key {
    /// Safe to log: names the key in logs and metrics, never the key itself.
    pub id: String,
    /// Name of the environment variable holding the key.
    pub api_key_env: Option<String>,
    /// Path of a file holding the key.
    pub api_key_file: Option<PathBuf>,
    /// Share of picks, relative to the pool's other keys. Default 1.
    pub weight: Option<u32>,
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
    /// Default 0 (off): the most a target may take to commit (response head; for a stream,
    /// its first content event) before the attempt counts as stalled.
    pub ttft_timeout_ms: Option<u64>,
    /// Default 1; 0 turns same-target retries off.
    pub retries_per_target: Option<u64>,
    /// Default 200: the base of the jittered backoff before a same-target retry.
    pub retry_backoff_ms: Option<u64>,
    /// Default 2 000: the longest `retry-after` the gateway waits out itself.
    pub retry_after_max_ms: Option<u64>,
    /// Default 20: same-target retries as a share (percent) of recent requests.
    pub retry_budget_percent: Option<u64>,
    /// `[forwarding.breaker]`: the circuit breaker per (target, model).
    pub breaker: Option<Breaker>,
}

/// `[forwarding.breaker]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Breaker {
    /// Default true.
    pub enabled: Option<bool>,
    /// Default 60 000: the failure rate is taken over this window.
    pub window_ms: Option<u64>,
    /// Default 20: attempts in the window before the rate can open the breaker.
    pub min_requests: Option<u64>,
    /// Default 50: the failure rate (percent) that opens it.
    pub failure_percent: Option<u64>,
    /// Default 30 000: how long it stays open before probing.
    pub open_ms: Option<u64>,
    /// Default 3: successful probes in a row that close it again.
    pub probe_successes: Option<u64>,
}

/// `[auth]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Auth {
    /// `[[auth.keys]]`
    #[serde(default)]
    pub keys: Vec<toml::Value>,
    /// `[auth.jwt]`
    pub jwt: Option<toml::Value>,
    /// `[auth.introspection]`
    pub introspection: Option<toml::Value>,
    /// `[auth.limits]`
    pub limits: Option<toml::Value>,
}

/// `[auth.jwt]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Jwt {
    /// Environment variable holding the HS256 shared secret.
    pub hs256_secret_env: Option<String>,
    /// A JWKS file (re-read on refresh).
    pub jwks_file: Option<PathBuf>,
    /// A JWKS URL (fetched, cached, refreshed).
    pub jwks_url: Option<String>,
    /// Required `iss`.
    pub issuer: Option<String>,
    /// Required `aud`.
    pub audience: Option<String>,
    /// Algorithms accepted for JWKS keys. Default RS256, ES256, EdDSA.
    pub algorithms: Option<Vec<String>>,
    /// Clock skew allowed on `exp` and `nbf`. Default 30.
    pub leeway_seconds: Option<u64>,
    /// Background refresh of the JWKS. Default 300 000.
    pub jwks_refresh_ms: Option<u64>,
    /// Least time between two fetches triggered by an unknown `kid`. Default 10 000.
    pub jwks_refetch_min_interval_ms: Option<u64>,
    /// `[auth.jwt.claims]`
    pub claims: Option<Claims>,
}

/// `[auth.jwt.claims]` / `[auth.introspection.claims]`: claim names mapped to principal fields.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claims {
    /// Default `sub`.
    pub subject: Option<String>,
    /// Default `org`.
    pub org: Option<String>,
    /// Default `plan`.
    pub plan: Option<String>,
    /// Default `jti`.
    pub token_id: Option<String>,
    /// Default `max_usd`.
    pub max_usd: Option<String>,
}

/// `[auth.introspection]` (RFC 7662)
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Introspection {
    /// The introspection endpoint.
    pub endpoint: String,
    /// The gateway's client id at the authorization server.
    pub client_id: String,
    /// Environment variable holding the client secret.
    pub client_secret_env: String,
    /// Only tokens starting with one of these go to introspection; empty = every token that
    /// is neither a static key nor a JWT.
    #[serde(default)]
    pub token_prefixes: Vec<String>,
    /// Default 3 000.
    pub timeout_ms: Option<u64>,
    /// How long an inactive answer is remembered. Default 30 000.
    pub negative_ttl_ms: Option<u64>,
    /// Longest an active answer is trusted, even with a later `exp`. Default 300 000.
    pub max_ttl_ms: Option<u64>,
    /// `[auth.introspection.claims]`
    pub claims: Option<Claims>,
}

/// `[auth.limits]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthLimits {
    /// Failed authentications allowed per client address per minute. Default 60.
    pub failed_attempts_per_minute: Option<u64>,
    /// Failed authentications allowed in a burst. Default: the per-minute figure.
    pub failed_attempts_burst: Option<u64>,
    /// Verified and rejected tokens remembered. Default 100 000.
    pub cache_max_entries: Option<u64>,
    /// How long a rejected token is remembered. Default 30 000.
    pub negative_ttl_ms: Option<u64>,
}

/// `[[auth.keys]]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticKey {
    /// SHA-256 hex of the key.
    pub sha256: String,
    /// An id safe to log and to block by (default `key-` and the digest's first 12 hex digits).
    pub id: Option<String>,
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
pub const SECTIONS: &[&str] = &[
    "server",
    "admin",
    "upstreams",
    "forwarding",
    "auth",
    "quota",
    "redaction",
    "transcripts",
    "metrics",
    "log",
];

/// Known upstream names.
pub const UPSTREAMS: &[&str] = &["anthropic", "openai"];

/// `[upstreams]` as a map, checked against [`UPSTREAMS`].
pub type Upstreams = BTreeMap<String, toml::Value>;
