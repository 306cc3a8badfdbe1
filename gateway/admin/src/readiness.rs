//! [`Readiness`]: what `/readyz` reports.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

/// What `/readyz` reports. Cheap to clone; components flip their check as they change.
#[derive(Debug, Clone, Default)]
pub struct Readiness {
    inner: Arc<ReadinessState>,
}

#[derive(Debug, Default)]
struct ReadinessState {
    draining: AtomicBool,
    upstreams: Vec<&'static str>,
    /// Declared upstreams that are not configured, with why.
    unconfigured: Vec<(String, String)>,
}

impl Readiness {
    /// Ready, serving `upstreams`; `unconfigured` are declared upstreams without their key
    /// (name, why), listed but not a reason to be unready.
    pub fn new(upstreams: Vec<&'static str>, unconfigured: Vec<(String, String)>) -> Self {
        Self {
            inner: Arc::new(ReadinessState {
                draining: AtomicBool::new(false),
                upstreams,
                unconfigured,
            }),
        }
    }

    /// Shutdown began: load balancers should stop sending traffic.
    pub fn set_draining(&self) {
        self.inner.draining.store(true, Ordering::Relaxed);
    }

    /// Ready or not, and the body. `breakers` (`"target/model"` → state) are detail only: an
    /// open breaker reroutes traffic but the gateway still serves (and still tries the last
    /// target), and every replica would see the same provider outage, so taking replicas out
    /// of the load balancer would turn a degraded provider into a total outage.
    pub(crate) fn report(
        &self,
        extra: &[&str],
        breakers: &[(String, &'static str)],
    ) -> (bool, serde_json::Value) {
        let draining = self.inner.draining.load(Ordering::Relaxed);
        let mut problems: Vec<&str> = extra.to_vec();
        if draining {
            problems.push("shutting down: draining in-flight requests");
        }
        if self.inner.upstreams.is_empty() {
            problems.push("no upstream is configured: add an [upstreams.*] section");
        }
        let ready = problems.is_empty();
        let body = serde_json::json!({
            "status": if ready { "ready" } else { "not_ready" },
            "checks": {
                "config": "loaded",
                "upstreams": self.inner.upstreams,
                "unconfigured_upstreams": self.inner.unconfigured.iter().map(|(name, why)| (name.clone(), serde_json::Value::from(why.as_str()))).collect::<serde_json::Map<_, _>>(),
                "draining": draining,
                "breakers": breakers.iter().map(|(key, state)| (key.clone(), serde_json::Value::from(*state))).collect::<serde_json::Map<_, _>>(),
            },
            "problems": problems,
        });
        (ready, body)
    }
}
