//! The circuit breaker per (target, model): a primary failing often enough is skipped (the
//! next requests go straight to the fallback, the primary sees nothing), and after the open
//! interval one request probes it; its success closes the breaker. `/readyz` and the metrics
//! show each state; readiness stays 200 throughout.

use gateway_testkit::{TestGateway, http, poll::poll_until};

use super::{OVERLOADED, Pair, WAIT, gateway, scrape, send, served, status};

/// Attempts in the window before the breaker may open (all of them fail here).
const MIN_REQUESTS: usize = 3;
/// How long it stays open: long enough that the request right after it opened is still
/// bypassed, short enough to wait out by polling.
const OPEN_MS: &str = "1000";
/// The `/readyz` key of the primary's breaker for the model these tests send.
const PRIMARY: &str = "anthropic/claude-sonnet-4-6";

/// `/readyz`: its status and the primary's breaker state.
async fn readiness(gw: &TestGateway) -> (u16, String) {
    let reply = http::send(http::bodyless(
        ::http::Method::GET,
        &gw.admin_url("/readyz"),
        &[],
    ))
    .await;
    let state = reply.json()["checks"]["breakers"][PRIMARY]
        .as_str()
        .unwrap_or("absent")
        .to_owned();
    (reply.status.as_u16(), state)
}

#[tokio::test]
async fn a_failing_primary_opens_its_breaker_is_skipped_then_probed_and_closed() {
    let pair = Pair::start().await;
    let gw = gateway(&pair.section(), "breaker")
        .env("GATEWAY__FORWARDING__RETRIES_PER_TARGET", "0")
        .env(
            "GATEWAY__FORWARDING__BREAKER__MIN_REQUESTS",
            MIN_REQUESTS.to_string(),
        )
        .env("GATEWAY__FORWARDING__BREAKER__OPEN_MS", OPEN_MS)
        .env("GATEWAY__FORWARDING__BREAKER__PROBE_SUCCESSES", "1")
        .start()
        .await;
    // MIN_REQUESTS overloads, each served by the fallback; the last one opens the breaker.
    for n in 1..=MIN_REQUESTS {
        pair.primary.push_script(status(529, OVERLOADED, &[]));
        pair.second.push_script(served(false));
        let reply = send(&gw, false, &[]).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_eq!(reply.header("x-gateway-upstream"), Some("second"));
        assert_eq!(reply.header("x-gateway-attempts"), Some("2"));
        assert_eq!(pair.hits(), (n, n));
    }
    // Open: straight to the fallback, the primary's hit count unchanged.
    pair.second.push_script(served(false));
    let reply = send(&gw, false, &[]).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("x-gateway-upstream"), Some("second"));
    assert_eq!(
        reply.header("x-gateway-attempts"),
        Some("1"),
        "a bypass is no attempt"
    );
    assert_eq!(pair.hits(), (MIN_REQUESTS, MIN_REQUESTS + 1));
    let m = scrape(&gw).await;
    for line in [
        r#"llm_gateway_breaker_transitions_total{target="anthropic",to="open"} 1"#,
        r#"llm_gateway_upstream_fallbacks_total{from="anthropic",reason="breaker_open",to="second"} 1"#,
    ] {
        assert!(m.contains(line), "{line} missing from\n{m}");
    }
    assert_eq!(
        readiness(&gw).await.0,
        200,
        "an open breaker never makes the gateway unready"
    );

    // After the open interval: half-open, the next request probes the primary and closes it.
    poll_until(
        "the primary's breaker to become due for a probe",
        WAIT,
        || async { (readiness(&gw).await == (200, "half_open".to_owned())).then_some(()) },
    )
    .await;
    let m = scrape(&gw).await;
    assert!(
        m.contains(r#"llm_gateway_breaker_state{model="claude-sonnet-4-6",target="anthropic"} 1"#),
        "{m}"
    );
    let reply = send(&gw, false, &[]).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        reply.header("x-gateway-upstream"),
        Some("anthropic"),
        "the probe"
    );
    assert_eq!(pair.hits(), (MIN_REQUESTS + 1, MIN_REQUESTS + 1));
    assert_eq!(readiness(&gw).await, (200, "closed".to_owned()));
    // Closed: traffic stays on the primary.
    let reply = send(&gw, true, &[]).await;
    assert_eq!(reply.header("x-gateway-upstream"), Some("anthropic"));
    assert_eq!(pair.hits(), (MIN_REQUESTS + 2, MIN_REQUESTS + 1));
    let m = scrape(&gw).await;
    for line in [
        r#"llm_gateway_breaker_state{model="claude-sonnet-4-6",target="anthropic"} 0"#,
        r#"llm_gateway_breaker_transitions_total{target="anthropic",to="half_open"} 1"#,
        r#"llm_gateway_breaker_transitions_total{target="anthropic",to="closed"} 1"#,
        r#"llm_gateway_breaker_state{model="claude-sonnet-4-6",target="second"} 0"#,
    ] {
        assert!(m.contains(line), "{line} missing from\n{m}");
    }
}
