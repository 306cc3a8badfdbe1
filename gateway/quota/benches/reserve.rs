//! Cost of the quota stage's store calls: one reserve plus one settle over a request's usual
//! buckets (rpm, tpm, tokens/day, usd/day, usd/month), in memory and in Redis on loopback
//! (skipped with a message when redis-server is not installed), beside one PING on the same
//! connection (the floor), and with 64 other holds live in the same buckets (a busy user).
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

/// Holds left in flight beside the measured request in the busy case.
const LIVE_HOLDS: usize = 64;

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
        ]
        .into(),
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
    let busy = request("bench-memory-busy");
    for _ in 0..LIVE_HOLDS {
        let outcome = rt.block_on(memory.reserve(&busy)).unwrap();
        assert!(matches!(outcome, ReserveOutcome::Granted(_)));
    }
    group.bench_function("memory/5_buckets_64_live_holds", |b| {
        b.iter(|| rt.block_on(round_trip(black_box(&memory), &busy)))
    });
    let redis = rt.block_on(gateway_testkit::redis_server::RedisServer::start());
    if let Some(redis) = &redis {
        let store = rt
            .block_on(RedisStore::connect(&redis.url(), Duration::from_secs(1)))
            .unwrap();
        let req = request("bench-redis");
        // The floor: one round trip to the same server over the same connection.
        group.bench_function("redis/ping", |b| {
            b.iter(|| rt.block_on(store.ping()).unwrap())
        });
        group.bench_function("redis/5_buckets", |b| {
            b.iter(|| rt.block_on(round_trip(black_box(&store), &req)))
        });
        // Under load a user has many requests in flight: their holds live in the same
        // buckets while this one reserves and settles.
        let busy = request("bench-redis-busy");
        for _ in 0..LIVE_HOLDS {
            let outcome = rt.block_on(store.reserve(&busy)).unwrap();
            assert!(matches!(outcome, ReserveOutcome::Granted(_)));
        }
        group.bench_function("redis/5_buckets_64_live_holds", |b| {
            b.iter(|| rt.block_on(round_trip(black_box(&store), &busy)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
