//! The admins' runtime records through the real binary: an override admits the next request
//! (usage never reset), a block refuses it before the provider is reached, a virtual key
//! authenticates with its own budget until revoked, an override lapses at its expiry, and two
//! replicas on one Redis see every change within a second. Every change is in the chained
//! audit log.

use std::time::{Duration, Instant};

use gateway_testkit::{
    TestGateway,
    http::{self, Reply, post_json},
    poll::poll_until,
    redis_server::RedisServer,
};
use mock_provider::{MockConfig, MockProvider};

use super::{ADMIN_TOKEN, SONNET_CALL, message, policy_dir, send, settled, with_policies};

/// The issue's bound: a change made on one replica is in force on every replica within this.
const REPLICA_SYNC_BOUND: Duration = Duration::from_secs(1);

const TWO_A_MINUTE: &str = r#"
[[policy]]
name = "two-a-minute"
match = { subject = "*" }
requests_per_minute = 2
"#;

fn admin_req(
    method: ::http::Method,
    gw: &TestGateway,
    path: &str,
    body: Option<&str>,
) -> ::http::Request<http_body_util::Full<bytes::Bytes>> {
    let auth = format!("Bearer {ADMIN_TOKEN}");
    let headers = [("authorization", auth.as_str())];
    let mut req = match body {
        Some(b) => post_json(&gw.admin_url(path), &headers, b),
        None => http::bodyless(method.clone(), &gw.admin_url(path), &headers),
    };
    *req.method_mut() = method;
    req
}

async fn admin(gw: &TestGateway, method: ::http::Method, path: &str, body: Option<&str>) -> Reply {
    http::send(admin_req(method, gw, path, body)).await
}

async fn with_key(gw: &TestGateway, token: &str) -> Reply {
    http::send(post_json(
        &gw.url("/v1/messages"),
        &[("x-api-key", token), ("anthropic-version", "2023-06-01")],
        &message("claude-sonnet-4-6", 100, false),
    ))
    .await
}

