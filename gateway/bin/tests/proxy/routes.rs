//! Every route, streamed and not, under product prefixes, with both credential headers:
//! the provider sees the client's bytes and headers, and only the gateway's provider key.

use gateway_testkit::{
    DEV_TOKEN,
    http::{self, chat_body, messages_body, post_json, responses_body},
    tools::{ANTHROPIC_PROVIDER_KEY, OPENAI_PROVIDER_KEY},
};
use mock_provider::MockConfig;

use super::{BEARER, pair, pair_with};

#[tokio::test]
async fn messages_json_and_sse_reach_the_mock_and_come_back() {
    let (mock, gw) = pair().await;
    let reply = http::send(post_json(
        &gw.url("/v1/messages"),
        &[BEARER, ("anthropic-version", "2023-06-01")],
        &messages_body("claude-sonnet-4-6", false),
    ))
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let v = reply.json();
    assert_eq!(v["type"], "message");
    assert_eq!(v["content"][0]["text"], "Hello from the mock provider.");
    assert!(
        reply
            .header("request-id")
            .is_some_and(|id| id.starts_with("req_mock_"))
    );
    assert!(reply.header("x-gateway-request-id").is_some());

    let reply = http::send(post_json(
        &gw.url("/v1/messages"),
        &[BEARER],
        &messages_body("claude-sonnet-4-6", true),
    ))
    .await;
    assert_eq!(reply.status, 200);
    assert!(
        reply
            .header("content-type")
            .unwrap()
            .starts_with("text/event-stream")
    );
    let text = reply.text();
    let events: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("event: "))
        .collect();
    assert_eq!(events.first(), Some(&"message_start"));
    assert_eq!(events.last(), Some(&"message_stop"));
    assert!(events.contains(&"message_delta"));
    assert_eq!(mock.hits("/v1/messages"), 2);
}

#[tokio::test]
async fn prefixed_path_with_query_is_routed_and_the_query_forwarded() {
    let (mock, gw) = pair().await;
    let reply = http::send(post_json(
        &gw.url("/wizard/v1/messages?beta=true"),
        &[("x-api-key", DEV_TOKEN)],
        &messages_body("claude-haiku-4-5", false),
    ))
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let seen = mock.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path_and_query, "/v1/messages?beta=true");
}

#[tokio::test]
async fn count_tokens_and_models_are_proxied() {
    let (mock, gw) = pair().await;
    let reply = http::send(post_json(
        &gw.url("/wizard/v1/messages/count_tokens"),
        &[BEARER],
        r#"{"model":"claude-sonnet-4-6","messages":[{"role":"user","content":"hi"}]}"#,
    ))
    .await;
    assert_eq!(reply.status, 200);
    assert!(reply.json()["input_tokens"].as_u64().unwrap() >= 1);

    let reply = http::send(http::bodyless(
        ::http::Method::GET,
        &gw.url("/v1/models?limit=1000"),
        &[BEARER],
    ))
    .await;
    assert_eq!(reply.status, 200);
    assert!(
        reply.json()["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == "claude-sonnet-4-6")
    );
    assert_eq!(mock.hits("/v1/models"), 1);
    assert_eq!(mock.requests()[1].path_and_query, "/v1/models?limit=1000");
}

#[tokio::test]
async fn openai_routes_json_and_sse() {
    let (mock, gw) = pair().await;
    for (path, body_of) in [
        (
            "/wizard/v1/chat/completions",
            chat_body as fn(&str, bool) -> String,
        ),
        ("/wizard/v1/responses", responses_body),
    ] {
        let reply = http::send(post_json(
            &gw.url(path),
            &[BEARER],
            &body_of("gpt-5.4", false),
        ))
        .await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.text());
        assert!(reply.json()["usage"].is_object(), "{path}");
        assert!(reply.header("x-request-id").is_some(), "{path}");

        let reply = http::send(post_json(
            &gw.url(path),
            &[BEARER],
            &body_of("gpt-5.4", true),
        ))
        .await;
        assert_eq!(reply.status, 200);
        let text = reply.text();
        assert!(
            text.starts_with("data: ") || text.starts_with("event: "),
            "{path}: {text}"
        );
        if path.ends_with("chat/completions") {
            assert!(text.trim_end().ends_with("data: [DONE]"), "{text}");
        } else {
            assert!(text.contains("event: response.completed"), "{text}");
        }
    }
    assert_eq!(mock.hits("/v1/chat/completions"), 2);
    assert_eq!(mock.hits("/v1/responses"), 2);
}

