//! The mock Bedrock's credential check over real sockets: requests signed by a reference
//! signer (`aws-sigv4`) pass; a tampered body, path or signed header, the wrong key pair, a
//! path signed decoded but sent encoded, a missing or wrong credential get Bedrock's 403.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use mock_provider::{
    BEDROCK_ACCESS_KEY_ID, BEDROCK_API_KEY, BEDROCK_REGION, BEDROCK_SECRET_ACCESS_KEY, MockConfig,
    MockProvider,
};

use crate::client::{send, send_raw};

/// The path of a model id with a `:`, encoded once as it goes on the wire.
const INVOKE: &str = "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke";
const BODY: &str = r#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":5,"messages":[]}"#;

/// The SigV4 headers for a `POST` of `body` to `uri` with `content-type: application/json`.
fn signed(uri: &str, body: &str, key_id: &str, secret: &str) -> Vec<(String, String)> {
    let identity: Identity = Credentials::new(key_id, secret, None, None, "test").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(BEDROCK_REGION)
        .name("bedrock")
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let request = SignableRequest::new(
        "POST",
        uri,
        [("content-type", "application/json")].into_iter(),
        SignableBody::Bytes(body.as_bytes()),
    )
    .unwrap();
    let (instructions, _) = sign(request, &params).unwrap().into_parts();
    let (headers, _) = instructions.into_parts();
    headers
        .iter()
        .map(|h| (h.name().to_owned(), h.value().to_owned()))
        .collect()
}

fn good(mock: &MockProvider, path: &str, body: &str) -> Vec<(String, String)> {
    signed(
        &format!("{}{path}", mock.base_url()),
        body,
        BEDROCK_ACCESS_KEY_ID,
        BEDROCK_SECRET_ACCESS_KEY,
    )
}