fn audit(gw: &TestGateway) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(gw.audit_path()).unwrap_or_default();
    gateway_runtime_state::verify_chain(&text).expect("the audit chain holds");
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test]
async fn an_override_admits_a_block_refuses_and_neither_resets_usage() {
    let mock = MockProvider::start(MockConfig::default()).await.unwrap();
    let dir = policy_dir("runtime-override", TWO_A_MINUTE);
    let gw = with_policies(&mock, &dir).start().await;
    let ok = message("claude-sonnet-4-6", 100, false);
    for _ in 0..2 {
        assert_eq!(send(&gw, &ok).await.status, 200);
    }
    assert_eq!(send(&gw, &ok).await.status, 429, "the file's limit");

    let reply = admin(
        &gw,
        ::http::Method::POST,
        "/admin/overrides",
        Some(r#"{"scope":"subject","target":"developer","limits":{"requests_per_minute":10},"reason":"demo this afternoon","expires_in":"2h"}"#),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    let ovr = reply.json()["id"].as_str().unwrap().to_owned();
    let reply = send(&gw, &ok).await;
    assert_eq!(
        reply.status,
        200,
        "the override is in force at once: {}",
        reply.text()
    );
    let limits = admin(&gw, ::http::Method::GET, "/admin/limits/developer", None).await;
    let rpm = &limits.json()["limits"]["subject"]["requests_per_minute"];
    assert_eq!(rpm["source"], "override", "{rpm}");
    assert_eq!(rpm["id"], ovr.as_str());
    assert_eq!(limits.json()["policy"]["name"], "two-a-minute");
    let bucket = settled(&gw, 3, "developer", "requests_per_minute").await;
    assert_eq!(
        bucket["spent"], 3,
        "every admitted request counted, none forgotten: {bucket}"
    );
    assert_eq!(bucket["limit"], 10);

    let reply = admin(
        &gw,
        ::http::Method::POST,
        "/admin/blocks",
        Some(r#"{"kind":"subject","value":"developer","reason":"token posted in a public issue"}"#),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    let blk = reply.json()["id"].as_str().unwrap().to_owned();
    let hits = mock.hits("/v1/messages");
    let reply = send(&gw, &ok).await;
    assert_eq!(reply.status, 403, "{}", reply.text());
    assert_eq!(reply.json()["type"], "error");
    assert_eq!(reply.json()["error"]["type"], "permission_error");
    let text = reply.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        text.contains(&blk) && text.contains("administrators"),
        "{text}"
    );
    assert_eq!(
        mock.hits("/v1/messages"),
        hits,
        "a blocked request never reaches the provider"
    );

    let reply = admin(
        &gw,
        ::http::Method::DELETE,
        &format!("/admin/blocks/{blk}"),
        None,
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(send(&gw, &ok).await.status, 200);
    let bucket = settled(&gw, 4, "developer", "requests_per_minute").await;
    assert_eq!(
        bucket["spent"], 4,
        "the block refused before metering: {bucket}"
    );

    // Removing the override puts the file's limit back; usage stays.
    let reply = admin(
        &gw,
        ::http::Method::DELETE,
        &format!("/admin/overrides/{ovr}"),
        None,
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(send(&gw, &ok).await.status, 429);

    let entries = audit(&gw);
    let whats: Vec<&str> = entries
        .iter()
        .map(|e| e["what"].as_str().unwrap())
        .collect();
    assert_eq!(
        whats,
        [
            "override.create",
            "block.create",
            "block.delete",
            "override.delete"
        ]
    );
    assert!(
        entries
            .iter()
            .all(|e| e["who"] == "admin" && e["ok"] == true)
    );
    assert_eq!(entries[1]["reason"], "token posted in a public issue");
    gw.wait_for_metric("llm_gateway_admin_changes_total", 4.0, super::WAIT)
        .await;
}

#[tokio::test]
async fn a_virtual_key_authenticates_with_its_budget_until_revoked() {
    let mock = MockProvider::start(MockConfig::default()).await.unwrap();
    let dir = policy_dir(
        "runtime-keys",
        TWO_A_MINUTE.replace("= 2", "= 100").as_str(),
    );
    let gw = with_policies(&mock, &dir).start().await;
    // $0.002: each call holds $0.001734 (max_tokens 100 at $15/M plus the input estimate)
    // and settles to SONNET_CALL, so two calls fit and the third's hold does not.
    let budget = "0.002";
    let reply = admin(
        &gw,
        ::http::Method::POST,
        "/admin/keys",
        Some(&format!(r#"{{"subject":"ci-nightly","org":"acme","budget_usd":"{budget}","description":"nightly wizard"}}"#)),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    let token = reply.json()["token"].as_str().unwrap().to_owned();
    let id = reply.json()["id"].as_str().unwrap().to_owned();

    for n in 1..=2 {
        let reply = with_key(&gw, &token).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        // Settled before the next: the budget holds one reservation at a time.
        gw.wait_for_metric(
            "llm_gateway_quota_settlements_total",
            f64::from(n),
            super::WAIT,
        )
        .await;
    }
    // The key's requests are the subject's (and org's), its budget its own bucket.
    let rpm = settled(&gw, 2, "ci-nightly", "requests_per_minute").await;
    assert_eq!(rpm["spent"], 2);
    assert!(rpm["key"].as_str().unwrap().contains("{org:acme}"), "{rpm}");
    let reply = with_key(&gw, &token).await;
    assert_eq!(reply.status, 402, "{}", reply.text());
    let spent = format!("${:.6} of $0.002000", (2 * SONNET_CALL) as f64 / 1e6);
    assert!(reply.text().contains(&spent), "{}", reply.text());

    let reply = admin(
        &gw,
        ::http::Method::DELETE,
        &format!("/admin/keys/{id}"),
        None,
    )
    .await;
    assert_eq!(reply.status, 200);
    let reply = with_key(&gw, &token).await;
    assert_eq!(reply.status, 401, "revoked: {}", reply.text());
    assert!(
        !gw.logs().contains(&token),
        "the key's token is never logged"
    );
    let audit = std::fs::read_to_string(gw.audit_path()).unwrap();
    assert!(audit.contains(&id) && !audit.contains(&token));
}

#[tokio::test]
async fn two_replicas_on_one_redis_see_each_change_within_a_second_and_overrides_lapse() {
    let Some(redis) = RedisServer::start().await else {
        return;
    };
    let mock = MockProvider::start(MockConfig::default()).await.unwrap();
    let dir = policy_dir("runtime-replicas", TWO_A_MINUTE);
    let replica = || {
        with_policies(&mock, &dir)
            .env("GATEWAY__QUOTA__STORE", "redis")
            .env("GATEWAY__QUOTA__REDIS_URL", redis.url())
            .start()
    };
    let (a, b) = (replica().await, replica().await);
    let ok = message("claude-sonnet-4-6", 100, false);

    // A block made on A refuses on B within the bound.
    let reply = admin(
        &a,
        ::http::Method::POST,
        "/admin/blocks",
        Some(r#"{"kind":"org","value":"nobody","reason":"probe"}"#),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    let made = Instant::now();
    let blk = reply.json()["id"].as_str().unwrap().to_owned();
    let path = format!("/admin/blocks/{blk}");
    poll_until("B sees A's block", REPLICA_SYNC_BOUND, || async {
        (admin(&b, ::http::Method::GET, &path, None).await.status == 200).then_some(())
    })
    .await;
    assert!(made.elapsed() <= REPLICA_SYNC_BOUND);

    // A virtual key made on B authenticates on A.
    let reply = admin(
        &b,
        ::http::Method::POST,
        "/admin/keys",
        Some(r#"{"subject":"shared-ci"}"#),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    let token = reply.json()["token"].as_str().unwrap().to_owned();
    poll_until("A accepts B's key", REPLICA_SYNC_BOUND, || async {
        (with_key(&a, &token).await.status == 200).then_some(())
    })
    .await;

    // An override made on A, lapsing in 2 s, admits on B, then stops by itself.
    for gw in [&a, &b] {
        assert_eq!(send(gw, &ok).await.status, 200);
    }
    assert_eq!(
        send(&b, &ok).await.status,
        429,
        "the file's limit, counted across replicas"
    );
    let reply = admin(
        &a,
        ::http::Method::POST,
        "/admin/overrides",
        Some(r#"{"scope":"subject","target":"developer","limits":{"requests_per_minute":50},"reason":"brief","expires_in":"2s"}"#),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    poll_until(
        "B admits under A's override",
        REPLICA_SYNC_BOUND,
        || async { (send(&b, &ok).await.status == 200).then_some(()) },
    )
    .await;
    // It lapses by itself at its expiry (no write): the file's value is back.
    poll_until("the override lapses", Duration::from_secs(10), || async {
        let limits = admin(&b, ::http::Method::GET, "/admin/limits/developer", None).await;
        (limits.json()["limits"]["subject"]["requests_per_minute"]["source"] == "file")
            .then_some(())
    })
    .await;
    assert_eq!(send(&b, &ok).await.status, 429);
    // Each replica audits its own changes.
    assert_eq!(audit(&a).len(), 2);
    assert_eq!(audit(&b).len(), 1);
}

#[tokio::test]
async fn a_static_key_is_blocked_by_its_id_and_its_subject_stays_served_by_other_credentials() {
    let mock = MockProvider::start(MockConfig::default()).await.unwrap();
    let dir = policy_dir("runtime-static-key", &TWO_A_MINUTE.replace("= 2", "= 100"));
    let gw = with_policies(&mock, &dir).start().await;
    let ok = message("claude-sonnet-4-6", 100, false);
    assert_eq!(send(&gw, &ok).await.status, 200);
    // The dev token's key id: `key-` and the first 12 hex digits of its SHA-256.
    let id = format!(
        "key-{}",
        &gateway_testkit::sha256_hex(gateway_testkit::DEV_TOKEN)[..12]
    );
    let reply = admin(
        &gw,
        ::http::Method::POST,
        "/admin/blocks",
        Some(&format!(
            r#"{{"kind":"key","value":"{id}","reason":"laptop stolen"}}"#
        )),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    let reply = send(&gw, &ok).await;
    assert_eq!(reply.status, 403, "{}", reply.text());
    assert!(
        reply.text().contains("this key is blocked"),
        "{}",
        reply.text()
    );
    // A virtual key of the same subject is another credential: not blocked.
    let key = admin(
        &gw,
        ::http::Method::POST,
        "/admin/keys",
        Some(r#"{"subject":"developer"}"#),
    )
    .await;
    let token = key.json()["token"].as_str().unwrap().to_owned();
    assert_eq!(with_key(&gw, &token).await.status, 200);
}
