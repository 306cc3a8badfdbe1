//! Chat Completions answers.
//!
//! Stream: `data:` chunks (role, N content deltas, `finish_reason:"stop"`); with
//! `stream_options.include_usage` every chunk carries `"usage":null` and a last chunk with
//! `"choices":[]` carries the totals; then `data: [DONE]`.

use bytes::Bytes;
use serde_json::json;

use super::Ids;
use crate::config::Usage;
use crate::reply::Reply;
use crate::sse::{self, Frames};

/// The parts of every Chat Completions answer that do not depend on the request.
#[derive(Debug)]
pub(crate) struct Canned {
    /// Everything of the JSON completion after the model.
    completion_tail: String,
    usage: String,
    role_choice: &'static str,
    delta_choices: Vec<String>,
    finish_choice: &'static str,
}

impl Canned {
    pub(crate) fn new(reply: &Reply, usage: &Usage) -> Self {
        let usage = format!(
            r#"{{"prompt_tokens":{},"completion_tokens":{},"total_tokens":{},"prompt_tokens_details":{{"cached_tokens":{},"audio_tokens":0}},"completion_tokens_details":{{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}}"#,
            usage.openai_prompt_tokens(),
            usage.output_tokens,
            usage.openai_total_tokens(),
            usage.cache_read_input_tokens,
        );
        Self {
            completion_tail: format!(
                r#","choices":[{{"index":0,"message":{{"role":"assistant","content":{},"refusal":null,"annotations":[]}},"logprobs":null,"finish_reason":"stop"}}],"usage":{usage},"service_tier":"default","system_fingerprint":null}}"#,
                reply.full
            ),
            role_choice: r#"{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}"#,
            delta_choices: reply
                .deltas
                .iter()
                .map(|text| {
                    format!(
                        r#"{{"index":0,"delta":{{"content":{text}}},"logprobs":null,"finish_reason":null}}"#
                    )
                })
                .collect(),
            finish_choice: r#"{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}"#,
            usage,
        }
    }

    /// The non-streamed answer.
    pub(crate) fn completion(&self, ids: &Ids<'_>) -> Bytes {
        Bytes::from(format!(
            r#"{{"id":"chatcmpl-mock-{}","object":"chat.completion","created":{},"model":{}{}"#,
            ids.id, ids.created, ids.model_json, self.completion_tail
        ))
    }

    /// The frames of the streamed answer.
    pub(crate) fn stream(&self, ids: &Ids<'_>, include_usage: bool) -> Frames {
        let prefix = format!(
            r#"{{"id":"chatcmpl-mock-{}","object":"chat.completion.chunk","created":{},"model":{},"service_tier":"default","system_fingerprint":null,"choices":["#,
            ids.id, ids.created, ids.model_json
        );
        let suffix = if include_usage {
            r#"],"usage":null}"#
        } else {
            "]}"
        };
        let chunk = |choice: &str| sse::data(&[&prefix, choice, suffix]);
        let mut tail = vec![chunk(self.finish_choice)];
        if include_usage {
            tail.push(sse::data(&[&prefix, r#"],"usage":"#, &self.usage, "}"]));
        }
        tail.push(Bytes::from_static(b"data: [DONE]\n\n"));
        Frames {
            head: vec![chunk(self.role_choice)],
            deltas: self.delta_choices.iter().map(|c| chunk(c)).collect(),
            tail,
        }
    }
}

/// `data: {"error":{…}}` sent after a 200.
pub(crate) fn stream_error(error_type: &str, message: &str) -> Bytes {
    let body = json!({
        "error": {"message": message, "type": error_type, "param": null, "code": null},
    });
    sse::data(&[&body.to_string()])
}
