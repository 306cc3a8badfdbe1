//! Globs for model names and `match` values: `*` is any run of characters (also none), `?`
//! exactly one character, everything else itself (case-sensitive). No character classes,
//! no escapes: model ids and principal fields never need them.

/// Whether `text` matches `pattern` as a whole. Allocates only for non-ASCII input.
pub fn matches(pattern: &str, text: &str) -> bool {
    if is_literal(pattern) {
        return pattern == text;
    }
    if pattern.is_ascii() && text.is_ascii() {
        return wild(pattern.as_bytes(), text.as_bytes(), b'*', b'?');
    }
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    wild(&p, &t, '*', '?')
}

/// Linear backtracking: remember the last `*` and, on a mismatch, let it take one more item.
fn wild<T: Copy + PartialEq>(p: &[T], t: &[T], any_run: T, any_one: T) -> bool {
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while let Some(&c) = t.get(ti) {
        match p.get(pi) {
            Some(&w) if w == any_run => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&w) if w == any_one || w == c => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p.get(pi..)
        .is_some_and(|rest| rest.iter().all(|&w| w == any_run))
}

/// Whether `pattern` has no wildcard, so it matches only itself.
pub fn is_literal(pattern: &str) -> bool {
    !pattern.contains(['*', '?'])
}

/// Checks a model glob: non-empty, and only the characters model ids use (ASCII letters,
/// digits, `-`, `_`, `.`, `:`, `/`, `@`) plus `*` and `?`.
pub(crate) fn check_model(pattern: &str) -> Result<(), String> {
    if pattern.is_empty() {
        return Err(
            "empty model pattern; write a model id or a glob like `claude-sonnet-*`".into(),
        );
    }
    match pattern
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || "-_.:/@*?".contains(c)))
    {
        Some(c) => Err(format!(
            "invalid model glob `{pattern}`: {c:?} is not allowed; use letters, digits, \
             `-_.:/@`, and the wildcards `*` (any run) and `?` (one character)"
        )),
        None => Ok(()),
    }
}

/// Checks a `match` value: non-empty and without control characters.
pub(crate) fn check_match(pattern: &str) -> Result<(), String> {
    if pattern.is_empty() {
        return Err("empty value; remove the key to match any value".into());
    }
    if pattern.chars().any(char::is_control) {
        return Err("control characters are not allowed".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_matches_any_run_including_none() {
        assert!(matches("claude-sonnet-*", "claude-sonnet-4-6"));
        assert!(matches("claude-sonnet-*", "claude-sonnet-4-5-20250929"));
        assert!(matches("claude-sonnet-*", "claude-sonnet-"));
        assert!(!matches("claude-sonnet-*", "claude-opus-4-5"));
        assert!(matches("*", ""));
        assert!(matches("*-4-5*", "claude-opus-4-5-20251101"));
        assert!(matches("a*b*c", "axxbyyc"));
        assert!(!matches("a*b*c", "axxbyy"));
    }

    #[test]
    fn question_mark_is_exactly_one_character() {
        assert!(matches("gpt-4?", "gpt-4o"));
        assert!(!matches("gpt-4?", "gpt-4"));
        assert!(!matches("gpt-4?", "gpt-4o-mini"));
    }

    #[test]
    fn without_wildcards_only_itself_matches() {
        assert!(matches("claude-opus-4-5", "claude-opus-4-5"));
        assert!(!matches("claude-opus-4-5", "claude-opus-4-5-20251101"));
        assert!(!matches("Claude-opus-4-5", "claude-opus-4-5"));
        assert!(is_literal("claude-opus-4-5"));
        assert!(!is_literal("claude-*"));
    }

    #[test]
    fn model_globs_are_checked() {
        assert!(check_model("claude-sonnet-*").is_ok());
        assert!(check_model("openai/gpt-4o@2024").is_ok());
        assert!(check_model("").is_err());
        assert!(check_model("claude-[so]*").is_err());
        assert!(check_model("claude sonnet").is_err());
    }

    #[test]
    fn non_ascii_text_matches_by_character() {
        assert!(matches("jos?@example.com", "josé@example.com"));
        assert!(matches("*é", "café"));
        assert!(!matches("caf?", "cafés"));
    }

    /// The definition, by recursion: slow, obviously right.
    fn reference(p: &[char], t: &[char]) -> bool {
        match (p.first(), t.first()) {
            (None, _) => t.is_empty(),
            (Some('*'), _) => reference(&p[1..], t) || (!t.is_empty() && reference(p, &t[1..])),
            (Some(_), None) => false,
            (Some(&w), Some(&c)) => (w == '?' || w == c) && reference(&p[1..], &t[1..]),
        }
    }

    proptest::proptest! {
        #[test]
        fn matching_agrees_with_the_definition(p in "[ab*?é]{0,8}", t in "[abé]{0,10}") {
            let (pc, tc): (Vec<char>, Vec<char>) = (p.chars().collect(), t.chars().collect());
            proptest::prop_assert_eq!(matches(&p, &t), reference(&pc, &tc));
        }

        #[test]
        fn a_text_matches_itself_and_star(text in "[a-z0-9.-]{0,20}") {
            proptest::prop_assert!(matches(&text, &text));
            proptest::prop_assert!(matches("*", &text));
            let prefixed = format!("{text}*");
            let longer = format!("{text}-x");
            proptest::prop_assert!(matches(&prefixed, &longer));
        }
    }
}
