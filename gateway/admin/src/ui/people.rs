//! The subject and organisation screens: search, quota windows with progress bars, spend
//! today and this month by model, the effective limits of its subject and org buckets with each value's source, the
//! overrides and blocks in force, and (for an editor) the forms to set an override, block,
//! or reset usage.
//!
//! Invariants: the screens read through the admin API only; the forms post to
//! `/admin/ui/{override,block,reset}` (actions.rs) with the session's CSRF token; a viewer
//! sees no change forms (and the API would refuse them).
//!
//! Not here: the lists of every record (records.rs), the form handlers.

use gateway_config::AdminRole;
use gateway_policy::Limit;
use maud::{Markup, html};
use serde_json::Value;

use super::html::{amount, answered, enc, field, post_form, select, source, text};
use super::{Ctx, Page, records};

/// Top organisations listed when no org is searched.
const TOP_ORGS: usize = 20;

pub(crate) async fn subject(ctx: &Ctx<'_>) -> Page {
    let (subject, org, plan) = (ctx.param("subject"), ctx.param("org"), ctx.param("plan"));
    let search = html! {
        form.search method="get" action="/admin/ui/subjects" {
            (field("subject", "Subject", &subject, "alice"))
            (field("org", "Org (for its limits)", &org, "acme"))
            (field("plan", "Plan", &plan, "team"))
            button type="submit" { "Show" }
        }
    };
    if subject.is_empty() {
        let top = ctx
            .api()
            .get(&format!(
                "/admin/spenders?window=day&scope=subject&offset=0&limit={TOP_ORGS}"
            ))
            .await;
        let content = html! {
            (search)
            h2 { "Top subjects today" }
            (answered(&top, "Spend by subject", |v| top_list(v, "/admin/ui/subjects?subject=")))
        };
        return Page::new("/subjects", "Subjects", content);
    }
    let api = ctx.api();
    let s = enc(&subject);
    let usage = api.get(&format!("/admin/usage/{s}")).await;
    let limits = api
        .get(&format!(
            "/admin/limits/{s}?org={}&plan={}",
            enc(&org),
            enc(&plan)
        ))
        .await;
    let overrides = api
        .get(&format!("/admin/overrides?target={s}&active=true&limit=50"))
        .await;
    let back = format!(
        "/admin/ui/subjects?subject={s}&org={}&plan={}",
        enc(&org),
        enc(&plan)
    );
    let editor = ctx.session.role == AdminRole::Editor;
    let content = html! {
        (search)
        h2 { "Windows" }
        (answered(&usage, "Usage", windows))
        h2 { "Spend by model" }
        (answered(&usage, "Usage", spend))
        h2 { "Effective limits" }
        (answered(&limits, "Effective limits", effective))
        h2 { "Overrides in force" }
        (answered(&overrides, "Overrides", |v| records::override_table(ctx, v, &back)))
        @if editor {
            h2 { "Change" }
            div.forms {
                (override_form(ctx, "subject", &subject, &back))
                (block_form(ctx, "subject", &subject, &back))
                div.form {
                    h3 { "Reset usage" }
                    p.hint { "Forgets every window of this subject (what it spent and holds). Audited; nothing else ever resets usage." }
                    (post_form(&ctx.session, "/admin/ui/reset", html! {
                        input type="hidden" name="subject" value=(subject);
                        input type="hidden" name="back" value=(back);
                        (field("reason", "Reason", "", "billing dispute settled"))
                    }, "Reset usage"))
                }
            }
        }
    };
    Page::new("/subjects", format!("Subject {subject}"), content)
}

