//! [`RouteMeters`]: the per-route metric handles, resolved once per process so the request
//! path never looks a label up (no hashing of label strings, no lock on the metric family):
//! `overhead_seconds`, `request_duration_seconds` and the `requests_total` series of the
//! common statuses for every route label, each resolved on its first use (so `/metrics`
//! shows no series that never happened). Rarer statuses are looked up when they happen.

use std::sync::{Arc, OnceLock};

use gateway_metrics::{Histogram, IntCounter, Metrics};
use http::StatusCode;

use crate::routes::Endpoint;

/// The route of a request, as counted (every label of `requests_total{route}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RouteLabel {
    /// Before the route is resolved (the client left during it).
    Unknown,
    /// A client's startup probe.
    Probe,
    /// No route at this path.
    NotFound,
    /// A provider endpoint.
    Endpoint(Endpoint),
}

impl RouteLabel {
    /// Every label, in [`Self::index`] order.
    const ALL: [Self; 3 + Endpoint::ALL.len()] = {
        let mut all = [Self::Unknown; 3 + Endpoint::ALL.len()];
        all[1] = Self::Probe;
        all[2] = Self::NotFound;
        let mut i = 0;
        while i < Endpoint::ALL.len() {
            all[3 + i] = Self::Endpoint(Endpoint::ALL[i]);
            i += 1;
        }
        all
    };

    fn index(self) -> usize {
        match self {
            Self::Unknown => 0,
            Self::Probe => 1,
            Self::NotFound => 2,
            Self::Endpoint(e) => 3 + e as usize,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Probe => "probe",
            Self::NotFound => "not_found",
            Self::Endpoint(e) => e.as_label(),
        }
    }
}

/// Statuses whose `requests_total` series is resolved ahead.
const COMMON_STATUSES: [StatusCode; 3] = [
    StatusCode::OK,
    StatusCode::TOO_MANY_REQUESTS,
    StatusCode::UNAUTHORIZED,
];

/// One route's handles, each resolved on first use.
#[derive(Debug, Default)]
struct Handles {
    overhead: OnceLock<Histogram>,
    duration: OnceLock<Histogram>,
    requests: [OnceLock<IntCounter>; COMMON_STATUSES.len()],
}

/// The handles of every route, plus the registry for the rare series.
#[derive(Debug)]
pub(crate) struct RouteMeters {
    pub(crate) metrics: Arc<Metrics>,
    routes: Vec<Handles>,
}

impl RouteMeters {
    pub(crate) fn new(metrics: Arc<Metrics>) -> Self {
        let routes = RouteLabel::ALL.iter().map(|_| Handles::default()).collect();
        Self { metrics, routes }
    }

    fn handles(&self, route: RouteLabel) -> Option<&Handles> {
        self.routes.get(route.index())
    }

    pub(crate) fn observe_overhead(&self, route: RouteLabel, seconds: f64) {
        if let Some(h) = self.handles(route) {
            h.overhead
                .get_or_init(|| {
                    self.metrics
                        .overhead_seconds
                        .with_label_values(&[route.as_str()])
                })
                .observe(seconds);
        }
    }

    /// Counts a finished request; `None` is a client that left before the response head
    /// (nginx's 499).
    pub(crate) fn finish(&self, route: RouteLabel, status: Option<StatusCode>, seconds: f64) {
        let Some(h) = self.handles(route) else {
            return;
        };
        h.duration
            .get_or_init(|| {
                self.metrics
                    .request_duration_seconds
                    .with_label_values(&[route.as_str()])
            })
            .observe(seconds);
        match status.and_then(|s| COMMON_STATUSES.iter().position(|c| *c == s)) {
            Some(i) => h.requests[i]
                .get_or_init(|| {
                    self.metrics
                        .requests_total
                        .with_label_values(&[route.as_str(), COMMON_STATUSES[i].as_str()])
                })
                .inc(),
            None => {
                let status = status.as_ref().map_or("499", StatusCode::as_str);
                self.metrics
                    .requests_total
                    .with_label_values(&[route.as_str(), status])
                    .inc();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_label_has_its_own_handles_and_counts_land_in_the_registry() {
        for (i, r) in RouteLabel::ALL.iter().enumerate() {
            assert_eq!(r.index(), i, "{r:?}");
        }
        let meters = RouteMeters::new(Arc::new(Metrics::new().unwrap()));
        let messages = RouteLabel::Endpoint(Endpoint::Messages);
        meters.finish(messages, Some(StatusCode::OK), 0.01);
        meters.finish(messages, Some(StatusCode::BAD_GATEWAY), 0.01);
        meters.finish(RouteLabel::NotFound, None, 0.01);
        let m = &meters.metrics;
        let text = m.render();
        assert!(
            !text.contains("route=\"probe\""),
            "a series that never happened: {text}"
        );
        assert_eq!(
            m.requests_total
                .with_label_values(&["messages", "200"])
                .get(),
            1
        );
        assert_eq!(
            m.requests_total
                .with_label_values(&["messages", "502"])
                .get(),
            1
        );
        assert_eq!(
            m.requests_total
                .with_label_values(&["not_found", "499"])
                .get(),
            1
        );
        assert_eq!(
            m.request_duration_seconds
                .with_label_values(&["messages"])
                .get_sample_count(),
            2
        );
    }
}