#[tokio::test]
async fn body_and_headers_are_forwarded_byte_for_byte_with_only_the_provider_key() {
    let (mock, gw) = pair_with(
        MockConfig {
            expect_api_key: Some(ANTHROPIC_PROVIDER_KEY.into()),
            ..MockConfig::default()
        },
        |b| b,
    )
    .await;
    // Odd spacing, key order and a thinking block with a signature: nothing may be re-serialized.
    let body = "{\"model\":  \"claude-sonnet-4-6\", \"max_tokens\":64,\n \"messages\":[{\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\",\"thinking\":\"x\",\"signature\":\"EuYBCkQYAiJA\\u00e9==\"}]},{\"role\":\"user\",\"content\":\"h\u{e9}llo\"}]}";
    let headers = [
        ("authorization", "Bearer gw-dev-token"),
        ("x-api-key", DEV_TOKEN),
        ("anthropic-version", "2023-06-01"),
        (
            "anthropic-beta",
            "claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27",
        ),
        ("anthropic-dangerous-direct-browser-access", "true"),
        ("x-app", "cli"),
        ("user-agent", "claude-cli/2.1.332 (external, sdk-cli)"),
        ("x-stainless-retry-count", "0"),
        ("x-claude-code-session-id", "3f1c-session"),
        ("accept-encoding", "gzip, deflate, br, zstd"),
        ("connection", "keep-alive"),
    ];
    let reply = http::send(post_json(
        &gw.url("/wizard/v1/messages?beta=true"),
        &headers,
        body,
    ))
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());

    let seen = &mock.requests()[0];
    assert_eq!(
        seen.body.as_ref(),
        body.as_bytes(),
        "body bytes must be unchanged"
    );
    for (name, value) in &headers[2..9] {
        assert_eq!(
            seen.headers[*name], *value,
            "{name} must be forwarded unchanged"
        );
    }
    let keys: Vec<_> = seen.headers.get_all("x-api-key").iter().collect();
    assert_eq!(keys, [ANTHROPIC_PROVIDER_KEY], "exactly the provider key");
    assert!(
        seen.headers.get("authorization").is_none(),
        "client token must not reach the provider"
    );
    assert_eq!(seen.headers["accept-encoding"], "identity");
    // The provider's own authority, once, never the gateway's the client addressed.
    let hosts: Vec<_> = seen.headers.get_all("host").iter().collect();
    assert_eq!(hosts, [mock.addr().to_string().as_str()]);
    let all = format!("{:?}", seen.headers);
    assert!(
        !all.contains(DEV_TOKEN),
        "the user's token leaked upstream: {all}"
    );
}

#[tokio::test]
async fn openai_upstream_gets_a_bearer_provider_key_and_never_the_users_token() {
    let (mock, gw) = pair_with(
        MockConfig {
            expect_api_key: Some(OPENAI_PROVIDER_KEY.into()),
            ..MockConfig::default()
        },
        |b| b,
    )
    .await;
    let reply = http::send(post_json(
        &gw.url("/v1/chat/completions"),
        &[BEARER, ("openai-organization", "org-1")],
        &chat_body("gpt-5-mini", false),
    ))
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let seen = &mock.requests()[0];
    assert_eq!(
        seen.headers["authorization"],
        format!("Bearer {OPENAI_PROVIDER_KEY}")
    );
    assert!(seen.headers.get("x-api-key").is_none());
    assert_eq!(seen.headers["openai-organization"], "org-1");
}
