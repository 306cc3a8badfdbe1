//! The admin page's forms: login, logout, and every change (override, block, usage reset,
//! deletes, virtual key create and revoke), each turned into one admin API call.
//!
//! Invariants: a POST is refused (403, nothing changed) when it is cross-origin, has no open
//! session, or lacks the session's CSRF token, in that order and before anything else; a
//! change is made only by the API call (so it is authorized, validated and audited there);
//! after a change the browser is sent back (303) with a flash message, after a refusal it
//! sees the API's message and hint with the API's status; the one-time key token appears
//! only on the page answering its creation; a login never echoes the token tried.
//!
//! Not here: the guards' rules (session.rs), the screens the forms sit on.

use bytes::Bytes;
use gateway_config::AdminRole;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use maud::html;
use serde_json::{Value, json};

use super::html::{enc, problem};
use super::session::{self, CSRF_FIELD};
use super::{Ctx, Page, current, redirect, render, sessions};
use crate::Admin;

/// A form body, decoded.
#[derive(Debug)]
pub(crate) struct Form(Vec<(String, String)>);

impl Form {
    pub(crate) fn parse(body: &[u8]) -> Self {
        Self(
            url::form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The field `name`, trimmed; `""` when absent.
    pub(crate) fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.trim())
    }

    /// The field, or `None` when empty.
    fn opt(&self, name: &str) -> Option<&str> {
        Some(self.get(name)).filter(|v| !v.is_empty())
    }
}

/// Answers a POST under `/admin/ui`.
pub(crate) async fn post(
    admin: &Admin,
    req: &Request<Bytes>,
    rest: &str,
    tls: bool,
) -> Response<Bytes> {
    let authority = req.uri().authority().map(http::uri::Authority::as_str);
    if let Some(why) = session::cross_origin(req.headers(), authority) {
        return refused(
            "Cross-site form refused",
            &format!("{why}. Nothing was changed: submit forms from the admin page itself."),
        );
    }
    let form = Form::parse(req.body());
    if rest == "/login" {
        return login(admin, &form, tls);
    }
    let Some((sid, session)) = current(req) else {
        return refused(
            "Session ended",
            "This form belongs to a session that has ended (logged out, idle too long, or the gateway restarted). Nothing was changed: log in again.",
        );
    };
    if !session::csrf_ok(&session, Some(form.get(CSRF_FIELD))) {
        return refused(
            "Form refused",
            "The form did not carry this session's CSRF token. Nothing was changed: reload the page and submit the form again.",
        );
    }
    let ctx = Ctx {
        admin,
        session,
        sid,
        query: None,
    };
    match rest {
        "/logout" => {
            sessions().close(&ctx.sid);
            redirect("/admin/ui/login", Some(&session::clear_cookie(tls)))
        }
        "/override" => override_create(&ctx, &form).await,
        "/block" => block_create(&ctx, &form).await,
        "/reset" => reset(&ctx, &form).await,
        "/override/delete" => delete(&ctx, &form, "overrides", "/admin/ui/overrides").await,
        "/block/delete" => delete(&ctx, &form, "blocks", "/admin/ui/blocks").await,
        "/key/revoke" => delete(&ctx, &form, "keys", "/admin/ui/keys").await,
        "/key" => key_create(&ctx, &form).await,
        _ => render(
            Some(&ctx.session),
            Page::new("", "Not found", super::html::not_found(rest))
                .with_status(StatusCode::NOT_FOUND),
        ),
    }
}

/// A 403 page for a write refused by a guard.
fn refused(title: &str, why: &str) -> Response<Bytes> {
    let content = html! {
        div.problem role="alert" { p { (why) } }
        p { a href="/admin/ui" { "Back to the admin page" } }
    };
    render(
        None,
        Page::new("", title, content).with_status(StatusCode::FORBIDDEN),
    )
}

/// The login screen, with `problem` when a login was refused.
pub(crate) fn login_page(admin: &Admin, problem: Option<&str>) -> Page {
    let content = html! {
        @if admin.tokens.is_empty() {
            div.problem role="alert" {
                p { "The admin page is off: no admin token is configured." }
                p.hint { "Set [admin] token_sha256 or add [[admin.tokens]] with the SHA-256 of a token, then restart the gateway." }
            }
        } @else {
            @if let Some(p) = problem {
                div.problem role="alert" { p { (p) } }
            }
            form.login method="post" action="/admin/ui/login" {
                label {
                    span { "Admin token" }
                    input type="password" name="token" autocomplete="off" required autofocus;
                }
                button type="submit" { "Log in" }
            }
            p.hint { "An admin token from [[admin.tokens]]: a viewer reads, an editor also changes." }
        }
    };
    Page::new("", "Log in", content)
}

fn login(admin: &Admin, form: &Form, tls: bool) -> Response<Bytes> {
    let token = form.get("token");
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&format!("Bearer {token}")) {
        headers.insert(header::AUTHORIZATION, v);
    }
    match crate::authorized(admin, &headers, AdminRole::Viewer) {
        Ok(t) => {
            let sid = sessions().open(token.to_owned(), t.id.clone(), t.role);
            tracing::info!(admin = %t.id, "admin page login");
            redirect("/admin/ui", Some(&session::set_cookie(&sid, tls)))
        }
        Err(refusal) => {
            tracing::info!(
                status = refusal.status().as_u16(),
                "admin page login refused"
            );
            let page = login_page(
                admin,
                Some(
                    "That is not an admin token of this gateway. Paste the token itself (not its SHA-256).",
                ),
            );
            render(None, page.with_status(refusal.status()))
        }
    }
}

