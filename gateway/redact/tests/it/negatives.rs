//! The negative corpus: lockfiles, hashes, media, minified code, public keys, documented
//! examples, placeholders, public-by-design keys, harness XML and our own placeholders must
//! come out byte-identical (zero findings) in every context.

use gateway_redact::HistoryCache;

use crate::common::bodies::{Context, Encoding, encoded_body};
use crate::common::corpus::negatives;
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
