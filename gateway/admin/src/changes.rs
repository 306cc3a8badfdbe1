//! Changes and their audit: [`change`] runs one editor action (authorize, make sure the audit
//! log can be written, apply, audit, count) so no handler can forget a step; the record reads
//! shared by the three collections; `GET /admin/audit`.

use bytes::Bytes;
use gateway_config::AdminRole;
use gateway_runtime_state::{AuditEntry, Record, StateError, now_ms};
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode, header};

use crate::request::{LIST_PAGE_MAX, Refused, if_match, page, query_param};
use crate::{AUDIT_PAGE_MAX, Admin, Records, authorized, error_hint, json};

/// A change that took effect.
#[derive(Debug)]
pub(crate) struct Applied {
    /// 200 or 201.
    pub(crate) status: StatusCode,
    /// The answer (may hold what is shown once, such as a new key's token; never audited).
    pub(crate) answer: serde_json::Value,
    /// The record before, for the audit log.
    pub(crate) before: Option<serde_json::Value>,
    /// The record after, for the audit log (digests only, never a token).
    pub(crate) after: Option<serde_json::Value>,
    /// The admin's reason.
    pub(crate) reason: Option<String>,
    /// `admin_changes_total{kind}`.
    pub(crate) metric_kind: &'static str,
    /// The record's revision, sent as `ETag`.
    pub(crate) revision: Option<u64>,
}

/// Runs the editor action `what` (`override.create`, …): the caller must hold an editor
/// token; the audit log must be writable before anything changes; the outcome, applied or
/// refused, is audited and counted.
pub(crate) async fn change(
    admin: &Admin,
    req: &Request<Bytes>,
    what: &str,
    apply: impl AsyncFnOnce(&str, &[u8]) -> Result<Applied, Refused>,
) -> Response<Bytes> {
    let by = match authorized(admin, req.headers(), AdminRole::Editor) {
        Ok(token) => token.id.clone(),
        Err(refusal) => {
            // The admin API off (404) is not an attempt at a change.
            if refusal.status() != StatusCode::NOT_FOUND {
                let who = if refusal.status() == StatusCode::FORBIDDEN {
                    viewer_id(admin, req.headers())
                } else {
                    "unauthenticated".to_owned()
                };
                record(
                    admin,
                    refused_entry(&who, what, refusal.status(), "not an editor"),
                );
            }
            return *refusal;
        }
    };
    if let Err(e) = admin.audit.ready() {
        admin
            .metrics
            .admin
            .changes_total
            .with_label_values(&["refused"])
            .inc();
        tracing::error!(path = %admin.audit.path().display(), error = %e, "the audit log cannot be opened; admin changes are refused");
        return error_hint(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!(
                "the audit log {} cannot be written ({e}); nothing was changed",
                admin.audit.path().display()
            ),
            "fix the file's permissions or [admin] audit_path, then retry",
        );
    }
    match apply(&by, req.body()).await {
        Ok(applied) => {
            record(
                admin,
                AuditEntry {
                    at_ms: now_ms(),
                    who: by,
                    what: what.to_owned(),
                    ok: true,
                    outcome: "applied".to_owned(),
                    before: applied.before,
                    after: applied.after,
                    reason: applied.reason,
                },
            );
            admin
                .metrics
                .admin
                .changes_total
                .with_label_values(&[applied.metric_kind])
                .inc();
            let mut r = json(applied.status, &applied.answer);
            if let Some(rev) = applied.revision {
                set_etag(&mut r, rev);
            }
            r
        }
        Err(refused) => {
            record(
                admin,
                refused_entry(&by, what, refused.status, &refused.message),
            );
            error_hint(refused.status, &refused.message, &refused.hint)
        }
    }
}

fn refused_entry(who: &str, what: &str, status: StatusCode, why: &str) -> AuditEntry {
    AuditEntry {
        at_ms: now_ms(),
        who: who.to_owned(),
        what: what.to_owned(),
        ok: false,
        outcome: format!("refused {}: {why}", status.as_u16()),
        before: None,
        after: None,
        reason: None,
    }
}

/// Writes `entry` and counts a refusal; a failed write is logged (the change, if any, is in
/// force and the store holds it).
fn record(admin: &Admin, entry: AuditEntry) {
    if !entry.ok {
        admin
            .metrics
            .admin
            .changes_total
            .with_label_values(&["refused"])
            .inc();
    }
    if let Err(e) = admin.audit.append(entry) {
        tracing::error!(path = %admin.audit.path().display(), error = %e, "writing the admin audit log failed");
    }
}

/// The id of the (viewer) token presented, for the audit of its refused change.
fn viewer_id(admin: &Admin, headers: &HeaderMap) -> String {
    authorized(admin, headers, AdminRole::Viewer)
        .map_or_else(|_| "unauthenticated".to_owned(), |t| t.id.clone())
}

pub(crate) fn set_etag(r: &mut Response<Bytes>, revision: u64) {
    if let Ok(v) = HeaderValue::from_str(&format!("\"{revision}\"")) {
        r.headers_mut().insert(header::ETAG, v);
    }
}

/// Whether `record` is of the collection `kind`.
fn of_kind(record: &Record, kind: Records) -> bool {
    matches!(
        (record, kind),
        (Record::Override(_), Records::Overrides)
            | (Record::Block(_), Records::Blocks)
            | (Record::Key(_), Records::Keys)
    )
}

