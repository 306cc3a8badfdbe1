//! The record of received requests: a bounded log plus per-path hit counts.

use std::collections::{HashMap, VecDeque};

use bytes::Bytes;
use http::{HeaderMap, Method};

/// Most requests kept in the log; older ones are dropped first.
pub const RECORDED_REQUESTS_MAX: usize = 10_000;
/// Most body bytes kept in the log; older requests are dropped first (the newest one is
/// always kept, whatever its size).
pub const RECORDED_BODY_BYTES_MAX: usize = 256 * 1024 * 1024;

/// One request as the mock received it.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    /// Request method.
    pub method: Method,
    /// Path and query, e.g. `/v1/messages?beta=true`.
    pub path_and_query: String,
    /// Request headers, as received.
    pub headers: HeaderMap,
    /// Request body (empty when it exceeded the mock's body limit).
    pub body: Bytes,
}

impl RecordedRequest {
    /// The path without the query string.
    pub fn path(&self) -> &str {
        path_only(&self.path_and_query)
    }
}

/// Strips the query string.
pub(crate) fn path_only(path_and_query: &str) -> &str {
    path_and_query
        .split_once('?')
        .map_or(path_and_query, |(path, _)| path)
}

/// Bounded request log and unbounded-in-time, bounded-in-keys hit counts.
#[derive(Debug, Default)]
pub(crate) struct Journal {
    requests: VecDeque<RecordedRequest>,
    body_bytes: usize,
    /// Hits per path; never trimmed, so counts stay exact after the log drops requests.
    hits: HashMap<String, usize>,
}

impl Journal {
    pub(crate) fn record(&mut self, request: RecordedRequest) {
        let path = request.path();
        match self.hits.get_mut(path) {
            Some(count) => *count = count.saturating_add(1),
            None => {
                self.hits.insert(path.to_owned(), 1);
            }
        }
        self.body_bytes = self.body_bytes.saturating_add(request.body.len());
        self.requests.push_back(request);
        while self.requests.len() > 1
            && (self.requests.len() > RECORDED_REQUESTS_MAX
                || self.body_bytes > RECORDED_BODY_BYTES_MAX)
        {
            if let Some(oldest) = self.requests.pop_front() {
                self.body_bytes = self.body_bytes.saturating_sub(oldest.body.len());
            }
        }
    }

    pub(crate) fn requests(&self) -> Vec<RecordedRequest> {
        self.requests.iter().cloned().collect()
    }

    pub(crate) fn hits(&self, path: &str) -> usize {
        self.hits.get(path).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(path: &str, body_len: usize) -> RecordedRequest {
        RecordedRequest {
            method: Method::POST,
            path_and_query: path.to_owned(),
            headers: HeaderMap::new(),
            // Zeroed allocation: no pages are touched, even for the huge body.
            body: Bytes::from(vec![0_u8; body_len]),
        }
    }

    #[test]
    fn log_is_bounded_but_hits_stay_exact() {
        let mut journal = Journal::default();
        for _ in 0..RECORDED_REQUESTS_MAX + 5 {
            journal.record(request("/v1/messages?beta=true", 1));
        }
        assert_eq!(journal.requests.len(), RECORDED_REQUESTS_MAX);
        assert_eq!(journal.hits("/v1/messages"), RECORDED_REQUESTS_MAX + 5);
        assert_eq!(journal.hits("/v1/messages?beta=true"), 0);
    }

    #[test]
    fn huge_body_keeps_only_the_newest() {
        let mut journal = Journal::default();
        journal.record(request("/a", 10));
        journal.record(request("/b", RECORDED_BODY_BYTES_MAX + 1));
        assert_eq!(journal.requests.len(), 1);
        assert_eq!(journal.requests[0].path(), "/b");
    }
}
