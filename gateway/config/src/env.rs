//! The process environment behind a trait, and `GATEWAY__SECTION__KEY` overrides.

use std::collections::{BTreeMap, HashMap};

use crate::{ConfigErrors, Problem};

/// Read access to environment variables. The gateway passes [`ProcessEnvironment`]; tests pass
/// a [`MapEnvironment`].
pub trait Environment {
    /// The value of `name`, if set and valid UTF-8.
    fn var(&self, name: &str) -> Option<String>;
    /// All variables, for override discovery.
    fn vars(&self) -> Vec<(String, String)>;
}

/// The real process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnvironment;

impl Environment for ProcessEnvironment {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }

    fn vars(&self) -> Vec<(String, String)> {
        std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect()
    }
}

/// A fixed set of variables.
#[derive(Debug, Clone, Default)]
pub struct MapEnvironment(pub HashMap<String, String>);

impl MapEnvironment {
    /// From `(name, value)` pairs.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self(
            pairs
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        )
    }
}

impl Environment for MapEnvironment {
    fn var(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }

    fn vars(&self) -> Vec<(String, String)> {
        self.0.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }
}

/// Prefix of override variables; `__` separates path segments.
const OVERRIDE_PREFIX: &str = "GATEWAY__";

/// Which key paths came from which override variable, for error messages.
pub(crate) type OverrideSources = BTreeMap<String, String>;

/// Applies every `GATEWAY__A__B=value` to `table` at path `a.b`. A value that parses as a TOML
/// value (number, boolean, array, quoted string) is taken as such; anything else is a string.
pub(crate) fn apply_overrides(
    table: &mut toml::Table,
    env: &dyn Environment,
) -> Result<OverrideSources, ConfigErrors> {
    let mut vars: Vec<(String, String)> = env
        .vars()
        .into_iter()
        .filter(|(k, _)| k.starts_with(OVERRIDE_PREFIX))
        .collect();
    vars.sort();
    let mut sources = OverrideSources::new();
    let mut problems = Vec::new();
    for (name, raw) in vars {
        let segments: Vec<String> = name[OVERRIDE_PREFIX.len()..]
            .split("__")
            .map(str::to_ascii_lowercase)
            .collect();
        let path = segments.join(".");
        if segments.iter().any(String::is_empty) {
            let mut p = Problem::new(path, "malformed override name (empty segment)");
            p.from_env = Some(name);
            problems.push(p);
            continue;
        }
        if let Err(message) = set_path(table, &segments, parse_value(&raw)) {
            let mut p = Problem::new(path.clone(), message);
            p.from_env = Some(name.clone());
            problems.push(p);
        }
        sources.insert(path, name);
    }
    if problems.is_empty() {
        Ok(sources)
    } else {
        Err(ConfigErrors(problems))
    }
}

fn parse_value(raw: &str) -> toml::Value {
    format!("v = {raw}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_owned()))
}

fn set_path(table: &mut toml::Table, path: &[String], value: toml::Value) -> Result<(), String> {
    let Some((last, parents)) = path.split_last() else {
        return Err("empty override path".to_owned());
    };
    let mut node = table;
    for seg in parents {
        let entry = node
            .entry(seg.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        node = match entry {
            toml::Value::Table(t) => t,
            _ => return Err(format!("`{seg}` is not a table, cannot override below it")),
        };
    }
    node.insert(last.clone(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_set_nested_keys_with_typed_values() {
        let mut t: toml::Table = "[server]\nlisten = \"127.0.0.1:1\"\n".parse().unwrap();
        let env = MapEnvironment::from_pairs([
            ("GATEWAY__SERVER__LISTEN", "127.0.0.1:2"),
            ("GATEWAY__SERVER__PATH_PREFIXES", r#"["/a", "/b"]"#),
            ("GATEWAY__FORWARDING__CONNECT_TIMEOUT_MS", "250"),
            ("UNRELATED", "x"),
        ]);
        let sources = apply_overrides(&mut t, &env).unwrap();
        assert_eq!(t["server"]["listen"].as_str(), Some("127.0.0.1:2"));
        assert_eq!(t["server"]["path_prefixes"].as_array().unwrap().len(), 2);
        assert_eq!(
            t["forwarding"]["connect_timeout_ms"].as_integer(),
            Some(250)
        );
        assert_eq!(sources["server.listen"], "GATEWAY__SERVER__LISTEN");
    }
}
