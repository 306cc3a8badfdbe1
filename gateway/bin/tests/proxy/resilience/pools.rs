//! Key pools: weighted picks, a rate-limited key cools for the provider's wait and the next
//! key serves, a refused key is taken out, a cooled pool sends requests to the fallback.

use gateway_testkit::TestGateway;
use mock_provider::MockProvider;

use super::{JSON_OK, Pair, fallback_section, gateway, scrape, send, served, status};

const KEY_A: &str = "sk-ant-pool-a";
const KEY_B: &str = "sk-ant-pool-b";

/// A two-key primary (`a`, `b`), optionally with the fallback.
async fn pool_gateway(pair: &Pair, with_fallback: bool, name: &str) -> TestGateway {
    let fallback = if with_fallback {
        fallback_section(&pair.second)
    } else {
        String::new()
    };
    let section = format!(
        "[upstreams.anthropic]\nbase_url = \"{}\"\n\
         [[upstreams.anthropic.keys]]\nid = \"a\"\napi_key_env = \"KEY_A\"\n\
         [[upstreams.anthropic.keys]]\nid = \"b\"\napi_key_env = \"KEY_B\"\nweight = 2\n{fallback}",
        pair.primary.base_url()
    );
    gateway(&section, name)
        .env("KEY_A", KEY_A)
        .env("KEY_B", KEY_B)
        .start()
        .await
}

/// The provider keys of the mock's requests, in order.
fn keys_used(mock: &MockProvider) -> Vec<String> {
    mock.requests()
        .iter()
        .filter(|r| r.path() == "/v1/messages")
        .map(|r| r.headers["x-api-key"].to_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_rate_limited_key_cools_for_the_providers_wait_and_the_other_key_serves() {
    let pair = Pair::start().await;
    let gw = pool_gateway(&pair, false, "pool-429").await;
    pair.primary.push_script(status(
        429,
        r#"{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}"#,
        &[("retry-after", "60")],
    ));
    let reply = send(&gw, false, &[]).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("x-gateway-attempts"), Some("2"));
    let used = keys_used(&pair.primary);
    assert_eq!(used.len(), 2);
    assert_ne!(used[0], used[1], "rotated to the other key");
    // While it cools, every request goes to the other key.
    for _ in 0..4 {
        assert_eq!(
            send(&gw, false, &[]).await.header("x-gateway-attempts"),
            Some("1")
        );
    }
    let used = keys_used(&pair.primary);
    assert!(used[2..].iter().all(|k| *k == used[1]), "{used:?}");
    let cooled_id = if used[0] == KEY_A { "a" } else { "b" };
    let m = scrape(&gw).await;
    let series = format!(
        r#"llm_gateway_upstream_key_cooldowns_total{{key="{cooled_id}",kind="cooling",target="anthropic"}} 1"#
    );
    assert!(m.contains(&series), "{m}");
    assert!(
        !m.contains(KEY_A) && !m.contains(KEY_B),
        "no key in the metrics"
    );
    assert!(
        !gw.logs().contains(KEY_A) && !gw.logs().contains(KEY_B),
        "no key in the logs"
    );
}

#[tokio::test]
async fn refused_keys_are_taken_out_and_a_spent_pool_is_answered_clearly() {
    let pair = Pair::start().await;
    let gw = pool_gateway(&pair, false, "pool-401").await;
    let unauthorized =
        r#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#;
    pair.primary.push_script(status(401, unauthorized, &[]));
    let spend = r#"{"type":"error","error":{"type":"rate_limit_error","message":"spend limit reached","details":{"error_code":"enforced_spend_limit_reached"}}}"#;
    pair.primary.push_script(status(429, spend, &[]));
    // Both keys refused: the client gets the first refusal, unchanged.
    let reply = send(&gw, false, &[]).await;
    assert_eq!(
        (reply.status.as_u16(), reply.text()),
        (401, unauthorized.to_owned())
    );
    assert_eq!(reply.header("x-gateway-attempts"), Some("2"));
    let used = keys_used(&pair.primary);
    assert_ne!(used[0], used[1]);
    // No key left: the gateway answers without calling the provider.
    let reply = send(&gw, false, &[]).await;
    assert_eq!(reply.status, 503, "{}", reply.text());
    assert_eq!(reply.json()["error"]["type"], "overloaded_error");
    assert!(reply.text().contains("operator"), "{}", reply.text());
    assert_eq!(pair.primary.hits("/v1/messages"), 2);
    let m = scrape(&gw).await;
    for id in ["a", "b"] {
        let series = format!(
            r#"llm_gateway_upstream_key_cooldowns_total{{key="{id}",kind="revoked",target="anthropic"}} 1"#
        );
        assert!(m.contains(&series), "{m}");
    }
}

#[tokio::test]
async fn a_cooling_pool_sends_requests_to_the_fallback_until_its_reset() {
    let pair = Pair::start().await;
    let gw = gateway(&pair.section(), "pool-cool").start().await;
    let limited = r#"{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}"#;
    pair.primary
        .push_script(status(429, limited, &[("retry-after", "60")]));
    pair.second.push_script(served(false));
    let reply = send(&gw, false, &[]).await;
    assert_eq!(reply.text(), JSON_OK);
    assert_eq!(reply.header("x-gateway-upstream"), Some("second"));
    assert_eq!(reply.header("x-gateway-attempts"), Some("2"));
    // The next request skips the cooling primary.
    let reply = send(&gw, false, &[]).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("x-gateway-upstream"), Some("second"));
    assert_eq!(reply.header("x-gateway-attempts"), Some("1"));
    assert_eq!(pair.hits(), (1, 2));
    let m = scrape(&gw).await;
    assert!(m.contains(r#"llm_gateway_upstream_fallbacks_total{from="anthropic",reason="no_key",to="second"} 1"#), "{m}");
    assert!(m.contains(r#"llm_gateway_upstream_fallbacks_total{from="anthropic",reason="rate_limited",to="second"} 1"#), "{m}");
}
