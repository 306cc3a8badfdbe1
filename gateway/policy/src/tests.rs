//! Parsing, validation and selection, through the public API.

use crate::{Limits, OnStoreError, PolicyErrors, PolicySet, Scope, Who, report, summary};

fn set(files: &[(&str, &str)]) -> Result<PolicySet, PolicyErrors> {
    let files: Vec<(String, String)> = files
        .iter()
        .map(|(n, t)| ((*n).to_owned(), (*t).to_owned()))
        .collect();
    PolicySet::parse_files(&files)
}

fn one(text: &str) -> PolicySet {
    match set(&[("p.toml", text)]) {
        Ok(s) => s,
        Err(e) => panic!("expected valid policies, got:\n{e}"),
    }
}

fn errors(files: &[(&str, &str)]) -> Vec<String> {
    match set(files) {
        Ok(_) => panic!("expected problems"),
        Err(e) => e.0.iter().map(ToString::to_string).collect(),
    }
}

fn who<'a>(subject: &'a str, org: Option<&'a str>, plan: Option<&'a str>) -> Who<'a> {
    Who { subject, org, plan }
}

fn selected(s: &PolicySet, w: Who<'_>) -> Option<String> {
    s.select(&w).map(|p| p.name.clone())
}

const ACCEPTANCE: &str = r#"
[[policy]]
name = "free"
match = { plan = "free" }          # principal fields: subject, org, plan; no match = default policy
requests_per_minute = 30
tokens_per_minute = 200_000         # input + output
tokens_per_day = 2_000_000
usd_per_day = 5.0
usd_per_month = 50.0
models = ["claude-sonnet-*", "claude-haiku-*"]   # allowed models (globs); absent = all
max_tokens_cap = 16000              # requests asking for more are clamped
"#;

#[test]
fn the_acceptance_test_shape_parses_to_these_values() {
    let s = one(ACCEPTANCE);
    let p = s
        .select(&who("u1", None, Some("free")))
        .expect("free matches");
    assert_eq!(p.name, "free");
    assert_eq!(
        p.limits,
        Limits {
            requests_per_minute: Some(30),
            tokens_per_minute: Some(200_000),
            tokens_per_day: Some(2_000_000),
            usd_per_day: Some(5_000_000),
            usd_per_month: Some(50_000_000),
        }
    );
    assert_eq!(p.max_tokens_cap, Some(16_000));
    assert_eq!(p.cap_max_tokens(64_000), 16_000);
    assert_eq!(p.cap_max_tokens(1_000), 1_000);
    assert!(!p.clamp_max_tokens);
    assert_eq!(p.org_limits, None);
    assert_eq!(p.local_share, 1.0);
    assert_eq!((p.origin.file.as_str(), p.origin.line), ("p.toml", 2));
    // Money limits make the policy fail closed unless it says otherwise.
    assert_eq!(p.on_store_error, OnStoreError::Deny);
    assert_eq!(s.select(&who("u1", None, Some("pro"))), None);
    assert_eq!(s.select(&who("u1", None, None)), None);
}

#[test]
fn model_globs_allow_dated_and_new_ids_of_the_family_only() {
    let s = one(ACCEPTANCE);
    let p = &s.policies()[0];
    assert!(p.allows_model("claude-sonnet-4-6"));
    assert!(p.allows_model("claude-sonnet-4-5-20250929"));
    assert!(p.allows_model("claude-haiku-4-5"));
    assert!(!p.allows_model("claude-opus-4-5"));
    let all = one("[[policy]]\nname = \"all\"\n");
    assert!(all.policies()[0].allows_model("anything-at-all"));
    let none = one("[[policy]]\nname = \"blocked\"\nmodels = []\n");
    assert!(!none.policies()[0].allows_model("claude-sonnet-4-6"));
}

