//! The admin page's read-only screens: the overview (spend today and this month, top
//! spenders, request / refusal / error counts, spend per day as an SVG bar chart),
//! the loaded policies with the last reload's problems and the dry run, recent requests, and
//! the audit log.
//!
//! Invariants: every number comes from an admin API answer or the metrics registry the
//! gateway serves at `/metrics`; lists are paged by the API (`offset`/`limit` links); a
//! missing endpoint renders as "not available", never as an error page.
//!
//! Not here: subjects and orgs (people.rs), runtime records (records.rs).

use maud::{Markup, html};
use serde_json::Value;

use super::html::{amount, answered, enc, field, pager, text, time_ms, usd};
use super::{Ctx, Page, people};

/// Spenders listed on the overview.
const TOP_SPENDERS: usize = 10;
/// Days of spend the overview's chart shows.
const CHART_DAYS: usize = 30;

pub(crate) async fn overview(ctx: &Ctx<'_>) -> Page {
    let api = ctx.api();
    let top = |window: &str| {
        format!("/admin/spenders?window={window}&scope=subject&offset=0&limit={TOP_SPENDERS}")
    };
    let history = api.get(&format!("/admin/spend?days={CHART_DAYS}")).await;
    let day = api.get(&top("day")).await;
    let month = api.get(&top("month")).await;
    let counts = Counts::read(ctx.admin);
    let total = |key: &'static str| {
        move |v: &Value| {
            html! {
                p.big { (amount(&v[key]["spent_micro_usd"], "micro_usd")) }
                p.hint { (text(&v[key]["requests"])) " settled requests" }
            }
        }
    };
    let content = html! {
        section.cards {
            div.card { h2 { "Spend today" } (answered(&history, "Spend history", total("today"))) }
            div.card { h2 { "Spend this month" } (answered(&history, "Spend history", total("month"))) }
            div.card { h2 { "Requests" } p.big { (counts.requests) } p.hint { "since this replica started" } }
            div.card { h2 { "Refusals" } p.big { (counts.refusals) } p.hint { "4xx answers" } }
            div.card { h2 { "Errors" } p.big { (counts.errors) } p.hint { "5xx answers" } }
        }
        h2 { "Spend per day, last " (CHART_DAYS) " days (UTC)" }
        (answered(&history, "Spend history", chart))
        div.forms {
            div { h2 { "Top spenders today" } (answered(&day, "Spend by subject", spenders)) }
            div { h2 { "Top spenders this month" } (answered(&month, "Spend by subject", spenders)) }
        }
    };
    Page::new("", "Overview", content)
}

fn spenders(v: &Value) -> Markup {
    let entries = v["entries"].as_array().map_or(&[][..], Vec::as_slice);
    html! {
        @if entries.is_empty() { p { "No spend yet." } } @else {
            table {
                thead { tr { th { "Subject" } th.num { "Spent" } } }
                tbody {
                    @for e in entries {
                        tr {
                            td { a href={ "/admin/ui/subjects?subject=" (enc(&text(&e["id"]))) } { (text(&e["id"])) } }
                            td.num { (amount(&e["spent_micro_usd"], "micro_usd")) }
                        }
                    }
                }
            }
            p.hint { (text(&v["total"])) " subjects spent in this window. "
                a href="/admin/ui/subjects" { "Search a subject" } }
        }
    }
}

/// Unix ms of a request's `at` (ms or an RFC 3339 time).
fn at_ms(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| {
        let t = humantime::parse_rfc3339_weak(v.as_str()?).ok()?;
        u64::try_from(t.duration_since(std::time::UNIX_EPOCH).ok()?.as_millis()).ok()
    })
}

/// `GET /admin/spend`'s days as SVG bars (no script, no inline style: the CSP allows neither).
fn chart(v: &Value) -> Markup {
    const W: u64 = 720;
    const H: u64 = 140;
    let days = v["days"].as_array().map_or(&[][..], Vec::as_slice);
    if days.is_empty() {
        return html! { p { "No spend recorded yet." } };
    }
    let spent: Vec<u64> = days
        .iter()
        .map(|d| d["spent_micro_usd"].as_u64().unwrap_or(0))
        .collect();
    let max = spent.iter().copied().max().unwrap_or(0).max(1);
    let n = u64::try_from(days.len()).unwrap_or(1).max(1);
    let bar = (W / n).max(2);
    html! {
        svg.chart viewBox={ "0 0 " (W) " " (H + 20) } role="img" aria-label="spend per day" {
            @for (i, (d, s)) in days.iter().zip(&spent).enumerate() {
                @let h = s * H / max;
                @let x = u64::try_from(i).unwrap_or(0) * bar;
                rect.bar x=(x + 1) y=(H - h) width=(bar.saturating_sub(2).max(1)) height=(h) {
                    title { (text(&d["day"])) ": " (usd(*s)) ", " (text(&d["requests"])) " requests" }
                }
            }
            line.axis x1="0" y1=(H) x2=(W) y2=(H) {}
            text x="0" y=(H + 16) { (text(&days[0]["day"])) }
            text x=(W - 70) y=(H + 16) { (text(&days[days.len() - 1]["day"])) }
            text x=(W / 2 - 50) y="12" { "peak " (usd(max)) " a day" }
        }
    }
}

