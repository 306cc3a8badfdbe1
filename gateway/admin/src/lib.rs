//! The admin API stage: everything served on the operators' listener.
//!
//! Owns: the admin routes, in one table ([`route`]): `GET|HEAD /healthz` (alive),
//! `GET|HEAD /readyz` ([`Readiness`] plus the problems the gateway reports through
//! [`AdminState`]), `GET /metrics` (Prometheus text format; counters kept outside the
//! registry are brought up to date first), and `GET /admin/usage/{subject}` (a subject's quota
//! windows, for any admin token); their JSON answers and errors. Admin tokens ([`authorized`])
//! carry a role: `viewer` reads, `editor` also changes (403 for a viewer's change).
//!
//! Invariants: admin routes live only on the admin listener, never on the client-facing one;
//! answers carry no secret; a presented admin token is compared by SHA-256 with every configured
//! one in constant time (no early exit) and never logged.
//!
//! Not here: serving sockets (gateway-server), deciding what is ready or reading the gateway's
//! components (the app implements [`AdminState`]), the quota arithmetic (gateway-quota).

mod readiness;
mod usage;

use std::{convert::Infallible, future::Future, pin::Pin, sync::Arc};

use bytes::Bytes;
use gateway_config::{AdminRole, AdminToken};
use gateway_metrics::Metrics;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use sha2::Digest;
use subtle::ConstantTimeEq;

pub use readiness::Readiness;

/// What the admin listener reads from the running gateway.
pub trait AdminState: Send + Sync + std::fmt::Debug + 'static {
    /// Reasons, beyond draining and missing upstreams, not to be ready (store unreachable,
    /// transcript sink failing). Each says what it means for traffic.
    fn problems(&self) -> Vec<&'static str>;
    /// Brings counters kept outside the registry up to date, just before a scrape.
    fn before_scrape(&self);
    /// The quota store, for usage reads.
    fn quota_store(&self) -> &Arc<dyn gateway_quota::Store>;
    /// Shared-store failures so far.
    fn store_errors(&self) -> u64;
}

/// The admin listener's state.
#[derive(Debug)]
pub struct Admin {
    /// The running gateway.
    pub state: Arc<dyn AdminState>,
    /// `/readyz`.
    pub readiness: Readiness,
    /// The registry served at `/metrics`.
    pub metrics: Arc<Metrics>,
    /// `[admin] token_sha256` and `[[admin.tokens]]`: the admin API is off without one.
    pub tokens: Vec<AdminToken>,
}

/// One admin route.
#[derive(Debug, PartialEq, Eq)]
enum Route<'a> {
    Health,
    Ready,
    Metrics,
    Usage(&'a str),
    WrongMethod(&'static str),
    NotFound,
}

/// The admin route table, in one place.
fn route<'a>(method: &Method, path: &'a str) -> Route<'a> {
    let read = method == Method::GET || method == Method::HEAD;
    let (route, allow) = match path {
        "/healthz" => (Route::Health, "GET, HEAD"),
        "/readyz" => (Route::Ready, "GET, HEAD"),
        "/metrics" => (Route::Metrics, "GET, HEAD"),
        _ => match path.strip_prefix("/admin/usage/") {
            Some(subject) if !subject.is_empty() => (Route::Usage(subject), "GET"),
            _ => return Route::NotFound,
        },
    };
    let allowed = match route {
        Route::Usage(_) => method == Method::GET,
        _ => read,
    };
    if allowed {
        route
    } else {
        Route::WrongMethod(allow)
    }
}

/// The response body of every admin answer.
pub type AdminBody = Full<Bytes>;

type AdminFuture = Pin<Box<dyn Future<Output = Result<Response<AdminBody>, Infallible>> + Send>>;

/// The admin service for one connection.
pub fn service(
    admin: Arc<Admin>,
) -> impl hyper::service::Service<
    Request<hyper::body::Incoming>,
    Response = Response<AdminBody>,
    Error = Infallible,
    Future = AdminFuture,
> + Send
+ 'static {
    hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
        let admin = admin.clone();
        Box::pin(async move { Ok(respond(&admin, &req).await.map(Full::new)) }) as AdminFuture
    })
}

/// Answers one admin request.
pub async fn respond<B>(admin: &Admin, req: &Request<B>) -> Response<Bytes> {
    match route(req.method(), req.uri().path()) {
        Route::Health => json(StatusCode::OK, &serde_json::json!({ "status": "ok" })),
        Route::Ready => {
            let problems = admin.state.problems();
            let (ready, body) = admin.readiness.report(&problems);
            let status = if ready {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            json(status, &body)
        }
        Route::Metrics => {
            admin.state.before_scrape();
            let mut r = Response::new(Bytes::from(admin.metrics.render()));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            r
        }
        Route::Usage(subject) => match authorized(admin, req.headers(), AdminRole::Viewer) {
            Ok(_) => usage::usage(admin, subject).await,
            Err(refusal) => *refusal,
        },
        Route::WrongMethod(allow) => {
            let mut r = error(
                StatusCode::METHOD_NOT_ALLOWED,
                &format!(
                    "{} is not served on {}; use {allow}",
                    req.method(),
                    req.uri().path()
                ),
            );
            r.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(allow));
            r
        }
        Route::NotFound => json(
            StatusCode::NOT_FOUND,
            &serde_json::json!({
                "error": {
                    "message": format!("no admin route {}; try /healthz, /readyz, /metrics or /admin/usage/{{subject}}", req.uri().path()),
                    "type": "not_found"
                }
            }),
        ),
    }
}

/// The admin token the request carries, if it may act as `need` (a viewer reads, an editor
/// also changes): 404 when no token is configured, 401 for a missing or unknown token, 403
/// for a viewer's change.
pub(crate) fn authorized<'a>(
    admin: &'a Admin,
    headers: &http::HeaderMap,
    need: AdminRole,
) -> Result<&'a AdminToken, Box<Response<Bytes>>> {
    if admin.tokens.is_empty() {
        return Err(Box::new(error(
            StatusCode::NOT_FOUND,
            "the admin API is off: set [admin] token_sha256 or add [[admin.tokens]] with the SHA-256 of an admin token",
        )));
    }
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let digest: [u8; 32] = sha2::Sha256::digest(token.as_bytes()).into();
    // Every configured token is compared, so timing says nothing about which one matched.
    let mut found = None;
    for t in &admin.tokens {
        if bool::from(digest.ct_eq(&t.sha256)) {
            found = Some(t);
        }
    }
    let Some(t) = found else {
        return Err(Box::new(error(
            StatusCode::UNAUTHORIZED,
            "send an admin token as `Authorization: Bearer <token>`",
        )));
    };
    if need == AdminRole::Editor && t.role != AdminRole::Editor {
        return Err(Box::new(error(
            StatusCode::FORBIDDEN,
            &format!(
                "admin token `{}` is a viewer; changes need an editor token",
                t.id
            ),
        )));
    }
    Ok(t)
}

pub(crate) fn json(status: StatusCode, value: &serde_json::Value) -> Response<Bytes> {
    let mut r = Response::new(Bytes::from(value.to_string()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

pub(crate) fn error(status: StatusCode, message: &str) -> Response<Bytes> {
    json(
        status,
        &serde_json::json!({ "error": { "message": message } }),
    )
}

#[cfg(test)]
mod tests;
