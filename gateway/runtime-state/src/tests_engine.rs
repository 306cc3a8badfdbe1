//! The pure logic: precedence with sources, override expiry in precedence, virtual keys kept
//! as digests only, and the audit log's hash chain.

use std::sync::Arc;

use gateway_core::Principal;

use super::*;

fn override_of(scope: Scope, target: &str, value: u64, now: u64, ttl: u64) -> Record {
    Record::Override(Override {
        id: new_id("ovr"),
        scope,
        target: target.to_owned(),
        limits: [("usd_per_day".to_owned(), value)].into(),
        reason: "afternoon boost".to_owned(),
        by: "admin".to_owned(),
        created_at_ms: now,
        expires_at_ms: now + ttl,
        file_values: Default::default(),
        revision: 0,
    })
}

fn alice() -> Principal {
    Principal {
        org: Some("acme".to_owned()),
        ..Principal::subject("alice")
    }
}

#[tokio::test]
async fn block_beats_override_beats_file_beats_default_field_by_field() {
    let state = RuntimeState::load(Arc::new(MemoryState::default()))
        .await
        .unwrap();
    let now = now_ms();
    let file = FileValue {
        value: 3,
        file: "policies/team.toml".to_owned(),
        line: 7,
    };
    let eff = |limit: &str, file: Option<&FileValue>| {
        effective_limit(
            &state.snapshot(),
            &alice(),
            Scope::Subject,
            limit,
            file,
            Some(1),
            now,
        )
    };
    let org_eff = |limit: &str, file: Option<&FileValue>| {
        effective_limit(
            &state.snapshot(),
            &alice(),
            Scope::Org,
            limit,
            file,
            None,
            now,
        )
    };
    assert_eq!(eff("usd_per_day", None).source, Source::Default);
    assert_eq!(eff("usd_per_day", None).value, Some(1));
    assert_eq!(
        eff("usd_per_day", Some(&file)).source,
        Source::File {
            file: "policies/team.toml".to_owned(),
            line: 7
        }
    );
    let org = state
        .put(
            override_of(Scope::Org, "acme", 8, now, 60_000),
            Expect::Absent,
        )
        .await
        .unwrap();
    // An org override changes the org's bucket, not the member's own.
    assert_eq!(org_eff("usd_per_day", Some(&file)).value, Some(8));
    assert_eq!(
        org_eff("usd_per_day", Some(&file)).source,
        Source::Override {
            id: org.id().to_owned(),
            scope: Scope::Org
        }
    );
    assert_eq!(eff("usd_per_day", Some(&file)).value, Some(3));
    let sub = state
        .put(
            override_of(Scope::Subject, "alice", 9, now, 60_000),
            Expect::Absent,
        )
        .await
        .unwrap();
    assert_eq!(eff("usd_per_day", Some(&file)).value, Some(9));
    assert_eq!(
        effective_value(
            &state.snapshot(),
            &alice(),
            Scope::Subject,
            "usd_per_day",
            Some(3),
            None,
            now
        ),
        Some(9)
    );
    assert_eq!(
        org_eff("usd_per_day", Some(&file)).value,
        Some(8),
        "each scope its own"
    );
    assert!(
        matches!(eff("usd_per_day", None).source, Source::Override { ref id, .. } if id == sub.id())
    );
    // A field the override does not name keeps the file's value.
    assert_eq!(eff("tokens_per_day", Some(&file)).value, Some(3));
    let block = state
        .put(
            Record::Block(Block {
                id: new_id("blk"),
                kind: BlockKind::Org,
                value: "acme".to_owned(),
                reason: "leaked".to_owned(),
                by: "admin".to_owned(),
                created_at_ms: now,
                expires_at_ms: None,
                revision: 0,
            }),
            Expect::Absent,
        )
        .await
        .unwrap();
    let blocked = eff("usd_per_day", Some(&file));
    assert_eq!(blocked.value, Some(0));
    assert_eq!(
        effective_value(
            &state.snapshot(),
            &alice(),
            Scope::Subject,
            "usd_per_day",
            Some(3),
            Some(1),
            now
        ),
        Some(0),
        "the request path's value follows the same rule"
    );
    assert_eq!(org_eff("usd_per_day", None).value, Some(0));
    assert_eq!(
        blocked.source,
        Source::Block {
            id: block.id().to_owned()
        }
    );
}