/// `requests_total` of this replica's registry by status class.
#[derive(Debug, Default)]
struct Counts {
    requests: u64,
    refusals: u64,
    errors: u64,
}

impl Counts {
    fn read(admin: &crate::Admin) -> Self {
        let mut c = Self::default();
        for line in admin.metrics.render().lines() {
            let Some(rest) = line.strip_prefix("llm_gateway_requests_total{") else {
                continue;
            };
            let status = rest
                .split("status=\"")
                .nth(1)
                .and_then(|s| s.chars().next());
            let n = rest
                .rsplit(' ')
                .next()
                .and_then(|n| n.parse::<f64>().ok())
                .unwrap_or(0.0) as u64;
            c.requests += n;
            match status {
                Some('4') => c.refusals += n,
                Some('5') => c.errors += n,
                _ => {}
            }
        }
        c
    }
}

pub(crate) async fn policies(ctx: &Ctx<'_>) -> Page {
    let answer = ctx.api().get("/admin/policies").await;
    let subject = ctx.param("subject");
    let dry_run = if subject.is_empty() {
        None
    } else {
        let path = format!(
            "/admin/limits/{}?org={}&plan={}",
            enc(&subject),
            enc(&ctx.param("org")),
            enc(&ctx.param("plan"))
        );
        Some(ctx.api().get(&path).await)
    };
    let content = html! {
        (answered(&answer, "The policy list", |v| html! {
            @if v["reload"]["ok"] == false {
                div.problem role="alert" {
                    p { "The last policy reload was refused; the policies below are still in force." }
                    ul { @for p in v["reload"]["problems"].as_array().map_or(&[][..], Vec::as_slice) { li { (text(p)) } } }
                }
            }
            table {
                thead { tr { th { "Policy" } th { "File" } th { "Match" } th { "Limits" } th { "Org limits" } th { "Models" } } }
                tbody {
                    @for p in v["policies"].as_array().map_or(&[][..], Vec::as_slice) {
                        tr {
                            td { (text(&p["name"])) }
                            td { code { (text(&p["file"])) ":" (text(&p["line"])) } }
                            td { (matcher(p)) }
                            td { (people::limit_map(&p["limits"])) }
                            td { (people::limit_map(&p["org_limits"])) }
                            td { (list(&p["models"])) }
                        }
                    }
                }
            }
        }))
        h2 { "Dry run: which policy and limits apply to a principal" }
        form.search method="get" action="/admin/ui/policies" {
            (field("subject", "Subject", &subject, "alice"))
            (field("org", "Org", &ctx.param("org"), "acme"))
            (field("plan", "Plan", &ctx.param("plan"), "team"))
            button type="submit" { "Dry run" }
        }
        @if let Some(a) = &dry_run { (answered(a, "The dry run", people::effective)) }
    };
    Page::new("/policies", "Policies", content)
}

/// A policy's match as `subject = …, org = …` (the default policy says so).
fn matcher(p: &Value) -> String {
    if p["default"] == true {
        return "everyone else (default)".to_owned();
    }
    let m = &p["match"];
    let parts: Vec<String> = ["subject", "org", "plan"]
        .iter()
        .filter(|k| !m[**k].is_null())
        .map(|k| format!("{k} = {}", list(&m[*k])))
        .collect();
    if parts.is_empty() {
        text(m)
    } else {
        parts.join(", ")
    }
}

/// A string or a list of strings as one line.
fn list(v: &Value) -> String {
    match v.as_array() {
        Some(items) if items.is_empty() => "any".to_owned(),
        Some(items) => items.iter().map(text).collect::<Vec<_>>().join(", "),
        None if v.is_null() => "any".to_owned(),
        None => text(v),
    }
}

