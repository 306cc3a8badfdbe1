//! Raw sections → validated [`Config`], collecting every problem.

use std::{net::SocketAddr, time::Duration};

use gateway_core::{REDACTION_KEY_MIN_BYTES, Secret};
use serde::de::DeserializeOwned;

use crate::{
    Config, ConfigErrors, Environment, Forwarding, Log, LogFormat, MetricsLabels, Problem, Quota,
    QuotaStore, Redaction, Server, TlsFiles, env::OverrideSources, raw,
};

/// Default largest request body: the providers' own cap.
const DEFAULT_BODY_MAX_BYTES: u64 = 32 * 1024 * 1024;
/// Default `server.inflight_body_max_bytes`: this many bodies of the largest accepted size
/// (256 MiB with the default limit), at most 4 GiB.
const DEFAULT_INFLIGHT_BODIES: u64 = 8;

pub(crate) struct Collector<'a> {
    pub(crate) problems: Vec<Problem>,
    sources: &'a OverrideSources,
}

impl Collector<'_> {
    pub(crate) fn push(&mut self, path: &str, message: impl Into<String>) {
        let mut p = Problem::new(path, message);
        p.from_env = self
            .sources
            .iter()
            .find(|(k, _)| path == k.as_str() || path.starts_with(&format!("{k}.")))
            .map(|(_, v)| v.clone());
        self.problems.push(p);
    }

    /// Deserializes one section; on failure records the problem and returns `None`.
    pub(crate) fn section<T: DeserializeOwned>(
        &mut self,
        path: &str,
        value: toml::Value,
    ) -> Option<T> {
        match value.try_into::<T>() {
            Ok(v) => Some(v),
            Err(e) => {
                self.push(path, e.message().trim().to_owned());
                None
            }
        }
    }

    pub(crate) fn addr(&mut self, path: &str, value: &str) -> Option<SocketAddr> {
        match value.parse() {
            Ok(a) => Some(a),
            Err(_) => {
                self.push(
                    path,
                    format!("`{value}` is not a socket address like 127.0.0.1:8080"),
                );
                None
            }
        }
    }

    pub(crate) fn millis(
        &mut self,
        path: &str,
        value: Option<u64>,
        default: u64,
        min: u64,
    ) -> Duration {
        let ms = value.unwrap_or(default);
        if ms < min {
            self.push(path, format!("must be at least {min} ms, got {ms}"));
        }
        Duration::from_millis(ms)
    }

    pub(crate) fn positive(&mut self, path: &str, value: Option<u64>, default: u64) -> usize {
        let n = value.unwrap_or(default);
        if n == 0 {
            self.push(path, "must be greater than 0");
        }
        usize::try_from(n).unwrap_or(usize::MAX)
    }
}

/// Only `[transcripts]` of `table` (overrides applied), validated as [`validate`] would.
pub(crate) fn validate_transcripts(
    mut table: toml::Table,
    env: &dyn Environment,
    sources: &OverrideSources,
) -> Result<crate::Transcripts, ConfigErrors> {
    let mut c = Collector {
        problems: Vec::new(),
        sources,
    };
    let transcripts =
        crate::transcripts_section::transcripts(&mut c, table.remove("transcripts"), env);
    if c.problems.is_empty() {
        Ok(transcripts)
    } else {
        Err(ConfigErrors(c.problems))
    }
}

pub(crate) fn validate(
    mut table: toml::Table,
    env: &dyn Environment,
    sources: &OverrideSources,
) -> Result<Config, ConfigErrors> {
    let mut c = Collector {
        problems: Vec::new(),
        sources,
    };
    for key in table.keys() {
        if !raw::SECTIONS.contains(&key.as_str()) {
            c.push(
                key,
                format!(
                    "unknown section; expected one of: {}",
                    raw::SECTIONS.join(", ")
                ),
            );
        }
    }
    let mut take = |name: &str| table.remove(name);

    let server = match take("server") {
        Some(v) => c
            .section::<raw::Server>("server", v)
            .and_then(|s| server(&mut c, s)),
        None => {
            c.push("server", "missing section; it needs at least `listen`");
            None
        }
    };
    let admin = match take("admin") {
        Some(v) => c
            .section::<raw::Admin>("admin", v)
            .and_then(|a| crate::admin_section::admin(&mut c, a)),
        None => {
            c.push("admin", "missing section; it needs at least `listen`");
            None
        }
    };
    let upstreams = crate::upstreams_section::upstreams(&mut c, take("upstreams"), env);
    let forwarding = forwarding(&mut c, take("forwarding"));
    let auth = crate::auth_section::auth(&mut c, take("auth"), env);
    let quota = quota(&mut c, take("quota"), env);
    let redaction = redaction(&mut c, take("redaction"), env);
    let transcripts = crate::transcripts_section::transcripts(&mut c, take("transcripts"), env);
    let metrics = metrics(&mut c, take("metrics"));
    let log = log(&mut c, take("log"));

    match (server, admin) {
        (Some(server), Some(admin)) if c.problems.is_empty() => Ok(Config {
            server,
            admin,
            upstreams,
            forwarding,
            auth,
            quota,
            redaction,
            transcripts,
            metrics,
            log,
        }),
        _ => Err(ConfigErrors(c.problems)),
    }
}

