//! Holding a response until it commits: [`Answer`] is one attempt's response head plus the
//! frames read so far, so that a failure the client has not seen yet can still be retried or
//! fallen back from.
//!
//! When an answer commits:
//! - a 2xx that is not an Anthropic event stream: at its head;
//! - an Anthropic event stream: at its first content event (anything but `message_start`,
//!   `ping`, comments); an `event: error` before it ends the hold as [`Held::ErrorEvent`];
//! - an error status: its body is read (up to [`ERROR_HOLD_MAX_BYTES`]) so its error code can be
//!   judged and it can be returned byte for byte if every target fails.
//!
//! Held frames are replayed unchanged, before the rest of the body ([`Answer::into_response`]).

use std::collections::VecDeque;

use bytes::Bytes;
use gateway_core::sse::{self, Boundaries};
use http::{HeaderMap, Response, StatusCode, response::Parts};

use crate::Relay;

/// The most bytes of an error body held for judging; the rest is relayed unread.
pub const ERROR_HOLD_MAX_BYTES: usize = 64 * 1024;
/// The most bytes of a stream held before its first content event; past it the stream
/// commits anyway (a provider sends a few hundred bytes before content).
pub const PRECOMMIT_HOLD_MAX_BYTES: usize = 64 * 1024;

/// What the held prefix of an answer shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Held {
    /// Ready to relay (success, or a stream past its first content event).
    Committed,
    /// An error status with its body held (`complete`: the whole body).
    ErrorBody {
        /// The whole body is held.
        complete: bool,
    },
    /// A 200 stream that sent `event: error` before any content; the event's data.
    ErrorEvent(Bytes),
}

/// One attempt's answer, held until it commits.
#[derive(Debug)]
pub struct Answer {
    head: Parts,
    held: VecDeque<Bytes>,
    relay: Relay,
    state: Held,
    keepalive: Option<std::time::Duration>,
}

impl Answer {
    /// What the held prefix shows.
    pub fn held(&self) -> &Held {
        &self.state
    }

    /// The provider's status.
    pub fn status(&self) -> StatusCode {
        self.head.status
    }

    /// The provider's headers (hop-by-hop ones already removed).
    pub fn headers(&self) -> &HeaderMap {
        &self.head.headers
    }

    /// Mutable headers, to add the gateway's own.
    pub fn headers_mut(&mut self) -> &mut HeaderMap {
        &mut self.head.headers
    }

    /// The held body bytes (an error body), joined.
    pub fn held_body(&self) -> Bytes {
        match self.held.len() {
            0 => Bytes::new(),
            1 => self.held.front().cloned().unwrap_or_default(),
            _ => self.held.iter().flat_map(|b| b.iter().copied()).collect(),
        }
    }

    /// Replaces a wholly held error body by `body` (JSON), for a target whose errors are
    /// not in the client's protocol; a partly held body stays as it is.
    pub(crate) fn replace_error_body(&mut self, body: Bytes) {
        if self.state != (Held::ErrorBody { complete: true }) {
            return;
        }
        let headers = &mut self.head.headers;
        headers.remove(http::header::CONTENT_LENGTH);
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        self.held = VecDeque::from([body]);
    }

    /// The response for the client: held frames first, then the rest of the provider's body;
    /// from here on the relay sends keepalives and its error event (`error_frame`).
    pub fn into_response(self, error_frame: Option<Bytes>) -> Response<Relay> {
        let Self {
            head,
            held,
            mut relay,
            keepalive,
            ..
        } = self;
        relay.commit(held, keepalive, error_frame);
        Response::from_parts(head, relay)
    }
}

/// Why a stream could not be held to its commit.
#[derive(Debug)]
pub(crate) struct BrokeBeforeCommit(pub(crate) gateway_core::BoxError);

