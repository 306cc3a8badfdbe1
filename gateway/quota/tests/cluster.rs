//! The Redis store on a real three-node Redis Cluster: reservations of tenants in different
//! slots, settlement, the bucket index and the spend ledger, all without a cross-slot error.

use std::time::Duration;

use gateway_quota::{
    Amounts, Bucket, Measure, RedisConnection, RedisStore, RedisTarget, ReserveOutcome,
    ReserveRequest, Spend, SpendScope, SpendWindow, Store, Window,
};
use gateway_testkit::redis_cluster::RedisCluster;

const TIMEOUT: Duration = Duration::from_secs(2);

#[tokio::test]
async fn buckets_index_and_ledger_work_across_a_clusters_slots() {
    let Some(cluster) = RedisCluster::start().await else {
        return;
    };
    let client = redis::cluster::ClusterClient::new(cluster.urls()).unwrap();
    let connection = RedisConnection::connect(RedisTarget::Cluster(client), TIMEOUT)
        .await
        .unwrap();
    let store = RedisStore::with_connection(connection, TIMEOUT);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    // Enough tenants that their hash tags land on every node.
    for i in 0..30 {
        let (tenant, subject) = (format!("org:o{i}"), format!("s{i}"));
        let buckets = vec![
            Bucket {
                key: Bucket::key(&tenant, "sub", &subject, "usd_per_day"),
                label: "usd_per_day",
                window: Window::Day,
                measure: Measure::MicroUsd,
                limit: 1_000,
            },
            Bucket {
                key: Bucket::key(&tenant, "org", &format!("o{i}"), "requests_per_minute"),
                label: "requests_per_minute",
                window: Window::Minute,
                measure: Measure::Requests,
                limit: 10,
            },
        ];
        let request = ReserveRequest {
            buckets: buckets.into(),
            amounts: Amounts {
                requests: 1,
                tokens: 0,
                micro_usd: 600,
            },
            lease: Duration::from_secs(60),
        };
        let ReserveOutcome::Granted(r) = store.reserve(&request).await.unwrap() else {
            panic!("tenant {i}: the first reservation fits");
        };
        assert!(
            matches!(
                store.reserve(&request).await.unwrap(),
                ReserveOutcome::Refused(_)
            ),
            "tenant {i}: atomic on its slot"
        );
        store
            .settle(
                &r,
                Amounts {
                    requests: 1,
                    tokens: 0,
                    micro_usd: 250,
                },
            )
            .await
            .unwrap();
        store
            .record_spend(Spend {
                subject: &subject,
                org: Some(&format!("o{i}")),
                model: "claude-sonnet-4-6",
                micro_usd: 250 + i,
                at_ms: now,
            })
            .await
            .unwrap();
        let usage = store.usage(&subject).await.unwrap();
        assert_eq!(
            (usage.len(), usage[0].spent),
            (1, 250),
            "tenant {i}: {usage:?}"
        );
        assert_eq!(store.org_usage(&format!("o{i}")).await.unwrap().len(), 1);
    }
    let top = store
        .top_spenders(SpendScope::Subject, SpendWindow::Day, now, 0, 3)
        .await
        .unwrap();
    assert_eq!(top.total, 30);
    assert_eq!(top.entries[0], ("s29".to_owned(), 279));
    let history = store.spend_history(3, now).await.unwrap();
    assert_eq!(history[2].requests, 30);
    assert_eq!(
        store
            .spend_by_model(SpendScope::Org, SpendWindow::Month, "o3", now)
            .await
            .unwrap(),
        [("claude-sonnet-4-6".to_owned(), 253)]
    );
    assert_eq!(store.reset("s7").await.unwrap(), 1);
}
