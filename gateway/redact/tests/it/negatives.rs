//! The negative corpus: lockfiles, hashes, media, minified code, public keys, documented
//! examples, placeholders, public-by-design keys, harness XML and our own placeholders must
//! come out byte-identical (zero findings) in every context, also with every per-line prefix
//! (line numbers, diff markers, quotes) in front of each line.

use gateway_redact::HistoryCache;

use crate::common::bodies::{ALL_LINE_FORMS, Context, Encoding, encoded_body, prefix_lines};
use crate::common::corpus::{line_prefixed_negatives, negatives};
use crate::common::{Rng, redactor};

#[test]
fn negative_corpus_comes_out_byte_identical() {
    let mut rng = Rng::new(0x0E6);
    let contexts = [
        Context::UserText,
        Context::ToolResultString,
        Context::ToolUseInput,
        Context::OpenAiToolMessage,
        Context::OpenAiToolArguments,
        Context::ResponsesFunctionOutput,
    ];
    let mut failures = Vec::new();
    let mut bytes = 0usize;
    for (name, text) in negatives(&mut rng) {
        for ctx in contexts {
            for enc in [Encoding::Raw, Encoding::Crlf, Encoding::DoubleEscaped] {
                let (body, surface) = encoded_body(ctx, enc, &text, "");
                bytes += body.len();
                let out = redactor()
                    .redact_request(&body, surface, &HistoryCache::disabled())
                    .expect("valid body");
                if !out.is_unchanged() || out.body() != body.as_slice() {
                    let rules: Vec<String> = out
                        .report()
                        .counts()
                        .map(|(r, n)| format!("{r}×{n}"))
                        .collect();
                    failures.push(format!("{name} in {ctx:?}/{enc:?}: {}", rules.join(", ")));
                }
            }
        }
    }
    println!(
        "negative corpus: {} KiB scanned, {} findings",
        bytes / 1024,
        failures.len()
    );
    for f in &failures {
        println!("  false positive: {f}");
    }
    assert!(failures.is_empty());
}

#[test]
fn agent_traffic_without_secrets_is_unchanged() {
    let code = concat!(
        include_str!("../../src/redactor.rs"),
        include_str!("../../src/detect/mod.rs"),
        include_str!("../../src/cache.rs"),
        include_str!("../../src/json/walk.rs"),
    );
    let mut rng = Rng::new(0xA6E);
    let body = crate::common::corpus::agent_body(&mut rng, 300_000, code);
    let out = redactor()
        .redact_request(
            &body,
            gateway_core::Api::AnthropicMessages,
            &HistoryCache::disabled(),
        )
        .expect("valid body");
    let rules: Vec<String> = out
        .report()
        .counts()
        .map(|(r, n)| format!("{r}×{n}"))
        .collect();
    assert!(
        out.is_unchanged(),
        "findings in agent traffic: {}",
        rules.join(", ")
    );
}

#[test]
fn line_prefixed_negatives_come_out_byte_identical() {
    let mut rng = Rng::new(0x11E);
    let mut failures = Vec::new();
    for (name, text) in line_prefixed_negatives(&mut rng) {
        for &form in ALL_LINE_FORMS {
            let first = 1 + rng.below(900);
            let text = prefix_lines(&text, form, first);
            for ctx in [Context::ToolResultString, Context::OpenAiToolMessage] {
                for enc in [
                    Encoding::Raw,
                    Encoding::Crlf,
                    Encoding::DoubleEscaped,
                    Encoding::DoubleJson,
                    Encoding::EmbeddedJson,
                ] {
                    let (body, surface) = encoded_body(ctx, enc, &text, "");
                    let out = redactor()
                        .redact_request(&body, surface, &HistoryCache::disabled())
                        .expect("valid body");
                    if out.body() != body.as_slice() {
                        let rules: Vec<String> = out
                            .report()
                            .counts()
                            .map(|(r, n)| format!("{r}×{n}"))
                            .collect();
                        failures.push(format!("{name} {form:?} in {ctx:?}/{enc:?}: {rules:?}"));
                    }
                }
            }
        }
    }
    for f in &failures {
        println!("  false positive: {f}");
    }
    assert!(failures.is_empty(), "{} false positives", failures.len());
}