pub(crate) async fn org(ctx: &Ctx<'_>) -> Page {
    let (org, member) = (ctx.param("org"), ctx.param("subject"));
    let search = html! {
        form.search method="get" action="/admin/ui/orgs" {
            (field("org", "Org", &org, "acme"))
            (field("subject", "A member (for its policy)", &member, "optional"))
            button type="submit" { "Show" }
        }
    };
    if org.is_empty() {
        let top = ctx
            .api()
            .get(&format!(
                "/admin/spenders?window=day&scope=org&offset=0&limit={TOP_ORGS}"
            ))
            .await;
        let content = html! {
            (search)
            h2 { "Top organisations today" }
            (answered(&top, "Spend by org", |v| top_list(v, "/admin/ui/orgs?org=")))
        };
        return Page::new("/orgs", "Organisations", content);
    }
    let api = ctx.api();
    let o = enc(&org);
    let who = if member.is_empty() { "-" } else { &member };
    let usage = api.get(&format!("/admin/orgs/{o}/usage")).await;
    let limits = api
        .get(&format!("/admin/limits/{}?org={o}", enc(who)))
        .await;
    let overrides = api
        .get(&format!("/admin/overrides?target={o}&active=true&limit=50"))
        .await;
    let blocks = api
        .get(&format!("/admin/blocks?target={o}&active=true&limit=50"))
        .await;
    let back = format!("/admin/ui/orgs?org={o}&subject={}", enc(&member));
    let editor = ctx.session.role == AdminRole::Editor;
    let content = html! {
        (search)
        h2 { "Shared windows" }
        (answered(&usage, "Organisation usage", windows))
        h2 { "Spend by model" }
        (answered(&usage, "Organisation usage", spend))
        h2 { "Organisation limits" }
        (answered(&limits, "Effective limits", |v| html! {
            (policy_line(v))
            (blocked(v))
            (limit_table(&v["limits"]["org"]))
        }))
        h2 { "Overrides in force" }
        (answered(&overrides, "Overrides", |v| records::override_table(ctx, v, &back)))
        h2 { "Blocks in force" }
        (answered(&blocks, "Blocks", |v| records::block_table(ctx, v, &back)))
        @if editor {
            h2 { "Change" }
            div.forms {
                (override_form(ctx, "org", &org, &back))
                (block_form(ctx, "org", &org, &back))
            }
        }
    };
    Page::new("/orgs", format!("Organisation {org}"), content)
}

fn top_list(v: &Value, link: &str) -> Markup {
    let entries = v["entries"].as_array().map_or(&[][..], Vec::as_slice);
    html! {
        @if entries.is_empty() { p { "No spend today." } } @else {
            table {
                thead { tr { th { "Id" } th.num { "Spent today" } } }
                tbody { @for e in entries {
                    tr {
                        td { a href={ (link) (enc(&text(&e["id"]))) } { (text(&e["id"])) } }
                        td.num { (amount(&e["spent_micro_usd"], "micro_usd")) }
                    }
                } }
            }
        }
    }
}

/// A subject's quota windows, with a progress bar where a window has a limit.
fn windows(v: &Value) -> Markup {
    let windows = v["windows"].as_array().map_or(&[][..], Vec::as_slice);
    html! {
        @if windows.is_empty() { p { "No usage recorded for this subject in any open window." } } @else {
            table.windows {
                thead { tr { th { "Window" } th.num { "Spent" } th { "" } th.num { "Limit" } th.num { "Reserved" } th { "Resets at" } } }
                tbody { @for w in windows {
                    @let unit = w["unit"].as_str().unwrap_or("requests");
                    tr {
                        td { (text(&w["limit_name"])) }
                        td.num { (amount(&w["spent"], unit)) }
                        td { @if let (Some(s), Some(l)) = (w["spent"].as_u64(), w["limit"].as_u64()) {
                            progress value=(s.min(l)) max=(l.max(1)) title={ (s) " of " (l) } { (s) " of " (l) }
                        } }
                        td.num { (amount(&w["limit"], unit)) }
                        td.num { (amount(&w["reserved"], unit)) }
                        td { (text(&w["resets_at"])) }
                    }
                } }
            }
        }
    }
}

/// Spend today and this month, in all and per model (`spend` of a usage answer).
fn spend(v: &Value) -> Markup {
    let rows = |w: &Value| w["by_model"].as_array().cloned().unwrap_or_default();
    html! {
        @if v["spend"].is_null() { p { "No spend ledger on this gateway." } } @else {
            table.spend {
                thead { tr { th { "Period" } th { "Model" } th.num { "Spent" } } }
                tbody { @for key in ["today", "month"] {
                    @let w = &v["spend"][key];
                    tr { td { strong { (text(&w["period"])) } } td { "all models" }
                        td.num { strong { (amount(&w["spent_micro_usd"], "micro_usd")) } } }
                    @for m in rows(w) {
                        tr { td {} td { (text(&m["model"])) } td.num { (amount(&m["spent_micro_usd"], "micro_usd")) } }
                    }
                } }
            }
        }
    }
}

