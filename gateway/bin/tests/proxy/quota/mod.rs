//! Metering and quotas through the real binary: refusals clients understand, settlement from
//! every response shape, exactness across two replicas sharing Redis, store outages, hot
//! reload, run-scoped tokens.

use std::{path::PathBuf, time::Duration};

use gateway_testkit::{
    TestGateway, TestGatewayBuilder,
    http::{self, Reply, chat_body, post_json},
};
use mock_provider::{MockConfig, MockProvider, Script};
use serde_json::json;

use super::{BEARER, WAIT};

mod admin_cli;
mod admin_reads;
mod replicas;
mod runtime_admin;
mod stale_overrides;

/// The admin token the quota tests configure.
const ADMIN_TOKEN: &str = "test-admin-token";
/// What one default mock answer costs on claude-sonnet-4-6 (input 12, 5m write 20, read 100,
/// output 7 → 36 + 75 + 30 + 105 micro-USD).
const SONNET_CALL: u64 = 246;
/// What the mock's `message_start` usage alone costs (output 1 instead of 7).
const SONNET_START_ONLY: u64 = 156;

fn policy_dir(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "llm-gateway-policies-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("test.toml"), text).unwrap();
    dir
}

fn with_policies(mock: &MockProvider, dir: &std::path::Path) -> TestGatewayBuilder {
    super::gateway()
        .upstream(&mock.base_url())
        .env("GATEWAY__QUOTA__POLICIES_DIR", dir.to_str().unwrap())
        .env("GATEWAY__QUOTA__POLICIES_RELOAD_MS", "50")
        .env(
            "GATEWAY__ADMIN__TOKEN_SHA256",
            gateway_testkit::sha256_hex(ADMIN_TOKEN),
        )
}

fn message(model: &str, max_tokens: u64, stream: bool) -> String {
    json!({"model": model, "max_tokens": max_tokens, "stream": stream,
           "messages": [{"role": "user", "content": "Reply with hi"}]})
    .to_string()
}

async fn send(gw: &TestGateway, body: &str) -> Reply {
    http::send(post_json(&gw.url("/v1/messages"), &[BEARER], body)).await
}

/// The subject's bucket `label` from the admin API, after `settles` settlements were logged
/// (a settlement is logged once the store has it).
async fn settled(
    gw: &TestGateway,
    settles: usize,
    subject: &str,
    label: &str,
) -> serde_json::Value {
    gw.wait_for_metric("llm_gateway_quota_settlements_total", settles as f64, WAIT)
        .await;
    let reply = http::send(http::bodyless(
        ::http::Method::GET,
        &gw.admin_url(&format!("/admin/usage/{subject}")),
        &[("authorization", &format!("Bearer {ADMIN_TOKEN}"))],
    ))
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let windows = reply.json()["windows"].clone();
    let bucket = windows
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["limit_name"] == label)
        .cloned();
    let bucket = bucket.unwrap_or_else(|| panic!("no {label} bucket: {windows}"));
    assert_eq!(bucket["reserved"], 0, "{bucket}");
    bucket
}

