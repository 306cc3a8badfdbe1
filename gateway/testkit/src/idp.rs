//! [`TestIdp`]: a small identity provider for tests: a JWKS URL and an OAuth 2.0 token
//! introspection endpoint (RFC 7662), on loopback.

use std::{
    collections::HashMap,
    convert::Infallible,
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
};

use base64::Engine;
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::Value;

/// The client id the gateway must present.
pub const CLIENT_ID: &str = "llm-gateway";
/// The client secret the gateway must present (env `GATEWAY_INTROSPECTION_SECRET`).
pub const CLIENT_SECRET: &str = "test-introspection-secret";

#[derive(Default)]
struct State {
    jwks: Mutex<String>,
    tokens: Mutex<HashMap<String, Value>>,
    down: AtomicBool,
    jwks_fetches: AtomicUsize,
    introspections: AtomicUsize,
}

/// The running identity provider; stops when dropped.
pub struct TestIdp {
    addr: SocketAddr,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for TestIdp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TestIdp({})", self.addr)
    }
}

impl Drop for TestIdp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestIdp {
    /// Starts on 127.0.0.1:0 serving `jwks`.
    pub async fn start(jwks: String) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let state = Arc::new(State::default());
        *state.jwks.lock().expect("jwks") = jwks;
        let served = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = served.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| answer(state.clone(), req));
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { addr, state, task }
    }

    /// The JWKS URL.
    pub fn jwks_url(&self) -> String {
        format!("http://{}/jwks.json", self.addr)
    }

    /// The introspection endpoint.
    pub fn introspection_url(&self) -> String {
        format!("http://{}/introspect", self.addr)
    }

    /// Replaces the served JWKS.
    pub fn set_jwks(&self, jwks: String) {
        *self.state.jwks.lock().expect("jwks") = jwks;
    }

    /// The introspection answer for `token` (unknown tokens are `{"active":false}`).
    pub fn set_token(&self, token: &str, answer: Value) {
        self.state
            .tokens
            .lock()
            .expect("tokens")
            .insert(token.to_owned(), answer);
    }

    /// While down, every request gets 503.
    pub fn set_down(&self, down: bool) {
        self.state.down.store(down, Ordering::SeqCst);
    }

    /// JWKS fetches so far.
    pub fn jwks_fetches(&self) -> usize {
        self.state.jwks_fetches.load(Ordering::SeqCst)
    }

    /// Introspection calls so far.
    pub fn introspections(&self) -> usize {
        self.state.introspections.load(Ordering::SeqCst)
    }
}

fn reply(status: StatusCode, body: String) -> Result<Response<Full<Bytes>>, Infallible> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut().insert(
        "content-type",
        http::HeaderValue::from_static("application/json"),
    );
    Ok(r)
}

async fn answer(
    state: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if state.down.load(Ordering::SeqCst) {
        return reply(StatusCode::SERVICE_UNAVAILABLE, "{}".into());
    }
    match req.uri().path() {
        "/jwks.json" => {
            state.jwks_fetches.fetch_add(1, Ordering::SeqCst);
            let jwks = state.jwks.lock().expect("jwks").clone();
            reply(StatusCode::OK, jwks)
        }
        "/introspect" => {
            state.introspections.fetch_add(1, Ordering::SeqCst);
            let expected = format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD
                    .encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
            );
            let authorized = req
                .headers()
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                == Some(expected.as_str());
            let body = req
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            if !authorized {
                return reply(
                    StatusCode::UNAUTHORIZED,
                    r#"{"error":"invalid_client"}"#.into(),
                );
            }
            let token = url::form_urlencoded::parse(&body)
                .find(|(k, _)| k == "token")
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default();
            let answer = state
                .tokens
                .lock()
                .expect("tokens")
                .get(&token)
                .cloned()
                .unwrap_or_else(|| serde_json::json!({ "active": false }));
            reply(StatusCode::OK, answer.to_string())
        }
        _ => reply(StatusCode::NOT_FOUND, "{}".into()),
    }
}
