//! Both stores: compare-and-set by revision, snapshots, lookups, expiry; Redis shared by two
//! states.

use std::sync::Arc;

use gateway_core::Principal;

use super::*;

fn block(kind: BlockKind, value: &str, expires_at_ms: Option<u64>) -> Record {
    Record::Block(Block {
        id: new_id("blk"),
        kind,
        value: value.to_owned(),
        reason: "test".to_owned(),
        by: "admin".to_owned(),
        created_at_ms: now_ms(),
        expires_at_ms,
        revision: 0,
    })
}

fn overriding(target: &str, limit: &str, value: u64, created_at_ms: u64) -> Record {
    Record::Override(Override {
        id: new_id("ovr"),
        scope: Scope::Subject,
        target: target.to_owned(),
        limits: [(limit.to_owned(), value)].into(),
        reason: "test".to_owned(),
        by: "admin".to_owned(),
        created_at_ms,
        expires_at_ms: now_ms() + 60_000,
        file_values: Default::default(),
        revision: 0,
    })
}

async fn revisions_guard_every_write(store: Arc<dyn StateStore>) {
    let state = RuntimeState::load(store).await.unwrap();
    let b = block(BlockKind::Subject, "alice", None);
    let id = b.id().to_owned();
    let stored = state.put(b.clone(), Expect::Absent).await.unwrap();
    assert!(stored.revision() > 0);
    assert!(matches!(
        state.put(b.clone(), Expect::Absent).await,
        Err(StateError::Conflict { .. })
    ));
    assert!(matches!(
        state.put(b.clone(), Expect::Revision(stored.revision() + 7)).await,
        Err(StateError::Conflict { current }) if current == stored.revision()
    ));
    let snap = state.snapshot();
    assert_eq!(snap.get(&id).unwrap().revision(), stored.revision());
    assert_eq!(
        snap.blocked(&Principal::subject("alice"), now_ms())
            .unwrap()
            .id,
        id
    );
    assert!(snap.blocked(&Principal::subject("bob"), now_ms()).is_none());
    assert!(matches!(
        state.delete("blk_missing", Expect::Any).await,
        Err(StateError::NotFound)
    ));
    state
        .delete(&id, Expect::Revision(stored.revision()))
        .await
        .unwrap();
    assert!(state.snapshot().get(&id).is_none());
}

#[tokio::test]
async fn memory_writes_are_compare_and_set_by_revision() {
    revisions_guard_every_write(Arc::new(MemoryState::default())).await;
}

#[tokio::test]
async fn redis_writes_are_compare_and_set_and_seen_by_another_state() {
    let Some(redis) = gateway_testkit::redis_server::RedisServer::start().await else {
        return;
    };
    let timeout = std::time::Duration::from_secs(2);
    let store = Arc::new(RedisState::connect(&redis.url(), timeout).await.unwrap());
    revisions_guard_every_write(store.clone()).await;
    let other = RuntimeState::load(Arc::new(
        RedisState::connect(&redis.url(), timeout).await.unwrap(),
    ))
    .await
    .unwrap();
    let writer = RuntimeState::load(store).await.unwrap();
    writer
        .put(block(BlockKind::Org, "acme", None), Expect::Absent)
        .await
        .unwrap();
    assert!(other.refresh().await.unwrap());
    let who = Principal {
        org: Some("acme".to_owned()),
        ..Principal::subject("carol")
    };
    assert!(other.snapshot().blocked(&who, now_ms()).is_some());
    assert!(!other.refresh().await.unwrap(), "nothing changed since");
}

#[tokio::test]
async fn the_newest_active_override_sets_a_field_and_expired_records_stop_applying() {
    let state = RuntimeState::load(Arc::new(MemoryState::default()))
        .await
        .unwrap();
    let now = now_ms();
    state
        .put(
            overriding("alice", "usd_per_day", 5, now - 10),
            Expect::Absent,
        )
        .await
        .unwrap();
    state
        .put(overriding("alice", "usd_per_day", 9, now), Expect::Absent)
        .await
        .unwrap();
    let snap = state.snapshot();
    assert_eq!(
        snap.override_value(Scope::Subject, "alice", "usd_per_day", now)
            .map(|(_, v)| v),
        Some(9)
    );
    assert!(
        snap.override_value(Scope::Subject, "alice", "tokens_per_day", now)
            .is_none()
    );
    assert!(
        snap.override_value(Scope::Subject, "alice", "usd_per_day", now + 120_000)
            .is_none(),
        "expired"
    );
    state
        .put(
            block(BlockKind::Jti, "run-1", Some(now + 1_000)),
            Expect::Absent,
        )
        .await
        .unwrap();
    let who = Principal {
        token_id: Some("run-1".to_owned()),
        ..Principal::subject("dave")
    };
    let snap = state.snapshot();
    assert!(snap.blocked(&who, now).is_some());
    assert!(snap.blocked(&who, now + 2_000).is_none());
    assert_eq!(snap.counts(now).overrides_active, 2);
    assert_eq!(snap.counts(now).blocks_active, 1);
}
