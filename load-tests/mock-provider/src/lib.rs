//! A stand-in model provider speaking the Anthropic Messages and OpenAI Chat Completions /
//! Responses wire formats, for the gateway's integration tests (in-process, via
//! [`MockProvider::start`]) and load tests (the `mock-provider` binary, via
//! [`MockProvider::serve`]).
//!
//! Owns: routing (`POST /v1/messages`, `POST /v1/messages/count_tokens`, `GET /v1/models`,
//! `POST /v1/chat/completions`, `POST /v1/responses`, Bedrock's `POST /model/{id}/invoke` and
//! `/invoke-with-response-stream`, Vertex's `POST /v1/projects/{p}/locations/{r}/publishers/
//! anthropic/models/{m}:rawPredict` and `:streamRawPredict` with its token endpoint
//! `POST /token`; anything else is a 404 in the Anthropic error shape), JSON
//! and SSE answers built from one [`MockConfig`], credential checks (a Bedrock request's
//! SigV4 signature verified from the request as received, or its Bedrock API key; refusals
//! in Bedrock's 403 shape; a Vertex request's bearer token issued by the mock's own token
//! endpoint, which verifies the RS256 assertion of the test service account),
//! scripted failures ([`Script`] queue or the `x-mock-scenario` header; the queue also has
//! failures before any content and a stall before the head, for the fault matrix) and the
//! record of every request received.
//!
//! Invariants:
//! - Every request is recorded before it is answered; the log keeps at most
//!   [`RECORDED_REQUESTS_MAX`] requests and [`RECORDED_BODY_BYTES_MAX`] body bytes, dropping
//!   the oldest, while [`MockProvider::hits`] stays exact.
//! - Each SSE event is its own body frame; a stream dropped before its last frame counts in
//!   [`MockProvider::cancelled_streams`], a stream the mock ends or resets on purpose does not.
//! - Whatever depends only on the config (reply escaping, delta frames, usage JSON) is built
//!   once per mock, so answers are mostly concatenation.
//! - The `x-mock-scenario` header wins over the script queue and does not consume it;
//!   [`MockConfig::scenario`] is the header's value for requests without one.
//!
//! Not here: tool use, thinking blocks, real token counting, TLS.
//!
//! `x-mock-scenario` values (`;`-separated, first pair names the scenario):
//! `status=529[;retry-after=2][;should-retry=false]` (a realistic error body for that status
//! in the route's shape), `midstream-error=2[;type=overloaded_error][;message=Overloaded]`,
//! `reset=2`, `pause-ms=1500[;after=1]`, `cut=SEED` (the stream's bytes cut at seeded
//! positions), and for Bedrock streams `bad-crc=2[;before-content=true]`,
//! `oversized-frame=2[;bytes=N]`. The stream
//! scenarios apply to streamed inference requests only; an unparsable value gets a 400
//! naming the problem.

mod anthropic;
mod bedrock;
mod body;
mod canned;
mod config;
mod handler;
mod journal;
mod openai;
mod reply;
mod route;
mod script;
mod server;
mod sse;
mod state;
mod vertex;

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use config::{
    BEDROCK_ACCESS_KEY_ID, BEDROCK_API_KEY, BEDROCK_REGION, BEDROCK_SECRET_ACCESS_KEY,
    BedrockCredentials, MockConfig, Usage,
};
pub use handler::BODY_MAX_BYTES;
pub use journal::{RECORDED_BODY_BYTES_MAX, RECORDED_REQUESTS_MAX, RecordedRequest};
pub use script::{CUT_PIECE_MAX_BYTES, OVERSIZED_FRAME_MAX_BYTES, Script};
pub use vertex::{
    ISSUED_TOKENS_MAX, VERTEX_ACCESS_TOKEN, VERTEX_CLIENT_EMAIL, VERTEX_PRIVATE_KEY_PEM,
    VERTEX_TOKEN_EXPIRES_IN_SECS, vertex_service_account_json,
};

use state::Shared;

/// A running mock on `127.0.0.1:<random port>`, serving in a background task until it is
/// dropped or [shut down](MockProvider::shutdown).
#[derive(Debug)]
pub struct MockProvider {
    shared: Arc<Shared>,
    addr: SocketAddr,
    /// Dropping it (with the mock) stops the accept loop.
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl MockProvider {
    /// Binds `127.0.0.1:0` and serves in a background task of the current runtime.
    pub async fn start(config: MockConfig) -> std::io::Result<MockProvider> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(config));
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown = async move {
            // A send or the sender's drop: both mean stop.
            drop(stopped.await);
        };
        let task = tokio::spawn(server::run(listener, shared.clone(), shutdown));
        Ok(MockProvider {
            shared,
            addr,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// Serves a bound listener until `shutdown` completes, then lets answers in flight finish
    /// for at most a second. For the binary; tests use [`MockProvider::start`].
    pub async fn serve(
        listener: TcpListener,
        config: MockConfig,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        server::run(listener, Arc::new(Shared::new(config)), shutdown).await
    }

    /// Stops accepting, lets answers in flight finish (at most a second) and waits for that.
    pub async fn shutdown(mut self) {
        drop(self.stop.take());
        if let Some(task) = self.task.take() {
            // The server task only ends with Ok; a join error means the runtime is going away.
            drop(task.await);
        }
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Queues a scripted answer (see [`Script`] for which request takes it).
    pub fn push_script(&self, script: Script) {
        self.shared.push_script(script);
    }

    /// Every request received, oldest first (bounded, see the crate docs).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.requests()
    }

    /// The next `count` requests to the mock Vertex's token endpoint answer `status` (429 or
    /// 503, Google-shaped) instead of a token.
    pub fn fail_token_requests(&self, count: usize, status: u16) {
        self.shared.tokens.fail_next(count, status);
    }

    /// Requests whose path (without query) equals `path`, e.g. `"/v1/messages"`.
    pub fn hits(&self, path: &str) -> usize {
        self.shared.hits(path)
    }

    /// Streamed answers whose client went away before the stream's end.
    pub fn cancelled_streams(&self) -> usize {
        self.shared.cancelled_streams()
    }

    /// Waits until at least `n` streams were cancelled; false on timeout.
    pub async fn wait_for_cancelled_streams(&self, n: usize, timeout: Duration) -> bool {
        self.shared
            .wait_until(|shared| shared.cancelled_streams() >= n, timeout)
            .await
    }

    /// Waits until `path` got at least `n` requests; false on timeout.
    pub async fn wait_for_hits(&self, path: &str, n: usize, timeout: Duration) -> bool {
        self.shared
            .wait_until(|shared| shared.hits(path) >= n, timeout)
            .await
    }
}

impl Drop for MockProvider {
    fn drop(&mut self) {
        drop(self.stop.take());
    }
}
