//! Rendering a session's [`Turn`]s for operators: readable text ([`text`]) or one JSON
//! document ([`json`]).
//!
//! Text shows each turn's header (time, model, status, stop reason, tokens, cost, latency),
//! then only what is new since the same agent's previous turn (agents of one session
//! interleave): messages after the common prefix with that turn's request, minus the
//! resent copy of its response; the system prompt and tool names when they first appear or
//! change; then the response. Long texts are clipped (named limits below).

mod block;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::read::Turn;
use crate::record::MessageRefs;
use crate::{BlockHash, Mode};

/// Most characters of the system prompt shown.
const SYSTEM_PREVIEW_CHARS: usize = 300;

/// Totals over a session's turns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Totals {
    /// Turns (records).
    pub turns: u64,
    /// All input tokens: uncached, cache reads and cache writes.
    pub input_tokens: u64,
    /// Input tokens read from the cache.
    pub cache_read_tokens: u64,
    /// Input tokens written to the cache (5 minutes and 1 hour).
    pub cache_write_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Cost, micro-USD.
    pub cost_micro_usd: u64,
    /// Turns whose status was not 2xx.
    pub errors: u64,
}

/// Sums the turns' usage and cost.
pub fn totals(turns: &[Turn]) -> Totals {
    let mut totals = Totals::default();
    for turn in turns {
        let meta = &turn.record.meta;
        let usage = &meta.usage;
        totals.turns += 1;
        totals.cache_read_tokens += usage.cache_read;
        totals.cache_write_tokens += usage.cache_write_5m + usage.cache_write_1h;
        totals.input_tokens += all_input(turn);
        totals.output_tokens += usage.output;
        totals.cost_micro_usd += meta.cost_micro_usd;
        totals.errors += u64::from(!(200..300).contains(&meta.status));
    }
    totals
}

fn all_input(turn: &Turn) -> u64 {
    turn.record.meta.usage.prompt_tokens()
}

/// `$0.004213` from micro-USD.
fn usd(micro: u64) -> String {
    format!("${}", gateway_core::MicroUsd(micro))
}

/// The session as readable text, one header line per turn and a summary line at the end.
pub fn text(session: &str, turns: &[Turn]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "session {session}");
    let mut previous: HashMap<Option<&str>, &Turn> = HashMap::new();
    for (n, turn) in turns.iter().enumerate() {
        let _ = writeln!(out, "{}", header(n + 1, turn));
        let before = previous.insert(turn.record.meta.agent.as_deref(), turn);
        if turn.record.mode == Mode::Metadata {
            out.push_str("  (metadata only)\n");
            continue;
        }
        new_content(&mut out, turn, before);
        if turn.record.response.is_some() {
            out.push_str("  [response]\n");
            for value in &turn.response {
                block::lines(&mut out, value);
            }
        }
    }
    let t = totals(turns);
    let _ = writeln!(
        out,
        "══ {} turns · in {} (cache read {}, cache write {}) / out {} tokens · {} total · {} errors",
        t.turns,
        t.input_tokens,
        t.cache_read_tokens,
        t.cache_write_tokens,
        t.output_tokens,
        usd(t.cost_micro_usd),
        t.errors
    );
    out
}

/// `── turn 3 · 2026-11-26T12:00:01.234Z · claude-sonnet-4-5 · 200 · tool_use · in 1200
/// (cache read 900) / out 85 tokens · $0.004213 · 1.23 s`, plus agent and flags.
fn header(n: usize, turn: &Turn) -> String {
    let record = &turn.record;
    let meta = &record.meta;
    let mut parts = vec![
        format!("── turn {n}"),
        meta.started_at.clone(),
        meta.model.clone(),
        meta.status.to_string(),
    ];
    parts.extend(record.stop_reason.clone());
    let usage = &meta.usage;
    let mut cache = Vec::new();
    if usage.cache_read > 0 {
        cache.push(format!("cache read {}", usage.cache_read));
    }
    let writes = usage.cache_write_5m + usage.cache_write_1h;
    if writes > 0 {
        cache.push(format!("cache write {writes}"));
    }
    let cache = if cache.is_empty() {
        String::new()
    } else {
        format!(" ({})", cache.join(", "))
    };
    let estimated = if meta.usage_estimated { "~" } else { "" };
    parts.push(format!(
        "in {estimated}{}{cache} / out {} tokens",
        all_input(turn),
        usage.output
    ));
    parts.push(usd(meta.cost_micro_usd));
    parts.push(format!("{:.2} s", meta.latency_ms as f64 / 1000.0));
    parts.extend(meta.agent.as_ref().map(|a| format!("agent {a}")));
    if !meta.complete {
        parts.push("incomplete".to_owned());
    }
    if record.response_truncated {
        parts.push("response truncated".to_owned());
    }
    parts.join(" · ")
}

