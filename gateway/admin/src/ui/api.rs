//! The admin page as a client of the admin API: every read and every change is a request
//! built here with the session's admin token and answered by [`crate::respond`], the same
//! code path (authorization, validation, audit, metrics) as a `curl` against the API.
//!
//! Invariants: the page never reads or changes runtime records, quotas or the audit log
//! except through this; the token leaves the session only as the `Authorization` header of
//! these in-process requests; paths are built from percent-encoded segments.
//!
//! Not here: sockets (the requests never leave the process), rendering.

use bytes::Bytes;
use http::{HeaderValue, Method, Request, StatusCode, header};
use serde_json::Value;

use super::session::Session;
use crate::Admin;

/// One API answer: its status and JSON body (`null` if it was not JSON, such as a
/// transcript's text, which is in `text`).
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) body: Value,
    /// The body as text.
    pub(crate) text: String,
}

impl Answer {
    /// 2xx.
    pub(crate) fn ok(&self) -> bool {
        self.status.is_success()
    }

    /// The gateway has no such API route (an older or newer build).
    pub(crate) fn unavailable(&self) -> bool {
        self.status == StatusCode::NOT_FOUND && self.body["error"]["type"] == "not_found"
    }

    /// What the API said went wrong.
    pub(crate) fn message(&self) -> String {
        self.body["error"]["message"].as_str().map_or_else(
            || format!("the admin API answered {}", self.status),
            str::to_owned,
        )
    }

    /// What the API says to do about it.
    pub(crate) fn hint(&self) -> Option<&str> {
        self.body["error"]["hint"].as_str()
    }
}

/// The session's way to the API.
#[derive(Debug)]
pub(crate) struct Api<'a> {
    pub(crate) admin: &'a Admin,
    pub(crate) session: &'a Session,
}

impl Api<'_> {
    /// `GET path_and_query`.
    pub(crate) async fn get(&self, path_and_query: &str) -> Answer {
        self.change(Method::GET, path_and_query, None).await
    }

    /// `method path_and_query` with a JSON `body` (a change without `If-Match`: the page
    /// creates and deletes; it does not edit records in place).
    pub(crate) async fn change(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<&Value>,
    ) -> Answer {
        let bytes = body.map_or_else(Bytes::new, |b| Bytes::from(b.to_string()));
        let mut req = Request::new(bytes);
        *req.method_mut() = method;
        match path_and_query.parse() {
            Ok(uri) => *req.uri_mut() = uri,
            Err(_) => {
                return Answer {
                    status: StatusCode::BAD_REQUEST,
                    body: serde_json::json!({ "error": {
                        "message": format!("{path_and_query:?} is not a valid path"),
                        "hint": "remove unusual characters from the search and try again",
                    }}),
                    text: String::new(),
                };
            }
        }
        let headers = req.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&format!("Bearer {}", self.session.token.expose())) {
            headers.insert(header::AUTHORIZATION, v);
        }
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        // Boxed: the page is itself served by `respond`, so the future would contain itself.
        let r = Box::pin(crate::respond(self.admin, &req)).await;
        Answer {
            status: r.status(),
            body: serde_json::from_slice(r.body()).unwrap_or(Value::Null),
            text: String::from_utf8_lossy(r.body()).into_owned(),
        }
    }
}
