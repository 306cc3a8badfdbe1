//! The admin API stage: everything served on the operators' listener.
//!
//! Owns: the admin routes, in one table ([`route`]): `GET|HEAD /healthz` (alive),
//! `GET|HEAD /readyz` ([`Readiness`] plus the problems the gateway reports through
//! [`AdminState`]), `GET /metrics` (Prometheus text format; counters kept outside the
//! registry are brought up to date first), and the admin API under `/admin/`: a subject's
//! quota windows and their reset, its effective limits with each value's source (also a dry
//! run for any principal), overrides / blocks / virtual keys (create, list, read, change with
//! `If-Match`, delete), and the audit log; their JSON answers and errors (`error.message`
//! says what happened, `error.hint` what to do). Admin tokens ([`authorized`]) carry a role:
//! `viewer` reads, `editor` also changes (403 for a viewer's change). Every change and every
//! refused change is written to the audit log ([`AuditLog`]) and counted.
//! The admin page at `/admin/ui` (module `ui`) is a client of these same handlers.
//!
//! Invariants: admin routes live only on the admin listener, never on the client-facing one;
//! answers carry no secret; a presented admin token is compared by SHA-256 with every configured
//! one in constant time (no early exit) and never logged.
//!
//! Not here: serving sockets (gateway-server), deciding what is ready or reading the gateway's
//! components (the app implements [`AdminState`]), the quota arithmetic (gateway-quota).

mod audit_log;
mod blocks;
mod changes;
mod export;
mod keys;
mod limits;
mod overrides;
mod policies;
mod readiness;
mod recent;
mod request;
mod sessions;
mod spend;
mod stale;
mod ui;
mod usage;

use std::{convert::Infallible, future::Future, pin::Pin, sync::Arc};

use bytes::Bytes;
use gateway_config::{AdminRole, AdminToken};
use gateway_metrics::Metrics;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use sha2::Digest;
use subtle::ConstantTimeEq;

pub use audit_log::{AUDIT_PAGE_MAX, AuditLog};
pub use policies::RefusedReload;
pub use readiness::Readiness;
pub use recent::{RECENT_REQUESTS_MAX, RecentRequest, RecentRequests};
pub use request::ADMIN_BODY_MAX_BYTES;
pub use stale::StaleOverrides;

/// What the admin listener reads from the running gateway.
pub trait AdminState: Send + Sync + std::fmt::Debug + 'static {
    /// Reasons, beyond draining and missing upstreams, not to be ready (store unreachable,
    /// transcript sink failing). Each says what it means for traffic.
    fn problems(&self) -> Vec<&'static str>;
    /// Brings counters kept outside the registry up to date, just before a scrape.
    fn before_scrape(&self);
    /// Circuit breakers that have seen traffic, as `("target/model", state)`: shown in
    /// `/readyz` detail, never a reason to be unready.
    fn breakers(&self) -> Vec<(String, &'static str)> {
        Vec::new()
    }
    /// The quota store, for usage reads.
    fn quota_store(&self) -> &Arc<dyn gateway_quota::Store>;
    /// Shared-store failures so far.
    fn store_errors(&self) -> u64;
    /// The policy that applies to `who` now, if any.
    fn policy_for(&self, who: &gateway_core::Principal) -> Option<Arc<gateway_policy::Policy>>;
    /// The policy set in force, and the last refused reload if the files on disk are not it.
    fn policies(&self) -> (Arc<gateway_policy::PolicySet>, Option<RefusedReload>);
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
    /// Overrides, blocks and virtual keys, shared by replicas.
    pub runtime: Arc<gateway_runtime_state::RuntimeState>,
    /// Where changes are recorded.
    pub audit: AuditLog,
    /// This replica's last metered exchanges.
    pub recent: Arc<RecentRequests>,
    /// The transcript file sink's directory, when transcripts are recorded there.
    pub transcripts_dir: Option<std::path::PathBuf>,
    /// Overrides already audited as stale.
    pub stale: StaleOverrides,
}

