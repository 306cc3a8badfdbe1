//! Quota across replicas and stores: two gateway processes sharing one Redis, leases of a
//! killed gateway, Redis outages under each `on_store_error`.

use std::{sync::Arc, time::Duration};

use gateway_testkit::{
    DEV_TOKEN, TestGateway, TestGatewayBuilder,
    http::{self, post_json},
    redis_cluster::RedisCluster,
    redis_server::RedisServer,
};
use mock_provider::{MockConfig, MockProvider, Script};
use serde_json::json;

use super::{
    ADMIN_TOKEN, BEARER, SONNET_CALL, WAIT, message, policy_dir, send, settled, with_policies,
};

/// How the replicas share Redis.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shared {
    /// One server, plain TCP.
    Plain,
    /// One server over TLS with a test CA.
    Tls,
    /// A three-node Redis Cluster.
    Cluster,
}

/// Two replicas sharing one Redis take 200 concurrent requests (a third streamed) against a
/// small budget; returns (admitted, refused, the bucket after settlement).
async fn two_replicas(
    name: &str,
    policy: &str,
    configure: impl Fn(TestGatewayBuilder) -> TestGatewayBuilder,
    credential: (&'static str, String),
    label: &str,
    mode: Shared,
) -> Option<(u64, u64, serde_json::Value)> {
    // Held for the test's length: the servers stop when dropped.
    let (_server, _cluster, url, ca_file, cluster) = match mode {
        Shared::Plain | Shared::Tls => {
            let redis = if mode == Shared::Tls {
                RedisServer::start_tls().await?
            } else {
                RedisServer::start().await?
            };
            let (url, ca) = (redis.url(), redis.ca_file());
            (Some(redis), None, url, ca, false)
        }
        Shared::Cluster => {
            let cluster = RedisCluster::start().await?;
            let url = cluster.urls()[0].clone();
            (None, Some(cluster), url, None, true)
        }
    };
    let mock = MockProvider::start(MockConfig::default()).await.unwrap();
    let dir = policy_dir(name, policy);
    let replica = || {
        let b = configure(with_policies(&mock, &dir))
            .env("GATEWAY__QUOTA__STORE", "redis")
            .env("GATEWAY__QUOTA__REDIS_URL", &url)
            .env("GATEWAY__QUOTA__REDIS_CLUSTER", cluster.to_string());
        match &ca_file {
            Some(ca) => b.env("GATEWAY__QUOTA__REDIS_CA_FILE", ca.to_str().unwrap()),
            None => b,
        }
        // Generous: 200 concurrent requests on two debug builds sharing 2 cores.
        .env("GATEWAY__QUOTA__REDIS_TIMEOUT_MS", "3000")
        .start()
    };
    let (a, b) = (Arc::new(replica().await), Arc::new(replica().await));
    let credential = Arc::new(credential);
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let gw = if i % 2 == 0 { a.clone() } else { b.clone() };
            let credential = credential.clone();
            tokio::spawn(async move {
                let (header, value) = (credential.0, credential.1.as_str());
                let body = message("claude-sonnet-4-6", 200, i % 3 == 0);
                (
                    i % 2,
                    http::send(post_json(
                        &gw.url("/v1/messages"),
                        &[(header, value)],
                        &body,
                    ))
                    .await,
                )
            })
        })
        .collect();
    let (mut ok, mut refused, mut ok_by) = (0u64, 0u64, [0usize; 2]);
    for t in tasks {
        let (replica, reply) = t.await.unwrap();
        match reply.status.as_u16() {
            200 => {
                ok += 1;
                ok_by[replica] += 1;
            }
            402 => refused += 1,
            other => panic!("unexpected {other}: {}", reply.text()),
        }
    }
    assert!(ok > 0 && refused > 0, "ok {ok}, refused {refused}");
    assert_eq!(
        mock.hits("/v1/messages") as u64,
        ok,
        "refused requests never reached the provider"
    );
    b.wait_for_metric("llm_gateway_quota_settlements_total", ok_by[1] as f64, WAIT)
        .await;
    a.wait_for_metric("llm_gateway_quota_settlements_total", ok_by[0] as f64, WAIT)
        .await;
    let subject = if credential.0 == "authorization" && credential.1.contains('.') {
        "runner"
    } else {
        "developer"
    };
    let reply = http::send(http::bodyless(
        ::http::Method::GET,
        &a.admin_url(&format!("/admin/usage/{subject}")),
        &[("authorization", &format!("Bearer {ADMIN_TOKEN}"))],
    ))
    .await;
    let windows = reply.json()["windows"].clone();
    let bucket = windows
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["limit_name"] == label)
        .cloned()
        .unwrap_or(serde_json::Value::Null);
    Some((ok, refused, bucket))
}

