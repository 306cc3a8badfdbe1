//! The spend ledger, the same scenario against the memory store and a real redis-server:
//! rankings per subject and org, by day and month, paged highest first; daily totals with
//! empty days; periods that roll over at UTC midnight and month ends.

#![expect(
    clippy::unwrap_used,
    reason = "the shared scenario is test code outside #[test]"
)]

use std::time::Duration;

use gateway_quota::{MemoryStore, RedisStore, Spend, SpendScope, SpendWindow, Store};
use gateway_testkit::redis_server::RedisServer;

/// 2026-11-30T23:59:00Z: one minute before both a day and a month end.
const T0: u64 = 1_796_083_140_000;
const MINUTE: u64 = 60_000;

async fn scenario(store: &dyn Store) {
    let spend = |subject, org, micro_usd, at_ms| Spend {
        subject,
        org,
        micro_usd,
        at_ms,
    };
    for s in [
        spend("alice", Some("acme"), 300, T0),
        spend("bob", Some("acme"), 500, T0),
        spend("alice", Some("acme"), 400, T0),
        spend("carol", None, 100, T0),
        // The next day and month.
        spend("carol", Some("globex"), 900, T0 + 2 * MINUTE),
    ] {
        store.record_spend(s).await.unwrap();
    }
    let page = store
        .top_spenders(SpendScope::Subject, SpendWindow::Day, T0, 0, 2)
        .await
        .unwrap();
    assert_eq!(page.total, 3);
    assert_eq!(
        page.entries,
        [("alice".to_owned(), 700), ("bob".to_owned(), 500)]
    );
    let rest = store
        .top_spenders(SpendScope::Subject, SpendWindow::Day, T0, 2, 2)
        .await
        .unwrap();
    assert_eq!(rest.entries, [("carol".to_owned(), 100)]);
    let orgs = store
        .top_spenders(SpendScope::Org, SpendWindow::Month, T0, 0, 10)
        .await
        .unwrap();
    assert_eq!(
        orgs.entries,
        [("acme".to_owned(), 1200)],
        "globex spent in December"
    );
    let december = store
        .top_spenders(
            SpendScope::Subject,
            SpendWindow::Month,
            T0 + 2 * MINUTE,
            0,
            10,
        )
        .await
        .unwrap();
    assert_eq!(december.entries, [("carol".to_owned(), 900)]);
    assert_eq!(
        store
            .spent(SpendScope::Org, SpendWindow::Day, "acme", T0)
            .await
            .unwrap(),
        1200
    );
    assert_eq!(
        store
            .spent(SpendScope::Org, SpendWindow::Day, "nobody", T0)
            .await
            .unwrap(),
        0
    );
    let history = store.spend_history(3, T0 + 2 * MINUTE).await.unwrap();
    let days: Vec<(&str, u64, u64)> = history
        .iter()
        .map(|d| (d.day.as_str(), d.micro_usd, d.requests))
        .collect();
    assert_eq!(
        days,
        [
            ("2026-11-29", 0, 0),
            ("2026-11-30", 1300, 4),
            ("2026-12-01", 900, 1)
        ]
    );
    assert_eq!(SpendWindow::Month.period(T0), "2026-11");
}

#[tokio::test]
async fn the_memory_ledger_ranks_and_totals_by_utc_period() {
    scenario(&MemoryStore::default()).await;
}

#[tokio::test]
async fn the_redis_ledger_ranks_and_totals_by_utc_period() {
    let Some(redis) = RedisServer::start().await else {
        return;
    };
    let store = RedisStore::connect(&redis.url(), Duration::from_millis(500))
        .await
        .unwrap();
    scenario(&store).await;
}
