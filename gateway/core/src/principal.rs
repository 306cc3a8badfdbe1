//! [`Principal`]: the authenticated caller.

/// Who a request is from. Built only by authentication; every later stage (quota, transcripts,
/// metrics) keys on it. Holds identifiers, never the credential that proved them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The user or service (`sub` claim, or the static key's `subject`).
    pub subject: String,
    /// The organisation the subject belongs to, when known.
    pub org: Option<String>,
    /// The plan that selects quota policies, when known.
    pub plan: Option<String>,
    /// A token identifier (`jti`), for run-scoped budgets.
    pub token_id: Option<String>,
    /// A spending cap for this token's agent run (`max_usd` claim), in micro-USD. The quota
    /// stage holds it as one more bucket, keyed by `token_id`.
    pub run_budget_micro_usd: Option<u64>,
}

impl Principal {
    /// A principal with only a subject.
    pub fn subject(subject: impl Into<String>) -> Self {
        Self {
            subject: subject.into(),
            org: None,
            plan: None,
            token_id: None,
            run_budget_micro_usd: None,
        }
    }
}
