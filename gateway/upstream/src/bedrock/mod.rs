//! AWS Bedrock as a target of the Anthropic upstream: the request as Bedrock's
//! `InvokeModel` / `InvokeModelWithResponseStream` takes it ([`Target::prepare`]: model id in
//! the path, body transformed by `body.rs`, SigV4 or bearer by `sign.rs`) and the answer
//! back as Anthropic's (`events.rs`: the event stream re-emitted as SSE; a JSON answer is
//! already Anthropic's shape and passes through).
//!
//! Only the client's headers that describe the body cross: none of `anthropic-version`,
//! `x-api-key`, `anthropic-beta` (its allowed values move into the body) or the client's
//! other headers are sent to Bedrock.

mod body;
mod events;
mod sign;

use std::{collections::BTreeMap, time::SystemTime};

use bytes::Bytes;
use gateway_config::{Bedrock, BedrockAuth};
use gateway_core::Secret;
use gateway_metrics::Metrics;
use http::{HeaderMap, HeaderValue, header};

pub(crate) use events::EventStream;
pub use events::{DecodeError, FRAME_MAX_BYTES};

use crate::{Outbound, UpstreamError};

/// The content type of Bedrock's streamed answers.
pub(crate) const EVENT_STREAM_CONTENT_TYPE: &str = "application/vnd.amazon.eventstream";

/// A Bedrock target's runtime settings.
#[derive(Debug)]
pub(crate) struct Target {
    region: String,
    auth: BedrockAuth,
    models: BTreeMap<String, String>,
    betas: Vec<String>,
}

/// One attempt's request, ready to send.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub(crate) uri: String,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Target {
    pub(crate) fn new(b: &Bedrock) -> Self {
        Self {
            region: b.region.clone(),
            auth: b.auth.clone(),
            models: b.models.clone(),
            betas: b.betas.clone(),
        }
    }

    /// The Bedrock model id of the client's `model`: mapped, or already a Bedrock id.
    fn model_id<'a>(&'a self, model: &'a str) -> Option<&'a str> {
        match self.models.get(model) {
            Some(id) => Some(id),
            None => model.contains("anthropic.").then_some(model),
        }
    }

    /// The request for `out` at `base` with `key` (a Bedrock API key; unused for SigV4).
    /// A route other than `/v1/messages`, or a model the target has no id for, is
    /// [`UpstreamError::Skipped`]: the target cannot serve this request.
    pub(crate) fn prepare(
        &self,
        base: &str,
        out: &Outbound<'_>,
        key: &Secret<String>,
        metrics: &Metrics,
        target: &str,
    ) -> Result<Prepared, UpstreamError> {
        let provider = out.provider;
        if out.path != "/v1/messages" {
            return Err(UpstreamError::Skipped {
                provider,
                reason: "unsupported_route",
            });
        }
        let t = body::transform(&out.body, out.headers, &self.betas).map_err(|e| {
            UpstreamError::Request {
                provider,
                source: Box::new(e),
            }
        })?;
        let Some(id) = t.model.as_deref().and_then(|m| self.model_id(m)) else {
            return Err(UpstreamError::Skipped {
                provider,
                reason: "unmapped_model",
            });
        };
        for param in &t.stripped {
            metrics
                .resilience
                .params_stripped_total
                .with_label_values(&[target, param])
                .inc();
        }
        let action = if t.stream {
            "invoke-with-response-stream"
        } else {
            "invoke"
        };
        // Built once: this exact string is signed and sent.
        let uri = format!("{base}/model/{}/{action}", sign::encode_model_id(id));
        let mut headers = HeaderMap::with_capacity(8);
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        match &self.auth {
            BedrockAuth::SigV4(creds) => {
                sign::sigv4(
                    creds,
                    &self.region,
                    &uri,
                    &mut headers,
                    &t.body,
                    SystemTime::now(),
                )
                .map_err(|source| UpstreamError::Request { provider, source })?;
            }
            BedrockAuth::ApiKey => sign::bearer(&mut headers, key),
        }
        // Unsigned: they do not change what is asked.
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static(if t.stream {
                EVENT_STREAM_CONTENT_TYPE
            } else {
                "application/json"
            }),
        );
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("identity"),
        );
        Ok(Prepared {
            uri,
            headers,
            body: Bytes::from(t.body),
        })
    }
}

/// Whether a Bedrock answer's head announces an event stream.
pub(crate) fn is_event_stream(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(EVENT_STREAM_CONTENT_TYPE))
}
