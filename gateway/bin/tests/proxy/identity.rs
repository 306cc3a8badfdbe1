//! Identity against the real binary: JWT users (HS256, RS256, ES256, EdDSA), an attack suite,
//! JWKS rotation without restart, the failed-attempt limiter, token introspection.
//! Every refused request must leave the mock provider untouched.

use std::{path::PathBuf, time::Duration};

use gateway_testkit::{
    TestGateway, TestGatewayBuilder,
    http::{self, Reply, messages_body, post_json},
    idp::{self, TestIdp},
    jwt::{self, SigningKey},
};
use mock_provider::{MockConfig, MockProvider};
use serde_json::json;

use super::WAIT;

fn identity_config() -> PathBuf {
    gateway_testkit::workspace_root().join("config/gateway.identity.toml")
}

fn temp_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("llm-gateway-identity-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// A gateway on `config/gateway.identity.toml` with test secrets, the given JWKS file and IdP.
fn identity_gateway(
    mock: &MockProvider,
    jwks_file: &std::path::Path,
    idp: &TestIdp,
) -> TestGatewayBuilder {
    super::gateway()
        .config(identity_config())
        .upstream(&mock.base_url())
        .env("GATEWAY_JWT_SECRET", jwt::HS256_SECRET)
        .env("GATEWAY_INTROSPECTION_SECRET", idp::CLIENT_SECRET)
        .env("GATEWAY__AUTH__JWT__JWKS_FILE", jwks_file.to_str().unwrap())
        .env("GATEWAY__AUTH__JWT__JWKS_URL", idp.jwks_url())
        .env(
            "GATEWAY__AUTH__INTROSPECTION__ENDPOINT",
            idp.introspection_url(),
        )
}

async fn call(gw: &TestGateway, headers: &[(&str, &str)]) -> Reply {
    http::send(post_json(
        &gw.url("/wizard/v1/messages"),
        headers,
        &messages_body("claude-sonnet-4-6", false),
    ))
    .await
}

async fn bearer(gw: &TestGateway, token: &str) -> Reply {
    call(gw, &[("authorization", &format!("Bearer {token}"))]).await
}

#[tokio::test]
async fn every_signature_family_is_accepted_and_every_attack_refused_before_the_provider() {
    let mock = MockProvider::start(MockConfig::default()).await.unwrap();
    let (rsa, ec, ed) = (
        SigningKey::rsa("r1"),
        SigningKey::ec("e1"),
        SigningKey::ed("d1"),
    );
    let file = temp_file("attack-jwks.json", &jwt::jwks(&[&rsa, &ec]));
    let idp = TestIdp::start(jwt::jwks(&[&ed])).await;
    let gw = identity_gateway(&mock, &file, &idp).start().await;
    let claims = jwt::claims("alice");

    for token in [
        rsa.sign(&claims),
        ec.sign(&claims),
        ed.sign(&claims),
        jwt::hs256(jwt::HS256_SECRET.as_bytes(), &claims),
    ] {
        let reply = bearer(&gw, &token).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        let reply = call(&gw, &[("x-api-key", &token)]).await;
        assert_eq!(reply.status, 200, "x-api-key: {}", reply.text());
    }
    let accepted = mock.hits("/v1/messages");
    assert_eq!(accepted, 8);

    let now = jwt::now();
    let with = |patch: serde_json::Value| {
        let mut c = claims.clone();
        for (k, v) in patch.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    };
    let good = rsa.sign(&claims);
    let mut tampered: Vec<&str> = good.split('.').collect();
    let evil_payload = jwt::forge("{}", &with(json!({"sub": "mallory"})), "");
    let evil_payload = evil_payload.split('.').nth(1).unwrap().to_owned();
    tampered[1] = &evil_payload;
    let tampered = tampered.join(".");
    let oversized = format!("{}.{}", good, "A".repeat(10_000));
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "alg none",
            jwt::forge(r#"{"alg":"none","typ":"JWT"}"#, &claims, ""),
            "disallowed_algorithm",
        ),
        (
            "HS/RS confusion",
            jwt::hs256(jwt::rsa_public_pem().as_bytes(), &claims),
            "bad_signature",
        ),
        (
            "kid of another key type",
            ec.sign_as("r1", &claims),
            "disallowed_algorithm",
        ),
        (
            "expired",
            rsa.sign(&with(json!({"exp": now - 3600}))),
            "expired",
        ),
        (
            "not yet valid",
            rsa.sign(&with(json!({"nbf": now + 3600}))),
            "not_yet_valid",
        ),
        (
            "wrong issuer",
            rsa.sign(&with(json!({"iss": "https://evil.example"}))),
            "wrong_issuer",
        ),
        (
            "wrong audience",
            rsa.sign(&with(json!({"aud": "another-service"}))),
            "wrong_audience",
        ),
        (
            "unknown kid",
            SigningKey::ec("nobody").sign(&claims),
            "unknown_kid",
        ),
        ("tampered payload", tampered, "bad_signature"),
        // Cut so the signature segment is 4n+1 characters long, which no base64 text
        // can be. (Cutting 12 was not deterministic: one time in sixteen the shorter
        // segment was still valid base64 and the verdict was bad_signature instead.)
        ("truncated", truncated_to_invalid_base64(&good), "malformed"),
        ("oversized", oversized, "malformed"),
        ("garbage", "eyJ!!!.@@@.###".to_owned(), "malformed"),
    ];
    for (name, token, reason) in &cases {
        let needle = format!("\"reason\":\"{reason}\"");
        let before = gw.log_count(&needle);
        let reply = bearer(&gw, token).await;
        assert_eq!(reply.status, 401, "{name}: {}", reply.text());
        let v = reply.json();
        assert_eq!(v["error"]["type"], "authentication_error", "{name}");
        assert!(
            !reply.text().contains(token.as_str()),
            "{name}: token echoed"
        );
        assert!(
            gw.wait_for_log(&needle, before + 1, WAIT).await,
            "{name}: expected reason {reason} in logs"
        );
    }
    let expired = bearer(&gw, &cases[3].1).await;
    assert!(
        expired.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired at")
    );

    // Garbage in both headers, and two different valid tokens.
    let reply = call(
        &gw,
        &[("authorization", "Bearer zzz"), ("x-api-key", "zzz")],
    )
    .await;
    assert_eq!(reply.status, 401);
    let (a, b) = (rsa.sign(&claims), ec.sign(&claims));
    let reply = call(
        &gw,
        &[("authorization", &format!("Bearer {a}")), ("x-api-key", &b)],
    )
    .await;
    assert_eq!(reply.status, 401);
    assert!(reply.text().contains("two different credentials"));

    assert_eq!(
        mock.hits("/v1/messages"),
        accepted,
        "no refused request reached the provider"
    );
    // Neither the logs nor the operators' metrics carry a token; metrics count by reason.
    let metrics = http::send(http::bodyless(
        ::http::Method::GET,
        &gw.admin_url("/metrics"),
        &[],
    ))
    .await
    .text();
    for (_, token, _) in &cases {
        assert!(
            !gw.logs().contains(token.as_str()),
            "a token reached the logs"
        );
        assert!(
            !metrics.contains(token.as_str()),
            "a token reached /metrics"
        );
    }
    assert!(
        !metrics.contains(jwt::HS256_SECRET),
        "the JWT secret reached /metrics"
    );
    assert!(
        !metrics.contains(idp::CLIENT_SECRET),
        "the introspection secret reached /metrics"
    );
    for reason in ["expired", "bad_signature", "unknown_kid", "malformed"] {
        assert!(
            metrics.lines().any(|l| l.starts_with(&format!(
                "llm_gateway_auth_failures_total{{reason=\"{reason}\"}} "
            )) && !l.ends_with(" 0")),
            "auth_failures_total{{reason={reason}}} counted:\n{metrics}"
        );
    }
}

