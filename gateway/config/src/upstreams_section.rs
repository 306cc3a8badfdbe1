//! `[upstreams.*]` and the retry settings of `[forwarding]` → validated [`Upstream`]s and
//! [`Retry`]: each API family's ordered targets (the primary, then its fallbacks), each with a
//! pool of provider keys resolved into [`Secret`]s.
//!
//! A single `api_key_env` / `api_key_file` is a pool of one key (its id is the variable's
//! name, or `file`); `[[…keys]]` lists several. A primary whose only key variable is unset
//! leaves its upstream unconfigured (see [`crate::Upstreams::keyless`]); anywhere else a
//! missing key is a problem.

mod bedrock;
mod breaker;
mod keys;
/// A target's model map (`models`: the client's id → the target's), checked: at most
/// [`MODELS_MAX`] entries, each id visible ASCII without any byte of `forbidden` (they would
/// change the request path); `expected` says what an id looks like.
fn model_map(
    c: &mut Collector<'_>,
    path: &str,
    raw: std::collections::BTreeMap<String, String>,
    forbidden: &[u8],
    expected: &str,
) -> Option<std::collections::BTreeMap<String, String>> {
    let before = c.problems.len();
    if raw.len() > MODELS_MAX {
        c.push(
            &format!("{path}.models"),
            format!("at most {MODELS_MAX} models, got {}", raw.len()),
        );
    }
    for (from, to) in &raw {
        if from.trim().is_empty()
            || to.is_empty()
            || !to
                .bytes()
                .all(|b| b.is_ascii_graphic() && !forbidden.contains(&b))
        {
            c.push(
                &format!("{path}.models.{from}"),
                format!("`{to}` must be {expected}"),
            );
        }
    }
    (c.problems.len() == before).then_some(raw)
}

#[cfg(test)]
mod tests;
mod vertex;

use std::{collections::BTreeSet, path::PathBuf, time::Duration};

pub use bedrock::{AwsCredentials, Bedrock, BedrockAuth, DEFAULT_BEDROCK_BETAS};
pub use breaker::Breaker;
use gateway_core::Secret;
use keys::{Single, target_keys};
pub use vertex::{SERVICE_ACCOUNT_KEY_ID, ServiceAccount, Vertex, VertexAuth};

use crate::{Environment, Keyless, Upstreams, raw, validate::Collector};

/// The most same-target retries `forwarding.retries_per_target` accepts.
const RETRIES_PER_TARGET_MAX: u64 = 3;
/// The most keys one target may hold.
const KEYS_PER_TARGET_MAX: usize = 64;
/// The most fallbacks one upstream may hold.
const FALLBACKS_MAX: usize = 8;
/// The most entries of a target's model map.
const MODELS_MAX: usize = 256;

/// One API family's targets, in the order they are tried.
#[derive(Debug, Clone)]
pub struct Upstream {
    /// The primary (`[upstreams.<name>]` itself).
    pub primary: Target,
    /// `[[upstreams.<name>.fallbacks]]`, in order.
    pub fallbacks: Vec<Target>,
}

impl Upstream {
    /// The primary, then the fallbacks.
    pub fn targets(&self) -> impl Iterator<Item = &Target> {
        std::iter::once(&self.primary).chain(&self.fallbacks)
    }
}

/// One provider endpoint and the keys the gateway pays it with.
#[derive(Debug, Clone)]
pub struct Target {
    /// Unique among the upstream's targets; safe to log and to put in a header.
    pub name: String,
    /// Which wire protocol the target speaks.
    pub kind: TargetKind,
    /// Scheme, host, port and optional path prefix; route paths are appended to it.
    pub base_url: url::Url,
    /// At least one.
    pub keys: Vec<ProviderKey>,
    /// A fallback's own price table (`prices_file`, the format of `quota.prices_file`): what
    /// an exchange it serves is charged at. `None`: the main table.
    pub prices_file: Option<PathBuf>,
}

/// What kind of endpoint a target is, with what that kind needs beside a base URL and keys.
#[derive(Debug, Clone)]
pub enum TargetKind {
    /// The Anthropic Messages API at any base URL.
    Anthropic,
    /// AWS Bedrock `InvokeModel` / `InvokeModelWithResponseStream` (fallbacks only).
    Bedrock(Box<Bedrock>),
    /// Google Vertex AI `rawPredict` / `streamRawPredict` (fallbacks only).
    Vertex(Box<Vertex>),
}

impl TargetKind {
    const NAMES: &[&str] = &["anthropic", "bedrock", "vertex"];

    /// The kind's name, as in `kind = "…"`.
    pub fn as_label(&self) -> &'static str {
        match self {
            Self::Anthropic => "anthropic",
            Self::Bedrock(_) => "bedrock",
            Self::Vertex(_) => "vertex",
        }
    }
}

