//! [`UsageMeter`]: usage from a response body as it is relayed.
//!
//! SSE: frame ends are tracked across chunks; only frames that can carry usage, the model or
//! the end of the stream are parsed, picked by their `event:` name or a substring check first.
//! A frame split across chunks is copied into a carry buffer (reused, bounded). JSON: the body
//! is collected up to the bound and parsed by [`UsageMeter::finish`].

use bytes::Bytes;
use std::sync::LazyLock;

use memchr::memmem::{self, Finder};

use crate::report::{
    AnthropicEvent, AnthropicMessage, AnthropicUsage, ChatCompletion, RESPONSES_TERMINAL, Response,
    ResponsesEvent,
};
use gateway_core::sse::{self, Boundaries};
use gateway_core::{Api, Usage};

use output::Output;

/// The default bound of [`UsageMeter`]'s buffer: one SSE frame split across chunks, or a whole
/// JSON body. A frame or body over it passes through unmetered (and unstripped).
pub const DEFAULT_MAX_BUFFER_BYTES: usize = 16 * 1024 * 1024;

/// Searchers built once: building one costs more than searching a small frame.
static DONE: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"[DONE]"));
static USAGE: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"usage\""));

/// How far into a split frame its `event:` line is looked for.
const EVENT_LINE_WINDOW: usize = 256;

/// Carry capacity kept between frames; a larger buffer is freed once its frame is done.
const KEEP_CAPACITY: usize = 64 * 1024;

/// Reads usage from one response. See the crate docs for which fields count.
#[derive(Debug)]
pub struct UsageMeter {
    api: Api,
    sse: bool,
    strip: bool,
    max_buffer: usize,
    bounds: Boundaries,
    /// SSE: the unfinished frame (held back from the client when stripping). JSON: the body.
    carry: Vec<u8>,
    /// The current frame (or JSON body) is not metered: too large or of no interest.
    ignoring: bool,
    /// The frame just removed ended in `\r`; its `\n` may open the next chunk.
    drop_next_lf: bool,
    finished: bool,
    anthropic: AnthropicUsage,
    usage: Option<Usage>,
    complete: bool,
    model: Option<String>,
}

impl UsageMeter {
    /// A meter for one response of `api`; `sse` when the body is an event stream.
    /// `strip_usage_chunk`: OpenAI chat SSE whose usage the gateway requested on the client's
    /// behalf; the usage-only chunk (`"choices":[]` with `usage`) is then removed from what the
    /// client receives. Ignored for other APIs and for JSON.
    pub fn new(api: Api, sse: bool, strip_usage_chunk: bool) -> Self {
        Self {
            api,
            sse,
            strip: strip_usage_chunk && sse && api == Api::OpenAiChat,
            max_buffer: DEFAULT_MAX_BUFFER_BYTES,
            bounds: Boundaries::default(),
            carry: Vec::new(),
            ignoring: false,
            drop_next_lf: false,
            finished: false,
            anthropic: AnthropicUsage::default(),
            usage: None,
            complete: false,
            model: None,
        }
    }

    /// Sets the buffer bound (default [`DEFAULT_MAX_BUFFER_BYTES`]).
    #[must_use]
    pub fn with_max_buffer_bytes(mut self, bytes: usize) -> Self {
        self.max_buffer = bytes;
        self
    }

    /// Meters `chunk`, the next bytes of the body as relayed. `None`: forward `chunk` as it is.
    /// `Some(bytes)`: forward `bytes` instead (only when stripping: the usage chunk removed, or
    /// a frame that is not complete yet held back until it is).
    pub fn feed(&mut self, chunk: &[u8]) -> Option<Bytes> {
        if chunk.is_empty() || self.finished {
            return None;
        }
        if !self.sse {
            self.collect_json(chunk);
            return None;
        }
        let mut out = Output::new(chunk);
        let mut start = 0;
        if self.carry.is_empty() && self.bounds.after_cr() && chunk.first() == Some(&b'\n') {
            // The `\n` of the last frame's final `\r\n`.
            self.bounds.skip_lf();
            start = 1;
            if self.drop_next_lf {
                out.skip(0, 1);
            }
        }
        self.drop_next_lf = false;
        while let Some(end) = self.bounds.next_end(chunk, start) {
            let part = chunk.get(start..end).unwrap_or_default();
            // Bytes of this frame held back from the client by earlier calls.
            let held = if self.strip { self.carry.len() } else { 0 };
            let remove = if self.ignoring {
                self.ignoring = false;
                false
            } else if self.carry.is_empty() {
                self.on_frame(part)
            } else {
                let mut frame = std::mem::take(&mut self.carry);
                frame.extend_from_slice(part);
                let remove = self.on_frame(&frame);
                if !remove && held > 0 {
                    out.insert(start, frame.get(..held).unwrap_or_default());
                }
                self.carry = recycle(frame);
                remove
            };
            if remove {
                out.skip(start, end);
                self.drop_next_lf = end == chunk.len() && self.bounds.after_cr();
            }
            self.carry.clear();
            start = end;
        }
        let tail = chunk.get(start..).unwrap_or_default();
        if !tail.is_empty() && !self.ignoring {
            self.hold_tail(&mut out, start, tail);
        }
        out.finish()
    }

