//! Streamed answers: SSE framing, the step plan of one stream and the body that plays it.
//!
//! Invariant: a stream dropped before its last step was handed to hyper counts as
//! cancelled (the client went away); a stream the mock itself ends or resets does not.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame};
use tokio::time::Sleep;

use crate::script::{CUT_PIECE_MAX_BYTES, InterruptKind, Interruption};
use crate::state::Shared;

/// `event: {name}\ndata: {json}\n\n`.
pub(crate) fn event(name: &str, json: &str) -> Bytes {
    let mut frame = Vec::with_capacity(name.len() + json.len() + 16);
    frame.extend_from_slice(b"event: ");
    frame.extend_from_slice(name.as_bytes());
    frame.extend_from_slice(b"\ndata: ");
    frame.extend_from_slice(json.as_bytes());
    frame.extend_from_slice(b"\n\n");
    Bytes::from(frame)
}

/// `data: {json}\n\n`, from pieces concatenated without an intermediate string.
pub(crate) fn data(json_parts: &[&str]) -> Bytes {
    let len = json_parts.iter().map(|p| p.len()).sum::<usize>();
    let mut frame = Vec::with_capacity(len + 8);
    frame.extend_from_slice(b"data: ");
    for part in json_parts {
        frame.extend_from_slice(part.as_bytes());
    }
    frame.extend_from_slice(b"\n\n");
    Bytes::from(frame)
}

/// The frames of one normal stream, before delays and interruptions are woven in.
#[derive(Debug, Default)]
pub(crate) struct Frames {
    /// Everything before the first text delta.
    pub(crate) head: Vec<Bytes>,
    /// One frame per text delta.
    pub(crate) deltas: Vec<Bytes>,
    /// Everything after the last text delta.
    pub(crate) tail: Vec<Bytes>,
}

/// One step of a stream as played.
#[derive(Debug)]
pub(crate) enum Step {
    Frame(Bytes),
    Wait(Duration),
    /// Return `Pending` once so hyper writes out what it has buffered.
    Flush,
    /// Fail the body so hyper drops the connection (HTTP/1) or resets the stream (HTTP/2).
    Drop,
}

/// Weaves the inter-token delay and an optional interruption into `frames`.
///
/// `error_frame(frames_sent, error_type, message)` builds the provider's error event.
pub(crate) fn plan(
    frames: Frames,
    inter_token_delay: Duration,
    interruption: Option<&Interruption>,
    error_frame: impl FnOnce(usize, &str, &str) -> Bytes,
) -> Vec<Step> {
    let mut steps = Vec::with_capacity(frames.head.len() + 2 * frames.deltas.len() + 4);
    let mut error_frame = Some(error_frame);
    if let Some(interruption) = interruption.filter(|i| i.before_content) {
        // Only the stream's first event (`message_start`), then the interruption.
        steps.extend(frames.head.into_iter().take(1).map(Step::Frame));
        let sent = steps.len();
        if !interrupt(&mut steps, interruption, sent, &mut error_frame) {
            steps.push(Step::Drop);
        }
        return steps;
    }
    steps.extend(frames.head.into_iter().map(Step::Frame));
    let head_len = steps.len();
    // An interruption after more deltas than there are lands after the last one.
    let interrupt_at = interruption.map(|i| (i, i.after_deltas.min(frames.deltas.len())));
    let mut deltas = frames.deltas.into_iter();
    for index in 0.. {
        if let Some((interruption, _)) = interrupt_at.filter(|&(_, at)| at == index)
            && interrupt(&mut steps, interruption, head_len + index, &mut error_frame)
        {
            return steps;
        }
        let Some(delta) = deltas.next() else { break };
        if index > 0 && !inter_token_delay.is_zero() {
            steps.push(Step::Wait(inter_token_delay));
        }
        steps.push(Step::Frame(delta));
    }
    steps.extend(frames.tail.into_iter().map(Step::Frame));
    steps
}

