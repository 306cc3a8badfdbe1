//! The transcript stage's request-path side: decides whether a request is recorded (the
//! policy's mode and session sampling), collects what the record needs while the response is
//! relayed ([`Tee`], carried by the metering `Observed` body) and hands one
//! [`gateway_transcript::Pending`] to the recorder's bounded queue when the response ends.
//! Nothing here does I/O or waits: parsing, hashing and writing happen on the writer thread
//! (`gateway-transcript`).
//!
//! Invariant: only bodies the redaction stage scanned are recorded in full; an unscanned
//! body (redaction off for the policy or the whole gateway) is recorded as metadata only.

use std::{
    collections::BTreeMap,
    sync::{Mutex, PoisonError},
    time::{Duration, SystemTime},
};

use bytes::Bytes;
use gateway_core::Principal;
use gateway_core::{Api, Usage};
use gateway_policy::TranscriptMode;
use gateway_transcript::{
    Meta, Mode, Pending, Recorder, RecorderConfig, ResponseCapture, WriterHandle,
};
use http::{HeaderMap, HeaderName};
use tokio::time::Instant;

use crate::routes::Endpoint;

/// Agent ids Claude Code sends next to its session id.
const AGENT_HEADER: &str = "x-claude-code-agent-id";
const PARENT_AGENT_HEADER: &str = "x-claude-code-parent-agent-id";
/// Longest id (session, agent) taken from a header; longer values are cut.
const ID_MAX_BYTES: usize = 256;

/// The recorder and its writer thread.
#[derive(Debug)]
pub(crate) struct Transcripts {
    recorder: Recorder,
    writer: Mutex<Option<WriterHandle>>,
    session_header: HeaderName,
}

/// The transcript sink could not start.
#[derive(Debug, thiserror::Error)]
#[error("transcripts: {0}")]
pub struct TranscriptSetupError(String);

impl Transcripts {
    /// `None` when transcripts are switched off.
    pub(crate) fn new(
        config: &gateway_config::Transcripts,
    ) -> Result<Option<Self>, TranscriptSetupError> {
        if !config.enabled {
            tracing::info!("transcripts are off (transcripts.enabled = false)");
            return Ok(None);
        }
        let session_header = HeaderName::try_from(config.session_header.as_str())
            .map_err(|e| TranscriptSetupError(format!("session_header: {e}")))?;
        let sink = crate::transcript_sinks::build(&config.sink).map_err(TranscriptSetupError)?;
        let recorder_config = RecorderConfig {
            queue_capacity: config.queue_capacity,
            queue_max_bytes: config.queue_max_bytes,
            flush_interval: config.flush_interval,
            ..RecorderConfig::default()
        };
        let (recorder, writer) = Recorder::start(sink, recorder_config)
            .map_err(|e| TranscriptSetupError(format!("starting the writer thread: {e}")))?;
        Ok(Some(Self {
            recorder,
            writer: Mutex::new(Some(writer)),
            session_header,
        }))
    }

    /// The recorder, for counters and health.
    pub(crate) fn recorder(&self) -> &Recorder {
        &self.recorder
    }

    /// Starts collecting a request's record, or `None` when its policy does not record it
    /// (mode off, or its session is not in the sample).
    pub(crate) fn begin(&self, request: RequestFacts<'_>) -> Option<Tee> {
        let api = match request.endpoint {
            Endpoint::Messages => Api::AnthropicMessages,
            Endpoint::ChatCompletions => Api::OpenAiChat,
            Endpoint::Responses => Api::OpenAiResponses,
            Endpoint::CountTokens | Endpoint::Models => return None,
        };
        let header = |name: &str| {
            request
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|v| truncate(v, ID_MAX_BYTES).to_owned())
        };
        let session = header(self.session_header.as_str());
        let mode = match request.policy_mode {
            PolicyMode::Off => return None,
            PolicyMode::Full { sample } | PolicyMode::Metadata { sample } => {
                let key = session.as_deref().unwrap_or(request.request_id);
                if !gateway_transcript::writer::sampled(key, sample) {
                    return None;
                }
                match request.policy_mode {
                    PolicyMode::Full { .. } if request.scanned => Mode::Full,
                    _ => Mode::Metadata,
                }
            }
        };
        Some(Tee {
            recorder: self.recorder.clone(),
            meta: Meta {
                id: request.request_id.to_owned(),
                session,
                agent: header(AGENT_HEADER),
                parent_agent: header(PARENT_AGENT_HEADER),
                product: request.product.map(str::to_owned),
                subject: request.principal.subject.clone(),
                org: request.principal.org.clone(),
                api,
                model: request.model.to_owned(),
                upstream: request.endpoint.provider().as_label().to_owned(),
                started_at: humantime::format_rfc3339_millis(request.started_at).to_string(),
                latency_ms: 0,
                ttft_ms: None,
                status: 0,
                complete: false,
                usage: Usage::default(),
                usage_estimated: false,
                cost_micro_usd: 0,
                redactions: request
                    .redactions
                    .iter()
                    .map(|(rule, n)| ((*rule).to_owned(), *n))
                    .collect::<BTreeMap<_, _>>(),
            },
            mode,
            request_body: if mode == Mode::Full {
                request.body.clone()
            } else {
                Bytes::new()
            },
            capture: None,
            arrival: request.arrival,
            first_byte: None,
        })
    }

    /// Stops accepting records, writes what is queued (up to `timeout`), joins the writer.
    pub(crate) fn shutdown(&self, timeout: Duration) {
        let writer = self
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(writer) = writer {
            let report = writer.shutdown(timeout);
            tracing::info!(?report, "transcript writer stopped");
        }
    }
}

