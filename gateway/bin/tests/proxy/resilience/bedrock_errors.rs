//! Bedrock's error answers (`{"message"}` with `x-amzn-errortype`). Behind a failed primary
//! the client gets the primary's error, whatever Bedrock said; with the primary out (its only
//! key revoked), Bedrock's error reaches the client as the Anthropic error it means, status
//! kept. A Bedrock key Bedrock refuses is taken out and counted.

use super::bedrock::{Auth, INVOKE, bedrock_gateway};
use super::{JSON_OK, OVERLOADED, Pair, send, served, status};

/// Bedrock's errors: status, exception, the Anthropic type the client must see.
const BEDROCK_ERRORS: [(u16, &str, &str); 4] = [
    (429, "ThrottlingException", "rate_limit_error"),
    (400, "ValidationException", "invalid_request_error"),
    (503, "ServiceUnavailableException", "overloaded_error"),
    // Last: it takes the Bedrock key out.
    (403, "AccessDeniedException", "permission_error"),
];

/// Bedrock's answer for `exception`, as Bedrock sends it.
fn bedrock_error(code: u16, exception: &str) -> mock_provider::Script {
    let body = format!(r#"{{"message":"Bedrock says {exception}"}}"#);
    status(code, &body, &[("x-amzn-errortype", exception)])
}

/// How many Bedrock calls one request makes for `code`: a 503 is retried once, a 429
/// rotates the key (there is no other), a 400 stands, a 403 takes the key out.
fn calls_for(code: u16) -> usize {
    if code == 503 { 2 } else { 1 }
}

#[tokio::test]
async fn behind_a_failed_primary_the_client_gets_the_primarys_error_whatever_bedrock_said() {
    let pair = Pair::start().await;
    let gw = bedrock_gateway(&pair, Auth::SigV4, "bedrock-errors-behind")
        .start()
        .await;
    let mut calls = 0;
    for (code, exception, _) in BEDROCK_ERRORS {
        pair.primary.push_script(status(529, OVERLOADED, &[]));
        pair.primary.push_script(status(529, OVERLOADED, &[]));
        for _ in 0..calls_for(code) {
            pair.second.push_script(bedrock_error(code, exception));
        }
        let reply = send(&gw, false, &[]).await;
        assert_eq!(reply.status, 529, "{exception}: {}", reply.text());
        assert_eq!(
            reply.text(),
            OVERLOADED,
            "{exception}: the primary's, byte for byte"
        );
        calls += calls_for(code);
        assert_eq!(pair.second.hits(INVOKE), calls, "{exception}");
    }
}

#[tokio::test]
async fn with_the_primary_out_bedrocks_errors_reach_the_client_as_anthropic_errors() {
    let pair = Pair::start().await;
    let gw = bedrock_gateway(&pair, Auth::ApiKey, "bedrock-errors-last")
        .start()
        .await;
    // The primary's only key is refused: taken out, Bedrock serves this and what follows.
    let refused =
        r#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#;
    pair.primary.push_script(status(401, refused, &[]));
    pair.second.push_script(served(false));
    let reply = send(&gw, false, &[]).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.text(), JSON_OK);

    for (code, exception, kind) in BEDROCK_ERRORS {
        for _ in 0..calls_for(code) {
            pair.second.push_script(bedrock_error(code, exception));
        }
        let reply = send(&gw, false, &[]).await;
        assert_eq!(reply.status, code, "{exception}: {}", reply.text());
        assert_eq!(reply.header("x-gateway-upstream"), Some("bedrock"));
        assert_eq!(
            reply.text(),
            format!(
                r#"{{"type":"error","error":{{"type":"{kind}","message":"Bedrock says {exception}"}}}}"#
            ),
            "{exception}"
        );
        assert_eq!(reply.header("x-amzn-errortype"), Some(exception));
        assert!(
            reply
                .header("content-type")
                .is_some_and(|c| c.starts_with("application/json"))
        );
    }
    assert_eq!(
        pair.primary.hits("/v1/messages"),
        1,
        "the primary stays out"
    );
}

#[tokio::test]
async fn a_bedrock_key_bedrock_refuses_is_taken_out_counted_and_not_tried_again() {
    let pair = Pair::start().await;
    let gw = bedrock_gateway(&pair, Auth::ApiKey, "bedrock-bad-key")
        .env("BEDROCK_KEY", "ABSKnot-the-mocks-key")
        .start()
        .await;
    for n in 1..=2 {
        pair.primary.push_script(status(529, OVERLOADED, &[]));
        pair.primary.push_script(status(529, OVERLOADED, &[]));
        let reply = send(&gw, false, &[]).await;
        assert_eq!(reply.status, 529, "{}", reply.text());
        assert_eq!(reply.text(), OVERLOADED, "request {n}: the primary's error");
        assert_eq!(
            pair.second.hits(INVOKE),
            1,
            "request {n}: Bedrock asked once"
        );
    }
    let revoked = r#"llm_gateway_upstream_key_cooldowns_total{key="BEDROCK_KEY",kind="revoked",target="bedrock"}"#;
    assert_eq!(gw.metric(revoked).await, 1.0);
    // What the mock answered: Bedrock's own refusal of an unknown API key.
    let sent = &pair.second.requests()[0];
    assert!(
        sent.headers["authorization"]
            .to_str()
            .unwrap()
            .starts_with("Bearer ABSK")
    );
}
