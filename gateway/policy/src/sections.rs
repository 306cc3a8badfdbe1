//! The per-policy `[policy.redaction]` and `[policy.transcripts]` sections: their values
//! ([`RedactionSettings`], [`TranscriptSettings`]) and their readers, which record every
//! problem with its line and key path like the rest of the file.
//!
//! Extra rule patterns are compiled here with the same syntax the redaction engine uses
//! (`gateway-redact`: bytes mode, Unicode off), so a pattern that would not compile is a
//! policy problem at load (and in `check-policies`), never a failure on the request path.

use toml::de::DeValue;

use crate::{
    fields::{self, Value},
    problems::FileProblems,
};

/// Keys of `[policy.redaction]`.
const REDACTION_KEYS: &[&str] = &["enabled", "allow", "restore", "rules"];
/// Keys of one `[[policy.redaction.rules]]` entry.
const RULE_KEYS: &[&str] = &["name", "anchors", "pattern"];
/// Keys of `[policy.transcripts]`.
const TRANSCRIPT_KEYS: &[&str] = &["mode", "sample"];
/// Shortest anchor the engine's prefilter accepts, in ASCII bytes.
use gateway_core::REDACTION_ANCHOR_MIN_BYTES as ANCHOR_MIN_BYTES;

/// How a policy's requests are scanned for secrets (`[policy.redaction]`). The gateway-wide
/// `[redaction] enabled` switch still decides first.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RedactionSettings {
    /// `false`: this policy's requests are forwarded unscanned.
    pub enabled: bool,
    /// Exact values never redacted (shared sandbox keys, documented test credentials).
    pub allow: Vec<String>,
    /// Detection rules on top of the built-in set; findings count under rule `custom`.
    pub rules: Vec<RedactionRule>,
    /// Put the original values back where the model echoes this request's placeholders.
    pub restore: bool,
}

impl Default for RedactionSettings {
    /// Scanned with the built-in rules, nothing allowed, no restore.
    fn default() -> Self {
        Self {
            enabled: true,
            allow: Vec::new(),
            rules: Vec::new(),
            restore: false,
        }
    }
}

impl RedactionSettings {
    /// Whether the engine needs a configuration of its own (extra rules or an allowlist);
    /// otherwise the gateway's default redactor serves this policy.
    pub fn customises_engine(&self) -> bool {
        !self.allow.is_empty() || !self.rules.is_empty()
    }
}

/// One extra detection rule (`[[policy.redaction.rules]]`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RedactionRule {
    /// For humans (logs of `check-policies`); findings are counted under `custom`.
    pub name: String,
    /// Literal strings (≥ 3 ASCII bytes, case-insensitive), one of which occurs in every match.
    pub anchors: Vec<String>,
    /// Bytes-mode regex (Unicode off) whose whole match is the secret. Compiled (and refused
    /// if it does not compile or matches the empty string) by the redaction stage, which
    /// prepares every policy's engine before a set goes live: one regex configuration, the
    /// engine's own.
    pub pattern: String,
    /// The 1-based line of `pattern` in its file, where an engine refusal is reported.
    pub pattern_line: usize,
}

/// What is recorded of this policy's requests (`[policy.transcripts]`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TranscriptSettings {
    /// How much of each exchange is kept.
    pub mode: TranscriptMode,
    /// Share of sessions recorded, `0 < x ≤ 1`, chosen deterministically by session id.
    pub sample: f64,
}

impl Default for TranscriptSettings {
    /// Everything, every session.
    fn default() -> Self {
        Self {
            mode: TranscriptMode::Full,
            sample: 1.0,
        }
    }
}

/// How much of an exchange a transcript keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TranscriptMode {
    /// Request and response content (as forwarded: redacted) plus metadata.
    Full,
    /// Metadata only (model, usage, timing, redaction counts), no content.
    Metadata,
    /// Nothing is recorded.
    Off,
}

impl TranscriptMode {
    /// The value as written in a policy file (`full`, `metadata`, `off`).
    pub fn as_str(self) -> &'static str {
        match self {
            TranscriptMode::Full => "full",
            TranscriptMode::Metadata => "metadata",
            TranscriptMode::Off => "off",
        }
    }
}

fn check_anchor(anchor: &str) -> Result<(), String> {
    if anchor.len() < ANCHOR_MIN_BYTES || !anchor.is_ascii() {
        return Err(format!(
            "an anchor must be at least {ANCHOR_MIN_BYTES} ASCII characters"
        ));
    }
    Ok(())
}

fn check_allowed(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("must not be empty".to_owned());
    }
    Ok(())
}

