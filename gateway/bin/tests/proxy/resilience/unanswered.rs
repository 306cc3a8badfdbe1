//! When no target answers at all: the gateway's own 502 (unreachable) or 504 (no answer in
//! time) still carries `x-gateway-upstream` (the target whose failure the client gets: the
//! primary's) and `x-gateway-attempts`; attempts that failed after their request was sent are
//! counted as possibly billed (and listed so in the transcript record), refused connections
//! are not.

use std::time::Duration;

use mock_provider::Script;

use super::{Pair, gateway, matrix::dead_url, scrape, send};

#[tokio::test]
async fn every_target_unreachable_is_a_502_that_names_the_primary_and_the_attempts() {
    let pair = Pair::start().await;
    let section = pair
        .section()
        .replace(&pair.primary.base_url(), &dead_url())
        .replace(&pair.second.base_url(), &dead_url());
    let gw = gateway(&section, "unreachable").start().await;
    let reply = send(&gw, false, &[]).await;
    assert_eq!(reply.status, 502, "{}", reply.text());
    assert_eq!(reply.json()["type"], "error", "Anthropic's envelope");
    assert_eq!(reply.header("x-gateway-upstream"), Some("anthropic"));
    assert_eq!(
        reply.header("x-gateway-attempts"),
        Some("4"),
        "each target, retried once"
    );
    let m = scrape(&gw).await;
    assert!(
        !m.contains("llm_gateway_upstream_possibly_billed_total{"),
        "a refused connection sent nothing: {m}"
    );
}

#[tokio::test]
async fn every_target_stalling_is_a_504_with_the_attempts_counted_as_possibly_billed() {
    let pair = Pair::start().await;
    let gw = gateway(&pair.section(), "all-stall")
        .env("GATEWAY__FORWARDING__TTFT_TIMEOUT_MS", "300")
        .env("GATEWAY__FORWARDING__RETRIES_PER_TARGET", "0")
        .start()
        .await;
    let stall = Script::StallBeforeHead {
        pause: Duration::from_secs(30),
    };
    pair.primary.push_script(stall.clone());
    pair.second.push_script(stall);
    let reply = send(&gw, true, &[]).await;
    assert_eq!(reply.status, 504, "{}", reply.text());
    assert_eq!(reply.header("x-gateway-upstream"), Some("anthropic"));
    assert_eq!(reply.header("x-gateway-attempts"), Some("2"));
    assert_eq!(pair.hits(), (1, 1), "both requests were sent");
    let m = scrape(&gw).await;
    for target in ["anthropic", "second"] {
        let line = format!(
            r#"llm_gateway_upstream_possibly_billed_total{{reason="stall",target="{target}"}} 1"#
        );
        assert!(m.contains(&line), "{line} missing from\n{m}");
    }
    // The record of the unanswered request says whose failure the client got and which
    // attempts may have been billed.
    let dir = gw.transcripts_dir().to_owned();
    let library =
        gateway_testkit::poll::poll_until("one transcript record", super::WAIT, || async {
            gateway_transcript::read::Library::load_dir(&dir)
                .ok()
                .filter(|l| !l.records().is_empty())
        })
        .await;
    let [record] = library.records() else {
        panic!("one request, one record: {:?}", library.records())
    };
    assert_eq!(
        (
            record.meta.upstream.as_str(),
            record.meta.attempts,
            record.meta.status
        ),
        ("anthropic", Some(2), 504)
    );
    assert_eq!(record.meta.key_id.as_deref(), Some("ANTHROPIC_API_KEY"));
    assert_eq!(record.meta.possibly_billed, ["anthropic", "second"]);
    assert_eq!(record.meta.cost_micro_usd, 0);
}