#[tokio::test]
async fn rotated_keys_work_without_restart_and_removed_keys_stop_working() {
    let mock = MockProvider::start(MockConfig::default()).await.unwrap();
    let (a, b) = (SigningKey::rsa("key-a"), SigningKey::ec("key-b"));
    let (c, d) = (SigningKey::ed("key-c"), SigningKey::ec("key-d"));
    let file = temp_file("rotation-jwks.json", &jwt::jwks(&[&a]));
    let idp = TestIdp::start(jwt::jwks(&[&c])).await;
    let gw = identity_gateway(&mock, &file, &idp)
        .env("GATEWAY__AUTH__JWT__JWKS_REFETCH_MIN_INTERVAL_MS", "0")
        .env("GATEWAY__AUTH__JWT__JWKS_REFRESH_MS", "200")
        .start()
        .await;
    let claims = jwt::claims("rotor");
    assert_eq!(bearer(&gw, &a.sign(&claims)).await.status, 200);
    assert_eq!(bearer(&gw, &c.sign(&claims)).await.status, 200);

    // New keys appear in the file and at the URL: accepted on first sight (unknown kid → refetch).
    std::fs::write(&file, jwt::jwks(&[&a, &b])).unwrap();
    idp.set_jwks(jwt::jwks(&[&c, &d]));
    assert_eq!(bearer(&gw, &b.sign(&claims)).await.status, 200);
    assert_eq!(bearer(&gw, &d.sign(&claims)).await.status, 200);

    // Key A is removed: after the next background refresh loads the change, A's tokens
    // (even one verified and cached before) are refused.
    let token_a = a.sign(&claims);
    assert_eq!(bearer(&gw, &token_a).await.status, 200);
    let loads = gw.log_count("loaded JWKS");
    std::fs::write(&file, jwt::jwks(&[&b])).unwrap();
    assert!(
        gw.wait_for_log("loaded JWKS", loads + 1, WAIT).await,
        "refresh picks up the change"
    );
    let reply = bearer(&gw, &token_a).await;
    assert_eq!(reply.status, 401, "{}", reply.text());
    assert_eq!(bearer(&gw, &b.sign(&claims)).await.status, 200);
    assert!(idp.jwks_fetches() >= 2);
}

