//! [`Introspector`]: opaque product tokens checked with OAuth 2.0 token introspection
//! (RFC 7662) against the operator's authorization server.

use std::{sync::Arc, time::Duration};

use base64::Engine;
use bytes::Bytes;
use gateway_config::Introspection;
use gateway_core::{Principal, Secret};
use http::{HeaderValue, Method, header};
use serde_json::{Map, Value};

use crate::{
    AuthError,
    fetch::{FetchRequest, HttpFetch},
    jwt::{principal_from_claims, seconds_until},
};

/// Checks opaque tokens with the introspection endpoint.
#[derive(Debug)]
pub(crate) struct Introspector {
    config: Introspection,
    basic: Secret<String>,
    fetch: Arc<dyn HttpFetch>,
}

impl Introspector {
    pub(crate) fn new(config: &Introspection, fetch: Arc<dyn HttpFetch>) -> Self {
        let pair = format!("{}:{}", config.client_id, config.client_secret.expose());
        Self {
            basic: Secret::new(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(pair)
            )),
            config: config.clone(),
            fetch,
        }
    }

    /// Whether `token` is one this endpoint should be asked about.
    pub(crate) fn applies_to(&self, token: &str) -> bool {
        self.config.token_prefixes.is_empty()
            || self
                .config
                .token_prefixes
                .iter()
                .any(|p| token.starts_with(p.as_str()))
    }

    /// How long an inactive answer is remembered.
    pub(crate) fn negative_ttl(&self) -> Duration {
        self.config.negative_ttl
    }

    /// Asks the endpoint. Active → principal and cache lifetime; inactive → `Inactive`; no
    /// usable answer → `Unavailable` (never an accidental accept).
    pub(crate) async fn introspect(
        &self,
        token: &Secret<String>,
    ) -> Result<(Principal, Duration), AuthError> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("token", token.expose())
            .append_pair("token_type_hint", "access_token")
            .finish();
        let mut headers = http::HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        let mut auth =
            HeaderValue::from_str(self.basic.expose()).map_err(|_| AuthError::Unavailable)?;
        auth.set_sensitive(true);
        headers.insert(header::AUTHORIZATION, auth);
        let request = FetchRequest {
            method: Method::POST,
            url: self.config.endpoint.clone(),
            headers,
            body: Bytes::from(body),
            timeout: self.config.timeout,
        };
        let reply = self.fetch.fetch(request).await.map_err(|e| {
            tracing::warn!(
                error = %gateway_core::ErrorChain(&e),
                "token introspection failed"
            );
            AuthError::Unavailable
        })?;
        if reply.status != 200 {
            tracing::warn!(
                status = reply.status,
                "token introspection answered with an error"
            );
            return Err(AuthError::Unavailable);
        }
        let answer: Map<String, Value> = serde_json::from_slice(&reply.body).map_err(|_| {
            tracing::warn!("token introspection answered with something other than a JSON object");
            AuthError::Unavailable
        })?;
        if answer.get("active") != Some(&Value::Bool(true)) {
            return Err(AuthError::Inactive);
        }
        let ttl = match answer.get("exp").and_then(Value::as_u64) {
            Some(exp) => {
                let left = seconds_until(exp);
                if left.is_zero() {
                    return Err(AuthError::Expired {
                        at: std::time::UNIX_EPOCH + Duration::from_secs(exp),
                    });
                }
                left.min(self.config.max_ttl)
            }
            None => self.config.max_ttl,
        };
        let principal = principal_from_claims(&answer, &self.config.claims)?;
        Ok((principal, ttl))
    }
}
