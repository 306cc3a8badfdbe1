//! The admin listener: health and readiness, separate from the client-facing port.

use gateway_testkit::http;

use super::pair;

#[tokio::test]
async fn health_and_readiness_answer_json_on_the_admin_port_only() {
    let (_mock, gw) = pair().await;
    let reply = http::send(http::bodyless(
        ::http::Method::GET,
        &gw.admin_url("/healthz"),
        &[],
    ))
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["status"], "ok");
    let reply = http::send(http::bodyless(
        ::http::Method::GET,
        &gw.admin_url("/readyz"),
        &[],
    ))
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.json()["checks"]["upstreams"],
        serde_json::json!(["anthropic", "openai"])
    );
    // Not on the client-facing listener.
    let reply = http::send(http::bodyless(
        ::http::Method::GET,
        &gw.url("/healthz"),
        &[],
    ))
    .await;
    assert_eq!(reply.status, 404);
}
