//! Operators' metrics through the real binary: `/metrics` on the admin listener is valid for
//! promtool, counters move by exactly what a scripted sequence implies (tokens and cost at the
//! config's prices), and a real Prometheus scraping the gateway answers every expression of
//! the shipped Grafana dashboard and alert rules.

use std::{path::PathBuf, time::Duration};

use gateway_testkit::{
    TestGateway,
    http::{self, Reply, chat_body, messages_body, post_json},
    prometheus::promtool,
    redis_server::RedisServer,
};
use mock_provider::{MockConfig, MockProvider, Script};

use super::{BEARER, WAIT};

mod prometheus;

/// Metered requests need a policy: this one refuses what it must without minute windows
/// (a `usd_per_day` budget no small request reaches, a model allowlist).
const POLICY: &str = r#"
[[policy]]
name = "metrics-test"
usd_per_day = 10.0
models = ["claude-*", "gpt-*"]
"#;
/// max_tokens whose worst case ($15/M output) is far over the day's $10: refused with 402.
const HUGE_MAX_TOKENS: u64 = 10_000_000;
/// One default mock answer on claude-sonnet-4-6, by token type, and its cost in micro-USD
/// (input 12 × $3 + 5m write 20 × $3.75 + read 100 × $0.30 + output 7 × $15, per million).
const SONNET_TOKENS: [(&str, u64); 5] = [
    ("input", 12),
    ("output", 7),
    ("cache_read", 100),
    ("cache_write_5m", 20),
    ("cache_write_1h", 0),
];
const SONNET_CALL: u64 = 246;
/// The mock's `message_start` usage alone (output 1 instead of 7): what a stream the client
/// left after the first delta is charged.
const SONNET_START_ONLY: u64 = 156;

fn repo(path: &str) -> PathBuf {
    gateway_testkit::workspace_root().join(path)
}

fn policy_dir(name: &str, text: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("llm-gateway-metrics-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("test.toml"), text).unwrap();
    dir
}

async fn metered_pair() -> (MockProvider, TestGateway) {
    let dir = policy_dir("default", POLICY);
    super::pair_with(MockConfig::default(), |b| {
        b.env("GATEWAY__QUOTA__POLICIES_DIR", dir.to_str().unwrap())
    })
    .await
}

async fn messages(gw: &TestGateway, body: &str) -> Reply {
    http::send(post_json(&gw.url("/v1/messages"), &[BEARER], body)).await
}

fn huge_request() -> String {
    serde_json::json!({"model": "claude-sonnet-4-6", "max_tokens": HUGE_MAX_TOKENS,
        "messages": [{"role": "user", "content": "hi"}]})
    .to_string()
}

/// The admin listener's `/metrics`.
pub(super) async fn scrape(gw: &TestGateway) -> String {
    let reply = http::send(http::bodyless(
        ::http::Method::GET,
        &gw.admin_url("/metrics"),
        &[],
    ))
    .await;
    assert_eq!(reply.status, 200);
    assert!(
        reply
            .header("content-type")
            .is_some_and(|c| c.starts_with("text/plain; version=0.0.4")),
        "{:?}",
        reply.header("content-type")
    );
    reply.text()
}

/// The value of the sample `name` with exactly `labels`, or 0 when the series does not exist.
fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    let mut want: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    want.sort();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, v)) = line.rsplit_once(' ') else {
            continue;
        };
        let (n, mut have) = match series.split_once('{') {
            Some((n, rest)) => (
                n,
                rest.trim_end_matches('}')
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect::<Vec<_>>(),
            ),
            None => (series, Vec::new()),
        };
        have.sort();
        if n == name && have == want {
            return v.parse().unwrap();
        }
    }
    0.0
}

/// Sum of every sample of `name` (all label sets).
fn total(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, v) = l.rsplit_once(' ')?;
            (series.split('{').next() == Some(name)).then(|| v.parse::<f64>().unwrap())
        })
        .sum()
}

/// Scrapes until `requests_total` counts `n` finished requests (bodies end, and are counted,
/// just after the client has read them).
async fn scrape_after(gw: &TestGateway, n: f64) -> String {
    gw.wait_for_metric("llm_gateway_requests_total", n, WAIT)
        .await;
    let text = scrape(gw).await;
    assert_eq!(
        total(&text, "llm_gateway_requests_total"),
        n,
        "finished requests:\n{text}"
    );
    text
}