/// Pushes the interruption's steps; true when the stream ends there.
fn interrupt<F: FnOnce(usize, &str, &str) -> Bytes>(
    steps: &mut Vec<Step>,
    interruption: &Interruption,
    sent: usize,
    error_frame: &mut Option<F>,
) -> bool {
    match &interruption.kind {
        InterruptKind::Pause(pause) => {
            steps.push(Step::Wait(*pause));
            false
        }
        InterruptKind::Reset => {
            // Without a flush first, hyper would drop the buffered deltas with the connection.
            steps.push(Step::Flush);
            steps.push(Step::Drop);
            true
        }
        InterruptKind::Error {
            error_type,
            message,
        } => {
            if let Some(build) = error_frame.take() {
                steps.push(Step::Frame(build(sent, error_type, message)));
            }
            true
        }
        InterruptKind::Frame(bytes) => {
            steps.push(Step::Frame(bytes.clone()));
            true
        }
        // Frame faults of Bedrock streams only; the handler resolves them to `Frame` there.
        InterruptKind::BadCrc | InterruptKind::Oversized(_) => false,
    }
}

/// `steps` with their frames' bytes re-cut into pieces of 1 to [`CUT_PIECE_MAX_BYTES`]
/// bytes at positions drawn from `seed`, across frame boundaries, each piece flushed on its
/// own; waits and drops stay where they were (the bytes before them are cut first).
pub(crate) fn cut(steps: Vec<Step>, seed: u64) -> Vec<Step> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut out = Vec::with_capacity(steps.len() * 4);
    let mut pending: Vec<u8> = Vec::new();
    let mut flush = |pending: &mut Vec<u8>, out: &mut Vec<Step>| {
        let mut rest = Bytes::from(std::mem::take(pending));
        while !rest.is_empty() {
            let len = rng.usize(1..=CUT_PIECE_MAX_BYTES).min(rest.len());
            out.push(Step::Frame(rest.split_to(len)));
            out.push(Step::Flush);
        }
    };
    for step in steps {
        match step {
            Step::Frame(bytes) => pending.extend_from_slice(&bytes),
            other => {
                flush(&mut pending, &mut out);
                out.push(other);
            }
        }
    }
    flush(&mut pending, &mut out);
    // A trailing flush would leave the body pending after its last byte.
    if matches!(out.last(), Some(Step::Flush)) {
        out.pop();
    }
    out
}

/// The body error that makes hyper abort the connection for [`Step::Drop`].
#[derive(Debug)]
pub(crate) struct StreamReset;

impl std::fmt::Display for StreamReset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("scripted connection reset")
    }
}

impl std::error::Error for StreamReset {}

/// Plays a step plan as a response body, one body frame per SSE frame.
#[derive(Debug)]
pub(crate) struct SseBody {
    steps: std::vec::IntoIter<Step>,
    wait: Option<Pin<Box<Sleep>>>,
    guard: CancelGuard,
}

impl SseBody {
    pub(crate) fn new(steps: Vec<Step>, shared: Arc<Shared>) -> Self {
        Self {
            steps: steps.into_iter(),
            wait: None,
            guard: CancelGuard {
                shared,
                finished: false,
            },
        }
    }
}

