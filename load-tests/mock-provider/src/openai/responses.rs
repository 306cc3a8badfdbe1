//! Responses API answers.
//!
//! Stream (each `event: <type>` with `"type"` and `"sequence_number"` from 0):
//! `response.created`, `response.in_progress`, `response.output_item.added`,
//! `response.content_part.added`, N × `response.output_text.delta`,
//! `response.output_text.done`, `response.content_part.done`, `response.output_item.done`,
//! `response.completed` (with usage). No `[DONE]`.

use bytes::Bytes;
use serde_json::json;

use super::Ids;
use crate::config::Usage;
use crate::reply::Reply;
use crate::sse::{self, Frames};

/// The parts of every Responses answer that do not depend on the request.
#[derive(Debug)]
pub(crate) struct Canned {
    usage: String,
    /// The finished `output_text` content part.
    part: String,
    reply: Reply,
}

impl Canned {
    pub(crate) fn new(reply: &Reply, usage: &Usage) -> Self {
        Self {
            usage: format!(
                r#"{{"input_tokens":{},"input_tokens_details":{{"cached_tokens":{}}},"output_tokens":{},"output_tokens_details":{{"reasoning_tokens":0}},"total_tokens":{}}}"#,
                usage.openai_prompt_tokens(),
                usage.cache_read_input_tokens,
                usage.output_tokens,
                usage.openai_total_tokens(),
            ),
            part: format!(
                r#"{{"type":"output_text","annotations":[],"logprobs":[],"text":{}}}"#,
                reply.full
            ),
            reply: reply.clone(),
        }
    }

    /// The non-streamed answer.
    pub(crate) fn response(&self, ids: &Ids<'_>) -> Bytes {
        Bytes::from(response_object(
            ids,
            "completed",
            &self.item(ids, "completed", &self.part),
            &self.usage,
        ))
    }

    fn item(&self, ids: &Ids<'_>, status: &str, content: &str) -> String {
        format!(
            r#"{{"id":"msg_mock_{}","type":"message","status":"{status}","role":"assistant","content":[{content}]}}"#,
            ids.id
        )
    }

    /// The frames of the streamed answer.
    pub(crate) fn stream(&self, ids: &Ids<'_>) -> Frames {
        let mut seq = 0_usize;
        let mut next = |name: &str, rest: &str| {
            let frame = sse::event(
                name,
                &format!(r#"{{"type":"{name}","sequence_number":{seq},{rest}}}"#),
            );
            seq += 1;
            frame
        };
        let in_progress = format!(
            r#""response":{}"#,
            response_object(ids, "in_progress", "", "null")
        );
        let at = format!(
            r#""item_id":"msg_mock_{}","output_index":0,"content_index":0"#,
            ids.id
        );
        let done_item = self.item(ids, "completed", &self.part);
        let head = vec![
            next("response.created", &in_progress),
            next("response.in_progress", &in_progress),
            next(
                "response.output_item.added",
                &format!(
                    r#""output_index":0,"item":{}"#,
                    self.item(ids, "in_progress", "")
                ),
            ),
            next(
                "response.content_part.added",
                &format!(
                    r#"{at},"part":{{"type":"output_text","annotations":[],"logprobs":[],"text":""}}"#
                ),
            ),
        ];
        let deltas = self
            .reply
            .deltas
            .iter()
            .map(|text| {
                next(
                    "response.output_text.delta",
                    &format!(r#"{at},"delta":{text},"logprobs":[]"#),
                )
            })
            .collect();
        let tail = vec![
            next(
                "response.output_text.done",
                &format!(r#"{at},"text":{},"logprobs":[]"#, self.reply.full),
            ),
            next(
                "response.content_part.done",
                &format!(r#"{at},"part":{}"#, self.part),
            ),
            next(
                "response.output_item.done",
                &format!(r#""output_index":0,"item":{done_item}"#),
            ),
            next(
                "response.completed",
                &format!(
                    r#""response":{}"#,
                    response_object(ids, "completed", &done_item, &self.usage)
                ),
            ),
        ];
        Frames { head, deltas, tail }
    }
}

fn response_object(ids: &Ids<'_>, status: &str, output: &str, usage: &str) -> String {
    format!(
        concat!(
            r#"{{"id":"resp_mock_{id}","object":"response","created_at":{created},"status":"{status}","#,
            r#""background":false,"error":null,"incomplete_details":null,"instructions":null,"#,
            r#""max_output_tokens":null,"model":{model},"output":[{output}],"parallel_tool_calls":true,"#,
            r#""previous_response_id":null,"reasoning":{{"effort":null,"summary":null}},"#,
            r#""service_tier":"default","store":true,"temperature":1.0,"#,
            r#""text":{{"format":{{"type":"text"}},"verbosity":"medium"}},"tool_choice":"auto","#,
            r#""tools":[],"top_p":1.0,"truncation":"disabled","usage":{usage},"user":null,"metadata":{{}}}}"#
        ),
        id = ids.id,
        created = ids.created,
        status = status,
        model = ids.model_json,
        output = output,
        usage = usage,
    )
}

/// `event: error` sent after a 200, numbered after the `sent` frames before it.
pub(crate) fn stream_error(sent: usize, error_type: &str, message: &str) -> Bytes {
    let body = json!({
        "type": "error",
        "sequence_number": sent,
        "code": error_type,
        "message": message,
        "param": null,
    });
    sse::event("error", &body.to_string())
}