/// One key of a target's pool.
#[derive(Debug, Clone)]
pub struct ProviderKey {
    /// Safe to log; unique within the target.
    pub id: String,
    /// Share of picks relative to the pool's other keys; at least 1.
    pub weight: u32,
    /// The key.
    pub secret: Secret<String>,
}

/// Retries and fallback: how often, how long to wait, how much extra load in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retry {
    /// Same-target retries after a retryable failure (0 or 1 usually).
    pub per_target: u32,
    /// Base of the jittered backoff.
    pub backoff: Duration,
    /// The longest `retry-after` waited out by the gateway; longer ones go to the next target.
    pub retry_after_max: Duration,
    /// Same-target retries allowed as a share (percent) of recent requests.
    pub budget_percent: u32,
    /// The most a target may take to commit; `None` waits up to the request timeout.
    pub ttft_timeout: Option<Duration>,
    /// The circuit breaker per (target, model); `None` when turned off.
    pub breaker: Option<Breaker>,
}

pub(crate) fn retry(c: &mut Collector<'_>, f: &raw::Forwarding) -> Retry {
    let per_target = f.retries_per_target.unwrap_or(1);
    if per_target > RETRIES_PER_TARGET_MAX {
        c.push(
            "forwarding.retries_per_target",
            format!("must be at most {RETRIES_PER_TARGET_MAX}, got {per_target}"),
        );
    }
    let budget_percent = f.retry_budget_percent.unwrap_or(20);
    if budget_percent > 100 {
        c.push(
            "forwarding.retry_budget_percent",
            format!("is a percentage (0 to 100), got {budget_percent}"),
        );
    }
    let ttft = c.millis("forwarding.ttft_timeout_ms", f.ttft_timeout_ms, 0, 0);
    Retry {
        per_target: u32::try_from(per_target.min(RETRIES_PER_TARGET_MAX)).unwrap_or(1),
        backoff: c.millis("forwarding.retry_backoff_ms", f.retry_backoff_ms, 200, 0),
        retry_after_max: c.millis(
            "forwarding.retry_after_max_ms",
            f.retry_after_max_ms,
            2_000,
            0,
        ),
        budget_percent: u32::try_from(budget_percent.min(100)).unwrap_or(20),
        ttft_timeout: (!ttft.is_zero()).then_some(ttft),
        breaker: breaker::breaker(c, f.breaker.as_ref()),
    }
}

pub(crate) fn upstreams(
    c: &mut Collector<'_>,
    value: Option<toml::Value>,
    env: &dyn Environment,
) -> Upstreams {
    let mut out = Upstreams::default();
    let Some(map) = value.and_then(|v| c.section::<raw::Upstreams>("upstreams", v)) else {
        return out;
    };
    for (name, value) in map {
        let path = format!("upstreams.{name}");
        if !raw::UPSTREAMS.contains(&name.as_str()) {
            c.push(
                &path,
                format!(
                    "unknown upstream; expected one of: {}",
                    raw::UPSTREAMS.join(", ")
                ),
            );
            continue;
        }
        let Some(u) = c.section::<raw::Upstream>(&path, value) else {
            continue;
        };
        let target_name = u.name.clone().unwrap_or_else(|| name.clone());
        let base_url = base_url(c, &path, &u.base_url);
        let single = Single {
            env: u.api_key_env,
            file: u.api_key_file,
        };
        let keys = match target_keys(c, &path, single, u.keys, env) {
            Ok(keys) => Some(keys),
            // Today's single key: an unset variable leaves the upstream unconfigured.
            Err(Some(var)) => {
                out.keyless.push(Keyless {
                    name: name.clone(),
                    key_env: var,
                });
                None
            }
            Err(None) => None,
        };
        let fallbacks = fallbacks(c, &path, u.fallbacks, env, &name);
        let (Some(base_url), Some(keys)) = (base_url, keys) else {
            continue;
        };
        let primary = Target {
            name: target_name,
            kind: TargetKind::Anthropic,
            base_url,
            keys,
            prices_file: None,
        };
        let upstream = Upstream { primary, fallbacks };
        let mut seen = BTreeSet::new();
        for t in upstream.targets() {
            if !seen.insert(t.name.as_str()) {
                c.push(
                    &format!("{path}.fallbacks"),
                    format!(
                        "target name `{}` is used twice; names must be unique",
                        t.name
                    ),
                );
            }
        }
        match name.as_str() {
            "anthropic" => out.anthropic = Some(upstream),
            _ => out.openai = Some(upstream),
        }
    }
    // At least one upstream must be usable: with none, every missing key is a problem.
    if out.anthropic.is_none() && out.openai.is_none() {
        for k in &out.keyless {
            c.push(
                &format!("upstreams.{}.api_key_env", k.name),
                format!(
                    "environment variable {} is not set or empty; export the provider key in it (at least one upstream needs its key)",
                    k.key_env
                ),
            );
        }
    }
    out
}

