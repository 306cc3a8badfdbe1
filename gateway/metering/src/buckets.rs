//! Which buckets a request must pass: its policy's subject and organisation limits (with the
//! admins' runtime overrides in force), and the run budget of a run-scoped token.

use gateway_core::Principal;
use gateway_policy::{Limit, Policy, Scope, Who};
use gateway_quota::{Bucket, Measure, Window};
use gateway_runtime_state::{Scope as RuntimeScope, Snapshot, effective_value};

/// A policy scope's key part and id.
fn scope_parts(scope: Scope<'_>) -> (&'static str, &str) {
    match scope {
        Scope::Subject(s) => ("sub", s),
        Scope::Org(o) => ("org", o),
    }
}

/// The window and measure of each kind of limit.
fn shape(limit: Limit) -> (Window, Measure) {
    match limit {
        Limit::RequestsPerMinute => (Window::Minute, Measure::Requests),
        Limit::TokensPerMinute => (Window::Minute, Measure::Tokens),
        Limit::TokensPerDay => (Window::Day, Measure::Tokens),
        Limit::UsdPerDay => (Window::Day, Measure::MicroUsd),
        Limit::UsdPerMonth => (Window::Month, Measure::MicroUsd),
    }
}

/// The label of a run budget bucket.
pub const RUN_LABEL: &str = "run_usd";

/// Every bucket for `who` under `policy`, with the runtime overrides of `overrides` (as of
/// `now_ms`) in force: an active override's value replaces the file's, field by field, and may
/// set a limit the file leaves open (subject scope always, org scope when the principal has an
/// org). All share one Redis hash tag: the organisation when known, else the subject, so one
/// script call checks them all. Bucket keys never depend on where a limit came from, so an
/// override changes the limit, never what was spent.
pub(crate) fn for_request(
    policy: Option<&Policy>,
    who: &Principal,
    overrides: Option<&Snapshot>,
    now_ms: u64,
) -> Vec<Bucket> {
    let tenant = match &who.org {
        Some(org) => ["org:", org].concat(),
        None => ["sub:", &who.subject].concat(),
    };
    let mut out = Vec::new();
    let mut push = |scope_name: &'static str, id: &str, limit: Limit, value: u64| {
        let (window, measure) = shape(limit);
        out.push(Bucket {
            key: Bucket::key(&tenant, scope_name, id, limit.key()),
            label: limit.key(),
            window,
            measure,
            limit: value,
        });
    };
    match overrides.filter(|s| s.has_overrides()) {
        // The common case: no override anywhere, the policy's limits as they are.
        None => {
            if let Some(policy) = policy {
                for (scope, limits) in policy.buckets(&Who::from(who)) {
                    let (scope_name, id) = scope_parts(scope);
                    for (limit, value) in limits.iter() {
                        push(scope_name, id, limit, value);
                    }
                }
            }
        }
        // Some override is stored: each limit of each scope through the one precedence rule.
        Some(snapshot) => {
            let matched = Who::from(who);
            let file = |scope: Scope<'_>| {
                policy.and_then(|p| {
                    p.buckets(&matched)
                        .find(|(s, _)| *s == scope)
                        .map(|(_, l)| l)
                })
            };
            let scopes = [
                Some((Scope::Subject(&who.subject), RuntimeScope::Subject)),
                who.org
                    .as_deref()
                    .map(|org| (Scope::Org(org), RuntimeScope::Org)),
            ];
            for (scope, runtime_scope) in scopes.into_iter().flatten() {
                let limits = file(scope);
                let (scope_name, id) = scope_parts(scope);
                for limit in Limit::ALL {
                    let value = effective_value(
                        snapshot,
                        who,
                        runtime_scope,
                        limit.key(),
                        limits.and_then(|l| l.get(limit)),
                        None,
                        now_ms,
                    );
                    if let Some(value) = value {
                        push(scope_name, id, limit, value);
                    }
                }
            }
        }
    }
    if let (Some(budget), Some(jti)) = (who.run_budget_micro_usd, &who.token_id) {
        out.push(Bucket {
            key: Bucket::key(&tenant, "run", jti, RUN_LABEL),
            label: RUN_LABEL,
            window: Window::Lifetime,
            measure: Measure::MicroUsd,
            limit: budget,
        });
    }
    out
}