/// A record as answered: as stored, plus whether it is in force now (and, for an override,
/// whether the files changed under it).
pub(crate) fn view(admin: &Admin, record: &Record, now: u64) -> serde_json::Value {
    let mut v = serde_json::to_value(record).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.insert("active".to_owned(), record.active(now).into());
        if let Record::Override(ovr) = record {
            o.insert(
                "stale".to_owned(),
                crate::stale::is_stale(admin, ovr).into(),
            );
        }
    }
    v
}

/// `GET /admin/{records}`: a page, filterable by `target` (override target, block value or
/// key subject) and `active=true`.
pub(crate) fn list(admin: &Admin, kind: Records, query: Option<&str>) -> Response<Bytes> {
    let snapshot = admin.runtime.snapshot();
    let now = now_ms();
    let target = query_param(query, "target");
    let only_active = query_param(query, "active").is_some_and(|v| v == "true");
    let (offset, limit) = page(query, LIST_PAGE_MAX);
    let matching: Vec<&Record> = snapshot
        .records()
        .filter(|r| of_kind(r, kind))
        .filter(|r| !only_active || r.active(now))
        .filter(|r| {
            target.as_deref().is_none_or(|t| match r {
                Record::Override(o) => o.target == t,
                Record::Block(b) => b.value == t,
                Record::Key(k) => k.subject == t,
            })
        })
        .collect();
    let items: Vec<serde_json::Value> = matching
        .iter()
        .skip(offset)
        .take(limit)
        .map(|r| view(admin, r, now))
        .collect();
    json(
        StatusCode::OK,
        &serde_json::json!({
            kind.plural(): items,
            "total": matching.len(),
            "offset": offset,
            "limit": limit,
            "revision": snapshot.revision,
        }),
    )
}

/// `GET /admin/{records}/{id}`, with its revision as `ETag`.
pub(crate) fn read(admin: &Admin, kind: Records, id: &str) -> Response<Bytes> {
    let snapshot = admin.runtime.snapshot();
    match snapshot.get(id).filter(|r| of_kind(r, kind)) {
        Some(r) => {
            let mut resp = json(StatusCode::OK, &view(admin, r, now_ms()));
            set_etag(&mut resp, r.revision());
            resp
        }
        None => not_found(kind, id),
    }
}

fn not_found(kind: Records, id: &str) -> Response<Bytes> {
    error_hint(
        StatusCode::NOT_FOUND,
        &format!("no {} record {id}", kind.plural()),
        &format!("list them with GET /admin/{}", kind.plural()),
    )
}

/// `DELETE /admin/{records}/{id}` (`If-Match` optional): the record stops applying on every
/// replica within one sync.
pub(crate) async fn delete(
    admin: &Admin,
    kind: Records,
    id: &str,
    headers: &HeaderMap,
) -> Result<Applied, Refused> {
    let expect = if_match(headers, false)?;
    let existing = admin.runtime.snapshot().get(id).cloned();
    let Some(existing) = existing.filter(|r| of_kind(r, kind)) else {
        return Err(Refused::new(
            StatusCode::NOT_FOUND,
            format!("no {} record {id}", kind.plural()),
            format!("list them with GET /admin/{}", kind.plural()),
        ));
    };
    admin
        .runtime
        .delete(id, expect)
        .await
        .map_err(|e| state_refusal(&e))?;
    let before = serde_json::to_value(&existing).ok();
    Ok(Applied {
        status: StatusCode::OK,
        answer: serde_json::json!({ "deleted": id }),
        before,
        after: None,
        reason: None,
        metric_kind: match kind {
            Records::Overrides => "override_removed",
            Records::Blocks => "block_removed",
            Records::Keys => "key_revoked",
        },
        revision: None,
    })
}

/// Stores a new `record` (it must not exist yet) and describes the change: 201 with the
/// record as answered.
pub(crate) async fn create(
    admin: &Admin,
    record: Record,
    reason: Option<String>,
    metric_kind: &'static str,
) -> Result<Applied, Refused> {
    let stored = admin
        .runtime
        .put(record, gateway_runtime_state::Expect::Absent)
        .await
        .map_err(|e| state_refusal(&e))?;
    Ok(Applied {
        status: StatusCode::CREATED,
        answer: view(admin, &stored, now_ms()),
        before: None,
        after: serde_json::to_value(&stored).ok(),
        reason,
        metric_kind,
        revision: Some(stored.revision()),
    })
}

/// A store refusal as the admin sees it.
pub(crate) fn state_refusal(e: &StateError) -> Refused {
    match e {
        StateError::Conflict { current } => Refused::new(
            StatusCode::PRECONDITION_FAILED,
            format!("the record changed since it was read: it is at revision {current}"),
            "read it again and retry with its new ETag as If-Match",
        ),
        StateError::NotFound => Refused::new(
            StatusCode::NOT_FOUND,
            "no such record",
            "it may have been deleted by another admin; list the records again",
        ),
        other => Refused::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the runtime record store failed: {other}"),
            "nothing was changed; check the store (Redis) and retry",
        ),
    }
}

/// `GET /admin/audit?offset=&limit=`: newest first.
pub(crate) fn audit_page(admin: &Admin, query: Option<&str>) -> Response<Bytes> {
    let (offset, limit) = page(query, AUDIT_PAGE_MAX);
    match admin.audit.page(offset, limit) {
        Ok((entries, total)) => json(
            StatusCode::OK,
            &serde_json::json!({ "entries": entries, "total": total, "offset": offset, "limit": limit }),
        ),
        Err(e) => error_hint(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!(
                "the audit log {} cannot be read: {e}",
                admin.audit.path().display()
            ),
            "check the file and [admin] audit_path",
        ),
    }
}
