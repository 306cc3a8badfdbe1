//! A Bedrock fallback: the primary overloads, Bedrock (API-key auth, the mock's
//! `/model/{id}/invoke` route, which refuses a body that is not Bedrock-shaped) serves.

use super::{JSON_OK, OVERLOADED, Pair, SONNET_CALL, gateway, send, served, spent, status};

#[tokio::test]
async fn an_overloaded_primary_falls_back_to_bedrock_which_gets_a_bedrock_shaped_request() {
    let pair = Pair::start().await;
    let section = format!(
        "[upstreams.anthropic]\nbase_url = \"{}\"\napi_key_env = \"ANTHROPIC_API_KEY\"\n[[upstreams.anthropic.fallbacks]]\nname = \"bedrock\"\nkind = \"bedrock\"\nregion = \"us-east-1\"\nbase_url = \"{}\"\napi_key_env = \"SECOND_KEY\"\nmodels = {{ \"claude-sonnet-4-6\" = \"us.anthropic.claude-sonnet-4-6-v1:0\" }}\n",
        pair.primary.base_url(),
        pair.second.base_url()
    );
    let gw = gateway(&section, "bedrock").start().await;
    pair.primary.push_script(status(529, OVERLOADED, &[]));
    pair.primary.push_script(status(529, OVERLOADED, &[]));
    pair.second.push_script(served(false));
    let reply = send(&gw, false, &[("anthropic-beta", "claude-code-20250219")]).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.text(), JSON_OK, "Bedrock's JSON answer, unchanged");
    assert_eq!(reply.header("x-gateway-upstream"), Some("bedrock"));
    assert_eq!(reply.header("x-gateway-attempts"), Some("3"));
    let path = "/model/us.anthropic.claude-sonnet-4-6-v1%3A0/invoke";
    assert_eq!(pair.second.hits(path), 1, "the `:` encoded in the path");
    let sent = &pair.second.requests()[0];
    assert_eq!(
        sent.headers["authorization"],
        format!("Bearer {}", super::SECOND_KEY)
    );
    for gone in ["x-api-key", "anthropic-version", "anthropic-beta"] {
        assert!(!sent.headers.contains_key(gone), "{gone} leaked to Bedrock");
    }
    let body: serde_json::Value = serde_json::from_slice(&sent.body).unwrap();
    assert_eq!(body["anthropic_version"], "bedrock-2023-05-31");
    assert!(body.get("model").is_none() && body.get("stream").is_none());
    assert_eq!(spent(&gw, 1).await, SONNET_CALL, "charged once");
}
