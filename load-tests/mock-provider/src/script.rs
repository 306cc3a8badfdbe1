//! Scripted answers: the [`Script`] queue API and the `x-mock-scenario` request header.
//!
//! Both resolve to a [`Scenario`], which the handler applies to one request.

use std::time::Duration;

/// Request header selecting a scenario for this one request (see [`Scenario::parse_header`]).
pub(crate) const SCENARIO_HEADER: &str = "x-mock-scenario";

/// Default error type of `midstream-error=N` when the header names none.
const DEFAULT_STREAM_ERROR_TYPE: &str = "overloaded_error";
/// Default error message of `midstream-error=N` when the header names none.
const DEFAULT_STREAM_ERROR_MESSAGE: &str = "Overloaded";

/// One scripted answer, queued with [`MockProvider::push_script`](crate::MockProvider::push_script).
///
/// The queue is FIFO and only its head is considered: a `Status` script answers the next
/// inference request (`/v1/messages`, `/v1/chat/completions`, `/v1/responses`), streamed or
/// not; the streaming scripts answer the next *streamed* inference request, and a
/// non-streamed request leaves them queued. `count_tokens` and `models` never consume scripts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Script {
    /// Answered as-is (a `content-type: application/json` header is added if none is given,
    /// plus the usual request-id header).
    Status {
        /// HTTP status code.
        status: u16,
        /// Extra response headers, e.g. `("retry-after", "2")`.
        headers: Vec<(String, String)>,
        /// Response body, verbatim.
        body: String,
    },
    /// A 200 stream that emits an error event after `after_deltas` text deltas, then ends.
    MidStreamError {
        /// Text deltas sent before the error.
        after_deltas: usize,
        /// Provider error type, e.g. `overloaded_error`.
        error_type: String,
        /// Error message.
        message: String,
    },
    /// A 200 stream whose connection is dropped after `after_deltas` text deltas, with no
    /// terminating chunk (HTTP/2: the stream is reset).
    Reset {
        /// Text deltas sent before the drop.
        after_deltas: usize,
    },
    /// A 200 stream that goes silent for `pause` after `after_deltas` text deltas, then
    /// finishes normally.
    Pause {
        /// Text deltas sent before the pause.
        after_deltas: usize,
        /// Length of the silence.
        pause: Duration,
    },
    /// A 200 stream that sends `message_start`, then an error event, before any content
    /// (Bedrock and Anthropic both do this under load), then ends.
    ErrorBeforeContent {
        /// Provider error type, e.g. `overloaded_error`.
        error_type: String,
        /// Error message.
        message: String,
    },
    /// A 200 stream whose connection is dropped right after `message_start`.
    ResetBeforeContent,
    /// The normal answer, but only after `pause` of silence before the response head (any
    /// inference request, streamed or not).
    StallBeforeHead {
        /// Silence before the head.
        pause: Duration,
    },
    /// The normal stream, its bytes delivered in pieces cut at byte boundaries drawn from
    /// `seed` (1 to [`CUT_PIECE_MAX_BYTES`] bytes each, across frame and event boundaries),
    /// each piece written out on its own.
    Cut {
        /// Seed of the cut positions: the same seed cuts the same stream the same way.
        seed: u64,
    },
    /// A Bedrock stream whose frame after `after_deltas` text deltas arrives with a wrong
    /// message CRC, then ends. Answers only Bedrock streams (others leave it queued).
    BadCrc {
        /// Text deltas sent intact before the corrupt frame.
        after_deltas: usize,
        /// Corrupt the frame right after `message_start` instead (before any content;
        /// `after_deltas` is then ignored).
        before_content: bool,
    },
    /// A Bedrock stream that sends, after `after_deltas` text deltas, one valid `chunk` frame
    /// of `bytes` bytes (a `ping` event padded in the `p` field), then ends. Answers only
    /// Bedrock streams (others leave it queued).
    OversizedFrame {
        /// Text deltas sent before the big frame.
        after_deltas: usize,
        /// The frame's total length.
        bytes: usize,
    },
}

/// The longest piece of a [`Script::Cut`] stream.
pub const CUT_PIECE_MAX_BYTES: usize = 97;
/// The size of `oversized-frame` when the header names none: twice the gateway's 1 MiB bound.
const DEFAULT_OVERSIZED_FRAME_BYTES: usize = 2 * 1024 * 1024;
/// The largest `oversized-frame` the mock builds (it holds the frame in memory).
pub const OVERSIZED_FRAME_MAX_BYTES: usize = 64 * 1024 * 1024;