fn server(c: &mut Collector<'_>, s: raw::Server) -> Option<Server> {
    let listen = c.addr("server.listen", &s.listen);
    let mut prefixes = Vec::new();
    for (i, p) in s.path_prefixes.iter().enumerate() {
        let path = format!("server.path_prefixes[{i}]");
        let ok = p.len() > 1
            && p.starts_with('/')
            && !p.ends_with('/')
            && !p.contains(['?', '#', ' ', '%'])
            && !p.contains("//");
        if !ok {
            c.push(
                &path,
                format!(
                    "`{p}` is not a path prefix like \"/wizard\" (leading slash, no trailing slash)"
                ),
            );
        } else if p == "/v1" || p.starts_with("/v1/") {
            c.push(&path, format!("`{p}` would shadow the /v1 routes"));
        } else {
            prefixes.push(p.clone());
        }
    }
    // Longest first, so `/a/b` wins over `/a`.
    prefixes.sort_by_key(|p| std::cmp::Reverse(p.len()));
    let tls = s.tls.map(|t| {
        for (key, file) in [("cert_file", &t.cert_file), ("key_file", &t.key_file)] {
            if let Err(e) = std::fs::metadata(file) {
                c.push(
                    &format!("server.tls.{key}"),
                    format!("cannot read {}: {e}", file.display()),
                );
            }
        }
        TlsFiles {
            cert_file: t.cert_file,
            key_file: t.key_file,
        }
    });
    let request_body_max_bytes = c.positive(
        "server.request_body_max_bytes",
        s.request_body_max_bytes,
        DEFAULT_BODY_MAX_BYTES,
    );
    let inflight_body_max_bytes = c.positive(
        "server.inflight_body_max_bytes",
        s.inflight_body_max_bytes,
        (request_body_max_bytes as u64)
            .saturating_mul(DEFAULT_INFLIGHT_BODIES)
            .min(u64::from(u32::MAX)),
    );
    if inflight_body_max_bytes < request_body_max_bytes {
        c.push(
            "server.inflight_body_max_bytes",
            format!(
                "is {inflight_body_max_bytes} bytes, below server.request_body_max_bytes ({request_body_max_bytes}): a body of the largest accepted size could never be read; raise it or lower the other"
            ),
        );
    } else if u32::try_from(inflight_body_max_bytes).is_err() {
        c.push(
            "server.inflight_body_max_bytes",
            format!(
                "is {inflight_body_max_bytes} bytes; at most {} (4 GiB) are supported",
                u32::MAX
            ),
        );
    }
    let inflight_body_wait = c.millis(
        "server.inflight_body_wait_ms",
        s.inflight_body_wait_ms,
        10_000,
        0,
    );
    let drain_timeout = c.millis("server.drain_timeout_ms", s.drain_timeout_ms, 30_000, 0);
    let max_connections = c.positive("server.max_connections", s.max_connections, 10_000);
    Some(Server {
        listen: listen?,
        path_prefixes: prefixes,
        tls,
        request_body_max_bytes,
        inflight_body_max_bytes,
        inflight_body_wait,
        drain_timeout,
        max_connections,
    })
}

fn forwarding(c: &mut Collector<'_>, value: Option<toml::Value>) -> Forwarding {
    let f = value
        .and_then(|v| c.section::<raw::Forwarding>("forwarding", v))
        .unwrap_or_default();
    let retry = crate::upstreams_section::retry(c, &f);
    Forwarding {
        retry,
        connect_timeout: c.millis(
            "forwarding.connect_timeout_ms",
            f.connect_timeout_ms,
            10_000,
            1,
        ),
        request_timeout: c.millis(
            "forwarding.request_timeout_ms",
            f.request_timeout_ms,
            600_000,
            1,
        ),
        stream_keepalive: c.millis(
            "forwarding.stream_keepalive_ms",
            f.stream_keepalive_ms,
            10_000,
            0,
        ),
        pool_idle_timeout: c.millis(
            "forwarding.pool_idle_timeout_ms",
            f.pool_idle_timeout_ms,
            90_000,
            0,
        ),
        pool_max_idle_per_host: usize::try_from(f.pool_max_idle_per_host.unwrap_or(256))
            .unwrap_or(usize::MAX),
        extra_ca_file: f.extra_ca_file.inspect(|file| {
            if let Err(e) = std::fs::metadata(file) {
                c.push(
                    "forwarding.extra_ca_file",
                    format!("cannot read {}: {e}", file.display()),
                );
            }
        }),
    }
}

