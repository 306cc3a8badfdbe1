//! `[auth]` → validated [`Auth`]: static keys, JWT, introspection, limits.

use std::{num::NonZeroU32, time::Duration};

use gateway_core::Secret;

use crate::{
    Auth, AuthLimits, ClaimNames, Environment, Introspection, Jwt, StaticKey, raw,
    validate::Collector,
};

/// Algorithms the gateway can verify. `none` is never accepted.
const KNOWN_ALGORITHMS: &[&str] = &[
    "HS256", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
];
/// Default JWKS algorithm allowlist.
const DEFAULT_ALGORITHMS: &[&str] = &["RS256", "ES256", "EdDSA"];
/// A shorter HS256 secret can be brute-forced offline from one token.
const HS256_SECRET_MIN_BYTES: usize = 32;

pub(crate) fn auth(
    c: &mut Collector<'_>,
    value: Option<toml::Value>,
    env: &dyn Environment,
) -> Auth {
    let a = value
        .and_then(|v| c.section::<raw::Auth>("auth", v))
        .unwrap_or_default();
    Auth {
        keys: static_keys(c, a.keys),
        jwt: a.jwt.and_then(|v| jwt(c, v, env)),
        introspection: a.introspection.and_then(|v| introspection(c, v, env)),
        limits: limits(c, a.limits),
    }
}

fn static_keys(c: &mut Collector<'_>, values: Vec<toml::Value>) -> Vec<StaticKey> {
    let mut keys: Vec<StaticKey> = Vec::new();
    for (i, value) in values.into_iter().enumerate() {
        let path = format!("auth.keys[{i}]");
        let Some(k) = c.section::<raw::StaticKey>(&path, value) else {
            continue;
        };
        let mut digest = [0u8; 32];
        if hex::decode_to_slice(k.sha256.trim(), &mut digest).is_err() {
            c.push(
                &format!("{path}.sha256"),
                "must be 64 hex characters: the SHA-256 of the key (e.g. `printf %s KEY | sha256sum`), never the key itself",
            );
            continue;
        }
        if k.subject.trim().is_empty() {
            c.push(&format!("{path}.subject"), "must not be empty");
            continue;
        }
        if keys.iter().any(|other| other.sha256 == digest) {
            c.push(&format!("{path}.sha256"), "the same key is listed twice");
            continue;
        }
        let id = match k.id.map(|id| id.trim().to_owned()) {
            Some(id) if id.is_empty() => {
                c.push(
                    &format!("{path}.id"),
                    "must not be empty; leave it out for the default",
                );
                continue;
            }
            Some(id) => id,
            None => format!("key-{}", &hex::encode(digest)[..12]),
        };
        keys.push(StaticKey {
            id,
            sha256: digest,
            subject: k.subject,
            org: k.org,
            plan: k.plan,
        });
    }
    keys
}

fn claims(raw: Option<raw::Claims>) -> ClaimNames {
    let raw = raw.unwrap_or_default();
    let d = ClaimNames::default();
    ClaimNames {
        subject: raw.subject.unwrap_or(d.subject),
        org: raw.org.unwrap_or(d.org),
        plan: raw.plan.unwrap_or(d.plan),
        token_id: raw.token_id.unwrap_or(d.token_id),
        max_usd: raw.max_usd.unwrap_or(d.max_usd),
    }
}

fn url(c: &mut Collector<'_>, path: &str, value: &str) -> Option<url::Url> {
    match url::Url::parse(value) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => Some(u),
        _ => {
            c.push(path, format!("`{value}` is not an http(s) URL"));
            None
        }
    }
}