/// Two replicas sharing Redis (`mode`) against a $0.01 daily budget: never over, every
/// admitted request settled exactly once.
async fn money_budget_holds(name: &str, mode: Shared) {
    let policy = "[[policy]]\nname = \"exact\"\nusd_per_day = 0.01\n";
    let dev = ("authorization", format!("Bearer {DEV_TOKEN}"));
    let Some((ok, refused, day)) =
        two_replicas(name, policy, |b| b, dev, "usd_per_day", mode).await
    else {
        return;
    };
    let spent = day["spent"].as_u64().unwrap();
    eprintln!("{name}: {ok} admitted, {refused} refused, spent {spent} of 10000 micro-USD");
    assert!(spent <= 10_000, "spent {spent} over the limit");
    assert_eq!(day["reserved"], 0);
    assert_eq!(
        spent,
        ok * SONNET_CALL,
        "every admitted request settled exactly once"
    );
}

#[tokio::test]
async fn two_replicas_sharing_redis_never_overshoot_a_money_budget() {
    money_budget_holds("exact-usd", Shared::Plain).await;
}

#[tokio::test]
async fn two_replicas_sharing_redis_over_tls_never_overshoot_a_money_budget() {
    money_budget_holds("exact-usd-tls", Shared::Tls).await;
}

#[tokio::test]
async fn two_replicas_sharing_a_redis_cluster_never_overshoot_a_money_budget() {
    money_budget_holds("exact-usd-cluster", Shared::Cluster).await;
}

#[tokio::test]
async fn two_replicas_sharing_redis_never_overshoot_a_daily_token_limit() {
    // The mock reports 12 + 20 + 100 + 7 = 139 tokens a call.
    let policy = "[[policy]]\nname = \"exact\"\ntokens_per_day = 5000\n";
    let dev = ("authorization", format!("Bearer {DEV_TOKEN}"));
    let Some((ok, _, day)) = two_replicas(
        "exact-tokens",
        policy,
        |b| b,
        dev,
        "tokens_per_day",
        Shared::Plain,
    )
    .await
    else {
        return;
    };
    let spent = day["spent"].as_u64().unwrap();
    assert!(spent <= 5000, "spent {spent} tokens over the limit");
    assert_eq!(spent, ok * 139);
}

