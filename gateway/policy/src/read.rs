//! One policy file's text → its [`Policy`]s, recording every problem with line and key path.
//!
//! The raw form is `toml`'s spanned document ([`DeTable`]), walked key by key: an unknown key
//! is a problem (as with serde's `deny_unknown_fields`) but never stops the walk, so one run
//! reports every mistake of the file.

use toml::de::{DeTable, DeValue};

use crate::{
    Limit, Limits, Match, OnStoreError, Origin, Policy,
    fields::{self, Value},
    glob,
    problems::FileProblems,
    sections,
};

/// Every key a `[[policy]]` table may have.
pub(crate) const POLICY_KEYS: &[&str] = &[
    "name",
    "description",
    "match",
    "priority",
    "requests_per_minute",
    "tokens_per_minute",
    "tokens_per_day",
    "usd_per_day",
    "usd_per_month",
    "org",
    "models",
    "max_tokens_cap",
    "clamp_max_tokens",
    "on_store_error",
    "local_share",
    "redaction",
    "transcripts",
];

const MATCH_KEYS: &[&str] = &["subject", "org", "plan"];

/// A policy as read, possibly with problems (then only good for checks across files).
#[derive(Debug)]
pub(crate) struct Read {
    pub(crate) policy: Policy,
    /// Whether `match` was read without problems, so comparing it with others means something.
    pub(crate) match_ok: bool,
    /// Whether the whole policy was read without problems.
    pub(crate) ok: bool,
}

/// The policies of one file, in file order, each as far as it could be read; the problems
/// are in `out`.
pub(crate) fn file(out: &mut FileProblems<'_>, text: &str) -> Vec<Read> {
    let doc = match DeTable::parse(text) {
        Ok(doc) => doc,
        Err(e) => {
            let line = e.span().map(|span| out.line(&span));
            out.push(line, "", format!("not valid TOML: {}", e.message().trim()));
            return Vec::new();
        }
    };
    let mut policies = Vec::new();
    for (key, value) in doc.get_ref() {
        if key.get_ref() != "policy" {
            fields::unknown(out, key.get_ref(), key, &["policy"]);
            continue;
        }
        let DeValue::Array(items) = value.get_ref() else {
            out.at(
                &value.span(),
                "policy",
                "write each policy as an array table, `[[policy]]` (two brackets)",
            );
            continue;
        };
        for (i, item) in items.iter().enumerate() {
            if let Some(policy) = self::policy(out, i, item) {
                policies.push(policy);
            }
        }
    }
    policies
}

/// One `[[policy]]` table, or `None` when it is not a table.
fn policy(out: &mut FileProblems<'_>, index: usize, item: &Value<'_>) -> Option<Read> {
    let path = format!("policy[{index}]");
    let table = fields::table(
        out,
        &path,
        item,
        "expected a table; write each policy as `[[policy]]`",
    )?;
    let before = out.problems.len();
    let mut p = Policy::new("");
    p.origin = Origin {
        file: out.file.to_owned(),
        line: out.line(&item.span()),
        index,
    };
    let mut name = None;
    let mut on_store_error = None;
    let mut match_ok = true;
    for (key, v) in table {
        let k = key.get_ref().as_ref();
        let kp = format!("{path}.{k}");
        match k {
            "name" => name = fields::string(out, &kp, v).and_then(|n| check_name(out, &kp, v, n)),
            "description" => p.description = fields::string(out, &kp, v),
            "match" => {
                let problems = out.problems.len();
                p.matcher = matcher(out, &kp, v);
                match_ok = out.problems.len() == problems;
            }
            "priority" => p.priority = fields::integer(out, &kp, v),
            "org" => p.org_limits = org(out, &kp, v),
            "models" => p.models = fields::strings(out, &kp, v, glob::check_model),
            "max_tokens_cap" => p.max_tokens_cap = fields::positive(out, &kp, v),
            "clamp_max_tokens" => {
                p.clamp_max_tokens = fields::boolean(out, &kp, v).unwrap_or_default();
            }
            "on_store_error" => on_store_error = store_error(out, &kp, v),
            "local_share" => p.local_share = fields::share(out, &kp, v).unwrap_or(1.0),
            "redaction" => p.redaction = sections::redaction(out, &kp, v),
            "transcripts" => p.transcripts = sections::transcripts(out, &kp, v),
            _ => match Limit::from_key(k) {
                Some(limit) => p.limits.set(limit, self::limit(out, &kp, limit, v)),
                None => fields::unknown(out, &kp, key, POLICY_KEYS),
            },
        }
    }
    match name {
        Some(n) => p.name = n,
        // A name that was present but bad already has its problem.
        None if !table.iter().any(|(k, _)| k.get_ref() == "name") => out.at(
            &item.span(),
            &format!("{path}.name"),
            "missing; every policy needs a name, unique across all files",
        ),
        None => {}
    }
    if p.is_default() && p.priority.is_some() {
        out.at(
            &item.span(),
            &format!("{path}.priority"),
            "a default policy (no `match`) is used only when no other policy matches, so it \
             cannot have a priority; remove it or add a `match`",
        );
    }
    let has_money = p.limits.has_money() || p.org_limits.as_ref().is_some_and(Limits::has_money);
    p.on_store_error = on_store_error.unwrap_or(if has_money {
        OnStoreError::Deny
    } else {
        OnStoreError::AllowLocal
    });
    Some(Read {
        policy: p,
        match_ok,
        ok: out.problems.len() == before,
    })
}

