//! Line structure for the assignment lexer: where a line starts (a real line break or the
//! two bytes `\n`/`\r` of an escaped one in text that holds JSON) and the prefixes tools put
//! before each line of a file, which are skipped before judging whether an assignment starts
//! its line:
//! - line numbers: right-aligned digits then `→` (Claude Code's Read tool), a tab (`cat -n`;
//!   in escaped text the two bytes `\t`) or `:` (`grep -n`);
//! - a unified-diff marker `+` (a `-` stays part of the name, where it does no harm);
//! - `>` quote markers, possibly nested;
//! - a search tool's file prefix (`grep -n`, ripgrep, Claude Code's Grep): `PATH:N:`, a
//!   context line's `PATH-N-`, or `PATH:` without numbers, where `PATH` looks like a path.
//!
//! The YAML list dash (`- KEY=value`) is one of the line leads the lexer accepts after the
//! prefix. Skipping only moves a position forward; the name and value spans the lexer finds
//! are still offsets into the same text, so only the value bytes are ever replaced.

/// `\n`, `\r`, or the two bytes `\` `n` of an escaped line break in nested text.
pub(super) fn line_break_before(text: &[u8], i: usize) -> bool {
    i == 0
        || matches!(text[i - 1], b'\n' | b'\r')
        || (i >= 2 && text[i - 2] == b'\\' && matches!(text[i - 1], b'n' | b'r'))
}

/// How far back [`line_start`] looks for the start of a line.
pub(super) const LINE_LOOKBACK: usize = 64;

/// Start of the line holding `k`, looking back at most [`LINE_LOOKBACK`] bytes: the largest
/// `i ≤ k` with [`line_break_before`]`(text, i)`. Candidates come from one reverse `memchr3`
/// (this runs for every name-anchor hit in code, and a byte loop was a tenth of the scan).
pub(super) fn line_start(text: &[u8], k: usize) -> Option<usize> {
    let lo = k.saturating_sub(LINE_LOOKBACK + 2);
    for p in memchr::memrchr3_iter(b'\n', b'\r', b'\\', &text[lo..k]) {
        let p = lo + p;
        let i = if text[p] != b'\\' {
            p + 1
        } else if p + 2 <= k && matches!(text[p + 1], b'n' | b'r') {
            p + 2
        } else {
            continue;
        };
        debug_assert!(line_break_before(text, i));
        return (i + LINE_LOOKBACK >= k).then_some(i);
    }
    (k <= LINE_LOOKBACK).then_some(0)
}

/// UTF-8 of `→`, the separator of Claude Code's line numbers.
const ARROW: &[u8] = "→".as_bytes();

/// Line numbers longer than this are not line numbers.
const MAX_DIGITS: usize = 9;

/// The length of an escaped `byte` at `p`: a run of backslashes then `byte` (`\t`, or
/// `\\t` in text that holds JSON holding JSON).
pub(super) fn escaped(text: &[u8], p: usize, byte: u8) -> Option<usize> {
    let run = text.get(p..)?.iter().take_while(|&&b| b == b'\\').count();
    (run > 0 && text.get(p + run) == Some(&byte)).then_some(run + 1)
}

/// Spaces, tabs and escaped tabs (`\t` as two bytes) from `p`, up to `end`.
fn skip_blanks(text: &[u8], mut p: usize, end: usize) -> usize {
    while p < end {
        match text[p] {
            b' ' | b'\t' => p += 1,
            b'\\' => match escaped(text, p, b't') {
                Some(len) if p + len <= end => p += len,
                _ => break,
            },
            _ => break,
        }
    }
    p
}

/// After a line number's digits at `p`: the end of its separator, if there is one.
fn number_separator(text: &[u8], p: usize, end: usize) -> Option<usize> {
    let rest = &text[p..end];
    if rest.starts_with(ARROW) {
        Some(p + ARROW.len())
    } else if matches!(rest.first(), Some(b'\t' | b':')) {
        Some(p + 1)
    } else {
        escaped(text, p, b't')
            .map(|len| p + len)
            .filter(|&e| e <= end)
    }
}

/// How far into a line a search tool's file prefix may reach.
const MAX_PATH_PREFIX: usize = LINE_LOOKBACK;

/// A path as search tools print it: no blanks or `=`, and a `/`, `\` or leading `.`; not a
/// URL.
fn path_like(t: &[u8]) -> bool {
    !t.is_empty()
        && memchr::memmem::find(t, b"://").is_none()
        && !t
            .iter()
            .any(|&b| matches!(b, b' ' | b'\t' | b'=' | b'"' | b'\''))
        && !t.ends_with(b"\\")
        && (t[0] == b'.' || t.iter().any(|&b| b == b'/' || b == b'\\'))
}

/// After a search tool's file prefix at `p` (`PATH:N:`, `PATH-N-`, `PATH:`): its end.
fn path_prefix(text: &[u8], p: usize, end: usize) -> Option<usize> {
    let line = &text[p..end.min(p + MAX_PATH_PREFIX)];
    let mut bare = None;
    for (i, &sep) in line.iter().enumerate() {
        if sep != b':' && sep != b'-' {
            continue;
        }
        if !path_like(&line[..i]) {
            continue;
        }
        let digits = line[i + 1..]
            .iter()
            .take(MAX_DIGITS + 1)
            .take_while(|b| b.is_ascii_digit())
            .count();
        if (1..=MAX_DIGITS).contains(&digits) && line.get(i + 1 + digits) == Some(&sep) {
            return Some(p + i + digits + 2);
        }
        let drive_or_url = matches!(line.get(i + 1), Some(b'/' | b'\\'));
        if sep == b':' && bare.is_none() && !drive_or_url {
            bare = Some(p + i + 1);
        }
    }
    bare
}

