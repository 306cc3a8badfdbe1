//! The field map of each provider API's request body ([`FieldMap`] on [`Api`]): which JSON
//! string values carry conversation text (scanned) and which carry ids, signatures, media or
//! settings (skipped).
//!
//! - Anthropic Messages (and `count_tokens`): `system`, `messages[].content`, `text` /
//!   `tool_result.content` / `tool_use.input`; never `thinking`, `signature`,
//!   `redacted_thinking.data`, `source` (images, documents), ids or `cache_control`.
//! - OpenAI Chat: `messages[].content` (string or `text` parts) and
//!   `tool_calls[].function.arguments`; never image/audio parts, ids or names.
//! - OpenAI Responses: `instructions`, `input` (string or items: `content`,
//!   `function_call.arguments`, `function_call_output.output`, custom tool `input`); never
//!   `encrypted_content`, reasoning `summary`, ids or file data.

use gateway_core::Api;

/// Where a JSON value sits, as far as redaction cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ctx {
    /// The top-level value.
    Root,
    /// A subtree we validate but never scan.
    Skip,
    /// `messages` (Anthropic, OpenAI Chat).
    Messages,
    /// One message object.
    Message,
    /// A content array (message content, system array, tool_result content, output parts).
    Content,
    /// One content block / part object.
    Block,
    /// Every string below is scanned (tool-call input objects).
    AllStrings,
    /// OpenAI Chat `tool_calls`.
    ToolCalls,
    /// One OpenAI Chat tool call.
    ToolCall,
    /// OpenAI Chat `function` object (`arguments` is scanned).
    Function,
    /// OpenAI Responses `input` array.
    Items,
    /// One OpenAI Responses input item.
    Item,
}

/// What a child value is: scanned if it is a string, and the context if it is a container.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Slot {
    pub(crate) scan: bool,
    pub(crate) ctx: Ctx,
}

const SKIP: Slot = Slot {
    scan: false,
    ctx: Ctx::Skip,
};

const fn slot(scan: bool, ctx: Ctx) -> Slot {
    Slot { scan, ctx }
}

/// Where each value of an API's request body sits, as far as redaction cares.
pub(crate) trait FieldMap {
    /// The slot of the top-level value.
    fn root(self) -> Slot;
    /// The slot of a member `key` of an object in context `parent`.
    fn member(self, parent: Ctx, key: &[u8]) -> Slot;
    /// The slot of an element of an array in context `parent`.
    fn element(self, parent: Ctx) -> Slot;
}

impl FieldMap for Api {
    fn root(self) -> Slot {
        slot(false, Ctx::Root)
    }

    fn member(self, parent: Ctx, key: &[u8]) -> Slot {
        match (self, parent, key) {
            (_, Ctx::AllStrings, _) => slot(true, Ctx::AllStrings),
            (Api::AnthropicMessages, Ctx::Root, b"system") => slot(true, Ctx::Content),
            (Api::AnthropicMessages | Api::OpenAiChat, Ctx::Root, b"messages") => {
                slot(false, Ctx::Messages)
            }
            (Api::OpenAiResponses, Ctx::Root, b"instructions") => slot(true, Ctx::Skip),
            (Api::OpenAiResponses, Ctx::Root, b"input") => slot(true, Ctx::Items),
            (_, Ctx::Message, b"content") => slot(true, Ctx::Content),
            (Api::OpenAiChat, Ctx::Message, b"tool_calls") => slot(false, Ctx::ToolCalls),
            (Api::OpenAiChat, Ctx::Message, b"function_call") => slot(false, Ctx::Function),
            (Api::OpenAiChat, Ctx::ToolCall, b"function") => slot(false, Ctx::Function),
            (Api::OpenAiChat, Ctx::Function, b"arguments") => slot(true, Ctx::Skip),
            (Api::OpenAiResponses, Ctx::Item, b"content" | b"output") => slot(true, Ctx::Content),
            (Api::OpenAiResponses, Ctx::Item, b"arguments") => slot(true, Ctx::Skip),
            (Api::OpenAiResponses, Ctx::Item, b"input") => slot(true, Ctx::AllStrings),
            (_, Ctx::Block, b"text") => slot(true, Ctx::Skip),
            (Api::AnthropicMessages, Ctx::Block, b"content") => slot(true, Ctx::Content),
            (Api::AnthropicMessages, Ctx::Block, b"input") => slot(true, Ctx::AllStrings),
            _ => SKIP,
        }
    }

    fn element(self, parent: Ctx) -> Slot {
        match parent {
            Ctx::AllStrings => slot(true, Ctx::AllStrings),
            Ctx::Messages => slot(false, Ctx::Message),
            Ctx::Content => slot(true, Ctx::Block),
            Ctx::ToolCalls => slot(false, Ctx::ToolCall),
            Ctx::Items => slot(true, Ctx::Item),
            _ => SKIP,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thinking_signature_and_image_data_are_never_scanned() {
        let s = Api::AnthropicMessages;
        for key in [
            &b"thinking"[..],
            b"signature",
            b"data",
            b"source",
            b"id",
            b"cache_control",
        ] {
            assert!(
                !s.member(Ctx::Block, key).scan,
                "{}",
                String::from_utf8_lossy(key)
            );
        }
        assert!(s.member(Ctx::Block, b"text").scan);
        assert!(s.member(Ctx::Block, b"input").scan);
    }

    #[test]
    fn openai_tool_arguments_are_scanned_but_names_are_not() {
        let s = Api::OpenAiChat;
        assert!(s.member(Ctx::Function, b"arguments").scan);
        assert!(!s.member(Ctx::Function, b"name").scan);
        assert!(!s.member(Ctx::Message, b"tool_call_id").scan);
    }
}
