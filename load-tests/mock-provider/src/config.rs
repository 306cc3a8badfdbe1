//! What the mock answers with: the reply text, how it is streamed and the usage it reports.

use std::time::Duration;

/// How the mock provider answers every request that no script overrides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MockConfig {
    /// The assistant's reply, identical on every surface.
    pub reply: String,
    /// Number of text deltas a streamed reply is split into (at least one is sent).
    pub deltas: usize,
    /// Delay before the response headers of every answer.
    pub latency: Duration,
    /// Delay between two consecutive text deltas of a streamed reply.
    pub inter_token_delay: Duration,
    /// Token counts reported on every answer.
    pub usage: Usage,
    /// When set, requests must carry this key (`x-api-key` on Anthropic routes,
    /// `authorization: Bearer` on OpenAI routes) or get a 401.
    pub expect_api_key: Option<String>,
    /// What the Bedrock routes accept: a SigV4 signature by this key pair for this region,
    /// or this Bedrock API key as `Authorization: Bearer`.
    pub bedrock: BedrockCredentials,
    /// An `x-mock-scenario` value (e.g. `status=529`) for every request that carries none:
    /// a provider that keeps failing, whoever calls it (real clients cannot add the header).
    pub scenario: Option<String>,
}

impl Default for MockConfig {
    fn default() -> Self {
        Self {
            reply: "Hello from the mock provider.".to_owned(),
            deltas: 4,
            latency: Duration::ZERO,
            inter_token_delay: Duration::ZERO,
            usage: Usage::default(),
            expect_api_key: None,
            bedrock: BedrockCredentials::default(),
            scenario: None,
        }
    }
}

/// The access key id the mock Bedrock accepts by default (the AWS documentation's example).
pub const BEDROCK_ACCESS_KEY_ID: &str = "AKIDEXAMPLE";
/// The secret access key the mock Bedrock accepts by default (the AWS documentation's
/// example; a published test value, not a secret).
pub const BEDROCK_SECRET_ACCESS_KEY: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
/// The region the mock Bedrock's signatures must be scoped to by default.
pub const BEDROCK_REGION: &str = "us-east-1";
/// The Bedrock API key the mock Bedrock accepts by default (`ABSK` like real ones).
pub const BEDROCK_API_KEY: &str = "ABSKbW9jay1iZWRyb2NrLXRlc3Qta2V5";

/// The one credential set the mock Bedrock accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BedrockCredentials {
    /// SigV4 access key id.
    pub access_key_id: String,
    /// SigV4 secret access key.
    pub secret_access_key: String,
    /// The region a signature's scope must name (service `bedrock`).
    pub region: String,
    /// The Bedrock API key accepted as a bearer token.
    pub api_key: String,
}

impl Default for BedrockCredentials {
    fn default() -> Self {
        Self {
            access_key_id: BEDROCK_ACCESS_KEY_ID.to_owned(),
            secret_access_key: BEDROCK_SECRET_ACCESS_KEY.to_owned(),
            region: BEDROCK_REGION.to_owned(),
            api_key: BEDROCK_API_KEY.to_owned(),
        }
    }
}

/// Token counts in Anthropic terms.
///
/// OpenAI answers map them as `prompt_tokens`/`input_tokens` = `input_tokens +
/// cache_read_input_tokens`, `cached_tokens` = `cache_read_input_tokens`,
/// `completion_tokens`/`output_tokens` = `output_tokens`, reasoning tokens 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Usage {
    /// Uncached input tokens.
    pub input_tokens: u64,
    /// Output tokens (final count; `message_start` reports 1).
    pub output_tokens: u64,
    /// Input tokens read from the prompt cache.
    pub cache_read_input_tokens: u64,
    /// Input tokens written to the 5-minute cache.
    pub cache_write_5m_input_tokens: u64,
    /// Input tokens written to the 1-hour cache.
    pub cache_write_1h_input_tokens: u64,
}

impl Default for Usage {
    fn default() -> Self {
        Self {
            input_tokens: 12,
            output_tokens: 7,
            cache_read_input_tokens: 100,
            cache_write_5m_input_tokens: 20,
            cache_write_1h_input_tokens: 0,
        }
    }
}

impl Usage {
    /// Anthropic `cache_creation_input_tokens`: all cache writes, whatever their TTL.
    pub(crate) fn cache_creation_input_tokens(&self) -> u64 {
        self.cache_write_5m_input_tokens
            .saturating_add(self.cache_write_1h_input_tokens)
    }

    /// OpenAI `prompt_tokens` / `input_tokens`: uncached plus cached input.
    pub(crate) fn openai_prompt_tokens(&self) -> u64 {
        self.input_tokens
            .saturating_add(self.cache_read_input_tokens)
    }

    /// OpenAI `total_tokens`.
    pub(crate) fn openai_total_tokens(&self) -> u64 {
        self.openai_prompt_tokens()
            .saturating_add(self.output_tokens)
    }
}
