//! A file read as agents send it: arbitrary content with a per-line prefix (Claude Code's
//! `N→`, `cat -n`'s `N<TAB>`, `grep -n`'s `N:`, diff `+`, `>` quotes), CRLF or LF, in a
//! `tool_result` answering a `Read` of a path whose name picks a credential-file kind
//! (`.env`, `.pgpass`, `.htpasswd`, token, key, `.git-credentials`, or a neutral file).
//! It never panics; the output is valid JSON; the result keeps its line count and every
//! line its prefix (only values change: a PEM block, one secret over several lines, goes
//! whole; a value found once is replaced wherever it occurs); a second pass changes nothing.
#![no_main]

use std::sync::LazyLock;

use gateway_core::Api;
use gateway_redact::{HistoryCache, Redactor, RedactorConfig, TenantKey};
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

static REDACTOR: LazyLock<Option<Redactor>> = LazyLock::new(|| {
    let key = TenantKey::new(b"fuzz-tenant-key-0123456789abcdef".to_vec()).ok()?;
    Redactor::new(RedactorConfig::new(key)).ok()
});

const PATHS: &[&str] = &[
    "/app/.env",
    "/home/u/.pgpass",
    "/etc/.htpasswd",
    "/root/.vault-token",
    "/home/u/.ssh/id_ed25519",
    "/home/u/.git-credentials",
    "/app/notes.txt",
];

fn prefix(form: u8, n: usize) -> String {
    match form % 6 {
        0 => String::new(),
        1 => format!("{n:>6}→"),
        2 => format!("{n:>6}\t"),
        3 => format!("{n}:"),
        4 => "+".to_owned(),
        _ => "> ".to_owned(),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some(r) = REDACTOR.as_ref() else { return };
    let [pick, form, rest @ ..] = data else { return };
    let text = String::from_utf8_lossy(rest);
    let path = PATHS[usize::from(*pick) % PATHS.len()];
    let crlf = pick & 0x80 != 0;
    let lines: Vec<String> = text
        .split(['\n', '\r'])
        .enumerate()
        .map(|(i, l)| format!("{}{l}", prefix(*form, i + 1)))
        .collect();
    let content = lines.join(if crlf { "\r\n" } else { "\n" });
    let body = json!({"model": "m", "max_tokens": 1, "messages": [
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Read", "input": {"file_path": path}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": content}]}
    ]});
    let raw = serde_json::to_vec(&body).expect("serializable");
    let Ok(out) = r.redact_request(&raw, Api::AnthropicMessages, &HistoryCache::disabled()) else {
        return;
    };
    let v: Value = serde_json::from_slice(out.body()).expect("output is JSON");
    let got = v["messages"][1]["content"][0]["content"].as_str().expect("content stays a string");
    let sep = if crlf { "\r\n" } else { "\n" };
    let got_lines: Vec<&str> = got.split(sep).collect();
    // A PEM block is one secret across lines and goes whole; everything else is in a line.
    let multiline = out.report().count("private-key") + out.report().count("putty-private-key");
    if multiline > 0 {
        return;
    }
    assert_eq!(got_lines.len(), lines.len(), "line count changed");
    for (i, (g, l)) in got_lines.iter().zip(&lines).enumerate() {
        let p = prefix(*form, i + 1);
        // A confirmed value is replaced wherever it occurs, so a value that begins with a
        // prefix's separator (`:x…` after `3:`) takes that byte with it: a placeholder then
        // sits where the prefix was.
        let kept = g.starts_with(&p) || !l.starts_with(&p) || g.contains("gwx_");
        assert!(kept, "prefix of line {} changed", i + 1);
    }
    let twice = r
        .redact_request(out.body(), Api::AnthropicMessages, &HistoryCache::disabled())
        .expect("own output accepted");
    assert!(twice.is_unchanged(), "second pass changed: {:?}", twice.report());
});
