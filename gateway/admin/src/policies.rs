//! `GET /admin/policies`: the policies in force, each with its file and line, and the
//! problems of the last refused reload (the files on disk then differ from what is in force).

use bytes::Bytes;
use gateway_policy::{Limit, Limits};
use http::{Response, StatusCode};

use crate::{Admin, json};

/// The last policy reload that was refused, as the app reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefusedReload {
    /// When, RFC 3339.
    pub at: String,
    /// Every problem, with file, line and key.
    pub problems: Vec<String>,
}

fn limits_json(limits: &Limits) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    for limit in Limit::ALL {
        if let Some(v) = limits.get(limit) {
            out.insert(limit.key().to_owned(), v.into());
        }
    }
    out.into()
}

pub(crate) fn list(admin: &Admin) -> Response<Bytes> {
    let (set, refused) = admin.state.policies();
    let policies: Vec<serde_json::Value> = set
        .policies()
        .iter()
        .map(|p| {
            serde_json::json!({
                "name": p.name,
                "description": p.description,
                "file": p.origin.file,
                "line": p.origin.line,
                "match": {
                    "subject": p.matcher.subject,
                    "org": p.matcher.org,
                    "plan": p.matcher.plan,
                },
                "default": p.matcher.is_default(),
                "priority": p.priority,
                "limits": limits_json(&p.limits),
                "org_limits": p.org_limits.as_ref().map(limits_json),
                "models": p.models,
                "max_tokens_cap": p.max_tokens_cap,
                "on_store_error": p.on_store_error.as_str(),
            })
        })
        .collect();
    json(
        StatusCode::OK,
        &serde_json::json!({
            "policies": policies,
            "units": { "usd_per_day": "micro_usd", "usd_per_month": "micro_usd" },
            "reload": match refused {
                None => serde_json::json!({ "ok": true, "problems": [] }),
                Some(r) => serde_json::json!({ "ok": false, "at": r.at, "problems": r.problems }),
            },
        }),
    )
}
