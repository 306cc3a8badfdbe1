//! Redaction speed: MiB/s on secret-free agent traffic and on secret-dense text, latency
//! (p50/p99) for 100 KB and 500 KB Claude Code-like bodies, and resent history through a
//! warm [`HistoryCache`]. Run: `cargo bench -p gateway-redact -- --warm-up-time 1 --measurement-time 3`.

#![expect(
    clippy::unwrap_used,
    reason = "benchmark fixtures fail loudly on broken setup"
)]

#[path = "../tests/it/common/mod.rs"]
#[expect(dead_code, reason = "the benchmark uses a subset of the test support")]
mod common;

use std::cell::RefCell;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gateway_core::Api;
use gateway_redact::{HistoryCache, Restorer, Target};

use common::corpus::agent_body;
use common::{Rng, env_line, redactor, vendor_fakes};

/// Real-world code for tool results: Rust sources from the local cargo registry (a fixed,
/// sorted selection) when present, else this crate's own non-test sources.
fn code_corpus() -> (String, &'static str) {
    let root = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".cargo")))
        .map(|h| h.join("registry").join("src"));
    let mut code = String::new();
    if let Some(index) = root
        .and_then(|r| std::fs::read_dir(r).ok())
        .and_then(|mut d| d.next())
    {
        let index = index.map(|e| e.path()).unwrap_or_default();
        for krate in [
            "serde_json-1",
            "regex-automata-0",
            "tokio-1",
            "hyper-1",
            "clap_builder-4",
        ] {
            let Ok(dirs) = std::fs::read_dir(&index) else {
                break;
            };
            let mut dirs: Vec<_> = dirs.filter_map(|e| e.ok().map(|e| e.path())).collect();
            dirs.sort();
            let Some(dir) = dirs.iter().find(|d| {
                d.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(krate))
            }) else {
                continue;
            };
            let Ok(files) = std::fs::read_dir(dir.join("src")) else {
                continue;
            };
            let mut files: Vec<_> = files.filter_map(|e| e.ok().map(|e| e.path())).collect();
            files.sort();
            for f in files
                .iter()
                .filter(|f| f.extension().is_some_and(|e| e == "rs"))
            {
                code.push_str(&std::fs::read_to_string(f).unwrap_or_default());
            }
        }
    }
    if code.len() >= 256 * 1024 {
        (code, "cargo registry sources")
    } else {
        (OWN_CODE.to_owned(), "gateway-redact sources")
    }
}

const OWN_CODE: &str = concat!(
    include_str!("../src/redactor.rs"),
    include_str!("../src/detect/mod.rs"),
    include_str!("../src/cache.rs"),
    include_str!("../src/json/walk.rs"),
    include_str!("../src/json/unescape.rs"),
    include_str!("../src/restore.rs"),
);

/// A user message of about `size` bytes with a secret every ~200 bytes.
fn dense_body(size: usize) -> Vec<u8> {
    let mut rng = Rng::new(0xD5);
    let fakes = vendor_fakes(&mut rng);
    let mut text = String::new();
    let mut i = 0;
    while text.len() < size {
        text.push_str("Deploy log line with some ordinary words in it, step ");
        text.push_str(&i.to_string());
        text.push('\n');
        if i % 2 == 0 {
            text.push_str(&fakes[i % fakes.len()].text);
        } else {
            text.push_str(&env_line(&mut rng, i).0);
        }
        text.push('\n');
        i += 1;
    }
    serde_json::to_vec(
        &serde_json::json!({"model": "m", "messages": [{"role": "user", "content": text}]}),
    )
    .unwrap()
}

fn percentiles(samples: &mut [Duration]) -> (Duration, Duration) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    (at(0.50), at(0.99))
}

/// CPU time of this thread (user + system) from /proc, so a loaded machine does not count
/// other processes' time slices against us. `None` where /proc is unavailable.
fn thread_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit(')').next()?.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