/// One admin route.
#[derive(Debug, PartialEq, Eq)]
enum Route<'a> {
    Health,
    Ready,
    Metrics,
    Usage(&'a str),
    OrgUsage(&'a str),
    UsageReset(&'a str),
    Limits(&'a str),
    Audit,
    /// `/admin/ui` and below: the admin page.
    Ui,
    Spenders,
    SpendHistory,
    Policies,
    Requests,
    Session(&'a str),
    ExportOverrides,
    /// `GET /admin/{records}`
    List(Records),
    /// `POST /admin/{records}`
    Create(Records),
    /// `GET /admin/{records}/{id}`
    Read(Records, &'a str),
    /// `PUT /admin/overrides/{id}`
    Update(Records, &'a str),
    /// `DELETE /admin/{records}/{id}`
    Delete(Records, &'a str),
    WrongMethod(&'static str),
    NotFound,
}

/// The kinds of runtime record, as their collection's path segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Records {
    Overrides,
    Blocks,
    Keys,
}

impl Records {
    fn parse(segment: &str) -> Option<Self> {
        match segment {
            "overrides" => Some(Self::Overrides),
            "blocks" => Some(Self::Blocks),
            "keys" => Some(Self::Keys),
            _ => None,
        }
    }

    /// The collection's name in paths and answers.
    pub(crate) fn plural(self) -> &'static str {
        match self {
            Self::Overrides => "overrides",
            Self::Blocks => "blocks",
            Self::Keys => "keys",
        }
    }
}

/// The admin route table, in one place.
fn route<'a>(method: &Method, path: &'a str) -> Route<'a> {
    let read = method == Method::GET || method == Method::HEAD;
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let (route, allowed, allow) = match segments.as_slice() {
        ["healthz"] => (Route::Health, read, "GET, HEAD"),
        ["readyz"] => (Route::Ready, read, "GET, HEAD"),
        ["metrics"] => (Route::Metrics, read, "GET, HEAD"),
        ["admin", "usage", subject] if !subject.is_empty() => {
            (Route::Usage(subject), method == Method::GET, "GET")
        }
        ["admin", "usage", subject, "reset"] if !subject.is_empty() => {
            (Route::UsageReset(subject), method == Method::POST, "POST")
        }
        ["admin", "overrides", "export"] => (Route::ExportOverrides, method == Method::GET, "GET"),
        ["admin", "orgs", org, "usage"] if !org.is_empty() => {
            (Route::OrgUsage(org), method == Method::GET, "GET")
        }
        ["admin", "limits", subject] if !subject.is_empty() => {
            (Route::Limits(subject), method == Method::GET, "GET")
        }
        ["admin", "audit"] => (Route::Audit, method == Method::GET, "GET"),
        ["admin", "ui", ..] => return Route::Ui,
        ["admin", "spenders"] => (Route::Spenders, method == Method::GET, "GET"),
        ["admin", "spend"] => (Route::SpendHistory, method == Method::GET, "GET"),
        ["admin", "policies"] => (Route::Policies, method == Method::GET, "GET"),
        ["admin", "requests"] => (Route::Requests, method == Method::GET, "GET"),
        ["admin", "sessions", id] if !id.is_empty() => {
            (Route::Session(id), method == Method::GET, "GET")
        }
        ["admin", kind] => match Records::parse(kind) {
            Some(kind) if method == Method::POST => (Route::Create(kind), true, "GET, POST"),
            Some(kind) => (Route::List(kind), method == Method::GET, "GET, POST"),
            None => return Route::NotFound,
        },
        ["admin", kind, id] if !id.is_empty() => match Records::parse(kind) {
            Some(Records::Overrides) if method == Method::PUT => (
                Route::Update(Records::Overrides, id),
                true,
                "GET, PUT, DELETE",
            ),
            Some(kind) if method == Method::DELETE => {
                let allow = if kind == Records::Overrides {
                    "GET, PUT, DELETE"
                } else {
                    "GET, DELETE"
                };
                (Route::Delete(kind, id), true, allow)
            }
            Some(Records::Overrides) => (
                Route::Read(Records::Overrides, id),
                method == Method::GET,
                "GET, PUT, DELETE",
            ),
            Some(kind) => (Route::Read(kind, id), method == Method::GET, "GET, DELETE"),
            None => return Route::NotFound,
        },
        _ => return Route::NotFound,
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
        Box::pin(async move {
            let req = match request::collect(req).await {
                Ok(req) => req,
                Err(refusal) => return Ok(refusal.map(Full::new)),
            };
            Ok(respond(&admin, &req).await.map(Full::new))
        }) as AdminFuture
    })
}

/// Answers one admin request, its body already read.
pub async fn respond(admin: &Admin, req: &Request<Bytes>) -> Response<Bytes> {
    match route(req.method(), req.uri().path()) {
        Route::Health => json(StatusCode::OK, &serde_json::json!({ "status": "ok" })),
        Route::Ready => {
            let problems = admin.state.problems();
            let (ready, body) = admin.readiness.report(&problems, &admin.state.breakers());
            let status = if ready {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            json(status, &body)
        }
        Route::Metrics => {
            admin.state.before_scrape();
            admin.note_policy_reload();
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
        Route::OrgUsage(org) => match authorized(admin, req.headers(), AdminRole::Viewer) {
            Ok(_) => usage::org_usage(admin, org).await,
            Err(refusal) => *refusal,
        },
        Route::Limits(subject) => match authorized(admin, req.headers(), AdminRole::Viewer) {
            Ok(_) => limits::limits(admin, subject, req.uri().query()),
            Err(refusal) => *refusal,
        },
        Route::Policies => match authorized(admin, req.headers(), AdminRole::Viewer) {
            Ok(_) => policies::list(admin),
            Err(refusal) => *refusal,
        },
        Route::Requests => match authorized(admin, req.headers(), AdminRole::Viewer) {
            Ok(_) => recent::list(admin, req.uri().query()),
            Err(refusal) => *refusal,
        },
        Route::ExportOverrides => match authorized(admin, req.headers(), AdminRole::Viewer) {
            Ok(_) => export::export(admin),
            Err(refusal) => *refusal,
        },
        Route::Session(id) => match authorized(admin, req.headers(), AdminRole::Viewer) {
            Ok(_) => sessions::show(admin, id, req.uri().query()).await,
            Err(refusal) => *refusal,
        },
        Route::Spenders => match authorized(admin, req.headers(), AdminRole::Viewer) {
            Ok(_) => spend::spenders(admin, req.uri().query()).await,
            Err(refusal) => *refusal,
        },
        Route::SpendHistory => match authorized(admin, req.headers(), AdminRole::Viewer) {
            Ok(_) => spend::history(admin, req.uri().query()).await,
            Err(refusal) => *refusal,
        },
        Route::Audit => match authorized(admin, req.headers(), AdminRole::Viewer) {
            Ok(_) => changes::audit_page(admin, req.uri().query()),
            Err(refusal) => *refusal,
        },
        Route::List(kind) => match authorized(admin, req.headers(), AdminRole::Viewer) {
            Ok(_) => changes::list(admin, kind, req.uri().query()),
            Err(refusal) => *refusal,
        },
        Route::Read(kind, id) => match authorized(admin, req.headers(), AdminRole::Viewer) {
            Ok(_) => changes::read(admin, kind, id),
            Err(refusal) => *refusal,
        },
        Route::UsageReset(subject) => {
            changes::change(admin, req, "usage.reset", async |by, body| {
                usage::reset(admin, by, subject, body).await
            })
            .await
        }
        Route::Create(Records::Overrides) => {
            changes::change(admin, req, "override.create", async |by, body| {
                overrides::create(admin, by, body).await
            })
            .await
        }
        Route::Update(_, id) => {
            changes::change(admin, req, "override.update", async |by, body| {
                overrides::update(admin, by, id, req.headers(), body).await
            })
            .await
        }
        Route::Create(Records::Blocks) => {
            changes::change(admin, req, "block.create", async |by, body| {
                blocks::create(admin, by, body).await
            })
            .await
        }
        Route::Create(Records::Keys) => {
            changes::change(admin, req, "key.create", async |by, body| {
                keys::create(admin, by, body).await
            })
            .await
        }
        Route::Delete(kind, id) => {
            let what = match kind {
                Records::Overrides => "override.delete",
                Records::Blocks => "block.delete",
                Records::Keys => "key.revoke",
            };
            changes::change(admin, req, what, async |_, _| {
                changes::delete(admin, kind, id, req.headers()).await
            })
            .await
        }
        Route::Ui => ui::respond(admin, req).await,
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
                    "message": format!("no admin route {}; try /healthz, /readyz, /metrics, /admin/usage/{{subject}}, /admin/orgs/{{org}}/usage, /admin/limits/{{subject}}, /admin/overrides, /admin/blocks, /admin/keys, /admin/spenders, /admin/spend, /admin/policies, /admin/requests, /admin/sessions/{{id}}, /admin/audit or the page at /admin/ui", req.uri().path()),
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

/// An error with what to do about it.
pub(crate) fn error_hint(status: StatusCode, message: &str, hint: &str) -> Response<Bytes> {
    json(
        status,
        &serde_json::json!({ "error": { "message": message, "hint": hint } }),
    )
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_api;
