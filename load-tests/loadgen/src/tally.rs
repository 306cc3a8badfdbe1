//! What a run records: latency histograms and counts per outcome, merged across connections.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde_json::{Value, json};

use crate::target::Outcome;

/// Latencies are recorded in microseconds, from 1 µs to an hour, to 3 significant digits.
const LATENCY_MAX_US: u64 = 3_600_000_000;

/// The percentiles reported, with their names.
const PERCENTILES: [(&str, f64); 4] =
    [("p50", 50.0), ("p90", 90.0), ("p99", 99.0), ("p99_9", 99.9)];

/// Records of one connection (or, merged, of the run).
#[derive(Debug)]
pub(crate) struct Tally {
    /// From the scheduled send time (fixed rate) or the send (max), to the answer's end.
    latency: Histogram<u64>,
    /// From the actual send to the answer's end.
    service: Histogram<u64>,
    /// From the same start as `latency` to the answer's first body byte.
    first_byte: Histogram<u64>,
    completed: u64,
    /// Requests answered outside the measured window (warm-up), not recorded above.
    unrecorded: u64,
    ok: u64,
    errors: BTreeMap<String, u64>,
    last_done: Option<Instant>,
}

impl Tally {
    pub(crate) fn new() -> anyhow::Result<Tally> {
        Ok(Tally {
            latency: Histogram::new_with_bounds(1, LATENCY_MAX_US, 3)?,
            service: Histogram::new_with_bounds(1, LATENCY_MAX_US, 3)?,
            first_byte: Histogram::new_with_bounds(1, LATENCY_MAX_US, 3)?,
            completed: 0,
            unrecorded: 0,
            ok: 0,
            errors: BTreeMap::new(),
            last_done: None,
        })
    }

    /// Records one answer; `first_byte` is measured from the same start as `latency`.
    pub(crate) fn record(
        &mut self,
        latency: Duration,
        service: Duration,
        first_byte: Option<Duration>,
        outcome: Outcome,
        done: Instant,
    ) {
        self.latency.saturating_record(micros(latency));
        self.service.saturating_record(micros(service));
        if let Some(first_byte) = first_byte {
            self.first_byte.saturating_record(micros(first_byte));
        }
        self.completed += 1;
        self.last_done = self.last_done.max(Some(done));
        match outcome {
            Outcome::Answered(status) if status.is_success() => self.ok += 1,
            Outcome::Answered(status) => {
                *self.errors.entry(status.as_str().to_owned()).or_default() += 1
            }
            Outcome::Failed(kind) => *self.errors.entry(kind.to_owned()).or_default() += 1,
        }
    }

    /// Counts a request answered outside the measured window.
    pub(crate) fn skip(&mut self) {
        self.unrecorded += 1;
    }

    pub(crate) fn merge(&mut self, other: &Tally) -> anyhow::Result<()> {
        self.latency.add(&other.latency)?;
        self.service.add(&other.service)?;
        self.first_byte.add(&other.first_byte)?;
        self.completed += other.completed;
        self.unrecorded += other.unrecorded;
        self.ok += other.ok;
        for (kind, count) in &other.errors {
            *self.errors.entry(kind.clone()).or_default() += count;
        }
        self.last_done = self.last_done.max(other.last_done);
        Ok(())
    }

    pub(crate) fn completed(&self) -> u64 {
        self.completed
    }

    /// Every request answered or failed, warm-up included.
    pub(crate) fn total(&self) -> u64 {
        self.completed + self.unrecorded
    }

    pub(crate) fn ok(&self) -> u64 {
        self.ok
    }

    pub(crate) fn errors(&self) -> &BTreeMap<String, u64> {
        &self.errors
    }

