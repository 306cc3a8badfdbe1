//! A Vertex AI fallback: the primary overloads, Vertex (the mock's `rawPredict` /
//! `streamRawPredict` routes, which accept only a bearer token their own token endpoint
//! issued for the test service account's verified RS256 assertion, and refuse a body that is
//! not Vertex-shaped) serves. The token is exchanged once and reused; a failed exchange is an
//! attempt failure; Google-shaped errors reach the client as Anthropic's.

use gateway_testkit::{TestGateway, TestGatewayBuilder};
use mock_provider::{VERTEX_ACCESS_TOKEN, vertex_service_account_json};

use super::bedrock::without_mock_id;
use super::{
    JSON_OK, OVERLOADED, Pair, SONNET_CALL, gateway, scratch, send, served, spent, status,
};

/// The non-streamed and streamed Vertex paths of the mapped model.
const PREDICT: &str = "/v1/projects/mock-project/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-6@20250929:rawPredict";
const STREAM: &str = "/v1/projects/mock-project/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-6@20250929:streamRawPredict";

/// How the gateway authenticates to the Vertex target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Auth {
    /// The test service account's key file; tokens from the mock's `/token`.
    ServiceAccount,
    /// A ready access token from a variable.
    AccessToken,
}

/// A gateway whose fallback is the pair's `second` as Vertex.
fn vertex_gateway(pair: &Pair, auth: Auth, name: &str) -> TestGatewayBuilder {
    let creds = match auth {
        Auth::ServiceAccount => {
            let dir = scratch(&format!("{name}-sa"));
            let file = dir.join("service-account.json");
            let token_uri = format!("{}/token", pair.second.base_url());
            std::fs::write(&file, vertex_service_account_json(&token_uri)).unwrap();
            format!("credentials_file = \"{}\"\n", file.display())
        }
        Auth::AccessToken => "access_token_env = \"VERTEX_TOKEN\"\n".to_owned(),
    };
    let section = format!(
        "[upstreams.anthropic]\nbase_url = \"{}\"\napi_key_env = \"ANTHROPIC_API_KEY\"\n[[upstreams.anthropic.fallbacks]]\nname = \"vertex\"\nkind = \"vertex\"\nproject = \"mock-project\"\nregion = \"us-east5\"\nbase_url = \"{}\"\n{creds}models = {{ \"claude-sonnet-4-6\" = \"claude-sonnet-4-6@20250929\" }}\n",
        pair.primary.base_url(),
        pair.second.base_url()
    );
    gateway(&section, name).env("VERTEX_TOKEN", VERTEX_ACCESS_TOKEN)
}

/// The primary overloads twice (the first try and its retry).
fn overload(pair: &Pair) {
    pair.primary.push_script(status(529, OVERLOADED, &[]));
    pair.primary.push_script(status(529, OVERLOADED, &[]));
}

async fn start(pair: &Pair, auth: Auth, name: &str) -> TestGateway {
    vertex_gateway(pair, auth, name).start().await
}

#[tokio::test]
async fn an_overloaded_primary_falls_back_to_vertex_with_one_token_reused_across_requests() {
    let pair = Pair::start().await;
    let gw = start(&pair, Auth::ServiceAccount, "vertex").await;
    overload(&pair);
    pair.second.push_script(served(false));
    let beta = ("anthropic-beta", "interleaved-thinking-2025-05-14");
    let reply = send(&gw, false, &[beta]).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.text(), JSON_OK, "Vertex's JSON answer, unchanged");
    assert_eq!(reply.header("x-gateway-upstream"), Some("vertex"));
    assert_eq!(reply.header("x-gateway-attempts"), Some("3"));
    assert_eq!(pair.second.hits(PREDICT), 1, "the `@` id in the path");
    assert_eq!(pair.second.hits("/token"), 1);
    let sent = pair
        .second
        .requests()
        .into_iter()
        .find(|r| r.path() == PREDICT)
        .unwrap();
    let auth = sent.headers["authorization"].to_str().unwrap();
    assert!(
        auth.starts_with("Bearer ya29.mock-"),
        "a token the mock issued: {auth}"
    );
    for gone in ["x-api-key", "anthropic-version"] {
        assert!(!sent.headers.contains_key(gone), "{gone} leaked to Vertex");
    }
    assert_eq!(
        sent.headers["anthropic-beta"],
        "interleaved-thinking-2025-05-14"
    );
    let body: serde_json::Value = serde_json::from_slice(&sent.body).unwrap();
    assert_eq!(body["anthropic_version"], "vertex-2023-10-16");
    assert!(body.get("model").is_none());
    assert_eq!(spent(&gw, 1).await, SONNET_CALL, "charged once");

    // Two more fallbacks: the same token, no new exchange.
    for n in 2..=3 {
        overload(&pair);
        let reply = send(&gw, false, &[]).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_eq!(pair.second.hits(PREDICT), n);
    }
    assert_eq!(pair.second.hits("/token"), 1, "the token is cached");
    let tokens: Vec<_> = pair
        .second
        .requests()
        .into_iter()
        .filter(|r| r.path() == PREDICT)
        .map(|r| r.headers["authorization"].clone())
        .collect();
    assert!(tokens.iter().all(|t| *t == tokens[0]), "{tokens:?}");
}

