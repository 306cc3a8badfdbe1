//! The Messages body as Bedrock takes it: `model` and `stream` out (they are in the path),
//! `anthropic_version: "bedrock-2023-05-31"` in, the allowed `anthropic-beta` values as an
//! `anthropic_beta` array, every top-level field Bedrock refuses removed (and
//! `output_config.format`). Byte-faithful like the meter's edits: removed members are cut
//! out and the two new ones inserted first; every kept byte stays.

use gateway_core::json::{Edits, Object, after_open_brace, span};
use http::HeaderMap;

/// What Bedrock's `InvokeModel` wants in `anthropic_version`.
pub(crate) const BEDROCK_ANTHROPIC_VERSION: &str = "bedrock-2023-05-31";

/// Top-level fields Bedrock takes; everything else is removed.
const KEPT: &[&str] = &[
    "messages",
    "system",
    "max_tokens",
    "stop_sequences",
    "temperature",
    "top_p",
    "top_k",
    "tools",
    "tool_choice",
    "thinking",
    "metadata",
    "output_config",
];

/// Removed without counting: they move to the path or are replaced by ours.
const MOVED: &[&str] = &["model", "stream", "anthropic_version", "anthropic_beta"];

/// First-party fields named in the stripped-parameter metric; others count as `other`.
const NAMED_STRIPPED: &[&str] = &[
    "service_tier",
    "container",
    "mcp_servers",
    "context_management",
    "inference_geo",
    "stream_options",
];

/// A body ready for Bedrock.
#[derive(Debug)]
pub(crate) struct Transformed {
    pub(crate) body: Vec<u8>,
    /// The client's `model`.
    pub(crate) model: Option<String>,
    /// `"stream": true`.
    pub(crate) stream: bool,
    /// Metric labels of what was removed (bounded: [`NAMED_STRIPPED`], `output_config.format`,
    /// `anthropic_beta`, `other`), one per removal.
    pub(crate) stripped: Vec<&'static str>,
}

