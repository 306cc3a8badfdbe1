//! Which file a tool result holds: the walk reports the tagged members of each tool call (its
//! id and the path it read: `input.file_path`, a plain `cat FILE` command, or the `file_path`
//! / `command` inside JSON-encoded `arguments`) and of each result (the id it answers), each
//! with its [`Owner`]; [`file_kinds`] ties results to calls by id and says, for every scanned
//! string, the [`FileKind`] of the file it came from, if the name is a credential format.
//!
//! A result answers the call whose id it names; the strings it covers are those of its
//! owner: an Anthropic `tool_result` block (and the blocks nested in it), a Chat `tool`
//! message, a Responses `function_call_output` item. Ids are compared as raw bytes. The
//! call's own input strings are that file too (a `Write`'s `content`, an `Edit`'s
//! `new_string`, a Chat/Responses call's `arguments`).

use std::collections::HashMap;

use super::unescape::{Decoded, Mode};
use super::walk::{Owner, StrSpan};
use crate::detect::file::FileKind;
use crate::fields::Tag;

/// Commands that print a file (the file is their only operand).
const READERS: &[&str] = &[
    "cat",
    "bat",
    "batcat",
    "head",
    "tail",
    "less",
    "more",
    "nl",
    "type",
    "get-content",
];

/// Argument members that name the file a call reads.
const PATH_KEYS: &[&[u8]] = &[
    b"\"file_path\"",
    b"\"filePath\"",
    b"\"path\"",
    b"\"notebook_path\"",
    b"\"filename\"",
];

/// One tagged string from the walk.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tagged {
    pub(crate) tag: Tag,
    pub(crate) span: StrSpan,
    pub(crate) owner: Owner,
}

/// The file kind of each unit (by index), or an empty vector when no result in the body
/// answers a call that read a credential file (the common case, which allocates nothing).
pub(crate) fn file_kinds(src: &[u8], units: &[Owner], tags: &[Tagged]) -> Vec<Option<FileKind>> {
    let names_a_file = |t: &Tagged| matches!(t.tag, Tag::Path | Tag::Command | Tag::Arguments);
    if !tags.iter().any(names_a_file) {
        return Vec::new();
    }
    let mut scratch = Decoded::default();
    let mut read: HashMap<Owner, FileKind> = HashMap::new();
    for t in tags {
        let path = match t.tag {
            Tag::Path => decoded(src, t.span, &mut scratch),
            Tag::Command => command_path(&decoded(src, t.span, &mut scratch)),
            Tag::Arguments => arguments_path(&decoded(src, t.span, &mut scratch)),
            _ => continue,
        };
        if let Some(kind) = FileKind::of_path(&path) {
            read.insert(t.owner, kind);
        }
    }
    if read.is_empty() {
        return Vec::new();
    }
    let has_arguments: Vec<Owner> = tags
        .iter()
        .filter(|t| t.tag == Tag::Arguments)
        .map(|t| t.owner)
        .collect();
    let mut calls: HashMap<&[u8], FileKind> = HashMap::new();
    for t in tags {
        let call = match t.tag {
            Tag::CallId => true,
            Tag::CallKey => has_arguments.contains(&t.owner),
            _ => false,
        };
        if let (true, Some(kind)) = (call, read.get(&t.owner)) {
            calls.insert(&src[t.span.start..t.span.end], *kind);
        }
    }
    let mut answered: HashMap<Owner, FileKind> = HashMap::new();
    for t in tags {
        let answer = match t.tag {
            Tag::ResultRef => true,
            Tag::CallKey => !has_arguments.contains(&t.owner),
            _ => false,
        };
        if let (true, Some(kind)) = (answer, calls.get(&src[t.span.start..t.span.end])) {
            answered.insert(t.owner, *kind);
        }
    }
    // The call's own input is that file too: a `Write` of `.env`'s `content`, an `Edit`'s
    // `new_string` (the wizard writing the key it was given into the project).
    answered.extend(read.iter().map(|(owner, kind)| (*owner, *kind)));
    units
        .iter()
        .map(|u| {
            answered.get(u).copied().or_else(|| {
                answered
                    .get(&Owner {
                        message: u.message,
                        block: 0,
                    })
                    .copied()
            })
        })
        .collect()
}

fn decoded(src: &[u8], span: StrSpan, scratch: &mut Decoded) -> Vec<u8> {
    let raw = &src[span.start..span.end];
    if !span.escaped {
        return raw.to_vec();
    }
    scratch.decode(raw, Mode::Strict);
    scratch.text.clone()
}