#[tokio::test]
async fn the_failed_attempt_limiter_trips_with_429_and_recovers() {
    let mock = MockProvider::start(MockConfig::default()).await.unwrap();
    let file = temp_file("limiter-jwks.json", &jwt::jwks(&[&SigningKey::rsa("r")]));
    let idp = TestIdp::start(jwt::jwks(&[])).await;
    let gw = identity_gateway(&mock, &file, &idp)
        .env("GATEWAY__AUTH__LIMITS__FAILED_ATTEMPTS_PER_MINUTE", "60")
        .env("GATEWAY__AUTH__LIMITS__FAILED_ATTEMPTS_BURST", "3")
        .start()
        .await;
    for i in 0..3 {
        assert_eq!(bearer(&gw, &format!("wrong-{i}")).await.status, 401);
    }
    let reply = bearer(&gw, "wrong-3").await;
    assert_eq!(reply.status, 429, "{}", reply.text());
    assert_eq!(reply.json()["error"]["type"], "rate_limit_error");
    let retry_after: u64 = reply.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry_after));
    // A valid credential from the same address still works.
    assert_eq!(bearer(&gw, gateway_testkit::DEV_TOKEN).await.status, 200);
    // Within the advertised wait (plus a scheduling margin) the address may try again: polled
    // (a refused attempt costs the limiter nothing), not slept.
    let status = gateway_testkit::poll::poll_every(
        Duration::from_millis(100),
        Duration::from_secs(retry_after + 2),
        || async {
            let status = bearer(&gw, "wrong-4").await.status;
            (status != 429).then_some(status)
        },
    )
    .await;
    assert_eq!(
        status.map(|s| s.as_u16()),
        Some(401),
        "the limiter lets the address try again"
    );
    assert_eq!(mock.hits("/v1/messages"), 1);
}

