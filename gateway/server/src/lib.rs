//! Serving HTTP on a bound listener: plain or TLS (rustls), HTTP/1.1 and HTTP/2, a connection
//! limit, and graceful shutdown with a drain timeout.
//!
//! Owns: the accept loop, TLS handshakes ([`tls::acceptor`]), per-connection hyper servers and
//! the drain on shutdown.
//!
//! Invariants:
//! - the caller binds the listener (tests bind port 0) and provides the shutdown signal;
//! - at most `max_connections` connections are served at once; more wait in the accept queue;
//! - on shutdown the listener closes first, idle connections close, in-flight requests run on
//!   until they finish or the drain timeout passes; [`serve`] then returns.
//!
//! Not here: what a request does (the service is given), routing, configuration parsing.

pub mod tls;

use std::{
    convert::Infallible, error::Error as StdError, future::Future, net::SocketAddr, sync::Arc,
    time::Duration,
};

use http::{Request, Response};
use hyper::{body::Incoming, service::Service};
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::{conn::auto, graceful::GracefulShutdown},
};
use tokio::{net::TcpListener, sync::Semaphore};
use tokio_rustls::TlsAcceptor;

/// A TLS client that has not finished its handshake by then is dropped.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// An HTTP/1 client that has not sent its request head by then is dropped (slowloris).
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Most bytes an HTTP/1 connection buffers for reading (the request head and body chunks
/// not yet taken) and for writing: a head larger than this is refused with 431. Bounds each
/// connection's buffers at 2 × this, instead of hyper's ~400 KiB default.
pub const HTTP1_MAX_BUF_BYTES: usize = 64 * 1024;
/// Pause after a failed `accept` (e.g. out of file descriptors) before trying again.
const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(50);

/// How a listener is served.
#[derive(Clone)]
pub struct ServeOptions {
    /// Serve TLS with this acceptor instead of plain HTTP.
    pub tls: Option<TlsAcceptor>,
    /// Connections served at once.
    pub max_connections: usize,
    /// How long in-flight requests may run on after shutdown begins.
    pub drain_timeout: Duration,
    /// A name for logs (`proxy`, `admin`).
    pub name: &'static str,
}

impl std::fmt::Debug for ServeOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeOptions")
            .field("tls", &self.tls.is_some())
            .field("max_connections", &self.max_connections)
            .field("drain_timeout", &self.drain_timeout)
            .field("name", &self.name)
            .finish()
    }
}

/// How the drain ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drained {
    /// Every connection finished.
    Complete,
    /// The drain timeout passed with connections still open; they were abandoned.
    TimedOut,
}

/// Serves `listener` until `shutdown` resolves, then drains. `make_service` is called once per
/// connection with the peer's address.
pub async fn serve<M, S, B>(
    listener: TcpListener,
    make_service: M,
    options: ServeOptions,
    shutdown: impl Future<Output = ()>,
) -> Drained
where
    M: Fn(SocketAddr) -> S,
    S: Service<Request<Incoming>, Response = Response<B>, Error = Infallible> + Send + 'static,
    S::Future: Send + 'static,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    let graceful = GracefulShutdown::new();
    let permits = Arc::new(Semaphore::new(options.max_connections));
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_buf_size(HTTP1_MAX_BUF_BYTES);
    builder.http2().timer(TokioTimer::new());
    let builder = Arc::new(builder);
    let mut shutdown = std::pin::pin!(shutdown);

    loop {
        let permit = tokio::select! {
            biased;
            () = &mut shutdown => break,
            permit = permits.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(server = options.name, error = %e, "accept failed");
                    tokio::time::sleep(ACCEPT_ERROR_BACKOFF).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let service = make_service(peer);
        let watcher = graceful.watcher();
        let builder = builder.clone();
        let tls = options.tls.clone();
        let name = options.name;
        // The task ends with its connection; shutdown waits for it through `graceful`.
        tokio::spawn(async move {
            let _permit = permit;
            let result = match tls {
                None => {
                    let conn = builder.serve_connection(TokioIo::new(stream), service);
                    watcher.watch(conn.into_owned()).await
                }
                Some(acceptor) => {
                    let handshake =
                        tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await;
                    let stream = match handshake {
                        Ok(Ok(s)) => s,
                        Ok(Err(e)) => {
                            tracing::debug!(server = name, %peer, error = %e, "tls handshake failed");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!(server = name, %peer, "tls handshake timed out");
                            return;
                        }
                    };
                    let conn = builder.serve_connection(TokioIo::new(stream), service);
                    watcher.watch(conn.into_owned()).await
                }
            };
            if let Err(e) = result {
                tracing::debug!(server = name, %peer, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tracing::info!(
        server = options.name,
        "stopped accepting; draining connections"
    );
    match tokio::time::timeout(options.drain_timeout, graceful.shutdown()).await {
        Ok(()) => Drained::Complete,
        Err(_) => {
            tracing::warn!(
                server = options.name,
                timeout = ?options.drain_timeout,
                "drain timeout passed with connections still open"
            );
            Drained::TimedOut
        }
    }
}