#[test]
fn store_error_defaults_follow_money_limits_and_can_be_set() {
    let s = one(r#"
[[policy]]
name = "rate-only"
match = { plan = "a" }
requests_per_minute = 10

[[policy]]
name = "org-money"
match = { plan = "b" }
[policy.org]
usd_per_month = 100

[[policy]]
name = "explicit"
match = { plan = "c" }
usd_per_day = 1.5
on_store_error = "allow_local"
local_share = 0.25
clamp_max_tokens = true
"#);
    let on = |name: &str| s.get(name).map(|p| p.on_store_error);
    assert_eq!(on("rate-only"), Some(OnStoreError::AllowLocal));
    assert_eq!(on("org-money"), Some(OnStoreError::Deny));
    assert_eq!(on("explicit"), Some(OnStoreError::AllowLocal));
    let explicit = s.get("explicit").expect("present");
    assert_eq!(explicit.local_share, 0.25);
    assert!(explicit.clamp_max_tokens);
    assert_eq!(explicit.limits.usd_per_day, Some(1_500_000));
}

const RANKED: &str = r#"
[[policy]]
name = "everyone"

[[policy]]
name = "pro"
match = { plan = "pro" }

[[policy]]
name = "pro-ish"
match = { plan = "pro*" }

[[policy]]
name = "acme-pro"
match = { org = "acme", plan = "pro" }

[[policy]]
name = "vip"
match = { subject = "vip-*" }
priority = 10
"#;

#[test]
fn priority_then_specificity_then_order_decide_and_default_comes_last() {
    let s = one(RANKED);
    let names: Vec<&str> = s.policies().iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["vip", "acme-pro", "pro", "pro-ish", "everyone"]);
    assert_eq!(
        selected(&s, who("vip-1", Some("acme"), Some("pro"))).as_deref(),
        Some("vip")
    );
    assert_eq!(
        selected(&s, who("u", Some("acme"), Some("pro"))).as_deref(),
        Some("acme-pro")
    );
    assert_eq!(
        selected(&s, who("u", Some("other"), Some("pro"))).as_deref(),
        Some("pro")
    );
    assert_eq!(
        selected(&s, who("u", None, Some("pro-2024"))).as_deref(),
        Some("pro-ish")
    );
    assert_eq!(
        selected(&s, who("u", None, None)).as_deref(),
        Some("everyone")
    );
}

#[test]
fn file_name_order_breaks_ties_between_files() {
    let a = "[[policy]]\nname = \"from-a\"\nmatch = { plan = \"p*\" }\n";
    let b = "[[policy]]\nname = \"from-b\"\nmatch = { plan = \"*o\" }\n";
    let s = set(&[("b.toml", b), ("a.toml", a)]).expect("valid");
    assert_eq!(
        selected(&s, who("u", None, Some("pro"))).as_deref(),
        Some("from-a")
    );
}

#[test]
fn without_a_default_an_unmatched_principal_has_no_policy() {
    assert_eq!(PolicySet::empty().select(&who("u", None, None)), None);
    assert!(PolicySet::empty().is_empty());
    let s = one("[[policy]]\nname = \"x\"\nmatch = { org = \"acme\" }\n");
    assert_eq!(s.select(&who("u", None, None)), None);
    assert!(summary(&s).contains("no default policy"));
    let s = one("[[policy]]\nname = \"d\"\nmatch = {}\n");
    assert_eq!(selected(&s, who("u", None, None)).as_deref(), Some("d"));
}

