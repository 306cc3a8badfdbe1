//! `GET /admin/usage/{subject}`: a subject's quota windows as the store holds them.

use bytes::Bytes;
use http::{Response, StatusCode};

use crate::{Admin, error, json};

pub(crate) async fn usage(admin: &Admin, subject: &str) -> Response<Bytes> {
    let subject = percent_decode(subject);
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

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("s={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}
