//! The runtime record screens: overrides (flagged when stale; exported as a policy TOML
//! patch), blocks and virtual keys, each a page of the API's list with a delete (revoke)
//! button per record for an editor, plus the create forms for blocks and keys.
//!
//! Invariants: a key is listed by id, subject and budget only (never a token; the digest is
//! not shown either); every list is one API page with offset/limit links.
//!
//! Not here: the per-subject and per-org views (people.rs), the form handlers (actions.rs).

use gateway_config::AdminRole;
use maud::{Markup, html};
use serde_json::Value;

use super::html::{amount, answered, field, pager, post_form, select, text, time_ms};
use super::people::limit_map;
use super::{Ctx, Page};

fn total(v: &Value) -> usize {
    usize::try_from(v["total"].as_u64().unwrap_or(0)).unwrap_or(usize::MAX)
}

fn items(v: &Value, kind: &str) -> Vec<Value> {
    v[kind].as_array().cloned().unwrap_or_default()
}

fn active(r: &Value) -> &'static str {
    match (r["active"] == true, r["stale"] == true) {
        (true, true) => "in force, stale: the policy file changed since it was set",
        (true, false) => "in force",
        (false, _) => "lapsed",
    }
}

/// A delete button for record `id`, posting to `action`, back to `back`.
fn delete_button(ctx: &Ctx<'_>, action: &str, id: &Value, back: &str, label: &str) -> Markup {
    if ctx.session.role != AdminRole::Editor {
        return html! {};
    }
    post_form(
        &ctx.session,
        action,
        html! {
            input type="hidden" name="id" value=(text(id));
            input type="hidden" name="back" value=(back);
        },
        label,
    )
}

pub(crate) fn override_table(ctx: &Ctx<'_>, v: &Value, back: &str) -> Markup {
    let rows = items(v, "overrides");
    html! {
        @if rows.is_empty() { p { "None." } } @else {
            table {
                thead { tr { th { "Id" } th { "Scope" } th { "Target" } th { "Limits" } th { "Reason" } th { "By" } th { "Expires" } th { "" } th { "" } } }
                tbody { @for r in &rows {
                    tr {
                        td { code { (text(&r["id"])) } }
                        td { (text(&r["scope"])) }
                        td { (text(&r["target"])) }
                        td { (limit_map(&r["limits"])) }
                        td { (text(&r["reason"])) }
                        td { (text(&r["by"])) }
                        td { (time_ms(&r["expires_at_ms"])) }
                        td { (active(r)) }
                        td { (delete_button(ctx, "/admin/ui/override/delete", &r["id"], back, "Delete")) }
                    }
                } }
            }
        }
    }
}

pub(crate) fn block_table(ctx: &Ctx<'_>, v: &Value, back: &str) -> Markup {
    let rows = items(v, "blocks");
    html! {
        @if rows.is_empty() { p { "None." } } @else {
            table {
                thead { tr { th { "Id" } th { "Kind" } th { "Value" } th { "Reason" } th { "By" } th { "Expires" } th { "" } th { "" } } }
                tbody { @for r in &rows {
                    tr {
                        td { code { (text(&r["id"])) } }
                        td { (text(&r["kind"])) }
                        td { (text(&r["value"])) }
                        td { (text(&r["reason"])) }
                        td { (text(&r["by"])) }
                        td { @if r["expires_at_ms"].is_null() { "until deleted" } @else { (time_ms(&r["expires_at_ms"])) } }
                        td { (active(r)) }
                        td { (delete_button(ctx, "/admin/ui/block/delete", &r["id"], back, "Delete")) }
                    }
                } }
            }
        }
    }
}

pub(crate) async fn overrides(ctx: &Ctx<'_>) -> Page {
    let (offset, limit) = ctx.page();
    let answer = ctx
        .api()
        .get(&format!("/admin/overrides?offset={offset}&limit={limit}"))
        .await;
    let back = format!("/admin/ui/overrides?offset={offset}&limit={limit}");
    let export = if ctx.param("export") == "1" {
        Some(ctx.api().get("/admin/overrides/export").await)
    } else {
        None
    };
    let content = html! {
        p.hint { "Set an override from a subject's or an organisation's screen." }
        (answered(&answer, "Overrides", |v| html! {
            (override_table(ctx, v, &back))
            (pager("/admin/ui/overrides?", offset, limit, total(v)))
        }))
        h2 { "Make them lasting" }
        @match &export {
            None => p { a href="/admin/ui/overrides?export=1" { "Export the active overrides as a TOML patch for policies/" }
                " (review it, deploy it, then delete the overrides; the gateway never writes the files)." },
            Some(a) if a.ok() => pre.export { (a.text) },
            Some(a) if a.unavailable() => (super::html::unavailable("Exporting overrides")),
            Some(a) => (super::html::problem(a)),
        }
    };
    Page::new("/overrides", "Overrides", content)
}

