//! Which buckets a request must pass: its policy's subject and organisation limits, and the
//! run budget of a run-scoped token.

use gateway_core::Principal;
use gateway_policy::{Limit, Policy, Scope, Who};
use gateway_quota::{Bucket, Measure, Window};

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

/// Every bucket for `who` under `policy`. All share one Redis hash tag: the organisation when
/// known, else the subject, so one script call checks them all.
pub(crate) fn for_request(policy: Option<&Policy>, who: &Principal) -> Vec<Bucket> {
    let tenant = match &who.org {
        Some(org) => format!("org:{org}"),
        None => format!("sub:{}", who.subject),
    };
    let mut out = Vec::new();
    if let Some(policy) = policy {
        for (scope, limits) in policy.buckets(&Who::from(who)) {
            let (scope_name, id) = match scope {
                Scope::Subject(s) => ("sub", s),
                Scope::Org(o) => ("org", o),
            };
            for (limit, value) in limits.iter() {
                let (window, measure) = shape(limit);
                out.push(Bucket {
                    key: Bucket::key(&tenant, scope_name, id, limit.key()),
                    label: limit.key(),
                    window,
                    measure,
                    limit: value,
                });
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
