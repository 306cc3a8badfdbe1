//! Typed values out of spanned TOML: each reader returns the value, or records a problem with
//! the value's line and key path and returns `None`, so one bad key never hides another.

use toml::{
    Spanned,
    de::{DeString, DeTable, DeValue},
};

use crate::{money, problems::FileProblems};

pub(crate) type Value<'i> = Spanned<DeValue<'i>>;

/// What a wrong value was, for messages: `found a string`.
fn found(v: &Value<'_>) -> String {
    format!(
        "found {} {}",
        article(v.get_ref().type_str()),
        v.get_ref().type_str()
    )
}

fn article(noun: &str) -> &'static str {
    if noun.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

/// The table `v`, or `None` with the problem `message` (what was expected) at `key`.
pub(crate) fn table<'a, 'i>(
    out: &mut FileProblems<'_>,
    key: &str,
    v: &'a Value<'i>,
    message: &str,
) -> Option<&'a DeTable<'i>> {
    match v.get_ref() {
        DeValue::Table(table) => Some(table),
        _ => {
            out.at(&v.span(), key, message);
            None
        }
    }
}

pub(crate) fn string(out: &mut FileProblems<'_>, key: &str, v: &Value<'_>) -> Option<String> {
    match v.get_ref() {
        DeValue::String(s) => Some(s.to_string()),
        _ => {
            out.at(&v.span(), key, format!("expected a string, {}", found(v)));
            None
        }
    }
}

pub(crate) fn boolean(out: &mut FileProblems<'_>, key: &str, v: &Value<'_>) -> Option<bool> {
    match v.get_ref() {
        DeValue::Boolean(b) => Some(*b),
        _ => {
            out.at(
                &v.span(),
                key,
                format!("expected true or false, {}", found(v)),
            );
            None
        }
    }
}

/// Any whole number that fits in `i64`.
pub(crate) fn integer(out: &mut FileProblems<'_>, key: &str, v: &Value<'_>) -> Option<i64> {
    match v.get_ref() {
        DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
            Ok(n) => Some(n),
            Err(_) => {
                out.at(&v.span(), key, "too large");
                None
            }
        },
        _ => {
            out.at(
                &v.span(),
                key,
                format!("expected a whole number, {}", found(v)),
            );
            None
        }
    }
}

/// A count greater than zero (requests, tokens).
pub(crate) fn positive(out: &mut FileProblems<'_>, key: &str, v: &Value<'_>) -> Option<u64> {
    let expected = "expected a whole number greater than 0";
    match v.get_ref() {
        DeValue::Integer(i) => {
            let text = i.as_str();
            match u64::from_str_radix(text, i.radix()) {
                Ok(0) => out.at(&v.span(), key, "must be greater than 0, got 0"),
                Ok(n) => return Some(n),
                Err(_) if text.starts_with('-') => out.at(
                    &v.span(),
                    key,
                    format!("must be greater than 0, got {text}"),
                ),
                Err(_) => out.at(&v.span(), key, "too large"),
            }
        }
        _ => out.at(&v.span(), key, format!("{expected}, {}", found(v))),
    }
    None
}

/// A dollar amount greater than zero, as micro-USD.
pub(crate) fn usd(out: &mut FileProblems<'_>, key: &str, v: &Value<'_>) -> Option<u64> {
    let text = match v.get_ref() {
        DeValue::Float(f) => f.as_str().to_owned(),
        DeValue::Integer(i) => u64::from_str_radix(i.as_str(), i.radix())
            .map_or_else(|_| i.as_str().to_owned(), |n| n.to_string()),
        _ => {
            let message = format!("expected a dollar amount like 5.0, {}", found(v));
            out.at(&v.span(), key, message);
            return None;
        }
    };
    match money::parse_usd(&text) {
        Ok(0) => out.at(
            &v.span(),
            key,
            format!("must be greater than 0, got {text}"),
        ),
        Ok(micros) => return Some(micros),
        Err(e @ money::MoneyError::Negative) => {
            out.at(&v.span(), key, format!("{e}, got {text}"));
        }
        Err(e) => out.at(&v.span(), key, e.to_string()),
    }
    None
}

/// A fraction `0 < x ≤ 1` of each limit (`local_share`).
pub(crate) fn share(out: &mut FileProblems<'_>, key: &str, v: &Value<'_>) -> Option<f64> {
    let message = "must be greater than 0 and at most 1 (the fraction of each limit one \
                   replica may use alone)";
    fraction(out, key, v, message)
}

/// A fraction `0 < x ≤ 1`; `out_of_range` says what it is when it is not in range.
pub(crate) fn fraction(
    out: &mut FileProblems<'_>,
    key: &str,
    v: &Value<'_>,
    out_of_range: &str,
) -> Option<f64> {
    let parsed = match v.get_ref() {
        DeValue::Float(f) => f.as_str().parse::<f64>().ok(),
        DeValue::Integer(i) if i.radix() == 10 => i.as_str().parse::<f64>().ok(),
        _ => {
            let message = format!("expected a fraction like 0.5, {}", found(v));
            out.at(&v.span(), key, message);
            return None;
        }
    };
    match parsed {
        Some(x) if x > 0.0 && x <= 1.0 => Some(x),
        _ => {
            out.at(&v.span(), key, out_of_range);
            None
        }
    }
}

/// An array of strings, each passed to `check`; problems name the element (`key[2]`).
pub(crate) fn strings(
    out: &mut FileProblems<'_>,
    key: &str,
    v: &Value<'_>,
    check: fn(&str) -> Result<(), String>,
) -> Option<Vec<String>> {
    let DeValue::Array(items) = v.get_ref() else {
        out.at(
            &v.span(),
            key,
            format!("expected an array of strings, {}", found(v)),
        );
        return None;
    };
    let mut all = Some(Vec::with_capacity(items.len()));
    for (i, item) in items.iter().enumerate() {
        let item_key = format!("{key}[{i}]");
        let checked = string(out, &item_key, item).and_then(|s| match check(&s) {
            Ok(()) => Some(s),
            Err(message) => {
                out.at(&item.span(), &item_key, message);
                None
            }
        });
        match (checked, all.as_mut()) {
            (Some(s), Some(list)) => list.push(s),
            _ => all = None,
        }
    }
    all
}

/// Records an unknown key at its own line, suggesting the closest known one.
pub(crate) fn unknown(
    out: &mut FileProblems<'_>,
    path: &str,
    key: &Spanned<DeString<'_>>,
    known: &[&str],
) {
    let name = key.get_ref().as_ref();
    let close = known
        .iter()
        .map(|k| (distance(name, k), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4))
        .min_by_key(|(d, _)| *d);
    let message = match close {
        Some((_, k)) => format!("unknown key; did you mean `{k}`?"),
        None => format!("unknown key; expected one of: {}", known.join(", ")),
    };
    out.at(&key.span(), path, message);
}

/// Levenshtein distance, for "did you mean".
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    #[test]
    fn distance_counts_edits() {
        assert_eq!(super::distance("usd_per_dya", "usd_per_day"), 2);
        assert_eq!(super::distance("model", "models"), 1);
        assert_eq!(super::distance("", "abc"), 3);
        assert_eq!(super::distance("same", "same"), 0);
    }
}
