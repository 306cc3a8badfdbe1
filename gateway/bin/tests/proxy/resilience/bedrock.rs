//! A Bedrock fallback: the primary overloads, Bedrock (the mock's `/model/{id}/invoke` routes,
//! which verify the SigV4 signature or Bedrock API key themselves and refuse a body that is
//! not Bedrock-shaped) serves.

use gateway_testkit::TestGatewayBuilder;
use mock_provider::{BEDROCK_ACCESS_KEY_ID, BEDROCK_API_KEY, BEDROCK_SECRET_ACCESS_KEY};

use super::{JSON_OK, OVERLOADED, Pair, SONNET_CALL, gateway, send, served, spent, status};

/// How the gateway authenticates to the Bedrock target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Auth {
    /// The mock's Bedrock API key, as a bearer token.
    ApiKey,
    /// SigV4 with the mock's access key pair.
    SigV4,
}

/// `[upstreams.anthropic]`: the pair's primary, then `second` as a Bedrock target.
pub(super) fn section(pair: &Pair, auth: Auth) -> String {
    let creds = match auth {
        Auth::ApiKey => "api_key_env = \"BEDROCK_KEY\"\n",
        Auth::SigV4 => {
            "aws_access_key_id_env = \"BEDROCK_AWS_ID\"\naws_secret_access_key_env = \"BEDROCK_AWS_SECRET\"\n"
        }
    };
    format!(
        "[upstreams.anthropic]\nbase_url = \"{}\"\napi_key_env = \"ANTHROPIC_API_KEY\"\n[[upstreams.anthropic.fallbacks]]\nname = \"bedrock\"\nkind = \"bedrock\"\nregion = \"us-east-1\"\nbase_url = \"{}\"\n{creds}models = {{ \"claude-sonnet-4-6\" = \"us.anthropic.claude-sonnet-4-6-v1:0\" }}\n",
        pair.primary.base_url(),
        pair.second.base_url()
    )
}

/// A gateway whose fallback is the pair's `second` as Bedrock, with the mock's credentials.
pub(super) fn bedrock_gateway(pair: &Pair, auth: Auth, name: &str) -> TestGatewayBuilder {
    gateway(&section(pair, auth), name)
        .env("BEDROCK_KEY", BEDROCK_API_KEY)
        .env("BEDROCK_AWS_ID", BEDROCK_ACCESS_KEY_ID)
        .env("BEDROCK_AWS_SECRET", BEDROCK_SECRET_ACCESS_KEY)
}

/// The non-streamed and streamed Bedrock paths of the mapped model (the `:` encoded once).
pub(super) const INVOKE: &str = "/model/us.anthropic.claude-sonnet-4-6-v1%3A0/invoke";
pub(super) const STREAM: &str =
    "/model/us.anthropic.claude-sonnet-4-6-v1%3A0/invoke-with-response-stream";

#[tokio::test]
async fn an_overloaded_primary_falls_back_to_bedrock_which_gets_a_bedrock_shaped_request() {
    let pair = Pair::start().await;
    let gw = bedrock_gateway(&pair, Auth::ApiKey, "bedrock")
        .start()
        .await;
    pair.primary.push_script(status(529, OVERLOADED, &[]));
    pair.primary.push_script(status(529, OVERLOADED, &[]));
    pair.second.push_script(served(false));
    let reply = send(&gw, false, &[("anthropic-beta", "claude-code-20250219")]).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.text(), JSON_OK, "Bedrock's JSON answer, unchanged");
    assert_eq!(reply.header("x-gateway-upstream"), Some("bedrock"));
    assert_eq!(reply.header("x-gateway-attempts"), Some("3"));
    assert_eq!(pair.second.hits(INVOKE), 1, "the `:` encoded in the path");
    let sent = &pair.second.requests()[0];
    assert_eq!(
        sent.headers["authorization"],
        format!("Bearer {BEDROCK_API_KEY}")
    );
    for gone in ["x-api-key", "anthropic-version", "anthropic-beta"] {
        assert!(!sent.headers.contains_key(gone), "{gone} leaked to Bedrock");
    }
    let body: serde_json::Value = serde_json::from_slice(&sent.body).unwrap();
    assert_eq!(body["anthropic_version"], "bedrock-2023-05-31");
    assert!(body.get("model").is_none() && body.get("stream").is_none());
    assert_eq!(spent(&gw, 1).await, SONNET_CALL, "charged once");
}

