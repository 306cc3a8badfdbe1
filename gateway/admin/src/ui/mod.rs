//! The admin page at `/admin/ui` on the admin listener: server-rendered HTML, embedded in the
//! binary, usable without JavaScript.
//!
//! Owns: the page's routes ([`respond`]), login and logout, the session gate on every screen,
//! the write guards on every POST (cross-origin refusal, then the session, then its CSRF
//! token), the response headers of every page (strict CSP, `nosniff`, `no-referrer`,
//! `no-store`, `X-Frame-Options: DENY`), and the stylesheet.
//!
//! Invariants: the page is a client of the admin API ([`api`]): every read and change goes
//! through [`crate::respond`] with the session's admin token, so each is authorized, validated
//! and audited exactly as the same API call would be; a viewer's change is refused by the
//! API (403) and shown as such; no secret is rendered, except a new virtual key's token on
//! the one page that answers its creation; every list is paged by the API.
//!
//! Not here: the records, quotas and audit log themselves (the API handlers), the HTML pieces
//! ([`html`]), what each screen shows ([`pages`], [`people`], [`records`]), what each form
//! does ([`actions`]).

mod actions;
pub(crate) mod api;
mod html;
mod pages;
mod people;
mod records;
pub(crate) mod session;

use std::sync::LazyLock;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header, uri::Scheme};
use maud::Markup;

use crate::Admin;
use session::{SESSION_IDLE, SESSIONS_MAX, Session, Sessions};

/// The page's Content-Security-Policy: nothing inline, nothing from elsewhere.
pub(crate) const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
/// Items per page on every list screen.
pub(crate) const UI_PAGE: usize = 50;

const STYLE: &str = include_str!("style.css");

/// The process's page sessions. One table per process (not per [`Admin`]): a session holds
/// the admin token it was opened with and the API re-checks that token on every call, so a
/// session can do nothing its token could not.
static SESSIONS: LazyLock<Sessions> = LazyLock::new(|| Sessions::new(SESSIONS_MAX, SESSION_IDLE));

pub(crate) fn sessions() -> &'static Sessions {
    &SESSIONS
}

/// What one screen renders.
#[derive(Debug)]
pub(crate) struct Page {
    pub(crate) status: StatusCode,
    /// The navigation entry it belongs to (`""` is the overview).
    pub(crate) nav: &'static str,
    pub(crate) title: String,
    pub(crate) content: Markup,
}

impl Page {
    pub(crate) fn new(nav: &'static str, title: impl Into<String>, content: Markup) -> Self {
        Self {
            status: StatusCode::OK,
            nav,
            title: title.into(),
            content,
        }
    }

    pub(crate) fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }
}

/// A logged-in request: the session (a copy), its id and the request's query.
#[derive(Debug)]
pub(crate) struct Ctx<'a> {
    pub(crate) admin: &'a Admin,
    pub(crate) session: Session,
    pub(crate) sid: String,
    pub(crate) query: Option<&'a str>,
}

impl Ctx<'_> {
    pub(crate) fn api(&self) -> api::Api<'_> {
        api::Api {
            admin: self.admin,
            session: &self.session,
        }
    }

    /// A query parameter, decoded and trimmed (`""` when absent).
    pub(crate) fn param(&self, name: &str) -> String {
        crate::request::query_param(self.query, name)
            .map(|v| v.trim().to_owned())
            .unwrap_or_default()
    }

    /// `offset` and `limit` of a list screen.
    pub(crate) fn page(&self) -> (usize, usize) {
        crate::request::page(self.query, UI_PAGE)
    }
}

/// Answers a request under `/admin/ui`.
pub(crate) async fn respond(admin: &Admin, req: &Request<Bytes>) -> Response<Bytes> {
    let path = req.uri().path();
    let rest = path
        .strip_prefix("/admin/ui")
        .unwrap_or_default()
        .trim_end_matches('/');
    let tls = req.uri().scheme() == Some(&Scheme::HTTPS);
    let method = req.method();
    if rest == "/style.css" && (method == Method::GET || method == Method::HEAD) {
        let mut r = Response::new(Bytes::from_static(STYLE.as_bytes()));
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/css; charset=utf-8"),
        );
        return secured(r);
    }
    if method == Method::POST {
        return actions::post(admin, req, rest, tls).await;
    }
    if method != Method::GET && method != Method::HEAD {
        let page = Page::new(
            "",
            "Method not allowed",
            html::unavailable_method(method.as_str()),
        )
        .with_status(StatusCode::METHOD_NOT_ALLOWED);
        return render(None, page);
    }
    if rest == "/login" {
        return render(None, actions::login_page(admin, None));
    }
    let Some((sid, session)) = current(req) else {
        return redirect("/admin/ui/login", None);
    };
    let ctx = Ctx {
        admin,
        session,
        sid,
        query: req.uri().query(),
    };
    let page = match rest {
        "" => pages::overview(&ctx).await,
        "/subjects" => people::subject(&ctx).await,
        "/orgs" => people::org(&ctx).await,
        "/overrides" => records::overrides(&ctx).await,
        "/blocks" => records::blocks(&ctx).await,
        "/keys" => records::keys(&ctx).await,
        "/policies" => pages::policies(&ctx).await,
        "/requests" => pages::requests(&ctx).await,
        "/sessions" => pages::session(&ctx).await,
        "/audit" => pages::audit(&ctx).await,
        _ => Page::new("", "Not found", html::not_found(path)).with_status(StatusCode::NOT_FOUND),
    };
    render(Some(&ctx.session), page)
}

/// The request's open session, if its cookie names one.
pub(crate) fn current(req: &Request<Bytes>) -> Option<(String, Session)> {
    let sid = session::cookie_session(req.headers())?;
    let session = sessions().touch(&sid)?;
    Some((sid, session))
}

/// `page` inside the layout, with the page headers.
pub(crate) fn render(session: Option<&Session>, page: Page) -> Response<Bytes> {
    let markup = html::layout(session, page.nav, &page.title, &page.content);
    let mut r = Response::new(Bytes::from(markup.into_string()));
    *r.status_mut() = page.status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    secured(r)
}

/// 303 to `location` (a path under `/admin/ui`), setting `cookie` if given.
pub(crate) fn redirect(location: &str, cookie: Option<&str>) -> Response<Bytes> {
    let mut r = Response::new(Bytes::new());
    *r.status_mut() = StatusCode::SEE_OTHER;
    let location =
        HeaderValue::from_str(location).unwrap_or_else(|_| HeaderValue::from_static("/admin/ui"));
    r.headers_mut().insert(header::LOCATION, location);
    if let Some(v) = cookie.and_then(|c| HeaderValue::from_str(c).ok()) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    secured(r)
}

/// The headers every page answer carries.
fn secured(mut r: Response<Bytes>) -> Response<Bytes> {
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    r
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_forms;
#[cfg(test)]
mod tests_paging;
