//! False positives on real code: the Rust sources in the local cargo registry must yield at
//! most 0.5 heuristic findings per MiB. Each finding is listed by rule and file, never by
//! value. Structurally validated key material (PEM private keys, JWTs with a decodable
//! header) in crates' test fixtures is real key material, so it is listed and counted
//! separately, not as a false positive. `REDACT_REGISTRY_MIB` sets how many MiB to scan
//! (default 4; `all` for everything).

use std::path::{Path, PathBuf};

use crate::common::redactor;

/// Rules whose hits are structurally validated key material, not heuristics.
const KEY_MATERIAL: &[&str] = &["private-key", "putty-private-key", "jwt"];

fn registry_src() -> Option<PathBuf> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))?;
    Some(home.join("registry").join("src"))
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

#[test]
fn cargo_registry_sources_yield_at_most_half_a_finding_per_mib() {
    let Some(root) = registry_src() else {
        eprintln!("SKIPPED cargo registry scan: no CARGO_HOME or HOME");
        return;
    };
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    if files.is_empty() {
        eprintln!(
            "SKIPPED cargo registry scan: no .rs files under {}",
            root.display()
        );
        return;
    }
    let budget = match std::env::var("REDACT_REGISTRY_MIB").as_deref() {
        Ok("all") => usize::MAX,
        Ok(n) => n.parse::<usize>().unwrap_or(4) << 20,
        Err(_) => 4 << 20,
    };
    // Spread the sample over all crates: take every k-th file.
    let total: u64 = files
        .iter()
        .filter_map(|f| f.metadata().ok())
        .map(|m| m.len())
        .sum();
    let stride = (total as usize / budget.max(1)).max(1);
    let (mut bytes, mut findings, mut material, mut listed) = (0usize, 0u32, 0u32, Vec::new());
    for f in files.iter().step_by(stride) {
        if bytes >= budget {
            break;
        }
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        bytes += text.len();
        let out = redactor().redact_text(&text);
        let n = out.report().total();
        if n > 0 {
            let keys: u32 = KEY_MATERIAL.iter().map(|r| out.report().count(r)).sum();
            material += keys;
            findings += n - keys;
            let rules: Vec<String> = out
                .report()
                .counts()
                .map(|(r, c)| format!("{r}×{c}"))
                .collect();
            let shown = f.strip_prefix(&root).unwrap_or(f);
            listed.push(format!("{} [{}]", shown.display(), rules.join(", ")));
        }
    }
    let mib = bytes as f64 / f64::from(1 << 20);
    let rate = f64::from(findings) / mib;
    println!(
        "cargo registry: {mib:.1} MiB of {} files scanned, {findings} heuristic findings \
         ({rate:.3}/MiB), {material} validated key-material findings",
        files.len()
    );
    for l in &listed {
        println!("  finding: {l}");
    }
    assert!(rate <= 0.5, "{rate:.3} findings/MiB > 0.5");
}