#[tokio::test]
async fn a_sigv4_signed_fallback_passes_the_mock_bedrocks_own_signature_check() {
    let pair = Pair::start().await;
    let gw = bedrock_gateway(&pair, Auth::SigV4, "bedrock-sigv4")
        .start()
        .await;
    pair.primary.push_script(status(529, OVERLOADED, &[]));
    pair.primary.push_script(status(529, OVERLOADED, &[]));
    // The body the gateway signs carries the allowed beta moved into it.
    let beta = (
        "anthropic-beta",
        "claude-code-20250219,interleaved-thinking-2025-05-14",
    );
    let reply = send(&gw, false, &[beta]).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("x-gateway-upstream"), Some("bedrock"));
    assert_eq!(pair.second.hits(INVOKE), 1);
    let sent = &pair.second.requests()[0];
    let auth = sent.headers["authorization"].to_str().unwrap();
    assert!(
        auth.contains(
            "/us-east-1/bedrock/aws4_request, SignedHeaders=content-type;host;x-amz-date,"
        ),
        "{auth}"
    );
    let body: serde_json::Value = serde_json::from_slice(&sent.body).unwrap();
    assert_eq!(
        body["anthropic_beta"],
        serde_json::json!(["interleaved-thinking-2025-05-14"])
    );
    assert_eq!(spent(&gw, 1).await, SONNET_CALL, "charged once");
}

/// The id the mock gave its answer (`msg_mock_<n>`), replaced so two answers compare.
pub(super) fn without_mock_id(sse: &str) -> String {
    let Some(at) = sse.find("msg_mock_") else {
        return sse.to_owned();
    };
    let end = sse[at..].find('"').map_or(sse.len(), |e| at + e);
    format!("{}msg_mock_N{}", &sse[..at], &sse[end..])
}

#[tokio::test]
async fn a_streamed_fallback_to_bedrock_reaches_the_client_as_the_anthropic_sse_it_carries() {
    let pair = Pair::start().await;
    let gw = bedrock_gateway(&pair, Auth::SigV4, "bedrock-stream")
        .start()
        .await;
    pair.primary.push_script(status(529, OVERLOADED, &[]));
    pair.primary.push_script(status(529, OVERLOADED, &[]));
    // Unscripted: the mock Bedrock streams its canned Anthropic answer as event-stream frames.
    let reply = send(&gw, true, &[]).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("x-gateway-upstream"), Some("bedrock"));
    assert_eq!(pair.second.hits(STREAM), 1);
    let sent = &pair.second.requests()[0];
    let auth = sent.headers["authorization"].to_str().unwrap();
    assert!(
        auth.starts_with(&format!(
            "AWS4-HMAC-SHA256 Credential={BEDROCK_ACCESS_KEY_ID}/"
        )),
        "signed with SigV4, which the mock verified: {auth}"
    );
    assert!(
        reply
            .header("content-type")
            .is_some_and(|c| c.starts_with("text/event-stream")),
        "{:?}",
        reply.header("content-type")
    );

    // What the same mock streams as Anthropic for the same request: the same events.
    let direct = gateway_testkit::http::send(gateway_testkit::http::post_json(
        &format!("{}/v1/messages", pair.second.base_url()),
        &[("x-api-key", "k"), ("anthropic-version", "2023-06-01")],
        &super::body(true),
    ))
    .await;
    assert_eq!(direct.status, 200, "{}", direct.text());
    let got = without_mock_id(&reply.text());
    assert!(got.starts_with("event: message_start\ndata: {"), "{got}");
    assert!(
        got.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"),
        "{got}"
    );
    assert_eq!(got, without_mock_id(&direct.text()));
}
