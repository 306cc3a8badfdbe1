//! The spend ledger: what every settled request cost, by UTC day and month, per subject and
//! per organisation, and the gateway's daily totals. It answers the admin page's questions
//! (top spenders with paging, spend over time) with one sorted-set read instead of a scan of
//! every bucket, so it stays fast at a million subjects.
//!
//! Independent of the buckets: a request is in the ledger whatever its policy limits (a
//! subject with no money limit still spends). Ledger keys expire after their retention.
//!
//! Not here: limits (the buckets), prices (gateway-meter).

use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError},
    time::Duration,
};

use crate::window::civil_from_days;

/// How long a day's ledger is kept: enough for a 31-day chart.
pub const SPEND_DAY_RETENTION: Duration = Duration::from_secs(40 * 86_400);
/// How long a month's ledger is kept.
pub const SPEND_MONTH_RETENTION: Duration = Duration::from_secs(400 * 86_400);
/// Most days one history read returns.
pub const SPEND_HISTORY_MAX_DAYS: usize = 93;

const DAY_MS: u64 = 86_400_000;

/// What one settled request cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spend<'a> {
    /// The subject.
    pub subject: &'a str,
    /// Its organisation.
    pub org: Option<&'a str>,
    /// The model named (the price table's canonical id: a bounded set).
    pub model: &'a str,
    /// The cost, micro-USD.
    pub micro_usd: u64,
    /// When (unix ms).
    pub at_ms: u64,
}

/// The ledger's periods.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SpendWindow {
    /// A UTC calendar day.
    Day,
    /// A UTC calendar month.
    Month,
}

impl SpendWindow {
    /// `day` or `month`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Month => "month",
        }
    }

    /// The period containing `at_ms`: `2026-12-07` or `2026-12`.
    pub fn period(self, at_ms: u64) -> String {
        let (y, m, d) = civil_from_days(i64::try_from(at_ms / DAY_MS).unwrap_or(0));
        match self {
            Self::Day => format!("{y:04}-{m:02}-{d:02}"),
            Self::Month => format!("{y:04}-{m:02}"),
        }
    }
}

/// Whose spend.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SpendScope {
    /// Per subject.
    Subject,
    /// Per organisation.
    Org,
}

impl SpendScope {
    pub(crate) fn key_part(self) -> &'static str {
        match self {
            Self::Subject => "sub",
            Self::Org => "org",
        }
    }
}

/// One page of spenders, highest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SpendPage {
    /// (id, micro-USD).
    pub entries: Vec<(String, u64)>,
    /// How many spent anything in the period.
    pub total: u64,
}

/// One day of the gateway's totals.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DayTotal {
    /// `2026-12-07`.
    pub day: String,
    /// Spend, micro-USD.
    pub micro_usd: u64,
    /// Settled requests.
    pub requests: u64,
}

/// The key of a ranking: `lgw:spend:sub:day:2026-12-07`.
pub(crate) fn ranking_key(scope: SpendScope, window: SpendWindow, period: &str) -> String {
    format!(
        "lgw:spend:{}:{}:{period}",
        scope.key_part(),
        window.as_str()
    )
}

/// The key of one subject's or org's spend by model: `lgw:spend:sub-model:alice:day:2026-12-07`.
pub(crate) fn by_model_key(
    scope: SpendScope,
    id: &str,
    window: SpendWindow,
    period: &str,
) -> String {
    format!(
        "lgw:spend:{}-model:{id}:{}:{period}",
        scope.key_part(),
        window.as_str()
    )
}

/// The key of a day's totals: `lgw:spend:total:day:2026-12-07`.
pub(crate) fn total_key(day: &str) -> String {
    format!("lgw:spend:total:day:{day}")
}

/// The days ending with the one containing `at_ms`, oldest first.
pub(crate) fn last_days(days: usize, at_ms: u64) -> Vec<String> {
    let days = days.clamp(1, SPEND_HISTORY_MAX_DAYS) as u64;
    (0..days)
        .rev()
        .map(|back| SpendWindow::Day.period(at_ms.saturating_sub(back * DAY_MS)))
        .collect()
}

