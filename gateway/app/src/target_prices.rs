//! The fallback targets' own price tables (`prices_file`), loaded at start: every table is
//! read and every problem reported at once, each under its target's key path, before the
//! gateway serves.

use std::fmt;

use gateway_config::Upstream;
use gateway_meter::{PriceErrors, PriceTable};
use gateway_metering::TargetPrices;

/// The targets' tables that could not be read, each with its key path
/// (`upstreams.anthropic.fallbacks[0].prices_file`). Never empty.
#[derive(Debug)]
pub struct TargetPriceErrors(Vec<(String, PriceErrors)>);

impl fmt::Display for TargetPriceErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (path, errors) in &self.0 {
            write!(f, "{path}: {errors}")?;
        }
        Ok(())
    }
}

impl std::error::Error for TargetPriceErrors {}

/// The own table of each target of the Anthropic upstream (the only one with fallbacks), by
/// target index; the primary, and a fallback without `prices_file`, use the main table.
pub(crate) fn load(anthropic: Option<&Upstream>) -> Result<TargetPrices, TargetPriceErrors> {
    let mut tables = Vec::new();
    let mut problems = Vec::new();
    for (i, target) in anthropic.iter().flat_map(|u| u.targets()).enumerate() {
        let table = target.prices_file.as_deref().and_then(|file| {
            PriceTable::load(file)
                .map_err(|e| {
                    let at = i
                        .checked_sub(1)
                        .map_or(String::new(), |f| format!(".fallbacks[{f}]"));
                    problems.push((format!("upstreams.anthropic{at}.prices_file"), e));
                })
                .ok()
        });
        tables.push(table);
    }
    if problems.is_empty() {
        Ok(TargetPrices::new(tables))
    } else {
        Err(TargetPriceErrors(problems))
    }
}

#[cfg(test)]
mod tests {
    use gateway_config::{ProviderKey, Target, TargetKind};
    use gateway_core::Secret;

    use super::*;

    fn target(name: &str, prices_file: Option<&str>) -> Target {
        Target {
            name: name.to_owned(),
            kind: TargetKind::Anthropic,
            base_url: "http://127.0.0.1:1".parse().unwrap(),
            keys: vec![ProviderKey {
                id: "k".to_owned(),
                weight: 1,
                secret: Secret::new("sk-test".to_owned()),
            }],
            prices_file: prices_file.map(Into::into),
        }
    }

    #[test]
    fn every_unreadable_or_invalid_target_table_is_reported_under_its_key_path() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.toml");
        std::fs::write(&bad, "[models.x]\ninput = \"three\"\n").unwrap();
        let shipped = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../config/prices-bedrock.toml"
        );
        let upstream = Upstream {
            primary: target("anthropic", None),
            fallbacks: vec![
                target("ok", Some(shipped)),
                target("missing", Some("/nonexistent/prices.toml")),
                target("bad", bad.to_str()),
            ],
        };
        let shown = load(Some(&upstream)).unwrap_err().to_string();
        for path in [
            "upstreams.anthropic.fallbacks[1].prices_file: ",
            "upstreams.anthropic.fallbacks[2].prices_file: ",
        ] {
            assert!(shown.contains(path), "{path} missing from {shown}");
        }
        assert!(!shown.contains("fallbacks[0]"), "{shown}");
        assert!(
            shown.contains("models.x.input"),
            "the file's own key path: {shown}"
        );
        let upstream = Upstream {
            fallbacks: upstream.fallbacks.into_iter().take(1).collect(),
            ..upstream
        };
        assert!(
            load(Some(&upstream)).is_ok(),
            "the shipped Bedrock table loads"
        );
        assert!(load(None).is_ok());
    }
}
