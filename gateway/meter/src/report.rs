//! Usage reports as each API writes them, and how they become a [`Usage`].

use std::borrow::Cow;

use serde::Deserialize;
use serde::de::IgnoredAny;

use gateway_core::Usage;

/// Anthropic `usage`. Every field is optional: a `message_delta` carries only some, and a
/// present non-null field overwrites the running value (the numbers are cumulative).
#[derive(Debug, Default, Clone, Copy, Deserialize)]
pub(crate) struct AnthropicUsage {
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    cache_creation_input_tokens: Option<u64>,
    cache_read_input_tokens: Option<u64>,
    cache_creation: Option<CacheCreation>,
}

#[derive(Debug, Default, Clone, Copy, Deserialize)]
struct CacheCreation {
    ephemeral_5m_input_tokens: Option<u64>,
    ephemeral_1h_input_tokens: Option<u64>,
}

impl AnthropicUsage {
    /// Overwrites every field `newer` has.
    pub(crate) fn merge(&mut self, newer: &Self) {
        fn take(old: &mut Option<u64>, new: Option<u64>) {
            if new.is_some() {
                *old = new;
            }
        }
        take(&mut self.input_tokens, newer.input_tokens);
        take(&mut self.output_tokens, newer.output_tokens);
        take(
            &mut self.cache_creation_input_tokens,
            newer.cache_creation_input_tokens,
        );
        take(
            &mut self.cache_read_input_tokens,
            newer.cache_read_input_tokens,
        );
        if let Some(new) = newer.cache_creation {
            let old = self.cache_creation.get_or_insert_default();
            take(
                &mut old.ephemeral_5m_input_tokens,
                new.ephemeral_5m_input_tokens,
            );
            take(
                &mut old.ephemeral_1h_input_tokens,
                new.ephemeral_1h_input_tokens,
            );
        }
    }

    /// Cache writes go by TTL when the split is reported; without it all of
    /// `cache_creation_input_tokens` count as 5-minute writes. Writes the split does not cover
    /// also count as 5-minute writes, so nothing reported goes unbilled.
    pub(crate) fn to_usage(self) -> Usage {
        let total = self.cache_creation_input_tokens.unwrap_or(0);
        let (w5m, w1h) = match self.cache_creation {
            Some(split) => (
                split.ephemeral_5m_input_tokens.unwrap_or(0),
                split.ephemeral_1h_input_tokens.unwrap_or(0),
            ),
            None => (0, 0),
        };
        let uncovered = total.saturating_sub(w5m.saturating_add(w1h));
        Usage {
            input: self.input_tokens.unwrap_or(0),
            output: self.output_tokens.unwrap_or(0),
            cache_read: self.cache_read_input_tokens.unwrap_or(0),
            cache_write_5m: w5m.saturating_add(uncovered),
            cache_write_1h: w1h,
        }
    }
}

/// An Anthropic SSE event's data (`message_start`, `message_delta`, `message_stop`, …).
#[derive(Debug, Deserialize)]
pub(crate) struct AnthropicEvent<'a> {
    #[serde(rename = "type", borrow)]
    pub(crate) kind: Cow<'a, str>,
    #[serde(borrow)]
    pub(crate) message: Option<AnthropicMessage<'a>>,
    pub(crate) usage: Option<AnthropicUsage>,
}

/// An Anthropic message: the JSON response body, and `message_start.message`.
#[derive(Debug, Deserialize)]
pub(crate) struct AnthropicMessage<'a> {
    #[serde(borrow)]
    pub(crate) model: Option<Cow<'a, str>>,
    pub(crate) usage: Option<AnthropicUsage>,
}

/// OpenAI chat `usage`: `prompt_tokens` includes the cached ones.
#[derive(Debug, Clone, Copy, Deserialize)]
pub(crate) struct ChatUsage {
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
    prompt_tokens_details: Option<CachedDetails>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
struct CachedDetails {
    cached_tokens: Option<u64>,
}

impl ChatUsage {
    pub(crate) fn to_usage(self) -> Usage {
        let cached = self
            .prompt_tokens_details
            .and_then(|d| d.cached_tokens)
            .unwrap_or(0);
        Usage {
            input: self.prompt_tokens.unwrap_or(0).saturating_sub(cached),
            output: self.completion_tokens.unwrap_or(0),
            cache_read: cached,
            ..Usage::default()
        }
    }
}

/// An OpenAI chat completion (JSON body) or chunk (SSE data).
#[derive(Debug, Deserialize)]
pub(crate) struct ChatCompletion<'a> {
    #[serde(borrow)]
    pub(crate) model: Option<Cow<'a, str>>,
    pub(crate) choices: Option<Vec<IgnoredAny>>,
    pub(crate) usage: Option<ChatUsage>,
}

/// OpenAI Responses `usage`: `input_tokens` includes the cached ones.
#[derive(Debug, Clone, Copy, Deserialize)]
pub(crate) struct ResponsesUsage {
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    input_tokens_details: Option<CachedDetails>,
}

impl ResponsesUsage {
    pub(crate) fn to_usage(self) -> Usage {
        let cached = self
            .input_tokens_details
            .and_then(|d| d.cached_tokens)
            .unwrap_or(0);
        Usage {
            input: self.input_tokens.unwrap_or(0).saturating_sub(cached),
            output: self.output_tokens.unwrap_or(0),
            cache_read: cached,
            ..Usage::default()
        }
    }
}

/// An OpenAI Responses response object (JSON body, and `response` of its SSE events).
#[derive(Debug, Deserialize)]
pub(crate) struct Response<'a> {
    #[serde(borrow)]
    pub(crate) model: Option<Cow<'a, str>>,
    pub(crate) usage: Option<ResponsesUsage>,
}

/// An OpenAI Responses SSE event's data.
#[derive(Debug, Deserialize)]
pub(crate) struct ResponsesEvent<'a> {
    #[serde(rename = "type", borrow)]
    pub(crate) kind: Cow<'a, str>,
    #[serde(borrow)]
    pub(crate) response: Option<Response<'a>>,
}

/// Responses events that end a response and carry its final usage.
pub(crate) const RESPONSES_TERMINAL: [&str; 3] = [
    "response.completed",
    "response.failed",
    "response.incomplete",
];