#[tokio::test]
async fn a_streamed_fallback_to_vertex_reaches_the_client_as_the_sse_vertex_sent() {
    let pair = Pair::start().await;
    let gw = start(&pair, Auth::ServiceAccount, "vertex-stream").await;
    overload(&pair);
    // Unscripted: the mock Vertex streams its canned Anthropic answer.
    let reply = send(&gw, true, &[]).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("x-gateway-upstream"), Some("vertex"));
    assert_eq!(pair.second.hits(STREAM), 1);
    let sent = pair
        .second
        .requests()
        .into_iter()
        .find(|r| r.path() == STREAM)
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&sent.body).unwrap();
    assert_eq!(body["stream"], true, "`stream` stays in the body");
    assert!(
        reply
            .header("content-type")
            .is_some_and(|c| c.starts_with("text/event-stream"))
    );
    // What the same mock streams for the same model: the same bytes.
    let direct = gateway_testkit::http::send(gateway_testkit::http::post_json(
        &format!("{}/v1/messages", pair.second.base_url()),
        &[("x-api-key", "k"), ("anthropic-version", "2023-06-01")],
        &gateway_testkit::http::messages_body("claude-sonnet-4-6@20250929", true),
    ))
    .await;
    assert_eq!(direct.status, 200, "{}", direct.text());
    let got = without_mock_id(&reply.text());
    assert!(
        got.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"),
        "{got}"
    );
    assert_eq!(got, without_mock_id(&direct.text()));
    assert_eq!(spent(&gw, 1).await, SONNET_CALL, "charged once");
}

#[tokio::test]
async fn a_failed_token_exchange_falls_through_to_the_primarys_error_and_is_not_cached() {
    let pair = Pair::start().await;
    let gw = start(&pair, Auth::ServiceAccount, "vertex-token-fails").await;
    // The attempt and its retry each try an exchange; both fail.
    pair.second.fail_token_requests(2, 503);
    overload(&pair);
    let reply = send(&gw, false, &[]).await;
    assert_eq!(reply.status, 529, "{}", reply.text());
    assert_eq!(
        reply.text(),
        OVERLOADED,
        "the primary's error, byte for byte"
    );
    assert_eq!(reply.header("x-gateway-upstream"), Some("anthropic"));
    assert_eq!(pair.second.hits("/token"), 2);
    assert_eq!(pair.second.hits(PREDICT), 0, "nothing sent without a token");
    let failed = r#"llm_gateway_upstream_errors_total{kind="credentials",upstream="anthropic"}"#;
    assert_eq!(gw.metric(failed).await, 2.0);
    let logs = gw.logs();
    assert!(
        !logs.contains("ya29.") && !logs.contains("eyJ"),
        "no token or assertion logged"
    );

    // The endpoint is back: the next request exchanges and is served.
    overload(&pair);
    let reply = send(&gw, false, &[]).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("x-gateway-upstream"), Some("vertex"));
    assert_eq!(pair.second.hits("/token"), 3);
}

#[tokio::test]
async fn with_the_primary_out_vertexs_google_errors_reach_the_client_as_anthropic_errors() {
    let pair = Pair::start().await;
    let gw = start(&pair, Auth::AccessToken, "vertex-errors").await;
    // The primary's only key is refused: taken out, Vertex serves this and what follows.
    let refused =
        r#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#;
    pair.primary.push_script(status(401, refused, &[]));
    let reply = send(&gw, false, &[]).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("x-gateway-upstream"), Some("vertex"));
    assert_eq!(
        pair.second.hits("/token"),
        0,
        "a ready token needs no exchange"
    );
    for (code, name, kind) in [
        (429, "RESOURCE_EXHAUSTED", "rate_limit_error"),
        (400, "INVALID_ARGUMENT", "invalid_request_error"),
    ] {
        let google = format!(
            r#"{{"error":{{"code":{code},"message":"Vertex says {name}","status":"{name}"}}}}"#
        );
        pair.second.push_script(status(code, &google, &[]));
        let reply = send(&gw, false, &[]).await;
        assert_eq!(reply.status, code, "{name}: {}", reply.text());
        assert_eq!(reply.header("x-gateway-upstream"), Some("vertex"));
        assert_eq!(
            reply.text(),
            format!(
                r#"{{"type":"error","error":{{"type":"{kind}","message":"Vertex says {name}"}}}}"#
            ),
            "{name}"
        );
    }
    // An Anthropic-shaped error (the model's own) passes unchanged.
    let own = r#"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long"}}"#;
    pair.second.push_script(status(400, own, &[]));
    let reply = send(&gw, false, &[]).await;
    assert_eq!(reply.status, 400, "{}", reply.text());
    assert_eq!(reply.text(), own);
    assert_eq!(pair.second.hits(PREDICT), 4);
    assert_eq!(
        pair.primary.hits("/v1/messages"),
        1,
        "the primary stays out"
    );
}

#[tokio::test]
async fn a_token_vertex_refuses_is_exchanged_anew_and_the_request_sent_once_more() {
    let pair = Pair::start().await;
    let gw = start(&pair, Auth::ServiceAccount, "vertex-token-refused").await;
    overload(&pair);
    let refused = r#"{"error":{"code":401,"message":"Request had invalid authentication credentials.","status":"UNAUTHENTICATED"}}"#;
    pair.second.push_script(status(401, refused, &[]));
    let reply = send(&gw, false, &[]).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("x-gateway-upstream"), Some("vertex"));
    assert_eq!(
        pair.second.hits("/token"),
        2,
        "a new token after the refusal"
    );
    assert_eq!(pair.second.hits(PREDICT), 2);
    let tokens: Vec<_> = pair
        .second
        .requests()
        .into_iter()
        .filter(|r| r.path() == PREDICT)
        .map(|r| r.headers["authorization"].clone())
        .collect();
    assert_ne!(tokens[0], tokens[1]);
    assert_eq!(spent(&gw, 1).await, SONNET_CALL, "charged once");
}
