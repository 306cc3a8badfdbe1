//! `GET /admin/usage/{subject}`: a subject's quota windows as the store holds them; and
//! `POST /admin/usage/{subject}/reset`: forgetting them, the one audited action that resets
//! usage (no override, block or policy edit ever does).

use bytes::Bytes;
use http::{Response, StatusCode};
use serde::Deserialize;

use crate::changes::Applied;
use crate::request::{Refused, decode_segment, json_body, reason};
use crate::{Admin, error, json};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetRequest {
    reason: Option<String>,
}

pub(crate) async fn reset(
    admin: &Admin,
    _by: &str,
    subject: &str,
    body: &[u8],
) -> Result<Applied, Refused> {
    let req: ResetRequest = json_body(body, r#"{"reason": "billing dispute settled"}"#)?;
    let reason = reason(req.reason)?;
    let subject = decode_segment(subject);
    let store = admin.state.quota_store();
    let before = store.usage(&subject).await.ok().map(|b| {
        serde_json::Value::from(
            b.iter()
                .map(|b| serde_json::json!({ "limit_name": b.label, "spent": b.spent, "limit": b.limit }))
                .collect::<Vec<_>>(),
        )
    });
    let n = store.reset(&subject).await.map_err(|e| {
        Refused::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the quota store failed: {e}"),
            "nothing was reset; check the store (Redis) and retry",
        )
    })?;
    Ok(Applied {
        status: StatusCode::OK,
        answer: serde_json::json!({ "subject": subject, "buckets_reset": n }),
        before: before.map(|b| serde_json::json!({ "subject": subject, "windows": b })),
        after: Some(serde_json::json!({ "subject": subject, "buckets_reset": n })),
        reason: Some(reason),
        metric_kind: "usage_reset",
        revision: None,
    })
}

pub(crate) async fn usage(admin: &Admin, subject: &str) -> Response<Bytes> {
    let subject = decode_segment(subject);
    match admin.state.quota_store().usage(&subject).await {
        Ok(buckets) => {
            let windows: Vec<serde_json::Value> = buckets
                .iter()
                .map(|b| {
                    serde_json::json!({
                        "limit_name": b.label,
                        "key": b.key,
                        "spent": b.spent,
                        "reserved": b.reserved,
                        "limit": b.limit,
                        "unit": unit(&b.label),
                        "resets_at": b.resets_at_ms.map(|ms| humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms)).to_string()),
                    })
                })
                .collect();
            json(
                StatusCode::OK,
                &serde_json::json!({ "subject": subject, "windows": windows, "store_errors": admin.state.store_errors() }),
            )
        }
        Err(e) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!("quota store unreachable: {e}"),
        ),
    }
}

/// The unit of a limit, from its name (`usd_*` and the run budget are micro-USD).
fn unit(label: &str) -> &'static str {
    if label.starts_with("usd") || label == "run_usd" {
        "micro_usd"
    } else if label.starts_with("tokens") {
        "tokens"
    } else {
        "requests"
    }
}
