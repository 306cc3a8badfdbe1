//! `redact_request` on arbitrary bytes, for every surface: it never panics; when it accepts
//! a body, the output is valid JSON (checked by serde_json), a second pass changes nothing
//! (idempotence), and a warm history cache gives the same output as a cold one.
#![no_main]

use std::sync::LazyLock;

use gateway_core::Api;
use gateway_redact::{HistoryCache, Redactor, RedactorConfig, TenantKey};
use libfuzzer_sys::fuzz_target;
use serde::Deserialize;
use serde::de::IgnoredAny;

static REDACTOR: LazyLock<Option<Redactor>> = LazyLock::new(|| {
    let key = TenantKey::new(b"fuzz-tenant-key-0123456789abcdef".to_vec()).ok()?;
    Redactor::new(RedactorConfig::new(key)).ok()
});

fn valid_json(bytes: &[u8]) -> bool {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    de.disable_recursion_limit();
    IgnoredAny::deserialize(&mut de).is_ok() && de.end().is_ok()
}

fuzz_target!(|data: &[u8]| {
    let Some(r) = REDACTOR.as_ref() else { return };
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let surface = match pick % 3 {
        0 => Api::AnthropicMessages,
        1 => Api::OpenAiChat,
        _ => Api::OpenAiResponses,
    };
    let cache = HistoryCache::new(64);
    let Ok(out) = r.redact_request(body, surface, &cache) else {
        return;
    };
    assert!(valid_json(out.body()), "output is not JSON");
    let warm = r
        .redact_request(body, surface, &cache)
        .expect("accepted once, accepted twice");
    assert_eq!(warm.body(), out.body(), "cache changed the output");
    let twice = r
        .redact_request(out.body(), surface, &HistoryCache::disabled())
        .expect("own output accepted");
    assert!(
        twice.is_unchanged(),
        "second pass changed: {:?}",
        twice.report()
    );
});
