//! [`Policy`] and the values it carries: [`Limits`], [`Match`], [`OnStoreError`], and the
//! [`Who`] / [`Scope`] a request is matched and counted under.

use gateway_core::Principal;

use crate::{RedactionSettings, TranscriptSettings, glob};

/// The limits of one bucket. `None` means "no limit of this kind". Every `Some` is greater
/// than zero. Money is integer micro-USD (`5.0` in a file is `5_000_000`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Limits {
    /// Requests started per minute.
    pub requests_per_minute: Option<u64>,
    /// Input + output tokens per minute.
    pub tokens_per_minute: Option<u64>,
    /// Input + output tokens per calendar day (UTC).
    pub tokens_per_day: Option<u64>,
    /// Spend per calendar day (UTC), micro-USD.
    pub usd_per_day: Option<u64>,
    /// Spend per calendar month (UTC), micro-USD.
    pub usd_per_month: Option<u64>,
}

/// One kind of limit, named as its key in a policy file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Limit {
    /// `requests_per_minute`
    RequestsPerMinute,
    /// `tokens_per_minute`
    TokensPerMinute,
    /// `tokens_per_day`
    TokensPerDay,
    /// `usd_per_day` (micro-USD)
    UsdPerDay,
    /// `usd_per_month` (micro-USD)
    UsdPerMonth,
}

impl Limit {
    /// Every kind, in file-documentation order.
    pub const ALL: [Limit; 5] = [
        Limit::RequestsPerMinute,
        Limit::TokensPerMinute,
        Limit::TokensPerDay,
        Limit::UsdPerDay,
        Limit::UsdPerMonth,
    ];

    /// The key in a policy file, e.g. `usd_per_day`. Also usable as a metric label.
    pub fn key(self) -> &'static str {
        match self {
            Limit::RequestsPerMinute => "requests_per_minute",
            Limit::TokensPerMinute => "tokens_per_minute",
            Limit::TokensPerDay => "tokens_per_day",
            Limit::UsdPerDay => "usd_per_day",
            Limit::UsdPerMonth => "usd_per_month",
        }
    }

    /// Whether the value is micro-USD (else a count of requests or tokens).
    pub fn is_money(self) -> bool {
        matches!(self, Limit::UsdPerDay | Limit::UsdPerMonth)
    }

    pub(crate) fn from_key(key: &str) -> Option<Limit> {
        Limit::ALL.into_iter().find(|l| l.key() == key)
    }
}

impl Limits {
    /// The value of one kind of limit.
    pub fn get(&self, limit: Limit) -> Option<u64> {
        *self.slot(limit)
    }

    /// Sets one kind of limit.
    pub fn set(&mut self, limit: Limit, value: Option<u64>) {
        *self.slot_mut(limit) = value;
    }

    /// The limits that are set, in [`Limit::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = (Limit, u64)> + '_ {
        Limit::ALL
            .into_iter()
            .filter_map(|l| self.get(l).map(|v| (l, v)))
    }

    /// Whether no limit is set.
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }

    /// Whether a money limit (`usd_per_day`, `usd_per_month`) is set.
    pub fn has_money(&self) -> bool {
        self.iter().any(|(l, _)| l.is_money())
    }

    fn slot(&self, limit: Limit) -> &Option<u64> {
        match limit {
            Limit::RequestsPerMinute => &self.requests_per_minute,
            Limit::TokensPerMinute => &self.tokens_per_minute,
            Limit::TokensPerDay => &self.tokens_per_day,
            Limit::UsdPerDay => &self.usd_per_day,
            Limit::UsdPerMonth => &self.usd_per_month,
        }
    }

    fn slot_mut(&mut self, limit: Limit) -> &mut Option<u64> {
        match limit {
            Limit::RequestsPerMinute => &mut self.requests_per_minute,
            Limit::TokensPerMinute => &mut self.tokens_per_minute,
            Limit::TokensPerDay => &mut self.tokens_per_day,
            Limit::UsdPerDay => &mut self.usd_per_day,
            Limit::UsdPerMonth => &mut self.usd_per_month,
        }
    }
}

/// What the quota stage does for this policy while the shared store (Redis) is unreachable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OnStoreError {
    /// Refuse the request (fail closed). The default when a `usd_*` limit is set.
    Deny,
    /// Count locally, allowing each replica [`Policy::local_share`] of every limit. The
    /// default when no `usd_*` limit is set.
    AllowLocal,
}

impl OnStoreError {
    /// The value as written in a policy file (`deny`, `allow_local`); also a metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            OnStoreError::Deny => "deny",
            OnStoreError::AllowLocal => "allow_local",
        }
    }
}

/// Which principals a policy applies to. Every field that is set must match (globs with `*`
/// and `?` allowed); a `Match` with no field set is the default policy's and matches anyone.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Match {
    /// Pattern for [`Who::subject`].
    pub subject: Option<String>,
    /// Pattern for [`Who::org`]; a principal without an org never matches it.
    pub org: Option<String>,
    /// Pattern for [`Who::plan`]; a principal without a plan never matches it.
    pub plan: Option<String>,
}

impl Match {
    /// Whether every field that is set matches the principal.
    pub fn matches(&self, who: &Who<'_>) -> bool {
        fn field(pattern: Option<&String>, value: Option<&str>) -> bool {
            match (pattern, value) {
                (None, _) => true,
                (Some(p), Some(v)) => glob::matches(p, v),
                (Some(_), None) => false,
            }
        }
        field(self.subject.as_ref(), Some(who.subject))
            && field(self.org.as_ref(), who.org)
            && field(self.plan.as_ref(), who.plan)
    }