    pub(crate) fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    /// Completions per second over the measured window, or until the last completion if
    /// that came later.
    pub(crate) fn achieved_rate(&self, measure_from: Instant, window: Duration) -> f64 {
        let until_last = self.last_done.map_or(Duration::ZERO, |done| {
            done.saturating_duration_since(measure_from)
        });
        let elapsed = window.max(until_last).as_secs_f64();
        if elapsed > 0.0 {
            self.completed as f64 / elapsed
        } else {
            0.0
        }
    }

    pub(crate) fn latency_ms(&self) -> Percentiles {
        Percentiles::of(&self.latency)
    }

    pub(crate) fn service_ms(&self) -> Percentiles {
        Percentiles::of(&self.service)
    }

    pub(crate) fn first_byte_ms(&self) -> Percentiles {
        Percentiles::of(&self.first_byte)
    }
}

/// Percentiles of a histogram, in milliseconds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Percentiles {
    values: [f64; 4],
    max: f64,
    mean: f64,
}

impl Percentiles {
    fn of(histogram: &Histogram<u64>) -> Percentiles {
        let ms = |us: u64| us as f64 / 1000.0;
        Percentiles {
            values: PERCENTILES.map(|(_, q)| ms(histogram.value_at_quantile(q / 100.0))),
            max: ms(histogram.max()),
            mean: histogram.mean() / 1000.0,
        }
    }

    pub(crate) fn json(&self) -> Value {
        let mut map = serde_json::Map::new();
        for ((name, _), value) in PERCENTILES.iter().zip(self.values) {
            map.insert((*name).to_owned(), json!(value));
        }
        map.insert("max".to_owned(), json!(self.max));
        map.insert("mean".to_owned(), json!(self.mean));
        Value::Object(map)
    }

    /// `p50 0.215  p90 0.301  p99 0.512  p99.9 1.204  max 3.001 ms`
    pub(crate) fn line(&self) -> String {
        let mut line = String::new();
        for ((name, _), value) in PERCENTILES.iter().zip(self.values) {
            line.push_str(&format!("{} {value:.3}  ", name.replace('_', ".")));
        }
        line.push_str(&format!("max {:.3} ms", self.max));
        line
    }
}

fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros())
        .unwrap_or(u64::MAX)
        .max(1)
}

#[cfg(test)]
mod tests {
    use http::StatusCode;

    use super::*;

    #[test]
    fn non_2xx_and_failures_count_as_errors_by_kind() {
        let now = Instant::now();
        let mut tally = Tally::new().unwrap();
        let ms = Duration::from_millis(1);
        tally.record(ms, ms, None, Outcome::Answered(StatusCode::OK), now);
        tally.record(
            ms,
            ms,
            None,
            Outcome::Answered(StatusCode::BAD_GATEWAY),
            now,
        );
        tally.record(ms, ms, None, Outcome::Failed("timeout"), now);
        let mut merged = Tally::new().unwrap();
        merged.merge(&tally).unwrap();
        merged.merge(&tally).unwrap();
        assert_eq!(merged.completed(), 6);
        assert_eq!(merged.ok(), 2);
        assert_eq!(merged.errors().get("502"), Some(&2));
        assert_eq!(merged.errors().get("timeout"), Some(&2));
        assert_eq!(merged.error_count(), 4);
    }

    #[test]
    fn percentiles_are_in_milliseconds() {
        let now = Instant::now();
        let mut tally = Tally::new().unwrap();
        for us in 1..=1000 {
            let d = Duration::from_micros(us);
            tally.record(d, d, Some(d / 2), Outcome::Answered(StatusCode::OK), now);
        }
        let p = tally.latency_ms();
        let first_byte = tally.first_byte_ms();
        assert!((first_byte.max - 0.5).abs() < 0.01, "{first_byte:?}");
        assert!((p.values[0] - 0.5).abs() < 0.01, "{p:?}");
        assert!((p.max - 1.0).abs() < 0.01, "{p:?}");
        assert!(p.line().starts_with("p50 0.50"));
        assert!(p.json()["p99_9"].as_f64().is_some());
    }
}
