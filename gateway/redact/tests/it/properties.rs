//! Properties: valid JSON out with only scanned strings changed, determinism (a second
//! redactor with the same key agrees byte for byte), idempotence, and restore(redact(x)) == x
//! with the stream split at every byte position; on line-prefixed file contents (line
//! numbers, diff, quotes) the prefixes and line structure survive byte for byte and every
//! sensitive value goes.

use std::sync::LazyLock;

use gateway_core::Api;
use gateway_redact::{HistoryCache, Redactor, RedactorConfig, Restorer, Target, TenantKey};
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::common::bodies::{ALL_LINE_FORMS, prefix_lines};
use crate::common::{Rng, env_line, redactor, vendor_fakes};

/// Fragments the generated texts are made of: secrets, .env lines, JSON-hostile characters,
/// Unicode, placeholders and filler words.
static POOL: LazyLock<Vec<String>> = LazyLock::new(|| {
    let mut rng = Rng::new(0x9A0);
    let mut pool: Vec<String> = vendor_fakes(&mut rng)
        .into_iter()
        .filter(|f| f.family != "private-key")
        .map(|f| f.text)
        .collect();
    for d in 0..14 {
        pool.push(env_line(&mut rng, d).0);
    }
    for s in [
        "\"",
        "\\",
        "\\n",
        "\t",
        "é",
        "🦀",
        "{",
        "}",
        "PORT=3000",
        "<task-notification>",
        "gwx_env_0123456789ABCDEF",
        "token",
        "password:",
        "${API_KEY}",
        "the",
        "quick",
        "fox",
        "g",
        "gw",
        "gwx_",
        "```",
        "\r\n",
    ] {
        pool.push(s.to_owned());
    }
    pool
});

fn text_strategy() -> impl Strategy<Value = String> {
    prop::collection::vec((0..POOL.len(), prop::bool::ANY), 0..10).prop_map(|parts| {
        let mut s = String::new();
        for (i, newline) in parts {
            s.push_str(&POOL[i]);
            s.push(if newline { '\n' } else { ' ' });
        }
        s
    })
}

fn body_for(text: &str) -> Value {
    json!({"model": "m", "system": text, "messages": [
        {"role": "user", "content": text},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": text, "signature": "sig"},
            {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": text}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": text}]}]}
    ]})
}

/// Same structure; only strings may differ, and never the thinking block.
fn same_shape(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(_), Value::String(_)) => true,
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_shape(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter().zip(y).all(|((k1, v1), (k2, v2))| {
                    k1 == k2 && (k1 != "thinking" || v1 == v2) && same_shape(v1, v2)
                })
        }
        _ => a == b,
    }
}

static SECOND: LazyLock<Redactor> = LazyLock::new(|| {
    let key = TenantKey::new(b"test-tenant-key-0123456789abcdef".to_vec()).unwrap();
    Redactor::new(RedactorConfig::new(key)).unwrap()
});

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn redaction_is_valid_deterministic_idempotent_and_restorable(text in text_strategy()) {
        let input = body_for(&text);
        let body = serde_json::to_vec(&input).unwrap();
        let out = redactor().redact_request(&body, Api::AnthropicMessages, &HistoryCache::disabled()).unwrap();
        let parsed: Value = serde_json::from_slice(out.body()).expect("valid JSON out");
        prop_assert!(same_shape(&input, &parsed));

        let again = SECOND.redact_request(&body, Api::AnthropicMessages, &HistoryCache::new(64)).unwrap();
        prop_assert_eq!(again.body(), out.body());

        let twice = redactor().redact_request(out.body(), Api::AnthropicMessages, &HistoryCache::disabled()).unwrap();
        prop_assert!(twice.is_unchanged(), "second pass changed: {:?}", twice.report());

        let redacted = std::str::from_utf8(out.body()).unwrap();
        let original = std::str::from_utf8(&body).unwrap();
        for cut in 0..=redacted.len() {
            if !redacted.is_char_boundary(cut) {
                continue;
            }
            let mut r = Restorer::new(out.restore_map());
            let mut got = r.push(&redacted[..cut], Target::JsonFragment);
            got.push_str(&r.push(&redacted[cut..], Target::JsonFragment));
            got.push_str(&r.finish());
            prop_assert_eq!(&got, original, "split at {}", cut);
        }
    }

    #[test]
    fn arbitrary_json_never_panics_and_stays_valid(v in arb_json()) {
        let body = serde_json::to_vec(&v).unwrap();
        for surface in [Api::AnthropicMessages, Api::OpenAiChat, Api::OpenAiResponses] {
            let out = redactor().redact_request(&body, surface, &HistoryCache::disabled()).unwrap();
            let _: Value = serde_json::from_slice(out.body()).expect("valid JSON out");
        }
    }

    #[test]
    fn line_prefixes_survive_and_every_value_goes(
        seed in any::<u64>(),
        dialects in prop::collection::vec(0usize..14, 1..8),
        form in 0..ALL_LINE_FORMS.len(),
        first in 1usize..100_000,
        crlf in any::<bool>(),
    ) {
        let mut rng = Rng::new(seed);
        let mut lines = vec!["PORT=3000".to_owned()];
        let mut values = Vec::new();
        for d in dialects {
            let (line, value) = env_line(&mut rng, d);
            lines.push(line);
            lines.push("NODE_ENV=production".to_owned());
            values.push(value);
        }
        let mut file = prefix_lines(&lines.join("\n"), ALL_LINE_FORMS[form], first);
        if crlf {
            file = file.replace('\n', "\r\n");
        }
        let body = serde_json::to_vec(&json!({"model": "m", "messages": [
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": file}]}
        ]})).unwrap();
        let out = redactor().redact_request(&body, Api::AnthropicMessages, &HistoryCache::disabled()).unwrap();
        let parsed: Value = serde_json::from_slice(out.body()).expect("valid JSON out");
        let got = parsed["messages"][0]["content"][0]["content"].as_str().unwrap();
        for v in &values {
            prop_assert!(!got.contains(v.as_str()), "a value survived in {:?}", got);
        }
        let (sent, back): (Vec<&str>, Vec<&str>) = (file.split('\n').collect(), got.split('\n').collect());
        prop_assert_eq!(sent.len(), back.len(), "line structure changed");
        for (a, b) in sent.iter().zip(&back) {
            // A changed line holds a placeholder and keeps its prefix (number, arrow, tab,
            // colon, `+`, `> `) byte for byte.
            if a != b {
                prop_assert!(b.contains("gwx_"), "{:?} became {:?}", a, b);
                let prefix = a.len() - a.trim_start_matches(|c: char| " \t0123456789→:+>".contains(c)).len();
                prop_assert_eq!(&a[..prefix], &b[..prefix], "the prefix changed");
            }
            prop_assert_eq!(a.ends_with('\r'), b.ends_with('\r'));
        }
        prop_assert!(got.contains("PORT=3000") && got.contains("NODE_ENV=production"));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = redactor().redact_request(&bytes, Api::OpenAiChat, &HistoryCache::disabled());
    }
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        text_strategy().prop_map(Value::String),
        "[a-z\\\\\"\\n]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        let keys = prop_oneof![
            Just("messages".to_owned()),
            Just("content".to_owned()),
            Just("text".to_owned()),
            Just("input".to_owned()),
            Just("system".to_owned()),
            Just("arguments".to_owned()),
            Just("tool_calls".to_owned()),
            Just("function".to_owned()),
            Just("output".to_owned()),
            "[a-z]{1,6}",
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(keys, inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}
