//! What one attempt's result means: [`classify`] turns what was observed (a transport failure,
//! a status with its buffered error body, an error event held before the stream committed)
//! into a [`Class`]; [`retry_after`] and [`cooldown`] read the provider's own waits.
//!
//! Only the provider's signals set a wait: `retry-after-ms`, `retry-after` (seconds), and for a
//! key's cooldown the `anthropic-ratelimit-*-reset` times of the exhausted limits. No signal, no
//! wait is invented.

use std::time::{Duration, SystemTime};

use http::HeaderMap;
use serde::Deserialize;

/// The `error.details.error_code` of a 429 that no retry of this key will fix.
const SPEND_LIMIT_CODE: &str = "enforced_spend_limit_reached";
/// The limits whose `anthropic-ratelimit-<limit>-reset` may end a key's cooldown.
const RATE_LIMITS: [&str; 4] = ["requests", "tokens", "input-tokens", "output-tokens"];

/// Where an attempt was when it was judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Before the response head (connect, send, wait).
    Head,
    /// After the head, before the stream's first content event: nothing sent to the client.
    BeforeCommit,
}

impl Phase {
    /// The `phase` label.
    pub fn as_label(self) -> &'static str {
        match self {
            Self::Head => "head",
            Self::BeforeCommit => "before_commit",
        }
    }
}

/// A failure without a usable answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// TCP/TLS connection failed.
    Connect,
    /// Connect or head timed out.
    Timeout,
    /// No commit within `ttft_timeout_ms`.
    Stall,
    /// The connection failed after connecting, or the stream broke before committing.
    Broken,
}

impl Transport {
    fn as_label(self) -> &'static str {
        match self {
            Self::Connect => "connect",
            Self::Timeout => "timeout",
            Self::Stall => "stall",
            Self::Broken => "broken",
        }
    }
}

/// What one attempt produced, as far as the decision needs it.
#[derive(Debug, Clone, Copy)]
pub enum Observed<'a> {
    /// A success to relay: a 2xx head, or a stream at its first content event.
    Committed,
    /// No answer.
    Failed(Transport, Phase),
    /// An error status; `body` is its buffered body (possibly cut at the hold bound).
    Status {
        /// HTTP status.
        status: u16,
        /// Response headers.
        headers: &'a HeaderMap,
        /// The body bytes held.
        body: &'a [u8],
    },
    /// The target cannot serve this request (no model id for it, a route it lacks); nothing
    /// was sent. `reason` is the label.
    Skipped(&'static str),
    /// A 200 stream whose `event: error` came before its first content event.
    ErrorEvent {
        /// The event's `data` (the Anthropic error JSON).
        data: &'a [u8],
    },
}

impl Observed<'_> {
    /// Why the provider may have billed this failed attempt, when it may have: the request
    /// was sent and then no usable answer came (a stall, a timeout, a connection or stream
    /// broken after sending, an error event after `message_start`). A refused connection, a
    /// skipped target and an error status (the provider's own refusal) were not billed.
    pub fn possibly_billed(&self) -> Option<&'static str> {
        match self {
            Self::Failed(Transport::Connect, _) => None,
            Self::Failed(t, _) => Some(t.as_label()),
            Self::ErrorEvent { .. } => Some("error_event"),
            Self::Committed | Self::Status { .. } | Self::Skipped(_) => None,
        }
    }
}

/// The meaning of an attempt's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Relay it.
    Success,
    /// The target failed; another try may work. `after` is the provider's requested wait.
    Retry {
        /// Label for metrics (`status_529`, `connect`, …).
        reason: &'static str,
        /// `retry-after-ms` / `retry-after`.
        after: Option<Duration>,
    },
    /// This key is rate limited: cool it for `cooldown` (when the provider said how long) and
    /// use another key or target.
    RateLimited {
        /// Until the provider's reset; `None` when it gave no signal.
        cooldown: Option<Duration>,
    },
    /// This key will not work (401/403, spend limit): take it out.
    Revoked {
        /// `unauthorized`, `forbidden` or `spend_limit`.
        reason: &'static str,
    },
    /// The answer stands (other 4xx, `x-should-retry: false`): no retry, no fallback.
    Terminal,
    /// The target cannot serve this request: the next target, no retry, no key change.
    Skip {
        /// `unmapped_model`, `unsupported_route`.
        reason: &'static str,
    },
}

