//! `POST /admin/keys`: a gateway key created at run time for a subject (and org, plan), with
//! an optional lifetime budget and expiry. The token is in the answer once; only its SHA-256
//! is stored, audited or listed. Revoking is `DELETE /admin/keys/{id}`.

use std::time::Duration;

use gateway_policy::money;
use gateway_runtime_state::{Expect, KeyRequest, Record, issue_key, now_ms};
use http::StatusCode;
use serde::Deserialize;

use crate::Admin;
use crate::changes::{Applied, state_refusal, view};
use crate::request::{Refused, json_body, lifetime_ms};

/// Longest a virtual key with an expiry may live.
const KEY_TTL_MAX: Duration = Duration::from_secs(366 * 24 * 3600);

const EXAMPLE: &str = r#"{"subject": "ci-nightly", "org": "acme", "plan": "team", "budget_usd": "20", "expires_in": "30days", "description": "nightly wizard run"}"#;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateRequest {
    subject: String,
    org: Option<String>,
    plan: Option<String>,
    budget_usd: Option<serde_json::Value>,
    description: Option<String>,
    expires_in: Option<String>,
}

pub(crate) async fn create(admin: &Admin, by: &str, body: &[u8]) -> Result<Applied, Refused> {
    let req: CreateRequest = json_body(body, EXAMPLE)?;
    let subject = req.subject.trim().to_owned();
    if subject.is_empty() {
        return Err(Refused::bad(
            "`subject` is empty",
            "name the subject the key's requests are metered to",
        ));
    }
    let budget_micro_usd = match &req.budget_usd {
        None => None,
        Some(v) => {
            let text = match v {
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::String(s) => s.clone(),
                _ => String::new(),
            };
            match money::parse_usd(&text) {
                Ok(0) => {
                    return Err(Refused::bad(
                        "`budget_usd` is zero",
                        "give the key a budget above zero, or leave it out for no key budget",
                    ));
                }
                Ok(micro) => Some(micro),
                Err(e) => {
                    return Err(Refused::bad(
                        format!("`budget_usd` = {v}: {e}"),
                        "write the budget in US dollars, e.g. \"20.00\"",
                    ));
                }
            }
        }
    };
    let now = now_ms();
    let ttl = lifetime_ms(req.expires_in.as_deref(), None, KEY_TTL_MAX)?;
    let non_empty = |s: Option<String>| s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let (key, token) = issue_key(
        KeyRequest {
            subject,
            org: non_empty(req.org),
            plan: non_empty(req.plan),
            budget_micro_usd,
            description: non_empty(req.description),
            expires_at_ms: ttl.map(|t| now.saturating_add(t)),
        },
        by,
        now,
    );
    let stored = admin
        .runtime
        .put(Record::Key(key), Expect::Absent)
        .await
        .map_err(|e| state_refusal(&e))?;
    let mut answer = view(admin, &stored, now);
    if let Some(o) = answer.as_object_mut() {
        // Shown once: the gateway keeps only its SHA-256.
        o.insert("token".to_owned(), token.into());
    }
    Ok(Applied {
        status: StatusCode::CREATED,
        answer,
        before: None,
        after: serde_json::to_value(&stored).ok(),
        reason: None,
        metric_kind: "key_created",
        revision: Some(stored.revision()),
    })
}