/// The ledger of one process (the memory store's).
#[derive(Debug, Default)]
pub(crate) struct MemoryLedger {
    inner: Mutex<Ledger>,
}

#[derive(Debug, Default)]
struct Ledger {
    rankings: HashMap<String, HashMap<String, u64>>,
    totals: HashMap<String, DayTotal>,
}

impl MemoryLedger {
    pub(crate) fn record(&self, spend: &Spend<'_>) {
        let mut l = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        for window in [SpendWindow::Day, SpendWindow::Month] {
            let period = window.period(spend.at_ms);
            let mut add = |scope, id: &str| {
                *l.rankings
                    .entry(ranking_key(scope, window, &period))
                    .or_default()
                    .entry(id.to_owned())
                    .or_default() += spend.micro_usd;
            };
            add(SpendScope::Subject, spend.subject);
            if let Some(org) = spend.org {
                add(SpendScope::Org, org);
            }
            let ids = std::iter::once((SpendScope::Subject, spend.subject))
                .chain(spend.org.map(|o| (SpendScope::Org, o)));
            for (scope, id) in ids {
                *l.rankings
                    .entry(by_model_key(scope, id, window, &period))
                    .or_default()
                    .entry(spend.model.to_owned())
                    .or_default() += spend.micro_usd;
            }
        }
        let day = SpendWindow::Day.period(spend.at_ms);
        let total = l.totals.entry(day.clone()).or_insert_with(|| DayTotal {
            day,
            ..DayTotal::default()
        });
        total.micro_usd += spend.micro_usd;
        total.requests += 1;
        // Past their retention, periods go (one check per new day is enough).
        if l.totals.len() > SPEND_HISTORY_MAX_DAYS * 2 {
            let keep = last_days(SPEND_HISTORY_MAX_DAYS, spend.at_ms);
            l.totals.retain(|d, _| keep.contains(d));
        }
    }

    pub(crate) fn top(
        &self,
        scope: SpendScope,
        window: SpendWindow,
        at_ms: u64,
        offset: usize,
        limit: usize,
    ) -> SpendPage {
        let l = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(ranking) = l
            .rankings
            .get(&ranking_key(scope, window, &window.period(at_ms)))
        else {
            return SpendPage::default();
        };
        let mut all: Vec<(&String, &u64)> = ranking.iter().collect();
        // Highest first; ties by id, as Redis orders them (reversed lexicographically).
        all.sort_by(|a, b| b.1.cmp(a.1).then_with(|| b.0.cmp(a.0)));
        SpendPage {
            entries: all
                .into_iter()
                .skip(offset)
                .take(limit)
                .map(|(id, v)| (id.clone(), *v))
                .collect(),
            total: ranking.len() as u64,
        }
    }

    pub(crate) fn history(&self, days: usize, at_ms: u64) -> Vec<DayTotal> {
        let l = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        last_days(days, at_ms)
            .into_iter()
            .map(|day| {
                l.totals.get(&day).cloned().unwrap_or(DayTotal {
                    day,
                    ..DayTotal::default()
                })
            })
            .collect()
    }

    pub(crate) fn by_model(
        &self,
        scope: SpendScope,
        window: SpendWindow,
        id: &str,
        at_ms: u64,
    ) -> Vec<(String, u64)> {
        let l = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out: Vec<(String, u64)> = l
            .rankings
            .get(&by_model_key(scope, id, window, &window.period(at_ms)))
            .map(|r| r.iter().map(|(m, v)| (m.clone(), *v)).collect())
            .unwrap_or_default();
        out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| b.0.cmp(&a.0)));
        out
    }

    pub(crate) fn spent(
        &self,
        scope: SpendScope,
        window: SpendWindow,
        id: &str,
        at_ms: u64,
    ) -> u64 {
        let l = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        l.rankings
            .get(&ranking_key(scope, window, &window.period(at_ms)))
            .and_then(|r| r.get(id))
            .copied()
            .unwrap_or(0)
    }
}
