//! [`Surface`]: the provider API a route belongs to.

/// The provider API family of a route. It decides the upstream and the error envelope of the
/// gateway's own refusals, so a client always parses our errors like its provider's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Surface {
    /// Anthropic Messages API: `{"type":"error","error":{"type":…,"message":…}}`.
    Anthropic,
    /// OpenAI Chat Completions and Responses: `{"error":{"message":…,"type":…,"code":…}}`.
    OpenAi,
}

impl Surface {
    /// A stable lowercase name for logs and metric labels.
    pub fn as_label(self) -> &'static str {
        match self {
            Self::Anthropic => "anthropic",
            Self::OpenAi => "openai",
        }
    }
}
