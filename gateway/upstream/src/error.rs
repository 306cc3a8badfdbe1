//! [`UpstreamError`]: transport failures talking to a provider.

use std::{error::Error as StdError, time::Duration};

use gateway_core::{ErrorKind, GatewayError};

use gateway_core::Provider;

/// A request that got no answer from the provider. Provider error responses are not errors
/// here: they are relayed unchanged.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// The route's provider has no `[upstreams.*]` section.
    #[error("no {} upstream is configured", provider.as_label())]
    NotConfigured {
        /// The provider.
        provider: Provider,
    },
    /// TCP or TLS connection failed.
    #[error("cannot connect to the {} upstream", provider.as_label())]
    Connect {
        /// The provider.
        provider: Provider,
        /// The cause.
        #[source]
        source: Box<dyn StdError + Send + Sync>,
    },
    /// Connecting timed out, or no response head came before the request deadline.
    #[error("the {} upstream did not answer within {after:?}", provider.as_label())]
    Timeout {
        /// The provider.
        provider: Provider,
        /// The budget that ran out.
        after: Duration,
    },
    /// The answer did not commit (response head, or a stream's first content event) within
    /// `forwarding.ttft_timeout_ms`.
    #[error("the {} upstream did not start answering within {after:?}", provider.as_label())]
    Stalled {
        /// The provider.
        provider: Provider,
        /// The budget that ran out.
        after: Duration,
    },
    /// A stream broke after its head, before its first content event.
    #[error("the {} upstream stream broke before its first content event", provider.as_label())]
    BrokeBeforeCommit {
        /// The provider.
        provider: Provider,
        /// The cause.
        #[source]
        source: Box<dyn StdError + Send + Sync>,
    },
    /// The target cannot serve this request (a model it has no id for, a route it lacks):
    /// nothing was sent.
    #[error("the {} upstream target cannot serve this request ({reason})", provider.as_label())]
    Skipped {
        /// The provider.
        provider: Provider,
        /// `unmapped_model` or `unsupported_route`.
        reason: &'static str,
    },
    /// No credential could be had for the target (a Vertex service account's token exchange
    /// failed): nothing was sent to it.
    #[error("the {} upstream target's credentials are unavailable", provider.as_label())]
    Credentials {
        /// The provider.
        provider: Provider,
        /// Why (no token or assertion in it).
        #[source]
        source: crate::TokenError,
    },
    /// The request failed after connecting (reset, protocol error).
    #[error("the {} upstream request failed", provider.as_label())]
    Request {
        /// The provider.
        provider: Provider,
        /// The cause.
        #[source]
        source: Box<dyn StdError + Send + Sync>,
    },
}

impl UpstreamError {
    pub(crate) fn from_client(provider: Provider, e: hyper_util::client::legacy::Error) -> Self {
        if e.is_connect() {
            let mut cause = e.source();
            let mut timed_out = false;
            while let Some(c) = cause {
                timed_out |= c
                    .downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut);
                cause = c.source();
            }
            if timed_out {
                return Self::Timeout {
                    provider,
                    after: Duration::ZERO,
                };
            }
            return Self::Connect {
                provider,
                source: Box::new(e),
            };
        }
        Self::Request {
            provider,
            source: Box::new(e),
        }
    }

    /// A stable label for logs and `upstream_errors_total{kind}`.
    pub fn as_label(&self) -> &'static str {
        match self {
            Self::NotConfigured { .. } => "not_configured",
            Self::Connect { .. } => "connect",
            Self::Timeout { .. } => "timeout",
            Self::Request { .. } => "request",
            Self::Stalled { .. } => "stall",
            Self::BrokeBeforeCommit { .. } => "broken_before_commit",
            Self::Skipped { reason, .. } => reason,
            Self::Credentials { .. } => "credentials",
        }
    }
}

impl From<UpstreamError> for GatewayError {
    fn from(e: UpstreamError) -> Self {
        let (kind, message) = match &e {
            UpstreamError::NotConfigured { provider } => (
                ErrorKind::NotConfigured,
                format!(
                    "this gateway has no {} upstream configured; ask its operator to configure [upstreams.{}] with its key",
                    provider.as_label(),
                    provider.as_label()
                ),
            ),
            UpstreamError::Connect { provider, .. } => (
                ErrorKind::UpstreamUnreachable,
                format!(
                    "the gateway could not reach the {} API; retry in a few seconds, and tell the gateway operator if it persists",
                    provider.as_label()
                ),
            ),
            UpstreamError::Timeout { provider, .. } => (
                ErrorKind::UpstreamTimeout,
                format!(
                    "the {} API did not answer in time; retry the request",
                    provider.as_label()
                ),
            ),
            UpstreamError::Stalled { provider, .. } => (
                ErrorKind::UpstreamTimeout,
                format!(
                    "the {} API did not start answering in time; retry the request",
                    provider.as_label()
                ),
            ),
            UpstreamError::BrokeBeforeCommit { provider, .. } => (
                ErrorKind::UpstreamUnreachable,
                format!(
                    "the connection to the {} API broke before it answered; retry the request",
                    provider.as_label()
                ),
            ),
            UpstreamError::Skipped { provider, .. } => (
                ErrorKind::NotConfigured,
                format!(
                    "no configured {} upstream target can serve this model or route; use another model or ask the gateway operator to map it",
                    provider.as_label()
                ),
            ),
            UpstreamError::Credentials { provider, .. } => (
                ErrorKind::UpstreamUnreachable,
                format!(
                    "the gateway could not authenticate to a {} fallback target; retry in a few seconds, and tell the gateway operator if it persists",
                    provider.as_label()
                ),
            ),
            UpstreamError::Request { provider, .. } => (
                ErrorKind::UpstreamUnreachable,
                format!(
                    "the connection to the {} API failed before it answered; retry the request",
                    provider.as_label()
                ),
            ),
        };
        GatewayError::new(kind, message).with_source(e)
    }
}