#[tokio::test]
async fn an_expired_override_falls_back_to_the_file_without_a_write() {
    let state = RuntimeState::load(Arc::new(MemoryState::default()))
        .await
        .unwrap();
    let now = now_ms();
    state
        .put(
            override_of(Scope::Subject, "alice", 9, now, 1_000),
            Expect::Absent,
        )
        .await
        .unwrap();
    let file = FileValue {
        value: 3,
        file: "policies/team.toml".to_owned(),
        line: 7,
    };
    let snap = state.snapshot();
    let before = effective_limit(
        &snap,
        &alice(),
        Scope::Subject,
        "usd_per_day",
        Some(&file),
        None,
        now,
    );
    assert_eq!(before.value, Some(9));
    let after = effective_limit(
        &snap,
        &alice(),
        Scope::Subject,
        "usd_per_day",
        Some(&file),
        None,
        now + 1_000,
    );
    assert_eq!(
        after.value,
        Some(3),
        "expiry is exclusive: at expires_at_ms it is over"
    );
    assert!(matches!(after.source, Source::File { .. }));
    assert_eq!(snap.counts(now + 1_000).overrides_active, 0);
}

#[tokio::test]
async fn a_stale_if_match_changes_nothing() {
    let state = RuntimeState::load(Arc::new(MemoryState::default()))
        .await
        .unwrap();
    let now = now_ms();
    let first = state
        .put(
            override_of(Scope::Subject, "alice", 5, now, 60_000),
            Expect::Absent,
        )
        .await
        .unwrap();
    let mut edited = first.clone();
    if let Record::Override(o) = &mut edited {
        o.limits.insert("usd_per_day".to_owned(), 6);
    }
    let second = state
        .put(edited.clone(), Expect::Revision(first.revision()))
        .await
        .unwrap();
    assert!(second.revision() > first.revision());
    // A second editor still holding the first revision is refused, and the value stays 6.
    let refused = state.put(edited, Expect::Revision(first.revision())).await;
    assert!(
        matches!(refused, Err(StateError::Conflict { current }) if current == second.revision())
    );
    let snap = state.snapshot();
    let value = snap.override_value(Scope::Subject, "alice", "usd_per_day", now);
    assert_eq!(value.map(|(_, v)| v), Some(6));
}

#[tokio::test]
async fn a_virtual_key_is_stored_as_its_digest_only() {
    let state = RuntimeState::load(Arc::new(MemoryState::default()))
        .await
        .unwrap();
    let now = now_ms();
    let request = KeyRequest {
        subject: "ci".to_owned(),
        budget_micro_usd: Some(2_000_000),
        ..KeyRequest::default()
    };
    let (key, token) = issue_key(request, "admin", now);
    assert!(token.starts_with(KEY_TOKEN_PREFIX) && token.len() > 60);
    assert_eq!(key.sha256, hex::encode(token_digest(&token)));
    let stored = state.put(Record::Key(key), Expect::Absent).await.unwrap();
    let json = serde_json::to_string(&stored).unwrap();
    assert!(!json.contains(&token), "the plaintext is never stored");
    let snap = state.snapshot();
    assert_eq!(snap.key(&token_digest(&token), now).unwrap().subject, "ci");
    assert!(snap.key(&token_digest("gwk_guess"), now).is_none());
    let (other, other_token) = issue_key(KeyRequest::default(), "admin", now);
    assert_ne!(other_token, token);
    assert_ne!(other.id, stored.id());
}

fn entry(what: &str) -> AuditEntry {
    AuditEntry {
        at_ms: 1,
        who: "admin".to_owned(),
        what: what.to_owned(),
        ok: true,
        outcome: "applied".to_owned(),
        before: None,
        after: Some(serde_json::json!({ "id": "blk_1" })),
        reason: Some("leaked".to_owned()),
    }
}

#[test]
fn the_audit_log_is_a_hash_chain_and_any_edit_breaks_it() {
    let mut chain = AuditChain::default();
    let lines: Vec<String> = ["block.create", "override.create", "key.revoke"]
        .into_iter()
        .map(|w| chain.line(entry(w)).unwrap())
        .collect();
    let first: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(first["prev"], GENESIS);
    let second: serde_json::Value = serde_json::from_str(&lines[1]).unwrap();
    assert_eq!(second["prev"].as_str().unwrap(), line_digest(&lines[0]));
    let log = lines.join("\n") + "\n";
    assert_eq!(verify_chain(&log), Ok(3));
    assert_eq!(verify_chain(""), Ok(0));
    // Resuming after a restart continues the same chain.
    let mut resumed = AuditChain::resume(lines.last().map(String::as_str));
    let more = format!("{log}{}\n", resumed.line(entry("block.delete")).unwrap());
    assert_eq!(verify_chain(&more), Ok(4));
    let tampered = log.replacen("override.create", "override.delete", 1);
    assert_eq!(verify_chain(&tampered), Err(ChainError::Broken { line: 3 }));
    let dropped = [lines[0].as_str(), lines[2].as_str()].join("\n");
    assert_eq!(verify_chain(&dropped), Err(ChainError::Broken { line: 2 }));
    assert!(matches!(
        verify_chain("not json"),
        Err(ChainError::Malformed { line: 1, .. })
    ));
}
