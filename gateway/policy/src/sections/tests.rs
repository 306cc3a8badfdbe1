//! `[policy.redaction]` and `[policy.transcripts]` through the public API.

use crate::{
    PolicyErrors, PolicySet, RedactionRule, RedactionSettings, TranscriptMode, TranscriptSettings,
};

fn parse(text: &str) -> Result<PolicySet, PolicyErrors> {
    PolicySet::parse_files(&[("p.toml".to_owned(), text.to_owned())])
}

fn one(text: &str) -> PolicySet {
    match parse(text) {
        Ok(s) => s,
        Err(e) => panic!("expected valid policies, got:\n{e}"),
    }
}

fn problems(text: &str) -> Vec<String> {
    match parse(text) {
        Ok(_) => panic!("expected problems"),
        Err(e) => e.0.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn policies_without_the_sections_get_the_defaults() {
    let s = one("[[policy]]\nname = \"plain\"\n");
    let p = &s.policies()[0];
    assert_eq!(p.redaction, RedactionSettings::default());
    assert!(p.redaction.enabled && !p.redaction.restore);
    assert!(p.redaction.allow.is_empty() && p.redaction.rules.is_empty());
    assert!(!p.redaction.customises_engine());
    assert_eq!(p.transcripts, TranscriptSettings::default());
    assert_eq!(p.transcripts.mode, TranscriptMode::Full);
    assert_eq!(p.transcripts.sample, 1.0);
}

#[test]
fn both_sections_parse_to_these_values() {
    let s = one(r#"
[[policy]]
name = "acme"
match = { org = "acme" }

[policy.redaction]
enabled = true
allow = ["sk-test-shared-sandbox-key"]
restore = true

[[policy.redaction.rules]]
name = "acme-internal-token"
anchors = ["acmetok_"]
pattern = "acmetok_[A-Za-z0-9]{32}"

[[policy.redaction.rules]]
name = "acme-session"
anchors = ["acmesess-", "ACMESESS-"]
pattern = "(?i)acmesess-[0-9a-f]{24}"

[policy.transcripts]
mode = "metadata"
sample = 0.25

[[policy]]
name = "sandbox"
match = { plan = "sandbox" }
redaction = { enabled = false }
transcripts = { mode = "off" }
"#);
    let acme = s.get("acme").expect("present");
    assert_eq!(
        acme.redaction,
        RedactionSettings {
            enabled: true,
            allow: vec!["sk-test-shared-sandbox-key".to_owned()],
            rules: vec![
                RedactionRule {
                    name: "acme-internal-token".to_owned(),
                    anchors: vec!["acmetok_".to_owned()],
                    pattern: "acmetok_[A-Za-z0-9]{32}".to_owned(),
                    pattern_line: 14,
                },
                RedactionRule {
                    name: "acme-session".to_owned(),
                    anchors: vec!["acmesess-".to_owned(), "ACMESESS-".to_owned()],
                    pattern: "(?i)acmesess-[0-9a-f]{24}".to_owned(),
                    pattern_line: 19,
                },
            ],
            restore: true,
        }
    );
    assert!(acme.redaction.customises_engine());
    assert_eq!(
        acme.transcripts,
        TranscriptSettings {
            mode: TranscriptMode::Metadata,
            sample: 0.25
        }
    );
    let sandbox = s.get("sandbox").expect("present");
    assert!(!sandbox.redaction.enabled);
    assert!(!sandbox.redaction.restore);
    assert_eq!(sandbox.transcripts.mode, TranscriptMode::Off);
    assert_eq!(sandbox.transcripts.sample, 1.0);
    assert_eq!(TranscriptMode::Metadata.as_str(), "metadata");
}

#[test]
fn every_bad_key_is_reported_at_once_with_its_line_and_path() {
    let got = problems(
        r#"[[policy]]
name = "bad"

[policy.redaction]
enabled = "yes"
allow = ["ok", "", 3]
restore = 1
restor = true

[[policy.redaction.rules]]
name = ""
anchors = ["ab", "ümlaut"]
pattern = "acmetok_[A-Za-z0-9{32}"

[[policy.redaction.rules]]
anchors = []
pattern = "x*"
colour = "red"

[[policy.redaction.rules]]
name = "no-pattern"
anchors = ["abc"]

[policy.transcripts]
mode = "everything"
sample = 0
smaple = 0.5
"#,
    );
    let want = [
        "p.toml:5: policy[0].redaction.enabled: expected true or false, found a string",
        "p.toml:6: policy[0].redaction.allow[1]: must not be empty",
        "p.toml:6: policy[0].redaction.allow[2]: expected a string, found an integer",
        "p.toml:7: policy[0].redaction.restore: expected true or false, found an integer",
        "p.toml:8: policy[0].redaction.restor: unknown key; did you mean `restore`?",
        "p.toml:11: policy[0].redaction.rules[0].name: must be a non-empty name without control characters",
        "p.toml:12: policy[0].redaction.rules[0].anchors[0]: an anchor must be at least 3 ASCII characters",
        "p.toml:12: policy[0].redaction.rules[0].anchors[1]: an anchor must be at least 3 ASCII characters",
        "policy[0].redaction.rules[1].name: missing; every rule needs name, anchors, pattern",
        "p.toml:16: policy[0].redaction.rules[1].anchors: needs at least one anchor",
        "p.toml:18: policy[0].redaction.rules[1].colour: unknown key; expected one of: name, anchors, pattern",
        "policy[0].redaction.rules[2].pattern: missing; every rule needs name, anchors, pattern",
        "p.toml:25: policy[0].transcripts.mode: unknown value `everything`; expected \"full\", \"metadata\" or \"off\"",
        "p.toml:26: policy[0].transcripts.sample: must be greater than 0 and at most 1 (the share of sessions recorded",
        "p.toml:27: policy[0].transcripts.smaple: unknown key; did you mean `sample`?",
    ];
    for w in want {
        assert!(
            got.iter().any(|g| g.contains(w)),
            "missing {w:?} in:\n{}",
            got.join("\n")
        );
    }
    assert_eq!(got.len(), want.len(), "{}", got.join("\n"));
}

#[test]
fn wrong_shapes_of_the_sections_are_problems() {
    let got = problems(
        r#"[[policy]]
name = "shapes"
redaction = "off"
transcripts = ["full"]

[[policy]]
name = "rules-not-array"
match = { plan = "x" }
redaction = { rules = { name = "a" } }
transcripts = { sample = "all" }
"#,
    );
    let want = [
        "p.toml:3: policy[0].redaction: expected a table, `[policy.redaction]`",
        "p.toml:4: policy[0].transcripts: expected a table, `[policy.transcripts]`",
        "p.toml:9: policy[1].redaction.rules: write each rule as an array table",
        "p.toml:10: policy[1].transcripts.sample: expected a fraction like 0.5, found a string",
    ];
    for w in want {
        assert!(
            got.iter().any(|g| g.contains(w)),
            "missing {w:?} in:\n{}",
            got.join("\n")
        );
    }
    assert_eq!(got.len(), want.len(), "{}", got.join("\n"));
}
