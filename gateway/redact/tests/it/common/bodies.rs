//! Request bodies that put a piece of text in each place a secret can reach the provider.

use serde_json::{Value, json};

use gateway_core::Api;

/// A place in a request where text travels.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Context {
    UserText,
    UserTextBlock,
    ToolResultString,
    ToolResultBlocks,
    ToolUseInput,
    SystemString,
    SystemBlocks,
    OpenAiToolMessage,
    OpenAiToolArguments,
    OpenAiUserParts,
    ResponsesFunctionOutput,
    ResponsesArguments,
    ResponsesInstructions,
}

pub(crate) const ALL_CONTEXTS: &[Context] = &[
    Context::UserText,
    Context::UserTextBlock,
    Context::ToolResultString,
    Context::ToolResultBlocks,
    Context::ToolUseInput,
    Context::SystemString,
    Context::SystemBlocks,
    Context::OpenAiToolMessage,
    Context::OpenAiToolArguments,
    Context::OpenAiUserParts,
    Context::ResponsesFunctionOutput,
    Context::ResponsesArguments,
    Context::ResponsesInstructions,
];

fn anthropic(messages: Value) -> Value {
    json!({"model": "claude-sonnet-4-6", "max_tokens": 1024, "stream": true, "messages": messages})
}

/// A body carrying `text` in `ctx`, and the surface to redact it as.
/// The tool calls name neutral files (`cat notes.txt`, `notes.txt`): these tables measure
/// detection by content alone; files known by their path are `file_hints.rs`'s.
pub(crate) fn body(ctx: Context, text: &str) -> (Value, Api) {
    let tool_use = json!({"type": "tool_use", "id": "toolu_01", "name": "Bash", "input": {"command": "cat notes.txt"}});
    match ctx {
        Context::UserText => (
            anthropic(json!([{"role": "user", "content": text}])),
            Api::AnthropicMessages,
        ),
        Context::UserTextBlock => (
            anthropic(
                json!([{"role": "user", "content": [{"type": "text", "text": text, "cache_control": {"type": "ephemeral"}}]}]),
            ),
            Api::AnthropicMessages,
        ),
        Context::ToolResultString => (
            anthropic(json!([
                {"role": "user", "content": "show me the config"},
                {"role": "assistant", "content": [tool_use]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01", "content": text}]}
            ])),
            Api::AnthropicMessages,
        ),
        Context::ToolResultBlocks => (
            anthropic(json!([
                {"role": "assistant", "content": [tool_use]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01", "content": [{"type": "text", "text": text}]}]}
            ])),
            Api::AnthropicMessages,
        ),
        Context::ToolUseInput => (
            anthropic(json!([
                {"role": "user", "content": "write it"},
                {"role": "assistant", "content": [{"type": "thinking", "thinking": "ok", "signature": "c2ln"},
                    {"type": "tool_use", "id": "toolu_02", "name": "Write", "input": {"file_path": "/app/notes.txt", "content": text}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_02", "content": "done"}]}
            ])),
            Api::AnthropicMessages,
        ),
        Context::SystemString => {
            let mut b = anthropic(json!([{"role": "user", "content": "hi"}]));
            b["system"] = json!(text);
            (b, Api::AnthropicMessages)
        }
        Context::SystemBlocks => {
            let mut b = anthropic(json!([{"role": "user", "content": "hi"}]));
            b["system"] = json!([{"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1"}, {"type": "text", "text": text}]);
            (b, Api::AnthropicMessages)
        }
        Context::OpenAiToolMessage => (
            json!({"model": "gpt-5", "messages": [
                {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "read_file", "arguments": "{\"path\":\"notes.txt\"}"}}]},
                {"role": "tool", "tool_call_id": "call_1", "content": text}
            ]}),
            Api::OpenAiChat,
        ),
        Context::OpenAiToolArguments => {
            let args = json!({"path": "notes.txt", "content": text}).to_string();
            (
                json!({"model": "gpt-5", "messages": [
                    {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "write_file", "arguments": args}}]},
                    {"role": "tool", "tool_call_id": "call_1", "content": "ok"}
                ]}),
                Api::OpenAiChat,
            )
        }
        Context::OpenAiUserParts => (
            json!({"model": "gpt-5", "messages": [{"role": "user", "content": [{"type": "text", "text": text}]}]}),
            Api::OpenAiChat,
        ),
        Context::ResponsesFunctionOutput => (
            json!({"model": "gpt-5", "input": [
                {"type": "function_call", "call_id": "c1", "name": "shell", "arguments": "{\"cmd\":\"printenv\"}"},
                {"type": "function_call_output", "call_id": "c1", "output": text}
            ]}),
            Api::OpenAiResponses,
        ),
        Context::ResponsesArguments => {
            let args = json!({"cmd": format!("cat > .env <<EOF\n{text}\nEOF")}).to_string();
            (
                json!({"model": "gpt-5", "input": [{"type": "function_call", "call_id": "c1", "name": "shell", "arguments": args}]}),
                Api::OpenAiResponses,
            )
        }
        Context::ResponsesInstructions => (
            json!({"model": "gpt-5", "instructions": text, "input": "hello"}),
            Api::OpenAiResponses,
        ),
    }
}