/// One round of mixed traffic: successes (plain and streamed, both providers), a quota
/// refusal, a policy refusal, an auth failure, a provider error, a wrong path. Returns how
/// many client requests it made.
async fn mixed_traffic(mock: &MockProvider, gw: &TestGateway) -> usize {
    for stream in [false, true] {
        let reply = messages(gw, &messages_body("claude-sonnet-4-6", stream)).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        let reply = http::send(post_json(
            &gw.url("/v1/chat/completions"),
            &[BEARER],
            &chat_body("gpt-5.4", stream),
        ))
        .await;
        assert_eq!(reply.status, 200, "{}", reply.text());
    }
    assert_eq!(messages(gw, &huge_request()).await.status, 402);
    assert_eq!(
        messages(gw, &messages_body("llama-3", false)).await.status,
        403
    );
    let reply = http::send(post_json(
        &gw.url("/v1/messages"),
        &[("authorization", "Bearer not-a-real-token")],
        &messages_body("claude-sonnet-4-6", false),
    ))
    .await;
    assert_eq!(reply.status, 401);
    // A provider error, on the attempt and on the gateway's one same-target retry.
    for _ in 0..2 {
        mock.push_script(Script::Status {
            status: 529,
            headers: vec![],
            body: r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#
                .into(),
        });
    }
    assert_eq!(
        messages(gw, &messages_body("claude-sonnet-4-6", false))
            .await
            .status,
        529
    );
    let reply = http::send(post_json(&gw.url("/v1/nope"), &[BEARER], "{}")).await;
    assert_eq!(reply.status, 404);
    // A pasted key (generated, never committed) feeds the redaction panel.
    let key = format!(
        "AKIA{}",
        &uuid::Uuid::new_v4().simple().to_string().to_uppercase()[..16]
    )
    .replace(['0', '1', '8', '9'], "Q");
    let body = serde_json::json!({"model": "claude-sonnet-4-6", "max_tokens": 64,
        "messages": [{"role": "user", "content": format!("deploy with {key}")}]});
    assert_eq!(messages(gw, &body.to_string()).await.status, 200);
    10
}

#[tokio::test]
async fn metrics_pass_promtool_after_mixed_traffic_and_carry_no_secret() {
    let (mock, gw) = metered_pair().await;
    let n = mixed_traffic(&mock, &gw).await;
    let text = scrape_after(&gw, n as f64).await;
    assert!(
        !text.contains("not-a-real-token"),
        "a token reached /metrics"
    );
    assert!(
        !text.contains(gateway_testkit::DEV_TOKEN),
        "a token reached /metrics"
    );
    assert!(
        !text.contains(gateway_testkit::tools::ANTHROPIC_PROVIDER_KEY),
        "the provider key reached /metrics"
    );
    let Some(run) = promtool(&["check", "metrics"], Some(&text)).await else {
        return;
    };
    assert!(
        run.success,
        "promtool check metrics:\n{}\n{text}",
        run.output
    );
}

#[tokio::test]
async fn shipped_alert_rules_and_scrape_config_pass_promtool() {
    let Some(rules) = promtool(&["check", "rules", "deploy/prometheus/alerts.yml"], None).await
    else {
        return;
    };
    assert!(rules.success, "{}", rules.output);
    let config = promtool(
        &["check", "config", "deploy/prometheus/prometheus.yml"],
        None,
    )
    .await
    .unwrap();
    assert!(config.success, "{}", config.output);
}

