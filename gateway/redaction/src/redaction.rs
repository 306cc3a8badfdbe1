//! [`Redaction`]: every model request body is scanned before it leaves for the provider;
//! secrets become deterministic placeholders (`gwx_<kind>_<16>`), so the provider's prompt
//! cache still hits on the next turn. A body the gateway cannot read (not JSON; compressed
//! bodies are decoded earlier, by the intake stage) is refused, never forwarded unscanned. Only
//! rule names and counts are logged or counted.
//!
//! The request's policy decides the details (`[policy.redaction]`): extra rules and an
//! allowlist (its engine, from [`Redactors`]), `enabled = false` (forwarded unscanned, said so
//! in [`Redacted::scanned`]), and `restore = true` (the restore map is kept for the response,
//! see [`crate::restore`]). The gateway-wide `[redaction] enabled` switch comes first.

use std::sync::Arc;

use bytes::Bytes;
use gateway_core::{Api, ErrorKind, GatewayError};
use gateway_metrics::Metrics;
use gateway_policy::{Policy, PolicyErrors, PolicySet};
use gateway_redact::{HistoryCache, RedactError, RestoreMap, Scope, TenantKey};

use crate::redactors::{Prepared, Redactors, SetupError};

/// What the redaction stage hands the later stages.
#[derive(Debug)]
pub struct Redacted {
    /// The body to forward.
    pub body: Bytes,
    /// Whether `body` went through the scanner (false: redaction off for the gateway or the
    /// policy, or a route without a model body).
    pub scanned: bool,
    /// Replacements by rule name (value-free), for transcripts.
    pub redactions: Vec<(&'static str, u32)>,
    /// Placeholder → original for this request, only when the policy restores and something
    /// was redacted. Never logged (masked `Debug`).
    pub restore: Option<Arc<RestoreMap>>,
}

impl Redacted {
    /// `body` as is, not scanned.
    pub fn unscanned(body: Bytes) -> Self {
        Self {
            body,
            scanned: false,
            redactions: Vec::new(),
            restore: None,
        }
    }

    fn clean(body: Bytes) -> Self {
        Self {
            scanned: true,
            ..Self::unscanned(body)
        }
    }
}

/// The scanner and its memory of unchanged history blocks.
#[derive(Debug)]
pub struct Redaction {
    redactors: Redactors,
    /// Sharded inside; shared by all requests without a lock around the scan.
    cache: HistoryCache,
}

/// Redaction could not start.
#[derive(Debug, thiserror::Error)]
pub enum RedactionSetupError {
    /// `redaction.key_env` holds an unusable key.
    #[error("redaction: {0}")]
    Key(#[source] RedactError),
    /// The built-in rule set does not compile (a bug).
    #[error("redaction: {0}")]
    Engine(#[source] RedactError),
    /// A policy's `[policy.redaction]` rules were refused by the engine.
    #[error("redaction: {0}")]
    Policies(PolicyErrors),
}

impl Redaction {
    /// `None` when redaction is switched off. Builds the engine of every policy of `policies`
    /// that adds rules or an allowlist; a rule the engine refuses is a policy problem.
    pub fn new(
        config: &gateway_config::Redaction,
        policies: &PolicySet,
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
        let key = TenantKey::new(key).map_err(RedactionSetupError::Key)?;
        let redactors = Redactors::new(key, policies).map_err(|e| match e {
            SetupError::Engine(e) => RedactionSetupError::Engine(e),
            SetupError::Policies(p) => RedactionSetupError::Policies(p),
        })?;
        Ok(Some(Self {
            redactors,
            cache: HistoryCache::new(config.history_cache_entries),
        }))
    }

    /// Builds every engine `set` needs, as [`Redaction::new`] does at start, and drops them:
    /// `check-policies` refuses exactly what `serve` would refuse.
    pub fn check(set: &PolicySet) -> Result<(), PolicyErrors> {
        // The key changes no rule; any valid key builds the same engines.
        let key = TenantKey::new(*b"check-policies-only-key").map_err(|e| {
            PolicyErrors(vec![gateway_policy::PolicyProblem {
                file: String::new(),
                line: None,
                key: "redaction".to_owned(),
                message: e.to_string(),
            }])
        })?;
        match Redactors::new(key, set) {
            Ok(_) => Ok(()),
            Err(SetupError::Policies(errors)) => Err(errors),
            Err(SetupError::Engine(e)) => Err(PolicyErrors(vec![gateway_policy::PolicyProblem {
                file: String::new(),
                line: None,
                key: "redaction".to_owned(),
                message: format!("the built-in rules do not compile (a bug): {e}"),
            }])),
        }
    }

    /// Builds the engines a new policy set needs, before it goes live (hot reload).
    pub fn prepare(&self, set: &PolicySet) -> Result<Prepared, PolicyErrors> {
        self.redactors.prepare(set)
    }

    /// Puts engines from [`Redaction::prepare`] in force.
    pub fn install(&self, prepared: Prepared) {
        self.redactors.install(prepared);
    }

    /// The body with every secret replaced (the input itself, no copy, when none was found),
    /// under the rules of `policy` (the request's, if it has one), with placeholders minted
    /// under `org`'s key (two organisations never share a placeholder).
    pub fn redact(
        &self,
        api: Api,
        policy: Option<&Policy>,
        org: Option<&str>,
        body: Bytes,
        metrics: &Metrics,
    ) -> Result<Redacted, GatewayError> {
        if let Some(p) = policy.filter(|p| !p.redaction.enabled) {
            tracing::debug!(policy = %p.name, "redaction is off for this policy: forwarded unscanned");
            return Ok(Redacted::unscanned(body));
        }
        if body.is_empty() {
            return Ok(Redacted::clean(body));
        }
        let redactor = self.redactors.for_policy(policy).map_err(|e| {
            GatewayError::new(
                ErrorKind::Internal,
                "the secret scanner for your policy could not be built; the request was not forwarded",
            )
            .with_source(e)
        })?;
        let redaction = redactor
            .redact_request_in(&body, api, &self.cache, Scope::for_org(org))
            .map_err(refusal)?;
        if redaction.is_unchanged() {
            return Ok(Redacted::clean(body));
        }
        let (redacted, report, restore) = redaction.into_parts();
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
        let restores = policy.is_some_and(|p| p.redaction.restore) && !restore.is_empty();
        Ok(Redacted {
            body: Bytes::from(redacted.into_owned()),
            scanned: true,
            redactions: report.counts().collect(),
            restore: restores.then(|| Arc::new(restore)),
        })
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
