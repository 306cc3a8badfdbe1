//! The live policy set and its hot reload. `policies/*.toml` is checked every
//! `quota.policies_reload_ms`; a changed set is validated, every stage that builds something
//! per policy prepares it (today: the redaction engines), and only then are the prepared parts
//! installed and the set swapped, atomically. An invalid edit (a bad key, or a rule the
//! redaction engine refuses) is refused with every problem logged, and the old set stays.
//! Usage is keyed by subject and organisation, never by policy, so an edit never resets what
//! was spent.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, PoisonError, RwLock, Weak},
    time::{Duration, SystemTime},
};

use gateway_admin::RefusedReload;
use gateway_core::Principal;
use gateway_metrics::Metrics;
use gateway_policy::{Policy, PolicyErrors, PolicySet, Who};
use gateway_redaction::Redaction;

/// The policy set in force.
#[derive(Debug)]
pub(crate) struct LivePolicies {
    set: RwLock<Arc<PolicySet>>,
    /// The last refused reload, until a reload is applied.
    refused: RwLock<Option<RefusedReload>>,
    /// Counts applied reloads, for whoever must react to one (stale overrides).
    applied: tokio::sync::watch::Sender<u64>,
}

impl LivePolicies {
    pub(crate) fn new(set: PolicySet) -> Self {
        Self {
            set: RwLock::new(Arc::new(set)),
            refused: RwLock::new(None),
            applied: tokio::sync::watch::Sender::new(0),
        }
    }

    /// Wakes on every applied reload.
    pub(crate) fn applied_reloads(&self) -> tokio::sync::watch::Receiver<u64> {
        self.applied.subscribe()
    }

    /// The set in force and the last refused reload, for the admin API.
    pub(crate) fn report(&self) -> (Arc<PolicySet>, Option<RefusedReload>) {
        (
            self.set
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
            self.refused
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        )
    }

    fn set_refused(&self, refused: Option<RefusedReload>) {
        *self.refused.write().unwrap_or_else(PoisonError::into_inner) = refused;
    }

    /// The policy in force for `who`, kept by the request even if a reload swaps the set.
    pub(crate) fn select(&self, who: &Principal) -> Option<Arc<Policy>> {
        let set = self
            .set
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        set.select_shared(&Who::from(who)).cloned()
    }

    fn swap(&self, set: PolicySet) {
        *self.set.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(set);
    }
}

/// Loads the directory and prepares every stage for it, as `serve` does at start and on each
/// reload, without putting anything in force: what `check-policies` runs.
pub fn check(dir: &Path) -> Result<PolicySet, PolicyErrors> {
    let set = PolicySet::load_dir(dir)?;
    Redaction::check(&set)?;
    Ok(set)
}

/// What identifies the directory's state: file names, sizes and modification times (of the
/// files, not of symlinks to them).
fn fingerprint(dir: &Path) -> Vec<(PathBuf, u64, Option<SystemTime>)> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "toml"))
        .map(|e| {
            // Through symlinks: a Kubernetes ConfigMap's files are links into `..data`, which
            // an update swaps; the links themselves never change.
            let meta = std::fs::metadata(e.path()).ok();
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

/// Watches `dir` every `every` for as long as `live` is in use.
pub(crate) fn spawn_reload(
    live: &Arc<LivePolicies>,
    redaction: Option<Arc<Redaction>>,
    metrics: Arc<Metrics>,
    dir: PathBuf,
    every: Duration,
) {
    let weak: Weak<LivePolicies> = Arc::downgrade(live);
    let mut seen = fingerprint(&dir);
    // Ends when the gateway is dropped.
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.tick().await;
        loop {
            tick.tick().await;
            let Some(live) = weak.upgrade() else {
                break;
            };
            let now = fingerprint(&dir);
            if now == seen {
                continue;
            }
            seen = now;
            // Prepare every stage first; nothing is installed unless all of them accept.
            let loaded = PolicySet::load_dir(&dir).and_then(|set| {
                let engines = redaction.as_ref().map(|r| r.prepare(&set)).transpose()?;
                Ok((set, engines))
            });
            match loaded {
                Ok((set, engines)) => {
                    if let (Some(r), Some(engines)) = (&redaction, engines) {
                        r.install(engines);
                    }
                    tracing::info!(dir = %dir.display(), policies = set.policies().len(), "policies reloaded");
                    live.swap(set);
                    live.set_refused(None);
                    live.applied.send_modify(|n| *n += 1);
                    metrics
                        .policy_reloads_total
                        .with_label_values(&["applied"])
                        .inc();
                }
                Err(errors) => {
                    for p in errors.problems() {
                        tracing::warn!(file = %p.file, line = ?p.line, key = %p.key, problem = %p.message, "policy reload refused");
                    }
                    tracing::warn!(dir = %dir.display(), problems = errors.problems().len(), "policy edit refused; the previous policies stay in force");
                    live.set_refused(Some(RefusedReload {
                        at: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
                        problems: errors
                            .problems()
                            .iter()
                            .map(|p| match p.line {
                                Some(line) => {
                                    format!("{}:{line}: {}: {}", p.file, p.key, p.message)
                                }
                                None => format!("{}: {}: {}", p.file, p.key, p.message),
                            })
                            .collect(),
                    }));
                    metrics
                        .policy_reloads_total
                        .with_label_values(&["refused"])
                        .inc();
                }
            }
        }
    });
}