fn check_name(
    out: &mut FileProblems<'_>,
    key: &str,
    v: &Value<'_>,
    name: String,
) -> Option<String> {
    if name.trim().is_empty() || name.chars().any(char::is_control) {
        out.at(
            &v.span(),
            key,
            "must be a non-empty name without control characters",
        );
        return None;
    }
    Some(name)
}

fn limit(out: &mut FileProblems<'_>, key: &str, limit: Limit, v: &Value<'_>) -> Option<u64> {
    if limit.is_money() {
        fields::usd(out, key, v)
    } else {
        fields::positive(out, key, v)
    }
}

/// `match = { subject = …, org = …, plan = … }`; an empty or bad table matches like none.
fn matcher(out: &mut FileProblems<'_>, path: &str, v: &Value<'_>) -> Match {
    let mut m = Match::default();
    let Some(table) = fields::table(out, path, v, "expected a table like `{ plan = \"free\" }`")
    else {
        return m;
    };
    for (key, value) in table {
        let kp = format!("{path}.{}", key.get_ref());
        let slot = match key.get_ref().as_ref() {
            "subject" => &mut m.subject,
            "org" => &mut m.org,
            "plan" => &mut m.plan,
            _ => {
                fields::unknown(out, &kp, key, MATCH_KEYS);
                continue;
            }
        };
        *slot = fields::string(out, &kp, value).and_then(|s| match glob::check_match(&s) {
            Ok(()) => Some(s),
            Err(message) => {
                out.at(&value.span(), &kp, message);
                None
            }
        });
    }
    m
}

/// `[policy.org]`: the limit keys only, at least one.
fn org(out: &mut FileProblems<'_>, path: &str, v: &Value<'_>) -> Option<Limits> {
    let table = fields::table(out, path, v, "expected a table of limits, `[policy.org]`")?;
    let mut limits = Limits::default();
    for (key, value) in table {
        let kp = format!("{path}.{}", key.get_ref());
        match Limit::from_key(key.get_ref()) {
            Some(l) => limits.set(l, limit(out, &kp, l, value)),
            None => {
                let known = Limit::ALL.map(Limit::key);
                fields::unknown(out, &kp, key, &known);
            }
        }
    }
    if table.is_empty() {
        let message = format!(
            "sets no limit; add one of {} or remove the table",
            Limit::ALL.map(Limit::key).join(", ")
        );
        out.at(&v.span(), path, message);
    }
    (!limits.is_empty()).then_some(limits)
}

fn store_error(out: &mut FileProblems<'_>, key: &str, v: &Value<'_>) -> Option<OnStoreError> {
    match fields::string(out, key, v)?.as_str() {
        "deny" => Some(OnStoreError::Deny),
        "allow_local" => Some(OnStoreError::AllowLocal),
        other => {
            let message = format!("unknown value `{other}`; expected \"deny\" or \"allow_local\"");
            out.at(&v.span(), key, message);
            None
        }
    }
}
