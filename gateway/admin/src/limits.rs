//! `GET /admin/limits/{subject}?org=&plan=&jti=`: which policy applies to this principal and
//! every limit of its subject and organisation buckets as in force now, each with its source
//! (block, override id, policy file and line, or the default). Also the dry run for a
//! principal that has not called yet: nothing is read from or written to the quota store.

use bytes::Bytes;
use gateway_core::Principal;
use gateway_policy::{Limit, Limits, Policy};
use gateway_runtime_state::{FileValue, Scope, effective_limit, now_ms};
use http::{Response, StatusCode};

use crate::request::{decode_segment, query_param};
use crate::{Admin, json};

pub(crate) fn limits(admin: &Admin, subject: &str, query: Option<&str>) -> Response<Bytes> {
    let who = Principal {
        org: query_param(query, "org").filter(|s| !s.is_empty()),
        plan: query_param(query, "plan").filter(|s| !s.is_empty()),
        token_id: query_param(query, "jti").filter(|s| !s.is_empty()),
        ..Principal::subject(decode_segment(subject))
    };
    let policy = admin.state.policy_for(&who);
    let snapshot = admin.runtime.snapshot();
    let now = now_ms();
    let scope_limits = |scope: Scope, file: Option<&Limits>| -> serde_json::Value {
        let mut out = serde_json::Map::new();
        for limit in Limit::ALL {
            let file_value = policy.as_deref().zip(file).and_then(|(p, l)| {
                l.get(limit).map(|value| FileValue {
                    value,
                    file: p.origin.file.clone(),
                    line: u32::try_from(p.origin.line).unwrap_or(u32::MAX),
                })
            });
            let e = effective_limit(
                &snapshot,
                &who,
                scope,
                limit.key(),
                file_value.as_ref(),
                None,
                now,
            );
            let mut v = serde_json::to_value(&e.source).unwrap_or_default();
            if let Some(o) = v.as_object_mut() {
                o.insert("value".to_owned(), e.value.into());
                o.insert(
                    "unit".to_owned(),
                    if limit.is_money() {
                        "micro_usd"
                    } else if limit.key().starts_with("tokens") {
                        "tokens"
                    } else {
                        "requests"
                    }
                    .into(),
                );
            }
            out.insert(limit.key().to_owned(), v);
        }
        out.into()
    };
    let org_limits = who.org.as_ref().map(|_| {
        scope_limits(
            Scope::Org,
            policy
                .as_deref()
                .and_then(|p: &Policy| p.org_limits.as_ref()),
        )
    });
    let blocked = snapshot
        .blocked(&who, now)
        .map(|b| serde_json::to_value(b).unwrap_or_default());
    json(
        StatusCode::OK,
        &serde_json::json!({
            "subject": who.subject,
            "org": who.org,
            "plan": who.plan,
            "policy": policy.as_deref().map(|p| serde_json::json!({
                "name": p.name,
                "file": p.origin.file,
                "line": p.origin.line,
            })),
            "blocked": blocked,
            "limits": {
                "subject": scope_limits(Scope::Subject, policy.as_deref().map(|p| &p.limits)),
                "org": org_limits,
            },
            "revision": snapshot.revision,
        }),
    )
}