fn fallbacks(
    c: &mut Collector<'_>,
    path: &str,
    raw: Vec<toml::Value>,
    env: &dyn Environment,
    upstream: &str,
) -> Vec<Target> {
    if raw.len() > FALLBACKS_MAX {
        c.push(
            &format!("{path}.fallbacks"),
            format!("at most {FALLBACKS_MAX} fallbacks, got {}", raw.len()),
        );
    }
    let mut out = Vec::new();
    for (i, value) in raw.into_iter().enumerate() {
        let path = format!("{path}.fallbacks[{i}]");
        let Some(mut f) = c.section::<raw::Fallback>(&path, value) else {
            continue;
        };
        let prices_file = f.prices_file.take();
        if prices_file
            .as_ref()
            .is_some_and(|p| p.as_os_str().is_empty())
        {
            c.push(
                &format!("{path}.prices_file"),
                "must be the path of a prices file, like \"config/prices-bedrock.toml\"",
            );
        }
        if f.name.trim().is_empty() || !f.name.bytes().all(|b| b.is_ascii_graphic()) {
            c.push(
                &format!("{path}.name"),
                "must be a non-empty name of visible ASCII characters (it is sent as x-gateway-upstream)",
            );
        }
        let target = match (upstream, f.kind.as_str()) {
            ("anthropic", "anthropic") | ("openai", "openai") => {
                anthropic_fallback(c, &path, f, env)
            }
            ("anthropic", "bedrock") => bedrock::target(c, &path, f, env),
            ("anthropic", "vertex") => vertex::target(c, &path, f, env),
            ("openai", other) => {
                c.push(
                    &format!("{path}.kind"),
                    format!(
                        "`{other}` is not a kind for upstreams.openai: its fallbacks are OpenAI-compatible endpoints, kind = \"openai\""
                    ),
                );
                None
            }
            (_, other) => {
                c.push(
                    &format!("{path}.kind"),
                    format!(
                        "unknown kind `{other}`; expected one of: {}",
                        TargetKind::NAMES.join(", ")
                    ),
                );
                None
            }
        };
        out.extend(target.map(|t| Target { prices_file, ..t }));
    }
    out
}

/// A `kind = "anthropic"` fallback: a base URL and keys, none of the Bedrock fields.
fn anthropic_fallback(
    c: &mut Collector<'_>,
    path: &str,
    f: raw::Fallback,
    env: &dyn Environment,
) -> Option<Target> {
    for (field, set) in [
        ("region", f.region.is_some()),
        ("aws_access_key_id_env", f.aws_access_key_id_env.is_some()),
        (
            "aws_secret_access_key_env",
            f.aws_secret_access_key_env.is_some(),
        ),
        ("aws_session_token_env", f.aws_session_token_env.is_some()),
        ("models", f.models.is_some()),
        ("anthropic_betas", f.anthropic_betas.is_some()),
        ("project", f.project.is_some()),
        ("credentials_file", f.credentials_file.is_some()),
        ("access_token_env", f.access_token_env.is_some()),
    ] {
        if set {
            c.push(
                &format!("{path}.{field}"),
                "is a setting of `kind = \"bedrock\"` or `kind = \"vertex\"` targets; remove it or change the kind",
            );
        }
    }
    let base_url = match &f.base_url {
        Some(raw) => base_url(c, path, raw),
        None => {
            c.push(
                &format!("{path}.base_url"),
                "an anthropic target needs its base URL, like \"https://api.anthropic.com\"",
            );
            None
        }
    };
    let single = Single {
        env: f.api_key_env,
        file: f.api_key_file,
    };
    let keys = match target_keys(c, path, single, f.keys, env) {
        Ok(keys) => Some(keys),
        Err(Some(var)) => {
            c.push(
                &format!("{path}.api_key_env"),
                format!("environment variable {var} is not set or empty; export the fallback's provider key in it"),
            );
            None
        }
        Err(None) => None,
    };
    Some(Target {
        name: f.name,
        kind: TargetKind::Anthropic,
        base_url: base_url?,
        keys: keys?,
        prices_file: None,
    })
}

fn base_url(c: &mut Collector<'_>, path: &str, raw: &str) -> Option<url::Url> {
    match url::Url::parse(raw) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.query().is_none() => Some(url),
        Ok(_) => {
            c.push(
                &format!("{path}.base_url"),
                format!("`{raw}` must be an http(s) URL without a query"),
            );
            None
        }
        Err(e) => {
            c.push(
                &format!("{path}.base_url"),
                format!("`{raw}` is not a URL: {e}"),
            );
            None
        }
    }
}