/// The position after the per-line prefix of the line starting at `ls` (never past `end`):
/// blanks, a search tool's file prefix, then [`skip_file_prefix`]'s. Returns `ls` when there
/// is no prefix.
pub(super) fn skip_prefix(text: &[u8], ls: usize, end: usize) -> usize {
    let p = skip_blanks(text, ls, end);
    match path_prefix(text, p, end) {
        Some(after) => skip_file_prefix(text, after, end),
        None => skip_file_prefix(text, p, end),
    }
}

/// The prefix a tool puts before each line of one file (no search-tool path: a file's own
/// `host:port:` fields must not be taken for one): blanks, an optional line number with its
/// separator, blanks, `>` quote markers and one diff `+`.
pub(super) fn skip_file_prefix(text: &[u8], ls: usize, end: usize) -> usize {
    let mut p = skip_blanks(text, ls, end);
    let digits = text[p..end]
        .iter()
        .take(MAX_DIGITS + 1)
        .take_while(|b| b.is_ascii_digit())
        .count();
    if (1..=MAX_DIGITS).contains(&digits)
        && let Some(after) = number_separator(text, p + digits, end)
    {
        p = skip_blanks(text, after, end);
    }
    while p < end && text[p] == b'>' {
        p = skip_blanks(text, p + 1, end);
    }
    if p < end && text[p] == b'+' {
        p = skip_blanks(text, p + 1, end);
    }
    p
}

/// The start of the line after the break at `p` (`\r\n`, `\n`, `\r` or their escapes at any
/// depth), or `None` if no break is at `p`.
pub(super) fn next_line(text: &[u8], p: usize) -> Option<usize> {
    let rest = text.get(p..)?;
    if rest.starts_with(b"\r\n") {
        return Some(p + 2);
    }
    if matches!(rest.first(), Some(b'\n' | b'\r')) {
        return Some(p + 1);
    }
    if let Some(len) = escaped(text, p, b'r') {
        return Some(p + len + escaped(text, p + len, b'n').unwrap_or(0));
    }
    escaped(text, p, b'n').map(|len| p + len)
}

/// The `max` bytes before `s` with escaped breaks and tabs (`\n`, `\r`, `\t` as two bytes) and
/// line-number arrows turned into spaces, for word-level looks back (`.netrc`).
pub(super) fn words_before(text: &[u8], s: usize, max: usize) -> Vec<u8> {
    let head = &text[s.saturating_sub(max)..s];
    let mut out = Vec::with_capacity(head.len());
    let mut i = 0;
    while i < head.len() {
        let esc = [b'n', b'r', b't'].iter().find_map(|&b| escaped(head, i, b));
        if let Some(len) = esc {
            out.resize(out.len() + len, b' ');
            i += len;
        } else if head[i..].starts_with(ARROW) {
            out.extend_from_slice(b"   ");
            i += ARROW.len();
        } else {
            out.push(head[i]);
            i += 1;
        }
    }
    out
}

/// A line number as a word: digits, optionally ending in `:`; or a search tool's whole
/// `PATH:N:` / `PATH-N-` prefix.
pub(super) fn is_line_number(w: &[u8]) -> bool {
    let digits = w.strip_suffix(b":").unwrap_or(w);
    let number =
        !digits.is_empty() && digits.len() <= MAX_DIGITS && digits.iter().all(u8::is_ascii_digit);
    number || path_prefix(w, 0, w.len()) == Some(w.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_start_matches_a_byte_loop() {
        fn slow(text: &[u8], k: usize) -> Option<usize> {
            let mut i = k;
            while !line_break_before(text, i) {
                if k - i >= LINE_LOOKBACK {
                    return None;
                }
                i -= 1;
            }
            Some(i)
        }
        let pieces: [&[u8]; 6] = [b"\n", b"\r", b"\\", b"n", b"abcdefghij", b"x"];
        let mut seed = 3u64;
        for _ in 0..300 {
            let mut text = Vec::new();
            for _ in 0..40 {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                text.extend_from_slice(pieces[(seed >> 33) as usize % pieces.len()]);
            }
            for k in 0..=text.len() {
                assert_eq!(line_start(&text, k), slow(&text, k), "{k} in {text:?}");
            }
        }
    }

    #[test]
    fn prefixes_are_skipped_and_content_is_not() {
        let cases: [(&str, &str); 17] = [
            ("/app/.env:3:DB_PASSWORD=x", "DB_PASSWORD=x"),
            ("app/.env-12-  KEY=x", "KEY=x"),
            ("C:\\app\\.env:3:KEY=x", "KEY=x"),
            (".env:KEY=x", "KEY=x"),
            ("https://h/x:KEY=x", "https://h/x:KEY=x"),
            ("     12→DB_PASSWORD=x", "DB_PASSWORD=x"),
            ("     12→  key: x", "key: x"),
            ("    7\tDB_PASSWORD=x", "DB_PASSWORD=x"),
            ("    7\\tDB_PASSWORD=x", "DB_PASSWORD=x"),
            ("12:DB_PASSWORD=x", "DB_PASSWORD=x"),
            ("+DB_PASSWORD=x", "DB_PASSWORD=x"),
            ("> > DB_PASSWORD=x", "DB_PASSWORD=x"),
            ("    3→+export A=x", "export A=x"),
            ("  - KEY=x", "- KEY=x"),
            ("1234567890:KEY=x", "1234567890:KEY=x"),
            ("12 KEY=x", "12 KEY=x"),
            ("KEY=x", "KEY=x"),
        ];
        for (line, rest) in cases {
            let t = line.as_bytes();
            let p = skip_prefix(t, 0, t.len());
            assert_eq!(&line[p..], rest, "{line}");
        }
    }
}
