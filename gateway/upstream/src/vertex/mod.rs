//! Google Vertex AI as a target of the Anthropic upstream: the request as `rawPredict` /
//! `streamRawPredict` takes it ([`Target::prepare`]: project, region and model id in the path,
//! body transformed by `body.rs`, a bearer token) and the answer back (a JSON answer and the
//! SSE stream already are Anthropic's and pass through unchanged; `errors.rs`: a Google-shaped
//! error body rewritten as the Anthropic error it means).
//!
//! The token is either the configured access token (the target's key pool) or a service
//! account's, exchanged with the JWT-bearer grant over the shared client and cached by
//! `token.rs`. An exchange that fails is an attempt failure ([`UpstreamError::Credentials`]),
//! so the request goes on to the next target; nothing was sent to Vertex.
//!
//! Only the client's `anthropic-beta` crosses: none of `anthropic-version`, `x-api-key`,
//! `authorization` or the client's other headers are sent to Vertex.

mod body;
mod errors;
mod token;

use std::{collections::BTreeMap, time::SystemTime};

use bytes::Bytes;
use gateway_config::{ServiceAccount, Vertex, VertexAuth};
use gateway_core::Secret;
use http::{HeaderMap, HeaderValue, Method, Request, header};
use tokio::time::Instant;

pub(crate) use errors::anthropic_error;
pub use token::TokenError;
use token::{Fresh, TokenCache};

use crate::{ClientError, Fetcher, Outbound, UpstreamError, bedrock::Prepared};

/// A service account with its parsed key and its cached token.
struct Account {
    account: ServiceAccount,
    key: jsonwebtoken::EncodingKey,
    cache: TokenCache,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

/// A Vertex target's runtime settings.
#[derive(Debug)]
pub(crate) struct Target {
    project: String,
    region: String,
    models: BTreeMap<String, String>,
    /// `None`: the configured access token in the key pool.
    account: Option<Account>,
}

impl Target {
    /// The target named `name` with settings `v`; the service account's key must parse.
    pub(crate) fn new(v: &Vertex, name: &str) -> Result<Self, ClientError> {
        let account = match &v.auth {
            VertexAuth::AccessToken => None,
            VertexAuth::ServiceAccount(account) => {
                let key = jsonwebtoken::EncodingKey::from_rsa_pem(
                    account.private_key.expose().as_bytes(),
                )
                .map_err(|_| ClientError::VertexKey {
                    target: name.to_owned(),
                })?;
                Some(Account {
                    account: account.clone(),
                    key,
                    cache: TokenCache::default(),
                })
            }
        };
        Ok(Self {
            project: v.project.clone(),
            region: v.region.clone(),
            models: v.models.clone(),
            account,
        })
    }

    /// The Vertex model id of the client's `model`: mapped, or already a Vertex id (with
    /// `@`, and nothing that would change the path).
    pub(crate) fn model_id<'a>(&'a self, model: &'a str) -> Option<&'a str> {
        match self.models.get(model) {
            Some(id) => Some(id),
            None => (model.contains('@')
                && model
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'@' | b'-' | b'.' | b'_')))
            .then_some(model),
        }
    }

    /// The path of `model_id`'s endpoint under the base URL.
    fn path(&self, model_id: &str, stream: bool) -> String {
        let method = if stream {
            "streamRawPredict"
        } else {
            "rawPredict"
        };
        format!(
            "/v1/projects/{}/locations/{}/publishers/anthropic/models/{model_id}:{method}",
            self.project, self.region
        )
    }

    /// The request for `out` at `base`, with `key` (the access token; unused for a service
    /// account, whose token comes from the cache or an exchange through `fetcher`). A route
    /// other than `/v1/messages`, or a model the target has no id for, is
    /// [`UpstreamError::Skipped`].
    pub(crate) async fn prepare(
        &self,
        base: &str,
        out: &Outbound<'_>,
        key: &Secret<String>,
        fetcher: &Fetcher,
    ) -> Result<Prepared, UpstreamError> {
        let provider = out.provider;
        if out.path != "/v1/messages" {
            return Err(UpstreamError::Skipped {
                provider,
                reason: "unsupported_route",
            });
        }
        let t = body::transform(&out.body).map_err(|e| UpstreamError::Request {
            provider,
            source: Box::new(e),
        })?;
        let Some(id) = t.model.as_deref().and_then(|m| self.model_id(m)) else {
            return Err(UpstreamError::Skipped {
                provider,
                reason: "unmapped_model",
            });
        };
        let uri = format!("{base}{}", self.path(id, t.stream));
        let token = match &self.account {
            None => key.clone(),
            Some(a) => a
                .cache
                .token(Instant::now, || exchange(a, fetcher))
                .await
                .map_err(|source| UpstreamError::Credentials { provider, source })?,
        };
        let mut headers = HeaderMap::with_capacity(8);
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        let mut bearer =
            HeaderValue::try_from(format!("Bearer {}", token.expose())).map_err(|_| {
                UpstreamError::Credentials {
                    provider,
                    source: TokenError::Malformed,
                }
            })?;
        bearer.set_sensitive(true);
        headers.insert(header::AUTHORIZATION, bearer);
        for beta in out.headers.get_all("anthropic-beta") {
            headers.append("anthropic-beta", beta.clone());
        }
        crate::headers::insert_accept(&mut headers, t.stream, "text/event-stream");
        Ok(Prepared {
            uri,
            headers,
            body: Bytes::from(t.body),
        })
    }

    /// Vertex refused the token (401): forgets a service account's token so the next send
    /// exchanges a new one. False for a configured access token (nothing to renew).
    pub(crate) async fn forget_token(&self) -> bool {
        match &self.account {
            Some(a) => {
                a.cache.forget().await;
                true
            }
            None => false,
        }
    }
}

/// One JWT-bearer exchange for `a`'s token.
async fn exchange(a: &Account, fetcher: &Fetcher) -> Result<Fresh, TokenError> {
    let assertion = token::assertion(&a.account, &a.key, SystemTime::now())?;
    let form = format!(
        "grant_type={}&assertion={}",
        token::GRANT_TYPE,
        assertion.expose()
    );
    let request = Request::builder()
        .method(Method::POST)
        .uri(a.account.token_uri.as_str())
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .body(Bytes::from(form))
        .map_err(|_| TokenError::Unreachable("request"))?;
    let (status, body) = fetcher
        .send(request, token::TOKEN_FETCH_TIMEOUT)
        .await
        .map_err(|e| {
            TokenError::Unreachable(match e {
                crate::FetchFailure::Timeout(_) => "timeout",
                crate::FetchFailure::Request(_) => "connect",
                crate::FetchFailure::Body(_) => "body",
            })
        })?;
    if !status.is_success() {
        tracing::warn!(status = status.as_u16(), "vertex token exchange refused");
        return Err(TokenError::Refused(status.as_u16()));
    }
    token::parse_answer(&body)
}

#[cfg(test)]
mod tests;
