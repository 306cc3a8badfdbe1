//! Scripted answers, the scenario header, cancellation and hit counts.

use std::time::Duration;

use mock_provider::{MockConfig, MockProvider, Script};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::client::{events, names, post, send};

const STREAM: &str = r#"{"model":"claude-sonnet-4-6","stream":true}"#;
const WAIT: Duration = Duration::from_secs(2);

/// Opens a raw HTTP/1.1 connection and sends a streamed `/v1/messages` request on it.
async fn raw_stream(mock: &MockProvider) -> TcpStream {
    let mut stream = TcpStream::connect(mock.addr()).await.unwrap();
    let request = format!(
        "POST /v1/messages HTTP/1.1\r\nhost: mock\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{STREAM}",
        STREAM.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    stream
}

/// Reads until `needle` has arrived (or EOF); returns everything read.
async fn read_until(stream: &mut TcpStream, needle: &str) -> String {
    let mut seen = Vec::new();
    let mut buf = [0_u8; 4096];
    while !String::from_utf8_lossy(&seen).contains(needle) {
        let n = stream.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        seen.extend_from_slice(&buf[..n]);
    }
    String::from_utf8(seen).unwrap()
}

#[tokio::test]
async fn status_script_is_answered_verbatim_once() {
    let mock = MockProvider::start(MockConfig::default()).await.unwrap();
    let body = r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
    mock.push_script(Script::Status {
        status: 529,
        headers: vec![("retry-after".to_owned(), "2".to_owned())],
        body: body.to_owned(),
    });
    let scripted = post(&mock, "/v1/messages", STREAM).await;
    assert_eq!(scripted.status, 529);
    assert_eq!(scripted.header("retry-after"), "2");
    assert_eq!(scripted.body, body);
    let normal = post(&mock, "/v1/messages", STREAM).await;
    assert_eq!(normal.status, 200);
}

#[tokio::test]
async fn scenario_header_answers_in_the_routes_error_shape() {
    let mock = MockProvider::start(MockConfig::default()).await.unwrap();
    let overloaded = [(
        "x-mock-scenario",
        "status=529;retry-after=2;should-retry=false",
    )];
    let anthropic = send(&mock, "POST", "/v1/messages", &overloaded, STREAM).await;
    assert_eq!(anthropic.status, 529);
    assert_eq!(anthropic.header("retry-after"), "2");
    assert_eq!(anthropic.header("x-should-retry"), "false");
    assert_eq!(anthropic.json()["error"]["type"], "overloaded_error");
    let limited = [("x-mock-scenario", "status=429")];
    let openai = send(&mock, "POST", "/v1/chat/completions", &limited, "{}").await;
    assert_eq!(openai.status, 429);
    assert_eq!(openai.json()["error"]["code"], "rate_limit_exceeded");
    let garbage = [("x-mock-scenario", "explode=1")];
    let refused = send(&mock, "POST", "/v1/messages", &garbage, STREAM).await;
    assert_eq!(refused.status, 400);
    assert!(refused.body.contains("x-mock-scenario"));
}

#[tokio::test]
async fn a_configured_scenario_answers_every_request_without_the_header() {
    let mock = MockProvider::start(MockConfig {
        scenario: Some("status=529".to_owned()),
        ..MockConfig::default()
    })
    .await
    .unwrap();
    for _ in 0..2 {
        let failing = post(&mock, "/v1/messages", STREAM).await;
        assert_eq!(failing.status, 529);
        assert_eq!(failing.json()["error"]["type"], "overloaded_error");
    }
    // The request's own header still wins.
    let own = [("x-mock-scenario", "status=500")];
    let answered = send(&mock, "POST", "/v1/messages", &own, STREAM).await;
    assert_eq!(answered.status, 500);
    assert_eq!(mock.hits("/v1/messages"), 3);
}

#[tokio::test]
async fn midstream_error_ends_the_stream_after_n_deltas() {
    let mock = MockProvider::start(MockConfig::default()).await.unwrap();
    // A non-streamed request leaves a streaming script queued.
    mock.push_script(Script::MidStreamError {
        after_deltas: 2,
        error_type: "overloaded_error".to_owned(),
        message: "Overloaded".to_owned(),
    });
    let fallback = post(&mock, "/v1/messages", r#"{"stream":false}"#).await;
    assert_eq!(fallback.json()["type"], "message");
    let broken = post(&mock, "/v1/messages", STREAM).await;
    assert_eq!(broken.status, 200);
    let events = events(&broken.body);
    let mut expected = vec!["message_start", "content_block_start", "ping"];
    expected.extend(["content_block_delta"; 2]);
    expected.push("error");
    assert_eq!(names(&events), expected);
    assert_eq!(
        events[5].json()["error"]["type"],
        "overloaded_error",
        "{}",
        events[5].data
    );

    let header = [("x-mock-scenario", "midstream-error=1;type=api_error")];
    let chat = send(
        &mock,
        "POST",
        "/v1/chat/completions",
        &header,
        r#"{"stream":true}"#,
    )
    .await;
    let chat = crate::client::events(&chat.body);
    assert_eq!(chat.len(), 3, "role, one delta, error");
    assert_eq!(chat[2].json()["error"]["type"], "api_error");
    assert_eq!(mock.cancelled_streams(), 0);
}

#[tokio::test]
async fn client_leaving_mid_stream_is_counted_as_cancelled() {
    let mock = MockProvider::start(MockConfig::default()).await.unwrap();
    mock.push_script(Script::Pause {
        after_deltas: 1,
        pause: Duration::from_secs(30),
    });
    let mut stream = raw_stream(&mock).await;
    let seen = read_until(&mut stream, "content_block_delta").await;
    assert!(seen.starts_with("HTTP/1.1 200"), "{seen}");
    assert_eq!(mock.cancelled_streams(), 0);
    drop(stream);
    assert!(mock.wait_for_cancelled_streams(1, WAIT).await);
    assert_eq!(mock.cancelled_streams(), 1);
}

#[tokio::test]
async fn reset_drops_the_connection_without_ending_the_body() {
    let mock = MockProvider::start(MockConfig::default()).await.unwrap();
    mock.push_script(Script::Reset { after_deltas: 1 });
    let mut stream = raw_stream(&mock).await;
    // Reads to EOF: the mock closes the connection.
    let seen = read_until(&mut stream, "never sent").await;
    assert!(seen.starts_with("HTTP/1.1 200"), "{seen}");
    assert_eq!(seen.matches("content_block_delta").count(), 2, "{seen}");
    assert!(!seen.contains("message_stop"));
    assert!(!seen.ends_with("0\r\n\r\n"), "no terminating chunk: {seen}");
    assert_eq!(mock.cancelled_streams(), 0);
}

#[tokio::test]
async fn hits_count_paths_without_the_query() {
    let mock = MockProvider::start(MockConfig::default()).await.unwrap();
    let waiter = mock.wait_for_hits("/v1/messages", 2, WAIT);
    let (reached, ()) = tokio::join!(waiter, async {
        post(&mock, "/v1/messages?beta=true", "{}").await;
        post(&mock, "/v1/messages", "{}").await;
        post(&mock, "/v1/messages/count_tokens", "{}").await;
    });
    assert!(reached);
    assert_eq!(mock.hits("/v1/messages"), 2);
    assert_eq!(mock.hits("/v1/messages/count_tokens"), 1);
    assert_eq!(mock.hits("/v1/models"), 0);
    let requests = mock.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[0].path_and_query, "/v1/messages?beta=true");
    assert_eq!(requests[0].body, "{}");
    assert!(
        !mock
            .wait_for_hits("/v1/models", 1, Duration::from_millis(20))
            .await
    );
}
