//! Recall: every generated vendor secret in every context and encoding must vanish (100 %),
//! sensitive-name `.env` assignments in every dialect ≥ 95 %, and harmless lines stay.

use gateway_redact::HistoryCache;

use crate::common::bodies::{ALL_CONTEXTS, ALL_ENCODINGS, Context, Encoding, encoded_body};
use crate::common::{Rng, all_strings, env_line, redactor, vendor_fakes};

/// Decoded strings of the redacted body (and JSON nested in them).
fn decoded_strings(out: &[u8]) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_slice(out).expect("redacted body is valid JSON");
    let mut strings = Vec::new();
    all_strings(&v, &mut strings);
    strings
}

fn leaked(out: &[u8], secret: &str) -> bool {
    // Look in raw bytes, decoded strings and JSON nested inside strings.
    let raw = String::from_utf8_lossy(out);
    raw.contains(secret) || decoded_strings(out).iter().any(|s| s.contains(secret))
}

const TEMPLATES: &[&str] = &[
    "Here is the key: {} please use it.",
    "export SOME_SETTING={}",
    "{\"credential\": \"{}\", \"region\": \"eu-west-1\"}",
    "config:\n  value: {}\n  retries: 3",
    "```\n{}\n```",
    "- {}",
    "{}",
];

#[test]
fn vendor_formats_are_redacted_in_every_context_and_encoding() {
    let mut rng = Rng::new(0x005E_C2E7);
    let fakes = vendor_fakes(&mut rng);
    let r = redactor();
    let mut families = std::collections::BTreeSet::new();
    let (mut total, mut misses) = (0usize, Vec::new());
    for (n, f) in fakes.iter().enumerate() {
        families.insert(f.family);
        // Every family meets every context and every encoding (each family has ≥ 3 values,
        // and the rotation gives each value all contexts and all encodings once).
        let pairs = ALL_CONTEXTS
            .iter()
            .enumerate()
            .map(|(i, c)| (i, c, (n + i) % ALL_ENCODINGS.len()))
            .chain(ALL_ENCODINGS.iter().enumerate().map(|(j, _)| {
                let i = n % ALL_CONTEXTS.len();
                (i, &ALL_CONTEXTS[i], j)
            }));
        for (i, ctx, j) in pairs {
            let enc = &ALL_ENCODINGS[j];
            {
                let template = TEMPLATES[(n + i + j) % TEMPLATES.len()];
                let text = template.replace("{}", &f.text);
                let (body, surface) = encoded_body(*ctx, *enc, &text, &f.secret);
                let out = r
                    .redact_request(&body, surface, &HistoryCache::disabled())
                    .expect("generated bodies are valid");
                total += 1;
                if leaked(out.body(), &f.secret) {
                    misses.push(format!(
                        "{} in {ctx:?}/{enc:?} (template {template:?})",
                        f.family
                    ));
                } else if f.family == "connection-string-password" {
                    assert!(
                        String::from_utf8_lossy(out.body())
                            .contains("@db.prod.internal:5432/appdb")
                            || !f.text.contains("db.internal"),
                        "host kept"
                    );
                }
            }
        }
    }
    let recall = 100.0 * (total - misses.len()) as f64 / total as f64;
    println!(
        "vendor recall: {recall:.2}% of {total} cases ({} families, {} secrets)",
        families.len(),
        fakes.len()
    );
    for m in misses.iter().take(40) {
        println!("  missed: {m}");
    }
    assert!(misses.is_empty(), "{} vendor misses", misses.len());
}

#[test]
fn sensitive_env_assignments_are_redacted_and_plain_settings_kept() {
    let mut rng = Rng::new(0xE4F);
    let r = redactor();
    let encodings = [Encoding::Raw, Encoding::Crlf, Encoding::DoubleEscaped];
    let (mut total, mut misses) = (0usize, Vec::new());
    for k in 0..700 {
        let dialect = k % 14;
        let (line, secret) = env_line(&mut rng, dialect);
        let text = format!("# app config\nPORT=3000\n{line}\nLOG_LEVEL=info\n");
        let ctx = ALL_CONTEXTS[k % ALL_CONTEXTS.len()];
        let enc = encodings[k % encodings.len()];
        let (body, surface) = encoded_body(ctx, enc, &text, &secret);
        let out = r
            .redact_request(&body, surface, &HistoryCache::disabled())
            .expect("valid body");
        total += 1;
        if leaked(out.body(), &secret) {
            let name = line
                .split(['=', ':', ' ', '>'])
                .find(|s| !s.is_empty())
                .unwrap_or("");
            misses.push(format!("dialect {dialect} name {name} in {ctx:?}/{enc:?}"));
        }
        let strings = decoded_strings(out.body()).join("\n");
        assert!(strings.contains("PORT=3000") && strings.contains("LOG_LEVEL=info"));
    }
    let recall = 100.0 * (total - misses.len()) as f64 / total as f64;
    println!("env-assignment recall: {recall:.2}% of {total} cases");
    for m in &misses {
        println!("  missed: {m}");
    }
    assert!(recall >= 95.0, "env recall {recall:.2}% < 95%");
}

#[test]
fn a_vendor_secret_is_counted_under_its_rule_name() {
    let mut rng = Rng::new(7);
    let fake = vendor_fakes(&mut rng).swap_remove(0);
    let text = format!("first block\n{}", fake.text);
    let (body, surface) = encoded_body(
        Context::ToolResultBlocks,
        Encoding::Raw,
        &text,
        &fake.secret,
    );
    let out = redactor()
        .redact_request(&body, surface, &HistoryCache::disabled())
        .expect("valid");
    assert!(!leaked(out.body(), &fake.secret));
    assert_eq!(out.report().count(fake.family), 1);
}
