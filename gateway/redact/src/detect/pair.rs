//! Secrets known by their neighbour: an AWS secret access key has no prefix of its own (40
//! characters of `[A-Za-z0-9/+]`), so outside a `NAME = value` line it is only recognisable
//! next to the access key id it belongs to: the console's credentials CSV
//! (`AKIA…,<secret>,https://…`), a table row, a pasted pair. Around each confirmed key id,
//! within [`AWS_PAIR_WINDOW`] bytes either side, a standalone 40-character token with upper
//! and lower case letters and digits is the secret.

/// How far from a key id its secret is looked for, each side.
pub(crate) const AWS_PAIR_WINDOW: usize = 512;

/// Length of an AWS secret access key.
const AWS_SECRET_LEN: usize = 40;

/// More `/` or `+` than this is a path or an encoded blob, not a 40-character random key
/// (which holds about one of each on average).
const MAX_SYMBOLS: usize = 5;

fn secret_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'/' || b == b'+'
}

/// Spans of AWS secret access keys near the key id at `id_start..id_end` of `text`.
pub(crate) fn aws_secrets_near(
    text: &[u8],
    id_start: usize,
    id_end: usize,
    out: &mut Vec<(usize, usize)>,
) {
    let from = id_start.saturating_sub(AWS_PAIR_WINDOW);
    let to = (id_end + AWS_PAIR_WINDOW).min(text.len());
    let mut i = from;
    // Start at a token boundary: a run cut by the window edge is not judged.
    while i < to && i > 0 && secret_char(text[i - 1]) {
        i += 1;
    }
    while i < to {
        if !secret_char(text[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < text.len() && secret_char(text[i]) {
            i += 1;
        }
        let run = &text[start..i];
        if run.len() == AWS_SECRET_LEN
            && text.get(i) != Some(&b'=')
            && looks_random(run)
            && !(start < id_end && id_start < i)
        {
            out.push((start, i));
        }
    }
}

fn looks_random(run: &[u8]) -> bool {
    let upper = run.iter().any(u8::is_ascii_uppercase);
    let lower = run.iter().any(u8::is_ascii_lowercase);
    let digit = run.iter().any(u8::is_ascii_digit);
    let symbols = run.iter().filter(|&&b| b == b'/' || b == b'+').count();
    upper
        && lower
        && digit
        && symbols <= MAX_SYMBOLS
        && !run.starts_with(b"/")
        && !run.windows(2).any(|w| w == b"//")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn near(text: &str) -> Vec<&str> {
        let id = text.find("AKIA").unwrap();
        let mut out = Vec::new();
        aws_secrets_near(text.as_bytes(), id, id + 20, &mut out);
        out.into_iter().map(|(s, e)| &text[s..e]).collect()
    }

    #[test]
    fn the_secret_beside_its_key_id_is_found() {
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLE1";
        assert_eq!(secret.len(), 39);
        let secret = format!("{secret}Z");
        let csv = format!(
            "User name,Password,Access key ID,Secret access key\nci,,AKIAQWERTYUIOPASDFGH,{secret},https://x.signin.aws.amazon.com/console\n"
        );
        assert_eq!(near(&csv), [secret.as_str()]);
        let before = format!("secret {secret} goes with AKIAQWERTYUIOPASDFGH");
        assert_eq!(near(&before), [secret.as_str()]);
    }

    #[test]
    fn the_engine_names_this_rule() {
        let (name, ..) = crate::detect::SPECIAL[crate::detect::AWS_PAIR_SPECIAL];
        assert_eq!(name, "aws-secret-access-key");
    }

    #[test]
    fn hashes_paths_and_longer_tokens_are_not_secrets() {
        // A git SHA (hex, one case), a path, a 41-character token, base64 padding.
        for other in [
            "3f786850e387550fdab836ed7e6dc881de23001b",
            "src/Main2/java/com/acme/Service/Impl/Foo",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLE1ZZ",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLE1Z=",
        ] {
            let text = format!("AKIAQWERTYUIOPASDFGH {other}");
            assert!(near(&text).is_empty(), "{other}");
        }
    }
}
