//! The families of the admin API: changes by kind, and the runtime records in force.
//!
//! Labels: `kind` is a closed set ([`ADMIN_CHANGE_KINDS`]), never a subject or token id.

use prometheus::{IntCounterVec, IntGauge, Opts, Registry};

use crate::{Error, NAMESPACE};

/// Kinds of `admin_changes_total{kind}`: what an editor changed, `override_stale` when a
/// policy reload changed a file value an override was written against, or `refused` for an
/// attempt refused (403, 409, 412, 4xx on bad input).
pub const ADMIN_CHANGE_KINDS: [&str; 9] = [
    "override_set",
    "override_removed",
    "block_set",
    "block_removed",
    "key_created",
    "key_revoked",
    "usage_reset",
    "override_stale",
    "refused",
];

/// Handles of the admin families.
#[derive(Debug, Clone)]
pub struct AdminMetrics {
    /// `admin_changes_total{kind}`: admin changes and refused attempts.
    pub changes_total: IntCounterVec,
    /// `admin_overrides_active`: overrides not yet expired.
    pub overrides_active: IntGauge,
    /// `admin_blocks_active`: blocks not yet expired.
    pub blocks_active: IntGauge,
    /// `admin_virtual_keys`: virtual keys not revoked or expired.
    pub virtual_keys: IntGauge,
    /// `admin_overrides_stale`: active overrides whose file values changed since written.
    pub overrides_stale: IntGauge,
}

impl AdminMetrics {
    pub(crate) fn register(registry: &Registry) -> Result<Self, Error> {
        let opts = |name: &str, help: &str| Opts::new(name, help).namespace(NAMESPACE);
        let gauge = |name: &str, help: &str| {
            let g = IntGauge::with_opts(opts(name, help))?;
            registry.register(Box::new(g.clone()))?;
            Ok::<_, Error>(g)
        };
        let changes_total = IntCounterVec::new(
            opts(
                "admin_changes_total",
                "Admin API changes by kind, and refused attempts (kind=refused).",
            ),
            &["kind"],
        )?;
        registry.register(Box::new(changes_total.clone()))?;
        for kind in ADMIN_CHANGE_KINDS {
            let _ = changes_total.with_label_values(&[kind]);
        }
        Ok(Self {
            changes_total,
            overrides_active: gauge(
                "admin_overrides_active",
                "Runtime limit overrides in force (not expired).",
            )?,
            blocks_active: gauge(
                "admin_blocks_active",
                "Runtime blocks in force (not expired).",
            )?,
            virtual_keys: gauge(
                "admin_virtual_keys",
                "Virtual keys that authenticate (not revoked, not expired).",
            )?,
            overrides_stale: gauge(
                "admin_overrides_stale",
                "Active overrides whose policy file values changed on a reload since they were written: review them.",
            )?,
        })
    }
}