    /// Call once the body has ended. JSON: parses the collected body. SSE: meters an unfinished
    /// last frame; returns the bytes held back from the client (a partial frame when
    /// stripping), which should still be sent.
    pub fn finish(&mut self) -> Option<Bytes> {
        if std::mem::replace(&mut self.finished, true) {
            return None;
        }
        let rest = std::mem::take(&mut self.carry);
        if !self.sse {
            if !self.ignoring {
                self.on_json(&rest);
            }
            return None;
        }
        if rest.is_empty() {
            return None;
        }
        if !self.ignoring {
            self.on_frame(&rest);
        }
        self.strip.then(|| Bytes::from(rest))
    }

    /// What the upstream reported so far; `None` before any usage was seen.
    pub fn usage(&self) -> Option<Usage> {
        self.usage
    }

    /// The response reached its end: `message_stop`, `[DONE]`, `response.completed` (or
    /// `.failed` / `.incomplete`); for JSON, a parsed body with usage.
    pub fn complete(&self) -> bool {
        self.complete
    }

    /// The model the upstream reported, if any.
    pub fn model(&self) -> Option<&str> {
        self.model.as_deref()
    }

    fn collect_json(&mut self, chunk: &[u8]) {
        if self.ignoring {
            return;
        }
        if self.carry.len().saturating_add(chunk.len()) > self.max_buffer {
            self.ignoring = true;
            self.carry = Vec::new();
        } else {
            self.carry.extend_from_slice(chunk);
        }
    }

    /// `tail` (at `start` in the chunk) opens a frame that continues in a later chunk.
    fn hold_tail(&mut self, out: &mut Output<'_>, start: usize, tail: &[u8]) {
        let before = self.carry.len();
        let over = before.saturating_add(tail.len()) > self.max_buffer;
        if !over {
            self.carry.extend_from_slice(tail);
        }
        // An `event:` line opens a frame: once it is complete the frame's fate is known.
        let uninteresting = !over
            && before < EVENT_LINE_WINDOW
            && sse::event_name(&self.carry).is_some_and(|name| !self.wanted_event(name));
        if over || uninteresting {
            self.ignoring = true;
            if self.strip && before > 0 {
                out.insert(start, self.carry.get(..before).unwrap_or_default());
            }
            self.carry = recycle(std::mem::take(&mut self.carry));
        } else if self.strip {
            out.skip(start, start + tail.len());
        }
    }

    fn wanted_event(&self, name: &[u8]) -> bool {
        match self.api {
            Api::AnthropicMessages => {
                matches!(name, b"message_start" | b"message_delta" | b"message_stop")
            }
            Api::OpenAiResponses => {
                name == b"response.created"
                    || RESPONSES_TERMINAL.iter().any(|t| name == t.as_bytes())
            }
            Api::OpenAiChat => true,
        }
    }

    /// Meters one whole frame; true if it must be removed from the client's stream.
    fn on_frame(&mut self, frame: &[u8]) -> bool {
        match self.api {
            Api::AnthropicMessages => {
                if self.may_matter(frame, &["message_"]) {
                    self.on_anthropic_event(&sse::data(frame).unwrap_or_default());
                }
                false
            }
            Api::OpenAiResponses => {
                const NAMES: [&str; 4] = [
                    "response.created",
                    "response.completed",
                    "response.failed",
                    "response.incomplete",
                ];
                if self.may_matter(frame, &NAMES) {
                    self.on_responses_event(&sse::data(frame).unwrap_or_default());
                }
                false
            }
            Api::OpenAiChat => self.on_chat_frame(frame),
        }
    }

