use gateway_config::{Config, MapEnvironment};
use gateway_core::Provider;
use http::Method;

use super::*;

fn target() -> Target {
    Target {
        project: "test-project".to_owned(),
        region: "us-east5".to_owned(),
        models: BTreeMap::from([(
            "claude-sonnet-4-6".to_owned(),
            "claude-sonnet-4-6@20250929".to_owned(),
        )]),
        account: None,
    }
}

fn fetcher() -> Fetcher {
    let text = "[server]\nlisten = \"127.0.0.1:8080\"\n[admin]\nlisten = \"127.0.0.1:9090\"\n[upstreams.anthropic]\nbase_url = \"http://127.0.0.1:1\"\napi_key_env = \"K\"\n";
    let config = Config::parse(text, &MapEnvironment::from_pairs([("K", "k")])).unwrap();
    Fetcher {
        client: crate::client::build(&config.forwarding).unwrap(),
    }
}

fn outbound<'a>(headers: &'a HeaderMap, path: &'a str, body: &str) -> Outbound<'a> {
    Outbound {
        provider: Provider::Anthropic,
        method: Method::POST,
        path,
        query: None,
        headers,
        body: Bytes::copy_from_slice(body.as_bytes()),
    }
}

#[tokio::test]
async fn the_request_names_the_at_model_id_in_the_path_and_carries_only_the_betas() {
    let mut client = HeaderMap::new();
    client.insert("anthropic-version", HeaderValue::from_static("2023-06-01"));
    client.insert("x-api-key", HeaderValue::from_static("sk-client"));
    client.insert("authorization", HeaderValue::from_static("Bearer client"));
    client.insert("x-stainless-os", HeaderValue::from_static("Linux"));
    client.insert(
        "anthropic-beta",
        HeaderValue::from_static("claude-code-20250219,interleaved-thinking-2025-05-14"),
    );
    let token = Secret::new("ya29.access".to_owned());
    let body = r#"{"model":"claude-sonnet-4-6","stream":true,"max_tokens":5,"messages":[]}"#;
    let p = target()
        .prepare(
            "http://127.0.0.1:1",
            &outbound(&client, "/v1/messages", body),
            &token,
            &fetcher(),
        )
        .await
        .unwrap();
    assert_eq!(
        p.uri,
        "http://127.0.0.1:1/v1/projects/test-project/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-6@20250929:streamRawPredict"
    );
    assert_eq!(p.uri.parse::<http::Uri>().unwrap().path(), &p.uri[18..]);
    for gone in ["anthropic-version", "x-api-key", "x-stainless-os"] {
        assert!(!p.headers.contains_key(gone), "{gone}");
    }
    assert_eq!(p.headers[header::AUTHORIZATION], "Bearer ya29.access");
    assert!(p.headers[header::AUTHORIZATION].is_sensitive());
    assert_eq!(
        p.headers["anthropic-beta"],
        "claude-code-20250219,interleaved-thinking-2025-05-14"
    );
    assert_eq!(p.headers[header::ACCEPT], "text/event-stream");
    assert_eq!(
        std::str::from_utf8(&p.body).unwrap(),
        r#"{"anthropic_version":"vertex-2023-10-16","stream":true,"max_tokens":5,"messages":[]}"#
    );

    let p = target()
        .prepare(
            "http://h/prefix",
            &outbound(
                &HeaderMap::new(),
                "/v1/messages",
                r#"{"model":"claude-haiku-4-5@20251001"}"#,
            ),
            &token,
            &fetcher(),
        )
        .await
        .unwrap();
    assert_eq!(
        p.uri,
        "http://h/prefix/v1/projects/test-project/locations/us-east5/publishers/anthropic/models/claude-haiku-4-5@20251001:rawPredict",
        "an id that already is a Vertex id passes"
    );
}

#[tokio::test]
async fn an_unmapped_or_path_changing_model_or_another_route_skips_the_target() {
    let headers = HeaderMap::new();
    let key = Secret::new("t".to_owned());
    let f = fetcher();
    for (path, body, reason) in [
        ("/v1/messages", r#"{"model":"claude-x"}"#, "unmapped_model"),
        ("/v1/messages", r#"{"model":"../x@1/y"}"#, "unmapped_model"),
        (
            "/v1/messages",
            r#"{"model":"a@b:rawPredict?x"}"#,
            "unmapped_model",
        ),
        (
            "/v1/messages/count_tokens",
            r#"{"model":"claude-sonnet-4-6"}"#,
            "unsupported_route",
        ),
    ] {
        let result = target()
            .prepare("http://h", &outbound(&headers, path, body), &key, &f)
            .await;
        assert!(
            matches!(result, Err(UpstreamError::Skipped { reason: r, .. }) if r == reason),
            "{body}"
        );
    }
}

#[test]
fn a_service_account_key_that_does_not_parse_is_a_start_error_naming_the_target() {
    let v = Vertex {
        project: "p".to_owned(),
        region: "global".to_owned(),
        auth: VertexAuth::ServiceAccount(ServiceAccount {
            client_email: "a@p.iam.gserviceaccount.com".to_owned(),
            private_key: Secret::new(
                "-----BEGIN PRIVATE KEY-----\nSECRETBYTES\n-----END PRIVATE KEY-----\n".to_owned(),
            ),
            token_uri: url::Url::parse("https://oauth2.googleapis.com/token").unwrap(),
        }),
        models: BTreeMap::new(),
    };
    let shown = Target::new(&v, "vertex-global").unwrap_err().to_string();
    assert!(shown.contains("`vertex-global`"), "{shown}");
    assert!(!shown.contains("SECRETBYTES"), "{shown}");
}
