use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use proptest::prelude::*;

use super::*;
use crate::{Bucket, Measure};

#[derive(Debug, Clone)]
struct TestClock(Arc<AtomicU64>);

impl Clock for TestClock {
    fn now_ms(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

const T0: u64 = 1_795_688_400_000; // 2026-11-26T10:20:00Z

fn store() -> (MemoryStore, Arc<AtomicU64>) {
    let t = Arc::new(AtomicU64::new(T0));
    (MemoryStore::new(Box::new(TestClock(t.clone()))), t)
}

fn usd_day(limit: u64) -> Bucket {
    Bucket {
        key: Bucket::key("sub:alice", "sub", "alice", "usd_per_day"),
        label: "usd_per_day",
        window: Window::Day,
        measure: Measure::MicroUsd,
        limit,
    }
}

fn rpm(limit: u64) -> Bucket {
    Bucket {
        key: Bucket::key("sub:alice", "sub", "alice", "requests_per_minute"),
        label: "requests_per_minute",
        window: Window::Minute,
        measure: Measure::Requests,
        limit,
    }
}

fn request(buckets: Vec<Bucket>, usd: u64) -> ReserveRequest {
    ReserveRequest {
        buckets: buckets.into(),
        amounts: Amounts {
            requests: 1,
            tokens: 10,
            micro_usd: usd,
        },
        lease: Duration::from_secs(60),
    }
}

fn granted(o: ReserveOutcome) -> Reservation {
    match o {
        ReserveOutcome::Granted(r) => r,
        ReserveOutcome::Refused(r) => panic!("refused: {r:?}"),
    }
}

#[test]
fn reservations_hold_until_settled_then_the_real_amount_counts() {
    let (s, _) = store();
    let r = granted(s.reserve_now(&request(vec![usd_day(1000)], 600)));
    assert_eq!(r.remaining, vec![400]);
    let ReserveOutcome::Refused(refusal) = s.reserve_now(&request(vec![usd_day(1000)], 600)) else {
        panic!("second reservation must not fit");
    };
    assert_eq!(
        (refusal.label, refusal.used, refusal.limit),
        ("usd_per_day", 600, 1000)
    );
    assert_eq!(refusal.resets_at_ms, Some(1_795_737_600_000));
    s.settle_now(
        &r,
        Amounts {
            requests: 1,
            tokens: 10,
            micro_usd: 100,
        },
    );
    granted(s.reserve_now(&request(vec![usd_day(1000)], 600)));
    let u = s.usage_now("alice");
    assert_eq!((u[0].spent, u[0].reserved, u[0].limit), (100, 600, 1000));
}

#[test]
fn all_buckets_or_none() {
    let (s, _) = store();
    granted(s.reserve_now(&request(vec![rpm(1)], 1)));
    // The usd bucket has room, the rpm bucket does not: nothing is held on either.
    assert!(matches!(
        s.reserve_now(&request(vec![usd_day(1000), rpm(1)], 500)),
        ReserveOutcome::Refused(Refusal {
            label: "requests_per_minute",
            ..
        })
    ));
    let usd = s
        .usage_now("alice")
        .into_iter()
        .find(|u| u.label == "usd_per_day");
    assert!(usd.is_none_or(|u| u.reserved == 0));
}

#[test]
fn windows_roll_over_and_leases_expire() {
    let (s, t) = store();
    let r = granted(s.reserve_now(&request(vec![rpm(1)], 0)));
    s.settle_now(
        &r,
        Amounts {
            requests: 1,
            ..Amounts::default()
        },
    );
    assert!(matches!(
        s.reserve_now(&request(vec![rpm(1)], 0)),
        ReserveOutcome::Refused(_)
    ));
    t.store(T0 + 60_000, Ordering::SeqCst);
    // New minute: a crashed holder's lease (never settled) still blocks until it expires.
    granted(s.reserve_now(&request(vec![rpm(1)], 0)));
    assert!(matches!(
        s.reserve_now(&request(vec![rpm(1)], 0)),
        ReserveOutcome::Refused(_)
    ));
    t.store(T0 + 120_001, Ordering::SeqCst);
    granted(s.reserve_now(&request(vec![rpm(1)], 0)));
}

proptest! {
    /// Whatever the interleaving of reserves and settles (settled at most the reserved
    /// amount), spent + reserved never exceeds the limit.
    #[test]
    fn never_over_the_limit(ops in proptest::collection::vec((1u64..400, 0u64..=100, any::<bool>()), 1..60)) {
        let (s, _) = store();
        let limit = 1000;
        let mut live: Vec<Reservation> = Vec::new();
        for (ask, pct, settle) in ops {
            if settle && !live.is_empty() {
                let r = live.remove(0);
                let actual = r.amounts.micro_usd * pct / 100;
                s.settle_now(&r, Amounts { micro_usd: actual, ..Amounts::default() });
            } else if let ReserveOutcome::Granted(r) = s.reserve_now(&request(vec![usd_day(limit)], ask)) {
                live.push(r);
            }
            let u = &s.usage_now("alice")[0];
            prop_assert!(u.spent + u.reserved <= limit, "{:?}", u);
        }
    }
}

proptest! {
    /// The running sum of holds equals a model's: reservations with leases of different
    /// lengths, some settled, the clock moving on, and `reserved` is always the sum of the
    /// holds that are neither settled nor expired.
    #[test]
    fn reserved_is_the_sum_of_live_holds(
        ops in proptest::collection::vec((1u64..50, 1u64..5_000, 0u64..2_000, any::<bool>()), 1..80)
    ) {
        let (s, t) = store();
        let mut live: Vec<(Reservation, u64)> = Vec::new();
        for (ask, lease_ms, advance_ms, settle) in ops {
            let now = t.fetch_add(advance_ms, Ordering::SeqCst) + advance_ms;
            if settle && !live.is_empty() {
                let (r, _) = live.remove(0);
                s.settle_now(&r, Amounts::default());
            } else {
                let mut req = request(vec![usd_day(u64::MAX)], ask);
                req.lease = Duration::from_millis(lease_ms);
                live.push((granted(s.reserve_now(&req)), now + lease_ms));
            }
            let model: u64 = live
                .iter()
                .filter(|(_, until)| *until > now)
                .map(|(r, _)| r.amounts.micro_usd)
                .sum();
            let u = &s.usage_now("alice")[0];
            prop_assert_eq!(u.reserved, model);
        }
    }
}

#[test]
fn a_settle_releases_only_the_hold_its_id_names() {
    let (s, _) = store();
    let first = granted(s.reserve_now(&request(vec![usd_day(1000)], 300)));
    let second = granted(s.reserve_now(&request(vec![usd_day(1000)], 200)));
    assert_eq!(hold_number(&first.id), Some(1));
    assert_ne!(first.id, second.id);
    // An id this store did not make releases nothing, but what was spent still counts.
    let foreign = Reservation {
        id: "0f3a-1".to_owned(),
        ..first.clone()
    };
    assert_eq!(hold_number(&foreign.id), None);
    s.settle_now(&foreign, Amounts::default());
    let usage = s.usage_now("alice");
    assert_eq!((usage[0].spent, usage[0].reserved), (0, 500));
    s.settle_now(
        &first,
        Amounts {
            micro_usd: 250,
            ..Amounts::default()
        },
    );
    let usage = s.usage_now("alice");
    assert_eq!((usage[0].spent, usage[0].reserved), (250, 200));
}
