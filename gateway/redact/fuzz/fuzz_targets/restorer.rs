//! The streaming `Restorer`: the text is built from the fuzz input with real placeholders
//! (whole, truncated, or with a byte changed) spliced in; fed in arbitrary chunks, the output
//! equals the output for the whole text at once, for both targets.
#![no_main]

use std::sync::LazyLock;

use gateway_core::Api;
use gateway_redact::{
    HistoryCache, Redactor, RedactorConfig, RestoreMap, Restorer, Target, TenantKey,
};
use libfuzzer_sys::fuzz_target;

/// A restore map with a few placeholders of different kinds, and the placeholders.
static MAP: LazyLock<Option<(RestoreMap, Vec<String>)>> = LazyLock::new(|| {
    let key = TenantKey::new(b"fuzz-tenant-key-0123456789abcdef".to_vec()).ok()?;
    let r = Redactor::new(RedactorConfig::new(key)).ok()?;
    let body = br#"{"messages":[{"role":"user","content":"DB_PASSWORD=Sup3r-Secret-42\nAPI_TOKEN='q\"uo\\te-Va1ue'\npostgres://app:s3cr%40t-pw@db/x\n"}]}"#;
    let out = r
        .redact_request(body, Api::AnthropicMessages, &HistoryCache::disabled())
        .ok()?;
    let map = out.restore_map().clone();
    let mut phs: Vec<String> = map.placeholders().map(str::to_owned).collect();
    phs.sort();
    (!phs.is_empty()).then_some((map, phs))
});

fn restore(map: &RestoreMap, chunks: &[&str], target: Target) -> String {
    let mut r = Restorer::new(map);
    let mut out = String::new();
    for c in chunks {
        out.push_str(&r.push(c, target));
    }
    out.push_str(&r.finish());
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((map, phs)) = MAP.as_ref() else {
        return;
    };
    // Build the text: bytes 0xF0.. splice in placeholder material, others are text.
    let mut text = String::new();
    let mut cuts = Vec::new();
    let mut i = 0;
    while i < data.len() {
        let b = data[i];
        i += 1;
        match b {
            0xF0..=0xF7 => {
                let ph = &phs[usize::from(b) % phs.len()];
                match b & 0x3 {
                    0 | 1 => text.push_str(ph),
                    2 => {
                        text.push_str(&ph[..data.get(i).map_or(3, |&n| usize::from(n) % ph.len())])
                    }
                    _ => {
                        let mut p = ph.clone().into_bytes();
                        let at = data.get(i).map_or(0, |&n| usize::from(n) % p.len());
                        p[at] = b'Z';
                        text.push_str(&String::from_utf8_lossy(&p));
                    }
                }
            }
            0xF8..=0xFB => cuts.push(text.len()),
            0xFC => text.push('é'),
            0xFD => text.push_str("gwx_"),
            0xFE => text.push('g'),
            _ => text.push(char::from(b & 0x7F)),
        }
    }
    cuts.sort_unstable();
    cuts.dedup();
    let mut chunks = Vec::new();
    let mut at = 0;
    for &c in &cuts {
        chunks.push(&text[at..c]);
        at = c;
    }
    chunks.push(&text[at..]);
    for target in [Target::Text, Target::JsonFragment] {
        let whole = restore(map, &[&text], target);
        let split = restore(map, &chunks, target);
        assert_eq!(split, whole, "split {cuts:?} changed the result");
        // Every byte split too, for short texts.
        if text.len() <= 64 {
            for cut in (0..=text.len()).filter(|&c| text.is_char_boundary(c)) {
                let two = restore(map, &[&text[..cut], &text[cut..]], target);
                assert_eq!(two, whole, "split at {cut}");
            }
        }
    }
});