#[test]
fn org_limits_add_an_org_bucket_when_the_principal_has_an_org() {
    let s = one(r#"
[[policy]]
name = "team"
usd_per_day = 5.0

[policy.org]
usd_per_day = 100.0
requests_per_minute = 600
"#);
    let p = &s.policies()[0];
    let org = p.org_limits.clone().expect("org limits");
    assert_eq!(org.usd_per_day, Some(100_000_000));
    assert_eq!(org.requests_per_minute, Some(600));
    let w = who("alice", Some("acme"), None);
    let buckets: Vec<(Scope<'_>, &Limits)> = p.buckets(&w).collect();
    assert_eq!(
        buckets,
        [
            (Scope::Subject("alice"), &p.limits),
            (Scope::Org("acme"), &org)
        ]
    );
    // The buckets outlive the `Who` they were computed from.
    let buckets = p.buckets(&who("bob", None, None));
    assert_eq!(buckets.count(), 1);
}

const OK: &str = "[[policy]]\nname = \"fine\"\nmatch = { subject = \"x\" }\n";

const BAD_A: &str = r#"[[policy]]
name = "free"
match = { plan = "free", team = "x" }
requests_per_minute = -5
usd_per_day = 0.0000001
usd_per_dya = 5.0
models = ["claude-[so]*", 7]
on_store_error = "maybe"
local_share = 1.5

[policy.org]
tokens_per_day = 0
bogus = 1

[[policy]]
match = { plan = "pro" }
tokens_per_minute = "lots"
"#;

const BAD_B: &str = r#"[[policy]]
name = "free"

[[policy]]
name = "second-default"

[[policy]]
name = "dup-match"
match = { plan = "pro" }
priority = 1

[[policy]]
name = "dup-match-2"
match = { plan = "pro" }
priority = 1
max_tokens_cap = 0
"#;

#[test]
fn every_problem_of_every_file_is_reported_with_file_line_and_key() {
    let got = errors(&[("b.toml", BAD_B), ("a.toml", BAD_A), ("ok.toml", OK)]);
    let expected = [
        "a.toml:3: policy[0].match.team: unknown key; expected one of: subject, org, plan",
        "a.toml:4: policy[0].requests_per_minute: must be greater than 0, got -5",
        "a.toml:5: policy[0].usd_per_day: more than 6 decimals; amounts are whole micro-dollars",
        "a.toml:6: policy[0].usd_per_dya: unknown key; did you mean `usd_per_day`?",
        "a.toml:7: policy[0].models[0]: invalid model glob `claude-[so]*`",
        "a.toml:7: policy[0].models[1]: expected a string, found an integer",
        "a.toml:8: policy[0].on_store_error: unknown value `maybe`; expected \"deny\" or \"allow_local\"",
        "a.toml:9: policy[0].local_share: must be greater than 0 and at most 1",
        "a.toml:12: policy[0].org.tokens_per_day: must be greater than 0, got 0",
        "a.toml:13: policy[0].org.bogus: unknown key; expected one of: requests_per_minute",
        "a.toml:15: policy[1].name: missing; every policy needs a name",
        "a.toml:17: policy[1].tokens_per_minute: expected a whole number greater than 0, found a string",
        "b.toml:1: policy[0].name: duplicate name; `free` is already used at a.toml:1",
        "b.toml:4: policy[1].match: a second default policy (no `match`); `free` at b.toml:1",
        "b.toml:12: policy[3].match: never selected: `dup-match` at b.toml:7",
        "b.toml:16: policy[3].max_tokens_cap: must be greater than 0, got 0",
    ];
    for want in expected {
        assert!(
            got.iter().any(|g| g.starts_with(want)),
            "missing `{want}` in:\n{}",
            got.join("\n")
        );
    }
    assert_eq!(got.len(), expected.len(), "{}", got.join("\n"));
    // Files in name order, lines in order within a file.
    let places: Vec<(String, usize)> = got
        .iter()
        .map(|g| {
            let mut parts = g.splitn(3, ':');
            let file = parts.next().unwrap_or_default().to_owned();
            let line = parts.next().and_then(|l| l.parse().ok()).unwrap_or(0);
            (file, line)
        })
        .collect();
    assert!(places.is_sorted(), "{places:?}");
}

#[test]
fn duplicate_names_across_files_name_both_places() {
    let a = "# a\n[[policy]]\nname = \"free\"\nmatch = { plan = \"a\" }\n";
    let b = "[[policy]]\nname = \"free\"\nmatch = { plan = \"b\" }\n";
    let got = errors(&[("a.toml", a), ("b.toml", b)]);
    assert_eq!(
        got,
        ["b.toml:1: policy[0].name: duplicate name; `free` is already used at a.toml:2"]
    );
}

#[test]
fn syntax_errors_and_stray_keys_are_reported_per_file() {
    let got = errors(&[
        ("broken.toml", "[[policy]]\nname = \"x\"\nusd_per_day = \n"),
        ("stray.toml", "limits = 5\n[policy]\nname = \"y\"\n"),
    ]);
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(
        got[0].starts_with("broken.toml:3: not valid TOML"),
        "{got:?}"
    );
    assert!(
        got[1].starts_with("stray.toml:1: limits: unknown key"),
        "{got:?}"
    );
    assert!(
        got[2].starts_with("stray.toml:2: policy: write each policy as"),
        "{got:?}"
    );
}

#[test]
fn priority_on_the_default_policy_is_refused() {
    let got = errors(&[("p.toml", "[[policy]]\nname = \"d\"\npriority = 3\n")]);
    assert_eq!(got.len(), 1);
    assert!(got[0].starts_with("p.toml:1: policy[0].priority: a default policy"));
}

#[test]
fn the_report_counts_problems_and_files() {
    let e = set(&[("a.toml", BAD_A), ("b.toml", BAD_B)]).expect_err("invalid");
    let text = report(&e);
    assert!(
        text.starts_with("16 problems in 2 policy files:\na.toml:3: "),
        "{text}"
    );
    assert!(text.ends_with("keeps its previous policies)\n"), "{text}");
}

#[test]
fn the_fingerprint_follows_the_input() {
    let a = one(ACCEPTANCE);
    let b = one(ACCEPTANCE);
    let c = one(RANKED);
    assert_eq!(a.fingerprint(), b.fingerprint());
    assert_ne!(a.fingerprint(), c.fingerprint());
    assert_eq!(a, b);
}
