//! Cost of the quota stage's store calls: one reserve plus one settle over a request's usual
//! buckets (rpm, tpm, tokens/day, usd/day, usd/month), in memory and in Redis on loopback
//! (skipped with a message when redis-server is not installed).
//!
//! Run: `cargo bench -p gateway-quota --bench reserve`

#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "benchmark setup fails loudly"
)]

use std::{hint::black_box, time::Duration};

use criterion::{Criterion, criterion_group, criterion_main};
use gateway_quota::{
    Amounts, Bucket, Measure, MemoryStore, RedisStore, ReserveOutcome, ReserveRequest, Store,
    Window,
};

fn request(subject: &str) -> ReserveRequest {
    let tenant = format!("sub:{subject}");
    let b = |label: &'static str, window, measure| Bucket {
        key: Bucket::key(&tenant, "sub", subject, label),
        label,
        window,
        measure,
        limit: u64::MAX / 4,
    };
    ReserveRequest {
        buckets: vec![
            b("requests_per_minute", Window::Minute, Measure::Requests),
            b("tokens_per_minute", Window::Minute, Measure::Tokens),
            b("tokens_per_day", Window::Day, Measure::Tokens),
            b("usd_per_day", Window::Day, Measure::MicroUsd),
            b("usd_per_month", Window::Month, Measure::MicroUsd),
        ],
        amounts: Amounts {
            requests: 1,
            tokens: 30_000,
            micro_usd: 500_000,
        },
        lease: Duration::from_secs(660),
    }
}

async fn round_trip(store: &dyn Store, req: &ReserveRequest) {
    let ReserveOutcome::Granted(r) = store.reserve(req).await.unwrap() else {
        panic!("refused")
    };
    store
        .settle(
            &r,
            Amounts {
                requests: 1,
                tokens: 1_000,
                micro_usd: 246,
            },
        )
        .await
        .unwrap();
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("reserve_and_settle");
    let memory = MemoryStore::default();
    let req = request("bench-memory");
    group.bench_function("memory/5_buckets", |b| {
        b.iter(|| rt.block_on(round_trip(black_box(&memory), &req)))
    });
    let redis = rt.block_on(gateway_testkit::redis_server::RedisServer::start());
    if let Some(redis) = &redis {
        let store = rt
            .block_on(RedisStore::connect(&redis.url(), Duration::from_secs(1)))
            .unwrap();
        let req = request("bench-redis");
        group.bench_function("redis/5_buckets", |b| {
            b.iter(|| rt.block_on(round_trip(black_box(&store), &req)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
