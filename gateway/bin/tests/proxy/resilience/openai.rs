//! The OpenAI upstream has the same resilience as the Anthropic one: a same-target retry on
//! an overload, a key pool, OpenAI-compatible fallbacks (`kind = "openai"`), each request
//! charged once; other kinds are refused for it.

use gateway_testkit::http::{self, chat_body, post_json};

use super::{Pair, SECOND_KEY, gateway, spent, status};
use crate::BEARER;

const OPENAI_DOWN: &str = r#"{"error":{"message":"The server is overloaded","type":"server_error","param":null,"code":null}}"#;

/// The dev config's gateway with the OpenAI upstream at `pair.primary` and, when `fallback`,
/// `pair.second` as its OpenAI-compatible fallback.
fn openai_gateway(pair: &Pair, name: &str, fallback: bool) -> gateway_testkit::TestGatewayBuilder {
    let anthropic = format!(
        "[upstreams.anthropic]\nbase_url = \"{}\"\napi_key_env = \"ANTHROPIC_API_KEY\"\n",
        pair.primary.base_url()
    );
    let b = gateway(&anthropic, name)
        .env(
            "GATEWAY__UPSTREAMS__OPENAI__BASE_URL",
            pair.primary.base_url(),
        )
        .env(
            "OPENAI_API_KEY",
            gateway_testkit::tools::OPENAI_PROVIDER_KEY,
        );
    if fallback {
        b.env(
            "GATEWAY__UPSTREAMS__OPENAI__FALLBACKS",
            format!(
                r#"[{{name = "second", kind = "openai", base_url = "{}", api_key_env = "SECOND_KEY"}}]"#,
                pair.second.base_url()
            ),
        )
    } else {
        b
    }
}

async fn chat(gw: &gateway_testkit::TestGateway) -> http::Reply {
    http::send(post_json(
        &gw.url("/v1/chat/completions"),
        &[BEARER],
        &chat_body("gpt-5.4", false),
    ))
    .await
}

#[tokio::test]
async fn an_openai_overload_is_retried_then_falls_back_to_an_openai_compatible_target() {
    let pair = Pair::start().await;
    let gw = openai_gateway(&pair, "openai-fallback", true).start().await;
    // 503 then the canned answer: the same-target retry serves.
    pair.primary.push_script(status(503, OPENAI_DOWN, &[]));
    let reply = chat(&gw).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("x-gateway-upstream"), Some("openai"));
    assert_eq!(reply.header("x-gateway-attempts"), Some("2"));
    let one = spent(&gw, 1).await;
    assert!(one > 0);
    // 503 twice: the fallback serves with its own key.
    pair.primary.push_script(status(503, OPENAI_DOWN, &[]));
    pair.primary.push_script(status(503, OPENAI_DOWN, &[]));
    let reply = chat(&gw).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("x-gateway-upstream"), Some("second"));
    assert_eq!(reply.header("x-gateway-attempts"), Some("3"));
    assert_eq!(pair.primary.hits("/v1/chat/completions"), 4);
    assert_eq!(pair.second.hits("/v1/chat/completions"), 1);
    let sent = &pair.second.requests()[0];
    assert_eq!(
        sent.headers["authorization"],
        format!("Bearer {SECOND_KEY}"),
        "the fallback's own key"
    );
    assert_eq!(spent(&gw, 2).await, 2 * one, "each request charged once");
    // A client error is answered as it is, no retry.
    pair.primary.push_script(status(
        400,
        r#"{"error":{"message":"bad","type":"invalid_request_error","param":null,"code":null}}"#,
        &[],
    ));
    let reply = chat(&gw).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.header("x-gateway-attempts"), Some("1"));
}

#[tokio::test]
async fn an_openai_fallback_of_another_kind_is_refused_with_its_key_path() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_llm-gateway"))
        .args(["check-config", "--config"])
        .arg(gateway_testkit::workspace_root().join("config/gateway.toml"))
        .env("ANTHROPIC_API_KEY", "sk-test")
        .env("OPENAI_API_KEY", "sk-test")
        .env(
            "GATEWAY__UPSTREAMS__OPENAI__FALLBACKS",
            r#"[{name = "b", kind = "bedrock", region = "us-east-1", api_key_env = "OPENAI_API_KEY"}]"#,
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("upstreams.openai.fallbacks[0].kind")
            && stderr.contains("kind = \"openai\""),
        "{stderr}"
    );
}
