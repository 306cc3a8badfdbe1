//! The series a settled response counts into, `tokens_total{model,type}` and
//! `cost_usd_total{model}`, resolved once per model: a settle adds to handles it finds by one
//! lookup of the model, instead of hashing labels into the families six times per request.
//!
//! The model label is already bounded (a price table's canonical id, or [`crate::OTHER`]);
//! the handles kept are bounded again by [`MODEL_SERIES_MAX`], past which a model's series are
//! looked up per call as before (still counted, never dropped).

use std::{
    collections::HashMap,
    sync::{PoisonError, RwLock},
};

use prometheus::{Counter, CounterVec, IntCounter, IntCounterVec};

use gateway_core::Usage;

use crate::{TOKEN_TYPES, token_counts};

/// Most models whose handles are kept (far above any price table's size).
pub(crate) const MODEL_SERIES_MAX: usize = 1024;

/// One model's handles: a token counter per type of [`TOKEN_TYPES`], and the cost.
#[derive(Debug)]
struct ModelSeries {
    tokens: [IntCounter; 5],
    cost_usd: Counter,
}

impl ModelSeries {
    fn of(tokens: &IntCounterVec, cost: &CounterVec, model: &str) -> Self {
        Self {
            tokens: TOKEN_TYPES.map(|kind| tokens.with_label_values(&[model, kind])),
            cost_usd: cost.with_label_values(&[model]),
        }
    }

    fn add(&self, usage: &Usage, usd: f64) {
        for (counter, n) in self.tokens.iter().zip(token_counts(usage)) {
            // Every type gets a series, so `rate()` works before the first cache write.
            counter.inc_by(n);
        }
        self.cost_usd.inc_by(usd);
    }
}

/// The two families and the handles of the models settled so far.
#[derive(Debug)]
pub(crate) struct SettledSeries {
    tokens: IntCounterVec,
    cost: CounterVec,
    by_model: RwLock<HashMap<String, ModelSeries>>,
}

impl SettledSeries {
    /// Handles into `tokens` (`tokens_total{model,type}`) and `cost` (`cost_usd_total{model}`).
    pub(crate) fn new(tokens: IntCounterVec, cost: CounterVec) -> Self {
        Self {
            tokens,
            cost,
            by_model: RwLock::default(),
        }
    }

    /// Adds `usage` and `usd` to `model`'s series.
    pub(crate) fn add(&self, model: &str, usage: &Usage, usd: f64) {
        if let Some(series) = self
            .by_model
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(model)
        {
            series.add(usage, usd);
            return;
        }
        let series = ModelSeries::of(&self.tokens, &self.cost, model);
        series.add(usage, usd);
        let mut by_model = self
            .by_model
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if by_model.len() < MODEL_SERIES_MAX {
            by_model.entry(model.to_owned()).or_insert(series);
        }
    }

    /// How many models' handles are kept.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.by_model
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

#[cfg(test)]
mod tests {
    use prometheus::Opts;

    use super::*;

    fn families() -> (IntCounterVec, CounterVec) {
        (
            IntCounterVec::new(Opts::new("tokens_total", "t"), &["model", "type"]).unwrap(),
            CounterVec::new(Opts::new("cost_usd_total", "c"), &["model"]).unwrap(),
        )
    }

    fn usage(input: u64, cache_write_1h: u64) -> Usage {
        Usage {
            input,
            output: 2,
            cache_read: 0,
            cache_write_5m: 0,
            cache_write_1h,
        }
    }

    #[test]
    fn kept_handles_count_into_the_families_and_models_past_the_bound_still_count() {
        let (tokens, cost) = families();
        let series = SettledSeries::new(tokens.clone(), cost.clone());
        series.add("claude-sonnet-4-6", &usage(10, 0), 0.5);
        series.add("claude-sonnet-4-6", &usage(5, 3), 0.25);
        let get = |model: &str, kind: &str| tokens.with_label_values(&[model, kind]).get();
        assert_eq!(get("claude-sonnet-4-6", "input"), 15);
        assert_eq!(get("claude-sonnet-4-6", "output"), 4);
        assert_eq!(get("claude-sonnet-4-6", "cache_write_1h"), 3);
        assert_eq!(get("claude-sonnet-4-6", "cache_read"), 0);
        assert!((cost.with_label_values(&["claude-sonnet-4-6"]).get() - 0.75).abs() < 1e-12);
        assert_eq!(series.len(), 1);
        for i in 0..MODEL_SERIES_MAX + 5 {
            series.add(&format!("m{i}"), &usage(1, 0), 0.0);
        }
        assert_eq!(series.len(), MODEL_SERIES_MAX);
        let past = format!("m{}", MODEL_SERIES_MAX + 4);
        series.add(&past, &usage(1, 0), 0.0);
        assert_eq!(get(&past, "input"), 2, "counted without a kept handle");
    }
}
