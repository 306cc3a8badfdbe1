use std::{sync::Arc, time::Duration};

use gateway_config::{Breaker, ProviderKey, Retry, Target, TargetKind, Upstream};
use gateway_core::{ErrorKind, Secret};
use gateway_metrics::Metrics;
use http::{HeaderMap, HeaderValue};

use crate::{BUDGET_MIN_RETRIES, Observed, Resilience, Verdict};

fn target(name: &str, keys: &[&str]) -> Target {
    Target {
        name: name.to_owned(),
        kind: TargetKind::Anthropic,
        base_url: "http://127.0.0.1:1".parse().unwrap(),
        keys: keys
            .iter()
            .map(|id| ProviderKey {
                id: (*id).to_owned(),
                weight: 1,
                secret: Secret::new(format!("sk-{id}")),
            })
            .collect(),
        prices_file: None,
    }
}

fn retry() -> Retry {
    Retry {
        per_target: 1,
        backoff: Duration::from_millis(200),
        retry_after_max: Duration::from_secs(2),
        budget_percent: 100,
        ttft_timeout: None,
        breaker: None,
    }
}

fn resilience(primary_keys: &[&str], fallbacks: usize) -> (Resilience, Arc<Metrics>) {
    resilience_with(primary_keys, fallbacks, retry())
}

fn resilience_with(
    primary_keys: &[&str],
    fallbacks: usize,
    retry: Retry,
) -> (Resilience, Arc<Metrics>) {
    let metrics = Arc::new(Metrics::new().unwrap());
    let upstream = Upstream {
        primary: target("anthropic", primary_keys),
        fallbacks: (0..fallbacks)
            .map(|i| target(&format!("fb{i}"), &["f"]))
            .collect(),
    };
    (Resilience::new(&upstream, &retry, metrics.clone()), metrics)
}

fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.insert(*k, HeaderValue::from_static(v));
    }
    h
}

fn status<'a>(code: u16, h: &'a HeaderMap) -> Observed<'a> {
    Observed::Status {
        status: code,
        headers: h,
        body: b"{}",
    }
}

