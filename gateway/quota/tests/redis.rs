//! The Redis store against a real redis-server: atomic all-or-nothing reservations under
//! concurrency, settlement, leases, usage lookup, and errors when Redis is gone.

use std::{sync::Arc, time::Duration};

use gateway_quota::{
    Amounts, Bucket, Measure, RedisStore, ReserveOutcome, ReserveRequest, Store, StoreError, Window,
};
use gateway_testkit::redis_server::RedisServer;

const TIMEOUT: Duration = Duration::from_millis(500);

fn bucket(
    tenant: &str,
    subject: &str,
    label: &'static str,
    window: Window,
    measure: Measure,
    limit: u64,
) -> Bucket {
    Bucket {
        key: Bucket::key(tenant, "sub", subject, label),
        label,
        window,
        measure,
        limit,
    }
}

fn request(buckets: Vec<Bucket>, micro_usd: u64) -> ReserveRequest {
    ReserveRequest {
        buckets: buckets.into(),
        amounts: Amounts {
            requests: 1,
            tokens: 100,
            micro_usd,
        },
        lease: Duration::from_secs(60),
    }
}

#[tokio::test]
async fn concurrent_reservations_never_overshoot_and_settle_to_the_truth() {
    let Some(redis) = RedisServer::start().await else {
        return;
    };
    let store = Arc::new(RedisStore::connect(&redis.url(), TIMEOUT).await.unwrap());
    let usd = bucket(
        "org:acme",
        "alice",
        "usd_per_day",
        Window::Day,
        Measure::MicroUsd,
        10_000,
    );
    let rpm = bucket(
        "org:acme",
        "alice",
        "requests_per_minute",
        Window::Minute,
        Measure::Requests,
        1_000,
    );
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let (store, req) = (store.clone(), request(vec![usd.clone(), rpm.clone()], 700));
            tokio::spawn(async move { store.reserve(&req).await.unwrap() })
        })
        .collect();
    let mut granted = Vec::new();
    for t in tasks {
        if let ReserveOutcome::Granted(r) = t.await.unwrap() {
            granted.push(r);
        }
    }
    assert_eq!(
        granted.len(),
        14,
        "10_000 / 700 = 14 reservations fit, no more"
    );
    let usage = store.usage("alice").await.unwrap();
    let day = usage.iter().find(|u| u.label == "usd_per_day").unwrap();
    assert_eq!((day.spent, day.reserved, day.limit), (0, 9_800, 10_000));
    let minute = usage
        .iter()
        .find(|u| u.label == "requests_per_minute")
        .unwrap();
    assert_eq!(
        minute.reserved, 14,
        "refused reservations held nothing on any bucket"
    );

    for r in &granted {
        store
            .settle(
                r,
                Amounts {
                    requests: 1,
                    tokens: 10,
                    micro_usd: 300,
                },
            )
            .await
            .unwrap();
    }
    let usage = store.usage("alice").await.unwrap();
    let day = usage.iter().find(|u| u.label == "usd_per_day").unwrap();
    assert_eq!((day.spent, day.reserved), (14 * 300, 0));
    assert!(day.resets_at_ms.is_some());
}

#[tokio::test]
async fn refusals_name_the_bucket_and_when_it_resets() {
    let Some(redis) = RedisServer::start().await else {
        return;
    };
    let store = RedisStore::connect(&redis.url(), TIMEOUT).await.unwrap();
    let run = Bucket {
        key: Bucket::key("org:acme", "run", "jti-1", "run_usd"),
        label: "run_usd",
        window: Window::Lifetime,
        measure: Measure::MicroUsd,
        limit: 500,
    };
    let month = bucket(
        "org:acme",
        "bob",
        "usd_per_month",
        Window::Month,
        Measure::MicroUsd,
        1_000_000,
    );
    let ReserveOutcome::Granted(r) = store
        .reserve(&request(vec![month.clone(), run.clone()], 400))
        .await
        .unwrap()
    else {
        panic!("first fits");
    };
    let ReserveOutcome::Refused(refusal) = store
        .reserve(&request(vec![month.clone(), run.clone()], 400))
        .await
        .unwrap()
    else {
        panic!("second does not fit the run budget");
    };
    assert_eq!(
        (
            refusal.label,
            refusal.used,
            refusal.requested,
            refusal.resets_at_ms
        ),
        ("run_usd", 400, 400, None)
    );
    store
        .settle(
            &r,
            Amounts {
                micro_usd: 50,
                ..Amounts::default()
            },
        )
        .await
        .unwrap();
    assert!(matches!(
        store
            .reserve(&request(vec![month, run], 400))
            .await
            .unwrap(),
        ReserveOutcome::Granted(_)
    ));
}