fn jwt(c: &mut Collector<'_>, value: toml::Value, env: &dyn Environment) -> Option<Jwt> {
    let j = c.section::<raw::Jwt>("auth.jwt", value)?;
    let hs256_secret = j.hs256_secret_env.as_ref().and_then(|var| match env.var(var) {
        Some(v) if v.len() >= HS256_SECRET_MIN_BYTES => Some(Secret::new(v.into_bytes())),
        Some(_) => {
            c.push(
                "auth.jwt.hs256_secret_env",
                format!("the secret in {var} is shorter than {HS256_SECRET_MIN_BYTES} bytes; use a long random value (e.g. `openssl rand -hex 32`)"),
            );
            None
        }
        None => {
            c.push(
                "auth.jwt.hs256_secret_env",
                format!("environment variable {var} is not set; export the shared secret in it"),
            );
            None
        }
    });
    if let Some(file) = &j.jwks_file
        && let Err(e) = std::fs::metadata(file)
    {
        c.push(
            "auth.jwt.jwks_file",
            format!("cannot read {}: {e}", file.display()),
        );
    }
    let jwks_url = j
        .jwks_url
        .as_deref()
        .and_then(|u| url(c, "auth.jwt.jwks_url", u));
    if j.hs256_secret_env.is_none() && j.jwks_file.is_none() && j.jwks_url.is_none() {
        c.push(
            "auth.jwt",
            "set at least one key source: hs256_secret_env, jwks_file or jwks_url",
        );
    }
    let algorithms: Vec<String> = j
        .algorithms
        .unwrap_or_else(|| DEFAULT_ALGORITHMS.iter().map(|a| (*a).to_owned()).collect());
    for (i, alg) in algorithms.iter().enumerate() {
        if !KNOWN_ALGORITHMS.contains(&alg.as_str()) {
            c.push(
                &format!("auth.jwt.algorithms[{i}]"),
                format!(
                    "`{alg}` is not accepted; choose from {}",
                    KNOWN_ALGORITHMS.join(", ")
                ),
            );
        }
    }
    Some(Jwt {
        hs256_secret,
        jwks_file: j.jwks_file,
        jwks_url,
        issuer: j.issuer,
        audience: j.audience,
        algorithms,
        leeway: Duration::from_secs(j.leeway_seconds.unwrap_or(30)),
        jwks_refresh: c.millis("auth.jwt.jwks_refresh_ms", j.jwks_refresh_ms, 300_000, 10),
        jwks_refetch_min_interval: c.millis(
            "auth.jwt.jwks_refetch_min_interval_ms",
            j.jwks_refetch_min_interval_ms,
            10_000,
            0,
        ),
        claims: claims(j.claims),
    })
}

fn introspection(
    c: &mut Collector<'_>,
    value: toml::Value,
    env: &dyn Environment,
) -> Option<Introspection> {
    let i = c.section::<raw::Introspection>("auth.introspection", value)?;
    let endpoint = url(c, "auth.introspection.endpoint", &i.endpoint);
    let client_secret = match env.var(&i.client_secret_env) {
        Some(v) if !v.is_empty() => Some(Secret::new(v)),
        _ => {
            c.push(
                "auth.introspection.client_secret_env",
                format!(
                    "environment variable {} is not set; export the gateway's client secret in it",
                    i.client_secret_env
                ),
            );
            None
        }
    };
    let timeout = c.millis("auth.introspection.timeout_ms", i.timeout_ms, 3_000, 1);
    let negative_ttl = c.millis(
        "auth.introspection.negative_ttl_ms",
        i.negative_ttl_ms,
        30_000,
        0,
    );
    let max_ttl = c.millis("auth.introspection.max_ttl_ms", i.max_ttl_ms, 300_000, 0);
    Some(Introspection {
        endpoint: endpoint?,
        client_id: i.client_id,
        client_secret: client_secret?,
        token_prefixes: i.token_prefixes,
        timeout,
        negative_ttl,
        max_ttl,
        claims: claims(i.claims),
    })
}

fn limits(c: &mut Collector<'_>, value: Option<toml::Value>) -> AuthLimits {
    let l = value
        .and_then(|v| c.section::<raw::AuthLimits>("auth.limits", v))
        .unwrap_or_default();
    let d = AuthLimits::default();
    let mut nonzero = |path: &str, value: Option<u64>, default: NonZeroU32| match value {
        None => default,
        Some(n) => u32::try_from(n)
            .ok()
            .and_then(NonZeroU32::new)
            .unwrap_or_else(|| {
                c.push(path, "must be between 1 and 4294967295");
                default
            }),
    };
    let failed_attempts_per_minute = nonzero(
        "auth.limits.failed_attempts_per_minute",
        l.failed_attempts_per_minute,
        d.failed_attempts_per_minute,
    );
    let failed_attempts_burst = nonzero(
        "auth.limits.failed_attempts_burst",
        l.failed_attempts_burst,
        failed_attempts_per_minute,
    );
    AuthLimits {
        failed_attempts_per_minute,
        failed_attempts_burst,
        cache_max_entries: usize::try_from(l.cache_max_entries.unwrap_or(100_000))
            .unwrap_or(usize::MAX)
            .max(1),
        negative_ttl: c.millis("auth.limits.negative_ttl_ms", l.negative_ttl_ms, 30_000, 0),
    }
}