#[tokio::test]
async fn counters_move_by_exactly_what_a_scripted_sequence_implies() {
    let (mock, gw) = metered_pair().await;
    let before = scrape(&gw).await;
    assert_eq!(
        value(
            &before,
            "llm_gateway_transcript_records_total",
            &[("outcome", "dropped")]
        ),
        0.0
    );
    assert!(before.contains("# TYPE llm_gateway_quota_degraded gauge"));

    // Three full answers: two plain, one streamed.
    for stream in [false, false, true] {
        let reply = messages(&gw, &messages_body("claude-sonnet-4-6", stream)).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
    }
    // A stream the client leaves after its first delta.
    mock.push_script(Script::Pause {
        after_deltas: 1,
        pause: Duration::from_secs(60),
    });
    let response = http::open(post_json(
        &gw.url("/v1/messages"),
        &[BEARER],
        &messages_body("claude-sonnet-4-6", true),
    ))
    .await;
    assert_eq!(response.status(), 200);
    let open = scrape(&gw).await;
    assert_eq!(
        value(&open, "llm_gateway_inflight_requests", &[]),
        1.0,
        "the open stream is in flight"
    );
    drop(response);
    assert!(mock.wait_for_cancelled_streams(1, WAIT).await);
    // Refusals: quota (402), policy model allowlist (403), credential (401).
    assert_eq!(messages(&gw, &huge_request()).await.status, 402);
    assert_eq!(
        messages(&gw, &messages_body("llama-3", false)).await.status,
        403
    );
    let reply = http::send(post_json(
        &gw.url("/v1/messages"),
        &[("x-api-key", "wrong-key")],
        &messages_body("claude-sonnet-4-6", false),
    ))
    .await;
    assert_eq!(reply.status, 401);
    // A provider error, on the attempt and on the gateway's one same-target retry.
    for _ in 0..2 {
        mock.push_script(Script::Status {
            status: 529,
            headers: vec![],
            body: "{}".into(),
        });
    }
    assert_eq!(
        messages(&gw, &messages_body("claude-sonnet-4-6", false))
            .await
            .status,
        529
    );

    let m = scrape_after(&gw, 8.0).await;
    let requests = |route, status| {
        value(
            &m,
            "llm_gateway_requests_total",
            &[("route", route), ("status", status)],
        )
    };
    assert_eq!(requests("messages", "200"), 4.0, "{m}");
    assert_eq!(requests("messages", "402"), 1.0);
    assert_eq!(requests("messages", "403"), 1.0);
    assert_eq!(requests("messages", "401"), 1.0);
    assert_eq!(requests("messages", "529"), 1.0);
    assert_eq!(
        value(
            &m,
            "llm_gateway_request_duration_seconds_count",
            &[("route", "messages")]
        ),
        8.0
    );
    assert_eq!(
        value(
            &m,
            "llm_gateway_overhead_seconds_count",
            &[("route", "messages")]
        ),
        8.0
    );
    assert_eq!(value(&m, "llm_gateway_inflight_requests", &[]), 0.0);

    // Tokens and cost: three full answers and one cut after message_start (output 1).
    for (kind, per_call) in SONNET_TOKENS {
        let cut = if kind == "output" { 1 } else { per_call };
        assert_eq!(
            value(
                &m,
                "llm_gateway_tokens_total",
                &[("model", "claude-sonnet-4-6"), ("type", kind)]
            ),
            (3 * per_call + cut) as f64,
            "tokens of type {kind}"
        );
    }
    let cost = value(
        &m,
        "llm_gateway_cost_usd_total",
        &[("model", "claude-sonnet-4-6")],
    );
    let expected = (3 * SONNET_CALL + SONNET_START_ONLY) as f64 / 1e6;
    assert!((cost - expected).abs() < 1e-12, "cost {cost} != {expected}");
    assert_eq!(
        value(&m, "llm_gateway_stream_client_disconnects_total", &[]),
        1.0
    );

    // Provider side: six calls reached it (the 529 twice: the gateway's same-target retry),
    // one streamed to its end (plus the cut one).
    assert_eq!(
        value(
            &m,
            "llm_gateway_upstream_errors_total",
            &[("upstream", "anthropic"), ("kind", "status_5xx")]
        ),
        2.0
    );
    assert_eq!(
        total(&m, "llm_gateway_upstream_errors_total"),
        2.0,
        "only the two 529s are upstream errors"
    );
    assert_eq!(
        value(
            &m,
            "llm_gateway_upstream_duration_seconds_count",
            &[("upstream", "anthropic")]
        ),
        6.0
    );
    assert_eq!(
        value(
            &m,
            "llm_gateway_time_to_first_token_seconds_count",
            &[("upstream", "anthropic")]
        ),
        2.0,
        "both streams saw a first frame"
    );

    // Refusals by policy and limit, credentials by reason, no store trouble.
    let rejections = |limit| {
        value(
            &m,
            "llm_gateway_quota_rejections_total",
            &[("policy", "metrics-test"), ("limit", limit)],
        )
    };
    assert_eq!(rejections("usd_per_day"), 1.0, "{m}");
    assert_eq!(rejections("model_not_allowed"), 1.0);
    assert_eq!(
        value(
            &m,
            "llm_gateway_auth_failures_total",
            &[("reason", "invalid")]
        ),
        1.0
    );
    assert_eq!(total(&m, "llm_gateway_auth_failures_total"), 1.0);
    assert_eq!(value(&m, "llm_gateway_quota_store_errors_total", &[]), 0.0);
    assert_eq!(value(&m, "llm_gateway_quota_degraded", &[]), 0.0);
    // Four answered, the 529 twice (the gateway's same-target retry).
    assert_eq!(mock.hits("/v1/messages"), 6);
}