#[tokio::test]
async fn spent_budgets_are_402_minute_limits_429_and_forbidden_models_403() {
    let mock = MockProvider::start(MockConfig::default()).await.unwrap();
    let dir = policy_dir(
        "answers",
        r#"
[[policy]]
name = "tight"
match = { subject = "developer" }
requests_per_minute = 3
usd_per_day = 0.01
models = ["claude-sonnet-*"]
"#,
    );
    let gw = with_policies(&mock, &dir).start().await;
    // max_tokens 10 000 at $15/M would need $0.15: more than the day's $0.01.
    let reply = send(&gw, &message("claude-sonnet-4-6", 10_000, false)).await;
    assert_eq!(reply.status, 402, "{}", reply.text());
    assert_eq!(reply.json()["error"]["type"], "billing_error");
    assert_eq!(reply.header("x-should-retry"), Some("false"));
    let message_text = reply.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message_text.contains("usd_per_day") && message_text.contains("resets at"),
        "{message_text}"
    );

    let reply = send(&gw, &message("claude-opus-4-5", 100, false)).await;
    assert_eq!(reply.status, 403, "{}", reply.text());
    assert_eq!(reply.json()["error"]["type"], "permission_error");

    for _ in 0..3 {
        let reply = send(&gw, &message("claude-sonnet-4-6", 100, false)).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert!(reply.header("x-gateway-budget-remaining-usd").is_some());
    }
    let reply = send(&gw, &message("claude-sonnet-4-6", 100, false)).await;
    assert_eq!(reply.status, 429, "{}", reply.text());
    assert_eq!(reply.json()["error"]["type"], "rate_limit_error");
    let wait: u64 = reply.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait));
    assert_eq!(
        mock.hits("/v1/messages"),
        3,
        "refused requests never reach the provider"
    );
    let day = settled(&gw, 3, "developer", "usd_per_day").await;
    assert_eq!(
        day["spent"],
        3 * SONNET_CALL,
        "{}",
        gw.logs()
            .lines()
            .filter(|l| l.contains("usage settled"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[tokio::test]
async fn every_response_shape_settles_to_what_the_provider_reported() {
    let mock = MockProvider::start(MockConfig::default()).await.unwrap();
    let dir = policy_dir(
        "settle",
        "[[policy]]\nname = \"meter\"\nusd_per_day = 100.0\n",
    );
    let gw = with_policies(&mock, &dir).start().await;
    let mut expected = 0;

    // JSON and a complete stream: the full usage.
    assert_eq!(
        send(&gw, &message("claude-sonnet-4-6", 100, false))
            .await
            .status,
        200
    );
    assert_eq!(
        send(&gw, &message("claude-sonnet-4-6", 100, true))
            .await
            .status,
        200
    );
    expected += 2 * SONNET_CALL;
    // A stream cut by the provider, and one ending in an error event: what message_start said.
    mock.push_script(Script::Reset { after_deltas: 1 });
    let _ = send(&gw, &message("claude-sonnet-4-6", 100, true)).await;
    mock.push_script(Script::MidStreamError {
        after_deltas: 1,
        error_type: "overloaded_error".into(),
        message: "Overloaded".into(),
    });
    let _ = send(&gw, &message("claude-sonnet-4-6", 100, true)).await;
    expected += 2 * SONNET_START_ONLY;
    // The client leaves mid-stream: charged what was streamed.
    mock.push_script(Script::Pause {
        after_deltas: 1,
        pause: Duration::from_secs(60),
    });
    let response = http::open(post_json(
        &gw.url("/v1/messages"),
        &[BEARER],
        &message("claude-sonnet-4-6", 100, true),
    ))
    .await;
    let mut body = response.into_body();
    assert!(
        http::read_until(&mut body, "content_block_delta", WAIT)
            .await
            .is_some()
    );
    drop(body);
    expected += SONNET_START_ONLY;
    // A provider error costs nothing (answered to the attempt and its same-target retry).
    for _ in 0..2 {
        mock.push_script(Script::Status {
            status: 529,
            headers: vec![],
            body: r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#
                .into(),
        });
    }
    assert_eq!(
        send(&gw, &message("claude-sonnet-4-6", 100, false))
            .await
            .status,
        529
    );

    let day = settled(&gw, 6, "developer", "usd_per_day").await;
    assert_eq!(day["spent"], expected, "{day}");
}

#[tokio::test]
async fn openai_streams_get_usage_without_showing_the_client_a_chunk_it_did_not_ask_for() {
    let mock = MockProvider::start(MockConfig::default()).await.unwrap();
    let dir = policy_dir(
        "openai",
        "[[policy]]\nname = \"meter\"\nusd_per_day = 100.0\n",
    );
    let gw = with_policies(&mock, &dir).start().await;
    let reply = http::send(post_json(
        &gw.url("/v1/chat/completions"),
        &[BEARER],
        &chat_body("gpt-5.4", true),
    ))
    .await;
    assert_eq!(reply.status, 200);
    let text = reply.text();
    assert!(
        !text.contains("\"choices\":[]"),
        "usage chunk leaked to the client: {text}"
    );
    assert!(text.trim_end().ends_with("data: [DONE]"));
    let seen: serde_json::Value = serde_json::from_slice(&mock.requests()[0].body).unwrap();
    assert_eq!(seen["stream_options"]["include_usage"], true);
    // gpt-5.4: input 12 × 2.50 + cached 100 × 0.25 + output 7 × 15 = 160 micro-USD.
    let day = settled(&gw, 1, "developer", "usd_per_day").await;
    assert_eq!(day["spent"], 160, "{day}");
}

#[tokio::test]
async fn clamping_lowers_max_tokens_to_what_the_budget_can_pay() {
    let mock = MockProvider::start(MockConfig::default()).await.unwrap();
    let dir = policy_dir(
        "clamp",
        "[[policy]]\nname = \"clamp\"\nusd_per_day = 0.02\nclamp_max_tokens = true\nmax_tokens_cap = 50000\n",
    );
    let gw = with_policies(&mock, &dir).start().await;
    let reply = send(&gw, &message("claude-sonnet-4-6", 40_000, false)).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let seen: serde_json::Value = serde_json::from_slice(&mock.requests()[0].body).unwrap();
    let clamped = seen["max_tokens"].as_u64().unwrap();
    assert!(
        clamped < 40_000 && clamped * 15 <= 20_000,
        "clamped to {clamped}"
    );
}

#[tokio::test]
async fn policy_edits_apply_live_never_reset_usage_and_bad_edits_are_refused() {
    let mock = MockProvider::start(MockConfig::default()).await.unwrap();
    let dir = policy_dir(
        "reload",
        "[[policy]]\nname = \"p\"\nrequests_per_minute = 100\nusd_per_day = 1.0\n",
    );
    let gw = with_policies(&mock, &dir).start().await;
    assert_eq!(
        send(&gw, &message("claude-sonnet-4-6", 10, false))
            .await
            .status,
        200
    );
    let before = settled(&gw, 1, "developer", "usd_per_day").await;

    std::fs::write(
        dir.join("test.toml"),
        "[[policy]]\nname = \"p\"\nrequests_per_minute = oops\n",
    )
    .unwrap();
    gw.wait_for_metric(
        r#"llm_gateway_policy_reloads_total{outcome="refused"}"#,
        1.0,
        WAIT,
    )
    .await;
    assert_eq!(
        send(&gw, &message("claude-sonnet-4-6", 10, false))
            .await
            .status,
        200,
        "old policy still in force"
    );

    std::fs::write(
        dir.join("test.toml"),
        "[[policy]]\nname = \"p\"\nrequests_per_minute = 2\nusd_per_day = 1.0\n",
    )
    .unwrap();
    gw.wait_for_metric(
        r#"llm_gateway_policy_reloads_total{outcome="applied"}"#,
        1.0,
        WAIT,
    )
    .await;
    assert_eq!(
        send(&gw, &message("claude-sonnet-4-6", 10, false))
            .await
            .status,
        429,
        "new limit: 2 already used"
    );
    let after = settled(&gw, 2, "developer", "usd_per_day").await;
    assert_eq!(
        after["spent"],
        before["spent"].as_u64().unwrap() + SONNET_CALL,
        "usage kept across the edit"
    );
}

#[tokio::test]
async fn a_run_scoped_token_is_stopped_at_its_max_usd() {
    let mock = MockProvider::start(MockConfig::default()).await.unwrap();
    let dir = policy_dir("run", "[[policy]]\nname = \"open\"\nusd_per_day = 100.0\n");
    let jwks =
        std::env::temp_dir().join(format!("llm-gateway-run-jwks-{}.json", std::process::id()));
    std::fs::write(&jwks, r#"{"keys":[]}"#).unwrap();
    let gw = with_policies(&mock, &dir)
        .config(gateway_testkit::workspace_root().join("config/gateway.identity.toml"))
        .env("GATEWAY_JWT_SECRET", gateway_testkit::jwt::HS256_SECRET)
        .env("GATEWAY_INTROSPECTION_SECRET", "unused")
        .env("GATEWAY__AUTH__JWT__JWKS_FILE", jwks.to_str().unwrap())
        .start()
        .await;
    let mut claims = gateway_testkit::jwt::claims("runner");
    claims["max_usd"] = json!(0.001); // 1 000 micro-USD
    let token = gateway_testkit::jwt::hs256(gateway_testkit::jwt::HS256_SECRET.as_bytes(), &claims);
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let reply = http::send(post_json(
            &gw.url("/v1/messages"),
            &[("authorization", &format!("Bearer {token}"))],
            &message("claude-sonnet-4-6", 16, false),
        ))
        .await;
        statuses.push(reply.status.as_u16());
        if reply.status == 402 {
            assert!(reply.text().contains("run_usd"), "{}", reply.text());
            break;
        }
        gw.wait_for_metric(
            "llm_gateway_quota_settlements_total",
            statuses.len() as f64,
            WAIT,
        )
        .await;
    }
    let ok = statuses.iter().filter(|s| **s == 200).count() as u64;
    assert_eq!(statuses.last(), Some(&402), "{statuses:?}");
    assert!(ok * SONNET_CALL <= 1_000 && ok >= 2, "{statuses:?}");
}

#[tokio::test]
async fn a_configmap_style_symlink_swap_of_the_policies_is_reloaded() {
    // As Kubernetes mounts a ConfigMap: `test.toml -> ..data/test.toml`, `..data -> ..v1`;
    // an update writes `..v2` and swaps `..data` atomically.
    let mock = MockProvider::start(MockConfig::default()).await.unwrap();
    let dir = std::env::temp_dir().join(format!(
        "llm-gateway-policies-configmap-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let version = |name: &str, rpm: u32| {
        let v = dir.join(name);
        std::fs::create_dir_all(&v).unwrap();
        std::fs::write(
            v.join("test.toml"),
            format!("[[policy]]\nname = \"mounted\"\nrequests_per_minute = {rpm}\n"),
        )
        .unwrap();
    };
    version("..v1", 1);
    std::os::unix::fs::symlink("..v1", dir.join("..data")).unwrap();
    std::os::unix::fs::symlink("..data/test.toml", dir.join("test.toml")).unwrap();
    let gw = with_policies(&mock, &dir).start().await;
    let ok = message("claude-sonnet-4-6", 100, false);
    assert_eq!(send(&gw, &ok).await.status, 200);
    assert_eq!(send(&gw, &ok).await.status, 429, "the mounted limit of 1");

    version("..v2", 100);
    std::os::unix::fs::symlink("..v2", dir.join("..data_tmp")).unwrap();
    std::fs::rename(dir.join("..data_tmp"), dir.join("..data")).unwrap();
    gw.wait_for_metric(
        "llm_gateway_policy_reloads_total{outcome=\"applied\"}",
        1.0,
        WAIT,
    )
    .await;
    assert_eq!(
        send(&gw, &ok).await.status,
        200,
        "the swapped-in limit of 100"
    );
}
