//! The redaction stage: every model request body is scanned before it leaves for the provider;
//! secrets become deterministic placeholders (`gwx_<kind>_<16>`), so the provider's prompt
//! cache still hits on the next turn. A body the gateway cannot read (compressed, not JSON) is
//! refused, never forwarded unscanned. Only rule names and counts are logged or counted.
//!
//! Not yet here: per-policy switches, allowlists and extra rules; restoring placeholders in
//! responses (the engine's `Restorer` exists).

use std::sync::{Mutex, PoisonError};

use bytes::Bytes;
use gateway_core::{ErrorKind, GatewayError};
use gateway_metrics::Metrics;
use gateway_redact::{HistoryCache, RedactError, Redactor, RedactorConfig, Surface, TenantKey};
use http::{HeaderMap, header};

use crate::routes::Endpoint;

/// The scanner and its memory of unchanged history blocks.
#[derive(Debug)]
pub(crate) struct Redaction {
    redactor: Redactor,
    cache: Mutex<HistoryCache>,
}

/// Redaction could not start.
#[derive(Debug, thiserror::Error)]
#[error("redaction: {0}")]
pub struct RedactionSetupError(String);

impl Redaction {
    /// `None` when redaction is switched off.
    pub(crate) fn new(
        config: &gateway_config::Redaction,
    ) -> Result<Option<Self>, RedactionSetupError> {
        if !config.enabled {
            tracing::warn!("secret redaction is OFF: request bodies reach the provider unscanned");
            return Ok(None);
        }
        let key = match &config.key {
            Some(key) => key.expose().clone(),
            None => {
                tracing::warn!(
                    "redaction.key_env is not set: placeholders use a random key and change on restart and between replicas"
                );
                let random = format!(
                    "{}{}",
                    uuid::Uuid::new_v4().simple(),
                    uuid::Uuid::new_v4().simple()
                );
                random.into_bytes()
            }
        };
        let key = TenantKey::new(key).map_err(|e| RedactionSetupError(e.to_string()))?;
        let redactor = Redactor::new(RedactorConfig::new(key))
            .map_err(|e| RedactionSetupError(e.to_string()))?;
        Ok(Some(Self {
            redactor,
            cache: Mutex::new(HistoryCache::new(config.history_cache_entries)),
        }))
    }

    /// The body with every secret replaced; the input itself (no copy) when none was found.
    pub(crate) fn redact(
        &self,
        endpoint: Endpoint,
        headers: &HeaderMap,
        body: Bytes,
        metrics: &Metrics,
    ) -> Result<Bytes, GatewayError> {
        let surface = match endpoint {
            Endpoint::Messages | Endpoint::CountTokens => Surface::AnthropicMessages,
            Endpoint::ChatCompletions => Surface::OpenAiChat,
            Endpoint::Responses => Surface::OpenAiResponses,
            Endpoint::Models => return Ok(body),
        };
        if let Some(encoding) = headers
            .get(header::CONTENT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.trim().eq_ignore_ascii_case("identity"))
        {
            return Err(GatewayError::new(
                ErrorKind::UnsupportedMediaType,
                format!(
                    "request bodies with content-encoding `{encoding}` are not accepted: the gateway scans every request for secrets before forwarding it; send the body uncompressed"
                ),
            ));
        }
        if body.is_empty() {
            return Ok(body);
        }
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        let redaction = self
            .redactor
            .redact_request(&body, surface, &mut cache)
            .map_err(refusal)?;
        drop(cache);
        if redaction.is_unchanged() {
            return Ok(body);
        }
        let (redacted, report, _restore) = redaction.into_parts();
        let mut rules = String::new();
        for (rule, count) in report.counts() {
            metrics
                .redactions_total
                .with_label_values(&[rule])
                .inc_by(u64::from(count));
            if !rules.is_empty() {
                rules.push(',');
            }
            rules.push_str(&format!("{rule}:{count}"));
        }
        tracing::info!(redacted = report.total(), rules = %rules, "secrets redacted");
        Ok(Bytes::from(redacted.into_owned()))
    }
}

fn refusal(e: RedactError) -> GatewayError {
    let kind = match e {
        RedactError::TooLarge { .. } => ErrorKind::RequestTooLarge,
        _ => ErrorKind::InvalidRequest,
    };
    GatewayError::new(
        kind,
        format!("the request body cannot be read ({e}); the gateway scans every request for secrets and does not forward a body it cannot read: send valid UTF-8 JSON"),
    )
    .with_source(e)
}
