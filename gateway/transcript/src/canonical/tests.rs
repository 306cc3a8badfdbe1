use proptest::prelude::*;
use serde_json::{Value, json};

use super::{Invalid, decode_string, write_block, write_string, write_value};

/// What `serde_json` makes of `raw`: the definition the canonical writer must meet.
fn oracle(raw: &str) -> String {
    serde_json::to_string(&serde_json::from_str::<Value>(raw).unwrap()).unwrap()
}

fn canonical(raw: &str) -> Result<String, Invalid> {
    let mut out = b"prefix".to_vec();
    write_value(raw, &mut out)?;
    // Appends: what was in the buffer stays.
    assert_eq!(&out[..6], b"prefix");
    Ok(String::from_utf8(out[6..].to_vec()).unwrap())
}

fn block(raw: &str) -> String {
    let mut out = Vec::new();
    write_block(raw, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// A small deterministic choice stream for spelling a value in many ways.
pub(crate) struct Choices(pub(crate) u64);

impl Choices {
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }

    fn ws(&mut self, out: &mut String) {
        for _ in 0..self.next(3) {
            out.push([' ', '\n', '\t', '\r'][usize::try_from(self.next(4)).unwrap()]);
        }
    }
}

/// `value` written with random whitespace, `\uXXXX` escapes of any character, escaped
/// slashes, and numbers in other spellings.
pub(crate) fn spell(value: &Value, c: &mut Choices, out: &mut String) {
    c.ws(out);
    match value {
        Value::Object(map) => {
            out.push('{');
            for (n, (k, v)) in map.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                c.ws(out);
                spell_str(k, c, out);
                c.ws(out);
                out.push(':');
                spell(v, c, out);
            }
            c.ws(out);
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (n, v) in items.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                spell(v, c, out);
            }
            c.ws(out);
            out.push(']');
        }
        Value::String(s) => spell_str(s, c, out),
        Value::Number(n) if n.is_u64() && c.next(2) == 0 => {
            out.push_str(&format!("{}.0e0", n.as_u64().unwrap()));
        }
        other => out.push_str(&other.to_string()),
    }
    c.ws(out);
}

fn spell_str(s: &str, c: &mut Choices, out: &mut String) {
    out.push('"');
    for ch in s.chars() {
        match (ch, c.next(3)) {
            ('/', 0) => out.push_str("\\/"),
            (ch, 0) if u32::from(ch) < 0x10000 => {
                out.push_str(&format!("\\u{:04x}", u32::from(ch)))
            }
            ('"', _) => out.push_str("\\\""),
            ('\\', _) => out.push_str("\\\\"),
            (ch, _) if u32::from(ch) < 0x20 => out.push_str(&format!("\\u{:04X}", u32::from(ch))),
            (ch, _) => out.push(ch),
        }
    }
    out.push('"');
}

pub(crate) fn arb_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        (-1e6f64..1e6).prop_map(|f| json!(f)),
        "[a-z/\"\\\\\u{0}-\u{1f} é€😀]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_/é\"]{0,6}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Whatever the spelling, the canonical form is serde_json's compact output of the value.
    #[test]
    fn canonical_is_serde_compact(value in arb_value(), seed in 1u64..) {
        let mut raw = String::new();
        spell(&value, &mut Choices(seed), &mut raw);
        prop_assert_eq!(canonical(&raw).unwrap(), oracle(&raw));
    }

    /// The canonical form of a canonical form is itself.
    #[test]
    fn canonical_is_a_fixed_point(value in arb_value()) {
        let compact = serde_json::to_string(&value).unwrap();
        prop_assert_eq!(canonical(&compact).unwrap(), compact);
    }
}

#[test]
fn keys_are_sorted_and_the_last_duplicate_wins() {
    let raw = r#"{ "type" : "text", "text": "a", "a": {"z": 1, "b": [true, null]}, "type": "x" }"#;
    assert_eq!(
        canonical(raw).unwrap(),
        r#"{"a":{"b":[true,null],"z":1},"text":"a","type":"x"}"#
    );
    assert_eq!(canonical(raw).unwrap(), oracle(raw));
}

#[test]
fn numbers_are_spelled_as_serde_spells_them() {
    for raw in [
        "1",
        "-1",
        "1.5",
        "1e3",
        "-0",
        "18446744073709551616",
        "1E-7",
        "0.10",
    ] {
        assert_eq!(canonical(raw).unwrap(), oracle(raw), "{raw}");
    }
}

#[test]
fn escapes_are_normalized() {
    let raw = r#""caf\u00e9 \/ \ud83d\ude00 \u001f \n""#;
    assert_eq!(canonical(raw).unwrap(), oracle(raw));
    assert_eq!(canonical(raw).unwrap(), "\"café / 😀 \\u001f \\n\"");
}

#[test]
fn an_escaped_backslash_before_u_or_slash_is_not_an_escape_to_respell() {
    // `\\u` and `\\/` are an escaped backslash, then a plain `u` or `/`: kept as they are,
    // while an escape after an escaped backslash is still respelled.
    for raw in [
        r#""C:\\users\\x""#,
        r#""a\\/b""#,
        r#""\\\u00e9 \\\/""#,
        r#""tail\\""#,
        r#""\n\t\"\\""#,
    ] {
        assert_eq!(canonical(raw).unwrap(), oracle(raw), "{raw}");
    }
    assert_eq!(canonical(r#""C:\\users""#).unwrap(), r#""C:\\users""#);
    assert_eq!(canonical(r#""\\\u00e9""#).unwrap(), r#""\\é""#);
}

#[test]
fn blocks_lose_cache_control_and_thinking_signatures() {
    assert_eq!(
        block(r#"{"type":"text","text":"hi","cache_control":{"type":"ephemeral"}}"#),
        r#"{"text":"hi","type":"text"}"#
    );
    assert_eq!(
        block(r#"{"type":"thinking","thinking":"hm","signature":"c2ln"}"#),
        r#"{"thinking":"hm","type":"thinking"}"#
    );
    // Only a thinking block's signature goes, and only at the top level.
    assert_eq!(
        block(r#"{"type":"tool_use","signature":"s","input":{"cache_control":1}}"#),
        r#"{"input":{"cache_control":1},"signature":"s","type":"tool_use"}"#
    );
    assert_eq!(block(r#""plain""#), r#""plain""#);
}

#[test]
fn malformed_input_is_refused() {
    for raw in [
        "",
        "{",
        "[1,]",
        r#"{"a"}"#,
        r#""open"#,
        "tru",
        "1 2",
        "[1] x",
        "{\"a\":1,}",
    ] {
        assert_eq!(canonical(raw), Err(Invalid), "{raw:?}");
    }
    let deep = "[".repeat(200) + &"]".repeat(200);
    assert_eq!(canonical(&deep), Err(Invalid));
}

#[test]
fn strings_alone() {
    let mut out = Vec::new();
    write_string(r#" "a\u0062c" "#, &mut out).unwrap();
    assert_eq!(out, br#""abc""#);
    assert_eq!(write_string("1", &mut out), Err(Invalid));
    assert_eq!(decode_string(r#""plain""#).unwrap(), "plain");
    assert_eq!(decode_string(r#""a\nb""#).unwrap(), "a\nb");
    assert_eq!(decode_string("{}"), None);
}