    /// Whether no field is set (the default policy).
    pub fn is_default(&self) -> bool {
        self.fields().next().is_none()
    }

    /// How many fields are set.
    pub fn field_count(&self) -> usize {
        self.fields().count()
    }

    /// How many fields are set to a plain value (no `*` or `?`).
    pub fn literal_count(&self) -> usize {
        self.fields().filter(|p| glob::is_literal(p)).count()
    }

    fn fields(&self) -> impl Iterator<Item = &str> {
        [&self.subject, &self.org, &self.plan]
            .into_iter()
            .filter_map(|f| f.as_deref())
    }
}

/// Where a policy was written, for messages and the admin API.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Origin {
    /// The file, as given to [`crate::PolicySet::parse_files`] (a path for `load_dir`).
    pub file: String,
    /// The line of its `[[policy]]` header (1-based).
    pub line: usize,
    /// Its place among the file's policies (0-based), as in key paths (`policy[1]`).
    pub index: usize,
}

/// One validated policy. Built by [`crate::PolicySet`]; [`Policy::new`] exists for tests of
/// other crates (`Policy { limits, ..Policy::new("x") }`).
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    /// Unique across all files.
    pub name: String,
    /// Free text for admins (`description`), shown by `check-policies`.
    pub description: Option<String>,
    /// Who it applies to.
    pub matcher: Match,
    /// Explicit rank (`priority`, higher first); `None` ranks as 0.
    pub priority: Option<i64>,
    /// Per-subject limits.
    pub limits: Limits,
    /// Per-organisation limits (`[policy.org]`), checked on the bucket of the principal's org
    /// in addition to [`Policy::limits`]; skipped for principals without an org.
    pub org_limits: Option<Limits>,
    /// Allowed model globs; `None` allows every model, an empty list none.
    pub models: Option<Vec<String>>,
    /// Requests asking for more `max_tokens` are lowered to this.
    pub max_tokens_cap: Option<u64>,
    /// Lower `max_tokens` to what the remaining budget can pay for instead of refusing.
    pub clamp_max_tokens: bool,
    /// Behaviour while the shared store is unreachable.
    pub on_store_error: OnStoreError,
    /// Fraction (0 < x ≤ 1) of each limit one replica may use on its own under
    /// [`OnStoreError::AllowLocal`].
    pub local_share: f64,
    /// Secret scanning for this policy's requests (`[policy.redaction]`).
    pub redaction: RedactionSettings,
    /// Transcript recording for this policy's requests (`[policy.transcripts]`).
    pub transcripts: TranscriptSettings,
    /// Where it was written.
    pub origin: Origin,
}

impl Policy {
    /// A default policy (matches anyone) with no limits, as a base for struct update syntax.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            description: None,
            matcher: Match::default(),
            priority: None,
            limits: Limits::default(),
            org_limits: None,
            models: None,
            max_tokens_cap: None,
            clamp_max_tokens: false,
            on_store_error: OnStoreError::AllowLocal,
            local_share: 1.0,
            redaction: RedactionSettings::default(),
            transcripts: TranscriptSettings::default(),
            origin: Origin::default(),
        }
    }

    /// Whether `model` matches one of [`Policy::models`] (always, when the list is absent).
    pub fn allows_model(&self, model: &str) -> bool {
        self.models
            .as_ref()
            .is_none_or(|globs| globs.iter().any(|g| glob::matches(g, model)))
    }

    /// `requested` lowered to [`Policy::max_tokens_cap`], if any.
    pub fn cap_max_tokens(&self, requested: u64) -> u64 {
        self.max_tokens_cap
            .map_or(requested, |cap| requested.min(cap))
    }

    /// Whether this is the default policy (no `match`).
    pub fn is_default(&self) -> bool {
        self.matcher.is_default()
    }

    /// Every bucket a request of `who` must pass, with its limits: the subject's, then the
    /// organisation's when the policy has `[policy.org]` limits and the principal has an org.
    pub fn buckets<'a>(
        &'a self,
        who: &Who<'a>,
    ) -> impl Iterator<Item = (Scope<'a>, &'a Limits)> + use<'a> {
        let subject = Some((Scope::Subject(who.subject), &self.limits));
        let org = who
            .org
            .zip(self.org_limits.as_ref())
            .map(|(org, limits)| (Scope::Org(org), limits));
        subject.into_iter().chain(org)
    }
}

/// The principal fields policies match on. Borrowed, so matching allocates nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Who<'a> {
    /// The user or service.
    pub subject: &'a str,
    /// Its organisation, when known.
    pub org: Option<&'a str>,
    /// Its plan, when known.
    pub plan: Option<&'a str>,
}

impl<'a> From<&'a Principal> for Who<'a> {
    fn from(p: &'a Principal) -> Self {
        Who {
            subject: &p.subject,
            org: p.org.as_deref(),
            plan: p.plan.as_deref(),
        }
    }
}

/// Whose counter a bucket is. Buckets are keyed by the id alone (not by policy name), so
/// moving a subject to another plan or editing a policy never resets what was spent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope<'a> {
    /// One subject's counters, checked against [`Policy::limits`].
    Subject(&'a str),
    /// One organisation's counters, shared by all its members, checked against the
    /// [`Policy::org_limits`] of the policy each request was matched to.
    Org(&'a str),
}
