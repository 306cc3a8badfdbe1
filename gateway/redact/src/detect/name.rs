//! Judging a variable name: split on `_ . -` and camelCase into lowercase words, then
//! sensitive words and suffixes (`PASSWORD`, `PGPASSWORD`, `_KEY`…) against the words that
//! say the value is about a secret rather than the secret (`TOKEN_LIMIT`, `SECRET_NAME`,
//! `nextToken`, browser-public prefixes such as `NEXT_PUBLIC_`).

use super::words::{
    KEEP_LAST, NEUTRAL_ANY, NON_SECRET_KEY, NON_SECRET_TOKEN, SENSITIVE, SENSITIVE_SUFFIX,
};

const MAX_WORDS: usize = 12;
const MAX_NAME: usize = 96;

/// The lowercase words of a variable name.
pub(crate) struct Words {
    buf: [u8; MAX_NAME],
    ranges: [(u8, u8); MAX_WORDS],
    len: usize,
}

impl Words {
    /// Splits `name`; `None` if it is too long or has too many words to be a variable name.
    pub(crate) fn split(name: &[u8]) -> Option<Self> {
        if name.len() > MAX_NAME {
            return None;
        }
        let mut w = Self {
            buf: [0; MAX_NAME],
            ranges: [(0, 0); MAX_WORDS],
            len: 0,
        };
        let mut start: Option<usize> = None;
        for (i, &c) in name.iter().enumerate() {
            w.buf[i] = c.to_ascii_lowercase();
            if !c.is_ascii_alphanumeric() {
                if let Some(s) = start.take() {
                    w.push(s, i)?;
                }
                continue;
            }
            let boundary = i > 0 && c.is_ascii_uppercase() && {
                let prev = name[i - 1];
                prev.is_ascii_lowercase()
                    || prev.is_ascii_digit()
                    || (prev.is_ascii_uppercase()
                        && name.get(i + 1).is_some_and(u8::is_ascii_lowercase))
            };
            match start {
                Some(s) if boundary => {
                    w.push(s, i)?;
                    start = Some(i);
                }
                Some(_) => {}
                None => start = Some(i),
            }
        }
        if let Some(s) = start {
            w.push(s, name.len())?;
        }
        Some(w)
    }

    fn push(&mut self, s: usize, e: usize) -> Option<()> {
        let slot = self.ranges.get_mut(self.len)?;
        *slot = (u8::try_from(s).ok()?, u8::try_from(e).ok()?);
        self.len += 1;
        Some(())
    }

    fn get(&self, i: usize) -> &[u8] {
        let (s, e) = self.ranges[i];
        &self.buf[usize::from(s)..usize::from(e)]
    }

    fn iter(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.len).map(|i| self.get(i))
    }
}

/// `set` is sorted (see `words.rs`).
fn is_in(word: &[u8], set: &[&[u8]]) -> bool {
    set.binary_search(&word).is_ok()
}

/// Framework prefixes that ship values to the browser, and names that say their value is
/// public: name rules off (formats still win).
fn browser_public(words: &Words) -> bool {
    let first = words.get(0);
    let second = if words.len > 1 { words.get(1) } else { b"" };
    first == b"vite"
        || (first == b"next" && second == b"public")
        || (first == b"expo" && second == b"public")
        || (first == b"react" && second == b"app")
        || words
            .iter()
            .any(|w| w == b"public" || w == b"publishable" || w == b"pub")
}

/// Whether a variable's value is public by design (browser-shipped prefixes, `PUBLIC`,
/// `PUBLISHABLE`, Supabase's `ANON` key): even in a `.env` file it is no secret.
pub(crate) fn public_name(name: &[u8]) -> bool {
    Words::split(name).is_some_and(|w| browser_public(&w) || w.iter().any(|w| w == b"anon"))
}

/// Whether a variable name asks for its value to be treated as a secret.
pub(crate) fn sensitive_name(name: &[u8]) -> bool {
    let Some(words) = Words::split(name) else {
        return false;
    };
    if words.len == 0 || words.get(0) == b"gwx" {
        return false;
    }
    if browser_public(&words) {
        return false;
    }
    let last = words.get(words.len - 1);
    if is_in(last, KEEP_LAST) || words.iter().any(|w| is_in(w, NEUTRAL_ANY)) {
        return false;
    }
    let mut prev: &[u8] = b"";
    for (i, w) in words.iter().enumerate() {
        let tokenish = w == b"token" || (w.ends_with(b"token") && w.len() > 5);
        if tokenish && (is_in(prev, NON_SECRET_TOKEN) || w == b"nexttoken") {
            prev = w;
            continue;
        }
        if is_in(w, SENSITIVE)
            || SENSITIVE_SUFFIX
                .iter()
                .any(|s| w.len() > s.len() && w.ends_with(s))
        {
            return true;
        }
        if i + 1 == words.len && w == b"session" {
            return true;
        }
        prev = w;
    }
    if last == b"key" && words.len >= 2 {
        let before = words.get(words.len - 2);
        return !is_in(before, NON_SECRET_KEY);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(name: &str) -> Vec<String> {
        let w = Words::split(name.as_bytes()).unwrap();
        w.iter()
            .map(|x| String::from_utf8(x.to_vec()).unwrap())
            .collect()
    }

    #[test]
    fn names_split_on_separators_and_camel_case() {
        assert_eq!(
            words("AWS_SECRET_ACCESS_KEY"),
            ["aws", "secret", "access", "key"]
        );
        assert_eq!(
            words("awsSecretAccessKey"),
            ["aws", "secret", "access", "key"]
        );
        assert_eq!(words("APIKey"), ["api", "key"]);
        assert_eq!(
            words("spring.datasource.password"),
            ["spring", "datasource", "password"]
        );
        assert_eq!(words("--auth-token"), ["auth", "token"]);
    }

    #[test]
    fn sensitive_names() {
        for n in [
            "DB_PASSWORD",
            "PGPASSWORD",
            "apiKey",
            "STRIPE_KEY",
            "client_secret",
            "GITHUB_TOKEN",
            "_authToken",
            "aws_secret_access_key",
            "SECRET_KEY_BASE",
            "X-API-Key",
            "SESSION",
            "jwtSecret",
            "MYSQL_PWD",
            "auth",
        ] {
            assert!(sensitive_name(n.as_bytes()), "{n}");
        }
        for n in [
            "PORT",
            "NODE_ENV",
            "max_tokens",
            "tokenizer",
            "public_key",
            "keyboard",
            "monkey",
            "key",
            "SECRET_NAME",
            "TOKEN_LIMIT",
            "PASSWORD_MIN_LENGTH",
            "nextToken",
            "cache_key",
            "AWS_ACCESS_KEY_ID",
            "DATABASE_URL",
            "STRIPE_PUBLISHABLE_KEY",
            "NEXT_PUBLIC_API_KEY",
            "VITE_API_KEY",
            "bypass",
            "author",
            "PRIMARY_KEY",
            "passthrough",
            "sort_key",
            "input_tokens",
        ] {
            assert!(!sensitive_name(n.as_bytes()), "{n}");
        }
    }

    #[test]
    fn word_sets_are_sorted_for_binary_search() {
        for set in [
            SENSITIVE,
            KEEP_LAST,
            NON_SECRET_KEY,
            NON_SECRET_TOKEN,
            NEUTRAL_ANY,
        ] {
            assert!(set.windows(2).all(|w| w[0] < w[1]));
        }
    }
}
