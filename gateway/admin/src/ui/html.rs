//! The admin page's HTML: the layout every screen shares (navigation, who is logged in, the
//! flash message), the pieces screens are built of (tables of JSON values, pagers, forms with
//! the CSRF token, the API's refusal as a message), and how values read (money, times).
//!
//! Invariants: every value from the API or the request goes through `maud`'s escaping (the
//! page uses no `PreEscaped`); no inline `style` or `script` (the CSP forbids both: bars are
//! `<progress>` and SVG attributes); every form that changes something is a POST carrying
//! the session's CSRF token.
//!
//! Not here: what a screen shows (pages, people, records), the response headers (mod.rs).

use maud::{DOCTYPE, Markup, html};
use serde_json::Value;

use super::session::{CSRF_FIELD, Session};
use crate::ui::api::Answer;

/// The screens, in navigation order: (path under `/admin/ui`, label).
pub(crate) const NAV: [(&str, &str); 10] = [
    ("", "Overview"),
    ("/subjects", "Subjects"),
    ("/orgs", "Orgs"),
    ("/overrides", "Overrides"),
    ("/blocks", "Blocks"),
    ("/keys", "Virtual keys"),
    ("/policies", "Policies"),
    ("/requests", "Requests"),
    ("/sessions", "Sessions"),
    ("/audit", "Audit log"),
];

/// A whole page: `current` is the NAV path it belongs to.
pub(crate) fn layout(
    session: Option<&Session>,
    current: &str,
    title: &str,
    content: &Markup,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · llm-gateway admin" }
                link rel="stylesheet" href="/admin/ui/style.css";
            }
            body {
                header {
                    span.brand { "llm-gateway admin" }
                    @if let Some(s) = session {
                        nav {
                            @for (path, label) in NAV {
                                @if path == current {
                                    a.current href={ "/admin/ui" (path) } { (label) }
                                } @else {
                                    a href={ "/admin/ui" (path) } { (label) }
                                }
                            }
                        }
                        span.who {
                            (s.who) " (" (role_name(s)) ")"
                            (post_form(s, "/admin/ui/logout", html! {}, "Log out"))
                        }
                    }
                }
                main {
                    h1 { (title) }
                    @if let Some(flash) = session.and_then(|s| s.flash.as_deref()) {
                        p.flash role="status" { (flash) }
                    }
                    (content)
                }
            }
        }
    }
}

fn role_name(s: &Session) -> &'static str {
    match s.role {
        gateway_config::AdminRole::Editor => "editor",
        gateway_config::AdminRole::Viewer => "viewer",
    }
}

/// A POST form to `action` with the session's CSRF token, `fields` and a submit button.
pub(crate) fn post_form(session: &Session, action: &str, fields: Markup, button: &str) -> Markup {
    html! {
        form.inline method="post" action=(action) {
            input type="hidden" name=(CSRF_FIELD) value=(session.csrf);
            (fields)
            button type="submit" { (button) }
        }
    }
}

/// A labelled text input.
pub(crate) fn field(name: &str, label: &str, value: &str, placeholder: &str) -> Markup {
    html! {
        label {
            span { (label) }
            input type="text" name=(name) value=(value) placeholder=(placeholder);
        }
    }
}

/// A labelled select of `options` (value, label).
pub(crate) fn select(name: &str, label: &str, options: &[(&str, &str)]) -> Markup {
    html! {
        label {
            span { (label) }
            select name=(name) {
                @for (value, text) in options {
                    option value=(value) { (text) }
                }
            }
        }
    }
}

/// The API's refusal or failure, as it said it (message, then what to do).
pub(crate) fn problem(answer: &Answer) -> Markup {
    html! {
        div.problem role="alert" {
            p { strong { (answer.status.as_u16()) } " " (answer.message()) }
            @if let Some(hint) = answer.hint() {
                p.hint { (hint) }
            }
        }
    }
}

/// What a screen shows when the gateway has no such API yet.
pub(crate) fn unavailable(what: &str) -> Markup {
    html! {
        p.unavailable { (what) " is not available on this gateway (its admin API has no such endpoint yet)." }
    }
}

/// Either `ok(answer)` or, for a missing endpoint or a failure, what happened.
pub(crate) fn answered(answer: &Answer, what: &str, ok: impl FnOnce(&Value) -> Markup) -> Markup {
    if answer.ok() {
        ok(&answer.body)
    } else if answer.unavailable() {
        unavailable(what)
    } else {
        problem(answer)
    }
}

/// Previous / next links for a page of `total` items at `offset`; `base` already holds the
/// screen's other query parameters (ends with `?` or `&`).
pub(crate) fn pager(base: &str, offset: usize, limit: usize, total: usize) -> Markup {
    let end = offset.saturating_add(limit).min(total);
    html! {
        nav.pager {
            @if offset > 0 {
                a rel="prev" href={ (base) "offset=" (offset.saturating_sub(limit)) "&limit=" (limit) } { "← newer" }
            }
            span { (if total == 0 { 0 } else { offset.saturating_add(1).min(total) }) "–" (end) " of " (total) }
            @if end < total {
                a rel="next" href={ (base) "offset=" (end) "&limit=" (limit) } { "older →" }
            }
        }
    }
}

/// A JSON value as text: strings bare, null as a dash, the rest as JSON.
pub(crate) fn text(v: &Value) -> String {
    match v {
        Value::Null => "—".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Micro-USD as dollars (`$1.25`, `$0.000246`).
pub(crate) fn usd(micro: u64) -> String {
    let cents_and_below = micro % 1_000_000;
    let mut frac = format!("{cents_and_below:06}");
    while frac.len() > 2 && frac.ends_with('0') {
        frac.pop();
    }
    format!("${}.{frac}", micro / 1_000_000)
}

/// A value in `unit` (`micro_usd`, `tokens`, `requests`) as read by people.
pub(crate) fn amount(v: &Value, unit: &str) -> String {
    match (v.as_u64(), unit) {
        (Some(n), "micro_usd") => usd(n),
        (Some(n), _) => n.to_string(),
        (None, _) if v.is_null() => "unlimited".to_owned(),
        (None, _) => text(v),
    }
}

/// Unix ms as an RFC 3339 time (UTC, seconds).
pub(crate) fn time_ms(v: &Value) -> String {
    match v.as_u64() {
        Some(ms) => humantime::format_rfc3339_seconds(
            std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms),
        )
        .to_string(),
        None => text(v),
    }
}

/// A value's source (`{"source":"file","file":…,"line":…}` and kin) as a short phrase.
pub(crate) fn source(v: &Value) -> String {
    match v["source"].as_str() {
        Some("file") => format!("{}:{}", text(&v["file"]), text(&v["line"])),
        Some("override") => format!("override {} ({})", text(&v["id"]), text(&v["scope"])),
        Some("block") => format!("block {}", text(&v["id"])),
        Some("default") => "default".to_owned(),
        _ => text(v),
    }
}

/// The percent-encoded form of `s` for a path segment or query value.
pub(crate) fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A method the page does not serve.
pub(crate) fn unavailable_method(method: &str) -> Markup {
    html! {
        p { "The admin page answers GET (screens) and POST (forms), not " (method) "." }
        p { a href="/admin/ui" { "Back to the overview" } }
    }
}

/// A path the page does not have.
pub(crate) fn not_found(path: &str) -> Markup {
    html! {
        p { "There is no screen " code { (path) } "." }
        p { a href="/admin/ui" { "Back to the overview" } }
    }
}
