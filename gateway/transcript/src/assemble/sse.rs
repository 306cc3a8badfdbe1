//! Server-sent events over a whole captured body, framed by [`gateway_core::sse`] (the one
//! boundary rule of the gateway). The body is one buffer, so chunk splits do not matter here.

use gateway_core::sse;

/// Calls `on_event(name, data)` for every event with data, in order (`name` is empty when the
/// event has none). A last event without its closing empty line (a truncated stream) is still
/// delivered; its data usually fails to parse and is then ignored by the caller.
pub(super) fn for_each_event(body: &[u8], mut on_event: impl FnMut(&str, &str)) {
    for event in sse::events(body) {
        if let Some(data) = sse::data(event) {
            let name = sse::event_name(event).unwrap_or_default();
            // Invalid UTF-8 is replaced, not fatal: the rest of the event still reads.
            on_event(
                &String::from_utf8_lossy(name),
                &String::from_utf8_lossy(&data),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(body: &[u8]) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for_each_event(body, |n, d| {
            out.push((n.to_owned(), d.to_owned()));
        });
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
