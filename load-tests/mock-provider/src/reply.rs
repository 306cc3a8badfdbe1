//! The configured reply, JSON-escaped once and split into the text deltas of a stream.

/// The reply as JSON string literals (quotes included), ready to splice into answers.
#[derive(Clone, Debug)]
pub(crate) struct Reply {
    /// The whole reply.
    pub(crate) full: String,
    /// The streamed pieces, in order; at least one, concatenating to the whole reply.
    pub(crate) deltas: Vec<String>,
}

impl Reply {
    pub(crate) fn new(text: &str, deltas: usize) -> Self {
        Self {
            full: json_string(text),
            deltas: split(text, deltas).into_iter().map(json_string).collect(),
        }
    }
}

/// `text` as a JSON string literal, quotes included.
pub(crate) fn json_string(text: &str) -> String {
    // Serializing a `str` cannot fail; the fallback only keeps the output valid JSON.
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_owned())
}

/// Splits `text` into `pieces` parts of about equal length in characters, never empty unless
/// `text` is (then exactly one empty part).
fn split(text: &str, pieces: usize) -> Vec<&str> {
    let bounds: Vec<usize> = text
        .char_indices()
        .map(|(at, _)| at)
        .chain(std::iter::once(text.len()))
        .collect();
    let chars = bounds.len().saturating_sub(1);
    let pieces = pieces.clamp(1, chars.max(1));
    (0..pieces)
        .map(|i| {
            let start = bounds.get(i * chars / pieces).copied().unwrap_or(0);
            let end = bounds
                .get((i + 1) * chars / pieces)
                .copied()
                .unwrap_or(text.len());
            text.get(start..end).unwrap_or_default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_concatenate_to_the_text() {
        for (text, n) in [
            ("Hello from the mock", 4),
            ("héllo wörld", 3),
            ("ab", 5),
            ("", 4),
        ] {
            let parts = split(text, n);
            assert_eq!(parts.concat(), text);
            assert_eq!(parts.len(), n.clamp(1, text.chars().count().max(1)));
            assert!(text.is_empty() || parts.iter().all(|p| !p.is_empty()));
        }
    }

    #[test]
    fn zero_deltas_still_sends_one() {
        assert_eq!(
            Reply::new("hi \"there\"", 0).deltas,
            vec![r#""hi \"there\"""#]
        );
    }
}