/// Reads `relay` until the answer commits (see the module docs).
pub(crate) async fn hold(
    head: Parts,
    mut relay: Relay,
    anthropic_stream: bool,
    keepalive: Option<std::time::Duration>,
) -> Result<Answer, BrokeBeforeCommit> {
    let mut held = VecDeque::new();
    let mut bytes = 0usize;
    let state = if !head.status.is_success() {
        loop {
            if bytes >= ERROR_HOLD_MAX_BYTES {
                break Held::ErrorBody { complete: false };
            }
            match relay.frame().await {
                Some(Ok(data)) => {
                    bytes += data.len();
                    held.push_back(data);
                }
                Some(Err(_)) | None => break Held::ErrorBody { complete: true },
            }
        }
    } else if anthropic_stream {
        let mut commit = Commit::default();
        loop {
            if bytes >= PRECOMMIT_HOLD_MAX_BYTES {
                break Held::Committed;
            }
            match relay.frame().await {
                Some(Ok(data)) => {
                    bytes += data.len();
                    let seen = commit.feed(&data);
                    held.push_back(data);
                    if let Some(state) = seen {
                        break state;
                    }
                }
                Some(Err(e)) => return Err(BrokeBeforeCommit(e)),
                // A stream that ended before any content: relay it as it is.
                None => break Held::Committed,
            }
        }
    } else {
        Held::Committed
    };
    Ok(Answer {
        head,
        held,
        relay,
        state,
        keepalive,
    })
}

/// Finds the first content event (or an error event) of an Anthropic stream fed in pieces.
#[derive(Debug, Default)]
struct Commit {
    bounds: Boundaries,
    /// The bytes of the event in progress.
    pending: Vec<u8>,
}

impl Commit {
    /// Feeds one frame; `Some` once the stream committed or sent an error.
    fn feed(&mut self, frame: &[u8]) -> Option<Held> {
        let mut at = 0;
        while let Some(end) = self.bounds.next_end(frame, at) {
            self.pending
                .extend_from_slice(frame.get(at..end).unwrap_or_default());
            at = end;
            let event = std::mem::take(&mut self.pending);
            if let Some(state) = judge(&event) {
                return Some(state);
            }
        }
        self.pending
            .extend_from_slice(frame.get(at..).unwrap_or_default());
        None
    }
}

fn judge(event: &[u8]) -> Option<Held> {
    let data = sse::data(event)?;
    match sse::event_name(event) {
        Some(b"message_start" | b"ping") => None,
        Some(b"error") => Some(Held::ErrorEvent(Bytes::copy_from_slice(&data))),
        _ => Some(Held::Committed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(frames: &[&str]) -> Option<Held> {
        let mut c = Commit::default();
        frames.iter().find_map(|f| c.feed(f.as_bytes()))
    }

    #[test]
    fn the_stream_commits_at_its_first_content_event() {
        let start = "event: message_start\ndata: {\"type\":\"message_start\"}\n\n";
        let ping = "event: ping\ndata: {\"type\":\"ping\"}\n\n";
        let block = "event: content_block_start\ndata: {\"type\":\"content_block_start\"}\n\n";
        assert_eq!(run(&[start, ping]), None);
        assert_eq!(
            run(&[start, ": comment\n\n", ping, block]),
            Some(Held::Committed)
        );
        // Split anywhere, CRLF framing.
        let crlf = block.replace('\n', "\r\n");
        let (a, b) = crlf.split_at(17);
        assert_eq!(run(&[start, a]), None);
        assert_eq!(run(&[start, a, b]), Some(Held::Committed));
    }

    #[test]
    fn an_error_before_content_is_held_with_its_data() {
        let start = "event: message_start\ndata: {\"type\":\"message_start\"}\n\n";
        let error = "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\"}}\n\n";
        assert_eq!(
            run(&[&format!("{start}{error}")]),
            Some(Held::ErrorEvent(Bytes::from_static(
                b"{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\"}}"
            )))
        );
    }
}
