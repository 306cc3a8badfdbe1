//! [`RecentRequests`]: the last [`RECENT_REQUESTS_MAX`] metered exchanges, metadata only (who,
//! which model, status, tokens, cost, duration; never a body or a credential), kept in memory
//! by each replica for `GET /admin/requests` and the admin page. A bounded ring: the oldest
//! entry goes when a new one comes.

use std::{
    collections::VecDeque,
    sync::{Mutex, PoisonError},
    time::SystemTime,
};

use bytes::Bytes;
use http::{Response, StatusCode};
use serde::Serialize;

use crate::request::{LIST_PAGE_MAX, page, query_param};
use crate::{Admin, json};

/// `at` as RFC 3339 with milliseconds, UTC (`2026-12-07T11:50:00.123Z`).
fn rfc3339_millis<S: serde::Serializer>(at: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&humantime::format_rfc3339_millis(*at))
}

/// Entries each replica keeps.
pub const RECENT_REQUESTS_MAX: usize = 2_000;

/// One finished exchange.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RecentRequest {
    /// When it arrived; RFC 3339 with milliseconds in JSON (formatted when read, not on the
    /// request path).
    #[serde(serialize_with = "rfc3339_millis")]
    pub at: SystemTime,
    /// The gateway's request id (`x-request-id`), also the transcript record's.
    pub request_id: String,
    /// The agent session (`transcripts.session_header`), when the client sent one.
    pub session: Option<String>,
    /// The subject.
    pub subject: String,
    /// Its organisation.
    pub org: Option<String>,
    /// The model named.
    pub model: String,
    /// The API called (`anthropic_messages`, …).
    pub api: &'static str,
    /// The target that served (as in `x-gateway-upstream`).
    pub upstream: String,
    /// The id of the key it was sent with (safe to log, never the key), when known.
    pub key_id: Option<String>,
    /// Attempts made (as in `x-gateway-attempts`).
    pub attempts: u32,
    /// The status sent to the client.
    pub status: u16,
    /// Input tokens (cache reads and writes included).
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// What it cost, micro-USD.
    pub cost_micro_usd: u64,
    /// Whether the answer ended normally.
    pub complete: bool,
    /// Arrival to the end of the response, ms.
    pub duration_ms: u64,
}

/// The ring.
#[derive(Debug, Default)]
pub struct RecentRequests {
    ring: Mutex<VecDeque<RecentRequest>>,
}

impl RecentRequests {
    /// Adds `entry`, dropping the oldest past the bound.
    pub fn push(&self, entry: RecentRequest) {
        let mut ring = self.ring.lock().unwrap_or_else(PoisonError::into_inner);
        if ring.len() >= RECENT_REQUESTS_MAX {
            ring.pop_front();
        }
        ring.push_back(entry);
    }

    /// Newest first, optionally only `subject`'s: the page and how many match.
    pub fn page(
        &self,
        subject: Option<&str>,
        offset: usize,
        limit: usize,
    ) -> (Vec<RecentRequest>, usize) {
        let ring = self.ring.lock().unwrap_or_else(PoisonError::into_inner);
        let matching = || {
            ring.iter()
                .rev()
                .filter(move |r| subject.is_none_or(|s| r.subject == s))
        };
        let total = matching().count();
        (
            matching().skip(offset).take(limit).cloned().collect(),
            total,
        )
    }
}

/// `GET /admin/requests?subject=&offset=&limit=`.
pub(crate) fn list(admin: &Admin, query: Option<&str>) -> Response<Bytes> {
    let subject = query_param(query, "subject").filter(|s| !s.is_empty());
    let (offset, limit) = page(query, LIST_PAGE_MAX);
    let (requests, total) = admin.recent.page(subject.as_deref(), offset, limit);
    json(
        StatusCode::OK,
        &serde_json::json!({
            "requests": requests,
            "total": total,
            "offset": offset,
            "limit": limit,
            "kept": RECENT_REQUESTS_MAX,
        }),
    )
}
