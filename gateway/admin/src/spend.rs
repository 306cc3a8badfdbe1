//! The spend ledger as admins read it: `GET /admin/spenders` (top spenders of today or this
//! month, per subject or organisation, paged server-side) and `GET /admin/spend` (the
//! gateway's daily totals for a chart). One ranked read per page, however many subjects.

use bytes::Bytes;
use gateway_quota::{SPEND_HISTORY_MAX_DAYS, SpendScope, SpendWindow};
use gateway_runtime_state::now_ms;
use http::{Response, StatusCode};

use crate::request::{LIST_PAGE_MAX, page, query_param};
use crate::{Admin, error_hint, json};

/// Days of history answered when `days` is not given.
const HISTORY_DEFAULT_DAYS: usize = 30;

/// `?window=day|month&scope=subject|org&offset=&limit=`.
pub(crate) async fn spenders(admin: &Admin, query: Option<&str>) -> Response<Bytes> {
    let window = match query_param(query, "window").as_deref() {
        None | Some("day") => SpendWindow::Day,
        Some("month") => SpendWindow::Month,
        Some(other) => return bad_param("window", other, "day or month"),
    };
    let scope = match query_param(query, "scope").as_deref() {
        None | Some("subject") => SpendScope::Subject,
        Some("org") => SpendScope::Org,
        Some(other) => return bad_param("scope", other, "subject or org"),
    };
    let (offset, limit) = page(query, LIST_PAGE_MAX);
    let now = now_ms();
    match admin
        .state
        .quota_store()
        .top_spenders(scope, window, now, offset, limit)
        .await
    {
        Ok(page) => json(
            StatusCode::OK,
            &serde_json::json!({
                "window": window.as_str(),
                "period": window.period(now),
                "scope": match scope { SpendScope::Subject => "subject", SpendScope::Org => "org" },
                "entries": page.entries.iter().map(|(id, micro)| serde_json::json!({
                    "id": id,
                    "spent_micro_usd": micro,
                })).collect::<Vec<_>>(),
                "total": page.total,
                "offset": offset,
                "limit": limit,
            }),
        ),
        Err(e) => store_down(&e),
    }
}

/// `?days=30`: the gateway's spend and settled requests per UTC day, oldest first, plus
/// today's and this month's totals.
pub(crate) async fn history(admin: &Admin, query: Option<&str>) -> Response<Bytes> {
    let days = query_param(query, "days")
        .and_then(|d| d.parse::<usize>().ok())
        .unwrap_or(HISTORY_DEFAULT_DAYS)
        .clamp(1, SPEND_HISTORY_MAX_DAYS);
    let now = now_ms();
    let store = admin.state.quota_store();
    let history = match store.spend_history(days, now).await {
        Ok(h) => h,
        Err(e) => return store_down(&e),
    };
    let month = SpendWindow::Month.period(now);
    let (mut month_usd, mut month_requests) = (0, 0);
    // The month's totals from its days (a month is at most 31 of the 93 days kept).
    if let Ok(all) = store.spend_history(31, now).await {
        for d in all.iter().filter(|d| d.day.starts_with(&month)) {
            month_usd += d.micro_usd;
            month_requests += d.requests;
        }
    }
    let today = history.last().cloned().unwrap_or_default();
    json(
        StatusCode::OK,
        &serde_json::json!({
            "today": { "day": today.day, "spent_micro_usd": today.micro_usd, "requests": today.requests },
            "month": { "month": month, "spent_micro_usd": month_usd, "requests": month_requests },
            "days": history.iter().map(|d| serde_json::json!({
                "day": d.day,
                "spent_micro_usd": d.micro_usd,
                "requests": d.requests,
            })).collect::<Vec<_>>(),
        }),
    )
}

fn bad_param(name: &str, value: &str, expected: &str) -> Response<Bytes> {
    error_hint(
        StatusCode::BAD_REQUEST,
        &format!("`{name}` = {value:?} is not known"),
        &format!("use {expected}"),
    )
}

fn store_down(e: &gateway_quota::StoreError) -> Response<Bytes> {
    error_hint(
        StatusCode::SERVICE_UNAVAILABLE,
        &format!("the quota store cannot be read: {e}"),
        "check the store (Redis) and retry",
    )
}