fn quota(c: &mut Collector<'_>, value: Option<toml::Value>, env: &dyn Environment) -> Quota {
    let q = value
        .and_then(|v| c.section::<raw::Quota>("quota", v))
        .unwrap_or_default();
    let store = match (q.store.as_deref(), q.redis_url) {
        (None | Some("memory"), _) => QuotaStore::Memory,
        (Some("redis"), Some(url)) => {
            let url = match url.strip_prefix("env:") {
                Some(var) => env.var(var).unwrap_or_else(|| {
                    c.push(
                        "quota.redis_url",
                        format!("environment variable {var} is not set"),
                    );
                    String::new()
                }),
                None => url,
            };
            if !(url.is_empty() || url.starts_with("redis://") || url.starts_with("rediss://")) {
                c.push("quota.redis_url", "must start with redis:// or rediss://");
            }
            let ca_pem = q.redis_ca_file.as_ref().and_then(|path| {
                if !url.starts_with("rediss://") {
                    c.push(
                        "quota.redis_ca_file",
                        "only used with a rediss:// redis_url; use rediss:// or remove it",
                    );
                }
                match std::fs::read(path) {
                    Ok(pem) if pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") => {
                        Some(pem)
                    }
                    Ok(_) => {
                        c.push(
                            "quota.redis_ca_file",
                            format!(
                                "{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                                path.display()
                            ),
                        );
                        None
                    }
                    Err(e) => {
                        c.push(
                            "quota.redis_ca_file",
                            format!("cannot read {}: {e}", path.display()),
                        );
                        None
                    }
                }
            });
            QuotaStore::Redis {
                url: Secret::new(url),
                ca_pem,
                cluster: q.redis_cluster.unwrap_or(false),
            }
        }
        (Some("redis"), None) => {
            c.push("quota.redis_url", "required with store = \"redis\"");
            QuotaStore::Memory
        }
        (Some(other), _) => {
            c.push(
                "quota.store",
                format!("`{other}` is not one of: memory, redis"),
            );
            QuotaStore::Memory
        }
    };
    Quota {
        store,
        redis_timeout: c.millis("quota.redis_timeout_ms", q.redis_timeout_ms, 250, 1),
        policies_dir: q.policies_dir.unwrap_or_else(|| "policies".into()),
        policies_reload: c.millis("quota.policies_reload_ms", q.policies_reload_ms, 1_000, 10),
        prices_file: q.prices_file.unwrap_or_else(|| "config/prices.toml".into()),
        lease: c.millis("quota.lease_ms", q.lease_ms, 660_000, 1),
    }
}

fn redaction(
    c: &mut Collector<'_>,
    value: Option<toml::Value>,
    env: &dyn Environment,
) -> Redaction {
    let r = value
        .and_then(|v| c.section::<raw::Redaction>("redaction", v))
        .unwrap_or_default();
    let key = r.key_env.as_ref().and_then(|var| match env.var(var) {
        Some(v) if v.len() >= REDACTION_KEY_MIN_BYTES => Some(Secret::new(v.into_bytes())),
        Some(_) => {
            c.push(
                "redaction.key_env",
                format!("the key in {var} is shorter than {REDACTION_KEY_MIN_BYTES} bytes; use a long random value (e.g. `openssl rand -hex 32`)"),
            );
            None
        }
        None => {
            c.push("redaction.key_env", format!("environment variable {var} is not set"));
            None
        }
    });
    Redaction {
        enabled: r.enabled.unwrap_or(true),
        key,
        history_cache_entries: usize::try_from(r.history_cache_entries.unwrap_or(10_000))
            .unwrap_or(usize::MAX),
    }
}

fn metrics(c: &mut Collector<'_>, value: Option<toml::Value>) -> MetricsLabels {
    let m = value
        .and_then(|v| c.section::<raw::Metrics>("metrics", v))
        .unwrap_or_default();
    let max = c.positive("metrics.org_label_max_values", m.org_label_max_values, 200);
    MetricsLabels {
        org_label_max_values: m.org_label.unwrap_or(false).then_some(max),
    }
}

fn log(c: &mut Collector<'_>, value: Option<toml::Value>) -> Log {
    let l = value
        .and_then(|v| c.section::<raw::Log>("log", v))
        .unwrap_or_default();
    let format = match l.format.as_deref() {
        None | Some("text") => LogFormat::Text,
        Some("json") => LogFormat::Json,
        Some(other) => {
            c.push("log.format", format!("`{other}` is not one of: text, json"));
            LogFormat::Text
        }
    };
    Log {
        level: l.level.unwrap_or_else(|| "info".to_owned()),
        format,
    }
}