#[tokio::test]
async fn opaque_tokens_are_introspected_cached_and_an_outage_is_a_503() {
    let mock = MockProvider::start(MockConfig::default()).await.unwrap();
    let file = temp_file("introspection-jwks.json", &jwt::jwks(&[]));
    let idp = TestIdp::start(jwt::jwks(&[])).await;
    idp.set_token(
        "pha_good",
        json!({"active": true, "sub": "dana", "org": "acme", "exp": jwt::now() + 600}),
    );
    idp.set_token(
        "pha_old",
        json!({"active": true, "sub": "erin", "exp": jwt::now() - 10}),
    );
    let gw = identity_gateway(&mock, &file, &idp).start().await;

    assert_eq!(bearer(&gw, "pha_good").await.status, 200);
    assert_eq!(bearer(&gw, "pha_good").await.status, 200);
    assert_eq!(idp.introspections(), 1, "the active answer is cached");
    assert_eq!(bearer(&gw, "pha_revoked").await.status, 401);
    assert_eq!(bearer(&gw, "pha_revoked").await.status, 401);
    assert_eq!(idp.introspections(), 2, "the inactive answer is cached too");
    let reply = bearer(&gw, "pha_old").await;
    assert_eq!(reply.status, 401);
    assert!(reply.text().contains("expired at"));
    // A token without a configured prefix never goes to the endpoint.
    assert_eq!(bearer(&gw, "xyz_unknown").await.status, 401);
    assert_eq!(idp.introspections(), 3);

    idp.set_down(true);
    let reply = bearer(&gw, "phx_new").await;
    assert_eq!(reply.status, 503, "{}", reply.text());
    assert_eq!(reply.json()["error"]["type"], "overloaded_error");
    assert!(reply.header("retry-after").is_some());
    idp.set_down(false);
    idp.set_token("phx_new", json!({"active": true, "sub": "fay"}));
    assert_eq!(
        bearer(&gw, "phx_new").await.status,
        200,
        "an outage is not cached"
    );
    assert_eq!(mock.hits("/v1/messages"), 3);
}

#[tokio::test]
async fn token_mint_cli_makes_a_token_the_gateway_accepts() {
    let mock = MockProvider::start(MockConfig::default()).await.unwrap();
    let file = temp_file("mint-jwks.json", &jwt::jwks(&[]));
    let idp = TestIdp::start(jwt::jwks(&[])).await;
    let gw = identity_gateway(&mock, &file, &idp).start().await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_llm-gateway"))
        .args([
            "token",
            "mint",
            "--config",
            identity_config().to_str().unwrap(),
        ])
        .args([
            "--sub",
            "gina",
            "--plan",
            "free",
            "--ttl",
            "10m",
            "--max-usd",
            "5",
        ])
        .current_dir(gateway_testkit::workspace_root())
        .env("GATEWAY_JWT_SECRET", jwt::HS256_SECRET)
        .env("GATEWAY_INTROSPECTION_SECRET", idp::CLIENT_SECRET)
        .env("ANTHROPIC_API_KEY", "x")
        .env("OPENAI_API_KEY", "x")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(bearer(&gw, &token).await.status, 200);
    assert!(
        gw.logs().contains("\"subject\":\"gina\""),
        "the principal is on the request span"
    );
}

/// `token` with its signature segment cut to a length of 4n+1 (always invalid base64),
/// at least 8 characters shorter than it was.
fn truncated_to_invalid_base64(token: &str) -> String {
    let signature_len = token.len() - token.rfind('.').unwrap() - 1;
    let mut cut = 8;
    while (signature_len - cut) % 4 != 1 {
        cut += 1;
    }
    token[..token.len() - cut].to_owned()
}