/// System, tools and messages new since `before` (the same agent's previous turn).
fn new_content(out: &mut String, turn: &Turn, before: Option<&Turn>) {
    let Some(request) = &turn.record.request else {
        out.push_str("  (request not recorded)\n");
        return;
    };
    let before_request = before.and_then(|b| b.record.request.as_ref());
    if before_request.is_none_or(|b| b.system != request.system) && !turn.system.is_empty() {
        system(out, &turn.system);
    }
    if before_request.is_none_or(|b| b.tools != request.tools) && !turn.tools.is_empty() {
        let names: Vec<&str> = turn.tools.iter().map(block::tool_name).collect();
        let _ = writeln!(out, "  tools ({}): {}", names.len(), names.join(", "));
    }
    let first_new = match (before, before_request) {
        (Some(before), Some(before_request)) => {
            first_new_message(&request.messages, before_request, before).unwrap_or_else(|| {
                let _ = writeln!(
                    out,
                    "  (history differs from the previous turn: all {} messages shown)",
                    request.messages.len()
                );
                0
            })
        }
        _ => 0,
    };
    for (role, content) in turn.messages.iter().skip(first_new) {
        let _ = writeln!(out, "  [{role}]");
        for value in content {
            block::lines(out, value);
        }
    }
}

/// The index of the first message not already shown: past the common prefix with the
/// previous request and past the resent copy of the previous response. `None` when the
/// history was rewritten (compaction), so everything is shown again.
fn first_new_message(
    messages: &[MessageRefs],
    before_request: &crate::record::RequestRefs,
    before: &Turn,
) -> Option<usize> {
    let common = messages
        .iter()
        .zip(&before_request.messages)
        .take_while(|(a, b)| a == b)
        .count();
    if common < before_request.messages.len() {
        return None;
    }
    let answered: HashSet<&BlockHash> = before
        .record
        .response
        .iter()
        .flat_map(|r| r.content.iter())
        .collect();
    let echoed = messages
        .get(common..)
        .unwrap_or_default()
        .iter()
        .take_while(|m| !m.content.is_empty() && m.content.iter().all(|h| answered.contains(h)))
        .count();
    Some(common + echoed)
}

fn system(out: &mut String, blocks: &[Value]) {
    let text: Vec<&str> = blocks
        .iter()
        .filter_map(|b| b.get("text").and_then(Value::as_str))
        .collect();
    let text = text.join("\n");
    let chars = text.chars().count();
    let preview = block::one_line(&text, SYSTEM_PREVIEW_CHARS);
    let _ = writeln!(
        out,
        "  system ({} blocks, {chars} chars): {preview}",
        blocks.len()
    );
}

/// The session as one JSON document: `{"session", "turns": [record fields with "request"
/// and "response" resolved], "totals"}`.
pub fn json(session: &str, turns: &[Turn]) -> Value {
    let turns_json: Vec<Value> = turns.iter().map(turn_json).collect();
    json!({
        "session": session,
        "turns": turns_json,
        "totals": serde_json::to_value(totals(turns)).unwrap_or_default(),
    })
}

fn turn_json(turn: &Turn) -> Value {
    let mut value = serde_json::to_value(&turn.record).unwrap_or_default();
    if let Value::Object(map) = &mut value {
        if turn.record.request.is_some() {
            let messages: Vec<Value> = turn
                .messages
                .iter()
                .map(|(role, content)| json!({"role": role, "content": content}))
                .collect();
            map.insert(
                "request".to_owned(),
                json!({"system": turn.system, "tools": turn.tools, "messages": messages}),
            );
        }
        if turn.record.response.is_some() {
            map.insert("response".to_owned(), Value::Array(turn.response.clone()));
        }
    }
    value
}
