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
