//! Admin page sessions and the guards on every write.
//!
//! Owns: the in-memory session table (a random id → the admin token it was opened with, its
//! CSRF token, when it was last used, one flash message), the session cookie (HttpOnly,
//! SameSite=Strict, `Path=/admin/ui`, Secure only over TLS), and the two write guards: the
//! cross-origin check (`Sec-Fetch-Site`, else `Origin` against `Host`) and the per-session
//! CSRF token, compared in constant time.
//!
//! Invariants: the table never holds more than [`SESSIONS_MAX`] sessions (expired ones are
//! dropped first, then the least recently used); a session idle for [`SESSION_IDLE`] is gone;
//! a session id and a CSRF token are 244 random bits each and are never logged or rendered
//! (the CSRF token only inside the session's own forms); the admin token is held as a
//! [`Secret`] and re-checked by the API on every call, so a session is never more than the
//! token it holds.
//!
//! Not here: deciding who may do what (the API's `authorized`), rendering.

use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError},
    time::{Duration, Instant},
};

use gateway_config::AdminRole;
use gateway_core::Secret;
use http::{HeaderMap, header};
use subtle::ConstantTimeEq;

/// Most sessions held at once: a login beyond it ends the least recently used one.
pub(crate) const SESSIONS_MAX: usize = 256;
/// A session unused for this long is gone; log in again.
pub(crate) const SESSION_IDLE: Duration = Duration::from_secs(30 * 60);
/// The session cookie's name.
pub(crate) const COOKIE_NAME: &str = "gw_admin_session";
/// The form field that carries the CSRF token.
pub(crate) const CSRF_FIELD: &str = "csrf";

/// What a page needs from its session (a copy: the table is never locked across an await).
#[derive(Clone, Debug)]
pub(crate) struct Session {
    /// The admin token, sent to the API as `Authorization: Bearer`.
    pub(crate) token: Secret<String>,
    /// The admin token's id, shown in the header.
    pub(crate) who: String,
    /// Its role, to hide forms a viewer cannot use (the API refuses them anyway).
    pub(crate) role: AdminRole,
    /// The session's CSRF token, put in every form.
    pub(crate) csrf: String,
    /// A message from the last change, shown once.
    pub(crate) flash: Option<String>,
}

#[derive(Debug)]
struct Entry {
    session: Session,
    last_seen: Instant,
}

/// The session table.
#[derive(Debug)]
pub(crate) struct Sessions {
    entries: Mutex<HashMap<String, Entry>>,
    max: usize,
    idle: Duration,
}

impl Sessions {
    /// A table of at most `max` sessions that end after `idle` unused.
    pub(crate) fn new(max: usize, idle: Duration) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            max: max.max(1),
            idle,
        }
    }

    /// Opens a session for `token` (already checked by the caller); returns its id.
    pub(crate) fn open(&self, token: String, who: String, role: AdminRole) -> String {
        let id = random_token();
        let now = Instant::now();
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.retain(|_, e| now.duration_since(e.last_seen) < self.idle);
        while entries.len() >= self.max {
            let Some(oldest) = entries
                .iter()
                .min_by_key(|(_, e)| e.last_seen)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            entries.remove(&oldest);
        }
        entries.insert(
            id.clone(),
            Entry {
                session: Session {
                    token: Secret::new(token),
                    who,
                    role,
                    csrf: random_token(),
                    flash: None,
                },
                last_seen: now,
            },
        );
        id
    }

    /// The session `id`, if it is open and not idle too long (it counts as used now); its
    /// flash message is taken.
    pub(crate) fn touch(&self, id: &str) -> Option<Session> {
        let now = Instant::now();
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let expired = entries
            .get(id)
            .is_some_and(|e| now.duration_since(e.last_seen) >= self.idle);
        if expired {
            entries.remove(id);
            return None;
        }
        let entry = entries.get_mut(id)?;
        entry.last_seen = now;
        let session = entry.session.clone();
        entry.session.flash = None;
        Some(session)
    }

    /// Leaves `message` for the session's next page.
    pub(crate) fn flash(&self, id: &str, message: String) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(e) = entries.get_mut(id) {
            e.session.flash = Some(message);
        }
    }

    /// Ends the session `id`.
    pub(crate) fn close(&self, id: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.remove(id);
    }

    /// How many sessions are open (expired ones included until the next login).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// 244 random bits (two v4 UUIDs) as 64 hex digits.
fn random_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// The session id the request's cookie names, if any.
pub(crate) fn cookie_session(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// `Set-Cookie` for session `id`: HttpOnly, SameSite=Strict, the page's path only, Secure
/// when the page is served over TLS. No `Max-Age`: the browser forgets it when it closes,
/// the gateway after [`SESSION_IDLE`].
pub(crate) fn set_cookie(id: &str, tls: bool) -> String {
    let secure = if tls { "; Secure" } else { "" };
    format!("{COOKIE_NAME}={id}; HttpOnly; SameSite=Strict; Path=/admin/ui{secure}")
}

/// `Set-Cookie` that makes the browser forget the session cookie.
pub(crate) fn clear_cookie(tls: bool) -> String {
    let secure = if tls { "; Secure" } else { "" };
    format!("{COOKIE_NAME}=; HttpOnly; SameSite=Strict; Path=/admin/ui; Max-Age=0{secure}")
}

/// Why a write is refused as cross-origin, if it is: `Sec-Fetch-Site` other than
/// `same-origin`, or (from browsers that do not send it) an `Origin` that is not this host.
pub(crate) fn cross_origin(headers: &HeaderMap, authority: Option<&str>) -> Option<String> {
    if let Some(site) = headers.get("sec-fetch-site") {
        return match site.to_str() {
            Ok("same-origin") => None,
            Ok(other) => Some(format!(
                "the browser says this form was sent from another site (Sec-Fetch-Site: {other})"
            )),
            Err(_) => Some("Sec-Fetch-Site is not readable".to_owned()),
        };
    }
    let origin = headers.get(header::ORIGIN)?;
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or(authority)
        .unwrap_or_default();
    let origin = origin.to_str().unwrap_or_default();
    let same = !host.is_empty()
        && (origin == format!("http://{host}") || origin == format!("https://{host}"));
    if same {
        None
    } else {
        Some(format!(
            "the form was sent from {origin:?}, not from this page's host {host:?}"
        ))
    }
}

/// Whether the form's CSRF token is the session's (constant time).
pub(crate) fn csrf_ok(session: &Session, presented: Option<&str>) -> bool {
    let presented = presented.unwrap_or_default();
    !presented.is_empty() && bool::from(presented.as_bytes().ct_eq(session.csrf.as_bytes()))
}