    /// By the `event:` name if the frame has one, else by a substring of its data.
    fn may_matter(&self, frame: &[u8], needles: &[&str]) -> bool {
        match sse::event_name(frame) {
            Some(name) => self.wanted_event(name),
            None => needles
                .iter()
                .any(|n| memmem::find(frame, n.as_bytes()).is_some()),
        }
    }

    fn on_anthropic_event(&mut self, data: &[u8]) {
        let Ok(event) = serde_json::from_slice::<AnthropicEvent<'_>>(data) else {
            return;
        };
        match &*event.kind {
            "message_start" => {
                if let Some(message) = event.message {
                    self.on_anthropic_message(message);
                }
            }
            "message_delta" => {
                if let Some(usage) = event.usage {
                    self.anthropic.merge(&usage);
                    self.usage = Some(self.anthropic.to_usage());
                }
            }
            "message_stop" => self.complete = true,
            _ => {}
        }
    }

    fn on_anthropic_message(&mut self, message: AnthropicMessage<'_>) {
        self.note_model(message.model.as_deref());
        if let Some(usage) = message.usage {
            self.anthropic.merge(&usage);
            self.usage = Some(self.anthropic.to_usage());
        }
    }

    fn on_responses_event(&mut self, data: &[u8]) {
        let Ok(event) = serde_json::from_slice::<ResponsesEvent<'_>>(data) else {
            return;
        };
        let terminal = RESPONSES_TERMINAL.contains(&&*event.kind);
        if let Some(response) = event.response {
            self.on_response(response);
        }
        self.complete |= terminal;
    }

    fn on_response(&mut self, response: Response<'_>) {
        self.note_model(response.model.as_deref());
        if let Some(usage) = response.usage {
            self.usage = Some(usage.to_usage());
        }
    }

    fn on_chat_frame(&mut self, frame: &[u8]) -> bool {
        let done = DONE.find(frame).is_some();
        if !done && self.model.is_some() && !has_usage_object(frame) {
            return false;
        }
        let data = sse::data(frame).unwrap_or_default();
        if data.trim_ascii() == b"[DONE]" {
            self.complete = true;
            return false;
        }
        let Ok(chunk) = serde_json::from_slice::<ChatCompletion<'_>>(&data) else {
            return false;
        };
        self.note_model(chunk.model.as_deref());
        let Some(usage) = chunk.usage else {
            return false;
        };
        self.usage = Some(usage.to_usage());
        self.strip && chunk.choices.is_some_and(|c| c.is_empty())
    }

    fn on_json(&mut self, body: &[u8]) {
        let usage = match self.api {
            Api::AnthropicMessages => serde_json::from_slice::<AnthropicMessage<'_>>(body)
                .ok()
                .map(|m| self.on_anthropic_message(m)),
            Api::OpenAiChat => serde_json::from_slice::<ChatCompletion<'_>>(body)
                .ok()
                .map(|c| {
                    self.note_model(c.model.as_deref());
                    if let Some(usage) = c.usage {
                        self.usage = Some(usage.to_usage());
                    }
                }),
            Api::OpenAiResponses => serde_json::from_slice::<Response<'_>>(body)
                .ok()
                .map(|r| self.on_response(r)),
        };
        self.complete = usage.is_some() && self.usage.is_some();
    }

    fn note_model(&mut self, model: Option<&str>) {
        if self.model.is_none() {
            self.model = model.map(str::to_owned);
        }
    }
}

/// A `"usage"` key whose value is not `null`: the only chat chunks worth parsing once the model
/// is known. Errs towards yes.
fn has_usage_object(frame: &[u8]) -> bool {
    USAGE.find_iter(frame).any(|at| {
        let after = frame.get(at + 7..).unwrap_or_default();
        let value = after.trim_ascii_start();
        let value = value.strip_prefix(b":").unwrap_or(value).trim_ascii_start();
        !value.starts_with(b"null")
    })
}

/// Keeps a buffer's allocation for the next frame unless it grew large.
fn recycle(mut buf: Vec<u8>) -> Vec<u8> {
    if buf.capacity() > KEEP_CAPACITY {
        return Vec::new();
    }
    buf.clear();
    buf
}

mod output;

#[cfg(test)]
mod tests;