/// The body could not be read as a JSON object (the metering stage normally refuses such
/// bodies first).
#[derive(Debug, thiserror::Error)]
#[error("the request body is not a JSON object: {0}")]
pub(crate) struct NotAnObject(#[source] pub(crate) serde_json::Error);

/// Transforms `body` for Bedrock, with the `anthropic-beta` values of `headers` that are in
/// `betas`.
pub(crate) fn transform(
    body: &[u8],
    headers: &HeaderMap,
    betas: &[String],
) -> Result<Transformed, NotAnObject> {
    let obj = Object::parse(body).map_err(NotAnObject)?;
    let model = obj
        .last("model")
        .and_then(|raw| serde_json::from_str::<String>(raw.get()).ok());
    let stream = obj
        .last("stream")
        .is_some_and(|raw| raw.get().trim() == "true");
    let mut stripped = Vec::new();
    let mut edits = Edits::default();
    let whole = 0..body.len();
    let kept = remove(body, whole.clone(), &obj, &mut edits, |key| {
        if KEPT.contains(&key) || MOVED.contains(&key) {
            return KEPT.contains(&key);
        }
        stripped.push(
            NAMED_STRIPPED
                .iter()
                .find(|n| **n == key)
                .copied()
                .unwrap_or("other"),
        );
        false
    });
    // `output_config.format` (structured outputs) is first-party only.
    for raw in obj.all("output_config") {
        if let (Ok(inner), Some(at)) = (Object::parse(raw.get().as_bytes()), span(body, raw)) {
            remove(body, at, &inner, &mut edits, |key| {
                let keep = key != "format";
                if !keep {
                    stripped.push("output_config.format");
                }
                keep
            });
        }
    }
    let (passed, dropped) = beta_values(headers, betas);
    stripped.extend(std::iter::repeat_n("anthropic_beta", dropped));
    let mut first = format!("\"anthropic_version\":\"{BEDROCK_ANTHROPIC_VERSION}\"");
    if !passed.is_empty() {
        let list = serde_json::to_string(&passed).unwrap_or_else(|_| "[]".to_owned());
        first.push_str(&format!(",\"anthropic_beta\":{list}"));
    }
    let body = insert_first(body, edits, kept, first)?;
    Ok(Transformed {
        body,
        model,
        stream,
        stripped,
    })
}

/// Applies `edits` to `body` with the members `first` (JSON text) inserted right after the
/// opening brace, followed by a comma when `kept` other members remain.
pub(crate) fn insert_first(
    body: &[u8],
    mut edits: Edits,
    kept: usize,
    mut first: String,
) -> Result<Vec<u8>, NotAnObject> {
    if kept > 0 {
        first.push(',');
    }
    let at = after_open_brace(body, 0..body.len())
        .ok_or_else(|| NotAnObject(serde::de::Error::custom("no opening brace")))?;
    edits.insert(at, first);
    edits
        .apply(body)
        .ok_or_else(|| NotAnObject(serde::de::Error::custom("overlapping edits")))
}

/// Cuts every member of `obj` (the object at `range` of `body`) for which `keep` is false out
/// of the body; returns how many members are kept.
pub(crate) fn remove(
    body: &[u8],
    range: std::ops::Range<usize>,
    obj: &Object<'_>,
    edits: &mut Edits,
    mut keep: impl FnMut(&str) -> bool,
) -> usize {
    let Some(open) = after_open_brace(body, range) else {
        return obj.members.len();
    };
    // Member i spans from the end of member i-1's value (or the brace) to its value's end,
    // so cutting that span removes its comma, key and value together.
    let mut prev_end = open;
    let mut kept = 0;
    let mut first_dropped = false;
    for (i, m) in obj.members.iter().enumerate() {
        let Some(value) = span(body, m.value) else {
            return obj.members.len();
        };
        if keep(&m.key) {
            if kept == 0 && first_dropped {
                // The first kept member now leads: its comma goes.
                let comma = body
                    .get(prev_end..value.start)
                    .and_then(|s| s.iter().position(|b| *b == b','))
                    .map(|p| prev_end + p + 1);
                if let Some(end) = comma {
                    edits.replace(prev_end..end, Vec::new());
                }
            }
            kept += 1;
        } else {
            edits.replace(prev_end..value.end, Vec::new());
            if i == 0 || kept == 0 {
                first_dropped = true;
            }
        }
        prev_end = value.end;
    }
    kept
}

/// The `anthropic-beta` values (comma-separated, any number of headers) that are in `allowed`,
/// deduplicated in order, and how many others were dropped.
fn beta_values(headers: &HeaderMap, allowed: &[String]) -> (Vec<String>, usize) {
    let mut passed: Vec<String> = Vec::new();
    let mut dropped = 0;
    for value in headers.get_all("anthropic-beta") {
        for beta in value.to_str().unwrap_or_default().split(',') {
            let beta = beta.trim();
            if beta.is_empty() {
                continue;
            }
            if allowed.iter().any(|a| a == beta) {
                if !passed.iter().any(|p| p == beta) {
                    passed.push(beta.to_owned());
                }
            } else {
                dropped += 1;
            }
        }
    }
    (passed, dropped)
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn run(body: &str, betas: &[&str]) -> Transformed {
        let mut headers = HeaderMap::new();
        for b in betas {
            headers.append("anthropic-beta", HeaderValue::from_str(b).unwrap());
        }
        let allowed = vec!["interleaved-thinking-2025-05-14".to_owned()];
        transform(body.as_bytes(), &headers, &allowed).unwrap()
    }

    fn text(t: &Transformed) -> &str {
        std::str::from_utf8(&t.body).unwrap()
    }

    #[test]
    fn model_and_stream_move_out_and_the_version_comes_in_kept_bytes_unchanged() {
        let t = run(
            r#"{"model":"claude-sonnet-4-5", "max_tokens" : 10,"stream":true,"messages":[{"role":"user","content":"h\u00e9"}]}"#,
            &[],
        );
        assert_eq!(
            text(&t),
            r#"{"anthropic_version":"bedrock-2023-05-31", "max_tokens" : 10,"messages":[{"role":"user","content":"h\u00e9"}]}"#
        );
        assert_eq!(t.model.as_deref(), Some("claude-sonnet-4-5"));
        assert!(t.stream);
        assert!(t.stripped.is_empty());
        let v: serde_json::Value = serde_json::from_slice(&t.body).unwrap();
        assert!(v.get("model").is_none());
    }

    #[test]
    fn first_party_fields_and_betas_are_stripped_and_counted() {
        let t = run(
            r#"{ "service_tier":"auto","messages":[],"container":"c","output_config":{"format":{"type":"json"},"effort":"high"},"zzz":1 }"#,
            &[
                "claude-code-20250219,interleaved-thinking-2025-05-14",
                "oauth-2025-04-20",
            ],
        );
        assert_eq!(
            text(&t),
            r#"{"anthropic_version":"bedrock-2023-05-31","anthropic_beta":["interleaved-thinking-2025-05-14"],"messages":[],"output_config":{"effort":"high"} }"#
        );
        let mut s = t.stripped.clone();
        s.sort_unstable();
        assert_eq!(
            s,
            [
                "anthropic_beta",
                "anthropic_beta",
                "container",
                "other",
                "output_config.format",
                "service_tier"
            ]
        );
    }

    #[test]
    fn an_object_of_only_moved_fields_gets_just_the_version() {
        let t = run(r#"{"model":"m","stream":false}"#, &[]);
        assert_eq!(text(&t), r#"{"anthropic_version":"bedrock-2023-05-31"}"#);
        assert!(!t.stream);
    }
}