#[tokio::test]
async fn an_unsettled_lease_expires() {
    let Some(redis) = RedisServer::start().await else {
        return;
    };
    let store = RedisStore::connect(&redis.url(), TIMEOUT).await.unwrap();
    let rpm = bucket(
        "sub:carol",
        "carol",
        "requests_per_minute",
        Window::Day,
        Measure::Requests,
        1,
    );
    let short = ReserveRequest {
        lease: Duration::from_millis(200),
        ..request(vec![rpm.clone()], 0)
    };
    assert!(matches!(
        store.reserve(&short).await.unwrap(),
        ReserveOutcome::Granted(_)
    ));
    assert!(matches!(
        store.reserve(&short).await.unwrap(),
        ReserveOutcome::Refused(_)
    ));
    // The holder "crashed": after the lease the hold no longer counts.
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert!(matches!(
        store.reserve(&short).await.unwrap(),
        ReserveOutcome::Granted(_)
    ));
}

#[tokio::test]
async fn a_dead_redis_is_an_error_not_a_hang_and_recovery_is_automatic() {
    let Some(mut redis) = RedisServer::start().await else {
        return;
    };
    let store = RedisStore::connect(&redis.url(), TIMEOUT).await.unwrap();
    let b = bucket(
        "sub:dave",
        "dave",
        "requests_per_minute",
        Window::Minute,
        Measure::Requests,
        100,
    );
    assert!(store.reserve(&request(vec![b.clone()], 0)).await.is_ok());
    let port = redis.port();
    redis.kill().await;
    let started = tokio::time::Instant::now();
    let err = store
        .reserve(&request(vec![b.clone()], 0))
        .await
        .expect_err("a dead Redis is an error");
    assert!(started.elapsed() < TIMEOUT * 4, "bounded by the timeout");
    // The cause is kept as the error's source, not flattened into a string.
    match &err {
        StoreError::Redis(_) => assert!(std::error::Error::source(&err).is_some()),
        StoreError::Timeout { what, .. } => assert_eq!(*what, "the quota script"),
        StoreError::Protocol(p) => panic!("a dead Redis is not a protocol error: {p}"),
    }
    let _redis = RedisServer::start_on(port).await.unwrap();
    // The connection manager reconnects; the first call after a restart may still fail.
    let mut ok = false;
    for _ in 0..20 {
        if store.reserve(&request(vec![b.clone()], 0)).await.is_ok() {
            ok = true;
            break;
        }
    }
    assert!(ok, "reconnects after Redis comes back");
}

/// The script keeps a running sum of live holds per bucket instead of scanning them on every
/// reserve: checked against a model over a long mixed sequence of reserves and settles, with
/// the sum deleted halfway (a bucket written before the sum existed) to check it is rebuilt.
#[tokio::test]
async fn the_running_sum_of_holds_matches_a_model_of_reserves_and_settles() {
    let Some(redis) = RedisServer::start().await else {
        return;
    };
    let store = RedisStore::connect(&redis.url(), TIMEOUT).await.unwrap();
    const LIMIT: u64 = 1_000;
    let tpd = bucket(
        "sub:erin",
        "erin",
        "tokens_per_day",
        Window::Day,
        Measure::Tokens,
        LIMIT,
    );
    let (mut spent, mut reserved) = (0u64, 0u64);
    let mut live = Vec::new();
    // A fixed linear congruential sequence: the same run every time.
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut draw = |bound: u64| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % bound
    };
    for step in 0..300 {
        if step == 150 {
            let mut connection = redis::Client::open(redis.url())
                .unwrap()
                .get_multiplexed_async_connection()
                .await
                .unwrap();
            let removed: i64 = redis::cmd("HDEL")
                .arg(&tpd.key)
                .arg("reserved")
                .arg("next")
                .query_async(&mut connection)
                .await
                .unwrap();
            assert_eq!(
                removed, 2,
                "the bucket carries its running sum and next lease end"
            );
        }
        if live.is_empty() || draw(3) > 0 {
            let amount = 1 + draw(300);
            let req = ReserveRequest {
                amounts: Amounts {
                    requests: 1,
                    tokens: amount,
                    micro_usd: 0,
                },
                ..request(vec![tpd.clone()], 0)
            };
            let fits = spent + reserved + amount <= LIMIT;
            match store.reserve(&req).await.unwrap() {
                ReserveOutcome::Granted(r) => {
                    assert!(fits, "step {step}: granted {amount} over the limit");
                    assert_eq!(r.remaining, vec![LIMIT - spent - reserved - amount]);
                    reserved += amount;
                    live.push((r, amount));
                }
                ReserveOutcome::Refused(refusal) => {
                    assert!(!fits, "step {step}: refused {amount} that fits");
                    assert_eq!(refusal.used, spent + reserved, "step {step}");
                }
            }
        } else {
            let index = usize::try_from(draw(live.len() as u64)).unwrap();
            let (r, amount) = live.swap_remove(index);
            let actual = draw(amount + 1);
            let amounts = Amounts {
                requests: 1,
                tokens: actual,
                micro_usd: 0,
            };
            store.settle(&r, amounts).await.unwrap();
            reserved -= amount;
            spent += actual;
        }
        let usage = store.usage("erin").await.unwrap();
        assert_eq!(usage.len(), 1);
        assert_eq!(
            (usage[0].spent, usage[0].reserved),
            (spent, reserved),
            "step {step}"
        );
    }
}

