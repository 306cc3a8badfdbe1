//! False positives on real code: the pinned crate sources listed in `tests/real-code.txt`
//! (read from the local cargo registry) must yield at most 0.2 heuristic findings per MiB.
//! Each finding is listed by rule and file, never by value. Structurally validated key
//! material (PEM private keys, JWTs, and any value holding a segment that decodes to a JWT
//! header, like a JWT library's malformed-token fixtures) is token material, so it is listed
//! and counted separately, not as a false positive.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use gateway_redact::Redaction;

use crate::common::redactor;

/// Rules whose hits are structurally validated key material, not heuristics.
const KEY_MATERIAL: &[&str] = &["private-key", "putty-private-key", "jwt"];

/// The gate: heuristic findings per MiB of the pinned corpus.
const MAX_FINDINGS_PER_MIB: f64 = 0.2;

/// The pinned corpus: `name-version` directories.
const PINNED: &str = include_str!("../real-code.txt");

fn registry_src() -> Option<PathBuf> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))?;
    Some(home.join("registry").join("src"))
}

/// Whether `value` holds a dot-separated segment that base64url-decodes to a JSON object
/// with an `alg` member: a JWT's header, so the value is token material.
fn holds_jwt_header(value: &str) -> bool {
    value.split('.').any(|seg| {
        seg.starts_with("eyJ")
            && base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(seg.trim_end_matches('='))
                .ok()
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                .is_some_and(|v| v.get("alg").is_some())
    })
}

/// (heuristic findings, token-material findings) of one redaction.
fn classify(out: &Redaction<'_>) -> (u32, u32) {
    let body = String::from_utf8_lossy(out.body());
    let rules: u32 = KEY_MATERIAL.iter().map(|r| out.report().count(r)).sum();
    let mut shaped = 0u32;
    for ph in out.restore_map().placeholders() {
        let is_rule_material = ["gwx_pem_", "gwx_jwt_"].iter().any(|k| ph.starts_with(k));
        if !is_rule_material
            && out
                .restore_map()
                .get(ph)
                .is_some_and(|v| holds_jwt_header(v.expose()))
        {
            shaped += u32::try_from(body.matches(ph).count()).unwrap_or(u32::MAX);
        }
    }
    let material = rules + shaped;
    (out.report().total().saturating_sub(material), material)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// `registry/src/<index>/<name-version>` for every pinned crate, or the ones missing.
fn pinned_crates(src: &Path) -> Result<Vec<PathBuf>, Vec<String>> {
    let indexes: Vec<PathBuf> = std::fs::read_dir(src)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    let (mut found, mut missing) = (Vec::new(), Vec::new());
    for name in PINNED
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        match indexes.iter().map(|i| i.join(name)).find(|d| d.is_dir()) {
            Some(d) => found.push(d),
            None => missing.push(name.to_owned()),
        }
    }
    if missing.is_empty() {
        Ok(found)
    } else {
        Err(missing)
    }
}

#[test]
fn pinned_real_code_yields_at_most_a_fifth_of_a_finding_per_mib() {
    let Some(src) = registry_src() else {
        panic!("no CARGO_HOME or HOME: cannot find the cargo registry holding the pinned corpus");
    };
    let crates = pinned_crates(&src).unwrap_or_else(|missing| {
        panic!(
            "pinned real-code crates not in {}: {missing:?}. They are workspace dependencies at \
             these versions; if one was upgraded, update gateway/redact/tests/real-code.txt to \
             the version in Cargo.lock and re-check the rate.",
            src.display()
        )
    });
    let (mut bytes, mut files, mut findings, mut material, mut listed) =
        (0usize, 0usize, 0u32, 0u32, Vec::new());
    let r = redactor();
    for dir in &crates {
        let mut sources = Vec::new();
        rust_files(dir, &mut sources);
        for f in sources {
            let Ok(text) = std::fs::read_to_string(&f) else {
                continue;
            };
            bytes += text.len();
            files += 1;
            let out = r.redact_text(&text);
            if out.report().total() > 0 {
                let (heuristic, keys) = classify(&out);
                material += keys;
                findings += heuristic;
                let rules: Vec<String> = out
                    .report()
                    .counts()
                    .map(|(r, c)| format!("{r}×{c}"))
                    .collect();
                let shown = f.strip_prefix(&src).unwrap_or(&f);
                listed.push(format!("{} [{}]", shown.display(), rules.join(", ")));
            }
        }
    }
    let mib = bytes as f64 / f64::from(1 << 20);
    let rate = f64::from(findings) / mib;
    println!(
        "pinned real code: {} crates, {files} files, {mib:.1} MiB, {findings} heuristic findings \
         ({rate:.3}/MiB), {material} validated key-material findings",
        crates.len()
    );
    for l in &listed {
        println!("  finding: {l}");
    }
    assert!(mib > 10.0, "the pinned corpus shrank to {mib:.1} MiB");
    assert!(
        rate <= MAX_FINDINGS_PER_MIB,
        "{rate:.3} findings/MiB > {MAX_FINDINGS_PER_MIB}"
    );
}
