//! What the metrics cost one proxied, metered, streamed request: every update the pipeline,
//! the relay and the observed body make for it (in-flight gauge, overhead, status, duration,
//! upstream duration, TTFT, five token types, cost), and one `/metrics` render.
//!
//! Run: `cargo bench -p gateway-metrics --bench per_request`

#![expect(clippy::unwrap_used, reason = "benchmark setup fails loudly")]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use gateway_core::Usage;
use gateway_metrics::Metrics;

fn one_request(m: &Metrics) {
    m.inflight_requests.inc();
    m.overhead_seconds
        .with_label_values(&["messages"])
        .observe(black_box(0.000_4));
    m.time_to_first_token_seconds
        .with_label_values(&["anthropic"])
        .observe(black_box(0.8));
    m.upstream_duration_seconds
        .with_label_values(&["anthropic"])
        .observe(black_box(4.2));
    m.settled(
        "claude-sonnet-4-6",
        None,
        black_box(Usage {
            input: 12,
            output: 7,
            cache_read: 100,
            cache_write_5m: 20,
            cache_write_1h: 0,
        }),
        246,
    );
    m.inflight_requests.dec();
    m.requests_total
        .with_label_values(&["messages", "200"])
        .inc();
    m.request_duration_seconds
        .with_label_values(&["messages"])
        .observe(black_box(4.3));
}

fn bench(c: &mut Criterion) {
    let m = Metrics::new().unwrap();
    c.bench_function("metrics per metered streamed request", |b| {
        b.iter(|| one_request(&m));
    });
    c.bench_function("render /metrics", |b| b.iter(|| black_box(m.render())));
}

criterion_group!(benches, bench);
criterion_main!(benches);