/// MiB/s per core by CPU time over ~2 s of repeated calls.
fn cpu_throughput(name: &str, bytes: usize, mut f: impl FnMut()) {
    let (Some(c0), t0) = (thread_cpu(), Instant::now()) else {
        return;
    };
    let mut n = 0u64;
    while t0.elapsed() < Duration::from_secs(2) {
        f();
        n += 1;
    }
    let Some(c1) = thread_cpu() else { return };
    let cpu = (c1 - c0).as_secs_f64().max(0.01);
    let wall = t0.elapsed().as_secs_f64();
    let mib = (bytes as f64 * n as f64) / f64::from(1 << 20);
    eprintln!(
        "cpu-time {name}: {:.0} MiB/s per core ({:.0} MiB/s wall, {n} runs)",
        mib / cpu,
        mib / wall
    );
}

fn bench(c: &mut Criterion) {
    let r = redactor();
    let mut rng = Rng::new(0xBE);
    let (code, origin) = code_corpus();
    eprintln!(
        "agent traffic: tool results cut from {} KiB of {origin}",
        code.len() / 1024
    );
    let clean_100k = agent_body(&mut rng, 100_000, &code);
    let clean_500k = agent_body(&mut rng, 500_000, &code);
    let dense = dense_body(256 * 1024);
    for b in [&clean_100k, &clean_500k] {
        let out = r
            .redact_request(b, Api::AnthropicMessages, &HistoryCache::disabled())
            .unwrap();
        assert!(
            out.is_unchanged(),
            "agent traffic must be secret-free: {:?}",
            out.report()
        );
    }
    let dense_out = r
        .redact_request(&dense, Api::AnthropicMessages, &HistoryCache::disabled())
        .unwrap();
    eprintln!(
        "secret-dense body: {} bytes, {} replacements",
        dense.len(),
        dense_out.report().total()
    );

    for (name, body) in [
        ("agent_traffic_500k", &clean_500k),
        ("secret_dense_256k", &dense),
    ] {
        cpu_throughput(name, body.len(), || {
            black_box(r.redact_request(
                black_box(body),
                Api::AnthropicMessages,
                &HistoryCache::disabled(),
            ))
            .ok();
        });
    }
    let warm = HistoryCache::new(4096);
    cpu_throughput(
        "agent_traffic_500k_cached_history",
        clean_500k.len(),
        || {
            black_box(r.redact_request(black_box(&clean_500k), Api::AnthropicMessages, &warm)).ok();
        },
    );

    let mut g = c.benchmark_group("throughput");
    for (name, body) in [
        ("agent_traffic_500k", &clean_500k),
        ("secret_dense_256k", &dense),
    ] {
        g.throughput(Throughput::Bytes(body.len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| {
                r.redact_request(
                    black_box(body),
                    Api::AnthropicMessages,
                    &HistoryCache::disabled(),
                )
            })
        });
    }
    g.throughput(Throughput::Bytes(clean_500k.len() as u64));
    let cache = HistoryCache::new(4096);
    g.bench_function("agent_traffic_500k_cached_history", |b| {
        b.iter(|| r.redact_request(black_box(&clean_500k), Api::AnthropicMessages, &cache))
    });
    let redacted = std::str::from_utf8(dense_out.body()).unwrap().to_owned();
    g.throughput(Throughput::Bytes(redacted.len() as u64));
    g.bench_function("restore_stream_256k_in_4k_chunks", |b| {
        b.iter(|| {
            let mut rs = Restorer::new(dense_out.restore_map());
            let mut n = 0;
            let bytes = redacted.as_bytes();
            let mut at = 0;
            while at < bytes.len() {
                let mut end = (at + 4096).min(bytes.len());
                while !redacted.is_char_boundary(end) {
                    end += 1;
                }
                n += rs.push(&redacted[at..end], Target::JsonFragment).len();
                at = end;
            }
            n + rs.finish().len()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("latency");
    for (name, body) in [("body_100k", &clean_100k), ("body_500k", &clean_500k)] {
        let samples = RefCell::new(Vec::new());
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let t = Instant::now();
                    let out = r.redact_request(
                        black_box(body),
                        Api::AnthropicMessages,
                        &HistoryCache::disabled(),
                    );
                    let d = t.elapsed();
                    black_box(out).ok();
                    samples.borrow_mut().push(d);
                    total += d;
                }
                total
            })
        });
        if samples.borrow().is_empty() {
            continue; // filtered out on the command line
        }
        let (p50, p99) = percentiles(&mut samples.borrow_mut());
        eprintln!(
            "latency {name} ({} bytes): p50 {p50:?}, p99 {p99:?}",
            body.len()
        );
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
