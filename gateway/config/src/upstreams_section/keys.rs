//! Provider keys by reference: one (`api_key_env` / `api_key_file`) or a pool (`[[…keys]]`).

use std::path::PathBuf;

use gateway_core::Secret;

use super::{KEYS_PER_TARGET_MAX, ProviderKey};
use crate::{Environment, raw, validate::Collector};

/// A target's keys: one by reference, or a pool. `Err(Some(var))`: the one key's variable is
/// unset (the caller decides whether that is a problem); `Err(None)`: already recorded.
pub(super) fn target_keys(
    c: &mut Collector<'_>,
    path: &str,
    single: Single,
    pool_raw: Vec<toml::Value>,
    env: &dyn Environment,
) -> Result<Vec<ProviderKey>, Option<String>> {
    match (single.is_set(), pool_raw.is_empty()) {
        (true, true) => match single.resolve(c, path, env) {
            Resolved::Key(k) => Ok(vec![k]),
            Resolved::Unset(var) => Err(Some(var)),
            Resolved::Problem => Err(None),
        },
        (false, false) => pool(c, path, pool_raw, env).ok_or(None),
        _ => {
            c.push(
                path,
                "set exactly one of `api_key_env`, `api_key_file` or `[[keys]]`",
            );
            Err(None)
        }
    }
}

/// `[[…keys]]`: every key must resolve.
fn pool(
    c: &mut Collector<'_>,
    path: &str,
    raw: Vec<toml::Value>,
    env: &dyn Environment,
) -> Option<Vec<ProviderKey>> {
    if raw.len() > KEYS_PER_TARGET_MAX {
        c.push(
            &format!("{path}.keys"),
            format!("at most {KEYS_PER_TARGET_MAX} keys, got {}", raw.len()),
        );
    }
    let before = c.problems.len();
    let mut keys: Vec<ProviderKey> = Vec::new();
    for (i, value) in raw.into_iter().enumerate() {
        let path = format!("{path}.keys[{i}]");
        let Some(k) = c.section::<raw::Key>(&path, value) else {
            continue;
        };
        if k.id.trim().is_empty() || !k.id.bytes().all(|b| b.is_ascii_graphic()) {
            c.push(
                &format!("{path}.id"),
                "must be a non-empty id of visible ASCII characters",
            );
        } else if keys.iter().any(|other| other.id == k.id) {
            c.push(
                &format!("{path}.id"),
                format!("id `{}` is used twice", k.id),
            );
        }
        if k.weight == Some(0) {
            c.push(&format!("{path}.weight"), "must be at least 1");
        }
        let single = Single {
            env: k.api_key_env,
            file: k.api_key_file,
        };
        if !single.is_set() {
            c.push(&path, "set exactly one of `api_key_env` or `api_key_file`");
            continue;
        }
        match single.resolve(c, &path, env) {
            Resolved::Key(resolved) => keys.push(ProviderKey {
                id: k.id,
                weight: k.weight.unwrap_or(1).max(1),
                secret: resolved.secret,
            }),
            Resolved::Unset(var) => c.push(
                &format!("{path}.api_key_env"),
                format!("environment variable {var} is not set or empty; export the key in it"),
            ),
            Resolved::Problem => {}
        }
    }
    (c.problems.len() == before && !keys.is_empty()).then_some(keys)
}

/// One key by reference: a variable or a file.
pub(super) struct Single {
    pub(super) env: Option<String>,
    pub(super) file: Option<PathBuf>,
}

enum Resolved {
    Key(ProviderKey),
    /// The variable is unset or empty.
    Unset(String),
    /// Recorded in the collector.
    Problem,
}

impl Single {
    /// Either is set (both is a problem reported by [`Single::resolve`]).
    fn is_set(&self) -> bool {
        self.env.is_some() || self.file.is_some()
    }

    fn resolve(self, c: &mut Collector<'_>, path: &str, env: &dyn Environment) -> Resolved {
        let key = |id: &str, v: &str| {
            Resolved::Key(ProviderKey {
                id: id.to_owned(),
                weight: 1,
                secret: Secret::new(v.trim().to_owned()),
            })
        };
        match (self.env, self.file) {
            (Some(_), Some(_)) => {
                c.push(path, "set exactly one of `api_key_env` or `api_key_file`");
                Resolved::Problem
            }
            (Some(var), None) => match env.var(&var) {
                Some(v) if !v.trim().is_empty() => key(&var, &v),
                _ => Resolved::Unset(var),
            },
            (None, Some(file)) => match std::fs::read_to_string(&file) {
                Ok(v) if !v.trim().is_empty() => key("file", &v),
                Ok(_) => {
                    c.push(
                        &format!("{path}.api_key_file"),
                        format!("{} is empty", file.display()),
                    );
                    Resolved::Problem
                }
                Err(e) => {
                    c.push(
                        &format!("{path}.api_key_file"),
                        format!("cannot read {}: {e}", file.display()),
                    );
                    Resolved::Problem
                }
            },
            (None, None) => Resolved::Problem,
        }
    }
}
