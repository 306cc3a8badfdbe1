//! `GET /admin/usage/{subject}` and `GET /admin/orgs/{org}/usage`: quota windows as the store
//! holds them, and spend today and this month by model from the ledger; and
//! `POST /admin/usage/{subject}/reset`: forgetting them, the one audited action that resets
//! usage (no override, block or policy edit ever does).

use bytes::Bytes;
use gateway_quota::{SpendScope, SpendWindow};
use gateway_runtime_state::now_ms;
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
    windows_and_spend(admin, SpendScope::Subject, &decode_segment(subject)).await
}

/// `GET /admin/orgs/{org}/usage`: the organisation's shared buckets and spend.
pub(crate) async fn org_usage(admin: &Admin, org: &str) -> Response<Bytes> {
    windows_and_spend(admin, SpendScope::Org, &decode_segment(org)).await
}

/// Quota windows of a subject's or org's buckets as the store holds them, and what it spent
/// today and this month, in all and per model, from the spend ledger.
async fn windows_and_spend(admin: &Admin, scope: SpendScope, id: &str) -> Response<Bytes> {
    let store = admin.state.quota_store();
    let buckets = match scope {
        SpendScope::Subject => store.usage(id).await,
        SpendScope::Org => store.org_usage(id).await,
    };
    let buckets = match buckets {
        Ok(b) => b,
        Err(e) => {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                &format!("quota store unreachable: {e}"),
            );
        }
    };
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
    let now = now_ms();
    let mut spend = serde_json::Map::new();
    for window in [SpendWindow::Day, SpendWindow::Month] {
        let by_model = store
            .spend_by_model(scope, window, id, now)
            .await
            .unwrap_or_default();
        let total: u64 = by_model.iter().map(|(_, v)| v).sum();
        let name = if window == SpendWindow::Day {
            "today"
        } else {
            "month"
        };
        spend.insert(
            name.to_owned(),
            serde_json::json!({
                "period": window.period(now),
                "spent_micro_usd": total,
                "by_model": by_model.iter().map(|(m, v)| serde_json::json!({ "model": m, "spent_micro_usd": v })).collect::<Vec<_>>(),
            }),
        );
    }
    let who = match scope {
        SpendScope::Subject => "subject",
        SpendScope::Org => "org",
    };
    json(
        StatusCode::OK,
        &serde_json::json!({
            who: id,
            "windows": windows,
            "spend": spend,
            "store_errors": admin.state.store_errors(),
        }),
    )
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
