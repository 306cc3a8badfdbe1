//! A small HTTP client for tests: whole replies, or the response head with a live body.

use std::sync::OnceLock;

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};

fn client() -> &'static Client<HttpConnector, Full<Bytes>> {
    static CLIENT: OnceLock<Client<HttpConnector, Full<Bytes>>> = OnceLock::new();
    CLIENT.get_or_init(|| {
        Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(0)
            .build_http()
    })
}

/// A complete reply.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Status code.
    pub status: StatusCode,
    /// Response headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Bytes,
}

impl Reply {
    /// The body as JSON (panics with the body when it is not).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Sends `req` and reads the whole reply.
pub async fn send(req: Request<Full<Bytes>>) -> Reply {
    let response = open(req).await;
    let (head, body) = response.into_parts();
    let body = body.collect().await.expect("read body").to_bytes();
    Reply {
        status: head.status,
        headers: head.headers,
        body,
    }
}

/// Sends `req` and reads the whole reply, or says why it could not (for polling a server
/// that may not listen yet).
pub async fn try_send(req: Request<Full<Bytes>>) -> Result<Reply, String> {
    let response = client().request(req).await.map_err(|e| e.to_string())?;
    let (head, body) = response.into_parts();
    let body = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
    Ok(Reply {
        status: head.status,
        headers: head.headers,
        body,
    })
}

/// Sends `req` and returns as soon as the response head arrives.
pub async fn open(req: Request<Full<Bytes>>) -> Response<Incoming> {
    client().request(req).await.expect("request failed")
}

/// Reads a live body until the text received so far contains `needle`; `None` if the body
/// ends, fails, or `timeout` passes first. The body stays open for the caller.
pub async fn read_until(
    body: &mut Incoming,
    needle: &str,
    timeout: std::time::Duration,
) -> Option<String> {
    tokio::time::timeout(timeout, async {
        let mut seen = String::new();
        while !seen.contains(needle) {
            let frame = body.frame().await?.ok()?;
            if let Some(data) = frame.data_ref() {
                seen.push_str(&String::from_utf8_lossy(data));
            }
        }
        Some(seen)
    })
    .await
    .ok()
    .flatten()
}

/// A request with a JSON body and the given headers.
pub fn post_json(url: &str, headers: &[(&str, &str)], body: &str) -> Request<Full<Bytes>> {
    let mut b = Request::post(url).header("content-type", "application/json");
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(Full::new(Bytes::from(body.to_owned())))
        .expect("request")
}

/// A body-less request.
pub fn bodyless(method: http::Method, url: &str, headers: &[(&str, &str)]) -> Request<Full<Bytes>> {
    let mut b = Request::builder().method(method).uri(url);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(Full::new(Bytes::new())).expect("request")
}

/// A minimal Anthropic Messages request body.
pub fn messages_body(model: &str, stream: bool) -> String {
    serde_json::json!({
        "model": model,
        "max_tokens": 256,
        "stream": stream,
        "messages": [{ "role": "user", "content": "Reply with hi" }],
    })
    .to_string()
}

/// A minimal OpenAI Chat Completions request body.
pub fn chat_body(model: &str, stream: bool) -> String {
    serde_json::json!({
        "model": model,
        "stream": stream,
        "messages": [{ "role": "user", "content": "Reply with hi" }],
    })
    .to_string()
}

/// A minimal OpenAI Responses request body.
pub fn responses_body(model: &str, stream: bool) -> String {
    serde_json::json!({ "model": model, "stream": stream, "input": "Reply with hi" }).to_string()
}
