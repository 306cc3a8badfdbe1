//! The opt-in per-organisation families (`[metrics] org_label = true`): tokens and cost by
//! `org`. Off by default because organisations are unbounded; when on, the label takes at most
//! `max_values` distinct organisations (first come), later ones are counted as `other`, and
//! principals without an organisation as `none`.

use std::{
    collections::HashSet,
    sync::{Mutex, PoisonError},
};

use prometheus::{CounterVec, IntCounterVec, Opts, Registry};

use gateway_core::Usage;

use crate::{NAMESPACE, TOKEN_TYPES, token_counts};

/// The label value of principals without an organisation.
pub const NO_ORG: &str = "none";
/// The label value of organisations past the cap.
pub const OTHER_ORG: &str = "other";

/// `org_tokens_total{org,type}` and `org_cost_usd_total{org}`.
#[derive(Debug)]
pub(crate) struct OrgMetrics {
    tokens_total: IntCounterVec,
    cost_usd_total: CounterVec,
    known: Mutex<HashSet<String>>,
    max_values: usize,
}

impl OrgMetrics {
    pub(crate) fn register(
        registry: &Registry,
        max_values: usize,
    ) -> Result<Self, prometheus::Error> {
        let opts = |name: &str, help: &str| Opts::new(name, help).namespace(NAMESPACE);
        let tokens_total = IntCounterVec::new(
            opts(
                "org_tokens_total",
                "Settled tokens by organisation and type (opt-in).",
            ),
            &["org", "type"],
        )?;
        registry.register(Box::new(tokens_total.clone()))?;
        let cost_usd_total = CounterVec::new(
            opts(
                "org_cost_usd_total",
                "Settled cost by organisation, USD (opt-in).",
            ),
            &["org"],
        )?;
        registry.register(Box::new(cost_usd_total.clone()))?;
        Ok(Self {
            tokens_total,
            cost_usd_total,
            known: Mutex::new(HashSet::new()),
            max_values,
        })
    }

    /// The label value for `org`: itself while under the cap, else [`OTHER_ORG`].
    fn label(&self, org: Option<&str>) -> String {
        let Some(org) = org else {
            return NO_ORG.to_owned();
        };
        let mut known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
        if known.contains(org) {
            return org.to_owned();
        }
        if known.len() < self.max_values {
            known.insert(org.to_owned());
            return org.to_owned();
        }
        OTHER_ORG.to_owned()
    }

    pub(crate) fn settled(&self, org: Option<&str>, tokens: &Usage, usd: f64) {
        let org = self.label(org);
        for (kind, n) in TOKEN_TYPES.iter().zip(token_counts(tokens)) {
            self.tokens_total
                .with_label_values(&[org.as_str(), kind])
                .inc_by(n);
        }
        self.cost_usd_total
            .with_label_values(&[org.as_str()])
            .inc_by(usd);
    }
}
