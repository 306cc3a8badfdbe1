//! [`Api`]: the model API a request body or response belongs to, and [`Provider`]: the
//! provider family behind it, which fixes the upstream and the error envelope.

use serde::{Deserialize, Serialize};

/// The model-provider API a body belongs to; it fixes the field names of requests, responses
/// and stream events. One enum for every stage: metering, redaction, restore and transcripts
/// all read the same bodies. Serialized as in transcript records (`anthropic_messages`,
/// `openai_chat`, `openai_responses`); those names are a file format and never change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Api {
    /// Anthropic Messages (`POST /v1/messages`, and the body of `count_tokens`).
    #[serde(rename = "anthropic_messages")]
    AnthropicMessages,
    /// OpenAI Chat Completions (`POST /v1/chat/completions`).
    #[serde(rename = "openai_chat")]
    OpenAiChat,
    /// OpenAI Responses (`POST /v1/responses`).
    #[serde(rename = "openai_responses")]
    OpenAiResponses,
}

impl Api {
    /// The provider that serves this API.
    pub fn provider(self) -> Provider {
        match self {
            Self::AnthropicMessages => Provider::Anthropic,
            Self::OpenAiChat | Self::OpenAiResponses => Provider::OpenAi,
        }
    }

    /// A stable lowercase name for logs and metric labels (the serialized name).
    pub fn as_label(self) -> &'static str {
        match self {
            Self::AnthropicMessages => "anthropic_messages",
            Self::OpenAiChat => "openai_chat",
            Self::OpenAiResponses => "openai_responses",
        }
    }
}

/// The provider family of a route. It decides the upstream, how the provider key is
/// presented, and the envelope of the gateway's own refusals, so a client always parses our
/// errors like its provider's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Provider {
    /// Anthropic: `x-api-key`; errors `{"type":"error","error":{"type":…,"message":…}}`.
    Anthropic,
    /// OpenAI: `Authorization: Bearer`; errors `{"error":{"message":…,"type":…,"code":…}}`.
    OpenAi,
}

impl Provider {
    /// Every provider, in a fixed order.
    pub const ALL: [Self; 2] = [Self::Anthropic, Self::OpenAi];

    /// A stable lowercase name for logs, errors and metric labels.
    pub fn as_label(self) -> &'static str {
        match self {
            Self::Anthropic => "anthropic",
            Self::OpenAi => "openai",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialized_names_are_the_transcript_format_and_the_labels() {
        for api in [
            Api::AnthropicMessages,
            Api::OpenAiChat,
            Api::OpenAiResponses,
        ] {
            let json = serde_json::to_string(&api).unwrap();
            assert_eq!(json, format!("\"{}\"", api.as_label()));
            assert_eq!(serde_json::from_str::<Api>(&json).unwrap(), api);
        }
        assert_eq!(Api::OpenAiResponses.provider(), Provider::OpenAi);
    }
}
