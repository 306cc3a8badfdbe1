//! A retry storm: many clients, each retrying on its own as the SDKs do (sending
//! `x-stainless-retry-count` > 0 on its retries), against a primary that keeps answering 529.
//! The gateway's own retries must stay within the retry budget, and a request the client
//! already retried is never retried again by the gateway. Counted from the mock's hits and the
//! gateway's metrics; nothing depends on timing.

use mock_provider::{MockConfig, MockProvider};

use super::{gateway, send};

/// Concurrent clients.
const CLIENTS: usize = 40;
/// Retries each client makes itself (the SDKs' default).
const CLIENT_RETRIES: usize = 2;
/// `forwarding.retry_budget_percent` of this test.
const BUDGET_PERCENT: usize = 20;
/// gateway-resilience's `BUDGET_MIN_RETRIES`: granted per window whatever the traffic.
const BUDGET_MIN_RETRIES: usize = 10;

/// One client: the first try, then its own retries while the answer is a 529. Returns the
/// statuses it saw.
async fn client(gw: &gateway_testkit::TestGateway) -> Vec<u16> {
    let mut statuses = Vec::new();
    for attempt in 0..=CLIENT_RETRIES {
        let count = attempt.to_string();
        let reply = send(gw, false, &[("x-stainless-retry-count", count.as_str())]).await;
        statuses.push(reply.status.as_u16());
        if reply.status != 529 {
            break;
        }
    }
    statuses
}

#[tokio::test]
async fn clients_retrying_on_their_own_get_no_gateway_retries_beyond_the_budget() {
    let primary = MockProvider::start(MockConfig {
        scenario: Some("status=529".to_owned()),
        ..MockConfig::default()
    })
    .await
    .unwrap();
    // No fallback: every client sees the overload and retries.
    let section = format!(
        "[upstreams.anthropic]\nbase_url = \"{}\"\napi_key_env = \"ANTHROPIC_API_KEY\"\n",
        primary.base_url()
    );
    let gw = gateway(&section, "storm")
        .env(
            "GATEWAY__FORWARDING__RETRY_BUDGET_PERCENT",
            BUDGET_PERCENT.to_string(),
        )
        .start()
        .await;
    let runs = futures_util::future::join_all((0..CLIENTS).map(|_| client(&gw))).await;
    for statuses in &runs {
        assert_eq!(statuses, &vec![529; CLIENT_RETRIES + 1], "every try fails");
    }

    // What reached the primary, by the client's retry count.
    let requests = primary.requests();
    let with_count = |n: usize| {
        requests
            .iter()
            .filter(|r| {
                r.path() == "/v1/messages"
                    && r.headers
                        .get("x-stainless-retry-count")
                        .and_then(|v| v.to_str().ok())
                        == Some(n.to_string().as_str())
            })
            .count()
    };
    for n in 1..=CLIENT_RETRIES {
        assert_eq!(
            with_count(n),
            CLIENTS,
            "a request the client already retried (count {n}) is sent once"
        );
    }
    let client_requests = CLIENTS * (CLIENT_RETRIES + 1);
    let gateway_retries = with_count(0) - CLIENTS;
    let allowance = BUDGET_MIN_RETRIES.max(client_requests * BUDGET_PERCENT / 100);
    assert!(
        (BUDGET_MIN_RETRIES..=allowance).contains(&gateway_retries),
        "gateway retries {gateway_retries}: the budget grants at least {BUDGET_MIN_RETRIES} and at most {allowance}"
    );
    let upstream_calls = primary.hits("/v1/messages");
    assert_eq!(upstream_calls, client_requests + gateway_retries);
    assert!(
        upstream_calls <= client_requests + allowance,
        "{upstream_calls} upstream calls for {client_requests} requests"
    );

    // The gateway's own count agrees: every first try wanted a retry; those the budget refused
    // are counted, and every call to the primary is an attempt.
    #[expect(clippy::cast_precision_loss, reason = "small counts")]
    let (refused, calls) = ((CLIENTS - gateway_retries) as f64, upstream_calls as f64);
    assert_eq!(
        gw.metric("llm_gateway_retry_budget_exhausted_total").await,
        refused
    );
    assert_eq!(
        gw.metric(r#"llm_gateway_upstream_attempts_total{model="claude-sonnet-4-6",outcome="retryable",phase="head",target="anthropic"}"#)
            .await,
        calls
    );
}
