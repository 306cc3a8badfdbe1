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
//!
//! Beside what is scanned, a few members are *tagged* ([`Tag`]) so the walk can tie a tool
//! result to the call that produced it (`tool_use.id` ↔ `tool_result.tool_use_id`, Chat
//! `tool_calls[].id` ↔ `tool_call_id`, Responses `call_id`) and learn which file the call
//! read (`input.file_path`, a shell `command`, or the call's `arguments`): see
//! [`crate::json::hints`].

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
    /// The top level of an Anthropic `tool_use.input` object: scanned like
    /// [`Ctx::AllStrings`], with the file-path and command members tagged.
    ToolInput,
}

/// What a member says about tool calls and their results (never about detection itself).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tag {
    /// The id of a tool call (`tool_use.id`, Chat `tool_calls[].id`).
    CallId,
    /// The id of the call a result answers (`tool_use_id`, Chat `tool_call_id`).
    ResultRef,
    /// Responses `call_id`: a call's id on a `function_call`, a reference on its output.
    CallKey,
    /// A file path argument (`file_path`, `path`, `notebook_path`).
    Path,
    /// A shell command (`command`): a plain `cat FILE` names the file it reads.
    Command,
    /// A call's JSON-encoded arguments (Chat, Responses), which may hold a file path.
    Arguments,
}

/// What a child value is: scanned if it is a string, and the context if it is a container.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Slot {
    pub(crate) scan: bool,
    pub(crate) ctx: Ctx,
    /// Set on the few members the call ↔ result hints need.
    pub(crate) tag: Option<Tag>,
}

const SKIP: Slot = Slot {
    scan: false,
    ctx: Ctx::Skip,
    tag: None,
};

const fn slot(scan: bool, ctx: Ctx) -> Slot {
    Slot {
        scan,
        ctx,
        tag: None,
    }
}

const fn tagged(scan: bool, tag: Tag) -> Slot {
    Slot {
        scan,
        ctx: Ctx::Skip,
        tag: Some(tag),
    }
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
            (_, Ctx::ToolInput, b"file_path" | b"path" | b"notebook_path") => {
                tagged(true, Tag::Path)
            }
            (_, Ctx::ToolInput, b"command") => tagged(true, Tag::Command),
            (_, Ctx::ToolInput, _) => slot(true, Ctx::AllStrings),
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
            (Api::OpenAiChat, Ctx::Message, b"tool_call_id") => tagged(false, Tag::ResultRef),
            (Api::OpenAiChat, Ctx::ToolCall, b"id") => tagged(false, Tag::CallId),
            (Api::OpenAiChat, Ctx::Function, b"arguments") => tagged(true, Tag::Arguments),
            (Api::OpenAiResponses, Ctx::Item, b"content" | b"output") => slot(true, Ctx::Content),
            (Api::OpenAiResponses, Ctx::Item, b"arguments") => tagged(true, Tag::Arguments),
            (Api::OpenAiResponses, Ctx::Item, b"call_id") => tagged(false, Tag::CallKey),
            (Api::OpenAiResponses, Ctx::Item, b"input") => slot(true, Ctx::AllStrings),
            (_, Ctx::Block, b"text") => slot(true, Ctx::Skip),
            (Api::AnthropicMessages, Ctx::Block, b"content") => slot(true, Ctx::Content),
            (Api::AnthropicMessages, Ctx::Block, b"input") => slot(true, Ctx::ToolInput),
            (Api::AnthropicMessages, Ctx::Block, b"id") => tagged(false, Tag::CallId),
            (Api::AnthropicMessages, Ctx::Block, b"tool_use_id") => tagged(false, Tag::ResultRef),
            _ => SKIP,
        }
    }

    fn element(self, parent: Ctx) -> Slot {
        match parent {
            Ctx::AllStrings | Ctx::ToolInput => slot(true, Ctx::AllStrings),
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