/// The file a shell command prints: the last `&&`/`;` step, the first stage of its pipe,
/// when that is a reader (`cat`, `head -n 20`, `tail`…) with exactly one file operand.
fn command_path(command: &[u8]) -> Vec<u8> {
    let Ok(command) = std::str::from_utf8(command) else {
        return Vec::new();
    };
    let step = command.rsplit(';').next().unwrap_or_default();
    let step = step.rsplit("&&").next().unwrap_or_default();
    let stage = step.split('|').next().unwrap_or_default();
    let mut words = stage.split_whitespace();
    let Some(reader) = words.next() else {
        return Vec::new();
    };
    if !READERS.contains(&reader.to_ascii_lowercase().as_str()) {
        return Vec::new();
    }
    let reader = reader.to_ascii_lowercase();
    // Options that take a value: `head`/`tail`'s counts, PowerShell's `-Path`.
    let valued: &[&str] = match reader.as_str() {
        "head" | "tail" => &["-n", "-c", "--lines", "--bytes"],
        "get-content" => &["-totalcount", "-tail", "-head"],
        _ => &[],
    };
    let mut operands = Vec::new();
    let mut skip_value = false;
    for w in words {
        if skip_value {
            skip_value = false;
        } else if w.starts_with('-') {
            skip_value = valued.contains(&w.to_ascii_lowercase().as_str());
        } else {
            operands.push(w.trim_matches(|c| c == '"' || c == '\''));
        }
    }
    match operands.as_slice() {
        [one] => one.as_bytes().to_vec(),
        _ => Vec::new(),
    }
}

/// The path named in a call's JSON arguments (`file_path`, `path`…), or the file its
/// `command` (a string, or an argv array whose last element is the script) prints.
fn arguments_path(args: &[u8]) -> Vec<u8> {
    for key in PATH_KEYS {
        if let Some(v) = member_value(args, key) {
            return v;
        }
    }
    member_value(args, b"\"command\"")
        .map(|c| command_path(&c))
        .unwrap_or_default()
}

/// The string value of the first member `key` (quoted) in JSON text; for an array value,
/// its last string element.
fn member_value(json: &[u8], key: &[u8]) -> Option<Vec<u8>> {
    let at = memchr::memmem::find(json, key)? + key.len();
    let rest = json[at..].trim_ascii_start().strip_prefix(b":")?;
    let rest = rest.trim_ascii_start();
    let rest = match rest.strip_prefix(b"[") {
        Some(array) => {
            let close = memchr::memchr(b']', array)?;
            let inner = &array[..close];
            let last_open = last_string_start(inner)?;
            &inner[last_open..]
        }
        None => rest,
    };
    let body = rest.strip_prefix(b"\"")?;
    let mut i = 0;
    while i < body.len() {
        match body[i] {
            b'\\' => i += 2,
            b'"' => {
                let mut d = Decoded::default();
                d.decode(&body[..i], Mode::Lenient);
                return Some(d.text);
            }
            _ => i += 1,
        }
    }
    None
}

/// Where the last string element of an array's inside starts (its opening quote).
fn last_string_start(inner: &[u8]) -> Option<usize> {
    let end = inner.trim_ascii_end().strip_suffix(b"\"")?.len();
    let mut i = end;
    while i > 0 {
        i -= 1;
        if inner[i] == b'"' {
            let slashes = inner[..i].iter().rev().take_while(|&&b| b == b'\\').count();
            if slashes % 2 == 0 {
                return Some(i);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_that_print_one_file_name_it() {
        let cases: &[(&str, &str)] = &[
            ("cat .env", ".env"),
            ("cat -n /app/.env.local", "/app/.env.local"),
            ("cd app && cat \"config/.env\"", "config/.env"),
            ("head -n 20 ~/.pgpass | grep db", "~/.pgpass"),
            ("tail -5 .env", ".env"),
            (
                "Get-Content -Path C:\\app\\.env -TotalCount 5",
                "C:\\app\\.env",
            ),
            ("cat a b", ""),
            ("rm .env", ""),
            ("grep KEY .env", ""),
            ("", ""),
        ];
        for (cmd, path) in cases {
            assert_eq!(command_path(cmd.as_bytes()), path.as_bytes(), "{cmd}");
        }
    }

    #[test]
    fn arguments_name_the_file() {
        let cases: &[(&str, &str)] = &[
            (r#"{"file_path": "/app/.env"}"#, "/app/.env"),
            (r#"{"limit":5,"path":"C:\\app\\.env"}"#, "C:\\app\\.env"),
            (r#"{"command":"cat .pgpass"}"#, ".pgpass"),
            (r#"{"command":["bash","-lc","cat .env"]}"#, ".env"),
            (r#"{"query":"x"}"#, ""),
        ];
        for (args, path) in cases {
            assert_eq!(arguments_path(args.as_bytes()), path.as_bytes(), "{args}");
        }
    }
}