/// Ways the same text can be encoded on the wire.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Encoding {
    /// The text as is.
    Raw,
    /// Lines joined with CRLF.
    Crlf,
    /// The text JSON-encoded once more (a JSON file shown in a tool result).
    DoubleEscaped,
    /// One character of the secret written as a `\u00XX` escape in the body.
    UnicodeEscape,
    /// Inside a fenced code block with surrounding prose.
    Fenced,
    /// A JSON document holding a JSON document that holds the text (a tool result holding
    /// JSON holding the file): after two decodes, line breaks are still the two bytes `\n`.
    DoubleJson,
    /// JSON after a line of prose, so no nested decode applies: line breaks and tabs stay
    /// the escapes `\n`, `\t` in the decoded string.
    EmbeddedJson,
}

pub(crate) const ALL_ENCODINGS: &[Encoding] = &[
    Encoding::Raw,
    Encoding::Crlf,
    Encoding::DoubleEscaped,
    Encoding::UnicodeEscape,
    Encoding::Fenced,
    Encoding::DoubleJson,
    Encoding::EmbeddedJson,
];

/// A prefix a tool writes before every line of a file.
#[derive(Clone, Copy, Debug)]
pub(crate) enum LineForm {
    /// No prefix.
    Plain,
    /// Claude Code's Read tool: a right-aligned number and `→`.
    Arrow,
    /// `cat -n`: a right-aligned number and a tab.
    Tab,
    /// `grep -n`: a number and `:`.
    Colon,
    /// An added file in a unified diff: `+` before every line.
    Diff,
    /// A quoted message: `> ` before every line.
    Quote,
    /// A search tool's output (`grep -n -C`, ripgrep, Claude Code's Grep): `PATH:N:` on
    /// matching lines, `PATH-N-` on context lines.
    Grep,
}

pub(crate) const ALL_LINE_FORMS: &[LineForm] = &[
    LineForm::Plain,
    LineForm::Arrow,
    LineForm::Tab,
    LineForm::Colon,
    LineForm::Diff,
    LineForm::Quote,
    LineForm::Grep,
];

/// `text` with `form`'s prefix on every line, numbering from `first`.
pub(crate) fn prefix_lines(text: &str, form: LineForm, first: usize) -> String {
    let lines: Vec<&str> = text.split('\n').collect();
    let numbered = lines.iter().enumerate().map(|(i, l)| {
        let n = first + i;
        match form {
            LineForm::Plain => (*l).to_owned(),
            LineForm::Arrow => format!("{n:>6}→{l}"),
            LineForm::Tab => format!("{n:>6}\t{l}"),
            LineForm::Colon => format!("{n}:{l}"),
            LineForm::Diff => format!("+{l}"),
            LineForm::Quote => format!("> {l}"),
            LineForm::Grep if n.is_multiple_of(2) => format!("src/app/.env-{n}-{l}"),
            LineForm::Grep => format!("/home/dev/app/.env:{n}:{l}"),
        }
    });
    let body = numbered.collect::<Vec<_>>().join("\n");
    match form {
        LineForm::Diff => format!(
            "diff --git a/.env b/.env\n--- /dev/null\n+++ b/.env\n@@ -0,0 +1,{} @@\n{body}",
            lines.len()
        ),
        _ => body,
    }
}

/// Serializes `text` in `ctx` with `enc` applied; the secret must be a substring of `text`.
pub(crate) fn encoded_body(
    ctx: Context,
    enc: Encoding,
    text: &str,
    secret: &str,
) -> (Vec<u8>, Api) {
    let text = match enc {
        Encoding::Raw | Encoding::UnicodeEscape => text.to_owned(),
        Encoding::Crlf => format!(
            "# config\r\n{}\r\nPORT=8080\r\n",
            text.replace('\n', "\r\n")
        ),
        Encoding::DoubleEscaped => json!({"file": ".env", "contents": text}).to_string(),
        Encoding::Fenced => format!("Here is the file:\n\n```\n{text}\n```\n\nLet me know."),
        Encoding::DoubleJson => {
            let inner = json!({"path": ".env", "content": text}).to_string();
            json!({"tool": "read", "result": inner}).to_string()
        }
        Encoding::EmbeddedJson => {
            format!("Tool output: {}", json!({"file": ".env", "contents": text}))
        }
    };
    let (v, surface) = body(ctx, &text);
    let mut raw = serde_json::to_string(&v).unwrap_or_default();
    if let Encoding::UnicodeEscape = enc {
        // Escape the 3rd character of the first occurrence of the secret.
        if let Some(at) = raw.find(secret) {
            let i = at + 2;
            let c = raw.as_bytes()[i];
            if c.is_ascii_alphanumeric() {
                raw.replace_range(i..i + 1, &format!("\\u{:04x}", c));
            }
        }
    }
    (raw.into_bytes(), surface)
}