pub(crate) async fn blocks(ctx: &Ctx<'_>) -> Page {
    let (offset, limit) = ctx.page();
    let answer = ctx
        .api()
        .get(&format!("/admin/blocks?offset={offset}&limit={limit}"))
        .await;
    let back = format!("/admin/ui/blocks?offset={offset}&limit={limit}");
    let content = html! {
        (answered(&answer, "Blocks", |v| html! {
            (block_table(ctx, v, &back))
            (pager("/admin/ui/blocks?", offset, limit, total(v)))
        }))
        @if ctx.session.role == AdminRole::Editor {
            h2 { "Block" }
            div.form {
                (post_form(&ctx.session, "/admin/ui/block", html! {
                    input type="hidden" name="back" value="/admin/ui/blocks";
                    (select("kind", "Kind", &[("subject", "subject"), ("org", "org"), ("jti", "token id (jti)"), ("key", "virtual key id")]))
                    (field("value", "Value", "", "alice"))
                    (field("reason", "Reason", "", "token leaked in a public repo"))
                    (field("expires_in", "Expires in (empty: until deleted)", "", "24h"))
                }, "Block"))
            }
        }
    };
    Page::new("/blocks", "Blocks", content)
}

pub(crate) async fn keys(ctx: &Ctx<'_>) -> Page {
    let (offset, limit) = ctx.page();
    let answer = ctx
        .api()
        .get(&format!("/admin/keys?offset={offset}&limit={limit}"))
        .await;
    let back = format!("/admin/ui/keys?offset={offset}&limit={limit}");
    let content = html! {
        (answered(&answer, "Virtual keys", |v| html! {
            @let rows = items(v, "keys");
            @if rows.is_empty() { p { "No virtual keys." } } @else {
                table {
                    thead { tr { th { "Id" } th { "Subject" } th { "Org" } th { "Plan" } th.num { "Budget" } th { "Description" } th { "By" } th { "Created" } th { "Expires" } th { "" } th { "" } } }
                    tbody { @for r in &rows {
                        tr {
                            td { code { (text(&r["id"])) } }
                            td { (text(&r["subject"])) }
                            td { (text(&r["org"])) }
                            td { (text(&r["plan"])) }
                            td.num { @if r["budget_micro_usd"].is_null() { "—" } @else { (amount(&r["budget_micro_usd"], "micro_usd")) } }
                            td { (text(&r["description"])) }
                            td { (text(&r["by"])) }
                            td { (time_ms(&r["created_at_ms"])) }
                            td { @if r["expires_at_ms"].is_null() { "never" } @else { (time_ms(&r["expires_at_ms"])) } }
                            td { (active(r)) }
                            td { (delete_button(ctx, "/admin/ui/key/revoke", &r["id"], &back, "Revoke")) }
                        }
                    } }
                }
            }
            (pager("/admin/ui/keys?", offset, limit, total(v)))
        }))
        @if ctx.session.role == AdminRole::Editor {
            h2 { "Create a virtual key" }
            div.form {
                p.hint { "The token is shown once, on the next page; the gateway keeps only its SHA-256." }
                (post_form(&ctx.session, "/admin/ui/key", html! {
                    (field("subject", "Subject", "", "ci-nightly"))
                    (field("org", "Org", "", "acme"))
                    (field("plan", "Plan", "", "team"))
                    (field("budget_usd", "Budget (USD, lifetime)", "", "20.00"))
                    (field("description", "Description", "", "nightly wizard run"))
                    (field("expires_in", "Expires in (empty: never)", "", "30days"))
                }, "Create key"))
            }
        }
    };
    Page::new("/keys", "Virtual keys", content)
}
