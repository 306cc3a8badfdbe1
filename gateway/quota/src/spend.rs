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

/// A ranking's place: whose spend, over which window, in which period (a period's
/// [`period_number`]). Keys are numbers, so recording a request builds no key string.
type RankingId = (SpendScope, SpendWindow, i64);

/// The period containing `at_ms` as a number: days since the epoch for a day, months since
/// year 0 for a month (in step with [`SpendWindow::period`]'s text).
fn period_number(window: SpendWindow, at_ms: u64) -> i64 {
    let days = day_number(at_ms);
    match window {
        SpendWindow::Day => days,
        SpendWindow::Month => {
            let (y, m, _) = civil_from_days(days);
            y * 12 + i64::from(m)
        }
    }
}

/// The UTC day containing `at_ms`, in days since the epoch.
fn day_number(at_ms: u64) -> i64 {
    i64::try_from(at_ms / DAY_MS).unwrap_or(0)
}

#[derive(Debug, Default)]
struct Ledger {
    /// Spend per id.
    rankings: HashMap<RankingId, HashMap<String, u64>>,
    /// Spend per id and model.
    by_model: HashMap<RankingId, HashMap<String, HashMap<String, u64>>>,
    /// The gateway's totals per day number.
    totals: HashMap<i64, DayTotal>,
}

/// Adds `micro_usd` to `id`'s spend in `map`; allocates only for an id not yet in it.
fn add_to(map: &mut HashMap<String, u64>, id: &str, micro_usd: u64) {
    match map.get_mut(id) {
        Some(spent) => *spent += micro_usd,
        None => {
            map.insert(id.to_owned(), micro_usd);
        }
    }
}

impl MemoryLedger {
    pub(crate) fn record(&self, spend: &Spend<'_>) {
        let mut l = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let l = &mut *l;
        let ids = std::iter::once((SpendScope::Subject, spend.subject))
            .chain(spend.org.map(|o| (SpendScope::Org, o)));
        for window in [SpendWindow::Day, SpendWindow::Month] {
            let period = period_number(window, spend.at_ms);
            for (scope, id) in ids.clone() {
                let ranking = (scope, window, period);
                add_to(l.rankings.entry(ranking).or_default(), id, spend.micro_usd);
                let models = l.by_model.entry(ranking).or_default();
                let models = match models.get_mut(id) {
                    Some(models) => models,
                    None => models.entry(id.to_owned()).or_default(),
                };
                add_to(models, spend.model, spend.micro_usd);
            }
        }
        let today = day_number(spend.at_ms);
        let total = l.totals.entry(today).or_insert_with(|| DayTotal {
            day: SpendWindow::Day.period(spend.at_ms),
            ..DayTotal::default()
        });
        total.micro_usd += spend.micro_usd;
        total.requests += 1;
        // Past their retention, periods go (one check per new day is enough).
        if l.totals.len() > SPEND_HISTORY_MAX_DAYS * 2 {
            let oldest = day_number(
                spend
                    .at_ms
                    .saturating_sub((SPEND_HISTORY_MAX_DAYS as u64 - 1) * DAY_MS),
            );
            l.totals.retain(|d, _| (oldest..=today).contains(d));
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
            .get(&(scope, window, period_number(window, at_ms)))
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
        let days = days.clamp(1, SPEND_HISTORY_MAX_DAYS) as u64;
        (0..days)
            .rev()
            .map(|back| {
                let at = at_ms.saturating_sub(back * DAY_MS);
                l.totals
                    .get(&day_number(at))
                    .cloned()
                    .unwrap_or_else(|| DayTotal {
                        day: SpendWindow::Day.period(at),
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
            .by_model
            .get(&(scope, window, period_number(window, at_ms)))
            .and_then(|ids| ids.get(id))
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
            .get(&(scope, window, period_number(window, at_ms)))
            .and_then(|r| r.get(id))
            .copied()
            .unwrap_or(0)
    }
}