/// `[policy.redaction]`; problems recorded in `out`, defaults for what is missing or bad.
pub(crate) fn redaction(
    out: &mut FileProblems<'_>,
    path: &str,
    v: &Value<'_>,
) -> RedactionSettings {
    let mut s = RedactionSettings::default();
    let Some(table) = fields::table(out, path, v, "expected a table, `[policy.redaction]`") else {
        return s;
    };
    for (key, value) in table {
        let k = key.get_ref().as_ref();
        let kp = format!("{path}.{k}");
        match k {
            "enabled" => s.enabled = fields::boolean(out, &kp, value).unwrap_or(true),
            "restore" => s.restore = fields::boolean(out, &kp, value).unwrap_or_default(),
            "allow" => {
                s.allow = fields::strings(out, &kp, value, check_allowed).unwrap_or_default();
            }
            "rules" => s.rules = rules(out, &kp, value),
            _ => fields::unknown(out, &kp, key, REDACTION_KEYS),
        }
    }
    s
}

/// `[[policy.redaction.rules]]`: the rules that were read without problems.
fn rules(out: &mut FileProblems<'_>, path: &str, v: &Value<'_>) -> Vec<RedactionRule> {
    let DeValue::Array(items) = v.get_ref() else {
        let message = "write each rule as an array table, `[[policy.redaction.rules]]`";
        out.at(&v.span(), path, message);
        return Vec::new();
    };
    let mut rules = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let rp = format!("{path}[{i}]");
        if let Some(rule) = rule(out, &rp, item) {
            rules.push(rule);
        }
    }
    rules
}

fn rule(out: &mut FileProblems<'_>, path: &str, item: &Value<'_>) -> Option<RedactionRule> {
    let table = fields::table(
        out,
        path,
        item,
        "expected a table with name, anchors and pattern",
    )?;
    let before = out.problems.len();
    let (mut name, mut anchors, mut pattern) = (None, None, None);
    for (key, value) in table {
        let k = key.get_ref().as_ref();
        let kp = format!("{path}.{k}");
        match k {
            "name" => {
                name = fields::string(out, &kp, value).and_then(|n| {
                    if n.trim().is_empty() || n.chars().any(char::is_control) {
                        let message = "must be a non-empty name without control characters";
                        out.at(&value.span(), &kp, message);
                        None
                    } else {
                        Some(n)
                    }
                });
            }
            "anchors" => {
                anchors = fields::strings(out, &kp, value, check_anchor);
                if anchors.as_ref().is_some_and(Vec::is_empty) {
                    let message = "needs at least one anchor: a literal found in every match, \
                                   which keeps the scan fast";
                    out.at(&value.span(), &kp, message);
                    anchors = None;
                }
            }
            "pattern" => {
                let line = out.line(&value.span());
                pattern = fields::string(out, &kp, value).map(|p| (p, line));
            }
            _ => fields::unknown(out, &kp, key, RULE_KEYS),
        }
    }
    for what in RULE_KEYS {
        if !table.iter().any(|(k, _)| k.get_ref() == *what) {
            let message = format!("missing; every rule needs {}", RULE_KEYS.join(", "));
            out.at(&item.span(), &format!("{path}.{what}"), message);
        }
    }
    if out.problems.len() != before {
        return None;
    }
    let (pattern, pattern_line) = pattern?;
    Some(RedactionRule {
        name: name?,
        anchors: anchors?,
        pattern,
        pattern_line,
    })
}

/// `[policy.transcripts]`; problems recorded in `out`, defaults for what is missing or bad.
pub(crate) fn transcripts(
    out: &mut FileProblems<'_>,
    path: &str,
    v: &Value<'_>,
) -> TranscriptSettings {
    let mut s = TranscriptSettings::default();
    let Some(table) = fields::table(out, path, v, "expected a table, `[policy.transcripts]`")
    else {
        return s;
    };
    for (key, value) in table {
        let k = key.get_ref().as_ref();
        let kp = format!("{path}.{k}");
        match k {
            "mode" => {
                if let Some(mode) = fields::string(out, &kp, value) {
                    match mode.as_str() {
                        "full" => s.mode = TranscriptMode::Full,
                        "metadata" => s.mode = TranscriptMode::Metadata,
                        "off" => s.mode = TranscriptMode::Off,
                        other => {
                            let message = format!(
                                "unknown value `{other}`; expected \"full\", \"metadata\" or \"off\""
                            );
                            out.at(&value.span(), &kp, message);
                        }
                    }
                }
            }
            "sample" => {
                let message = "must be greater than 0 and at most 1 (the share of sessions \
                               recorded; use mode = \"off\" to record none)";
                s.sample = fields::fraction(out, &kp, value, message).unwrap_or(1.0);
            }
            _ => fields::unknown(out, &kp, key, TRANSCRIPT_KEYS),
        }
    }
    s
}

#[cfg(test)]
mod tests;
