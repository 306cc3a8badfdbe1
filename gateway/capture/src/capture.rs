//! [`Transcripts`] and [`Tee`]: whether a request is recorded, and what its record collects.

use std::{
    collections::BTreeMap,
    sync::{Mutex, PoisonError},
    time::{Duration, SystemTime},
};

use bytes::Bytes;
use gateway_core::{Api, Outcome, Principal, Served, Usage};
use gateway_policy::TranscriptMode;
use gateway_transcript::{
    Meta, Mode, Pending, Recorder, RecorderConfig, ResponseCapture, WriterHandle,
};
use http::{HeaderMap, HeaderName};
use tokio::time::Instant;

use crate::TranscriptSetupError;

/// Agent ids Claude Code sends next to its session id.
const AGENT_HEADER: HeaderName = HeaderName::from_static("x-claude-code-agent-id");
const PARENT_AGENT_HEADER: HeaderName = HeaderName::from_static("x-claude-code-parent-agent-id");
/// Longest id (session, agent) taken from a header; longer values are cut.
const ID_MAX_BYTES: usize = 256;

/// The recorder and its writer thread.
#[derive(Debug)]
pub struct Transcripts {
    recorder: Recorder,
    writer: Mutex<Option<WriterHandle>>,
    session_header: HeaderName,
}

impl Transcripts {
    /// `None` when transcripts are switched off.
    pub fn new(config: &gateway_config::Transcripts) -> Result<Option<Self>, TranscriptSetupError> {
        if !config.enabled {
            tracing::info!("transcripts are off (transcripts.enabled = false)");
            return Ok(None);
        }
        let session_header = HeaderName::try_from(config.session_header.as_str())
            .map_err(TranscriptSetupError::SessionHeader)?;
        let sink = crate::sinks::build(&config.sink)?;
        let recorder_config = RecorderConfig {
            queue_capacity: config.queue_capacity,
            queue_max_bytes: config.queue_max_bytes,
            flush_interval: config.flush_interval,
            ..RecorderConfig::default()
        };
        let (recorder, writer) =
            Recorder::start(sink, recorder_config).map_err(TranscriptSetupError::Writer)?;
        Ok(Some(Self {
            recorder,
            writer: Mutex::new(Some(writer)),
            session_header,
        }))
    }

    /// The recorder, for counters and health.
    pub fn recorder(&self) -> &Recorder {
        &self.recorder
    }

    /// Starts collecting a request's record, or `None` when its policy does not record it
    /// (mode off, or its session is not in the sample).
    pub fn begin(&self, request: RequestFacts<'_>) -> Option<Tee> {
        let api = request.api;
        // Names resolved once (a `&str` name is parsed and hashed again on every lookup).
        let header = |name: &HeaderName| {
            request
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|v| truncate(v, ID_MAX_BYTES).to_owned())
        };
        let session = header(&self.session_header);
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
                agent: header(&AGENT_HEADER),
                parent_agent: header(&PARENT_AGENT_HEADER),
                product: request.product.map(str::to_owned),
                subject: request.principal.subject.clone(),
                org: request.principal.org.clone(),
                api,
                model: request.model.to_owned(),
                upstream: api.provider().as_label().to_owned(),
                key_id: None,
                attempts: None,
                possibly_billed: Vec::new(),
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
    pub fn shutdown(&self, timeout: Duration) {
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
pub enum PolicyMode {
    /// Not at all.
    Off,
    /// Metadata and content, for `sample` of sessions.
    Full { sample: f64 },
    /// Metadata only, for `sample` of sessions.
    Metadata { sample: f64 },
}

impl PolicyMode {
    /// The `[policy.transcripts]` settings of the request's policy (everything when none).
    pub fn of(policy: Option<&gateway_policy::Policy>) -> Self {
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
pub struct RequestFacts<'a> {
    /// The API called (only model calls are recorded).
    pub api: Api,
    pub headers: &'a HeaderMap,
    pub request_id: &'a str,
    pub product: Option<&'a str>,
    pub principal: &'a Principal,
    pub model: &'a str,
    /// The body as forwarded (after redaction).
    pub body: &'a Bytes,
    /// Whether the redaction stage scanned `body`.
    pub scanned: bool,
    /// Redactions by rule.
    pub redactions: &'a [(&'static str, u32)],
    pub policy_mode: PolicyMode,
    pub arrival: Instant,
    pub started_at: SystemTime,
}

/// A record being collected while its response is relayed.
#[derive(Debug)]
pub struct Tee {
    recorder: Recorder,
    meta: Meta,
    mode: Mode,
    request_body: Bytes,
    capture: Option<ResponseCapture>,
    arrival: Instant,
    first_byte: Option<Instant>,
}

impl Tee {
    /// Called with the response head: whether the body is an SSE stream.
    pub fn response_started(&mut self, sse: bool) {
        if self.mode == Mode::Full {
            self.capture = Some(ResponseCapture::new(sse));
        }
    }

    /// Called with every data frame as the provider sent it (before any rewriting).
    pub fn frame(&mut self, data: &Bytes) {
        if self.first_byte.is_none() && !data.is_empty() {
            self.first_byte = Some(Instant::now());
        }
        if let Some(capture) = &mut self.capture {
            capture.push(data);
        }
    }

    /// Completes the record with the exchange's `outcome` and the target and key that
    /// `served` it (absent: the record keeps the provider's name), and hands it to the queue
    /// (never blocks).
    pub fn finish(self, outcome: &Outcome, served: Option<&Served>) {
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
        if let Some(served) = served {
            meta.upstream.clone_from(&served.upstream);
            meta.key_id.clone_from(&served.key_id);
            meta.attempts = Some(served.attempts);
            meta.possibly_billed.clone_from(&served.possibly_billed);
        }
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