impl Script {
    /// Whether this script answers a request of the given streaming mode and route.
    pub(crate) fn matches(&self, streaming: bool, bedrock_stream: bool) -> bool {
        match self {
            Self::Status { .. } | Self::StallBeforeHead { .. } => true,
            Self::BadCrc { .. } | Self::OversizedFrame { .. } => bedrock_stream,
            _ => streaming,
        }
    }
}

/// What to do with one request instead of the normal answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Scenario {
    /// Answer this instead of the normal answer.
    Answer(Answer),
    /// Stream normally but interrupt it; ignored on non-streamed requests.
    Interrupt(Interruption),
    /// Answer normally after this silence before the head.
    Stall(Duration),
    /// Stream normally, the bytes cut at positions drawn from this seed.
    Cut(u64),
}

/// A replacement answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Answer {
    /// Answer exactly this.
    Verbatim {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// Answer a realistic provider error for `status` in the route's error shape.
    ProviderError {
        status: u16,
        retry_after: Option<String>,
        should_retry: Option<bool>,
    },
}

/// How and when a streamed answer is interrupted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Interruption {
    pub(crate) after_deltas: usize,
    /// Right after the stream's first event (`message_start`), before any content.
    pub(crate) before_content: bool,
    pub(crate) kind: InterruptKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum InterruptKind {
    Error {
        error_type: String,
        message: String,
    },
    Reset,
    Pause(Duration),
    /// The next frame with a wrong CRC (Bedrock streams; the handler resolves it to `Frame`).
    BadCrc,
    /// One valid frame this long (Bedrock streams; the handler resolves it to `Frame`).
    Oversized(usize),
    /// These bytes, then the stream ends.
    Frame(bytes::Bytes),
}

impl From<Script> for Scenario {
    fn from(script: Script) -> Self {
        match script {
            Script::Status {
                status,
                headers,
                body,
            } => Self::Answer(Answer::Verbatim {
                status,
                headers,
                body,
            }),
            Script::MidStreamError {
                after_deltas,
                error_type,
                message,
            } => Self::Interrupt(Interruption {
                after_deltas,
                before_content: false,
                kind: InterruptKind::Error {
                    error_type,
                    message,
                },
            }),
            Script::Reset { after_deltas } => Self::Interrupt(Interruption {
                after_deltas,
                before_content: false,
                kind: InterruptKind::Reset,
            }),
            Script::Pause {
                after_deltas,
                pause,
            } => Self::Interrupt(Interruption {
                after_deltas,
                before_content: false,
                kind: InterruptKind::Pause(pause),
            }),
            Script::ErrorBeforeContent {
                error_type,
                message,
            } => Self::Interrupt(Interruption {
                after_deltas: 0,
                before_content: true,
                kind: InterruptKind::Error {
                    error_type,
                    message,
                },
            }),
            Script::ResetBeforeContent => Self::Interrupt(Interruption {
                after_deltas: 0,
                before_content: true,
                kind: InterruptKind::Reset,
            }),
            Script::StallBeforeHead { pause } => Self::Stall(pause),
            Script::Cut { seed } => Self::Cut(seed),
            Script::BadCrc {
                after_deltas,
                before_content,
            } => Self::Interrupt(Interruption {
                after_deltas,
                before_content,
                kind: InterruptKind::BadCrc,
            }),
            Script::OversizedFrame {
                after_deltas,
                bytes,
            } => Self::Interrupt(Interruption {
                after_deltas,
                before_content: false,
                kind: InterruptKind::Oversized(bytes),
            }),
        }
    }
}

