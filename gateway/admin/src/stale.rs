//! Stale overrides: an override records what the policy files said for each limit it names
//! when it was written; a policy reload that changes one of those values makes it stale — the
//! admin who set it was working from numbers that no longer hold. Stale overrides stay in
//! force (precedence does not change) but are shown (`"stale": true`), counted
//! (`admin_overrides_stale`) and audited once per override (`override.stale`).
//!
//! The file values of a subject override are those of the policy a principal with only that
//! subject selects (policies that match on org or plan are not known for an override target);
//! an org override's are the `[policy.org]` limits of the policy an org member would select.

use std::{
    collections::{BTreeMap, HashSet},
    sync::{Mutex, PoisonError},
};

use gateway_core::Principal;
use gateway_policy::Limit;
use gateway_runtime_state::{AuditEntry, Override, Record, Scope, now_ms};

use crate::Admin;

/// The overrides already audited as stale, so each is audited once.
#[derive(Debug, Default)]
pub struct StaleOverrides {
    flagged: Mutex<HashSet<String>>,
}

/// What the files say now for each of `keys` of `scope`/`target`.
pub(crate) fn file_values<'a>(
    admin: &Admin,
    scope: Scope,
    target: &str,
    keys: impl Iterator<Item = &'a String>,
) -> BTreeMap<String, Option<u64>> {
    let who = match scope {
        Scope::Subject => Principal::subject(target),
        Scope::Org => Principal {
            org: Some(target.to_owned()),
            ..Principal::subject("")
        },
    };
    let policy = admin.state.policy_for(&who);
    keys.map(|key| {
        let value = Limit::ALL
            .into_iter()
            .find(|l| l.key() == key)
            .and_then(|limit| {
                let p = policy.as_deref()?;
                match scope {
                    Scope::Subject => p.limits.get(limit),
                    Scope::Org => p.org_limits.as_ref()?.get(limit),
                }
            });
        (key.clone(), value)
    })
    .collect()
}

/// Whether the files changed under `o` since it was written.
pub(crate) fn is_stale(admin: &Admin, o: &Override) -> bool {
    !o.file_values.is_empty()
        && file_values(admin, o.scope, &o.target, o.file_values.keys()) != o.file_values
}

impl Admin {
    /// After a policy reload: audits every active override that became stale (once each) and
    /// updates the gauge.
    pub fn note_policy_reload(&self) {
        let now = now_ms();
        let snapshot = self.runtime.snapshot();
        let mut stale = 0i64;
        for record in snapshot.records().filter(|r| r.active(now)) {
            let Record::Override(o) = record else {
                continue;
            };
            if !is_stale(self, o) {
                continue;
            }
            stale += 1;
            let first = self
                .stale
                .flagged
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(o.id.clone());
            if first {
                let now_files = file_values(self, o.scope, &o.target, o.file_values.keys());
                let entry = AuditEntry {
                    at_ms: now,
                    who: "policy-reload".to_owned(),
                    what: "override.stale".to_owned(),
                    ok: true,
                    outcome: "flagged: the policy files changed under it; review it".to_owned(),
                    before: serde_json::to_value(&o.file_values).ok(),
                    after: serde_json::to_value(&now_files).ok(),
                    reason: Some(format!(
                        "override {} of {} {}",
                        o.id,
                        o.scope.as_str(),
                        o.target
                    )),
                };
                if let Err(e) = self.audit.append(entry) {
                    tracing::error!(error = %e, "writing the admin audit log failed");
                }
                self.metrics
                    .admin
                    .changes_total
                    .with_label_values(&["override_stale"])
                    .inc();
            }
        }
        self.metrics.admin.overrides_stale.set(stale);
    }
}
