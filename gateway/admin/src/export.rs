//! `GET /admin/overrides/export`: the active overrides as a TOML patch for `policies/`, to
//! make a runtime change lasting through review (the gateway never writes the files). Each
//! override becomes one `[[policy]]` matching its subject or organisation, with the limits of
//! the policy that target selects now and the override's values on top, and a comment saying
//! where it came from. Money is written in dollars, as policy files write it.

use std::fmt::Write;

use bytes::Bytes;
use gateway_core::Principal;
use gateway_policy::{Limit, Limits};
use gateway_runtime_state::{Override, Record, Scope, now_ms};
use http::{HeaderValue, Response, header};

use crate::Admin;

/// Priority given to exported policies, above any plan policy they replace for their target.
const EXPORT_PRIORITY: i64 = 1_000;

pub(crate) fn export(admin: &Admin) -> Response<Bytes> {
    let now = now_ms();
    let snapshot = admin.runtime.snapshot();
    let mut out = String::from(
        "# Runtime overrides exported by llm-gateway as a patch for policies/.\n\
         # Review, add to a policy file, deploy, then delete the overrides.\n",
    );
    let mut count = 0;
    for record in snapshot.records().filter(|r| r.active(now)) {
        if let Record::Override(o) = record {
            count += 1;
            policy_of(admin, o, &mut out);
        }
    }
    if count == 0 {
        out.push_str("# (no active override)\n");
    }
    let mut r = Response::new(Bytes::from(out));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/toml; charset=utf-8"),
    );
    r
}

fn policy_of(admin: &Admin, o: &Override, out: &mut String) {
    let who = match o.scope {
        Scope::Subject => Principal::subject(&o.target),
        Scope::Org => Principal {
            org: Some(o.target.clone()),
            ..Principal::subject("")
        },
    };
    let base = admin.state.policy_for(&who);
    let until = humantime::format_rfc3339_seconds(
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(o.expires_at_ms),
    );
    let _ = writeln!(
        out,
        "\n# From override {} by {} until {until}: {}",
        o.id,
        o.by,
        o.reason.replace('\n', " ")
    );
    if let Some(p) = &base {
        let _ = writeln!(
            out,
            "# Based on policy {:?} ({}:{}).",
            p.name, p.origin.file, p.origin.line
        );
    }
    let _ = writeln!(out, "[[policy]]");
    let _ = writeln!(
        out,
        "name = {}",
        quoted(&format!("override-{}-{}", o.scope.as_str(), o.target))
    );
    let field = match o.scope {
        Scope::Subject => "subject",
        Scope::Org => "org",
    };
    let _ = writeln!(out, "match = {{ {field} = {} }}", quoted(&o.target));
    let _ = writeln!(out, "priority = {EXPORT_PRIORITY}");
    let merged = |file: Option<&Limits>| {
        Limit::ALL
            .into_iter()
            .filter_map(|l| {
                let v = o.limits.get(l.key()).copied().or_else(|| file?.get(l));
                v.map(|v| (l, v))
            })
            .collect::<Vec<_>>()
    };
    let (own, org) = match o.scope {
        Scope::Subject => (merged(base.as_deref().map(|p| &p.limits)), None),
        // An org override changes the org's shared bucket; members keep the file's limits.
        Scope::Org => (
            base.as_deref()
                .map(|p| p.limits.iter().collect())
                .unwrap_or_default(),
            Some(merged(base.as_deref().and_then(|p| p.org_limits.as_ref()))),
        ),
    };
    for (limit, value) in own {
        let _ = writeln!(out, "{} = {}", limit.key(), number(limit, value));
    }
    if let Some(org) = org {
        let _ = writeln!(out, "[policy.org]");
        for (limit, value) in org {
            let _ = writeln!(out, "{} = {}", limit.key(), number(limit, value));
        }
    }
}

/// A TOML basic string.
fn quoted(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// Money in dollars (exact: micro-USD have six decimals), counts as integers.
fn number(limit: Limit, value: u64) -> String {
    if limit.is_money() {
        format!("{}.{:06}", value / 1_000_000, value % 1_000_000)
    } else {
        value.to_string()
    }
}