/// How the request's policy records it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum PolicyMode {
    /// Not at all.
    Off,
    /// Metadata and content, for `sample` of sessions.
    Full { sample: f64 },
    /// Metadata only, for `sample` of sessions.
    Metadata { sample: f64 },
}

impl PolicyMode {
    /// The `[policy.transcripts]` settings of the request's policy (everything when none).
    pub(crate) fn of(policy: Option<&gateway_policy::Policy>) -> Self {
        let Some(policy) = policy else {
            return Self::Full { sample: 1.0 };
        };
        let sample = policy.transcripts.sample;
        match policy.transcripts.mode {
            TranscriptMode::Off => Self::Off,
            TranscriptMode::Full => Self::Full { sample },
            TranscriptMode::Metadata => Self::Metadata { sample },
        }
    }
}

/// What the pipeline knows about a request when it is forwarded.
#[derive(Debug)]
pub(crate) struct RequestFacts<'a> {
    pub(crate) endpoint: Endpoint,
    pub(crate) headers: &'a HeaderMap,
    pub(crate) request_id: &'a str,
    pub(crate) product: Option<&'a str>,
    pub(crate) principal: &'a Principal,
    pub(crate) model: &'a str,
    /// The body as forwarded (after redaction).
    pub(crate) body: &'a Bytes,
    /// Whether the redaction stage scanned `body`.
    pub(crate) scanned: bool,
    /// Redactions by rule.
    pub(crate) redactions: &'a [(&'static str, u32)],
    pub(crate) policy_mode: PolicyMode,
    pub(crate) arrival: Instant,
    pub(crate) started_at: SystemTime,
}

/// A record being collected while its response is relayed.
#[derive(Debug)]
pub(crate) struct Tee {
    recorder: Recorder,
    meta: Meta,
    mode: Mode,
    request_body: Bytes,
    capture: Option<ResponseCapture>,
    arrival: Instant,
    first_byte: Option<Instant>,
}

/// How a response ended, for its record.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Outcome {
    pub(crate) status: u16,
    pub(crate) complete: bool,
    pub(crate) usage: Usage,
    pub(crate) usage_estimated: bool,
    pub(crate) cost_micro_usd: u64,
}

impl Outcome {
    /// A request that got no provider response (unreachable, timed out).
    pub(crate) fn refused(status: http::StatusCode) -> Self {
        Self {
            status: status.as_u16(),
            complete: false,
            usage: Usage::default(),
            usage_estimated: false,
            cost_micro_usd: 0,
        }
    }
}

impl Tee {
    /// Called with the response head: whether the body is an SSE stream.
    pub(crate) fn response_started(&mut self, sse: bool) {
        if self.mode == Mode::Full {
            self.capture = Some(ResponseCapture::new(sse));
        }
    }

    /// Called with every data frame as the provider sent it (before any rewriting).
    pub(crate) fn frame(&mut self, data: &Bytes) {
        if self.first_byte.is_none() && !data.is_empty() {
            self.first_byte = Some(Instant::now());
        }
        if let Some(capture) = &mut self.capture {
            capture.push(data);
        }
    }

    /// Completes the record and hands it to the queue (never blocks).
    pub(crate) fn finish(self, outcome: Outcome) {
        let Tee {
            recorder,
            mut meta,
            mode,
            request_body,
            capture,
            arrival,
            first_byte,
        } = self;
        meta.latency_ms = millis(arrival.elapsed());
        meta.ttft_ms = first_byte.map(|t| millis(t.saturating_duration_since(arrival)));
        meta.status = outcome.status;
        meta.complete = outcome.complete;
        meta.usage = outcome.usage;
        meta.usage_estimated = outcome.usage_estimated;
        meta.cost_micro_usd = outcome.cost_micro_usd;
        recorder.record(Pending {
            meta,
            mode,
            request_body,
            response: capture.unwrap_or_default(),
        });
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// `s` cut to at most `max` bytes at a character boundary.
fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
