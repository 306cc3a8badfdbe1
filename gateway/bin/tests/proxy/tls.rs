//! HTTPS: the gateway serves TLS with a certificate generated at test time.

use std::sync::Arc;

use bytes::Bytes;
use gateway_testkit::http::messages_body;
use http_body_util::{BodyExt, Full};

use super::{BEARER, pair_with};

#[tokio::test]
async fn serves_https_with_a_generated_certificate() {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let dir = std::env::temp_dir().join(format!("llm-gateway-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert_file, key_file) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_file, certified.cert.pem()).unwrap();
    std::fs::write(&key_file, certified.signing_key.serialize_pem()).unwrap();

    let (mock, gw) = pair_with(mock_provider::MockConfig::default(), |b| {
        b.env(
            "GATEWAY__SERVER__TLS__CERT_FILE",
            cert_file.to_str().unwrap(),
        )
        .env("GATEWAY__SERVER__TLS__KEY_FILE", key_file.to_str().unwrap())
    })
    .await;

    let mut roots = rustls::RootCertStore::empty();
    roots.add(certified.cert.der().clone()).unwrap();
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_only()
        .enable_http1()
        .enable_http2()
        .build();
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build::<_, Full<Bytes>>(https);
    let url = format!("https://localhost:{}/wizard/v1/messages", gw.proxy.port());
    let req = ::http::Request::post(url)
        .header(BEARER.0, BEARER.1)
        .body(Full::new(Bytes::from(messages_body(
            "claude-sonnet-4-6",
            false,
        ))))
        .unwrap();
    let response = client.request(req).await.unwrap();
    assert_eq!(response.status(), 200);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["content"][0]["text"], "Hello from the mock provider.");
    assert_eq!(mock.hits("/v1/messages"), 1);
}

#[tokio::test]
async fn forwards_to_an_https_upstream_trusted_through_the_extra_ca_file() {
    // Front gateway --HTTPS--> back gateway (TLS, generated cert) --> mock.
    // The front trusts the back's certificate only through forwarding.extra_ca_file, and pays
    // it with a "provider key" that is the back gateway's own dev token.
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let dir = std::env::temp_dir().join(format!("llm-gateway-tls-up-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert_file, key_file) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_file, certified.cert.pem()).unwrap();
    std::fs::write(&key_file, certified.signing_key.serialize_pem()).unwrap();

    let (mock, back) = pair_with(mock_provider::MockConfig::default(), |b| {
        b.env(
            "GATEWAY__SERVER__TLS__CERT_FILE",
            cert_file.to_str().unwrap(),
        )
        .env("GATEWAY__SERVER__TLS__KEY_FILE", key_file.to_str().unwrap())
    })
    .await;
    let back_url = format!("https://localhost:{}", back.proxy.port());
    let front = super::gateway()
        .upstream(&back_url)
        .env("ANTHROPIC_API_KEY", gateway_testkit::DEV_TOKEN)
        .env(
            "GATEWAY__FORWARDING__EXTRA_CA_FILE",
            cert_file.to_str().unwrap(),
        )
        .start()
        .await;
    let reply = gateway_testkit::http::send(gateway_testkit::http::post_json(
        &front.url("/v1/messages"),
        &[BEARER],
        &messages_body("claude-sonnet-4-6", true),
    ))
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(reply.text().contains("message_stop"));
    assert_eq!(mock.hits("/v1/messages"), 1);

    // Without the extra CA the same upstream is refused: 502, nothing reaches the mock.
    let untrusting = super::gateway()
        .upstream(&back_url)
        .env("ANTHROPIC_API_KEY", gateway_testkit::DEV_TOKEN)
        .start()
        .await;
    let reply = gateway_testkit::http::send(gateway_testkit::http::post_json(
        &untrusting.url("/v1/messages"),
        &[BEARER],
        &messages_body("claude-sonnet-4-6", false),
    ))
    .await;
    assert_eq!(reply.status, 502, "{}", reply.text());
    assert_eq!(mock.hits("/v1/messages"), 1);
}
