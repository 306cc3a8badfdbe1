//! Compressed request bodies through the real binary: gzip, br and zstd are decoded, scanned
//! and forwarded decoded; a zip bomb is a 413 and corrupt data a 400, neither forwarded.

use std::io::Write;

use bytes::Bytes;
use gateway_testkit::http;
use http_body_util::Full;
use serde_json::Value;

use super::{Secrets, turn};
use crate::{BEARER, pair, pair_with};

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn brotli(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut w = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
        w.write_all(data).unwrap();
    }
    out
}

fn post(url: &str, encoding: &str, body: Vec<u8>) -> ::http::Request<Full<Bytes>> {
    ::http::Request::post(url)
        .header("content-type", "application/json")
        .header("content-encoding", encoding)
        .header(BEARER.0, BEARER.1)
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

#[tokio::test]
async fn compressed_bodies_are_decoded_scanned_and_forwarded_decoded() {
    let (mock, gw) = pair().await;
    let secrets = Secrets::new();
    let body = turn(&secrets, None).to_string();
    let encoded = [
        ("gzip", gzip(body.as_bytes())),
        ("br", brotli(body.as_bytes())),
        ("zstd", zstd::encode_all(body.as_bytes(), 3).unwrap()),
    ];
    for (encoding, data) in encoded {
        let reply = http::send(post(&gw.url("/v1/messages"), encoding, data)).await;
        assert_eq!(reply.status, 200, "{encoding}: {}", reply.text());
        let seen = mock.requests().pop().unwrap();
        assert!(seen.headers.get("content-encoding").is_none(), "{encoding}");
        let forwarded = String::from_utf8_lossy(&seen.body);
        for secret in secrets.all() {
            assert!(
                !forwarded.contains(secret),
                "{encoding}: a secret reached the provider"
            );
        }
        let parsed: Value = serde_json::from_slice(&seen.body).expect("forwarded as JSON");
        let env = parsed["messages"][2]["content"][0]["content"]
            .as_str()
            .unwrap();
        assert!(env.contains("DATABASE_PASSWORD=gwx_"), "{encoding}: {env}");
        assert_eq!(
            seen.headers
                .get("content-length")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<usize>().ok()),
            Some(seen.body.len()),
            "{encoding}: the length is the decoded body's"
        );
    }
}

#[tokio::test]
async fn a_zip_bomb_is_413_and_corrupt_data_400_and_neither_is_forwarded() {
    let (mock, gw) = pair_with(mock_provider::MockConfig::default(), |b| {
        b.env("GATEWAY__SERVER__REQUEST_BODY_MAX_BYTES", "1048576")
    })
    .await;
    // 16 MiB of JSON whitespace in under 20 KiB.
    let mut bomb = b"{\"model\":\"claude-sonnet-4-6\",\"messages\":[]".to_vec();
    bomb.extend(std::iter::repeat_n(b' ', 16 << 20));
    bomb.push(b'}');
    let bomb = gzip(&bomb);
    assert!(bomb.len() < 20 * 1024, "{}", bomb.len());
    let reply = http::send(post(&gw.url("/v1/messages"), "gzip", bomb)).await;
    assert_eq!(reply.status, 413, "{}", reply.text());
    assert_eq!(reply.json()["error"]["type"], "request_too_large");

    let garbage = br#"{"model":"claude-sonnet-4-6","messages":[]}"#.to_vec();
    let reply = http::send(post(&gw.url("/v1/chat/completions"), "gzip", garbage)).await;
    assert_eq!(reply.status, 400, "{}", reply.text());
    assert_eq!(reply.json()["error"]["type"], "invalid_request_error");
    assert!(reply.text().contains("not valid gzip"), "{}", reply.text());
    assert_eq!(mock.requests().len(), 0, "nothing reached the provider");
}
