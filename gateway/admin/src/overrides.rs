//! `POST /admin/overrides` and `PUT /admin/overrides/{id}`: limits raised or lowered for one
//! subject or organisation, with a reason, until an expiry (default 24 h). Values are checked
//! against the policy vocabulary (money in dollars, counts as whole numbers, each > 0); an
//! override never touches usage, only the limits compared with it.

use std::{collections::BTreeMap, time::Duration};

use gateway_policy::{Limit, money};
use gateway_runtime_state::{Override, Record, Scope, new_id, now_ms};
use http::{HeaderMap, StatusCode};
use serde::Deserialize;

use crate::Admin;
use crate::changes::{Applied, state_refusal, view};
use crate::request::{Refused, if_match, json_body, lifetime_ms, reason};
use crate::stale::file_values;

/// An override lapses after this unless it says otherwise.
pub(crate) const OVERRIDE_TTL_DEFAULT: Duration = Duration::from_secs(24 * 3600);
/// Longest an override may last: lasting changes belong in the policy files.
pub(crate) const OVERRIDE_TTL_MAX: Duration = Duration::from_secs(90 * 24 * 3600);

const CREATE_EXAMPLE: &str = r#"{"scope": "subject", "target": "alice", "limits": {"usd_per_day": "25.00"}, "reason": "launch day", "expires_in": "8h"}"#;
const UPDATE_EXAMPLE: &str =
    r#"{"limits": {"usd_per_day": "40"}, "reason": "still launching", "expires_in": "4h"}"#;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateRequest {
    scope: Scope,
    target: String,
    limits: BTreeMap<String, serde_json::Value>,
    reason: Option<String>,
    expires_in: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateRequest {
    limits: Option<BTreeMap<String, serde_json::Value>>,
    reason: Option<String>,
    expires_in: Option<String>,
}

pub(crate) async fn create(admin: &Admin, by: &str, body: &[u8]) -> Result<Applied, Refused> {
    let req: CreateRequest = json_body(body, CREATE_EXAMPLE)?;
    let target = req.target.trim().to_owned();
    if target.is_empty() {
        return Err(Refused::bad(
            "`target` is empty",
            "name the subject or organisation id the override is for",
        ));
    }
    let limits = parse_limits(&req.limits)?;
    let reason = reason(req.reason)?;
    let now = now_ms();
    let ttl = lifetime_ms(
        req.expires_in.as_deref(),
        Some(OVERRIDE_TTL_DEFAULT),
        OVERRIDE_TTL_MAX,
    )?
    .unwrap_or_default();
    let file_values = file_values(admin, req.scope, &target, limits.keys());
    let record = Record::Override(Override {
        id: new_id("ovr"),
        scope: req.scope,
        target,
        file_values,
        limits,
        reason: reason.clone(),
        by: by.to_owned(),
        created_at_ms: now,
        expires_at_ms: now.saturating_add(ttl),
        revision: 0,
    });
    crate::changes::create(admin, record, Some(reason), "override_set").await
}

pub(crate) async fn update(
    admin: &Admin,
    by: &str,
    id: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Applied, Refused> {
    let expect = if_match(headers, true)?;
    let req: UpdateRequest = json_body(body, UPDATE_EXAMPLE)?;
    let reason = reason(req.reason)?;
    let Some(Record::Override(existing)) = admin.runtime.snapshot().get(id).cloned() else {
        return Err(Refused::new(
            StatusCode::NOT_FOUND,
            format!("no override {id}"),
            "list them with GET /admin/overrides",
        ));
    };
    let now = now_ms();
    let mut changed = existing.clone();
    if let Some(limits) = &req.limits {
        changed.limits = parse_limits(limits)?;
    }
    // Written again: against what the files say now.
    changed.file_values = file_values(admin, changed.scope, &changed.target, changed.limits.keys());
    if let Some(ttl) = lifetime_ms(req.expires_in.as_deref(), None, OVERRIDE_TTL_MAX)? {
        changed.expires_at_ms = now.saturating_add(ttl);
    }
    changed.reason = reason.clone();
    changed.by = by.to_owned();
    let stored = admin
        .runtime
        .put(Record::Override(changed), expect)
        .await
        .map_err(|e| state_refusal(&e))?;
    Ok(Applied {
        status: StatusCode::OK,
        answer: view(admin, &stored, now),
        before: serde_json::to_value(Record::Override(existing)).ok(),
        after: serde_json::to_value(&stored).ok(),
        reason: Some(reason),
        metric_kind: "override_set",
        revision: Some(stored.revision()),
    })
}

/// Policy limit key → value: money (`usd_*`) in dollars as a number or string, counts as
/// whole numbers; every value > 0; at least one.
fn parse_limits(
    raw: &BTreeMap<String, serde_json::Value>,
) -> Result<BTreeMap<String, u64>, Refused> {
    let keys = || Limit::ALL.map(Limit::key).join(", ");
    if raw.is_empty() {
        return Err(Refused::bad(
            "`limits` is empty",
            format!("set at least one of: {}", keys()),
        ));
    }
    let mut out = BTreeMap::new();
    for (key, value) in raw {
        let Some(limit) = Limit::ALL.into_iter().find(|l| l.key() == key) else {
            return Err(Refused::bad(
                format!("`limits.{key}` is not a policy limit"),
                format!("use one of: {}", keys()),
            ));
        };
        let text = match value {
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::String(s) => s.clone(),
            _ => String::new(),
        };
        let parsed = if limit.is_money() {
            money::parse_usd(&text).map_err(|e| e.to_string())
        } else {
            text.parse::<u64>()
                .map_err(|_| "not a whole number".to_owned())
        };
        match parsed {
            Ok(0) => {
                return Err(Refused::bad(
                    format!("`limits.{key}` is zero"),
                    "to refuse every request, create a block (POST /admin/blocks) instead",
                ));
            }
            Ok(v) => {
                out.insert(key.clone(), v);
            }
            Err(why) => {
                let unit = if limit.is_money() {
                    "US dollars, e.g. \"25.00\""
                } else {
                    "a whole number, e.g. 100"
                };
                return Err(Refused::bad(
                    format!("`limits.{key}` = {value}: {why}"),
                    format!("write {key} in {unit}"),
                ));
            }
        }
    }
    Ok(out)
}
