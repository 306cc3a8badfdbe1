//! AWS Bedrock as a target of the Anthropic upstream: the request as Bedrock's
//! `InvokeModel` / `InvokeModelWithResponseStream` takes it ([`Target::prepare`]: model id in
//! the path, body transformed by `body.rs`, SigV4 or bearer by `sign.rs`) and the answer
//! back as Anthropic's (`events.rs`: the event stream re-emitted as SSE; a JSON answer is
//! already Anthropic's shape and passes through; `errors.rs`: an error answer's
//! `{"message"}` body rewritten as the Anthropic error of its `x-amzn-errortype`).
//!
//! Only the client's headers that describe the body cross: none of `anthropic-version`,
//! `x-api-key`, `anthropic-beta` (its allowed values move into the body) or the client's
//! other headers are sent to Bedrock.

pub(crate) mod body;
mod errors;
mod events;
mod sign;

use std::{collections::BTreeMap, time::SystemTime};

use bytes::Bytes;
use gateway_config::{Bedrock, BedrockAuth};
use gateway_core::Secret;
use gateway_metrics::{IntCounter, Metrics};
use http::{HeaderMap, HeaderValue, header};

pub(crate) use errors::anthropic_error;
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
    /// This target's `upstream_eventstream_decode_errors_total` series.
    decode_errors: IntCounter,
}

/// One attempt's request, ready to send.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub(crate) uri: String,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Target {
    /// The target named `name` (its metric label) with settings `b`.
    pub(crate) fn new(b: &Bedrock, name: &str, metrics: &Metrics) -> Self {
        Self {
            region: b.region.clone(),
            auth: b.auth.clone(),
            models: b.models.clone(),
            betas: b.betas.clone(),
            decode_errors: metrics
                .resilience
                .eventstream_decode_errors_total
                .with_label_values(&[name]),
        }
    }

    /// The event stream of a streamed answer's `body`, re-emitted as SSE.
    pub(crate) fn event_stream(&self, body: hyper::body::Incoming) -> EventStream {
        EventStream::new(body, self.decode_errors.clone())
    }

    /// The Bedrock model id of the client's `model`: mapped, or already a Bedrock id.
    pub(crate) fn model_id<'a>(&'a self, model: &'a str) -> Option<&'a str> {
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
        crate::headers::insert_accept(&mut headers, t.stream, EVENT_STREAM_CONTENT_TYPE);
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

#[cfg(test)]
mod tests {
    use gateway_config::AwsCredentials;
    use gateway_core::Provider;
    use http::Method;

    use super::*;

    fn target(auth: BedrockAuth) -> Target {
        Target {
            region: "us-east-1".to_owned(),
            auth,
            models: BTreeMap::from([(
                "claude-sonnet-4-5".to_owned(),
                "us.anthropic.claude-sonnet-4-5-20250929-v1:0".to_owned(),
            )]),
            betas: vec!["interleaved-thinking-2025-05-14".to_owned()],
            decode_errors: IntCounter::new("decode_errors", "test").unwrap(),
        }
    }

    fn outbound<'a>(headers: &'a HeaderMap, body: &str) -> Outbound<'a> {
        Outbound {
            provider: Provider::Anthropic,
            method: Method::POST,
            path: "/v1/messages",
            query: None,
            headers,
            body: Bytes::copy_from_slice(body.as_bytes()),
        }
    }

    #[test]
    fn the_request_is_signed_for_the_encoded_path_and_carries_no_client_headers() {
        let creds = AwsCredentials {
            access_key_id: Secret::new("AKIDEXAMPLE".to_owned()),
            secret_access_key: Secret::new("secret".to_owned()),
            session_token: None,
        };
        let mut client = HeaderMap::new();
        client.insert("anthropic-version", HeaderValue::from_static("2023-06-01"));
        client.insert("x-api-key", HeaderValue::from_static("sk-client"));
        client.insert(
            "anthropic-beta",
            HeaderValue::from_static("claude-code-20250219,interleaved-thinking-2025-05-14"),
        );
        let metrics = Metrics::new().unwrap();
        let body = r#"{"model":"claude-sonnet-4-5","stream":true,"max_tokens":5,"messages":[]}"#;
        let p = target(BedrockAuth::SigV4(creds))
            .prepare(
                "http://127.0.0.1:1",
                &outbound(&client, body),
                &Secret::new(String::new()),
                &metrics,
                "bedrock",
            )
            .unwrap();
        assert_eq!(
            p.uri,
            "http://127.0.0.1:1/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke-with-response-stream"
        );
        for gone in ["anthropic-version", "x-api-key", "anthropic-beta"] {
            assert!(!p.headers.contains_key(gone), "{gone}");
        }
        assert!(p.headers.contains_key("x-amz-date"));
        assert_eq!(p.headers[header::ACCEPT], EVENT_STREAM_CONTENT_TYPE);
        assert_eq!(
            std::str::from_utf8(&p.body).unwrap(),
            r#"{"anthropic_version":"bedrock-2023-05-31","anthropic_beta":["interleaved-thinking-2025-05-14"],"max_tokens":5,"messages":[]}"#
        );
        let m = metrics.render();
        assert!(
            m.contains(r#"llm_gateway_upstream_params_stripped_total{param="anthropic_beta",target="bedrock"} 1"#),
            "{m}"
        );
    }

    #[test]
    fn an_unmapped_model_or_another_route_skips_the_target_and_a_bedrock_id_passes() {
        let headers = HeaderMap::new();
        let metrics = Metrics::new().unwrap();
        let key = Secret::new("bedrock-key".to_owned());
        let t = target(BedrockAuth::ApiKey);
        let skipped = t.prepare(
            "http://h",
            &outbound(&headers, r#"{"model":"claude-x"}"#),
            &key,
            &metrics,
            "b",
        );
        assert!(matches!(
            skipped,
            Err(UpstreamError::Skipped {
                reason: "unmapped_model",
                ..
            })
        ));
        let mut count = outbound(&headers, r#"{"model":"claude-sonnet-4-5"}"#);
        count.path = "/v1/messages/count_tokens";
        assert!(matches!(
            t.prepare("http://h", &count, &key, &metrics, "b"),
            Err(UpstreamError::Skipped {
                reason: "unsupported_route",
                ..
            })
        ));
        let p = t
            .prepare(
                "http://h",
                &outbound(
                    &headers,
                    r#"{"model":"anthropic.claude-3-haiku-20240307-v1:0"}"#,
                ),
                &key,
                &metrics,
                "b",
            )
            .unwrap();
        assert_eq!(
            p.uri,
            "http://h/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke"
        );
        assert_eq!(p.headers[header::AUTHORIZATION], "Bearer bedrock-key");
    }
}