#[test]
fn an_overloaded_primary_is_retried_once_then_the_fallback_serves() {
    let (r, metrics) = resilience(&["a"], 1);
    let none = HeaderMap::new();
    let mut plan = r.plan(&none).unwrap();
    let first = plan.next_attempt().unwrap();
    assert_eq!((first.target, first.delay), (0, Duration::ZERO));
    assert_eq!(plan.judge(&first, status(529, &none)), Verdict::Again);
    let second = plan.next_attempt().unwrap();
    assert_eq!(second.target, 0, "same target once");
    assert!(
        second.delay >= Duration::from_millis(100) && second.delay <= Duration::from_millis(200)
    );
    assert_eq!(plan.judge(&second, status(529, &none)), Verdict::Again);
    let third = plan.next_attempt().unwrap();
    assert_eq!((third.target, third.delay), (1, Duration::ZERO));
    assert_eq!(plan.judge(&third, Observed::Committed), Verdict::Serve);
    assert_eq!(plan.attempts(), 3);
    let m = metrics.render();
    assert!(
        m.contains(r#"llm_gateway_upstream_fallbacks_total{from="anthropic",reason="status_529",to="fb0"} 1"#),
        "{m}"
    );
    assert!(m.contains(r#"llm_gateway_upstream_attempts_total{model="other",outcome="retryable",phase="head",target="anthropic"} 2"#), "{m}");
}

#[test]
fn the_providers_wait_is_used_and_a_long_one_moves_on() {
    let (r, _) = resilience(&["a"], 1);
    let wait = headers(&[("retry-after", "1")]);
    let mut plan = r.plan(&HeaderMap::new()).unwrap();
    let a = plan.next_attempt().unwrap();
    plan.judge(&a, status(503, &wait));
    assert_eq!(plan.next_attempt().unwrap().delay, Duration::from_secs(1));
    let long = headers(&[("retry-after", "30")]);
    let mut plan = r.plan(&HeaderMap::new()).unwrap();
    let a = plan.next_attempt().unwrap();
    plan.judge(&a, status(503, &long));
    assert_eq!(
        plan.next_attempt().unwrap().target,
        1,
        "beyond the cap: next target, no wait"
    );
}

#[test]
fn a_client_that_retried_gets_no_same_target_retry_and_opt_out_stops_fallback() {
    let (r, _) = resilience(&["a"], 1);
    let none = HeaderMap::new();
    let mut plan = r
        .plan(&headers(&[("x-stainless-retry-count", "1")]))
        .unwrap();
    let a = plan.next_attempt().unwrap();
    plan.judge(
        &a,
        Observed::Failed(crate::Transport::Connect, crate::Phase::Head),
    );
    assert_eq!(plan.next_attempt().unwrap().target, 1);

    let mut plan = r
        .plan(&headers(&[("x-gateway-fallback", "false")]))
        .unwrap();
    let a = plan.next_attempt().unwrap();
    plan.judge(&a, status(529, &none));
    let b = plan.next_attempt().unwrap();
    assert_eq!(b.target, 0);
    plan.judge(&b, status(529, &none));
    assert_eq!(
        plan.next_attempt(),
        None,
        "no fallback when the client opted out"
    );
}

#[test]
fn a_rate_limited_key_rotates_then_the_pool_cools_into_the_fallback() {
    let (r, metrics) = resilience(&["a", "b"], 1);
    let limited = headers(&[("retry-after", "30")]);
    let mut plan = r.plan(&HeaderMap::new()).unwrap();
    let first = plan.next_attempt().unwrap();
    assert_eq!(plan.judge(&first, status(429, &limited)), Verdict::Again);
    let second = plan.next_attempt().unwrap();
    assert_eq!(second.target, 0);
    assert_ne!(second.key, first.key, "rotated to the other key");
    assert_eq!(second.delay, Duration::ZERO);
    plan.judge(&second, status(429, &limited));
    assert_eq!(
        plan.next_attempt().unwrap().target,
        1,
        "all keys cooling: next target"
    );
    // The next request skips the cooling primary entirely.
    let mut plan = r.plan(&HeaderMap::new()).unwrap();
    assert_eq!(plan.next_attempt().unwrap().target, 1);
    let m = metrics.render();
    assert!(m.contains(r#"kind="cooling",target="anthropic"} 1"#), "{m}");
    assert!(m.contains(r#"reason="no_key",to="fb0"} 1"#), "{m}");
}

#[test]
fn a_429_without_a_wait_rotates_but_never_cools() {
    let (r, _) = resilience(&["a"], 0);
    let none = HeaderMap::new();
    let mut plan = r.plan(&none).unwrap();
    let a = plan.next_attempt().unwrap();
    plan.judge(&a, status(429, &none));
    assert_eq!(plan.next_attempt(), None);
    let mut plan = r.plan(&none).unwrap();
    assert_eq!(
        plan.next_attempt().map(|a| a.target),
        Some(0),
        "no invented cooldown"
    );
}

#[test]
fn a_revoked_key_stays_out_and_an_empty_pool_is_refused_clearly() {
    let (r, _) = resilience(&["a", "b"], 0);
    let none = HeaderMap::new();
    let mut plan = r.plan(&none).unwrap();
    let first = plan.next_attempt().unwrap();
    plan.judge(&first, status(401, &none));
    let second = plan.next_attempt().unwrap();
    assert_ne!(second.key, first.key);
    assert_eq!(plan.judge(&second, Observed::Committed), Verdict::Serve);
    for _ in 0..8 {
        let mut plan = r.plan(&none).unwrap();
        assert_eq!(plan.next_attempt().unwrap().key, second.key);
    }
    let mut plan = r.plan(&none).unwrap();
    let a = plan.next_attempt().unwrap();
    plan.judge(&a, status(403, &none));
    assert_eq!(plan.next_attempt(), None);
    assert_eq!(plan.unavailable().kind(), ErrorKind::Unavailable);
}

#[test]
fn all_keys_cooling_without_fallback_is_a_429_with_the_reset() {
    let (r, _) = resilience(&["a"], 0);
    let mut plan = r.plan(&HeaderMap::new()).unwrap();
    let a = plan.next_attempt().unwrap();
    plan.judge(&a, status(429, &headers(&[("retry-after", "20")])));
    let mut plan = r.plan(&HeaderMap::new()).unwrap();
    assert_eq!(plan.next_attempt(), None);
    let e = plan.unavailable();
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    assert!(
        e.message().contains("20 s") || e.message().contains("19 s"),
        "{}",
        e.message()
    );
}

#[test]
fn terminal_answers_stop_and_the_budget_bounds_retries() {
    let (r, metrics) = resilience(&["a"], 1);
    let none = HeaderMap::new();
    let mut plan = r.plan(&none).unwrap();
    let a = plan.next_attempt().unwrap();
    assert_eq!(plan.judge(&a, status(400, &none)), Verdict::GiveUp);

    let metrics2 = Arc::new(Metrics::new().unwrap());
    let mut strict = retry();
    strict.budget_percent = 0;
    let upstream = Upstream {
        primary: target("anthropic", &["a"]),
        fallbacks: vec![],
    };
    let r = Resilience::new(&upstream, &strict, metrics2.clone());
    let mut same_target = 0;
    for _ in 0..BUDGET_MIN_RETRIES + 5 {
        let mut plan = r.plan(&none).unwrap();
        let a = plan.next_attempt().unwrap();
        plan.judge(&a, status(529, &none));
        if plan.next_attempt().is_some() {
            same_target += 1;
        }
    }
    assert_eq!(same_target, BUDGET_MIN_RETRIES);
    assert!(
        metrics2
            .render()
            .contains("llm_gateway_retry_budget_exhausted_total 5")
    );
    drop(metrics);
}

const MODEL: &str = "claude-sonnet-4-6";

/// Retries with a breaker that opens at 2 attempts all failing, for `open`.
fn with_breaker(per_target: u32, open: Duration) -> Retry {
    Retry {
        per_target,
        breaker: Some(Breaker {
            window: Duration::from_secs(60),
            min_requests: 2,
            failure_percent: 100,
            open,
            probe_successes: 1,
        }),
        ..retry()
    }
}

#[test]
fn an_open_breaker_sends_requests_straight_to_the_fallback_but_never_strands_the_last_target() {
    let (r, metrics) = resilience_with(&["a"], 1, with_breaker(1, Duration::from_secs(60)));
    let none = HeaderMap::new();
    let mut plan = r.plan(&none).unwrap();
    plan.for_model(MODEL);
    let first = plan.next_attempt().unwrap();
    assert_eq!(plan.judge(&first, status(529, &none)), Verdict::Again);
    let retry = plan.next_attempt().unwrap();
    assert_eq!(retry.target, 0, "one failure: still closed, retried");
    plan.judge(&retry, status(529, &none));
    assert_eq!(plan.next_attempt().unwrap().target, 1);
    drop(plan);
    let report = r.breakers(std::time::Instant::now());
    assert_eq!(report.len(), 2, "{report:?}");
    assert_eq!(
        (report[0].target.as_str(), report[0].state),
        ("anthropic", crate::State::Open)
    );

    // Open: the next request for the model never reaches the primary.
    let mut plan = r.plan(&none).unwrap();
    plan.for_model(MODEL);
    let a = plan.next_attempt().unwrap();
    assert_eq!(a.target, 1);
    assert_eq!(plan.judge(&a, Observed::Committed), Verdict::Serve);
    assert_eq!(plan.attempts(), 1, "a bypass is not an attempt");
    // Another model's breaker is its own; a plan without a model does not ask.
    let mut plan = r.plan(&none).unwrap();
    plan.for_model("other");
    assert_eq!(plan.next_attempt().unwrap().target, 0);
    let mut plan = r.plan(&none).unwrap();
    assert_eq!(plan.next_attempt().unwrap().target, 0);
    // Fallback off: the primary is the last target this request may use, so it is tried.
    let mut plan = r
        .plan(&headers(&[("x-gateway-fallback", "false")]))
        .unwrap();
    plan.for_model(MODEL);
    assert_eq!(plan.next_attempt().unwrap().target, 0);

    let m = metrics.render();
    for line in [
        r#"llm_gateway_breaker_state{model="claude-sonnet-4-6",target="anthropic"} 2"#,
        r#"llm_gateway_breaker_state{model="claude-sonnet-4-6",target="fb0"} 0"#,
        r#"llm_gateway_breaker_transitions_total{target="anthropic",to="open"} 1"#,
        r#"llm_gateway_upstream_fallbacks_total{from="anthropic",reason="breaker_open",to="fb0"} 1"#,
    ] {
        assert!(m.contains(line), "{line} missing from\n{m}");
    }
}

#[test]
fn a_failure_that_opens_the_breaker_ends_the_same_target_retries() {
    let mut retry = with_breaker(1, Duration::from_secs(60));
    if let Some(b) = &mut retry.breaker {
        b.min_requests = 1;
    }
    let (r, _) = resilience_with(&["a"], 1, retry);
    let none = HeaderMap::new();
    let mut plan = r.plan(&none).unwrap();
    plan.for_model(MODEL);
    let a = plan.next_attempt().unwrap();
    plan.judge(&a, status(503, &none));
    assert_eq!(
        plan.next_attempt().unwrap().target,
        1,
        "no retry into an open breaker"
    );
}

#[test]
fn once_due_one_probe_at_a_time_reaches_the_target_and_its_success_closes_the_breaker() {
    // No open interval: the breaker is due for a probe as soon as it opens.
    let (r, metrics) = resilience_with(&["a"], 1, with_breaker(0, Duration::ZERO));
    let none = HeaderMap::new();
    for _ in 0..2 {
        let mut plan = r.plan(&none).unwrap();
        plan.for_model(MODEL);
        let a = plan.next_attempt().unwrap();
        assert_eq!(a.target, 0);
        plan.judge(&a, status(529, &none));
    }
    let mut probing = r.plan(&none).unwrap();
    probing.for_model(MODEL);
    let probe = probing.next_attempt().unwrap();
    assert_eq!(probe.target, 0, "the probe");
    let mut other = r.plan(&none).unwrap();
    other.for_model(MODEL);
    assert_eq!(
        other.next_attempt().unwrap().target,
        1,
        "one probe at a time"
    );
    // A probe whose request ends unjudged frees its slot.
    drop(probing);
    let mut probing = r.plan(&none).unwrap();
    probing.for_model(MODEL);
    let probe = probing.next_attempt().unwrap();
    assert_eq!(probe.target, 0);
    assert_eq!(probing.judge(&probe, Observed::Committed), Verdict::Serve);
    let mut after = r.plan(&none).unwrap();
    after.for_model(MODEL);
    assert_eq!(after.next_attempt().unwrap().target, 0, "closed again");
    let m = metrics.render();
    for to in ["open", "half_open", "closed"] {
        let line =
            format!(r#"llm_gateway_breaker_transitions_total{{target="anthropic",to="{to}"}}"#);
        assert!(m.contains(&line), "{line} missing from\n{m}");
    }
    assert!(
        m.contains(r#"llm_gateway_breaker_state{model="claude-sonnet-4-6",target="anthropic"} 0"#),
        "{m}"
    );
}