impl Class {
    /// The `outcome` label of an attempt.
    pub fn as_label(self) -> &'static str {
        match self {
            Self::Success => "served",
            Self::Retry { .. } => "retryable",
            Self::RateLimited { .. } => "rate_limited",
            Self::Revoked { .. } => "key_revoked",
            Self::Terminal => "terminal",
            Self::Skip { .. } => "skipped",
        }
    }
}

/// Classifies an attempt's result at wall-clock `now` (for the reset times).
pub fn classify(observed: Observed<'_>, now: SystemTime) -> Class {
    match observed {
        Observed::Committed => Class::Success,
        Observed::Skipped(reason) => Class::Skip { reason },
        Observed::Failed(t, _) => Class::Retry {
            reason: t.as_label(),
            after: None,
        },
        Observed::ErrorEvent { data } => match error_type(data).as_deref() {
            Some("overloaded_error") => Class::Retry {
                reason: "event_overloaded",
                after: None,
            },
            Some("api_error") => Class::Retry {
                reason: "event_api_error",
                after: None,
            },
            Some("rate_limit_error") => Class::RateLimited { cooldown: None },
            _ => Class::Terminal,
        },
        Observed::Status {
            status,
            headers,
            body,
        } => status_class(status, headers, body, now),
    }
}

fn status_class(status: u16, headers: &HeaderMap, body: &[u8], now: SystemTime) -> Class {
    // Key problems first: another key is another request, whatever `x-should-retry` says.
    match status {
        401 => {
            return Class::Revoked {
                reason: "unauthorized",
            };
        }
        403 => {
            return Class::Revoked {
                reason: "forbidden",
            };
        }
        429 if error_code(body).as_deref() == Some(SPEND_LIMIT_CODE) => {
            return Class::Revoked {
                reason: "spend_limit",
            };
        }
        _ => {}
    }
    match headers.get("x-should-retry").map(|v| v.as_bytes()) {
        Some(b"false") => return Class::Terminal,
        Some(b"true") if status != 429 => {
            return Class::Retry {
                reason: retry_reason(status),
                after: retry_after(headers),
            };
        }
        _ => {}
    }
    match status {
        429 => Class::RateLimited {
            cooldown: cooldown(headers, now),
        },
        500 | 502 | 503 | 504 | 529 => Class::Retry {
            reason: retry_reason(status),
            after: retry_after(headers),
        },
        _ => Class::Terminal,
    }
}

fn retry_reason(status: u16) -> &'static str {
    match status {
        529 => "status_529",
        500..=599 => "status_5xx",
        _ => "should_retry",
    }
}

/// The provider's requested wait: `retry-after-ms` (milliseconds), else `retry-after`
/// (seconds; fractions allowed). HTTP dates are not read (Anthropic sends seconds).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let number = |name: &str| {
        headers
            .get(name)?
            .to_str()
            .ok()?
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 0.0)
    };
    if let Some(ms) = number("retry-after-ms") {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    number("retry-after").map(Duration::from_secs_f64)
}

/// How long a rate-limited key cools: the provider's `retry-after`, else the latest reset
/// among the exhausted `anthropic-ratelimit-*` limits (`remaining: 0`), else the latest reset
/// given at all. `None` when the provider gave no signal.
pub fn cooldown(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    if let Some(after) = retry_after(headers) {
        return Some(after);
    }
    let reset = |limit: &str| {
        let value = headers
            .get(format!("anthropic-ratelimit-{limit}-reset"))?
            .to_str()
            .ok()?;
        let at = humantime::parse_rfc3339_weak(value.trim()).ok()?;
        Some(at.duration_since(now).unwrap_or(Duration::ZERO))
    };
    let exhausted = |limit: &str| {
        headers
            .get(format!("anthropic-ratelimit-{limit}-remaining"))
            .is_some_and(|v| v.as_bytes() == b"0")
    };
    let latest = |only_exhausted: bool| {
        RATE_LIMITS
            .iter()
            .filter(|l| !only_exhausted || exhausted(l))
            .filter_map(|l| reset(l))
            .max()
    };
    latest(true).or_else(|| latest(false))
}

#[derive(Deserialize)]
struct Envelope {
    error: Option<ErrorBody>,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(rename = "type")]
    kind: Option<String>,
    details: Option<Details>,
}

#[derive(Deserialize)]
struct Details {
    error_code: Option<String>,
}

fn error_type(json: &[u8]) -> Option<String> {
    serde_json::from_slice::<Envelope>(json).ok()?.error?.kind
}

fn error_code(json: &[u8]) -> Option<String> {
    serde_json::from_slice::<Envelope>(json)
        .ok()?
        .error?
        .details?
        .error_code
}

#[cfg(test)]
mod tests;
