//! The operators' listener: health and readiness today; metrics and the admin API later.
//!
//! Owns: the admin routes and their JSON answers.
//!
//! Invariants: admin routes live only on the admin listener, never on the client-facing one;
//! answers carry no secret.
//!
//! Not here: serving sockets (gateway-server), deciding what is ready (callers report checks
//! into [`Readiness`]).

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use bytes::Bytes;
use http::{HeaderValue, Method, Response, StatusCode, header};

/// What `/readyz` reports. Cheap to clone; components flip their check as they change.
#[derive(Debug, Clone, Default)]
pub struct Readiness {
    inner: Arc<ReadinessState>,
}

#[derive(Debug, Default)]
struct ReadinessState {
    draining: AtomicBool,
    upstreams: Vec<&'static str>,
}

impl Readiness {
    /// Ready, serving the given upstreams.
    pub fn new(upstreams: Vec<&'static str>) -> Self {
        Self {
            inner: Arc::new(ReadinessState {
                draining: AtomicBool::new(false),
                upstreams,
            }),
        }
    }

    /// Shutdown began: load balancers should stop sending traffic.
    pub fn set_draining(&self) {
        self.inner.draining.store(true, Ordering::Relaxed);
    }

    fn report(&self, extra: &[&str]) -> (bool, serde_json::Value) {
        let draining = self.inner.draining.load(Ordering::Relaxed);
        let mut problems: Vec<&str> = extra.to_vec();
        if draining {
            problems.push("shutting down: draining in-flight requests");
        }
        if self.inner.upstreams.is_empty() {
            problems.push("no upstream is configured: add an [upstreams.*] section");
        }
        let ready = problems.is_empty();
        let body = serde_json::json!({
            "status": if ready { "ready" } else { "not_ready" },
            "checks": {
                "config": "loaded",
                "upstreams": self.inner.upstreams,
                "draining": draining,
            },
            "problems": problems,
        });
        (ready, body)
    }
}

fn json(status: StatusCode, value: &serde_json::Value) -> Response<Bytes> {
    let mut r = Response::new(Bytes::from(value.to_string()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// Answers one health or readiness request; `problems` are other components' reasons not to
/// be ready.
pub fn respond(
    method: &Method,
    path: &str,
    readiness: &Readiness,
    problems: &[&str],
) -> Response<Bytes> {
    match (method, path) {
        (&Method::GET | &Method::HEAD, "/healthz") => {
            json(StatusCode::OK, &serde_json::json!({ "status": "ok" }))
        }
        (&Method::GET | &Method::HEAD, "/readyz") => {
            let (ready, body) = readiness.report(problems);
            let status = if ready {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            json(status, &body)
        }
        _ => json(
            StatusCode::NOT_FOUND,
            &serde_json::json!({
                "error": { "message": format!("no admin route {path}; try /healthz or /readyz"), "type": "not_found" }
            }),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readiness_turns_unready_when_draining() {
        let r = Readiness::new(vec!["anthropic"]);
        assert_eq!(respond(&Method::GET, "/readyz", &r, &[]).status(), 200);
        r.set_draining();
        let resp = respond(&Method::GET, "/readyz", &r, &[]);
        assert_eq!(resp.status(), 503);
        let v: serde_json::Value = serde_json::from_slice(resp.body()).unwrap();
        assert_eq!(v["checks"]["draining"], true);
        assert_eq!(respond(&Method::GET, "/healthz", &r, &[]).status(), 200);
        assert_eq!(respond(&Method::GET, "/nope", &r, &[]).status(), 404);
    }
}