#[tokio::test]
async fn two_replicas_sharing_redis_stop_a_run_token_at_its_max_usd() {
    let jwks = std::env::temp_dir().join(format!(
        "llm-gateway-exact-jwks-{}.json",
        std::process::id()
    ));
    std::fs::write(&jwks, r#"{"keys":[]}"#).unwrap();
    let mut claims = gateway_testkit::jwt::claims("runner");
    claims["max_usd"] = json!(0.008);
    let token = gateway_testkit::jwt::hs256(gateway_testkit::jwt::HS256_SECRET.as_bytes(), &claims);
    let identity = move |b: TestGatewayBuilder| {
        b.config(gateway_testkit::workspace_root().join("config/gateway.identity.toml"))
            .env("GATEWAY_JWT_SECRET", gateway_testkit::jwt::HS256_SECRET)
            .env("GATEWAY_INTROSPECTION_SECRET", "unused")
            .env("GATEWAY__AUTH__JWT__JWKS_FILE", jwks.to_str().unwrap())
    };
    let policy = "[[policy]]\nname = \"open\"\nusd_per_day = 100.0\n";
    let credential = ("authorization", format!("Bearer {token}"));
    let Some((ok, _, day)) = two_replicas(
        "exact-run",
        policy,
        identity,
        credential,
        "usd_per_day",
        Shared::Plain,
    )
    .await
    else {
        return;
    };
    assert!(
        ok * SONNET_CALL <= 8_000,
        "{ok} calls cost more than the run's $0.008"
    );
    assert_eq!(day["spent"].as_u64().unwrap(), ok * SONNET_CALL);
}

#[tokio::test]
async fn a_killed_gateways_reservation_expires_with_its_lease() {
    let Some(redis) = RedisServer::start().await else {
        return;
    };
    let mock = MockProvider::start(MockConfig::default()).await.unwrap();
    // Room for one reservation at a time (max_tokens 400 needs ~$0.0064 of the $0.01).
    let dir = policy_dir("lease", "[[policy]]\nname = \"one\"\nusd_per_day = 0.01\n");
    let replica = || {
        with_policies(&mock, &dir)
            .env("GATEWAY__QUOTA__STORE", "redis")
            .env("GATEWAY__QUOTA__REDIS_URL", redis.url())
            .env("GATEWAY__QUOTA__LEASE_MS", "1500")
            .start()
    };
    let (mut doomed, survivor) = (replica().await, replica().await);
    mock.push_script(Script::Pause {
        after_deltas: 1,
        pause: Duration::from_secs(60),
    });
    let held = http::open(post_json(
        &doomed.url("/v1/messages"),
        &[BEARER],
        &message("claude-sonnet-4-6", 400, true),
    ))
    .await;
    assert_eq!(held.status(), 200);
    doomed.kill().await;
    drop(held);
    let reply = send(&survivor, &message("claude-sonnet-4-6", 400, false)).await;
    assert_eq!(
        reply.status,
        402,
        "the dead gateway's hold still counts: {}",
        reply.text()
    );
    // The lease runs out: the hold stops counting without anyone settling it. Polled until
    // the survivor is admitted again (refusals change nothing), not slept.
    let admitted = gateway_testkit::poll::poll_every(Duration::from_millis(100), WAIT, || async {
        let reply = send(&survivor, &message("claude-sonnet-4-6", 400, false)).await;
        (reply.status == 200).then_some(())
    })
    .await;
    assert!(admitted.is_some(), "the dead gateway's hold never lapsed");
}

#[tokio::test]
async fn redis_outage_follows_each_policys_on_store_error_and_recovers() {
    let Some(mut redis) = RedisServer::start().await else {
        return;
    };
    let mock = MockProvider::start(MockConfig::default()).await.unwrap();
    let dir = policy_dir(
        "outage",
        r#"
[[policy]]
name = "money"
match = { subject = "developer" }
usd_per_day = 10.0
on_store_error = "deny"

[[policy]]
name = "velocity"
match = { subject = "ci-bot" }
requests_per_minute = 1000
on_store_error = "allow_local"
local_share = 0.5
"#,
    );
    let ci_token = "ci-bot-token";
    let gw = with_policies(&mock, &dir)
        .env("GATEWAY__QUOTA__STORE", "redis")
        .env("GATEWAY__QUOTA__REDIS_URL", redis.url())
        .env("GATEWAY__AUTH__KEYS", format!(
            r#"[{{sha256 = "{}", subject = "developer"}}, {{sha256 = "{}", subject = "ci-bot"}}]"#,
            gateway_testkit::sha256_hex(DEV_TOKEN), gateway_testkit::sha256_hex(ci_token)))
        .start()
        .await;
    let ci = |gw: &TestGateway| {
        http::send(post_json(
            &gw.url("/v1/messages"),
            &[("x-api-key", ci_token)],
            &message("claude-sonnet-4-6", 10, false),
        ))
    };
    assert_eq!(
        send(&gw, &message("claude-sonnet-4-6", 10, false))
            .await
            .status,
        200
    );
    assert_eq!(ci(&gw).await.status, 200);

    let port = redis.port();
    redis.kill().await;
    let reply = send(&gw, &message("claude-sonnet-4-6", 10, false)).await;
    assert_eq!(reply.status, 503, "deny: {}", reply.text());
    assert_eq!(reply.json()["error"]["type"], "overloaded_error");
    assert!(reply.header("retry-after").is_some());
    assert_eq!(ci(&gw).await.status, 200, "allow_local keeps serving");
    let ready = http::send(http::bodyless(
        ::http::Method::GET,
        &gw.admin_url("/readyz"),
        &[],
    ))
    .await;
    assert_eq!(ready.status, 503, "{}", ready.text());
    assert!(gw.logs().contains("quota store unreachable"));

    let _redis = RedisServer::start_on(port).await.unwrap();
    let settled_before = gw.log_count("usage settled");
    let mut recovered = false;
    for _ in 0..20 {
        if send(&gw, &message("claude-sonnet-4-6", 10, false))
            .await
            .status
            == 200
        {
            recovered = true;
            break;
        }
    }
    assert!(recovered, "serves again once Redis is back");
    // Redis restarted empty (no persistence in the test): the one request since is counted.
    let day = settled(&gw, settled_before + 1, "developer", "usd_per_day").await;
    assert_eq!(day["spent"], SONNET_CALL, "{day}");
    let ready = http::send(http::bodyless(
        ::http::Method::GET,
        &gw.admin_url("/readyz"),
        &[],
    ))
    .await;
    assert_eq!(ready.status, 200, "{}", ready.text());
}
