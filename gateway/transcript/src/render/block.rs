//! One block as text lines: text as text, tool calls as `→ tool NAME {input}`, tool results
//! as `← result (id): …`, media as `[image]`, anything else as `[type] {json}`; clipped.

use std::fmt::Write as _;

use serde_json::Value;

/// Most characters of a text block shown.
const TEXT_MAX_CHARS: usize = 2000;
/// Most characters of a tool result shown.
const RESULT_MAX_CHARS: usize = 500;
/// Most characters of a tool input, a thinking block or an unknown block shown.
const DETAIL_MAX_CHARS: usize = 300;
/// Indentation of block lines under their role.
const INDENT: &str = "    ";

/// Appends `block`'s lines to `out`.
pub(super) fn lines(out: &mut String, block: &Value) {
    let kind = block.get("type").and_then(Value::as_str).unwrap_or("");
    let str_field = |name: &str| block.get(name).and_then(Value::as_str).unwrap_or("");
    match kind {
        "text" | "input_text" | "output_text" => {
            indented(out, &clip(str_field("text"), TEXT_MAX_CHARS))
        }
        "tool_use" | "server_tool_use" => {
            let input = match block.get("input") {
                Some(input) => input.to_string(),
                None => str_field("input_raw").to_owned(),
            };
            tool_call(out, str_field("name"), &input);
        }
        "tool_call" | "function_call" => {
            tool_call(out, str_field("name"), &compact(block.get("arguments")))
        }
        "custom_tool_call" => tool_call(out, str_field("name"), &compact(block.get("input"))),
        "tool_result" | "function_call_output" | "custom_tool_call_output" => {
            let id = ["tool_use_id", "tool_call_id", "call_id"]
                .iter()
                .find_map(|k| block.get(*k).and_then(Value::as_str))
                .unwrap_or("?");
            let label = if block.get("is_error") == Some(&Value::Bool(true)) {
                "error"
            } else {
                "result"
            };
            let content = block.get("content").or_else(|| block.get("output"));
            let text = one_line(&content_text(content), RESULT_MAX_CHARS);
            let _ = writeln!(out, "{INDENT}← {label} ({id}): {text}");
        }
        "image" | "image_url" | "input_image" => line(out, "[image]"),
        "document" | "input_file" | "file" => line(out, "[document]"),
        "thinking" => {
            let text = one_line(str_field("thinking"), DETAIL_MAX_CHARS);
            let _ = writeln!(out, "{INDENT}(thinking) {text}");
        }
        "redacted_thinking" => line(out, "[redacted thinking]"),
        "reasoning" => {
            let text = content_text(block.get("summary"));
            let _ = writeln!(
                out,
                "{INDENT}(reasoning) {}",
                one_line(&text, DETAIL_MAX_CHARS)
            );
        }
        "message" => {
            for part in block
                .get("content")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                lines(out, part);
            }
        }
        "refusal" => {
            let _ = writeln!(out, "{INDENT}(refusal) {}", str_field("refusal"));
        }
        "error_text" => {
            let _ = writeln!(
                out,
                "{INDENT}! error: {}",
                one_line(str_field("text"), DETAIL_MAX_CHARS)
            );
        }
        "missing_block" => {
            let _ = writeln!(out, "{INDENT}[missing block {}]", str_field("h"));
        }
        _ if kind == "error" || block.get("error").is_some() => {
            let error = block.get("error").unwrap_or(block);
            let _ = writeln!(
                out,
                "{INDENT}! error: {}",
                one_line(&error.to_string(), DETAIL_MAX_CHARS)
            );
        }
        _ => {
            let kind = if kind.is_empty() { "block" } else { kind };
            let _ = writeln!(
                out,
                "{INDENT}[{kind}] {}",
                one_line(&block.to_string(), DETAIL_MAX_CHARS)
            );
        }
    }
}

/// A tool definition's name (Anthropic and Responses `name`, Chat `function.name`).
pub(super) fn tool_name(tool: &Value) -> &str {
    tool.get("name")
        .or_else(|| tool.pointer("/function/name"))
        .and_then(Value::as_str)
        .unwrap_or("?")
}

/// `text` on one line (line ends shown as `⏎`), clipped to `max` characters.
pub(super) fn one_line(text: &str, max: usize) -> String {
    clip(text.trim(), max)
        .replace("\r\n", "⏎")
        .replace(['\n', '\r'], "⏎")
}

/// `text` clipped to `max` characters, saying how long it was.
fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some((end, _)) => {
            let total = text.chars().count();
            format!("{}… ({total} chars)", text.get(..end).unwrap_or_default())
        }
    }
}

fn tool_call(out: &mut String, name: &str, input: &str) {
    let _ = writeln!(
        out,
        "{INDENT}→ tool {name} {}",
        one_line(input, DETAIL_MAX_CHARS)
    );
}

/// A JSON string as its text, anything else compact.
fn compact(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

/// The text of tool result content: a string, or the texts of an array of blocks (media as
/// `[image]`).
fn content_text(content: Option<&Value>) -> String {
    match content {
        Some(Value::Array(parts)) => parts
            .iter()
            .map(|part| match part.get("type").and_then(Value::as_str) {
                Some("image" | "input_image") => "[image]".to_owned(),
                Some("document" | "input_file") => "[document]".to_owned(),
                _ => part
                    .get("text")
                    .and_then(Value::as_str)
                    .map_or_else(|| part.to_string(), str::to_owned),
            })
            .collect::<Vec<_>>()
            .join(" "),
        other => compact(other),
    }
}

fn line(out: &mut String, text: &str) {
    let _ = writeln!(out, "{INDENT}{text}");
}

fn indented(out: &mut String, text: &str) {
    for text_line in text.lines() {
        let _ = writeln!(out, "{INDENT}{text_line}");
    }
}