#[tokio::test]
async fn usage_reads_the_bucket_index_and_skips_keys_that_expired_since() {
    let Some(redis) = RedisServer::start().await else {
        return;
    };
    let store = RedisStore::connect(&redis.url(), TIMEOUT).await.unwrap();
    let day = bucket(
        "org:acme",
        "user:7",
        "usd_per_day",
        Window::Day,
        Measure::MicroUsd,
        1_000,
    );
    let org = Bucket {
        key: Bucket::key("org:acme", "org", "acme", "usd_per_month"),
        label: "usd_per_month",
        window: Window::Month,
        measure: Measure::MicroUsd,
        limit: 5_000,
    };
    assert!(matches!(
        store
            .reserve(&request(vec![day.clone(), org.clone()], 100))
            .await
            .unwrap(),
        ReserveOutcome::Granted(_)
    ));
    // The subject's index names its bucket (the org's, its own).
    let client = redis::Client::open(redis.url()).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    let day_key = day.key.clone();
    gateway_testkit::poll::poll_until(
        "the bucket index is written",
        Duration::from_secs(5),
        || {
            let mut c = c.clone();
            let day_key = day_key.clone();
            async move {
                let members: Vec<String> = redis::cmd("SMEMBERS")
                    .arg("lgw:idx:sub:user:7")
                    .query_async(&mut c)
                    .await
                    .unwrap();
                (members == [day_key.clone()]).then_some(())
            }
        },
    )
    .await;
    let usage = store.usage("user:7").await.unwrap();
    assert_eq!(usage.len(), 1);
    assert_eq!(
        (usage[0].label.as_str(), usage[0].reserved),
        ("usd_per_day", 100)
    );
    let orgs = store.org_usage("acme").await.unwrap();
    assert_eq!(orgs.len(), 1, "{orgs:?}");
    assert_eq!(orgs[0].label, "usd_per_month");
    // A key gone since it was indexed is skipped, not shown as an empty bucket.
    let _: () = redis::cmd("DEL")
        .arg(&day.key)
        .query_async(&mut c)
        .await
        .unwrap();
    assert!(store.usage("user:7").await.unwrap().is_empty());
}

#[tokio::test]
async fn rediss_verifies_the_server_against_the_given_ca_and_refuses_an_unknown_one() {
    let Some(redis) = RedisServer::start_tls().await else {
        return;
    };
    let ca = std::fs::read(redis.ca_file().unwrap()).unwrap();
    let client = redis::Client::build_with_tls(
        redis.url(),
        redis::TlsCertificates {
            client_tls: None,
            root_cert: Some(ca),
        },
    )
    .unwrap();
    let store = RedisStore::connect_client(client, TIMEOUT).await.unwrap();
    let usd = bucket(
        "sub:tls",
        "tls",
        "usd_per_day",
        Window::Day,
        Measure::MicroUsd,
        1_000,
    );
    assert!(matches!(
        store.reserve(&request(vec![usd], 100)).await.unwrap(),
        ReserveOutcome::Granted(_)
    ));
    assert_eq!(store.usage("tls").await.unwrap()[0].reserved, 100);
    // The system's roots do not know the test CA: no connection, never a plaintext fallback.
    let untrusted = redis::Client::open(redis.url()).unwrap();
    assert!(
        RedisStore::connect_client(untrusted, TIMEOUT)
            .await
            .is_err()
    );
    // Plain redis:// to the TLS port: refused too.
    let plain = format!("redis://127.0.0.1:{}", redis.port());
    assert!(RedisStore::connect(&plain, TIMEOUT).await.is_err());
}