impl Scenario {
    /// Parses an `x-mock-scenario` value: `;`-separated `key=value` pairs, the first naming
    /// the scenario.
    ///
    /// - `status=529[;retry-after=2][;should-retry=false]`
    /// - `midstream-error=2[;type=overloaded_error][;message=Overloaded]`
    /// - `reset=2`
    /// - `pause-ms=1500[;after=1]`
    /// - `cut=SEED`
    /// - `bad-crc=2[;before-content=true]` (Bedrock streams)
    /// - `oversized-frame=2[;bytes=2097152]` (Bedrock streams)
    pub(crate) fn parse_header(value: &str) -> Result<Self, String> {
        let mut pairs = value.split(';').map(str::trim).filter(|p| !p.is_empty());
        let (kind, arg) = match pairs.next() {
            Some(first) => split_pair(first)?,
            None => return Err("empty scenario".to_owned()),
        };
        let options = pairs.map(split_pair).collect::<Result<Vec<_>, _>>()?;
        match kind {
            "status" => {
                let status = parse_number::<u16>(kind, arg)?;
                if !(100..=999).contains(&status) {
                    return Err(format!("status {status} is not a valid HTTP status"));
                }
                let mut retry_after = None;
                let mut should_retry = None;
                for (key, value) in options {
                    match key {
                        "retry-after" => retry_after = Some(value.to_owned()),
                        "should-retry" => should_retry = Some(parse_number::<bool>(key, value)?),
                        _ => return Err(unknown_option(kind, key)),
                    }
                }
                Ok(Self::Answer(Answer::ProviderError {
                    status,
                    retry_after,
                    should_retry,
                }))
            }
            "midstream-error" => {
                let mut error_type = DEFAULT_STREAM_ERROR_TYPE.to_owned();
                let mut message = DEFAULT_STREAM_ERROR_MESSAGE.to_owned();
                for (key, value) in options {
                    match key {
                        "type" => value.clone_into(&mut error_type),
                        "message" => value.clone_into(&mut message),
                        _ => return Err(unknown_option(kind, key)),
                    }
                }
                Ok(Self::Interrupt(Interruption {
                    after_deltas: parse_number(kind, arg)?,
                    before_content: false,
                    kind: InterruptKind::Error {
                        error_type,
                        message,
                    },
                }))
            }
            "reset" => match options.first() {
                Some((key, _)) => Err(unknown_option(kind, key)),
                None => Ok(Self::Interrupt(Interruption {
                    after_deltas: parse_number(kind, arg)?,
                    before_content: false,
                    kind: InterruptKind::Reset,
                })),
            },
            "pause-ms" => {
                let pause = Duration::from_millis(parse_number(kind, arg)?);
                let mut after_deltas = 0;
                for (key, value) in options {
                    match key {
                        "after" => after_deltas = parse_number(key, value)?,
                        _ => return Err(unknown_option(kind, key)),
                    }
                }
                Ok(Self::Interrupt(Interruption {
                    after_deltas,
                    before_content: false,
                    kind: InterruptKind::Pause(pause),
                }))
            }
            "cut" => match options.first() {
                Some((key, _)) => Err(unknown_option(kind, key)),
                None => Ok(Self::Cut(parse_number(kind, arg)?)),
            },
            "bad-crc" => {
                let mut before_content = false;
                for (key, value) in options {
                    match key {
                        "before-content" => before_content = parse_number(key, value)?,
                        _ => return Err(unknown_option(kind, key)),
                    }
                }
                Ok(Self::Interrupt(Interruption {
                    after_deltas: parse_number(kind, arg)?,
                    before_content,
                    kind: InterruptKind::BadCrc,
                }))
            }
            "oversized-frame" => {
                let mut bytes = DEFAULT_OVERSIZED_FRAME_BYTES;
                for (key, value) in options {
                    match key {
                        "bytes" => bytes = parse_number(key, value)?,
                        _ => return Err(unknown_option(kind, key)),
                    }
                }
                if bytes > OVERSIZED_FRAME_MAX_BYTES {
                    return Err(format!(
                        "bytes={bytes} is over the mock's {OVERSIZED_FRAME_MAX_BYTES}"
                    ));
                }
                Ok(Self::Interrupt(Interruption {
                    after_deltas: parse_number(kind, arg)?,
                    before_content: false,
                    kind: InterruptKind::Oversized(bytes),
                }))
            }
            _ => Err(format!(
                "unknown scenario `{kind}`; expected status=, midstream-error=, reset=, pause-ms=, \
                 cut=, bad-crc= or oversized-frame="
            )),
        }
    }
}

fn split_pair(pair: &str) -> Result<(&str, &str), String> {
    pair.split_once('=')
        .map(|(k, v)| (k.trim(), v.trim()))
        .ok_or_else(|| format!("`{pair}` is not key=value"))
}

fn parse_number<T: std::str::FromStr>(key: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("`{key}={value}`: cannot parse the value"))
}

fn unknown_option(kind: &str, key: &str) -> String {
    format!("scenario `{kind}` has no option `{key}`")
}

#[cfg(test)]
mod tests;