fn policy_line(v: &Value) -> Markup {
    html! {
        @if v["policy"].is_null() { p { "No policy matches this principal: the gateway's defaults apply." } }
        @else { p { "Policy " strong { (text(&v["policy"]["name"])) } " from "
            code { (text(&v["policy"]["file"])) ":" (text(&v["policy"]["line"])) } } }
    }
}

fn blocked(v: &Value) -> Markup {
    html! {
        @if !v["blocked"].is_null() {
            div.problem role="alert" { p { "Blocked by " code { (text(&v["blocked"]["id"])) } ": "
                (text(&v["blocked"]["reason"])) ". Every request is refused (403)." } }
        }
    }
}

/// `GET /admin/limits` as read by people: the policy, a block, both scopes' limits.
pub(crate) fn effective(v: &Value) -> Markup {
    html! {
        (policy_line(v))
        (blocked(v))
        h3 { "Subject bucket" }
        (limit_table(&v["limits"]["subject"]))
        @if !v["limits"]["org"].is_null() {
            h3 { "Organisation bucket (" (text(&v["org"])) ")" }
            (limit_table(&v["limits"]["org"]))
        }
    }
}

/// One scope's effective limits with their sources.
fn limit_table(v: &Value) -> Markup {
    html! {
        table.limits {
            thead { tr { th { "Limit" } th.num { "Value" } th { "Source" } } }
            tbody { @for limit in Limit::ALL {
                @let e = &v[limit.key()];
                tr {
                    td { (limit.key()) }
                    td.num { (amount(&e["value"], e["unit"].as_str().unwrap_or("requests"))) }
                    td { (source(e)) }
                }
            } }
        }
    }
}

/// A limit key → value map (`usd_*` in micro-USD) as one line.
pub(crate) fn limit_map(v: &Value) -> String {
    match v.as_object() {
        Some(m) if !m.is_empty() => m
            .iter()
            .map(|(k, val)| {
                let unit = if k.starts_with("usd") {
                    "micro_usd"
                } else {
                    "n"
                };
                format!("{k} = {}", amount(val, unit))
            })
            .collect::<Vec<_>>()
            .join(", "),
        Some(_) => "—".to_owned(),
        None => text(v),
    }
}

fn override_form(ctx: &Ctx<'_>, scope: &str, target: &str, back: &str) -> Markup {
    let limits: Vec<(&str, &str)> = Limit::ALL.iter().map(|l| (l.key(), l.key())).collect();
    html! {
        div.form {
            h3 { "Set an override" }
            p.hint { "Replaces the policy's value for this " (scope) " until it expires (24h unless set). Usage is kept." }
            (post_form(&ctx.session, "/admin/ui/override", html! {
                input type="hidden" name="scope" value=(scope);
                input type="hidden" name="target" value=(target);
                input type="hidden" name="back" value=(back);
                (select("limit", "Limit", &limits))
                (field("value", "Value (dollars for usd_*)", "", "25.00 or 100"))
                (field("reason", "Reason", "", "launch day, approved by finance"))
                (field("expires_in", "Expires in", "", "24h"))
            }, "Set override"))
        }
    }
}

fn block_form(ctx: &Ctx<'_>, kind: &str, value: &str, back: &str) -> Markup {
    html! {
        div.form {
            h3 { "Block" }
            p.hint { "Refuses every request of this " (kind) " on every replica within a second, until deleted or expired." }
            (post_form(&ctx.session, "/admin/ui/block", html! {
                input type="hidden" name="kind" value=(kind);
                input type="hidden" name="value" value=(value);
                input type="hidden" name="back" value=(back);
                (field("reason", "Reason", "", "token posted in a public issue"))
                (field("expires_in", "Expires in (empty: until deleted)", "", "24h"))
            }, "Block"))
        }
    }
}
