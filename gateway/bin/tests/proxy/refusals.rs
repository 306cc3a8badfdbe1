//! The gateway's own refusals: provider-shaped JSON, the right status, a message that says
//! what to do, never the credential; the provider is never reached.

use bytes::Bytes;
use gateway_testkit::http::{self, chat_body, messages_body, post_json};
use http_body_util::StreamBody;

use super::{BEARER, pair};

#[tokio::test]
async fn missing_or_wrong_credentials_get_401_in_each_providers_shape() {
    let (mock, gw) = pair().await;
    let reply = http::send(post_json(
        &gw.url("/v1/messages"),
        &[],
        &messages_body("claude-sonnet-4-6", false),
    ))
    .await;
    assert_eq!(reply.status, 401);
    let v = reply.json();
    assert_eq!(v["type"], "error");
    assert_eq!(v["error"]["type"], "authentication_error");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Authorization: Bearer")
    );

    let stolen = "sk-ant-api03-not-a-gateway-token";
    let reply = http::send(post_json(
        &gw.url("/wizard/v1/chat/completions"),
        &[("authorization", &format!("Bearer {stolen}"))],
        &chat_body("gpt-5.4", false),
    ))
    .await;
    assert_eq!(reply.status, 401);
    let v = reply.json();
    assert_eq!(v["error"]["code"], "invalid_api_key");
    assert!(
        !reply.text().contains(stolen),
        "the token must not be echoed"
    );
    assert!(!gw.logs().contains(stolen), "the token must not be logged");
    assert_eq!(
        mock.requests().len(),
        0,
        "refused requests never reach the provider"
    );
}

#[tokio::test]
async fn bodies_over_the_limit_get_413_declared_or_streamed() {
    let (mock, gw) = pair_with_small_limit().await;
    let big = format!(
        "{{\"model\":\"claude-sonnet-4-6\",\"pad\":\"{}\"}}",
        "x".repeat(5000)
    );
    let reply = http::send(post_json(&gw.url("/v1/messages"), &[BEARER], &big)).await;
    assert_eq!(reply.status, 413);
    assert_eq!(reply.json()["error"]["type"], "request_too_large");

    // Chunked, no content-length: the limit still holds while reading.
    let chunks: Vec<Result<http_body::Frame<Bytes>, std::convert::Infallible>> = (0..10)
        .map(|_| Ok(http_body::Frame::data(Bytes::from(vec![b' '; 1000]))))
        .collect();
    let req = ::http::Request::post(gw.url("/v1/messages"))
        .header("authorization", "Bearer gw-dev-token")
        .body(StreamBody::new(futures_util::stream::iter(chunks)))
        .unwrap();
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<StreamBody<_>>();
    let response = client.request(req).await.unwrap();
    assert_eq!(response.status(), 413);
    assert_eq!(mock.requests().len(), 0);
}

async fn pair_with_small_limit() -> (mock_provider::MockProvider, gateway_testkit::TestGateway) {
    super::pair_with(mock_provider::MockConfig::default(), |b| {
        b.env("GATEWAY__SERVER__REQUEST_BODY_MAX_BYTES", "4096")
    })
    .await
}

#[tokio::test]
async fn unknown_paths_wrong_methods_and_probes() {
    let (mock, gw) = pair().await;
    let reply = http::send(post_json(&gw.url("/v2/complete"), &[BEARER], "{}")).await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.json()["error"]["type"], "not_found_error");

    let reply = http::send(http::bodyless(
        ::http::Method::GET,
        &gw.url("/v1/messages"),
        &[BEARER],
    ))
    .await;
    assert_eq!(reply.status, 405);
    assert_eq!(reply.header("allow"), Some("POST"));

    for path in ["/", "/api/hello", "/wizard/api/hello"] {
        let reply = http::send(http::bodyless(
            ::http::Method::HEAD,
            &gw.url(path),
            &[("user-agent", "Bun/1.4.6")],
        ))
        .await;
        assert_eq!(reply.status, 200, "HEAD {path}");
    }
    assert_eq!(mock.requests().len(), 0);
}

#[tokio::test]
async fn an_upstream_without_its_key_is_not_configured_and_says_which_variable_to_set() {
    let mock = mock_provider::MockProvider::start(mock_provider::MockConfig::default())
        .await
        .expect("mock starts");
    // Only the Anthropic key: the OpenAI upstream is declared in the config but keyless.
    let gw = super::gateway()
        .env("GATEWAY__UPSTREAMS__ANTHROPIC__BASE_URL", mock.base_url())
        .env("GATEWAY__UPSTREAMS__OPENAI__BASE_URL", mock.base_url())
        .env(
            "ANTHROPIC_API_KEY",
            gateway_testkit::tools::ANTHROPIC_PROVIDER_KEY,
        )
        .start()
        .await;
    for path in ["/v1/chat/completions", "/v1/responses"] {
        let reply = http::send(post_json(
            &gw.url(path),
            &[BEARER],
            &chat_body("gpt-5.4", false),
        ))
        .await;
        assert_eq!(reply.status, 503, "{path}: {}", reply.text());
        assert_eq!(reply.header("x-should-retry"), Some("false"));
        let v = reply.json();
        assert_eq!(
            v["error"]["code"], "upstream_not_configured",
            "OpenAI's shape"
        );
        let message = v["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("no OpenAI upstream") && message.contains("OPENAI_API_KEY"),
            "{message}"
        );
    }
    // The configured provider works; the keyless one never reached the mock.
    let reply = http::send(post_json(
        &gw.url("/v1/messages"),
        &[BEARER],
        &messages_body("claude-sonnet-4-6", false),
    ))
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        mock.hits("/v1/chat/completions") + mock.hits("/v1/responses"),
        0
    );
    // Listed by /readyz (still ready), and said once at start-up.
    let ready = http::send(http::bodyless(
        ::http::Method::GET,
        &gw.admin_url("/readyz"),
        &[],
    ))
    .await;
    assert_eq!(ready.status, 200);
    assert_eq!(
        ready.json()["checks"]["unconfigured_upstreams"]["openai"],
        "OPENAI_API_KEY is not set"
    );
    assert_eq!(gw.log_count("upstream not configured"), 1);
}