#[tokio::test]
async fn transport_failures_and_broken_streams_are_counted_by_kind() {
    // Nothing listens on the upstream port: a connect failure (502).
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let dead = super::gateway()
        .upstream(&format!("http://{closed}"))
        .start()
        .await;
    let reply = messages(&dead, &messages_body("claude-sonnet-4-6", false)).await;
    assert_eq!(reply.status, 502, "{}", reply.text());
    let m = scrape_after(&dead, 1.0).await;
    assert_eq!(
        value(
            &m,
            "llm_gateway_upstream_errors_total",
            &[("upstream", "anthropic"), ("kind", "connect")]
        ),
        2.0,
        "the attempt and its one same-target retry: {m}"
    );
    assert_eq!(
        value(
            &m,
            "llm_gateway_requests_total",
            &[("route", "messages"), ("status", "502")]
        ),
        1.0
    );

    // The provider drops the connection mid-stream: the client gets an error event.
    let (mock, gw) = metered_pair().await;
    mock.push_script(Script::Reset { after_deltas: 2 });
    let reply = messages(&gw, &messages_body("claude-sonnet-4-6", true)).await;
    assert_eq!(reply.status, 200);
    let m = scrape_after(&gw, 1.0).await;
    assert_eq!(
        value(
            &m,
            "llm_gateway_upstream_errors_total",
            &[("upstream", "anthropic"), ("kind", "stream_broken")]
        ),
        1.0,
        "{m}"
    );
    assert_eq!(
        value(
            &m,
            "llm_gateway_upstream_duration_seconds_count",
            &[("upstream", "anthropic")]
        ),
        1.0
    );
}

#[tokio::test]
async fn a_quota_store_outage_shows_in_store_errors_and_the_degraded_gauge() {
    let Some(mut redis) = RedisServer::start().await else {
        return;
    };
    let dir = policy_dir(
        "outage",
        "[[policy]]\nname = \"money\"\nusd_per_day = 10.0\non_store_error = \"deny\"\n",
    );
    let (_mock, gw) = super::pair_with(MockConfig::default(), |b| {
        b.env("GATEWAY__QUOTA__POLICIES_DIR", dir.to_str().unwrap())
            .env("GATEWAY__QUOTA__STORE", "redis")
            .env("GATEWAY__QUOTA__REDIS_URL", redis.url())
    })
    .await;
    let call = messages_body("claude-sonnet-4-6", false);
    assert_eq!(messages(&gw, &call).await.status, 200);
    let m = scrape_after(&gw, 1.0).await;
    assert_eq!(value(&m, "llm_gateway_quota_degraded", &[]), 0.0);
    assert_eq!(value(&m, "llm_gateway_quota_store_errors_total", &[]), 0.0);

    // The first settlement must reach Redis before it goes away.
    gw.wait_for_metric("llm_gateway_quota_settlements_total", 1.0, WAIT)
        .await;
    let port = redis.port();
    redis.kill().await;
    assert_eq!(messages(&gw, &call).await.status, 503);
    let m = scrape_after(&gw, 2.0).await;
    assert_eq!(value(&m, "llm_gateway_quota_degraded", &[]), 1.0, "{m}");
    assert_eq!(value(&m, "llm_gateway_quota_store_errors_total", &[]), 1.0);
    assert_eq!(
        value(
            &m,
            "llm_gateway_quota_rejections_total",
            &[("policy", "money"), ("limit", "store_unavailable")]
        ),
        1.0
    );

    let _redis = RedisServer::start_on(port).await.unwrap();
    let mut sent = 2.0;
    let mut recovered = false;
    for _ in 0..20 {
        sent += 1.0;
        if messages(&gw, &call).await.status == 200 {
            recovered = true;
            break;
        }
    }
    assert!(recovered, "serves again once Redis is back");
    let m = scrape_after(&gw, sent).await;
    assert_eq!(value(&m, "llm_gateway_quota_degraded", &[]), 0.0, "{m}");
}

#[tokio::test]
async fn the_org_label_is_opt_in() {
    let (_mock, plain) = super::pair().await;
    let (_mock2, with_org) = super::pair_with(MockConfig::default(), |b| {
        b.env("GATEWAY__METRICS__ORG_LABEL", "true")
    })
    .await;
    for gw in [&plain, &with_org] {
        let reply = messages(gw, &http::messages_body("claude-sonnet-4-6", false)).await;
        assert_eq!(reply.status, 200);
    }
    let text = scrape_after(&plain, 1.0).await;
    assert!(
        !text.contains("llm_gateway_org_"),
        "no org family by default:\n{text}"
    );
    let text = scrape_after(&with_org, 1.0).await;
    // The development key has no organisation.
    assert!(
        value(&text, "llm_gateway_org_cost_usd_total", &[("org", "none")]) > 0.0,
        "{text}"
    );
}
