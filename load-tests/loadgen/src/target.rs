//! The server under test, one keep-alive HTTP/1.1 connection to it and one exchange on it.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper::Response;
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

/// Largest answer body read; a bigger one counts as an error.
const RESPONSE_BYTES_MAX: usize = 16 * 1024 * 1024;
/// The event that ends a complete Anthropic stream; a streamed 2xx answer without it was cut.
const STREAM_END_EVENT: &[u8] = b"message_stop";
/// Bytes kept from the end of a streamed answer to look for [`STREAM_END_EVENT`] in.
const STREAM_TAIL_BYTES: usize = 64;

/// Headers every request carries unless `--header` overrides them.
const DEFAULT_HEADERS: [(&str, &str); 3] = [
    ("authorization", "Bearer gw-dev-token"),
    ("anthropic-version", "2023-06-01"),
    ("content-type", "application/json"),
];

/// Where requests go and what they carry; built once, shared by every connection.
#[derive(Debug)]
pub(crate) struct Target {
    pub(crate) addr: SocketAddr,
    path: Uri,
    headers: HeaderMap,
    body: Bytes,
    /// The request asks for a stream: a 2xx answer must end with [`STREAM_END_EVENT`].
    streaming: bool,
}

impl Target {
    /// Resolves `url` (plain `http://` only) and prepares the request; `streaming` says
    /// whether `body` asks for a streamed answer.
    pub(crate) async fn new(
        url: &str,
        extra_headers: &[String],
        body: Bytes,
        streaming: bool,
    ) -> anyhow::Result<Target> {
        let uri: Uri = url.parse().with_context(|| format!("--url `{url}`"))?;
        if uri.scheme_str() != Some("http") {
            bail!("--url `{url}`: only http:// URLs are supported");
        }
        let authority = uri
            .authority()
            .with_context(|| format!("--url `{url}` has no host"))?;
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        let port = authority.port_u16().unwrap_or(80);
        let addr = tokio::net::lookup_host((host, port))
            .await
            .with_context(|| format!("cannot resolve `{host}`"))?
            .next()
            .with_context(|| format!("`{host}` resolves to no address"))?;
        let path = uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .parse()
            .with_context(|| format!("--url `{url}`: bad path"))?;

        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_str(authority.as_str())?);
        for (name, value) in DEFAULT_HEADERS {
            headers.insert(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        for line in extra_headers {
            let (name, value) = line
                .split_once(':')
                .with_context(|| format!("--header `{line}`: expected `name: value`"))?;
            let name = HeaderName::from_bytes(name.trim().as_bytes())
                .with_context(|| format!("--header `{line}`: bad name"))?;
            let value = HeaderValue::from_str(value.trim())
                .with_context(|| format!("--header `{line}`: bad value"))?;
            headers.insert(name, value);
        }
        Ok(Target {
            addr,
            path,
            headers,
            body,
            streaming,
        })
    }

    fn request(&self) -> Request<Full<Bytes>> {
        let mut request = Request::new(Full::new(self.body.clone()));
        *request.method_mut() = Method::POST;
        *request.uri_mut() = self.path.clone();
        *request.headers_mut() = self.headers.clone();
        request
    }
}

/// One keep-alive HTTP/1.1 connection; at most one request in flight (no pipelining).
#[derive(Debug)]
pub(crate) struct Connection {
    sender: SendRequest<Full<Bytes>>,
    /// Drives the connection; aborted when the connection is dropped.
    driver: JoinHandle<()>,
}

impl Connection {
    pub(crate) async fn open(addr: SocketAddr) -> anyhow::Result<Connection> {
        let stream = TcpStream::connect(addr).await?;
        // Requests and answers are written whole; Nagle would only add delay.
        stream.set_nodelay(true)?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
        let driver = tokio::spawn(async move { drop(connection.await) });
        Ok(Connection { sender, driver })
    }

    /// Sends `target`'s request and waits for the answer's head; the body is read with
    /// [`read_answer`].
    pub(crate) async fn send(
        &mut self,
        target: &Target,
    ) -> Result<Response<Incoming>, &'static str> {
        self.sender.ready().await.map_err(|_| "connection closed")?;
        self.sender
            .send_request(target.request())
            .await
            .map_err(|_| "request failed")
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

/// How one request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// An answer was read whole; 2xx is a success, anything else an error.
    Answered(StatusCode),
    /// No whole answer: the kind of failure.
    Failed(&'static str),
}

/// What one exchange gave.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Exchanged {
    pub(crate) outcome: Outcome,
    /// When the answer's first body byte came, if one did.
    pub(crate) first_byte: Option<Instant>,
}

/// Sends one request on `slot`'s connection (opening a new one if there is none or it was
/// closed) and reads the answer whole. A failed connection is dropped from the slot.
pub(crate) async fn exchange(
    slot: &mut Option<Connection>,
    target: &Target,
    timeout: Duration,
) -> Exchanged {
    let mut first_byte = None;
    let outcome = match tokio::time::timeout(timeout, attempt(slot, target, &mut first_byte)).await
    {
        Ok(Ok(status)) => Outcome::Answered(status),
        Ok(Err(kind)) => {
            *slot = None;
            Outcome::Failed(kind)
        }
        Err(_elapsed) => {
            *slot = None;
            Outcome::Failed("timeout")
        }
    };
    Exchanged {
        outcome,
        first_byte,
    }
}

async fn attempt(
    slot: &mut Option<Connection>,
    target: &Target,
    first_byte: &mut Option<Instant>,
) -> Result<StatusCode, &'static str> {
    if slot.as_ref().is_none_or(|c| c.sender.is_closed()) {
        *slot = None;
        *slot = Some(Connection::open(target.addr).await.map_err(|_| "connect")?);
    }
    let Some(connection) = slot.as_mut() else {
        return Err("connect");
    };
    let response = connection.send(target).await?;
    read_answer(response, target, first_byte).await
}

/// Reads `response`'s body to its end (at most [`RESPONSE_BYTES_MAX`]), noting when its first
/// byte came. A 2xx answer to a streaming request must end with [`STREAM_END_EVENT`], or it
/// counts as `stream cut`.
pub(crate) async fn read_answer(
    response: Response<Incoming>,
    target: &Target,
    first_byte: &mut Option<Instant>,
) -> Result<StatusCode, &'static str> {
    let status = response.status();
    let check_end = target.streaming && status.is_success();
    let mut body = response.into_body();
    let mut read = 0usize;
    let mut tail = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| "answer body failed")?;
        let Some(data) = frame.data_ref().filter(|data| !data.is_empty()) else {
            continue;
        };
        first_byte.get_or_insert_with(Instant::now);
        read += data.len();
        if read > RESPONSE_BYTES_MAX {
            return Err("answer too large");
        }
        if check_end {
            tail.extend_from_slice(data);
            tail.drain(..tail.len().saturating_sub(STREAM_TAIL_BYTES));
        }
    }
    if check_end && !ends_stream(&tail) {
        return Err("stream cut");
    }
    Ok(status)
}

/// Whether the last bytes of a streamed answer hold the event that ends a stream.
fn ends_stream(tail: &[u8]) -> bool {
    tail.windows(STREAM_END_EVENT.len())
        .any(|window| window == STREAM_END_EVENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_is_complete_only_with_its_end_event() {
        let end = b"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
        assert!(ends_stream(end));
        assert!(!ends_stream(b"event: content_block_delta\ndata: {}\n\n"));
        assert!(!ends_stream(b""));
    }
}
