//! Hot reload of `policies/*.toml`: the directory is checked every `quota.policies_reload_ms`;
//! a changed set is validated, its redaction engines are built, and it is swapped atomically;
//! an invalid edit (a bad key, or a rule the redaction engine refuses) is refused with every
//! problem logged and the old set stays. Usage is keyed by subject and organisation, never by
//! policy, so an edit never resets what was spent.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, Weak},
    time::{Duration, SystemTime},
};

use super::Metering;
use crate::redaction::Redaction;

/// What identifies the directory's state: file names, sizes and modification times.
fn fingerprint(dir: &Path) -> Vec<(PathBuf, u64, Option<SystemTime>)> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "toml"))
        .map(|e| {
            let meta = e.metadata().ok();
            (
                e.path(),
                meta.as_ref().map_or(0, std::fs::Metadata::len),
                meta.and_then(|m| m.modified().ok()),
            )
        })
        .collect();
    out.sort();
    out
}

/// Watches `dir` for as long as the stage lives; `redaction` (when on) gets the engines of a
/// new set in force before the set itself.
pub(crate) fn spawn(
    metering: &Arc<Metering>,
    redaction: Option<Arc<Redaction>>,
    dir: PathBuf,
    every: Duration,
) {
    let weak: Weak<Metering> = Arc::downgrade(metering);
    let mut seen = fingerprint(&dir);
    // Ends when the stage is dropped.
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.tick().await;
        loop {
            tick.tick().await;
            let Some(metering) = weak.upgrade() else {
                break;
            };
            let now = fingerprint(&dir);
            if now == seen {
                continue;
            }
            seen = now;
            let loaded = gateway_policy::PolicySet::load_dir(&dir).and_then(|set| {
                let engines = redaction.as_ref().map(|r| r.prepare(&set)).transpose()?;
                Ok((set, engines))
            });
            match loaded {
                Ok((set, engines)) => {
                    if let (Some(r), Some(engines)) = (&redaction, engines) {
                        r.install(engines);
                    }
                    tracing::info!(dir = %dir.display(), policies = set.policies().len(), "policies reloaded");
                    metering.swap_policies(set);
                }
                Err(errors) => {
                    for p in errors.problems() {
                        tracing::warn!(file = %p.file, line = ?p.line, key = %p.key, problem = %p.message, "policy reload refused");
                    }
                    tracing::warn!(dir = %dir.display(), problems = errors.problems().len(), "policy edit refused; the previous policies stay in force");
                }
            }
        }
    });
}
