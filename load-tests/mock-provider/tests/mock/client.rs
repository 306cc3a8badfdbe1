//! A plain hyper client and an SSE splitter for the tests.

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use mock_provider::MockProvider;

/// One whole answer.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: String,
}

impl Answer {
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap()
    }

    pub(crate) fn header(&self, name: &str) -> &str {
        self.headers.get(name).unwrap().to_str().unwrap()
    }
}

/// Sends a request with `headers` and reads the whole answer.
pub(crate) async fn send(
    mock: &MockProvider,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Answer {
    let (status, headers, body) = send_raw(mock, method, path, headers, body.as_bytes()).await;
    Answer {
        status,
        headers,
        body: String::from_utf8(body.to_vec()).unwrap(),
    }
}

/// [`send`] for answers that are not text (Bedrock's event stream).
pub(crate) async fn send_raw(
    mock: &MockProvider,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (StatusCode, HeaderMap, Bytes) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut request = Request::builder()
        .method(method)
        .uri(format!("{}{path}", mock.base_url()))
        .header("content-type", "application/json");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request
        .body(Full::new(Bytes::copy_from_slice(body)))
        .unwrap();
    let response = client.request(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    (parts.status, parts.headers, body)
}

/// `POST` without extra headers.
pub(crate) async fn post(mock: &MockProvider, path: &str, body: &str) -> Answer {
    send(mock, "POST", path, &[], body).await
}

/// One SSE frame: its `event:` name (if any) and its `data:` payload.
#[derive(Debug)]
pub(crate) struct Event {
    pub(crate) name: Option<String>,
    pub(crate) data: String,
}

impl Event {
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.data).unwrap()
    }
}

/// Splits an SSE body into frames; every frame must be complete.
pub(crate) fn events(body: &str) -> Vec<Event> {
    assert!(body.ends_with("\n\n"), "unterminated frame in {body:?}");
    body.split_terminator("\n\n")
        .map(|frame| {
            let mut name = None;
            let mut data = None;
            for line in frame.lines() {
                if let Some(value) = line.strip_prefix("event: ") {
                    name = Some(value.to_owned());
                } else if let Some(value) = line.strip_prefix("data: ") {
                    data = Some(value.to_owned());
                } else {
                    panic!("unexpected line {line:?}");
                }
            }
            Event {
                name,
                data: data.unwrap(),
            }
        })
        .collect()
}

/// The event names of an SSE body.
pub(crate) fn names(events: &[Event]) -> Vec<&str> {
    events.iter().map(|e| e.name.as_deref().unwrap()).collect()
}
