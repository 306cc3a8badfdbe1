//! Server-sent events over a whole captured body: frames end at a blank line, lines end with
//! `\r\n`, `\n` or `\r`, several `data:` lines join with `\n`, `:` lines are comments. The body
//! is already one buffer, so chunk splits (mid-line, mid-UTF-8) do not matter here.

/// Calls `on_event(name, data)` for every event with data, in order. A last event without
/// its closing blank line (a truncated stream) is still delivered; its data usually fails
/// to parse and is then ignored by the caller.
pub(super) fn for_each_event(body: &[u8], mut on_event: impl FnMut(&str, &str)) {
    let mut name = String::new();
    let mut data = String::new();
    let mut has_data = false;
    let mut rest = body;
    while !rest.is_empty() {
        let (line, next) = split_line(rest);
        rest = next;
        if line.is_empty() {
            if has_data {
                on_event(&name, &data);
            }
            name.clear();
            data.clear();
            has_data = false;
            continue;
        }
        if line.first() == Some(&b':') {
            continue;
        }
        let (field, value) = field(line);
        match field {
            b"event" => name = String::from_utf8_lossy(value).into_owned(),
            b"data" => {
                if has_data {
                    data.push('\n');
                }
                data.push_str(&String::from_utf8_lossy(value));
                has_data = true;
            }
            _ => {}
        }
    }
    if has_data {
        on_event(&name, &data);
    }
}

/// The first line of `body` (without its end) and what follows its end.
fn split_line(body: &[u8]) -> (&[u8], &[u8]) {
    let Some(end) = body.iter().position(|&b| b == b'\n' || b == b'\r') else {
        return (body, &[]);
    };
    let (line, rest) = body.split_at(end);
    let skip = if rest.starts_with(b"\r\n") { 2 } else { 1 };
    (line, rest.get(skip..).unwrap_or_default())
}

/// `name: value` of a line; one space after the colon is not part of the value.
fn field(line: &[u8]) -> (&[u8], &[u8]) {
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        return (line, &[]);
    };
    let (name, value) = line.split_at(colon);
    let value = value.get(1..).unwrap_or_default();
    (name, value.strip_prefix(b" ").unwrap_or(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(body: &[u8]) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for_each_event(body, |n, d| out.push((n.to_owned(), d.to_owned())));
        out
    }

    #[test]
    fn frames_end_at_blank_lines_with_any_line_end() {
        let body =
            b"event: a\r\ndata: 1\r\n\r\n: keepalive\n\nevent: b\ndata:2\ndata: 3\n\rdata: x";
        let expected = [("a", "1"), ("b", "2\n3"), ("", "x")];
        let expected: Vec<_> = expected
            .iter()
            .map(|(n, d)| ((*n).to_owned(), (*d).to_owned()))
            .collect();
        assert_eq!(events(body), expected);
    }

    #[test]
    fn events_without_data_are_not_delivered() {
        assert!(events(b"event: ping\n\n\n\n").is_empty());
    }
}