fn pairs(headers: &[(String, String)]) -> Vec<(&str, &str)> {
    headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

async fn post(
    mock: &MockProvider,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> crate::client::Answer {
    send(mock, "POST", path, headers, body).await
}

fn assert_refused(answer: &crate::client::Answer, error_type: &str) {
    assert_eq!(answer.status, 403, "{}", answer.body);
    assert_eq!(
        answer.header("x-amzn-errortype"),
        error_type,
        "{}",
        answer.body
    );
    assert_eq!(answer.header("content-type"), "application/json");
}

#[tokio::test]
async fn a_request_signed_for_the_path_it_is_sent_to_is_answered() {
    let mock = MockProvider::start(MockConfig::default()).await.unwrap();
    let auth = good(&mock, INVOKE, BODY);
    let mut headers = pairs(&auth);
    // Unsigned headers may be added after signing.
    headers.push(("accept", "application/json"));
    let answer = post(&mock, INVOKE, &headers, BODY).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json()["type"], "message");
    let stream =
        "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke-with-response-stream";
    let (status, headers, _) = send_raw(
        &mock,
        "POST",
        stream,
        &pairs(&good(&mock, stream, BODY)),
        BODY.as_bytes(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        headers["content-type"],
        "application/vnd.amazon.eventstream"
    );
}

#[tokio::test]
async fn a_tampered_body_path_or_signed_header_is_refused_with_bedrocks_403() {
    let mock = MockProvider::start(MockConfig::default()).await.unwrap();
    let auth = good(&mock, INVOKE, BODY);

    let other_body = BODY.replace("5", "6");
    let answer = post(&mock, INVOKE, &pairs(&auth), &other_body).await;
    assert_refused(&answer, "InvalidSignatureException");
    let message = answer.json()["message"].as_str().unwrap().to_owned();
    assert!(
        message.starts_with(
            "The request signature we calculated does not match the signature you provided."
        ),
        "{message}"
    );
    assert!(
        message.contains("v1%253A0/invoke"),
        "the path signed double-encoded: {message}"
    );
    assert!(
        !message.contains(BEDROCK_SECRET_ACCESS_KEY),
        "no secret in the refusal"
    );

    let other_path = INVOKE.replace("sonnet", "opus");
    let answer = post(&mock, &other_path, &pairs(&auth), BODY).await;
    assert_refused(&answer, "InvalidSignatureException");

    // content-type is signed: the client sends `application/json`, this says otherwise.
    let mut headers = pairs(&auth);
    headers.push(("content-type", "text/plain"));
    let answer = post(&mock, INVOKE, &headers, BODY).await;
    assert_refused(&answer, "InvalidSignatureException");

    assert_eq!(
        mock.hits(INVOKE),
        2,
        "every refused request is still recorded"
    );
}

#[tokio::test]
async fn a_path_signed_with_a_raw_colon_but_sent_encoded_is_refused() {
    let mock = MockProvider::start(MockConfig::default()).await.unwrap();
    let decoded = INVOKE.replace("%3A", ":");
    let auth = good(&mock, &decoded, BODY);
    let answer = post(&mock, INVOKE, &pairs(&auth), BODY).await;
    assert_refused(&answer, "InvalidSignatureException");
}

#[tokio::test]
async fn other_credentials_or_none_are_refused_and_the_api_key_is_accepted() {
    let mock = MockProvider::start(MockConfig::default()).await.unwrap();
    let uri = format!("{}{INVOKE}", mock.base_url());

    let wrong_secret = signed(&uri, BODY, BEDROCK_ACCESS_KEY_ID, "not-the-secret");
    let answer = post(&mock, INVOKE, &pairs(&wrong_secret), BODY).await;
    assert_refused(&answer, "InvalidSignatureException");

    let wrong_key = signed(&uri, BODY, "AKIDSOMEONEELSE", BEDROCK_SECRET_ACCESS_KEY);
    let answer = post(&mock, INVOKE, &pairs(&wrong_key), BODY).await;
    assert_refused(&answer, "UnrecognizedClientException");
    assert_eq!(
        answer.json()["message"],
        "The security token included in the request is invalid."
    );

    let answer = post(&mock, INVOKE, &[], BODY).await;
    assert_refused(&answer, "MissingAuthenticationTokenException");

    let answer = post(
        &mock,
        INVOKE,
        &[("authorization", "Bearer ABSKwrong")],
        BODY,
    )
    .await;
    assert_refused(&answer, "AccessDeniedException");
    assert_eq!(
        answer.json()["Message"],
        "Authentication failed: Please make sure your API Key is valid."
    );

    let bearer = format!("Bearer {BEDROCK_API_KEY}");
    let answer = post(&mock, INVOKE, &[("authorization", &bearer)], BODY).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

#[tokio::test]
async fn the_accepted_credentials_are_configurable() {
    let mock = MockProvider::start(MockConfig {
        bedrock: mock_provider::BedrockCredentials {
            access_key_id: "AKIDCUSTOM".to_owned(),
            secret_access_key: "custom-secret".to_owned(),
            region: "eu-west-1".to_owned(),
            api_key: "ABSKcustom".to_owned(),
        },
        ..MockConfig::default()
    })
    .await
    .unwrap();
    // The defaults no longer pass.
    let answer = post(&mock, INVOKE, &pairs(&good(&mock, INVOKE, BODY)), BODY).await;
    assert_refused(&answer, "UnrecognizedClientException");
    let answer = post(
        &mock,
        INVOKE,
        &[("authorization", "Bearer ABSKcustom")],
        BODY,
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

#[tokio::test]
async fn scripted_errors_on_bedrock_routes_come_in_bedrocks_shape() {
    let mock = MockProvider::start(MockConfig::default()).await.unwrap();
    let bearer = format!("Bearer {BEDROCK_API_KEY}");
    for (status, exception) in [
        ("429", "ThrottlingException"),
        ("400", "ValidationException"),
        ("503", "ServiceUnavailableException"),
        ("403", "AccessDeniedException"),
    ] {
        let scenario = format!("status={status};retry-after=1");
        let headers = [
            ("authorization", bearer.as_str()),
            ("x-mock-scenario", &scenario),
        ];
        let answer = post(&mock, INVOKE, &headers, BODY).await;
        assert_eq!(answer.status.as_str(), status);
        assert_eq!(answer.header("x-amzn-errortype"), exception);
        assert_eq!(answer.header("retry-after"), "1");
        assert!(answer.json()["message"].is_string(), "{}", answer.body);
    }
    let refused = post(
        &mock,
        INVOKE,
        &[("authorization", &bearer)],
        r#"{"model":"x"}"#,
    )
    .await;
    assert_eq!(refused.status, 400);
    assert_eq!(refused.header("x-amzn-errortype"), "ValidationException");
}