pub(crate) async fn requests(ctx: &Ctx<'_>) -> Page {
    let (offset, limit) = ctx.page();
    let subject = ctx.param("subject");
    let path = format!(
        "/admin/requests?offset={offset}&limit={limit}&subject={}",
        enc(&subject)
    );
    let answer = ctx.api().get(&path).await;
    let content = html! {
        form.search method="get" action="/admin/ui/requests" {
            (field("subject", "Subject", &subject, "all subjects"))
            button type="submit" { "Filter" }
        }
        (answered(&answer, "The recent-requests log", |v| html! {
            table {
                thead { tr { th { "At" } th { "Subject" } th { "Org" } th { "Model" } th { "API" } th { "Upstream" } th.num { "Status" }
                    th.num { "In" } th.num { "Out" } th.num { "Cost" } th.num { "ms" } th { "Session" } th { "Request id" } } }
                tbody {
                    @for r in v["requests"].as_array().map_or(&[][..], Vec::as_slice) {
                        tr {
                            td { (at_ms(&r["at"]).map_or_else(|| text(&r["at"]), |ms| time_ms(&Value::from(ms)))) }
                            td { a href={ "/admin/ui/subjects?subject=" (enc(&text(&r["subject"]))) } { (text(&r["subject"])) } }
                            td { (text(&r["org"])) }
                            td { (text(&r["model"])) }
                            td { (text(&r["api"])) }
                            td { (text(&r["upstream"])) }
                            td.num { (text(&r["status"])) }
                            td.num { (text(&r["input_tokens"])) }
                            td.num { (text(&r["output_tokens"])) }
                            td.num { (amount(&r["cost_micro_usd"], "micro_usd")) }
                            td.num { (text(&r["duration_ms"])) }
                            td { @if let Some(sid) = r["session"].as_str() {
                                a href={ "/admin/ui/sessions?id=" (enc(sid)) } { (sid) }
                            } @else { "—" } }
                            td { code { (text(&r["request_id"])) } }
                        }
                    }
                }
            }
            (pager(&format!("/admin/ui/requests?subject={}&", enc(&subject)), offset, limit,
                usize::try_from(v["total"].as_u64().unwrap_or(0)).unwrap_or(usize::MAX)))
        }))
    };
    Page::new("/requests", "Recent requests", content)
}

/// One agent session's conversation, as `llm-gateway transcripts show` renders it (redacted,
/// as recorded).
pub(crate) async fn session(ctx: &Ctx<'_>) -> Page {
    let id = ctx.param("id");
    let search = html! {
        form.search method="get" action="/admin/ui/sessions" {
            (field("id", "Session id", &id, "x-claude-code-session-id"))
            button type="submit" { "Show" }
        }
        p.hint { "Sessions are linked from the recent requests; their transcripts are redacted as recorded." }
    };
    if id.is_empty() {
        return Page::new("/sessions", "Session transcript", search);
    }
    let answer = ctx
        .api()
        .get(&format!("/admin/sessions/{}?format=text", enc(&id)))
        .await;
    let content = html! {
        (search)
        @if answer.ok() { pre.transcript { (answer.text) } }
        @else if answer.unavailable() { (super::html::unavailable("Session transcripts")) }
        @else { (super::html::problem(&answer)) }
    };
    Page::new("/sessions", format!("Session {id}"), content)
}

pub(crate) async fn audit(ctx: &Ctx<'_>) -> Page {
    let (offset, limit) = ctx.page();
    let answer = ctx
        .api()
        .get(&format!("/admin/audit?offset={offset}&limit={limit}"))
        .await;
    let content = html! {
        p.hint { "Every change and every refused attempt, newest first; the file is hash-chained." }
        (answered(&answer, "The audit log", |v| html! {
            table.audit {
                thead { tr { th { "When" } th { "Who" } th { "What" } th { "Outcome" } th { "Reason" } th { "Before → after" } } }
                tbody {
                    @for e in v["entries"].as_array().map_or(&[][..], Vec::as_slice) {
                        tr.refused[e["ok"] == false] {
                            td { (time_ms(&e["at_ms"])) }
                            td { (text(&e["who"])) }
                            td { code { (text(&e["what"])) } }
                            td { (text(&e["outcome"])) }
                            td { (text(&e["reason"])) }
                            td {
                                @if !e["before"].is_null() || !e["after"].is_null() {
                                    details { summary { "details" }
                                        pre { "before: " (text(&e["before"])) "\nafter: " (text(&e["after"])) } }
                                }
                            }
                        }
                    }
                }
            }
            (pager("/admin/ui/audit?", offset, limit,
                usize::try_from(v["total"].as_u64().unwrap_or(0)).unwrap_or(usize::MAX)))
        }))
    };
    Page::new("/audit", "Audit log", content)
}
