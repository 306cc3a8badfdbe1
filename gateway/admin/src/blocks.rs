//! `POST /admin/blocks`: refuse a subject, an organisation, a token (`jti`) or a virtual key
//! (its id) on every replica within one sync, before their requests' bodies are read.

use std::time::Duration;

use gateway_runtime_state::{Block, BlockKind, Record, new_id, now_ms};
use serde::Deserialize;

use crate::Admin;
use crate::changes::Applied;
use crate::request::{Refused, json_body, lifetime_ms, reason};

/// Longest a block with an expiry may last (a block without one lasts until deleted).
const BLOCK_TTL_MAX: Duration = Duration::from_secs(365 * 24 * 3600);

const EXAMPLE: &str = r#"{"kind": "subject", "value": "alice", "reason": "token leaked in a public repo", "expires_in": "24h"}"#;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateRequest {
    kind: BlockKind,
    value: String,
    reason: Option<String>,
    expires_in: Option<String>,
}

pub(crate) async fn create(admin: &Admin, by: &str, body: &[u8]) -> Result<Applied, Refused> {
    let req: CreateRequest = json_body(body, EXAMPLE)?;
    let value = req.value.trim().to_owned();
    if value.is_empty() {
        return Err(Refused::bad(
            "`value` is empty",
            "name the subject, org, jti or key id to block",
        ));
    }
    let reason = reason(req.reason)?;
    let now = now_ms();
    let ttl = lifetime_ms(req.expires_in.as_deref(), None, BLOCK_TTL_MAX)?;
    let record = Record::Block(Block {
        id: new_id("blk"),
        kind: req.kind,
        value,
        reason: reason.clone(),
        by: by.to_owned(),
        created_at_ms: now,
        expires_at_ms: ttl.map(|t| now.saturating_add(t)),
        revision: 0,
    });
    crate::changes::create(admin, record, Some(reason), "block_set").await
}