impl Body for SseBody {
    type Data = Bytes;
    type Error = StreamReset;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, StreamReset>>> {
        let this = self.get_mut();
        loop {
            if let Some(wait) = this.wait.as_mut() {
                ready!(wait.as_mut().poll(cx));
                this.wait = None;
            }
            match this.steps.next() {
                None => {
                    this.guard.finished = true;
                    return Poll::Ready(None);
                }
                Some(Step::Frame(frame)) => {
                    if this.steps.len() == 0 {
                        this.guard.finished = true;
                    }
                    return Poll::Ready(Some(Ok(Frame::data(frame))));
                }
                Some(Step::Wait(pause)) => this.wait = Some(Box::pin(tokio::time::sleep(pause))),
                Some(Step::Flush) => {
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                Some(Step::Drop) => {
                    this.guard.finished = true;
                    return Poll::Ready(Some(Err(StreamReset)));
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.wait.is_none() && self.steps.len() == 0
    }
}

/// Counts the stream as cancelled when dropped before its end.
#[derive(Debug)]
struct CancelGuard {
    shared: Arc<Shared>,
    finished: bool,
}

impl Drop for CancelGuard {
    fn drop(&mut self) {
        if !self.finished {
            self.shared.stream_cancelled();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames() -> Frames {
        Frames {
            head: vec![Bytes::from_static(b"h")],
            deltas: vec![Bytes::from_static(b"1"), Bytes::from_static(b"2")],
            tail: vec![Bytes::from_static(b"t")],
        }
    }

    fn describe(steps: &[Step]) -> String {
        steps
            .iter()
            .map(|s| match s {
                Step::Frame(b) => String::from_utf8_lossy(b).into_owned(),
                Step::Wait(d) => format!("w{}", d.as_millis()),
                Step::Flush => "F".to_owned(),
                Step::Drop => "X".to_owned(),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn delays_go_between_deltas_only() {
        let steps = plan(frames(), Duration::from_millis(5), None, |_, _, _| {
            Bytes::new()
        });
        assert_eq!(describe(&steps), "h 1 w5 2 t");
    }

    #[test]
    fn interruptions_land_after_n_deltas() {
        let at = |after_deltas, kind| Interruption {
            after_deltas,
            before_content: false,
            kind,
        };
        let error = InterruptKind::Error {
            error_type: "e".into(),
            message: "m".into(),
        };
        let err = |sent: usize, t: &str, m: &str| Bytes::from(format!("E{sent}{t}{m}"));
        let plan_with = |i: &Interruption| describe(&plan(frames(), Duration::ZERO, Some(i), err));
        assert_eq!(plan_with(&at(1, error.clone())), "h 1 E2em");
        assert_eq!(plan_with(&at(9, error)), "h 1 2 E3em");
        assert_eq!(plan_with(&at(0, InterruptKind::Reset)), "h F X");
        let pause = InterruptKind::Pause(Duration::from_millis(7));
        assert_eq!(plan_with(&at(2, pause)), "h 1 2 w7 t");
        let early = |kind| Interruption {
            after_deltas: 0,
            before_content: true,
            kind,
        };
        let error = InterruptKind::Error {
            error_type: "e".into(),
            message: "m".into(),
        };
        assert_eq!(plan_with(&early(error)), "h E1em");
        assert_eq!(plan_with(&early(InterruptKind::Reset)), "h F X");
    }

    #[test]
    fn cuts_keep_the_bytes_and_the_waits_and_depend_only_on_the_seed() {
        let steps = || {
            vec![
                Step::Frame(Bytes::from(vec![b'a'; 300])),
                Step::Frame(Bytes::from_static(b"bc")),
                Step::Wait(Duration::from_millis(3)),
                Step::Frame(Bytes::from(vec![b'd'; 200])),
            ]
        };
        let cut_with = |seed| describe(&cut(steps(), seed));
        assert_eq!(cut_with(7), cut_with(7));
        assert_ne!(cut_with(7), cut_with(8));
        let pieces = cut(steps(), 7);
        let before_wait: Vec<&Step> = pieces
            .iter()
            .take_while(|s| !matches!(s, Step::Wait(_)))
            .collect();
        let bytes = |steps: &[&Step]| -> Vec<u8> {
            steps
                .iter()
                .filter_map(|s| match s {
                    Step::Frame(b) => Some(b.to_vec()),
                    _ => None,
                })
                .flatten()
                .collect()
        };
        let mut expected = vec![b'a'; 300];
        expected.extend_from_slice(b"bc");
        assert_eq!(bytes(&before_wait), expected);
        assert!(pieces.iter().all(|s| match s {
            Step::Frame(b) => (1..=CUT_PIECE_MAX_BYTES).contains(&b.len()),
            _ => true,
        }));
        assert!(matches!(pieces.last(), Some(Step::Frame(_))));
        let all: Vec<&Step> = pieces.iter().collect();
        assert_eq!(bytes(&all).len(), 502);
    }
}