/// After a change: back to `back` with `success`, or the API's refusal.
fn done(
    ctx: &Ctx<'_>,
    answer: &super::api::Answer,
    back: &str,
    success: String,
) -> Response<Bytes> {
    if answer.ok() {
        sessions().flash(&ctx.sid, success);
        return redirect(back, None);
    }
    let content = html! {
        (problem(answer))
        p { "Nothing was changed. " a href=(back) { "Back" } }
    };
    render(
        Some(&ctx.session),
        Page::new("", "Not changed", content).with_status(answer.status),
    )
}

/// Where the form asks to go back to: a path under `/admin/ui`, else `default`.
fn back<'a>(form: &'a Form, default: &'a str) -> &'a str {
    let b = form.get("back");
    let safe = b.starts_with("/admin/ui")
        && !b.contains("//")
        && !b.contains('\\')
        && b.chars().all(|c| c.is_ascii_graphic());
    if safe { b } else { default }
}

/// `expires_in` if the form gave one.
fn with_expiry(mut body: Value, form: &Form) -> Value {
    if let (Some(e), Some(o)) = (form.opt("expires_in"), body.as_object_mut()) {
        o.insert("expires_in".to_owned(), e.into());
    }
    body
}

async fn override_create(ctx: &Ctx<'_>, form: &Form) -> Response<Bytes> {
    let (scope, target) = (form.get("scope"), form.get("target"));
    let limit = form.get("limit");
    let body = with_expiry(
        json!({
            "scope": scope,
            "target": target,
            "limits": { limit: form.get("value") },
            "reason": form.get("reason"),
        }),
        form,
    );
    let answer = ctx
        .api()
        .change(Method::POST, "/admin/overrides", Some(&body))
        .await;
    let default = if scope == "org" {
        format!("/admin/ui/orgs?org={}", enc(target))
    } else {
        format!("/admin/ui/subjects?subject={}", enc(target))
    };
    let id = super::html::text(&answer.body["id"]);
    done(
        ctx,
        &answer,
        back(form, &default),
        format!(
            "Override {id} set: {limit} = {} for {scope} {target}.",
            form.get("value")
        ),
    )
}

async fn block_create(ctx: &Ctx<'_>, form: &Form) -> Response<Bytes> {
    let (kind, value) = (form.get("kind"), form.get("value"));
    let body = with_expiry(
        json!({ "kind": kind, "value": value, "reason": form.get("reason") }),
        form,
    );
    let answer = ctx
        .api()
        .change(Method::POST, "/admin/blocks", Some(&body))
        .await;
    let id = super::html::text(&answer.body["id"]);
    done(
        ctx,
        &answer,
        back(form, "/admin/ui/blocks"),
        format!("Block {id} in force: {kind} {value} is refused."),
    )
}

async fn reset(ctx: &Ctx<'_>, form: &Form) -> Response<Bytes> {
    let subject = form.get("subject");
    let body = json!({ "reason": form.get("reason") });
    let path = format!("/admin/usage/{}/reset", enc(subject));
    let answer = ctx.api().change(Method::POST, &path, Some(&body)).await;
    let default = format!("/admin/ui/subjects?subject={}", enc(subject));
    let n = super::html::text(&answer.body["buckets_reset"]);
    done(
        ctx,
        &answer,
        back(form, &default),
        format!("Usage of {subject} reset ({n} windows)."),
    )
}

async fn delete(ctx: &Ctx<'_>, form: &Form, kind: &str, default: &str) -> Response<Bytes> {
    let id = form.get("id");
    let path = format!("/admin/{kind}/{}", enc(id));
    let answer = ctx.api().change(Method::DELETE, &path, None).await;
    let what = if kind == "keys" { "revoked" } else { "deleted" };
    done(ctx, &answer, back(form, default), format!("{id} {what}."))
}

async fn key_create(ctx: &Ctx<'_>, form: &Form) -> Response<Bytes> {
    let mut body = with_expiry(json!({ "subject": form.get("subject") }), form);
    if let Some(o) = body.as_object_mut() {
        for name in ["org", "plan", "budget_usd", "description"] {
            if let Some(v) = form.opt(name) {
                o.insert(name.to_owned(), v.into());
            }
        }
    }
    let answer = ctx
        .api()
        .change(Method::POST, "/admin/keys", Some(&body))
        .await;
    if !answer.ok() {
        return done(ctx, &answer, "/admin/ui/keys", String::new());
    }
    let v = &answer.body;
    let token = v["token"].as_str().unwrap_or_default();
    let content = html! {
        p { "Virtual key " code { (super::html::text(&v["id"])) } " for subject "
            strong { (super::html::text(&v["subject"])) } " is live." }
        div.secret {
            p { "Its token, shown this once (the gateway keeps only its SHA-256):" }
            code #token { (token) }
        }
        p { "Clients send it as " code { "x-api-key" } " or " code { "Authorization: Bearer" } ". Revoke it on the keys screen." }
        p { a href="/admin/ui/keys" { "Back to virtual keys" } }
    };
    render(
        Some(&ctx.session),
        Page::new("/keys", "Virtual key created", content).with_status(StatusCode::CREATED),
    )
}
